/* The PC's legacy ports L2 uses to end its run, and the ones it only
 * probes: the i8042 reset command, the ACPI PM1a blocks, QEMU's
 * isa-debug-exit port, the CMOS. The UART has its own file. And one of
 * nestvisor's: the statistics-mark port, answered with KVM's counters. */
#include "ports.h"
#include "acpi.h"
#include "nvlaunch.h"
#include <stdio.h>
#include <string.h>

#define PORT_I8042_DATA     0x60
#define PORT_I8042_CMD      0x64
#define I8042_CMD_RESET     0xfe    /* pulse the CPU's reset line */
#define PORT_CMOS_DATA      0x71

static uint16_t pm1_en, pm1_cnt;

/* nestvisor's statistics-mark port (docs/hypercalls.md), answered the way
 * KVM can: its exit counters from debugfs (/sys/kernel/debug/kvm, summed
 * over the VMs, here only L2's), one line labelled V, so that make bench
 * can take the same differences when KVM is L0 as when nestvisor is
 * (tests/l1/kvmtest_bench.c). Counters that this kernel lacks, or
 * debugfs not mounted, print as "-". */
static void stats_mark(uint32_t v)
{
	static const char *const stats[] = {
		"exits", "nested_run", "io_exits", "halt_exits", "irq_exits", "l1d_flush",
	};
	char line[512];
	size_t len;

	len = (size_t)snprintf(line, sizeof(line), "nvlaunch: kvm stats mark %u:", v);
	for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]) && len < sizeof(line); i++) {
		char path[64];
		unsigned long long n;
		snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%s", stats[i]);
		FILE *f = fopen(path, "r");
		int got = f && fscanf(f, "%llu", &n) == 1;
		if (f)
			fclose(f);
		if (got)
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s %llu", stats[i], n);
		else
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s -", stats[i]);
	}
	fflush(stdout); /* L2's console first: the line follows L2's own */
	fprintf(stderr, "%s\n", line);
}

static void port_write(uint16_t port, uint32_t v)
{
	/* QEMU's isa-debug-exit: "the exit code is (value << 1) | 1". */
	if (port == PORT_DEBUG_EXIT)
		vm_finish((int)(((v << 1) | 1) & 0xff), "L2 wrote to the debug-exit port");
	if (port == PORT_STATS_MARK)
		stats_mark(v);
	/* Linux's reboot (after ACPI, which has no reset register here)
	 * writes 0xfe to the keyboard controller: a reboot ends the run. */
	if (port == PORT_I8042_CMD && (v & 0xff) == I8042_CMD_RESET)
		vm_finish(NV_EXIT_REBOOT, "L2 rebooted (i8042 reset)");
	if (port == ACPI_PM1A_EVT_BLK + 2)
		pm1_en = (uint16_t)v;
	if (port == ACPI_PM1A_CNT_BLK) {
		pm1_cnt = (uint16_t)v;
		/* acpi_power_off(): SLP_TYP from \_S5, then SLP_EN. */
		if ((v & ACPI_PM1_SLP_EN) && ACPI_PM1_SLP_TYP(v) == ACPI_S5_TYP)
			vm_finish(NV_EXIT_POWEROFF, "L2 powered off (ACPI S5)");
	}
	/* Writes anywhere else go nowhere. */
}

/* An i8042 with nothing to say (output empty, input buffer empty: Linux's
 * kb_wait() returns at once), PM1 with no event and SCI_EN set (ACPI
 * mode), a zeroed CMOS; all ones elsewhere, like an empty ISA bus. */
static uint32_t port_read(uint16_t port)
{
	if (port == PORT_I8042_DATA || port == PORT_I8042_CMD || port == PORT_CMOS_DATA ||
	    port == ACPI_PM1A_EVT_BLK)
		return 0;
	if (port == ACPI_PM1A_EVT_BLK + 2)
		return pm1_en;
	if (port == ACPI_PM1A_CNT_BLK)
		return pm1_cnt | ACPI_PM1_SCI_EN;
	return 0xffffffff;
}

void ports_io(uint16_t port, int is_write, uint8_t *data, unsigned int size)
{
	uint32_t v = 0;

	if (size > sizeof(v))
		size = sizeof(v);
	if (is_write) {
		memcpy(&v, data, size);
		port_write(port, v);
	} else {
		v = port_read(port);
		memcpy(data, &v, size);
	}
}
