/* vmxfuzz: a running L2 under a hostile L1's data structures. Random I/O,
 * MSR, VMREAD and VMWRITE bitmaps at random addresses (ours, unaligned,
 * beyond MAXPHYADDR, no RAM, the monitor's own memory, the local APIC),
 * changed by L1 between exits and by L2 under its feet; VMCS link pointers
 * into the same places with and without "VMCS shadowing"; a shadow VMCS
 * filled by L1's random VMWRITEs that L2 reads and writes with random
 * encodings; the VMX-preemption timer at random values. Every outcome is
 * checked against what the SDM allows:
 *  - VM entry: an unaligned or too-wide bitmap address of a control in use
 *    is VMfailValid(7) (27.2.1.1); a link pointer that is not all ones must
 *    be aligned, within the width, not the current VMCS, and name a region
 *    with the revision identifier and bit 31 equal to "VMCS shadowing",
 *    else a VM-entry failure with qualification 4 (27.3.1.5, 27.8);
 *  - L2's IN/OUT, RDMSR/WRMSR, VMREAD/VMWRITE exit exactly when the bitmap
 *    bit (as it is in memory then), the encoding's bits 63:15, or a port
 *    range wrapping past FFFFH say so (26.1.3), with the exit's RIP,
 *    length and qualification (28.2.1);
 *  - where they do not exit, VMREAD/VMWRITE follow 31.3's pseudo-code for
 *    VMX non-root operation: VMfailInvalid for a link pointer of all ones,
 *    VMfailValid(12) or (13), else the field of the shadow VMCS, which L1
 *    sees afterwards (VMPTRLD of it, VMREAD) and the other way round;
 *  - the timer exits with reason 52 when it counts down, before L2's loop
 *    ends if it must, never if the loop ends long before (26.5.1, 27.7.4),
 *    and "save VMX-preemption timer value" stores 0 after it (28.3.4).
 * Memory that is not L1's (no RAM, the monitor's, MMIO) has no contents the
 * SDM defines. Under nestvisor it reads as all ones (docs/nested.md): every
 * port, MSR and field of a bitmap there exits, a link pointer there fails;
 * had the monitor read its own memory instead, L2 would see its contents.
 * On bare Bochs any outcome is allowed there. */
#include <efi.h>
#include <efilib.h>
#include "vmxfuzz.h"

#define SHADOW_INDICATOR BIT(31)     /* SDM 25.2 "Format of the VMCS Region" */
#define REVISION_MASK 0x7fffffffu
#define QUAL_LINK_POINTER 4          /* SDM 27.8 */
#define BITMAP_BITS 15               /* VMREAD/VMWRITE bitmaps: encoding bits 14:0 */
#define TYPE_READ_ONLY 1             /* encoding bits 11:10 */
#define WIDTH_16 0                   /* encoding bits 14:13 */
#define WIDTH_64 1
#define WIDTH_32 2
#define AR_STORED 0x1f0ffULL         /* access-rights bits a CPU may keep (SDM 25.4.1) */
#define APIC_MMIO 0xfee00000ULL
#define IOAPIC_MMIO 0xfec00000ULL
#define SENTINEL 0x6666666666666666ULL
#define OPERAND_OFF 0x100
#define VMCALL_AFTER 2               /* pushfq; pop rbx; then VMCALL */
/* I/O exit qualification (SDM 28.2.1, Table 28-5). */
#define IOQ_IN BIT(3)
#define IOQ_PORT_SHIFT 16
/* MSR bitmap quarters (SDM 25.6.9). */
#define MSR_RD_LOW 0x000
#define MSR_RD_HIGH 0x400
#define MSR_WR_LOW 0x800
#define MSR_WR_HIGH 0xc00
#define MSR_LOW_LAST 0x1fffu
#define MSR_HIGH_FIRST 0xc0000000u
/* Timer bounds: an iteration of L2's loop takes at least one TSC tick;
 * the loop outlasts a timer it cannot outrun, and a timer far longer than
 * the loop (with room for an emulated VM entry) never fires. */
#define TIMER_SLACK 200000ULL
#define MISC_RATE_MASK 0x1fu

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

#pragma GCC visibility push(hidden)
#define L2_DECL(n) extern const u8 n[], n##_at[], n##_after[]
L2_DECL(fzs_in8); L2_DECL(fzs_in16); L2_DECL(fzs_in32);
L2_DECL(fzs_out8); L2_DECL(fzs_out16); L2_DECL(fzs_out32);
L2_DECL(fzs_rdmsr); L2_DECL(fzs_wrmsr);
L2_DECL(fzs_vmread_reg); L2_DECL(fzs_vmread_mem);
L2_DECL(fzs_vmwrite_reg); L2_DECL(fzs_vmwrite_mem);
L2_DECL(fzs_poke);
#pragma GCC visibility pop

struct snip {
	const u8 *code, *at, *after;
};
#define SNIP(n) ((struct snip){ n, n##_at, n##_after })

/* What L2's instruction did: VT_OK / VT_FAIL_* (a VMX instruction that
 * reached the VMCALL), DONE (another one that did), or a VM exit. */
#define DONE 0x40000u
#define EXITED 0x10000u       /* | basic exit reason */
#define ENTRY_FAILED 0x20000u /* | EXITED | basic exit reason */

static struct {
	struct fz *f;
	struct vt_env *env;
	bool nv;          /* under nestvisor */
	u64 maxpa;
	u64 vmcs;         /* L2's (ordinary) VMCS */
	bool launched;
	u64 rip;          /* GUEST_RIP at the last exit */
	struct tg_regs regs;
} g;

static const char *out_name(u32 r)
{
	static char bufs[4][48];
	static u32 next;
	char *b = bufs[next++ % 4];

	if (r == DONE)
		return "completed";
	if (!(r & EXITED))
		return vt_res_name(r);
	tg_snprintf(b, 48, "%s %u at %lx", r & ENTRY_FAILED ? "VM-entry failure" : "VM exit",
		    r & 0xffff, g.rip);
	return b;
}

static void bad(const char *op, u64 a, u64 b, u32 got, const char *allowed)
{
	g.f->ops++;
	fz_violation_text(g.f, op, a, b, out_name(got), allowed);
}

