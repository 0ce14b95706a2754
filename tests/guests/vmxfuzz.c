/* vmxfuzz: a hostile L1. Thousands of VMX instructions with random
 * operands (pointers: our pages, the VMXON region, unaligned, beyond
 * MAXPHYADDR, no RAM, the monitor's own memory; field encodings: real,
 * random-shaped, with reserved bits), each result checked against what
 * the SDM allows (chapter 31 pseudo-code, 31.4 error numbers); then, under
 * nestvisor, VMLAUNCHes of randomly damaged VMCSs (vmxfuzz_launch.c).
 * Prints "vmxfuzz: seed <n>" first: a failure is reproduced by building
 * with VMXFUZZ_SEED=<n>. */
#include <efi.h>
#include <efilib.h>
#include "vmxfuzz.h"

#ifndef VMXFUZZ_SEED
#define VMXFUZZ_SEED 0 /* 0: take the seed from RDTSC */
#endif
#define INSN_OPS 4000
#define LAUNCHES 600
#define BITMAP_SCENARIOS 24 /* of 12-23 L2 instructions and L1 changes each */
#define LINK_TRIALS 64
#define SHADOW_SCENARIOS 12 /* of 16-31 L2 VMREAD/VMWRITEs and L1 visits each */
#define TIMER_RUNS 48
#define TYPE_EXIT_INFO 1 /* encoding bits 11:10: read-only data */
#define WIDTH_64 1       /* encoding bits 14:13 */

/* Fields every VMX implementation with the controls both settings offer
 * has (SDM Appendix B); VMREAD of them succeeds. */
const u32 fz_known_fields[] = {
	GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_TR_SELECTOR, HOST_CS_SELECTOR,
	HOST_TR_SELECTOR, IO_BITMAP_A, IO_BITMAP_B, MSR_BITMAP, VM_EXIT_MSR_STORE_ADDR,
	VM_ENTRY_MSR_LOAD_ADDR, TSC_OFFSET, VIRTUAL_APIC_PAGE_ADDR, VMCS_LINK_POINTER,
	GUEST_IA32_DEBUGCTL, GUEST_IA32_PAT, GUEST_IA32_EFER, HOST_IA32_PAT, HOST_IA32_EFER,
	PIN_BASED_VM_EXEC_CONTROL, CPU_BASED_VM_EXEC_CONTROL, EXCEPTION_BITMAP,
	PAGE_FAULT_ERROR_CODE_MASK, CR3_TARGET_COUNT, VM_EXIT_CONTROLS, VM_ENTRY_CONTROLS,
	VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_INSTRUCTION_LEN, TPR_THRESHOLD,
	SECONDARY_VM_EXEC_CONTROL, VM_INSTRUCTION_ERROR, VM_EXIT_REASON, VM_EXIT_INTR_INFO,
	IDT_VECTORING_INFO_FIELD, VM_EXIT_INSTRUCTION_LEN, VMX_INSTRUCTION_INFO,
	GUEST_ES_LIMIT, GUEST_TR_AR_BYTES, GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE,
	GUEST_SYSENTER_CS, HOST_IA32_SYSENTER_CS, CR0_GUEST_HOST_MASK, CR4_READ_SHADOW,
	CR3_TARGET_VALUE0, EXIT_QUALIFICATION, IO_RCX, GUEST_LINEAR_ADDRESS, GUEST_CR0,
	GUEST_CR3, GUEST_RSP, GUEST_RIP, GUEST_RFLAGS, GUEST_PENDING_DBG_EXCEPTIONS,
	HOST_CR0, HOST_RSP, HOST_RIP, HOST_IA32_SYSENTER_EIP,
};
const u32 fz_nknown = ARRAY_SIZE(fz_known_fields);

static struct fz fz;

u64 fz_rand(struct fz *f)
{
	/* xorshift64* */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dULL;
}

u64 fz_below(struct fz *f, u64 n)
{
	return fz_rand(f) % n;
}

