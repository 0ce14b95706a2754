/* The EPT12 walk (arch/x86_64/nested/ept12.c) against SDM 29.3.2-29.3.3:
 * translations at each page size, permissions ANDed along the path,
 * not-present entries, and each kind of EPT misconfiguration; the
 * accessed and dirty flags it sets (SDM 29.3.5) and the page-modification
 * log it keeps (SDM 29.3.6). */
#include "unit.h"
#include <string.h>
#include <nested/ept12.h>

/* A fake L1 memory of 16 pages at guest-physical 0x100000. */
#define MEM_BASE 0x100000ULL
#define MEM_PAGES 16
static uint64_t mem[MEM_PAGES][512];

static int read_mem(void *ctx, u64 gpa, void *buf, u32 len)
{
	(void)ctx;
	if (gpa < MEM_BASE || gpa + len > MEM_BASE + sizeof(mem))
		return -1;
	memcpy(buf, (char *)mem + (gpa - MEM_BASE), len);
	return 0;
}

static u64 page(int i) { return MEM_BASE + (u64)i * 4096; }
static const struct ept12_caps caps = { .maxphyaddr = 39, .exec_only = true, .page_2m = true, .page_1g = true };
#define RWX 7ULL
#define WB (6ULL << 3)

/* PML4 in page 0, PDPT page 1, PD page 2, PT page 3: gpa2 0x40201000
 * (PML4[0], PDPT[1], PD[1], PT[1]) -> 0x5000. */
static void build(u64 pml4e, u64 pdpte, u64 pde, u64 pte)
{
	memset(mem, 0, sizeof(mem));
	mem[0][0] = page(1) | pml4e;
	mem[1][1] = page(2) | pdpte;
	mem[2][1] = page(3) | pde;
	mem[3][1] = 0x5000 | pte;
}

static void walk(u64 gpa2, struct ept12_walk *w)
{
	ept12_walk(page(0) | WB | (3 << 3), gpa2, &caps, read_mem, NULL, w);
}

static void test_ept12_4k(void **state)
{
	struct ept12_walk w;
	(void)state;
	build(RWX, RWX, RWX, RWX | WB);
	walk(0x40201123, &w);
	assert_int_equal(w.result, EPT12_OK);
	assert_int_equal(w.gpa1, 0x5123);
	assert_int_equal(w.perms, 7);
	assert_int_equal(w.memtype, 6);
	assert_int_equal(w.level, 1);
	/* Permissions are the AND over the path (SDM 29.3.2). */
	build(RWX, 5 /* R+X */, RWX, 3 | WB);
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_OK);
	assert_int_equal(w.perms, 1);
	/* Bit 7 of a PTE is ignored (SDM Vol. 3C Table 29-6), not reserved:
	 * the walk translates (found by the ept12 fuzz target). */
	build(RWX, RWX, RWX, RWX | WB | (1 << 7));
	walk(0x40201123, &w);
	assert_int_equal(w.result, EPT12_OK);
	assert_int_equal(w.gpa1, 0x5123);
	assert_int_equal(w.level, 1);
}

static void test_ept12_large(void **state)
{
	struct ept12_walk w;
	(void)state;
	memset(mem, 0, sizeof(mem));
	mem[0][0] = page(1) | RWX;
	mem[1][1] = page(2) | RWX;
	mem[2][1] = 0x40000000ULL | RWX | WB | (1 << 7);      /* 2 MiB at PD[1] */
	mem[1][2] = 0x80000000ULL | 3 | WB | (1 << 7) | (1 << 6); /* 1 GiB at PDPT[2], IPAT */
	walk(0x40212345, &w);
	assert_int_equal(w.result, EPT12_OK);
	assert_int_equal(w.gpa1, 0x40012345);
	assert_int_equal(w.level, 2);
	walk(0x80123456, &w);
	assert_int_equal(w.result, EPT12_OK);
	assert_int_equal(w.gpa1, 0x80123456);
	assert_int_equal(w.level, 3);
	assert_true(w.ipat);
	assert_int_equal(w.perms, 3);
}

static void test_ept12_not_present(void **state)
{
	struct ept12_walk w;
	(void)state;
	build(RWX, RWX, 0, RWX | WB);
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_NOT_PRESENT);
	assert_int_equal(w.perms, 0);
	build(RWX, RWX, RWX, 0);
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_NOT_PRESENT);
	/* A table outside L1 memory. */
	build(RWX, RWX, RWX, RWX | WB);
	mem[2][1] = 0x7000000 | RWX;
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_NO_MEMORY);
}

