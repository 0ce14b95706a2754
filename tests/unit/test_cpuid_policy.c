/* CPUID as the guest sees it, and the XSETBV rules. Bit positions are
 * written out from the SDM here rather than taken from the header. */
#include "unit.h"
#include <string.h>
#include "cpuid_policy.h"
#include <nestvisor/hypercall.h>

#define CR4_OSXSAVE (1ULL << 18)
#define CR4_PKE (1ULL << 22)

static struct cpuid_regs apply(u32 leaf, u32 subleaf, struct cpuid_regs in,
			       bool expose_vmx, u64 cr4)
{
	struct cpuid_policy p = { .expose_vmx = expose_vmx, .guest_cr4 = cr4 };

	cpuid_policy_apply(leaf, subleaf, &in, &p);
	return in;
}

static void test_leaf1_hypervisor_and_vmx(void **state)
{
	struct cpuid_regs in = { 0x000906ea, 0x01100800, 0x7ffafbbf, 0xbfebfbff }, out;

	(void)state;
	/* Input has VMX (bit 5) and OSXSAVE (bit 27) set, bit 31 clear. */
	assert_true(in.ecx & (1u << 5));
	out = apply(1, 0, in, false, CR4_OSXSAVE);
	assert_int_equal(out.ecx, (in.ecx & ~(1u << 5)) | (1u << 31));
	assert_int_equal(out.eax, in.eax);
	assert_int_equal(out.ebx, in.ebx);
	assert_int_equal(out.edx, in.edx);

	out = apply(1, 0, in, true, CR4_OSXSAVE);
	assert_int_equal(out.ecx, in.ecx | (1u << 31));
}

static void test_leaf1_smx_hidden(void **state)
{
	/* A CPU with SMX (CPUID.1:ECX bit 6): GETSEC is #UD for the guest. */
	struct cpuid_regs in = { 0x000906ea, 0x01100800, 0x7ffafbff, 0xbfebfbff }, out;

	(void)state;
	assert_true(in.ecx & (1u << 6));
	out = apply(1, 0, in, true, CR4_OSXSAVE);
	assert_int_equal(out.ecx & (1u << 6), 0);
	assert_int_equal(out.ecx, (in.ecx & ~(1u << 6)) | (1u << 31));
	out = apply(1, 0, in, false, CR4_OSXSAVE);
	assert_int_equal(out.ecx & ((1u << 6) | (1u << 5)), 0);
}

static void test_leaf1_osxsave_follows_guest_cr4(void **state)
{
	struct cpuid_regs in = { 0, 0, 1u << 27, 0 }, out;

	(void)state;
	/* The monitor's CR4 has OSXSAVE, the guest's not (yet). */
	out = apply(1, 0, in, false, 0);
	assert_int_equal(out.ecx & (1u << 27), 0);
	out = apply(1, 0, in, false, CR4_OSXSAVE | CR4_PKE);
	assert_int_equal(out.ecx & (1u << 27), 1u << 27);
	in.ecx = 0;
	out = apply(1, 0, in, false, CR4_OSXSAVE);
	assert_int_equal(out.ecx & (1u << 27), 1u << 27);
	/* Other CR4 bits do not leak into ECX. */
	out = apply(1, 0, in, false, ~CR4_OSXSAVE);
	assert_int_equal(out.ecx, 1u << 31);
}

static void test_leaf7_ospke(void **state)
{
	struct cpuid_regs in = { 0, 0xd19f4fbb, 0x0040405e, 0xbc000400 }, out;

	(void)state;
	out = apply(7, 0, in, false, 0);
	assert_int_equal(out.ecx, in.ecx & ~(1u << 4));
	assert_int_equal(out.ebx, in.ebx);
	assert_int_equal(out.edx, in.edx | (1u << 29));
	out = apply(7, 0, in, false, CR4_PKE);
	assert_int_equal(out.ecx, in.ecx | (1u << 4));
	/* Subleaf 1 has a different layout: untouched. */
	out = apply(7, 1, in, false, CR4_PKE);
	assert_memory_equal(&out, &in, sizeof(in));
}

/* EDX[29]: IA32_ARCH_CAPABILITIES exists, on every CPU (the monitor
 * answers it); EDX[28], IA32_FLUSH_CMD, is the CPU's own. */
