/* MSR policy and the MSR/I/O bitmaps. Bitmap positions are computed here
 * from the SDM's layout ("MSR-Bitmap Address": read-low at byte 0, read-high
 * at 1024, write-low at 2048, write-high at 3072, one bit per MSR, LSB
 * first; "I/O-Bitmap Addresses": A for 0-0x7fff, B for 0x8000-0xffff). */
#include "unit.h"
#include <string.h>
#include "msr_policy.h"
#include "msr.h"

static const struct msr_policy no_vmx = { .expose_vmx = false, .arch_capabilities = 1u << 3 };
static const struct msr_policy with_vmx = { .expose_vmx = true, .arch_capabilities = 0x2b };

/* Architectural MSRs the guest owns: always passed through. */
static const u32 plain_msrs[] = {
	0x10, 0x1b, 0x174, 0x175, 0x176, 0x1a0, 0x1d9, 0x277, 0xda0,
	0xc0000080, 0xc0000100, 0xc0000101, 0xc0000102, 0x47f, 0x494, 0x3b,
};

static void test_no_vmx(void **state)
{
	u64 v = 0xdead;

	(void)state;
	/* IA32_FEATURE_CONTROL (0x3a): locked (bit 0), VMXON disabled. */
	assert_int_equal(msr_policy_rdmsr(0x3a, &no_vmx, &v), MSR_EMULATE);
	assert_int_equal(v, 1);
	assert_int_equal(msr_policy_wrmsr(0x3a, 5, &no_vmx), MSR_INJECT_GP);
	assert_int_equal(msr_policy_wrmsr(0x3a, 1, &no_vmx), MSR_INJECT_GP);
	/* Every VMX capability MSR, 0x480 (BASIC) to 0x491 (VMFUNC), is absent. */
	for (u32 msr = 0x480; msr <= 0x491; msr++) {
		assert_int_equal(msr_policy_rdmsr(msr, &no_vmx, &v), MSR_INJECT_GP);
		assert_int_equal(msr_policy_wrmsr(msr, 0, &no_vmx), MSR_INJECT_GP);
	}
	for (size_t i = 0; i < ARRAY_SIZE(plain_msrs); i++) {
		assert_int_equal(msr_policy_rdmsr(plain_msrs[i], &no_vmx, &v), MSR_PASSTHROUGH);
		assert_int_equal(msr_policy_wrmsr(plain_msrs[i], 0, &no_vmx), MSR_PASSTHROUGH);
	}
}

static void test_with_vmx(void **state)
{
	u64 v = 0xdead;

	(void)state;
	/* Locked with VMXON outside SMX enabled (bit 2). */
	assert_int_equal(msr_policy_rdmsr(0x3a, &with_vmx, &v), MSR_EMULATE);
	assert_int_equal(v, 1 | 4);
	assert_int_equal(msr_policy_wrmsr(0x3a, 5, &with_vmx), MSR_INJECT_GP);
	for (u32 msr = 0x480; msr <= 0x491; msr++) {
		v = 0xdead;
		assert_int_equal(msr_policy_rdmsr(msr, &with_vmx, &v), MSR_EMULATE);
		assert_int_equal(v, 0);
		/* The capability MSRs are read-only. */
		assert_int_equal(msr_policy_wrmsr(msr, 0, &with_vmx), MSR_INJECT_GP);
	}
	/* Tertiary controls and secondary exit controls are not offered, so
	 * their MSRs (0x492, 0x493) stay absent. */
	assert_int_equal(msr_policy_rdmsr(0x492, &with_vmx, &v), MSR_INJECT_GP);
	assert_int_equal(msr_policy_rdmsr(0x493, &with_vmx, &v), MSR_INJECT_GP);
	for (size_t i = 0; i < ARRAY_SIZE(plain_msrs); i++)
		assert_int_equal(msr_policy_rdmsr(plain_msrs[i], &with_vmx, &v), MSR_PASSTHROUGH);
}

/* IA32_ARCH_CAPABILITIES (0x10a): read-only, the policy's value whether
 * or not VMX is offered; IA32_FLUSH_CMD (0x10b) is the CPU's. */
static void test_arch_capabilities(void **state)
{
	u64 v = 0xdead;

	(void)state;
	assert_int_equal(msr_policy_rdmsr(0x10a, &no_vmx, &v), MSR_EMULATE);
	assert_int_equal(v, 1u << 3);
	assert_int_equal(msr_policy_rdmsr(0x10a, &with_vmx, &v), MSR_EMULATE);
	assert_int_equal(v, 0x2b);
	assert_int_equal(msr_policy_wrmsr(0x10a, 0x2b, &with_vmx), MSR_INJECT_GP);
	assert_int_equal(msr_policy_wrmsr(0x10a, 0, &no_vmx), MSR_INJECT_GP);
	assert_int_equal(msr_policy_rdmsr(0x10b, &with_vmx, &v), MSR_PASSTHROUGH);
	assert_int_equal(msr_policy_wrmsr(0x10b, 1, &with_vmx), MSR_PASSTHROUGH);
}

