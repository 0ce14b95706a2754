/* vmxtest: page-modification logging (SDM 29.3.6), where "enable PML" is
 * allowed and EPT accessed/dirty flags are offered. VM-entry checks (SDM
 * 27.2.1.1); an L2 on the user page tables through an EPT12 with EPTP
 * bit 6 whose entries are all accessed and dirty but the data pages' (and,
 * for one check, the PTE of L2's PD page), so that only the accesses under
 * test set a dirty flag: each write that sets one logs L2's page at the
 * PML index, which then goes down; a read, or a write to a dirty page,
 * logs nothing; index 0 logs and wraps to FFFFH, and the next access that
 * needs a flag is a log-full exit (reason 62) with nothing set and the
 * write not done; L2's paging-structure accesses are writes and log the
 * page of the paging structure; a log where L1 has no RAM takes nothing
 * and the index still goes down. */
#include <efi.h>
#include <efilib.h>
#include <ept.h>
#include "vmxtest.h"

enum {
	PG_PML4 = VT_PG_SCRATCH, PG_PDPT, PG_PD, PG_PT = PG_PD + 4, PG_PT_U,
	PG_LOG, PG_DATA, PML_DATA_PAGES = 4,
	PG_END = PG_DATA + PML_DATA_PAGES
};
_Static_assert(PG_END <= VT_PG_SCRATCH + VT_SCRATCH_PAGES, "scratch pages");

#define EPT_AD (EPT_ACCESSED | EPT_DIRTY)
#define LEAF_WB ((u64)EPT_MT_WB << EPT_MT_SHIFT)
#define PML_INDEX_FIRST 511
#define PML_MARK 0x5a5a5a5a5a5a5a5aULL /* what the log holds before a check */
#define PML_ABSENT (16ULL << 30)       /* no RAM there (vmxtest_addr.c's region) */
#define VAL 0x1234567887654321ULL
#define UNALIGNED_OFF 0x128
#define VMCALL_LEN 3

/* L2: three writes of RAX (to RDI, RSI, RDX), or one read of RDI, then
 * VMCALL; aligned so that no instruction is fetched from a new page. */
asm(".pushsection .text\n"
    ".globl pml_l2_write3, pml_l2_w2, pml_l2_write3_vmcall, pml_l2_read, pml_l2_read_vmcall\n"
    ".hidden pml_l2_write3, pml_l2_w2, pml_l2_write3_vmcall, pml_l2_read, pml_l2_read_vmcall\n"
    ".balign 64\n"
    "pml_l2_write3:\n\tmovq %rax, (%rdi)\n"
    "pml_l2_w2:\n\tmovq %rax, (%rsi)\n"
    "\tmovq %rax, (%rdx)\n"
    "pml_l2_write3_vmcall:\n\tvmcall\n\tjmp pml_l2_write3\n"
    ".balign 64\n"
    "pml_l2_read:\n\tmovq (%rdi), %rbx\n"
    "pml_l2_read_vmcall:\n\tvmcall\n\tjmp pml_l2_read\n"
    ".popsection\n");
extern const u8 pml_l2_write3[], pml_l2_w2[], pml_l2_write3_vmcall[], pml_l2_read[],
	pml_l2_read_vmcall[];

static struct tg_regs regs;

static u64 *table(const struct vt_env *env, int page)
{
	return (u64 *)vt_page(env, page);
}

static u64 data(const struct vt_env *env, int i)
{
	return vt_pa(env, PG_DATA + i);
}

static volatile u64 *log_entry(const struct vt_env *env, u32 index)
{
	return (volatile u64 *)vt_page(env, PG_LOG) + index;
}

/* The EPT12 leaf (4-KiB PTE) of a page in the data or user-PT region. */
static u64 *pte(const struct vt_env *env, u64 gpa)
{
	int pt = (gpa >> 21) == (data(env, 0) >> 21) ? PG_PT : PG_PT_U;
	return &table(env, pt)[(gpa >> 12) & 511];
}

/* EPT12: 4 GiB identity, RWX, WB, 2-MiB leaves, with 4-KiB leaves for
 * the 2 MiB of the data pages and those of L2's page tables; every entry
 * accessed, every leaf dirty, but the data pages'. 0 if the layout does
 * not allow it. */
