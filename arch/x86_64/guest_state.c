/* Guest-state accessors for exit handlers and nested/ (VMCS01 or VMCS02
 * current, whichever the exit came from): below the exit dispatch and the
 * nested code, calling neither (docs/monitor.md, "Where exit code lives"). */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <exit_reason.h>
#include <guest_state.h>
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

bool guest_in_64bit_mode(void)
{
	return (vmcs_read(GUEST_IA32_EFER) & EFER_LMA) && (vmcs_read(GUEST_CS_AR_BYTES) & VMX_AR_L);
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
