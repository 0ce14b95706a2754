/* kvmtest: the smallest KVM user of /dev/kvm, run by L1 Linux to show that
 * KVM inside L1 can run an L2 guest (nestvisor.test=kvm).
 *
 * The L2 guest is one 2 MiB memory slot at guest-physical 0, started directly
 * in 64-bit mode (KVM_SET_SREGS/KVM_SET_REGS) on page tables and a GDT that
 * kvmtest writes into the slot: no real mode, which KVM would have to emulate
 * when the CPU it runs on has no unrestricted guest (nestvisor offers L1
 * none). L2's code (l2_code below) does, in order:
 *   OUT 0x42 to port 0x10       -> KVM_EXIT_IO
 *   CPUID leaf 0, results stored at L2_DATA, then OUT EAX to port 0x11
 *                               -> KVM_EXIT_IO (KVM answers CPUID itself)
 *   a qword into each of 256 pages, a qword read from each of 16 others,
 *   then OUT 256 to port 0x12   -> KVM_EXIT_IO
 *   HLT                         -> KVM_EXIT_HLT (no in-kernel irqchip)
 *   (kvmtest reads and so clears KVM's dirty log, then runs L2 on)
 *   a new qword into every fourth of the 256 pages, then OUT 64 to
 *   port 0x13                   -> KVM_EXIT_IO
 *   HLT                         -> KVM_EXIT_HLT
 * The slot logs dirty pages (KVM_MEM_LOG_DIRTY_PAGES): after each HLT,
 * KVM_GET_DIRTY_LOG must name every page L2 wrote in that round and none
 * of the pages it did not write, read only, or never touched. KVM does
 * that with PML where the CPU has it: KVM_GET_DIRTY_LOG then clears the
 * EPT dirty flags of the pages it reported and leaves them writable, so
 * the second round's writes are seen by the CPU's dirty flags and PML
 * only (without PML, KVM write-protects the pages instead).
 * kvmtest checks every exit against that script and prints
 * "kvmtest: PASS" (exit status 0) or "kvmtest: FAIL <why>" (status 1).
 *
 * Usage: kvmtest [--timeout SECONDS] [--guest LN] [--bench]. --guest names
 * the guest in the lines (default L2, its host then L1): an L2 Linux that
 * runs KVM itself runs kvmtest --guest L3 (the l3 tier, docs/l3.md).
 * --bench runs the timed guest of kvmtest_bench.c instead (make bench,
 * docs/benchmarks.md). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvmtest.h"

#define PORT_HELLO 0x10
#define PORT_CPUID 0x11
#define PORT_FILL 0x12
#define PORT_REWRITE 0x13
#define HELLO_VALUE 0x42

/* Paging-structure bits (SDM Vol. 3A, 4.5 "4-Level Paging"). */
#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define SEL_CODE 0x08
#define SEL_DATA 0x10

/* L2's code, assembled by gcc's assembler with this file. Absolute
 * addresses only (it runs at L2_CODE), no relocations. */
__asm__(".pushsection .rodata\n"
	".globl l2_code, l2_round2, l2_code_end\n"
	".code64\n"
	"l2_code:\n"
	"	movb $0x42, %al\n"
	"	outb %al, $0x10\n"
	"	xorl %eax, %eax\n"
	"	xorl %ecx, %ecx\n"
	"	cpuid\n"
	"	movl %ebx, 0x9000\n"
	"	movl %edx, 0x9004\n"
	"	movl %ecx, 0x9008\n"
	"	movl %eax, 0x900c\n"
	"	outl %eax, $0x11\n"
	/* Touch every page of L2_FILL: one page fault each for L1's KVM
	 * (shadow paging on nestvisor), one qword each for kvmtest to check. */
	"	movl $0x10000, %edi\n"
	"	movabsq $0x4e56464c4c000000, %rbx\n"
	"1:	movq %rdi, %rax\n"
	"	xorq %rbx, %rax\n"
	"	movq %rax, (%rdi)\n"
	"	addl $0x1000, %edi\n"
	"	cmpl $0x110000, %edi\n"
	"	jb 1b\n"
	/* Read one qword of each of L2_READ_PAGES pages that nobody wrote:
	 * pages the guest only reads, which the dirty log must not name. */
	"	movl $0x120000, %edi\n"
	"2:	movq (%rdi), %rax\n"
	"	addl $0x1000, %edi\n"
	"	cmpl $0x130000, %edi\n"
	"	jb 2b\n"
	"	movl $0x100, %eax\n"
	"	outl %eax, $0x12\n"
	"	hlt\n"
	/* Round 2, after kvmtest read (and so cleared) the dirty log: the
	 * complement of the first qword of every fourth page of L2_FILL.
	 * With PML these pages stay mapped writable with a clear EPT dirty
	 * flag, so the CPU's dirty flag and PML see the writes. */
	"l2_round2:\n"
	"	movl $0x10000, %edi\n"
	"3:	movq %rdi, %rax\n"
	"	xorq %rbx, %rax\n"
	"	notq %rax\n"
	"	movq %rax, (%rdi)\n"
	"	addl $0x4000, %edi\n"
	"	cmpl $0x110000, %edi\n"
	"	jb 3b\n"
	"	movl $0x40, %eax\n"
	"	outl %eax, $0x13\n"
	"	hlt\n"
	"l2_code_end:\n"
	".popsection\n");
