; hctest: what C cannot do. Fault entry stubs that resume at a recovery
; address, VMCALL with every general-purpose register under test control,
; and the switch to ring 3 and back. Declarations: hctest.h.
bits 64
default rel

%define VEC_UD 6
%define VEC_GP 13
%define VEC_PF 14
%define VEC_RING0_RETURN 0x80
%define HCT_R3_FAULTED 0x7fff00000f17

; struct hct_regs
%define R_RAX 0
%define R_RBX 8
%define R_RCX 16
%define R_RDX 24
%define R_RSI 32
%define R_RDI 40
%define R_RBP 48
%define R_R8 56
%define R_R9 64
%define R_R10 72
%define R_R11 80
%define R_R12 88
%define R_R13 96
%define R_R14 104
%define R_R15 112

; struct hct_ring3_ctx
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

extern hct_fault_recover
extern hct_fault_vector
extern hct_fault_error
extern hct_fault_rip
extern hct_unexpected_fault

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
	mov [hct_fault_vector], eax
	mov rax, [rsp + 16]
	mov [hct_fault_error], rax
	mov rax, [rsp + 24]
	mov [hct_fault_rip], rax
	mov rax, [hct_fault_recover]
	test rax, rax
	jz .unexpected
	; Registered: resume there, once. Every other register is untouched.
	mov qword [hct_fault_recover], 0
	mov [rsp + 24], rax
	pop rax
	add rsp, 16
	iretq
.unexpected:
	pop rax
	mov rdi, [rsp]
	mov rsi, [rsp + 8]
	mov rdx, [rsp + 16]
	and rsp, -16
	call hct_unexpected_fault
.hang:
	cli
	hlt
	jmp .hang

; void hct_vmcall_regs(struct hct_regs *r): load all 15 registers from *r,
; VMCALL, store all 15 back. A fault on VMCALL (#UD outside VMX non-root)
; resumes right after it with the registers as they were.
global hct_vmcall_regs:function hidden
hct_vmcall_regs:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rdi
	lea rax, [.after]
	mov [hct_fault_recover], rax
	mov rax, [rdi + R_RAX]
	mov rbx, [rdi + R_RBX]
	mov rcx, [rdi + R_RCX]
	mov rdx, [rdi + R_RDX]
	mov rsi, [rdi + R_RSI]
	mov rbp, [rdi + R_RBP]
	mov r8, [rdi + R_R8]
	mov r9, [rdi + R_R9]
	mov r10, [rdi + R_R10]
	mov r11, [rdi + R_R11]
	mov r12, [rdi + R_R12]
	mov r13, [rdi + R_R13]
	mov r14, [rdi + R_R14]
	mov r15, [rdi + R_R15]
	mov rdi, [rdi + R_RDI]
	vmcall
.after:
	mov qword [hct_fault_recover], 0
	push rdi
	mov rdi, [rsp + 8]
	mov [rdi + R_RAX], rax
	mov [rdi + R_RBX], rbx
	mov [rdi + R_RCX], rcx
	mov [rdi + R_RDX], rdx
	mov [rdi + R_RSI], rsi
	mov [rdi + R_RBP], rbp
	mov [rdi + R_R8], r8
	mov [rdi + R_R9], r9
	mov [rdi + R_R10], r10
	mov [rdi + R_R11], r11
	mov [rdi + R_R12], r12
	mov [rdi + R_R13], r13
	mov [rdi + R_R14], r14
	mov [rdi + R_R15], r15
	pop rax
	mov [rdi + R_RDI], rax
	pop rdi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

; void hct_ring3_enter(struct hct_ring3_ctx *ctx): IRETQ to ctx's ring-3
; RIP/CS/RFLAGS/RSP/SS with RAX..RDX from ctx. Ring 3 comes back with
; "int VEC_RING0_RETURN" (hct_isr_ring0_return), which stores RAX..RDX into
; ctx and resumes here on the saved stack with the saved segment registers.
global hct_ring3_enter:function hidden
hct_ring3_enter:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
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

global hct_isr_ring0_return:function hidden
hct_isr_ring0_return:
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
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

; Ring-3 code, copied to a user page: position independent. A fault in
; ring 3 resumes at hct_r3_template_fault (the C side registers it).
global hct_r3_template:data hidden
global hct_r3_template_fault:data hidden
global hct_r3_template_end:data hidden
hct_r3_template:
	vmcall
	int VEC_RING0_RETURN
	jmp $
hct_r3_template_fault:
	mov rax, HCT_R3_FAULTED
	int VEC_RING0_RETURN
	jmp $
hct_r3_template_end:

section .data
align 8
; Entry points of the stubs above, by vector: hct_isr_table[32].
global hct_isr_table:data hidden
hct_isr_table:
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