/* Runs 's' in L2 with g.regs (VMLAUNCH until one entry worked). */
static u32 l2_run(struct snip s, bool vmx)
{
	u64 reason, err;
	u32 res;

	g.regs.rbx = 0;
	g.f->ops++;
	if (vt_vmwrite(GUEST_RIP, (u64)s.code) != VT_OK)
		return VT_BAD_FLAGS;
	res = vt_enter(&g.regs, g.launched);
	if (res != VT_ENTERED)
		return res;
	reason = vt_rd(VM_EXIT_REASON);
	g.rip = vt_rd(GUEST_RIP);
	if (reason & EXIT_REASON_ENTRY_FAIL)
		return EXITED | ENTRY_FAILED | (u32)(reason & EXIT_REASON_BASIC_MASK);
	g.launched = true;
	if (reason != EXIT_REASON_VMCALL || g.rip != (u64)s.after + VMCALL_AFTER)
		return EXITED | (u32)(reason & EXIT_REASON_BASIC_MASK);
	if (!vmx)
		return DONE;
	switch (g.regs.rbx & RFLAGS_ARITH) {
	case 0:
		return VT_OK;
	case RFLAGS_CF:
		return VT_FAIL_INVALID;
	case RFLAGS_ZF:
		err = vt_rd(VM_INSTRUCTION_ERROR);
		return err < 0x100 ? VT_FAIL_VALID((u32)err) : VT_BAD_FLAGS;
	default:
		return VT_BAD_FLAGS;
	}
}

/* An exit 'reason' of a fault-like kind: RIP at the instruction, its
 * length, and (if 'qual' is not ~0) its qualification. */
static bool exit_ok(u32 got, u32 reason, struct snip s, u64 qual)
{
	return got == (EXITED | reason) && g.rip == (u64)s.at &&
	       vt_rd(VM_EXIT_INSTRUCTION_LEN) == (u64)(s.after - s.at) &&
	       (qual == ~0ULL || vt_rd(EXIT_QUALIFICATION) == qual);
}

/* An exception exit: #GP (vector 13) at the instruction. */
static bool gp_exit(u32 got, struct snip s)
{
	u64 info = vt_rd(VM_EXIT_INTR_INFO);
	return got == (EXITED | EXIT_REASON_EXCEPTION_NMI) && g.rip == (u64)s.at &&
	       (info & (INTR_INFO_VALID | 0x7ff)) == (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | EXC_GP);
}

/* A fresh VMCS in 'page' for L2 (all exceptions exit), made current. */
static bool l2_fresh(int page, u32 proc, u32 proc2, u32 pin, u32 exit, struct tg_check *c)
{
	struct vt_env *env = g.env;
	struct vt_l2 l2 = {
		.rip = (u64)fzs_poke,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.exc_bitmap = ~0u, .proc = proc, .proc2 = proc2, .pin = pin, .exit = exit,
	};

	SetMem(&g.regs, sizeof(g.regs), 0);
	g.vmcs = vt_pa(env, page);
	g.launched = false;
	g.f->current = g.vmcs;
	return vt_load_fresh(env, page, &l2, c);
}

static bool l2_done(struct tg_check *c)
{
	g.f->current = ~0ULL;
	return vt_expect_res(c, "VMCLEAR of L2's VMCS", vt_vmclear(g.vmcs), VT_OK);
}

/* ---- Addresses ---- */

enum where { W_OURS, W_NORAM, W_MONITOR, W_MMIO, W_UNALIGNED, W_BEYOND, W_KINDS };

static u64 rand_where(enum where *k, u64 ours)
{
	struct fz *f = g.f;
	const struct vt_env *env = g.env;

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
		return ALIGN_DOWN((1ULL << 32) + fz_below(f, g.maxpa - (1ULL << 32)), PAGE_SIZE);
	case W_MMIO:
		/* Bare Bochs 2.7 panics on a byte read of its local APIC
		 * ("(addr & 0xf) == 0" in apic.cc): MMIO under nestvisor only. */
		if (g.nv)
			return fz_below(f, 2) ? APIC_MMIO : IOAPIC_MMIO;
		*k = W_NORAM;
		return rand_where(k, ours);
	case W_UNALIGNED:
		return ours + 1 + fz_below(f, PAGE_SIZE - 1);
	default:
		return (g.maxpa | (fz_rand(f) & ((1ULL << 52) - 1) & ~(PAGE_SIZE - 1))) |
		       (fz_below(f, 4) == 0 ? BIT(63) : 0);
	}
}

static bool where_bad(enum where k)
{
	return k == W_UNALIGNED || k == W_BEYOND;
}

/* Not L1's memory: all ones under nestvisor, unknown on bare Bochs. */
static bool where_absent(enum where k)
{
	return k == W_NORAM || k == W_MONITOR || k == W_MMIO;
}

static void fill_page(u8 *p)
{
	struct fz *f = g.f;
	u64 *w = (u64 *)p;

	switch (fz_below(f, 5)) {
	case 0: SetMem(p, PAGE_SIZE, 0); break;
	case 1: SetMem(p, PAGE_SIZE, 0xff); break;
	case 2:
		for (u32 i = 0; i < PAGE_SIZE / 8; i++)
			w[i] = fz_rand(f);
		break;
	default:
		SetMem(p, PAGE_SIZE, 0);
		for (u64 n = fz_below(f, 64); n; n--) {
			u64 bit = fz_below(f, PAGE_SIZE * 8);
			p[bit / 8] |= (u8)(1u << (bit % 8));
		}
		break;
	}
}

/* ---- Bitmaps ---- */

enum { BM_IO_A, BM_IO_B, BM_MSR, BM_VMREAD, BM_VMWRITE, BM_COUNT };
static const u32 bm_field[BM_COUNT] = { IO_BITMAP_A, IO_BITMAP_B, MSR_BITMAP, VMREAD_BITMAP,
					VMWRITE_BITMAP };
static const int bm_page[BM_COUNT] = { VT_PG_IO_A, VT_PG_IO_B, VT_PG_MSR_BITMAP, FZ_PG_VMREAD_BM,
				       FZ_PG_VMWRITE_BM };

static struct {
	enum where kind[BM_COUNT];
	u8 *page[BM_COUNT];     /* the page of ours the address names, or NULL */
	bool io, msr, uncond_io, shadowing;
	u64 link;
} bm;

/* Bit 'bit' of bitmap 'i' as L2's access finds it: 1, 0, or -1 unknown. */
static int bm_bit(int i, u64 bit)
{
	if (bm.page[i])
		return bm.page[i][bit / 8] >> (bit % 8) & 1;
	return g.nv ? 1 : -1;
}

static int or3(int a, int b)
{
	return a == 1 || b == 1 ? 1 : a == -1 || b == -1 ? -1 : 0;
}

/* One bitmap's address: our page (its own or another bitmap's), or any
 * other place ('valid': none that fails VM entry). */
