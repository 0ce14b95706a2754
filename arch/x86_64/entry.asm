; The monitor's entry from the loader, and the VM-exit/VM-entry path.
; Only what C cannot do lives here.
bits 64
default rel
%include "gpr.inc"

extern vmm_main
extern vmx_exit_handler
extern vmx_entry_failed

section .text

; s64 monitor_entry(struct nv_bootinfo *bi)  -- the ELF entry point.
; Runs on the loader's stack; vmm_main returns only on failure.
global monitor_entry
monitor_entry:
	jmp vmm_main

; int vmx_launch(void): VMLAUNCH the current VMCS. Guest RSP/RIP come from
; the VMCS (the loader's resume point); guest RAX is 0 so the loader's call
; appears to return NV_OK. Returns the failure only: CF=1 -> -1 (VMfailInvalid),
; ZF=1 -> -2 (VMfailValid, see VM_INSTRUCTION_ERROR).
global vmx_launch
vmx_launch:
	xor eax, eax
	xor ecx, ecx
	xor edx, edx
	xor esi, esi
	xor edi, edi
	xor r8d, r8d
	xor r9d, r9d
	xor r10d, r10d
	xor r11d, r11d
	vmlaunch
	mov eax, -1
	jc .out
	mov eax, -2
.out:
	ret

; VM exit: HOST_RSP points at a per-CPU stack whose top slot holds the vcpu
; pointer. Save the guest's general registers as struct guest_regs
; (rax, rcx, rdx, rbx, rsp slot, rbp, rsi, rdi, r8..r15: the SDM's register
; numbering, so an exit qualification's register number indexes it).
global vmx_exit_stub
vmx_exit_stub:
	PUSH_GPRS
	mov rdi, rsp              ; struct guest_regs *
	mov rsi, [rsp + 16 * 8]   ; struct vcpu *
	call vmx_exit_handler     ; 16 pushes keep RSP 16-byte aligned
.enter:
	; eax != 0: VMLAUNCH the current VMCS (a fresh VMCS02), else VMRESUME.
	test eax, eax
	POP_GPRS
	jnz .launch
	vmresume
	jmp .failed
.launch:
	vmlaunch
.failed:
	; VM entry failed (VMfailInvalid/VMfailValid): save the registers
	; again and let C decide (a monitor bug for VMCS01; for VMCS02, L1's
	; VMLAUNCH/VMRESUME fails). It returns the flag for the next try.
	PUSH_GPRS
	pushfq
	pop rdx                   ; RFLAGS of the failed instruction
	mov rdi, rsp
	mov rsi, [rsp + 16 * 8]
	call vmx_entry_failed
	jmp .enter

section .note.GNU-stack noalloc noexec nowrite progbits
