/* Nested EPT: when L1 runs L2 with EPT (EPT12, in L1 memory, translating
 * L2-physical to L1-physical addresses), the hardware needs one EPT that
 * goes straight from L2-physical to host-physical: EPT02, the composition
 * of EPT12 and EPT01. L0 builds it lazily, a 4-KiB page at a time, on the
 * EPT violations L2 causes:
 *  - EPT12 allows the access: map it in EPT02 with EPT12's permissions and
 *    memory type (uncached where EPT01 says so) and resume L2;
 *  - EPT12 does not: reflect the EPT violation (or misconfiguration) to L1,
 *    as the CPU would have raised it with EPT12 (SDM 29.3.3).
 * An entry EPT12 drops or restricts must be invalidated by L1 with INVEPT
 * (SDM 29.4.3 "Guidelines for Use of the INVEPT Instruction"); L0 then
 * discards EPT02 and rebuilds it. EPT02 never maps the monitor's memory:
 * an EPT12 translation that lands there gets the sink page, as L1 would.
 *
 * With EPTP12 bit 6 (accessed and dirty flags, SDM 29.3.5) L0 sets the
 * flags in EPT12 that the CPU would have set: the accessed flag along the
 * path when it fills an EPT02 entry, and the leaf's dirty flag on the
 * first write. Until that flag is set, EPT02 maps the page without write
 * permission, so the first write exits to L0. EPT02 runs with bit 6 too:
 * the CPU then treats L2's accesses to its own paging structures as writes
 * (SDM 29.3.3.2), and those set the dirty flag in EPT12 as the SDM says.
 * L1 that clears a flag invalidates with INVEPT (SDM 29.4.3.1), which
 * discards EPT02, and the next access sets the flag again.
 *
 * With "enable PML" in VMCS12 (SDM 29.3.6) every 0-to-1 change of a dirty
 * flag happens here, so L0 logs it: L2's page into L1's PML log, or,
 * with the index outside 0-511, a log-full exit (reason 62) to L1 before
 * any flag is set. VMCS02 never enables the CPU's own PML. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <exit_reason.h>
#include <guest_state.h>
#include <nested/nested.h>
#include <nested/ept12.h>
#include <nested/guest_access.h>
#include <nested/vmcs12.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

#define EPT_CAP_EXEC_ONLY BIT(0)
#define EPT_CAP_2M BIT(16)
#define EPT_CAP_1G BIT(17)
/* Exit-qualification bits the nested violation keeps from the hardware's:
 * the access (2:0), the linear-address information (8:7), NMI unblocking
 * (12); bits 5:3 become EPT12's permissions (SDM 28.2.1, Table 28-7). */
#define EPT_QUAL_ACCESS 0x7ULL
#define EPT_QUAL_KEEP (EPT_QUAL_ACCESS | EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_TRANSLATION | \
		       EPT_QUAL_NMI_UNBLOCKING)
#define EPT_QUAL_PERMS_SHIFT 3
/* A walk that keeps meeting entries L1 changes under it gives up, and L2
 * executes the instruction again. */
#define EPT12_AD_TRIES 8

static void *ept02_alloc(void *ctx, u64 *pa)
{
	(void)ctx;
	void *p = pfa_alloc();
	*pa = (u64)p;
	return p;
}

static void *ept02_phys_to_virt(void *ctx, u64 pa)
{
	(void)ctx;
	return (void *)pa;
}

static void ept02_free(void *ctx, void *va, u64 pa)
{
	(void)ctx;
	(void)pa;
	pfa_free(va);
}

/* INVEPT all-context: nothing cached from the old EPT02 survives. */
static void invept_all(void)
{
	struct { u64 eptp, reserved; } desc = { 0, 0 };
	u64 type = 2;
	u8 fail;
	asm volatile("invept %1, %2; setbe %0" : "=qm"(fail) : "m"(desc), "r"(type) : "cc", "memory");
	if (fail)
		panic("INVEPT (all contexts) failed");
}

void nested_ept02_flush(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	if (!n->ept02_valid)
		return;
	ept_destroy(&n->ept02, ept02_free);
	n->ept02_valid = false;
	invept_all();
}

/* EPT02 for the EPTP in VMCS12: a fresh, empty one when L1 switched EPTs.
 * Returns EPT02's EPTP, or 0 when the monitor is out of memory. */
u64 nested_ept02_eptp(struct vcpu *v, u64 eptp12)
{
	struct nested_vcpu *n = &v->nested;
	const struct ept_mem_ops ops = { ept02_alloc, ept02_phys_to_virt, NULL };

	/* L1's accessed/dirty flags: EPT02's too (see the top). */
	u64 ad = eptp12 & EPT12_EPTP_AD;

	if (n->ept02_valid && n->ept02_key == eptp12)
		return ept_eptp(&n->ept02) | ad;
	nested_ept02_flush(v);
	if (ept_init(&n->ept02, &ops, false))
		return 0;
	n->ept02_valid = true;
	n->ept02_key = eptp12;
	return ept_eptp(&n->ept02) | ad;
}

