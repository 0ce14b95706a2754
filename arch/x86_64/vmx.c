/* VMX bring-up: capabilities, VMXON, VMCS access, launch, and the
 * architecture hooks generic code calls (vmm/vmm.h). */
#include <vmx.h>
#include <vmcs.h>
#include <msr.h>
#include <cpu.h>
#include <exit_reason.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>
#include <serial.h>
#include <l1d.h>

struct vmx_caps vmx_caps;
struct vcpu boot_vcpu;

#define VMX_BASIC_TRUE_CTLS BIT(55)   /* IA32_VMX_BASIC: TRUE_* MSRs exist */
#define VMX_BASIC_REVISION(b) ((u32)(b) & 0x7fffffff)
#define VMX_BASIC_MEMTYPE(b) (((b) >> 50) & 0xf)
#define VMX_BASIC_MEMTYPE_WB 6

/* The VM-instruction error of the current VMCS, read without recursing
 * into vmcs_read_failed(). */
static u64 instruction_error(void)
{
	u64 v = 0;
	bool fail;
	asm volatile("vmread %2, %0" : "=rm"(v), "=@ccbe"(fail) : "r"((u64)VM_INSTRUCTION_ERROR) : "cc");
	return fail ? ~0ULL : v;
}

/* vmcs_read()/vmcs_write() failed; the return address is in the function
 * that inlined them. */
void vmcs_read_failed(u32 field)
{
	panic("VMREAD %x failed (VM-instruction error %lu) from %p", field,
	      field == VM_INSTRUCTION_ERROR ? 0 : instruction_error(), __builtin_return_address(0));
}

void vmcs_write_failed(u32 field, u64 value)
{
	panic("VMWRITE %x = %lx failed (VM-instruction error %lu) from %p", field, value,
	      instruction_error(), __builtin_return_address(0));
}

/* Mandatory capabilities: named when missing (the loader checks the same
 * list first and says so on the console). */
struct cap_need {
	const char *name;
	const u64 *msr;
	u64 bits; /* allowed-1 bits (high dword of a control MSR) or flags */
	bool ctl; /* a control MSR: bits are in 63:32 */
};

