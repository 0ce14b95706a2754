/* Fuzz target: the EPT12 walk (arch/x86_64/nested/ept12.c) over a small
 * fake L1 memory the input lays out, against a reference walk written
 * here from SDM Vol. 3C 29.3.2 "EPT Translation Mechanism" (the EPTP's
 * bits 51:12 locate the PML4 table; an entry's bits 2:0 = 000b is not
 * present; bit 7 maps a 1-GByte page in a PDPTE and a 2-MByte page in a
 * PDE, reserved in a PML4E; the formats' reserved bits: 7:3 in an entry
 * that references a table, 29:12 / 20:12 below a 1-GByte / 2-MByte page,
 * 51:MAXPHYADDR everywhere) and 29.3.3.1 "EPT Misconfigurations" (bits
 * 2:0 = 010b or 110b; 100b without execute-only support; a reserved bit
 * in a present entry; leaf memory type 2, 3 or 7).
 *
 * Input: u64 EPTP, u64 gpa2, u8 caps (bit 0 execute-only, bit 1 1-GByte
 * pages, bit 2 2-MByte pages, bit 3 point the EPTP at page 0, bit 4 the
 * access is a write, bits 7:5 r: another CPU changes the entry of the
 * r-th compare-exchange just before it, 0 never), u8
 * MAXPHYADDR (32 + n % 21), then the pages and their entries
 * (fuzz_pages.h: u8 pages (1 + n % 8), one u16 frame number per page,
 * then entries of 12 bytes: u8 page, u8 target (bit 7 set: a pointer to
 * page target % 128), u16 slot (bits 8:0), u64 value). Unwritten entries
 * are 0.
 *
 * Bit 7 of an EPT PTE is ignored (SDM Table 29-6); the fuzzer once found
 * the walk taking it for reserved (docs/fuzzing.md, EPT12-PTE-BIT7), and
 * its input is a seed (tests/fuzz/known/).
 *
 * Properties: every read the walk makes is 8 bytes, 8-byte aligned, at
 * most 4 of them; the first is in the table the EPTP names and each next
 * one in the table the entry just read names; EPT12_NO_MEMORY exactly when
 * the last read failed (memory the callback does not own); the result,
 * and for EPT12_OK the gpa1 (the leaf's address bits plus gpa2's offset
 * within the page size), perms (AND of bits 2:0 over the path), memory
 * type, ignore-PAT bit and level equal the reference's; the walk's record
 * of its path (entries, their addresses and values) is the reads' trace.
 *
 * Accessed and dirty flags (SDM 29.3.5), after a walk that translated:
 * ept12_set_ad() against a reference that updates a copy of the memory
 * entry by entry along the path (accessed flag in each, dirty flag in the
 * leaf on a write; a table that maps itself meets its updated entry
 * again). Properties: one compare-exchange per entry whose value changes
 * and none otherwise, 8 bytes at the entry's address, expecting the value
 * memory holds; the memory afterwards equals the reference's, nothing
 * else written; "dirtied" exactly when the leaf's dirty flag went from 0
 * to 1; an entry changed under it (the race) ends with EPT12_AD_CHANGED,
 * the racer's value kept, no later entry touched. */
#include "fuzz.h"
#include <nested/ept12.h>
#include "fuzz_pages.h" /* mem, npages, owner(), fuzz_pages(), put_entry() */

/* The walk's reads, as the callback saw them. */
static struct {
	u64 gpa;
	u32 len;
	int rc;
	u64 value;
} trace[16];
static unsigned int ntrace;

static int read_mem(void *ctx, u64 gpa, void *buf, u32 len)
{
	int page = owner(gpa);

	(void)ctx;
	if (ntrace >= 16)
		fuzz_fail("more than 16 reads");
	trace[ntrace].gpa = gpa;
	trace[ntrace].len = len;
	FUZZ_CHECK(len == 8 && !(gpa & 7), "read of %u bytes at %#llx (want 8, aligned)", len,
		   (unsigned long long)gpa);
	if (page < 0) {
		trace[ntrace++].rc = -1;
		return -1;
	}
	trace[ntrace].rc = 0;
	trace[ntrace].value = mem[page].e[(gpa & 0xfff) / 8];
	memcpy(buf, &trace[ntrace].value, 8);
	ntrace++;
	return 0;
}