extern const unsigned char l2_code[], l2_round2[], l2_code_end[];

int kvm_fd = -1, vm_fd = -1, vcpu_fd = -1;
unsigned char *mem;
struct kvm_run *run;
static volatile sig_atomic_t timed_out;
/* The names in kvmtest's lines: its guest and the kernel it runs on. L1
 * runs it with the defaults; an L2 that runs KVM itself (the l3 tier,
 * docs/l3.md) with --guest L3, and then the host is L2. */
const char *guest = "L2", *host = "L1";

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1; /* KVM_RUN returns EINTR: a handler, not SIG_IGN */
}

int fail(const char *fmt, ...)
{
	va_list ap;

	printf("kvmtest: FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 1;
}

static void print_caps(void)
{
	static const struct {
		int cap;
		const char *name;
	} caps[] = {
		{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
		{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
		{ KVM_CAP_EXT_CPUID, "EXT_CPUID" },
		{ KVM_CAP_NR_VCPUS, "NR_VCPUS" },
		{ KVM_CAP_MAX_VCPUS, "MAX_VCPUS" },
		{ KVM_CAP_NR_MEMSLOTS, "NR_MEMSLOTS" },
		{ KVM_CAP_IRQCHIP, "IRQCHIP" },
		{ KVM_CAP_NESTED_STATE, "NESTED_STATE" },
	};

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		printf("kvmtest: KVM_CHECK_EXTENSION %s = %d\n", caps[i].name,
		       ioctl(kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap));
}

/* Give L2 the CPUID KVM supports, so that leaf 0 names the vendor; without
 * KVM_SET_CPUID2 L2's CPUID would return zeros. Stores leaf 0 in *leaf0.
 * With TSC_DEADLINE, leaf 1 also says the local APIC has the TSC-deadline
 * timer where KVM emulates it (KVM_CAP_TSC_DEADLINE_TIMER, which KVM
 * reports outside KVM_GET_SUPPORTED_CPUID). */
static int set_cpuid(struct kvm_cpuid_entry2 *leaf0, int tsc_deadline)
{
	struct kvm_cpuid2 *cpuid = NULL;
	int nent = 64;

	for (;;) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return fail("out of memory");
		cpuid->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG || nent >= 4096) {
			free(cpuid);
			return fail("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		}
		nent *= 2;
	}
	int found = 0;
	for (unsigned int i = 0; i < cpuid->nent; i++) {
		if (cpuid->entries[i].function == 0) {
			*leaf0 = cpuid->entries[i];
			found = 1;
		}
		if (cpuid->entries[i].function == 1 && tsc_deadline)
			cpuid->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
	}
	int rc = 0;
	if (!found)
		rc = fail("KVM_GET_SUPPORTED_CPUID has no leaf 0");
	else if (ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) != 0)
		rc = fail("KVM_SET_CPUID2: %s", strerror(errno));
	free(cpuid);
	return rc;
}

void put64(unsigned long gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

/* A 64-bit interrupt gate for VECTOR to HANDLER in L2's IDT: present,
 * DPL 0, type 0xe, L2's code selector (SDM Vol. 3A, Figure 6-8). */
static void put_gate(unsigned int vector, uint64_t handler)
{
	uint64_t lo = (handler & 0xffff) | ((uint64_t)SEL_CODE << 16) | (0x8eULL << 40) |
		      ((handler >> 16 & 0xffff) << 48);

	put64(L2_IDT + vector * 16, lo);
	put64(L2_IDT + vector * 16 + 8, handler >> 32);
}

/* Identity map of the slot with one 2 MiB page, a flat GDT, the code. */
static void build_l2_memory(const struct l2_image *img)
{
	put64(L2_PML4, L2_PDPT | PTE_P | PTE_RW);
	put64(L2_PDPT, L2_PD | PTE_P | PTE_RW);
	put64(L2_PD, 0 | PTE_P | PTE_RW | PTE_PS);
	/* Null, 64-bit code (L=1, D=0), flat data: SDM Vol. 3A, 3.4.5. */
	put64(L2_GDT + 0, 0);
	put64(L2_GDT + SEL_CODE, 0x00af9b000000ffffULL);
	put64(L2_GDT + SEL_DATA, 0x00cf93000000ffffULL);
	memcpy(mem + L2_CODE, img->code, img->size);
	if (img->idt_vector) /* one 64-bit interrupt gate: SDM Vol. 3A, 6.14.1 */
		put_gate(img->idt_vector, L2_CODE + img->handler_offset);
}

/* Segment registers as the GDT describes them (KVM takes the hidden parts
 * from here; L2 never reloads a selector). TR and LDTR keep KVM's reset
 * values, which VM entry accepts. */
static int set_long_mode(const struct l2_image *img)
{
	struct kvm_sregs sr;
	struct kvm_regs regs;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sr) != 0)
		return fail("KVM_GET_SREGS: %s", strerror(errno));
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = SEL_CODE,
		.type = 0xb, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = SEL_DATA,
		.type = 0x3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	sr.cs = code;
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = data;
	sr.gdt.base = L2_GDT;
	sr.gdt.limit = 3 * 8 - 1;
	/* No IDT (any exception ends in KVM_EXIT_SHUTDOWN), or the one gate
	 * of kvmtest_bench.c's timer (an exception still ends there). */
	sr.idt.base = img->idt_vector ? L2_IDT : 0;
	sr.idt.limit = img->idt_vector ? 0xfff : 0;
	sr.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sr.cr3 = L2_PML4;
	sr.cr4 = CR4_PAE;
	sr.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sr) != 0)
		return fail("KVM_SET_SREGS: %s", strerror(errno));

	memset(&regs, 0, sizeof(regs));
	regs.rip = L2_CODE;
	regs.rsp = L2_STACK;
	regs.rflags = 0x2; /* bit 1 is reserved, always 1 */
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) != 0)
		return fail("KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

int setup(const struct l2_image *img, struct kvm_cpuid_entry2 *leaf0)
{
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return fail("open /dev/kvm: %s", strerror(errno));
	int api = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	printf("kvmtest: KVM_GET_API_VERSION = %d\n", api);
	if (api != KVM_API_VERSION)
		return fail("KVM API version %d, expected %d", api, KVM_API_VERSION);
	print_caps();

	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		return fail("KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(vm_fd, KVM_SET_TSS_ADDR, L2_TSS_ADDR) != 0)
		return fail("KVM_SET_TSS_ADDR: %s", strerror(errno));

	/* The in-kernel local APIC (with PIC and I/O APIC), for the timer of
	 * kvmtest_bench.c; before KVM_CREATE_VCPU (KVM's api.rst). */
	if (img->irqchip && ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) != 0)
		return fail("KVM_CREATE_IRQCHIP: %s", strerror(errno));

	mem = mmap(NULL, L2_MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap of %s memory: %s", guest, strerror(errno));
	build_l2_memory(img);
	struct kvm_userspace_memory_region slot = {
		.slot = 0, .flags = img->dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = 0, .memory_size = L2_MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) != 0)
		return fail("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

	vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	if (vcpu_fd < 0)
		return fail("KVM_CREATE_VCPU: %s", strerror(errno));
	int run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(*run))
		return fail("KVM_GET_VCPU_MMAP_SIZE: %d", run_size);
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (run == MAP_FAILED)
		return fail("mmap of kvm_run: %s", strerror(errno));

	int deadline = img->irqchip &&
		       ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	if (set_cpuid(leaf0, deadline) != 0)
		return 1;
	return set_long_mode(img);
}

void dump_regs(void)
{
	struct kvm_regs r;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) == 0)
		printf("kvmtest: %s RIP 0x%llx RSP 0x%llx RFLAGS 0x%llx RAX 0x%llx\n",
		       guest, r.rip, r.rsp, r.rflags, r.rax);
}

