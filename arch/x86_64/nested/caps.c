/* The VMX capability MSRs offered to L1 (docs/nested.md, "What L1 is
 * offered"), computed once from the hardware's. Rule: never report a bit
 * L0 cannot honour, and never lift a bit the hardware fixes. */
#include "caps.h"

/* IA32_VMX_BASIC (SDM A.1 "Basic VMX Information"). */
#define VMX_BASIC_SIZE_SHIFT 32         /* bits 44:32, VMCS region size */
#define VMX_BASIC_MEMTYPE_SHIFT 50      /* bits 53:50 */
#define VMX_BASIC_MEMTYPE_WB 6ULL
#define VMX_BASIC_INOUT_INFO BIT(54)    /* INS/OUTS instruction information */
#define VMX_BASIC_TRUE_CTLS BIT(55)

/* Controls vmcs.h does not name, needed only to derive features. */
#define VM_EXIT_CLEAR_IA32_BNDCFGS (1U << 23)
#define VM_ENTRY_LOAD_IA32_BNDCFGS (1U << 16)

#define CR3_TARGETS_OFFERED 4

/* The VMX-preemption timer runs on the hardware's: VMCS02 carries L1's
 * value, and L0 charges L2 for the time it spends on L2's behalf
 * (docs/nested.md, "The VMX-preemption timer"). */
static const u32 offer_pin = PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
			     PIN_BASED_VIRTUAL_NMIS | PIN_BASED_VMX_PREEMPTION_TIMER |
			     VMX_PINBASED_DEFAULT1;

static const u32 offer_proc = CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_USE_TSC_OFFSETTING |
	CPU_BASED_HLT_EXITING | CPU_BASED_INVLPG_EXITING | CPU_BASED_MWAIT_EXITING |
	CPU_BASED_RDPMC_EXITING | CPU_BASED_RDTSC_EXITING | CPU_BASED_CR3_LOAD_EXITING |
	CPU_BASED_CR3_STORE_EXITING | CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |
	CPU_BASED_TPR_SHADOW | CPU_BASED_NMI_WINDOW_EXITING | CPU_BASED_MOV_DR_EXITING |
	CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS |
	CPU_BASED_MONITOR_EXITING | CPU_BASED_PAUSE_EXITING | CPU_BASED_ACTIVATE_SECONDARY |
	VMX_PROCBASED_DEFAULT1;

/* PML only with EPT accessed and dirty flags (below): L0 logs in
 * nested_ept.c the dirty flags it sets in EPT12 (SDM 29.3.6). */
static const u32 offer_proc2 = SECONDARY_ENABLE_EPT | SECONDARY_UNRESTRICTED_GUEST |
	SECONDARY_ENABLE_VPID | SECONDARY_ENABLE_PML |
	SECONDARY_DESC_TABLE_EXITING | SECONDARY_ENABLE_RDTSCP |
	SECONDARY_WBINVD_EXITING | SECONDARY_ENABLE_INVPCID | SECONDARY_ENABLE_XSAVES |
	SECONDARY_RDRAND_EXITING | SECONDARY_RDSEED_EXITING;

/* IA32_VMX_EPT_VPID_CAP bits offered (SDM A.10): execute-only, 4-level
 * walk, UC and WB paging structures, 2-MByte and 1-GByte pages, INVEPT
 * with the single-context and all-context types, accessed and dirty flags
 * (bit 21: L0 sets them in EPT12, and needs the CPU's for EPT02 so that
 * L2's paging-structure accesses count as writes; nested_ept.c). */
/* VPID: INVVPID (bit 32) with the individual-address, single-context,
 * all-context and single-context-retaining-globals types (bits 43:40).
 * VMCS02 runs without VPID, so every VM entry and exit flushes L2's
 * translations anyway (SDM 29.4.3.3): honouring L1's VPIDs costs nothing. */
