/* Fuzz target: the guest page walk (arch/x86_64/nested/guest_walk.c,
 * guest_walk and guest_linear_access) over random page tables in a small
 * fake guest memory, in every paging mode (SDM Vol. 3A chapter 4).
 *
 * Input: u8 mode flags (bit 0 CR0.PG, 1 CR4.PAE, 2 EFER.LMA, 3 CR4.LA57,
 * 4 CR4.PSE, 5 EFER.NXE, 6 CR0.WP, 7 point CR3 at page 0), u8 more flags
 * (bit 0 CR4.SMEP, 1 CR4.SMAP, 2 1-GByte pages), u8 MAXPHYADDR (n), u64
 * CR3, u64 linear address, u8 access (WALK_*), u16 length, then the
 * pages and their entries as fuzz_pages.h reads them (u8 pages (1 + n %
 * 8), one u16 frame per page, then entries: u8 page, u8 target with bit 7
 * "make a pointer to page target % 128", u16 8-byte slot, u64 value).
 *
 * Properties: every read of a paging-structure entry is 4 bytes (32-bit
 * paging) or 8, aligned, at most 5 of them; no data read or write of
 * guest_linear_access crosses a 4-KByte physical page; a #PF error code
 * has only the bits SDM 4.7 defines for these walks (P, W/R, U/S, RSVD,
 * I/D), W/R and U/S equal to the access, RSVD only with P, I/D only for a
 * fetch; a translation keeps the page offset (bits 11:0), and without
 * paging is the linear address's bits 31:0; guest_walk is deterministic;
 * guest_linear_access moves no byte when it faults, faults at one of the
 * two pages it touches, and reads what the two translations point at. */
#include "fuzz.h"
#include "nested/guest_walk.h"
#include "fuzz_pages.h" /* mem, npages, owner(), fuzz_pages(), put_entry() */

#define CR0_PE 1ULL
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

static unsigned int nreads, nwrites;
static bool data_phase;
static u32 esize;

static int read_phys(void *ctx, u64 gpa, void *buf, u32 len)
{
	int page = owner(gpa);

	(void)ctx;
	FUZZ_CHECK(len >= 1 && len <= 4096 && (gpa & 0xfff) + len <= 4096,
		   "read of %u bytes at %#llx crosses a page", len, (unsigned long long)gpa);
	if (!data_phase) {
		nreads++;
		FUZZ_CHECK(nreads <= 5, "more than 5 paging-structure reads");
		FUZZ_CHECK(len == esize && !(gpa & (len - 1)),
			   "entry read of %u bytes at %#llx (want %u, aligned)", len,
			   (unsigned long long)gpa, esize);
	}
	if (page < 0)
		return -1;
	memcpy(buf, &mem[page].b[gpa & 0xfff], len);
	return 0;
}

static int write_phys(void *ctx, u64 gpa, const void *buf, u32 len)
{
	int page = owner(gpa);

	(void)ctx;
	nwrites++;
	FUZZ_CHECK(len >= 1 && (gpa & 0xfff) + len <= 4096,
		   "write of %u bytes at %#llx crosses a page", len, (unsigned long long)gpa);
	if (page < 0)
		return -1;
	memcpy(&mem[page].b[gpa & 0xfff], buf, len);
	return 0;
}

static void check_pf(u32 pf, u32 access, const char *what)
{
	FUZZ_CHECK(!(pf & ~0x1fu), "%s: #PF error code %#x has undefined bits", what, pf);
	FUZZ_CHECK(!!(pf & PFEC_W) == !!(access & WALK_WRITE) &&
		   !!(pf & PFEC_U) == !!(access & WALK_USER),
		   "%s: #PF error code %#x for access %#x", what, pf, access);
	FUZZ_CHECK(!(pf & PFEC_RSVD) || (pf & PFEC_P), "%s: RSVD without P (%#x)", what, pf);
	FUZZ_CHECK(!(pf & PFEC_ID) || (access & WALK_FETCH), "%s: I/D without a fetch", what);
}

