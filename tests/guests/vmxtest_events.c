/* vmxtest: event injection into L2 (SDM 27.6 "Event Injection"), two L2s
 * on two VMCSs, and VMXON/VMXOFF cycles. */
#include <efi.h>
#include <efilib.h>
#include "vmxtest.h"

#define VEC_SW_INT 0x80
#define VEC_EXT_INJECT 0x41
#define GP_ERROR_CODE 0x1234
#define SW_INT_LEN 2 /* "int 0x80" */
#define VMCALL_LEN 3
#define TWO_L2_ROUNDS 50
#define B_START 1000
#define CYCLES 10

struct inject_case {
	const char *name;
	u32 info;
	u32 error, len;
	const u8 *rip;
	u64 rflags;
	u64 want_vector, want_error;
};

static struct tg_regs regs, regs_b;

static void inject_one(const struct inject_case *k, bool launch)
{
	struct tg_check c;

	tg_begin(&c, k->name);
	vt_vmwrite(VM_ENTRY_INTR_INFO_FIELD, k->info);
	vt_vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, k->error);
	vt_vmwrite(VM_ENTRY_INSTRUCTION_LEN, k->len);
	vt_vmwrite(GUEST_RIP, (u64)k->rip);
	vt_vmwrite(GUEST_RFLAGS, k->rflags);
	SetMem((void *)&vt_l2_ev, sizeof(vt_l2_ev), 0);
	if (vt_expect_exit(&c, vt_enter(&regs, !launch), EXIT_REASON_VMCALL, (u64)vt_l2_evt)) {
		vt_expect_eq(&c, "events L2 saw", vt_l2_ev.count, 1);
		vt_expect_eq(&c, "vector L2 saw", vt_l2_ev.vector, k->want_vector);
		vt_expect_eq(&c, "error code L2 saw", vt_l2_ev.error, k->want_error);
		vt_expect_eq(&c, "return RIP L2's handler saw", vt_l2_ev.rip, (u64)vt_l2_evt);
		/* SDM 28.2: "the valid bit ... is cleared on every VM exit". */
		vt_expect_eq(&c, "VM_ENTRY_INTR_INFO_FIELD valid bit after the exit",
			     vt_rd(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID, 0);
		vt_expect_eq(&c, "IDT-vectoring valid bit", vt_rd(IDT_VECTORING_INFO_FIELD) &
			     INTR_INFO_VALID, 0);
	}
	tg_end(&c);
}

void vt_checks_inject(struct vt_env *env)
{
	const struct vt_l2 l2 = {
		.rip = (u64)vt_l2_evt,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
	};
	const struct inject_case cases[] = {
		{ "inject-ud", INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | EXC_UD, 0, 0,
		  vt_l2_evt, RFLAGS_FIXED, EXC_UD, 0 },
		{ "inject-gp-error-code", INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION |
		  INTR_INFO_DELIVER_CODE | EXC_GP, GP_ERROR_CODE, 0, vt_l2_evt, RFLAGS_FIXED,
		  EXC_GP, GP_ERROR_CODE },
		/* The return address is RIP + the VM-entry instruction length. */
		{ "inject-software-interrupt", INTR_INFO_VALID | INTR_TYPE_SW_INTR | VEC_SW_INT,
		  0, SW_INT_LEN, vt_l2_swint, RFLAGS_FIXED, VEC_SW_INT, 0 },
		/* SDM 27.3.1.4: an injected external interrupt needs RFLAGS.IF = 1. */
		{ "inject-external-interrupt", INTR_INFO_VALID | INTR_TYPE_EXT_INTR |
		  VEC_EXT_INJECT, 0, 0, vt_l2_evt, RFLAGS_FIXED | RFLAGS_IF, VEC_EXT_INJECT, 0 },
		{ "inject-nmi", INTR_INFO_VALID | INTR_TYPE_NMI | EXC_NMI, 0, 0, vt_l2_evt,
		  RFLAGS_FIXED, EXC_NMI, 0 },
	};
	struct tg_check c;

	SetMem(&regs, sizeof(regs), 0);
	tg_begin(&c, "inject-setup");
	bool ok = vt_load_fresh(env, VT_PG_VMCS_A, &l2, &c);
	tg_end(&c);
	for (u32 i = 0; ok && i < ARRAY_SIZE(cases); i++)
		inject_one(&cases[i], i == 0);
}

