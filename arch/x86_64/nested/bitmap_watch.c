/* L1's I/O and MSR bitmaps are read when they are used. The CPU decides
 * each I/O instruction, RDMSR and WRMSR of L2 by the bitmap's contents at
 * that moment (SDM 26.1.3), but VMCS02 holds a copy merged with L0's own
 * bits at the nested VM entry (vmcs02.c). Between two entries L1 does not
 * run, so only L2 can change L1's bitmap page under the copy (when L1
 * maps it into L2). L0 therefore keeps the pages "watched" while L2 runs:
 *  - read-only for L2: EPT02 maps them without write permission
 *    (nested_ept.c asks nested_watch_ept02_perms); an L2 on EPT01 (L1
 *    without EPT) finds them write-protected in EPT01, and L1's own writes
 *    there just lift the protection until the next nested entry;
 *  - when L2 writes one anyway, L0 lets the write happen and stops using
 *    the copies: VMCS02's bitmaps become all ones, so L2's next I/O
 *    instruction or MSR access exits to L0, which decides it by L1's page
 *    at that moment (reflect.c). If L1 wants the exit, L1 gets it (the
 *    next nested entry merges afresh). If not, L0 merges fresh copies,
 *    makes the pages read-only again and lets L2 retry the instruction,
 *    which the CPU then decides by the fresh copy.
 * So every access is decided by the bitmap's contents when it happens,
 * with no instruction emulated, and without monitor trap flag (which
 * Bochs's CPU model does not have) to catch the end of L2's write.
 *
 * The pages stay write-protected in EPT01 between entries too, with or
 * without EPT12: L1's first write to one lifts the protection, and that
 * is how L0 knows its merged copy is stale. A nested entry whose bitmap
 * pages nobody wrote since the last merge keeps the copies (vmcs02.c,
 * nested_watch_copy_fresh): hypervisors write their bitmaps rarely and
 * enter L2 often. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <ept.h>
#include <guest_state.h>
#include <nested/nested.h>
#include <nested/guest_access.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

#define NOT_WATCHED (~0ULL)

static int watched(const struct nested_vcpu *n, u64 page)
{
	for (int i = 0; i < NESTED_WATCHED; i++)
		if (n->watch[i] == page)
			return i;
	return -1;
}

/* EPT01's leaf for an L1 page, with or without write permission (the
 * memory type and ignore-PAT bit kept). */
static void ept01_writable(struct vcpu *v, u64 page, bool writable)
{
	u64 *e = ept_lookup(&v->ept, page, NULL);
	if (!e)
		return;
	u8 mt = (u8)((*e & EPT_MT_MASK) >> EPT_MT_SHIFT);
	u64 perms = (writable ? EPT_RWX : EPT_R | EPT_X) | (*e & EPT_IGNORE_PAT);
	if (ept_map(&v->ept, page, page, PAGE_SIZE, perms, mt))
		guest_report_and_stop("out of monitor memory for EPT");
	ept_invalidate(v);
}

/* VMCS02 stops trusting its merged copies (VMCS02 current). */
static void start_consulting(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	const struct vmcs12 *c = n->cache;
	if (n->consulting)
		return;
	n->consulting = true;
	n->watch_settled = false;
	if (c->cpu_based_vm_exec_control & CPU_BASED_USE_MSR_BITMAPS)
		vmcs_write(MSR_BITMAP, (u64)n->ones_page);
	if (c->cpu_based_vm_exec_control & CPU_BASED_USE_IO_BITMAPS) {
		vmcs_write(IO_BITMAP_A, (u64)n->ones_page);
		vmcs_write(IO_BITMAP_B, (u64)n->ones_page);
	}
	pr_info("L2 wrote L1's I/O or MSR bitmap: its accesses exit to L0 until L1's next VM entry");
}

