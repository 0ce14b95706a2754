/* vmxtest: EPT for L2. INVEPT's results (SDM 31.3 "INVEPT"), an L2 whose
 * guest-physical addresses go through an EPT that L1 builds (SDM 29.3 "The
 * Extended Page Table Mechanism"), EPT violations and misconfigurations
 * (SDM 29.3.3, 28.2.1 "Exit Qualification for EPT Violations"), remapping
 * after INVEPT (SDM 29.4.3) and an unrestricted real-mode L2 (SDM 26.6.2,
 * 27.3.1.1), and EPT accessed and dirty flags (SDM 29.3.5) where offered.
 * Avoids Bochs's EPT departures (docs/testing-nested.md) but one, named
 * where it is met: no reserved bit 12 in a leaf. */
#include <efi.h>
#include <efilib.h>
#include <ept.h>
#include "vmxtest.h"


/* The scratch pages: EPT12's tables, the test page, its replacement and
 * the real-mode code. */
enum {
	PG_PML4 = VT_PG_SCRATCH, PG_PDPT, PG_PD, PG_PT = PG_PD + 4,
	PG_TEST, PG_OTHER, PG_REAL,
	PG_PML4_B, PG_PDPT_B, PG_PD_B, PG_PT_B, /* a second EPT12 */
	PG_SHADOW, PG_SH_BITMAPS, /* the A/D group's shadow VMCS, its bitmaps */
	PG_END
};
_Static_assert(PG_END <= VT_PG_SCRATCH + VT_SCRATCH_PAGES, "scratch pages");

#define TEST_OFF 0x128      /* where L2 reads and writes in the test page */
#define CODE_OFF 0x200      /* where L2 executes in the test page */
#define EPT_MT_RESERVED 2
#define LARGE_GPA 0xc0200000ULL /* a 2-MiB page of EPT12 with no RAM behind it */
#define LARGE_OFF 0x1238
#define LEAF_WB ((u64)EPT_MT_WB << EPT_MT_SHIFT)
#define VAL_L1 0x1111222233334444ULL
#define VAL_L2 0x5555666677778888ULL
#define VAL_OTHER 0x99990000aaaabbbbULL
#define VAL_L1_AGAIN 0xcccc0000ddddeeeeULL
#define CPUID_LEN 2
#define VMCALL_LEN 3

/* Real-mode segment access rights (SDM 25.4.1): accessed execute/read
 * code and read/write data, present, DPL 0, 16-bit. TR stays a busy TSS
 * (type 11 is allowed outside IA-32e mode too). */
#define AR_REAL_CODE 0x9bu
#define AR_REAL_DATA 0x93u

_Static_assert(VT_R3_DONE == 0x3d0e && TG_VEC_RING0_RETURN == 0x80, "ept_r3_invept");

/* L2's code (64-bit, sharing L1's address space) and the ring-3 INVEPT. */
asm(".pushsection .text\n"
    ".globl ept_l2_vmcall, ept_l2_read, ept_l2_read_vmcall, ept_l2_write, ept_l2_write_vmcall\n"
    ".hidden ept_l2_vmcall, ept_l2_read, ept_l2_read_vmcall, ept_l2_write, ept_l2_write_vmcall\n"
    "ept_l2_vmcall:\n\tvmcall\n\tjmp ept_l2_vmcall\n"
    "ept_l2_read:\n\tmovq (%rdi), %rax\n"
    "ept_l2_read_vmcall:\n\tvmcall\n\tjmp ept_l2_read\n"
    "ept_l2_write:\n\tmovq %rsi, (%rdi)\n"
    "ept_l2_write_vmcall:\n\tvmcall\n\tjmp ept_l2_write\n"
    ".globl ept_l2_vmread_mem, ept_l2_vmread_mem_vmcall\n"
    ".hidden ept_l2_vmread_mem, ept_l2_vmread_mem_vmcall\n"
    "ept_l2_vmread_mem:\n\tvmread %rcx, (%rdi)\n"
    "ept_l2_vmread_mem_vmcall:\n\tvmcall\n\tjmp ept_l2_vmread_mem\n"
    ".globl ept_l2_vmwrite_mem, ept_l2_vmwrite_mem_vmcall\n"
    ".hidden ept_l2_vmwrite_mem, ept_l2_vmwrite_mem_vmcall\n"
    "ept_l2_vmwrite_mem:\n\tvmwrite (%rdi), %rcx\n"
    "ept_l2_vmwrite_mem_vmcall:\n\tvmcall\n\tjmp ept_l2_vmwrite_mem\n"
    ".globl ept_r3_invept\n.hidden ept_r3_invept\n"
    "ept_r3_invept:\n\tmovl $2, %eax\n\tinvept (%rsp), %rax\n"
    "\tmovl $0x3d0e, %eax\n\tint $0x80\n"
    ".popsection\n");
extern const u8 ept_l2_vmcall[], ept_l2_read[], ept_l2_read_vmcall[], ept_l2_write[],
	ept_l2_write_vmcall[], ept_r3_invept[], ept_l2_vmread_mem[], ept_l2_vmread_mem_vmcall[],
	ept_l2_vmwrite_mem[], ept_l2_vmwrite_mem_vmcall[];

/* cpuid; vmcall; jmp $ (from +2: vmcall; jmp $) */
static const u8 real_code[] = { 0x0f, 0xa2, 0x0f, 0x01, 0xc1, 0xeb, 0xfe };

static struct tg_regs regs;

static u64 *table(const struct vt_env *env, int page)
{
	return (u64 *)vt_page(env, page);
}

/* INVEPT with every arithmetic flag set first; the outcome as vmxtest's
 * other wrappers give it (SDM 31.2 "Conventions"). */
