/* vmxtest: VM entries that fail (SDM 27.1-27.3 checks, 27.8 "VM-Entry
 * Failures During or After Loading Guest State") and the VM exits of a
 * 64-bit L2 (SDM 26.1 "Instructions That Cause VM Exits", 28.2 "Recording
 * VM-Exit Information"). L1 checks every exit's reason, qualification,
 * instruction length and guest state, then advances GUEST_RIP itself. */
#include <efi.h>
#include <efilib.h>
#include "vmxtest.h"

#define APIC_BASE_ENABLE BIT(11)
#define APIC_BASE_X2APIC BIT(10)
#define APIC_BASE_ADDR_MASK 0xffffff000ULL
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_SVR_ENABLE BIT(8)
#define VEC_SELF_IPI 0x40 /* vmxtest_asm.asm: vt_l2_ipi */
#define FOREIGN_INTERRUPTS_MAX 4
#define IO_QUAL(port, size) ((u64)(port) << 16 | ((size) - 1))
#define CR_QUAL(cr, gpr) ((u64)(cr) | (u64)(gpr) << 8) /* MOV to CR */
#define GPR_RAX 0
#define GPR_RBX 3

static struct tg_regs regs;

struct vt_l2 vt_cpuid_l2(struct vt_env *env)
{
	return (struct vt_l2){
		.rip = (u64)vt_l2_cpuid_loop,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
	};
}

/* Expect VM entry to exit with 'reason' at 'rip' (when rip != 0). */
bool vt_expect_exit(struct tg_check *c, u32 res, u32 reason, u64 rip)
{
	if (!vt_expect_res(c, "VM entry", res, VT_ENTERED))
		return false;
	u64 got = vt_rd(VM_EXIT_REASON);
	if (!tg_expect(c, got == reason, "exit reason: expected %x, got %lx (qualification %lx, "
		       "RIP %lx, interruption info %lx)", reason, got, vt_rd(EXIT_QUALIFICATION),
		       vt_rd(GUEST_RIP), vt_rd(VM_EXIT_INTR_INFO)))
		return false;
	return !rip || vt_expect_eq(c, "GUEST_RIP", vt_rd(GUEST_RIP), rip);
}

static void entry_fails_valid(struct vt_env *env, const char *name, u32 field, u64 bad,
			      u32 error)
{
	struct vt_l2 l2 = vt_cpuid_l2(env);
	struct tg_check c;

	tg_begin(&c, name);
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c)) {
		vt_expect_res(&c, "VMWRITE", vt_vmwrite(field, bad), VT_OK);
		vt_expect_res(&c, "VMLAUNCH", vt_enter(&regs, 0), VT_FAIL_VALID(error));
	}
	tg_end(&c);
}

/* L2 runs (a CPUID exit), then FIELD gets its value with OR_BITS set, or
 * BAD: VMRESUME must fail as the SDM says (VMfailValid ERROR, or with
 * ERROR 0 a VM-entry failure exit for guest state), though the VMCS passed
 * every check a moment ago; with the field back, VMRESUME enters L2 again.
 * PRE (if non-zero) gets PRE_VAL before the first entry. An L0 that
 * remembers which checks passed must notice every way L1 writes a field:
 * emulated VMWRITE and, for the fields it shadows, the shadow VMCS. */
struct after_good {
	const char *name;
	u32 field;
	u64 bad, or_bits;
	u32 error;
	u32 pre;
	u64 pre_val;
};

static void resume_fails_after_good(struct vt_env *env, const struct after_good *t)
{
	struct vt_l2 l2 = vt_cpuid_l2(env);
	struct tg_check c;

	tg_begin(&c, t->name);
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    (!t->pre || vt_expect_res(&c, "VMWRITE", vt_vmwrite(t->pre, t->pre_val), VT_OK)) &&
	    vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at)) {
		u64 good = vt_rd(t->field);
		vt_vmwrite(GUEST_RIP, vt_rd(GUEST_RIP) + 2);
		if (vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at)) {
			vt_vmwrite(GUEST_RIP, vt_rd(GUEST_RIP) + 2);
			vt_expect_res(&c, "VMWRITE", vt_vmwrite(t->field, t->or_bits ? good | t->or_bits : t->bad),
				      VT_OK);
			if (t->error)
				vt_expect_res(&c, "VMRESUME", vt_enter(&regs, 1), VT_FAIL_VALID(t->error));
			else
				vt_expect_exit(&c, vt_enter(&regs, 1),
					       EXIT_REASON_ENTRY_FAIL | EXIT_REASON_ENTRY_FAIL_GUEST_STATE, 0);
			vt_vmwrite(t->field, good);
			vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at);
		}
	}
	tg_end(&c);
}

