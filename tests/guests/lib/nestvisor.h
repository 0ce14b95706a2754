/* The test guests' view of nestvisor: CPUID signature, hypercalls
 * (include/nestvisor/hypercall.h) and the loader's configuration table. */
#ifndef TG_NESTVISOR_H
#define TG_NESTVISOR_H

#include <efi.h>
#include <nestvisor/types.h>
#include <nestvisor/hypercall.h>
#include <nestvisor/bootinfo.h>

#pragma GCC visibility push(hidden)

#define BOCHS_SHUTDOWN_PORT 0x8900

/* CPUID 0x40000000 reads "NestVisorVMM". */
bool tg_nestvisor_present(void);

/* VMCALL with every general-purpose register loaded from and stored back
 * to this block (hypercall.asm; offsets in regs.inc). A fault on VMCALL
 * (#UD outside VMX non-root operation) resumes after it, registers as
 * they were, tg_fault_vector set. */
struct tg_regs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};
_Static_assert(sizeof(struct tg_regs) == 15 * 8, "regs.inc offsets");
void tg_vmcall_regs(struct tg_regs *r);

/* One hypercall; returns RAX, or TG_HC_FAULTED if VMCALL raised a fault
 * (tg_fault_vector says which). Arguments and results in RBX, RCX, RDX
 * where non-NULL. */
#define TG_HC_FAULTED 0x7fff0000deadull
s64 tg_hypercall(u64 fn, u64 *rbx, u64 *rcx, u64 *rdx);

/* The loader's NV_EFI_TABLE_GUID configuration table, copied to *out. */
bool tg_find_table(EFI_SYSTEM_TABLE *st, struct nv_efi_table *out);

#pragma GCC visibility pop

#endif
