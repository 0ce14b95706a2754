/* The VMX capability MSRs offered to L1 (docs/nested.md), for Bochs'
 * corei7_skylake_x as measured and for a poorer CPU: no TPR shadow, no
 * secondary controls, no IA32_VMX_MISC bit 29, no TRUE_* MSRs. The offer
 * masks below are written from the contract, independently of caps.c. */
#include "unit.h"
#include <nested/caps.h>
#include "../common/vmx_offer.h"

static const struct vmx_caps bochs = {
	.basic = 0x00d810000000002bULL,
	.pinbased = 0x0000007f00000016ULL,  /* TRUE_PINBASED */
	.procbased = 0xf7f9fffe04006172ULL, /* TRUE_PROCBASED */
	.procbased2 = 0x02177fff00000000ULL,
	.exit = 0x007fffff00036dfbULL,      /* TRUE_EXIT */
	.entry = 0x0000ffff000011fbULL,     /* TRUE_ENTRY */
	.misc = 0x00000000600401e0ULL,
	.ept_vpid = 0x00000f0106334141ULL,
	.cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff,
	.cr4_fixed0 = 0x2000, .cr4_fixed1 = 0x3727ff,
};

static const struct vmx_caps poor = {
	.basic = 0x0018100000000010ULL,     /* no INS/OUTS info, no TRUE MSRs */
	.pinbased = 0x0000003f00000016ULL,
	.procbased = 0x77d9fffe0401e172ULL, /* no TPR shadow, no secondary */
	.procbased2 = 0x000000ff00000000ULL, /* must be ignored */
	.exit = 0x0003efff00036dffULL,      /* no PAT, EFER */
	.entry = 0x000093ff000011ffULL,     /* load EFER, no PAT */
	/* Rate 5, shutdown and wait-for-SIPI but no HLT, 2 CR3 targets,
	 * 1024-entry MSR lists, no bits 29/30, MSEG revision 1. */
	.misc = 0x00000001020201a5ULL,
	.cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff,
	.cr4_fixed0 = 0x2000, .cr4_fixed1 = 0x3727ff,
};

/* What L1 is offered today: the issue-3 base set (vmx_offer.h, written
 * from the same contract) and what has been added since. */
#define PIN_OFFER (OFFER_PIN | PIN_BASED_VMX_PREEMPTION_TIMER)
#define PROC_OFFER OFFER_PROC
#define PROC2_OFFER (SECONDARY_ENABLE_EPT | SECONDARY_UNRESTRICTED_GUEST | SECONDARY_ENABLE_VPID | \
	SECONDARY_ENABLE_PML | OFFER_PROC2)
#define EXIT_OFFER (OFFER_EXIT | VM_EXIT_SAVE_PREEMPTION_TIMER)
#define ENTRY_OFFER OFFER_ENTRY

/* SDM A.2: the default1 classes, bit by bit. */
#define B(n) (1U << (n))
#define PIN_D1 (B(1) | B(2) | B(4))
#define PROC_D1 (B(1) | B(4) | B(5) | B(6) | B(8) | B(13) | B(14) | B(15) | B(16) | B(26))
#define EXIT_D1 (0x1ffU | B(10) | B(11) | B(13) | B(14) | B(16) | B(17))
#define ENTRY_D1 (0x1ffU | B(12))

static u64 msr(const struct nested_caps *c, u32 index)
{
	u64 v = 0xdeadbeef;
	assert_true(nested_caps_rdmsr(c, index, &v));
	assert_int_equal(v, c->msr[index - MSR_IA32_VMX_BASIC]);
	return v;
}

static u32 lo(u64 x) { return (u32)x; }
static u32 hi(u64 x) { return (u32)(x >> 32); }

/* One control: TRUE and non-TRUE MSRs for L1 against the hardware's. */
static void check_ctls(const struct nested_caps *c, u64 hw, u32 offer, u32 d1,
		       u32 index, u32 true_index)
{
	u64 t = msr(c, true_index), n = msr(c, index);

	assert_int_equal(lo(t), lo(hw));                 /* hw must-be-1 stays must-be-1 */
	assert_int_equal(hi(t) & ~hi(hw), 0);            /* nothing hw cannot run */
	assert_int_equal(hi(t) & ~(offer | d1 | lo(hw)), 0); /* nothing outside the offer */
	assert_int_equal(hi(t) & (offer | d1) & hi(hw), (offer | d1) & hi(hw)); /* all of it */
	assert_int_equal(lo(t) & ~hi(t), 0);             /* must-be-1 implies may-be-1 */
	/* Non-TRUE: the default1 class reported must-be-1 (SDM A.2). */
	assert_int_equal(lo(n), lo(t) | d1);
	assert_int_equal(hi(n), hi(t));
	assert_true(nested_ctl_allowed(t, lo(t)));
	assert_true(nested_ctl_allowed(n, lo(n)));
	assert_true(nested_ctl_allowed(t, hi(t)));
}

