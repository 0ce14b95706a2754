/* vmxfuzz: a running L2 under random I/O, MSR, VMREAD and VMWRITE
 * bitmaps at random addresses (ours, unaligned, beyond MAXPHYADDR, no RAM,
 * the monitor's own memory, the local APIC), changed by L1 between exits
 * and by L2 under its feet. Every outcome is checked against what the SDM
 * allows:
 *  - VM entry: an unaligned or too-wide bitmap address of a control in use
 *    is VMfailValid(7) (27.2.1.1);
 *  - L2's IN/OUT, RDMSR/WRMSR, VMREAD/VMWRITE exit exactly when the bitmap
 *    bit (as it is in memory then), the encoding's bits 63:15, or a port
 *    range wrapping past FFFFH say so (26.1.3), with the exit's RIP,
 *    length and qualification (28.2.1);
 *  - where they do not exit, VMREAD/VMWRITE give VMfailInvalid for a link
 *    pointer of all ones, else VMsucceed, VMfailValid(12) or (13) (31.3).
 * Memory that is not L1's (no RAM, the monitor's, MMIO) has no contents the
 * SDM defines. Under nestvisor it reads as all ones (docs/nested.md): every
 * port, MSR and field of a bitmap there exits; had the monitor read its own
 * memory instead, L2 would see its contents. On bare Bochs any outcome is
 * allowed there. Also the deterministic I/O wrap past FFFFH (26.1.3). */
#include <efi.h>
#include <efilib.h>
#include "vmxfuzz_l2.h"

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

/* An exception exit: #GP (vector 13) at the instruction. */
static bool gp_exit(u32 got, struct snip s)
{
	u64 info = vt_rd(VM_EXIT_INTR_INFO);
	return got == (EXITED | EXIT_REASON_EXCEPTION_NMI) && fz_l2.rip == (u64)s.at &&
	       (info & (INTR_INFO_VALID | 0x7ff)) == (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | EXC_GP);
}

static void fill_page(u8 *p)
{
	struct fz *f = fz_l2.f;
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
	return fz_l2.nv ? 1 : -1;
}

static int or3(int a, int b)
{
	return a == 1 || b == 1 ? 1 : a == -1 || b == -1 ? -1 : 0;
}

/* One bitmap's address: our page (its own or another bitmap's), or any
 * other place ('valid': none that fails VM entry). */
static void bm_place(int i, bool valid)
{
	struct fz *f = fz_l2.f;
	enum where k = fz_below(f, 2) ? W_OURS : (enum where)fz_below(f, valid ? W_UNALIGNED : W_KINDS);
	int own = fz_below(f, 4) ? i : (int)fz_below(f, BM_COUNT);
	u64 ours = vt_pa(fz_l2.env, bm_page[own]);
	u64 a = fz_rand_where(&k, ours);

	bm.kind[i] = k;
	bm.page[i] = k == W_OURS ? vt_page(fz_l2.env, bm_page[own]) : NULL;
	vt_vmwrite(bm_field[i], a);
}

/* Ports the fuzz may touch when no exit happens: none of Bochs's or
 * OVMF's devices (legacy ports below 1000H, Bochs's shutdown and iodebug
 * ports 8900H/8A00H, OVMF's ACPI PM block at B000H, PCI BARs from C000H). */
static u16 rand_port(u32 size, bool *in_only)
{
	struct fz *f = fz_l2.f;

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
	struct fz *f = fz_l2.f;
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

	fz_l2.regs.rdx = port;
	fz_l2.regs.rax = fz_rand(f);
	u32 r = fz_l2_run(s, false);
	bool exited = fz_exit_ok(r, EXIT_REASON_IO_INSTRUCTION, s, qual);
	if (!(exited && pred != 0) && !(r == DONE && pred != 1))
		fz_l2_bad(in ? "L2 IN" : "L2 OUT", port, size, r, pred == 1 ? "exit 30 (bitmap bit set)" :
			  pred == 0 ? "no exit (bitmap bits clear)" : "exit 30 or none");
}