static void test_leaf7_arch_capabilities(void **state)
{
	struct cpuid_regs in = { 0, 0, 0, 0 }, out;

	(void)state;
	out = apply(7, 0, in, true, 0);
	assert_int_equal(out.edx, 1u << 29);
	in.edx = 1u << 28;
	out = apply(7, 0, in, true, 0);
	assert_int_equal(out.edx, (1u << 28) | (1u << 29));
	in.edx = 0xffffffff;
	out = apply(7, 0, in, false, 0);
	assert_int_equal(out.edx, 0xffffffff);
	/* Only subleaf 0 enumerates it. */
	in.edx = 0;
	out = apply(7, 1, in, true, 0);
	assert_int_equal(out.edx, 0);
}

static void test_hypervisor_leaves(void **state)
{
	struct cpuid_regs junk = { 0x11111111, 0x22222222, 0x33333333, 0x44444444 }, out;
	char sig[13] = { 0 };

	(void)state;
	out = apply(0x40000000, 0, junk, false, 0);
	assert_int_equal(out.eax, 0x40000001);
	memcpy(sig, &out.ebx, 4);
	memcpy(sig + 4, &out.ecx, 4);
	memcpy(sig + 8, &out.edx, 4);
	assert_string_equal(sig, "NestVisorVMM");

	out = apply(0x40000001, 0, junk, true, 0);
	assert_int_equal(out.eax, (NV_VERSION_MAJOR << 16) | (NV_VERSION_MINOR << 8) | NV_VERSION_PATCH);
	assert_int_equal(out.ebx | out.ecx | out.edx, 0);

	static const u32 empty[] = { 0x40000002, 0x40000010, 0x400000ff };
	for (size_t i = 0; i < ARRAY_SIZE(empty); i++) {
		out = apply(empty[i], 3, junk, false, 0);
		assert_int_equal(out.eax | out.ebx | out.ecx | out.edx, 0);
	}
	/* Leaves outside the range are what the CPU said. */
	static const u32 other[] = { 0, 2, 0xd, 0x3fffffff, 0x40000100, 0x80000000, 0x80000001 };
	for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
		out = apply(other[i], 0, junk, false, 0);
		assert_memory_equal(&out, &junk, sizeof(junk));
	}
}

static void test_xcr0_valid(void **state)
{
	/* x87 SSE AVX MPX(3,4) AVX-512(5,6,7) PKRU(9) AMX(17,18) */
	const u64 all = 0x7 | 0x18 | 0xe0 | 0x200 | 0x60000;

	(void)state;
	assert_true(xcr0_valid(0x1, all));
	assert_true(xcr0_valid(0x3, all));
	assert_true(xcr0_valid(0x7, all));
	assert_true(xcr0_valid(0xe7, all));
	assert_true(xcr0_valid(0x1f, all));
	assert_true(xcr0_valid(0x207, all));
	assert_true(xcr0_valid(0x600e7, all));
	assert_true(xcr0_valid(all, all));
	assert_true(xcr0_valid(0x60003, all)); /* AMX has no AVX dependency here */

	assert_false(xcr0_valid(0x0, all));    /* bit 0 must be 1 */
	assert_false(xcr0_valid(0x2, all));
	assert_false(xcr0_valid(0x5, all));    /* AVX without SSE */
	assert_false(xcr0_valid(0xe3, all));   /* AVX-512 without AVX */
	assert_false(xcr0_valid(0x27, all));   /* AVX-512 bits not all set */
	assert_false(xcr0_valid(0x67, all));
	assert_false(xcr0_valid(0xc7, all));
	assert_false(xcr0_valid(0x87, all));
	assert_false(xcr0_valid(0x0b, all));   /* BNDREGS without BNDCSR */
	assert_false(xcr0_valid(0x13, all));   /* BNDCSR without BNDREGS */
	assert_false(xcr0_valid(0x20003, all)); /* TILECFG without TILEDATA */
	assert_false(xcr0_valid(0x40003, all)); /* TILEDATA without TILECFG */
	assert_false(xcr0_valid(0x7, 0x3));    /* AVX not supported */
	assert_false(xcr0_valid(0x207, 0x7));  /* PKRU not supported */
	assert_false(xcr0_valid(1ULL << 63, all));
	assert_false(xcr0_valid(0x3 | (1ULL << 8), all)); /* bit 8 not supported */
}

int unit_cpuid_policy(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf1_hypervisor_and_vmx),
		cmocka_unit_test(test_leaf1_smx_hidden),
		cmocka_unit_test(test_leaf1_osxsave_follows_guest_cr4),
		cmocka_unit_test(test_leaf7_ospke),
		cmocka_unit_test(test_leaf7_arch_capabilities),
		cmocka_unit_test(test_hypervisor_leaves),
		cmocka_unit_test(test_xcr0_valid),
	};

	return cmocka_run_group_tests_name("cpuid_policy", tests, NULL, NULL);
}