static void check_common(const struct nested_caps *c, const struct vmx_caps *hw)
{
	u64 basic = msr(c, MSR_IA32_VMX_BASIC);

	/* SDM A.1: revision 30:0, bit 31 0, size 44:32, bits 48/49 0,
	 * memory type 53:50 = WB, bit 54 as hw, bit 55 TRUE controls. */
	assert_int_equal(basic & 0x7fffffff, VMCS12_REVISION);
	assert_int_equal(basic & B(31), 0);
	assert_int_equal((basic >> 32) & 0x1fff, 4096);
	assert_int_equal((basic >> 48) & 3, 0);
	assert_int_equal((basic >> 50) & 0xf, 6);
	assert_int_equal((basic >> 54) & 1, (hw->basic >> 54) & 1);
	assert_int_equal((basic >> 55) & 1, 1);
	assert_int_equal(basic >> 56, 0);

	check_ctls(c, hw->pinbased, PIN_OFFER, PIN_D1, MSR_IA32_VMX_PINBASED_CTLS,
		   MSR_IA32_VMX_TRUE_PINBASED_CTLS);
	check_ctls(c, hw->procbased, PROC_OFFER, PROC_D1, MSR_IA32_VMX_PROCBASED_CTLS,
		   MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
	check_ctls(c, hw->exit, EXIT_OFFER, EXIT_D1, MSR_IA32_VMX_EXIT_CTLS,
		   MSR_IA32_VMX_TRUE_EXIT_CTLS);
	check_ctls(c, hw->entry, ENTRY_OFFER, ENTRY_D1, MSR_IA32_VMX_ENTRY_CTLS,
		   MSR_IA32_VMX_TRUE_ENTRY_CTLS);

	/* Secondary controls: only with "activate secondary controls". */
	u64 p2 = msr(c, MSR_IA32_VMX_PROCBASED_CTLS2);
	bool secondary = hi(msr(c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS)) & CPU_BASED_ACTIVATE_SECONDARY;
	assert_int_equal(lo(p2), 0);
	/* VMCS shadowing is emulated: offered whatever the hardware has. */
	u32 want2 = secondary ? (PROC2_OFFER & hi(hw->procbased2)) | SECONDARY_VMCS_SHADOWING : 0;
	if (!(want2 & SECONDARY_ENABLE_EPT))
		want2 &= ~SECONDARY_UNRESTRICTED_GUEST;
	if (!(hw->ept_vpid & BIT(32))) /* VPID only with INVVPID */
		want2 &= ~SECONDARY_ENABLE_VPID;
	/* PML only with EPT and its accessed/dirty flags (SDM 29.3.6). */
	if (!(want2 & SECONDARY_ENABLE_EPT) || !(hw->ept_vpid & B(21)))
		want2 &= ~SECONDARY_ENABLE_PML;
	assert_int_equal(hi(p2), want2);

	/* CR fixed bits as the hardware; VM functions not offered. */
	assert_int_equal(msr(c, MSR_IA32_VMX_CR0_FIXED0), hw->cr0_fixed0);
	assert_int_equal(msr(c, MSR_IA32_VMX_CR0_FIXED1), hw->cr0_fixed1);
	assert_int_equal(msr(c, MSR_IA32_VMX_CR4_FIXED0), hw->cr4_fixed0);
	assert_int_equal(msr(c, MSR_IA32_VMX_CR4_FIXED1), hw->cr4_fixed1);
	/* EPT capabilities exactly with EPT, and only what L0 walks and
	 * composes (SDM A.10), A/D flags where the CPU has them; INVVPID's
	 * exactly with VPID. */
	u64 eptcap = msr(c, MSR_IA32_VMX_EPT_VPID_CAP);
	u64 ept_bits = B(0) | B(6) | B(8) | B(14) | B(16) | B(17) | B(20) | B(21) | B(25) | B(26);
	u64 vpid_bits = BIT(32) | BIT(40) | BIT(41) | BIT(42) | BIT(43);
	assert_int_equal(eptcap & ept_bits, (hi(p2) & SECONDARY_ENABLE_EPT) ? hw->ept_vpid & ept_bits : 0);
	assert_int_equal(eptcap & vpid_bits, (hi(p2) & SECONDARY_ENABLE_VPID) ? hw->ept_vpid & vpid_bits : 0);
	assert_int_equal(eptcap & ~(ept_bits | vpid_bits), 0);
	/* Unrestricted guest needs EPT (SDM 27.2.1.1). */
	if (hi(p2) & SECONDARY_UNRESTRICTED_GUEST)
		assert_true(hi(p2) & SECONDARY_ENABLE_EPT);
	assert_int_equal(msr(c, MSR_IA32_VMX_VMFUNC), 0);

	/* SDM A.9: the highest index of the fields L1 can use. */
	assert_int_equal(msr(c, MSR_IA32_VMX_VMCS_ENUM), vmcs12_highest_index(c->features) << 1);

	/* Only 0x480-0x491 are answered. */
	u64 v;
	assert_false(nested_caps_rdmsr(c, MSR_IA32_VMX_BASIC - 1, &v));
	assert_false(nested_caps_rdmsr(c, MSR_IA32_VMX_PROCBASED_CTLS3, &v));
	assert_false(nested_caps_rdmsr(c, MSR_IA32_VMX_EXIT_CTLS2, &v));
}

static void test_nested_caps_bochs(void **state)
{
	struct nested_caps c;

	(void)state;
	nested_caps_compute(&bochs, &c);
	check_common(&c, &bochs);
	assert_int_equal(msr(&c, MSR_IA32_VMX_BASIC), 0x00d810004e560001ULL);
	/* Pin-based by hand: 0-3, 5, 6 may be 1 (0x6f; posted interrupts,
	 * bit 7, not), 1, 2, 4 must (0x16). */
	assert_int_equal(msr(&c, MSR_IA32_VMX_TRUE_PINBASED_CTLS), 0x0000007f00000016ULL);
	/* CR3-load/store exiting may be 0 with TRUE controls only. */
	assert_int_equal(lo(msr(&c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS)) &
			 (CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING), 0);
	assert_int_equal(hi(msr(&c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS)), PROC_OFFER | PROC_D1);
	assert_int_equal(hi(msr(&c, MSR_IA32_VMX_PROCBASED_CTLS2)), PROC2_OFFER | SECONDARY_VMCS_SHADOWING);
	/* The preemption timer and its "save" exit control are offered. */
	assert_true(hi(msr(&c, MSR_IA32_VMX_TRUE_PINBASED_CTLS)) & PIN_BASED_VMX_PREEMPTION_TIMER);
	assert_true(hi(msr(&c, MSR_IA32_VMX_TRUE_EXIT_CTLS)) & VM_EXIT_SAVE_PREEMPTION_TIMER);
	/* Not offered though the hardware has them. */
	assert_int_equal(hi(msr(&c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS)) & CPU_BASED_MONITOR_TRAP_FLAG, 0);
	/* PML: the CPU has it and L1 has EPT A/D flags. */
	assert_true(hi(msr(&c, MSR_IA32_VMX_PROCBASED_CTLS2)) & SECONDARY_ENABLE_PML);
	/* Nested EPT and VPID: Bochs's caps, EPT A/D flags included. */
	assert_int_equal(msr(&c, MSR_IA32_VMX_EPT_VPID_CAP), 0x00000f0106334141ULL);
	assert_int_equal(hi(msr(&c, MSR_IA32_VMX_TRUE_EXIT_CTLS)) & VM_EXIT_LOAD_PERF_GLOBAL_CTRL, 0);
	/* MISC: timer rate 5 (Bochs's is 0: L0 scales), LMA store, HLT, 4 CR3
	 * targets, bits 29 and 30. */
	assert_int_equal(msr(&c, MSR_IA32_VMX_MISC), 5 | B(5) | B(6) | (4 << 16) | B(29) | B(30));
	assert_int_equal(c.features, FEAT_BIT(FEAT_SECONDARY) | FEAT_BIT(FEAT_TPR_SHADOW) |
			 FEAT_BIT(FEAT_EPT) | FEAT_BIT(FEAT_VPID) | FEAT_BIT(FEAT_XSAVES) | FEAT_BIT(FEAT_PAT) |
			 FEAT_BIT(FEAT_EFER) | FEAT_BIT(FEAT_PREEMPTION_TIMER) | FEAT_BIT(FEAT_SHADOW_VMCS) |
			 FEAT_BIT(FEAT_PML));
	/* VMX_PREEMPTION_TIMER_VALUE (0x482e) is the highest index: 23. */
	assert_int_equal(msr(&c, MSR_IA32_VMX_VMCS_ENUM), 23 << 1);
	/* A CPU with a slower timer (rate 7) reports its own rate to L1. */
	struct vmx_caps rate7 = bochs;
	rate7.misc |= 7;
	struct nested_caps c7;
	nested_caps_compute(&rate7, &c7);
	assert_int_equal(msr(&c7, MSR_IA32_VMX_MISC) & 0x1f, 7);
	/* A CPU with PML but without EPT A/D flags: no PML for L1 (it would
	 * log nothing), and no PML fields. */
	struct vmx_caps no_ad = bochs;
	no_ad.ept_vpid &= ~(u64)B(21);
	struct nested_caps cn;
	nested_caps_compute(&no_ad, &cn);
	check_common(&cn, &no_ad);
	assert_int_equal(hi(msr(&cn, MSR_IA32_VMX_PROCBASED_CTLS2)) & SECONDARY_ENABLE_PML, 0);
	assert_false(cn.features & FEAT_BIT(FEAT_PML));
	/* A CPU without PML: none for L1 either. */
	struct vmx_caps no_pml = bochs;
	no_pml.procbased2 &= ~((u64)SECONDARY_ENABLE_PML << 32);
	nested_caps_compute(&no_pml, &cn);
	check_common(&cn, &no_pml);
	assert_int_equal(hi(msr(&cn, MSR_IA32_VMX_PROCBASED_CTLS2)) & SECONDARY_ENABLE_PML, 0);

	/* Control values L1 might choose. */
	u64 pin = msr(&c, MSR_IA32_VMX_TRUE_PINBASED_CTLS);
	assert_true(nested_ctl_allowed(pin, PIN_D1 | PIN_BASED_EXT_INTR_MASK));
	assert_false(nested_ctl_allowed(pin, PIN_BASED_EXT_INTR_MASK));        /* no default1 */
	assert_true(nested_ctl_allowed(pin, PIN_D1 | PIN_BASED_VMX_PREEMPTION_TIMER));
	assert_false(nested_ctl_allowed(pin, PIN_D1 | PIN_BASED_POSTED_INTR));
}

static void test_nested_caps_poor(void **state)
{
	struct nested_caps c;

	(void)state;
	nested_caps_compute(&poor, &c);
	check_common(&c, &poor);
	assert_int_equal(msr(&c, MSR_IA32_VMX_BASIC), 0x009810004e560001ULL);
	u32 proc1 = hi(msr(&c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS));
	assert_int_equal(proc1 & (CPU_BASED_TPR_SHADOW | CPU_BASED_ACTIVATE_SECONDARY), 0);
	assert_int_equal(msr(&c, MSR_IA32_VMX_PROCBASED_CTLS2), 0);
	/* Without TRUE MSRs on the hardware the default1 bits stay must-be-1. */
	assert_int_equal(lo(msr(&c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS)) & PROC_D1, PROC_D1);
	assert_int_equal(hi(msr(&c, MSR_IA32_VMX_TRUE_EXIT_CTLS)) &
			 (VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_IA32_EFER |
			  VM_EXIT_LOAD_IA32_EFER), 0);
	assert_int_equal(hi(msr(&c, MSR_IA32_VMX_TRUE_ENTRY_CTLS)) &
			 (VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER), VM_ENTRY_LOAD_IA32_EFER);
	/* MISC: LMA store and 2 CR3 targets; no HLT, rate (no timer here),
	 * shutdown, SIPI, MSR-list size, bit 29, bit 30 or MSEG revision. */
	assert_int_equal(msr(&c, MSR_IA32_VMX_MISC), B(5) | (2 << 16));
	assert_int_equal(c.features, FEAT_BIT(FEAT_EFER));
	/* Without XSAVES, GUEST_SYSENTER_CS (0x482a) is the highest: 21. */
	assert_int_equal(msr(&c, MSR_IA32_VMX_VMCS_ENUM), 21 << 1);
	/* VMWRITE to exit information is refused for this L1. */
	assert_int_equal(msr(&c, MSR_IA32_VMX_MISC) & VMX_MISC_VMWRITE_ANY_FIELD, 0);

	/* A CPU with more CR3 targets still offers 4. */
	struct vmx_caps many = poor;
	many.misc = (poor.misc & ~(0x1ffULL << 16)) | (9ULL << 16);
	nested_caps_compute(&many, &c);
	assert_int_equal(msr(&c, MSR_IA32_VMX_MISC), B(5) | (4 << 16));
}

int unit_nested_caps(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_caps_bochs),
		cmocka_unit_test(test_nested_caps_poor),
	};
	return cmocka_run_group_tests_name("nested_caps", tests, NULL, NULL);
}