/* MSRs L2 may write when no exit happens: loaded from the host-state area
 * at every VM exit (SYSENTER, SDM 28.5.1), or written with L1's value. */
static u32 safe_wrmsr(u64 *val)
{
	struct fz *f = fz_l2.f;

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
	struct fz *f = fz_l2.f;

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
	struct fz *f = fz_l2.f;
	bool write = fz_below(f, 2);
	u32 msr = rand_msr();
	u64 val = fz_rand(f);
	int pred = msr_predict(msr, write);

	if (write && pred != 1) {
		msr = safe_wrmsr(&val);
		pred = msr_predict(msr, write);
	}
	struct snip s = write ? SNIP(fzs_wrmsr) : SNIP(fzs_rdmsr);
	fz_l2.regs.rcx = msr;
	fz_l2.regs.rax = (u32)val;
	fz_l2.regs.rdx = val >> 32;
	u32 r = fz_l2_run(s, false);
	bool exited = fz_exit_ok(r, write ? EXIT_REASON_WRMSR : EXIT_REASON_RDMSR, s, ~0ULL) &&
		      (u32)fz_l2.regs.rcx == msr;
	/* Without an exit to L1 the CPU (or the monitor) executes it: done,
	 * or #GP for an MSR that is not there. */
	if (!(exited && pred != 0) && !((r == DONE || gp_exit(r, s)) && pred != 1))
		fz_l2_bad(write ? "L2 WRMSR" : "L2 RDMSR", msr, val, r, pred == 1 ? "exit 31/32" :
			  pred == 0 ? "no exit to L1" : "exit 31/32 or none");
}

/* SDM 26.1.3 "VMREAD", "VMWRITE". */
static int vmcs_predict(u64 enc, bool write)
{
	if (!bm.shadowing || enc >> BITMAP_BITS)
		return 1;
	return bm_bit(write ? BM_VMWRITE : BM_VMREAD, enc);
}

static void op_vmcs(void)
{
	struct fz *f = fz_l2.f;
	bool write = fz_below(f, 2), mem = fz_below(f, 2);
	u64 enc = (fz_below(f, 2) ? fz_known_fields[fz_below(f, fz_nknown)] :
		   fz_below(f, 1u << BITMAP_BITS)) |
		  (fz_below(f, 6) == 0 ? BIT(BITMAP_BITS + fz_below(f, 64 - BITMAP_BITS)) : 0);
	int pred = vmcs_predict(enc, write);
	struct snip s = fz_vmx_snip(write, mem);

	fz_vmx_operands(enc, SENTINEL);
	u32 r = fz_l2_run(s, true);
	bool exited = fz_exit_ok(r, write ? EXIT_REASON_VMWRITE : EXIT_REASON_VMREAD, s, ~0ULL);
	bool done = bm.link == ~0ULL ? r == VT_FAIL_INVALID :
		r == VT_OK || r == VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD) ||
		r == VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY);
	if (!(exited && pred != 0) && !(done && pred != 1))
		fz_l2_bad(write ? "L2 VMWRITE" : "L2 VMREAD", enc, bm.link, r,
			  pred == 1 ? "exit 23/25" : bm.link == ~0ULL ? "VMfailInvalid" :
			  "VMsucceed, VMfailValid(12) or (13)");
}

/* L2 writes a byte of one of our bitmap pages (while they are in use:
 * SDM 25.11.4 calls that unpredictable; nestvisor decides each access by
 * the page as it is then, docs/nested.md: that is what is checked under
 * nestvisor, and Bochs reads its bitmaps at each access too). */
static void op_poke(void)
{
	struct fz *f = fz_l2.f;
	int i = (int)fz_below(f, BM_COUNT);

	if (!bm.page[i])
		return;
	fz_l2.regs.rdi = (u64)bm.page[i] + fz_below(f, PAGE_SIZE);
	fz_l2.regs.rax = fz_rand(f);
	u32 r = fz_l2_run(SNIP(fzs_poke), false);
	if (r != DONE)
		fz_l2_bad("L2 writes a bitmap", fz_l2.regs.rdi, fz_l2.regs.rax & 0xff, r, "completed");
}

