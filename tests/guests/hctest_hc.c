/* hctest: the hypercall interface (include/nestvisor/hypercall.h,
 * docs/hypercalls.md) called from ring 0. */
#include <efi.h>
#include <efilib.h>
#include "hctest.h"

#define HC_UNKNOWN_FUNCTION 0x7777
#define HC_BAD_REASON 1000
#define HC_NO_MEMORY (1ULL << 50) /* past the end of any RAM here */
#define STATS_CANARY 0xa5

/* Compares a hypercall status; a faulting VMCALL is its own failure. */
static bool expect_status(struct tg_check *c, const char *what, s64 got, s64 want)
{
	if (got == (s64)TG_HC_FAULTED)
		return tg_expect(c, false, "%s: VMCALL raised %s at rip %lx", what,
				  tg_vector_name(tg_fault_vector), tg_fault_rip);
	return tg_expect(c, got == want, "%s: status expected %ld, got %ld",
			  what, want, got);
}

static bool exit_count(struct tg_check *c, u32 reason, u64 *count)
{
	u64 rbx = reason;
	s64 ret = tg_hypercall(NV_HC_EXIT_COUNT, &rbx, NULL, NULL);

	*count = rbx;
	return expect_status(c, "NV_HC_EXIT_COUNT", ret, NV_HC_OK);
}

static void check_version(void)
{
	struct tg_check c;
	u64 rbx = 0, rcx = 0;
	s64 ret;

	tg_begin(&c, "hc-version");
	ret = tg_hypercall(NV_HC_VERSION, &rbx, &rcx, NULL);
	if (expect_status(&c, "NV_HC_VERSION", ret, NV_HC_OK)) {
		tg_expect(&c, rbx == NV_VERSION, "RBX expected %x, got %lx", NV_VERSION, rbx);
		tg_expect(&c, rcx == NV_HC_VERSION_MAGIC, "RCX expected %x, got %lx",
			   NV_HC_VERSION_MAGIC, rcx);
	}
	tg_end(&c);
}

/* Every register but RAX..RDX comes back as it went in. */
static void check_preserved(void)
{
	static const char *const names[] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9",
		"r10", "r11", "r12", "r13", "r14", "r15",
	};
	struct tg_regs in, out;
	u64 *vin = (u64 *)&in, *vout = (u64 *)&out;
	struct tg_check c;

	tg_begin(&c, "hc-preserves-registers");
	for (u32 i = 0; i < ARRAY_SIZE(names); i++)
		vin[i] = 0x1111111111111111ULL * (i + 1) ^ 0x8000000000000000ULL;
	in.rax = NV_HC_VERSION;
	out = in;
	tg_fault_vector = TG_NO_FAULT;
	tg_vmcall_regs(&out);
	if (tg_fault_vector != TG_NO_FAULT)
		expect_status(&c, "NV_HC_VERSION", (s64)TG_HC_FAULTED, NV_HC_OK);
	else
		for (u32 i = 4; i < ARRAY_SIZE(names); i++)
			tg_expect(&c, vin[i] == vout[i], "%s expected %lx, got %lx",
				   names[i], vin[i], vout[i]);
	tg_end(&c);
}

static void check_exit_counts(void)
{
	struct tg_check c;
	u64 a, b;
	u32 r[4];

	tg_begin(&c, "hc-exit-count-cpuid");
	if (exit_count(&c, EXIT_REASON_CPUID, &a)) {
		tg_expect(&c, a >= tg_cpuid_count,
			   "count expected >= %lu CPUIDs executed, got %lu",
			   tg_cpuid_count, a);
		for (int i = 0; i < 5; i++)
			tg_cpuid(0, 0, r);
		if (exit_count(&c, EXIT_REASON_CPUID, &b))
			tg_expect(&c, b - a == 5,
				   "count expected to grow by 5 over 5 CPUIDs, %lu -> %lu", a, b);
	}
	tg_end(&c);

	/* Both counting calls are VMCALLs too: whether a call sees its own
	 * exit or not, the difference is the 3 calls between plus one. */
	tg_begin(&c, "hc-exit-count-vmcall");
	if (exit_count(&c, EXIT_REASON_VMCALL, &a)) {
		for (int i = 0; i < 3; i++)
			tg_hypercall(NV_HC_VERSION, NULL, NULL, NULL);
		if (exit_count(&c, EXIT_REASON_VMCALL, &b))
			tg_expect(&c, b - a == 4,
				   "count expected to grow by 4 over 4 VMCALLs, %lu -> %lu", a, b);
	}
	tg_end(&c);

	tg_begin(&c, "hc-exit-count-bad-reason");
	u64 rbx = HC_BAD_REASON;
	if (expect_status(&c, "reason 1000", tg_hypercall(NV_HC_EXIT_COUNT, &rbx, NULL, NULL),
			  NV_HC_EINVAL)) {
		rbx = NV_EXIT_REASONS;
		expect_status(&c, "reason NV_EXIT_REASONS",
			      tg_hypercall(NV_HC_EXIT_COUNT, &rbx, NULL, NULL), NV_HC_EINVAL);
	}
	tg_end(&c);
}