static void test_msr_names(void **state)
{
	(void)state;
	assert_int_equal(MSR_IA32_FEATURE_CONTROL, 0x3a);
	assert_int_equal(MSR_IA32_ARCH_CAPABILITIES, 0x10a);
	assert_int_equal(MSR_IA32_FLUSH_CMD, 0x10b);
	assert_int_equal(MSR_IA32_VMX_BASIC, 0x480);
	assert_int_equal(MSR_IA32_VMX_VMCS_ENUM, 0x48a);
	assert_int_equal(MSR_IA32_VMX_EPT_VPID_CAP, 0x48c);
	assert_int_equal(MSR_IA32_VMX_TRUE_ENTRY_CTLS, 0x490);
	assert_int_equal(MSR_IA32_VMX_VMFUNC, 0x491);
	assert_int_equal(MSR_IA32_EFER, 0xc0000080);
	assert_int_equal(MSR_IA32_KERNEL_GS_BASE, 0xc0000102);
	assert_int_equal(MSR_IA32_XSS, 0xda0);
	assert_int_equal(FEATURE_CONTROL_VMXON_OUTSIDE_SMX, 4);
}

static bool bit_at(const u8 *map, u32 byte, u32 bit)
{
	return map[byte] & (1u << bit);
}

static int popcount_map(const u8 *map, size_t n)
{
	int c = 0;

	for (size_t i = 0; i < n; i++)
		c += __builtin_popcount(map[i]);
	return c;
}

static void test_msr_bitmap_positions(void **state)
{
	u8 map[4096] = { 0 };

	(void)state;
	msr_bitmap_build(map, &no_vmx);
	/* 0x3a: byte 7, bit 2, in read-low and write-low. */
	assert_true(bit_at(map, 7, 2));
	assert_true(bit_at(map, 2048 + 7, 2));
	/* 0x480: byte 0x90 bit 0; 0x491: byte 0x92 bit 1. */
	assert_true(bit_at(map, 0x90, 0));
	assert_true(bit_at(map, 0x92, 1));
	assert_true(bit_at(map, 2048 + 0x90, 0));
	assert_true(bit_at(map, 2048 + 0x92, 1));
	/* 0x10a: byte 0x21, bit 2, both ways. */
	assert_true(bit_at(map, 0x21, 2));
	assert_true(bit_at(map, 2048 + 0x21, 2));
	/* EFER (0xc0000080) passes: read-high byte 1024 + 0x10 bit 0 clear. */
	assert_false(bit_at(map, 1024 + 0x10, 0));
	assert_false(bit_at(map, 3072 + 0x10, 0));
	/* Only FEATURE_CONTROL, ARCH_CAPABILITIES and the VMX range are
	 * intercepted, both ways; nothing in the high ranges. */
	int vmx_range = MSR_IA32_VMX_LAST - MSR_IA32_VMX_FIRST + 1;
	assert_int_equal(popcount_map(map, 1024), 2 + vmx_range);
	assert_int_equal(popcount_map(map + 2048, 1024), 2 + vmx_range);
	assert_int_equal(popcount_map(map + 1024, 1024), 0);
	assert_int_equal(popcount_map(map + 3072, 1024), 0);
}

static void test_msr_bitmap_intercepts(void **state)
{
	u8 map[4096] = { 0 };

	(void)state;
	/* Outside both ranges: always exits, even with an empty bitmap. */
	static const u32 outside[] = { 0x2000, 0x40000000, 0xbfffffff, 0xc0002000, 0xffffffff };
	for (size_t i = 0; i < ARRAY_SIZE(outside); i++) {
		assert_true(msr_bitmap_intercepts(map, outside[i], false));
		assert_true(msr_bitmap_intercepts(map, outside[i], true));
	}
	assert_false(msr_bitmap_intercepts(map, 0x1fff, false));
	assert_false(msr_bitmap_intercepts(map, 0xc0001fff, true));

	/* Write-high for KERNEL_GS_BASE: offset 0x102 -> byte 3072 + 32, bit 2. */
	map[3072 + 32] = 1u << 2;
	assert_true(msr_bitmap_intercepts(map, 0xc0000102, true));
	assert_false(msr_bitmap_intercepts(map, 0xc0000102, false));
	assert_false(msr_bitmap_intercepts(map, 0x102, true));
	assert_false(msr_bitmap_intercepts(map, 0xc0000101, true));
	/* Read-low for 0x1fff: byte 1023, bit 7. */
	map[1023] = 0x80;
	assert_true(msr_bitmap_intercepts(map, 0x1fff, false));
	assert_false(msr_bitmap_intercepts(map, 0x1fff, true));
	assert_false(msr_bitmap_intercepts(map, 0xc0001fff, false));
}