static u64 pml_build(const struct vt_env *env)
{
	u64 *pml4 = table(env, PG_PML4), *pdpt = table(env, PG_PDPT);
	u64 region = data(env, 0) & ~(PAGE_SIZE_2M - 1), upt = vt_pa(env, VT_PG_USER_PT);
	u64 uregion = upt & ~(PAGE_SIZE_2M - 1);

	if ((data(env, PML_DATA_PAGES - 1) & ~(PAGE_SIZE_2M - 1)) != region ||
	    ((upt + VT_USER_PT_PAGES * PAGE_SIZE - 1) & ~(PAGE_SIZE_2M - 1)) != uregion ||
	    (region >> 32) || (uregion >> 32))
		return 0;
	SetMem(pml4, PAGE_SIZE, 0);
	SetMem(pdpt, PAGE_SIZE, 0);
	pml4[0] = vt_pa(env, PG_PDPT) | EPT_RWX | EPT_ACCESSED;
	for (u64 i = 0; i < 4; i++) {
		u64 *pd = table(env, PG_PD + (int)i);
		pdpt[i] = vt_pa(env, PG_PD + (int)i) | EPT_RWX | EPT_ACCESSED;
		for (u64 j = 0; j < EPT_ENTRIES; j++)
			pd[j] = (i << 30 | j << 21) | EPT_RWX | LEAF_WB | EPT_LARGE | EPT_AD;
	}
	const struct { int pt; u64 region; } pts[] = { { PG_PT, region }, { PG_PT_U, uregion } };
	for (u32 n = 0; n < ARRAY_SIZE(pts); n++) {
		u64 r = pts[n].region, *pt = table(env, pts[n].pt);
		for (u64 k = 0; k < EPT_ENTRIES; k++)
			pt[k] = (r + k * PAGE_SIZE) | EPT_RWX | LEAF_WB | EPT_AD;
		table(env, PG_PD + (int)(r >> 30))[(r >> 21) & 511] = vt_pa(env, pts[n].pt) | EPT_RWX |
								     EPT_ACCESSED;
		if (region == uregion)
			break;
	}
	for (int i = 0; i < PML_DATA_PAGES; i++)
		*pte(env, data(env, i)) &= ~EPT_AD;
	return vt_pa(env, PG_PML4) | EPTP_MT_WB | EPTP_WALK_4 | EPTP_AD_ENABLE;
}

/* INVEPT after L1 cleared flags (SDM 29.4.3.1). */
static bool pml_invept(struct tg_check *c, u64 cap, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };
	u64 type = (cap & EPT_CAP_INVEPT_SINGLE) ? INVEPT_SINGLE : INVEPT_ALL;
	u8 fail;

	asm volatile("invept %1, %2; setbe %0" : "=qm"(fail) : "m"(desc), "r"(type) : "cc", "memory");
	return tg_expect(c, !fail, "INVEPT type %lu failed", type);
}

/* The data pages clean again (A and D clear), invalidated. */
static bool pml_clean(struct tg_check *c, const struct vt_env *env, u64 cap, u64 eptp)
{
	for (int i = 0; i < PML_DATA_PAGES; i++)
		*pte(env, data(env, i)) &= ~EPT_AD;
	return pml_invept(c, cap, eptp);
}

/* The log filled with PML_MARK and the index set. */
static bool pml_reset(struct tg_check *c, const struct vt_env *env, u64 index)
{
	SetMem(vt_page(env, PG_LOG), PAGE_SIZE, 0x5a);
	return tg_expect(c, vt_wr(GUEST_PML_INDEX, index), "VMWRITE GUEST_PML_INDEX");
}

static void expect_flags(struct tg_check *c, const struct vt_env *env, const char *what, u64 gpa,
			 u64 want)
{
	u64 e = *pte(env, gpa);
	tg_expect(c, (e & EPT_AD) == want, "%s: A/D %lx, expected %lx (entry %lx)", what,
		  (e & EPT_AD) >> 8, want >> 8, e);
}

/* Every log entry but those in [lo, hi] still holds the mark. */
static void expect_log_untouched(struct tg_check *c, const struct vt_env *env, u32 lo, u32 hi)
{
	for (u32 i = 0; i < 512; i++)
		if ((i < lo || i > hi) && *log_entry(env, i) != PML_MARK) {
			tg_expect(c, false, "log entry %u written: %lx", i, *log_entry(env, i));
			return;
		}
}

/* A log entry for an access within 'page': the page, bits 11:0 clear
 * (the message names no address: bochs_departs in nested.sh matches it). */
