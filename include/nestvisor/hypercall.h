/* nestvisor's hypercall interface (see docs/hypercalls.md).
 *
 * A guest issues VMCALL at CPL 0 with the function number in RAX and
 * arguments in RBX, RCX, RDX. The monitor returns a status in RAX (0 or a
 * negative NV_HC_E*) and results in RBX, RCX, RDX. Every other register is
 * preserved. VMCALL from CPL > 0 returns NV_HC_EPERM and does nothing. */
#ifndef NESTVISOR_HYPERCALL_H
#define NESTVISOR_HYPERCALL_H

#include "types.h"

/* CPUID leaf 0x40000000: EAX = NV_CPUID_MAX_LEAF, EBX:ECX:EDX = "NestVisorVMM" */
#define NV_CPUID_BASE 0x40000000u
#define NV_CPUID_MAX_LEAF 0x40000001u
#define NV_CPUID_SIG_EBX 0x7473654eu /* "Nest" */
#define NV_CPUID_SIG_ECX 0x6f736956u /* "Viso" */
#define NV_CPUID_SIG_EDX 0x4d4d5672u /* "rVMM" */
/* Leaf 0x40000001: EAX = NV_VERSION, EBX..EDX = 0 */

#define NV_VERSION_MAJOR 0
#define NV_VERSION_MINOR 1
#define NV_VERSION_PATCH 0
#define NV_VERSION ((NV_VERSION_MAJOR << 16) | (NV_VERSION_MINOR << 8) | NV_VERSION_PATCH)

enum nv_hypercall {
	NV_HC_VERSION = 0,    /* -> RBX = NV_VERSION, RCX = "NVMM" (0x4d4d564e) */
	NV_HC_EXIT_COUNT = 1, /* RBX = basic exit reason -> RBX = count of L1 exits */
	NV_HC_EXIT_STATS = 2, /* RBX = guest-physical address of a struct
	                       * nv_exit_stats, RCX = its size -> filled in */
	NV_HC_END_RUN = 3,    /* RBX = status (0 = success): prints the exit
	                       * statistics and ends the run; does not return */
	NV_HC_TRACE_DUMP = 4, /* RBX = records (0 = all kept): prints the newest
	                       * of the exit trace to the serial log -> RBX =
	                       * records printed; NV_HC_EOPNOTSUPP with trace = off */
};

#define NV_HC_VERSION_MAGIC 0x4d4d564eu /* "NVMM" */

#define NV_HC_OK 0
#define NV_HC_EPERM (-1)   /* called from CPL > 0 */
#define NV_HC_EFAULT (-14) /* buffer not in guest RAM, or in monitor memory */
#define NV_HC_EINVAL (-22) /* bad argument (size too small, reason out of range) */
#define NV_HC_ENOSYS (-38) /* unknown function number */
#define NV_HC_EOPNOTSUPP (-95) /* the function is configured off */

#define NV_EXIT_REASONS 80 /* basic exit reasons counted: 0..79 */
#define NV_EXIT_STATS_MAGIC 0x5354534e /* "NSTS" */

struct nv_exit_stats {
	u32 magic;        /* NV_EXIT_STATS_MAGIC */
	u32 nr_reasons;   /* NV_EXIT_REASONS */
	u64 total_l1;     /* exits from L1 handled by the monitor */
	u64 l1[NV_EXIT_REASONS]; /* per basic exit reason, L1 exits */
	u64 total_l2;     /* exits while L2 ran (nested; 0 until then) */
	u64 l2[NV_EXIT_REASONS];
	u64 reflected_l2; /* L2 exits reflected to L1 */
	u64 l0_exits_for_reflected; /* L0 exits caused while handling those */
};

/* Debug-exit I/O port (like QEMU's isa-debug-exit): when the configuration
 * enables it, a guest OUT of a value V to this port ends the run with
 * status V (0 = success). */
#define NV_DEBUG_EXIT_PORT 0xf4

/* Statistics-mark I/O port, with the debug-exit port: a guest OUT of a
 * value V here prints one line of the exit counts so far, labelled V
 * ("[nestvisor] stats mark V: ..."), and the guest goes on. Benchmarks
 * take the difference of two marks (tools/bench.sh); from user space it
 * needs ioperm, that is root. An IN reads all ones. */
#define NV_STATS_MARK_PORT 0xf5

#endif