static u32 invept(u64 type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };
	u64 fl;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(TG_GUARD_BEGIN "pushq $0x8d7\n\tpopfq\n\tinvept %[d], %[t]"
		     "\n1:\n\tpushfq\n\tpopq %[fl]\n\tmovq $0, tg_fault_recover(%%rip)"
		     : [fl] "=r"(fl) : [d] "m"(desc), [t] "r"(type) : "r11", "cc", "memory");
	vt_last_rflags = fl;
	if (tg_fault_vector != TG_NO_FAULT)
		return VT_FAULT(tg_fault_vector);
	switch (fl & RFLAGS_ARITH) {
	case 0: return VT_OK;
	case RFLAGS_CF: return VT_FAIL_INVALID;
	case RFLAGS_ZF: return VT_FAIL_VALID((u32)vt_rd(VM_INSTRUCTION_ERROR) & 0xff);
	default: return VT_BAD_FLAGS;
	}
}

/* EPT12: the first 4 GiB identity, RWX, WB, in 2-MiB pages, except the
 * 2 MiB around the test page, which has a page table (4-KiB pages). */
static u64 ept_build(const struct vt_env *env)
{
	u64 *pml4 = table(env, PG_PML4), *pdpt = table(env, PG_PDPT), *pt = table(env, PG_PT);
	u64 test = vt_pa(env, PG_TEST), region = test & ~(PAGE_SIZE_2M - 1);

	SetMem(pml4, PAGE_SIZE, 0);
	SetMem(pdpt, PAGE_SIZE, 0);
	pml4[0] = vt_pa(env, PG_PDPT) | EPT_RWX;
	for (u64 i = 0; i < 4; i++) {
		u64 *pd = table(env, PG_PD + (int)i);
		pdpt[i] = vt_pa(env, PG_PD + (int)i) | EPT_RWX;
		for (u64 j = 0; j < EPT_ENTRIES; j++)
			pd[j] = (i << 30 | j << 21) | EPT_RWX | LEAF_WB | EPT_LARGE;
	}
	for (u64 k = 0; k < EPT_ENTRIES; k++)
		pt[k] = (region + k * PAGE_SIZE) | EPT_RWX | LEAF_WB;
	table(env, PG_PD + (int)(test >> 30))[(test >> 21) & 511] = vt_pa(env, PG_PT) | EPT_RWX;
	return vt_pa(env, PG_PML4) | EPTP_MT_WB | EPTP_WALK_4;
}

static void invept_checks(struct vt_env *env, u64 cap, u64 eptp)
{
	u32 err28 = VT_FAIL_VALID(VMXERR_INVEPT_INVVPID_OPERAND);
	struct tg_check c;
	u64 err = 0;
	u32 vec;

	tg_begin(&c, "invept-unsupported-type");
	vt_expect_res(&c, "INVEPT type 0", invept(0, eptp), err28);
	vt_expect_res(&c, "INVEPT type 3", invept(3, eptp), err28);
	tg_end(&c);
	if (cap & EPT_CAP_INVEPT_SINGLE) {
		tg_begin(&c, "invept-single-context");
		vt_expect_res(&c, "INVEPT type 1, valid EPTP", invept(INVEPT_SINGLE, eptp), VT_OK);
		tg_end(&c);
		/* SDM 31.3: single-context with an EPTP VM entry would refuse
		 * (SDM 27.2.1.1: walk length 4, a supported memory type). */
		tg_begin(&c, "invept-single-invalid-eptp");
		vt_expect_res(&c, "INVEPT type 1, walk length 2",
			      invept(INVEPT_SINGLE, (eptp & ~(7ULL << EPTP_WALK_SHIFT)) |
				     1ULL << EPTP_WALK_SHIFT), err28);
		vt_expect_res(&c, "INVEPT type 1, memory type 3",
			      invept(INVEPT_SINGLE, (eptp & ~7ULL) | 3), err28);
		tg_end(&c);
	}
	if (cap & EPT_CAP_INVEPT_ALL) {
		tg_begin(&c, "invept-all-context");
		vt_expect_res(&c, "INVEPT type 2", invept(INVEPT_ALL, 0), VT_OK);
		tg_end(&c);
	}
	/* SDM 31.3: #GP(0) at CPL > 0 (checked before the operands). */
	tg_begin(&c, "invept-cpl3-gp");
	vec = vt_at_cpl3(env, ept_r3_invept, &err);
	if (vt_expect_res(&c, "INVEPT at CPL 3", vec == TG_NO_FAULT ? VT_OK : VT_FAULT(vec),
			  VT_FAULT(EXC_GP)))
		vt_expect_eq(&c, "#GP error code", err, 0);
	tg_end(&c);
}

/* Changes the test page's EPT12 entry and invalidates (SDM 29.4.3.1:
 * restricting an entry needs INVEPT; single-context where offered). */
static bool set_test_pte(struct tg_check *c, const struct vt_env *env, u64 cap, u64 eptp,
			 u64 entry)
{
	table(env, PG_PT)[(vt_pa(env, PG_TEST) >> 12) & 511] = entry;
	if (cap & EPT_CAP_INVEPT_SINGLE)
		return vt_expect_res(c, "INVEPT single-context", invept(INVEPT_SINGLE, eptp), VT_OK);
	return vt_expect_res(c, "INVEPT all-context", invept(INVEPT_ALL, 0), VT_OK);
}

/* L2 runs at 'rip' (0: where it stopped) and must exit with a VMCALL at
 * 'at'; the VMCALL is then skipped. */
static bool run_to_vmcall(struct tg_check *c, u64 rip, const u8 *at)
{
	if (rip)
		vt_wr(GUEST_RIP, rip);
	if (!vt_expect_exit(c, vt_enter(&regs, 1), EXIT_REASON_VMCALL, (u64)at))
		return false;
	vt_wr(GUEST_RIP, (u64)at + VMCALL_LEN);
	return true;
}

