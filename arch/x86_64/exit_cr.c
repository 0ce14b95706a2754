/* Control-register exits. Only the CR0/CR4 bits in the guest/host masks
 * trap (vmcs_setup.c): bits VMX operation fixes, such as CR0.NE and
 * CR4.VMXE. The guest owns every other bit, so a trapped write is
 * emulated in full: the guest's value goes to the read shadow, the real
 * register keeps the fixed bits (SDM 25.6.6 "Guest/Host Masks and Read
 * Shadows for CR0 and CR4"). */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <exit_reason.h>
#include <guest_state.h>

static void gp(void)
{
	guest_inject_exception(EXC_GP, true, 0);
}

/* MOV to CR0 (SDM Vol. 2, MOV - Move to/from Control Registers: #GP(0) if
 * setting a reserved bit, PG without PE, NW without CD, or clearing PG in
 * 64-bit mode; and SDM 10.8.5 for entering/leaving IA-32e mode with
 * EFER.LME). The old value is the one the guest sees: the read shadow
 * holds only the masked bits, PG is the real register's outside VMX
 * operation. */
static void mov_to_cr0(struct vcpu *v, u64 val)
{
	u64 old = guest_cr0_visible();
	u64 efer = vmcs_read(GUEST_IA32_EFER);

	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
		return gp();
	if (!(val & CR0_PG) && (efer & EFER_LMA) && (vmcs_read(GUEST_CS_AR_BYTES) & VMX_AR_L))
		return gp();
	/* In VMX operation L1 may not clear the bits VMX fixes (SDM 24.8). */
	if (v->nested.vmxon && (val & vmx_caps.cr0_fixed0) != vmx_caps.cr0_fixed0)
		return gp();
	if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME)) {
		if (!(vmcs_read(GUEST_CR4) & CR4_PAE))
			return gp();
		efer |= EFER_LMA; /* IA-32e mode activates with paging */
	} else if (!(val & CR0_PG) && (old & CR0_PG) && (efer & EFER_LMA)) {
		efer &= ~EFER_LMA;
	}
	u64 entry = vmcs_read(VM_ENTRY_CONTROLS) & ~(u64)VM_ENTRY_IA32E_MODE;
	vmcs_write(VM_ENTRY_CONTROLS, entry | ((efer & EFER_LMA) ? VM_ENTRY_IA32E_MODE : 0));
	vmcs_write(GUEST_IA32_EFER, efer);

	u64 mask = vmcs_read(CR0_GUEST_HOST_MASK);
	vmcs_write(CR0_READ_SHADOW, val);
	vmcs_write(GUEST_CR0, (val & ~mask) | (vmcs_read(GUEST_CR0) & mask));
	guest_skip_instruction();
}

/* MOV to CR4. CR4.VMXE is L1's to set when VT-x is offered (the real bit
 * stays set for L0), a reserved bit (#GP) when not; in VMX operation L1
 * may not clear it (SDM 24.8). Bits VMX forbids are reserved. The write is
 * emulated with VMWRITE, which checks nothing: the #GP(0) cases of MOV to
 * CR4 for the bits the guest owns are checked here (SDM Vol. 2, MOV -
 * Move to/from Control Registers), or VM entry would fail on them. */
static void mov_to_cr4(struct vcpu *v, u64 val)
{
	u64 mask = vmcs_read(CR4_GUEST_HOST_MASK);
	u64 old = guest_cr4_visible();
	bool ia32e = vmcs_read(GUEST_IA32_EFER) & EFER_LMA;

	if (val & mask & ~vmx_caps.cr4_fixed0)
		return gp();
	if (ia32e && (!(val & CR4_PAE) || ((val ^ old) & CR4_LA57)))
		return gp(); /* leaving IA-32e mode by PAE, or changing LA57 in it */
	if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) && (!ia32e || (vmcs_read(GUEST_CR3) & 0xfff)))
		return gp(); /* PCIDE 0 -> 1 outside IA-32e mode or with CR3[11:0] != 0 */
	if ((val & CR4_CET) && !(guest_cr0_visible() & CR0_WP))
		return gp();
	if (((val & CR4_VMXE) && !v->nested.enabled) || (val & CR4_SMXE)) /* no SMX offered */
		return gp();
	if (!(val & CR4_VMXE) && v->nested.vmxon)
		return gp();
	vmcs_write(CR4_READ_SHADOW, val);
	vmcs_write(GUEST_CR4, (val & ~mask) | (vmcs_read(GUEST_CR4) & mask));
	guest_skip_instruction();
}

void exit_cr_access(struct vcpu *v)
{
	struct cr_access a = cr_access_decode(vmcs_read(EXIT_QUALIFICATION));

	switch (a.type) {
	case CR_ACCESS_MOV_TO:
		if (a.cr == 0)
			return mov_to_cr0(v, guest_gpr_read(v, a.gpr));
		if (a.cr == 4)
			return mov_to_cr4(v, guest_gpr_read(v, a.gpr));
		break;
	case CR_ACCESS_LMSW: {
		/* LMSW loads CR0[3:0] but cannot clear PE (SDM Vol. 2, LMSW). */
		u64 cr0 = guest_cr0_visible();
		u64 src = a.lmsw_source_data & 0xf;
		return mov_to_cr0(v, (cr0 & ~0xeULL) | src | (cr0 & CR0_PE));
	}
	case CR_ACCESS_CLTS:
		vmcs_write(CR0_READ_SHADOW, vmcs_read(CR0_READ_SHADOW) & ~CR0_TS);
		vmcs_write(GUEST_CR0, vmcs_read(GUEST_CR0) & ~CR0_TS);
		guest_skip_instruction();
		return;
	}
	guest_report_and_stop("control-register access the monitor does not intercept");
}
