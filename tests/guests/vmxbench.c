/* vmxbench: a UEFI application that acts as an L1 hypervisor and measures
 * what VMX operations cost it, in RDTSC ticks per operation. It runs as
 * nestvisor's guest (its VMX instructions emulated) and on bare Bochs
 * (Bochs's own VMX, the baseline). On Bochs with "clock: sync=none" a
 * tick is an emulated instruction, so the numbers are deterministic.
 * One line per measurement:
 *   vmxbench: <name> <ticks/op> cycles (min <m>, batches <b>)
 * (the median and the minimum over the batches, in tenths), then under
 * nestvisor the exit counts of NV_HC_EXIT_STATS:
 *   vmxbench: exits <bench> <what> <value>
 * and "vmxbench: done, <n> failed". docs/benchmarks.md explains them. */
#include <efi.h>
#include <efilib.h>
#include "vmxbench.h"

#define ITERS 1000  /* operations per batch */
#define BATCHES 7   /* batches per measurement: min and median */

static struct vt_env env;
static u32 failures;
static u64 loop_overhead; /* ticks of the empty loop for ITERS iterations */

static void fail(const char *name, const char *fmt, u64 a, u64 b)
{
	char why[160];

	failures++;
	vt_snprintf(why, sizeof(why), fmt, a, b);
	vt_printf("vmxbench: FAIL %s: %s\n", name, why);
}

