/* L1's VMX-preemption timer (SDM 26.5.1 "VMX-Preemption Timer", 27.7.4,
 * 28.2 and 28.3.4 "saving the timer value"), run on the hardware's timer.
 *
 * The timer counts down by 1 each time bit X of the TSC changes, X being
 * IA32_VMX_MISC[4:0]. nestvisor offers L1 a rate at least
 * NESTED_TIMER_RATE_MIN (caps.c): Linux's KVM will not use a timer that
 * could tick faster than 0.1 Hz over 2^32 (on Bochs, with a 3.5-GHz TSC and
 * a rate of 0, it would refuse it). One L1 tick is then 2^shift hardware
 * ticks, shift = L1's rate - the hardware's, and L0 keeps L1's timer in
 * hardware ticks:
 *  - at a nested VM entry, VMCS12's value << shift; VMCS02 holds what fits
 *    its 32 bits, timer_extra the rest (an early hardware expiry is then
 *    L0's: it re-arms and resumes L2);
 *  - an exit L0 handles itself costs L2 the time L0 spent on it: from L1's
 *    point of view L2 was running (the hardware counts only in VMX
 *    non-root operation);
 *  - a reflected exit with "save VMX-preemption timer value" gives L1 the
 *    hardware ticks left rounded up to whole L1 ticks (a tick that has
 *    begun has not been counted yet), 0 after the timer's own exit.
 * docs/nested.md, "The VMX-preemption timer", gives its precision. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <nested/nested.h>
#include <lib.h>

#define TIMER_MAX 0xffffffffULL /* the VMCS field is 32 bits */

static u32 hw_rate(void)
{
	return (u32)(vmx_caps.misc & VMX_MISC_PREEMPTION_RATE);
}

static u32 shift(const struct nested_vcpu *n)
{
	return (u32)(n->caps.msr[NESTED_CAP(MSR_IA32_VMX_MISC)] & VMX_MISC_PREEMPTION_RATE) - hw_rate();
}

/* Hardware ticks left -> VMCS02's field and timer_extra. */
static void timer_arm(struct nested_vcpu *n, u64 ticks)
{
	u64 now = ticks > TIMER_MAX ? TIMER_MAX : ticks;
	vmcs_write(VMX_PREEMPTION_TIMER_VALUE, now);
	n->timer_extra = ticks - now;
}

static u64 timer_left(const struct nested_vcpu *n)
{
	return (u32)vmcs_read(VMX_PREEMPTION_TIMER_VALUE) + n->timer_extra;
}

void nested_timer_entry(struct vcpu *v, const struct vmcs12 *c)
{
	struct nested_vcpu *n = &v->nested;
	n->timer_extra = 0;
	if (c->pin_based_vm_exec_control & PIN_BASED_VMX_PREEMPTION_TIMER)
		timer_arm(n, (u64)c->vmx_preemption_timer_value << shift(n));
}

bool nested_timer_expired(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	if (!n->timer_extra) {
		/* L1's timer counted down to 0 (SDM 26.5.1): that is what
		 * "save" stores for L1. Not the field VMCS02 saved: Bochs 2.7,
		 * entered with a timer of 0, saves its previous count. */
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, 0);
		return true;
	}
	timer_arm(n, n->timer_extra);
	return false;
}

void nested_timer_charge(struct vcpu *v, u64 tsc_at_exit)
{
	struct nested_vcpu *n = &v->nested;
	if (!(vmcs_read(PIN_BASED_VM_EXEC_CONTROL) & PIN_BASED_VMX_PREEMPTION_TIMER))
		return;
	u64 spent = (rdtsc() - tsc_at_exit) >> hw_rate(), left = timer_left(n);
	timer_arm(n, spent >= left ? 0 : left - spent);
}

u32 nested_timer_save(const struct vcpu *v)
{
	const struct nested_vcpu *n = &v->nested;
	u32 s = shift(n);
	u64 left = timer_left(n);
	return (u32)((left + (1ULL << s) - 1) >> s);
}
