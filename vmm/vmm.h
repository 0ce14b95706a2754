/* Generic monitor state and the small interface generic code uses to reach
 * the architecture (arch/x86_64/). Generic code never includes VMX headers. */
#ifndef NESTVISOR_VMM_H
#define NESTVISOR_VMM_H

#include <nestvisor/types.h>
#include <nestvisor/bootinfo.h>
#include <nestvisor/hypercall.h>

struct vmm {
	struct nv_bootinfo *bi;
	u64 mon_base, mon_size; /* the monitor's own memory: never the guest's */
	bool debug_exit;        /* the run may be ended through exit ports */
};
extern struct vmm vmm;

/* Page-frame allocator over the monitor's memory (vmm/pfa.c). */
void pfa_init(u64 start, u64 end);
void *pfa_alloc(void);          /* zeroed 4 KiB page, NULL when exhausted */
void *pfa_alloc_contig(u32 n);  /* n zeroed, physically contiguous pages */
void pfa_free(void *page);
u64 pfa_free_pages(void);

/* Guest-physical memory the monitor may touch for the guest. */
bool vmm_gpa_in_monitor(u64 gpa, u64 size);
bool vmm_gpa_is_guest_ram(u64 gpa, u64 size);

/* Exit statistics (vmm/stats.c). */
void stats_count_l1(u32 basic_reason);
void stats_count_l2(u32 basic_reason);
void stats_count_reflected(void);
void stats_count_l0_for_reflected(void);
void stats_count_l2_shadowed(void);
void stats_count_l1d_flush(void);
u64 stats_l1(u32 basic_reason);
void stats_fill(struct nv_exit_stats *s);
void stats_print(void);
void stats_print_mark(u32 label);

/* Hypercalls (vmm/hypercall.c): in/out registers as the ABI defines. */
struct hc_regs {
	u64 rax, rbx, rcx, rdx;
};
void hypercall_dispatch(struct hc_regs *r, int cpl);

/* Architecture hooks (arch/x86_64/). */
int arch_init(struct nv_bootinfo *bi);
int arch_launch(struct nv_bootinfo *bi); /* returns only on failure */
void arch_emulator_exit(u32 status);     /* exit ports of Bochs and QEMU */
const char *arch_exit_reason_name(u32 basic_reason);

#endif