static s64 exit_stats(u64 gpa, u64 size)
{
	u64 rbx = gpa, rcx = size;

	return tg_hypercall(NV_HC_EXIT_STATS, &rbx, &rcx, NULL);
}

static bool canary_intact(const u8 *buf, u64 from)
{
	for (u64 i = from; i < PAGE_SIZE; i++)
		if (buf[i] != STATS_CANARY)
			return false;
	return true;
}

static void check_exit_stats(struct hct_env *env)
{
	struct nv_exit_stats *st = (void *)hct_page(env, HCT_PG_STATS);
	const u64 size = sizeof(*st);
	struct tg_check c;
	u64 cpuid_after, vmcall_after;

	tg_begin(&c, "hc-exit-stats");
	SetMem(st, PAGE_SIZE, STATS_CANARY);
	if (expect_status(&c, "NV_HC_EXIT_STATS", exit_stats((u64)st, size), NV_HC_OK) &&
	    exit_count(&c, EXIT_REASON_CPUID, &cpuid_after) &&
	    exit_count(&c, EXIT_REASON_VMCALL, &vmcall_after)) {
		u64 sum = 0;
		for (u32 i = 0; i < NV_EXIT_REASONS; i++)
			sum += st->l1[i];
		tg_expect(&c, st->magic == NV_EXIT_STATS_MAGIC, "magic expected %x, got %x",
			   NV_EXIT_STATS_MAGIC, st->magic);
		tg_expect(&c, st->nr_reasons == NV_EXIT_REASONS,
			   "nr_reasons expected %u, got %u", NV_EXIT_REASONS, st->nr_reasons);
		tg_expect(&c, st->l1[EXIT_REASON_CPUID] == cpuid_after,
			   "l1[CPUID] %lu differs from NV_HC_EXIT_COUNT %lu",
			   st->l1[EXIT_REASON_CPUID], cpuid_after);
		/* Two VMCALLs later (whichever way a call counts itself). */
		tg_expect(&c, st->l1[EXIT_REASON_VMCALL] + 2 == vmcall_after,
			   "l1[VMCALL] %lu expected 2 less than EXIT_COUNT %lu two calls later",
			   st->l1[EXIT_REASON_VMCALL], vmcall_after);
		tg_expect(&c, sum == st->total_l1, "sum of l1[] %lu differs from total_l1 %lu",
			   sum, st->total_l1);
		tg_expect(&c, canary_intact((u8 *)st, size),
			   "bytes past the %lu-byte structure were written", size);
	}
	tg_end(&c);

	tg_begin(&c, "hc-exit-stats-size-too-small");
	SetMem(st, PAGE_SIZE, STATS_CANARY);
	expect_status(&c, "size sizeof-1", exit_stats((u64)st, size - 1), NV_HC_EINVAL);
	tg_expect(&c, canary_intact((u8 *)st, 0), "the buffer was written");
	tg_end(&c);

	tg_begin(&c, "hc-exit-stats-monitor-memory");
	if (tg_expect(&c, env->have_table, "no NV_EFI_TABLE_GUID table: monitor memory unknown")) {
		u64 base = env->table.monitor_base;
		if (expect_status(&c, "buffer at monitor_base", exit_stats(base, size),
				  NV_HC_EFAULT))
			expect_status(&c, "buffer straddling monitor_base",
				      exit_stats(base - 64, size), NV_HC_EFAULT);
	}
	tg_end(&c);

	tg_begin(&c, "hc-exit-stats-no-memory");
	expect_status(&c, "buffer at 1<<50", exit_stats(HC_NO_MEMORY, size), NV_HC_EFAULT);
	tg_end(&c);
}

void hct_checks_hypercall(struct hct_env *env)
{
	struct tg_check c;

	check_version();
	check_preserved();
	check_exit_counts();
	check_exit_stats(env);

	/* hctest boots with the default trace = off (docs/trace.md). */
	tg_begin(&c, "hc-trace-dump-off");
	u64 rbx = 0;
	expect_status(&c, "NV_HC_TRACE_DUMP with trace = off",
		      tg_hypercall(NV_HC_TRACE_DUMP, &rbx, NULL, NULL), NV_HC_EOPNOTSUPP);
	tg_end(&c);

	tg_begin(&c, "hc-unknown-function");
	expect_status(&c, "function 0x7777",
		      tg_hypercall(HC_UNKNOWN_FUNCTION, NULL, NULL, NULL), NV_HC_ENOSYS);
	tg_end(&c);
}
