/* Exits while L2 runs: reflected to L1 when L1's VMCS12 asks for them
 * (reflect.c decides), handled by L0 otherwise. A reflected exit does
 * what the hardware does on a VM exit (SDM chapter 28): save L2's state
 * and the exit information into VMCS12, then load L1's host state. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <msr.h>
#include <msr_policy.h>
#include <l1d.h>
#include <exit_reason.h>
#include <guest_state.h>
#include <nested/nested.h>
#include <nested/guest_access.h>
#include <nested/operand.h>
#include <nested/reflect.h>
#include <nested/vmcs12.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

struct msr_entry {
	u32 index, reserved;
	u64 value;
};
_Static_assert(sizeof(struct msr_entry) == 16, "SDM 25.7.2 MSR-list entry");

/* The MSRs a list entry names are L1's machine's (L2's, through L1). */
static struct msr_policy l1_msr_policy(void)
{
	return (struct msr_policy){ .expose_vmx = true, .arch_capabilities = l1d_guest_arch_capabilities() };
}


/* MSRs whose value lives in the VMCS guest-state area: a list entry for
 * them reads or writes the current VMCS (VMCS02 at entry, VMCS01 when
 * loading L1's host MSRs), never the monitor's own registers. */
static u32 vmcs_backed_msr(u32 msr)
{
	switch (msr) {
	case MSR_IA32_EFER: return GUEST_IA32_EFER;
	case MSR_IA32_PAT: return GUEST_IA32_PAT;
	case MSR_IA32_DEBUGCTL: return GUEST_IA32_DEBUGCTL;
	case MSR_IA32_SYSENTER_CS: return GUEST_SYSENTER_CS;
	case MSR_IA32_SYSENTER_ESP: return GUEST_SYSENTER_ESP;
	case MSR_IA32_SYSENTER_EIP: return GUEST_SYSENTER_EIP;
	case MSR_IA32_FS_BASE: return GUEST_FS_BASE;
	case MSR_IA32_GS_BASE: return GUEST_GS_BASE;
	default: return 0;
	}
}

#define EFER_VALID_BITS (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

/* IA32_PAT: each entry a memory type of 0, 1, 4, 5, 6 or 7 (SDM 13.12.2). */
static bool pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (pat >> (8 * i)) & 0xff;
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* SDM 27.4 and 28.6 "Loading MSRs": each entry as WRMSR would, with the
 * MSRs the SDM forbids there refused. Returns the 1-based index of a
 * failing entry in *bad (0 on success). */
int nested_msr_list_load(struct vcpu *v, u64 gpa, u32 count, u32 *bad)
{
	struct msr_policy policy = l1_msr_policy();

	for (u32 i = 0; i < count; i++) {
		struct msr_entry e;
		*bad = i + 1;
		/* An entry in memory that is not there reads as all ones:
		 * reserved bits set, so it fails here. */
		if (nested_read_l1(NULL, gpa + (u64)i * sizeof(e), &e, sizeof(e)))
			return -1;
		u32 msr = e.index;
		if (e.reserved || msr == MSR_IA32_FS_BASE || msr == MSR_IA32_GS_BASE ||
		    (msr >> 8) == 0x8 /* x2APIC range 800H-8FFH */ ||
		    msr == MSR_IA32_SMM_MONITOR_CTL)
			return -1;
		u32 field = vmcs_backed_msr(msr);
		if (field) {
			/* A value WRMSR would refuse fails the entry (SDM 27.4):
			 * EFER's reserved bits, PAT's reserved memory types. */
			if ((msr == MSR_IA32_EFER && (e.value & ~EFER_VALID_BITS)) ||
			    (msr == MSR_IA32_PAT && !pat_valid(e.value)))
				return -1;
			vmcs_write(field, e.value);
			/* VMCS02 no longer holds VMCS12's value there (if the
			 * entry fails, the next one must write it again). */
			v->nested.guest_dirty |= nested_guest_field_bit(field);
			continue;
		}
		switch (msr_policy_wrmsr(msr, e.value, &policy)) {
		case MSR_EMULATE:
			break;
		case MSR_PASSTHROUGH:
			if (wrmsr_safe(msr, e.value) == 0)
				break;
			return -1;
		case MSR_INJECT_GP:
			return -1;
		}
	}
	*bad = 0;
	return 0;
}

/* SDM 28.4 "Saving MSRs": each entry's MSR value into bits 127:64. An
 * entry in memory that is not there reads as all ones (so it fails) and
 * a value stored there vanishes. */
