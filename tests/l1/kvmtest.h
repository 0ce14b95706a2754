/* kvmtest: what kvmtest.c (the functional L2) and kvmtest_bench.c (the
 * timed L2 of make bench) share: the guest's memory layout, one VM with one
 * vCPU in 64-bit mode, the exit loop. */
#ifndef KVMTEST_H
#define KVMTEST_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

/* L2 guest-physical layout, all inside the one slot. */
#define L2_MEM_SIZE 0x200000UL /* one 2 MiB page, identity-mapped */
#define L2_PML4 0x1000UL
#define L2_PDPT 0x2000UL
#define L2_PD 0x3000UL
#define L2_GDT 0x4000UL
#define L2_IDT 0x5000UL /* kvmtest_bench.c only */
#define L2_CODE 0x8000UL
#define L2_DATA 0x9000UL /* CPUID.0 EBX, EDX, ECX, EAX as L2 stored them */
#define L2_STACK 0x1ff000UL
#define L2_FILL 0x10000UL /* 256 pages L2 writes, 0x10000-0x10ffff */
#define L2_FILL_PAGES 0x100U
#define L2_FILL_MAGIC 0x4e56464c4c000000ULL /* "NVFLL" */
#define L2_REWRITE_STRIDE 4U /* round 2 rewrites every fourth L2_FILL page */
#define L2_REWRITE_PAGES (L2_FILL_PAGES / L2_REWRITE_STRIDE)
#define L2_READ 0x120000UL /* 16 pages L2 only reads, 0x120000-0x12ffff */
#define L2_READ_PAGES 0x10U
#define L2_PAGES (L2_MEM_SIZE >> 12)
/* Three pages KVM may use for its real-mode TSS; outside the slot. */
#define L2_TSS_ADDR 0xfffbd000UL

#define CPUID_1_ECX_TSC_DEADLINE (1U << 24) /* SDM Vol. 2A, Table 3-10 */

/* What the guest is and what its VM needs. */
struct l2_image {
	const unsigned char *code; /* copied to L2_CODE, where it starts */
	size_t size;
	int dirty_log;             /* the slot logs dirty pages */
	int irqchip;               /* KVM_CREATE_IRQCHIP: in-kernel local APIC */
	unsigned int idt_vector;   /* non-zero: one interrupt gate to... */
	size_t handler_offset;     /* ...L2_CODE + this */
};

extern int kvm_fd, vm_fd, vcpu_fd;
extern unsigned char *mem;   /* the slot, guest-physical 0 */
extern struct kvm_run *run;
extern const char *guest, *host; /* "L2" and "L1" unless --guest */

int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void put64(unsigned long gpa, uint64_t v);
/* /dev/kvm, the VM, the slot with IMG, the vCPU in 64-bit mode at
 * L2_CODE; 0, or 1 after a FAIL line. */
int setup(const struct l2_image *img, struct kvm_cpuid_entry2 *leaf0);
int run_once(void);
void dump_regs(void);

/* kvmtest --bench (kvmtest_bench.c): exit status as main's. */
int bench_main(void);

#endif