static void bm_place(int i, bool valid)
{
	struct fz *f = g.f;
	enum where k = fz_below(f, 2) ? W_OURS : (enum where)fz_below(f, valid ? W_UNALIGNED : W_KINDS);
	int own = fz_below(f, 4) ? i : (int)fz_below(f, BM_COUNT);
	u64 ours = vt_pa(g.env, bm_page[own]);
	u64 a = rand_where(&k, ours);

	bm.kind[i] = k;
	bm.page[i] = k == W_OURS ? vt_page(g.env, bm_page[own]) : NULL;
	vt_vmwrite(bm_field[i], a);
}

/* Ports the fuzz may touch when no exit happens: none of Bochs's or
 * OVMF's devices (legacy ports below 1000H, Bochs's shutdown and iodebug
 * ports 8900H/8A00H, OVMF's ACPI PM block at B000H, PCI BARs from C000H). */
static u16 rand_port(u32 size, bool *in_only)
{
	struct fz *f = g.f;

	*in_only = false;
	switch (fz_below(f, 8)) {
	case 0:
		return 0x80;
	case 1:
		return (u16)(0x7fff - fz_below(f, 3)); /* A and B */
	case 2:
		*in_only = true; /* FFFFH, or a range wrapping past it */
		return (u16)(0xffff - fz_below(f, size));
	case 3:
	case 4:
		return (u16)(0x1000 + fz_below(f, 0x7000 - 3));
	case 5:
		return (u16)(0x8000 + fz_below(f, 0x900 - 3));
	default:
		return (u16)(0x8b00 + fz_below(f, 0x2500 - 3));
	}
}

/* SDM 26.1.3 "I/O instructions". */
static int io_predict(u16 port, u32 size)
{
	int r = 0;

	if (!bm.io)
		return bm.uncond_io;
	if ((u32)port + size - 1 > 0xffff)
		return 1;
	for (u32 p = port; p < (u32)port + size; p++)
		r = or3(r, bm_bit(p < 0x8000 ? BM_IO_A : BM_IO_B, p & 0x7fff));
	return r;
}

static void op_io(void)
{
	struct fz *f = g.f;
	u32 lg = (u32)fz_below(f, 3), size = 1u << lg;
	bool in_only, in;
	u16 port = rand_port(size, &in_only);
	static const u8 *const ins[3][3] = {
		{ fzs_in8, fzs_in8_at, fzs_in8_after }, { fzs_in16, fzs_in16_at, fzs_in16_after },
		{ fzs_in32, fzs_in32_at, fzs_in32_after } };
	static const u8 *const outs[3][3] = {
		{ fzs_out8, fzs_out8_at, fzs_out8_after }, { fzs_out16, fzs_out16_at, fzs_out16_after },
		{ fzs_out32, fzs_out32_at, fzs_out32_after } };

	in = in_only || fz_below(f, 2);
	const u8 *const *t = in ? ins[lg] : outs[lg];
	struct snip s = { t[0], t[1], t[2] };
	int pred = io_predict(port, size);
	u64 qual = (size - 1) | (in ? IOQ_IN : 0) | (u64)port << IOQ_PORT_SHIFT;

	g.regs.rdx = port;
	g.regs.rax = fz_rand(f);
	u32 r = l2_run(s, false);
	bool exited = exit_ok(r, EXIT_REASON_IO_INSTRUCTION, s, qual);
	if (!(exited && pred != 0) && !(r == DONE && pred != 1))
		bad(in ? "L2 IN" : "L2 OUT", port, size, r, pred == 1 ? "exit 30 (bitmap bit set)" :
		    pred == 0 ? "no exit (bitmap bits clear)" : "exit 30 or none");
}

/* MSRs L2 may write when no exit happens: loaded from the host-state area
 * at every VM exit (SYSENTER, SDM 28.5.1), or written with L1's value. */
static u32 safe_wrmsr(u64 *val)
{
	struct fz *f = g.f;

	switch (fz_below(f, 4)) {
	case 0: *val = fz_below(f, 0x10000); return MSR_IA32_SYSENTER_CS;
	case 1: *val = fz_rand(f) & 0x7fffffffffffULL; return MSR_IA32_SYSENTER_ESP;
	case 2: *val = fz_rand(f) & 0x7fffffffffffULL; return MSR_IA32_SYSENTER_EIP;
	default: *val = rdmsr(MSR_IA32_PAT); return MSR_IA32_PAT;
	}
}

static u32 rand_msr(void)
{
	static const u32 listed[] = { 0x10, 0x1b, 0x3a, 0x174, 0x175, 0x176, 0x277, 0x480, 0x481,
				      0x482, 0x485, 0x48b, 0xc0000080, 0xc0000100, 0xc0000101 };
	struct fz *f = g.f;

	switch (fz_below(f, 5)) {
	case 0: return listed[fz_below(f, ARRAY_SIZE(listed))];
	case 1: return (u32)fz_below(f, MSR_LOW_LAST + 1);
	case 2: return MSR_HIGH_FIRST + (u32)fz_below(f, MSR_LOW_LAST + 1);
	case 3: return MSR_LOW_LAST + 1 + (u32)fz_below(f, MSR_HIGH_FIRST - MSR_LOW_LAST - 1);
	default: return MSR_HIGH_FIRST + MSR_LOW_LAST + 1 + (u32)fz_below(f, 0x3fffe000);
	}
}

/* SDM 26.1.3 "RDMSR", "WRMSR". */
static int msr_predict(u32 msr, bool write)
{
	u32 base;

	if (!bm.msr)
		return 1;
	if (msr <= MSR_LOW_LAST)
		base = write ? MSR_WR_LOW : MSR_RD_LOW;
	else if (msr >= MSR_HIGH_FIRST && msr - MSR_HIGH_FIRST <= MSR_LOW_LAST)
		base = write ? MSR_WR_HIGH : MSR_RD_HIGH;
	else
		return 1;
	return bm_bit(BM_MSR, (u64)base * 8 + (msr & MSR_LOW_LAST));
}

static void op_msr(void)
{
	struct fz *f = g.f;
	bool write = fz_below(f, 2);
	u32 msr = rand_msr();
	u64 val = fz_rand(f);
	int pred = msr_predict(msr, write);

	if (write && pred != 1) {
		msr = safe_wrmsr(&val);
		pred = msr_predict(msr, write);
	}
	struct snip s = write ? SNIP(fzs_wrmsr) : SNIP(fzs_rdmsr);
	g.regs.rcx = msr;
	g.regs.rax = (u32)val;
	g.regs.rdx = val >> 32;
	u32 r = l2_run(s, false);
	bool exited = exit_ok(r, write ? EXIT_REASON_WRMSR : EXIT_REASON_RDMSR, s, ~0ULL) &&
		      (u32)g.regs.rcx == msr;
	/* Without an exit to L1 the CPU (or the monitor) executes it: done,
	 * or #GP for an MSR that is not there. */
	if (!(exited && pred != 0) && !((r == DONE || gp_exit(r, s)) && pred != 1))
		bad(write ? "L2 WRMSR" : "L2 RDMSR", msr, val, r, pred == 1 ? "exit 31/32" :
		    pred == 0 ? "no exit to L1" : "exit 31/32 or none");
}