static int msr_list_store(struct vcpu *v, u64 gpa, u32 count)
{
	struct msr_policy policy = l1_msr_policy();

	for (u32 i = 0; i < count; i++) {
		struct msr_entry e;
		u64 at = gpa + (u64)i * sizeof(e), value;
		nested_read_l1_or_ones(at, &e, sizeof(e));
		if (e.reserved || (e.index >> 8) == 0x8)
			return -1;
		u32 field = vmcs_backed_msr(e.index);
		if (field) {
			value = vmcs_read(field); /* VMCS02: L2's value */
		} else if (!nested_rdmsr(v, e.index, &value)) {
			enum msr_action a = msr_policy_rdmsr(e.index, &policy, &value);
			if (a == MSR_INJECT_GP || (a == MSR_PASSTHROUGH && rdmsr_safe(e.index, &value)))
				return -1;
		}
		if (nested_gpa_valid(at + 8, 8))
			memcpy(nested_gpa_ptr(at + 8), &value, 8);
	}
	return 0;
}

/* A VMX abort (SDM 28.7): L1's VM exit cannot complete. The abort
 * indicator goes to VMCS12 and the logical processor would shut down:
 * nestvisor reports it and stops L1. */
static void vmx_abort(struct vcpu *v, u32 indicator)
{
	struct nested_vcpu *n = &v->nested;
	n->cache->abort = indicator;
	memcpy(nested_gpa_ptr(n->current_ptr), n->cache, sizeof(struct vmcs12));
	guest_report_and_stop("VMX abort while loading L1's host state");
}

/* SDM 28.5 "Loading Host State": VMCS12's host-state area becomes L1's
 * state, written into VMCS01 (the current VMCS after this). */
/* What the exit leaves from before it: EFER and PAT the exit controls do
 * not load (SDM 28.5.1: unchanged, so L2's after an L2 exit), and NMI
 * blocking. */
struct exit_carry {
	u64 efer, pat;
	u32 nmi_blocking; /* GUEST_INTR_STATE_NMI or 0 */
};