/* L2 at 'rip' accesses the test page and must get an EPT violation with
 * the access bits 'access' and the permissions 'perms' (bits 5:3). */
static void expect_violation(struct tg_check *c, const struct vt_env *env, u64 rip,
			     u64 addr, u64 access, u64 perms)
{
	u64 want = access | perms << EPTV_PERM_SHIFT | EPTV_LINEAR_VALID | EPTV_LINEAR_XLATED;

	vt_wr(GUEST_RIP, rip);
	if (!vt_expect_exit(c, vt_enter(&regs, 1), EXIT_REASON_EPT_VIOLATION, rip))
		return;
	u64 qual = vt_rd(EXIT_QUALIFICATION);
	tg_expect(c, (qual & EPTV_COMPARED) == want, "exit qualification bits 8:0: "
		  "expected %lx, got %lx (all %lx)", want, qual & EPTV_COMPARED, qual);
	vt_expect_eq(c, "GUEST_PHYSICAL_ADDRESS", vt_rd(GUEST_PHYSICAL_ADDRESS), addr);
	vt_expect_eq(c, "GUEST_LINEAR_ADDRESS", vt_rd(GUEST_LINEAR_ADDRESS), addr);
	vt_expect_eq(c, "GUEST_RSP",
		     vt_rd(GUEST_RSP), vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES));
}

/* L2 reads the test page with 'entry' in EPT12: an EPT misconfiguration. */
static void misconfig(const struct vt_env *env, u64 cap, u64 eptp, const char *name, u64 entry)
{
	struct tg_check c;

	tg_begin(&c, name);
	vt_wr(GUEST_RIP, (u64)ept_l2_read);
	if (set_test_pte(&c, env, cap, eptp, entry) &&
	    vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_EPT_MISCONFIG, (u64)ept_l2_read))
		vt_expect_eq(&c, "GUEST_PHYSICAL_ADDRESS", vt_rd(GUEST_PHYSICAL_ADDRESS),
			     vt_pa(env, PG_TEST) + TEST_OFF);
	tg_end(&c);
}

/* EPT12's 2-MiB leaves: not present, then pointing at the 2 MiB around
 * the test page. L2 reaches LARGE_GPA through L1's identity paging; a #PF
 * (were it not mapped) exits instead of looping in L2's handler. */
static void large_page_checks(struct vt_env *env, u64 cap, u64 eptp)
{
	u64 test = vt_pa(env, PG_TEST), region = test & ~(PAGE_SIZE_2M - 1);
	u64 *pde = &table(env, PG_PD + (int)(LARGE_GPA >> 30))[(LARGE_GPA >> 21) & 511];
	u64 old = *pde, addr = LARGE_GPA + LARGE_OFF;
	struct tg_check c;

	if (test >> 30 == LARGE_GPA >> 30)
		return; /* the test page's own PD: not this layout */
	vt_wr(EXCEPTION_BITMAP, BIT(EXC_PF));
	tg_begin(&c, "ept-violation-2m-not-present");
	*pde = 0;
	regs.rdi = addr;
	if (set_test_pte(&c, env, cap, eptp, test | LEAF_WB | EPT_RWX))
		expect_violation(&c, env, (u64)ept_l2_read, addr, EPTV_READ, 0);
	tg_end(&c);

	tg_begin(&c, "ept-remap-2m");
	*pde = region | EPT_RWX | LEAF_WB | EPT_LARGE;
	regs.rdi = LARGE_GPA + (test - region) + TEST_OFF;
	regs.rax = 0;
	if (set_test_pte(&c, env, cap, eptp, test | LEAF_WB | EPT_RWX) &&
	    run_to_vmcall(&c, (u64)ept_l2_read, ept_l2_read_vmcall))
		vt_expect_eq(&c, "what L2 read through the 2-MiB page", regs.rax, VAL_L1_AGAIN);
	tg_end(&c);
	*pde = old;
	vt_wr(EXCEPTION_BITMAP, 0);
	regs.rdi = test + TEST_OFF;
}