static void sort(u64 *v, u32 n)
{
	for (u32 i = 1; i < n; i++)
		for (u32 j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/* "<ticks>.<tenth>" per operation, after the loop overhead. */
static void per_op(char *buf, u32 cap, u64 ticks)
{
	u64 t = ticks > loop_overhead ? ticks - loop_overhead : 0;
	u64 tenths = (t * 10 + ITERS / 2) / ITERS;

	vt_snprintf(buf, cap, "%lu.%lu", tenths / 10, tenths % 10);
}

static void report(const char *name, u64 *ticks)
{
	char med[24], min[24];

	sort(ticks, BATCHES);
	per_op(med, sizeof(med), ticks[BATCHES / 2]);
	per_op(min, sizeof(min), ticks[0]);
	vt_printf("vmxbench: %s %s cycles (min %s, batches %u)\n", name, med, min, BATCHES);
}

/* 1 and 2: single instructions in L1. */
static void bench_l1(void)
{
	u64 t[BATCHES];

	for (u32 b = 0; b < BATCHES; b++)
		t[b] = vb_loop_empty(ITERS);
	sort(t, BATCHES);
	loop_overhead = t[0];
	vt_printf("vmxbench: note: the empty loop takes %lu ticks for %u iterations "
		  "(subtracted)\n", loop_overhead, ITERS);

	for (u32 b = 0; b < BATCHES; b++)
		t[b] = vb_loop_cpuid(ITERS);
	report("l1-cpuid", t);
	for (u32 b = 0; b < BATCHES; b++)
		t[b] = vb_loop_vmread(ITERS, GUEST_RSP);
	report("l1-vmread", t);
	for (u32 b = 0; b < BATCHES; b++)
		t[b] = vb_loop_vmwrite(ITERS, GUEST_RSP, vt_stack_top(&env, VT_PG_L2_STACK_A,
								VT_L2_STACK_PAGES));
	report("l1-vmwrite", t);
}

static void get_stats(struct nv_exit_stats *s)
{
	u64 rbx = (u64)s, rcx = sizeof(*s);

	SetMem(s, sizeof(*s), 0);
	if (vt_hypercall(NV_HC_EXIT_STATS, &rbx, &rcx) != NV_HC_OK ||
	    s->magic != NV_EXIT_STATS_MAGIC)
		fail("exit-stats", "NV_HC_EXIT_STATS failed (magic %lx)", s->magic, 0);
}

static void print_ratio(const char *bench, const char *what, u64 num, u64 den)
{
	u64 h = den ? (num * 100 + den / 2) / den : 0;

	vt_printf("vmxbench: exits %s %s %lu.%lu%lu\n", bench, what, h / 100, h / 10 % 10,
		  h % 10);
}

/* 5: what the batches cost L0, from the difference of two snapshots. */
static void report_exits(const char *bench, const struct nv_exit_stats *a,
			 const struct nv_exit_stats *b)
{
	static const struct { u32 reason; const char *name; } l1_reasons[] = {
		{ EXIT_REASON_VMREAD, "VMREAD" }, { EXIT_REASON_VMWRITE, "VMWRITE" },
		{ EXIT_REASON_VMRESUME, "VMRESUME" }, { EXIT_REASON_VMLAUNCH, "VMLAUNCH" },
		{ EXIT_REASON_VMCALL, "VMCALL" }, { EXIT_REASON_CPUID, "CPUID" },
	};
	u64 l2 = b->total_l2 - a->total_l2, refl = b->reflected_l2 - a->reflected_l2;
	u64 l0 = b->l0_exits_for_reflected - a->l0_exits_for_reflected;
	u64 other = b->total_l1 - a->total_l1;
	char what[48];

	vt_printf("vmxbench: exits %s l2-exits %lu\n", bench, l2);
	vt_printf("vmxbench: exits %s reflected %lu\n", bench, refl);
	vt_printf("vmxbench: exits %s l1-exits %lu\n", bench, other);
	if (!refl)
		return;
	vt_printf("vmxbench: exits %s l1-exits-while-handling %lu\n", bench, l0);
	print_ratio(bench, "l1-exits-per-reflected", l0, refl);
	for (u32 i = 0; i < ARRAY_SIZE(l1_reasons); i++) {
		u32 r = l1_reasons[i].reason;
		u64 d = b->l1[r] - a->l1[r];

		if (!d)
			continue;
		vt_snprintf(what, sizeof(what), "per-reflected-%s", l1_reasons[i].name);
		print_ratio(bench, what, d, refl);
		other -= d;
	}
	if (other)
		print_ratio(bench, "per-reflected-other", other, refl);
}

/* 3 and 4: batches of L2 work; each batch ends with L2's VMCALL. */
static bool run_l2(const char *name, const u8 *rip, u64 want_handled, u64 *l2_t, u64 *l1_t,
		   bool *launched)
{
	static struct vb_run run;

	for (u32 b = 0; b < BATCHES; b++) {
		vt_vmwrite(GUEST_RIP, (u64)rip);
		run.n = ITERS;
		if (vb_l2_run(&run, *launched)) {
			fail(name, "VM entry failed: VM-instruction error %lu", vt_rd(VM_INSTRUCTION_ERROR), 0);
			return false;
		}
		*launched = true;
		if (run.reason != EXIT_REASON_VMCALL || run.handled != want_handled) {
			fail(name, "the batch ended with exit reason %lu after %lu CPUID exits",
			     run.reason, run.handled);
			return false;
		}
		l2_t[b] = run.l2_ticks;
		l1_t[b] = run.l1_ticks;
	}
	return true;
}

/* The current VMCS: a 64-bit L2 on L1's page tables (vmxtest_vmcs.c) with
 * an empty MSR bitmap, so that L2's RDMSR does not exit to L1. */
static bool setup_vmcs(void)
{
	const struct vt_l2 l2 = {
		.rip = (u64)vb_l2_cpuid,
		.rsp = vt_stack_top(&env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc = CPU_BASED_USE_MSR_BITMAPS,
	};
	struct vt_check c;

	vt_begin(&c, "vmcs-setup");
	if (vt_load_fresh(&env, VT_PG_VMCS_A, &l2, &c))
		return true;
	failures++;
	vt_printf("vmxbench: FAIL vmcs-setup: %s\n", c.why);
	return false;
}

static void bench_l2(void)
{
	static struct nv_exit_stats s[4];
	u64 l2_t[BATCHES], l1_t[BATCHES];
	bool launched = false;

	/* Exit statistics around each group of batches (nestvisor only). */
#define SNAPSHOT(i) do { if (env.nestvisor) get_stats(&s[i]); } while (0)
	SNAPSHOT(0);
	if (run_l2("l2-cpuid", vb_l2_cpuid, ITERS, l2_t, l1_t, &launched)) {
		report("l2-cpuid-roundtrip-in-l2", l2_t);
		report("l2-cpuid-roundtrip-in-l1", l1_t);
	}
	SNAPSHOT(1);
	if (run_l2("l2-rdmsr", vb_l2_rdmsr, 0, l2_t, l1_t, &launched))
		report("l2-rdmsr-not-in-l1-bitmap", l2_t);
	SNAPSHOT(2);
	/* The round trip again with (empty) I/O bitmaps: L0 then merges them
	 * into VMCS02's instead of copying its own (docs/benchmarks.md). */
	if (env.caps.proc1 & CPU_BASED_USE_IO_BITMAPS) {
		vt_vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			   vt_rd(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_USE_IO_BITMAPS);
		if (run_l2("l2-cpuid-io-bitmaps", vb_l2_cpuid, ITERS, l2_t, l1_t, &launched))
			report("l2-cpuid-roundtrip-io-bitmaps-in-l2", l2_t);
	}
	SNAPSHOT(3);
#undef SNAPSHOT
	if (!env.nestvisor) {
		vt_printf("vmxbench: note: no exit statistics on bare hardware\n");
		return;
	}
	report_exits("l2-cpuid", &s[0], &s[1]);
	report_exits("l2-rdmsr", &s[1], &s[2]);
	report_exits("l2-cpuid-io-bitmaps", &s[2], &s[3]);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	if (!vt_setup(&env, image, st, "vmxbench") || !env.vmx_ok) {
		vt_printf("vmxbench: FAIL setup: %s\n", env.vmx_ok ? "see above" : "no VMX");
		vt_end_run(1);
	}
	vt_printf("vmxbench: setting %s\n", env.nestvisor ? "nestvisor" : "bare");
	vt_printf("vmxbench: note: %u operations per batch\n", ITERS);
	if (!vt_vmx_enable(&env) || !vt_init_region(&env, VT_PG_VMXON) ||
	    vt_vmxon(vt_pa(&env, VT_PG_VMXON)) != VT_OK) {
		vt_printf("vmxbench: FAIL vmxon\n");
		vt_end_run(1);
	}
	if (setup_vmcs()) {
		bench_l1();
		bench_l2();
	}
	vt_vmxoff();
	vt_printf("vmxbench: done, %u failed\n", failures);
	vt_end_run(failures ? 1 : 0);
}
