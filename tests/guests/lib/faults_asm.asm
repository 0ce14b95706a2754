; The test guests' exception entry stubs that resume at a recovery address,
; and the switch to ring 3 and back. Declarations: faults.h.
bits 64
default rel

%include "tests/guests/lib/regs.inc"

; struct tg_ring3_ctx
%define C_RIP 0
%define C_CS 8
%define C_RFLAGS 16
%define C_RSP 24
%define C_SS 32
%define C_RAX 40
%define C_RBX 48
%define C_RCX 56
%define C_RDX 64
%define C_FRAME_CS 72

extern tg_fault_recover
extern tg_fault_vector
extern tg_fault_error
extern tg_fault_rip
extern tg_unexpected_fault

section .text

; Exception entry, one stub per vector 0-31: push a dummy error code where
; the CPU pushes none, so that every frame looks the same (SDM Vol. 3A,
; 6.14.2 "64-Bit Mode Stack Frame"; 6.15 lists which vectors push one):
; [rsp] vector, +8 error code, +16 RIP, +24 CS, +32 RFLAGS, +40 RSP, +48 SS
%macro isr 1
isr_%1:
%if %1 != 8 && %1 != 10 && %1 != 11 && %1 != 12 && %1 != 13 && %1 != 14 && %1 != 17 && %1 != 21 && %1 != 29 && %1 != 30
	push 0
%endif
	push %1
	jmp fault_common
%endmacro

%assign v 0
%rep 32
isr v
%assign v v + 1
%endrep

fault_common:
	push rax
	mov rax, [rsp + 8]
	mov [tg_fault_vector], eax
	mov rax, [rsp + 16]
	mov [tg_fault_error], rax
	mov rax, [rsp + 24]
	mov [tg_fault_rip], rax
	mov rax, [tg_fault_recover]
	test rax, rax
	jz .unexpected
	; Registered: resume there, once. Every other register is untouched;
	; RFLAGS.TF is cleared (a single-step check's trap ends the stepping).
	mov qword [tg_fault_recover], 0
	mov [rsp + 24], rax
	and qword [rsp + 40], ~0x100
	pop rax
	add rsp, 16
	iretq
.unexpected:
	pop rax
	mov rdi, [rsp]
	mov rsi, [rsp + 8]
	mov rdx, [rsp + 16]
	and rsp, -16
	call tg_unexpected_fault
.hang:
	cli
	hlt
	jmp .hang

; void tg_ring3_enter(struct tg_ring3_ctx *ctx): IRETQ to ctx's ring-3
; RIP/CS/RFLAGS/RSP/SS with RAX..RDX from ctx. Ring 3 comes back with
; "int 0x80" (tg_isr_ring0_return), which stores RAX..RDX into ctx and
; resumes here on the saved stack with the saved segment registers.
global tg_ring3_enter:function hidden
tg_ring3_enter:
	TG_PUSH_CALLEE_SAVED
	mov [r0_ctx], rdi
	mov ax, ds
	mov [r0_ds], ax
	mov ax, es
	mov [r0_es], ax
	mov ax, fs
	mov [r0_fs], ax
	mov ax, gs
	mov [r0_gs], ax
	mov ax, ss
	mov [r0_ss], ax
	mov [r0_rsp], rsp
	push qword [rdi + C_SS]
	push qword [rdi + C_RSP]
	push qword [rdi + C_RFLAGS]
	push qword [rdi + C_CS]
	push qword [rdi + C_RIP]
	mov rax, [rdi + C_RAX]
	mov rbx, [rdi + C_RBX]
	mov rcx, [rdi + C_RCX]
	mov rdx, [rdi + C_RDX]
	iretq

global tg_isr_ring0_return:function hidden
tg_isr_ring0_return:
	mov rdi, [r0_ctx]
	mov [rdi + C_RAX], rax
	mov [rdi + C_RBX], rbx
	mov [rdi + C_RCX], rcx
	mov [rdi + C_RDX], rdx
	mov rax, [rsp + 8]
	mov [rdi + C_FRAME_CS], rax
	mov rsp, [r0_rsp]
	; The CPU loaded a null SS on the way in and IRETQ to ring 3 nulled
	; the data segment registers (SDM Vol. 3A, 6.14.2; IRET operation).
	mov ax, [r0_ss]
	mov ss, ax
	mov ax, [r0_ds]
	mov ds, ax
	mov ax, [r0_es]
	mov es, ax
	mov ax, [r0_fs]
	mov fs, ax
	mov ax, [r0_gs]
	mov gs, ax
	TG_POP_CALLEE_SAVED
	ret

section .data
align 8
; Entry points of the stubs above, by vector: tg_isr_table[32].
global tg_isr_table:data hidden
tg_isr_table:
%assign v 0
%rep 32
	dq isr_ %+ v
%assign v v + 1
%endrep

section .bss
align 8
r0_ctx: resq 1
r0_rsp: resq 1
r0_ds: resw 1
r0_es: resw 1
r0_fs: resw 1
r0_gs: resw 1
r0_ss: resw 1

section .note.GNU-stack noalloc noexec nowrite progbits