/* The compare-exchanges ept12_set_ad makes, and the race it meets. */
static unsigned int ncx, race_at;
#define RACE_BIT (1ULL << 10) /* an ignored bit another CPU's L1 flips */
#define AD_A (1ULL << 8)
#define AD_D (1ULL << 9)

static int cmpxchg_mem(void *ctx, u64 gpa, u64 old, u64 new)
{
	int page = owner(gpa);

	(void)ctx;
	ncx++;
	FUZZ_CHECK(!(gpa & 7) && page >= 0, "compare-exchange at %#llx, not an entry the walk read",
		   (unsigned long long)gpa);
	u64 *e = &mem[page].e[(gpa & 0xfff) / 8];
	if (ncx == race_at)
		*e ^= RACE_BIT;
	if (*e != old)
		return 1;
	*e = new;
	return 0;
}

static u64 bits(unsigned int hi, unsigned int lo)
{
	return ((hi >= 63) ? ~0ULL : ((1ULL << (hi + 1)) - 1)) & ~((1ULL << lo) - 1);
}

static void ref_walk(u64 eptp, u64 gpa2, const struct ept12_caps *c, struct ept12_walk *w)
{
	u64 table = eptp & ADDR_51_12;
	u8 perms = 7;

	memset(w, 0, sizeof(*w));
	for (int level = 4; level >= 1; level--) {
		u64 gpa = table + ((gpa2 >> (12 + 9 * (level - 1))) & 0x1ff) * 8;
		int page = owner(gpa);
		u64 e, rsvd = 0;
		unsigned int rwx;
		bool leaf;

		if (page < 0) {
			w->result = EPT12_NO_MEMORY;
			return;
		}
		e = mem[page].e[(gpa & 0xfff) / 8];
		rwx = e & 7;
		if (!rwx) {
			w->result = EPT12_NOT_PRESENT;
			return;
		}
		if (rwx == 2 || rwx == 6 || (rwx == 4 && !c->exec_only)) {
			w->result = EPT12_MISCONFIG;
			return;
		}
		if (c->maxphyaddr < 52)
			rsvd |= bits(51, c->maxphyaddr);
		leaf = level == 1 || ((e & (1ULL << 7)) &&
				      ((level == 2 && c->page_2m) || (level == 3 && c->page_1g)));
		if (!leaf)
			rsvd |= bits(7, 3); /* incl. bit 7 of a PML4E or without the page size */
		else if (level == 2)
			rsvd |= bits(20, 12);
		else if (level == 3)
			rsvd |= bits(29, 12);
		if ((e & rsvd) || (leaf && ((e >> 3) & 7) != 0 && (((e >> 3) & 7) == 2 ||
		    ((e >> 3) & 7) == 3 || ((e >> 3) & 7) == 7))) {
			w->result = EPT12_MISCONFIG;
			return;
		}
		perms &= (u8)rwx;
		if (leaf) {
			u64 size = 1ULL << (12 + 9 * (level - 1));

			w->result = EPT12_OK;
			w->gpa1 = (e & ADDR_51_12 & ~(size - 1)) | (gpa2 & (size - 1));
			w->perms = perms;
			w->memtype = (e >> 3) & 7;
			w->ipat = e & (1ULL << 6);
			w->level = level;
			return;
		}
		table = e & ADDR_51_12;
	}
}

/* SDM 29.3.5 on a copy of the memory: each entry of the path, in order,
 * as memory holds it at that moment. The r-th entry that changes meets
 * the race instead. Returns EPT12_AD_DONE or EPT12_AD_CHANGED. */
static enum ept12_ad_result ref_set_ad(u64 (*copy)[512], bool write, unsigned int race,
				       bool *dirtied)
{
	unsigned int changes = 0;

	*dirtied = false;
	for (unsigned int i = 0; i < ntrace; i++) {
		u64 *e = &copy[owner(trace[i].gpa)][(trace[i].gpa & 0xfff) / 8];
		bool leaf = i == ntrace - 1;
		u64 want = *e | AD_A | (leaf && write ? AD_D : 0);

		if (want == *e)
			continue;
		if (++changes == race) {
			*e ^= RACE_BIT;
			return EPT12_AD_CHANGED;
		}
		if (leaf && write && !(*e & AD_D))
			*dirtied = true;
		*e = want;
	}
	return EPT12_AD_DONE;
}

