/* vmxfuzz: a running L2 under a hostile L1's VMCS link pointers, shadow
 * VMCS and VMX-preemption timer. VMCS link pointers into random places
 * (ours, unaligned, beyond MAXPHYADDR, no RAM, the monitor's own memory,
 * the local APIC) with and without "VMCS shadowing"; a shadow VMCS filled
 * by L1's random VMWRITEs that L2 reads and writes with random encodings;
 * the VMX-preemption timer at random values. Every outcome is checked
 * against what the SDM allows:
 *  - VM entry: a link pointer that is not all ones must be aligned, within
 *    the width, not the current VMCS, and name a region with the revision
 *    identifier and bit 31 equal to "VMCS shadowing", else a VM-entry
 *    failure with qualification 4 (27.3.1.5, 27.8);
 *  - L2's VMREAD/VMWRITE exit exactly when the bitmap bit (as it is in
 *    memory then) or the encoding's bits 63:15 say so (26.1.3), with the
 *    exit's RIP, length and qualification (28.2.1);
 *  - where they do not exit, VMREAD/VMWRITE follow 31.3's pseudo-code for
 *    VMX non-root operation: VMfailInvalid for a link pointer of all ones,
 *    VMfailValid(12) or (13), else the field of the shadow VMCS, which L1
 *    sees afterwards (VMPTRLD of it, VMREAD) and the other way round;
 *  - the timer exits with reason 52 when it counts down, before L2's loop
 *    ends if it must, never if the loop ends long before (26.5.1, 27.7.4),
 *    and "save VMX-preemption timer value" stores 0 after it (28.3.4).
 * Memory that is not L1's (no RAM, the monitor's, MMIO) has no contents the
 * SDM defines. Under nestvisor it reads as all ones (docs/nested.md): a
 * link pointer there fails. On bare Bochs any outcome is allowed there. */
#include <efi.h>
#include <efilib.h>
#include "vmxfuzz_l2.h"

#define REVISION_MASK 0x7fffffffu
#define QUAL_LINK_POINTER 4          /* SDM 27.8 */
#define TYPE_READ_ONLY 1             /* encoding bits 11:10 */
#define WIDTH_16 0                   /* encoding bits 14:13 */
#define WIDTH_64 1
#define WIDTH_32 2
#define AR_STORED 0x1f0ffULL         /* access-rights bits a CPU may keep (SDM 25.4.1) */
/* Timer bounds: an iteration of L2's loop takes at least one TSC tick;
 * the loop outlasts a timer it cannot outrun, and a timer far longer than
 * the loop (with room for an emulated VM entry) never fires. */
#define TIMER_SLACK 200000ULL
#define MISC_RATE_MASK 0x1fu

/* ---- VMCS link pointers (SDM 27.3.1.5) ---- */

#define LINK_FIELD GUEST_ES_LIMIT
#define LINK_VALUE 0x5a5a1234u

enum link_kind { L_ONES, L_SHADOW, L_SCRATCH, L_JUNK, L_CURRENT, L_VMXON, L_WHERE, L_KINDS };

/* What VM entry must do with a region whose first dword is 'hdr'. */
static int link_predict(u32 hdr, bool shadowing)
{
	return (hdr & REVISION_MASK) == fz_l2.env->caps.revision && !(hdr >> 31) == !shadowing;
}

