/* kvmtest --bench: the timed L2 of make bench's Linux/KVM columns
 * (docs/benchmarks.md). The same binary runs in all three: L1 Linux on bare
 * Bochs (KVM is the only hypervisor: "single level"), the L1 of an L1 Linux
 * whose own KVM is L0 (the l3 image's chain: "KVM as L0"), and L1 Linux on
 * nestvisor. L2 times each operation with RDTSC; on Bochs with clock
 * sync=none a tick is an emulated instruction, so the numbers are the
 * instructions every level executes for one L2 operation.
 *
 * L2 (bench_code below) runs five rows, each 7 batches of OPS operations
 * with RDTSC around a batch:
 *   loop        the empty loop (dec; jnz), subtracted from the others
 *   cpuid       CPUID leaf 0: an exit L1's KVM handles in its kernel
 *   outb-user   OUT to port 0x30: an exit KVM hands to its user space
 *               (kvmtest), which calls KVM_RUN again
 *   rdmsr       RDMSR IA32_APIC_BASE: KVM intercepts it, its kernel answers
 *   hlt-timer   arm the local APIC's TSC-deadline timer DEADLINE ticks
 *               ahead (x2APIC, in-kernel irqchip), STI; HLT; the interrupt
 *               wakes L2, its handler writes EOI. Reported: the ticks
 *               beyond DEADLINE, what waking up costs
 * Before and after each row L2 writes the row's number to port 0x31 and
 * 0x32; kvmtest then writes a label to port 0xf5, where L0 (nestvisor's
 * statistics-mark port, or the project's launcher when KVM is L0) prints
 * its exit counts: the differences are L0's exits per operation. On bare
 * Bochs nothing answers there. Output:
 *   kvmbench: <row> <median> cycles (min <min>, batches 7, <ops> per batch)
 *   kvmbench: mark <label> before|after <row>
 *   kvmbench: done, <n> failed */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "kvmtest.h"

#define BENCH_BATCHES 7
#define BENCH_RESULTS 0xa000UL /* u64 ticks[row][batch], L2 writes them */
#define PORT_BENCH_IO 0x30
#define PORT_ROW_START 0x31
#define PORT_ROW_END 0x32
#define PORT_BENCH_DONE 0x33
#define STATS_MARK_PORT 0xf5 /* NV_STATS_MARK_PORT, and nvlaunch's */
#define TIMER_VECTOR 0xec
#define DEADLINE 200000 /* ticks: 1 ms at Bochs's ips=200000000 */

/* One row: its name, operations per batch, and the ticks subtracted
 * beyond the empty loop. In the order bench_code runs them. */