/* A valid control written after good entries takes effect at the next
 * one: an L0 that keeps VMCS02's controls between entries must see the
 * change. The VMX-preemption timer turned on with a value of 0 exits
 * before L2 runs an instruction (SDM 27.7.4). */
static void vt_check_resume_new_control(struct vt_env *env)
{
	struct vt_l2 l2 = vt_cpuid_l2(env);
	struct tg_check c;

	tg_begin(&c, "vmresume-after-good-new-control-takes-effect");
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at)) {
		u64 pin = vt_rd(PIN_BASED_VM_EXEC_CONTROL);
		vt_vmwrite(GUEST_RIP, vt_rd(GUEST_RIP) + 2);
		if (vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at) &&
		    tg_expect(&c, env->caps.pin1 & PIN_BASED_VMX_PREEMPTION_TIMER,
			      "no VMX-preemption timer offered (IA32_VMX_PINBASED_CTLS %lx)",
			      (u64)env->caps.pin1)) {
			u64 rip = vt_rd(GUEST_RIP) + 2;
			vt_vmwrite(GUEST_RIP, rip);
			vt_vmwrite(VMX_PREEMPTION_TIMER_VALUE, 0);
			vt_vmwrite(PIN_BASED_VM_EXEC_CONTROL, pin | PIN_BASED_VMX_PREEMPTION_TIMER);
			vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_PREEMPTION_TIMER, rip);
			vt_vmwrite(PIN_BASED_VM_EXEC_CONTROL, pin);
			vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at);
		}
	}
	tg_end(&c);
}

/* Guest state written after good entries reaches L2: an L0 that writes
 * into VMCS02 only the guest fields L1 changed must see every change, by
 * emulated VMWRITE (IA32_SYSENTER_ESP, which nestvisor does not shadow) and
 * through the shadow VMCS (FS base). L2's CPUID loop leaves both alone, so
 * the exit saves what the entry loaded (SDM 28.3.2). */
static void vt_check_resume_new_guest_state(struct vt_env *env)
{
	struct vt_l2 l2 = vt_cpuid_l2(env);
	struct tg_check c;

	tg_begin(&c, "vmresume-after-good-new-guest-state");
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
	    vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at)) {
		for (u64 round = 1; round <= 2; round++) {
			u64 esp = 0x12345000 + round * 0x100, fs = 0x7000000 + round * 0x1000;
			vt_vmwrite(GUEST_RIP, vt_rd(GUEST_RIP) + 2);
			vt_vmwrite(GUEST_SYSENTER_ESP, esp);
			vt_vmwrite(GUEST_FS_BASE, fs);
			if (!vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at))
				break;
			vt_expect_eq(&c, "GUEST_SYSENTER_ESP after the exit", vt_rd(GUEST_SYSENTER_ESP), esp);
			vt_expect_eq(&c, "GUEST_FS_BASE after the exit", vt_rd(GUEST_FS_BASE), fs);
		}
	}
	tg_end(&c);
}

static void vt_checks_resume_after_good(struct vt_env *env)
{
	int pin = 31;

	while (pin > 0 && (env->caps.pin1 & BIT(pin)))
		pin--;
	/* Controls, host state and guest state; fields nestvisor does not
	 * shadow (its VMWRITE is emulated: pin-based controls, host CR0) and
	 * fields it shadows (written in the shadow VMCS: primary controls,
	 * host FS base). The primary-controls case turns on "use TPR shadow"
	 * with a virtual-APIC address that is not page-aligned, harmless
	 * until then (27.2.1.1). */
	const struct after_good tests[] = {
		{ "vmresume-after-good-bad-pin-control", PIN_BASED_VM_EXEC_CONTROL,
		  .or_bits = BIT(pin), .error = VMXERR_ENTRY_INVALID_CONTROL },
		{ "vmresume-after-good-bad-proc-control", CPU_BASED_VM_EXEC_CONTROL,
		  .or_bits = CPU_BASED_TPR_SHADOW, .error = VMXERR_ENTRY_INVALID_CONTROL,
		  .pre = VIRTUAL_APIC_PAGE_ADDR, .pre_val = 0x1234 },
		{ "vmresume-after-good-bad-host-cr0", HOST_CR0, .bad = read_cr0() & ~CR0_PE,
		  .error = VMXERR_ENTRY_INVALID_HOST_STATE },
		{ "vmresume-after-good-bad-host-fs-base", HOST_FS_BASE, .bad = 0x8000000000000000ULL,
		  .error = VMXERR_ENTRY_INVALID_HOST_STATE },
		{ "vmresume-after-good-bad-guest-tr", GUEST_TR_AR_BYTES, .bad = AR_TSS_BUSY | AR_UNUSABLE },
		/* Event injection, which Linux's KVM writes between entries
		 * that change no other control: interruption type 1 is
		 * reserved (27.2.1.3). */
		{ "vmresume-after-good-bad-event-injection", VM_ENTRY_INTR_INFO_FIELD,
		  .bad = INTR_INFO_VALID | (1u << 8) | 0x20, .error = VMXERR_ENTRY_INVALID_CONTROL },
	};
	for (u32 i = 0; i < ARRAY_SIZE(tests); i++)
		resume_fails_after_good(env, &tests[i]);
	vt_check_resume_new_control(env);
	vt_check_resume_new_guest_state(env);
}