static void expect_entry(struct tg_check *c, const struct vt_env *env, u32 index, u64 page)
{
	u64 e = *log_entry(env, index);
	char what[40];

	tg_snprintf(what, sizeof(what), "log entry %u bits 63:12", index);
	vt_expect_eq(c, what, e & ~0xfffULL, page);
	tg_expect(c, !(e & 0xfff), "log entry %u: bits 11:0 set", index);
}

static bool run_to_vmcall(struct tg_check *c, u64 rip, const u8 *at, int resume)
{
	if (rip)
		vt_wr(GUEST_RIP, rip);
	if (!vt_expect_exit(c, vt_enter(&regs, resume), EXIT_REASON_VMCALL, (u64)at))
		return false;
	vt_wr(GUEST_RIP, (u64)at + VMCALL_LEN);
	return true;
}

static void write3(u64 a, u64 b, u64 d)
{
	regs.rax = VAL;
	regs.rdi = a;
	regs.rsi = b;
	regs.rdx = d;
}

/* SDM 27.2.1.1: "enable PML" needs "enable EPT"; the PML address must be
 * 4-KiB aligned and within the physical-address width. Leaves the VMCS
 * launched, PML on, when all went well. */
static bool pml_entry_checks(struct vt_env *env, u64 eptp)
{
	struct vt_l2 l2 = {
		.rip = (u64)pml_l2_read,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc2 = SECONDARY_ENABLE_PML,
	};
	u64 log = vt_pa(env, PG_LOG);
	struct tg_check c;

	tg_begin(&c, "pml-entry-checks");
	regs.rdi = data(env, 0);
	bool ok = vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
		  tg_expect(&c, vt_wr(PML_ADDRESS, log) && vt_wr(GUEST_PML_INDEX, PML_INDEX_FIRST),
			    "VMWRITE of the PML fields") &&
		  vt_expect_res(&c, "VMLAUNCH, PML without EPT", vt_enter(&regs, 0), VT_FAIL_VALID(7)) &&
		  tg_expect(&c, vt_wr(SECONDARY_VM_EXEC_CONTROL, SECONDARY_ENABLE_PML | SECONDARY_ENABLE_EPT) &&
				vt_wr(EPT_POINTER, eptp) &&
				vt_wr(GUEST_CR3, vt_pa(env, VT_PG_USER_PT)) &&
				vt_wr(GUEST_CR4, vt_rd(GUEST_CR4) & ~(CR4_SMEP | CR4_SMAP)),
			    "VMWRITE of EPT, EPTP, CR3 and CR4") &&
		  vt_wr(PML_ADDRESS, log + 8) &&
		  vt_expect_res(&c, "VMLAUNCH, PML address not 4-KiB aligned", vt_enter(&regs, 0),
				VT_FAIL_VALID(7)) &&
		  vt_wr(PML_ADDRESS, log | (1ULL << env->caps.maxphyaddr)) &&
		  vt_expect_res(&c, "VMLAUNCH, PML address beyond the physical-address width",
				vt_enter(&regs, 0), VT_FAIL_VALID(7)) &&
		  vt_wr(PML_ADDRESS, log) &&
		  run_to_vmcall(&c, 0, pml_l2_read_vmcall, 0) &&
		  vt_expect_eq(&c, "GUEST_PML_INDEX after a read", vt_rd(GUEST_PML_INDEX), PML_INDEX_FIRST);
	tg_end(&c);
	return ok;
}

