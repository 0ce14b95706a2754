/* VM-exit dispatch: entry.asm saved the guest's registers and calls
 * vmx_exit_handler(); when it returns, entry.asm resumes the guest. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <exit_reason.h>
#include <vmm.h>
#include <log.h>

void guest_skip_instruction(void)
{
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) + vmcs_read(VM_EXIT_INSTRUCTION_LEN));
	/* Completing an instruction ends blocking by STI or MOV SS
	 * (SDM 25.4.2, Table 25-3). */
	u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr & ~(u64)(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
	/* A single-stepped instruction the monitor completed still owes the
	 * guest its #DB trap: the BS bit of the pending debug exceptions makes
	 * the CPU deliver it after VM entry (SDM 25.4.2, 27.7.3). */
	if (vmcs_read(GUEST_RFLAGS) & RFLAGS_TF)
		vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS) | PENDING_DBG_BS);
}

/* Inject a hardware exception on the next VM entry (SDM 27.6 "Event
 * Injection"); the faulting instruction is not skipped. In real mode
 * (unrestricted guest, CR0.PE = 0) exceptions push no error code, and VM
 * entry fails if one is asked for (SDM 27.2.1.3). */
void guest_inject_exception(u8 vector, bool has_error, u32 error)
{
	if (!(vmcs_read(GUEST_CR0) & CR0_PE))
		has_error = false;
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, intr_info_encode(vector, INTR_TYPE_HW_EXCEPTION, has_error));
	if (has_error)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
}

/* An exit the monitor handles itself that interrupted the delivery of an
 * event: the event is delivered again on the next entry (SDM 28.2.4
 * "Information for VM Exits During Event Delivery"). True if there was one. */
bool guest_reinject_interrupted_event(void)
{
	u32 idt = (u32)vmcs_read(IDT_VECTORING_INFO_FIELD);
	if (!(idt & INTR_INFO_VALID))
		return false;
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, idt & ~INTR_INFO_NMI_UNBLOCKING);
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vmcs_read(IDT_VECTORING_ERROR_CODE));
	vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vmcs_read(VM_EXIT_INSTRUCTION_LEN));
	return true;
}

u64 guest_gpr_read(struct vcpu *v, u8 gpr)
{
	return gpr == GPR_RSP ? vmcs_read(GUEST_RSP) : v->regs->gpr[gpr];
}

void guest_gpr_write(struct vcpu *v, u8 gpr, u64 value)
{
	if (gpr == GPR_RSP)
		vmcs_write(GUEST_RSP, value);
	else
		v->regs->gpr[gpr] = value;
}

/* The guest's CPL is SS.DPL (SDM 27.3.1.2: VM entry checks SS.DPL against
 * CS; in real mode and with unrestricted guest both are 0). */
int guest_cpl(void)
{
	return (vmcs_read(GUEST_SS_AR_BYTES) >> VMX_AR_DPL_SHIFT) & 3;
}

/* What a guest did that the monitor cannot continue: report it all and end
 * the run (the monitor itself is fine). */
void guest_report_and_stop(const char *why)
{
	struct vcpu *v = &boot_vcpu;
	u32 reason = (u32)vmcs_read(VM_EXIT_REASON);

	log_printf(LOG_PREFIX "guest stopped: %s\n", why);
	log_printf(LOG_PREFIX "  exit reason %u (%s), qualification %lx\n", reason & 0xffff,
		   exit_reason_name(reason & 0xffff), vmcs_read(EXIT_QUALIFICATION));
	log_printf(LOG_PREFIX "  rip %lx rsp %lx rflags %lx cs %lx cpl %d\n", vmcs_read(GUEST_RIP),
		   vmcs_read(GUEST_RSP), vmcs_read(GUEST_RFLAGS), vmcs_read(GUEST_CS_SELECTOR), guest_cpl());
	log_printf(LOG_PREFIX "  cr0 %lx cr3 %lx cr4 %lx efer %lx\n", vmcs_read(GUEST_CR0),
		   vmcs_read(GUEST_CR3), vmcs_read(GUEST_CR4), vmcs_read(GUEST_IA32_EFER));
	static const char *const names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					       "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };
	for (int i = 0; i < 16; i += 4)
		log_printf(LOG_PREFIX "  %-3s %016lx %-3s %016lx %-3s %016lx %-3s %016lx\n",
			   names[i], guest_gpr_read(v, i), names[i + 1], guest_gpr_read(v, i + 1),
			   names[i + 2], guest_gpr_read(v, i + 2), names[i + 3], guest_gpr_read(v, i + 3));
	log_printf(LOG_PREFIX "  IDT-vectoring info %lx, interruptibility %lx\n",
		   vmcs_read(IDT_VECTORING_INFO_FIELD), vmcs_read(GUEST_INTERRUPTIBILITY_INFO));
	vmm_end_run(254);
}

/* An NMI taken while the monitor ran belongs to the guest: inject it when
 * nothing blocks NMI delivery (SDM 27.3.1.5 checks), else keep it. */
static void deliver_pending_nmi(struct vcpu *v)
{
	if (vmcs_read(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID)
		return;
	if (vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
	    (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_NMI))
		return;
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, intr_info_encode(EXC_NMI, INTR_TYPE_NMI, false));
	v->nmi_pending = false;
}

