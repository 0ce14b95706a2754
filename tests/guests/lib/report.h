/* The test guests' serial output and check reporting. Every line starts
 * with the guest's name (tg_prog); the system tests parse them:
 *   <prog>: PASS <name> | <prog>: FAIL <name>: <why> | <prog>: SKIP <name>: <why>
 *   <prog>: <N> passed, <M> failed */
#ifndef TG_REPORT_H
#define TG_REPORT_H

#include <stdarg.h>
#include <nestvisor/types.h>

#pragma GCC visibility push(hidden)

#define TG_SERIAL_PORT 0x3f8 /* COM1, a 16550 the firmware set up */

/* serial.c: polled output, a small vsnprintf (%s %c %d %u %x %p, 'l' for
 * 64 bits). */
void tg_putc(char ch);
void tg_puts(const char *s);
void tg_serial_drain(void); /* wait until the UART has sent everything */
u32 tg_vformat(char *buf, u32 cap, const char *fmt, va_list ap);
void tg_snprintf(char *buf, u32 cap, const char *fmt, ...);
void tg_printf(const char *fmt, ...);

/* report.c. A check collects its first failures in 'why'. */
struct tg_check {
	const char *name;
	bool failed, full; /* full: no room for more reasons */
	u32 len;
	char why[240];
};
extern const char *tg_prog;
extern u32 tg_passed, tg_failed;
/* Names the guest and prints "<prog>: start". 'bare_ok': the guest also
 * runs without a monitor (bare Bochs as the oracle), so the end of the run
 * calls NV_HC_END_RUN only under nestvisor; otherwise always (hctest: a
 * missing monitor is then a reported failure, not a silent exit). */
void tg_start(const char *prog, bool bare_ok);
void tg_begin(struct tg_check *c, const char *name);
bool tg_expect(struct tg_check *c, bool ok, const char *fmt, ...);
void tg_end(struct tg_check *c);
void tg_skip(const char *name, const char *why);
void tg_summary(void); /* "<prog>: <N> passed, <M> failed" */
/* NV_HC_END_RUN, then the emulators' exit ports (Bochs's "Shutdown" at
 * 0x8900, the debug exit at 0xf4). */
__attribute__((noreturn)) void tg_end_run(u32 status);
/* Called by the fault stubs for a fault nobody expected: a FAIL line and
 * the summary, then the end of the run. */
__attribute__((noreturn)) void tg_unexpected_fault(u64 vector, u64 error, u64 rip);

#pragma GCC visibility pop

#endif
