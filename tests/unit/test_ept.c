/* EPT builder: ept_map/ept_unmap/ept_lookup/ept_eptp, checked by walking
 * the tables independently (ept_harness.c). */
#include "unit.h"
#include <stdlib.h>
#include <string.h>
#include "ept.h"
#include "test_ept.h"

static void test_init_eptp(void **state)
{
	struct ept *ept = ept_test_new(state, false);
	u64 eptp = ept_eptp(ept);

	assert_int_equal(ept->pml4_pa, FAKE_PA_BASE);
	/* Bits 2:0 memory type WB (6), bits 5:3 walk length - 1 (3), bit 6
	 * A/D off, bits 11:7 reserved zero, bits 51:12 the PML4. */
	assert_int_equal(eptp & 7, 6);
	assert_int_equal((eptp >> 3) & 7, 3);
	assert_int_equal(eptp & 0xfc0, 0);
	assert_int_equal(eptp & ~0xfffULL, FAKE_PA_BASE);
	for (int i = 0; i < 512; i++)
		assert_int_equal(ept->pml4[i], 0);
}

static void test_map_4k(void **state)
{
	struct ept *ept = ept_test_new(state, true);
	u64 gpa = 0x12345678000ULL, hpa = 0xabcde000ULL, e;
	int level = 0;

	assert_int_equal(ept_map(ept, gpa, hpa, 4096, EPT_R | EPT_X, EPT_MT_WT), 0);
	e = ept_test_walk(state, gpa, &level);
	assert_int_equal(level, 1);
	assert_int_equal(e & 0x000ffffffffff000ULL, hpa);
	assert_int_equal(e & 7, 5); /* R and X, not W */
	assert_int_equal(ept_test_mt(e), 4);
	assert_int_equal(e & 0x40, 0); /* PAT not ignored */
	assert_int_equal(*ept_lookup(ept, gpa, &level), e);
	assert_int_equal(level, 1);
	/* Neighbours are not present. */
	assert_int_equal(ept_test_walk(state, gpa - 4096, &level), 0);
	assert_int_equal(ept_test_walk(state, gpa + 4096, &level), 0);
	assert_null(ept_lookup(ept, gpa + 4096, &level));
	/* PML4 + PDPT + PD + PT. */
	assert_int_equal(((struct test_mem *)*state)->count, 4);
	ept_test_check_tables(state);
}

static void test_map_large_pages(void **state)
{
	struct ept *ept = ept_test_new(state, true);
	int level;
	u64 e;

	/* 1 GiB at 4 GiB, and a 2 MiB page at 6 MiB. */
	assert_int_equal(ept_map(ept, 1ULL << 32, 3ULL << 30, 1ULL << 30, EPT_RWX, EPT_MT_WB), 0);
	assert_int_equal(ept_map(ept, 6 << 20, 10 << 20, 2 << 20, EPT_RWX, EPT_MT_UC), 0);
	e = ept_test_walk(state, (1ULL << 32) + 0x1234567, &level);
	assert_int_equal(level, 3);
	assert_true(e & 0x80);
	assert_int_equal(ept_test_mt(e), 6);
	assert_int_equal(ept_test_translate(e, level, (1ULL << 32) + 0x1234567), (3ULL << 30) + 0x1234567);
	e = ept_test_walk(state, (6 << 20) + 0x1fffff, &level);
	assert_int_equal(level, 2);
	assert_true(e & 0x80);
	assert_int_equal(ept_test_mt(e), 0);
	assert_int_equal(ept_test_translate(e, level, (6 << 20) + 0x1fffff), (10 << 20) + 0x1fffff);
	assert_int_equal(ept_test_walk(state, 8 << 20, &level), 0);
	assert_int_equal(ept_test_walk(state, 4 << 20, &level), 0);
	ept_test_check_tables(state);
}

