/* hctest: a ring-0 test guest (UEFI application) that checks the monitor
 * from the inside. Shared declarations of its parts:
 *   hctest.c        entry, serial reporting, CPUID and end of run
 *   hctest_hc.c     hypercall checks
 *   hctest_vmx.c    VMX-hidden and monitor-memory checks
 *   hctest_ring3.c  VMCALL from CPL 3 (own GDT, TSS, IDT gate, page tables)
 *   hctest_asm.asm  fault entry stubs, full-register VMCALL, ring-3 switch */
#ifndef HCTEST_H
#define HCTEST_H

#include <stdarg.h>
#include <nestvisor/types.h>
#include <nestvisor/hypercall.h>
#include <nestvisor/bootinfo.h>

/* Everything here is linked into one image: hidden symbols let the assembly
 * use plain RIP-relative references in the -fpic shared object. */
#pragma GCC visibility push(hidden)

/* Basic exit reasons (SDM Vol. 3C, Appendix C "VMX Basic Exit Reasons"). */
#define EXIT_REASON_CPUID 10
#define EXIT_REASON_VMCALL 18

#define CPUID_1_ECX_VMX BIT(5)
#define CPUID_1_ECX_HYPERVISOR BIT(31)

#define MSR_IA32_FEATURE_CONTROL 0x3a
#define FEATURE_CONTROL_LOCKED BIT(0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX BIT(2)
#define MSR_IA32_VMX_BASIC 0x480

#define CR0_PG BIT(31)
#define CR4_PGE BIT(7)
#define CR4_VMXE BIT(13)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define CR4_LA57 BIT(12)

#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14
#define VEC_RING0_RETURN 0x80 /* DPL-3 gate: ring 3 returns to ring 0 */
#define HCT_NO_FAULT 0xffffffffu

#define HCT_SERIAL_PORT 0x3f8
#define BOCHS_SHUTDOWN_PORT 0x8900

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
	u64 fw_idt_base;         /* the firmware's IDTR, restored at the end */
	u16 fw_idt_limit;
	u16 cs;                  /* the firmware's code selector */
	void *memmap;            /* the UEFI memory map, for "is this RAM?" */
	u64 memmap_size, memmap_desc_size;
};

static inline u8 *hct_page(const struct hct_env *env, int n)
{
	return env->pages + (u64)n * PAGE_SIZE;
}

/* Reporting (hctest.c). A check collects the first failures in 'why'. */
struct hct_check {
	const char *name;
	bool failed;
	bool full; /* no room for more reasons */
	u32 len;
	char why[240];
};
void hct_printf(const char *fmt, ...);
void hct_begin(struct hct_check *c, const char *name);
bool hct_expect(struct hct_check *c, bool ok, const char *fmt, ...);
void hct_end(struct hct_check *c);
void hct_skip(const char *name, const char *why);
bool hct_is_ram(const struct hct_env *env, u64 addr, u64 size);

/* CPU access. */
void hct_cpuid(u32 leaf, u32 sub, u32 r[4]); /* counts into hct_cpuid_count */
extern u64 hct_cpuid_count;

static inline void hct_outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline u8 hct_inb(u16 port)
{
	u8 v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u64 hct_read_cr0(void)
{
	u64 v;
	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static inline u64 hct_read_cr3(void)
{
	u64 v;
	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline void hct_write_cr3(u64 v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline u64 hct_read_cr4(void)
{
	u64 v;
	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
static inline void hct_write_cr4(u64 v)
{
	asm volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

struct hct_dtr {
	u16 limit;
	u64 base;
} __attribute__((packed));

/* Fault catching (hctest_asm.asm). Before an instruction that may fault,
 * store a recovery address in hct_fault_recover; the handlers of vectors
 * 0-31 record the vector and resume there (and clear hct_fault_recover).
 * An exception with no recovery address set is reported and ends the run,
 * rather than leaving the firmware's handler to hang silently. */
extern volatile u64 hct_fault_recover;
extern volatile u32 hct_fault_vector;
extern volatile u64 hct_fault_error;
extern volatile u64 hct_fault_rip;
#define HCT_EXCEPTIONS 32
extern void (*const hct_isr_table[HCT_EXCEPTIONS])(void);
void hct_isr_ring0_return(void);
__attribute__((noreturn)) void hct_unexpected_fault(u64 vector, u64 error, u64 rip);
void hct_set_gate(void *idt, int vec, void (*fn)(void), u16 cs, int dpl);

/* Guarded instructions: each returns the vector of the fault it raised,
 * or HCT_NO_FAULT. */
u32 hct_rdmsr_safe(u32 msr, u64 *val);
u32 hct_wrmsr_safe(u32 msr, u64 val);
u32 hct_write_cr4_safe(u64 val);
u32 hct_vmxon_safe(u64 *region_pa);
u32 hct_read64_safe(u64 addr, u64 *val);
u32 hct_write64_safe(u64 addr, u64 val);

/* VMCALL with every general-purpose register loaded from and stored back
 * to this block (hctest_asm.asm); offsets are fixed there. */
struct hct_regs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};
_Static_assert(sizeof(struct hct_regs) == 15 * 8, "hctest_asm.asm offsets");
void hct_vmcall_regs(struct hct_regs *r);

/* One hypercall; returns RAX, or HCT_HC_FAULTED if VMCALL raised a fault
 * (hct_fault_vector says which). Results go to rbx, rcx, rdx when non-NULL. */
#define HCT_HC_FAULTED 0x7fff0000deadull
s64 hct_hypercall(u64 fn, u64 *rbx, u64 *rcx, u64 *rdx);
const char *hct_vector_name(u32 vec);

/* Ring-3 entry (hctest_asm.asm): iretq to ring 3 with RAX..RDX loaded from
 * *ctx; ring 3 returns through "int 0x80", whose handler stores RAX..RDX
 * back into *ctx and resumes the caller on its own stack. */
struct hct_ring3_ctx {
	u64 rip, cs, rflags, rsp, ss;
	u64 rax, rbx, rcx, rdx;
	u64 frame_cs; /* CS of the "int 0x80" frame: where it came from */
	/* Not used by the assembly: the fault ring 3 took, if any. */
	u32 fault_vector;
	u64 fault_rip, fault_error;
};
void hct_ring3_enter(struct hct_ring3_ctx *ctx);
extern const u8 hct_r3_template[], hct_r3_template_fault[], hct_r3_template_end[];
#define HCT_R3_FAULTED 0x7fff00000f17ull /* RAX when ring 3 took a fault */

/* The check groups. */
void hct_checks_cpuid(struct hct_env *env);
void hct_checks_hypercall(struct hct_env *env);
void hct_checks_ring3(struct hct_env *env);
void hct_checks_vmx_hidden(struct hct_env *env);
void hct_checks_monitor_memory(struct hct_env *env);

#pragma GCC visibility pop

#endif