static void pml_write_checks(struct vt_env *env, u64 cap, u64 eptp)
{
	struct tg_check c;

	/* Three clean pages: three entries, from index 511 down. */
	tg_begin(&c, "pml-logs-dirtied-pages");
	write3(data(env, 0), data(env, 1), data(env, 2));
	if (pml_clean(&c, env, cap, eptp) && pml_reset(&c, env, PML_INDEX_FIRST) &&
	    run_to_vmcall(&c, (u64)pml_l2_write3, pml_l2_write3_vmcall, 1)) {
		for (int i = 0; i < 3; i++) {
			char what[32];
			tg_snprintf(what, sizeof(what), "log entry %d", PML_INDEX_FIRST - i);
			vt_expect_eq(&c, what, *log_entry(env, PML_INDEX_FIRST - i), data(env, i));
			expect_flags(&c, env, "a written page's PTE", data(env, i), EPT_AD);
		}
		expect_flags(&c, env, "an untouched page's PTE", data(env, 3), 0);
		expect_log_untouched(&c, env, PML_INDEX_FIRST - 2, PML_INDEX_FIRST);
		vt_expect_eq(&c, "GUEST_PML_INDEX", vt_rd(GUEST_PML_INDEX), PML_INDEX_FIRST - 3);
		vt_expect_eq(&c, "the last page written", *(volatile u64 *)data(env, 2), VAL);
	}
	tg_end(&c);

	/* A page already dirty: its flag does not change, nothing logged. */
	tg_begin(&c, "pml-dirty-page-not-logged");
	write3(data(env, 1) + 0x40, data(env, 1) + 0x48, data(env, 1) + 0x50);
	if (pml_reset(&c, env, PML_INDEX_FIRST - 3) &&
	    run_to_vmcall(&c, (u64)pml_l2_write3, pml_l2_write3_vmcall, 1)) {
		expect_log_untouched(&c, env, 1, 0);
		vt_expect_eq(&c, "GUEST_PML_INDEX", vt_rd(GUEST_PML_INDEX), PML_INDEX_FIRST - 3);
	}
	tg_end(&c);

	/* A read sets the accessed flag only: nothing logged. */
	tg_begin(&c, "pml-read-not-logged");
	regs.rdi = data(env, 3);
	if (pml_reset(&c, env, PML_INDEX_FIRST - 3) &&
	    run_to_vmcall(&c, (u64)pml_l2_read, pml_l2_read_vmcall, 1)) {
		expect_flags(&c, env, "the page read's PTE", data(env, 3), EPT_ACCESSED);
		expect_log_untouched(&c, env, 1, 0);
		vt_expect_eq(&c, "GUEST_PML_INDEX", vt_rd(GUEST_PML_INDEX), PML_INDEX_FIRST - 3);
	}
	tg_end(&c);

	/* "Bits 11:0 of the value written are always 0." */
	tg_begin(&c, "pml-entry-4k-aligned");
	write3(data(env, 3) + UNALIGNED_OFF, data(env, 3) + UNALIGNED_OFF,
	       data(env, 3) + UNALIGNED_OFF);
	if (pml_reset(&c, env, 7) &&
	    run_to_vmcall(&c, (u64)pml_l2_write3, pml_l2_write3_vmcall, 1)) {
		expect_entry(&c, env, 7, data(env, 3));
		vt_expect_eq(&c, "GUEST_PML_INDEX", vt_rd(GUEST_PML_INDEX), 6);
	}
	tg_end(&c);
}

/* Index 0: the entry goes to the log's start and the index wraps to
 * FFFFH; the next write that needs a flag is a log-full exit, before the
 * flag is set or the write done; L1 resets the index and L2 goes on. */
static void pml_full_checks(struct vt_env *env, u64 cap, u64 eptp)
{
	volatile u64 *second = (volatile u64 *)data(env, 1);
	struct tg_check c;

	tg_begin(&c, "pml-index-0-wraps-then-log-full");
	write3(data(env, 0), data(env, 1), data(env, 1));
	*second = 0;
	bool full = false;
	if (pml_clean(&c, env, cap, eptp) && pml_reset(&c, env, 0)) {
		vt_wr(GUEST_RIP, (u64)pml_l2_write3);
		full = vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_PML_FULL, (u64)pml_l2_w2);
	}
	if (full) {
		vt_expect_eq(&c, "exit qualification", vt_rd(EXIT_QUALIFICATION), 0);
		vt_expect_eq(&c, "log entry 0", *log_entry(env, 0), data(env, 0));
		expect_log_untouched(&c, env, 0, 0);
		vt_expect_eq(&c, "GUEST_PML_INDEX", vt_rd(GUEST_PML_INDEX), 0xffff);
		expect_flags(&c, env, "the first page's PTE", data(env, 0), EPT_AD);
		expect_flags(&c, env, "the second page's PTE", data(env, 1), 0);
		vt_expect_eq(&c, "the second page (write not done)", *second, 0);
	}
	tg_end(&c);
	if (!full)
		return;

	tg_begin(&c, "pml-log-full-resume");
	if (pml_reset(&c, env, PML_INDEX_FIRST) &&
	    run_to_vmcall(&c, 0, pml_l2_write3_vmcall, 1)) {
		vt_expect_eq(&c, "the second page", *second, VAL);
		vt_expect_eq(&c, "log entry 511", *log_entry(env, PML_INDEX_FIRST), data(env, 1));
		expect_log_untouched(&c, env, PML_INDEX_FIRST, PML_INDEX_FIRST);
		vt_expect_eq(&c, "GUEST_PML_INDEX", vt_rd(GUEST_PML_INDEX), PML_INDEX_FIRST - 1);
		expect_flags(&c, env, "the second page's PTE", data(env, 1), EPT_AD);
	}
	tg_end(&c);
}