static void l2_ept_checks(struct vt_env *env, u64 cap, u64 eptp)
{
	u64 test = vt_pa(env, PG_TEST), other = vt_pa(env, PG_OTHER);
	volatile u64 *cell = (u64 *)(test + TEST_OFF);
	u64 leaf = test | LEAF_WB;
	struct tg_check c;

	SetMem(&regs, sizeof(regs), 0);
	regs.rdi = test + TEST_OFF;

	tg_begin(&c, "ept-l2-runs");
	if (!(vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_VMCALL, (u64)ept_l2_vmcall) &&
	      vt_expect_eq(&c, "EPT_POINTER", vt_rd(EPT_POINTER), eptp))) {
		tg_end(&c);
		return;
	}
	vt_wr(GUEST_RIP, (u64)ept_l2_vmcall + VMCALL_LEN);
	*cell = VAL_L1;
	regs.rax = 0;
	if (run_to_vmcall(&c, (u64)ept_l2_read, ept_l2_read_vmcall))
		vt_expect_eq(&c, "what L2 read through EPT12", regs.rax, VAL_L1);
	tg_end(&c);

	tg_begin(&c, "ept-violation-read-not-present");
	if (set_test_pte(&c, env, cap, eptp, 0))
		expect_violation(&c, env, (u64)ept_l2_read, test + TEST_OFF, EPTV_READ, 0);
	tg_end(&c);

	tg_begin(&c, "ept-violation-write-read-only");
	regs.rax = 0;
	regs.rsi = VAL_L2;
	if (set_test_pte(&c, env, cap, eptp, leaf | EPT_R) &&
	    run_to_vmcall(&c, 0, ept_l2_read_vmcall) &&
	    vt_expect_eq(&c, "what L2 read (read-only)", regs.rax, VAL_L1)) {
		expect_violation(&c, env, (u64)ept_l2_write, test + TEST_OFF, EPTV_WRITE, EPT_R);
		vt_expect_eq(&c, "the page after the refused write", *cell, VAL_L1);
	}
	tg_end(&c);

	tg_begin(&c, "ept-read-write");
	if (set_test_pte(&c, env, cap, eptp, leaf | EPT_R | EPT_W) &&
	    run_to_vmcall(&c, 0, ept_l2_write_vmcall)) {
		vt_expect_eq(&c, "L1's page after L2's write", *cell, VAL_L2);
		*cell = VAL_L1_AGAIN;
		regs.rax = 0;
		if (run_to_vmcall(&c, (u64)ept_l2_read, ept_l2_read_vmcall))
			vt_expect_eq(&c, "what L2 read back", regs.rax, VAL_L1_AGAIN);
	}
	tg_end(&c);

	/* SDM 29.3.3.1: write without read, memory type 2 (reserved). */
	misconfig(env, cap, eptp, "ept-misconfig-write-only", leaf | EPT_W);
	misconfig(env, cap, eptp, "ept-misconfig-memory-type",
		  test | (u64)EPT_MT_RESERVED << EPT_MT_SHIFT | EPT_RWX);

	if (cap & EPT_CAP_EXEC_ONLY) { /* execute-only is then no misconfiguration */
		tg_begin(&c, "ept-violation-read-execute-only");
		if (set_test_pte(&c, env, cap, eptp, leaf | EPT_X))
			expect_violation(&c, env, (u64)ept_l2_read, test + TEST_OFF, EPTV_READ, EPT_X);
		tg_end(&c);
	}

	/* L2 jumps into the test page: a fetch from a page without X. */
	tg_begin(&c, "ept-violation-execute");
	CopyMem((void *)(test + CODE_OFF), (void *)(real_code + CPUID_LEN),
		sizeof(real_code) - CPUID_LEN);
	if (set_test_pte(&c, env, cap, eptp, leaf | EPT_R | EPT_W)) {
		expect_violation(&c, env, test + CODE_OFF, test + CODE_OFF, EPTV_FETCH,
				 EPT_R | EPT_W);
		if (!c.failed && set_test_pte(&c, env, cap, eptp, leaf | EPT_RWX))
			run_to_vmcall(&c, 0, (const u8 *)(test + CODE_OFF));
	}
	tg_end(&c);

	tg_begin(&c, "ept-remap");
	*(volatile u64 *)(other + TEST_OFF) = VAL_OTHER;
	regs.rax = 0;
	if (set_test_pte(&c, env, cap, eptp, other | LEAF_WB | EPT_RWX) &&
	    run_to_vmcall(&c, (u64)ept_l2_read, ept_l2_read_vmcall)) {
		vt_expect_eq(&c, "what L2 read at the remapped page", regs.rax, VAL_OTHER);
		vt_expect_eq(&c, "the old page (untouched)", *cell, VAL_L1_AGAIN);
	}
	tg_end(&c);
	large_page_checks(env, cap, eptp);
}

/* A second EPT12, the same as the first but for the test page, which it
 * maps to the other page: its own PML4, PDPT, the PD and the PT on the
 * test page's path; the rest shared. */
static u64 ept_build_second(const struct vt_env *env)
{
	u64 test = vt_pa(env, PG_TEST), other = vt_pa(env, PG_OTHER);
	u64 gi = test >> 30, di = (test >> 21) & 511, ti = (test >> 12) & 511;

	CopyMem(table(env, PG_PDPT_B), table(env, PG_PDPT), PAGE_SIZE);
	CopyMem(table(env, PG_PD_B), table(env, PG_PD + (int)gi), PAGE_SIZE);
	CopyMem(table(env, PG_PT_B), table(env, PG_PT), PAGE_SIZE);
	SetMem(table(env, PG_PML4_B), PAGE_SIZE, 0);
	table(env, PG_PML4_B)[0] = vt_pa(env, PG_PDPT_B) | EPT_RWX;
	table(env, PG_PDPT_B)[gi] = vt_pa(env, PG_PD_B) | EPT_RWX;
	table(env, PG_PD_B)[di] = vt_pa(env, PG_PT_B) | EPT_RWX;
	table(env, PG_PT_B)[ti] = other | LEAF_WB | EPT_RWX;
	return vt_pa(env, PG_PML4_B) | EPTP_MT_WB | EPTP_WALK_4;
}

/* Two VMCSs with two EPTPs, alternated without INVEPT: each L2 reads the
 * test page's address through its own EPT12. */
static void two_eptp_checks(struct vt_env *env, u64 cap, u64 eptp)
{
	u64 a = vt_pa(env, VT_PG_VMCS_A), b = vt_pa(env, VT_PG_VMCS_B);
	u64 test = vt_pa(env, PG_TEST), eptp_b = ept_build_second(env);
	struct vt_l2 l2 = {
		.rip = (u64)ept_l2_read,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_B, VT_L2_STACK_PAGES),
		.proc2 = SECONDARY_ENABLE_EPT,
	};
	static struct tg_regs regs_b;
	struct tg_check c;

	tg_begin(&c, "ept-two-eptps");
	SetMem(&regs_b, sizeof(regs_b), 0);
	regs_b.rdi = test + TEST_OFF;
	bool ok = set_test_pte(&c, env, cap, eptp, test | LEAF_WB | EPT_RWX) &&
		  vt_load_fresh(env, VT_PG_VMCS_B, &l2, &c) &&
		  tg_expect(&c, vt_wr(EPT_POINTER, eptp_b), "VMWRITE EPT_POINTER") &&
		  vt_expect_exit(&c, vt_enter(&regs_b, 0), EXIT_REASON_VMCALL,
				 (u64)ept_l2_read_vmcall) &&
		  vt_expect_eq(&c, "what L2 B read (first)", regs_b.rax, VAL_OTHER);
	for (u32 i = 0; ok && i < 3; i++) {
		regs.rax = regs_b.rax = 0;
		ok = vt_expect_res(&c, "VMPTRLD A", vt_vmptrld(a), VT_OK) &&
		     vt_expect_eq(&c, "A's EPT_POINTER", vt_rd(EPT_POINTER), eptp) &&
		     run_to_vmcall(&c, (u64)ept_l2_read, ept_l2_read_vmcall) &&
		     vt_expect_eq(&c, "what L2 A read", regs.rax, VAL_L1_AGAIN) &&
		     vt_expect_res(&c, "VMPTRLD B", vt_vmptrld(b), VT_OK);
		if (!ok)
			break;
		vt_wr(GUEST_RIP, (u64)ept_l2_read);
		ok = vt_expect_exit(&c, vt_enter(&regs_b, 1), EXIT_REASON_VMCALL,
				    (u64)ept_l2_read_vmcall) &&
		     vt_expect_eq(&c, "what L2 B read", regs_b.rax, VAL_OTHER);
	}
	tg_end(&c);
}