/* One KVM_RUN; returns its exit reason, or -1 after printing why not. */
int run_once(void)
{
	while (ioctl(vcpu_fd, KVM_RUN, 0) != 0) {
		if (errno == EINTR && !timed_out)
			continue;
		if (timed_out)
			fail("no %s exit within the time limit (%s)",
			     guest, "KVM_RUN interrupted by the alarm");
		else
			fail("KVM_RUN: %s", strerror(errno));
		dump_regs();
		return -1;
	}
	return run->exit_reason;
}

/* The next exit must be a one-access OUT of SIZE bytes to PORT. */
static int expect_out(unsigned int port, unsigned int size, uint32_t *value)
{
	int reason = run_once();

	if (reason < 0)
		return 1;
	if (reason != KVM_EXIT_IO) {
		switch (reason) {
		case KVM_EXIT_FAIL_ENTRY:
			fail("KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx",
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			fail("KVM_EXIT_INTERNAL_ERROR, suberror %u",
			     run->internal.suberror);
			break;
		default:
			fail("exit reason %d where an OUT to port 0x%x was due",
			     reason, port);
		}
		dump_regs();
		return 1;
	}
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != port ||
	    run->io.size != size || run->io.count != 1)
		return fail("IO exit %s port 0x%x size %u count %u, expected OUT port 0x%x size %u",
			    run->io.direction == KVM_EXIT_IO_OUT ? "OUT" : "IN",
			    run->io.port, run->io.size, run->io.count, port, size);
	*value = 0;
	memcpy(value, (unsigned char *)run + run->io.data_offset, size);
	printf("kvmtest: %s exit IO port 0x%x value 0x%x\n", guest, port, *value);
	return 0;
}

