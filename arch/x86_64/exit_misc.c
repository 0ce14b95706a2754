/* XSETBV, I/O and VMCALL exits. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <cpuid_policy.h>
#include <exit_reason.h>
#include <guest_state.h>
#include <vmm.h>
#include <log.h>

#define CPUID_LEAF_XSAVE 0xd

/* XSETBV exits unconditionally (SDM 26.1.2). #UD (CR4.OSXSAVE = 0) and
 * #GP at CPL > 0 come before the exit; the #GP cases for the value are the
 * monitor's to check before the real XSETBV, which would fault in the
 * monitor (SDM Vol. 2, XSETBV). */
void exit_xsetbv(struct vcpu *v)
{
	struct guest_regs *g = v->regs;
	u32 xcr = (u32)g->gpr[GPR_RCX];
	u64 value = (g->gpr[GPR_RDX] << 32) | (u32)g->gpr[GPR_RAX];
	u32 a, b, c, d;

	cpuid_count(CPUID_LEAF_XSAVE, 0, &a, &b, &c, &d);
	u64 supported = ((u64)d << 32) | a;
	if (xcr != 0 || !xcr0_valid(value, supported) || xsetbv_safe(xcr, value))
		return guest_inject_exception(EXC_GP, true, 0);
	guest_skip_instruction();
}

/* IN or OUT of a range that wraps past FFFFH. SDM 26.1.3 "I/O
 * instructions": with "use I/O bitmaps", "If an I/O operation 'wraps
 * around' the 16-bit I/O-port space (accesses ports FFFFH and 0000H), the
 * I/O instruction causes a VM exit", whatever the bitmaps say. The ports
 * it touches (FFFDH-FFFFH, 0000H-0002H) are none of the monitor's, so the
 * monitor performs the access as the guest would have without the exit
 * (IN EAX zero-extends into RAX, as in 64-bit mode). */
static void io_wrapped(struct vcpu *v, const struct io_access *io)
{
	u64 *rax = &v->regs->gpr[GPR_RAX];
	u32 val;

	/* A single byte cannot wrap: 2 or 4 bytes. */
	if (!io->in && io->size == 2) {
		outw(io->port, (u16)*rax);
	} else if (!io->in) {
		outl(io->port, (u32)*rax);
	} else if (io->size == 2) {
		asm volatile("inw %1, %w0" : "=a"(val) : "Nd"(io->port));
		*rax = (*rax & ~0xffffULL) | (u16)val;
	} else {
		asm volatile("inl %1, %0" : "=a"(val) : "Nd"(io->port));
		*rax = val;
	}
	guest_skip_instruction();
}

/* I/O exits: only the debug-exit and statistics-mark ports are in the
 * I/O bitmaps (when the configuration enables them); a write to the first
 * ends the run with its value, to the second prints the exit counts so
 * far. An IN or OUT wrapping past FFFFH exits too. */
void exit_io(struct vcpu *v)
{
	struct io_access io = io_access_decode(vmcs_read(EXIT_QUALIFICATION));

	if ((u32)io.port + io.size - 1 > 0xffff && !io.string)
		return io_wrapped(v, &io);

	if (io.port == NV_DEBUG_EXIT_PORT && !io.in && !io.string) {
		u32 mask = io.size == 4 ? 0xffffffffu : (1u << (8 * io.size)) - 1;
		u32 status = (u32)v->regs->gpr[GPR_RAX] & mask;
		pr_info("guest wrote %u to the debug-exit port", status);
		vmm_end_run(status);
	}
	if (io.port == NV_STATS_MARK_PORT && !io.in && !io.string) {
		u32 mask = io.size == 4 ? 0xffffffffu : (1u << (8 * io.size)) - 1;
		stats_print_mark((u32)v->regs->gpr[GPR_RAX] & mask);
		return guest_skip_instruction();
	}
	if ((io.port == NV_DEBUG_EXIT_PORT || io.port == NV_STATS_MARK_PORT) && io.in && !io.string) {
		/* Nothing is there to read: all ones, as from an empty port. */
		u64 mask = io.size == 4 ? 0xffffffffULL : (1ULL << (8 * io.size)) - 1;
		v->regs->gpr[GPR_RAX] |= mask;
		return guest_skip_instruction();
	}
	guest_report_and_stop("I/O instruction the monitor does not emulate");
}

void exit_vmcall(struct vcpu *v)
{
	struct guest_regs *g = v->regs;
	struct hc_regs r = { g->gpr[GPR_RAX], g->gpr[GPR_RBX], g->gpr[GPR_RCX], g->gpr[GPR_RDX] };

	hypercall_dispatch(&r, guest_cpl());
	g->gpr[GPR_RAX] = r.rax;
	g->gpr[GPR_RBX] = r.rbx;
	g->gpr[GPR_RCX] = r.rcx;
	g->gpr[GPR_RDX] = r.rdx;
	guest_skip_instruction();
}