int vmx_capabilities_read(void)
{
	struct vmx_caps *c = &vmx_caps;
	u32 a, b, cx, d;

	cpuid_count(1, 0, &a, &b, &cx, &d);
	if (!(cx & BIT(5))) {
		pr_err("CPUID.1:ECX.VMX is 0: this CPU has no VT-x");
		return NV_E_NOVMX;
	}
	c->basic = rdmsr(MSR_IA32_VMX_BASIC);
	bool tru = c->basic & VMX_BASIC_TRUE_CTLS;
	c->pinbased = rdmsr(tru ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	c->procbased = rdmsr(tru ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	c->exit = rdmsr(tru ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	c->entry = rdmsr(tru ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
	c->misc = rdmsr(MSR_IA32_VMX_MISC);
	c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	if (c->procbased & ((u64)CPU_BASED_ACTIVATE_SECONDARY << 32))
		c->procbased2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
	if (c->procbased2 & ((u64)SECONDARY_ENABLE_EPT << 32))
		c->ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);

	const struct cap_need need[] = {
		{ "IA32_VMX_BASIC: VMCS memory type WB", NULL, 0, false },
		{ "activate secondary controls", &c->procbased, CPU_BASED_ACTIVATE_SECONDARY, true },
		{ "use MSR bitmaps", &c->procbased, CPU_BASED_USE_MSR_BITMAPS, true },
		{ "use I/O bitmaps", &c->procbased, CPU_BASED_USE_IO_BITMAPS, true },
		{ "enable EPT", &c->procbased2, SECONDARY_ENABLE_EPT, true },
		{ "unrestricted guest", &c->procbased2, SECONDARY_UNRESTRICTED_GUEST, true },
		{ "VM-exit: host address-space size", &c->exit, VM_EXIT_HOST_ADDR_SPACE_SIZE, true },
		{ "VM-exit: save IA32_EFER", &c->exit, VM_EXIT_SAVE_IA32_EFER, true },
		{ "VM-exit: load IA32_EFER", &c->exit, VM_EXIT_LOAD_IA32_EFER, true },
		{ "VM-exit: save IA32_PAT", &c->exit, VM_EXIT_SAVE_IA32_PAT, true },
		{ "VM-exit: load IA32_PAT", &c->exit, VM_EXIT_LOAD_IA32_PAT, true },
		{ "VM-entry: IA-32e mode guest", &c->entry, VM_ENTRY_IA32E_MODE, true },
		{ "VM-entry: load IA32_EFER", &c->entry, VM_ENTRY_LOAD_IA32_EFER, true },
		{ "VM-entry: load IA32_PAT", &c->entry, VM_ENTRY_LOAD_IA32_PAT, true },
		{ "EPT: page-walk length 4", &c->ept_vpid, BIT(6), false },
		{ "EPT: write-back paging structures", &c->ept_vpid, BIT(14), false },
		{ "EPT: 2-MByte pages", &c->ept_vpid, BIT(16), false },
		{ "INVEPT with single-context type", &c->ept_vpid, BIT(20) | BIT(25), false },
	};
	int missing = 0;
	for (u32 i = 0; i < ARRAY_SIZE(need); i++) {
		bool ok;
		if (!need[i].msr)
			ok = VMX_BASIC_MEMTYPE(c->basic) == VMX_BASIC_MEMTYPE_WB;
		else if (need[i].ctl)
			ok = (*need[i].msr >> 32) & need[i].bits;
		else
			ok = (*need[i].msr & need[i].bits) == need[i].bits;
		if (!ok) {
			pr_err("required VMX capability missing: %s", need[i].name);
			missing++;
		}
	}
	return missing ? NV_E_NOVMX : 0;
}

/* VMXON (SDM 24.7 "Enabling and Entering VMX Operation"): CR0 and CR4 must
 * satisfy the FIXED MSRs, IA32_FEATURE_CONTROL must allow VMXON outside
 * SMX (the loader locked it so), and the VMXON region starts with the VMCS
 * revision identifier. */
int vmx_on(struct vcpu *v)
{
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCKED) || !(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
		pr_err("IA32_FEATURE_CONTROL %lx does not allow VMXON", fc);
		return NV_E_NOVMX;
	}
	write_cr0((read_cr0() | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);
	write_cr4((read_cr4() | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);

	v->vmxon_region = pfa_alloc();
	v->vmcs = pfa_alloc();
	if (!v->vmxon_region || !v->vmcs)
		return NV_E_NOMEM;
	*(u32 *)v->vmxon_region = VMX_BASIC_REVISION(vmx_caps.basic);
	*(u32 *)v->vmcs = VMX_BASIC_REVISION(vmx_caps.basic);

	u64 pa = (u64)v->vmxon_region;
	u8 fail;
	asm volatile("vmxon %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	if (fail) {
		pr_err("VMXON failed");
		return NV_E_VMXON;
	}
	pa = (u64)v->vmcs;
	asm volatile("vmclear %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	if (!fail)
		asm volatile("vmptrld %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	if (fail) {
		pr_err("VMCLEAR/VMPTRLD of VMCS01 failed");
		asm volatile("vmxoff" ::: "cc");
		return NV_E_VMCS;
	}
	return 0;
}

int arch_init(struct nv_bootinfo *bi)
{
	struct vcpu *v = &boot_vcpu;
	int err;

	if ((err = vmx_capabilities_read()))
		return err;
	pr_info("VMX: revision %x, EPT/VPID caps %lx, secondary allowed-1 %x",
		VMX_BASIC_REVISION(vmx_caps.basic), vmx_caps.ept_vpid, (u32)(vmx_caps.procbased2 >> 32));
	if ((err = host_setup(bi)))
		return err;
	l1d_init();
	if ((err = ept_setup(v, bi)))
		return err;
	/* CR0/CR4 as the firmware had them, before vmx_on() sets the bits VMX
	 * requires: what the guest goes on reading (the read shadows). */
	u64 cr4_before = read_cr4();
	v->boot_cr0 = read_cr0();
	v->boot_cr4 = cr4_before & ~CR4_VMXE;
	if ((err = vmx_on(v)))
		goto fail_cr4;
	if (((bi->flags & NV_BOOT_NESTED) && (err = nested_init(v))) || (err = vmcs01_setup(v, bi))) {
		asm volatile("vmxoff" ::: "cc");
		goto fail_cr4;
	}
	nested_shadow_vmcs01_setup(v);
	return 0;
fail_cr4:
	write_cr4(cr4_before);
	return err;
}

int arch_launch(struct nv_bootinfo *bi)
{
	(void)bi;
	int r = vmx_launch();
	/* Only a failed VMLAUNCH comes back here (SDM 26.1-26.3 checks). */
	if (r == -2)
		pr_err("VMLAUNCH failed: VM-instruction error %lu", vmcs_read(VM_INSTRUCTION_ERROR));
	else
		pr_err("VMLAUNCH failed: VMfailInvalid");
	asm volatile("vmxoff" ::: "cc");
	write_cr4(read_cr4() & ~CR4_VMXE);
	return NV_E_LAUNCH;
}

void vmx_resume_failed(u64 rflags)
{
	if (rflags & RFLAGS_ZF)
		panic("VMRESUME failed: VM-instruction error %lu", vmcs_read(VM_INSTRUCTION_ERROR));
	panic("VMRESUME failed: VMfailInvalid (no current VMCS)");
}

/* Ends an emulator run: QEMU's isa-debug-exit takes the status at 0xf4
 * (QEMU exits with status*2+1); Bochs quits when "Shutdown" is written to
 * port 0x8900. On other machines neither port does anything. */
void arch_emulator_exit(u32 status)
{
	serial_flush(); /* the emulator quits at once: let the log out first */
	outb(NV_DEBUG_EXIT_PORT, (u8)status);
	for (const char *s = "Shutdown"; *s; s++)
		outb(0x8900, (u8)*s);
}

const char *arch_exit_reason_name(u32 reason)
{
	return exit_reason_name(reason);
}