/* SDM 26.1.3 "VMREAD", "VMWRITE". */
static int vmcs_predict(u64 enc, bool write)
{
	if (!bm.shadowing || enc >> BITMAP_BITS)
		return 1;
	return bm_bit(write ? BM_VMWRITE : BM_VMREAD, enc);
}

static struct snip vmx_snip(bool write, bool mem)
{
	return write ? (mem ? SNIP(fzs_vmwrite_mem) : SNIP(fzs_vmwrite_reg))
		     : (mem ? SNIP(fzs_vmread_mem) : SNIP(fzs_vmread_reg));
}

static void vmx_operands(u64 enc, u64 val)
{
	g.regs.rdx = enc;
	g.regs.r8 = val;
	g.regs.rsi = vt_pa(g.env, FZ_PG_OPERAND) + OPERAND_OFF;
	*(volatile u64 *)g.regs.rsi = val;
}

static void op_vmcs(void)
{
	struct fz *f = g.f;
	bool write = fz_below(f, 2), mem = fz_below(f, 2);
	u64 enc = (fz_below(f, 2) ? fz_known_fields[fz_below(f, fz_nknown)] :
		   fz_below(f, 1u << BITMAP_BITS)) |
		  (fz_below(f, 6) == 0 ? BIT(BITMAP_BITS + fz_below(f, 64 - BITMAP_BITS)) : 0);
	int pred = vmcs_predict(enc, write);
	struct snip s = vmx_snip(write, mem);

	vmx_operands(enc, SENTINEL);
	u32 r = l2_run(s, true);
	bool exited = exit_ok(r, write ? EXIT_REASON_VMWRITE : EXIT_REASON_VMREAD, s, ~0ULL);
	bool done = bm.link == ~0ULL ? r == VT_FAIL_INVALID :
		r == VT_OK || r == VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD) ||
		r == VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY);
	if (!(exited && pred != 0) && !(done && pred != 1))
		bad(write ? "L2 VMWRITE" : "L2 VMREAD", enc, bm.link, r,
		    pred == 1 ? "exit 23/25" : bm.link == ~0ULL ? "VMfailInvalid" :
		    "VMsucceed, VMfailValid(12) or (13)");
}

/* L2 writes a byte of one of our bitmap pages (while they are in use:
 * SDM 25.11.4 calls that unpredictable; nestvisor decides each access by
 * the page as it is then, docs/nested.md: that is what is checked under
 * nestvisor, and Bochs reads its bitmaps at each access too). */
static void op_poke(void)
{
	struct fz *f = g.f;
	int i = (int)fz_below(f, BM_COUNT);

	if (!bm.page[i])
		return;
	g.regs.rdi = (u64)bm.page[i] + fz_below(f, PAGE_SIZE);
	g.regs.rax = fz_rand(f);
	u32 r = l2_run(SNIP(fzs_poke), false);
	if (r != DONE)
		bad("L2 writes a bitmap", g.regs.rdi, g.regs.rax & 0xff, r, "completed");
}

/* L1, between exits: new contents, a new (valid) address for a bitmap. */
static void l1_changes(void)
{
	struct fz *f = g.f;
	int i = (int)fz_below(f, BM_COUNT);

	if (fz_below(f, 2)) {
		if (bm.page[i])
			fill_page(bm.page[i]);
	} else {
		bm_place(i, true);
	}
}

static bool bm_scenario(u32 ops, struct tg_check *c)
{
	struct fz *f = g.f;
	const struct vt_caps *k = &g.env->caps;
	u32 proc = (u32)fz_below(f, 1u << 3);
	bool shadow_offered = k->proc2_1 & SECONDARY_VMCS_SHADOWING;
	bool fail7 = false;

	if (!l2_fresh(VT_PG_VMCS_C,
		      ((proc & 1) ? CPU_BASED_USE_IO_BITMAPS : 0) |
		      ((proc & 2) ? CPU_BASED_USE_MSR_BITMAPS : 0) |
		      ((proc & 4) ? CPU_BASED_UNCOND_IO_EXITING : 0),
		      shadow_offered && fz_below(f, 4) ? SECONDARY_VMCS_SHADOWING : 0, 0, 0, c))
		return false;
	u64 ctl = vt_rd(CPU_BASED_VM_EXEC_CONTROL);
	bm.io = ctl & CPU_BASED_USE_IO_BITMAPS;
	bm.msr = ctl & CPU_BASED_USE_MSR_BITMAPS;
	bm.uncond_io = ctl & CPU_BASED_UNCOND_IO_EXITING;
	bm.shadowing = (ctl & CPU_BASED_ACTIVATE_SECONDARY) &&
		       (vt_rd(SECONDARY_VM_EXEC_CONTROL) & SECONDARY_VMCS_SHADOWING);
	for (int i = 0; i < BM_COUNT; i++) {
		fill_page(vt_page(g.env, bm_page[i]));
		bm_place(i, fz_below(f, 4) != 0);
		bool used = i <= BM_IO_B ? bm.io : i == BM_MSR ? bm.msr : bm.shadowing;
		fail7 |= used && where_bad(bm.kind[i]);
	}
	/* A valid shadow VMCS (its revision with bit 31), or none. */
	bm.link = fz_below(f, 4) ? vt_pa(g.env, FZ_PG_SHADOW) : ~0ULL;
	vt_init_region(g.env, FZ_PG_SHADOW);
	*(u32 *)vt_page(g.env, FZ_PG_SHADOW) |= bm.shadowing ? SHADOW_INDICATOR : 0;
	vt_vmclear(vt_pa(g.env, FZ_PG_SHADOW));
	vt_vmwrite(VMCS_LINK_POINTER, bm.link);

	for (u32 n = 0; n < ops; n++) {
		if (fail7) {
			/* SDM 27.2.1.1: the first entry must fail, as a control. */
			u32 r = l2_run(SNIP(fzs_poke), false);
			if (r != VT_FAIL_VALID(VMXERR_ENTRY_INVALID_CONTROL))
				bad("VMLAUNCH with a bitmap address unaligned or beyond MAXPHYADDR",
				    vt_rd(IO_BITMAP_A), vt_rd(MSR_BITMAP), r, "VMfailValid(7)");
			break;
		}
		switch (fz_below(f, 9)) {
		case 0: case 1: case 2: op_io(); break;
		case 3: case 4: op_msr(); break;
		case 5: case 6: op_vmcs(); break;
		case 7: op_poke(); break;
		default: l1_changes(); break;
		}
	}
	return l2_done(c);
}