static u8 buf[4096], before[MAX_PAGES][4096];

static void fuzz_one(struct fz *z)
{
	u8 f1 = fz_u8(z), f2 = fz_u8(z);
	struct guest_paging p = {
		.cr0 = CR0_PE | ((f1 & 1) ? CR0_PG : 0) | ((f1 & 0x40) ? CR0_WP : 0),
		.cr4 = ((f1 & 2) ? CR4_PAE : 0) | ((f1 & 8) ? CR4_LA57 : 0) | ((f1 & 0x10) ? CR4_PSE : 0) |
		       ((f2 & 1) ? CR4_SMEP : 0) | ((f2 & 2) ? CR4_SMAP : 0),
		.efer = ((f1 & 4) ? EFER_LMA | EFER_LME : 0) | ((f1 & 0x20) ? EFER_NXE : 0),
		.page_1g = f2 & 4,
	};
	u64 linear, gpa = 0, gpa2 = 0, fault_la = 0;
	u32 access, len, pf = 0xffffffffu, pf2 = 0;
	int rc, rc2;
	struct guest_mem_ops ops = { read_phys, write_phys, NULL };

	p.maxphyaddr = fz_u8(z);
	p.cr3 = fz_u64(z);
	linear = fz_u64(z);
	access = fz_u8(z) & 15;
	len = 1 + fz_u16(z) % 4096;
	fuzz_pages(z);
	if (f1 & 0x80)
		p.cr3 = (p.cr3 & 0xfe7) | mem[0].gpa;
	esize = ((p.cr0 & CR0_PG) && !(p.cr4 & CR4_PAE)) ? 4 : 8;

	nreads = 0;
	data_phase = false;
	rc = guest_walk(&p, linear, access, read_phys, NULL, &gpa, &pf);
	FUZZ_CHECK(rc == GUEST_WALK_OK || rc == GUEST_WALK_PF || rc == GUEST_WALK_ERR, "rc %d", rc);
	if (rc == GUEST_WALK_PF)
		check_pf(pf, access, "guest_walk");
	if (rc == GUEST_WALK_OK) {
		FUZZ_CHECK((gpa & 0xfff) == (linear & 0xfff), "gpa %#llx for linear %#llx",
			   (unsigned long long)gpa, (unsigned long long)linear);
		if (!(p.cr0 & CR0_PG))
			FUZZ_CHECK(gpa == (linear & 0xffffffffULL), "no paging: gpa %#llx for %#llx",
				   (unsigned long long)gpa, (unsigned long long)linear);
	}
	nreads = 0;
	rc2 = guest_walk(&p, linear, access, read_phys, NULL, &gpa2, &pf2);
	FUZZ_CHECK(rc2 == rc && (rc != GUEST_WALK_OK || gpa2 == gpa) &&
		   (rc != GUEST_WALK_PF || pf2 == pf), "guest_walk is not deterministic");

	/* guest_linear_access: the walks, then the data. */
	for (unsigned int i = 0; i < npages; i++)
		memcpy(before[i], mem[i].b, 4096);
	memset(buf, 0x5a, len);
	nreads = 0;
	nwrites = 0;
	data_phase = false;
	{
		/* Entry reads and data reads both go through read_phys: count
		 * only the walks (before guest_linear_access moves data). */
		u64 wrap = (p.efer & EFER_LMA) ? ~0ULL : 0xffffffffULL;
		u32 first = (u32)(4096 - (linear & 0xfff));
		u64 la0 = linear & wrap, la1 = (linear + (first < len ? first : 0)) & wrap;

		data_phase = true; /* reads mix: check only page crossing */
		rc = guest_linear_access(&p, linear, buf, len, access, &ops, &pf, &fault_la);
		data_phase = false;
		FUZZ_CHECK(rc == GUEST_WALK_OK || rc == GUEST_WALK_PF || rc == GUEST_WALK_ERR,
			   "guest_linear_access rc %d", rc);
		if (rc == GUEST_WALK_PF) {
			check_pf(pf, access, "guest_linear_access");
			FUZZ_CHECK(fault_la == la0 || (first < len && fault_la == la1),
				   "fault at %#llx, the access touches %#llx and %#llx",
				   (unsigned long long)fault_la, (unsigned long long)la0,
				   (unsigned long long)la1);
			FUZZ_CHECK(!nwrites, "guest_linear_access wrote before it faulted");
			for (unsigned int i = 0; i < npages; i++)
				FUZZ_CHECK(!memcmp(before[i], mem[i].b, 4096), "memory changed on a fault");
		}
		if (rc == GUEST_WALK_OK && !(access & WALK_WRITE)) {
			/* What the two translations point at. */
			u32 part0 = first < len ? first : len;
			u64 g0 = 0, g1 = 0;
			u32 e0 = 0, e1 = 0;

			nreads = 0;
			FUZZ_CHECK(guest_walk(&p, la0, access, read_phys, NULL, &g0, &e0) == 0,
				   "first page does not translate again");
			for (u32 k = 0; k < part0; k++) {
				int pg = owner(g0 + k);
				FUZZ_CHECK(pg >= 0 && buf[k] == mem[pg].b[(g0 + k) & 0xfff],
					   "byte %u read from the wrong place", k);
			}
			if (part0 < len) {
				nreads = 0;
				FUZZ_CHECK(guest_walk(&p, la1, access, read_phys, NULL, &g1, &e1) == 0,
					   "second page does not translate again");
				for (u32 k = part0; k < len; k++) {
					int pg = owner(g1 + k - part0);
					FUZZ_CHECK(pg >= 0 &&
						   buf[k] == mem[pg].b[(g1 + k - part0) & 0xfff],
						   "byte %u read from the wrong place", k);
				}
			}
		}
	}
}