/* SDM 27.3.1.1/27.3.1.2 with "unrestricted guest": CR0.PE = PG = 0,
 * real-mode segments; L2's physical addresses are CS.base + IP. */
static bool real_mode_setup(struct vt_env *env, struct tg_check *c)
{
	u64 code = vt_pa(env, PG_REAL), cr0 = read_cr0(), cr4 = read_cr4();
	bool ok = true;

	CopyMem(vt_page(env, PG_REAL), (void *)real_code, sizeof(real_code));
#define W(f, v) ok = tg_expect(c, vt_wr(f, v), "VMWRITE %x", f) && ok
	W(VM_ENTRY_CONTROLS, vt_adjust(0, env->caps.entry0, env->caps.entry1));
	W(GUEST_CR0, cr0 & ~(CR0_PE | CR0_PG));
	W(CR0_READ_SHADOW, cr0 & ~(CR0_PE | CR0_PG));
	W(GUEST_CR4, cr4 & ~CR4_PCIDE);
	W(CR4_READ_SHADOW, cr4 & ~CR4_PCIDE);
	W(GUEST_RIP, 0);
	W(GUEST_RSP, 0xff0);
	W(GUEST_RFLAGS, RFLAGS_FIXED);
	/* ES, CS, SS, DS, FS, GS: encodings 2 apart (SDM Appendix B). */
	for (u32 i = 0; i < 6; i++) {
		W(GUEST_ES_SELECTOR + 2 * i, 0);
		W(GUEST_ES_BASE + 2 * i, i == 1 ? code : 0);
		W(GUEST_ES_LIMIT + 2 * i, 0xffff);
		W(GUEST_ES_AR_BYTES + 2 * i, i == 1 ? AR_REAL_CODE : AR_REAL_DATA);
	}
#undef W
	return ok;
}

static void real_mode_checks(struct vt_env *env, u64 eptp)
{
	struct vt_l2 l2 = { .proc2 = SECONDARY_ENABLE_EPT | SECONDARY_UNRESTRICTED_GUEST };
	struct tg_check c;

	if (!(env->caps.proc2_1 & SECONDARY_UNRESTRICTED_GUEST)) {
		tg_printf("%s: note: unrestricted guest not offered: no real-mode L2\n", tg_prog);
		return;
	}
	SetMem(&regs, sizeof(regs), 0);
	tg_begin(&c, "ept-unrestricted-real-mode");
	if (vt_load_fresh(env, VT_PG_VMCS_B, &l2, &c) && vt_wr(EPT_POINTER, eptp) &&
	    real_mode_setup(env, &c) &&
	    vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_CPUID, 0)) {
		vt_expect_eq(&c, "CPUID's GUEST_RIP", vt_rd(GUEST_RIP), 0);
		vt_expect_eq(&c, "CPUID's instruction length", vt_rd(VM_EXIT_INSTRUCTION_LEN),
			     CPUID_LEN);
		vt_expect_eq(&c, "GUEST_CR0.PE/PG", vt_rd(GUEST_CR0) & (CR0_PE | CR0_PG), 0);
		vt_wr(GUEST_RIP, CPUID_LEN);
		if (vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_VMCALL, CPUID_LEN))
			vt_expect_eq(&c, "VMCALL's instruction length",
				     vt_rd(VM_EXIT_INSTRUCTION_LEN), VMCALL_LEN);
	}
	tg_end(&c);
}

/* EPT accessed and dirty flags (SDM 29.3.5), with EPTP bit 6: L2 runs on
 * the 4-GiB user page tables (VT_PG_USER_PT, 2-MiB pages) through an
 * EPT12 like ept_build's, whose 4-KiB leaves also cover those tables, so
 * that the flags of L2's paging-structure pages show. */
#define EPT_AD (EPT_ACCESSED | EPT_DIRTY)

/* The EPT12 entry at 'level' (4 = PML4E .. 1 = PTE) on gpa's path, or
 * the leaf if the path ends above it. */
static u64 *ead_entry(const struct vt_env *env, u64 gpa, int level)
{
	u64 *t = table(env, PG_PML4);

	for (int l = 4;; l--) {
		u64 *e = &t[(gpa >> (12 + 9 * (l - 1))) & 511];
		if (l == level || l == 1 || (l < 4 && (*e & EPT_LARGE)))
			return e;
		t = (u64 *)(*e & EPT_ADDR_MASK);
	}
}

/* A/D of the whole EPT12 cleared, then INVEPT (SDM 29.3.5: software that
 * clears them must invalidate for the CPU to set them again). */