static void init(struct fz *f)
{
	g.f = f;
	g.env = f->env;
	g.nv = f->env->nestvisor;
	g.maxpa = 1ULL << f->env->caps.maxphyaddr;
}

bool fz_bitmaps(struct fz *f, u32 scenarios, struct tg_check *c)
{
	init(f);
	for (u32 i = 0; i < scenarios; i++)
		if (!bm_scenario(12 + (u32)fz_below(f, 12), c))
			return false;
	return true;
}

/* ---- VMCS link pointers (SDM 27.3.1.5) ---- */

#define LINK_FIELD GUEST_ES_LIMIT
#define LINK_VALUE 0x5a5a1234u

enum link_kind { L_ONES, L_SHADOW, L_SCRATCH, L_JUNK, L_CURRENT, L_VMXON, L_WHERE, L_KINDS };

/* What VM entry must do with a region whose first dword is 'hdr'. */
static int link_predict(u32 hdr, bool shadowing)
{
	return (hdr & REVISION_MASK) == g.env->caps.revision && !(hdr >> 31) == !shadowing;
}

static void link_trial(void)
{
	struct fz *f = g.f;
	struct vt_env *env = g.env;
	bool shadowing = fz_below(f, 4) != 0;
	u32 *shadow_hdr = (u32 *)vt_page(env, FZ_PG_SHADOW), saved_hdr = *shadow_hdr;
	enum link_kind kind = (enum link_kind)fz_below(f, L_KINDS);
	enum where w = W_OURS;
	int pred = 0; /* 1: VM entry works, 0: fails with qualification 4, -1: either */
	u32 *hdr = NULL;
	u64 link;
	struct fz_l1_state before, after;

	vt_vmwrite(SECONDARY_VM_EXEC_CONTROL, shadowing ? SECONDARY_VMCS_SHADOWING : 0);
	switch (kind) {
	case L_ONES:
		link = ~0ULL;
		pred = 1;
		break;
	case L_SHADOW:
		/* L1 may rewrite the header of a clear VMCS (SDM 25.11.3). */
		if (fz_below(f, 4) == 0)
			*shadow_hdr = fz_below(f, 2) ? (u32)fz_rand(f) :
				      saved_hdr ^ (u32)BIT(fz_below(f, 32));
		hdr = shadow_hdr;
		link = vt_pa(env, FZ_PG_SHADOW);
		break;
	case L_SCRATCH: /* ordinary VMCS regions of the instruction fuzz */
		link = vt_pa(env, VT_PG_SCRATCH + (int)fz_below(f, FZ_GOOD_PAGES));
		hdr = (u32 *)link;
		break;
	case L_JUNK: {
		u32 *junk = (u32 *)vt_page(env, FZ_PG_JUNK), r = env->caps.revision;
		u32 choice[4] = { (u32)fz_rand(f), r, r | (u32)SHADOW_INDICATOR, (u32)fz_rand(f) | r };
		junk[0] = choice[fz_below(f, 4)];
		hdr = junk;
		link = (u64)junk;
		break;
	}
	case L_CURRENT:
		link = g.vmcs;
		break;
	case L_VMXON:
		/* The SDM leaves L1's reading of its VMXON region undefined;
		 * nestvisor does not use L1's page. */
		link = vt_pa(env, VT_PG_VMXON);
		hdr = (u32 *)link;
		pred = g.nv ? link_predict(*hdr, shadowing) : -1;
		hdr = NULL;
		break;
	default:
		w = (enum where)(W_NORAM + fz_below(f, W_KINDS - W_NORAM));
		link = rand_where(&w, vt_pa(env, FZ_PG_SHADOW));
		pred = where_absent(w) && !g.nv ? -1 : 0;
		break;
	}
	if (hdr)
		pred = link_predict(*hdr, shadowing);
	vt_vmwrite(VMCS_LINK_POINTER, link);
	fz_l1_state(&before);
	vmx_operands(LINK_FIELD, SENTINEL);
	u32 r = l2_run(SNIP(fzs_vmread_reg), true);
	fz_l1_state(&after);
	bool rewritten = *shadow_hdr != saved_hdr;
	*shadow_hdr = saved_hdr;

	bool failed = r == (EXITED | ENTRY_FAILED | EXIT_REASON_ENTRY_FAIL_GUEST_STATE) &&
		      vt_rd(EXIT_QUALIFICATION) == QUAL_LINK_POINTER;
	/* Entered: L2's VMREAD exits without shadowing, fails without a link
	 * pointer, else reads the shadow VMCS (L1's value in ours). */
	bool entered = !shadowing ? exit_ok(r, EXIT_REASON_VMREAD, SNIP(fzs_vmread_reg), 0) :
		link == ~0ULL ? r == VT_FAIL_INVALID :
		r == VT_OK && (kind != L_SHADOW || rewritten || g.regs.r8 == LINK_VALUE);
	if (!fz_same_l1(&before, &after))
		bad("VM entry with a VMCS link pointer: L1's state changed", link, shadowing, r,
		    "L1's CR0/CR3/CR4/EFER/GDTR/IDTR/TR as they were");
	else if (!(failed && pred != 1) && !(entered && pred != 0))
		bad("VM entry with a VMCS link pointer", link, shadowing, r,
		    pred == 1 ? (shadowing ? (link == ~0ULL ? "VMfailInvalid in L2" :
					      "VMsucceed in L2 (the shadow's value)") :
				 "VMREAD exit 23") :
		    pred == 0 ? "VM-entry failure 33, qualification 4" : "either");
}

bool fz_link_pointers(struct fz *f, u32 trials, struct tg_check *c)
{
	struct vt_env *env = f->env;
	u64 shadow = vt_pa(env, FZ_PG_SHADOW);

	init(f);
	/* The shadow VMCS: LINK_FIELD written by L1, then clear. */
	vt_init_region(env, FZ_PG_SHADOW);
	*(u32 *)vt_page(env, FZ_PG_SHADOW) |= SHADOW_INDICATOR;
	if (!vt_expect_res(c, "VMCLEAR of the shadow VMCS", vt_vmclear(shadow), VT_OK) ||
	    !vt_expect_res(c, "VMPTRLD of the shadow VMCS", vt_vmptrld(shadow), VT_OK) ||
	    !vt_expect_res(c, "VMWRITE of the shadow VMCS", vt_vmwrite(LINK_FIELD, LINK_VALUE), VT_OK) ||
	    !vt_expect_res(c, "VMCLEAR of the shadow VMCS", vt_vmclear(shadow), VT_OK))
		return false;
	f->current = ~0ULL;
	SetMem(vt_page(env, FZ_PG_VMREAD_BM), PAGE_SIZE, 0);
	SetMem(vt_page(env, FZ_PG_VMWRITE_BM), PAGE_SIZE, 0);
	if (!l2_fresh(VT_PG_VMCS_B, 0, SECONDARY_VMCS_SHADOWING, 0, 0, c) ||
	    !tg_expect(c, vt_wr(VMREAD_BITMAP, vt_pa(env, FZ_PG_VMREAD_BM)) &&
		       vt_wr(VMWRITE_BITMAP, vt_pa(env, FZ_PG_VMWRITE_BM)),
		       "VMWRITE of the VMREAD/VMWRITE bitmap addresses"))
		return false;
	for (u32 i = 0; i < trials; i++)
		link_trial();
	return l2_done(c);
}

