/* ept_build_identity: the monitor's guest map, checked page by page against
 * a reference written differently from the builder: a page is UC if any
 * MMIO byte touches it, WB if one RAM/RESERVED range covers all of it, UC
 * otherwise (holes). */
#include "unit.h"
#include "ept.h"
#include "test_ept.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static int ref_type(const struct nv_mem_range *mem, u32 count, u64 page)
{
	bool wb = false;

	for (u32 i = 0; i < count; i++) {
		u64 b = mem[i].base, e = mem[i].base + mem[i].size;

		if (mem[i].type == NV_MEM_MMIO && b < page + 4096 && e > page)
			return EPT_MT_UC;
		if (mem[i].type != NV_MEM_MMIO && b <= page && e >= page + 4096)
			wb = true;
	}
	return wb ? EPT_MT_WB : EPT_MT_UC;
}

/* Every page below limit: identity, RWX, PAT honoured, the reference
 * type; not present inside the hole. */
static void check_identity(void **state, const struct nv_mem_range *mem, u32 count,
			   u64 limit, u64 hole_base, u64 hole_size)
{
	for (u64 page = 0; page < limit; page += 4096) {
		int level;
		u64 e = ept_test_walk(state, page, &level);

		if (page >= hole_base && page < hole_base + hole_size) {
			if (e)
				fail_msg("page %#llx in the hole is mapped", (unsigned long long)page);
			continue;
		}
		if (!e)
			fail_msg("page %#llx not mapped", (unsigned long long)page);
		assert_int_equal(ept_test_translate(e, level, page), page);
		assert_int_equal(e & 7, 7);
		assert_int_equal(e & EPT_IGNORE_PAT, 0);
		if (ept_test_mt(e) != ref_type(mem, count, page))
			fail_msg("page %#llx: type %d, expected %d", (unsigned long long)page,
				 ept_test_mt(e), ref_type(mem, count, page));
	}
	ept_test_check_tables(state);
}

static int level_of(void **state, u64 gpa)
{
	int level = 0;

	assert_true(ept_test_walk(state, gpa, &level) != 0);
	return level;
}

static int type_of(void **state, u64 gpa)
{
	int level;

	return ept_test_mt(ept_test_walk(state, gpa, &level));
}

/* A PC-like map: legacy VGA hole, ROM area, RAM ending off 2 MiB, PCI hole,
 * local and I/O APICs, flash, RAM above 4 GiB; the monitor at 960 MiB. */
static const struct nv_mem_range pc_map[] = {
	{ 0x0, 0x9fc00, NV_MEM_RAM, 0 },
	{ 0x9fc00, 0x400, NV_MEM_RESERVED, 0 },
	{ 0xa0000, 0x20000, NV_MEM_MMIO, 0 },
	{ 0xc0000, 0x40000, NV_MEM_RESERVED, 0 },
	{ 0x100000, 0x3fe80000 - 0x100000, NV_MEM_RAM, 0 },
	{ 0x3fe80000, 0x80000, NV_MEM_RESERVED, 0 },
	{ 0xfec00000, 0x1000, NV_MEM_MMIO, 0 },
	{ 0xfee00000, 0x1000, NV_MEM_MMIO, 0 },
	{ 0xffe00000, 0x200000, NV_MEM_MMIO, 0 },
	{ 0x100000000, 0x40000000, NV_MEM_RAM, 0 },
};
#define PC_LIMIT 0x140000000ULL
#define PC_HOLE 0x3c000000ULL
#define PC_HOLE_SIZE (32 * MIB)

