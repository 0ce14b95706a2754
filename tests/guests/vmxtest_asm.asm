; vmxtest / vmxfuzz: what C cannot do. L1's ring-3 code, VM entry with
; L2's registers and the VM-exit landing point, L2's code and L2's IDT
; stubs. L1's fault stubs and the ring-3 switch are in lib/faults_asm.asm.
; Declarations: vmxtest.h.
bits 64
default rel

%define TG_VEC_RING0_RETURN 0x80
%define VT_R3_DONE 0x3d0e
%define VT_R3_FAULTED 0x3fa7
%define HOST_RSP 0x6c14
%define HOST_RIP 0x6c16
%define VT_L2_IO_PORT 0x510
%define VT_L2_MSR 0x277
%define APIC_ICR_LOW 0xfee00300
%define APIC_ICR_HIGH_OFF 0x10
%define ICR_SELF_FIXED_0x40 0x44040 ; vector 0x40, assert, shorthand self
%define IPI_WAIT_LOOPS 2000000

%include "tests/guests/lib/regs.inc"

; struct vt_l2_event
%define EV_COUNT 0
%define EV_VECTOR 8
%define EV_ERROR 16
%define EV_RIP 24

extern tg_fault_recover

section .text

; ---- ring 3 (lib/faults_asm.asm switches; these come back through
; "int 0x80" with the result in RAX)
; Ring-3 code (the whole image is a user page in the user page tables).
global vt_r3_vmxon:function hidden
vt_r3_vmxon:
	vmxon [rsp]
	mov eax, VT_R3_DONE
	int TG_VEC_RING0_RETURN
global vt_r3_vmptrst:function hidden
vt_r3_vmptrst:
	vmptrst [rsp]
	mov eax, VT_R3_DONE
	int TG_VEC_RING0_RETURN
global vt_r3_fault:function hidden
vt_r3_fault:
	mov eax, VT_R3_FAULTED
	int TG_VEC_RING0_RETURN

; ---- VM entry
; u64 vt_enter_raw(struct tg_regs *regs, int resume): HOST_RSP/HOST_RIP
; point here (HOST_RIP written only if it differs); L2's registers come from *regs and go back there on a VM
; exit. Returns 0 after a VM exit, 1 if VMLAUNCH/VMRESUME faulted (the
; fault stub resumes at .fault), else RFLAGS after the failed instruction
; (which started with every arithmetic flag set).
global vt_enter_raw:function hidden
vt_enter_raw:
	TG_PUSH_CALLEE_SAVED
	mov [vt_regs_ptr], rdi
	lea rax, [.fault]
	mov [tg_fault_recover], rax
	mov rax, HOST_RSP
	vmwrite rax, rsp
	lea rdx, [.exited]
	mov rax, HOST_RIP
	vmread rcx, rax                 ; written only when it changes, as
	cmp rcx, rdx                    ; KVM does: an L0 that remembers which
	je .host_rip_set                ; checks passed then sees entries with
	vmwrite rax, rdx                ; no host-state VMWRITE in between
.host_rip_set:
	test esi, esi
	jnz .resume
	call load_l2_regs
	push 0x8d7
	popfq
	vmlaunch
	jmp .failed
.resume:
	call load_l2_regs
	push 0x8d7
	popfq
	vmresume
.failed:
	pushfq
	pop rax
	mov qword [tg_fault_recover], 0
	jmp .out
.fault:
	mov eax, 1
	jmp .out
.exited:
	push rdi
	mov rdi, [vt_regs_ptr]
	TG_STORE_REGS
	mov qword [tg_fault_recover], 0
	xor eax, eax
.out:
	TG_POP_CALLEE_SAVED
	ret

load_l2_regs:
	TG_LOAD_REGS
	ret

; ---- L2 code. No instruction here changes RFLAGS unless noted, so L1
; can check RFLAGS at each exit.
global vt_l2_seq:function hidden
global vt_l2_at_cpuid:function hidden
global vt_l2_at_vmcall:function hidden
global vt_l2_at_hlt:function hidden
global vt_l2_at_out:function hidden
global vt_l2_at_rdmsr:function hidden
global vt_l2_at_wrmsr:function hidden
global vt_l2_at_cr3:function hidden
global vt_l2_at_cr0:function hidden
global vt_l2_at_ud2:function hidden
global vt_l2_ipi:function hidden
global vt_l2_ipi_wait:function hidden
global vt_l2_ipi_timeout:function hidden
vt_l2_seq:
	mov eax, 0
	mov ecx, 0
vt_l2_at_cpuid:
	cpuid                   ; exit 10, length 2
vt_l2_at_vmcall:
	vmcall                  ; exit 18, length 3
vt_l2_at_hlt:
	hlt                     ; exit 12, length 1
	out 0x80, al            ; not in the I/O bitmaps: no exit
	mov dx, VT_L2_IO_PORT
vt_l2_at_out:
	out dx, ax              ; exit 30, length 2
	mov ecx, VT_L2_MSR
vt_l2_at_rdmsr:
	rdmsr                   ; exit 31, length 2
