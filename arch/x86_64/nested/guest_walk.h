/* Guest linear-address translation with the guest's own paging (SDM Vol.
 * 3A chapter 4 "Paging": no paging, 32-bit, PAE, 4-level and 5-level),
 * for L0 to reach the memory operands of L1's VMX instructions.
 * Pure logic: guest-physical memory is read through a callback.
 *
 * Known differences from the hardware:
 * - accessed and dirty flags are not set (the CPU sets A in every entry
 *   it uses and D in the leaf of a write);
 * - PAE-paging PDPTEs are read from memory at CR3 instead of from the
 *   PDPTE registers loaded by MOV to CR3, and a reserved bit in one is a
 *   #PF(RSVD) here (the CPU faults at the MOV to CR3 instead);
 * - protection keys (CR4.PKE/PKS), shadow stacks and HLAT are ignored;
 * - the caller checks canonical form: bits above the paging mode's width
 *   are ignored here. */
#ifndef NV_NESTED_GUEST_WALK_H
#define NV_NESTED_GUEST_WALK_H

#include <nestvisor/types.h>

struct guest_paging {
	u64 cr0, cr3, cr4, efer;
	u32 maxphyaddr;  /* CPUID.80000008H:EAX[7:0] as the guest sees it (32..52) */
	bool page_1g;    /* CPUID.80000001H:EDX.Page1GB: PS=1 in a PDPTE maps 1 GByte */
};

/* The access being made (combine). */
#define WALK_WRITE (1u << 0)
#define WALK_USER (1u << 1)     /* CPL 3 access; else supervisor */
#define WALK_FETCH (1u << 2)
#define WALK_AC (1u << 3)       /* explicit supervisor access with RFLAGS.AC=1 (SMAP) */

/* Page-fault error code (SDM 4.7 "Page-Fault Exceptions"). */
#define PFEC_P (1u << 0)        /* 0: not present; 1: protection or reserved bit */
#define PFEC_W (1u << 1)        /* write access */
#define PFEC_U (1u << 2)        /* user-mode access */
#define PFEC_RSVD (1u << 3)     /* reserved bit set in a paging-structure entry */
#define PFEC_ID (1u << 4)       /* instruction fetch (with SMEP, or PAE and NXE) */

#define GUEST_WALK_OK 0
#define GUEST_WALK_PF (-1)      /* *pf_error holds the #PF error code */
#define GUEST_WALK_ERR (-2)     /* read_phys/write_phys failed, or bad arguments */

typedef int guest_read_phys_fn(void *ctx, u64 gpa, void *buf, u32 len);
typedef int guest_write_phys_fn(void *ctx, u64 gpa, const void *buf, u32 len);

/* Translates 'linear' for 'access' (WALK_*). Returns GUEST_WALK_OK with
 * *gpa, GUEST_WALK_PF with *pf_error, or GUEST_WALK_ERR when read_phys
 * (0 on success) fails. */
int guest_walk(const struct guest_paging *p, u64 linear, u32 access,
	       guest_read_phys_fn *read_phys, void *ctx, u64 *gpa, u32 *pf_error);

struct guest_mem_ops {
	guest_read_phys_fn *read_phys;
	guest_write_phys_fn *write_phys;  /* may be NULL if never writing */
	void *ctx;
};

/* Reads 'len' bytes at 'linear' into buf, or writes them from buf when
 * 'access' has WALK_WRITE; len <= 4096, so at most two pages. Every page is
 * translated before a byte moves, so a fault leaves memory untouched. On
 * GUEST_WALK_PF, *fault_linear is the address for CR2. */
int guest_linear_access(const struct guest_paging *p, u64 linear, void *buf, u32 len,
			u32 access, const struct guest_mem_ops *ops, u32 *pf_error,
			u64 *fault_linear);

#endif
