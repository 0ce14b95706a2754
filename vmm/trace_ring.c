/* The exit trace's ring and dump format (docs/trace.md). Plain C with no
 * monitor dependency beyond snprintf and the reason names, so that the
 * host-side unit tests compile it as is. */
#include "trace.h"
#include "vmm.h"
#ifdef NV_HOST_TEST
#include <stdio.h>
#else
#include "lib.h"
#endif

static const char *const action_names[TRACE_ACTIONS] = {
	[TRACE_L0] = "l0",
	[TRACE_REFLECT] = "reflect",
	[TRACE_EMULATE] = "emulate",
	[TRACE_NESTED_ENTRY] = "entry",
};

void trace_ring_init(struct trace_ring *t, struct trace_rec *buf, u32 size)
{
	t->rec = buf;
	t->size = size;
	t->total = 0;
}

const char *trace_action_name(u32 action)
{
	return action < TRACE_ACTIONS ? action_names[action] : "?";
}

int trace_format(char *buf, size_t n, u64 seq, const struct trace_rec *r)
{
	return snprintf(buf, n, "trace: %llu L%u %u %s 0x%llx %s %llu %llu", (unsigned long long)seq,
			r->level, r->reason, arch_exit_reason_name(r->reason), (unsigned long long)r->qual,
			trace_action_name(r->action), (unsigned long long)r->tsc_exit,
			(unsigned long long)r->tsc_resume);
}

u32 trace_ring_dump(const struct trace_ring *t, u32 max, void (*emit)(const char *line))
{
	u64 kept = t->total < t->size ? t->total : t->size;
	char line[160];

	if (max == 0 || max > kept)
		max = (u32)kept;
	snprintf(line, sizeof(line), "trace begin: %u records, newest of %llu exits (ring of %u)", max,
		 (unsigned long long)t->total, t->size);
	emit(line);
	for (u64 seq = t->total - max; seq < t->total; seq++) {
		trace_format(line, sizeof(line), seq, &t->rec[seq % t->size]);
		emit(line);
	}
	emit("trace end");
	return max;
}