void fz_violation_text(struct fz *f, const char *op, u64 a, u64 b, const char *got,
		       const char *allowed)
{
	if (++f->bad <= FZ_NOTES_MAX)
		tg_printf("vmxfuzz: note: op %lu: %s(%lx, %lx) gave %s; allowed: %s\n", f->ops,
			  op, a, b, got, allowed);
}

void fz_violation(struct fz *f, const char *op, u64 a, u64 b, u32 got, const char *allowed)
{
	fz_violation_text(f, op, a, b, vt_res_name(got), allowed);
}

/* VMfail(n): VMfailValid(n) with a current VMCS, else VMfailInvalid. */
static u32 fail(const struct fz *f, u32 n)
{
	return f->current == ~0ULL ? VT_FAIL_INVALID : VT_FAIL_VALID(n);
}

static bool one_of(u32 got, u32 a, u32 b, u32 c)
{
	return got == a || got == b || got == c;
}

static void expect1(struct fz *f, const char *op, u64 a, u64 b, u32 got, u32 want)
{
	if (got != want)
		fz_violation(f, op, a, b, got, vt_res_name(want));
}

enum ptr_kind { P_GOOD, P_BAD_REV, P_VMXON, P_UNALIGNED, P_BEYOND, P_OTHER, P_KINDS };

static u64 rand_ptr(struct fz *f, enum ptr_kind *kind)
{
	const struct vt_env *env = f->env;
	u64 maxpa = 1ULL << env->caps.maxphyaddr, page = fz_below(f, FZ_GOOD_PAGES);

	*kind = (enum ptr_kind)fz_below(f, P_KINDS);
	switch (*kind) {
	case P_GOOD:
		return vt_pa(env, VT_PG_SCRATCH + (int)(page & ~1ULL));
	case P_BAD_REV:
		return vt_pa(env, VT_PG_SCRATCH + (int)(page | 1));
	case P_VMXON:
		return vt_pa(env, VT_PG_VMXON);
	case P_UNALIGNED:
		return vt_pa(env, VT_PG_SCRATCH + (int)page) + 1 + fz_below(f, PAGE_SIZE - 1);
	case P_BEYOND:
		return (maxpa | (fz_rand(f) & ((1ULL << 52) - 1) & ~(PAGE_SIZE - 1))) |
		       (fz_below(f, 4) == 0 ? BIT(63) : 0);
	default:
		/* Valid width but not ours: the monitor's memory, or no RAM. */
		if (env->have_table && fz_below(f, 2))
			return env->table.monitor_base +
			       ALIGN_DOWN(fz_below(f, env->table.monitor_size), PAGE_SIZE);
		*kind = P_OTHER;
		return ALIGN_DOWN((1ULL << 32) + fz_below(f, maxpa - (1ULL << 32)), PAGE_SIZE);
	}
}

static void op_vmptrld(struct fz *f)
{
	enum ptr_kind k;
	u64 p = rand_ptr(f, &k);
	u32 r = vt_vmptrld(p);

	switch (k) {
	case P_GOOD: expect1(f, "VMPTRLD", p, 0, r, VT_OK); break;
	case P_BAD_REV: expect1(f, "VMPTRLD", p, 0, r, fail(f, VMXERR_VMPTRLD_BAD_REVISION)); break;
	case P_VMXON: expect1(f, "VMPTRLD", p, 0, r, fail(f, VMXERR_VMPTRLD_VMXON_PTR)); break;
	case P_UNALIGNED:
	case P_BEYOND: expect1(f, "VMPTRLD", p, 0, r, fail(f, VMXERR_VMPTRLD_INVALID_ADDR)); break;
	default:
		/* What is read there is not a VMCS of ours. */
		if (!one_of(r, fail(f, VMXERR_VMPTRLD_BAD_REVISION),
			    fail(f, VMXERR_VMPTRLD_INVALID_ADDR), ~0u))
			fz_violation(f, "VMPTRLD", p, 0, r, "VMfail(11) or VMfail(9)");
		break;
	}
	if (r == VT_OK)
		f->current = p;
}