/* One round for one L2: make it current, step over its VMCALL, resume. */
static bool count_round(struct tg_check *c, u64 vmcs, struct tg_regs *r, u64 want_rbx,
			u64 rsp, const char *who)
{
	if (!vt_expect_res(c, "VMPTRLD", vt_vmptrld(vmcs), VT_OK))
		return false;
	vt_vmwrite(GUEST_RIP, vt_rd(GUEST_RIP) + VMCALL_LEN);
	if (!vt_expect_exit(c, vt_enter(r, 1), EXIT_REASON_VMCALL, (u64)vt_l2_count_vmcall))
		return false;
	return tg_expect(c, r->rbx == want_rbx && vt_rd(GUEST_RSP) == rsp,
			 "%s: RBX %lx (expected %lx), GUEST_RSP %lx (expected %lx)", who,
			 r->rbx, want_rbx, vt_rd(GUEST_RSP), rsp);
}

void vt_checks_two_l2(struct vt_env *env)
{
	u64 a = vt_pa(env, VT_PG_VMCS_A), b = vt_pa(env, VT_PG_VMCS_B);
	u64 rsp_a = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES);
	u64 rsp_b = vt_stack_top(env, VT_PG_L2_STACK_B, VT_L2_STACK_PAGES);
	struct vt_l2 la = { .rip = (u64)vt_l2_count, .rsp = rsp_a };
	struct vt_l2 lb = { .rip = (u64)vt_l2_count, .rsp = rsp_b };
	struct tg_check c;
	u32 i;

	SetMem(&regs, sizeof(regs), 0);
	SetMem(&regs_b, sizeof(regs_b), 0);
	regs_b.rbx = B_START;
	tg_begin(&c, "two-l2-alternate");
	bool ok = vt_load_fresh(env, VT_PG_VMCS_A, &la, &c) &&
		  vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_VMCALL, 0) &&
		  vt_load_fresh(env, VT_PG_VMCS_B, &lb, &c) &&
		  vt_expect_exit(&c, vt_enter(&regs_b, 0), EXIT_REASON_VMCALL, 0);
	for (i = 2; ok && i <= TWO_L2_ROUNDS; i++)
		ok = count_round(&c, a, &regs, i, rsp_a, "L2 A") &&
		     count_round(&c, b, &regs_b, B_START + i, rsp_b, "L2 B");
	tg_end(&c);
	if (!ok)
		return;

	/* VMCLEAR makes A "clear": VMRESUME fails, VMLAUNCH starts it over. */
	tg_begin(&c, "two-l2-vmclear-relaunch");
	vt_expect_res(&c, "VMCLEAR A", vt_vmclear(a), VT_OK);
	vt_expect_res(&c, "VMPTRLD A", vt_vmptrld(a), VT_OK);
	vt_expect_res(&c, "VMRESUME A", vt_enter(&regs, 1),
		      VT_FAIL_VALID(VMXERR_VMRESUME_NONLAUNCHED));
	vt_vmwrite(GUEST_RIP, (u64)vt_l2_count);
	regs.rbx = 0;
	if (vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_VMCALL, (u64)vt_l2_count_vmcall))
		vt_expect_eq(&c, "A's RBX after the relaunch", regs.rbx, 1);
	count_round(&c, b, &regs_b, B_START + TWO_L2_ROUNDS + 1, rsp_b, "L2 B after A's relaunch");
	tg_end(&c);
}

/* VMXOFF leaves VMX operation; a new VMXON starts from scratch. Under
 * nestvisor this also shows the monitor keeps up (no leak per cycle). */
void vt_checks_cycles(struct vt_env *env)
{
	u64 vmcs = vt_pa(env, VT_PG_VMCS_C);
	struct vt_l2 l2 = vt_cpuid_l2(env);
	struct tg_check c;

	tg_begin(&c, "vmxon-vmxoff-cycles");
	bool ok = vt_expect_res(&c, "VMXOFF", vt_vmxoff(), VT_OK);
	for (u32 i = 0; ok && i < CYCLES; i++) {
		SetMem(&regs, sizeof(regs), 0);
		ok = tg_expect(&c, vt_vmxon(vt_pa(env, VT_PG_VMXON)) == VT_OK,
			       "round %u: VMXON failed", i) &&
		     vt_load_fresh(env, VT_PG_VMCS_C, &l2, &c) &&
		     vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_CPUID,
				    (u64)vt_l2_cpuid_loop_at) &&
		     vt_expect_res(&c, "VMCLEAR", vt_vmclear(vmcs), VT_OK) &&
		     vt_expect_res(&c, "VMXOFF", vt_vmxoff(), VT_OK);
		if (!ok)
			tg_expect(&c, false, "in round %u", i);
	}
	tg_end(&c);
	if (env->nestvisor) {
		u64 rbx = 0, rcx = 0;
		s64 r = tg_hypercall(NV_HC_VERSION, &rbx, &rcx, NULL);
		tg_printf("%s: note: after the cycles NV_HC_VERSION returns %ld, version %lx\n",
			  tg_prog, r, rbx);
	}
}