static void vendor_string(char out[13], uint32_t ebx, uint32_t edx, uint32_t ecx)
{
	memcpy(out + 0, &ebx, 4);
	memcpy(out + 4, &edx, 4);
	memcpy(out + 8, &ecx, 4);
	out[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			out[i] = '.';
}

/* The pages kvmtest wrote into the slot before the run (L2's paging
 * structures, GDT, code) and the one L2 stores CPUID in. L2 walks, fetches
 * or writes them, so whether KVM's dirty log names them depends on KVM
 * (with EPT accessed/dirty flags, L2's page walks are writes: SDM
 * 29.3.3.2); kvmtest lists them and requires nothing of them. */
static int setup_page(unsigned long gpa)
{
	return gpa == L2_PML4 || gpa == L2_PDPT || gpa == L2_PD ||
	       gpa == L2_GDT || gpa == L2_CODE || gpa == L2_DATA;
}

/* Is fill page I (0-255) one that round ROUND (1 or 2) wrote? */
static int fill_written(unsigned int i, int round)
{
	return round == 1 || i % L2_REWRITE_STRIDE == 0;
}

/* KVM_GET_DIRTY_LOG of slot 0 (which also clears it), checked against what
 * L2 wrote in round ROUND: every page written dirty; the fill pages not
 * written in that round, the pages L2 only read and the pages nobody
 * touched clean. */
static int check_dirty_log(int round)
{
	uint64_t bitmap[L2_PAGES / 64];
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	unsigned int wr = 0, wr_dirty = 0, other = 0, other_dirty = 0;
	unsigned int rd = 0, rd_dirty = 0, un = 0, un_dirty = 0;
	unsigned long first_wrong = ~0UL;
	char setup_dirty[128] = "";
	size_t len = 0;

	memset(bitmap, 0, sizeof(bitmap));
	if (ioctl(vm_fd, KVM_GET_DIRTY_LOG, &log) != 0)
		return fail("KVM_GET_DIRTY_LOG: %s", strerror(errno));
	for (unsigned long page = 0; page < L2_PAGES; page++) {
		unsigned long gpa = page << 12;
		int dirty = (bitmap[page / 64] >> (page % 64)) & 1;
		int wrong;

		if (gpa >= L2_FILL && gpa < L2_FILL + L2_FILL_PAGES * 0x1000UL) {
			if (fill_written((gpa - L2_FILL) >> 12, round)) {
				wr++;
				wr_dirty += dirty;
				wrong = !dirty;
			} else {
				other++;
				other_dirty += dirty;
				wrong = dirty;
			}
		} else if (gpa >= L2_READ && gpa < L2_READ + L2_READ_PAGES * 0x1000UL) {
			rd++;
			rd_dirty += dirty;
			wrong = dirty;
		} else if (setup_page(gpa)) {
			if (dirty)
				len += snprintf(setup_dirty + len, sizeof(setup_dirty) - len,
						" 0x%lx", gpa);
			wrong = 0;
		} else {
			un++;
			un_dirty += dirty;
			wrong = dirty;
		}
		if (wrong && first_wrong == ~0UL)
			first_wrong = gpa;
	}
	if (round == 1)
		printf("kvmtest: %s dirty log: %u of %u written pages dirty, "
		       "%u of %u read pages dirty, %u of %u untouched pages dirty\n",
		       guest, wr_dirty, wr, rd_dirty, rd, un_dirty, un);
	else
		printf("kvmtest: %s dirty log after the rewrite: %u of %u rewritten pages dirty, "
		       "%u of %u pages not rewritten dirty, %u of %u read pages dirty, "
		       "%u of %u untouched pages dirty\n",
		       guest, wr_dirty, wr, other_dirty, other, rd_dirty, rd, un_dirty, un);
	printf("kvmtest: %s dirty log%s: page-table, GDT, code and data pages dirty:%s\n",
	       guest, round == 1 ? "" : " after the rewrite",
	       setup_dirty[0] ? setup_dirty : " none");
	if (first_wrong != ~0UL)
		return fail("%s dirty log%s: page 0x%lx is %s", guest,
			    round == 1 ? "" : " after the rewrite", first_wrong,
			    (bitmap[first_wrong >> 18] >> ((first_wrong >> 12) % 64)) & 1 ?
			    "dirty, L2 did not write it" : "clean, L2 wrote it");
	return 0;
}

/* The next exit must be HLT, with RIP at AFTER (the end of the HLT). */
static int expect_hlt(const unsigned char *after)
{
	int reason = run_once();
	if (reason < 0)
		return 1;
	if (reason != KVM_EXIT_HLT) {
		fail("exit reason %d where HLT was due", reason);
		dump_regs();
		return 1;
	}
	printf("kvmtest: %s exit HLT\n", guest);

	struct kvm_regs r;
	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) != 0)
		return fail("KVM_GET_REGS: %s", strerror(errno));
	unsigned long end = L2_CODE + (after - l2_code);
	if (r.rip != end)
		return fail("%s RIP 0x%llx after HLT, expected 0x%lx", guest, r.rip, end);
	return 0;
}