static void test_ept12_misconfig(void **state)
{
	struct ept12_walk w;
	struct ept12_caps no_x = caps;
	(void)state;
	build(RWX, RWX, RWX, 2 | WB); /* write without read */
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_MISCONFIG);
	build(RWX, RWX, RWX, 4 | WB); /* execute-only: fine when offered */
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_OK);
	no_x.exec_only = false;
	ept12_walk(page(0) | WB | (3 << 3), 0x40201000, &no_x, read_mem, NULL, &w);
	assert_int_equal(w.result, EPT12_MISCONFIG);
	build(RWX, RWX, RWX, RWX | (2ULL << 3)); /* memory type 2 */
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_MISCONFIG);
	build(RWX, RWX, RWX, RWX | (7ULL << 3)); /* memory type 7 */
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_MISCONFIG);
	build(RWX | (1 << 7), RWX, RWX, RWX | WB); /* PML4E bit 7 */
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_MISCONFIG);
	build(RWX | (1 << 3), RWX, RWX, RWX | WB); /* non-leaf bits 6:3 */
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_MISCONFIG);
	build(RWX, RWX, RWX, RWX | WB);
	mem[3][1] |= 1ULL << 40; /* beyond MAXPHYADDR 39 */
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_MISCONFIG);
	build(RWX, RWX, RWX, RWX | WB);
	mem[2][1] = 0x40001000ULL | RWX | WB | (1 << 7); /* 2 MiB leaf, bits 20:12 set */
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_MISCONFIG);
	struct ept12_caps no_1g = caps;
	no_1g.page_1g = false;
	build(RWX, RWX, RWX, RWX | WB);
	mem[1][1] = 0x40000000ULL | RWX | WB | (1 << 7); /* 1 GiB leaf unsupported */
	ept12_walk(page(0) | WB | (3 << 3), 0x40201000, &no_1g, read_mem, NULL, &w);
	assert_int_equal(w.result, EPT12_MISCONFIG);
}

/* ept12_set_ad's compare-exchange on the fake memory; 'race' changes the
 * entry at race_gpa just before the exchange, as another CPU's L1 could. */
static int cmpxchg_calls;
static u64 race_gpa;

static int cmpxchg_mem(void *ctx, u64 gpa, u64 old, u64 new)
{
	(void)ctx;
	cmpxchg_calls++;
	if (gpa < MEM_BASE || gpa + 8 > MEM_BASE + sizeof(mem) || (gpa & 7))
		return -1;
	u64 *e = &mem[0][0] + (gpa - MEM_BASE) / 8;
	if (gpa == race_gpa)
		*e &= ~RWX; /* L1 made it not present */
	if (*e != old)
		return 1;
	*e = new;
	return 0;
}

#define A (1ULL << 8)
#define D (1ULL << 9)

/* SDM 29.3.5: the walk records its path; a read sets the accessed flag in
 * every entry of it, a write also the leaf's dirty flag; flags already
 * set are not written again. */
static void test_ept12_ad_4k(void **state)
{
	struct ept12_walk w;
	bool dirtied;
	(void)state;
	build(RWX, RWX, RWX, RWX | WB);
	race_gpa = 0;
	walk(0x40201123, &w);
	assert_int_equal(w.result, EPT12_OK);
	assert_int_equal(w.entries, 4);
	assert_int_equal(w.entry_gpa[0], page(0));
	assert_int_equal(w.entry_gpa[1], page(1) + 8);
	assert_int_equal(w.entry_gpa[2], page(2) + 8);
	assert_int_equal(w.entry_gpa[3], page(3) + 8);
	assert_int_equal(w.entry[3], 0x5000 | RWX | WB);

	cmpxchg_calls = 0;
	assert_int_equal(ept12_set_ad(&w, false, cmpxchg_mem, NULL, &dirtied), EPT12_AD_DONE);
	assert_false(dirtied);
	assert_int_equal(cmpxchg_calls, 4);
	assert_int_equal(mem[0][0], page(1) | RWX | A);
	assert_int_equal(mem[1][1], page(2) | RWX | A);
	assert_int_equal(mem[2][1], page(3) | RWX | A);
	assert_int_equal(mem[3][1], 0x5000 | RWX | WB | A); /* no D on a read */
	assert_int_equal(w.entry[3], mem[3][1]);

	walk(0x40201123, &w);
	cmpxchg_calls = 0;
	assert_int_equal(ept12_set_ad(&w, true, cmpxchg_mem, NULL, &dirtied), EPT12_AD_DONE);
	assert_true(dirtied);
	assert_int_equal(cmpxchg_calls, 1); /* only the leaf changes */
	assert_int_equal(mem[3][1], 0x5000 | RWX | WB | A | D);
	assert_int_equal(mem[2][1], page(3) | RWX | A); /* D only in the leaf */

	walk(0x40201123, &w);
	cmpxchg_calls = 0;
	assert_int_equal(ept12_set_ad(&w, true, cmpxchg_mem, NULL, &dirtied), EPT12_AD_DONE);
	assert_false(dirtied); /* it was set already */
	assert_int_equal(cmpxchg_calls, 0);
}

