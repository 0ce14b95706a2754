/* hctest: a ring-0 test guest (UEFI application) that checks the monitor
 * from the inside. Shared declarations of its parts:
 *   hctest.c        entry, memory map, CPUID checks
 *   hctest_hc.c     hypercall checks
 *   hctest_vmx.c    VMX-hidden and monitor-memory checks
 *   hctest_ring3.c  VMCALL from CPL 3 (own GDT, TSS, IDT gate, page tables)
 *   hctest_asm.asm  the ring-3 code
 * Serial output, reporting, fault catching, hypercalls: tests/guests/lib/. */
#ifndef HCTEST_H
#define HCTEST_H

#include <nestvisor/types.h>
#include <nestvisor/hypercall.h>
#include <nestvisor/bootinfo.h>
#include "lib/cpu.h"
#include "lib/faults.h"
#include "lib/nestvisor.h"
#include "lib/report.h"

/* Everything here is linked into one image: hidden symbols let the assembly
 * use plain RIP-relative references in the -fpic shared object. */
#pragma GCC visibility push(hidden)

/* Basic exit reasons (SDM Vol. 3C, Appendix C "VMX Basic Exit Reasons"). */
#define EXIT_REASON_CPUID 10
#define EXIT_REASON_VMCALL 18

/* The work area: pages from AllocatePages (EfiLoaderCode, so executable),
 * identity mapped like everything the firmware maps. */
enum hct_page {
	HCT_PG_R3_CODE = 0,
	HCT_PG_R3_STACK = 1,
	HCT_PG_PT_POOL = 2, /* HCT_PT_POOL_PAGES page-table copies */
	HCT_PT_POOL_PAGES = 8,
	HCT_PG_GDT = HCT_PG_PT_POOL + HCT_PT_POOL_PAGES,
	HCT_PG_IDT,
	HCT_PG_TSS,
	HCT_PG_R0_STACK, /* HCT_R0_STACK_PAGES pages: RSP0 for ring-3 entries */
	HCT_R0_STACK_PAGES = 4,
	HCT_PG_STATS = HCT_PG_R0_STACK + HCT_R0_STACK_PAGES,
	HCT_PG_SCRATCH,
	HCT_PAGES
};

struct hct_env {
	u8 *pages;               /* HCT_PAGES pages */
	bool have_table;
	struct nv_efi_table table; /* the loader's NV_EFI_TABLE_GUID table */
	u16 cs;                  /* the firmware's code selector */
	void *memmap;            /* the UEFI memory map, for "is this RAM?" */
	u64 memmap_size, memmap_desc_size;
};

static inline u8 *hct_page(const struct hct_env *env, int n)
{
	return env->pages + (u64)n * PAGE_SIZE;
}

bool hct_is_ram(const struct hct_env *env, u64 addr, u64 size);
u32 hct_vmxon_safe(u64 *region_pa); /* the vector VMXON raised, or TG_NO_FAULT */

/* Ring-3 code (hctest_asm.asm), copied to a user page: VMCALL, then back
 * through "int 0x80"; a fault resumes at hct_r3_template_fault, which comes
 * back with RAX = HCT_R3_FAULTED. */
extern const u8 hct_r3_template[], hct_r3_template_fault[], hct_r3_template_end[];
#define HCT_R3_FAULTED 0x7fff00000f17ull

/* The check groups. */
void hct_checks_cpuid(struct hct_env *env);
void hct_checks_hypercall(struct hct_env *env);
void hct_checks_ring3(struct hct_env *env);
void hct_checks_vmx_hidden(struct hct_env *env);
void hct_checks_monitor_memory(struct hct_env *env);

#pragma GCC visibility pop

#endif
