/* VM-exit dispatch: entry.asm saved the guest's registers and calls
 * vmx_exit_handler(); when it returns, entry.asm resumes the guest. The top
 * layer: it calls the handlers and nested/, which use the guest-state
 * accessors (guest_state.c); none of them calls back into this file. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <exit_reason.h>
#include <guest_state.h>
#include <vmm.h>
#include <log.h>
#include <trace.h>
#include <l1d.h>

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

/* Handles one exit; nonzero when entry.asm must VMLAUNCH the current VMCS
 * (a fresh VMCS02) instead of VMRESUME. Inlined twice: untraced and traced. */
static inline __attribute__((always_inline)) int exit_dispatch(struct guest_regs *regs, struct vcpu *v)
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
	/* L1's VMLAUNCH/VMRESUME succeeded: L2 runs next, with L1's data
	 * in the L1D cache (l1d.c). */
	if (v->nested.in_l2)
		l1d_flush_before_l2();
out:
	/* An NMI the monitor took belongs to L1's machine: it waits while L2
	 * runs and is injected when L1 next runs. */
	if (v->nmi_pending && !v->nested.in_l2)
		deliver_pending_nmi(v);
	v->regs = NULL;
	return launch;
}

static bool is_vmx_instruction(u32 basic)
{
	return (basic >= EXIT_REASON_VMCLEAR && basic <= EXIT_REASON_VMXON) ||
	       basic == EXIT_REASON_INVEPT || basic == EXIT_REASON_INVVPID;
}

/* The exit with the trace on (docs/trace.md). What L0 did follows from
 * where the exit came from and which guest runs next: an L2 exit after
 * which L1 runs was reflected; an L1 VMX instruction after which L2 runs
 * was a nested VM entry. */
static __attribute__((noinline, cold)) int exit_traced(struct guest_regs *regs, struct vcpu *v)
{
	u64 tsc_exit = rdtsc();
	struct trace_rec *r = trace_ring_next(&trace_ring);
	bool from_l2 = v->nested.in_l2;

	*r = (struct trace_rec){
		.tsc_exit = tsc_exit,
		.reason = (u16)exit_reason_decode((u32)vmcs_read(VM_EXIT_REASON)).basic,
		.qual = vmcs_read(EXIT_QUALIFICATION),
		.level = from_l2 ? 2 : 1,
		.action = TRACE_L0,
	};
	int launch = exit_dispatch(regs, v);
	if (from_l2)
		r->action = v->nested.in_l2 ? TRACE_L0 : TRACE_REFLECT;
	else if (is_vmx_instruction(r->reason))
		r->action = v->nested.in_l2 ? TRACE_NESTED_ENTRY : TRACE_EMULATE;
	r->tsc_resume = rdtsc();
	return launch;
}

/* Called by entry.asm. With the trace off this costs one test and branch. */
int vmx_exit_handler(struct guest_regs *regs, struct vcpu *v)
{
	if (__builtin_expect(trace_enabled, 0))
		return exit_traced(regs, v);
	return exit_dispatch(regs, v);
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