static void op_vmclear(struct fz *f)
{
	enum ptr_kind k;
	u64 p = rand_ptr(f, &k);
	u32 r = vt_vmclear(p);

	switch (k) {
	case P_GOOD:
	case P_BAD_REV: expect1(f, "VMCLEAR", p, 0, r, VT_OK); break; /* no revision check */
	case P_VMXON: expect1(f, "VMCLEAR", p, 0, r, fail(f, VMXERR_VMCLEAR_VMXON_PTR)); break;
	case P_UNALIGNED:
	case P_BEYOND: expect1(f, "VMCLEAR", p, 0, r, fail(f, VMXERR_VMCLEAR_INVALID_ADDR)); break;
	default:
		if (!one_of(r, VT_OK, fail(f, VMXERR_VMCLEAR_INVALID_ADDR), ~0u))
			fz_violation(f, "VMCLEAR", p, 0, r, "VMsucceed or VMfail(2)");
		break;
	}
	if (r == VT_OK && p == f->current)
		f->current = ~0ULL;
}

u64 fz_rand_field(struct fz *f, int *verdict)
{
	u64 e;

	switch (fz_below(f, 4)) {
	case 0:
	case 1:
		e = fz_known_fields[fz_below(f, fz_nknown)];
		if ((e >> 13 & 3) == WIDTH_64 && fz_below(f, 2))
			e |= 1; /* the high half */
		*verdict = 0;
		return e;
	case 2:
		e = fz_below(f, 4) << 13 | fz_below(f, 4) << 10 | fz_below(f, 0x20) << 1 |
		    fz_below(f, 2);
		/* "high" access exists only for 64-bit fields (SDM B.2). */
		*verdict = (e & 1) && (e >> 13 & 3) != WIDTH_64 ? 2 : 1;
		return e;
	default:
		e = fz_known_fields[fz_below(f, fz_nknown)];
		switch (fz_below(f, 3)) {
		case 0: e |= BIT(12); break;
		case 1: e |= BIT(15 + fz_below(f, 17)); break;
		default: e |= BIT(32 + fz_below(f, 32)); break; /* bits 63:32 (SDM 31.3) */
		}
		*verdict = 2;
		return e;
	}
}

static void op_vmread(struct fz *f)
{
	int v;
	u64 e = fz_rand_field(f, &v), val = 0;
	u32 r = fz_below(f, 2) ? vt_vmread(e, &val) : vt_vmread_mem(e, &val);

	if (f->current == ~0ULL)
		expect1(f, "VMREAD", e, 0, r, VT_FAIL_INVALID);
	else if (v == 0)
		expect1(f, "VMREAD", e, 0, r, VT_OK);
	else if (v == 2)
		expect1(f, "VMREAD", e, 0, r, VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD));
	else if (!one_of(r, VT_OK, VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD), ~0u))
		fz_violation(f, "VMREAD", e, 0, r, "VMsucceed or VMfailValid(12)");
}

static void op_vmwrite(struct fz *f)
{
	int v;
	u64 e = fz_rand_field(f, &v), val = fz_rand(f);
	bool any = f->env->caps.misc & VMX_MISC_VMWRITE_ANY_FIELD;
	bool ro = (e >> 10 & 3) == TYPE_EXIT_INFO;
	u32 r = fz_below(f, 2) ? vt_vmwrite(e, val) : vt_vmwrite_mem(e, &val);

	if (f->current == ~0ULL)
		expect1(f, "VMWRITE", e, val, r, VT_FAIL_INVALID);
	else if (v == 0)
		expect1(f, "VMWRITE", e, val, r, ro && !any ?
			VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY) : VT_OK);
	else if (v == 2)
		expect1(f, "VMWRITE", e, val, r, VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD));
	else if (!one_of(r, VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD),
			 ro && !any ? VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY) : VT_OK, ~0u))
		fz_violation(f, "VMWRITE", e, val, r, "VMsucceed, VMfailValid(12) or (13)");
}

