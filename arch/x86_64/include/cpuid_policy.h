/* What CPUID the guest sees, and the XSETBV validity rule.
 * SDM Vol. 2A "CPUID", Vol. 2C "XSETBV", Vol. 1 "Enabling the XSAVE Feature
 * Set and XSAVE-Enabled Features". Pure logic: the exit handler runs the
 * real CPUID and lets cpuid_policy_apply() edit the result. */
#ifndef NV_CPUID_POLICY_H
#define NV_CPUID_POLICY_H

#include <nestvisor/types.h>

#define CPUID_LEAF_FEATURES 0x1u
#define CPUID_LEAF_EXT_FEATURES 0x7u
#define CPUID_LEAF_HV_LAST 0x400000ffu /* end of the hypervisor leaf range */

/* CPUID.1:ECX */
#define CPUID_1_ECX_VMX BIT(5)
#define CPUID_1_ECX_SMX BIT(6)
#define CPUID_1_ECX_OSXSAVE BIT(27)
#define CPUID_1_ECX_HYPERVISOR BIT(31)
/* CPUID.(EAX=7,ECX=0):ECX and EDX */
#define CPUID_7_ECX_OSPKE BIT(4)
#define CPUID_7_EDX_L1D_FLUSH BIT(28)          /* IA32_FLUSH_CMD exists */
#define CPUID_7_EDX_ARCH_CAPABILITIES BIT(29)  /* IA32_ARCH_CAPABILITIES exists */

/* CR4 bits that CPUID reflects. */
#define CPUID_CR4_OSXSAVE BIT(18)
#define CPUID_CR4_PKE BIT(22)

/* XCR0 state components (SDM Vol. 1 "XSAVE-Supported Features and
 * State-Component Bitmaps"). */
#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)
#define XCR0_BNDREGS BIT(3)
#define XCR0_BNDCSR BIT(4)
#define XCR0_OPMASK BIT(5)
#define XCR0_ZMM_HI256 BIT(6)
#define XCR0_HI16_ZMM BIT(7)
#define XCR0_PKRU BIT(9)
#define XCR0_TILECFG BIT(17)
#define XCR0_TILEDATA BIT(18)
#define XCR0_AVX512 (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)
#define XCR0_MPX (XCR0_BNDREGS | XCR0_BNDCSR)
#define XCR0_AMX (XCR0_TILECFG | XCR0_TILEDATA)

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

struct cpuid_policy {
	bool expose_vmx; /* offer VT-x to the guest (nested) */
	u64 guest_cr4;   /* the guest's CR4: OSXSAVE and OSPKE follow it */
};

/* Edits *r, which holds what the real CPUID(leaf, subleaf) returned. */
void cpuid_policy_apply(u32 leaf, u32 subleaf, struct cpuid_regs *r,
			const struct cpuid_policy *p);

/* Whether XSETBV to XCR0 with new_xcr0 succeeds (true) or raises #GP(0). */
bool xcr0_valid(u64 new_xcr0, u64 supported_xcr0);

#endif