static void link_trial(void)
{
	struct fz *f = fz_l2.f;
	struct vt_env *env = fz_l2.env;
	bool shadowing = fz_below(f, 4) != 0;
	u32 *shadow_hdr = (u32 *)vt_page(env, FZ_PG_SHADOW), saved_hdr = *shadow_hdr;
	enum link_kind kind = (enum link_kind)fz_below(f, L_KINDS);
	enum where w = W_OURS;
	int pred = 0; /* 1: VM entry works, 0: fails with qualification 4, -1: either */
	u32 *hdr = NULL;
	u64 link;
	struct fz_l1_state before, after;

	vt_vmwrite(SECONDARY_VM_EXEC_CONTROL, shadowing ? SECONDARY_VMCS_SHADOWING : 0);
	switch (kind) {
	case L_ONES:
		link = ~0ULL;
		pred = 1;
		break;
	case L_SHADOW:
		/* L1 may rewrite the header of a clear VMCS (SDM 25.11.3). */
		if (fz_below(f, 4) == 0)
			*shadow_hdr = fz_below(f, 2) ? (u32)fz_rand(f) :
				      saved_hdr ^ (u32)BIT(fz_below(f, 32));
		hdr = shadow_hdr;
		link = vt_pa(env, FZ_PG_SHADOW);
		break;
	case L_SCRATCH: /* ordinary VMCS regions of the instruction fuzz */
		link = vt_pa(env, VT_PG_SCRATCH + (int)fz_below(f, FZ_GOOD_PAGES));
		hdr = (u32 *)link;
		break;
	case L_JUNK: {
		u32 *junk = (u32 *)vt_page(env, FZ_PG_JUNK), r = env->caps.revision;
		u32 choice[4] = { (u32)fz_rand(f), r, r | (u32)SHADOW_INDICATOR, (u32)fz_rand(f) | r };
		junk[0] = choice[fz_below(f, 4)];
		hdr = junk;
		link = (u64)junk;
		break;
	}
	case L_CURRENT:
		link = fz_l2.vmcs;
		break;
	case L_VMXON:
		/* The SDM leaves L1's reading of its VMXON region undefined;
		 * nestvisor does not use L1's page. */
		link = vt_pa(env, VT_PG_VMXON);
		hdr = (u32 *)link;
		pred = fz_l2.nv ? link_predict(*hdr, shadowing) : -1;
		hdr = NULL;
		break;
	default:
		w = (enum where)(W_NORAM + fz_below(f, W_KINDS - W_NORAM));
		link = fz_rand_where(&w, vt_pa(env, FZ_PG_SHADOW));
		pred = fz_where_absent(w) && !fz_l2.nv ? -1 : 0;
		break;
	}
	if (hdr)
		pred = link_predict(*hdr, shadowing);
	vt_vmwrite(VMCS_LINK_POINTER, link);
	fz_l1_state(&before);
	fz_vmx_operands(LINK_FIELD, SENTINEL);
	u32 r = fz_l2_run(SNIP(fzs_vmread_reg), true);
	fz_l1_state(&after);
	bool rewritten = *shadow_hdr != saved_hdr;
	*shadow_hdr = saved_hdr;

	bool failed = r == (EXITED | ENTRY_FAILED | EXIT_REASON_ENTRY_FAIL_GUEST_STATE) &&
		      vt_rd(EXIT_QUALIFICATION) == QUAL_LINK_POINTER;
	/* Entered: L2's VMREAD exits without shadowing, fails without a link
	 * pointer, else reads the shadow VMCS (L1's value in ours). */
	bool entered = !shadowing ? fz_exit_ok(r, EXIT_REASON_VMREAD, SNIP(fzs_vmread_reg), 0) :
		link == ~0ULL ? r == VT_FAIL_INVALID :
		r == VT_OK && (kind != L_SHADOW || rewritten || fz_l2.regs.r8 == LINK_VALUE);
	if (!fz_same_l1(&before, &after))
		fz_l2_bad("VM entry with a VMCS link pointer: L1's state changed", link, shadowing, r,
			  "L1's CR0/CR3/CR4/EFER/GDTR/IDTR/TR as they were");
	else if (!(failed && pred != 1) && !(entered && pred != 0))
		fz_l2_bad("VM entry with a VMCS link pointer", link, shadowing, r,
			  pred == 1 ? (shadowing ? (link == ~0ULL ? "VMfailInvalid in L2" :
					      "VMsucceed in L2 (the shadow's value)") :
				 "VMREAD exit 23") :
			  pred == 0 ? "VM-entry failure 33, qualification 4" : "either");
}