/* A 2-MiB and a 1-GiB leaf take the dirty flag themselves. */
static void test_ept12_ad_large(void **state)
{
	struct ept12_walk w;
	bool dirtied;
	(void)state;
	memset(mem, 0, sizeof(mem));
	race_gpa = 0;
	mem[0][0] = page(1) | RWX;
	mem[1][1] = page(2) | RWX;
	mem[2][1] = 0x40000000ULL | RWX | WB | (1 << 7);
	mem[1][2] = 0x80000000ULL | RWX | WB | (1 << 7);
	walk(0x40212345, &w);
	assert_int_equal(w.entries, 3);
	assert_int_equal(ept12_set_ad(&w, true, cmpxchg_mem, NULL, &dirtied), EPT12_AD_DONE);
	assert_true(dirtied);
	assert_int_equal(mem[2][1], 0x40000000ULL | RWX | WB | (1 << 7) | A | D);
	assert_int_equal(mem[1][1], page(2) | RWX | A);
	walk(0x80123456, &w);
	assert_int_equal(w.entries, 2);
	assert_int_equal(ept12_set_ad(&w, false, cmpxchg_mem, NULL, &dirtied), EPT12_AD_DONE);
	assert_int_equal(mem[1][2], 0x80000000ULL | RWX | WB | (1 << 7) | A);
}

/* An entry that changed since the walk read it is not overwritten: the
 * caller walks again (and here finds it not present). */
static void test_ept12_ad_changed(void **state)
{
	struct ept12_walk w;
	bool dirtied;
	(void)state;
	build(RWX, RWX, RWX, RWX | WB);
	walk(0x40201000, &w);
	race_gpa = page(2) + 8;
	assert_int_equal(ept12_set_ad(&w, true, cmpxchg_mem, NULL, &dirtied), EPT12_AD_CHANGED);
	assert_false(dirtied);
	assert_int_equal(mem[2][1], page(3)); /* L1's value, no A added */
	assert_int_equal(mem[3][1], 0x5000 | RWX | WB); /* the leaf untouched */
	race_gpa = 0;
	walk(0x40201000, &w);
	assert_int_equal(w.result, EPT12_NOT_PRESENT);
	assert_int_equal(w.entries, 3);
}

/* Page-modification logging (SDM 29.3.6): the PML log is page 8 of the
 * fake memory; stores record what they wrote. */
#define LOG page(8)
static int stores;

static void store_mem(void *ctx, u64 gpa, u64 value)
{
	(void)ctx;
	stores++;
	if (gpa >= MEM_BASE && gpa + 8 <= MEM_BASE + sizeof(mem))
		mem[(gpa - MEM_BASE) / 4096][((gpa - MEM_BASE) % 4096) / 8] = value;
}

/* A write that sets a dirty flag logs the page (bits 11:0 clear) at
 * index 511 down; a read, or a write to a dirty page, logs nothing. */
