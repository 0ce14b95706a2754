/* vmxtest: the bitmaps are read when they are used. The CPU decides an
 * I/O instruction, RDMSR or WRMSR by the bitmap as it is at that moment,
 * also when L2 itself has just changed it (SDM 26.1.3: "... the I/O
 * bitmaps ..." are consulted on execution): L1 changes a bit between VM
 * entries; L2 flips the bit of its port or MSR around its accesses, with
 * and without an EPT12, also through an EPT12 alias of the MSR bitmap;
 * L2's write through a read-only alias is an EPT violation for L1 (SDM
 * 29.3.3.2); one page serves as I/O bitmaps A and B and the MSR bitmap. */
#include <efi.h>
#include <efilib.h>
#include <ept.h>
#include "vmxtest_addr.h"

#define ALIAS_GPA 0xc0400000ULL /* below 4 GiB, no RAM: EPT12 maps the MSR bitmap */


/* L2's code, 64-bit, sharing L1's address space. Every exception exits
 * (the exception bitmap is all ones), so an instruction that should have
 * exited and faulted instead ends L2's run too. */
#define TOGGLE(name, insn) \
	".globl " name ", " name "_0, " name "_1, " name "_2, " name "_end\n" \
	".hidden " name ", " name "_0, " name "_1, " name "_2, " name "_end\n" \
	name ":\n" name "_0:\n\t" insn "\n\txorb %sil, (%rdi)\n" \
	name "_1:\n\t" insn "\n\txorb %sil, (%rdi)\n" \
	name "_2:\n\t" insn "\n" name "_end:\n\tvmcall\n\tjmp " name "_end\n"
#define LOOP(name, insn) \
	".globl " name ", " name "_call\n.hidden " name ", " name "_call\n" \
	name ":\n\t" insn "\n" name "_call:\n\tvmcall\n\tjmp " name "\n"
asm(".pushsection .text\n"
    /* L2 sets the read bit of MSR ECX (RDI/SIL); WRMSR (write bit clear)
     * and IN at DX (clear) do not exit, IN at R8 (set) and RDMSR do. */
    ".globl addr_l2_mixed, addr_l2_mixed_in, addr_l2_mixed_rd, addr_l2_mixed_end\n"
    ".hidden addr_l2_mixed, addr_l2_mixed_in, addr_l2_mixed_rd, addr_l2_mixed_end\n"
    "addr_l2_mixed:\n\txorb %sil, (%rdi)\n\twrmsr\n\tinb %dx, %al\n\tmovl %r8d, %edx\n"
    "addr_l2_mixed_in:\n\tinb %dx, %al\n"
    "addr_l2_mixed_rd:\n\trdmsr\n"
    "addr_l2_mixed_end:\n\tvmcall\n\tjmp addr_l2_mixed_end\n"
    /* One page as I/O bitmaps A and B and MSR bitmap: L2 sets the bit of
     * port DX, port R8 (DX + 8000H) and MSR ECX (= DX), then clears it. */
    ".globl addr_l2_shared, addr_l2_shared_a, addr_l2_shared_rd, addr_l2_shared_b,"
    " addr_l2_shared_end\n"
    ".hidden addr_l2_shared, addr_l2_shared_a, addr_l2_shared_rd, addr_l2_shared_b,"
    " addr_l2_shared_end\n"
    "addr_l2_shared:\n\txorb %sil, (%rdi)\n"
    "addr_l2_shared_a:\n\tinb %dx, %al\n"
    "addr_l2_shared_rd:\n\trdmsr\n\tmovl %edx, %r9d\n\tmovl %r8d, %edx\n"
    "addr_l2_shared_b:\n\tinb %dx, %al\n"
    "\txorb %sil, (%rdi)\n\tinb %dx, %al\n\tmovl %r9d, %edx\n\tinb %dx, %al\n"
    "addr_l2_shared_end:\n\tvmcall\n\tjmp addr_l2_shared_end\n"
    /* L2 flips a bitmap bit (RDI: the byte, SIL: the bit) around three
     * accesses: _0 and _2 see the bit as L1 left it, _1 the other way. */
    TOGGLE("addr_l2_toggle_in", "inb %dx, %al")
    TOGGLE("addr_l2_toggle_rdmsr", "rdmsr")
    TOGGLE("addr_l2_toggle_wrmsr", "wrmsr")
    /* One access, then VMCALL, again and again (L1 changes the bitmap). */
    LOOP("addr_l2_loop_in", "inb %dx, %al")
    LOOP("addr_l2_loop_wrmsr", "wrmsr")
    ".popsection\n");
