/* CPUID exits (unconditional in VMX non-root operation, SDM 26.1.2): run
 * the real CPUID, then apply what the guest may see (cpuid_policy.c). */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <cpuid_policy.h>
#include <guest_state.h>

void exit_cpuid(struct vcpu *v)
{
	struct guest_regs *g = v->regs;
	u32 leaf = (u32)g->gpr[GPR_RAX], subleaf = (u32)g->gpr[GPR_RCX];
	struct cpuid_regs r;
	struct cpuid_policy p = { .expose_vmx = v->nested.enabled, .guest_cr4 = guest_cr4_visible() };

	cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx);
	cpuid_policy_apply(leaf, subleaf, &r, &p);
	/* CPUID writes the low 32 bits and clears the high ones. */
	g->gpr[GPR_RAX] = r.eax;
	g->gpr[GPR_RBX] = r.ebx;
	g->gpr[GPR_RCX] = r.ecx;
	g->gpr[GPR_RDX] = r.edx;
	guest_skip_instruction();
}
