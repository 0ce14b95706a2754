/* vmxfuzz: VMLAUNCH of a valid VMCS with random damage. Allowed outcomes
 * (SDM 27.1-27.8): VMfailValid(7) for controls, VMfailValid(8) for host
 * state, a VM-entry failure exit (33, 34 or 41 with bit 31), or an L2 that
 * ran and exited with a defined basic exit reason; and L1's state intact
 * afterwards. Controls the capability MSRs forbid must give exactly 7.
 * Mutations are chosen so that a correct VM entry cannot let L2 run wild:
 * RIP, RSP, CR3 and the descriptor-table bases are never touched; L2 runs
 * a NOP sled with every exception exiting; HLT activity is not used (no
 * interrupt would wake L2). */
#include <efi.h>
#include <efilib.h>
#include "vmxfuzz.h"

#define MSR_BAD_INDEX 0xdeadbeefu /* WRMSR would #GP: entry fails (reason 34) */
#define ACTIVITY_HLT 1
#define NONCANONICAL 0x8000000000000000ULL
#define MAX_BASIC_REASON 69

void fz_l1_state(struct fz_l1_state *s)
{
	s->cr0 = read_cr0();
	s->cr3 = read_cr3();
	s->cr4 = read_cr4();
	s->efer = rdmsr(MSR_IA32_EFER);
	asm volatile("sgdt %0; sidt %1; str %2" : "=m"(s->gdtr), "=m"(s->idtr), "=r"(s->tr));
}

/* Guest-state fields whose bits may be flipped (SDM 25.4). */
static const u32 guest_fields[] = {
	GUEST_CR0, GUEST_CR4, GUEST_RFLAGS, GUEST_DR7, GUEST_IA32_DEBUGCTL, GUEST_IA32_PAT,
	GUEST_IA32_EFER, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
	GUEST_TR_SELECTOR, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES,
	GUEST_TR_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_CS_LIMIT, GUEST_SS_LIMIT,
	GUEST_TR_LIMIT, GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT, GUEST_FS_BASE, GUEST_TR_BASE,
	GUEST_INTERRUPTIBILITY_INFO, GUEST_PENDING_DBG_EXCEPTIONS, VMCS_LINK_POINTER,
	GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
};
static const u32 control_fields[] = {
	PIN_BASED_VM_EXEC_CONTROL, CPU_BASED_VM_EXEC_CONTROL, SECONDARY_VM_EXEC_CONTROL,
	VM_EXIT_CONTROLS, VM_ENTRY_CONTROLS,
};
/* Host-state values a VM entry must refuse (SDM 27.2.2, 27.2.3). */
struct host_bad {
	u32 field;
	u64 clear, set;
};
static const struct host_bad host_bads[] = {
	{ HOST_CR0, CR0_PE, 0 }, { HOST_CR0, CR0_PG, 0 }, { HOST_CR4, CR4_PAE, 0 },
	{ HOST_CR4, CR4_VMXE, 0 }, { HOST_CS_SELECTOR, ~0ULL, 0 },
	{ HOST_TR_SELECTOR, ~0ULL, 0 }, { HOST_SS_SELECTOR, 0, 4 }, { HOST_DS_SELECTOR, 0, 1 },
	{ HOST_FS_BASE, 0, NONCANONICAL }, { HOST_GS_BASE, 0, NONCANONICAL },
	{ HOST_GDTR_BASE, 0, NONCANONICAL }, { HOST_IDTR_BASE, 0, NONCANONICAL },
	{ HOST_TR_BASE, 0, NONCANONICAL }, { HOST_IA32_SYSENTER_EIP, 0, NONCANONICAL },
};

static void flip(u32 field, u64 bit)
{
	vt_vmwrite(field, vt_rd(field) ^ BIT(bit));
}

static bool ctl_ok(u32 v, u32 allowed0, u32 allowed1)
{
	return (v & allowed0) == allowed0 && !(v & ~allowed1);
}

/* The controls as the capability MSRs judge them (SDM 27.2.1.1). */
static bool controls_allowed(const struct vt_caps *k)
{
	u32 proc = (u32)vt_rd(CPU_BASED_VM_EXEC_CONTROL);

	return ctl_ok((u32)vt_rd(PIN_BASED_VM_EXEC_CONTROL), k->pin0, k->pin1) &&
	       ctl_ok(proc, k->proc0, k->proc1) &&
	       (!(proc & CPU_BASED_ACTIVATE_SECONDARY) ||
		ctl_ok((u32)vt_rd(SECONDARY_VM_EXEC_CONTROL), 0, k->proc2_1)) &&
	       ctl_ok((u32)vt_rd(VM_EXIT_CONTROLS), k->exit0, k->exit1) &&
	       ctl_ok((u32)vt_rd(VM_ENTRY_CONTROLS), k->entry0, k->entry1);
}

