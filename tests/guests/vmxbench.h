/* vmxbench: the cost of VMX operations seen from an L1 hypervisor, in
 * RDTSC ticks (on Bochs with clock sync=none: emulated instructions, so
 * deterministic). Built on vmxtest's library (vmxtest.h); the timed loops
 * are in vmxbench_asm.asm. See docs/benchmarks.md. */
#ifndef VMXBENCH_H
#define VMXBENCH_H

#include "vmxtest.h"

#pragma GCC visibility push(hidden)

/* Timed loops in L1: the RDTSC delta of n iterations of one operation
 * ("dec; jnz" around it; vb_loop_empty is the loop alone). */
u64 vb_loop_empty(u64 n);
u64 vb_loop_cpuid(u64 n);                 /* CPUID leaf 0 (with EAX/ECX set up) */
u64 vb_loop_vmread(u64 n, u64 field);     /* VMREAD field into a register */
u64 vb_loop_vmwrite(u64 n, u64 field, u64 val);

/* One batch of L2 work (vb_l2_run): L2 runs n iterations of its loop,
 * times them itself, and ends with VMCALL. L1's handler in vb_l2_run
 * serves CPUID exits with VMREAD exit reason, instruction length and
 * GUEST_RIP, VMWRITE GUEST_RIP, VMRESUME. Offsets used by the asm. */
struct vb_run {
	u64 n;         /* 0: iterations for L2 */
	u64 l2_ticks;  /* 8: RDTSC delta measured in L2 around its loop */
	u64 l1_ticks;  /* 16: RDTSC delta measured in L1, entry to the VMCALL exit */
	u64 l1_start;  /* 24: scratch */
	u64 reason;    /* 32: the exit that ended the batch (VMCALL expected) */
	u64 handled;   /* 40: CPUID exits L1 handled */
};
_Static_assert(sizeof(struct vb_run) == 48, "vmxbench_asm.asm offsets");

/* VMLAUNCH (resume = 0) or VMRESUME the current VMCS and serve L2 until
 * an exit other than CPUID. Returns 0 after such an exit, 1 if the VM
 * entry failed (VMfail: RFLAGS.CF or ZF). */
u64 vb_l2_run(struct vb_run *run, int resume);

/* L2 entry points (GUEST_RIP of a batch). */
extern const u8 vb_l2_cpuid[], vb_l2_rdmsr[];
#define VB_L2_MSR MSR_IA32_FEATURE_CONTROL /* read by vb_l2_rdmsr */

#pragma GCC visibility pop

#endif
