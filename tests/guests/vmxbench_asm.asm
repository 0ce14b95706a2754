; vmxbench: the timed loops (L1 and L2) and L1's minimal exit handler.
; Every loop is "body; dec; jnz" between two RDTSCs so that the empty loop
; (vb_loop_empty) measures the overhead to subtract. Declarations:
; vmxbench.h.
bits 64
default rel

%define HOST_RSP 0x6c14
%define HOST_RIP 0x6c16
%define VM_EXIT_REASON 0x4402
%define VM_EXIT_INSTRUCTION_LEN 0x440c
%define GUEST_RIP 0x681e
%define EXIT_REASON_CPUID 10
%define VB_L2_MSR 0x3a             ; IA32_FEATURE_CONTROL

; struct vb_run
%define RUN_N 0
%define RUN_L2_TICKS 8
%define RUN_L1_TICKS 16
%define RUN_L1_START 24
%define RUN_REASON 32
%define RUN_HANDLED 40

; RDTSC into rax (64 bits); clobbers rdx.
%macro TSC 0
	rdtsc
	shl rdx, 32
	or rax, rdx
%endmacro

; A timed loop: rdi = iterations; the body may use rax, rcx, rdx, rsi,
; r10, r11 (rbx is saved: CPUID writes it). Returns the RDTSC delta.
%macro TIMED_LOOP 0-*
	push rbx
	mov r8, rdi
	TSC
	mov r9, rax
%%loop:
%rep %0
	%1
%rotate 1
%endrep
	dec r8
	jnz %%loop
	TSC
	sub rax, r9
	pop rbx
	ret
%endmacro

section .text

global vb_loop_empty:function hidden
vb_loop_empty:
	TIMED_LOOP

global vb_loop_cpuid:function hidden
vb_loop_cpuid:
	TIMED_LOOP {xor eax, eax}, {xor ecx, ecx}, cpuid

global vb_loop_vmread:function hidden
vb_loop_vmread:                     ; rsi = field
	TIMED_LOOP {vmread rax, rsi}

global vb_loop_vmwrite:function hidden
vb_loop_vmwrite:                    ; rsi = field, rdx = value
	mov r10, rdx
	TIMED_LOOP {vmwrite rsi, r10}

; ---- u64 vb_l2_run(struct vb_run *run, int resume)
; HOST_RSP/HOST_RIP point into this function; L2 gets r13 = run->n and
; r15 = run (it shares L1's identity-mapped memory and stores its own
; measurement there). L1's callee-saved registers wait on the stack.
global vb_l2_run:function hidden
vb_l2_run:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	mov [vb_run_ptr], rdi
	mov rax, HOST_RSP
	vmwrite rax, rsp
	lea rdx, [.exited]
	mov rax, HOST_RIP
	vmwrite rax, rdx
	mov qword [rdi + RUN_HANDLED], 0
	mov r13, [rdi + RUN_N]
	mov r15, rdi
	TSC
	mov [r15 + RUN_L1_START], rax
	test esi, esi
	jnz .resume
	vmlaunch
	jmp .failed
.resume:
	vmresume
.failed:
	mov eax, 1
	jmp .out

; The VM exit. RSP is HOST_RSP again; every other register is L2's. The
; CPUID path clobbers L2's RAX, RCX, RDX: CPUID writes them anyway and
; L2's loop sets EAX/ECX before each CPUID.
.exited:
	mov eax, VM_EXIT_REASON
	vmread rdx, rax
	cmp edx, EXIT_REASON_CPUID
	jne .done
	mov eax, VM_EXIT_INSTRUCTION_LEN
	vmread rcx, rax
	mov eax, GUEST_RIP
	vmread rdx, rax
	add rdx, rcx
	vmwrite rax, rdx
	mov rax, [vb_run_ptr]
	inc qword [rax + RUN_HANDLED]
	vmresume
	jmp .failed

.done:
	mov rcx, rdx
	TSC
	mov rdi, [vb_run_ptr]
	sub rax, [rdi + RUN_L1_START]
	mov [rdi + RUN_L1_TICKS], rax
	mov [rdi + RUN_REASON], rcx
	xor eax, eax
.out:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

; ---- L2: r13 = iterations, r15 = struct vb_run. Times its loop, stores
; the delta and ends the batch with VMCALL (L1 sets GUEST_RIP anew for
; the next batch).
%macro L2_LOOP 1-*
	TSC
	mov r14, rax
%%loop:
%rep %0
	%1
%rotate 1
%endrep
	dec r13
	jnz %%loop
	TSC
	sub rax, r14
	mov [r15 + RUN_L2_TICKS], rax
	vmcall
	ud2
%endmacro

global vb_l2_cpuid:function hidden
vb_l2_cpuid:
	L2_LOOP {xor eax, eax}, {xor ecx, ecx}, cpuid

global vb_l2_rdmsr:function hidden
vb_l2_rdmsr:
	L2_LOOP {mov ecx, VB_L2_MSR}, rdmsr

section .bss
align 8
vb_run_ptr: resq 1

section .note.GNU-stack noalloc noexec nowrite progbits
