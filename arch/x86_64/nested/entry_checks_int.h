/* Shared by entry_checks*.c only: the CC() rule macro, field access and
 * the small predicates the SDM's VM-entry checks are written in. */
#ifndef NESTVISOR_ENTRY_CHECKS_INT_H
#define NESTVISOR_ENTRY_CHECKS_INT_H

#include <nested/entry_checks.h>
#include <vmcs.h>
#include <msr.h>
#include <cpu.h>
#include <exit_reason.h>

/* A failed Condition returns its rule text ("27.2.1.1: ...") to the
 * category's wrapper, which turns it into VMfailValid or a failure exit. */
#define CC(cond, text)                                                      \
	do {                                                                \
		if (cond)                                                   \
			return (text);                                      \
	} while (0)

/* Run a sub-check; pass its failure on. */
#define CC_SUB(call)                                                        \
	do {                                                                \
		const char *ec_rule_ = (call);                              \
		if (ec_rule_)                                               \
			return ec_rule_;                                    \
	} while (0)

/* Field reads from the VMCS12 `v` in scope. */
#define F(enc) vmcs12_field(v, (enc))
#define F32(enc) ((u32)vmcs12_field(v, (enc)))
#define EC_CAP(c, m) ((c)->msr[(m) - MSR_IA32_VMX_BASIC])

/* IA32_VMX_BASIC (Appendix A.1) */
#define EC_BASIC_REVISION_MASK   0x7fffffffULL
#define EC_BASIC_TRUE_CTLS       BIT(55)
#define EC_BASIC_NO_HW_ERRCODE   BIT(56) /* injection without error-code rules */
/* IA32_VMX_MISC (Appendix A.6) */
#define EC_MISC_ACT_HLT          BIT(6)
#define EC_MISC_ACT_SHUTDOWN     BIT(7)
#define EC_MISC_ACT_SIPI         BIT(8)
#define EC_MISC_CR3_TARGETS(m)   (((m) >> 16) & 0x1ff)
#define EC_MISC_MSR_LIST_MAX(m)  (512 * ((((m) >> 25) & 7) + 1))
#define EC_MISC_ZERO_LEN_INJECT  BIT(30)
/* IA32_VMX_EPT_VPID_CAP (Appendix A.10) */
#define EC_EPT_CAP_PWL4              BIT(6)
#define EC_EPT_CAP_PWL5              BIT(7)
#define EC_EPT_CAP_UC                BIT(8)
#define EC_EPT_CAP_WB                BIT(14)
#define EC_EPT_CAP_AD                BIT(21)
/* EPTP (SDM 25.6.11) */
#define EC_EPTP_MT_MASK              0x7ULL
#define EC_EPTP_MT_UC                0
#define EC_EPTP_MT_WB                6
#define EC_EPTP_PWL_SHIFT            3
#define EC_EPTP_PWL_MASK             (7ULL << EC_EPTP_PWL_SHIFT)
#define EC_EPTP_AD                   BIT(6)
#define EC_EPTP_RSVD_11_7            (0x1fULL << 7)
/* VM-function controls (SDM 25.6.14) */
#define EC_VMFUNC_EPTP_SWITCHING     BIT(0)

/* VM-entry interruption-information field (SDM 25.8.3, Table 25-17) */
#define EC_INTR_INFO_VECTOR_MASK     0xffU
#define EC_INTR_INFO_TYPE_SHIFT      8
#define EC_INTR_INFO_TYPE_MASK       (7U << EC_INTR_INFO_TYPE_SHIFT)
#define EC_INTR_INFO_DELIVER_CODE    (1U << 11)
#define EC_INTR_INFO_RSVD_30_12      0x7ffff000U
#define EC_INTR_INFO_VALID           (1U << 31)
#define EC_INTR_TYPE_EXT_INTR        0
#define EC_INTR_TYPE_RESERVED        1
#define EC_INTR_TYPE_NMI             2
#define EC_INTR_TYPE_HARD_EXCEPTION  3
#define EC_INTR_TYPE_SOFT_INTR       4
#define EC_INTR_TYPE_PRIV_SW_EXC     5
#define EC_INTR_TYPE_SOFT_EXCEPTION  6
#define EC_INTR_TYPE_OTHER_EVENT     7
#define EC_EXC_AC                    17
#define EC_EXC_CP                    21

/* Guest activity state (SDM 25.4.2) */
#define EC_GUEST_ACTIVITY_ACTIVE     0
#define EC_GUEST_ACTIVITY_HLT        1
#define EC_GUEST_ACTIVITY_SHUTDOWN   2
#define EC_GUEST_ACTIVITY_WAIT_SIPI  3
#define EC_GUEST_INTR_STATE_ENCLAVE  (1U << 4)
#define EC_GUEST_INTR_STATE_RSVD     0xffffffe0U

/* Pending debug exceptions (SDM 25.4.2, Table 25-4) */
#define EC_PENDING_DBG_B0_B3         0xfULL
#define EC_PENDING_DBG_ENABLED_BP    BIT(12)
#define EC_PENDING_DBG_BS            BIT(14)
#define EC_PENDING_DBG_RTM           BIT(16)

