/* nvlaunch: nestvisor's KVM launcher. Runs in L1 Linux and boots a Linux
 * L2 (bzImage + initrd + command line) through /dev/kvm, with a 16550
 * console, an i8042 reset port, ACPI power-off, an isa-debug-exit port and
 * optionally virtio-net on a tap device. docs/nvlaunch.md walks through it.
 *
 * The KVM calls, in order (Documentation/virt/kvm/api.rst):
 *   open /dev/kvm, KVM_GET_API_VERSION       the stable API, version 12
 *   KVM_CREATE_VM                            a VM fd
 *   KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR  pages VMX needs (Intel)
 *   KVM_CREATE_IRQCHIP                       PIC, IOAPIC, local APICs in KVM
 *   KVM_CREATE_PIT2                          8254 PIT (+ port 0x61)
 *   KVM_SET_USER_MEMORY_REGION               guest RAM (two slots beyond 3 GiB)
 *   KVM_CREATE_VCPU, KVM_GET_VCPU_MMAP_SIZE, mmap   vCPU 0 and its kvm_run
 *   KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2  CPUID the host can back
 *   KVM_GET/SET_LAPIC                        LINT0 ExtINT, LINT1 NMI
 *   KVM_SET_SREGS, KVM_SET_REGS              long mode at startup_64
 *   KVM_RUN (loop), KVM_IRQ_LINE             exits to devices; interrupts */
#include "acpi.h"
#include "boot.h"
#include "nvlaunch.h"
#include "ports.h"
#include "uart.h"
#include "virtio_net.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pages VMX needs in guest-physical space, in the hole below 4 GiB. */
#define KVM_TSS_ADDR        0xfffbd000UL
#define KVM_IDENTITY_MAP    0xfffbc000UL

/* Local APIC registers (SDM Vol. 3A, 11.5.1 "Local Vector Table"). */
#define APIC_LVT_LINT0      0x350
#define APIC_LVT_LINT1      0x360
#define APIC_DM_EXTINT      (7U << 8)
#define APIC_DM_NMI         (4U << 8)

#define CPUID_1_ECX_HYPERVISOR (1U << 31)
#define EFER_LME            (1ULL << 8)
#define EFER_LMA            (1ULL << 10)
#define CR0_PE              (1ULL << 0)
#define CR0_ET              (1ULL << 4)
#define CR0_PG              (1ULL << 31)
#define CR4_PAE             (1ULL << 5)

static struct {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	uint8_t *low, *high;          /* RAM below 3 GiB; RAM from 4 GiB */
	uint64_t low_size, high_size;
	struct uart com1;
	int net;
} vm = { .kvm = -1 };

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "nvlaunch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

void vm_finish(int status, const char *why)
{
	fflush(stdout);
	fprintf(stderr, "nvlaunch: %s, exit status %d\n", why, status);
	exit(status);
}

static int kvm_ioctl(int fd, unsigned long req, void *arg, const char *name)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		die(NV_EXIT_ERROR, "%s: %s", name, strerror(errno));
	return r;
}
#define KVM(fd, req, arg) kvm_ioctl(fd, req, (void *)(arg), #req)

void vm_irq_line(uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	KVM(vm.vm, KVM_IRQ_LINE, &irq);
}

void *vm_guest_ptr(uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= vm.low_size)
		return vm.low + gpa;
	if (gpa >= BOOT_4G && gpa - BOOT_4G + len <= vm.high_size)
		return vm.high + (gpa - BOOT_4G);
	return NULL;
}

static void *read_file(const char *path, size_t *size)
{
	struct stat st;
	void *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(NV_EXIT_ERROR, "%s: %s", path, strerror(errno));
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
		die(NV_EXIT_ERROR, "%s: cannot read %lld bytes", path, (long long)st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return buf;
}

/* A one-line report of the vCPU: what a failed run must print. */
static void report_vcpu(const char *what)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vm.vcpu, KVM_GET_REGS, &r) < 0 || ioctl(vm.vcpu, KVM_GET_SREGS, &s) < 0)
		die(NV_EXIT_L2_FAILED, "%s (registers unreadable: %s)", what, strerror(errno));
	die(NV_EXIT_L2_FAILED, "%s: RIP=0x%llx RSP=0x%llx RFLAGS=0x%llx CS=0x%x CR0=0x%llx "
	    "CR2=0x%llx CR3=0x%llx CR4=0x%llx EFER=0x%llx", what, r.rip, r.rsp, r.rflags,
	    s.cs.selector, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}