#define EPT_CAP_INVVPID BIT(32)
#define EPT_CAP_AD BIT(21)
static const u64 offer_vpid_cap = EPT_CAP_INVVPID | BIT(40) | BIT(41) | BIT(42) | BIT(43);
static const u64 offer_ept_cap = BIT(0) | BIT(6) | BIT(8) | BIT(14) | BIT(16) | BIT(17) |
	BIT(20) | BIT(21) | BIT(25) | BIT(26);

static const u32 offer_exit = VM_EXIT_SAVE_DEBUG_CONTROLS | VM_EXIT_HOST_ADDR_SPACE_SIZE |
	VM_EXIT_ACK_INTR_ON_EXIT | VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |
	VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_PREEMPTION_TIMER |
	VMX_EXIT_DEFAULT1;

static const u32 offer_entry = VM_ENTRY_LOAD_DEBUG_CONTROLS | VM_ENTRY_IA32E_MODE |
	VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER | VMX_ENTRY_DEFAULT1;

static u32 allowed0(u64 cap) { return (u32)cap; }
static u32 allowed1(u64 cap) { return (u32)(cap >> 32); }
static u64 ctl_msr(u32 must1, u32 may1) { return ((u64)may1 << 32) | must1; }

/* A control MSR pair for L1. TRUE: the hardware's must-be-1 bits (its
 * TRUE MSR when it has one) and the offer it allows. Non-TRUE: the same
 * with the default1 class forced to 1 (SDM A.2; A.3.1-A.5). */
static void offer_ctls(struct nested_caps *out, u64 hw, u32 offer, u32 default1,
		       u32 msr, u32 true_msr)
{
	u32 must1 = allowed0(hw);
	u32 may1 = (offer & allowed1(hw)) | must1;
	u32 d1 = default1 & allowed1(hw);

	out->msr[NESTED_CAP(true_msr)] = ctl_msr(must1, may1);
	out->msr[NESTED_CAP(msr)] = ctl_msr(must1 | d1, may1 | d1);
}

/* Which allowed-1 bit of which MSR makes a feature's fields exist
 * (SDM Appendix B footnotes). */
static const struct {
	u8 feature;
	u8 cap;   /* NESTED_CAP() of the TRUE or secondary control MSR */
	u32 bits; /* any of them */
} feature_src[] = {
	{ FEAT_SECONDARY, NESTED_CAP(MSR_IA32_VMX_TRUE_PROCBASED_CTLS), CPU_BASED_ACTIVATE_SECONDARY },
	{ FEAT_TPR_SHADOW, NESTED_CAP(MSR_IA32_VMX_TRUE_PROCBASED_CTLS), CPU_BASED_TPR_SHADOW },
	{ FEAT_PREEMPTION_TIMER, NESTED_CAP(MSR_IA32_VMX_TRUE_PINBASED_CTLS), PIN_BASED_VMX_PREEMPTION_TIMER },
	{ FEAT_POSTED_INTR, NESTED_CAP(MSR_IA32_VMX_TRUE_PINBASED_CTLS), PIN_BASED_POSTED_INTR },
	{ FEAT_EPT, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_ENABLE_EPT },
	{ FEAT_VPID, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_ENABLE_VPID },
	{ FEAT_SHADOW_VMCS, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_VMCS_SHADOWING },
	{ FEAT_APIC_ACCESS, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_VIRTUALIZE_APIC_ACCESSES },
	{ FEAT_APICV, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_VIRTUAL_INTR_DELIVERY },
	{ FEAT_PML, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_ENABLE_PML },
	{ FEAT_VMFUNC, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_ENABLE_VMFUNC },
	{ FEAT_VE, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_EPT_VIOLATION_VE },
	{ FEAT_XSAVES, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_ENABLE_XSAVES },
	{ FEAT_TSC_SCALING, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_TSC_SCALING },
	{ FEAT_ENCLS, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_ENCLS_EXITING },
	{ FEAT_PLE, NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2), SECONDARY_PAUSE_LOOP_EXITING },
	{ FEAT_PAT, NESTED_CAP(MSR_IA32_VMX_TRUE_EXIT_CTLS), VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT },
	{ FEAT_PAT, NESTED_CAP(MSR_IA32_VMX_TRUE_ENTRY_CTLS), VM_ENTRY_LOAD_IA32_PAT },
	{ FEAT_EFER, NESTED_CAP(MSR_IA32_VMX_TRUE_EXIT_CTLS), VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER },
	{ FEAT_EFER, NESTED_CAP(MSR_IA32_VMX_TRUE_ENTRY_CTLS), VM_ENTRY_LOAD_IA32_EFER },
	{ FEAT_PERF_GLOBAL_CTRL, NESTED_CAP(MSR_IA32_VMX_TRUE_EXIT_CTLS), VM_EXIT_LOAD_PERF_GLOBAL_CTRL },
	{ FEAT_PERF_GLOBAL_CTRL, NESTED_CAP(MSR_IA32_VMX_TRUE_ENTRY_CTLS), VM_ENTRY_LOAD_PERF_GLOBAL_CTRL },
	{ FEAT_BNDCFGS, NESTED_CAP(MSR_IA32_VMX_TRUE_EXIT_CTLS), VM_EXIT_CLEAR_IA32_BNDCFGS },
	{ FEAT_BNDCFGS, NESTED_CAP(MSR_IA32_VMX_TRUE_ENTRY_CTLS), VM_ENTRY_LOAD_IA32_BNDCFGS },
};