/* ---- A shadow VMCS with random contents (SDM 25.10, 31.3) ---- */

#define MAX_KNOWN 64
static struct {
	u64 val[MAX_KNOWN], known[MAX_KNOWN]; /* by fz_known_fields index: bits known */
	bool any;                             /* IA32_VMX_MISC[29] */
	bool timer;
	u64 link;
} sm;

static int known_index(u64 enc)
{
	for (u32 i = 0; i < fz_nknown; i++)
		if (fz_known_fields[i] == (enc & ~1ULL))
			return (int)i;
	return -1;
}

static u32 enc_width(u64 enc)
{
	return (u32)(enc >> 13 & 3);
}

static u64 width_mask(u64 enc)
{
	return enc_width(enc) == WIDTH_16 ? 0xffffULL : enc_width(enc) == WIDTH_32 ? 0xffffffffULL : ~0ULL;
}

static bool read_only(u64 enc)
{
	return (enc >> 10 & 3) == TYPE_READ_ONLY;
}

/* A VMWRITE of 'enc' (a supported field) with 'v' succeeded. */
static void model_write(u64 enc, u64 v)
{
	int i = known_index(enc);

	if (i < 0)
		return;
	if (read_only(enc)) {
		sm.known[i] = 0; /* not followed */
	} else if (enc & 1) { /* "high": bits 63:32 (SDM 25.11.2) */
		sm.val[i] = (sm.val[i] & 0xffffffffULL) | v << 32;
		sm.known[i] |= 0xffffffff00000000ULL;
	} else {
		sm.val[i] = v & width_mask(enc);
		sm.known[i] = ~0ULL;
	}
}

/* A VMREAD of 'enc' gave 'got': zero-extended, the bits the model knows.
 * Access-rights fields: only the bits a CPU stores (KVM strips the rest). */
static bool model_matches(u64 enc, u64 got)
{
	int i = known_index(enc);
	u64 want, mask;

	if (i < 0)
		return true;
	if (enc & 1) {
		want = sm.val[i] >> 32;
		mask = sm.known[i] >> 32;
		if (got >> 32)
			return false;
	} else {
		want = sm.val[i];
		mask = sm.known[i];
		if (got & ~width_mask(enc))
			return false;
	}
	if ((enc & ~1ULL) >= GUEST_ES_AR_BYTES && (enc & ~1ULL) <= GUEST_TR_AR_BYTES)
		mask &= AR_STORED;
	return ((got ^ want) & mask) == 0;
}

static bool field_known(u64 enc, int verdict)
{
	return verdict == 0 || (verdict == 1 && known_index(enc) >= 0 &&
				(!(enc & 1) || enc_width(enc) == WIDTH_64));
}

/* L1 with the shadow VMCS current: random VMWRITEs, VMREADs checked. */
static void l1_shadow_ops(u32 n)
{
	struct fz *f = g.f;

	for (u32 k = 0; k < n; k++, f->ops++) {
		u64 enc = fz_known_fields[fz_below(f, fz_nknown)], v = fz_rand(f), got = 0;
		if (enc_width(enc) == WIDTH_64 && fz_below(f, 3) == 0)
			enc |= 1;
		if (fz_below(f, 3)) {
			u32 r = fz_below(f, 2) ? vt_vmwrite(enc, v) : vt_vmwrite_mem(enc, &v);
			u32 want = read_only(enc) && !sm.any ?
				VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY) : VT_OK;
			if (r != want)
				fz_violation(f, "L1 VMWRITE (shadow VMCS)", enc, v, r, vt_res_name(want));
			if (r == VT_OK)
				model_write(enc, v);
		} else {
			u32 r = fz_below(f, 2) ? vt_vmread(enc, &got) : vt_vmread_mem(enc, &got);
			if (r != VT_OK)
				fz_violation(f, "L1 VMREAD (shadow VMCS)", enc, 0, r, "VMsucceed");
			else if (!model_matches(enc, got))
				fz_violation_text(f, "L1 VMREAD (shadow VMCS): value", enc, got,
						  "another value", "the last value written");
		}
	}
}

/* L1 makes the shadow VMCS current, works on it, goes back to L2's VMCS
 * (with or without VMCLEAR of the shadow first). */
static void l1_visit_shadow(u32 n)
{
	u64 shadow = vt_pa(g.env, FZ_PG_SHADOW);
	u32 r = vt_vmptrld(shadow);

	if (r != VT_OK) {
		fz_violation(g.f, "VMPTRLD of the shadow VMCS", shadow, 0, r, "VMsucceed");
		return;
	}
	l1_shadow_ops(n);
	if (fz_below(g.f, 2) && (r = vt_vmclear(shadow)) != VT_OK)
		fz_violation(g.f, "VMCLEAR of the shadow VMCS", shadow, 0, r, "VMsucceed");
	if ((r = vt_vmptrld(g.vmcs)) != VT_OK)
		fz_violation(g.f, "VMPTRLD of L2's VMCS", g.vmcs, 0, r, "VMsucceed");
}

/* L1 sets or clears the bitmap bits of a field L2 may use. */
static void flip_bitmap_bit(void)
{
	struct fz *f = g.f;
	u8 *p = vt_page(g.env, fz_below(f, 2) ? FZ_PG_VMREAD_BM : FZ_PG_VMWRITE_BM);
	u64 bit = fz_below(f, 2) ? fz_known_fields[fz_below(f, fz_nknown)] | fz_below(f, 2) :
		  fz_below(f, 1u << BITMAP_BITS);

	p[bit / 8] ^= (u8)(1u << (bit % 8));
}