static void test_no_1g_without_capability(void **state)
{
	struct ept *ept = ept_test_new(state, false);
	int level;

	assert_int_equal(ept_map(ept, 0, 0, 1ULL << 30, EPT_RWX, EPT_MT_WB), 0);
	for (u64 gpa = 0; gpa < (1ULL << 30); gpa += 2 << 20) {
		u64 e = ept_test_walk(state, gpa, &level);

		assert_int_equal(level, 2);
		assert_int_equal(ept_test_translate(e, level, gpa), gpa);
	}
	/* PML4, PDPT, one PD: no page tables. */
	assert_int_equal(((struct test_mem *)*state)->count, 3);
	ept_test_check_tables(state);
}

static void test_largest_pages_alignment_allows(void **state)
{
	struct ept *ept = ept_test_new(state, true);
	u64 gpa = (1ULL << 30) - (8 << 12); /* 8 pages below 1 GiB */
	u64 size = (8 << 12) + (1ULL << 30) + (2 << 20) + (3 << 12);
	int level;

	assert_int_equal(ept_map(ept, gpa, gpa, size, EPT_RWX, EPT_MT_WB), 0);
	ept_test_walk(state, gpa, &level);
	assert_int_equal(level, 1);
	ept_test_walk(state, 1ULL << 30, &level);
	assert_int_equal(level, 3);
	ept_test_walk(state, 2ULL << 30, &level);
	assert_int_equal(level, 2);
	ept_test_walk(state, (2ULL << 30) + (2 << 20) + (2 << 12), &level);
	assert_int_equal(level, 1);
	assert_int_equal(ept_test_walk(state, (2ULL << 30) + (2 << 20) + (3 << 12), &level), 0);
	assert_int_equal(ept_test_walk(state, gpa - 4096, &level), 0);

	/* gpa 2 MiB aligned, hpa only 4 KiB aligned: 4 KiB pages only. */
	assert_int_equal(ept_map(ept, 16ULL << 30, (16ULL << 30) + 4096, 4 << 20, EPT_RWX, EPT_MT_WB), 0);
	for (u64 off = 0; off < (4 << 20); off += 4096) {
		u64 e = ept_test_walk(state, (16ULL << 30) + off, &level);

		assert_int_equal(level, 1);
		assert_int_equal(ept_test_translate(e, 1, (16ULL << 30) + off), (16ULL << 30) + 4096 + off);
	}
	ept_test_check_tables(state);
}

static void test_split_2m_keeps_rest(void **state)
{
	struct ept *ept = ept_test_new(state, false);
	u64 base = 0x40000000, hbase = 0x80000000;
	int level;

	assert_int_equal(ept_map(ept, base, hbase, 2 << 20, EPT_R | EPT_X, EPT_MT_WB), 0);
	ept_test_walk(state, base, &level);
	assert_int_equal(level, 2);
	/* A 4 KiB mapping lands inside: page 5 goes elsewhere, as UC RW. */
	assert_int_equal(ept_map(ept, base + 5 * 4096, 0x1000, 4096, EPT_R | EPT_W, EPT_MT_UC), 0);
	for (u64 i = 0; i < 512; i++) {
		u64 gpa = base + i * 4096, e = ept_test_walk(state, gpa, &level);

		assert_int_equal(level, 1);
		assert_int_equal(e & 0x80, 0);
		if (i == 5) {
			assert_int_equal(ept_test_translate(e, 1, gpa), 0x1000);
			assert_int_equal(e & 7, 3);
			assert_int_equal(ept_test_mt(e), 0);
		} else {
			assert_int_equal(ept_test_translate(e, 1, gpa), hbase + i * 4096);
			assert_int_equal(e & 7, 5);
			assert_int_equal(ept_test_mt(e), 6);
		}
	}
	ept_test_check_tables(state);
}

