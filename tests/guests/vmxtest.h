/* vmxtest / vmxfuzz: UEFI applications that act as an L1 hypervisor and
 * check VMX instruction results, VM entries and VM exits. They run both on
 * bare Bochs (real VMX: the oracle) and as nestvisor's guest (emulated VMX)
 * and must print the same check lines in both. Parts:
 *   vmxtest_cpu.c     setup (GDT/TSS/IDT, VMX capabilities), VMX wrappers
 *   vmxtest_vmcs.c    a VMCS for a 64-bit L2 sharing L1's address space
 *   vmxtest_asm.asm   ring-3 code, VM entry/exit, L2 code
 *   vmxtest.c         vmxtest's entry; vmxtest_insn.c instruction checks;
 *   vmxtest_l2.c      exits from L2; vmxtest_events.c injection, two L2s,
 *                     VMXON/VMXOFF cycles; vmxtest_ept.c EPT
 *   vmxtest_shadow.c  VMCS shadowing; vmxtest_timer.c VMX-preemption timer
 *   vmxtest_addr.c    VMCS addresses (outside RAM too); vmxtest_bitmaps.c
 *                     bitmaps read when used; vmxtest_pml.c page-modification
 *                     logging
 *   vmxfuzz.c         the hostile L1 (random operands and VMCS contents)
 * Serial output, reporting, fault catching, ring 3, hypercalls and the
 * configuration table come from tests/guests/lib/. */
#ifndef VMXTEST_H
#define VMXTEST_H

#include <nestvisor/types.h>
#include <nestvisor/hypercall.h>
#include <nestvisor/bootinfo.h>
#include <vmcs.h>
#include <exit_reason.h>
#include "lib/cpu.h"
#include "lib/faults.h"
#include "lib/nestvisor.h"
#include "lib/report.h"

#pragma GCC visibility push(hidden)

/* The arithmetic flags a VMX instruction reports with (SDM 31.2). */
#define RFLAGS_ARITH 0x8d5ull /* CF PF AF ZF SF OF */
#define SHADOW_VMCS_INDICATOR BIT(31) /* revision bit 31: SDM 25.2, "Format of the VMCS Region" */

/* IA32_VMX_EPT_VPID_CAP (SDM A.10). */
#define EPT_CAP_EXEC_ONLY BIT(0)
#define EPT_CAP_WALK4 BIT(6)
#define EPT_CAP_WB BIT(14)
#define EPT_CAP_2M BIT(16)
#define EPT_CAP_INVEPT BIT(20)
#define EPT_CAP_AD BIT(21)
#define EPT_CAP_INVEPT_SINGLE BIT(25)
#define EPT_CAP_INVEPT_ALL BIT(26)
#define INVEPT_SINGLE 1
#define INVEPT_ALL 2

/* Exit qualification of an EPT violation (SDM 28.2.1, table "Exit
 * Qualification for EPT Violations"): access, then the permissions the
 * EPT gave (bits 5:3), then the linear-address bits. */
#define EPTV_READ BIT(0)
#define EPTV_WRITE BIT(1)
#define EPTV_FETCH BIT(2)
#define EPTV_PERM_SHIFT 3
#define EPTV_LINEAR_VALID BIT(7)
#define EPTV_LINEAR_XLATED BIT(8) /* the access was to the translated address */
#define EPTV_COMPARED 0x1ffULL    /* bits 11:9 only with advanced information */

/* Interruption-information fields (SDM 25.8.3, 25.9.2). */
#define INTR_INFO_VALID BIT(31)
#define INTR_INFO_DELIVER_CODE BIT(11)
#define INTR_TYPE_EXT_INTR (0u << 8)
#define INTR_TYPE_NMI (2u << 8)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_SW_INTR (4u << 8)

/* Segment access rights as the VMCS holds them (SDM 25.4.1). */
#define AR_CODE64 0xa09bu  /* P, S, DPL 0, execute/read accessed, L, G */
#define AR_DATA 0xc093u    /* P, S, DPL 0, read/write accessed, D/B, G */
#define AR_TSS_BUSY 0x8bu  /* P, busy 64-bit TSS */
#define AR_UNUSABLE 0x10000u