static const struct bench_row {
	const char *name;
	unsigned int ops;
	unsigned long extra;
} rows[] = {
	{ "loop", 100, 0 },
	{ "cpuid", 100, 0 },
	{ "outb-user", 100, 0 },
	{ "rdmsr", 100, 0 },
	{ "hlt-timer", 10, DEADLINE },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* L2's code. ROW id, ops, body: the row's batches, each timed by RDTSC
 * into BENCH_RESULTS[id][batch] (RDI walks the array). r12-r14 are the
 * loop's; the bodies clobber only RAX, RBX, RCX, RDX. */
__asm__(".pushsection .rodata\n"
	".globl bench_code, bench_handler, bench_code_end\n"
	".code64\n"
	".macro TSC64 reg\n"
	"	rdtsc\n"
	"	shlq $32, %rdx\n"
	"	orq %rdx, %rax\n"
	"	movq %rax, \\reg\n"
	".endm\n"
	".macro ROW id, ops, body\n"
	"	movl $\\id, %eax\n"
	"	outl %eax, $0x31\n"
	"	movl $7, %r14d\n"
	"1:	TSC64 %r12\n"
	"	movl $\\ops, %r13d\n"
	"2:	\\body\n"
	"	decl %r13d\n"
	"	jnz 2b\n"
	"	TSC64 %rax\n"
	"	subq %r12, %rax\n"
	"	movq %rax, (%rdi)\n"
	"	addq $8, %rdi\n"
	"	decl %r14d\n"
	"	jnz 1b\n"
	"	movl $\\id, %eax\n"
	"	outl %eax, $0x32\n"
	".endm\n"
	"bench_code:\n"
	/* x2APIC on: IA32_APIC_BASE (1BH) EN (bit 11) and EXTD (bit 10),
	 * SDM Vol. 3A, 11.12.1; the APIC software-enabled: spurious-vector
	 * register (80FH) bit 8, else every LVT entry stays masked
	 * (11.4.7.2); then the LVT timer (832H): TSC-deadline mode (bits
	 * 18:17 = 10b), vector 0xec, unmasked (11.5.4.1). */
	"	movl $0x1b, %ecx\n"
	"	rdmsr\n"
	"	orl $0xc00, %eax\n"
	"	wrmsr\n"
	"	movl $0x80f, %ecx\n"
	"	movl $0x1ff, %eax\n"
	"	xorl %edx, %edx\n"
	"	wrmsr\n"
	"	movl $0x832, %ecx\n"
	"	movl $0x400ec, %eax\n"
	"	xorl %edx, %edx\n"
	"	wrmsr\n"
	"	movl $0xa000, %edi\n"
	"	ROW 0, 100, \"\"\n"
	"	ROW 1, 100, \"xorl %eax, %eax; xorl %ecx, %ecx; cpuid\"\n"
	"	ROW 2, 100, \"outb %al, $0x30\"\n"
	"	ROW 3, 100, \"movl $0x1b, %ecx; rdmsr\"\n"
	/* IA32_TSC_DEADLINE (6E0H) = now + DEADLINE; STI's one-instruction
	 * shadow means the interrupt comes no earlier than in HLT. */
	"	ROW 4, 10, \"rdtsc; shlq $32, %rdx; orq %rdx, %rax; addq $200000, %rax; "
	"movq %rax, %rdx; shrq $32, %rdx; movl $0x6e0, %ecx; wrmsr; sti; hlt; cli\"\n"
	"	outb %al, $0x33\n"
	"	hlt\n"
	/* The timer's handler: EOI is a write of 0 to the x2APIC EOI
	 * register (80BH). */
	"bench_handler:\n"
	"	pushq %rax\n"
	"	pushq %rcx\n"
	"	pushq %rdx\n"
	"	movl $0x80b, %ecx\n"
	"	xorl %eax, %eax\n"
	"	xorl %edx, %edx\n"
	"	wrmsr\n"
	"	popq %rdx\n"
	"	popq %rcx\n"
	"	popq %rax\n"
	"	iretq\n"
	"bench_code_end:\n"
	".purgem ROW\n"
	".purgem TSC64\n"
	".popsection\n");
extern const unsigned char bench_code[], bench_handler[], bench_code_end[];

static int can_mark;

/* Ask L0 to print its exit counts, labelled LABEL (see the top). */
static void mark(unsigned int label, const char *when, unsigned int row)
{
	if (!can_mark)
		return;
	printf("kvmbench: mark %u %s %s\n", label, when, rows[row].name);
	fflush(stdout);
	/* L0 prints its line on the same serial port: let ours out first
	 * (a console; through a pipe, under nvlaunch, this does nothing). */
	tcdrain(STDOUT_FILENO);
	outb((unsigned char)label, STATS_MARK_PORT); /* one byte: ioperm grants one port */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Tenths of a tick per operation, the empty loop's per-operation ticks
 * (in tenths too) and the row's extra taken off. */
static long per_op(uint64_t batch, const struct bench_row *r, long loop10)
{
	return (long)(batch * 10 / r->ops) - loop10 - (long)r->extra * 10;
}

static void report(void)
{
	long loop10 = 0;

	for (unsigned int i = 0; i < NROWS; i++) {
		uint64_t t[BENCH_BATCHES];
		memcpy(t, mem + BENCH_RESULTS + i * sizeof(t), sizeof(t));
		qsort(t, BENCH_BATCHES, sizeof(t[0]), cmp_u64);
		long med = per_op(t[BENCH_BATCHES / 2], &rows[i], loop10);
		long min = per_op(t[0], &rows[i], loop10);
		if (i == 0) {
			printf("kvmbench: note: the empty loop, %ld.%ld ticks per iteration, is "
			       "subtracted from every row\n", med / 10, med % 10);
			loop10 = med;
			continue;
		}
		printf("kvmbench: %s %ld.%ld cycles (min %ld.%ld, batches %d, %u per batch)\n",
		       rows[i].name, med / 10, med % 10, min / 10, min % 10, BENCH_BATCHES,
		       rows[i].ops);
	}
	printf("kvmbench: note: hlt-timer is what waking up costs: the ticks beyond "
	       "the timer's %d\n", DEADLINE);
}

/* Runs L2 to its end: port 0x30 exits go straight back into KVM_RUN. */
static int run_bench(void)
{
	for (;;) {
		int reason = run_once();
		if (reason < 0)
			return 1;
		if (reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT) {
			fail("%s exit reason %d in the benchmark", guest, reason);
			dump_regs();
			return 1;
		}
		uint32_t v = 0;
		memcpy(&v, (unsigned char *)run + run->io.data_offset,
		       run->io.size < sizeof(v) ? run->io.size : sizeof(v));
		switch (run->io.port) {
		case PORT_BENCH_IO:
			break;
		case PORT_ROW_START:
		case PORT_ROW_END:
			if (v >= NROWS)
				return fail("%s names row %u", guest, v);
			mark(v * 2 + (run->io.port == PORT_ROW_END),
			     run->io.port == PORT_ROW_END ? "after" : "before", v);
			break;
		case PORT_BENCH_DONE:
			return 0;
		default:
			return fail("%s wrote to port 0x%x in the benchmark", guest, run->io.port);
		}
	}
}

int bench_main(void)
{
	struct kvm_cpuid_entry2 leaf0;
	const struct l2_image img = {
		.code = bench_code, .size = (size_t)(bench_code_end - bench_code),
		.irqchip = 1, .idt_vector = TIMER_VECTOR,
		.handler_offset = (size_t)(bench_handler - bench_code),
	};

	if (setup(&img, &leaf0) != 0)
		return 1;
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		return fail("KVM has no TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER)");
	can_mark = ioperm(STATS_MARK_PORT, 1, 1) == 0;
	if (!can_mark)
		printf("kvmbench: note: no statistics marks (ioperm: %s)\n", strerror(errno));
	printf("kvmbench: note: %s's operations timed by RDTSC in %s, median of %d batches\n",
	       guest, guest, BENCH_BATCHES);
	if (run_bench() != 0) {
		printf("kvmbench: done, 1 failed\n");
		return 1;
	}
	report();
	printf("kvmbench: done, 0 failed\n");
	return 0;
}