static bool ead_clear(struct tg_check *c, const struct vt_env *env, u64 cap, u64 eptp)
{
	static const int pages[] = { PG_PML4, PG_PDPT, PG_PD, PG_PD + 1, PG_PD + 2, PG_PD + 3,
				     PG_PT, PG_PT_B };

	for (u32 i = 0; i < ARRAY_SIZE(pages); i++)
		for (u32 k = 0; k < EPT_ENTRIES; k++)
			table(env, pages[i])[k] &= ~EPT_AD;
	if (cap & EPT_CAP_INVEPT_SINGLE)
		return vt_expect_res(c, "INVEPT single-context", invept(INVEPT_SINGLE, eptp), VT_OK);
	return vt_expect_res(c, "INVEPT all-context", invept(INVEPT_ALL, 0), VT_OK);
}

/* The flags (bits 9:8) of gpa's EPT12 entry at 'level' must be 'want'. */
static void ead_expect(struct tg_check *c, const struct vt_env *env, const char *what, u64 gpa,
		       int level, u64 want)
{
	u64 e = *ead_entry(env, gpa, level);
	tg_expect(c, (e & EPT_AD) == want, "%s: A/D %lx, expected %lx (entry %lx)", what,
		  (e & EPT_AD) >> 8, want >> 8, e);
}

/* After L2 read the test page: accessed along its path, dirty nowhere on
 * it; the paging-structure pages of L2's walk accessed and dirty. */
static void ead_expect_read(struct tg_check *c, const struct vt_env *env)
{
	u64 test = vt_pa(env, PG_TEST) + TEST_OFF;

	ead_expect(c, env, "PML4E", test, 4, EPT_ACCESSED);
	ead_expect(c, env, "PDPTE", test, 3, EPT_ACCESSED);
	ead_expect(c, env, "PDE", test, 2, EPT_ACCESSED);
	ead_expect(c, env, "the test page's PTE", test, 1, EPT_ACCESSED);
	ead_expect(c, env, "an untouched page's PTE", vt_pa(env, PG_OTHER), 1, 0);
	ead_expect(c, env, "PTE of L2's PML4", vt_pa(env, VT_PG_USER_PT), 1, EPT_AD);
	ead_expect(c, env, "PTE of L2's PDPT", vt_pa(env, VT_PG_USER_PT + 1), 1, EPT_AD);
	ead_expect(c, env, "PTE of L2's PD", vt_pa(env, VT_PG_USER_PT + 2 + (int)(test >> 30)), 1,
		   EPT_AD);
}

/* EPT12 (ept_build's) with 4-KiB leaves for the 2 MiB of L2's page
 * tables too, and EPTP bit 6. 0 if the layout does not allow it. */
static u64 ead_build(const struct vt_env *env)
{
	u64 eptp = ept_build(env) | EPTP_AD_ENABLE;
	u64 test = vt_pa(env, PG_TEST), upt = vt_pa(env, VT_PG_USER_PT);
	u64 region = upt & ~(PAGE_SIZE_2M - 1), *pt = table(env, PG_PT_B);

	if (((upt + VT_USER_PT_PAGES * PAGE_SIZE - 1) & ~(PAGE_SIZE_2M - 1)) != region ||
	    (LARGE_GPA >> 21) == (test >> 21) || (LARGE_GPA >> 21) == (region >> 21))
		return 0;
	if (region != (test & ~(PAGE_SIZE_2M - 1))) {
		for (u64 k = 0; k < EPT_ENTRIES; k++)
			pt[k] = (region + k * PAGE_SIZE) | EPT_RWX | LEAF_WB;
		table(env, PG_PD + (int)(upt >> 30))[(upt >> 21) & 511] = vt_pa(env, PG_PT_B) | EPT_RWX;
	}
	return eptp;
}

/* L2 on the user page tables (U=1 pages: CR4.SMEP and SMAP off). */
static bool ead_l2_setup(struct vt_env *env, struct tg_check *c, u64 eptp)
{
	struct vt_l2 l2 = {
		.rip = (u64)ept_l2_vmcall,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc2 = SECONDARY_ENABLE_EPT,
	};
	return vt_load_fresh(env, VT_PG_VMCS_A, &l2, c) &&
	       tg_expect(c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER with bit 6") &&
	       tg_expect(c, vt_wr(GUEST_CR3, vt_pa(env, VT_PG_USER_PT)), "VMWRITE GUEST_CR3") &&
	       tg_expect(c, vt_wr(GUEST_CR4, vt_rd(GUEST_CR4) & ~(CR4_SMEP | CR4_SMAP)),
			 "VMWRITE GUEST_CR4");
}

/* L2 reads through EPT12 entries whose paging-structure page is only
 * readable: with A/D, L2's walk there is a write (SDM 29.3.3.2), and its
 * EPT violation sets bits 0 and 1 (SDM 28.2.1, Table 28-7, note 1). Bare
 * Bochs sets bit 1 only (docs/testing-nested.md). */
static void ead_walk_violation(struct vt_env *env, u64 cap, u64 eptp)
{
	u64 test = vt_pa(env, PG_TEST) + TEST_OFF, code = (u64)ept_l2_read;
	u64 pd = vt_pa(env, VT_PG_USER_PT + 2 + (int)(test >> 30));
	u64 *pte = ead_entry(env, pd, 1), old = *pte;
	/* The fetch comes first: it meets the page if the code is in the
	 * same GiB as the test page. */
	u64 linear = (code >> 30) == (test >> 30) ? code : test;
	u64 want = EPTV_READ | EPTV_WRITE | (u64)(EPT_R | EPT_X) << EPTV_PERM_SHIFT |
		   EPTV_LINEAR_VALID;
	struct tg_check c;

	tg_begin(&c, "ead-paging-structure-access-is-write");
	*pte = (old & ~(EPT_AD | EPT_W)) | EPT_R | EPT_X;
	regs.rdi = test;
	vt_wr(GUEST_RIP, (u64)ept_l2_read);
	if (ead_clear(&c, env, cap, eptp) &&
	    vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_EPT_VIOLATION, (u64)ept_l2_read)) {
		u64 qual = vt_rd(EXIT_QUALIFICATION) & EPTV_COMPARED;
		tg_expect(&c, qual == want, "exit qualification bits 8:0 %lx, expected %lx", qual, want);
		vt_expect_eq(&c, "GUEST_PHYSICAL_ADDRESS", vt_rd(GUEST_PHYSICAL_ADDRESS),
			     pd + ((linear >> 21) & 511) * 8);
		vt_expect_eq(&c, "GUEST_LINEAR_ADDRESS", vt_rd(GUEST_LINEAR_ADDRESS), linear);
		tg_expect(&c, !(*pte & EPT_DIRTY), "the read-only PD page's PTE got D: %lx", *pte);
	}
	tg_end(&c);
	*pte = old;
}

