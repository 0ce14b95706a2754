/* The monitor's log: serial lines prefixed "[nestvisor] ". */
#ifndef NESTVISOR_LOG_H
#define NESTVISOR_LOG_H

#include <nestvisor/types.h>

void log_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define LOG_PREFIX "[nestvisor] "
#define pr_info(fmt, ...) log_printf(LOG_PREFIX fmt "\n", ##__VA_ARGS__)
#define pr_err(fmt, ...) log_printf(LOG_PREFIX "error: %s: " fmt "\n", __func__, ##__VA_ARGS__)

/* Fatal: print what happened, end the run with status 255 (when the
 * configuration allows ending it) or halt this CPU. */
void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* End the run: exit statistics, "run ended: status N", then the emulator's
 * exit ports when debug_exit is configured, else halt. */
void vmm_end_run(u32 status) __attribute__((noreturn));

#endif