bool fz_link_pointers(struct fz *f, u32 trials, struct tg_check *c)
{
	struct vt_env *env = f->env;
	u64 shadow = vt_pa(env, FZ_PG_SHADOW);

	fz_l2_init(f);
	/* The shadow VMCS: LINK_FIELD written by L1, then clear. */
	vt_init_region(env, FZ_PG_SHADOW);
	*(u32 *)vt_page(env, FZ_PG_SHADOW) |= SHADOW_INDICATOR;
	if (!vt_expect_res(c, "VMCLEAR of the shadow VMCS", vt_vmclear(shadow), VT_OK) ||
	    !vt_expect_res(c, "VMPTRLD of the shadow VMCS", vt_vmptrld(shadow), VT_OK) ||
	    !vt_expect_res(c, "VMWRITE of the shadow VMCS", vt_vmwrite(LINK_FIELD, LINK_VALUE), VT_OK) ||
	    !vt_expect_res(c, "VMCLEAR of the shadow VMCS", vt_vmclear(shadow), VT_OK))
		return false;
	f->current = ~0ULL;
	SetMem(vt_page(env, FZ_PG_VMREAD_BM), PAGE_SIZE, 0);
	SetMem(vt_page(env, FZ_PG_VMWRITE_BM), PAGE_SIZE, 0);
	if (!fz_l2_fresh(VT_PG_VMCS_B, 0, SECONDARY_VMCS_SHADOWING, 0, 0, c) ||
	    !tg_expect(c, vt_wr(VMREAD_BITMAP, vt_pa(env, FZ_PG_VMREAD_BM)) &&
		       vt_wr(VMWRITE_BITMAP, vt_pa(env, FZ_PG_VMWRITE_BM)),
		       "VMWRITE of the VMREAD/VMWRITE bitmap addresses"))
		return false;
	for (u32 i = 0; i < trials; i++)
		link_trial();
	return fz_l2_done(c);
}

/* ---- A shadow VMCS with random contents (SDM 25.10, 31.3) ---- */

#define MAX_KNOWN 64
static struct {
	u64 val[MAX_KNOWN], known[MAX_KNOWN]; /* by fz_known_fields index: bits known */
	bool any;                             /* IA32_VMX_MISC[29] */
	bool timer;
	u64 link;
} sm;

static int known_index(u64 enc)
{
	for (u32 i = 0; i < fz_nknown; i++)
		if (fz_known_fields[i] == (enc & ~1ULL))
			return (int)i;
	return -1;
}

static u32 enc_width(u64 enc)
{
	return (u32)(enc >> 13 & 3);
}

static u64 width_mask(u64 enc)
{
	return enc_width(enc) == WIDTH_16 ? 0xffffULL : enc_width(enc) == WIDTH_32 ? 0xffffffffULL : ~0ULL;
}

static bool read_only(u64 enc)
{
	return (enc >> 10 & 3) == TYPE_READ_ONLY;
}

/* A VMWRITE of 'enc' (a supported field) with 'v' succeeded. */
static void model_write(u64 enc, u64 v)
{
	int i = known_index(enc);

	if (i < 0)
		return;
	if (read_only(enc)) {
		sm.known[i] = 0; /* not followed */
	} else if (enc & 1) { /* "high": bits 63:32 (SDM 25.11.2) */
		sm.val[i] = (sm.val[i] & 0xffffffffULL) | v << 32;
		sm.known[i] |= 0xffffffff00000000ULL;
	} else {
		sm.val[i] = v & width_mask(enc);
		sm.known[i] = ~0ULL;
	}
}

/* A VMREAD of 'enc' gave 'got': zero-extended, the bits the model knows.
 * Access-rights fields: only the bits a CPU stores (KVM strips the rest). */
