/* Nested VM-entry checks (arch/x86_64/nested/entry_checks*.c): the harness
 * that runs the case tables of test_entry_checks_{ctl,guest}.c, each case
 * as its own test, plus the tests of the checks' order. The known-good
 * VMCS12 and the capabilities (the Bochs corei7_skylake_x MSRs, as offered
 * to L1 (issue 3), raw, and a poorer CPU without TRUE controls) are
 * tests/common/entry_vmcs12.c, which the fuzz target shares. */
#include "unit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vmcs.h>
#include <msr.h>
#include <cpu.h>
#include "test_entry_checks.h"

static void set(struct vmcs12 *v, u32 enc, u64 val)
{
	vmcs12_set(v, enc, val);
}

static void apply_ops(struct vmcs12 *v, struct nested_caps *c, struct l1_facts *f,
		      const struct ec_op *ops, size_t n)
{
	for (size_t i = 0; i < n && ops[i].op != OP_END; i++) {
		const struct ec_op *o = &ops[i];

		switch (o->op) {
		case OP_SET: set(v, o->at, o->val); break;
		case OP_OR: set(v, o->at, vmcs12_get(v, o->at) | o->val); break;
		case OP_CLR: set(v, o->at, vmcs12_get(v, o->at) & ~o->val); break;
		case OP_MEM8: ec_tmem[o->at - TMEM_BASE] = (u8)o->val; break;
		case OP_MEM32: { u32 x = (u32)o->val; memcpy(&ec_tmem[o->at - TMEM_BASE], &x, 4); break; }
		case OP_MEM64: memcpy(&ec_tmem[o->at - TMEM_BASE], &o->val, 8); break;
		case OP_CAP_OR: CAPM(c, o->at) |= o->val; break;
		case OP_CAP_CLR: CAPM(c, o->at) &= ~o->val; break;
		case OP_FACT:
			if (o->at == FACT_L1_LONG_MODE) f->l1_long_mode = o->val;
			else if (o->at == FACT_RTM) f->rtm = o->val;
			else if (o->at == FACT_MAXPHYADDR) f->maxphyaddr = (u32)o->val;
			else if (o->at == FACT_NO_READ) f->read_gpa = NULL;
			break;
		default: fail_msg("bad op %d", o->op);
		}
	}
}

static struct vmcs12 tv;

/* Does an op leave every control and host-state field but those a
 * known-good entry checks again (vmcs12_field_memoized), the capabilities
 * and the L1 facts as they were? Then a monitor whose last entry passed
 * with the setup VMCS12 takes nested_check_vmentry_known_good(), and it
 * must give what nested_check_vmentry() gives (nested_entry.c). */
static bool op_keeps_ctl_host(const struct ec_op *o)
{
	switch (o->op) {
	case OP_END: case OP_MEM8: case OP_MEM32: case OP_MEM64:
		return true;
	case OP_SET: case OP_OR: case OP_CLR:
		return !vmcs12_field_memoized(o->at);
	default:
		return false;
	}
}

static size_t known_good_cases; /* cases that compared the two paths */
static size_t cr_seg_cases;     /* ... and with cr_seg_known_good */

/* What 27.3.1.1-27.3.1.2 read (nested.h NESTED_CR_SEG_FIELDS; RFLAGS for
 * its VM bit): a break that leaves these alone may be checked with
 * l1_facts.cr_seg_known_good. */
static const u32 cr_seg_inputs[] = {
	GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_DR7, GUEST_IA32_DEBUGCTL, GUEST_SYSENTER_ESP,
	GUEST_SYSENTER_EIP, GUEST_IA32_PAT, GUEST_IA32_EFER, GUEST_RFLAGS,
	CPU_BASED_VM_EXEC_CONTROL, SECONDARY_VM_EXEC_CONTROL, VM_ENTRY_CONTROLS,
	GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
	GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR,
	GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_FS_BASE,
	GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE,
	GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT,
	GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT,
	GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES,
	GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES,
};

static void same_result(const struct entry_check_result *a, const struct entry_check_result *b)
{
	if (a->kind != b->kind || a->vm_instruction_error != b->vm_instruction_error ||
	    a->exit_reason != b->exit_reason || a->exit_qualification != b->exit_qualification ||
	    a->rule != b->rule)
		fail_msg("known-good path: kind %d error %u exit %x qual %llx \"%s\"; full checks: "
			 "kind %d error %u exit %x qual %llx \"%s\"", b->kind, b->vm_instruction_error,
			 b->exit_reason, (unsigned long long)b->exit_qualification,
			 b->rule ? b->rule : "(none)", a->kind, a->vm_instruction_error, a->exit_reason,
			 (unsigned long long)a->exit_qualification, a->rule ? a->rule : "(none)");
}