static void op_other(struct fz *f)
{
	u64 p = 0, vmxon = vt_pa(f->env, VT_PG_VMXON);

	switch (fz_below(f, 4)) {
	case 0:
		expect1(f, "VMXON", vmxon, 0, vt_vmxon(vmxon), fail(f, VMXERR_VMXON_IN_ROOT));
		break;
	case 1:
		/* VMXOFF, VMXON: no current VMCS afterwards. */
		expect1(f, "VMXOFF", 0, 0, vt_vmxoff(), VT_OK);
		expect1(f, "VMXON", vmxon, 0, vt_vmxon(vmxon), VT_OK);
		f->current = ~0ULL;
		break;
	default: {
		u32 r = vt_vmptrst(&p);
		expect1(f, "VMPTRST", 0, 0, r, VT_OK);
		if (r == VT_OK && p != f->current)
			fz_violation(f, "VMPTRST", p, f->current, r, "the current VMCS");
		break;
	}
	}
}

static void fuzz_insns(struct fz *f, u32 n)
{
	for (u32 i = 0; i < n; i++, f->ops++) {
		switch (fz_below(f, 20)) {
		case 0: case 1: case 2: case 3: op_vmptrld(f); break;
		case 4: case 5: case 6: op_vmclear(f); break;
		case 7: case 8: case 9: case 10: case 11: op_vmread(f); break;
		case 12: case 13: case 14: case 15: case 16: op_vmwrite(f); break;
		default: op_other(f); break;
		}
	}
}

/* One group of vmxfuzz_bitmaps.c or vmxfuzz_shadow.c as one check. */
static void l2_group(const char *name, bool (*run)(struct fz *, u32, struct tg_check *), u32 n,
		     bool offered, const char *what)
{
	struct tg_check c;
	u64 before = fz.bad;

	tg_begin(&c, name);
	if (tg_expect(&c, offered, "the capability MSRs do not offer %s", what) &&
	    run(&fz, n, &c))
		tg_expect(&c, fz.bad == before, "%lu results the SDM does not allow (notes above)",
			  fz.bad - before);
	tg_end(&c);
}

static void prepare_pages(struct vt_env *env)
{
	for (int i = 0; i < FZ_GOOD_PAGES; i++) {
		vt_init_region(env, VT_PG_SCRATCH + i);
		if (i & 1)
			*(u32 *)vt_page(env, VT_PG_SCRATCH + i) = env->caps.revision ^ 1;
	}
}

/* "seed=<decimal>" in the load options (the loader's cmdline) picks the
 * seed, so a test run can vary it and a failure can be replayed. */