static bool model_matches(u64 enc, u64 got)
{
	int i = known_index(enc);
	u64 want, mask;

	if (i < 0)
		return true;
	if (enc & 1) {
		want = sm.val[i] >> 32;
		mask = sm.known[i] >> 32;
		if (got >> 32)
			return false;
	} else {
		want = sm.val[i];
		mask = sm.known[i];
		if (got & ~width_mask(enc))
			return false;
	}
	if ((enc & ~1ULL) >= GUEST_ES_AR_BYTES && (enc & ~1ULL) <= GUEST_TR_AR_BYTES)
		mask &= AR_STORED;
	return ((got ^ want) & mask) == 0;
}

static bool field_known(u64 enc, int verdict)
{
	return verdict == 0 || (verdict == 1 && known_index(enc) >= 0 &&
				(!(enc & 1) || enc_width(enc) == WIDTH_64));
}

/* L1 with the shadow VMCS current: random VMWRITEs, VMREADs checked. */
static void l1_shadow_ops(u32 n)
{
	struct fz *f = fz_l2.f;

	for (u32 k = 0; k < n; k++, f->ops++) {
		u64 enc = fz_known_fields[fz_below(f, fz_nknown)], v = fz_rand(f), got = 0;
		if (enc_width(enc) == WIDTH_64 && fz_below(f, 3) == 0)
			enc |= 1;
		if (fz_below(f, 3)) {
			u32 r = fz_below(f, 2) ? vt_vmwrite(enc, v) : vt_vmwrite_mem(enc, &v);
			u32 want = read_only(enc) && !sm.any ?
				VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY) : VT_OK;
			if (r != want)
				fz_violation(f, "L1 VMWRITE (shadow VMCS)", enc, v, r, vt_res_name(want));
			if (r == VT_OK)
				model_write(enc, v);
		} else {
			u32 r = fz_below(f, 2) ? vt_vmread(enc, &got) : vt_vmread_mem(enc, &got);
			if (r != VT_OK)
				fz_violation(f, "L1 VMREAD (shadow VMCS)", enc, 0, r, "VMsucceed");
			else if (!model_matches(enc, got))
				fz_violation_text(f, "L1 VMREAD (shadow VMCS): value", enc, got,
						  "another value", "the last value written");
		}
	}
}

/* L1 makes the shadow VMCS current, works on it, goes back to L2's VMCS
 * (with or without VMCLEAR of the shadow first). */
static void l1_visit_shadow(u32 n)
{
	u64 shadow = vt_pa(fz_l2.env, FZ_PG_SHADOW);
	u32 r = vt_vmptrld(shadow);

	if (r != VT_OK) {
		fz_violation(fz_l2.f, "VMPTRLD of the shadow VMCS", shadow, 0, r, "VMsucceed");
		return;
	}
	l1_shadow_ops(n);
	if (fz_below(fz_l2.f, 2) && (r = vt_vmclear(shadow)) != VT_OK)
		fz_violation(fz_l2.f, "VMCLEAR of the shadow VMCS", shadow, 0, r, "VMsucceed");
	if ((r = vt_vmptrld(fz_l2.vmcs)) != VT_OK)
		fz_violation(fz_l2.f, "VMPTRLD of L2's VMCS", fz_l2.vmcs, 0, r, "VMsucceed");
}

/* L1 sets or clears the bitmap bits of a field L2 may use. */
static void flip_bitmap_bit(void)
{
	struct fz *f = fz_l2.f;
	u8 *p = vt_page(fz_l2.env, fz_below(f, 2) ? FZ_PG_VMREAD_BM : FZ_PG_VMWRITE_BM);
	u64 bit = fz_below(f, 2) ? fz_known_fields[fz_below(f, fz_nknown)] | fz_below(f, 2) :
		  fz_below(f, 1u << BITMAP_BITS);

	p[bit / 8] ^= (u8)(1u << (bit % 8));
}

