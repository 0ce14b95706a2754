/* vmxtest: the VMX-preemption timer. With "activate VMX-preemption timer"
 * (pin-based bit 6, SDM 25.6.1) VM entry loads the timer from the VMCS
 * field (SDM 27.7.4); in VMX non-root operation it counts down by 1 each
 * time bit X of the TSC changes, X = IA32_VMX_MISC[4:0], and causes VM
 * exit 52 when it reaches 0, also right after VM entry when it starts at
 * 0, before L2 executes an instruction (SDM 26.5.1, 27.7.4). With the
 * VM-exit control "save VMX-preemption timer value" (bit 22) the exit
 * stores its current value, 0 after a timer exit (SDM 28.3.4, "Saving
 * Non-Register State"); without it the field keeps what L1 wrote.
 * "save" without "activate" is an invalid control setting (SDM
 * 27.2.1.2). Only where the pin-based MSR allows bit 6. */
#include <efi.h>
#include <efilib.h>
#include "vmxtest.h"

#define MISC_TIMER_RATE_MASK 0x1fu   /* IA32_VMX_MISC[4:0] (SDM A.6) */
#define SHIFT_CAP 20                 /* loop lengths stay bounded for any rate */
#define RATE_TICKS (1ULL << 20)      /* the rate check's V << rate, about */
#define ENTRY_SLACK 200000ULL        /* L0's VM-entry/exit emulation under nestvisor */
#define EARLY_VALUE 1000000u         /* far more than the short loop uses */

static struct tg_regs regs;

/* A fresh VMCS for the spinning L2 with the timer at 'value'. */
static bool timer_setup(struct vt_env *env, struct tg_check *c, bool activate, bool save,
			u32 value)
{
	struct vt_l2 l2 = {
		.rip = (u64)vt_l2_spin,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.pin = activate ? PIN_BASED_VMX_PREEMPTION_TIMER : 0,
		.exit = save ? VM_EXIT_SAVE_PREEMPTION_TIMER : 0,
	};

	SetMem(&regs, sizeof(regs), 0);
	return vt_load_fresh(env, VT_PG_VMCS_A, &l2, c) &&
	       (!activate || vt_expect_eq(c, "pin-based controls: activate VMX-preemption timer",
					  vt_rd(PIN_BASED_VM_EXEC_CONTROL) &
					  PIN_BASED_VMX_PREEMPTION_TIMER,
					  PIN_BASED_VMX_PREEMPTION_TIMER)) &&
	       tg_expect(c, vt_wr(VMX_PREEMPTION_TIMER_VALUE, value),
			 "VMWRITE VMX_PREEMPTION_TIMER_VALUE");
}

/* A timer exit: reason 52 with L2 inside its loop, RCX counted down. */
static bool expect_timer_exit(struct tg_check *c, u32 res, u64 loops)
{
	u64 rip;

	if (!vt_expect_exit(c, res, EXIT_REASON_PREEMPTION_TIMER, 0))
		return false;
	rip = vt_rd(GUEST_RIP);
	return tg_expect(c, rip >= (u64)vt_l2_spin && rip < (u64)vt_l2_spin_cpuid,
			 "GUEST_RIP %lx outside L2's loop %lx..%lx", rip, (u64)vt_l2_spin,
			 (u64)vt_l2_spin_cpuid) &
	       tg_expect(c, regs.rcx > 0 && regs.rcx < loops,
			 "L2's RCX %lx: the loop (%lx iterations) did not run", regs.rcx, loops);
}