static void load_l1_host_state(struct vcpu *v, const struct vmcs12 *c, const struct exit_carry *k)
{
	bool lm = c->vm_exit_controls & VM_EXIT_HOST_ADDR_SPACE_SIZE;

	nested_vmcs01_load(v);
	vmcs_write(CR0_READ_SHADOW, c->host_cr0);
	vmcs_write(CR4_READ_SHADOW, c->host_cr4);
	vmcs_write(GUEST_CR0, c->host_cr0 | (vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG)) | CR0_PE | CR0_PG);
	vmcs_write(GUEST_CR3, c->host_cr3);
	vmcs_write(GUEST_CR4, c->host_cr4 | vmx_caps.cr4_fixed0);
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, c->host_ia32_sysenter_cs);
	vmcs_write(GUEST_SYSENTER_ESP, c->host_ia32_sysenter_esp);
	vmcs_write(GUEST_SYSENTER_EIP, c->host_ia32_sysenter_eip);

	u64 efer = k->efer;
	if (c->vm_exit_controls & VM_EXIT_LOAD_IA32_EFER)
		efer = c->host_ia32_efer;
	else
		efer = (efer & ~(EFER_LMA | EFER_LME)) | (lm ? EFER_LMA | EFER_LME : 0);
	vmcs_write(GUEST_IA32_EFER, efer);
	u64 entry = vmcs_read(VM_ENTRY_CONTROLS) & ~(u64)VM_ENTRY_IA32E_MODE;
	vmcs_write(VM_ENTRY_CONTROLS, entry | (lm ? VM_ENTRY_IA32E_MODE : 0));
	vmcs_write(GUEST_IA32_PAT, (c->vm_exit_controls & VM_EXIT_LOAD_IA32_PAT) ? c->host_ia32_pat : k->pat);

	/* CS: 64-bit (or 32-bit) code, DPL 0, flat; data segments flat
	 * read/write, unusable if null (SDM 28.5.2). */
	u32 code_ar = 0xb | VMX_AR_S | VMX_AR_P | VMX_AR_G | (lm ? VMX_AR_L : VMX_AR_DB);
	u32 data_ar = 0x3 | VMX_AR_S | VMX_AR_P | VMX_AR_G | VMX_AR_DB;
	vmcs_write(GUEST_CS_SELECTOR, c->host_cs_selector);
	vmcs_write(GUEST_CS_BASE, 0);
	vmcs_write(GUEST_CS_LIMIT, 0xffffffff);
	vmcs_write(GUEST_CS_AR_BYTES, code_ar);
	const struct { u32 sel_field; u16 sel; u64 base; } data[] = {
		{ GUEST_ES_SELECTOR, c->host_es_selector, 0 },
		{ GUEST_SS_SELECTOR, c->host_ss_selector, 0 },
		{ GUEST_DS_SELECTOR, c->host_ds_selector, 0 },
		{ GUEST_FS_SELECTOR, c->host_fs_selector, c->host_fs_base },
		{ GUEST_GS_SELECTOR, c->host_gs_selector, c->host_gs_base },
	};
	for (u32 i = 0; i < ARRAY_SIZE(data); i++) {
		u32 k = (data[i].sel_field - GUEST_ES_SELECTOR) / 2;
		vmcs_write(data[i].sel_field, data[i].sel);
		vmcs_write(GUEST_ES_BASE + 2 * k, data[i].base);
		vmcs_write(GUEST_ES_LIMIT + 2 * k, 0xffffffff);
		/* SS stays usable when null in 64-bit mode; others don't. */
		bool unusable = data[i].sel == 0 && data[i].sel_field != GUEST_SS_SELECTOR;
		vmcs_write(GUEST_ES_AR_BYTES + 2 * k, unusable ? VMX_AR_UNUSABLE : data_ar);
	}
	vmcs_write(GUEST_TR_SELECTOR, c->host_tr_selector);
	vmcs_write(GUEST_TR_BASE, c->host_tr_base);
	vmcs_write(GUEST_TR_LIMIT, 0x67);
	vmcs_write(GUEST_TR_AR_BYTES, VMX_AR_TYPE_BUSY_64_TSS | VMX_AR_P);
	vmcs_write(GUEST_LDTR_SELECTOR, 0);
	vmcs_write(GUEST_LDTR_AR_BYTES, VMX_AR_UNUSABLE);
	vmcs_write(GUEST_GDTR_BASE, c->host_gdtr_base);
	vmcs_write(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_IDTR_BASE, c->host_idtr_base);
	vmcs_write(GUEST_IDTR_LIMIT, 0xffff);

	vmcs_write(GUEST_RIP, c->host_rip);
	vmcs_write(GUEST_RSP, c->host_rsp);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, k->nmi_blocking);
	vmcs_write(GUEST_ACTIVITY_STATE, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);

	u32 bad;
	if (nested_msr_list_load(v, c->vm_exit_msr_load_addr, c->vm_exit_msr_load_count, &bad))
		vmx_abort(v, 4); /* "There was a failure on loading host MSRs" */
}

/* SDM 28.2-28.3: L2's state and the exit information into VMCS12, read
 * from VMCS02 (still current). */