/* Pointer fields of optional features point at a page of ours, so that
 * turning a feature on by chance touches nothing else. */
static void base_extras(struct vt_env *env)
{
	u64 aux = vt_pa(env, FZ_PG_AUX), efer = rdmsr(MSR_IA32_EFER);
	u64 pat = rdmsr(MSR_IA32_PAT);
	const u32 ptrs[] = { VIRTUAL_APIC_PAGE_ADDR, APIC_ACCESS_ADDR, VMREAD_BITMAP,
			     VMWRITE_BITMAP, PML_ADDRESS, VE_INFORMATION_ADDRESS,
			     VM_ENTRY_MSR_LOAD_ADDR };

	for (u32 i = 0; i < ARRAY_SIZE(ptrs); i++) /* unsupported ones fail: fine */
		vt_vmwrite(ptrs[i], ptrs[i] == VM_ENTRY_MSR_LOAD_ADDR ?
			   vt_pa(env, FZ_PG_MSR_AREA) : aux);
	vt_vmwrite(HOST_IA32_EFER, efer);
	vt_vmwrite(GUEST_IA32_EFER, efer);
	vt_vmwrite(HOST_IA32_PAT, pat);
	vt_vmwrite(GUEST_IA32_PAT, pat);
}

/* A control bit the capability MSRs let L1 choose (half of the control
 * mutations), so that L2 runs under many legal combinations too. */
static u64 legal_toggle(struct fz *f, u32 field)
{
	const struct vt_caps *k = &f->env->caps;
	u32 free;

	switch (field) {
	case PIN_BASED_VM_EXEC_CONTROL: free = k->pin1 & ~k->pin0; break;
	case CPU_BASED_VM_EXEC_CONTROL: free = k->proc1 & ~k->proc0; break;
	case SECONDARY_VM_EXEC_CONTROL: free = k->proc2_1; break;
	case VM_EXIT_CONTROLS: free = k->exit1 & ~k->exit0; break;
	default: free = k->entry1 & ~k->entry0; break;
	}
	for (u32 tries = 0; free && tries < 64; tries++) {
		u64 b = fz_below(f, 32);
		if (free & BIT(b))
			return b;
	}
	return fz_below(f, 32);
}

/* Applies 1-3 mutations; says whether a host-state one was among them. */
static bool mutate(struct fz *f, char *what, u32 cap)
{
	u32 n = 1 + (u32)fz_below(f, 3), len = 0;
	bool host = false;

	what[0] = 0;
	for (u32 i = 0; i < n; i++) {
		u64 bit = fz_below(f, 64);
		u32 field;
		switch (fz_below(f, 6)) {
		case 0:
		case 1:
			field = control_fields[fz_below(f, ARRAY_SIZE(control_fields))];
			flip(field, fz_below(f, 2) ? legal_toggle(f, field) : bit % 32);
			break;
		case 2:
		case 3:
			field = guest_fields[fz_below(f, ARRAY_SIZE(guest_fields))];
			flip(field, bit);
			break;
		case 4: {
			const struct host_bad *h = &host_bads[fz_below(f, ARRAY_SIZE(host_bads))];
			field = h->field;
			vt_vmwrite(field, (vt_rd(field) & ~h->clear) | h->set);
			host = true;
			break;
		}
		default:
			switch (fz_below(f, 3)) {
			case 0: {
				u64 act = fz_below(f, 6);
				field = GUEST_ACTIVITY_STATE;
				vt_vmwrite(field, act == ACTIVITY_HLT ? 0 : act);
				break;
			}
			case 1:
				field = VM_ENTRY_MSR_LOAD_COUNT;
				vt_vmwrite(field, 1 + fz_below(f, 3));
				break;
			default:
				/* Any type, vector, error-code bit; sometimes reserved bits. */
				field = VM_ENTRY_INTR_INFO_FIELD;
				vt_vmwrite(field, INTR_INFO_VALID | fz_below(f, 8) << 8 |
					   fz_below(f, 256) | (fz_below(f, 2) ? INTR_INFO_DELIVER_CODE : 0) |
					   (fz_below(f, 8) == 0 ? BIT(12 + fz_below(f, 19)) : 0));
				vt_vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, fz_rand(f));
				vt_vmwrite(VM_ENTRY_INSTRUCTION_LEN, fz_below(f, 16));
				break;
			}
			break;
		}
		if (len + 12 < cap) {
			tg_snprintf(what + len, cap - len, "%s%x", len ? "," : "", field);
			while (what[len])
				len++;
		}
	}
	return host;
}