static void l2_shadow_op(void)
{
	struct fz *f = g.f;
	bool write = fz_below(f, 2), mem = fz_below(f, 2);
	int verdict;
	u64 enc = fz_rand_field(f, &verdict), v = fz_rand(f);
	struct snip s = vmx_snip(write, mem);
	u8 *bmap = vt_page(g.env, write ? FZ_PG_VMWRITE_BM : FZ_PG_VMREAD_BM);
	bool exits = (enc >> BITMAP_BITS) || (bmap[(enc & 0x7fff) / 8] >> (enc % 8) & 1);
	bool known = field_known(enc, verdict), ro_fails = read_only(enc) && !sm.any;
	volatile u64 *operand;

	vmx_operands(enc, write ? v : SENTINEL);
	operand = (volatile u64 *)g.regs.rsi;
	u32 r = l2_run(s, true), want;
	u64 got = mem ? *operand : g.regs.r8;

	if (sm.timer && r == (EXITED | EXIT_REASON_PREEMPTION_TIMER)) {
		/* The timer fired: before the instruction, or after it (its
		 * effect then not followed). */
		if (write && g.rip > (u64)s.at && known_index(enc) >= 0)
			sm.known[known_index(enc)] = 0;
		return;
	}
	if (exits) {
		if (!exit_ok(r, write ? EXIT_REASON_VMWRITE : EXIT_REASON_VMREAD, s, 0) ||
		    (!write && got != SENTINEL))
			bad(write ? "L2 VMWRITE (bitmap bit set)" : "L2 VMREAD (bitmap bit set)",
			    enc, v, r, "exit 23/25 at the instruction, nothing stored");
		return;
	}
	if (sm.link == ~0ULL)
		want = VT_FAIL_INVALID;
	else if (verdict == 2)
		want = VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD);
	else if (known)
		want = write && ro_fails ? VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY) : VT_OK;
	else { /* a random shape: supported or not */
		want = r == VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD) ? r :
		       write && ro_fails ? VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY) : VT_OK;
	}
	if (r != want) {
		bad(write ? "L2 VMWRITE" : "L2 VMREAD", enc, sm.link, r, vt_res_name(want));
		return;
	}
	if (write && r == VT_OK)
		model_write(enc, v);
	if (!write && r == VT_OK && known && !model_matches(enc, got))
		fz_violation_text(f, "L2 VMREAD: value", enc, got, "another value",
				  "what L1 or L2 last wrote");
	if (!write && r != VT_OK && got != SENTINEL)
		bad("L2 VMREAD that failed stored", enc, got, r, "nothing stored");
}

static bool shadow_scenario(u32 ops, struct tg_check *c)
{
	struct fz *f = g.f;
	struct vt_env *env = g.env;
	u64 shadow = vt_pa(env, FZ_PG_SHADOW);
	bool timer = (env->caps.pin1 & PIN_BASED_VMX_PREEMPTION_TIMER) && fz_below(f, 4) == 0;

	SetMem(&sm, sizeof(sm), 0);
	sm.any = env->caps.misc & VMX_MISC_VMWRITE_ANY_FIELD;
	sm.link = fz_below(f, 8) ? shadow : ~0ULL;
	if (!l2_fresh(VT_PG_VMCS_A, 0, SECONDARY_VMCS_SHADOWING,
		      timer ? PIN_BASED_VMX_PREEMPTION_TIMER : 0, 0, c))
		return false;
	sm.timer = vt_rd(PIN_BASED_VM_EXEC_CONTROL) & PIN_BASED_VMX_PREEMPTION_TIMER;
	if (sm.timer)
		vt_vmwrite(VMX_PREEMPTION_TIMER_VALUE, (1u << (8 + fz_below(f, 10))) + fz_below(f, 256));
	for (int i = 0; i < 2; i++) {
		u8 *p = vt_page(env, i ? FZ_PG_VMWRITE_BM : FZ_PG_VMREAD_BM);
		SetMem(p, PAGE_SIZE, 0);
		for (u32 k = 0; k < fz_nknown; k++)
			if (fz_below(f, 4) == 0)
				p[fz_known_fields[k] / 8] |= (u8)(1u << (fz_known_fields[k] % 8));
	}
	if (!tg_expect(c, vt_wr(VMREAD_BITMAP, vt_pa(env, FZ_PG_VMREAD_BM)) &&
		       vt_wr(VMWRITE_BITMAP, vt_pa(env, FZ_PG_VMWRITE_BM)) &&
		       vt_wr(VMCS_LINK_POINTER, sm.link), "VMWRITE of the bitmaps or link pointer"))
		return false;
	/* The shadow VMCS: a clear region with bit 31, L1's random VMWRITEs. */
	vt_init_region(env, FZ_PG_SHADOW);
	*(u32 *)vt_page(env, FZ_PG_SHADOW) |= SHADOW_INDICATOR;
	vt_vmclear(shadow);
	l1_visit_shadow(16 + (u32)fz_below(f, 16));

	for (u32 n = 0; n < ops; n++) {
		switch (fz_below(f, 8)) {
		case 0: flip_bitmap_bit(); break;
		case 1: l1_visit_shadow(1 + (u32)fz_below(f, 6)); break;
		default: l2_shadow_op(); break;
		}
	}
	/* What L2 wrote, L1 reads (SDM 25.10: the same VMCS). */
	if (vt_vmptrld(shadow) == VT_OK) {
		for (u32 i = 0; i < fz_nknown; i++) {
			u64 enc = fz_known_fields[i], got = 0;
			if (!sm.known[i] || vt_vmread(enc, &got) != VT_OK || model_matches(enc, got))
				continue;
			fz_violation_text(f, "L1 VMREAD after L2's VMWRITEs", enc, got, "another value",
					  "what L1 or L2 last wrote");
		}
	}
	vt_vmclear(shadow);
	f->current = ~0ULL;
	return l2_done(c);
}

bool fz_shadow_vmcs(struct fz *f, u32 scenarios, struct tg_check *c)
{
	init(f);
	if (!tg_expect(c, fz_nknown <= MAX_KNOWN, "more than %u known fields", MAX_KNOWN))
		return false;
	for (u32 i = 0; i < scenarios; i++)
		if (!shadow_scenario(16 + (u32)fz_below(f, 16), c))
			return false;
	return true;
}

/* ---- The VMX-preemption timer (SDM 26.5.1, 27.7.4, 28.3.4) ---- */

static u32 rand_timer(void)
{
	struct fz *f = g.f;

	switch (fz_below(f, 8)) {
	case 0: return 0;
	case 1: case 2: case 3: return 1 + (u32)fz_below(f, 1u << 12);
	case 4: case 5: return (u32)fz_below(f, 1u << 17);
	default: return (u32)fz_rand(f);
	}
}

