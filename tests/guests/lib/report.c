/* The test guests' check reporting and the end of a run. */
#include <efi.h>
#include <efilib.h>
#include "report.h"
#include "cpu.h"
#include "faults.h"
#include "nestvisor.h"

const char *tg_prog = "guest";
u32 tg_passed, tg_failed;
static bool tg_bare_ok;

void tg_start(const char *prog, bool bare_ok)
{
	tg_prog = prog;
	tg_bare_ok = bare_ok;
	tg_printf("%s: start\n", prog);
}

void tg_begin(struct tg_check *c, const char *name)
{
	c->name = name;
	c->failed = false;
	c->full = false;
	c->len = 0;
	c->why[0] = 0;
}

bool tg_expect(struct tg_check *c, bool ok, const char *fmt, ...)
{
	static const char more[] = "; ...";
	char msg[sizeof(c->why) - sizeof(more)];
	va_list ap;
	u32 n;

	if (ok)
		return true;
	c->failed = true;
	va_start(ap, fmt);
	n = tg_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Whole reasons only: what does not fit becomes one "; ...". */
	if (c->full)
		return false;
	if (c->len && c->len + 2 + n + sizeof(more) > sizeof(c->why)) {
		CopyMem(c->why + c->len, (void *)more, sizeof(more));
		c->len += sizeof(more) - 1;
		c->full = true;
		return false;
	}
	if (c->len) {
		c->why[c->len++] = ';';
		c->why[c->len++] = ' ';
	}
	CopyMem(c->why + c->len, msg, n + 1);
	c->len += n;
	return false;
}

void tg_end(struct tg_check *c)
{
	if (c->failed) {
		tg_failed++;
		tg_printf("%s: FAIL %s: %s\n", tg_prog, c->name, c->why);
	} else {
		tg_passed++;
		tg_printf("%s: PASS %s\n", tg_prog, c->name);
	}
}

void tg_skip(const char *name, const char *why)
{
	tg_printf("%s: SKIP %s: %s\n", tg_prog, name, why);
}

void tg_summary(void)
{
	tg_printf("%s: %u passed, %u failed\n", tg_prog, tg_passed, tg_failed);
}

void tg_end_run(u32 status)
{
	bool hc = !tg_bare_ok || tg_nestvisor_present();

	if (hc) {
		u64 rbx = status;
		s64 ret = tg_hypercall(NV_HC_END_RUN, &rbx, NULL, NULL);

		if (ret == (s64)TG_HC_FAULTED)
			tg_printf("%s: FAIL end-run: NV_HC_END_RUN raised %s\n", tg_prog,
				  tg_vector_name(tg_fault_vector));
		else
			tg_printf("%s: FAIL end-run: NV_HC_END_RUN returned %ld\n", tg_prog, ret);
	}
	/* Let the UART send the last line, then: Bochs quits on "Shutdown"
	 * at 0x8900, QEMU on isa-debug-exit, the monitor on its debug exit
	 * (a failed NV_HC_END_RUN is a failure). */
	tg_serial_drain();
	for (const char *s = "Shutdown"; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	outb(NV_DEBUG_EXIT_PORT, (u8)(hc ? 1 : status));
	cpu_halt_forever();
	__builtin_unreachable();
}

void tg_unexpected_fault(u64 vector, u64 error, u64 rip)
{
	tg_failed++;
	tg_printf("%s: FAIL unexpected-fault: vector %lu error %lx at rip %lx\n", tg_prog,
		  vector, error, rip);
	tg_summary();
	tg_end_run(1);
}