/* L2's walk through a PD page whose EPT12 leaf is clean: with EPTP bit 6
 * the access is a write (SDM 29.3.3.2), sets the leaf's dirty flag and
 * logs the PD page (bits 11:0 clear). */
static void pml_paging_structure_check(struct vt_env *env, u64 cap, u64 eptp)
{
	u64 pd = vt_pa(env, VT_PG_USER_PT + 2 + (int)(data(env, 0) >> 30));
	u64 *e = pte(env, pd);
	struct tg_check c;

	tg_begin(&c, "pml-paging-structure-dirty-logged");
	*e &= ~EPT_AD;
	regs.rdi = data(env, 0);
	if (pml_invept(&c, cap, eptp) && pml_reset(&c, env, PML_INDEX_FIRST) &&
	    run_to_vmcall(&c, (u64)pml_l2_read, pml_l2_read_vmcall, 1)) {
		expect_entry(&c, env, PML_INDEX_FIRST, pd);
		expect_log_untouched(&c, env, PML_INDEX_FIRST, PML_INDEX_FIRST);
		vt_expect_eq(&c, "GUEST_PML_INDEX", vt_rd(GUEST_PML_INDEX), PML_INDEX_FIRST - 1);
		expect_flags(&c, env, "the PD page's PTE", pd, EPT_AD);
	}
	tg_end(&c);
	*e |= EPT_AD;
}

/* A PML address where L1 has no RAM: the entry goes nowhere, the flag is
 * set and the index goes down as ever. */
static void pml_absent_check(struct vt_env *env, u64 cap, u64 eptp)
{
	struct tg_check c;

	if (env->caps.maxphyaddr <= 34) {
		tg_skip("pml-log-outside-ram", "MAXPHYADDR too small for 16 GiB");
		return;
	}
	tg_begin(&c, "pml-log-outside-ram");
	write3(data(env, 2), data(env, 2), data(env, 2));
	if (pml_clean(&c, env, cap, eptp) && pml_reset(&c, env, PML_INDEX_FIRST) &&
	    tg_expect(&c, vt_wr(PML_ADDRESS, PML_ABSENT), "VMWRITE PML_ADDRESS") &&
	    run_to_vmcall(&c, (u64)pml_l2_write3, pml_l2_write3_vmcall, 1)) {
		vt_expect_eq(&c, "GUEST_PML_INDEX", vt_rd(GUEST_PML_INDEX), PML_INDEX_FIRST - 1);
		expect_flags(&c, env, "the page's PTE", data(env, 2), EPT_AD);
		expect_log_untouched(&c, env, 1, 0);
	}
	tg_end(&c);
	vt_wr(PML_ADDRESS, vt_pa(env, PG_LOG));
}

void vt_checks_pml(struct vt_env *env)
{
	const u64 need = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_INVEPT | EPT_CAP_AD;
	u64 cap = env->caps.proc2_1 & SECONDARY_ENABLE_EPT ? rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0;
	u64 eptp;

	if (!(env->caps.proc2_1 & SECONDARY_ENABLE_PML)) {
		tg_skip("pml", "no PML (IA32_VMX_PROCBASED_CTLS2 bit 49 clear)");
		return;
	}
	if ((cap & need) != need || !(cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		tg_skip("pml", "no EPT with accessed/dirty flags (4-level, WB, 2-MiB pages, INVEPT)");
		return;
	}
	eptp = pml_build(env);
	if (!eptp) {
		tg_skip("pml", "the work area's layout does not fit the PML group's EPT12");
		return;
	}
	SetMem(&regs, sizeof(regs), 0);
	if (!pml_entry_checks(env, eptp))
		return;
	pml_write_checks(env, cap, eptp);
	pml_full_checks(env, cap, eptp);
	pml_paging_structure_check(env, cap, eptp);
	pml_absent_check(env, cap, eptp);
	vt_vmclear(vt_pa(env, VT_PG_VMCS_A));
}
