/* Nested VM-entry checks (arch/x86_64/nested/entry_checks*.c): the harness
 * that runs the case tables of test_entry_checks_{ctl,guest}.c, each case
 * as its own test, plus the tests of the checks' order. Capabilities are
 * the Bochs corei7_skylake_x MSRs (docs: /work/shared/platform.md), as
 * offered to L1 (issue 3), raw, and a poorer CPU without TRUE controls. */
#include "unit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vmcs.h>
#include <msr.h>
#include <cpu.h>
#include "test_entry_checks.h"

/* The hardware's VMX capability MSRs, 0x480 (BASIC) to 0x491 (VMFUNC). */
static const u64 hw_msrs[] = {
	0x00d810000000002bULL, 0x0000007f00000016ULL, 0xf7f9fffe0401e172ULL,
	0x007fffff00036dffULL, 0x0000ffff000011ffULL, 0x00000000600401e0ULL,
	0x80000021ULL, 0xffffffffULL, 0x2000ULL, 0x3727ffULL, 0x34ULL,
	0x02177fff00000000ULL, 0x00000f0106334141ULL, 0x0000007f00000016ULL,
	0xf7f9fffe04006172ULL, 0x007fffff00036dfbULL, 0x0000ffff000011fbULL, 1ULL,
};

#define CAPM(c, m) ((c)->msr[(m) - MSR_IA32_VMX_BASIC])

/* A control capability cut down to what issue 3 offers (plus the
 * default-1 bits). */
static u64 offer(u64 cap, u32 offered)
{
	u32 lo = (u32)cap, hi = (u32)(cap >> 32);

	return ((u64)(hi & (offered | lo)) << 32) | lo;
}

#define OFFER_PIN (PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS)
#define OFFER_PROC (CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_USE_TSC_OFFSETTING | \
	CPU_BASED_HLT_EXITING | CPU_BASED_INVLPG_EXITING | CPU_BASED_MWAIT_EXITING | \
	CPU_BASED_RDPMC_EXITING | CPU_BASED_RDTSC_EXITING | CPU_BASED_CR3_LOAD_EXITING | \
	CPU_BASED_CR3_STORE_EXITING | CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING | \
	CPU_BASED_TPR_SHADOW | CPU_BASED_NMI_WINDOW_EXITING | CPU_BASED_MOV_DR_EXITING | \
	CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS | \
	CPU_BASED_MONITOR_EXITING | CPU_BASED_PAUSE_EXITING | CPU_BASED_ACTIVATE_SECONDARY)
#define OFFER_PROC2 (SECONDARY_DESC_TABLE_EXITING | SECONDARY_ENABLE_RDTSCP | \
	SECONDARY_WBINVD_EXITING | SECONDARY_ENABLE_INVPCID | SECONDARY_ENABLE_XSAVES | \
	SECONDARY_RDRAND_EXITING | SECONDARY_RDSEED_EXITING)
#define OFFER_EXIT (VM_EXIT_SAVE_DEBUG_CONTROLS | VM_EXIT_HOST_ADDR_SPACE_SIZE | \
	VM_EXIT_ACK_INTR_ON_EXIT | VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT | \
	VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER)
#define OFFER_ENTRY (VM_ENTRY_LOAD_DEBUG_CONTROLS | VM_ENTRY_IA32E_MODE | \
	VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER)