/* Every MSR in both ranges exits exactly when the policy does not pass
 * it through. */
static void test_msr_bitmap_matches_policy(void **state)
{
	static const u32 base[] = { 0, 0xc0000000 };
	const struct msr_policy *pols[] = { &no_vmx, &with_vmx };
	u8 map[4096];

	(void)state;
	for (size_t p = 0; p < ARRAY_SIZE(pols); p++) {
		memset(map, 0, sizeof(map));
		msr_bitmap_build(map, pols[p]);
		for (size_t r = 0; r < 2; r++) {
			for (u32 i = 0; i < 0x2000; i++) {
				u32 msr = base[r] + i;
				u64 v;

				assert_int_equal(msr_bitmap_intercepts(map, msr, false),
						 msr_policy_rdmsr(msr, pols[p], &v) != MSR_PASSTHROUGH);
				assert_int_equal(msr_bitmap_intercepts(map, msr, true),
						 msr_policy_wrmsr(msr, 0, pols[p]) != MSR_PASSTHROUGH);
			}
		}
	}
}

static void test_io_bitmap(void **state)
{
	u8 a[4096] = { 0 }, b[4096] = { 0 };

	(void)state;
	io_bitmap_set(a, b, 0x80, true);     /* A byte 0x10 bit 0 */
	io_bitmap_set(a, b, 0x3fd, true);    /* A byte 0x7f bit 5 */
	io_bitmap_set(a, b, 0x8000, true);   /* B byte 0 bit 0 */
	io_bitmap_set(a, b, 0xcfe, true);
	io_bitmap_set(a, b, 0xffff, true);   /* B byte 0xfff bit 7 */
	assert_int_equal(a[0x10], 0x01);
	assert_int_equal(a[0x7f], 0x20);
	assert_int_equal(b[0], 0x01);
	assert_int_equal(b[0xfff], 0x80);
	assert_int_equal(popcount_map(a, 4096) + popcount_map(b, 4096), 5);
	io_bitmap_set(a, b, 0xcfe, false);
	assert_int_equal(a[0xcfe / 8], 0);
	assert_int_equal(popcount_map(a, 4096) + popcount_map(b, 4096), 4);

	assert_true(io_bitmap_intercepts(a, b, 0x80, 1));
	assert_false(io_bitmap_intercepts(a, b, 0x7f, 1));
	assert_true(io_bitmap_intercepts(a, b, 0x7f, 2));    /* touches 0x80 */
	assert_true(io_bitmap_intercepts(a, b, 0x7d, 4));
	assert_false(io_bitmap_intercepts(a, b, 0x7c, 4));
	assert_false(io_bitmap_intercepts(a, b, 0x81, 4));
	assert_false(io_bitmap_intercepts(a, b, 0xcfc, 4));  /* 0xcfe cleared */
	/* Spanning A and B: 0x7ffe..0x8001 touches 0x8000 in B. */
	assert_true(io_bitmap_intercepts(a, b, 0x7ffe, 4));
	assert_false(io_bitmap_intercepts(a, b, 0x7ffc, 4));
	assert_true(io_bitmap_intercepts(a, b, 0xffff, 1));

	/* Wrap-around past 0xffff exits with empty bitmaps. */
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_false(io_bitmap_intercepts(a, b, 0xffff, 1));
	assert_false(io_bitmap_intercepts(a, b, 0xfffe, 2));
	assert_false(io_bitmap_intercepts(a, b, 0xfffc, 4));
	assert_true(io_bitmap_intercepts(a, b, 0xffff, 2));
	assert_true(io_bitmap_intercepts(a, b, 0xfffd, 4));
	assert_false(io_bitmap_intercepts(a, b, 0, 4));
}

int unit_msr_policy(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_vmx),
		cmocka_unit_test(test_with_vmx),
		cmocka_unit_test(test_arch_capabilities),
		cmocka_unit_test(test_msr_names),
		cmocka_unit_test(test_msr_bitmap_positions),
		cmocka_unit_test(test_msr_bitmap_intercepts),
		cmocka_unit_test(test_msr_bitmap_matches_policy),
		cmocka_unit_test(test_io_bitmap),
	};

	return cmocka_run_group_tests_name("msr_policy", tests, NULL, NULL);
}