void vt_checks_entry(struct vt_env *env)
{
	struct vt_l2 l2 = vt_cpuid_l2(env);
	struct tg_check c;
	int bit = 31;

	/* A pin-based control the capability MSR says must be 0. */
	while (bit > 0 && (env->caps.pin1 & BIT(bit)))
		bit--;
	entry_fails_valid(env, "vmlaunch-invalid-control", PIN_BASED_VM_EXEC_CONTROL,
			  vt_adjust(0, env->caps.pin0, env->caps.pin1) | BIT(bit),
			  VMXERR_ENTRY_INVALID_CONTROL);
	/* SDM 27.2.2: host CR0 must satisfy IA32_VMX_CR0_FIXED0 (PE). */
	entry_fails_valid(env, "vmlaunch-invalid-host-cr0", HOST_CR0, read_cr0() & ~CR0_PE,
			  VMXERR_ENTRY_INVALID_HOST_STATE);
	/* SDM 27.2.3: host FS base must be canonical. */
	entry_fails_valid(env, "vmlaunch-invalid-host-fs-base", HOST_FS_BASE,
			  0x8000000000000000ULL, VMXERR_ENTRY_INVALID_HOST_STATE);

	/* SDM 27.3.1.2: TR must be usable; a guest-state failure is a VM exit
	 * with bit 31 set, to HOST_RIP, qualification 0 (SDM 27.8). */
	tg_begin(&c, "vmlaunch-guest-tr-unusable");
	if (vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c)) {
		vt_vmwrite(GUEST_TR_AR_BYTES, AR_TSS_BUSY | AR_UNUSABLE);
		if (vt_expect_exit(&c, vt_enter(&regs, 0),
				EXIT_REASON_ENTRY_FAIL | EXIT_REASON_ENTRY_FAIL_GUEST_STATE, 0))
			vt_expect_eq(&c, "exit qualification", vt_rd(EXIT_QUALIFICATION), 0);
	}
	tg_end(&c);

	/* The failed entry left the VMCS clear: VMLAUNCH again works. */
	tg_begin(&c, "vmlaunch-after-entry-failure");
	vt_vmwrite(GUEST_TR_AR_BYTES, AR_TSS_BUSY);
	if (vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at))
		vt_expect_eq(&c, "instruction length", vt_rd(VM_EXIT_INSTRUCTION_LEN), 2);
	tg_end(&c);

	tg_begin(&c, "vmlaunch-launched-error4");
	vt_expect_res(&c, "VMLAUNCH of a launched VMCS", vt_enter(&regs, 0),
		      VT_FAIL_VALID(VMXERR_VMLAUNCH_NONCLEAR));
	tg_end(&c);

	tg_begin(&c, "vmresume-works");
	vt_vmwrite(GUEST_RIP, vt_rd(GUEST_RIP) + 2);
	vt_expect_exit(&c, vt_enter(&regs, 1), EXIT_REASON_CPUID, (u64)vt_l2_cpuid_loop_at);
	tg_end(&c);

	vt_checks_resume_after_good(env);

	tg_begin(&c, "vmresume-clear-error5");
	vt_expect_res(&c, "VMCLEAR", vt_vmclear(vt_pa(env, VT_PG_VMCS_A)), VT_OK);
	vt_expect_res(&c, "VMPTRLD", vt_vmptrld(vt_pa(env, VT_PG_VMCS_A)), VT_OK);
	vt_expect_res(&c, "VMRESUME of a clear VMCS", vt_enter(&regs, 1),
		      VT_FAIL_VALID(VMXERR_VMRESUME_NONLAUNCHED));
	tg_end(&c);
}