static void build_caps(struct nested_caps *c, enum ec_caps_kind kind)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ARRAY_SIZE(hw_msrs); i++)
		c->msr[i] = hw_msrs[i];
	if (kind == CAPS_HW)
		return;
	/* BASIC: own revision, 4 KiB, WB, bit 54 as hardware, TRUE controls. */
	CAPM(c, MSR_IA32_VMX_BASIC) = (6ULL << 50) | (1ULL << 44) | BIT(54) | BIT(55) | T_REVISION;
	CAPM(c, MSR_IA32_VMX_PINBASED_CTLS) = offer(hw_msrs[1], OFFER_PIN);
	CAPM(c, MSR_IA32_VMX_TRUE_PINBASED_CTLS) = offer(hw_msrs[13], OFFER_PIN);
	CAPM(c, MSR_IA32_VMX_PROCBASED_CTLS) = offer(hw_msrs[2], OFFER_PROC);
	CAPM(c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS) = offer(hw_msrs[14], OFFER_PROC);
	CAPM(c, MSR_IA32_VMX_PROCBASED_CTLS2) = offer(hw_msrs[11], OFFER_PROC2);
	CAPM(c, MSR_IA32_VMX_EXIT_CTLS) = offer(hw_msrs[3], OFFER_EXIT);
	CAPM(c, MSR_IA32_VMX_TRUE_EXIT_CTLS) = offer(hw_msrs[15], OFFER_EXIT);
	CAPM(c, MSR_IA32_VMX_ENTRY_CTLS) = offer(hw_msrs[4], OFFER_ENTRY);
	CAPM(c, MSR_IA32_VMX_TRUE_ENTRY_CTLS) = offer(hw_msrs[16], OFFER_ENTRY);
	/* MISC: LMA store, HLT only, 4 CR3 targets, bits 29/30 as hardware. */
	CAPM(c, MSR_IA32_VMX_MISC) = BIT(5) | BIT(6) | (4ULL << 16) | BIT(29) | BIT(30);
	CAPM(c, MSR_IA32_VMX_EPT_VPID_CAP) = 0;
	CAPM(c, MSR_IA32_VMX_VMFUNC) = 0;
	if (kind == CAPS_POOR) {
		/* No TRUE controls, no HLT state, no CR3 targets, no
		 * zero-length software-event injection. */
		CAPM(c, MSR_IA32_VMX_BASIC) &= ~BIT(55);
		CAPM(c, MSR_IA32_VMX_MISC) = BIT(5);
	}
}

static u8 tmem[TMEM_SIZE];

static int tmem_read(void *ctx, u64 gpa, void *buf, u32 len)
{
	(void)ctx;
	if (gpa < TMEM_BASE || gpa + len > TMEM_BASE + TMEM_SIZE)
		return -1;
	memcpy(buf, tmem + (gpa - TMEM_BASE), len);
	return 0;
}

static void build_facts(struct l1_facts *f)
{
	*f = (struct l1_facts){
		.maxphyaddr = 39, .linear_width = 48, .l1_long_mode = true,
		.debugctl_valid = 0xffc3, /* LBR, BTF, bits 15:6 */
		.rtm = false, .current_vmcs_ptr = T_CURRENT,
		.read_gpa = tmem_read,
	};
}

static void set(struct vmcs12 *v, u32 enc, u64 val)
{
	vmcs12_set(v, enc, val);
}