static void l2_shadow_op(void)
{
	struct fz *f = fz_l2.f;
	bool write = fz_below(f, 2), mem = fz_below(f, 2);
	int verdict;
	u64 enc = fz_rand_field(f, &verdict), v = fz_rand(f);
	struct snip s = fz_vmx_snip(write, mem);
	u8 *bmap = vt_page(fz_l2.env, write ? FZ_PG_VMWRITE_BM : FZ_PG_VMREAD_BM);
	bool exits = (enc >> BITMAP_BITS) || (bmap[(enc & 0x7fff) / 8] >> (enc % 8) & 1);
	bool known = field_known(enc, verdict), ro_fails = read_only(enc) && !sm.any;
	volatile u64 *operand;

	fz_vmx_operands(enc, write ? v : SENTINEL);
	operand = (volatile u64 *)fz_l2.regs.rsi;
	u32 r = fz_l2_run(s, true), want;
	u64 got = mem ? *operand : fz_l2.regs.r8;

	if (sm.timer && r == (EXITED | EXIT_REASON_PREEMPTION_TIMER)) {
		/* The timer fired: before the instruction, or after it (its
		 * effect then not followed). */
		if (write && fz_l2.rip > (u64)s.at && known_index(enc) >= 0)
			sm.known[known_index(enc)] = 0;
		return;
	}
	if (exits) {
		if (!fz_exit_ok(r, write ? EXIT_REASON_VMWRITE : EXIT_REASON_VMREAD, s, 0) ||
		    (!write && got != SENTINEL))
			fz_l2_bad(write ? "L2 VMWRITE (bitmap bit set)" : "L2 VMREAD (bitmap bit set)",
				  enc, v, r, "exit 23/25 at the instruction, nothing stored");
		return;
	}
	if (sm.link == ~0ULL)
		want = VT_FAIL_INVALID;
	else if (verdict == 2)
		want = VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD);
	else if (known)
		want = write && ro_fails ? VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY) : VT_OK;
	else { /* a random shape: supported or not */
		want = r == VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD) ? r :
		       write && ro_fails ? VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY) : VT_OK;
	}
	if (r != want) {
		fz_l2_bad(write ? "L2 VMWRITE" : "L2 VMREAD", enc, sm.link, r, vt_res_name(want));
		return;
	}
	if (write && r == VT_OK)
		model_write(enc, v);
	if (!write && r == VT_OK && known && !model_matches(enc, got))
		fz_violation_text(f, "L2 VMREAD: value", enc, got, "another value",
				  "what L1 or L2 last wrote");
	if (!write && r != VT_OK && got != SENTINEL)
		fz_l2_bad("L2 VMREAD that failed stored", enc, got, r, "nothing stored");
}