static void test_split_1g_twice(void **state)
{
	struct ept *ept = ept_test_new(state, true);
	u64 gpa = (1ULL << 30) + (6 << 20) + 0x3000;
	int level;
	u64 e;

	assert_int_equal(ept_map(ept, 1ULL << 30, 0, 1ULL << 30, EPT_RWX, EPT_MT_WB), 0);
	assert_int_equal(ept_map(ept, gpa, 0xfee00000, 4096, EPT_RWX, EPT_MT_UC), 0);
	e = ept_test_walk(state, gpa, &level);
	assert_int_equal(level, 1);
	assert_int_equal(ept_test_translate(e, 1, gpa), 0xfee00000);
	/* The rest of the 1 GiB: 2 MiB pages, and 4 KiB in the split one. */
	e = ept_test_walk(state, 1ULL << 30, &level);
	assert_int_equal(level, 2);
	assert_int_equal(ept_test_translate(e, 2, 1ULL << 30), 0);
	e = ept_test_walk(state, (2ULL << 30) - 1, &level);
	assert_int_equal(level, 2);
	assert_int_equal(ept_test_translate(e, 2, (2ULL << 30) - 1), (1ULL << 30) - 1);
	e = ept_test_walk(state, gpa + 4096, &level);
	assert_int_equal(level, 1);
	assert_int_equal(ept_test_translate(e, 1, gpa + 4096), (6 << 20) + 0x4000);
	assert_int_equal(ept_test_mt(e), 6);
	ept_test_check_tables(state);
}

static void test_map_over_finer_table(void **state)
{
	struct ept *ept = ept_test_new(state, false);
	int level;

	assert_int_equal(ept_map(ept, 2 << 20, 0x5000, 4096, EPT_R, EPT_MT_UC), 0);
	assert_int_equal(ept_map(ept, 0, 0, 8 << 20, EPT_RWX, EPT_MT_WB), 0);
	for (u64 gpa = 0; gpa < (8 << 20); gpa += 4096) {
		u64 e = ept_test_walk(state, gpa, &level);

		assert_int_equal(ept_test_translate(e, level, gpa), gpa);
		assert_int_equal(e & 7, 7);
		assert_int_equal(ept_test_mt(e), 6);
	}
	ept_test_walk(state, 4 << 20, &level);
	assert_int_equal(level, 2);
	ept_test_check_tables(state);
}

static void test_unmap(void **state)
{
	struct ept *ept = ept_test_new(state, true);
	int level;
	u64 e;

	assert_int_equal(ept_map(ept, 0, 0, 4ULL << 30, EPT_RWX, EPT_MT_WB), 0);
	/* A 4 KiB hole inside a 1 GiB page, and a 2 MiB-aligned 6 MiB hole. */
	assert_int_equal(ept_unmap(ept, 0x12345000, 4096), 0);
	assert_int_equal(ept_unmap(ept, 3ULL << 30, 6 << 20), 0);
	assert_int_equal(ept_test_walk(state, 0x12345000, &level), 0);
	assert_null(ept_lookup(ept, 0x12345fff, &level));
	ept_test_walk(state, 0x12344000, &level);
	assert_int_equal(level, 1);
	assert_int_equal(ept_test_translate(ept_test_walk(state, 0x12346000, &level), 1, 0x12346000), 0x12346000);
	for (u64 gpa = 3ULL << 30; gpa < (3ULL << 30) + (6 << 20); gpa += 4096)
		assert_int_equal(ept_test_walk(state, gpa, &level), 0);
	/* The 1 GiB page below the hole is untouched, the one holding it split. */
	e = ept_test_walk(state, (3ULL << 30) - 1, &level);
	assert_int_equal(level, 3);
	assert_int_equal(ept_test_translate(e, level, (3ULL << 30) - 1), (3ULL << 30) - 1);
	ept_test_walk(state, (3ULL << 30) + (6 << 20), &level);
	assert_int_equal(level, 2);
	/* Unmapping what is not mapped is fine. */
	assert_int_equal(ept_unmap(ept, 100ULL << 30, 1ULL << 30), 0);
	assert_int_equal(ept_unmap(ept, 0x12345000, 4096), 0);
	ept_test_check_tables(state);
}