extern const u8 addr_l2_mixed[], addr_l2_mixed_in[], addr_l2_mixed_rd[], addr_l2_mixed_end[],
	addr_l2_shared[], addr_l2_shared_a[], addr_l2_shared_rd[], addr_l2_shared_b[],
	addr_l2_shared_end[],
	addr_l2_toggle_in[], addr_l2_toggle_in_0[], addr_l2_toggle_in_1[],
	addr_l2_toggle_in_2[], addr_l2_toggle_in_end[],
	addr_l2_toggle_rdmsr[], addr_l2_toggle_rdmsr_0[], addr_l2_toggle_rdmsr_1[],
	addr_l2_toggle_rdmsr_2[], addr_l2_toggle_rdmsr_end[],
	addr_l2_toggle_wrmsr[], addr_l2_toggle_wrmsr_0[], addr_l2_toggle_wrmsr_1[],
	addr_l2_toggle_wrmsr_2[], addr_l2_toggle_wrmsr_end[],
	addr_l2_loop_in[], addr_l2_loop_in_call[], addr_l2_loop_wrmsr[],
	addr_l2_loop_wrmsr_call[];

/* ---- Bitmaps read when they are used ---- */

static void bit_set(u8 *bitmap, u32 n, bool on)
{
	if (on)
		bitmap[n / 8] |= (u8)(1u << (n % 8));
	else
		bitmap[n / 8] &= (u8)~(1u << (n % 8));
}

/* L1 changes the bitmap between VM entries: set, the access exits;
 * cleared, L2 goes on to its VMCALL, twice; set again, it exits. With
 * PROC2/EPTP, L2 runs on L1's EPT (an L0 that keeps its merged copy while
 * nobody writes L1's page must see L1's writes there too). */