static bool shadow_scenario(u32 ops, struct tg_check *c)
{
	struct fz *f = fz_l2.f;
	struct vt_env *env = fz_l2.env;
	u64 shadow = vt_pa(env, FZ_PG_SHADOW);
	bool timer = (env->caps.pin1 & PIN_BASED_VMX_PREEMPTION_TIMER) && fz_below(f, 4) == 0;

	SetMem(&sm, sizeof(sm), 0);
	sm.any = env->caps.misc & VMX_MISC_VMWRITE_ANY_FIELD;
	sm.link = fz_below(f, 8) ? shadow : ~0ULL;
	if (!fz_l2_fresh(VT_PG_VMCS_A, 0, SECONDARY_VMCS_SHADOWING,
			 timer ? PIN_BASED_VMX_PREEMPTION_TIMER : 0, 0, c))
		return false;
	sm.timer = vt_rd(PIN_BASED_VM_EXEC_CONTROL) & PIN_BASED_VMX_PREEMPTION_TIMER;
	if (sm.timer)
		vt_vmwrite(VMX_PREEMPTION_TIMER_VALUE, (1u << (8 + fz_below(f, 10))) + fz_below(f, 256));
	for (int i = 0; i < 2; i++) {
		u8 *p = vt_page(env, i ? FZ_PG_VMWRITE_BM : FZ_PG_VMREAD_BM);
		SetMem(p, PAGE_SIZE, 0);
		for (u32 k = 0; k < fz_nknown; k++)
			if (fz_below(f, 4) == 0)
				p[fz_known_fields[k] / 8] |= (u8)(1u << (fz_known_fields[k] % 8));
	}
	if (!tg_expect(c, vt_wr(VMREAD_BITMAP, vt_pa(env, FZ_PG_VMREAD_BM)) &&
		       vt_wr(VMWRITE_BITMAP, vt_pa(env, FZ_PG_VMWRITE_BM)) &&
		       vt_wr(VMCS_LINK_POINTER, sm.link), "VMWRITE of the bitmaps or link pointer"))
		return false;
	/* The shadow VMCS: a clear region with bit 31, L1's random VMWRITEs. */
	vt_init_region(env, FZ_PG_SHADOW);
	*(u32 *)vt_page(env, FZ_PG_SHADOW) |= SHADOW_INDICATOR;
	vt_vmclear(shadow);
	l1_visit_shadow(16 + (u32)fz_below(f, 16));

	for (u32 n = 0; n < ops; n++) {
		switch (fz_below(f, 8)) {
		case 0: flip_bitmap_bit(); break;
		case 1: l1_visit_shadow(1 + (u32)fz_below(f, 6)); break;
		default: l2_shadow_op(); break;
		}
	}
	/* What L2 wrote, L1 reads (SDM 25.10: the same VMCS). */
	if (vt_vmptrld(shadow) == VT_OK) {
		for (u32 i = 0; i < fz_nknown; i++) {
			u64 enc = fz_known_fields[i], got = 0;
			if (!sm.known[i] || vt_vmread(enc, &got) != VT_OK || model_matches(enc, got))
				continue;
			fz_violation_text(f, "L1 VMREAD after L2's VMWRITEs", enc, got, "another value",
					  "what L1 or L2 last wrote");
		}
	}
	vt_vmclear(shadow);
	f->current = ~0ULL;
	return fz_l2_done(c);
}

bool fz_shadow_vmcs(struct fz *f, u32 scenarios, struct tg_check *c)
{
	fz_l2_init(f);
	if (!tg_expect(c, fz_nknown <= MAX_KNOWN, "more than %u known fields", MAX_KNOWN))
		return false;
	for (u32 i = 0; i < scenarios; i++)
		if (!shadow_scenario(16 + (u32)fz_below(f, 16), c))
			return false;
	return true;
}

/* ---- The VMX-preemption timer (SDM 26.5.1, 27.7.4, 28.3.4) ---- */

static u32 rand_timer(void)
{
	struct fz *f = fz_l2.f;

	switch (fz_below(f, 8)) {
	case 0: return 0;
	case 1: case 2: case 3: return 1 + (u32)fz_below(f, 1u << 12);
	case 4: case 5: return (u32)fz_below(f, 1u << 17);
	default: return (u32)fz_rand(f);
	}
}

