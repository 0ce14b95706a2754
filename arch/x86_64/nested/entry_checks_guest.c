/* SDM 27.3.1 "Checks on the Guest State Area" (but 27.3.1.2, segment
 * registers: entry_checks_seg.c). A failure is a VM-entry failure exit,
 * reason 33, qualification per SDM 27.8. */
#include "entry_checks_int.h"

/* 27.3.1.1 "Checks on Guest Control Registers, Debug Registers, and MSRs" */
static const char *ec_check_guest_cr_msr(const struct vmcs12 *v, const struct nested_caps *c,
					 const struct l1_facts *f)
{
	u64 cr0 = F(GUEST_CR0), cr4 = F(GUEST_CR4), efer = F(GUEST_IA32_EFER);
	u32 entry = F32(VM_ENTRY_CONTROLS);
	bool guest64 = entry & VM_ENTRY_IA32E_MODE;
	u64 fixed0 = EC_CAP(c, MSR_IA32_VMX_CR0_FIXED0);

	/* CD and NW are never checked: VM entry does not change them. */
	fixed0 &= ~(CR0_CD | CR0_NW);
	if (ec_secondary(v) & SECONDARY_UNRESTRICTED_GUEST)
		fixed0 &= ~(CR0_PE | CR0_PG);
	CC(!ec_fixed_ok(cr0 & ~(CR0_CD | CR0_NW), fixed0, EC_CAP(c, MSR_IA32_VMX_CR0_FIXED1)),
	   "27.3.1.1: guest CR0 sets a bit to a value IA32_VMX_CR0_FIXED0/1 does not allow");
	CC((cr0 & CR0_PG) && !(cr0 & CR0_PE), "27.3.1.1: guest CR0.PG set with CR0.PE clear");
	CC(!ec_fixed_ok(cr4, EC_CAP(c, MSR_IA32_VMX_CR4_FIXED0), EC_CAP(c, MSR_IA32_VMX_CR4_FIXED1)),
	   "27.3.1.1: guest CR4 sets a bit to a value IA32_VMX_CR4_FIXED0/1 does not allow");
	CC((cr4 & EC_CR4_CET) && !(cr0 & CR0_WP), "27.3.1.1: guest CR4.CET set with CR0.WP clear");
	CC(guest64 && !(cr0 & CR0_PG), "27.3.1.1: IA-32e mode guest with CR0.PG clear");
	CC(guest64 && !(cr4 & CR4_PAE), "27.3.1.1: IA-32e mode guest with CR4.PAE clear");
	CC(!guest64 && (cr4 & CR4_PCIDE), "27.3.1.1: CR4.PCIDE set outside an IA-32e mode guest");
	CC(!ec_in_width(F(GUEST_CR3), f->maxphyaddr),
	   "27.3.1.1: guest CR3 bits beyond the physical-address width set");
	if (entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) {
		CC(F(GUEST_IA32_DEBUGCTL) & ~f->debugctl_valid,
		   "27.3.1.1: guest IA32_DEBUGCTL reserved bits set");
		CC(F(GUEST_DR7) & EC_DR7_RSVD_63_32, "27.3.1.1: guest DR7 bits 63:32 set");
	}
	CC(!ec_canonical(F(GUEST_SYSENTER_ESP), f->linear_width),
	   "27.3.1.1: guest IA32_SYSENTER_ESP not canonical");
	CC(!ec_canonical(F(GUEST_SYSENTER_EIP), f->linear_width),
	   "27.3.1.1: guest IA32_SYSENTER_EIP not canonical");
	CC((entry & VM_ENTRY_LOAD_IA32_PAT) && !ec_pat_valid(F(GUEST_IA32_PAT)),
	   "27.3.1.1: guest IA32_PAT holds an invalid memory type");
	if (entry & VM_ENTRY_LOAD_IA32_EFER) {
		CC(efer & ~EC_EFER_VALID, "27.3.1.1: guest IA32_EFER reserved bits set");
		CC(!(efer & EFER_LMA) != !guest64,
		   "27.3.1.1: guest IA32_EFER.LMA differs from IA-32e mode guest");
		CC((cr0 & CR0_PG) && !(efer & EFER_LME) != !guest64,
		   "27.3.1.1: guest IA32_EFER.LME differs from IA-32e mode guest with CR0.PG set");
	}
	return NULL;
}

/* 27.3.1.3 "Checks on Guest Descriptor-Table Registers" and 27.3.1.4
 * "Checks on Guest RIP, RFLAGS, and SSP" */