static u32 offered_features(const struct nested_caps *c)
{
	u32 features = 0;

	for (size_t i = 0; i < ARRAY_SIZE(feature_src); i++)
		if (allowed1(c->msr[feature_src[i].cap]) & feature_src[i].bits)
			features |= FEAT_BIT(feature_src[i].feature);
	return features;
}

/* SDM A.6: activity states beyond HLT, the MSR-list size and MSEG are not
 * offered; CR3 targets are at most 4. With the preemption timer, its rate
 * (bits 4:0) is the hardware's but at least NESTED_TIMER_RATE_MIN: L0
 * scales L1's timer onto the hardware's (preempt.c). */
static u64 offer_misc(u64 hw, bool timer)
{
	u64 cr3_targets = (hw >> VMX_MISC_CR3_TARGETS_SHIFT) & VMX_MISC_CR3_TARGETS_MASK;
	u64 rate = hw & VMX_MISC_PREEMPTION_RATE;

	if (cr3_targets > CR3_TARGETS_OFFERED)
		cr3_targets = CR3_TARGETS_OFFERED;
	if (rate < NESTED_TIMER_RATE_MIN)
		rate = NESTED_TIMER_RATE_MIN;
	return (hw & (VMX_MISC_STORE_LMA | VMX_MISC_ACTIVITY_HLT | VMX_MISC_VMWRITE_ANY_FIELD |
		      VMX_MISC_INJECT_LEN0)) |
	       (timer ? rate : 0) | cr3_targets << VMX_MISC_CR3_TARGETS_SHIFT;
}