static void test_pc_map_1g(void **state)
{
	struct test_mem *m = *state;
	struct ept *ept = ept_test_new(state, true);

	assert_int_equal(ept_build_identity(ept, pc_map, ARRAY_SIZE(pc_map), PC_LIMIT,
					    PC_HOLE, PC_HOLE_SIZE), 0);
	check_identity(state, pc_map, ARRAY_SIZE(pc_map), PC_LIMIT, PC_HOLE, PC_HOLE_SIZE);

	/* The first 2 MiB mix WB and UC: 4 KiB pages with the VGA hole UC. */
	assert_int_equal(level_of(state, 0), 1);
	assert_int_equal(type_of(state, 0x9e000), EPT_MT_WB);
	/* 0x9f000-0x9ffff holds the RAM/RESERVED boundary at 0x9fc00: neither
	 * range covers the whole page, so it is UC. */
	assert_int_equal(type_of(state, 0x9f000), EPT_MT_UC);
	assert_int_equal(type_of(state, 0xa0000), EPT_MT_UC);
	assert_int_equal(type_of(state, 0xbf000), EPT_MT_UC);
	assert_int_equal(type_of(state, 0xc0000), EPT_MT_WB);
	assert_int_equal(type_of(state, 0x1ff000), EPT_MT_WB);
	/* Elsewhere the largest pages. */
	assert_int_equal(level_of(state, 0x200000), 2);
	assert_int_equal(level_of(state, 0x3fe00000), 1); /* RAM ends at 0x3ff00000 */
	assert_int_equal(type_of(state, 0x3fefe000), EPT_MT_WB);
	assert_int_equal(type_of(state, 0x3ff00000), EPT_MT_UC);
	assert_int_equal(level_of(state, 1 * GIB), 3);     /* PCI hole, APICs: all UC */
	assert_int_equal(level_of(state, 0xfee00000), 3);
	assert_int_equal(type_of(state, 0xfee00000), EPT_MT_UC);
	assert_int_equal(level_of(state, 4 * GIB), 3);
	assert_int_equal(type_of(state, 4 * GIB), EPT_MT_WB);
	/* The hole's neighbours are mapped, as 2 MiB pages. */
	assert_int_equal(level_of(state, PC_HOLE - 4096), 2);
	assert_int_equal(level_of(state, PC_HOLE + PC_HOLE_SIZE), 2);
	assert_null(ept_lookup(ept, PC_HOLE, NULL));
	assert_null(ept_lookup(ept, PC_HOLE + PC_HOLE_SIZE - 1, NULL));
	/* Nothing past the limit. */
	assert_null(ept_lookup(ept, PC_LIMIT, NULL));
	/* PML4, PDPT, the PD of the first GiB, PTs at 0 and 0x3fe00000. */
	assert_int_equal(m->count, 5);
}

static void test_pc_map_2m(void **state)
{
	struct test_mem *m = *state;
	struct ept *ept = ept_test_new(state, false);

	assert_int_equal(ept_build_identity(ept, pc_map, ARRAY_SIZE(pc_map), PC_LIMIT,
					    PC_HOLE, PC_HOLE_SIZE), 0);
	check_identity(state, pc_map, ARRAY_SIZE(pc_map), PC_LIMIT, PC_HOLE, PC_HOLE_SIZE);
	assert_int_equal(level_of(state, 1 * GIB), 2);
	assert_int_equal(level_of(state, 4 * GIB), 2);
	/* PML4, PDPT, five PDs (0..5 GiB), the same two PTs. */
	assert_int_equal(m->count, 9);
}

/* An MMIO range of a quarter page inside RAM: its page is UC, the pages on
 * either side stay WB, and neighbouring RAM ranges merge into 2 MiB pages. */
static void test_unaligned_mmio_in_ram(void **state)
{
	static const struct nv_mem_range map[] = {
		{ 0x0, 0x200800, NV_MEM_RAM, 0 },
		{ 0x200800, 0x400, NV_MEM_MMIO, 0 },
		{ 0x200c00, 0x3ff400, NV_MEM_RAM, 0 },
		{ 0x600000, 0x234000, NV_MEM_RESERVED, 0 },
		{ 0x834000, 0x7cc000, NV_MEM_RAM, 0 },
	};
	struct test_mem *m = *state;
	struct ept *ept = ept_test_new(state, false);

	assert_int_equal(ept_build_identity(ept, map, ARRAY_SIZE(map), 0x1000000, 0, 0), 0);
	check_identity(state, map, ARRAY_SIZE(map), 0x1000000, 0, 0);
	assert_int_equal(type_of(state, 0x1ff000), EPT_MT_WB);
	assert_int_equal(type_of(state, 0x200000), EPT_MT_UC);
	assert_int_equal(type_of(state, 0x201000), EPT_MT_WB);
	assert_int_equal(level_of(state, 0), 2);
	assert_int_equal(level_of(state, 0x200000), 1);
	/* RAM, RESERVED, RAM meeting at 0x834000: one WB run, 2 MiB pages. */
	assert_int_equal(level_of(state, 0x800000), 2);
	assert_int_equal(level_of(state, 0xe00000), 2);
	assert_int_equal(m->count, 4);
}