struct exit_step {
	const char *name;
	const u8 *at;
	u32 reason, len;
	bool has_qual;
	u64 qual;
};

static void set_bit(u8 *bitmap, u32 n)
{
	bitmap[n / 8] |= (u8)(1u << (n % 8));
}

static void exit_ipi(struct vt_env *env, u64 rsp)
{
	u64 apic = rdmsr(MSR_IA32_APIC_BASE), mmio = apic & APIC_BASE_ADDR_MASK;
	volatile u32 *svr = (u32 *)(mmio + APIC_SVR), *eoi = (u32 *)(mmio + APIC_EOI);
	struct tg_check c;
	u32 res, foreign = 0;
	u64 info = 0;

	tg_begin(&c, "l2-exit-external-interrupt");
	if (!tg_expect(&c, (apic & APIC_BASE_ENABLE) && !(apic & APIC_BASE_X2APIC) &&
		       mmio == 0xfee00000ULL, "xAPIC not enabled at 0xfee00000: "
		       "IA32_APIC_BASE %lx", apic)) {
		tg_end(&c);
		return;
	}
	if (!(*svr & APIC_SVR_ENABLE))
		*svr |= APIC_SVR_ENABLE;
	/* "external-interrupt exiting" with "acknowledge interrupt on exit":
	 * the exit's interruption information holds the vector (SDM 28.2.2). */
	vt_vmwrite(PIN_BASED_VM_EXEC_CONTROL, vt_adjust(PIN_BASED_EXT_INTR_MASK,
		   env->caps.pin0, env->caps.pin1));
	vt_vmwrite(VM_EXIT_CONTROLS, vt_adjust(VM_EXIT_HOST_ADDR_SPACE_SIZE |
		   VM_EXIT_ACK_INTR_ON_EXIT, env->caps.exit0, env->caps.exit1));
	vt_vmwrite(GUEST_RIP, (u64)vt_l2_ipi);
	vt_vmwrite(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	for (;;) {
		res = vt_enter(&regs, 1);
		if (!vt_expect_exit(&c, res, EXIT_REASON_EXTERNAL_INTERRUPT, 0))
			break;
		info = vt_rd(VM_EXIT_INTR_INFO);
		*eoi = 0;
		if ((info & 0xff) == VEC_SELF_IPI || ++foreign > FOREIGN_INTERRUPTS_MAX)
			break;
		tg_printf("%s: note: a foreign interrupt (vector %lx) exited L2\n", tg_prog,
			  info & 0xff);
	}
	if (!c.failed) {
		u64 rip = vt_rd(GUEST_RIP);
		vt_expect_eq(&c, "exit interruption information", info,
			     INTR_INFO_VALID | INTR_TYPE_EXT_INTR | VEC_SELF_IPI);
		tg_expect(&c, rip > (u64)vt_l2_ipi && rip <= (u64)vt_l2_ipi_timeout,
			  "GUEST_RIP %lx outside L2's wait loop %lx..%lx", rip, (u64)vt_l2_ipi,
			  (u64)vt_l2_ipi_timeout);
		vt_expect_eq(&c, "GUEST_RSP", vt_rd(GUEST_RSP), rsp);
		tg_expect(&c, vt_rd(GUEST_RFLAGS) & RFLAGS_IF, "GUEST_RFLAGS.IF is 0: %lx",
			  vt_rd(GUEST_RFLAGS));
	}
	tg_end(&c);
}

void vt_checks_l2_exits(struct vt_env *env)
{
	u64 cr0 = read_cr0(), rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES);
	u8 *msr_bitmap = vt_page(env, VT_PG_MSR_BITMAP);
	const struct vt_l2 l2 = {
		.rip = (u64)vt_l2_seq, .rsp = rsp,
		.proc = CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS |
			CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_CR3_LOAD_EXITING,
		.exc_bitmap = BIT(EXC_UD),
	};
	const struct exit_step steps[] = {
		{ "l2-exit-cpuid", vt_l2_at_cpuid, EXIT_REASON_CPUID, 2, false, 0 },
		{ "l2-exit-vmcall", vt_l2_at_vmcall, EXIT_REASON_VMCALL, 3, false, 0 },
		{ "l2-exit-hlt", vt_l2_at_hlt, EXIT_REASON_HLT, 1, false, 0 },
		{ "l2-exit-io-bitmap", vt_l2_at_out, EXIT_REASON_IO_INSTRUCTION, 2, true,
		  IO_QUAL(VT_L2_IO_PORT, 2) },
		{ "l2-exit-rdmsr-bitmap", vt_l2_at_rdmsr, EXIT_REASON_RDMSR, 2, false, 0 },
		{ "l2-exit-wrmsr-bitmap", vt_l2_at_wrmsr, EXIT_REASON_WRMSR, 2, false, 0 },
		{ "l2-exit-mov-cr3", vt_l2_at_cr3, EXIT_REASON_CR_ACCESS, 3, true,
		  CR_QUAL(3, GPR_RAX) },
		{ "l2-exit-mov-cr0-mask", vt_l2_at_cr0, EXIT_REASON_CR_ACCESS, 3, true,
		  CR_QUAL(0, GPR_RBX) },
		{ "l2-exit-exception-bitmap", vt_l2_at_ud2, EXIT_REASON_EXCEPTION_NMI, 0, false, 0 },
	};
	struct tg_check c;

	SetMem(vt_page(env, VT_PG_IO_A), PAGE_SIZE, 0);
	SetMem(vt_page(env, VT_PG_IO_B), PAGE_SIZE, 0);
	SetMem(msr_bitmap, PAGE_SIZE, 0);
	set_bit(vt_page(env, VT_PG_IO_A), VT_L2_IO_PORT);
	set_bit(msr_bitmap, VT_L2_MSR);          /* read bitmap for low MSRs */
	set_bit(msr_bitmap + 0x800, VT_L2_MSR);  /* write bitmap for low MSRs */
	vt_l2_cr0_value = cr0 ^ CR0_TS;
	SetMem(&regs, sizeof(regs), 0);

	tg_begin(&c, "l2-launch");
	bool ok = vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c) &&
		  tg_expect(&c, vt_wr(CR0_GUEST_HOST_MASK, CR0_TS), "CR0 mask");
	tg_end(&c);
	if (!ok)
		return;
	for (u32 i = 0; i < ARRAY_SIZE(steps); i++) {
		const struct exit_step *s = &steps[i];
		tg_begin(&c, s->name);
		if (vt_expect_exit(&c, vt_enter(&regs, i > 0), s->reason, (u64)s->at)) {
			if (s->len)
				vt_expect_eq(&c, "instruction length",
					     vt_rd(VM_EXIT_INSTRUCTION_LEN), s->len);
			if (s->has_qual)
				vt_expect_eq(&c, "exit qualification", vt_rd(EXIT_QUALIFICATION),
					     s->qual);
			vt_expect_eq(&c, "GUEST_RSP", vt_rd(GUEST_RSP), rsp);
			vt_expect_eq(&c, "GUEST_RFLAGS", vt_rd(GUEST_RFLAGS), RFLAGS_FIXED);
			if (s->reason == EXIT_REASON_RDMSR || s->reason == EXIT_REASON_WRMSR)
				vt_expect_eq(&c, "L2's RCX", regs.rcx, VT_L2_MSR);
			if (s->reason == EXIT_REASON_HLT)
				vt_expect_eq(&c, "GUEST_ACTIVITY_STATE", vt_rd(GUEST_ACTIVITY_STATE), 0);
			if (s->reason == EXIT_REASON_EXCEPTION_NMI)
				vt_expect_eq(&c, "exit interruption information",
					     vt_rd(VM_EXIT_INTR_INFO), INTR_INFO_VALID |
					     INTR_TYPE_HW_EXCEPTION | EXC_UD);
			if (s->reason == EXIT_REASON_CR_ACCESS && s->qual == CR_QUAL(0, GPR_RBX))
				vt_expect_eq(&c, "GUEST_CR0 (the write did not happen)",
					     vt_rd(GUEST_CR0), cr0);
			vt_vmwrite(GUEST_RIP, (u64)s->at + (s->len ? s->len : 2));
		}
		tg_end(&c);
		if (c.failed && vt_rd(GUEST_RIP) != (u64)s->at + (s->len ? s->len : 2))
			return; /* L2 is lost: the later steps would only repeat this */
	}
	exit_ipi(env, rsp);
}