/* Host state: a 64-bit L1 kernel. */
static void build_host(struct vmcs12 *v)
{
	set(v, HOST_CR0, 0x80050033);           /* PG WP NE ET MP PE */
	set(v, HOST_CR3, 0x1000);
	set(v, HOST_CR4, CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_VMXE);
	set(v, HOST_CS_SELECTOR, 0x10);
	set(v, HOST_SS_SELECTOR, 0x18);
	set(v, HOST_TR_SELECTOR, 0x40);
	set(v, HOST_FS_BASE, 0);
	set(v, HOST_GS_BASE, 0xffff888000000000ULL);
	set(v, HOST_TR_BASE, 0xfffffe0000003000ULL);
	set(v, HOST_GDTR_BASE, 0xfffffe0000001000ULL);
	set(v, HOST_IDTR_BASE, 0xfffffe0000000000ULL);
	set(v, HOST_IA32_PAT, 0x0007040600070406ULL);
	set(v, HOST_IA32_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
	set(v, HOST_RSP, 0xffffc90000004000ULL);
	set(v, HOST_RIP, 0xffffffff81001000ULL);
}

/* Guest state: a 64-bit L2 kernel in long mode at CPL 0. */
static void build_guest(struct vmcs12 *v)
{
	set(v, GUEST_CR0, 0x80050033);
	set(v, GUEST_CR3, 0x5000);
	set(v, GUEST_CR4, CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_VMXE);
	set(v, GUEST_DR7, 0x400);
	set(v, GUEST_CS_SELECTOR, 0x10);
	set(v, GUEST_CS_LIMIT, 0xffffffff);
	set(v, GUEST_CS_AR_BYTES, 0xa09b);     /* code RX accessed, S, P, L, G */
	for (u32 i = 0; i < 3; i++) {          /* SS, DS, ES: data RW accessed */
		u32 sel[] = { GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_ES_SELECTOR };
		u32 lim[] = { GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_ES_LIMIT };
		u32 ar[] = { GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES, GUEST_ES_AR_BYTES };
		set(v, sel[i], 0x18);
		set(v, lim[i], 0xffffffff);
		set(v, ar[i], 0xc093);
	}
	set(v, GUEST_FS_AR_BYTES, VMX_AR_UNUSABLE);
	set(v, GUEST_GS_AR_BYTES, VMX_AR_UNUSABLE);
	set(v, GUEST_GS_BASE, 0xffff888000000000ULL);
	set(v, GUEST_LDTR_AR_BYTES, VMX_AR_UNUSABLE);
	set(v, GUEST_TR_SELECTOR, 0x40);
	set(v, GUEST_TR_BASE, 0xfffffe0000003000ULL);
	set(v, GUEST_TR_LIMIT, 0x67);
	set(v, GUEST_TR_AR_BYTES, 0x8b);       /* busy 64-bit TSS, P */
	set(v, GUEST_GDTR_BASE, 0xfffffe0000001000ULL);
	set(v, GUEST_GDTR_LIMIT, 0x7f);
	set(v, GUEST_IDTR_BASE, 0xfffffe0000000000ULL);
	set(v, GUEST_IDTR_LIMIT, 0xfff);
	set(v, GUEST_RSP, 0xffffc90000008000ULL);
	set(v, GUEST_RIP, 0xffffffff81000000ULL);
	set(v, GUEST_RFLAGS, RFLAGS_FIXED);
	set(v, GUEST_IA32_PAT, 0x0007040600070406ULL);
	set(v, GUEST_IA32_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
	set(v, VMCS_LINK_POINTER, ~0ULL);
}

/* The known-good VMCS12: every check passes with each caps kind. */
static void build_vmcs12(struct vmcs12 *v)
{
	memset(v, 0, sizeof(*v));
	set(v, PIN_BASED_VM_EXEC_CONTROL, 0x16 | OFFER_PIN);
	set(v, CPU_BASED_VM_EXEC_CONTROL, 0x0401e172 | CPU_BASED_HLT_EXITING |
	    CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_ACTIVATE_SECONDARY);
	set(v, SECONDARY_VM_EXEC_CONTROL, SECONDARY_ENABLE_RDTSCP | SECONDARY_ENABLE_INVPCID |
	    SECONDARY_ENABLE_XSAVES);
	set(v, IO_BITMAP_A, 0x10000);
	set(v, IO_BITMAP_B, 0x11000);
	set(v, MSR_BITMAP, 0x12000);
	set(v, VM_EXIT_CONTROLS, 0x36dff | OFFER_EXIT);
	set(v, VM_ENTRY_CONTROLS, 0x11ff | OFFER_ENTRY);
	build_host(v);
	build_guest(v);
}

/* A 32-bit protected-mode L2 with PAE paging (PDPT in test memory). */
static void preset_guest32(struct vmcs12 *v)
{
	set(v, VM_ENTRY_CONTROLS, vmcs12_get(v, VM_ENTRY_CONTROLS) & ~VM_ENTRY_IA32E_MODE);
	set(v, GUEST_IA32_EFER, EFER_NXE);
	set(v, GUEST_CR3, T_PDPT);
	set(v, GUEST_CS_AR_BYTES, 0xc09b);
	set(v, GUEST_RIP, 0x100000);
	set(v, GUEST_GS_BASE, 0);
}

static void preset_v86_seg(struct vmcs12 *v, u32 sel, u32 base, u32 lim, u32 ar)
{
	set(v, sel, 0x1000);
	set(v, base, 0x10000);
	set(v, lim, 0xffff);
	set(v, ar, 0xf3);
}

static void apply_preset(struct vmcs12 *v, struct l1_facts *f, enum ec_preset p)
{
	if (p == PRESET_NONE)
		return;
	preset_guest32(v);
	if (p == PRESET_L1_32) {
		f->l1_long_mode = false;
		set(v, VM_EXIT_CONTROLS, vmcs12_get(v, VM_EXIT_CONTROLS) & ~VM_EXIT_HOST_ADDR_SPACE_SIZE);
		set(v, HOST_IA32_EFER, 0);
		set(v, HOST_RIP, 0x1000);
	}
	if (p == PRESET_V86) {
		set(v, GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_VM);
		preset_v86_seg(v, GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR_BYTES);
		preset_v86_seg(v, GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES);
		preset_v86_seg(v, GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES);
		preset_v86_seg(v, GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES);
		preset_v86_seg(v, GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES);
		preset_v86_seg(v, GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES);
		set(v, GUEST_RIP, 0x100);
	}
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
		case OP_MEM8: tmem[o->at - TMEM_BASE] = (u8)o->val; break;
		case OP_MEM32: { u32 x = (u32)o->val; memcpy(&tmem[o->at - TMEM_BASE], &x, 4); break; }
		case OP_MEM64: memcpy(&tmem[o->at - TMEM_BASE], &o->val, 8); break;
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

	memset(tmem, 0, sizeof(tmem));
	build_caps(&caps, k->caps);
	build_facts(&f);
	build_vmcs12(&tv);
	apply_preset(&tv, &f, k->preset);
	apply_ops(&tv, &caps, &f, k->setup, ARRAY_SIZE(k->setup));
	r = nested_check_vmentry(&tv, &caps, &f);
	expect_ok("after setup", &r);
	if (k->kind == ENTRY_OK)
		return;
	apply_ops(&tv, &caps, &f, k->brk, ARRAY_SIZE(k->brk));
	r = nested_check_vmentry(&tv, &caps, &f);
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

/* Several rules broken at once: the first category in the SDM's order
 * decides the result (controls, host, guest, MSR loading). */
static void test_order(void **state)
{
	struct nested_caps caps;
	struct l1_facts f;
	struct entry_check_result r;

	(void)state;
	memset(tmem, 0, sizeof(tmem));
	build_caps(&caps, CAPS_OFFERED);
	build_facts(&f);
	build_vmcs12(&tv);
	set(&tv, VM_ENTRY_MSR_LOAD_COUNT, 1);
	set(&tv, VM_ENTRY_MSR_LOAD_ADDR, T_MSRS);
	memcpy(&tmem[T_MSRS - TMEM_BASE], &(u32){ MSR_IA32_FS_BASE }, 4);
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
	build_caps(&caps, CAPS_OFFERED);
	build_facts(&f);
	build_vmcs12(&tv);
	f.read_gpa = NULL;
	set(&tv, VMCS_LINK_POINTER, 0x80000);
	set(&tv, VM_ENTRY_MSR_LOAD_COUNT, 4);
	set(&tv, VM_ENTRY_MSR_LOAD_ADDR, 0x80000);
	assert_int_equal(nested_check_vmentry(&tv, &caps, &f).kind, ENTRY_OK);
	f.read_gpa = tmem_read;
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
	build_caps(&caps, CAPS_OFFERED);
	build_facts(&f);
	build_vmcs12(&tv);
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
	size_t n = ec_ctl_cases_count + ec_guest_cases_count + 3;
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
	tests[i++] = (struct CMUnitTest){ .name = "entry_check_order", .test_func = test_order };
	tests[i++] = (struct CMUnitTest){ .name = "entry_check_no_reader", .test_func = test_no_reader };
	tests[i++] = (struct CMUnitTest){ .name = "entry_check_fact_defaults", .test_func = test_fact_defaults };
	failed = _cmocka_run_group_tests("entry_checks", tests, i, NULL, NULL);
	free(tests);
	return failed;
}