/* If a map ever overlaps (the bootinfo contract says it does not), UC
 * still wins: a sub-page MMIO range inside a RAM range makes its page UC. */
static void test_overlapping_mmio_wins(void **state)
{
	static const struct nv_mem_range map[] = {
		{ 0x0, 0x400000, NV_MEM_RAM, 0 },
		{ 0x300800, 0x100, NV_MEM_MMIO, 0 },
		{ 0x3ffff0, 0x20, NV_MEM_MMIO, 0 },
	};
	struct ept *ept = ept_test_new(state, false);

	assert_int_equal(ept_build_identity(ept, map, ARRAY_SIZE(map), 0x800000, 0, 0), 0);
	check_identity(state, map, ARRAY_SIZE(map), 0x800000, 0, 0);
	assert_int_equal(type_of(state, 0x2ff000), EPT_MT_WB);
	assert_int_equal(type_of(state, 0x300000), EPT_MT_UC);
	assert_int_equal(type_of(state, 0x301000), EPT_MT_WB);
	assert_int_equal(type_of(state, 0x3ff000), EPT_MT_UC);
	assert_int_equal(type_of(state, 0x400000), EPT_MT_UC);
}

/* A hole that is neither 2 MiB aligned nor sized inside a 1 GiB page, and a
 * limit off a page boundary (rounded up). */
static void test_small_hole_splits_1g(void **state)
{
	static const struct nv_mem_range map[] = {
		{ 0x0, 2 * GIB, NV_MEM_RAM, 0 },
	};
	u64 hole = GIB + 0x1000, size = 0x3000, limit = 2 * GIB - 0x800;
	struct ept *ept = ept_test_new(state, true);

	assert_int_equal(ept_build_identity(ept, map, 1, limit, hole, size), 0);
	check_identity(state, map, 1, 2 * GIB, hole, size);
	assert_int_equal(level_of(state, 0), 3);
	assert_int_equal(level_of(state, GIB), 1);
	assert_int_equal(level_of(state, hole + size), 1);
	assert_int_equal(level_of(state, GIB + 2 * MIB), 2);
	assert_null(ept_lookup(ept, 2 * GIB, NULL));
}

static void test_empty_map_is_uc(void **state)
{
	struct test_mem *m = *state;
	struct ept *ept = ept_test_new(state, true);

	assert_int_equal(ept_build_identity(ept, NULL, 0, 4 * GIB, 0, 0), 0);
	check_identity(state, NULL, 0, 4 * GIB, 0, 0);
	assert_int_equal(level_of(state, 3 * GIB), 3);
	assert_int_equal(m->count, 2);
}

static void test_identity_out_of_pages(void **state)
{
	struct test_mem *m = *state;
	struct ept *ept;

	m->limit = 4; /* the PC map needs 5 */
	ept = ept_test_new(state, true);
	assert_int_equal(ept_build_identity(ept, pc_map, ARRAY_SIZE(pc_map), PC_LIMIT,
					    PC_HOLE, PC_HOLE_SIZE), -1);
}

int unit_ept_identity(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pc_map_1g, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_pc_map_2m, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_unaligned_mmio_in_ram, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_overlapping_mmio_wins, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_small_hole_splits_1g, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_empty_map_is_uc, ept_test_setup, ept_test_teardown),
		cmocka_unit_test_setup_teardown(test_identity_out_of_pages, ept_test_setup, ept_test_teardown),
	};

	return cmocka_run_group_tests_name("ept_identity", tests, NULL, NULL);
}