static void timer_run(u32 rate)
{
	struct fz *f = g.f;
	const struct vt_caps *k = &g.env->caps;
	bool save = (k->exit1 & VM_EXIT_SAVE_PREEMPTION_TIMER) && fz_below(f, 2);
	bool activate = !save || fz_below(f, 16);
	u32 v = rand_timer();
	u64 loops = 1 + fz_below(f, 1u << 16), ticks = (u64)v << rate;
	struct snip s = { vt_l2_spin, vt_l2_spin, vt_l2_spin_cpuid };

	vt_vmwrite(PIN_BASED_VM_EXEC_CONTROL, vt_adjust(activate ? PIN_BASED_VMX_PREEMPTION_TIMER : 0,
						       k->pin0, k->pin1));
	vt_vmwrite(VM_EXIT_CONTROLS, vt_adjust(VM_EXIT_HOST_ADDR_SPACE_SIZE |
					       (save ? VM_EXIT_SAVE_PREEMPTION_TIMER : 0),
					       k->exit0, k->exit1));
	vt_vmwrite(VMX_PREEMPTION_TIMER_VALUE, v);
	g.regs.rcx = loops;
	u32 r = l2_run(s, false);
	if (!activate) {
		/* SDM 27.2.1.2: "save" requires "activate". */
		if (r != VT_FAIL_VALID(VMXERR_ENTRY_INVALID_CONTROL))
			bad("VM entry: save timer without activate", v, loops, r, "VMfailValid(7)");
		return;
	}
	/* Expiry within v << rate ticks (the first count within 2^rate); the
	 * loop takes at least 'loops' ticks, at most a few per iteration. */
	bool must_fire = ticks + (1ULL << rate) < loops;
	bool never = ticks > 4 * loops + TIMER_SLACK;
	u64 left = vt_rd(VMX_PREEMPTION_TIMER_VALUE);
	/* Bochs departure (bare only): entered with a timer of 0, Bochs 2.7
	 * saves its previous count where the SDM has 0 (docs/testing-nested.md). */
	bool stale_ok = !g.nv && v == 0;
	bool fired = r == (EXITED | EXIT_REASON_PREEMPTION_TIMER) && g.rip >= (u64)vt_l2_spin &&
		     g.rip <= (u64)vt_l2_spin_cpuid && g.regs.rcx <= loops &&
		     (!save || left == 0 || stale_ok) && (v || (g.rip == (u64)vt_l2_spin && g.regs.rcx == loops));
	bool ended = r == (EXITED | EXIT_REASON_CPUID) && g.rip == (u64)vt_l2_spin_cpuid &&
		     g.regs.rcx == 0 && (save ? left <= v : left == v);
	if (!(fired && !never) && !(ended && !must_fire)) {
		tg_printf("vmxfuzz: note: timer %x loops %lx: RIP %lx RCX %lx, saved %lx\n", v,
			  loops, g.rip, g.regs.rcx, left);
		bad(save ? "L2 under the timer (save)" : "L2 under the timer", v, loops, r,
		    must_fire ? "exit 52 in the loop" : never ? "the loop's CPUID exit" :
		    "exit 52 or the CPUID exit");
		return;
	}
	/* A saved 0 at VMRESUME: exit 52 before L2's next instruction. */
	if (fired && save && left == 0 && fz_below(f, 2)) {
		u64 rip = g.rip, rcx = g.regs.rcx;
		f->ops++;
		r = vt_enter(&g.regs, 1);
		if (r == VT_ENTERED)
			g.rip = vt_rd(GUEST_RIP);
		if (r != VT_ENTERED || vt_rd(VM_EXIT_REASON) != EXIT_REASON_PREEMPTION_TIMER ||
		    g.rip != rip || g.regs.rcx != rcx)
			bad("VMRESUME with a saved timer of 0", rip, rcx,
			    r == VT_ENTERED ? EXITED | (u32)vt_rd(VM_EXIT_REASON) : r,
			    "exit 52 at the same RIP");
	}
}

bool fz_timer(struct fz *f, u32 runs, struct tg_check *c)
{
	struct vt_env *env = f->env;

	init(f);
	if (!(env->caps.pin1 & PIN_BASED_VMX_PREEMPTION_TIMER))
		return tg_expect(c, false, "the pin-based controls do not offer the timer");
	if (!l2_fresh(VT_PG_VMCS_C, 0, 0, PIN_BASED_VMX_PREEMPTION_TIMER, 0, c))
		return false;
	for (u32 i = 0; i < runs; i++)
		timer_run((u32)env->caps.misc & MISC_RATE_MASK);
	return l2_done(c);
}

/* ---- A deterministic check: I/O wrapping past FFFFH ---- */

/* SDM 26.1.3: with "use I/O bitmaps" an access to ports FFFFH and 0000H
 * exits whatever the bitmaps say; with neither I/O control it does not.
 * The fuzz found nestvisor stopping L1 there (its own I/O bitmaps made
 * the CPU exit and it had nothing to do with the exit). */
bool fz_io_wrap(struct fz *f, struct tg_check *c)
{
	static const u32 procs[3] = { 0, CPU_BASED_USE_IO_BITMAPS, CPU_BASED_UNCOND_IO_EXITING };
	u16 ax;
	u32 eax;

	init(f);
	/* L1 itself: IN AX from FFFFH, IN EAX from FFFEH. */
	asm volatile("inw %1, %0" : "=a"(ax) : "Nd"((u16)0xffff));
	asm volatile("inl %1, %0" : "=a"(eax) : "Nd"((u16)0xfffe));
	(void)ax;
	(void)eax;
	for (u32 i = 0; i < ARRAY_SIZE(procs); i++) {
		if (!l2_fresh(VT_PG_VMCS_C, procs[i], 0, 0, 0, c))
			return false;
		SetMem(vt_page(g.env, VT_PG_IO_A), PAGE_SIZE, 0);
		SetMem(vt_page(g.env, VT_PG_IO_B), PAGE_SIZE, 0);
		bool exits = procs[i] != 0;
		for (u32 size = 2; size <= 4; size += 2) {
			struct snip s = size == 2 ? SNIP(fzs_in16) : SNIP(fzs_in32);
			u16 port = (u16)(0x10000 - size / 2);
			g.regs.rdx = port;
			u32 r = l2_run(s, false);
			tg_expect(c, exits ? exit_ok(r, EXIT_REASON_IO_INSTRUCTION, s,
						     (size - 1) | IOQ_IN | (u64)port << IOQ_PORT_SHIFT) :
				  r == DONE, "L2's %u-byte IN from %x with %s: %s, expected %s", size,
				  port, i == 0 ? "no I/O exiting" : i == 1 ? "zero I/O bitmaps" :
				  "unconditional I/O exiting", out_name(r),
				  exits ? "exit 30 at the instruction" : "no exit");
		}
		if (!l2_done(c))
			return false;
	}
	return true;
}
