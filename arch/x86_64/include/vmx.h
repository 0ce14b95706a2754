/* The monitor's VT-x state: capabilities, the vcpu, VMCS accessors. */
#ifndef NESTVISOR_VMX_H
#define NESTVISOR_VMX_H

#include <nestvisor/types.h>
#include <nestvisor/bootinfo.h>
#include "ept.h"
#include "vmx_caps.h"
#include <nested/nested.h>

/* General registers as entry.asm saves them on VM exit: the SDM's register
 * numbering (0 = RAX, 1 = RCX, ... 15 = R15), so exit qualifications and
 * instruction-information fields index this array directly. */
struct guest_regs {
	u64 gpr[16];
};
#define GPR_RAX 0
#define GPR_RCX 1
#define GPR_RDX 2
#define GPR_RBX 3
#define GPR_RSP 4 /* not saved here: the VMCS holds the guest's RSP */
#define GPR_RBP 5
#define GPR_RSI 6
#define GPR_RDI 7
_Static_assert(sizeof(struct guest_regs) == 16 * 8, "entry.asm pushes 16 registers");

/* VMX capability MSRs, read once at start (SDM Appendix A). */
extern struct vmx_caps vmx_caps;

struct vcpu {
	struct guest_regs *regs; /* valid during an exit */
	void *vmxon_region;
	void *vmcs;              /* VMCS01 */
	u8 *msr_bitmap, *io_bitmap_a, *io_bitmap_b;
	struct ept ept;          /* guest-physical -> host-physical */
	void *sink_page;         /* what the guest sees at the monitor's addresses */
	u64 stack_top;           /* HOST_RSP */
	bool nmi_pending;        /* an NMI arrived while the monitor ran */
	u32 monitor_access_logs; /* rate limit for those log lines */
	u64 boot_cr0, boot_cr4;  /* the firmware's CR0/CR4 before VMXON */
	struct nested_vcpu nested; /* L1 as a hypervisor (arch/x86_64/nested/) */
};
extern struct vcpu boot_vcpu;

/* VMREAD/VMWRITE: a failure is fatal and names the field, the
 * VM-instruction error and the caller (a failed VMWRITE is a monitor bug).
 * Inline: a nested round trip makes some 300 of them, and a call around
 * each one costs more than the instruction (on Bochs, instructions are
 * the whole cost). */
void vmcs_read_failed(u32 field) __attribute__((noreturn, cold));
void vmcs_write_failed(u32 field, u64 value) __attribute__((noreturn, cold));

static inline u64 vmcs_read(u32 field)
{
	u64 v;
	bool fail;
	asm volatile("vmread %2, %0" : "=rm"(v), "=@ccbe"(fail) : "r"((u64)field) : "cc");
	if (__builtin_expect(fail, 0))
		vmcs_read_failed(field);
	return v;
}

static inline void vmcs_write(u32 field, u64 value)
{
	bool fail;
	asm volatile("vmwrite %1, %2" : "=@ccbe"(fail) : "rm"(value), "r"((u64)field) : "cc", "memory");
	if (__builtin_expect(fail, 0))
		vmcs_write_failed(field, value);
}

int vmx_capabilities_read(void); /* 0, or NV_E_NOVMX naming what is missing */
int vmx_on(struct vcpu *v);
int vmcs01_setup(struct vcpu *v, const struct nv_bootinfo *bi);
int vmx_launch(void); /* entry.asm */
int ept_setup(struct vcpu *v, const struct nv_bootinfo *bi);
u64 phys_limit(const struct nv_bootinfo *bi);
void ept_invalidate(struct vcpu *v);
void vmx_exit_stub(void);
void vmx_resume_failed(u64 rflags) __attribute__((noreturn));

/* Host environment (host.c): GDT, TSS, IDT and page tables. */
struct host_state {
	u64 cr3, gdt_base, idt_base, tr_base;
	u16 cs, ds, tr; /* selectors in the monitor's GDT */
};
extern struct host_state host_state;
int host_setup(const struct nv_bootinfo *bi);

/* Guest-state accessors (guest_state.c) are in guest_state.h. */
void ept_violation_restore_events(void); /* guest_mem.c */
void vmcs_host_state_write(struct vcpu *v); /* vmcs_setup.c */

/* Exit handlers (exit_*.c, guest_mem.c), called by the dispatch in exit.c
 * and, for exits L0 handles on L2's behalf, by nested/nested_exit.c. */
void exit_cpuid(struct vcpu *v);
void exit_rdmsr(struct vcpu *v);
void exit_wrmsr(struct vcpu *v);
void exit_cr_access(struct vcpu *v);
void exit_xsetbv(struct vcpu *v);
void exit_io(struct vcpu *v);
void exit_ept_violation(struct vcpu *v);
void exit_vmcall(struct vcpu *v);

#endif