static int run_l2(const struct kvm_cpuid_entry2 *leaf0)
{
	uint32_t value, l2[4];
	char got[13], want[13];

	if (expect_out(PORT_HELLO, 1, &value))
		return 1;
	if (value != HELLO_VALUE)
		return fail("port 0x%x got 0x%x, expected 0x%x", PORT_HELLO, value,
			    HELLO_VALUE);

	if (expect_out(PORT_CPUID, 4, &value))
		return 1;
	memcpy(l2, mem + L2_DATA, sizeof(l2)); /* EBX, EDX, ECX, EAX */
	vendor_string(got, l2[0], l2[1], l2[2]);
	vendor_string(want, leaf0->ebx, leaf0->edx, leaf0->ecx);
	printf("kvmtest: %s cpuid vendor %s max leaf 0x%x\n", guest, got, l2[3]);
	if (strcmp(got, want) != 0 || l2[3] != leaf0->eax || value != l2[3])
		return fail("%s CPUID.0 is \"%s\"/0x%x (OUT 0x%x), KVM_SET_CPUID2 gave \"%s\"/0x%x",
			    guest, got, l2[3], value, want, leaf0->eax);

	if (expect_out(PORT_FILL, 4, &value))
		return 1;
	unsigned int good = 0;
	for (unsigned int i = 0; i < L2_FILL_PAGES; i++) {
		uint64_t q, gpa = L2_FILL + i * 0x1000UL;
		memcpy(&q, mem + gpa, sizeof(q));
		if (q == (gpa ^ L2_FILL_MAGIC))
			good++;
		else if (good == i)
			printf("kvmtest: page 0x%llx holds 0x%llx, expected 0x%llx\n",
			       (unsigned long long)gpa, (unsigned long long)q,
			       (unsigned long long)(gpa ^ L2_FILL_MAGIC));
	}
	printf("kvmtest: %s wrote %u pages, %u as expected\n", guest, value, good);
	if (value != L2_FILL_PAGES || good != L2_FILL_PAGES)
		return fail("%s's page writes: %u of %u pages right", guest, good, L2_FILL_PAGES);

	if (expect_hlt(l2_round2) || check_dirty_log(1))
		return 1;

	/* Round 2: KVM_GET_DIRTY_LOG cleared the log (with PML, KVM clears
	 * the EPT dirty flags of the pages it reported); L2 goes on after its
	 * HLT and rewrites every fourth page. */
	if (expect_out(PORT_REWRITE, 4, &value))
		return 1;
	good = 0;
	for (unsigned int i = 0; i < L2_FILL_PAGES; i++) {
		uint64_t q, gpa = L2_FILL + i * 0x1000UL;
		uint64_t want = gpa ^ L2_FILL_MAGIC;
		if (i % L2_REWRITE_STRIDE == 0)
			want = ~want;
		memcpy(&q, mem + gpa, sizeof(q));
		if (q == want)
			good++;
		else if (good == i)
			printf("kvmtest: page 0x%llx holds 0x%llx, expected 0x%llx\n",
			       (unsigned long long)gpa, (unsigned long long)q,
			       (unsigned long long)want);
	}
	printf("kvmtest: %s rewrote %u pages, %u of %u pages as expected\n", guest, value,
	       good, L2_FILL_PAGES);
	if (value != L2_REWRITE_PAGES || good != L2_FILL_PAGES)
		return fail("%s's page rewrites: %u of %u pages right", guest, good,
			    L2_FILL_PAGES);
	if (expect_hlt(l2_code_end) || check_dirty_log(2))
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int limit = 600; /* seconds of L1 time */
	struct kvm_cpuid_entry2 leaf0 = { 0 };
	struct timespec t0, t1;
	int bench = 0;

	for (int i = 1; i < argc; i += 2) {
		if (strcmp(argv[i], "--bench") == 0) {
			bench = 1;
			i--; /* no value */
		} else if (i + 1 < argc && strcmp(argv[i], "--timeout") == 0) {
			limit = strtoul(argv[i + 1], NULL, 0);
		} else if (i + 1 < argc && strcmp(argv[i], "--guest") == 0 &&
			   argv[i + 1][0] == 'L' && argv[i + 1][1] > '1' &&
			   argv[i + 1][1] <= '9' && !argv[i + 1][2]) {
			static char host_name[3] = "L?";
			guest = argv[i + 1];
			host_name[1] = (char)(guest[1] - 1);
			host = host_name;
		} else {
			fprintf(stderr, "usage: kvmtest [--timeout SECONDS] [--guest L2..L9] [--bench]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	alarm(limit);

	if (bench)
		return bench_main();
	const struct l2_image test = {
		.code = l2_code, .size = (size_t)(l2_code_end - l2_code), .dirty_log = 1,
	};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (setup(&test, &leaf0) != 0 || run_l2(&leaf0) != 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("kvmtest: %s ran its %ld bytes of code in %ld ms (%s time)\n",
	       guest, (long)(l2_code_end - l2_code),
	       (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, host);
	printf("kvmtest: PASS\n");
	return 0;
}
