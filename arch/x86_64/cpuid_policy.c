/* CPUID as the guest sees it. */
#include "cpuid_policy.h"
#include <nestvisor/hypercall.h>

static void cpuid_set_bit(u32 *reg, u64 bit, bool on)
{
	if (on)
		*reg |= (u32)bit;
	else
		*reg &= ~(u32)bit;
}

void cpuid_policy_apply(u32 leaf, u32 subleaf, struct cpuid_regs *r,
			const struct cpuid_policy *p)
{
	switch (leaf) {
	case CPUID_LEAF_FEATURES:
		/* Bit 31 is reserved for hypervisors to announce themselves. */
		r->ecx |= (u32)CPUID_1_ECX_HYPERVISOR;
		if (!p->expose_vmx)
			r->ecx &= ~(u32)CPUID_1_ECX_VMX;
		/* No SMX: the monitor answers GETSEC with #UD and reports
		 * IA32_FEATURE_CONTROL without "VMXON inside SMX". */
		r->ecx &= ~(u32)CPUID_1_ECX_SMX;
		/* OSXSAVE reflects CR4.OSXSAVE; the CPUID instruction ran with
		 * the monitor's CR4, so recompute it from the guest's. */
		cpuid_set_bit(&r->ecx, CPUID_1_ECX_OSXSAVE, p->guest_cr4 & CPUID_CR4_OSXSAVE);
		return;
	case CPUID_LEAF_EXT_FEATURES:
		if (subleaf == 0) {
			cpuid_set_bit(&r->ecx, CPUID_7_ECX_OSPKE, p->guest_cr4 & CPUID_CR4_PKE);
			/* The monitor answers RDMSR IA32_ARCH_CAPABILITIES
			 * itself (msr_policy.c, l1d.c), on every CPU. */
			r->edx |= (u32)CPUID_7_EDX_ARCH_CAPABILITIES;
		}
		return;
	case NV_CPUID_BASE:
		r->eax = NV_CPUID_MAX_LEAF;
		r->ebx = NV_CPUID_SIG_EBX;
		r->ecx = NV_CPUID_SIG_ECX;
		r->edx = NV_CPUID_SIG_EDX;
		return;
	case NV_CPUID_BASE + 1:
		r->eax = NV_VERSION;
		r->ebx = r->ecx = r->edx = 0;
		return;
	}
	/* The rest of the hypervisor range is ours and empty. */
	if (leaf > NV_CPUID_BASE + 1 && leaf <= CPUID_LEAF_HV_LAST)
		r->eax = r->ebx = r->ecx = r->edx = 0;
}

/* SDM Vol. 2C XSETBV "Operation"/"Protected Mode Exceptions": #GP(0) if
 * bit 0 is clear, if AVX is set without SSE, if the AVX-512 bits are not
 * all equal or set without AVX, if the two MPX bits differ, if the two AMX
 * bits differ, or if any bit is unsupported (not in CPUID.(EAX=0DH,ECX=0)
 * EDX:EAX). */
bool xcr0_valid(u64 new_xcr0, u64 supported_xcr0)
{
	u64 avx512 = new_xcr0 & XCR0_AVX512;

	if (new_xcr0 & ~supported_xcr0)
		return false;
	if (!(new_xcr0 & XCR0_X87))
		return false;
	if ((new_xcr0 & XCR0_AVX) && !(new_xcr0 & XCR0_SSE))
		return false;
	if (avx512 && (avx512 != XCR0_AVX512 || !(new_xcr0 & XCR0_AVX)))
		return false;
	if ((new_xcr0 & XCR0_MPX) && (new_xcr0 & XCR0_MPX) != XCR0_MPX)
		return false;
	if ((new_xcr0 & XCR0_AMX) && (new_xcr0 & XCR0_AMX) != XCR0_AMX)
		return false;
	return true;
}