/* Seeds: a 4-level and a 32-bit walk to a data page (page 3 / page 2). */
static void fuzz_write_seeds(void)
{
	struct seed s;

	/* 4-level: linear 0x0000_0000_4000_0000 + 0x123: PML4[0] PDPT[1] PD[0] PT[0]. */
	memset(&s, 0, sizeof(s));
	seed_u8(&s, 1 | 2 | 4 | 0x20 | 0x40 | 0x80);
	seed_u8(&s, 4);
	seed_u8(&s, 39);
	seed_u64(&s, 0);
	seed_u64(&s, 0x40000123);
	seed_u8(&s, WALK_WRITE);
	seed_u16(&s, 16);
	seed_u8(&s, 3);
	for (int i = 0; i < 4; i++)
		seed_u16(&s, 0x200 + i);
	put_entry(&s, 0, 1, 0, 7);
	put_entry(&s, 1, 2, 1, 7);
	put_entry(&s, 2, 3, 0, 7);
	put_entry(&s, 3, 0, 0, 7);
	seed_write(&s, "walk-4level");

	/* 32-bit paging with PSE: PDE[1] -> PT page 1, PTE[0] -> page 2. */
	memset(&s, 0, sizeof(s));
	seed_u8(&s, 1 | 0x10 | 0x80);
	seed_u8(&s, 0);
	seed_u8(&s, 36);
	seed_u64(&s, 0);
	seed_u64(&s, 0x400ffe);
	seed_u8(&s, WALK_USER);
	seed_u16(&s, 8);
	seed_u8(&s, 2);
	for (int i = 0; i < 3; i++)
		seed_u16(&s, 0x200 + i);
	put_entry(&s, 0, -1, 0, 0x201007ULL << 32); /* PDE 1: the high half of slot 0 */
	put_entry(&s, 1, -1, 0, 0x202007);          /* PTE 0 */
	seed_write(&s, "walk-32bit");
}