/* The work area: AllocatePages below 4 GiB, identity mapped. */
enum vt_page {
	VT_PG_VMXON = 0,
	VT_PG_VMCS_A, VT_PG_VMCS_B, VT_PG_VMCS_C,
	VT_PG_BAD_REV,   /* a VMCS region with a wrong revision identifier */
	VT_PG_IO_A, VT_PG_IO_B, VT_PG_MSR_BITMAP,
	VT_PG_L2_IDT, VT_PG_L2_TSS,
	VT_PG_GDT, VT_PG_IDT, VT_PG_TSS,
	VT_PG_R0_STACK, VT_R0_STACK_PAGES = 2,
	VT_PG_R3_STACK = VT_PG_R0_STACK + VT_R0_STACK_PAGES,
	VT_PG_USER_PT,   /* PML4, PDPT, 4 PDs: 4 GiB of user pages */
	VT_USER_PT_PAGES = 6,
	VT_PG_L2_STACK_A = VT_PG_USER_PT + VT_USER_PT_PAGES,
	VT_L2_STACK_PAGES = 2,
	VT_PG_L2_STACK_B = VT_PG_L2_STACK_A + VT_L2_STACK_PAGES,
	VT_PG_SCRATCH = VT_PG_L2_STACK_B + VT_L2_STACK_PAGES,
	VT_SCRATCH_PAGES = 16,
	VT_PAGES = VT_PG_SCRATCH + VT_SCRATCH_PAGES
};

/* The VMX capabilities as read from the MSRs (SDM Appendix A). */
struct vt_caps {
	u64 basic, misc, cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u32 pin0, pin1, proc0, proc1, exit0, exit1, entry0, entry1; /* allowed 0/1 */
	u32 proc2_1;   /* secondary allowed-1 (0 without the secondary controls) */
	u32 revision;  /* IA32_VMX_BASIC[30:0] */
	u32 maxphyaddr;
};

struct vt_env {
	const char *prog;   /* "vmxtest" or "vmxfuzz": the line prefix */
	u8 *pages;          /* VT_PAGES pages */
	bool nestvisor;     /* CPUID 0x40000000 says NestVisorVMM */
	bool have_table;
	struct nv_efi_table table;
	u16 cs, ds, tr, user_cs, user_ss;
	u64 gdt_base, idt_base;
	u16 gdt_limit;
	struct vt_caps caps;
	bool vmx_ok;        /* CPUID.VMX and IA32_FEATURE_CONTROL allow VMXON */
};

static inline u8 *vt_page(const struct vt_env *env, int n)
{
	return env->pages + (u64)n * PAGE_SIZE;
}
static inline u64 vt_pa(const struct vt_env *env, int n)
{
	return (u64)vt_page(env, n);
}

/* The outcome of a VMX instruction as one code (vmxtest_cpu.c). */
#define VT_OK 0u
#define VT_FAIL_INVALID 0x100u
#define VT_FAIL_VALID(n) (0x200u | (n)) /* n: the VM-instruction error */
#define VT_FAULT(v) (0x300u | (v))
#define VT_BAD_FLAGS 0x400u            /* not one of the three patterns */
#define VT_KIND(r) ((r) & 0xf00u)
const char *vt_res_name(u32 res); /* rotating static buffers */
bool vt_expect_res(struct tg_check *c, const char *what, u32 got, u32 want);
bool vt_expect_eq(struct tg_check *c, const char *what, u64 got, u64 want);
extern u64 vt_last_rflags;        /* RFLAGS after the last VMX instruction */
/* The result RFLAGS give after a VMX instruction (SDM 31.2): VT_OK,
 * VT_FAIL_INVALID, VT_FAIL_VALID(n) with n read from the current VMCS, or
 * VT_BAD_FLAGS. Also for an L2's instruction whose RFLAGS L2 reported. */
u32 vt_flags_result(u64 rflags);

u32 vt_vmxon(u64 pa);
u32 vt_vmxoff(void);
u32 vt_vmclear(u64 pa);
u32 vt_vmptrld(u64 pa);
u32 vt_vmptrst(u64 *pa);
u32 vt_vmread(u64 field, u64 *val);
u32 vt_vmread_mem(u64 field, u64 *mem);
u32 vt_vmwrite(u64 field, u64 val);
u32 vt_vmwrite_mem(u64 field, const u64 *mem);
u64 vt_rd(u64 field);             /* VMREAD; ~0 if it failed */
bool vt_wr(u64 field, u64 val);   /* VMWRITE; false (and a note) if it failed */

/* Setup (vmxtest_cpu.c). */
bool vt_setup(struct vt_env *env, void *image, void *systab, const char *prog);
bool vt_vmx_enable(struct vt_env *env);   /* CR4.VMXE = 1 (feature control) */
void vt_vmx_disable(void);                /* CR4.VMXE = 0 */
u32 vt_adjust(u32 want, u32 allowed0, u32 allowed1);
bool vt_init_region(struct vt_env *env, int page); /* zero + revision id */

/* VM entry (vmxtest_asm.asm): L2's registers come from and go back to a
 * struct tg_regs (lib/nestvisor.h).
 * VMLAUNCH (resume = 0) or VMRESUME with *regs in L2's registers. Returns
 * VT_ENTERED when the VM exited to HOST_RIP (also a VM-entry failure), or
 * the outcome code of the failed instruction. */
#define VT_ENTERED 0xfffu
u32 vt_enter(struct tg_regs *regs, int resume);
u64 vt_enter_raw(struct tg_regs *regs, int resume); /* asm: 0, 1 (fault) or RFLAGS */

