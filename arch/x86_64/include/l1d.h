/* The L1 data cache and L1TF ("L1 Terminal Fault"): what nestvisor does
 * so that L2 cannot read L1's data out of the L1D cache, and what it tells
 * L1 about it (SDM Vol. 4 "IA32_ARCH_CAPABILITIES", "IA32_FLUSH_CMD";
 * CPUID.(EAX=7,ECX=0):EDX[28,29]). docs/nested.md, "The L1D flush". */
#ifndef NV_L1D_H
#define NV_L1D_H

#include <nestvisor/types.h>
#include <msr.h>
#include <cpuid_policy.h>

/* IA32_ARCH_CAPABILITIES bits */
#define ARCH_CAP_RDCL_NO BIT(0)            /* not affected by rogue data cache load / L1TF */
#define ARCH_CAP_SKIP_L1DFL_VMENTRY BIT(3) /* a VMM need not flush L1D on VM entry */
/* IA32_FLUSH_CMD bits */
#define FLUSH_CMD_L1D BIT(0)

enum l1d_flush_kind {
	L1D_FLUSH_NOT_NEEDED, /* the CPU says RDCL_NO */
	L1D_FLUSH_MSR,        /* IA32_FLUSH_CMD.L1D_FLUSH */
	L1D_FLUSH_SOFTWARE,   /* read a buffer twice the size of L1D */
};

/* Reads the CPU's answers once, at boot. */
void l1d_init(void);
enum l1d_flush_kind l1d_flush_kind(void);
/* IA32_ARCH_CAPABILITIES as L1 reads it: the CPU's bits (none where the
 * MSR does not exist) plus SKIP_L1DFL_VMENTRY, which nestvisor's flush
 * before every entry to L2 makes true. */
u64 l1d_guest_arch_capabilities(void);
/* Before a VM entry to L2 that follows L1's VMLAUNCH/VMRESUME. */
void l1d_flush_before_l2(void);

#endif
