/* VMLAUNCH and VMRESUME executed by L1: the checks of SDM 27.1-27.4 on
 * VMCS12, then L2 runs on VMCS02. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <msr.h>
#include <exit_reason.h>
#include <guest_state.h>
#include <nested/nested.h>
#include <nested/guest_access.h>
#include <nested/entry_checks.h>
#include <nested/vmcs12.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

#define RFLAGS_VMX_RESULT (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

static void fail_valid(struct nested_vcpu *n, u32 error)
{
	n->cache->vm_instruction_error = error;
	nested_shadow_push_field(container_of(n, struct vcpu, nested), VM_INSTRUCTION_ERROR);
	vmcs_write(GUEST_RFLAGS, (vmcs_read(GUEST_RFLAGS) & ~RFLAGS_VMX_RESULT) | RFLAGS_ZF);
	guest_skip_instruction();
}

/* Do the fields 27.3.1.1-27.3.1.2 read hold what the last entry saw? The
 * copy is brought up to date on the way, so it always holds this entry's
 * values; n->cr_seg_ok then says whether they passed. */
static bool cr_seg_unchanged(struct nested_vcpu *n, const struct vmcs12 *c)
{
	struct nested_cr_seg *s = &n->cr_seg;
	bool same = true;
#define NESTED_CR_SEG_CMP(m)                  \
	if (s->m != (u64)c->m) {              \
		same = false;                 \
		s->m = c->m;                  \
	}
	NESTED_CR_SEG_FIELDS(NESTED_CR_SEG_CMP)
#undef NESTED_CR_SEG_CMP
	u64 vm = c->guest_rflags & RFLAGS_VM;
	if (s->rflags_vm != vm) {
		same = false;
		s->rflags_vm = vm;
	}
	return same;
}

bool nested_vmentry(struct vcpu *v, bool launch)
{
	struct nested_vcpu *n = &v->nested;

	/* SDM 27.1 "Basic VM-Entry Checks" (after #UD/#GP, done by the caller). */
	if (n->current_ptr == VMCS12_INVALID_PTR) {
		vmcs_write(GUEST_RFLAGS, (vmcs_read(GUEST_RFLAGS) & ~RFLAGS_VMX_RESULT) | RFLAGS_CF);
		guest_skip_instruction();
		return false;
	}
	/* What L1 wrote through the shadow VMCS, into the cache L0 checks. */
	nested_shadow_pull(v);
	struct vmcs12 *c = n->cache;
	/* A shadow VMCS can be current but never entered (SDM 27.1). */
	if (c->revision_id & VMCS12_SHADOW_INDICATOR) {
		vmcs_write(GUEST_RFLAGS, (vmcs_read(GUEST_RFLAGS) & ~RFLAGS_VMX_RESULT) | RFLAGS_CF);
		guest_skip_instruction();
		return false;
	}
	if (vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_MOV_SS) {
		fail_valid(n, VMXERR_ENTRY_MOV_SS_BLOCKING);
		return false;
	}
	if (launch && c->launch_state != VMCS12_STATE_CLEAR) {
		fail_valid(n, VMXERR_VMLAUNCH_NONCLEAR);
		return false;
	}
	if (!launch && c->launch_state != VMCS12_STATE_LAUNCHED) {
		fail_valid(n, VMXERR_VMRESUME_NONLAUNCHED);
		return false;
	}

	/* SDM 27.2-27.3: controls, host state, guest state. */
	struct l1_facts facts = {
		.maxphyaddr = nested_maxphyaddr(),
		.l1_long_mode = vmcs_read(GUEST_IA32_EFER) & EFER_LMA, /* SDM 27.2.4 */
		.current_vmcs_ptr = n->current_ptr,
		.read_gpa = nested_read_l1,
	};
	/* The addresses in VMCS12 (bitmaps, MSR lists, virtual-APIC page) are
	 * checked as the SDM checks them, for alignment and width only
	 * (27.2.1.1-27.2.1.3). Where one names no RAM of L1's (or the
	 * monitor's memory), L0 uses it as the CPU uses memory that is not
	 * there: reads give all ones, writes vanish (vmcs02.c, nested_exit.c). */
	/* 27.3.1.1-2 need not run again if their fields are unchanged since
	 * an entry that passed (the L1 facts they read never change). */
	facts.cr_seg_known_good = cr_seg_unchanged(n, c) && n->cr_seg_ok;
	bool known_good = n->ctl_host_ok && n->ctl_host_ptr == facts.current_vmcs_ptr &&
			  n->ctl_host_lma == facts.l1_long_mode;
	/* VMCS02's controls are those of VMCS12's control fields as they
	 * are now only if nothing changed since an entry that wrote them. */
	if (!known_good)
		n->vmcs02_ctl_ok = false;
	struct entry_check_result r = known_good ? nested_check_vmentry_known_good(c, &n->caps, &facts)
						 : nested_check_vmentry(c, &n->caps, &facts);
	/* Past 27.2 (a VMfail is 27.2's): next time those rules need not run
	 * again unless a field they read changes. */
	if (!known_good && r.kind != ENTRY_VMFAIL) {
		n->ctl_host_ok = true;
		n->ctl_host_ptr = facts.current_vmcs_ptr;
		n->ctl_host_lma = facts.l1_long_mode;
	}
	n->cr_seg_ok = r.kind == ENTRY_OK;
	if (r.kind == ENTRY_VMFAIL) {
		pr_info("nested VM entry refused (VMfailValid %u): %s", r.vm_instruction_error, r.rule);
		fail_valid(n, r.vm_instruction_error);
		return false;
	}
	if (r.kind == ENTRY_FAIL_EXIT) {
		pr_info("nested VM entry failed (exit reason %x, qualification %lx): %s", r.exit_reason,
			r.exit_qualification, r.rule);
		nested_entry_failure_exit(v, r.exit_reason, r.exit_qualification);
		return false;
	}

	/* Guest state into VMCS02 (SDM 27.3.2), then SDM 27.4 "Loading MSRs":
	 * the VM-entry MSR-load list, whose EFER/PAT/... land in VMCS02. */
	nested_vmcs02_load(v, n->vmcs02_ctl_ok);
	n->vmcs02_ctl_ok = true;
	u32 bad_index;
	if (nested_msr_list_load(v, c->vm_entry_msr_load_addr, c->vm_entry_msr_load_count, &bad_index)) {
		pr_info("nested VM entry failed: VM-entry MSR-load entry %u", bad_index);
		nested_entry_failure_exit(v, EXIT_REASON_ENTRY_FAIL_MSR_LOADING, bad_index);
		return false;
	}

	n->launch_state_before = c->launch_state;
	c->launch_state = VMCS12_STATE_LAUNCHED;
	n->handling_reflected = false;
	/* Event injection is consumed by this entry (SDM 28.2: the valid bit
	 * of the VM-entry interruption information is cleared on VM exit). */
	c->vm_entry_intr_info_field &= ~INTR_INFO_VALID;
	bool do_launch = !n->vmcs02_launched;
	n->vmcs02_launched = true;
	return do_launch;
}