void nested_caps_compute(const struct vmx_caps *hw, struct nested_caps *out)
{
	u64 *m = out->msr;

	for (size_t i = 0; i < IA32_VMX_MSR_COUNT; i++)
		m[i] = 0;

	/* Own revision, 4-KiB write-back regions, TRUE controls (SDM A.1). */
	m[NESTED_CAP(MSR_IA32_VMX_BASIC)] = VMCS12_REVISION |
		(u64)VMCS12_SIZE << VMX_BASIC_SIZE_SHIFT |
		VMX_BASIC_MEMTYPE_WB << VMX_BASIC_MEMTYPE_SHIFT |
		(hw->basic & VMX_BASIC_INOUT_INFO) | VMX_BASIC_TRUE_CTLS;

	offer_ctls(out, hw->pinbased, offer_pin, VMX_PINBASED_DEFAULT1,
		   MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS);
	offer_ctls(out, hw->procbased, offer_proc, VMX_PROCBASED_DEFAULT1,
		   MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
	offer_ctls(out, hw->exit, offer_exit, VMX_EXIT_DEFAULT1,
		   MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS);
	offer_ctls(out, hw->entry, offer_entry, VMX_ENTRY_DEFAULT1,
		   MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS);

	/* Secondary controls exist only with "activate secondary controls"
	 * (SDM A.3.3); none of them is ever must-be-1. */
	/* VMCS shadowing is emulated whatever the hardware has: L2's VMREAD
	 * and VMWRITE exit to L0, which reads L1's bitmaps and shadow VMCS12
	 * (shadow12.c). */
	if (allowed1(m[NESTED_CAP(MSR_IA32_VMX_TRUE_PROCBASED_CTLS)]) & CPU_BASED_ACTIVATE_SECONDARY)
		m[NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2)] =
			ctl_msr(0, (offer_proc2 & allowed1(hw->procbased2)) | SECONDARY_VMCS_SHADOWING);

	m[NESTED_CAP(MSR_IA32_VMX_MISC)] = offer_misc(hw->misc,
		allowed1(m[NESTED_CAP(MSR_IA32_VMX_TRUE_PINBASED_CTLS)]) & PIN_BASED_VMX_PREEMPTION_TIMER);
	m[NESTED_CAP(MSR_IA32_VMX_CR0_FIXED0)] = hw->cr0_fixed0;
	m[NESTED_CAP(MSR_IA32_VMX_CR0_FIXED1)] = hw->cr0_fixed1;
	m[NESTED_CAP(MSR_IA32_VMX_CR4_FIXED0)] = hw->cr4_fixed0;
	m[NESTED_CAP(MSR_IA32_VMX_CR4_FIXED1)] = hw->cr4_fixed1;
	/* EPT for L1 (nested EPT, nested_ept.c): what L0 can walk in EPT12
	 * and compose into EPT02 (SDM A.10), accessed/dirty flags where the
	 * CPU has them; no VM functions (VMFUNC stays 0). VPID only with
	 * INVVPID. */
	u64 *p2 = &m[NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2)];
	u64 cap = 0;
	if (allowed1(*p2) & SECONDARY_ENABLE_EPT)
		cap |= hw->ept_vpid & offer_ept_cap;
	else /* unrestricted guest needs EPT (SDM 27.2.1.1) */
		*p2 &= ~((u64)SECONDARY_UNRESTRICTED_GUEST << 32);
	/* PML logs nothing without EPTP bit 6 (SDM 29.3.6): offered only
	 * with the accessed and dirty flags. */
	if (!(cap & EPT_CAP_AD))
		*p2 &= ~((u64)SECONDARY_ENABLE_PML << 32);
	if ((allowed1(*p2) & SECONDARY_ENABLE_VPID) && (hw->ept_vpid & EPT_CAP_INVVPID))
		cap |= hw->ept_vpid & offer_vpid_cap;
	else
		*p2 &= ~((u64)SECONDARY_ENABLE_VPID << 32);
	m[NESTED_CAP(MSR_IA32_VMX_EPT_VPID_CAP)] = cap;

	out->features = offered_features(out);
	/* SDM A.9 "VMCS Enumeration": bits 9:1 highest index used. */
	m[NESTED_CAP(MSR_IA32_VMX_VMCS_ENUM)] = (u64)vmcs12_highest_index(out->features) << 1;
}

bool nested_caps_rdmsr(const struct nested_caps *c, u32 msr, u64 *value)
{
	if (msr < MSR_IA32_VMX_BASIC || msr > MSR_IA32_VMX_VMFUNC)
		return false;
	*value = c->msr[NESTED_CAP(msr)];
	return true;
}

bool nested_ctl_allowed(u64 cap_msr, u32 value)
{
	return (value & allowed0(cap_msr)) == allowed0(cap_msr) &&
	       !(value & ~allowed1(cap_msr));
}