/* What L2's IDT handlers saw (vmxtest_asm.asm). */
struct vt_l2_event {
	u64 count, vector, error, rip;
};
extern volatile struct vt_l2_event vt_l2_ev;
extern const u8 vt_l2_isr_base[]; /* 256 stubs, 16 bytes apart */

/* L2 code (vmxtest_asm.asm). */
extern const u8 vt_l2_seq[], vt_l2_at_cpuid[], vt_l2_at_vmcall[], vt_l2_at_hlt[],
	vt_l2_at_out[], vt_l2_at_rdmsr[], vt_l2_at_wrmsr[], vt_l2_at_cr3[],
	vt_l2_at_cr0[], vt_l2_at_ud2[], vt_l2_ipi[], vt_l2_ipi_wait[], vt_l2_ipi_timeout[];
extern u64 vt_l2_cr0_value;
extern const u8 vt_l2_swint[], vt_l2_evt[], vt_l2_count[], vt_l2_count_vmcall[],
	vt_l2_cpuid_loop[], vt_l2_cpuid_loop_at[], vt_l2_sled[];
/* VMCS shadowing (vmxtest_shadow.c): one VMREAD/VMWRITE each. */
extern const u8 vt_l2_sh_rd_reg[], vt_l2_sh_rd_reg_at[], vt_l2_sh_rd_reg_after[],
	vt_l2_sh_rd_mem[], vt_l2_sh_rd_mem_at[], vt_l2_sh_rd_mem_after[],
	vt_l2_sh_wr_reg[], vt_l2_sh_wr_reg_at[], vt_l2_sh_wr_reg_after[],
	vt_l2_sh_wr_mem[], vt_l2_sh_wr_mem_at[], vt_l2_sh_wr_mem_after[];
/* VMX-preemption timer (vmxtest_timer.c): RCX loop iterations, CPUID. */
extern const u8 vt_l2_spin[], vt_l2_spin_cpuid[];
#define VT_L2_IO_PORT 0x510
#define VT_L2_MSR MSR_IA32_PAT

/* Ring 3 (vmxtest_asm.asm, vmxtest_cpu.c): run 'code' at CPL 3 on user
 * page tables; it comes back with RAX = VT_R3_DONE, or VT_R3_FAULTED. */
#define VT_R3_DONE 0x3d0e
#define VT_R3_FAULTED 0x3fa7
extern const u8 vt_r3_vmxon[], vt_r3_vmptrst[], vt_r3_fault[];
u32 vt_at_cpl3(struct vt_env *env, const u8 *code, u64 *error);

/* A VMCS for an L2 (vmxtest_vmcs.c). */
struct vt_l2 {
	u64 rip, rsp, rflags;
	u32 pin, proc, proc2, exit, entry; /* wanted bits; adjusted to the MSRs */
	u32 exc_bitmap;
};
bool vt_vmcs_setup(struct vt_env *env, const struct vt_l2 *l2, struct tg_check *c);
u64 vt_stack_top(const struct vt_env *env, int first_page, int pages);
bool vt_load_fresh(struct vt_env *env, int page, const struct vt_l2 *l2, struct tg_check *c);
struct vt_l2 vt_cpuid_l2(struct vt_env *env); /* CPUID loop on stack A */
/* Expects VT_ENTERED and exit 'reason' at 'rip' (any RIP if 0). */
bool vt_expect_exit(struct tg_check *c, u32 res, u32 reason, u64 rip);

/* Check groups. */
void vt_checks_before_vmxon(struct vt_env *env);
void vt_checks_vmx_insn(struct vt_env *env);
void vt_checks_entry(struct vt_env *env);
void vt_checks_l2_exits(struct vt_env *env);
void vt_checks_inject(struct vt_env *env);
void vt_checks_two_l2(struct vt_env *env);
void vt_checks_cycles(struct vt_env *env);
void vt_checks_ept(struct vt_env *env); /* vmxtest_ept.c */
void vt_checks_shadow(struct vt_env *env); /* vmxtest_shadow.c */
void vt_checks_timer(struct vt_env *env); /* vmxtest_timer.c */
void vt_checks_addr(struct vt_env *env); /* vmxtest_addr.c */
void vt_checks_pml(struct vt_env *env); /* vmxtest_pml.c */

/* vmxtest's former names of what moved to tests/guests/lib/ (vmxbench*.c
 * uses them). */
#define vt_check tg_check
#define vt_printf tg_printf
#define vt_snprintf tg_snprintf
#define vt_begin tg_begin
#define vt_expect tg_expect
#define vt_end tg_end
#define vt_end_run tg_end_run
#define vt_passed tg_passed
#define vt_failed tg_failed
#define vt_prog tg_prog
static inline s64 vt_hypercall(u64 fn, u64 *rbx, u64 *rcx)
{
	return tg_hypercall(fn, rbx, rcx, NULL);
}

#pragma GCC visibility pop

#endif