/* What L0 walks in EPT12: what IA32_VMX_EPT_VPID_CAP offers L1. */
void nested_ept12_caps(u64 cap, struct ept12_caps *out)
{
	*out = (struct ept12_caps){
		.maxphyaddr = nested_maxphyaddr(),
		.exec_only = cap & EPT_CAP_EXEC_ONLY,
		.page_2m = cap & EPT_CAP_2M,
		.page_1g = cap & EPT_CAP_1G,
	};
}

/* The memory type for an L1-physical page: EPT01 says uncached for MMIO,
 * and that wins; otherwise EPT12's leaf decides. */
static u8 memtype_for(struct vcpu *v, u64 gpa1, const struct ept12_walk *w, u64 *ipat)
{
	int level;
	u64 *e01 = ept_lookup(&v->ept, gpa1, &level);
	if (!e01 || ((*e01 & EPT_MT_MASK) >> EPT_MT_SHIFT) == EPT_MT_UC) {
		*ipat = EPT_IGNORE_PAT;
		return EPT_MT_UC;
	}
	*ipat = w->ipat ? EPT_IGNORE_PAT : 0;
	return w->memtype;
}

/* ept12_set_ad's compare-exchange on L1's memory, where EPT01 maps L1
 * 1:1 (never the monitor's memory: nested_gpa_valid). */
static int cmpxchg_l1(void *ctx, u64 gpa, u64 old, u64 new)
{
	(void)ctx;
	if ((gpa & 7) || !nested_gpa_valid(gpa, 8))
		return -1;
	u64 seen = old;
	asm volatile("lock cmpxchgq %2, %1"
		     : "+a"(seen), "+m"(*(volatile u64 *)nested_gpa_ptr(gpa))
		     : "r"(new) : "cc", "memory");
	return seen == old ? 0 : 1;
}

/* A PML log entry into L1's memory; where L1 has no RAM (or the monitor
 * lives) it vanishes, as a store to memory that is not there. */
static void pml_store_l1(void *ctx, u64 gpa, u64 value)
{
	(void)ctx;
	if (nested_gpa_valid(gpa, 8))
		*(volatile u64 *)nested_gpa_ptr(gpa) = value;
}

static bool pml_enabled(const struct vmcs12 *c)
{
	return (c->cpu_based_vm_exec_control & CPU_BASED_ACTIVATE_SECONDARY) &&
	       (c->secondary_vm_exec_control & SECONDARY_ENABLE_PML);
}

/* Walks EPT12 for L2's access and, with accessed and dirty flags, sets
 * them (SDM 29.3.5) when EPT12 allows it; with "enable PML" it logs the
 * page whose dirty flag it set, or reports the log full before setting
 * anything (SDM 29.3.6). The PML index lives in VMCS12 (L0's copy: the
 * field is not in the hardware shadow VMCS, so L1's VMREAD of it reads
 * that copy). NESTED_MARK_RETRY when L1 kept changing the entries: L2
 * then simply tries again. */
enum nested_mark nested_ept12_walk_mark(struct vmcs12 *c, u64 gpa2, const struct ept12_caps *caps,
					u64 access, struct ept12_walk *w)
{
	u64 eptp12 = c->ept_pointer;
	struct ept12_pml pml = { c->pml_address, c->guest_pml_index, pml_store_l1 };
	struct ept12_pml *log = pml_enabled(c) ? &pml : NULL;

	for (int i = 0; i < EPT12_AD_TRIES; i++) {
		ept12_walk(eptp12, gpa2, caps, nested_read_l1, NULL, w);
		if (!(eptp12 & EPT12_EPTP_AD) || w->result != EPT12_OK || (access & ~(u64)w->perms))
			return NESTED_MARK_DONE;
		switch (ept12_set_ad_pml(w, access & EPT_W, gpa2, cmpxchg_l1, NULL, log)) {
		case EPT12_AD_DONE:
			c->guest_pml_index = pml.index;
			return NESTED_MARK_DONE;
		case EPT12_AD_LOG_FULL:
			return NESTED_MARK_LOG_FULL;
		case EPT12_AD_CHANGED:
			break;
		}
	}
	return NESTED_MARK_RETRY;
}

/* EPT12 maps L2's page with a 2-MiB or 1-GiB leaf (KVM does, where L2's
 * memory is backed by huge pages): the rest of that leaf's 2-MiB piece
 * around it goes into EPT02 at once, 4 KiB at a time, with the leaf's
 * permissions: one EPT violation instead of 512. The leaf's accessed flag
 * is set (the walk did); its dirty flag covers every page, so the pages
 * are writable only once it is set, and the write that sets it upgrades
 * the whole piece (OVERWRITE). Each page must be L1 RAM, takes EPT01's
 * memory type rule, and L1's bitmap pages stay read-only. */
