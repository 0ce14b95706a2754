/* The exit trace (docs/trace.md): a ring of the last VM exits the monitor
 * saw, each with its level, basic exit reason, qualification, what the
 * monitor did and the TSC at exit and at resume. Generic: it stores and
 * prints numbers; arch/x86_64/exit.c says what they mean. */
#ifndef NESTVISOR_TRACE_H
#define NESTVISOR_TRACE_H

#include <nestvisor/types.h>

#define TRACE_RING_SIZE 4096 /* records kept: the newest ones */

/* What the monitor did with an exit. */
enum trace_action {
	TRACE_L0 = 0,          /* handled by L0 itself */
	TRACE_REFLECT = 1,     /* an L2 exit handed to L1 (L1 runs next) */
	TRACE_EMULATE = 2,     /* a VMX instruction of L1 emulated, L1 runs next */
	TRACE_NESTED_ENTRY = 3, /* L1's VMLAUNCH/VMRESUME emulated, L2 runs next */
	TRACE_ACTIONS
};

struct trace_rec {
	u64 qual;       /* exit qualification */
	u64 tsc_exit;   /* TSC as the monitor started handling the exit */
	u64 tsc_resume; /* TSC as it returned to resume a guest; 0: not (yet) */
	u16 reason;     /* basic exit reason */
	u8 level;       /* the guest that exited: 1 (L1) or 2 (L2) */
	u8 action;      /* enum trace_action */
	u32 pad;
};
_Static_assert(sizeof(struct trace_rec) == 32, "trace record layout");

struct trace_ring {
	struct trace_rec *rec; /* 'size' records; record n is rec[n % size] */
	u32 size;
	u64 total;             /* records ever pushed: the next one's number */
};

void trace_ring_init(struct trace_ring *t, struct trace_rec *buf, u32 size);

/* The slot of the next record, now counted: the exit dispatch fills it in
 * before and after handling the exit, so that an exit that ends the run
 * (and a dump from inside a hypercall) is there, with tsc_resume 0. */
static inline struct trace_rec *trace_ring_next(struct trace_ring *t)
{
	return &t->rec[t->total++ % t->size];
}

static inline void trace_ring_push(struct trace_ring *t, const struct trace_rec *r)
{
	*trace_ring_next(t) = *r;
}

/* One dump line (without the log prefix) for record number 'seq':
 * "trace: <seq> L<level> <reason> <NAME> 0x<qual> <action> <tsc_exit> <tsc_resume>". */
int trace_format(char *buf, size_t n, u64 seq, const struct trace_rec *r);
const char *trace_action_name(u32 action);

/* Emits the header, the newest 'max' records (all kept ones with 0), oldest
 * first, and the footer, one line each through 'emit'. Returns the number
 * of records emitted. */
u32 trace_ring_dump(const struct trace_ring *t, u32 max, void (*emit)(const char *line));

/* The monitor's trace (vmm/trace.c): off unless \nestvisor.cfg says
 * trace = on. The record call in the exit dispatch tests trace_enabled
 * and nothing else while it is off. */
extern bool trace_enabled;
extern struct trace_ring trace_ring;
void trace_setup(bool on);       /* at boot: allocate the ring when on */
s64 trace_dump_log(u32 max);     /* to the serial log; -1 when off */

#endif
