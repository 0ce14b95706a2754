/* vmxfuzz: L2's side of the fuzz of vmxfuzz_bitmaps.c and
 * vmxfuzz_shadow.c. L2 runs one instruction at a time; an exit to L1 is
 * checked for its reason, RIP, instruction length and qualification (SDM
 * 28.2.1 "Basic VM-Exit Information"), a VMX instruction that completes in
 * L2 for VMsucceed, VMfailInvalid or VMfailValid (SDM 31.2 "Conventions").
 * The addresses a fuzzed pointer may name: ours, no RAM, the monitor's own
 * memory, the local or I/O APIC, unaligned, beyond MAXPHYADDR. */
#include <efi.h>
#include <efilib.h>
#include "vmxfuzz_l2.h"

#define APIC_MMIO 0xfee00000ULL
#define IOAPIC_MMIO 0xfec00000ULL
#define OPERAND_OFF 0x100
#define VMCALL_AFTER 2               /* pushfq; pop rbx; then VMCALL */

/* L2's code: one instruction started with every arithmetic flag set, then
 * RFLAGS into RBX and VMCALL. <n>_at is the instruction, <n>_after the
 * next one. Operands: DX the port, RCX the MSR, RDX the field encoding,
 * R8 the register operand, RSI the memory operand, RDI and AL a byte L2
 * writes. AT&T operand order. */
#define L2_OP(n, insn) \
	".globl " #n "\n.hidden " #n "\n.globl " #n "_at\n.hidden " #n "_at\n" \
	".globl " #n "_after\n.hidden " #n "_after\n" \
	#n ":\n\tpush $0x8d7\n\tpopfq\n" #n "_at:\n\t" insn "\n" #n "_after:\n" \
	"\tpushfq\n\tpop %rbx\n\tvmcall\n\tjmp " #n "\n"
asm(".pushsection .text\n"
    L2_OP(fzs_in8, "inb %dx, %al") L2_OP(fzs_in16, "inw %dx, %ax")
    L2_OP(fzs_in32, "inl %dx, %eax") L2_OP(fzs_out8, "outb %al, %dx")
    L2_OP(fzs_out16, "outw %ax, %dx") L2_OP(fzs_out32, "outl %eax, %dx")
    L2_OP(fzs_rdmsr, "rdmsr") L2_OP(fzs_wrmsr, "wrmsr")
    L2_OP(fzs_vmread_reg, "vmread %rdx, %r8") L2_OP(fzs_vmread_mem, "vmread %rdx, (%rsi)")
    L2_OP(fzs_vmwrite_reg, "vmwrite %r8, %rdx") L2_OP(fzs_vmwrite_mem, "vmwrite (%rsi), %rdx")
    L2_OP(fzs_poke, "movb %al, (%rdi)")
    ".popsection\n");

struct fz_l2_state fz_l2;

const char *fz_out_name(u32 r)
{
	static char bufs[4][48];
	static u32 next;
	char *b = bufs[next++ % 4];

	if (r == DONE)
		return "completed";
	if (!(r & EXITED))
		return vt_res_name(r);
	tg_snprintf(b, 48, "%s %u at %lx", r & ENTRY_FAILED ? "VM-entry failure" : "VM exit",
		    r & 0xffff, fz_l2.rip);
	return b;
}

void fz_l2_bad(const char *op, u64 a, u64 b, u32 got, const char *allowed)
{
	fz_l2.f->ops++;
	fz_violation_text(fz_l2.f, op, a, b, fz_out_name(got), allowed);
}

/* Runs 's' in L2 with fz_l2.regs (VMLAUNCH until one entry worked). */
u32 fz_l2_run(struct snip s, bool vmx)
{
	u64 reason;
	u32 res;

	fz_l2.regs.rbx = 0;
	fz_l2.f->ops++;
	if (vt_vmwrite(GUEST_RIP, (u64)s.code) != VT_OK)
		return VT_BAD_FLAGS;
	res = vt_enter(&fz_l2.regs, fz_l2.launched);
	if (res != VT_ENTERED)
		return res;
	reason = vt_rd(VM_EXIT_REASON);
	fz_l2.rip = vt_rd(GUEST_RIP);
	if (reason & EXIT_REASON_ENTRY_FAIL)
		return EXITED | ENTRY_FAILED | (u32)(reason & EXIT_REASON_BASIC_MASK);
	fz_l2.launched = true;
	if (reason != EXIT_REASON_VMCALL || fz_l2.rip != (u64)s.after + VMCALL_AFTER)
		return EXITED | (u32)(reason & EXIT_REASON_BASIC_MASK);
	if (!vmx)
		return DONE;
	return vt_flags_result(fz_l2.regs.rbx);
}