static void l1_changes(struct vt_env *env, const char *name, const u8 *loop,
		       const u8 *call, u32 reason, u32 len, u8 *bitmap, u32 bit, u32 proc2, u64 eptp)
{
	struct tg_check c;
	u32 proc = reason == EXIT_REASON_IO_INSTRUCTION ? CPU_BASED_USE_IO_BITMAPS :
		   CPU_BASED_USE_MSR_BITMAPS;
	const struct step set[] = { { loop, reason, len, IO_QUAL(PORT_A, 1, IO_IN) } };
	const struct step clear[] = {
		{ call, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
		{ call, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
	};

	struct vt_l2 l2 = {
		.rip = (u64)loop,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = proc, .proc2 = proc2, .exc_bitmap = ~0u,
	};

	tg_begin(&c, name);
	bit_set(bitmap, bit, true);
	SetMem(&addr_regs, sizeof(addr_regs), 0);
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    (!proc2 || tg_expect(&c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER"))) {
		addr_regs.rdx = PORT_A;
		addr_regs.rcx = MSR_IA32_SYSENTER_CS; /* WRMSR 0 (its guest value) */
		if (addr_run_steps(&c, false, set, 1)) {
			bit_set(bitmap, bit, false);
			if (addr_run_steps(&c, true, clear, 2)) {
				bit_set(bitmap, bit, true);
				vt_wr(GUEST_RIP, (u64)loop);
				addr_run_steps(&c, true, set, 1);
			}
		}
	}
	bit_set(bitmap, bit, false);
	tg_end(&c);
}

/* The bitmaps in RAM (the vmxtest pages), one access at a time. */
struct toggle {
	const char *name;
	const u8 *code, *at[3], *end;
	u32 reason, len;
	u8 *bitmap;     /* as L1 sees it */
	u64 l2_bitmap;  /* where L2 writes it (an alias under EPT12) */
	u32 bit;        /* the port, or the MSR's bit in its quarter */
};

/* L2 flips the bit of its port or MSR around three accesses, starting
 * from the bit as L1 set it ('first'): _0 and _2 exit iff it was set,
 * _1 iff it was clear. */
static void l2_toggles(struct vt_env *env, const struct toggle *t, bool first, u32 proc2,
		       u64 eptp)
{
	char name[64];
	struct step s[4];
	u32 n = 0, proc = t->reason == EXIT_REASON_IO_INSTRUCTION ? CPU_BASED_USE_IO_BITMAPS :
		   CPU_BASED_USE_MSR_BITMAPS;
	struct tg_check c;

	for (int i = 0; i < 3; i++)
		if ((i == 1) != first)
			s[n++] = (struct step){ t->at[i], t->reason, t->len,
						IO_QUAL(PORT_B, 1, IO_IN) };
	s[n++] = (struct step){ t->end, EXIT_REASON_VMCALL, VMCALL_LEN, 0 };
	tg_snprintf(name, sizeof(name), "%s-%s", t->name, first ? "set-first" : "clear-first");
	tg_begin(&c, name);
	bit_set(t->bitmap, t->bit, first);
	struct vt_l2 l2 = {
		.rip = (u64)t->code,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = proc, .proc2 = proc2, .exc_bitmap = ~0u,
	};
	SetMem(&addr_regs, sizeof(addr_regs), 0);
	addr_regs.rdi = t->l2_bitmap + t->bit / 8;
	addr_regs.rsi = 1u << (t->bit % 8);
	addr_regs.rdx = PORT_B;
	addr_regs.rcx = t->reason == EXIT_REASON_RDMSR ? MSR_IA32_KERNEL_GS_BASE : MSR_IA32_SYSENTER_CS;
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    (!proc2 || tg_expect(&c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER")) &&
	    addr_run_steps(&c, false, s, n))
		vt_expect_eq(&c, "the bitmap byte after L2 flipped it twice",
			     t->bitmap[t->bit / 8], first ? 1u << (t->bit % 8) : 0);
	bit_set(t->bitmap, t->bit, false);
	tg_end(&c);
}

static void toggle_all(struct vt_env *env, const char *prefix, u32 proc2, u64 eptp, u64 alias)
{
	u8 *io_b = vt_page(env, VT_PG_IO_B), *msr = vt_page(env, VT_PG_MSR_BITMAP);
	u64 msr_l2 = alias ? alias : (u64)msr;
	char in[48], rd[48], wrm[48];

	tg_snprintf(in, sizeof(in), "%s-in", prefix);
	tg_snprintf(rd, sizeof(rd), "%s-rdmsr-high", prefix);
	tg_snprintf(wrm, sizeof(wrm), "%s-wrmsr-low", prefix);
	const struct toggle t[] = {
		{ in, addr_l2_toggle_in, { addr_l2_toggle_in_0, addr_l2_toggle_in_1,
		  addr_l2_toggle_in_2 }, addr_l2_toggle_in_end, EXIT_REASON_IO_INSTRUCTION, 1,
		  io_b, (u64)io_b, PORT_B - 0x8000 },
		{ rd, addr_l2_toggle_rdmsr, { addr_l2_toggle_rdmsr_0, addr_l2_toggle_rdmsr_1,
		  addr_l2_toggle_rdmsr_2 }, addr_l2_toggle_rdmsr_end, EXIT_REASON_RDMSR, 2,
		  msr + MSRB_READ_HIGH, msr_l2 + MSRB_READ_HIGH,
		  MSR_IA32_KERNEL_GS_BASE - MSR_HIGH_BASE },
		{ wrm, addr_l2_toggle_wrmsr, { addr_l2_toggle_wrmsr_0, addr_l2_toggle_wrmsr_1,
		  addr_l2_toggle_wrmsr_2 }, addr_l2_toggle_wrmsr_end, EXIT_REASON_WRMSR, 2,
		  msr + MSRB_WRITE_LOW, msr_l2 + MSRB_WRITE_LOW, MSR_IA32_SYSENTER_CS },
	};
	for (u32 i = alias ? 1 : 0; i < ARRAY_SIZE(t); i++) { /* the alias: MSR bitmap only */
		l2_toggles(env, &t[i], false, proc2, eptp);
		l2_toggles(env, &t[i], true, proc2, eptp);
	}
}

/* L2 sets an MSR bitmap bit; its I/O instructions and its WRMSR are
 * still decided by their own bitmaps (EPT12 'eptp' when 'proc2'). */
static void mixed(struct vt_env *env, const char *name, u32 proc2, u64 eptp)
{
	u8 *io_a = vt_page(env, VT_PG_IO_A), *msr = vt_page(env, VT_PG_MSR_BITMAP);
	const struct step s[] = {
		{ addr_l2_mixed_in, EXIT_REASON_IO_INSTRUCTION, 1, IO_QUAL(PORT_AB, 1, IO_IN) },
		{ addr_l2_mixed_rd, EXIT_REASON_RDMSR, 2, 0 },
		{ addr_l2_mixed_end, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
	};
	struct vt_l2 l2 = {
		.rip = (u64)addr_l2_mixed,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS,
		.proc2 = proc2, .exc_bitmap = ~0u,
	};
	struct tg_check c;

	tg_begin(&c, name);
	bit_set(io_a, PORT_AB, true);
	SetMem(&addr_regs, sizeof(addr_regs), 0);
	addr_regs.rdi = (u64)msr + MSR_IA32_SYSENTER_CS / 8;
	addr_regs.rsi = 1u << (MSR_IA32_SYSENTER_CS % 8);
	addr_regs.rcx = MSR_IA32_SYSENTER_CS;
	addr_regs.rdx = PORT_A;
	addr_regs.r8 = PORT_AB;
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    (!proc2 || tg_expect(&c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER")))
		addr_run_steps(&c, false, s, ARRAY_SIZE(s));
	bit_set(io_a, PORT_AB, false);
	bit_set(msr, MSR_IA32_SYSENTER_CS, false);
	tg_end(&c);
}

/* One page is I/O bitmap A, I/O bitmap B and the MSR bitmap: the same
 * bit stands for port P, port 8000H + P and the read of MSR P. */
static void shared_page(struct vt_env *env, const char *name, u32 proc2, u64 eptp)
{
	u8 *page = vt_page(env, VT_PG_IO_B);
	u64 pa = vt_pa(env, VT_PG_IO_B);
	const struct step s[] = {
		{ addr_l2_shared_a, EXIT_REASON_IO_INSTRUCTION, 1, IO_QUAL(PORT_A, 1, IO_IN) },
		{ addr_l2_shared_rd, EXIT_REASON_RDMSR, 2, 0 },
		{ addr_l2_shared_b, EXIT_REASON_IO_INSTRUCTION, 1,
		  IO_QUAL(PORT_A + 0x8000, 1, IO_IN) },
		{ addr_l2_shared_end, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
	};
	struct vt_l2 l2 = {
		.rip = (u64)addr_l2_shared,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS,
		.proc2 = proc2, .exc_bitmap = ~0u,
	};
	struct tg_check c;

	tg_begin(&c, name);
	SetMem(&addr_regs, sizeof(addr_regs), 0);
	addr_regs.rdi = pa + PORT_A / 8;
	addr_regs.rsi = 1u << (PORT_A % 8);
	addr_regs.rcx = PORT_A;
	addr_regs.rdx = PORT_A;
	addr_regs.r8 = PORT_A + 0x8000;
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    addr_wr(&c, IO_BITMAP_A, pa) && addr_wr(&c, IO_BITMAP_B, pa) && addr_wr(&c, MSR_BITMAP, pa) &&
	    (!proc2 || tg_expect(&c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER")) &&
	    addr_run_steps(&c, false, s, ARRAY_SIZE(s)))
		vt_expect_eq(&c, "the shared byte after L2", page[PORT_A / 8], 0);
	SetMem(page, PAGE_SIZE, 0);
	tg_end(&c);
}

/* ---- The same with L1 using EPT ---- */

static bool invept(u64 type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };
	u8 fail;

	asm volatile("invept %1, %2; setbe %0" : "=qm"(fail) : "m"(desc), "r"(type)
		     : "cc", "memory");
	return !fail;
}

/* EPT12: the first 4 GiB identity, RWX, WB, in 2-MiB pages, but the 2
 * MiB at ALIAS_GPA, whose first 4-KiB page is the MSR bitmap. */
static u64 ept_build(struct vt_env *env)
{
	u64 *pml4 = (u64 *)vt_page(env, PG_EPT_PML4), *pdpt = (u64 *)vt_page(env, PG_EPT_PDPT);
	u64 *pt = (u64 *)vt_page(env, PG_EPT_PT);
	const u64 wb = (u64)EPT_MT_WB << EPT_MT_SHIFT;

	SetMem(pml4, PAGE_SIZE, 0);
	SetMem(pdpt, PAGE_SIZE, 0);
	SetMem(pt, PAGE_SIZE, 0);
	pml4[0] = vt_pa(env, PG_EPT_PDPT) | EPT_RWX;
	for (u64 i = 0; i < 4; i++) {
		u64 *pd = (u64 *)vt_page(env, PG_EPT_PD + (int)i);
		pdpt[i] = vt_pa(env, PG_EPT_PD + (int)i) | EPT_RWX;
		for (u64 j = 0; j < EPT_ENTRIES; j++)
			pd[j] = (i << 30 | j << 21) | EPT_RWX | wb | EPT_LARGE;
	}
	pt[0] = vt_pa(env, VT_PG_MSR_BITMAP) | EPT_RWX | wb;
	((u64 *)vt_page(env, PG_EPT_PD + (int)(ALIAS_GPA >> 30)))[(ALIAS_GPA >> 21) & 511] =
		vt_pa(env, PG_EPT_PT) | EPT_RWX;
	return vt_pa(env, PG_EPT_PML4) | EPTP_MT_WB | EPTP_WALK_4;
}

static bool set_alias(struct tg_check *c, struct vt_env *env, u64 cap, u64 eptp, u64 perms)
{
	((u64 *)vt_page(env, PG_EPT_PT))[0] = vt_pa(env, VT_PG_MSR_BITMAP) | perms |
					      (u64)EPT_MT_WB << EPT_MT_SHIFT;
	return tg_expect(c, cap & EPT_CAP_INVEPT_ALL ? invept(INVEPT_ALL, 0) :
			 invept(INVEPT_SINGLE, eptp), "INVEPT failed");
}

/* EPT12 maps the alias read-only: L2's write there is an EPT violation
 * for L1 (SDM 29.3.3.2), not something L0 may swallow; made writable,
 * the write and the bitmap's new contents take effect. */
static void ept_read_only(struct vt_env *env, u64 cap, u64 eptp)
{
	u32 bit = MSR_IA32_KERNEL_GS_BASE - MSR_HIGH_BASE;
	u64 gpa = ALIAS_GPA + MSRB_READ_HIGH + bit / 8;
	u64 at = (u64)addr_l2_toggle_rdmsr_0 + 2, want = EPTV_WRITE | EPT_R << EPTV_PERM_SHIFT |
		EPTV_LINEAR_VALID | EPTV_LINEAR_XLATED;
	const struct step s[] = {
		{ addr_l2_toggle_rdmsr_1, EXIT_REASON_RDMSR, 2, 0 },
		{ addr_l2_toggle_rdmsr_end, EXIT_REASON_VMCALL, VMCALL_LEN, 0 },
	};
	struct vt_l2 l2 = {
		.rip = (u64)addr_l2_toggle_rdmsr,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = CPU_BASED_USE_MSR_BITMAPS, .proc2 = SECONDARY_ENABLE_EPT,
		.exc_bitmap = ~0u,
	};
	struct tg_check c;

	tg_begin(&c, "addr-ept-alias-read-only");
	SetMem(&addr_regs, sizeof(addr_regs), 0);
	addr_regs.rdi = gpa;
	addr_regs.rsi = 1u << (bit % 8);
	addr_regs.rcx = MSR_IA32_KERNEL_GS_BASE;
	if (set_alias(&c, env, cap, eptp, EPT_R) && vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    tg_expect(&c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER") &&
	    vt_expect_exit(&c, vt_enter(&addr_regs, 0), EXIT_REASON_EPT_VIOLATION, at)) {
		/* Bit 0 (read) of a read-modify-write is not compared. */
		u64 qual = vt_rd(EXIT_QUALIFICATION) & EPTV_COMPARED & ~EPTV_READ;
		vt_expect_eq(&c, "exit qualification bits 8:1", qual, want);
		vt_expect_eq(&c, "GUEST_PHYSICAL_ADDRESS", vt_rd(GUEST_PHYSICAL_ADDRESS), gpa);
		vt_expect_eq(&c, "the bitmap (the write did not happen)",
			     vt_page(env, VT_PG_MSR_BITMAP)[MSRB_READ_HIGH + bit / 8], 0);
		if (!c.failed && set_alias(&c, env, cap, eptp, EPT_RWX))
			addr_run_steps(&c, true, s, ARRAY_SIZE(s));
	}
	set_alias(&c, env, cap, eptp, EPT_RWX);
	SetMem(vt_page(env, VT_PG_MSR_BITMAP), PAGE_SIZE, 0);
	tg_end(&c);
}

static void ept_checks(struct vt_env *env)
{
	const u64 need = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_INVEPT;
	u64 cap = env->caps.proc2_1 & SECONDARY_ENABLE_EPT ?
		rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0, eptp;
	struct tg_check c;

	if ((cap & need) != need || !(cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		tg_printf("%s: note: no EPT (4-level, WB, 2-MiB pages, INVEPT): no addr-ept "
			  "checks\n", tg_prog);
		return;
	}
	eptp = ept_build(env);
	/* SDM 29.4.3.1: the EPTP may have been used with other tables. */
	tg_begin(&c, "addr-ept-setup");
	tg_expect(&c, cap & EPT_CAP_INVEPT_ALL ? invept(INVEPT_ALL, 0) :
		  invept(INVEPT_SINGLE, eptp), "INVEPT failed");
	tg_end(&c);
	toggle_all(env, "addr-ept-l2-toggles", SECONDARY_ENABLE_EPT, eptp, 0);
	/* L2 writes the MSR bitmap through another guest-physical address. */
	toggle_all(env, "addr-ept-alias-l2-toggles", SECONDARY_ENABLE_EPT, eptp, ALIAS_GPA);
	ept_read_only(env, cap, eptp);
	l1_changes(env, "addr-ept-l1-changes-io-bitmap", addr_l2_loop_in, addr_l2_loop_in_call,
		   EXIT_REASON_IO_INSTRUCTION, 1, vt_page(env, VT_PG_IO_A), PORT_A,
		   SECONDARY_ENABLE_EPT, eptp);
	l1_changes(env, "addr-ept-l1-changes-msr-bitmap", addr_l2_loop_wrmsr,
		   addr_l2_loop_wrmsr_call, EXIT_REASON_WRMSR, 2,
		   vt_page(env, VT_PG_MSR_BITMAP) + MSRB_WRITE_LOW, MSR_IA32_SYSENTER_CS,
		   SECONDARY_ENABLE_EPT, eptp);
	mixed(env, "addr-ept-l2-writes-msr-bitmap-then-io", SECONDARY_ENABLE_EPT, eptp);
	shared_page(env, "addr-ept-l2-toggles-shared-bitmap-page", SECONDARY_ENABLE_EPT, eptp);
}

void addr_bitmap_checks(struct vt_env *env)
{
	u8 *io_a = vt_page(env, VT_PG_IO_A), *msr = vt_page(env, VT_PG_MSR_BITMAP);

	l1_changes(env, "addr-l1-changes-io-bitmap", addr_l2_loop_in, addr_l2_loop_in_call,
		   EXIT_REASON_IO_INSTRUCTION, 1, io_a, PORT_A, 0, 0);
	l1_changes(env, "addr-l1-changes-msr-bitmap", addr_l2_loop_wrmsr,
		   addr_l2_loop_wrmsr_call, EXIT_REASON_WRMSR, 2, msr + MSRB_WRITE_LOW,
		   MSR_IA32_SYSENTER_CS, 0, 0);
	toggle_all(env, "addr-l2-toggles", 0, 0, 0);
	mixed(env, "addr-l2-writes-msr-bitmap-then-io", 0, 0);
	shared_page(env, "addr-l2-toggles-shared-bitmap-page", 0, 0);
	ept_checks(env);
}