void vt_checks_timer(struct vt_env *env)
{
	u32 rate = (u32)env->caps.misc & MISC_TIMER_RATE_MASK;
	u32 shift = rate < SHIFT_CAP ? rate : SHIFT_CAP;
	/* The rate check's timer value and TSC bounds. The timer counts down
	 * once per 2^rate TSC ticks, the first time after at most 2^rate, so
	 * V counts take more than (V - 1) << rate ticks. The upper bound
	 * leaves room for a monitor's emulated VM entry and exit (L1's RDTSC
	 * counts them too) but not for a timer 2^rate times too slow. */
	u32 value = RATE_TICKS >> shift > 16 ? (u32)(RATE_TICKS >> shift) : 16;
	u64 period = (u64)value << rate;
	u64 lower = (u64)(value - 1) << rate, upper = 3 * period + ENTRY_SLACK;
	/* L2's loop: long enough to outlast the upper bound (an iteration is
	 * at least one TSC tick), or just long enough to count the timer down
	 * a few times before the early CPUID exit. */
	u64 long_loop = 4 * upper, short_loop = 1000 + (4ULL << shift);
	struct tg_check c;
	u64 t0 = 0, t1 = 0, saved;

	if (!(env->caps.pin1 & PIN_BASED_VMX_PREEMPTION_TIMER)) {
		tg_begin(&c, "timer-offered");
		tg_expect(&c, false, "the pin-based allowed-1 settings %x do not allow \"activate "
			  "VMX-preemption timer\"", env->caps.pin1);
		tg_end(&c);
		return;
	}
	tg_printf("%s: note: VMX-preemption timer rate %u (IA32_VMX_MISC %lx), \"save\" %s\n",
		  tg_prog, rate, env->caps.misc,
		  env->caps.exit1 & VM_EXIT_SAVE_PREEMPTION_TIMER ? "offered" : "not offered");

	/* SDM 27.2.1.2: "If the 'activate VMX-preemption timer' VM-execution
	 * control is 0, the 'save VMX-preemption timer value' VM-exit control
	 * must also be 0" (a control the MSR forbids gives 7 as well). */
	tg_begin(&c, "timer-save-without-activate");
	if (timer_setup(env, &c, false, false, 0) &&
	    vt_expect_res(&c, "VMWRITE VM_EXIT_CONTROLS", vt_vmwrite(VM_EXIT_CONTROLS,
			  vt_rd(VM_EXIT_CONTROLS) | VM_EXIT_SAVE_PREEMPTION_TIMER), VT_OK))
		vt_expect_res(&c, "VMLAUNCH", vt_enter(&regs, 0),
			      VT_FAIL_VALID(VMXERR_ENTRY_INVALID_CONTROL));
	tg_end(&c);

	/* Timer at V, no "save": L2's endless loop ends in exit 52; the field
	 * still holds V; the TSC went at the rate IA32_VMX_MISC gives. */
	tg_begin(&c, "timer-expires");
	bool ok = timer_setup(env, &c, true, false, value);
	if (ok) {
		regs.rcx = long_loop;
		t0 = rdtsc();
		u32 res = vt_enter(&regs, 0);
		t1 = rdtsc();
		ok = expect_timer_exit(&c, res, long_loop);
	}
	tg_end(&c);
	tg_begin(&c, "timer-no-save-keeps-value");
	if (tg_expect(&c, ok, "no timer exit (timer-expires)"))
		vt_expect_eq(&c, "VMX_PREEMPTION_TIMER_VALUE", vt_rd(VMX_PREEMPTION_TIMER_VALUE),
			     value);
	tg_end(&c);
	if (ok)
		tg_printf("%s: note: timer value %u at rate %u: %lu TSC ticks from L1's VM entry "
			  "to the timer's exit (bounds %lu..%lu)\n", tg_prog, value, rate,
			  t1 - t0, lower, upper);
	tg_begin(&c, "timer-rate");
	if (tg_expect(&c, ok, "no timer exit (timer-expires)"))
		tg_expect(&c, t1 - t0 >= lower && t1 - t0 <= upper, "%lu TSC ticks for timer value "
			  "%u at rate %u: expected %lu..%lu", t1 - t0, value, rate, lower, upper);
	tg_end(&c);

	/* With "save": 0 after the timer's exit; VMRESUME with 0 exits at
	 * once, L2's RIP and RCX as they were. */
	tg_begin(&c, "timer-save-zero-after-expiry");
	ok = timer_setup(env, &c, true, true, value);
	if (ok) {
		regs.rcx = long_loop;
		ok = expect_timer_exit(&c, vt_enter(&regs, 0), long_loop) &&
		     vt_expect_eq(&c, "VMX_PREEMPTION_TIMER_VALUE saved",
				  vt_rd(VMX_PREEMPTION_TIMER_VALUE), 0);
	}
	tg_end(&c);
	tg_begin(&c, "timer-zero-at-resume");
	if (tg_expect(&c, ok, "no timer exit with 0 saved (timer-save-zero-after-expiry)")) {
		u64 rip = vt_rd(GUEST_RIP), rcx = regs.rcx;
		if (vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_PREEMPTION_TIMER, rip))
			vt_expect_eq(&c, "L2's RCX (no instruction ran)", regs.rcx, rcx);
	}
	tg_end(&c);

	/* Timer at 0 on VMLAUNCH: exit 52 at L2's first instruction. */
	tg_begin(&c, "timer-zero-at-entry");
	if (timer_setup(env, &c, true, false, 0)) {
		regs.rcx = long_loop;
		if (vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_PREEMPTION_TIMER,
				   (u64)vt_l2_spin))
			vt_expect_eq(&c, "L2's RCX (no instruction ran)", regs.rcx, long_loop);
	}
	tg_end(&c);

	/* With "save", L2 leaves early (CPUID after a short loop): the saved
	 * value has counted down, but not to 0. */
	tg_begin(&c, "timer-save-early-exit");
	if (timer_setup(env, &c, true, true, EARLY_VALUE)) {
		regs.rcx = short_loop;
		if (vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_CPUID,
				   (u64)vt_l2_spin_cpuid)) {
			saved = vt_rd(VMX_PREEMPTION_TIMER_VALUE);
			tg_printf("%s: note: timer value %u, saved %lu after %lu loop iterations\n",
				  tg_prog, EARLY_VALUE, saved, short_loop);
			tg_expect(&c, saved > 0 && saved < EARLY_VALUE, "VMX_PREEMPTION_TIMER_VALUE "
				  "saved %lu: expected 1..%u", saved, EARLY_VALUE - 1);
		}
	}
	tg_end(&c);
}
