; The test guests' VMCALL with every general-purpose register under test
; control. Declarations: nestvisor.h.
bits 64
default rel

%include "tests/guests/lib/regs.inc"

extern tg_fault_recover

section .text

; void tg_vmcall_regs(struct tg_regs *r): load all 15 registers from *r,
; VMCALL, store all 15 back. A fault on VMCALL (#UD outside VMX non-root)
; resumes right after it with the registers as they were.
global tg_vmcall_regs:function hidden
tg_vmcall_regs:
	TG_PUSH_CALLEE_SAVED
	push rdi
	lea rax, [.after]
	mov [tg_fault_recover], rax
	TG_LOAD_REGS
	vmcall
.after:
	mov qword [tg_fault_recover], 0
	push rdi
	mov rdi, [rsp + 8]
	TG_STORE_REGS
	pop rdi
	TG_POP_CALLEE_SAVED
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
