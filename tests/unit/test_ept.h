/* Shared by the EPT unit tests: page memory with fake physical addresses
 * and an independent walker of the tables ept.c builds. */
#ifndef NV_TEST_EPT_H
#define NV_TEST_EPT_H

#include "ept.h"

#define MAX_PAGES 2048
#define FAKE_PA_BASE 0x7f00000000ULL /* fake "physical" base of test pages */

struct test_mem {
	void *va[MAX_PAGES];
	int count;
	int limit; /* alloc_page fails once count reaches this */
	struct ept ept;
};

int ept_test_setup(void **state);    /* *state = struct test_mem */
int ept_test_teardown(void **state);
int ept_test_init(void **state, struct ept *ept, bool has_1g);
struct ept *ept_test_new(void **state, bool has_1g); /* &test_mem.ept */
/* The leaf entry for gpa (0 if not present) and its level, found by the
 * test's own walk, which checks each non-leaf entry on the way. */
u64 ept_test_walk(void **state, u64 gpa, int *level);
/* Where gpa goes through leaf e at level. */
u64 ept_test_translate(u64 e, int level, u64 gpa);
int ept_test_mt(u64 e);
/* Checks every entry of every table and that all allocated pages are
 * tables reachable from the PML4. */
void ept_test_check_tables(void **state);

#endif