/* Architectural bits cpu.h does not name */
#define EC_CR4_CET                   BIT(23)
#define EC_DEBUGCTL_BTF              BIT(1)
#define EC_EFER_VALID                (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)
#define EC_DR7_RSVD_63_32            0xffffffff00000000ULL
#define EC_RFLAGS_RSVD               (0xffffffffffc00000ULL | BIT(15) | BIT(5) | BIT(3))
#define EC_SEL_RPL_MASK              0x3U
#define EC_SEL_TI                    0x4U
#define EC_PDPTE_RSVD_LOW            0x1e6ULL /* bits 2:1 and 8:5 of a present PAE PDPTE */
#define EC_PAE_PDPT_MASK             0xffffffe0ULL /* CR3 bits 31:5 with PAE paging */

/* Segment access rights as the VMCS holds them (SDM 25.4.1, Table 25-2) */
#define EC_AR_TYPE(ar)               ((ar) & 0xfU)
#define EC_AR_DPL(ar)                (((ar) >> VMX_AR_DPL_SHIFT) & 3U)
#define EC_AR_RSVD_11_8              0xf00U
#define EC_AR_RSVD_31_17             0xfffe0000U
#define EC_AR_TYPE_CODE              0x8U
#define EC_AR_TYPE_READABLE          0x2U
#define EC_AR_V8086                  0xf3U
#define EC_AR_TYPE_LDT               2
#define EC_AR_TYPE_BUSY_TSS16        3

static inline bool ec_canonical(u64 addr, u32 width)
{
	return ((s64)(addr << (64 - width)) >> (64 - width)) == (s64)addr;
}

/* No bit at or beyond the physical-address width. */
static inline bool ec_in_width(u64 addr, u32 maxphyaddr)
{
	return maxphyaddr >= 64 || !(addr >> maxphyaddr);
}

/* A 4-KByte aligned page inside the physical-address width. */
static inline bool ec_page_ok(u64 addr, u32 maxphyaddr)
{
	return !(addr & (PAGE_SIZE - 1)) && ec_in_width(addr, maxphyaddr);
}

/* IA32_PAT: each byte UC, WC, WT, WP, WB or UC- (SDM 13.12.2). */
static inline bool ec_pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (pat >> (8 * i)) & 0xff;
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* The secondary controls count as 0 unless activated (SDM 25.6.2). */
static inline u32 ec_secondary(const struct vmcs12 *v)
{
	return (F32(CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_ACTIVATE_SECONDARY) ?
		F32(SECONDARY_VM_EXEC_CONTROL) : 0;
}

/* The capability MSR that governs a control field: TRUE_* when
 * IA32_VMX_BASIC[55] says they exist (Appendix A.2). */
static inline u64 ec_ctl_cap(const struct nested_caps *c, u32 msr, u32 true_msr)
{
	return (EC_CAP(c, MSR_IA32_VMX_BASIC) & EC_BASIC_TRUE_CTLS) ?
		EC_CAP(c, true_msr) : EC_CAP(c, msr);
}

/* A control or CR value against allowed-0/allowed-1 (FIXED0/FIXED1) bits. */
static inline bool ec_fixed_ok(u64 val, u64 fixed0, u64 fixed1)
{
	return (val & fixed0) == fixed0 && !(val & ~fixed1);
}

/* Facts a caller left 0 take the architectural defaults: 48-bit linear
 * addresses, IA32_DEBUGCTL with LBR, BTF and bits 15:6 (SDM Vol. 4). */
#define EC_DEFAULT_LINEAR_WIDTH 48
#define EC_DEFAULT_DEBUGCTL     0xffc3ULL

static inline struct l1_facts ec_facts(const struct l1_facts *f)
{
	struct l1_facts n = *f;

	if (!n.linear_width)
		n.linear_width = EC_DEFAULT_LINEAR_WIDTH;
	if (!n.debugctl_valid)
		n.debugctl_valid = EC_DEFAULT_DEBUGCTL;
	return n;
}

static inline struct entry_check_result ec_ok(void)
{
	return (struct entry_check_result){ .kind = ENTRY_OK };
}

const char *ec_check_exec_controls(const struct vmcs12 *v, const struct nested_caps *c,
				   const struct l1_facts *f);
const char *ec_check_exit_controls(const struct vmcs12 *v, const struct nested_caps *c,
				   const struct l1_facts *f);
const char *ec_check_entry_controls(const struct vmcs12 *v, const struct nested_caps *c,
				    const struct l1_facts *f);
/* The two control checks whose inputs change without a write to a control
 * or host-state field (entry_checks.c, nested_check_vmentry_known_good). */
const char *ec_check_vtpr(const struct vmcs12 *v, const struct l1_facts *f);
const char *ec_check_event_injection(const struct vmcs12 *v, const struct nested_caps *c);
const char *ec_check_guest_segments(const struct vmcs12 *v, const struct nested_caps *c,
				    const struct l1_facts *f);

#endif
