/* The EPT tests' harness. SDM "EPT Translation Mechanism": PML4 index =
 * GPA bits 47:39, PDPT 38:30, PD 29:21, PT 20:12; "Format of EPT Entries"
 * for the checks. Pages are malloc'd with fake physical addresses unlike
 * their virtual ones, so a va/pa mix-up in the builder shows. */
#include "unit.h"
#include <stdlib.h>
#include <string.h>
#include "test_ept.h"

static void *ept_test_alloc_page(void *ctx, u64 *pa)
{
	struct test_mem *m = ctx;
	void *p;

	if (m->count >= m->limit)
		return NULL;
	p = aligned_alloc(4096, 4096);
	assert_non_null(p);
	memset(p, 0, 4096);
	m->va[m->count] = p;
	*pa = FAKE_PA_BASE + (u64)m->count * 4096;
	m->count++;
	return p;
}

static void *ept_test_phys_to_virt(void *ctx, u64 pa)
{
	struct test_mem *m = ctx;
	u64 idx = (pa - FAKE_PA_BASE) / 4096;

	if (pa < FAKE_PA_BASE || (pa & 0xfff) || idx >= (u64)m->count)
		fail_msg("phys_to_virt(%#llx): not a page-table page", (unsigned long long)pa);
	return m->va[idx];
}

int ept_test_setup(void **state)
{
	struct test_mem *m = calloc(1, sizeof(*m));

	if (!m)
		return -1;
	m->limit = MAX_PAGES;
	*state = m;
	return 0;
}

int ept_test_teardown(void **state)
{
	struct test_mem *m = *state;

	for (int i = 0; i < m->count; i++)
		free(m->va[i]);
	free(m);
	return 0;
}

int ept_test_init(void **state, struct ept *ept, bool has_1g)
{
	struct ept_mem_ops ops = { ept_test_alloc_page, ept_test_phys_to_virt, *state };

	return ept_init(ept, &ops, has_1g);
}

struct ept *ept_test_new(void **state, bool has_1g)
{
	struct test_mem *m = *state;

	assert_int_equal(ept_test_init(state, &m->ept, has_1g), 0);
	return &m->ept;
}

static u64 *table_of(void **state, u64 entry)
{
	return ept_test_phys_to_virt(*state, entry & 0x000ffffffffff000ULL);
}

/* Independent walk: the leaf entry for gpa (0 if not present), checking
 * the non-leaf entries on the way: RWX all set (the leaf alone decides),
 * bits 7:3 zero (reserved, and bit 7 = 0 means "points to a table"). */
u64 ept_test_walk(void **state, u64 gpa, int *level)
{
	struct test_mem *m = *state;
	u64 *table = m->ept.pml4;
	static const int shift[] = { 0, 12, 21, 30, 39 };

	for (int l = 4; l >= 1; l--) {
		u64 e = table[(gpa >> shift[l]) & 0x1ff];

		if ((e & 7) == 0)
			return 0;
		if (l == 1 || (l < 4 && (e & 0x80))) {
			*level = l;
			return e;
		}
		assert_int_equal(e & 7, 7);
		assert_int_equal(e & 0xf8, 0);
		table = table_of(state, e);
	}
	return 0;
}

/* The host-physical address gpa translates to through leaf e at level. */
u64 ept_test_translate(u64 e, int level, u64 gpa)
{
	u64 span = 1ULL << (12 + 9 * (level - 1));

	return (e & 0x000ffffffffff000ULL & ~(span - 1)) | (gpa & (span - 1));
}

int ept_test_mt(u64 e)
{
	return (e >> 3) & 7;
}

/* Visits every table reachable from the PML4 and checks each entry's
 * format; returns how many tables there are. */
static int check_table(void **state, u64 *table, int level)
{
	int n = 1;

	for (int i = 0; i < 512; i++) {
		u64 e = table[i];

		if ((e & 7) == 0)
			continue;
		if (level == 1 || (level < 4 && (e & 0x80))) {
			u64 span = 1ULL << (12 + 9 * (level - 1));
			int mt = ept_test_mt(e);

			/* Reserved memory types 2, 3, 7 and write-without-read
			 * are EPT misconfigurations. */
			assert_true(mt == 0 || mt == 1 || mt == 4 || mt == 5 || mt == 6);
			assert_false((e & 2) && !(e & 1));
			/* Large pages: address bits below the page size reserved. */
			assert_int_equal(e & 0x000ffffffffff000ULL & (span - 1), 0);
			assert_int_equal(e >> 52, 0);
		} else {
			assert_int_equal(e & 0xf8, 0);
			assert_int_equal(e >> 52, 0);
			n += check_table(state, table_of(state, e), level - 1);
		}
	}
	return n;
}

void ept_test_check_tables(void **state)
{
	struct test_mem *m = *state;

	assert_int_equal(check_table(state, m->ept.pml4, 4), m->count);
}