static void check_set_ad(struct ept12_walk *w, bool write, unsigned int race)
{
	static u64 copy[MAX_PAGES][512];
	bool dirtied, ref_dirtied;

	for (unsigned int i = 0; i < npages; i++)
		memcpy(copy[i], mem[i].e, sizeof(copy[i]));
	/* The walk's own record is the trace. */
	FUZZ_CHECK(w->entries == (int)ntrace, "walk recorded %d entries, read %u", w->entries, ntrace);
	for (unsigned int i = 0; i < ntrace; i++)
		FUZZ_CHECK(w->entry_gpa[i] == trace[i].gpa && w->entry[i] == trace[i].value,
			   "entry %u recorded as %#llx at %#llx, read %#llx at %#llx", i,
			   (unsigned long long)w->entry[i], (unsigned long long)w->entry_gpa[i],
			   (unsigned long long)trace[i].value, (unsigned long long)trace[i].gpa);

	ncx = 0;
	race_at = race;
	enum ept12_ad_result r = ept12_set_ad(w, write, cmpxchg_mem, NULL, &dirtied);
	enum ept12_ad_result ref = ref_set_ad(copy, write, race, &ref_dirtied);

	FUZZ_CHECK(r == ref, "ept12_set_ad %s, the reference %s (write %d, race at %u)",
		   r == EPT12_AD_DONE ? "DONE" : "CHANGED", ref == EPT12_AD_DONE ? "DONE" : "CHANGED",
		   write, race);
	for (unsigned int i = 0; i < npages; i++)
		for (unsigned int k = 0; k < 512; k++)
			FUZZ_CHECK(mem[i].e[k] == copy[i][k],
				   "page %u entry %u: %#llx after ept12_set_ad, the SDM says %#llx", i, k,
				   (unsigned long long)mem[i].e[k], (unsigned long long)copy[i][k]);
	if (r == EPT12_AD_DONE) {
		FUZZ_CHECK(dirtied == ref_dirtied, "dirtied %d, the reference %d", dirtied, ref_dirtied);
		const u64 leaf = w->entry[w->entries - 1];
		FUZZ_CHECK(leaf == mem[owner(trace[ntrace - 1].gpa)].e[(trace[ntrace - 1].gpa & 0xfff) / 8],
			   "recorded leaf %#llx is not what memory holds", (unsigned long long)leaf);
	}
}

static const char *res_name(enum ept12_result r)
{
	switch (r) {
	case EPT12_OK: return "OK";
	case EPT12_NOT_PRESENT: return "NOT_PRESENT";
	case EPT12_MISCONFIG: return "MISCONFIG";
	case EPT12_NO_MEMORY: return "NO_MEMORY";
	}
	return "?";
}

