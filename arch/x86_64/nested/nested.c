/* Nested VMX set-up and the pieces of L1's CPU model that VMX changes:
 * the capability MSRs, IA32_FEATURE_CONTROL, CR0/CR4 fixed bits. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <msr.h>
#include <nested/nested.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

int nested_init(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;

	nested_caps_compute(&vmx_caps, &n->caps);
	n->current_ptr = VMCS12_INVALID_PTR;
	n->vmxon_ptr = VMCS12_INVALID_PTR;
	n->cache = pfa_alloc();
	n->vmcs02 = pfa_alloc();
	n->msr_bitmap02 = pfa_alloc();
	n->io_bitmap02_a = pfa_alloc();
	n->io_bitmap02_b = pfa_alloc();
	n->absent_page = pfa_alloc();
	n->ones_page = pfa_alloc();
	if (!n->cache || !n->vmcs02 || !n->msr_bitmap02 || !n->io_bitmap02_a || !n->io_bitmap02_b ||
	    !n->absent_page || !n->ones_page)
		return NV_E_NOMEM;
	memset(n->ones_page, 0xff, PAGE_SIZE);
	for (int i = 0; i < NESTED_WATCHED; i++)
		n->watch[i] = ~0ULL;
	*(u32 *)n->vmcs02 = (u32)vmx_caps.basic & 0x7fffffff;
	u64 pa = (u64)n->vmcs02;
	u8 fail;
	asm volatile("vmclear %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	if (fail)
		return NV_E_VMCS;
	int err = nested_shadow_init(v);
	if (err)
		return err;
	n->enabled = true;
	pr_info("nested VMX offered to L1: VMCS revision %x, procbased %lx, secondary %lx%s",
		VMCS12_REVISION, n->caps.msr[NESTED_CAP(MSR_IA32_VMX_TRUE_PROCBASED_CTLS)],
		n->caps.msr[NESTED_CAP(MSR_IA32_VMX_PROCBASED_CTLS2)],
		n->shadowing ? "; L1's VMREAD/VMWRITE shadowed" : "");
	return 0;
}

bool nested_rdmsr(struct vcpu *v, u32 msr, u64 *value)
{
	return v->nested.enabled && nested_caps_rdmsr(&v->nested.caps, msr, value);
}

/* The CR0 bits L0 keeps in the guest/host mask for L1: those VMX fixes
 * in the real CR0; once L1 is in VMX operation also PE and PG, which
 * VMX operation fixes for L1 itself (SDM 24.8 "Restrictions on VMX
 * Operation"): L1 may not clear them. */
u64 nested_cr0_fixed_mask(const struct vcpu *v)
{
	u64 fixed = vmx_caps.cr0_fixed0 | (~vmx_caps.cr0_fixed1 & 0xffffffffULL);
	if (!v->nested.vmxon)
		fixed &= ~(CR0_PE | CR0_PG);
	return fixed;
}