/* An exit 'reason' of a fault-like kind: RIP at the instruction, its
 * length, and (if 'qual' is not ~0) its qualification. */
bool fz_exit_ok(u32 got, u32 reason, struct snip s, u64 qual)
{
	return got == (EXITED | reason) && fz_l2.rip == (u64)s.at &&
	       vt_rd(VM_EXIT_INSTRUCTION_LEN) == (u64)(s.after - s.at) &&
	       (qual == ~0ULL || vt_rd(EXIT_QUALIFICATION) == qual);
}

/* A fresh VMCS in 'page' for L2 (all exceptions exit), made current. */
bool fz_l2_fresh(int page, u32 proc, u32 proc2, u32 pin, u32 exit, struct tg_check *c)
{
	struct vt_env *env = fz_l2.env;
	struct vt_l2 l2 = {
		.rip = (u64)fzs_poke,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.exc_bitmap = ~0u, .proc = proc, .proc2 = proc2, .pin = pin, .exit = exit,
	};

	SetMem(&fz_l2.regs, sizeof(fz_l2.regs), 0);
	fz_l2.vmcs = vt_pa(env, page);
	fz_l2.launched = false;
	fz_l2.f->current = fz_l2.vmcs;
	return vt_load_fresh(env, page, &l2, c);
}

bool fz_l2_done(struct tg_check *c)
{
	fz_l2.f->current = ~0ULL;
	return vt_expect_res(c, "VMCLEAR of L2's VMCS", vt_vmclear(fz_l2.vmcs), VT_OK);
}

/* ---- Addresses ---- */

u64 fz_rand_where(enum where *k, u64 ours)
{
	struct fz *f = fz_l2.f;
	const struct vt_env *env = fz_l2.env;

	switch (*k) {
	case W_OURS:
		return ours;
	case W_MONITOR:
		if (env->have_table)
			return env->table.monitor_base +
			       ALIGN_DOWN(fz_below(f, env->table.monitor_size), PAGE_SIZE);
		*k = W_NORAM;
		/* fall through */
	case W_NORAM:
		return ALIGN_DOWN((1ULL << 32) + fz_below(f, fz_l2.maxpa - (1ULL << 32)), PAGE_SIZE);
	case W_MMIO:
		/* Bare Bochs 2.7 panics on a byte read of its local APIC
		 * ("(addr & 0xf) == 0" in apic.cc): MMIO under nestvisor only. */
		if (fz_l2.nv)
			return fz_below(f, 2) ? APIC_MMIO : IOAPIC_MMIO;
		*k = W_NORAM;
		return fz_rand_where(k, ours);
	case W_UNALIGNED:
		return ours + 1 + fz_below(f, PAGE_SIZE - 1);
	default:
		return (fz_l2.maxpa | (fz_rand(f) & ((1ULL << 52) - 1) & ~(PAGE_SIZE - 1))) |
		       (fz_below(f, 4) == 0 ? BIT(63) : 0);
	}
}

bool fz_where_bad(enum where k)
{
	return k == W_UNALIGNED || k == W_BEYOND;
}

/* Not L1's memory: all ones under nestvisor, unknown on bare Bochs. */
bool fz_where_absent(enum where k)
{
	return k == W_NORAM || k == W_MONITOR || k == W_MMIO;
}

/* ---- The fuzz groups' common parts ---- */

void fz_l2_init(struct fz *f)
{
	fz_l2.f = f;
	fz_l2.env = f->env;
	fz_l2.nv = f->env->nestvisor;
	fz_l2.maxpa = 1ULL << f->env->caps.maxphyaddr;
}

struct snip fz_vmx_snip(bool write, bool mem)
{
	return write ? (mem ? SNIP(fzs_vmwrite_mem) : SNIP(fzs_vmwrite_reg))
		     : (mem ? SNIP(fzs_vmread_mem) : SNIP(fzs_vmread_reg));
}

void fz_vmx_operands(u64 enc, u64 val)
{
	fz_l2.regs.rdx = enc;
	fz_l2.regs.r8 = val;
	fz_l2.regs.rsi = vt_pa(fz_l2.env, FZ_PG_OPERAND) + OPERAND_OFF;
	*(volatile u64 *)fz_l2.regs.rsi = val;
}