/* L2's VMREAD to memory and VMWRITE from memory with "VMCS shadowing"
 * (no exit: bitmaps clear) are accesses through EPT12 like any other
 * (SDM 31.3 VMREAD/VMWRITE; 29.3.5): the VMREAD's store sets the dirty
 * flag of the test page's leaf, the VMWRITE's load only the accessed
 * flag. Under nestvisor L0 performs them (shadow12.c). Runs last: it
 * gives L2's VMCS a link pointer. */
static void ead_shadow_checks(struct vt_env *env, u64 cap, u64 eptp)
{
	u64 test = vt_pa(env, PG_TEST), shadow = vt_pa(env, PG_SHADOW), vmcs = vt_pa(env, VT_PG_VMCS_A);
	volatile u64 *cell = (u64 *)(test + TEST_OFF);
	u32 *rev = (u32 *)vt_page(env, PG_SHADOW);
	u64 v = 0;
	struct tg_check c;

	if (!(env->caps.proc2_1 & SECONDARY_VMCS_SHADOWING)) {
		tg_skip("ead-shadow", "no VMCS shadowing (IA32_VMX_PROCBASED_CTLS2 bit 46 clear)");
		return;
	}
	tg_begin(&c, "ead-l2-vmread-to-memory-sets-dirty");
	vt_init_region(env, PG_SHADOW);
	rev[0] = env->caps.revision | SHADOW_VMCS_INDICATOR;
	SetMem(vt_page(env, PG_SH_BITMAPS), PAGE_SIZE, 0);
	bool ok = vt_expect_res(&c, "VMCLEAR of the shadow VMCS", vt_vmclear(shadow), VT_OK) &&
		  vt_expect_res(&c, "VMPTRLD of the shadow VMCS", vt_vmptrld(shadow), VT_OK) &&
		  tg_expect(&c, vt_wr(GUEST_RIP, VAL_OTHER), "VMWRITE of the shadow's GUEST_RIP") &&
		  vt_expect_res(&c, "VMCLEAR of the shadow VMCS", vt_vmclear(shadow), VT_OK) &&
		  vt_expect_res(&c, "VMPTRLD of L2's VMCS", vt_vmptrld(vmcs), VT_OK) &&
		  tg_expect(&c, vt_wr(SECONDARY_VM_EXEC_CONTROL,
				      vt_rd(SECONDARY_VM_EXEC_CONTROL) | SECONDARY_VMCS_SHADOWING) &&
				vt_wr(VMREAD_BITMAP, vt_pa(env, PG_SH_BITMAPS)) &&
				vt_wr(VMWRITE_BITMAP, vt_pa(env, PG_SH_BITMAPS)) &&
				vt_wr(VMCS_LINK_POINTER, shadow),
			    "VMWRITE of the shadowing controls");
	*cell = 0;
	regs.rcx = GUEST_RIP;
	regs.rdi = test + TEST_OFF;
	if (ok && ead_clear(&c, env, cap, eptp) &&
	    run_to_vmcall(&c, (u64)ept_l2_vmread_mem, ept_l2_vmread_mem_vmcall)) {
		vt_expect_eq(&c, "what L2's VMREAD stored", *cell, VAL_OTHER);
		ead_expect(&c, env, "the test page's PTE", test, 1, EPT_AD);
		ead_expect(&c, env, "PDE", test, 2, EPT_ACCESSED);
	}
	tg_end(&c);
	if (!ok)
		return;

	tg_begin(&c, "ead-l2-vmwrite-from-memory-sets-accessed");
	*cell = VAL_L1;
	if (ead_clear(&c, env, cap, eptp) &&
	    run_to_vmcall(&c, (u64)ept_l2_vmwrite_mem, ept_l2_vmwrite_mem_vmcall)) {
		ead_expect(&c, env, "the test page's PTE", test, 1, EPT_ACCESSED);
		ead_expect(&c, env, "PDE", test, 2, EPT_ACCESSED);
		if (vt_expect_res(&c, "VMPTRLD of the shadow VMCS", vt_vmptrld(shadow), VT_OK) &&
		    vt_expect_res(&c, "VMREAD of the shadow's GUEST_RIP", vt_vmread(GUEST_RIP, &v), VT_OK))
			vt_expect_eq(&c, "the shadow's GUEST_RIP after L2's VMWRITE", v, VAL_L1);
		vt_expect_res(&c, "VMPTRLD of L2's VMCS", vt_vmptrld(vmcs), VT_OK);
	}
	tg_end(&c);
	vt_wr(SECONDARY_VM_EXEC_CONTROL, vt_rd(SECONDARY_VM_EXEC_CONTROL) & ~SECONDARY_VMCS_SHADOWING);
	vt_wr(VMCS_LINK_POINTER, ~0ULL);
}

