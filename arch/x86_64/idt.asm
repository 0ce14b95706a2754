; The monitor's exception entry points, and the instructions whose faults
; are recovered (a guest names the MSR or XCR; the hardware decides).
bits 64
default rel
%include "gpr.inc"

extern host_exception

section .text

; One stub per vector 0..31: push a dummy error code where the CPU pushes
; none (SDM 6.15 "Exception and Interrupt Reference"), then the vector.
%macro EXC_NOERR 1
exc_%1:
	push 0
	push %1
	jmp exc_common
%endmacro
%macro EXC_ERR 1
exc_%1:
	push %1
	jmp exc_common
%endmacro

%assign v 0
%rep 32
%if v = 8 || v = 10 || v = 11 || v = 12 || v = 13 || v = 14 || v = 17 || v = 21 || v = 29 || v = 30
	EXC_ERR v
%else
	EXC_NOERR v
%endif
%assign v v + 1
%endrep

; Frame: rax..r15 (struct guest_regs order), vector, error code, then the
; CPU's rip, cs, rflags, rsp, ss.
exc_common:
	PUSH_GPRS
	mov rdi, rsp
	mov rbx, rsp
	and rsp, -16
	call host_exception     ; returns only to resume (fix-up or NMI)
	mov rsp, rbx
	POP_GPRS
	add rsp, 16
	iretq

section .data
align 8
global exc_stubs
exc_stubs:
%assign v 0
%rep 32
	dq exc_ %+ v
%assign v v + 1
%endrep

section .text

; int rdmsr_safe(u32 msr, u64 *v)
global rdmsr_safe
rdmsr_safe:
	mov ecx, edi
.insn:
	rdmsr
	shl rdx, 32
	or rax, rdx
	mov [rsi], rax
	xor eax, eax
	ret
.fixup:
	mov eax, -1
	ret

; int wrmsr_safe(u32 msr, u64 v)
global wrmsr_safe
wrmsr_safe:
	mov ecx, edi
	mov eax, esi
	mov rdx, rsi
	shr rdx, 32
.insn:
	wrmsr
	xor eax, eax
	ret
.fixup:
	mov eax, -1
	ret

; int xsetbv_safe(u32 xcr, u64 v)
global xsetbv_safe
xsetbv_safe:
	mov ecx, edi
	mov eax, esi
	mov rdx, rsi
	shr rdx, 32
.insn:
	xsetbv
	xor eax, eax
	ret
.fixup:
	mov eax, -1
	ret

section .data
align 8
; Pairs (faulting instruction, where to continue): host_exception looks a
; faulting RIP up here before it declares the fault fatal.
global fixup_table
global fixup_table_end
fixup_table:
	dq rdmsr_safe.insn, rdmsr_safe.fixup
	dq wrmsr_safe.insn, wrmsr_safe.fixup
	dq xsetbv_safe.insn, xsetbv_safe.fixup
fixup_table_end:

section .note.GNU-stack noalloc noexec nowrite progbits