/* CPUID: what KVM can back, with the hypervisor bit and APIC id 0. */
static void setup_cpuid(void)
{
	struct kvm_cpuid2 *c = NULL;
	unsigned int n = 64, i;

	for (;;) {
		c = realloc(c, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			die(NV_EXIT_ERROR, "out of memory");
		c->nent = n;
		if (ioctl(vm.kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		if (errno != E2BIG)
			die(NV_EXIT_ERROR, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		n *= 2;
	}
	for (i = 0; i < c->nent; i++) {
		if (c->entries[i].function == 1) {
			c->entries[i].ecx |= CPUID_1_ECX_HYPERVISOR;
			c->entries[i].ebx &= 0x00ffffff;     /* initial APIC id 0 */
		}
		if (c->entries[i].function == 0xb || c->entries[i].function == 0x1f)
			c->entries[i].edx = 0;               /* x2APIC id 0 */
	}
	KVM(vm.vcpu, KVM_SET_CPUID2, c);
	free(c);
}

/* LINT0 as ExtINT (the 8259 reaches the CPU before Linux takes the IOAPIC)
 * and LINT1 as NMI: the virtual-wire setup a PC BIOS leaves (MultiProcessor
 * Specification 1.4, 3.6.2.2 "Virtual Wire Mode"). */
static void setup_lapic(void)
{
	struct kvm_lapic_state l;
	uint32_t v;

	KVM(vm.vcpu, KVM_GET_LAPIC, &l);
	v = APIC_DM_EXTINT;
	memcpy(&l.regs[APIC_LVT_LINT0], &v, 4);
	v = APIC_DM_NMI;
	memcpy(&l.regs[APIC_LVT_LINT1], &v, 4);
	KVM(vm.vcpu, KVM_SET_LAPIC, &l);
}

/* The 64-bit boot protocol's entry state (see boot.c). */
static void setup_vcpu_state(const struct boot_layout *b)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = BOOT_CS, .type = 0xb,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment ds = cs;

	ds.selector = BOOT_DS;
	ds.type = 0x3;
	ds.l = 0;
	ds.db = 1;
	KVM(vm.vcpu, KVM_GET_SREGS, &s);
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.gdt.base = b->gdt_base;
	s.gdt.limit = b->gdt_limit;
	s.cr3 = b->cr3;
	s.cr4 = CR4_PAE;
	s.cr0 = CR0_PE | CR0_ET | CR0_PG;
	s.efer = EFER_LME | EFER_LMA;
	KVM(vm.vcpu, KVM_SET_SREGS, &s);

	memset(&r, 0, sizeof(r));
	r.rip = b->entry;
	r.rsi = b->zero_page;
	r.rsp = BOOT_ZERO_PAGE;      /* startup_64 loads its own stack */
	r.rflags = 2;                /* bit 1 is reserved, always 1; IF=0 */
	KVM(vm.vcpu, KVM_SET_REGS, &r);
}

/* One port access: the UART, else the legacy ports. */
static void port_io(uint16_t port, int is_write, uint8_t *data, unsigned int size)
{
	if (port >= UART_COM1_BASE && port < UART_COM1_BASE + UART_NREGS)
		uart_io(&vm.com1, port - UART_COM1_BASE, is_write, data);
	else
		ports_io(port, is_write, data, size);
}

static void handle_io(struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i;

	for (i = 0; i < run->io.count; i++, data += run->io.size)
		port_io(run->io.port, run->io.direction == KVM_EXIT_IO_OUT, data, run->io.size);
}

static void handle_mmio(struct kvm_run *run)
{
	uint64_t a = run->mmio.phys_addr;

	if (vm.net && a >= VNET_MMIO_BASE && a < VNET_MMIO_BASE + VNET_MMIO_SIZE)
		vnet_mmio(a - VNET_MMIO_BASE, run->mmio.is_write, run->mmio.data, run->mmio.len);
	else if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
}

/* The input thread: stdin to the UART, tap frames to virtio-net, and a
 * periodic flush so a console line without its newline still shows. */
static void *input_thread(void *arg)
{
	int use_stdin = arg != NULL;
	struct pollfd p[3];
	uint8_t buf[64];
	uint64_t ev;
	ssize_t n;
	int np;

	for (;;) {
		np = 0;
		if (use_stdin)
			p[np++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		if (vm.net) {
			p[np++] = (struct pollfd){ .fd = vnet_wake_fd(), .events = POLLIN };
			if (vnet_rx_wanted())
				p[np++] = (struct pollfd){ .fd = vnet_tap_fd(), .events = POLLIN };
		}
		if (poll(p, (nfds_t)np, 100) <= 0) {
			fflush(stdout);
			continue;
		}
		for (int i = 0; i < np; i++) {
			if (!p[i].revents)
				continue;
			if (p[i].fd == 0) {
				n = read(0, buf, sizeof(buf));
				if (n <= 0)
					use_stdin = 0;   /* EOF: L2 gets no more input */
				else
					uart_rx(&vm.com1, buf, (unsigned int)n);
			} else if (vm.net && p[i].fd == vnet_wake_fd()) {
				if (read(p[i].fd, &ev, sizeof(ev)) < 0 && errno != EAGAIN)
					perror("nvlaunch: eventfd");
			} else {
				vnet_rx();
			}
		}
	}
	return NULL;
}

static int stdin_is_input(void)
{
	struct stat st;

	return isatty(0) || (fstat(0, &st) == 0 && S_ISFIFO(st.st_mode));
}

static void run_loop(void)
{
	struct kvm_run *run = vm.run;

	for (;;) {
		if (ioctl(vm.vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die(NV_EXIT_ERROR, "KVM_RUN: %s", strerror(errno));
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(run);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(run);
			break;
		case KVM_EXIT_SHUTDOWN:
			report_vcpu("L2 triple fault (KVM_EXIT_SHUTDOWN)");
			break;
		case KVM_EXIT_FAIL_ENTRY: {
			char what[96];

			snprintf(what, sizeof(what), "KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			report_vcpu(what);
			break;
		}
		case KVM_EXIT_INTERNAL_ERROR: {
			char what[96];

			snprintf(what, sizeof(what), "KVM_EXIT_INTERNAL_ERROR, suberror %u",
				 run->internal.suberror);
			report_vcpu(what);
			break;
		}
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				vm_finish(NV_EXIT_REBOOT, "L2 rebooted (system reset)");
			vm_finish(NV_EXIT_POWEROFF, "L2 powered off (system event)");
			break;
		default: {
			char what[64];

			snprintf(what, sizeof(what), "unexpected KVM exit reason %u", run->exit_reason);
			report_vcpu(what);
		}
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: nvlaunch --kernel BZIMAGE [--initrd FILE] [--append \"CMDLINE\"]\n"
"                [--mem MB] [--net TAP]\n"
"Boots a Linux bzImage as a KVM guest (64-bit boot protocol).\n"
"  --kernel F    the bzImage (boot protocol 2.12 or later)\n"
"  --initrd F    an initramfs, placed as high as initrd_addr_max allows\n"
"  --append S    the kernel command line\n"
"  --mem MB      guest RAM (default 256; RAM beyond 3072 MB goes above 4 GiB)\n"
"  --net TAP     virtio-net (virtio-mmio at 0x%llx, IRQ %d) on tap device TAP\n"
"                (created if absent; needs the tun module)\n"
"  --help        this text\n"
"Devices: 16550 COM1 (0x3f8, IRQ 4) on stdin/stdout, i8042 reset (0x64),\n"
"ACPI power-off (PM1a control 0x%x), debug-exit port 0x%x, PIT, PIC, IOAPIC.\n"
"Exit status: 0 L2 powered off, 2 L2 rebooted, (v<<1)|1 L2 wrote v to port\n"
"0x%x, 4 L2 failed (triple fault, KVM internal error, failed entry),\n"
"6 nvlaunch could not start L2.\n",
		VNET_MMIO_BASE, VNET_IRQ, ACPI_PM1A_CNT_BLK, PORT_DEBUG_EXIT, PORT_DEBUG_EXIT);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "mem", required_argument, NULL, 'm' },
		{ "net", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kernel = NULL, *initrd_path = NULL, *append = "", *tap = NULL;
	unsigned long mem_mb = 256;
	struct kvm_userspace_memory_region region;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct acpi_config acfg = { 0 };
	struct boot_image img;
	struct boot_layout lay;
	char err[BOOT_ERR_MAX], *end;
	void *kfile, *initrd = NULL;
	size_t ksize, isize = 0;
	uint64_t mem, rsdp;
	pthread_t input;
	int c, mmap_size;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kernel = optarg; break;
		case 'i': initrd_path = optarg; break;
		case 'a': append = optarg; break;
		case 'n': tap = optarg; break;
		case 'm':
			mem_mb = strtoul(optarg, &end, 0);
			if (*end || mem_mb == 0 || mem_mb > (1UL << 20))
				die(NV_EXIT_ERROR, "--mem: bad size '%s' (MB)", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: die(NV_EXIT_ERROR, "bad option (nvlaunch --help lists them)");
		}
	}
	if (optind != argc)
		die(NV_EXIT_ERROR, "unexpected argument '%s' (nvlaunch --help)", argv[optind]);
	if (!kernel)
		die(NV_EXIT_ERROR, "--kernel is required (nvlaunch --help)");
	setvbuf(stdout, NULL, _IOLBF, 0);

	kfile = read_file(kernel, &ksize);
	if (boot_parse(kfile, ksize, &img, err) < 0)
		die(NV_EXIT_ERROR, "%s: %s", kernel, err);
	if (initrd_path)
		initrd = read_file(initrd_path, &isize);

	vm.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm.kvm < 0)
		die(NV_EXIT_ERROR, "/dev/kvm: %s (is kvm-intel loaded?)", strerror(errno));
	if (ioctl(vm.kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die(NV_EXIT_ERROR, "/dev/kvm: KVM API version is not %d", KVM_API_VERSION);
	vm.vm = KVM(vm.kvm, KVM_CREATE_VM, 0);
	KVM(vm.vm, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);
	{
		uint64_t idmap = KVM_IDENTITY_MAP;

		KVM(vm.vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	}
	KVM(vm.vm, KVM_CREATE_IRQCHIP, 0);
	KVM(vm.vm, KVM_CREATE_PIT2, &pit);

	/* Guest RAM: below the 3-GiB PCI hole, and the rest from 4 GiB. */
	mem = (uint64_t)mem_mb << 20;
	vm.low_size = mem < BOOT_LOW_RAM_MAX ? mem : BOOT_LOW_RAM_MAX;
	vm.high_size = mem - vm.low_size;
	vm.low = mmap(NULL, vm.low_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm.low == MAP_FAILED)
		die(NV_EXIT_ERROR, "cannot map %lu MB of guest RAM: %s", mem_mb, strerror(errno));
	region = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
		.memory_size = vm.low_size, .userspace_addr = (uintptr_t)vm.low };
	KVM(vm.vm, KVM_SET_USER_MEMORY_REGION, &region);
	if (vm.high_size) {
		vm.high = mmap(NULL, vm.high_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (vm.high == MAP_FAILED)
			die(NV_EXIT_ERROR, "cannot map guest RAM above 4 GiB: %s", strerror(errno));
		region = (struct kvm_userspace_memory_region){ .slot = 1,
			.guest_phys_addr = BOOT_4G, .memory_size = vm.high_size,
			.userspace_addr = (uintptr_t)vm.high };
		KVM(vm.vm, KVM_SET_USER_MEMORY_REGION, &region);
	}

	/* Devices, then the command line that names the virtio device. */
	uart_init(&vm.com1, stdout, UART_COM1_IRQ);
	if (tap) {
		if (vnet_open(tap, err, sizeof(err)) < 0)
			die(NV_EXIT_ERROR, "--net %s: %s", tap, err);
		vm.net = 1;
		acfg = (struct acpi_config){ .has_virtio = 1, .virtio_base = VNET_MMIO_BASE,
			.virtio_size = VNET_MMIO_SIZE, .virtio_irq = VNET_IRQ };
	}
	if (vm.low_size < BOOT_HIGH_MEM)
		die(NV_EXIT_ERROR, "too little memory: %lu MB", mem_mb);
	rsdp = acpi_build(vm.low + ACPI_BASE, &acfg);
	/* The command line as given: no virtio_mmio.device=, since the DSDT
	 * describes the device (acpi.c) and a kernel that honoured both would
	 * probe it twice. */
	if (boot_setup(vm.low, vm.low_size, mem, &img, initrd, isize, append, rsdp,
		       &lay, err) < 0)
		die(NV_EXIT_ERROR, "%s", err);
	if (lay.cmdline_len < strlen(append))
		fprintf(stderr, "nvlaunch: command line cut to %zu bytes (cmdline_size)\n",
			lay.cmdline_len);

	vm.vcpu = KVM(vm.vm, KVM_CREATE_VCPU, 0);
	mmap_size = KVM(vm.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm.run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm.vcpu, 0);
	if (vm.run == MAP_FAILED)
		die(NV_EXIT_ERROR, "mmap kvm_run: %s", strerror(errno));
	setup_cpuid();
	setup_lapic();
	setup_vcpu_state(&lay);

	if (pthread_create(&input, NULL, input_thread, stdin_is_input() ? (void *)1 : NULL))
		die(NV_EXIT_ERROR, "cannot start the input thread");
	run_loop();
	return NV_EXIT_ERROR;
}
