/* nvcheck: what an L1 Linux user sees of nestvisor.
 *
 *   nvcheck                      print CPUID facts (hypervisor bit, VMX bit,
 *                                leaf 0x40000000 and its signature)
 *   nvcheck --expect-nestvisor   the same; exit 0 only if the hypervisor bit
 *                                is set and the signature is NestVisorVMM
 *   nvcheck --exit N             end the run with status N through the
 *                                debug-exit port (needs root: ioperm)
 *   nvcheck --mark V             write V to the statistics-mark port: the
 *                                monitor prints its exit counts labelled V
 *                                (docs/hypercalls.md; needs root)
 *
 * CPUID is unprivileged, so this runs as any user; the monitor intercepts it
 * (SDM Vol. 3C, 26.1.2: CPUID causes a VM exit unconditionally). */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

#include <nestvisor/hypercall.h>

#define CPUID_1_ECX_VMX BIT(5)         /* VMX: SDM Vol. 2A, Table 3-10 */
#define CPUID_1_ECX_HYPERVISOR BIT(31) /* reserved for hypervisors */

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static struct cpuid_regs cpuid(u32 leaf)
{
	struct cpuid_regs r;

	/* __cpuid, not __get_cpuid: the latter refuses leaves above the
	 * basic maximum, and 0x4000000x is outside that range by design. */
	__cpuid(leaf, r.eax, r.ebx, r.ecx, r.edx);
	return r;
}

static int usage(void)
{
	fprintf(stderr, "usage: nvcheck [--expect-nestvisor | --exit N | --mark V]\n");
	return 2;
}

static int debug_exit(const char *arg)
{
	char *end;
	long status = strtol(arg, &end, 0);

	if (*arg == '\0' || *end != '\0' || status < 0 || status > 255) {
		fprintf(stderr, "nvcheck: --exit: bad status '%s' (0..255)\n", arg);
		return 2;
	}
	if (ioperm(NV_DEBUG_EXIT_PORT, 1, 1) != 0) {
		fprintf(stderr, "nvcheck: ioperm(0x%x): %s\n", NV_DEBUG_EXIT_PORT,
			strerror(errno));
		return 1;
	}
	printf("nvcheck: ending the run with status %ld (port 0x%x)\n", status,
	       NV_DEBUG_EXIT_PORT);
	/* The kernel still holds console output for the UART; the run ends at
	 * once on the write, so wait until the serial line has sent it all. */
	fflush(stdout);
	fflush(stderr);
	tcdrain(STDOUT_FILENO);
	tcdrain(STDERR_FILENO);
	outb((unsigned char)status, NV_DEBUG_EXIT_PORT);
	/* Without a monitor or isa-debug-exit the write goes nowhere. */
	fprintf(stderr, "nvcheck: still running after the debug-exit write: "
		"no monitor or debug-exit device listened\n");
	return 1;
}

static int stats_mark(const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 0);

	if (*arg == '\0' || *end != '\0' || v < 0 || v > 255) {
		fprintf(stderr, "nvcheck: --mark: bad label '%s' (0..255)\n", arg);
		return 2;
	}
	if (ioperm(NV_STATS_MARK_PORT, 1, 1) != 0) {
		fprintf(stderr, "nvcheck: ioperm(0x%x): %s\n", NV_STATS_MARK_PORT, strerror(errno));
		return 1;
	}
	/* Without a monitor the write goes nowhere: nothing to report. */
	outb((unsigned char)v, NV_STATS_MARK_PORT);
	return 0;
}

int main(int argc, char **argv)
{
	bool expect = false;

	if (argc == 3 && strcmp(argv[1], "--exit") == 0)
		return debug_exit(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--mark") == 0)
		return stats_mark(argv[2]);
	if (argc == 2 && strcmp(argv[1], "--expect-nestvisor") == 0)
		expect = true;
	else if (argc != 1)
		return usage();

	struct cpuid_regs leaf1 = cpuid(1);
	bool hv = leaf1.ecx & CPUID_1_ECX_HYPERVISOR;
	bool vmx = leaf1.ecx & CPUID_1_ECX_VMX;
	printf("nvcheck: CPUID.1:ECX = 0x%08x: hypervisor bit %d, VMX bit %d\n",
	       leaf1.ecx, hv, vmx);

	/* Leaf 0x40000000 has meaning only with the hypervisor bit set; read it
	 * anyway, for the record (bare CPUs return the highest basic leaf). */
	struct cpuid_regs base = cpuid(NV_CPUID_BASE);
	char sig[13];
	memcpy(sig + 0, &base.ebx, 4);
	memcpy(sig + 4, &base.ecx, 4);
	memcpy(sig + 8, &base.edx, 4);
	sig[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '.';
	printf("nvcheck: CPUID.0x%08x: EAX = 0x%08x, signature \"%s\"\n",
	       NV_CPUID_BASE, base.eax, sig);

	bool sig_ok = base.ebx == NV_CPUID_SIG_EBX && base.ecx == NV_CPUID_SIG_ECX &&
		      base.edx == NV_CPUID_SIG_EDX;
	if (sig_ok) {
		printf("nvcheck: hypervisor signature NestVisorVMM\n");
		if (base.eax >= NV_CPUID_BASE + 1) {
			u32 ver = cpuid(NV_CPUID_BASE + 1).eax;
			printf("nvcheck: nestvisor version %u.%u.%u\n",
			       (ver >> 16) & 0xff, (ver >> 8) & 0xff, ver & 0xff);
		}
	} else {
		printf("nvcheck: no nestvisor signature\n");
	}
	if (!expect)
		return 0;
	if (!sig_ok || !hv) {
		printf("nvcheck: FAIL: expected nestvisor: %s\n",
		       !sig_ok ? "signature absent" : "hypervisor bit clear");
		return 1;
	}
	printf("nvcheck: OK: running on nestvisor\n");
	return 0;
}
