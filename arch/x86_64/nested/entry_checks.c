/* The nested VM-entry checks in the SDM's order: 27.2 controls and host
 * state (VMfailValid), 27.3.1 guest state and 27.4 MSR loading (VM-entry
 * failure exits). The rules themselves live in entry_checks_{ctl,host,
 * guest,seg}.c; this file ties them to results. */
#include "entry_checks_int.h"

#define EC_MSR_IA32_SMM_MONITOR_CTL 0x9b
#define EC_MSR_X2APIC_PAGE          0x8 /* bits 31:8 of 800H-8FFH */

struct entry_check_result nested_check_controls(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f_in)
{
	const struct l1_facts facts = ec_facts(f_in), *f = &facts;
	const char *rule = ec_check_exec_controls(v, caps, f);

	if (!rule)
		rule = ec_check_exit_controls(v, caps, f);
	if (!rule)
		rule = ec_check_entry_controls(v, caps, f);
	if (!rule)
		return ec_ok();
	return (struct entry_check_result){
		.kind = ENTRY_VMFAIL,
		.vm_instruction_error = VMXERR_ENTRY_INVALID_CONTROL,
		.rule = rule,
	};
}

/* 27.4 "Loading MSRs": the reasons an entry cannot be loaded that do not
 * depend on the MSR's value. */
static const char *ec_check_msr_entry(const struct vmx_msr_entry *e)
{
	CC(e->reserved, "27.4: VM-entry MSR-load entry bits 63:32 set");
	CC(e->index == MSR_IA32_FS_BASE || e->index == MSR_IA32_GS_BASE,
	   "27.4: VM-entry MSR-load entry names IA32_FS_BASE or IA32_GS_BASE");
	CC((e->index >> 8) == EC_MSR_X2APIC_PAGE,
	   "27.4: VM-entry MSR-load entry names an x2APIC MSR (800H-8FFH)");
	CC(e->index == EC_MSR_IA32_SMM_MONITOR_CTL,
	   "27.4: VM-entry MSR-load entry names IA32_SMM_MONITOR_CTL outside SMM");
	return NULL;
}

static struct entry_check_result ec_msr_fail(const char *rule, u32 index)
{
	return (struct entry_check_result){
		.kind = ENTRY_FAIL_EXIT,
		.exit_reason = EXIT_REASON_ENTRY_FAIL_MSR_LOADING | EXIT_REASON_ENTRY_FAIL,
		.exit_qualification = index,
		.rule = rule,
	};
}

struct entry_check_result nested_check_msr_load(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f_in)
{
	const struct l1_facts facts = ec_facts(f_in), *f = &facts;
	u32 count = F32(VM_ENTRY_MSR_LOAD_COUNT);
	u64 addr = F(VM_ENTRY_MSR_LOAD_ADDR);
	u32 max = EC_MISC_MSR_LIST_MAX(EC_CAP(caps, MSR_IA32_VMX_MISC));

	if (!f->read_gpa)
		return ec_ok();
	for (u32 i = 0; i < count; i++) {
		struct vmx_msr_entry e;
		const char *rule;

		/* Beyond the recommended maximum (Appendix A.6) the SDM leaves
		 * the result undefined; L0 fails at the first entry past it. */
		if (i >= max)
			return ec_msr_fail("27.4: VM-entry MSR-load count above the recommended maximum (IA32_VMX_MISC[27:25])", i + 1);
		if (f->read_gpa(f->read_ctx, addr + (u64)i * sizeof(e), &e, sizeof(e)))
			return ec_msr_fail("27.4: VM-entry MSR-load entry is not L1 memory", i + 1);
		rule = ec_check_msr_entry(&e);
		if (rule)
			return ec_msr_fail(rule, i + 1);
	}
	return ec_ok();
}

/* nested_check_vmentry() for a VMCS12 whose control and host-state fields
 * are those of an earlier entry that passed 27.2 with the same L1 facts
 * (long mode, current-VMCS pointer; the others never change): every 27.2
 * rule would pass again, except the two whose inputs are not control or
 * host-state fields, the VTPR byte in memory and event injection (it reads
 * guest CR0.PE); those run, then 27.3 and 27.4 in full. The result is
 * nested_check_vmentry()'s for the same VMCS12: the caller's dirty
 * tracking (nested_entry.c) must be right for that to hold. */
struct entry_check_result nested_check_vmentry_known_good(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f_in)
{
	const struct l1_facts facts = ec_facts(f_in), *f = &facts;
	const char *rule = ec_check_vtpr(v, f);

	if (!rule)
		rule = ec_check_event_injection(v, caps);
	if (rule)
		return (struct entry_check_result){
			.kind = ENTRY_VMFAIL,
			.vm_instruction_error = VMXERR_ENTRY_INVALID_CONTROL,
			.rule = rule,
		};
	struct entry_check_result r = nested_check_guest_state(v, caps, f_in);
	if (r.kind == ENTRY_OK)
		r = nested_check_msr_load(v, caps, f_in);
	return r;
}

struct entry_check_result nested_check_vmentry(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f)
{
	struct entry_check_result r = nested_check_controls(v, caps, f);

	if (r.kind == ENTRY_OK)
		r = nested_check_host_state(v, caps, f);
	if (r.kind == ENTRY_OK)
		r = nested_check_guest_state(v, caps, f);
	if (r.kind == ENTRY_OK)
		r = nested_check_msr_load(v, caps, f);
	return r;
}