static void test_ept12_pml_log(void **state)
{
	struct ept12_walk w;
	struct ept12_pml pml = { LOG, 511, store_mem };
	(void)state;
	build(RWX, RWX, RWX, RWX | WB);
	mem[3][2] = 0x6000 | RWX | WB;
	race_gpa = 0;
	stores = 0;
	walk(0x40201123, &w);
	assert_true(ept12_ad_pending(&w, false));
	assert_int_equal(ept12_set_ad_pml(&w, false, 0x40201123, cmpxchg_mem, NULL, &pml), EPT12_AD_DONE);
	assert_int_equal(stores, 0);
	assert_int_equal(pml.index, 511);
	walk(0x40201123, &w);
	assert_false(ept12_ad_pending(&w, false));
	assert_true(ept12_ad_pending(&w, true));
	assert_int_equal(ept12_set_ad_pml(&w, true, 0x40201123, cmpxchg_mem, NULL, &pml), EPT12_AD_DONE);
	assert_int_equal(mem[3][1], 0x5000 | RWX | WB | A | D);
	assert_int_equal(mem[8][511], 0x40201000);
	assert_int_equal(pml.index, 510);
	walk(0x40202ff8, &w);
	assert_int_equal(ept12_set_ad_pml(&w, true, 0x40202ff8, cmpxchg_mem, NULL, &pml), EPT12_AD_DONE);
	assert_int_equal(mem[8][510], 0x40202000);
	assert_int_equal(pml.index, 509);
	/* Dirty already: no entry. */
	walk(0x40201008, &w);
	assert_false(ept12_ad_pending(&w, true));
	assert_int_equal(ept12_set_ad_pml(&w, true, 0x40201008, cmpxchg_mem, NULL, &pml), EPT12_AD_DONE);
	assert_int_equal(stores, 2);
	assert_int_equal(pml.index, 509);
}

/* Index 0 logs at the log's start and wraps to FFFFH; then a flag to set
 * is a log-full event with nothing set or stored; an access that sets no
 * flag goes on. */
static void test_ept12_pml_full(void **state)
{
	struct ept12_walk w;
	struct ept12_pml pml = { LOG, 0, store_mem };
	(void)state;
	build(RWX | A, RWX | A, RWX | A, RWX | WB | A);
	mem[3][2] = 0x6000 | RWX | WB;
	race_gpa = 0;
	stores = 0;
	walk(0x40201000, &w);
	assert_int_equal(ept12_set_ad_pml(&w, true, 0x40201000, cmpxchg_mem, NULL, &pml), EPT12_AD_DONE);
	assert_int_equal(mem[8][0], 0x40201000);
	assert_int_equal(pml.index, 0xffff);
	/* The next page needs A and D: full, nothing changed. */
	walk(0x40202000, &w);
	assert_int_equal(ept12_set_ad_pml(&w, true, 0x40202000, cmpxchg_mem, NULL, &pml), EPT12_AD_LOG_FULL);
	assert_int_equal(mem[3][2], 0x6000 | RWX | WB);
	assert_int_equal(stores, 1);
	/* A read needing only A is full too ("an accessed or dirty flag"). */
	walk(0x40202000, &w);
	assert_int_equal(ept12_set_ad_pml(&w, false, 0x40202000, cmpxchg_mem, NULL, &pml), EPT12_AD_LOG_FULL);
	assert_int_equal(mem[3][2], 0x6000 | RWX | WB);
	/* Nothing to set: the access happens. */
	walk(0x40201000, &w);
	assert_int_equal(ept12_set_ad_pml(&w, true, 0x40201000, cmpxchg_mem, NULL, &pml), EPT12_AD_DONE);
	/* Index 512 is outside 0-511 as well; without PML nothing is full. */
	pml.index = 512;
	walk(0x40202000, &w);
	assert_int_equal(ept12_set_ad_pml(&w, true, 0x40202000, cmpxchg_mem, NULL, &pml), EPT12_AD_LOG_FULL);
	assert_int_equal(ept12_set_ad_pml(&w, true, 0x40202000, cmpxchg_mem, NULL, NULL), EPT12_AD_DONE);
	assert_int_equal(mem[3][2], 0x6000 | RWX | WB | A | D);
	assert_int_equal(stores, 1);
}

int unit_ept12(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ept12_4k),
		cmocka_unit_test(test_ept12_large),
		cmocka_unit_test(test_ept12_not_present),
		cmocka_unit_test(test_ept12_misconfig),
		cmocka_unit_test(test_ept12_ad_4k),
		cmocka_unit_test(test_ept12_ad_large),
		cmocka_unit_test(test_ept12_ad_changed),
		cmocka_unit_test(test_ept12_pml_log),
		cmocka_unit_test(test_ept12_pml_full),
	};
	return cmocka_run_group_tests_name("ept12", tests, NULL, NULL);
}