static void save_l2_state(struct vcpu *v, struct vmcs12 *c, u32 reason, u64 qual)
{
	nested_guest_fields_save(c);
	c->guest_cr0 = vmcs_read(GUEST_CR0);
	c->guest_cr4 = vmcs_read(GUEST_CR4);
	u64 efer = vmcs_read(GUEST_IA32_EFER);
	if (c->vm_exit_controls & VM_EXIT_SAVE_IA32_EFER)
		c->guest_ia32_efer = efer;
	if (c->vm_exit_controls & VM_EXIT_SAVE_IA32_PAT)
		c->guest_ia32_pat = vmcs_read(GUEST_IA32_PAT);
	if (c->vm_exit_controls & VM_EXIT_SAVE_DEBUG_CONTROLS) {
		c->guest_dr7 = vmcs_read(GUEST_DR7);
		c->guest_ia32_debugctl = vmcs_read(GUEST_IA32_DEBUGCTL);
	}
	/* "IA-32e mode guest" takes EFER.LMA (SDM 28.2, IA32_VMX_MISC bit 5). */
	u32 entry_ctl = (c->vm_entry_controls & ~VM_ENTRY_IA32E_MODE) |
			((efer & EFER_LMA) ? VM_ENTRY_IA32E_MODE : 0);
	if (entry_ctl != c->vm_entry_controls)
		v->nested.ctl_host_ok = false;
	c->vm_entry_controls = entry_ctl;

	c->vm_exit_reason = reason;
	c->exit_qualification = qual;
	c->guest_linear_address = vmcs_read(GUEST_LINEAR_ADDRESS);
	if (nested_l1_uses_ept(c)) {
		/* SDM 28.2.1 (EPT exits) and 28.3.4 (PDPTEs with EPT and PAE). */
		c->guest_physical_address = vmcs_read(GUEST_PHYSICAL_ADDRESS);
		c->guest_pdpte0 = vmcs_read(GUEST_PDPTE0);
		c->guest_pdpte1 = vmcs_read(GUEST_PDPTE1);
		c->guest_pdpte2 = vmcs_read(GUEST_PDPTE2);
		c->guest_pdpte3 = vmcs_read(GUEST_PDPTE3);
	}
	c->vm_exit_intr_info = (u32)vmcs_read(VM_EXIT_INTR_INFO);
	c->vm_exit_intr_error_code = (u32)vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	c->idt_vectoring_info_field = (u32)vmcs_read(IDT_VECTORING_INFO_FIELD);
	c->idt_vectoring_error_code = (u32)vmcs_read(IDT_VECTORING_ERROR_CODE);
	c->vm_exit_instruction_len = (u32)vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	c->vmx_instruction_info = (u32)vmcs_read(VMX_INSTRUCTION_INFO);
	c->io_rcx = vmcs_read(IO_RCX);
	c->io_rsi = vmcs_read(IO_RSI);
	c->io_rdi = vmcs_read(IO_RDI);
	c->io_rip = vmcs_read(IO_RIP);
	/* SDM 28.3.4: with "save VMX-preemption timer value" the timer's
	 * value at the exit (0 when it caused it); VMCS02 saved it. */
	if (c->vm_exit_controls & VM_EXIT_SAVE_PREEMPTION_TIMER)
		c->vmx_preemption_timer_value = nested_timer_save(v);
}

/* A VM-entry failure that L1 sees as a VM exit (SDM 27.8): no guest state
 * is saved; the exit reason has bit 31 set; L1's host state is loaded. */
/* SDM 27.8: the VM-entry interruption information keeps its valid bit,
 * and NMI blocking is what it was before the VM entry (L1's). */
void nested_entry_failure_exit(struct vcpu *v, u32 reason, u64 qual)
{
	struct vmcs12 *c = v->nested.cache;
	c->vm_exit_reason = reason | EXIT_REASON_ENTRY_FAIL;
	c->exit_qualification = qual;
	if (v->nested.in_l2)
		nested_vmcs01_load(v);
	struct exit_carry k = {
		vmcs_read(GUEST_IA32_EFER), vmcs_read(GUEST_IA32_PAT),
		(u32)vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI,
	};
	load_l1_host_state(v, c, &k);
	nested_shadow_push(v);
}

/* Reflect the current L2 exit to L1; 'synth', when not NULL, replaces the
 * event and address information of the hardware's exit (an exit L0
 * raises for L1 on L2's behalf: an exception or EPT violation met while
 * emulating an L2 instruction). */
static void reflect_with(struct vcpu *v, u32 reason, u64 qual, const struct nested_synth_exit *synth)
{
	struct vmcs12 *c = v->nested.cache;
	save_l2_state(v, c, reason, qual);
	if (synth) {
		c->vm_exit_intr_info = synth->intr_info;
		c->vm_exit_intr_error_code = synth->intr_error;
		c->idt_vectoring_info_field = 0;
		c->guest_linear_address = synth->linear;
		if (nested_l1_uses_ept(c))
			c->guest_physical_address = synth->gpa;
	}
	if (msr_list_store(v, c->vm_exit_msr_store_addr, c->vm_exit_msr_store_count))
		return vmx_abort(v, 2); /* "failure saving guest MSRs" */
	stats_count_reflected();
	v->nested.handling_reflected = true;
	/* An exit caused by an NMI leaves NMIs blocked (SDM 28.1). */
	struct intr_info ii = intr_info_decode(c->vm_exit_intr_info);
	bool nmi_exit = (reason & 0xffff) == EXIT_REASON_EXCEPTION_NMI && ii.valid &&
			ii.type == INTR_TYPE_NMI;
	struct exit_carry k = {
		vmcs_read(GUEST_IA32_EFER), vmcs_read(GUEST_IA32_PAT), /* VMCS02: L2's */
		nmi_exit ? GUEST_INTR_STATE_NMI : 0,
	};
	load_l1_host_state(v, c, &k);
	nested_shadow_push_exit(v); /* L1 VMREADs the exit through the shadow VMCS */
}

