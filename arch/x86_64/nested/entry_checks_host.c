/* SDM 27.2.2 "Checks on Host Control Registers, MSRs, and SSP", 27.2.3
 * "Checks on Host Segment and Descriptor-Table Registers" and 27.2.4
 * "Checks Related to Address-Space Size". A failure is
 * VMfailValid(VMXERR_ENTRY_INVALID_HOST_STATE). The host is L1. */
#include "entry_checks_int.h"

static const char *ec_check_host_regs(const struct vmcs12 *v, const struct nested_caps *c,
				      const struct l1_facts *f)
{
	u32 exit = F32(VM_EXIT_CONTROLS);
	bool host64 = exit & VM_EXIT_HOST_ADDR_SPACE_SIZE;
	u64 efer = F(HOST_IA32_EFER);

	CC(!ec_fixed_ok(F(HOST_CR0), EC_CAP(c, MSR_IA32_VMX_CR0_FIXED0),
			EC_CAP(c, MSR_IA32_VMX_CR0_FIXED1)),
	   "27.2.2: host CR0 sets a bit to a value IA32_VMX_CR0_FIXED0/1 does not allow");
	CC(!ec_fixed_ok(F(HOST_CR4), EC_CAP(c, MSR_IA32_VMX_CR4_FIXED0),
			EC_CAP(c, MSR_IA32_VMX_CR4_FIXED1)),
	   "27.2.2: host CR4 sets a bit to a value IA32_VMX_CR4_FIXED0/1 does not allow");
	CC(!ec_in_width(F(HOST_CR3), f->maxphyaddr),
	   "27.2.2: host CR3 bits beyond the physical-address width set");
	CC(!ec_canonical(F(HOST_IA32_SYSENTER_ESP), f->linear_width),
	   "27.2.2: host IA32_SYSENTER_ESP not canonical");
	CC(!ec_canonical(F(HOST_IA32_SYSENTER_EIP), f->linear_width),
	   "27.2.2: host IA32_SYSENTER_EIP not canonical");
	CC((exit & VM_EXIT_LOAD_IA32_PAT) && !ec_pat_valid(F(HOST_IA32_PAT)),
	   "27.2.2: host IA32_PAT holds an invalid memory type");
	if (exit & VM_EXIT_LOAD_IA32_EFER) {
		CC(efer & ~EC_EFER_VALID, "27.2.2: host IA32_EFER reserved bits set");
		CC(!(efer & EFER_LMA) != !host64,
		   "27.2.2: host IA32_EFER.LMA differs from host address-space size");
		CC(!(efer & EFER_LME) != !host64,
		   "27.2.2: host IA32_EFER.LME differs from host address-space size");
	}
	return NULL;
}

static const char *ec_check_host_segments(const struct vmcs12 *v, const struct l1_facts *f)
{
	static const u32 sels[] = {
		HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR, HOST_DS_SELECTOR,
		HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_TR_SELECTOR,
	};
	bool host64 = F32(VM_EXIT_CONTROLS) & VM_EXIT_HOST_ADDR_SPACE_SIZE;

	for (size_t i = 0; i < ARRAY_SIZE(sels); i++)
		CC(F32(sels[i]) & (EC_SEL_RPL_MASK | EC_SEL_TI),
		   "27.2.3: host selector (ES, CS, SS, DS, FS, GS or TR) with RPL or TI set");
	CC(!F32(HOST_CS_SELECTOR), "27.2.3: host CS selector is 0");
	CC(!F32(HOST_TR_SELECTOR), "27.2.3: host TR selector is 0");
	CC(!host64 && !F32(HOST_SS_SELECTOR),
	   "27.2.3: host SS selector is 0 with host address-space size 0");
	CC(!ec_canonical(F(HOST_FS_BASE), f->linear_width), "27.2.3: host FS base not canonical");
	CC(!ec_canonical(F(HOST_GS_BASE), f->linear_width), "27.2.3: host GS base not canonical");
	CC(!ec_canonical(F(HOST_GDTR_BASE), f->linear_width), "27.2.3: host GDTR base not canonical");
	CC(!ec_canonical(F(HOST_IDTR_BASE), f->linear_width), "27.2.3: host IDTR base not canonical");
	CC(!ec_canonical(F(HOST_TR_BASE), f->linear_width), "27.2.3: host TR base not canonical");
	return NULL;
}

static const char *ec_check_address_space(const struct vmcs12 *v, const struct l1_facts *f)
{
	bool host64 = F32(VM_EXIT_CONTROLS) & VM_EXIT_HOST_ADDR_SPACE_SIZE;
	bool guest64 = F32(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE;

	if (!f->l1_long_mode) {
		CC(guest64, "27.2.4: IA-32e mode guest with L1 outside IA-32e mode");
		CC(host64, "27.2.4: host address-space size 1 with L1 outside IA-32e mode");
	} else {
		CC(!host64, "27.2.4: host address-space size 0 with L1 in IA-32e mode");
	}
	/* "IA-32e mode guest requires host address-space size 1" follows
	 * from the two rules above. */
	if (!host64) {
		CC(F(HOST_CR4) & CR4_PCIDE, "27.2.4: host CR4.PCIDE set with host address-space size 0");
		CC(F(HOST_RIP) >> 32, "27.2.4: host RIP bits 63:32 set with host address-space size 0");
	} else {
		CC(!(F(HOST_CR4) & CR4_PAE), "27.2.4: host CR4.PAE clear with host address-space size 1");
		CC(!ec_canonical(F(HOST_RIP), f->linear_width),
		   "27.2.4: host RIP not canonical with host address-space size 1");
	}
	return NULL;
}

struct entry_check_result nested_check_host_state(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f_in)
{
	const struct l1_facts facts = ec_facts(f_in), *f = &facts;
	const char *rule = ec_check_host_regs(v, caps, f);

	if (!rule)
		rule = ec_check_host_segments(v, f);
	if (!rule)
		rule = ec_check_address_space(v, f);
	if (!rule)
		return ec_ok();
	return (struct entry_check_result){
		.kind = ENTRY_VMFAIL,
		.vm_instruction_error = VMXERR_ENTRY_INVALID_HOST_STATE,
		.rule = rule,
	};
}
