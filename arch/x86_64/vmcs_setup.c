/* VMCS01: the firmware, as it runs at this moment, becomes the guest.
 * Guest state is the current CPU state (the loader called us); host state
 * is the monitor's own environment; controls intercept as little as the
 * monitor needs (SDM chapter 25; checks in SDM 27.2-27.3). */
#include <vmx.h>
#include <vmcs.h>
#include <msr.h>
#include <cpu.h>
#include <msr_policy.h>
#include <cpuid_policy.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

/* A control value: the wanted bits that the CPU allows, plus the bits it
 * requires (SDM Appendix A.3: allowed-0 settings in bits 31:0, allowed-1
 * settings in bits 63:32). */
static u32 adjust_controls(u32 want, u64 cap)
{
	return (want | (u32)cap) & (u32)(cap >> 32);
}

/* Segment state from the firmware's GDT (SDM 3.4.5 "Segment Descriptors";
 * VMCS access-rights format SDM 25.4.1, Table 25-2). */
struct seg {
	u16 sel;
	u64 base;
	u32 limit, ar;
};

static struct seg seg_from_gdt(u16 sel, const struct desc_ptr *gdt, bool system)
{
	struct seg s = { .sel = sel, .ar = VMX_AR_UNUSABLE };
	if ((sel & ~7) == 0 || (sel & 4) || (sel | 7) > gdt->limit)
		return s;
	const u64 *d = (const u64 *)(gdt->base + (sel & ~7));
	u64 desc = d[0];
	s.limit = (desc & 0xffff) | ((desc >> 32) & 0xf0000);
	s.ar = (desc >> 40) & 0xf0ff;
	if (s.ar & VMX_AR_G)
		s.limit = (s.limit << 12) | 0xfff;
	s.base = ((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000);
	if (system) /* 16-byte system descriptors in IA-32e mode */
		s.base |= d[1] << 32;
	else
		s.ar |= VMX_AR_TYPE_ACCESSED; /* the CPU sets it on load anyway */
	return s;
}

static void write_seg(u32 sel_field, const struct seg *s)
{
	/* Field encodings of one segment are spaced alike in each group. */
	u32 i = (sel_field - GUEST_ES_SELECTOR) / 2;
	vmcs_write(sel_field, s->sel);
	vmcs_write(GUEST_ES_BASE + 2 * i, s->base);
	vmcs_write(GUEST_ES_LIMIT + 2 * i, s->limit);
	vmcs_write(GUEST_ES_AR_BYTES + 2 * i, s->ar);
}

static void guest_state_from_cpu(const struct nv_bootinfo *bi, u64 cr0_orig, u64 cr4_orig)
{
	struct desc_ptr gdt, idt;
	sgdt(&gdt);
	sidt(&idt);

	const struct { u32 field; u16 sel; } segs[] = {
		{ GUEST_ES_SELECTOR, read_es() }, { GUEST_CS_SELECTOR, read_cs() },
		{ GUEST_SS_SELECTOR, read_ss() }, { GUEST_DS_SELECTOR, read_ds() },
		{ GUEST_FS_SELECTOR, read_fs() }, { GUEST_GS_SELECTOR, read_gs() },
	};
	for (u32 i = 0; i < ARRAY_SIZE(segs); i++) {
		struct seg s = seg_from_gdt(segs[i].sel, &gdt, false);
		write_seg(segs[i].field, &s);
	}
	vmcs_write(GUEST_FS_BASE, rdmsr(MSR_IA32_FS_BASE));
	vmcs_write(GUEST_GS_BASE, rdmsr(MSR_IA32_GS_BASE));

	struct seg ldtr = seg_from_gdt(read_ldtr(), &gdt, true);
	write_seg(GUEST_LDTR_SELECTOR, &ldtr);
	/* UEFI firmware runs without a task register; VM entry still wants
	 * a usable busy 64-bit TSS in IA-32e mode (SDM 27.3.1.2), so the
	 * guest gets a minimal one until it loads its own. */
	struct seg tr = seg_from_gdt(read_tr(), &gdt, true);
	if (tr.ar & VMX_AR_UNUSABLE)
		tr = (struct seg){ .sel = 0, .base = 0, .limit = 0xffff, .ar = VMX_AR_TYPE_BUSY_64_TSS | VMX_AR_P };
	tr.ar = (tr.ar & ~0xfu) | VMX_AR_TYPE_BUSY_64_TSS;
	write_seg(GUEST_TR_SELECTOR, &tr);

	vmcs_write(GUEST_GDTR_BASE, gdt.base);
	vmcs_write(GUEST_GDTR_LIMIT, gdt.limit);
	vmcs_write(GUEST_IDTR_BASE, idt.base);
	vmcs_write(GUEST_IDTR_LIMIT, idt.limit);

	vmcs_write(GUEST_CR0, read_cr0());
	vmcs_write(GUEST_CR3, read_cr3());
	vmcs_write(GUEST_CR4, read_cr4());
	vmcs_write(CR0_READ_SHADOW, cr0_orig);
	vmcs_write(CR4_READ_SHADOW, cr4_orig);
	vmcs_write(GUEST_DR7, read_dr7());
	vmcs_write(GUEST_RSP, bi->resume.rsp);
	vmcs_write(GUEST_RIP, bi->resume.rip);
	vmcs_write(GUEST_RFLAGS, read_rflags()); /* IF=0: the loader's cli */

	vmcs_write(GUEST_IA32_DEBUGCTL, rdmsr(MSR_IA32_DEBUGCTL));
	vmcs_write(GUEST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(GUEST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	vmcs_write(GUEST_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
	vmcs_write(GUEST_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
	vmcs_write(GUEST_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));

	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL); /* SDM 27.3.1.5: no shadow VMCS */
}

void vmcs_host_state_write(struct vcpu *v)
{
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, host_state.cr3);
	/* The monitor executes XSETBV for the guest: that needs CR4.OSXSAVE,
	 * which the firmware may leave clear (SDM Vol. 2, XSETBV: #UD). Its
	 * page tables are 4-level (host.c) even if the firmware runs with
	 * 5-level paging: VM exits load CR4.LA57 from here (SDM 28.5.1). */
	u32 a, b, c, d;
	cpuid_count(1, 0, &a, &b, &c, &d);
	vmcs_write(HOST_CR4, (read_cr4() & ~CR4_LA57) | ((c & CPUID_1_ECX_XSAVE) ? CR4_OSXSAVE : 0));
	vmcs_write(HOST_CS_SELECTOR, host_state.cs);
	vmcs_write(HOST_SS_SELECTOR, host_state.ds);
	vmcs_write(HOST_DS_SELECTOR, host_state.ds);
	vmcs_write(HOST_ES_SELECTOR, host_state.ds);
	vmcs_write(HOST_FS_SELECTOR, host_state.ds);
	vmcs_write(HOST_GS_SELECTOR, host_state.ds);
	vmcs_write(HOST_TR_SELECTOR, host_state.tr);
	vmcs_write(HOST_FS_BASE, 0);
	vmcs_write(HOST_GS_BASE, (u64)v);
	vmcs_write(HOST_TR_BASE, host_state.tr_base);
	vmcs_write(HOST_GDTR_BASE, host_state.gdt_base);
	vmcs_write(HOST_IDTR_BASE, host_state.idt_base);
	vmcs_write(HOST_IA32_SYSENTER_CS, 0);
	vmcs_write(HOST_IA32_SYSENTER_ESP, 0);
	vmcs_write(HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write(HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	vmcs_write(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(HOST_RSP, v->stack_top);
	vmcs_write(HOST_RIP, (u64)vmx_exit_stub);
}

#define HOST_STACK_PAGES 4

static int controls_setup(struct vcpu *v, const struct nv_bootinfo *bi)
{
	const struct vmx_caps *c = &vmx_caps;
	struct msr_policy mp = { .expose_vmx = false };

	v->msr_bitmap = pfa_alloc();
	v->io_bitmap_a = pfa_alloc();
	v->io_bitmap_b = pfa_alloc();
	if (!v->msr_bitmap || !v->io_bitmap_a || !v->io_bitmap_b)
		return NV_E_NOMEM;
	msr_bitmap_build(v->msr_bitmap, &mp);
	/* Writes to IA32_APIC_BASE exit too: the guest may not move the APIC
	 * page onto the monitor's memory (exit_msr.c). */
	v->msr_bitmap[MSR_BITMAP_WRITE_LOW + MSR_IA32_APIC_BASE / 8] |= 1u << (MSR_IA32_APIC_BASE % 8);
	if (bi->flags & NV_BOOT_DEBUG_EXIT) {
		io_bitmap_set(v->io_bitmap_a, v->io_bitmap_b, NV_DEBUG_EXIT_PORT, true);
		io_bitmap_set(v->io_bitmap_a, v->io_bitmap_b, NV_STATS_MARK_PORT, true);
	}

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, adjust_controls(0, c->pinbased));
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL,
		   adjust_controls(CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_USE_IO_BITMAPS |
				   CPU_BASED_ACTIVATE_SECONDARY, c->procbased));
	/* Instructions the guest may use natively must be enabled here, or
	 * they raise #UD in VMX non-root operation (SDM 25.6.2). */
	u32 want2 = SECONDARY_ENABLE_EPT | SECONDARY_UNRESTRICTED_GUEST | SECONDARY_ENABLE_RDTSCP |
		    SECONDARY_ENABLE_INVPCID | SECONDARY_ENABLE_XSAVES | SECONDARY_ENABLE_USER_WAIT_PAUSE;
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, adjust_controls(want2, c->procbased2));
	if (adjust_controls(want2, c->procbased2) & SECONDARY_ENABLE_XSAVES)
		vmcs_write(XSS_EXIT_BITMAP, 0);

	u64 efer = rdmsr(MSR_IA32_EFER);
	vmcs_write(VM_EXIT_CONTROLS,
		   adjust_controls(VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
				   VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT |
				   VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_DEBUG_CONTROLS, c->exit));
	vmcs_write(VM_ENTRY_CONTROLS,
		   adjust_controls(VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT |
				   VM_ENTRY_LOAD_DEBUG_CONTROLS |
				   ((efer & EFER_LMA) ? VM_ENTRY_IA32E_MODE : 0), c->entry));
	vmcs_write(EXCEPTION_BITMAP, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write(MSR_BITMAP, (u64)v->msr_bitmap);
	vmcs_write(IO_BITMAP_A, (u64)v->io_bitmap_a);
	vmcs_write(IO_BITMAP_B, (u64)v->io_bitmap_b);
	vmcs_write(EPT_POINTER, ept_eptp(&v->ept));
	vmcs_write(TSC_OFFSET, 0);

	/* CR0/CR4 bits the guest may not own: those VMX fixes (SDM A.7, A.8)
	 * except PE and PG, which unrestricted guest frees (SDM 27.3.1.1).
	 * The guest reads its own values from the read shadows. */
	u64 cr0_fixed = (c->cr0_fixed0 & ~(CR0_PE | CR0_PG)) | ~c->cr0_fixed1;
	/* CR4.SMXE too: the guest's CPU has no SMX (CPUID hides it). */
	u64 cr4_fixed = c->cr4_fixed0 | ~c->cr4_fixed1 | CR4_SMXE;
	vmcs_write(CR0_GUEST_HOST_MASK, cr0_fixed & 0xffffffffULL);
	vmcs_write(CR4_GUEST_HOST_MASK, cr4_fixed);
	return 0;
}

int vmcs01_setup(struct vcpu *v, const struct nv_bootinfo *bi)
{
	u8 *stack = pfa_alloc_contig(HOST_STACK_PAGES);
	if (!stack)
		return NV_E_NOMEM;
	/* The top slot holds the vcpu pointer for entry.asm; RSP below it
	 * stays 16-byte aligned. */
	v->stack_top = (u64)stack + HOST_STACK_PAGES * PAGE_SIZE - 16;
	*(struct vcpu **)v->stack_top = v;

	int err = controls_setup(v, bi);
	if (err)
		return err;
	vmcs_host_state_write(v);
	guest_state_from_cpu(bi, v->boot_cr0, v->boot_cr4);
	return 0;
}