static void expect_ok(const char *when, const struct entry_check_result *r)
{
	if (r->kind != ENTRY_OK)
		fail_msg("%s: expected to pass, failed \"%s\"", when, r->rule ? r->rule : "(no rule)");
}

static void run_case(void **state)
{
	const struct ec_case *k = *state;
	struct nested_caps caps;
	struct l1_facts f;
	struct entry_check_result r;

	ec_start(&caps, &f, &tv, k->caps, k->preset);
	apply_ops(&tv, &caps, &f, k->setup, ARRAY_SIZE(k->setup));
	r = nested_check_vmentry(&tv, &caps, &f);
	expect_ok("after setup", &r);
	struct entry_check_result kg = nested_check_vmentry_known_good(&tv, &caps, &f);
	same_result(&r, &kg);
	if (k->kind == ENTRY_OK)
		return;
	bool keeps = true, caps_facts_kept = true;
	for (size_t i = 0; i < ARRAY_SIZE(k->brk) && k->brk[i].op != OP_END; i++) {
		keeps = keeps && op_keeps_ctl_host(&k->brk[i]);
		caps_facts_kept = caps_facts_kept && k->brk[i].op != OP_CAP_OR &&
				  k->brk[i].op != OP_CAP_CLR && k->brk[i].op != OP_FACT;
	}
	u64 before[ARRAY_SIZE(cr_seg_inputs)];
	for (size_t i = 0; i < ARRAY_SIZE(cr_seg_inputs); i++)
		before[i] = vmcs12_get(&tv, cr_seg_inputs[i]);
	apply_ops(&tv, &caps, &f, k->brk, ARRAY_SIZE(k->brk));
	r = nested_check_vmentry(&tv, &caps, &f);
	/* The setup passed 27.3.1.1-2 too: a break that leaves their inputs
	 * alone must give the same result when the caller vouches for them. */
	bool cr_seg_kept = caps_facts_kept;
	for (size_t i = 0; i < ARRAY_SIZE(cr_seg_inputs); i++)
		cr_seg_kept = cr_seg_kept && vmcs12_get(&tv, cr_seg_inputs[i]) == before[i];
	if (cr_seg_kept) {
		struct l1_facts fk = f;
		fk.cr_seg_known_good = true;
		struct entry_check_result rk = nested_check_vmentry(&tv, &caps, &fk);
		same_result(&r, &rk);
		if (keeps) {
			rk = nested_check_vmentry_known_good(&tv, &caps, &fk);
			same_result(&r, &rk);
		}
		cr_seg_cases++;
	}
	/* The setup passed 27.2; a break that leaves the control and host
	 * fields alone must fail the known-good path the same way. */
	if (keeps) {
		kg = nested_check_vmentry_known_good(&tv, &caps, &f);
		same_result(&r, &kg);
		known_good_cases++;
	}
	if (r.kind != k->kind || !r.rule || !strstr(r.rule, k->rule))
		fail_msg("expected kind %d \"%s\", got kind %d \"%s\"", k->kind, k->rule,
			 r.kind, r.rule ? r.rule : "(none)");
	if (k->kind == ENTRY_VMFAIL) {
		assert_int_equal(r.vm_instruction_error, k->code);
	} else {
		assert_int_equal(r.exit_reason, k->code);
		assert_int_equal(r.exit_qualification, k->qual);
		assert_int_equal(r.vm_instruction_error, 0);
	}
}

/* Runs after every case: enough of them broke a guest field or L1 memory
 * (VTPR, PDPTEs, link pointer, MSR-load list) after a good setup for the
 * comparison of the two paths to mean something. */
static void test_known_good_count(void **state)
{
	(void)state;
	if (known_good_cases < 40 || cr_seg_cases < 40)
		fail_msg("only %zu cases compared the known-good path, %zu cr_seg_known_good",
			 known_good_cases, cr_seg_cases);
	printf("entry checks: %zu breaking cases compared with the known-good path, %zu with "
	       "cr_seg_known_good\n", known_good_cases, cr_seg_cases);
}

/* Several rules broken at once: the first category in the SDM's order
 * decides the result (controls, host, guest, MSR loading). */
