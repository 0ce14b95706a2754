/* The exit trace's ring and dump format (vmm/trace_ring.c): order, wrap
 * and the exact dump lines tools/trace-svg.py parses (docs/trace.md). */
#include "unit.h"
#include <stdio.h>
#include <string.h>
#include "trace.h"
#include "exit_reason.h"

/* The monitor's hook (arch/x86_64/vmx.c) over the names the test links. */
const char *arch_exit_reason_name(u32 reason)
{
	return exit_reason_name(reason);
}

#define LINES_MAX 16
static char lines[LINES_MAX][160];
static unsigned int nlines;

static void capture(const char *line)
{
	assert_true(nlines < LINES_MAX);
	snprintf(lines[nlines++], sizeof(lines[0]), "%s", line);
}

/* Record n: CPUID from L2, its number in the qualification and the TSCs. */
static struct trace_rec rec(u64 n)
{
	return (struct trace_rec){ .qual = n, .tsc_exit = 1000 * n, .tsc_resume = 1000 * n + 7,
				   .reason = 10, .level = 2, .action = TRACE_REFLECT };
}

static void test_trace_format(void **state)
{
	struct trace_rec r = { .qual = 0x1c, .tsc_exit = 123456789012ULL, .tsc_resume = 123456789999ULL,
			       .reason = 28, .level = 1, .action = TRACE_L0 };
	char buf[160];

	(void)state;
	trace_format(buf, sizeof(buf), 42, &r);
	assert_string_equal(buf, "trace: 42 L1 28 CR_ACCESS 0x1c l0 123456789012 123456789999");
	r.level = 2, r.reason = 10, r.qual = 0, r.action = TRACE_REFLECT;
	trace_format(buf, sizeof(buf), 0, &r);
	assert_string_equal(buf, "trace: 0 L2 10 CPUID 0x0 reflect 123456789012 123456789999");
	assert_string_equal(trace_action_name(TRACE_EMULATE), "emulate");
	assert_string_equal(trace_action_name(TRACE_NESTED_ENTRY), "entry");
	assert_string_equal(trace_action_name(TRACE_ACTIONS), "?");
}

static void test_trace_empty(void **state)
{
	struct trace_rec buf[4];
	struct trace_ring t;

	(void)state;
	trace_ring_init(&t, buf, 4);
	nlines = 0;
	assert_int_equal(trace_ring_dump(&t, 0, capture), 0);
	assert_int_equal(nlines, 2);
	assert_string_equal(lines[0], "trace begin: 0 records, newest of 0 exits (ring of 4)");
	assert_string_equal(lines[1], "trace end");
}

/* Fewer records than the ring holds: all of them, oldest first. */
static void test_trace_order(void **state)
{
	struct trace_rec buf[4];
	struct trace_ring t;

	(void)state;
	trace_ring_init(&t, buf, 4);
	for (u64 n = 0; n < 3; n++) {
		struct trace_rec r = rec(n);
		trace_ring_push(&t, &r);
	}
	nlines = 0;
	assert_int_equal(trace_ring_dump(&t, 0, capture), 3);
	assert_int_equal(nlines, 5);
	assert_string_equal(lines[0], "trace begin: 3 records, newest of 3 exits (ring of 4)");
	assert_string_equal(lines[1], "trace: 0 L2 10 CPUID 0x0 reflect 0 7");
	assert_string_equal(lines[2], "trace: 1 L2 10 CPUID 0x1 reflect 1000 1007");
	assert_string_equal(lines[3], "trace: 2 L2 10 CPUID 0x2 reflect 2000 2007");
	assert_string_equal(lines[4], "trace end");
}

/* Past the ring's size the oldest records go; the numbers keep counting. */
static void test_trace_wrap(void **state)
{
	struct trace_rec buf[4];
	struct trace_ring t;

	(void)state;
	trace_ring_init(&t, buf, 4);
	for (u64 n = 0; n < 10; n++) {
		struct trace_rec r = rec(n);
		trace_ring_push(&t, &r);
	}
	assert_int_equal(t.total, 10);
	nlines = 0;
	assert_int_equal(trace_ring_dump(&t, 0, capture), 4);
	assert_int_equal(nlines, 6);
	assert_string_equal(lines[0], "trace begin: 4 records, newest of 10 exits (ring of 4)");
	for (unsigned int i = 0; i < 4; i++) {
		char want[160];
		snprintf(want, sizeof(want), "trace: %u L2 10 CPUID 0x%x reflect %u %u", 6 + i, 6 + i,
			 1000 * (6 + i), 1000 * (6 + i) + 7);
		assert_string_equal(lines[1 + i], want);
	}
	assert_string_equal(lines[5], "trace end");
}

/* A limit keeps the newest records, still oldest first; a limit above
 * what the ring holds is all of it. */
static void test_trace_limit(void **state)
{
	struct trace_rec buf[4];
	struct trace_ring t;

	(void)state;
	trace_ring_init(&t, buf, 4);
	for (u64 n = 0; n < 6; n++) {
		struct trace_rec r = rec(n);
		trace_ring_push(&t, &r);
	}
	nlines = 0;
	assert_int_equal(trace_ring_dump(&t, 2, capture), 2);
	assert_string_equal(lines[0], "trace begin: 2 records, newest of 6 exits (ring of 4)");
	assert_string_equal(lines[1], "trace: 4 L2 10 CPUID 0x4 reflect 4000 4007");
	assert_string_equal(lines[2], "trace: 5 L2 10 CPUID 0x5 reflect 5000 5007");
	nlines = 0;
	assert_int_equal(trace_ring_dump(&t, 100, capture), 4);
	assert_string_equal(lines[1], "trace: 2 L2 10 CPUID 0x2 reflect 2000 2007");
}

int unit_trace(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_format),
		cmocka_unit_test(test_trace_empty),
		cmocka_unit_test(test_trace_order),
		cmocka_unit_test(test_trace_wrap),
		cmocka_unit_test(test_trace_limit),
	};

	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
