/* How the nested code reaches L1: its registers and memory operands as a
 * VMX instruction named them, its memory by linear and physical address,
 * and the exceptions an access raises (injected into L1). */
#ifndef NESTVISOR_GUEST_ACCESS_H
#define NESTVISOR_GUEST_ACCESS_H

#include <nestvisor/types.h>

struct vcpu;

/* The memory operand of the VMX instruction that exited (from the
 * instruction-information field and exit qualification). On a fault the
 * exception is injected into L1 and -1 returned. */
int nested_mem_operand(struct vcpu *v, u32 size, bool write, u64 *linear);
/* The same without injecting: -1 with *linear, or the exception vector
 * (#GP(0), #SS(0) or #UD) the operand raises. */
int nested_mem_operand_decode(struct vcpu *v, u32 size, bool write, u64 *linear);

/* Read/write L1 memory at a linear address through L1's paging; a fault
 * (#PF, or an address the monitor refuses) is injected, -1 returned. */
int nested_read_linear(struct vcpu *v, u64 linear, void *buf, u32 len);
int nested_write_linear(struct vcpu *v, u64 linear, const void *buf, u32 len);

/* A guest-physical range L1 may hand the monitor (a VMXON region, a
 * VMCS12, a bitmap): guest RAM, inside the physical-address width, not the
 * monitor's memory, not MMIO. */
bool nested_gpa_valid(u64 gpa, u64 len);
void *nested_gpa_ptr(u64 gpa); /* only after nested_gpa_valid() */

/* Copies from L1-physical memory: 0, or -1 if the range is not memory L1
 * may hand the monitor (the ctx argument is unused: a walk callback). */
int nested_read_l1(void *ctx, u64 gpa, void *buf, u32 len);
/* The same as the hardware reads memory that is not there (nothing, or
 * the monitor's): all ones. */
void nested_read_l1_or_ones(u64 gpa, void *buf, u32 len);

/* L1's physical-address width (CPUID.80000008H:EAX[7:0]). */
u32 nested_maxphyaddr(void);

#endif
