/* The monitor's exit trace: set up at boot when \nestvisor.cfg says
 * trace = on, dumped to the serial log by a hypercall and at the end of the
 * run (docs/trace.md). The records come from arch/x86_64/exit.c. */
#include "vmm.h"
#include "trace.h"
#include "log.h"

bool trace_enabled;
struct trace_ring trace_ring;

void trace_setup(bool on)
{
	u32 pages = TRACE_RING_SIZE * sizeof(struct trace_rec) / PAGE_SIZE;
	struct trace_rec *buf;

	if (!on)
		return;
	buf = pfa_alloc_contig(pages);
	if (!buf) {
		pr_info("trace: no memory for %u records: the trace stays off", TRACE_RING_SIZE);
		return;
	}
	trace_ring_init(&trace_ring, buf, TRACE_RING_SIZE);
	trace_enabled = true;
	pr_info("trace: on, the last %u VM exits are kept (%u KiB)", TRACE_RING_SIZE,
		pages * (u32)(PAGE_SIZE / 1024));
}

static void emit_line(const char *line)
{
	pr_info("%s", line);
}

s64 trace_dump_log(u32 max)
{
	if (!trace_enabled)
		return -1;
	return trace_ring_dump(&trace_ring, max, emit_line);
}