/* L1, between exits: new contents, a new (valid) address for a bitmap. */
static void l1_changes(void)
{
	struct fz *f = fz_l2.f;
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
	struct fz *f = fz_l2.f;
	const struct vt_caps *k = &fz_l2.env->caps;
	u32 proc = (u32)fz_below(f, 1u << 3);
	bool shadow_offered = k->proc2_1 & SECONDARY_VMCS_SHADOWING;
	bool fail7 = false;

	if (!fz_l2_fresh(VT_PG_VMCS_C,
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
		fill_page(vt_page(fz_l2.env, bm_page[i]));
		bm_place(i, fz_below(f, 4) != 0);
		bool used = i <= BM_IO_B ? bm.io : i == BM_MSR ? bm.msr : bm.shadowing;
		fail7 |= used && fz_where_bad(bm.kind[i]);
	}
	/* A valid shadow VMCS (its revision with bit 31), or none. */
	bm.link = fz_below(f, 4) ? vt_pa(fz_l2.env, FZ_PG_SHADOW) : ~0ULL;
	vt_init_region(fz_l2.env, FZ_PG_SHADOW);
	*(u32 *)vt_page(fz_l2.env, FZ_PG_SHADOW) |= bm.shadowing ? SHADOW_INDICATOR : 0;
	vt_vmclear(vt_pa(fz_l2.env, FZ_PG_SHADOW));
	vt_vmwrite(VMCS_LINK_POINTER, bm.link);

	for (u32 n = 0; n < ops; n++) {
		if (fail7) {
			/* SDM 27.2.1.1: the first entry must fail, as a control. */
			u32 r = fz_l2_run(SNIP(fzs_poke), false);
			if (r != VT_FAIL_VALID(VMXERR_ENTRY_INVALID_CONTROL))
				fz_l2_bad("VMLAUNCH with a bitmap address unaligned or beyond MAXPHYADDR",
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
	return fz_l2_done(c);
}

bool fz_bitmaps(struct fz *f, u32 scenarios, struct tg_check *c)
{
	fz_l2_init(f);
	for (u32 i = 0; i < scenarios; i++)
		if (!bm_scenario(12 + (u32)fz_below(f, 12), c))
			return false;
	return true;
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

	fz_l2_init(f);
	/* L1 itself: IN AX from FFFFH, IN EAX from FFFEH. */
	asm volatile("inw %1, %0" : "=a"(ax) : "Nd"((u16)0xffff));
	asm volatile("inl %1, %0" : "=a"(eax) : "Nd"((u16)0xfffe));
	(void)ax;
	(void)eax;
	for (u32 i = 0; i < ARRAY_SIZE(procs); i++) {
		if (!fz_l2_fresh(VT_PG_VMCS_C, procs[i], 0, 0, 0, c))
			return false;
		SetMem(vt_page(fz_l2.env, VT_PG_IO_A), PAGE_SIZE, 0);
		SetMem(vt_page(fz_l2.env, VT_PG_IO_B), PAGE_SIZE, 0);
		bool exits = procs[i] != 0;
		for (u32 size = 2; size <= 4; size += 2) {
			struct snip s = size == 2 ? SNIP(fzs_in16) : SNIP(fzs_in32);
			u16 port = (u16)(0x10000 - size / 2);
			fz_l2.regs.rdx = port;
			u32 r = fz_l2_run(s, false);
			tg_expect(c, exits ? fz_exit_ok(r, EXIT_REASON_IO_INSTRUCTION, s,
							(size - 1) | IOQ_IN | (u64)port << IOQ_PORT_SHIFT) :
				  r == DONE, "L2's %u-byte IN from %x with %s: %s, expected %s", size,
				  port, i == 0 ? "no I/O exiting" : i == 1 ? "zero I/O bitmaps" :
				  "unconditional I/O exiting", fz_out_name(r),
				  exits ? "exit 30 at the instruction" : "no exit");
		}
		if (!fz_l2_done(c))
			return false;
	}
	return true;
}
