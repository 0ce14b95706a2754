/* Exit statistics: counts by basic exit reason. */
#include "vmm.h"
#include "log.h"
#include "lib.h"

static u64 l1_counts[NV_EXIT_REASONS], l2_counts[NV_EXIT_REASONS];
static u64 l1_total, l2_total, reflected, l0_for_reflected, l2_shadowed, l1d_flushes;

void stats_count_l1(u32 reason)
{
	l1_total++;
	if (reason < NV_EXIT_REASONS)
		l1_counts[reason]++;
}

void stats_count_l2(u32 reason)
{
	l2_total++;
	if (reason < NV_EXIT_REASONS)
		l2_counts[reason]++;
}

void stats_count_reflected(void)
{
	reflected++;
}

/* An L1 exit while L1 handles a reflected L2 exit (its VMREADs, VMWRITEs,
 * VMRESUME): what one reflected exit costs L0. */
void stats_count_l0_for_reflected(void)
{
	l0_for_reflected++;
}

/* An L2 VMREAD or VMWRITE that L1's VMCS shadowing let through: L0
 * executed it on the shadow VMCS12 and L1 never saw it. */
void stats_count_l2_shadowed(void)
{
	l2_shadowed++;
}

/* The L1 data cache flushed before an entry to L2 (arch's L1TF answer). */
void stats_count_l1d_flush(void)
{
	l1d_flushes++;
}

u64 stats_l1(u32 reason)
{
	return reason < NV_EXIT_REASONS ? l1_counts[reason] : 0;
}

void stats_fill(struct nv_exit_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->magic = NV_EXIT_STATS_MAGIC;
	s->nr_reasons = NV_EXIT_REASONS;
	s->total_l1 = l1_total;
	memcpy(s->l1, l1_counts, sizeof(l1_counts));
	s->total_l2 = l2_total;
	memcpy(s->l2, l2_counts, sizeof(l2_counts));
	s->reflected_l2 = reflected;
	s->l0_exits_for_reflected = l0_for_reflected;
}

void stats_print(void)
{
	pr_info("exit statistics: %lu exits from L1", l1_total);
	for (u32 r = 0; r < NV_EXIT_REASONS; r++)
		if (l1_counts[r])
			pr_info("  %2u %-24s %10lu", r, arch_exit_reason_name(r), l1_counts[r]);
	if (!l2_total)
		return;
	u64 tenths = reflected ? l0_for_reflected * 10 / reflected : 0;
	pr_info("exit statistics: %lu exits from L2, %lu reflected to L1, %lu L1 exits while handling them "
		"(%lu.%lu per reflected exit)", l2_total, reflected, l0_for_reflected, tenths / 10, tenths % 10);
	for (u32 r = 0; r < NV_EXIT_REASONS; r++)
		if (l2_counts[r])
			pr_info("  %2u %-24s %10lu", r, arch_exit_reason_name(r), l2_counts[r]);
	if (l2_shadowed)
		pr_info("exit statistics: %lu L2 VMREAD/VMWRITE executed on L1's shadow VMCS", l2_shadowed);
	if (l1d_flushes)
		pr_info("exit statistics: %lu L1D flushes before entering L2", l1d_flushes);
}

/* The counts so far, for a benchmark to take differences of
 * (NV_STATS_MARK_PORT): a line of totals, then L1's exits by reason on as
 * many lines as the log's line length needs. */
void stats_print_mark(u32 label)
{
	char by[160];
	size_t len = 0;

	pr_info("stats mark %u: L1 exits %lu, L2 exits %lu, reflected %lu, L1 exits while handling them %lu, "
		"L1D flushes %lu",
		label, l1_total, l2_total, reflected, l0_for_reflected, l1d_flushes);
	for (u32 r = 0; r < NV_EXIT_REASONS; r++) {
		if (!l1_counts[r])
			continue;
		if (len > sizeof(by) - 40) {
			pr_info("stats mark %u: L1 exits by reason:%s", label, by);
			len = 0;
		}
		len += snprintf(by + len, sizeof(by) - len, " %s %lu", arch_exit_reason_name(r), l1_counts[r]);
	}
	if (len)
		pr_info("stats mark %u: L1 exits by reason:%s", label, by);
}