static const char *ec_check_guest_dt_rip(const struct vmcs12 *v, const struct l1_facts *f)
{
	u64 rip = F(GUEST_RIP), rflags = F(GUEST_RFLAGS);
	bool guest64 = F32(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE;
	bool cs_l = F32(GUEST_CS_AR_BYTES) & VMX_AR_L;
	u32 info = F32(VM_ENTRY_INTR_INFO_FIELD);

	CC(!ec_canonical(F(GUEST_GDTR_BASE), f->linear_width), "27.3.1.3: GDTR base not canonical");
	CC(!ec_canonical(F(GUEST_IDTR_BASE), f->linear_width), "27.3.1.3: IDTR base not canonical");
	CC(F32(GUEST_GDTR_LIMIT) & 0xffff0000U, "27.3.1.3: GDTR limit bits 31:16 set");
	CC(F32(GUEST_IDTR_LIMIT) & 0xffff0000U, "27.3.1.3: IDTR limit bits 31:16 set");

	CC((!guest64 || !cs_l) && (rip >> 32),
	   "27.3.1.4: RIP bits 63:32 set outside 64-bit mode");
	CC(guest64 && cs_l && !ec_canonical(rip, f->linear_width),
	   "27.3.1.4: RIP not canonical in 64-bit mode");
	CC(rflags & EC_RFLAGS_RSVD, "27.3.1.4: RFLAGS reserved bits 63:22, 15, 5 or 3 set");
	CC(!(rflags & RFLAGS_FIXED), "27.3.1.4: RFLAGS bit 1 clear");
	CC((rflags & RFLAGS_VM) && (guest64 || !(F(GUEST_CR0) & CR0_PE)),
	   "27.3.1.4: RFLAGS.VM set in an IA-32e mode guest or with CR0.PE clear");
	CC((info & EC_INTR_INFO_VALID) && !(rflags & RFLAGS_IF) &&
	   ((info & EC_INTR_INFO_TYPE_MASK) >> EC_INTR_INFO_TYPE_SHIFT) == EC_INTR_TYPE_EXT_INTR,
	   "27.3.1.4: RFLAGS.IF clear while injecting an external interrupt");
	return NULL;
}

/* Which events an activity state accepts on injection (27.3.1.5). */
static bool ec_injectable(u32 activity, u32 type, u32 vector)
{
	switch (activity) {
	case EC_GUEST_ACTIVITY_HLT:
		return type == EC_INTR_TYPE_EXT_INTR || type == EC_INTR_TYPE_NMI ||
		       (type == EC_INTR_TYPE_HARD_EXCEPTION && (vector == EXC_DB || vector == EXC_MC)) ||
		       (type == EC_INTR_TYPE_OTHER_EVENT && vector == 0);
	case EC_GUEST_ACTIVITY_SHUTDOWN:
		return type == EC_INTR_TYPE_NMI ||
		       (type == EC_INTR_TYPE_HARD_EXCEPTION && vector == EXC_MC);
	case EC_GUEST_ACTIVITY_WAIT_SIPI:
		return false;
	default:
		return true;
	}
}

/* 27.3.1.5 "Checks on Guest Non-Register State": activity state,
 * interruptibility state, pending debug exceptions. */
static const char *ec_check_guest_nonreg(const struct vmcs12 *v, const struct nested_caps *c,
					 const struct l1_facts *f)
{
	u32 act = F32(GUEST_ACTIVITY_STATE), intr = F32(GUEST_INTERRUPTIBILITY_INFO);
	u32 info = F32(VM_ENTRY_INTR_INFO_FIELD);
	bool inject = info & EC_INTR_INFO_VALID;
	u32 type = (info & EC_INTR_INFO_TYPE_MASK) >> EC_INTR_INFO_TYPE_SHIFT;
	u64 misc = EC_CAP(c, MSR_IA32_VMX_MISC), rflags = F(GUEST_RFLAGS);
	u64 pdbg = F(GUEST_PENDING_DBG_EXCEPTIONS);
	bool sti = intr & GUEST_INTR_STATE_STI, movss = intr & GUEST_INTR_STATE_MOV_SS;

	CC(act > EC_GUEST_ACTIVITY_WAIT_SIPI ||
	   (act == EC_GUEST_ACTIVITY_HLT && !(misc & EC_MISC_ACT_HLT)) ||
	   (act == EC_GUEST_ACTIVITY_SHUTDOWN && !(misc & EC_MISC_ACT_SHUTDOWN)) ||
	   (act == EC_GUEST_ACTIVITY_WAIT_SIPI && !(misc & EC_MISC_ACT_SIPI)),
	   "27.3.1.5: activity state not supported by IA32_VMX_MISC[8:6]");
	CC(act == EC_GUEST_ACTIVITY_HLT && EC_AR_DPL(F32(GUEST_SS_AR_BYTES)) != 0,
	   "27.3.1.5: activity state HLT with SS DPL other than 0");
	CC((sti || movss) && act != EC_GUEST_ACTIVITY_ACTIVE,
	   "27.3.1.5: blocking by STI or MOV SS outside the active state");
	CC(inject && !ec_injectable(act, type, info & EC_INTR_INFO_VECTOR_MASK),
	   "27.3.1.5: injected event not allowed in the activity state");

	CC(intr & EC_GUEST_INTR_STATE_RSVD, "27.3.1.5: interruptibility-state bits 31:5 set");
	CC(intr & EC_GUEST_INTR_STATE_ENCLAVE,
	   "27.3.1.5: interruptibility-state enclave interruption set (L1 has no SGX)");
	CC(sti && movss, "27.3.1.5: blocking by STI and by MOV SS both set");
	CC(sti && !(rflags & RFLAGS_IF), "27.3.1.5: blocking by STI with RFLAGS.IF clear");
	CC(inject && type == EC_INTR_TYPE_EXT_INTR && (sti || movss),
	   "27.3.1.5: blocking by STI or MOV SS while injecting an external interrupt");
	CC(inject && type == EC_INTR_TYPE_NMI && movss,
	   "27.3.1.5: blocking by MOV SS while injecting an NMI");
	CC(intr & GUEST_INTR_STATE_SMI, "27.3.1.5: blocking by SMI outside SMM");
	CC(inject && type == EC_INTR_TYPE_NMI && (intr & GUEST_INTR_STATE_NMI) &&
	   (F32(PIN_BASED_VM_EXEC_CONTROL) & PIN_BASED_VIRTUAL_NMIS),
	   "27.3.1.5: blocking by NMI while injecting an NMI with virtual NMIs");

	CC(pdbg & ~(EC_PENDING_DBG_B0_B3 | EC_PENDING_DBG_ENABLED_BP | EC_PENDING_DBG_BS |
		    EC_PENDING_DBG_RTM),
	   "27.3.1.5: pending debug exceptions bits 11:4, 13, 15 or 63:17 set");
	if (sti || movss || act == EC_GUEST_ACTIVITY_HLT) {
		bool single_step = (rflags & RFLAGS_TF) && !(F(GUEST_IA32_DEBUGCTL) & EC_DEBUGCTL_BTF);
		CC(single_step && !(pdbg & EC_PENDING_DBG_BS),
		   "27.3.1.5: pending debug BS clear with RFLAGS.TF set and BTF clear while blocking or in HLT");
		CC(!single_step && (pdbg & EC_PENDING_DBG_BS),
		   "27.3.1.5: pending debug BS set with RFLAGS.TF clear or BTF set while blocking or in HLT");
	}
	if (pdbg & EC_PENDING_DBG_RTM) {
		CC(!f->rtm, "27.3.1.5: pending debug RTM bit set without RTM support");
		CC((pdbg & ~(EC_PENDING_DBG_RTM | EC_PENDING_DBG_ENABLED_BP)) ||
		   !(pdbg & EC_PENDING_DBG_ENABLED_BP),
		   "27.3.1.5: pending debug RTM bit needs bit 12 set and bits 11:0, 15:13 clear");
		CC(movss, "27.3.1.5: pending debug RTM bit with blocking by MOV SS");
	}
	return NULL;
}

/* VMCS link pointer (27.3.1.5): failures have exit qualification 4. */
static const char *ec_check_vmcs_link(const struct vmcs12 *v, const struct nested_caps *c,
				      const struct l1_facts *f)
{
	u64 link = F(VMCS_LINK_POINTER);
	u32 header = 0;
	bool shadowing = ec_secondary(v) & SECONDARY_VMCS_SHADOWING;

	if (link == ~0ULL)
		return NULL;
	CC(!ec_page_ok(link, f->maxphyaddr),
	   "27.3.1.5: VMCS link pointer not 4-KByte aligned or beyond the physical-address width");
	CC(link == f->current_vmcs_ptr, "27.3.1.5: VMCS link pointer is the current-VMCS pointer");
	if (!f->read_gpa)
		return NULL;
	/* Memory that is not there (or is the monitor's) reads as all ones:
	 * the revision check below fails. */
	if (f->read_gpa(f->read_ctx, link, &header, sizeof(header)))
		header = ~0U;
	CC((header & EC_BASIC_REVISION_MASK) != (EC_CAP(c, MSR_IA32_VMX_BASIC) & EC_BASIC_REVISION_MASK),
	   "27.3.1.5: VMCS at the link pointer has the wrong revision identifier");
	CC(!(header >> 31) != !shadowing,
	   "27.3.1.5: shadow-VMCS indicator at the link pointer differs from VMCS shadowing");
	return NULL;
}

/* 27.3.1.6 "Checks on Guest Page-Directory-Pointer-Table Entries": PAE
 * paging. With EPT the PDPTE fields are checked; without it L0 loads the
 * PDPTEs from guest CR3 (through read_gpa) and checks those. Failures have
 * exit qualification 2. */
static const char *ec_check_pdptes(const struct vmcs12 *v, const struct l1_facts *f)
{
	static const u32 fields[] = { GUEST_PDPTE0, GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3 };
	u64 pdpte[4];
	u64 cr0 = F(GUEST_CR0), cr4 = F(GUEST_CR4);

	if (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE) || (F32(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE))
		return NULL;
	if (ec_secondary(v) & SECONDARY_ENABLE_EPT) {
		for (int i = 0; i < 4; i++)
			pdpte[i] = F(fields[i]);
	} else {
		if (!f->read_gpa)
			return NULL;
		CC(f->read_gpa(f->read_ctx, F(GUEST_CR3) & EC_PAE_PDPT_MASK, pdpte, sizeof(pdpte)),
		   "27.3.1.6: PDPTEs at guest CR3 are not L1 memory");
	}
	for (int i = 0; i < 4; i++)
		CC((pdpte[i] & PTE_P) &&
		   ((pdpte[i] & EC_PDPTE_RSVD_LOW) || !ec_in_width(pdpte[i], f->maxphyaddr)),
		   "27.3.1.6: present PDPTE with reserved bits 2:1, 8:5 or beyond the physical-address width set");
	return NULL;
}

/* Implementation-specific (SDM 27.8, qualification 3): L0 refuses to
 * inject an NMI through blocking by STI, as some processors do. */
static const char *ec_check_nmi_sti(const struct vmcs12 *v)
{
	u32 info = F32(VM_ENTRY_INTR_INFO_FIELD);

	CC((info & EC_INTR_INFO_VALID) &&
	   ((info & EC_INTR_INFO_TYPE_MASK) >> EC_INTR_INFO_TYPE_SHIFT) == EC_INTR_TYPE_NMI &&
	   (F32(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_STI),
	   "27.3.1.5: injecting an NMI with blocking by STI (implementation-specific)");
	return NULL;
}

static struct entry_check_result ec_guest_fail(const char *rule, u64 qual)
{
	return (struct entry_check_result){
		.kind = ENTRY_FAIL_EXIT,
		.exit_reason = EXIT_REASON_ENTRY_FAIL_GUEST_STATE | EXIT_REASON_ENTRY_FAIL,
		.exit_qualification = qual,
		.rule = rule,
	};
}

struct entry_check_result nested_check_guest_state(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f_in)
{
	const struct l1_facts facts = ec_facts(f_in), *f = &facts;
	const char *rule = NULL;

	if (!f->cr_seg_known_good) {
		rule = ec_check_guest_cr_msr(v, caps, f);
		if (!rule)
			rule = ec_check_guest_segments(v, caps, f);
	}
	if (!rule)
		rule = ec_check_guest_dt_rip(v, f);
	if (!rule)
		rule = ec_check_guest_nonreg(v, caps, f);
	if (rule)
		return ec_guest_fail(rule, ENTRY_FAIL_QUAL_DEFAULT);
	if ((rule = ec_check_vmcs_link(v, caps, f)))
		return ec_guest_fail(rule, ENTRY_FAIL_QUAL_VMCS_LINK);
	if ((rule = ec_check_nmi_sti(v)))
		return ec_guest_fail(rule, ENTRY_FAIL_QUAL_NMI_STI);
	if ((rule = ec_check_pdptes(v, f)))
		return ec_guest_fail(rule, ENTRY_FAIL_QUAL_PDPTE);
	return ec_ok();
}
