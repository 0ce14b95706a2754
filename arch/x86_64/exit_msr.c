/* RDMSR/WRMSR exits: the MSR bitmap sends here what msr_policy.c does not
 * pass through, plus every MSR outside the bitmap's ranges (SDM 26.1.3). */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <msr_policy.h>
#include <msr.h>
#include <l1d.h>
#include <guest_state.h>
#include <vmm.h>

#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ULL /* IA32_APIC_BASE bits 51:12 */


/* RDMSR/WRMSR at CPL > 0 raise #GP before any VM exit (SDM 26.1.1), so
 * the guest here is at CPL 0. */
void exit_rdmsr(struct vcpu *v)
{
	struct guest_regs *g = v->regs;
	u32 msr = (u32)g->gpr[GPR_RCX];
	u64 value = 0;
	struct msr_policy policy = { .expose_vmx = v->nested.enabled,
				      .arch_capabilities = l1d_guest_arch_capabilities() };

	/* L1's VMX capability MSRs describe what nestvisor emulates. */
	if (nested_rdmsr(v, msr, &value))
		goto done;
	switch (msr_policy_rdmsr(msr, &policy, &value)) {
	case MSR_EMULATE:
		break;
	case MSR_PASSTHROUGH:
		if (rdmsr_safe(msr, &value) == 0)
			break;
		/* the CPU refused it, so does the guest's */
		__attribute__((fallthrough));
	case MSR_INJECT_GP:
		guest_inject_exception(EXC_GP, true, 0);
		return;
	}
done:
	g->gpr[GPR_RAX] = (u32)value;
	g->gpr[GPR_RDX] = value >> 32;
	guest_skip_instruction();
}

void exit_wrmsr(struct vcpu *v)
{
	struct guest_regs *g = v->regs;
	u32 msr = (u32)g->gpr[GPR_RCX];
	u64 value = (g->gpr[GPR_RDX] << 32) | (u32)g->gpr[GPR_RAX];
	struct msr_policy policy = { .expose_vmx = v->nested.enabled,
				      .arch_capabilities = l1d_guest_arch_capabilities() };

	/* SDM Vol. 3A "Relocating the Local APIC Registers": a base inside
	 * the monitor's memory would put APIC registers over it. */
	if (msr == MSR_IA32_APIC_BASE && vmm_gpa_in_monitor(value & APIC_BASE_ADDR_MASK, PAGE_SIZE)) {
		guest_inject_exception(EXC_GP, true, 0);
		return;
	}
	switch (msr_policy_wrmsr(msr, value, &policy)) {
	case MSR_EMULATE:
		break;
	case MSR_PASSTHROUGH:
		if (wrmsr_safe(msr, value) == 0)
			break;
		__attribute__((fallthrough));
	case MSR_INJECT_GP:
		guest_inject_exception(EXC_GP, true, 0);
		return;
	}
	guest_skip_instruction();
}