static void reflect(struct vcpu *v, u32 reason, u64 qual)
{
	reflect_with(v, reason, qual, NULL);
}

void nested_reflect_synthetic(struct vcpu *v, u32 reason, u64 qual, const struct nested_synth_exit *s)
{
	reflect_with(v, reason, qual, s);
}

/* An exception that L2 meets in an instruction L0 emulates for it: L1's
 * exception bitmap (and page-fault error-code mask/match) decides, as for
 * any exception in L2 (SDM 26.2): a VM exit to L1 with the exception's
 * interruption information (for #PF the faulting address as the exit
 * qualification, CR2 unchanged), or delivery to L2 through VMCS02. */
void nested_l2_exception(struct vcpu *v, u8 vector, bool has_error, u32 error, u64 pf_linear)
{
	if (!(vmcs_read(GUEST_CR0) & CR0_PE))
		has_error = false;
	u32 info = intr_info_encode(vector, INTR_TYPE_HW_EXCEPTION, has_error);
	struct l2_exit e = { .reason = EXIT_REASON_EXCEPTION_NMI, .intr_info = info,
			     .intr_error = has_error ? error : 0 };
	struct reflect_ctx rc = { .v12 = v->nested.cache, .read_phys = nested_read_l1, .ctx = NULL };
	if (nested_exit_to_l1(&rc, &e)) {
		struct nested_synth_exit s = { .intr_info = info, .intr_error = e.intr_error,
					       .linear = vmcs_read(GUEST_LINEAR_ADDRESS) };
		nested_reflect_synthetic(v, EXIT_REASON_EXCEPTION_NMI,
					 vector == EXC_PF ? pf_linear : 0, &s);
		return;
	}
	if (vector == EXC_PF)
		asm volatile("mov %0, %%cr2" : : "r"(pf_linear));
	guest_inject_exception(vector, has_error, error);
}

/* L2's MOV to CR8 with "use TPR shadow", L1's virtual-APIC page where L1
 * has no RAM (VMCS02 makes it exit, vmcs02.c). SDM 30.3 "Virtualizing
 * MOV to CR8": bits 3:0 of the source go to VTPR[7:4], here into memory
 * that is not there, so the write vanishes; TPR virtualization (SDM
 * 30.1.2, "virtual-interrupt delivery" not offered) compares VTPR[7:4],
 * read as FH, with the TPR threshold (at most FH): no exit. A source with
 * bits 63:4 set is #GP(0) (SDM Vol. 2, MOV to CR8). */
static void l2_mov_to_cr8_absent(struct vcpu *v, u64 qual)
{
	if (guest_gpr_read(v, cr_access_decode(qual).gpr) >> 4)
		nested_l2_exception(v, EXC_GP, true, 0, 0);
	else
		guest_skip_instruction();
}

static bool l2_exit(struct vcpu *v, u32 raw);

bool nested_l2_exit(struct vcpu *v, u32 raw)
{
	u64 tsc = rdtsc();
	bool launch = l2_exit(v, raw);
	if (v->nested.in_l2) /* resuming L2 after an exit L0 handled */
		nested_timer_charge(v, tsc);
	return launch;
}