static u64 seed_from_load_options(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_LOADED_IMAGE *li = NULL;
	if (uefi_call_wrapper(st->BootServices->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li) !=
		    EFI_SUCCESS || !li || !li->LoadOptions)
		return 0;
	const CHAR16 *o = li->LoadOptions;
	UINTN n = li->LoadOptionsSize / sizeof(CHAR16);
	for (UINTN i = 0; i + 5 <= n; i++) {
		if (o[i] != 's' || o[i + 1] != 'e' || o[i + 2] != 'e' || o[i + 3] != 'd' || o[i + 4] != '=')
			continue;
		u64 v = 0;
		for (UINTN j = i + 5; j < n && o[j] >= '0' && o[j] <= '9'; j++)
			v = v * 10 + (u64)(o[j] - '0');
		return v;
	}
	return 0;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	static struct vt_env env;
	struct tg_check c;
	u64 seed = VMXFUZZ_SEED;

	/* Before vt_setup(): it takes over the IDT and interrupts, after which
	 * firmware services are not to be called. */
	if (!seed)
		seed = seed_from_load_options(image, st);

	if (!vt_setup(&env, image, st, "vmxfuzz") || !env.vmx_ok) {
		tg_printf("vmxfuzz: FAIL setup: no VMX\nvmxfuzz: 0 passed, 1 failed\n");
		tg_end_run(1);
	}
	if (!seed) {
		u32 lo, hi;
		asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
		seed = ((u64)hi << 32 | lo) | 1;
	}
	tg_printf("vmxfuzz: seed %lu\n", seed);
	fz.env = &env;
	fz.rng = seed;
	fz.current = ~0ULL;
	prepare_pages(&env);

	tg_begin(&c, "vmxon");
	tg_expect(&c, vt_vmx_enable(&env), "IA32_FEATURE_CONTROL does not allow VMXON");
	vt_init_region(&env, VT_PG_VMXON);
	vt_expect_res(&c, "VMXON", vt_vmxon(vt_pa(&env, VT_PG_VMXON)), VT_OK);
	tg_end(&c);

	tg_begin(&c, "random-instructions");
	fuzz_insns(&fz, INSN_OPS);
	tg_expect(&c, fz.bad == 0, "%lu of %u results not allowed by the SDM (notes above)",
		  fz.bad, INSN_OPS);
	tg_end(&c);

	/* A running L2 under random bitmaps, link pointers, shadow VMCS
	 * contents and timer values: valid VMCSs otherwise, so that bare Bochs
	 * checks the predictions too. */
	tg_begin(&c, "io-wrap");
	fz_io_wrap(&fz, &c);
	tg_end(&c);
	bool shadowing = env.caps.proc2_1 & SECONDARY_VMCS_SHADOWING;
	l2_group("random-bitmaps", fz_bitmaps, BITMAP_SCENARIOS, true, "");
	l2_group("random-link-pointers", fz_link_pointers, LINK_TRIALS, shadowing,
		 "VMCS shadowing");
	l2_group("random-shadow-vmcs", fz_shadow_vmcs, SHADOW_SCENARIOS, shadowing,
		 "VMCS shadowing");
	l2_group("random-preemption-timer", fz_timer, TIMER_RUNS,
		 env.caps.pin1 & PIN_BASED_VMX_PREEMPTION_TIMER, "the VMX-preemption timer");

	/* Random VMCS contents can wedge bare Bochs; under nestvisor they are
	 * exactly what the monitor must survive. */
#ifndef VMXFUZZ_BARE_LAUNCH
	if (!env.nestvisor) {
		/* Not a test on bare Bochs (a note, not a SKIP: the part that
		 * matters, the monitor surviving them, runs under nestvisor). */
		tg_printf("vmxfuzz: note: random launches run under nestvisor only (build "
			  "with -DVMXFUZZ_BARE_LAUNCH to run them on bare hardware)\n");
	} else
#endif
	{
		u64 before = fz.bad;
		tg_begin(&c, "random-launches");
		if (fz_launches(&fz, LAUNCHES, &c))
			tg_expect(&c, fz.bad == before, "%lu of %u launches gave results the "
				  "SDM does not allow (notes above)", fz.bad - before, LAUNCHES);
		tg_end(&c);
	}

	tg_begin(&c, "vmxoff");
	vt_expect_res(&c, "VMXOFF", vt_vmxoff(), VT_OK);
	tg_end(&c);
	tg_printf("vmxfuzz: PASS survived %lu operations\n", fz.ops);
	tg_passed++;
	if (env.nestvisor) {
		u64 rbx = 0, rcx = 0;
		tg_begin(&c, "hc-version-after");
		s64 r = tg_hypercall(NV_HC_VERSION, &rbx, &rcx, NULL);
		tg_expect(&c, r == NV_HC_OK && rbx == NV_VERSION && rcx == NV_HC_VERSION_MAGIC,
			  "NV_HC_VERSION: status %ld, RBX %lx, RCX %lx", r, rbx, rcx);
		tg_end(&c);
	}
	tg_printf("vmxfuzz: %u passed, %u failed\n", tg_passed, tg_failed);
	tg_end_run(tg_failed ? 1 : 0);
}
