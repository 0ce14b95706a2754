/* Does an exit that happened while L2 ran belong to L1? The answer is
 * "would L1's VMCS12 controls have caused this exit on real hardware"
 * (SDM Vol. 3C 26.1 "Instructions That Cause VM Exits", 26.2 "Other Causes
 * of VM Exits"); everything else is L0's own (it intercepts more than L1
 * asked for, e.g. EPT, its MSRs and ports). Pure logic: L1's bitmaps are
 * read through a callback. */
#ifndef NV_NESTED_REFLECT_H
#define NV_NESTED_REFLECT_H

#include <nestvisor/types.h>
#include "nested/vmcs12.h"

struct reflect_ctx {
	const struct vmcs12 *v12;
	/* Reads L1 guest-physical memory (its I/O, MSR, VMREAD and VMWRITE
	 * bitmaps); 0 on
	 * success. A failed read counts as a bitmap of ones, as an access to
	 * nonexistent memory reads on the hardware: the exit goes to L1. */
	int (*read_phys)(void *ctx, u64 gpa, void *buf, u32 len);
	void *ctx;
};

/* The facts the decision needs, as the exit left them in VMCS02 and L2's
 * registers. */
struct l2_exit {
	u32 reason;          /* basic exit reason (bits 15:0) */
	u64 qualification;
	u32 intr_info;       /* VM-exit interruption information (exception/NMI) */
	u32 intr_error;      /* VM-exit interruption error code (#PF error code) */
	u32 msr;             /* RDMSR/WRMSR: ECX */
	u64 cr_value;        /* MOV to CR: the source register's value */
	u64 edx_eax;         /* XSAVES/XRSTORS: the instruction mask EDX:EAX */
	u64 ia32_xss;        /* XSAVES/XRSTORS: L2's IA32_XSS */
	u64 vmcs_field;      /* VMREAD/VMWRITE: the encoding register (bits 31:0
	                      * only outside 64-bit mode) */
};

bool nested_exit_to_l1(const struct reflect_ctx *c, const struct l2_exit *e);

/* The MSR-bitmap decision alone (SDM 26.1.3 "RDMSR"/"WRMSR"). */
bool nested_msr_exits(const struct reflect_ctx *c, u32 msr, bool write);
/* The I/O decision alone for 'size' bytes at 'port' (SDM 26.1.3 "I/O
 * instructions"). */
bool nested_io_exits(const struct reflect_ctx *c, u16 port, u32 size);

#endif
