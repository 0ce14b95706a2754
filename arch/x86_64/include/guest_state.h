/* The guest's state as an exit sees it (the current VMCS and the saved
 * registers): registers, RIP, visible CR0/CR4, CPL and mode, event
 * injection, and the report that stops a guest. The layer below both the
 * exit dispatch (exit.c) and nested/: it calls neither. */
#ifndef NESTVISOR_GUEST_STATE_H
#define NESTVISOR_GUEST_STATE_H

#include <nestvisor/types.h>

struct vcpu;

/* Complete the instruction that exited: RIP past it, STI/MOV SS blocking
 * over, a single-step trap pending if RFLAGS.TF. */
void guest_skip_instruction(void);
void guest_inject_exception(u8 vector, bool has_error, u32 error);
bool guest_reinject_interrupted_event(void);
u64 guest_gpr_read(struct vcpu *v, u8 gpr);
void guest_gpr_write(struct vcpu *v, u8 gpr, u64 value);
int guest_cpl(void);
/* 64-bit mode: IA32_EFER.LMA and CS.L (SDM 2.2.1). */
bool guest_in_64bit_mode(void);
u64 guest_cr0_visible(void); /* CR0/CR4 as the guest reads them */
u64 guest_cr4_visible(void);
void guest_report_and_stop(const char *why) __attribute__((noreturn));

#endif