bool fz_same_l1(const struct fz_l1_state *a, const struct fz_l1_state *b)
{
	return a->cr0 == b->cr0 && a->cr3 == b->cr3 && a->cr4 == b->cr4 &&
	       a->efer == b->efer && a->gdtr.base == b->gdtr.base &&
	       a->idtr.base == b->idtr.base && a->tr == b->tr;
}

static void judge(struct fz *f, u32 res, bool ctl_bad, bool host, const char *what,
		  const struct fz_l1_state *before)
{
	struct fz_l1_state after;

	fz_l1_state(&after);
	if (!fz_same_l1(before, &after)) {
		fz_violation(f, "VMLAUNCH: L1 state changed", after.cr4, after.cr3, res, what);
		return;
	}
	if (ctl_bad) {
		if (res != VT_FAIL_VALID(VMXERR_ENTRY_INVALID_CONTROL))
			fz_violation(f, "VMLAUNCH with forbidden controls", 0, 0, res, what);
		return;
	}
	if (res == VT_FAIL_VALID(VMXERR_ENTRY_INVALID_CONTROL) ||
	    res == VT_FAIL_VALID(VMXERR_ENTRY_INVALID_HOST_STATE))
		return;
	if (host) {
		fz_violation(f, "VMLAUNCH with bad host state", 0, 0, res, what);
		return;
	}
	if (res != VT_ENTERED) {
		fz_violation(f, "VMLAUNCH", 0, 0, res, what);
		return;
	}
	u64 reason = vt_rd(VM_EXIT_REASON), basic = reason & EXIT_REASON_BASIC_MASK;
	bool ok = reason & EXIT_REASON_ENTRY_FAIL ?
		basic == EXIT_REASON_ENTRY_FAIL_GUEST_STATE ||
		basic == EXIT_REASON_ENTRY_FAIL_MSR_LOADING ||
		basic == EXIT_REASON_ENTRY_FAIL_MACHINE_CHECK :
		basic <= MAX_BASIC_REASON && basic != EXIT_REASON_ENTRY_FAIL_GUEST_STATE &&
		basic != EXIT_REASON_ENTRY_FAIL_MSR_LOADING;
	if (!ok)
		fz_violation(f, "VMLAUNCH: exit reason", reason, vt_rd(EXIT_QUALIFICATION),
			     res, what);
}

bool fz_launches(struct fz *f, u32 count, struct tg_check *c)
{
	struct vt_env *env = f->env;
	u64 vmcs = vt_pa(env, VT_PG_VMCS_C);
	u32 *msr_area = (u32 *)vt_page(env, FZ_PG_MSR_AREA);
	struct vt_l2 l2 = {
		.rip = (u64)vt_l2_sled,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.exc_bitmap = ~0u,
	};
	struct fz_l1_state before;
	struct tg_regs regs;
	char what[64];

	SetMem(msr_area, PAGE_SIZE, 0);
	for (u32 i = 0; i < 4; i++)
		msr_area[i * 4] = MSR_BAD_INDEX; /* 16-byte entries (SDM 25.8.2) */
	SetMem(vt_page(env, FZ_PG_AUX), PAGE_SIZE, 0);
	for (u32 i = 0; i < count; i++, f->ops++) {
		if (!vt_load_fresh(env, VT_PG_VMCS_C, &l2, c))
			return false;
		base_extras(env);
		bool host = mutate(f, what, sizeof(what));
		bool ctl_bad = !controls_allowed(&env->caps);
		SetMem(&regs, sizeof(regs), 0);
		fz_l1_state(&before);
		u32 res = vt_enter(&regs, 0);
		judge(f, res, ctl_bad, host, what, &before);
		if (vt_vmclear(vmcs) != VT_OK)
			return tg_expect(c, false, "VMCLEAR after launch %u failed", i);
		f->current = ~0ULL;
	}
	return true;
}
