/* VT-x checks: everything the monitor relies on, each missing item named.
 * SDM Vol. 3D, Appendix A "VMX Capability Reporting Facility". */
#include "vmx_check.h"

#define CPUID_1_ECX_VMX BIT(5)

#define MSR_IA32_FEATURE_CONTROL 0x3a
#define FEATURE_CONTROL_LOCK BIT(0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX BIT(2)

#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48c
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490

#define VMX_BASIC_MEMTYPE_SHIFT 50 /* bits 53:50, VMCS memory type */
#define VMX_BASIC_MEMTYPE_MASK 0xfULL
#define VMX_BASIC_TRUE_CTLS BIT(55)
#define MEMTYPE_WB 6

struct vmx_req {
	unsigned int bit;
	const char *name;
};

/* Primary processor-based controls (SDM 25.6.2). */
static const struct vmx_req req_proc[] = {
	{ 25, "IA32_VMX_PROCBASED_CTLS: use I/O bitmaps (bit 25)" },
	{ 28, "IA32_VMX_PROCBASED_CTLS: use MSR bitmaps (bit 28)" },
	{ 31, "IA32_VMX_PROCBASED_CTLS: activate secondary controls (bit 31)" },
};

/* Secondary processor-based controls (SDM 25.6.2). */
static const struct vmx_req req_proc2[] = {
	{ 1, "IA32_VMX_PROCBASED_CTLS2: enable EPT (bit 1)" },
	{ 7, "IA32_VMX_PROCBASED_CTLS2: unrestricted guest (bit 7)" },
};

/* EPT capabilities (SDM Appendix A.10). */
static const struct vmx_req req_ept[] = {
	{ 6, "IA32_VMX_EPT_VPID_CAP: page-walk length 4 (bit 6)" },
	{ 14, "IA32_VMX_EPT_VPID_CAP: EPT memory type WB (bit 14)" },
	{ 16, "IA32_VMX_EPT_VPID_CAP: 2-MByte EPT pages (bit 16)" },
	{ 20, "IA32_VMX_EPT_VPID_CAP: INVEPT (bit 20)" },
};

/* VM-entry controls (SDM 25.8.1). */
static const struct vmx_req req_entry[] = {
	{ 9, "IA32_VMX_ENTRY_CTLS: IA-32e mode guest (bit 9)" },
	{ 14, "IA32_VMX_ENTRY_CTLS: load IA32_PAT (bit 14)" },
	{ 15, "IA32_VMX_ENTRY_CTLS: load IA32_EFER (bit 15)" },
};

/* VM-exit controls (SDM 25.7.1). */
static const struct vmx_req req_exit[] = {
	{ 9, "IA32_VMX_EXIT_CTLS: host address-space size (bit 9)" },
	{ 18, "IA32_VMX_EXIT_CTLS: save IA32_PAT (bit 18)" },
	{ 19, "IA32_VMX_EXIT_CTLS: load IA32_PAT (bit 19)" },
	{ 20, "IA32_VMX_EXIT_CTLS: save IA32_EFER (bit 20)" },
	{ 21, "IA32_VMX_EXIT_CTLS: load IA32_EFER (bit 21)" },
};

/* Each required bit must be set in 'allowed'; returns how many are not. */
static int need_bits(u64 allowed, const struct vmx_req *req, size_t n,
		     void (*missing)(const char *item))
{
	int count = 0;

	for (size_t i = 0; i < n; i++) {
		if (!(allowed & BIT(req[i].bit))) {
			missing(req[i].name);
			count++;
		}
	}
	return count;
}

/* The allowed-1 settings of a control are the MSR's high 32 bits
 * (SDM A.3.1: "bit X of the control may be 1 if bit 32+X of the MSR is 1"). */
static u64 allowed1(const struct vmx_hw *hw, u32 msr)
{
	return hw->rdmsr(msr) >> 32;
}

int vmx_check(const struct vmx_hw *hw, void (*missing)(const char *item))
{
	u64 basic, feature, proc, proc2 = 0;
	bool true_ctls;
	int count = 0;
	u32 regs[4];

	/* Without CPUID.1:ECX.VMX every VMX MSR read raises #GP: stop here. */
	hw->cpuid(1, 0, regs);
	if (!(regs[2] & CPUID_1_ECX_VMX)) {
		missing("CPUID.1:ECX.VMX (the CPU does not offer VT-x)");
		return 1;
	}

	feature = hw->rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((feature & FEATURE_CONTROL_LOCK) && !(feature & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		missing("IA32_FEATURE_CONTROL: VMX outside SMX disabled by firmware (locked)");
		count++;
	}

	basic = hw->rdmsr(MSR_IA32_VMX_BASIC);
	if (((basic >> VMX_BASIC_MEMTYPE_SHIFT) & VMX_BASIC_MEMTYPE_MASK) != MEMTYPE_WB) {
		missing("IA32_VMX_BASIC: VMCS memory type write-back (bits 53:50)");
		count++;
	}
	/* Bit 55: the TRUE_* MSRs report the controls exactly (SDM A.2). */
	true_ctls = basic & VMX_BASIC_TRUE_CTLS;

	proc = allowed1(hw, true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
				      : MSR_IA32_VMX_PROCBASED_CTLS);
	count += need_bits(proc, req_proc, ARRAY_SIZE(req_proc), missing);

	/* PROCBASED_CTLS2 exists only if secondary controls can be 1 (SDM A.3.3);
	 * EPT_VPID_CAP only if EPT or VPID can be 1 (SDM A.10). */
	if (proc & BIT(31)) {
		proc2 = allowed1(hw, MSR_IA32_VMX_PROCBASED_CTLS2);
		count += need_bits(proc2, req_proc2, ARRAY_SIZE(req_proc2), missing);
	}
	if (proc2 & BIT(1)) {
		u64 ept = hw->rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);

		count += need_bits(ept, req_ept, ARRAY_SIZE(req_ept), missing);
		if (!(ept & (BIT(25) | BIT(26)))) {
			missing("IA32_VMX_EPT_VPID_CAP: single-context (bit 25) or all-context (bit 26) INVEPT");
			count++;
		}
	}

	count += need_bits(allowed1(hw, true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS
						  : MSR_IA32_VMX_ENTRY_CTLS),
			   req_entry, ARRAY_SIZE(req_entry), missing);
	count += need_bits(allowed1(hw, true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS
						  : MSR_IA32_VMX_EXIT_CTLS),
			   req_exit, ARRAY_SIZE(req_exit), missing);

	/* Enable and lock only once we know we will use VMX: the lock bit stays
	 * set until the next reset (SDM 24.7 "Enabling and Entering VMX Operation"). */
	if (!count && !(feature & FEATURE_CONTROL_LOCK))
		hw->wrmsr(MSR_IA32_FEATURE_CONTROL,
			  feature | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	return count;
}

#ifndef NV_HOST_TEST
static void cpu_cpuid(u32 leaf, u32 subleaf, u32 regs[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3])
			 : "a"(leaf), "c"(subleaf));
}

static u64 cpu_rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static void cpu_wrmsr(u32 msr, u64 val)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)val), "d"((u32)(val >> 32)));
}

const struct vmx_hw vmx_hw_cpu = { cpu_cpuid, cpu_rdmsr, cpu_wrmsr };
#endif