void nested_watch_entry(struct vcpu *v, const struct vmcs12 *c, bool controls_same)
{
	struct nested_vcpu *n = &v->nested;
	u32 proc = c->cpu_based_vm_exec_control;
	u64 want[NESTED_WATCHED] = { NOT_WATCHED, NOT_WATCHED, NOT_WATCHED };

	/* The bitmap addresses are control fields: with those unchanged
	 * since the last entry, and every page it watched still watched as
	 * it left them, there is nothing to do. */
	if (controls_same && n->watch_settled)
		return;

	if ((proc & CPU_BASED_USE_MSR_BITMAPS) && nested_gpa_valid(c->msr_bitmap, PAGE_SIZE))
		want[0] = c->msr_bitmap;
	if ((proc & CPU_BASED_USE_IO_BITMAPS) && nested_gpa_valid(c->io_bitmap_a, PAGE_SIZE))
		want[1] = c->io_bitmap_a;
	if ((proc & CPU_BASED_USE_IO_BITMAPS) && nested_gpa_valid(c->io_bitmap_b, PAGE_SIZE))
		want[2] = c->io_bitmap_b;
	bool ept12 = nested_l1_uses_ept(c);

	/* EPT02 may map the pages writable: L2 wrote one, or they were not
	 * watched when it was filled. Start it afresh (rare: hypervisors
	 * keep their bitmaps where they are). */
	if (n->consulting || memcmp(want, n->watch, sizeof(want)))
		n->ept02_watch_ok = false;
	if (ept12 && !n->ept02_watch_ok) {
		nested_ept02_flush(v);
		n->ept02_watch_ok = true;
	}
	n->consulting = false;
	/* The pages are write-protected in EPT01 (once, if two slots share
	 * one). Without EPT12, L2 runs on EPT01 and reaches every page of L1:
	 * that keeps it from writing them unseen. With EPT12 or without, it
	 * tells L0 that L1 wrote one: until then the merged copy is still
	 * right and the next entry keeps it (nested_watch_copy_fresh). */
	for (int i = 0; i < NESTED_WATCHED; i++) {
		if (n->watch_ept01[i] && n->watch[i] != want[i]) {
			ept01_writable(v, n->watch[i], true);
			n->watch_ept01[i] = false;
		}
		n->watch[i] = want[i];
	}
	for (int i = 0; i < NESTED_WATCHED; i++) {
		if (want[i] == NOT_WATCHED || n->watch_ept01[i] || watched(n, want[i]) < i)
			continue;
		ept01_writable(v, want[i], false);
		n->watch_ept01[i] = true;
	}
	n->watch_settled = true;
}

u64 nested_watch_ept02_perms(struct vcpu *v, u64 page1, u64 perms, bool write)
{
	struct nested_vcpu *n = &v->nested;
	if (!(perms & EPT_W) || watched(n, page1) < 0 || n->consulting)
		return perms;
	if (!write)
		return perms & ~EPT_W;
	start_consulting(v);
	return perms;
}

bool nested_watch_ept01_write(struct vcpu *v, u64 gpa, bool write)
{
	struct nested_vcpu *n = &v->nested;
	u64 page = ALIGN_DOWN(gpa, PAGE_SIZE);
	if (!write || watched(n, page) < 0)
		return false;
	bool was = false;
	for (int i = 0; i < NESTED_WATCHED; i++)
		if (n->watch[i] == page && n->watch_ept01[i]) {
			n->watch_ept01[i] = false;
			n->watch_settled = false;
			was = true;
		}
	if (!was)
		return false;
	ept01_writable(v, page, true);
	if (n->in_l2)
		start_consulting(v);
	return true;
}

void nested_watch_rearm(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	const struct vmcs12 *c = n->cache;

	n->consulting = false;
	nested_vmcs02_bitmaps(v, true);
	if (nested_l1_uses_ept(c)) {
		/* No reverse map from L1 pages to EPT02 entries: EPT02 starts
		 * afresh, and its fills see the pages read-only. */
		u64 key = n->ept02_key;
		nested_ept02_flush(v);
		u64 eptp = nested_ept02_eptp(v, key);
		if (!eptp)
			guest_report_and_stop("out of monitor memory for L2's EPT02");
		vmcs_write(EPT_POINTER, eptp);
		n->ept02_watch_ok = true;
		return;
	}
	for (int i = 0; i < NESTED_WATCHED; i++) {
		if (n->watch[i] == NOT_WATCHED || n->watch_ept01[i] || watched(n, n->watch[i]) < i)
			continue;
		ept01_writable(v, n->watch[i], false);
		n->watch_ept01[i] = true;
	}
}