#define PIECE (2ULL << 20)
static void fill_large_leaf(struct vcpu *v, const struct ept12_walk *w, u64 page2, bool ad, bool overwrite)
{
	struct nested_vcpu *n = &v->nested;
	u64 base2 = page2 & ~(PIECE - 1), delta = ALIGN_DOWN(w->gpa1, PAGE_SIZE) - page2;
	u64 perms = w->perms;
	if (ad && !(w->entry[w->entries - 1] & EPT12_DIRTY))
		perms &= ~(u64)EPT_W;
	for (u64 gpa2 = base2; gpa2 < base2 + PIECE; gpa2 += PAGE_SIZE) {
		u64 page1 = gpa2 + delta, ipat;
		if (gpa2 == page2 || !vmm_gpa_is_guest_ram(page1, PAGE_SIZE) ||
		    (!overwrite && ept_lookup(&n->ept02, gpa2, NULL)))
			continue;
		u8 mt = memtype_for(v, page1, w, &ipat);
		u64 p = nested_watch_ept02_perms(v, page1, perms, false);
		if (ept_map(&n->ept02, gpa2, page1, PAGE_SIZE, p | ipat, mt))
			return; /* out of monitor memory: the faults will do */
	}
}

enum nested_ept_action nested_ept_l2_exit(struct vcpu *v, u32 reason, u64 *qual)
{
	struct nested_vcpu *n = &v->nested;
	struct vmcs12 *c = n->cache;
	u64 gpa2 = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	bool ad = c->ept_pointer & EPT12_EPTP_AD;
	struct ept12_caps caps;
	struct ept12_walk w;
	nested_ept12_caps(n->caps.msr[NESTED_CAP(MSR_IA32_VMX_EPT_VPID_CAP)], &caps);

	if (reason == EXIT_REASON_EPT_MISCONFIG)
		panic("EPT misconfiguration in EPT02 at %lx: monitor bug", gpa2);
	/* With accessed and dirty flags, an access to L2's paging structures
	 * (linear address valid, not the translation's) is a write, and its
	 * violation sets both bits 0 and 1 (SDM 28.2.1, Table 28-7, note 1). */
	if (ad && (*qual & EPT_QUAL_GLA_VALID) && !(*qual & EPT_QUAL_GLA_TRANSLATION))
		*qual |= EPT_QUAL_READ | EPT_QUAL_WRITE;
	u64 access = *qual & EPT_QUAL_ACCESS;
	switch (nested_ept12_walk_mark(c, gpa2, &caps, access, &w)) {
	case NESTED_MARK_RETRY:
		return NESTED_EPT_HANDLED;
	case NESTED_MARK_LOG_FULL:
		/* SDM 28.2.1: NMI unblocking due to IRET (bit 12), the rest 0. */
		*qual &= EPT_QUAL_NMI_UNBLOCKING;
		return NESTED_EPT_REFLECT_PML_FULL;
	case NESTED_MARK_DONE:
		break;
	}
	if (w.result == EPT12_MISCONFIG || w.result == EPT12_NO_MEMORY)
		return NESTED_EPT_REFLECT_MISCONFIG;
	if (w.result == EPT12_NOT_PRESENT || (access & ~(u64)w.perms)) {
		*qual = (*qual & EPT_QUAL_KEEP) | ((u64)w.perms << EPT_QUAL_PERMS_SHIFT);
		return NESTED_EPT_REFLECT_VIOLATION;
	}

	u64 page2 = ALIGN_DOWN(gpa2, PAGE_SIZE), page1 = ALIGN_DOWN(w.gpa1, PAGE_SIZE);
	u64 hpa = page1, perms = w.perms, ipat;
	/* A clean page stays read-only in EPT02: its first write must reach
	 * L0 to set the dirty flag. */
	if (ad && !(w.entry[w.entries - 1] & EPT12_DIRTY))
		perms &= ~(u64)EPT_W;
	u8 mt = memtype_for(v, page1, &w, &ipat);
	if (vmm_gpa_in_monitor(page1, PAGE_SIZE)) {
		pr_info("L2 access through EPT12 to monitor memory at %lx: sink page mapped", page1);
		hpa = (u64)v->sink_page;
		perms &= EPT_R | EPT_W;
		mt = EPT_MT_WB;
		ipat = 0;
	}
	/* L1's bitmap pages stay read-only for L2 (bitmap_watch.c). */
	perms = nested_watch_ept02_perms(v, page1, perms, access & EPT_W);
	bool existed = ept_lookup(&n->ept02, page2, NULL) != NULL;
	if (ept_map(&n->ept02, page2, hpa, PAGE_SIZE, perms | ipat, mt)) {
		/* Out of monitor memory: start EPT02 afresh and retry once. */
		u64 key = n->ept02_key;
		nested_ept02_flush(v);
		u64 eptp02 = nested_ept02_eptp(v, key);
		if (!eptp02 || ept_map(&n->ept02, page2, hpa, PAGE_SIZE, perms | ipat, mt))
			guest_report_and_stop("out of monitor memory for L2's EPT02");
		vmcs_write(EPT_POINTER, eptp02);
		existed = false;
	}
	if (w.level > 1 && hpa == page1)
		fill_large_leaf(v, &w, page2, ad, existed);
	if (existed) /* a permission upgrade: the CPU may hold the old entries */
		invept_all();
	return NESTED_EPT_HANDLED;
}