/* u64 guest_cr0_visible/guest_cr4_visible: the guest's own bits where it
 * owns them, the read shadow where the monitor does (SDM 25.6.6). */
u64 guest_cr0_visible(void)
{
	u64 mask = vmcs_read(CR0_GUEST_HOST_MASK);
	return (vmcs_read(GUEST_CR0) & ~mask) | (vmcs_read(CR0_READ_SHADOW) & mask);
}

u64 guest_cr4_visible(void)
{
	u64 mask = vmcs_read(CR4_GUEST_HOST_MASK);
	return (vmcs_read(GUEST_CR4) & ~mask) | (vmcs_read(CR4_READ_SHADOW) & mask);
}

/* Returns nonzero when entry.asm must VMLAUNCH the current VMCS (a fresh
 * VMCS02) instead of VMRESUME. */
int vmx_exit_handler(struct guest_regs *regs, struct vcpu *v)
{
	v->regs = regs;
	u32 raw = (u32)vmcs_read(VM_EXIT_REASON);
	struct exit_reason_info info = exit_reason_decode(raw);
	bool launch = false;

	if (v->nested.in_l2) {
		launch = nested_l2_exit(v, raw);
		goto out;
	}
	stats_count_l1(info.basic);
	if (v->nested.handling_reflected)
		stats_count_l0_for_reflected();
	if (info.entry_failure)
		guest_report_and_stop("VM entry failed on guest state");

	switch (info.basic) {
	case EXIT_REASON_CPUID:
		exit_cpuid(v);
		break;
	case EXIT_REASON_RDMSR:
		exit_rdmsr(v);
		break;
	case EXIT_REASON_WRMSR:
		exit_wrmsr(v);
		break;
	case EXIT_REASON_CR_ACCESS:
		exit_cr_access(v);
		break;
	case EXIT_REASON_XSETBV:
		exit_xsetbv(v);
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		exit_io(v);
		break;
	case EXIT_REASON_EPT_VIOLATION:
		exit_ept_violation(v);
		break;
	case EXIT_REASON_VMCALL:
		exit_vmcall(v);
		break;
	case EXIT_REASON_INVD:
		/* INVD would discard the monitor's own dirty lines: write them
		 * back instead, which the guest cannot tell apart. */
		wbinvd();
		guest_skip_instruction();
		break;
	case EXIT_REASON_WBINVD:
		wbinvd();
		guest_skip_instruction();
		break;
	case EXIT_REASON_GETSEC:
		/* The guest's CPU has no SMX: CR4.SMXE can't be set, so
		 * GETSEC is #UD for it. */
		guest_inject_exception(EXC_UD, false, 0);
		break;
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMXOFF:
	case EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
		launch = nested_vmx_instruction(v, info.basic);
		break;
	case EXIT_REASON_TRIPLE_FAULT:
		guest_report_and_stop("triple fault (shutdown)");
	case EXIT_REASON_INIT_SIGNAL:
		guest_report_and_stop("INIT signal: the guest reset this CPU");
	case EXIT_REASON_EPT_MISCONFIG:
		panic("EPT misconfiguration at GPA %lx: monitor bug", vmcs_read(GUEST_PHYSICAL_ADDRESS));
	default:
		guest_report_and_stop("unexpected VM exit");
	}
out:
	/* An NMI the monitor took belongs to L1's machine: it waits while L2
	 * runs and is injected when L1 next runs. */
	if (v->nmi_pending && !v->nested.in_l2)
		deliver_pending_nmi(v);
	v->regs = NULL;
	return launch;
}

/* VMLAUNCH/VMRESUME in entry.asm failed (SDM 31.3: VMfailInvalid or
 * VMfailValid). For VMCS01 that is a monitor bug. For VMCS02, L1's
 * VMLAUNCH/VMRESUME fails with the error the CPU gave: nestvisor's own
 * checks should have caught it, so it is logged as such. Returns the
 * launch flag for the retry on VMCS01. */
int vmx_entry_failed(struct guest_regs *regs, struct vcpu *v, u64 rflags)
{
	if (!v->nested.in_l2)
		vmx_resume_failed(rflags);
	u32 err = (rflags & RFLAGS_ZF) ? (u32)vmcs_read(VM_INSTRUCTION_ERROR) : VMXERR_ENTRY_INVALID_CONTROL;
	pr_info("hardware refused VMCS02 (VM-instruction error %u): nestvisor's checks missed it", err);
	v->regs = regs;
	u64 pa = (u64)v->nested.vmcs02;
	asm volatile("vmclear %0" : : "m"(pa) : "cc", "memory"); /* launch afresh next time */
	v->nested.vmcs02_launched = false;
	nested_vmcs01_load(v);
	v->nested.cache->vm_instruction_error = err;
	nested_shadow_push_field(v, VM_INSTRUCTION_ERROR);
	vmcs_write(GUEST_RFLAGS, (vmcs_read(GUEST_RFLAGS) & ~0x8d5ULL) | RFLAGS_ZF);
	guest_skip_instruction();
	v->regs = NULL;
	return 0;
}