static void test_order(void **state)
{
	struct nested_caps caps;
	struct l1_facts f;
	struct entry_check_result r;

	(void)state;
	ec_start(&caps, &f, &tv, CAPS_OFFERED, PRESET_NONE);
	set(&tv, VM_ENTRY_MSR_LOAD_COUNT, 1);
	set(&tv, VM_ENTRY_MSR_LOAD_ADDR, T_MSRS);
	memcpy(&ec_tmem[T_MSRS - TMEM_BASE], &(u32){ MSR_IA32_FS_BASE }, 4);
	r = nested_check_vmentry(&tv, &caps, &f);
	assert_int_equal(r.kind, ENTRY_FAIL_EXIT);
	assert_int_equal(r.exit_reason, 0x80000022);
	set(&tv, GUEST_RFLAGS, 0);
	r = nested_check_vmentry(&tv, &caps, &f);
	assert_int_equal(r.exit_reason, 0x80000021);
	assert_int_equal(nested_check_guest_state(&tv, &caps, &f).kind, ENTRY_FAIL_EXIT);
	set(&tv, HOST_TR_SELECTOR, 0);
	r = nested_check_vmentry(&tv, &caps, &f);
	assert_int_equal(r.kind, ENTRY_VMFAIL);
	assert_int_equal(r.vm_instruction_error, VMXERR_ENTRY_INVALID_HOST_STATE);
	set(&tv, CR3_TARGET_COUNT, 9);
	r = nested_check_vmentry(&tv, &caps, &f);
	assert_int_equal(r.vm_instruction_error, VMXERR_ENTRY_INVALID_CONTROL);
	assert_string_equal(r.rule, "27.2.1.1: CR3-target count > 4 (or > IA32_VMX_MISC[24:16])");
	/* Each category on its own still sees its own failure. */
	assert_int_equal(nested_check_host_state(&tv, &caps, &f).vm_instruction_error,
			 VMXERR_ENTRY_INVALID_HOST_STATE);
	assert_int_equal(nested_check_msr_load(&tv, &caps, &f).exit_qualification, 1);
}

/* Without a memory reader the checks that need L1 memory are skipped. */
static void test_no_reader(void **state)
{
	struct nested_caps caps;
	struct l1_facts f;

	(void)state;
	ec_build_caps(&caps, CAPS_OFFERED);
	ec_build_facts(&f);
	ec_build_vmcs12(&tv);
	f.read_gpa = NULL;
	set(&tv, VMCS_LINK_POINTER, 0x80000);
	set(&tv, VM_ENTRY_MSR_LOAD_COUNT, 4);
	set(&tv, VM_ENTRY_MSR_LOAD_ADDR, 0x80000);
	assert_int_equal(nested_check_vmentry(&tv, &caps, &f).kind, ENTRY_OK);
	f.read_gpa = ec_tmem_read;
	assert_int_equal(nested_check_vmentry(&tv, &caps, &f).exit_qualification,
			 ENTRY_FAIL_QUAL_VMCS_LINK);
}

/* Facts left 0 take the defaults; a 57-bit linear width widens
 * "canonical". */
static void test_fact_defaults(void **state)
{
	struct nested_caps caps;
	struct l1_facts f;

	(void)state;
	ec_build_caps(&caps, CAPS_OFFERED);
	ec_build_facts(&f);
	ec_build_vmcs12(&tv);
	f.linear_width = 0;
	f.debugctl_valid = 0;
	set(&tv, GUEST_IA32_DEBUGCTL, 3);
	assert_int_equal(nested_check_vmentry(&tv, &caps, &f).kind, ENTRY_OK);
	set(&tv, HOST_GS_BASE, 0x0000800000000000ULL);
	assert_string_equal(nested_check_vmentry(&tv, &caps, &f).rule, "27.2.3: host GS base not canonical");
	f.linear_width = 57;
	assert_int_equal(nested_check_vmentry(&tv, &caps, &f).kind, ENTRY_OK);
	set(&tv, GUEST_IA32_DEBUGCTL, BIT(2));
	assert_int_equal(nested_check_vmentry(&tv, &caps, &f).kind, ENTRY_FAIL_EXIT);
}

int unit_entry_checks(void)
{
	size_t n = ec_ctl_cases_count + ec_guest_cases_count + 4;
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	size_t i = 0;
	int failed;

	if (!tests)
		return 1;
	for (size_t k = 0; k < ec_ctl_cases_count; k++, i++)
		tests[i] = (struct CMUnitTest){ .name = ec_ctl_cases[k].name, .test_func = run_case,
						.initial_state = (void *)&ec_ctl_cases[k] };
	for (size_t k = 0; k < ec_guest_cases_count; k++, i++)
		tests[i] = (struct CMUnitTest){ .name = ec_guest_cases[k].name, .test_func = run_case,
						.initial_state = (void *)&ec_guest_cases[k] };
	tests[i++] = (struct CMUnitTest){ .name = "entry_check_known_good_compared",
					  .test_func = test_known_good_count };
	tests[i++] = (struct CMUnitTest){ .name = "entry_check_order", .test_func = test_order };
	tests[i++] = (struct CMUnitTest){ .name = "entry_check_no_reader", .test_func = test_no_reader };
	tests[i++] = (struct CMUnitTest){ .name = "entry_check_fact_defaults", .test_func = test_fact_defaults };
	failed = _cmocka_run_group_tests("entry_checks", tests, i, NULL, NULL);
	free(tests);
	return failed;
}