static bool l2_exit(struct vcpu *v, u32 raw)
{
	struct nested_vcpu *n = &v->nested;
	struct exit_reason_info info = exit_reason_decode(raw);
	u64 qual = vmcs_read(EXIT_QUALIFICATION);

	stats_count_l2(info.basic);
	if (info.entry_failure) {
		/* VMCS02 passed nestvisor's checks but not the CPU's: tell L1
		 * its entry failed rather than crash. */
		pr_info("hardware refused VMCS02 (exit reason %x, qualification %lx)", raw, qual);
		n->cache->launch_state = n->launch_state_before;
		u64 pa = (u64)n->vmcs02;
		asm volatile("vmclear %0" : : "m"(pa) : "cc", "memory"); /* launch afresh */
		n->vmcs02_launched = false;
		n->in_l2 = false; /* VMCS02 is no longer current after VMCLEAR */
		nested_vmcs01_load(v);
		nested_entry_failure_exit(v, raw & ~EXIT_REASON_ENTRY_FAIL, qual);
		return false;
	}

	struct l2_exit e = {
		.reason = info.basic, .qualification = qual,
		.intr_info = (u32)vmcs_read(VM_EXIT_INTR_INFO),
		.intr_error = (u32)vmcs_read(VM_EXIT_INTR_ERROR_CODE),
		.msr = (u32)v->regs->gpr[GPR_RCX],
	};
	if (info.basic == EXIT_REASON_XSAVES || info.basic == EXIT_REASON_XRSTORS) {
		e.edx_eax = (v->regs->gpr[GPR_RDX] << 32) | (u32)v->regs->gpr[GPR_RAX];
		/* IA32_XSS is not switched between L1 and L2: the CPU's value. */
		if (rdmsr_safe(MSR_IA32_XSS, &e.ia32_xss))
			e.ia32_xss = 0;
	}
	if (info.basic == EXIT_REASON_VMREAD || info.basic == EXIT_REASON_VMWRITE) {
		e.vmcs_field = guest_gpr_read(v, vmx_info_reg2((u32)vmcs_read(VMX_INSTRUCTION_INFO)));
		if (!guest_in_64bit_mode())
			e.vmcs_field = (u32)e.vmcs_field;
	}
	if (info.basic == EXIT_REASON_CR_ACCESS) {
		struct cr_access a = cr_access_decode(qual);
		e.cr_value = guest_gpr_read(v, a.gpr);
	}
	/* EPT exits of an L2 that runs on L1's EPT: EPT12 decides. */
	if ((info.basic == EXIT_REASON_EPT_VIOLATION || info.basic == EXIT_REASON_EPT_MISCONFIG) &&
	    nested_l1_uses_ept(n->cache)) {
		switch (nested_ept_l2_exit(v, info.basic, &qual)) {
		case NESTED_EPT_HANDLED:
			ept_violation_restore_events();
			return false;
		case NESTED_EPT_REFLECT_VIOLATION:
			reflect(v, EXIT_REASON_EPT_VIOLATION, qual);
			return false;
		case NESTED_EPT_REFLECT_MISCONFIG:
			reflect(v, EXIT_REASON_EPT_MISCONFIG, 0);
			return false;
		case NESTED_EPT_REFLECT_PML_FULL:
			reflect(v, EXIT_REASON_PML_FULL, qual);
			return false;
		}
	}
	/* The hardware timer ran out before L1's did (preempt.c): re-armed. */
	if (info.basic == EXIT_REASON_PREEMPTION_TIMER && !nested_timer_expired(v))
		return false;
	struct reflect_ctx rc = { .v12 = n->cache, .read_phys = nested_read_l1, .ctx = NULL };
	if (nested_exit_to_l1(&rc, &e)) {
		reflect(v, raw, qual);
		return false;
	}
	/* L2 changed L1's bitmap and L1's page lets this access through
	 * (bitmap_watch.c): fresh copies, and L2 executes it again. */
	if (n->consulting && (info.basic == EXIT_REASON_IO_INSTRUCTION ||
			      info.basic == EXIT_REASON_RDMSR || info.basic == EXIT_REASON_WRMSR)) {
		nested_watch_rearm(v);
		return false;
	}

	/* L0's own: what L0 intercepts for itself while L2 runs (an EPT
	 * violation restores what it interrupted itself). */
	if (info.basic != EXIT_REASON_EPT_VIOLATION)
		guest_reinject_interrupted_event();
	switch (info.basic) {
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMWRITE:
		/* L1's VMCS shadowing lets it through: L0 executes it. */
		nested_l2_vmread_vmwrite(v, info.basic == EXIT_REASON_VMWRITE);
		break;
	case EXIT_REASON_EPT_VIOLATION:
		exit_ept_violation(v);
		break;
	case EXIT_REASON_EPT_MISCONFIG:
		panic("EPT misconfiguration at GPA %lx while L2 ran", vmcs_read(GUEST_PHYSICAL_ADDRESS));
	case EXIT_REASON_IO_INSTRUCTION:
		exit_io(v);
		break;
	case EXIT_REASON_RDMSR:
		exit_rdmsr(v);
		break;
	case EXIT_REASON_WRMSR:
		exit_wrmsr(v);
		break;
	case EXIT_REASON_CR_ACCESS:
		if (cr_access_decode(qual).cr == 8) {
			l2_mov_to_cr8_absent(v, qual);
			break;
		}
		/* L1 did not ask for it, so the write only touched bits VMX
		 * fixes (L0's part of the mask): #GP, as for L1 itself. */
		guest_inject_exception(EXC_GP, true, 0);
		break;
	default:
		/* Anything else belongs to L1 whatever its controls say. */
		reflect(v, raw, qual);
		return false;
	}
	return false;
}