static void timer_run(u32 rate)
{
	struct fz *f = fz_l2.f;
	const struct vt_caps *k = &fz_l2.env->caps;
	bool save = (k->exit1 & VM_EXIT_SAVE_PREEMPTION_TIMER) && fz_below(f, 2);
	bool activate = !save || fz_below(f, 16);
	u32 v = rand_timer();
	u64 loops = 1 + fz_below(f, 1u << 16), ticks = (u64)v << rate;
	struct snip s = { vt_l2_spin, vt_l2_spin, vt_l2_spin_cpuid };

	vt_vmwrite(PIN_BASED_VM_EXEC_CONTROL, vt_adjust(activate ? PIN_BASED_VMX_PREEMPTION_TIMER : 0,
						       k->pin0, k->pin1));
	vt_vmwrite(VM_EXIT_CONTROLS, vt_adjust(VM_EXIT_HOST_ADDR_SPACE_SIZE |
					       (save ? VM_EXIT_SAVE_PREEMPTION_TIMER : 0),
					       k->exit0, k->exit1));
	vt_vmwrite(VMX_PREEMPTION_TIMER_VALUE, v);
	fz_l2.regs.rcx = loops;
	u32 r = fz_l2_run(s, false);
	if (!activate) {
		/* SDM 27.2.1.2: "save" requires "activate". */
		if (r != VT_FAIL_VALID(VMXERR_ENTRY_INVALID_CONTROL))
			fz_l2_bad("VM entry: save timer without activate", v, loops, r, "VMfailValid(7)");
		return;
	}
	/* Expiry within v << rate ticks (the first count within 2^rate); the
	 * loop takes at least 'loops' ticks, at most a few per iteration. */
	bool must_fire = ticks + (1ULL << rate) < loops;
	bool never = ticks > 4 * loops + TIMER_SLACK;
	u64 left = vt_rd(VMX_PREEMPTION_TIMER_VALUE);
	/* Bochs departure (bare only): entered with a timer of 0, Bochs 2.7
	 * saves its previous count where the SDM has 0 (docs/testing-nested.md). */
	bool stale_ok = !fz_l2.nv && v == 0;
	bool fired = r == (EXITED | EXIT_REASON_PREEMPTION_TIMER) && fz_l2.rip >= (u64)vt_l2_spin &&
		     fz_l2.rip <= (u64)vt_l2_spin_cpuid && fz_l2.regs.rcx <= loops &&
		     (!save || left == 0 || stale_ok) && (v || (fz_l2.rip == (u64)vt_l2_spin && fz_l2.regs.rcx == loops));
	bool ended = r == (EXITED | EXIT_REASON_CPUID) && fz_l2.rip == (u64)vt_l2_spin_cpuid &&
		     fz_l2.regs.rcx == 0 && (save ? left <= v : left == v);
	if (!(fired && !never) && !(ended && !must_fire)) {
		tg_printf("vmxfuzz: note: timer %x loops %lx: RIP %lx RCX %lx, saved %lx\n", v,
			  loops, fz_l2.rip, fz_l2.regs.rcx, left);
		fz_l2_bad(save ? "L2 under the timer (save)" : "L2 under the timer", v, loops, r,
			  must_fire ? "exit 52 in the loop" : never ? "the loop's CPUID exit" :
			  "exit 52 or the CPUID exit");
		return;
	}
	/* A saved 0 at VMRESUME: exit 52 before L2's next instruction. */
	if (fired && save && left == 0 && fz_below(f, 2)) {
		u64 rip = fz_l2.rip, rcx = fz_l2.regs.rcx;
		f->ops++;
		r = vt_enter(&fz_l2.regs, 1);
		if (r == VT_ENTERED)
			fz_l2.rip = vt_rd(GUEST_RIP);
		if (r != VT_ENTERED || vt_rd(VM_EXIT_REASON) != EXIT_REASON_PREEMPTION_TIMER ||
		    fz_l2.rip != rip || fz_l2.regs.rcx != rcx)
			fz_l2_bad("VMRESUME with a saved timer of 0", rip, rcx,
				  r == VT_ENTERED ? EXITED | (u32)vt_rd(VM_EXIT_REASON) : r,
				  "exit 52 at the same RIP");
	}
}

bool fz_timer(struct fz *f, u32 runs, struct tg_check *c)
{
	struct vt_env *env = f->env;

	fz_l2_init(f);
	if (!(env->caps.pin1 & PIN_BASED_VMX_PREEMPTION_TIMER))
		return tg_expect(c, false, "the pin-based controls do not offer the timer");
	if (!fz_l2_fresh(VT_PG_VMCS_C, 0, 0, PIN_BASED_VMX_PREEMPTION_TIMER, 0, c))
		return false;
	for (u32 i = 0; i < runs; i++)
		timer_run((u32)env->caps.misc & MISC_RATE_MASK);
	return fz_l2_done(c);
}
