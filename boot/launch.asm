; s64 nv_launch(void *entry, struct nv_bootinfo *bi, struct nv_resume *resume)
;
; Calls the monitor's entry(bi) with the loader's callee-saved registers and
; RFLAGS on this stack, and records in *resume where (RIP), with which stack
; (RSP) and flags the loader continues once the monitor runs it as a guest.
;
; Two ways back:
;  - the monitor fails: entry returns a negative NV_E_* code in RAX; we
;    restore the registers and flags and return it;
;  - the monitor succeeds: it VMLAUNCHes this very context at .resume with
;    RSP = resume->rsp; .resume pops the same frame and returns 0, so the
;    C caller sees nv_launch return 0, now in VMX non-root operation.
; .resume is loader code on purpose: the monitor's pages are hidden from the
; guest by EPT, so the guest must never need to execute them.
;
; System V AMD64 ABI: rdi = entry, rsi = bi, rdx = resume.

bits 64
default rel
section .text

RESUME_RIP    equ 0
RESUME_RSP    equ 8
RESUME_RFLAGS equ 16                ; struct nv_resume (bootinfo.h asserts its size)

global nv_launch
nv_launch:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	pushfq                      ; 7 pushes + return address: RSP is 16-byte aligned
	cli                         ; the monitor starts with interrupts off

	lea rax, [.resume]
	mov [rdx + RESUME_RIP], rax
	mov [rdx + RESUME_RSP], rsp
	mov rax, [rsp]              ; the RFLAGS pushed above (IF as the caller had it)
	mov [rdx + RESUME_RFLAGS], rax

	mov rax, rdi
	mov rdi, rsi
	call rax                    ; entry(bi): returns only on failure

	popfq
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

.resume:                        ; first guest instruction after VMLAUNCH
	xor eax, eax
	popfq                       ; restores IF and DF
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
