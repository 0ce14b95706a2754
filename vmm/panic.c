/* Ending the run: normally (hypercall, debug-exit port) or fatally. */
#include "log.h"
#include "lib.h"
#include "vmm.h"
#include "trace.h"
#include <cpu.h>

void vmm_end_run(u32 status)
{
	trace_dump_log(0);                       /* nothing when the trace is off */
	stats_print();
	pr_info("run ended: status %u", status);
	if (vmm.debug_exit)
		arch_emulator_exit(status);
	pr_info("halting (debug_exit is off: power off or reset the machine)");
	cpu_halt_forever();
	__builtin_unreachable();
}

void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_printf(LOG_PREFIX "FATAL: %s\n", buf);
	vmm_end_run(255);
}