vt_l2_at_wrmsr:
	wrmsr                   ; exit 32, length 2
	mov rax, cr3
vt_l2_at_cr3:
	mov cr3, rax            ; exit 28, length 3
	mov rbx, [vt_l2_cr0_value]
vt_l2_at_cr0:
	mov cr0, rbx            ; exit 28, length 3
vt_l2_at_ud2:
	ud2                     ; exit 0 (#UD in the exception bitmap)
	jmp $
; A self-IPI through the xAPIC's ICR; L1 resumes here with RFLAGS.IF = 1.
; The loop changes RFLAGS.
vt_l2_ipi:
	mov rdi, APIC_ICR_LOW
	mov dword [rdi + APIC_ICR_HIGH_OFF], 0
	mov dword [rdi], ICR_SELF_FIXED_0x40
	mov ecx, IPI_WAIT_LOOPS
vt_l2_ipi_wait:
	dec ecx
	jnz vt_l2_ipi_wait
vt_l2_ipi_timeout:
	vmcall                  ; no interrupt came
	jmp $

; Event injection: an injected software interrupt skips the 2-byte
; "int 0x80" (VM-entry instruction length 2); every handler returns to
; the VMCALL.
global vt_l2_swint:function hidden
global vt_l2_evt:function hidden
vt_l2_swint:
	int 0x80
vt_l2_evt:
	vmcall
	jmp vt_l2_evt

; Two L2s: each counts its VM exits in RBX (changes RFLAGS).
global vt_l2_count:function hidden
global vt_l2_count_vmcall:function hidden
vt_l2_count:
	inc rbx
vt_l2_count_vmcall:
	vmcall
	jmp vt_l2_count

global vt_l2_cpuid_loop:function hidden
global vt_l2_cpuid_loop_at:function hidden
vt_l2_cpuid_loop:
	mov eax, 0
	mov ecx, 0
vt_l2_cpuid_loop_at:
	cpuid
	jmp vt_l2_cpuid_loop

; vmxfuzz: an injected software event may carry any instruction length
; 0..15; the return address then still lands in this sled.
global vt_l2_sled:function hidden
vt_l2_sled:
	times 16 nop
	cpuid
	jmp vt_l2_sled

; ---- VMCS shadowing (vmxtest_shadow.c): one VMREAD or VMWRITE in L2,
; started with every arithmetic flag set (as L1's wrappers do), RFLAGS
; after it stored in RBX, then VMCALL. RDX holds the field encoding
; (Reg2), R8 the register operand (Reg1); the memory operand is
; [RSI + RCX*8 - 0x18] (a negative displacement: the exit qualification
; is its sign extension). <name>_at is the VMX instruction, <name>_after
; the instruction after it.
%macro SHADOW_OP 2
global %1:function hidden
global %1_at:function hidden
global %1_after:function hidden
%1:
	push 0x8d7
	popfq
%1_at:
	%2
%1_after:
	pushfq
	pop rbx
	vmcall
	jmp %1
%endmacro
SHADOW_OP vt_l2_sh_rd_reg, {vmread r8, rdx}
SHADOW_OP vt_l2_sh_rd_mem, {vmread [rsi + rcx*8 - 0x18], rdx}
SHADOW_OP vt_l2_sh_wr_reg, {vmwrite rdx, r8}
SHADOW_OP vt_l2_sh_wr_mem, {vmwrite rdx, [rsi + rcx*8 - 0x18]}

; VMX-preemption timer (vmxtest_timer.c): RCX iterations of a loop with
; no exit (RCX >= 1), then CPUID.
global vt_l2_spin:function hidden
global vt_l2_spin_cpuid:function hidden
vt_l2_spin:
	dec rcx
	jnz vt_l2_spin
vt_l2_spin_cpuid:
	cpuid
	jmp vt_l2_spin

; ---- L2's IDT: 256 stubs, 16 bytes apart, recording the last event.
global vt_l2_isr_base:function hidden
align 16
vt_l2_isr_base:
%assign v 0
%rep 256
	align 16, db 0xcc
%if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30
	push v
%else
	push 0
	push v
%endif
	jmp l2_isr_common
%assign v v + 1
%endrep

l2_isr_common:
	push rax
	mov rax, [rsp + 8]
	mov [vt_l2_ev + EV_VECTOR], rax
	mov rax, [rsp + 16]
	mov [vt_l2_ev + EV_ERROR], rax
	mov rax, [rsp + 24]
	mov [vt_l2_ev + EV_RIP], rax
	inc qword [vt_l2_ev + EV_COUNT]
	pop rax
	add rsp, 16
	; Return with RFLAGS.IF = 0: one event per entry. An interrupt the
	; firmware left pending would otherwise follow an injected one into L2.
	and qword [rsp + 16], ~0x200
	iretq

section .data
align 8
global vt_l2_cr0_value:data hidden
vt_l2_cr0_value: dq 0

section .bss
align 8
global vt_l2_ev:data hidden
vt_l2_ev: resq 4
vt_regs_ptr: resq 1

section .note.GNU-stack noalloc noexec nowrite progbits