static void test_map_rejects(void **state)
{
	struct ept *ept = ept_test_new(state, true);

	assert_int_equal(ept_map(ept, 0x800, 0, 4096, EPT_RWX, EPT_MT_WB), -1);
	assert_int_equal(ept_map(ept, 0, 0x800, 4096, EPT_RWX, EPT_MT_WB), -1);
	assert_int_equal(ept_map(ept, 0, 0, 100, EPT_RWX, EPT_MT_WB), -1);
	assert_int_equal(ept_map(ept, 0, 0, 4096, EPT_W, EPT_MT_WB), -1);
	assert_int_equal(ept_map(ept, 0, 0, 4096, EPT_W | EPT_X, EPT_MT_WB), -1);
	assert_int_equal(ept_map(ept, 0, 0, 4096, 0, EPT_MT_WB), -1);
	assert_int_equal(ept_map(ept, 0, 0, 4096, EPT_RWX | EPT_LARGE, EPT_MT_WB), -1);
	assert_int_equal(ept_map(ept, 0, 0, 4096, EPT_RWX, 2), -1);
	assert_int_equal(ept_map(ept, 0, 0, 4096, EPT_RWX, 3), -1);
	assert_int_equal(ept_map(ept, 0, 0, 4096, EPT_RWX, 7), -1);
	assert_int_equal(ept_map(ept, 1ULL << 48, 0, 4096, EPT_RWX, EPT_MT_WB), -1);
	assert_int_equal(ept_map(ept, (1ULL << 48) - 4096, 0, 8192, EPT_RWX, EPT_MT_WB), -1);
	assert_int_equal(ept_map(ept, 0, 1ULL << 52, 4096, EPT_RWX, EPT_MT_WB), -1);
	assert_int_equal(ept_unmap(ept, 0x800, 4096), -1);
	/* Nothing was written. */
	for (int i = 0; i < 512; i++)
		assert_int_equal(ept->pml4[i], 0);
	/* Execute-only and every valid type are accepted. */
	assert_int_equal(ept_map(ept, 0, 0, 4096, EPT_X, EPT_MT_WC), 0);
	assert_int_equal(ept_map(ept, 4096, 0, 4096, EPT_R | EPT_IGNORE_PAT, EPT_MT_WP), 0);
	assert_int_equal(*ept_lookup(ept, 4096, NULL) & 0x40, 0x40);
	assert_int_equal(ept_map(ept, (1ULL << 48) - 4096, (1ULL << 52) - 4096, 4096, EPT_R, EPT_MT_WB), 0);
	ept_test_check_tables(state);
}

static void test_out_of_pages(void **state)
{
	struct test_mem *m = *state;
	struct ept *ept, spare;

	m->limit = 0;
	assert_int_equal(ept_test_init(state, &spare, false), -1);
	m->limit = 3; /* PML4, PDPT, PD: no room for a page table */
	ept = ept_test_new(state, false);
	assert_int_equal(ept_map(ept, 0, 0, 2 << 20, EPT_RWX, EPT_MT_WB), 0);
	assert_int_equal(ept_map(ept, 4 << 20, 0, 4096, EPT_RWX, EPT_MT_WB), -1);
	assert_int_equal(ept_unmap(ept, 0, 4096), -1); /* the split needs a page */
	assert_int_equal(ept_unmap(ept, 0, 2 << 20), 0);
}

int unit_ept(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_eptp, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_map_4k, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_map_large_pages, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_no_1g_without_capability, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_largest_pages_alignment_allows, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_split_2m_keeps_rest, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_split_1g_twice, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_map_over_finer_table, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_unmap, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_map_rejects, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_pages, ept_test_setup, ept_test_teardown),
	};

	return cmocka_run_group_tests_name("ept", tests, NULL, NULL);
}