static void ead_checks(struct vt_env *env, u64 cap)
{
	u64 test = vt_pa(env, PG_TEST), other = vt_pa(env, PG_OTHER);
	u64 region = test & ~(PAGE_SIZE_2M - 1), big = LARGE_GPA + (other - region) + TEST_OFF;
	volatile u64 *cell = (u64 *)(test + TEST_OFF);
	u64 eptp;
	struct tg_check c;

	if (!(cap & EPT_CAP_AD)) {
		tg_skip("ead", "no EPT accessed/dirty flags (IA32_VMX_EPT_VPID_CAP bit 21 clear)");
		return;
	}
	eptp = ead_build(env);
	if (!eptp) {
		tg_skip("ead", "the work area's layout does not fit the A/D group's EPT12");
		return;
	}
	SetMem(&regs, sizeof(regs), 0);
	tg_begin(&c, "ead-eptp-bit6");
	if (cap & EPT_CAP_INVEPT_SINGLE)
		vt_expect_res(&c, "INVEPT single-context, EPTP bit 6", invept(INVEPT_SINGLE, eptp),
			      VT_OK);
	bool ok = ead_l2_setup(env, &c, eptp) &&
		  vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_VMCALL, (u64)ept_l2_vmcall) &&
		  vt_expect_eq(&c, "EPT_POINTER", vt_rd(EPT_POINTER), eptp);
	tg_end(&c);
	if (!ok)
		return;

	tg_begin(&c, "ead-read-sets-accessed");
	*cell = VAL_L1;
	regs.rdi = test + TEST_OFF;
	regs.rax = 0;
	if (ead_clear(&c, env, cap, eptp) && run_to_vmcall(&c, (u64)ept_l2_read, ept_l2_read_vmcall)) {
		vt_expect_eq(&c, "what L2 read", regs.rax, VAL_L1);
		ead_expect_read(&c, env);
	}
	tg_end(&c);

	tg_begin(&c, "ead-write-sets-dirty");
	regs.rsi = VAL_L2;
	if (run_to_vmcall(&c, (u64)ept_l2_write, ept_l2_write_vmcall)) {
		vt_expect_eq(&c, "L1's page after L2's write", *cell, VAL_L2);
		ead_expect(&c, env, "the test page's PTE", test, 1, EPT_AD);
		ead_expect(&c, env, "PDE", test, 2, EPT_ACCESSED);
	}
	tg_end(&c);

	tg_begin(&c, "ead-cleared-then-set-again");
	regs.rax = 0;
	if (ead_clear(&c, env, cap, eptp) && run_to_vmcall(&c, (u64)ept_l2_read, ept_l2_read_vmcall)) {
		vt_expect_eq(&c, "what L2 read", regs.rax, VAL_L2);
		ead_expect_read(&c, env);
		regs.rsi = VAL_L1_AGAIN;
		if (run_to_vmcall(&c, (u64)ept_l2_write, ept_l2_write_vmcall)) {
			vt_expect_eq(&c, "L1's page after L2's write", *cell, VAL_L1_AGAIN);
			ead_expect(&c, env, "the test page's PTE", test, 1, EPT_AD);
		}
	}
	tg_end(&c);

	/* A 2-MiB leaf takes the dirty flag itself. */
	tg_begin(&c, "ead-2m-leaf-dirty");
	*ead_entry(env, LARGE_GPA, 2) = region | EPT_RWX | LEAF_WB | EPT_LARGE;
	*(volatile u64 *)(other + TEST_OFF) = 0;
	regs.rdi = big;
	regs.rsi = VAL_OTHER;
	if (ead_clear(&c, env, cap, eptp) &&
	    run_to_vmcall(&c, (u64)ept_l2_write, ept_l2_write_vmcall)) {
		vt_expect_eq(&c, "the other page after L2's write", *(volatile u64 *)(other + TEST_OFF),
			     VAL_OTHER);
		ead_expect(&c, env, "the 2-MiB PDE", big, 2, EPT_AD);
		ead_expect(&c, env, "its PDPTE", big, 3, EPT_ACCESSED);
		ead_expect(&c, env, "the other page's own PTE", other, 1, 0);
		ead_expect(&c, env, "PTE of L2's PD", vt_pa(env, VT_PG_USER_PT + 2 + (int)(big >> 30)),
			   1, EPT_AD);
	}
	tg_end(&c);
	*ead_entry(env, LARGE_GPA, 2) = (LARGE_GPA & ~(PAGE_SIZE_2M - 1)) | EPT_RWX | LEAF_WB |
					EPT_LARGE;

	ead_walk_violation(env, cap, eptp);
	ead_shadow_checks(env, cap, eptp);
}

void vt_checks_ept(struct vt_env *env)
{
	struct vt_l2 l2 = {
		.rip = (u64)ept_l2_vmcall,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc2 = SECONDARY_ENABLE_EPT,
	};
	const u64 need = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_INVEPT;
	u64 cap = env->caps.proc2_1 & SECONDARY_ENABLE_EPT ?
		rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0, eptp;
	struct tg_check c;

	tg_printf("%s: note: IA32_VMX_EPT_VPID_CAP %lx\n", tg_prog, cap);
	if ((cap & need) != need || !(cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		tg_printf("%s: note: no EPT (4-level, WB, 2-MiB pages, INVEPT)\n", tg_prog);
		return;
	}
	eptp = ept_build(env);
	tg_begin(&c, "ept-vmcs-setup");
	bool ok = vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
		  tg_expect(&c, vt_wr(EPT_POINTER, eptp), "VMWRITE EPT_POINTER") &&
		  vt_expect_eq(&c, "secondary controls: enable EPT",
			       vt_rd(SECONDARY_VM_EXEC_CONTROL) & SECONDARY_ENABLE_EPT,
			       SECONDARY_ENABLE_EPT);
	tg_end(&c);
	if (!ok)
		return;
	invept_checks(env, cap, eptp);
	vt_vmptrld(vt_pa(env, VT_PG_VMCS_A));
	l2_ept_checks(env, cap, eptp);
	two_eptp_checks(env, cap, eptp);
	real_mode_checks(env, eptp);
	ead_checks(env, cap);
}