static void fuzz_one(struct fz *z)
{
	u64 eptp = fz_u64(z), gpa2 = fz_u64(z);
	u8 cb = fz_u8(z);
	struct ept12_caps caps = {
		.exec_only = cb & 1, .page_1g = cb & 2, .page_2m = cb & 4,
		.maxphyaddr = 32 + fz_u8(z) % 21,
	};
	struct ept12_walk w, ref;

	fuzz_pages(z);
	if (cb & 8)
		eptp = (eptp & ~ADDR_51_12) | mem[0].gpa;

	ntrace = 0;
	memset(&w, 0xa5, sizeof(w));
	ept12_walk(eptp, gpa2, &caps, read_mem, NULL, &w);
	ref_walk(eptp, gpa2, &caps, &ref);

	/* The reads follow the path. */
	FUZZ_CHECK(ntrace >= 1 && ntrace <= 4, "%u reads", ntrace);
	FUZZ_CHECK((trace[0].gpa & ~0xfffULL) == (eptp & ADDR_51_12),
		   "first read %#llx is not in the PML4 table at %#llx",
		   (unsigned long long)trace[0].gpa, (unsigned long long)(eptp & ADDR_51_12));
	for (unsigned int i = 1; i < ntrace; i++)
		FUZZ_CHECK(trace[i - 1].rc == 0 &&
			   (trace[i].gpa & ~0xfffULL) == (trace[i - 1].value & ADDR_51_12),
			   "read %u at %#llx is not in the table entry %#llx names", i,
			   (unsigned long long)trace[i].gpa, (unsigned long long)trace[i - 1].value);
	FUZZ_CHECK((w.result == EPT12_NO_MEMORY) == (trace[ntrace - 1].rc != 0),
		   "result %s, last read %s", res_name(w.result),
		   trace[ntrace - 1].rc ? "failed" : "succeeded");

	FUZZ_CHECK(w.result == ref.result, "EPTP %#llx gpa2 %#llx: %s, the SDM says %s",
		   (unsigned long long)eptp, (unsigned long long)gpa2, res_name(w.result),
		   res_name(ref.result));
	if (w.result == EPT12_OK) {
		const u64 leaf = trace[ntrace - 1].value;
		u64 size = 1ULL << (12 + 9 * (w.level - 1));
		u8 and = 7;

		for (unsigned int i = 0; i < ntrace; i++)
			and &= trace[i].value & 7;
		FUZZ_CHECK(w.level == 5 - (int)ntrace, "level %d after %u reads", w.level, ntrace);
		/* gpa1 comes from the leaf entry it was given. */
		FUZZ_CHECK((w.gpa1 & ~(size - 1)) == (leaf & ADDR_51_12 & ~(size - 1)) &&
			   (w.gpa1 & (size - 1)) == (gpa2 & (size - 1)),
			   "gpa1 %#llx is not leaf %#llx + offset of gpa2 %#llx",
			   (unsigned long long)w.gpa1, (unsigned long long)leaf,
			   (unsigned long long)gpa2);
		FUZZ_CHECK(w.perms == and, "perms %u, the path's AND is %u", w.perms, and);
		FUZZ_CHECK(w.gpa1 == ref.gpa1 && w.perms == ref.perms && w.memtype == ref.memtype &&
			   w.ipat == ref.ipat && w.level == ref.level,
			   "translation differs from the reference: gpa1 %#llx/%#llx level %d/%d "
			   "memtype %u/%u ipat %d/%d", (unsigned long long)w.gpa1,
			   (unsigned long long)ref.gpa1, w.level, ref.level, w.memtype, ref.memtype,
			   w.ipat, ref.ipat);
		check_set_ad(&w, cb & 16, cb >> 5);
	} else {
		FUZZ_CHECK(w.entries == (int)ntrace - (w.result == EPT12_NO_MEMORY),
			   "walk recorded %d entries after %u reads", w.entries, ntrace);
	}
}

/* Seeds: a 4-level walk to a 4-KByte page, a 2-MByte and a 1-GByte page,
 * in pages at frames 0x100..0x103. */
static void fuzz_write_seeds(void)
{
	static const char *names[] = { "walk-4k", "walk-2m", "walk-1g" };

	for (int leaf = 1; leaf <= 3; leaf++) {
		struct seed s;
		u64 gpa2 = (1ULL << 39) * 0 + (2ULL << 30) + (3ULL << 21) + (4ULL << 12) + 0x123;

		memset(&s, 0, sizeof(s));
		seed_u64(&s, 0x100000 | 0x1e); /* WB, 4 levels */
		seed_u64(&s, gpa2);
		seed_u8(&s, 1 | 2 | 4 | 8 | (leaf == 1 ? 16 : 0)); /* the 4-KiB walk writes */
		seed_u8(&s, 39 - 32);
		seed_u8(&s, 3);                 /* 4 pages */
		for (int i = 0; i < 4; i++)
			seed_u16(&s, 0x100 + i);
		put_entry(&s, 0, 1, 0, 7);      /* PML4[0] -> page 1 */
		if (leaf == 3) {
			put_entry(&s, 1, -1, 2, 0x40000000 | 0x80 | 0x37);
		} else {
			put_entry(&s, 1, 2, 2, 7);    /* PDPT[2] -> page 2 */
			if (leaf == 2) {
				put_entry(&s, 2, -1, 3, 0x200000 | 0x80 | 0x37);
			} else {
				put_entry(&s, 2, 3, 3, 5);              /* PD[3] -> page 3 */
				put_entry(&s, 3, -1, 4, 0x5000 | 0x33); /* PT[4]: RW, WB */
			}
		}
		seed_write(&s, names[leaf - 1]);
	}
}
