/* vmxtest: VMCS shadowing. A shadow VMCS (SDM 25.10 "VMCS Types: Ordinary
 * and Shadow": bit 31 of the revision dword, the shadow-VMCS indicator) in
 * VMX root operation; then an L2 whose VMREAD and VMWRITE reach the VMCS
 * the VMCS link pointer names, without a VM exit, unless the VMREAD or
 * VMWRITE bitmap (SDM 25.6.15) or the encoding's bits 63:15 say exit (SDM
 * 26.1.3 "Instructions That Cause VM Exits Conditionally", 26.3 "Changes
 * to Instruction Behavior in VMX Non-Root Operation", 31.3 "VMREAD",
 * "VMWRITE"); the information those exits record (SDM 28.2.1 exit
 * qualification, 28.2.5 VM-exit instruction information); the coherence
 * of what L1 and L2 write; VM entry's checks of the link pointer (SDM
 * 27.3.1.5) and of the bitmap addresses (SDM 27.2.1.1). Only where
 * IA32_VMX_PROCBASED_CTLS2 allows "VMCS shadowing" (bit 14). */
#include <efi.h>
#include <efilib.h>
#include "vmxtest.h"

enum {
	PG_SHADOW = VT_PG_SCRATCH, /* the shadow VMCS */
	PG_ORDINARY,               /* a clear ordinary VMCS: a link pointer target */
	PG_READ_BITMAP, PG_WRITE_BITMAP,
	PG_MEM,                    /* L2's memory operand */
	PG_END
};
_Static_assert(PG_END <= VT_PG_SCRATCH + VT_SCRATCH_PAGES, "scratch pages");

#define ENTRY_FAIL_GUEST (EXIT_REASON_ENTRY_FAIL | EXIT_REASON_ENTRY_FAIL_GUEST_STATE)
#define QUAL_LINK_POINTER 4           /* SDM 27.8: "invalid VMCS link pointer" */

/* L2's operands (vmxtest_asm.asm, SHADOW_OP): RDX the encoding (Reg2),
 * R8 the register operand (Reg1), memory [RSI + RCX*8 - 0x18]. */
#define MEM_INDEX 5
#define MEM_DISP (-0x18LL)
#define MEM_OFF 0x100 /* RSI = the memory page + MEM_OFF */
#define GPR_RCX 1
#define GPR_RDX 2
#define GPR_RSI 6
#define GPR_R8 8
#define SEG_DS 3
#define VMCALL_AFTER_OP 2 /* pushfq; pop rbx; then the VMCALL */

/* VM-exit instruction information for VMREAD and VMWRITE (SDM 28.2.5,
 * table "Format of the VM-Exit Instruction-Information Field as Used for
 * VMREAD and VMWRITE"). Only the bits the form defines are compared: Reg1
 * only for a register operand; scaling, address size, segment, index and
 * base only for a memory operand. */
#define II_SCALE_8 3u
#define II_REG1(r) ((u32)(r) << 3)
#define II_ASIZE_64 (2u << 7)
#define II_REG_FORM (1u << 10)
#define II_SEG(s) ((u32)(s) << 15)
#define II_INDEX(r) ((u32)(r) << 18)
#define II_INDEX_INVALID (1u << 22)
#define II_BASE(r) ((u32)(r) << 23)
#define II_BASE_INVALID (1u << 27)
#define II_REG2(r) ((u32)(r) << 28)
#define II_DEFINED_REG (II_REG1(0xf) | II_REG_FORM | II_REG2(0xf))
#define II_DEFINED_MEM (0x3u | (7u << 7) | II_REG_FORM | II_SEG(7) | II_INDEX(0xf) | \
			II_INDEX_INVALID | II_BASE(0xf) | II_BASE_INVALID | II_REG2(0xf))
#define II_WANT_REG (II_REG1(GPR_R8) | II_REG_FORM | II_REG2(GPR_RDX))
#define II_WANT_MEM (II_SCALE_8 | II_ASIZE_64 | II_SEG(SEG_DS) | II_INDEX(GPR_RCX) | \
		     II_BASE(GPR_RSI) | II_REG2(GPR_RDX))

/* The field whose bitmap bits are set: its VMREAD and VMWRITE exit. */
#define EXIT_FIELD GUEST_CS_LIMIT
#define EXIT_FIELD_VALUE 0xc5c5
#define UNSUPPORTED_FIELD 0x1000ULL /* bit 12 set: no such field */
#define SENTINEL 0x6666666666666666ULL
#define MEM_SENTINEL 0x7777777777777777ULL
#define SALT_L1 0x1111000011110000ULL
#define SALT_FILL 0x00ff00ff00ff00ffULL
#define SALT_W_REG 0x5a5a5a5a00000000ULL
#define SALT_W_MEM 0xa5a5a5a5a5a5a5a5ULL

/* What L2's instruction did: VT_OK, VT_FAIL_INVALID, VT_FAIL_VALID(n)
 * (n read from the current, ordinary, VMCS), VT_BAD_FLAGS; or it exited. */
#define SH_EXIT 0x10000u /* | the basic exit reason */
#define SH_ENTRY_FAILED 0x20000u

struct snippet {
	const u8 *code, *at, *after;
	bool write, mem;
	const char *what;
};

/* The fields L2 reads and writes: each width, each type (SDM Appendix B).
 * No 16-bit control, 64-bit read-only or 64-bit host-state field exists
 * without an optional feature (VPID, EPT, "load IA32_PAT"). */
struct sh_field {
	u32 enc;
	u64 mask;
	bool ro;
	const char *name;
};
#define W16 0xffffULL
#define W32 0xffffffffULL
#define W64 (~0ULL)
static const struct sh_field fields[] = {
	{ GUEST_ES_SELECTOR, W16, false, "GUEST_ES_SELECTOR (16-bit guest state)" },
	{ HOST_ES_SELECTOR, W16, false, "HOST_ES_SELECTOR (16-bit host state)" },
	{ EXCEPTION_BITMAP, W32, false, "EXCEPTION_BITMAP (32-bit control)" },
	{ VM_EXIT_INTR_INFO, W32, true, "VM_EXIT_INTR_INFO (32-bit read-only data)" },
	{ GUEST_ES_LIMIT, W32, false, "GUEST_ES_LIMIT (32-bit guest state)" },
	{ HOST_IA32_SYSENTER_CS, W32, false, "HOST_IA32_SYSENTER_CS (32-bit host state)" },
	{ TSC_OFFSET, W64, false, "TSC_OFFSET (64-bit control)" },
	{ GUEST_IA32_DEBUGCTL, W64, false, "GUEST_IA32_DEBUGCTL (64-bit guest state)" },
	{ CR0_GUEST_HOST_MASK, W64, false, "CR0_GUEST_HOST_MASK (natural-width control)" },
	{ EXIT_QUALIFICATION, W64, true, "EXIT_QUALIFICATION (natural-width read-only data)" },
	{ GUEST_RSP, W64, false, "GUEST_RSP (natural-width guest state)" },
	{ HOST_RSP, W64, false, "HOST_RSP (natural-width host state)" },
};
#define NFIELDS ARRAY_SIZE(fields)

static struct {
	struct vt_env *env;
	u64 shadow, vmcs;       /* the shadow VMCS, L2's (ordinary) VMCS */
	volatile u64 *operand;  /* L2's memory operand */
	bool launched;          /* L2's VMCS has been launched */
	u64 last_rip;           /* GUEST_RIP at the last exit */
	u64 want[NFIELDS];      /* the shadow's fields as L1 last read them */
} sh;
static struct tg_regs regs;

static u64 pattern(u32 i, u64 salt)
{
	return (0x0123456789abcdefULL * (i + 3)) ^ salt;
}

static struct snippet snippet(bool write, bool mem)
{
	if (write && mem)
		return (struct snippet){ vt_l2_sh_wr_mem, vt_l2_sh_wr_mem_at, vt_l2_sh_wr_mem_after,
					 true, true, "L2's VMWRITE (memory operand)" };
	if (write)
		return (struct snippet){ vt_l2_sh_wr_reg, vt_l2_sh_wr_reg_at, vt_l2_sh_wr_reg_after,
					 true, false, "L2's VMWRITE (register operand)" };
	if (mem)
		return (struct snippet){ vt_l2_sh_rd_mem, vt_l2_sh_rd_mem_at, vt_l2_sh_rd_mem_after,
					 false, true, "L2's VMREAD (memory operand)" };
	return (struct snippet){ vt_l2_sh_rd_reg, vt_l2_sh_rd_reg_at, vt_l2_sh_rd_reg_after,
				 false, false, "L2's VMREAD (register operand)" };
}

static const char *sh_name(u32 res, bool at)
{
	static char bufs[4][64];
	static u32 next;
	char *b = bufs[next++ % 4];

	if (!(res & SH_EXIT))
		return vt_res_name(res);
	if (at)
		tg_snprintf(b, 64, "%s %u at RIP %lx", res & SH_ENTRY_FAILED ?
			    "VM-entry failure" : "VM exit", res & 0xffff, sh.last_rip);
	else
		tg_snprintf(b, 64, "VM exit %u", res & 0xffff);
	return b;
}

static bool sh_expect(struct tg_check *c, const char *what, u32 got, u32 want)
{
	return tg_expect(c, got == want, "%s: expected %s, got %s", what, sh_name(want, false),
			 sh_name(got, true));
}

/* Runs snippet 's' in L2 (VMLAUNCH the first time) with RDX = encoding,
 * R8 = reg and the memory operand as it is; L2 ends with VMCALL unless
 * its VMX instruction exits. Returns what the instruction did (above). */
static u32 l2_run(const struct snippet *s, u64 encoding, u64 reg)
{
	u64 reason;
	u32 res;

	regs.rdx = encoding;
	regs.r8 = reg;
	regs.rsi = (u64)sh.operand - MEM_INDEX * 8 - MEM_DISP;
	regs.rcx = MEM_INDEX;
	regs.rbx = 0;
	if (!vt_wr(GUEST_RIP, (u64)s->code))
		return VT_BAD_FLAGS;
	res = vt_enter(&regs, sh.launched);
	if (res != VT_ENTERED)
		return res;
	reason = vt_rd(VM_EXIT_REASON);
	sh.last_rip = vt_rd(GUEST_RIP);
	if (reason & EXIT_REASON_ENTRY_FAIL)
		return SH_EXIT | SH_ENTRY_FAILED | (u32)(reason & EXIT_REASON_BASIC_MASK);
	sh.launched = true;
	if (reason != EXIT_REASON_VMCALL || sh.last_rip != (u64)s->after + VMCALL_AFTER_OP)
		return SH_EXIT | (u32)(reason & EXIT_REASON_BASIC_MASK);
	return vt_flags_result(regs.rbx);
}

/* L1 reaches the shadow VMCS: VMPTRLD it; afterwards VMCLEAR it (the way
 * SDM 25.11.1 keeps a VMCS's data in memory) and VMPTRLD L2's VMCS. */
static bool shadow_load(struct tg_check *c)
{
	return vt_expect_res(c, "VMPTRLD of the shadow VMCS", vt_vmptrld(sh.shadow), VT_OK);
}

static bool shadow_unload(struct tg_check *c, bool vmclear)
{
	bool ok = !vmclear ||
		vt_expect_res(c, "VMCLEAR of the shadow VMCS", vt_vmclear(sh.shadow), VT_OK);

	return vt_expect_res(c, "VMPTRLD of L2's VMCS", vt_vmptrld(sh.vmcs), VT_OK) && ok;
}

/* With the shadow VMCS current: every field gets pattern(i, salt), the
 * read-only ones only where IA32_VMX_MISC[29] lets VMWRITE write them
 * (SDM 31.3 VMWRITE); sh.want[] is what VMREAD then gives. */
static void shadow_fill(struct tg_check *c, u64 salt)
{
	bool any = sh.env->caps.misc & VMX_MISC_VMWRITE_ANY_FIELD;

	for (u32 i = 0; i < NFIELDS; i++) {
		const struct sh_field *f = &fields[i];
		u32 r = vt_vmwrite(f->enc, pattern(i, salt));
		u64 v = 0;

		if (!f->ro || any)
			vt_expect_res(c, f->name, r, VT_OK);
		vt_expect_res(c, f->name, vt_vmread(f->enc, &v), VT_OK);
		if (!f->ro || any)
			vt_expect_eq(c, f->name, v, pattern(i, salt) & f->mask);
		sh.want[i] = v;
	}
}

/* ---- In VMX root operation ---- */

static void root_checks(struct vt_env *env)
{
	u32 *rev = (u32 *)vt_page(env, PG_SHADOW);
	struct tg_check c;
	u64 p = 0, v = 0, m;

	/* SDM 31.3 VMPTRLD: bit 31 set is legal where VMCS shadowing is. */
	tg_begin(&c, "shadow-vmptrld-indicator-set");
	vt_init_region(env, PG_SHADOW);
	rev[0] = env->caps.revision | SHADOW_VMCS_INDICATOR;
	vt_expect_res(&c, "VMCLEAR of the shadow VMCS", vt_vmclear(sh.shadow), VT_OK);
	vt_expect_res(&c, "VMPTRLD of a region with bit 31 set", vt_vmptrld(sh.shadow), VT_OK);
	if (vt_expect_res(&c, "VMPTRST", vt_vmptrst(&p), VT_OK))
		vt_expect_eq(&c, "current VMCS", p, sh.shadow);
	tg_end(&c);

	/* SDM 27.1 "Basic VM-Entry Checks": "If there is a current VMCS but
	 * the current VMCS is a shadow VMCS, RFLAGS.CF is set to 1" (VMLAUNCH
	 * pseudo-code: VMfailInvalid), before the launch state is looked at;
	 * no VM-instruction error is recorded. (vt_enter VMWRITEs HOST_RSP,
	 * and HOST_RIP where it differs, first: the round trips below come
	 * after it.) */
	tg_begin(&c, "shadow-vmlaunch-vmresume-vmfailinvalid");
	vt_expect_res(&c, "VMLAUNCH with a shadow VMCS current", vt_enter(&regs, 0),
		      VT_FAIL_INVALID);
	vt_expect_res(&c, "VMRESUME with a shadow VMCS current", vt_enter(&regs, 1),
		      VT_FAIL_INVALID);
	if (vt_expect_res(&c, "VMPTRST", vt_vmptrst(&p), VT_OK))
		vt_expect_eq(&c, "current VMCS", p, sh.shadow);
	tg_end(&c);

	/* SDM 25.10: "In VMX root operation, both types of VMCSs can be
	 * accessed with the VMREAD and VMWRITE instructions." */
	tg_begin(&c, "shadow-vmwrite-vmread-in-root");
	for (u32 i = 0; i < NFIELDS; i++) {
		const struct sh_field *f = &fields[i];
		if (f->ro)
			continue;
		m = pattern(i, SALT_L1);
		if (vt_expect_res(&c, f->name, vt_vmwrite(f->enc, pattern(i, 0)), VT_OK) &&
		    vt_expect_res(&c, f->name, vt_vmread(f->enc, &v), VT_OK))
			vt_expect_eq(&c, f->name, v, pattern(i, 0) & f->mask);
		if (vt_expect_res(&c, f->name, vt_vmwrite_mem(f->enc, &m), VT_OK) &&
		    vt_expect_res(&c, f->name, vt_vmread_mem(f->enc, &v), VT_OK))
			vt_expect_eq(&c, f->name, v, m & f->mask);
	}
	tg_end(&c);

	/* VMCLEAR writes the data back; VMPTRLD brings it again (SDM 25.11.1). */
	tg_begin(&c, "shadow-vmclear-keeps-fields");
	vt_expect_res(&c, "VMCLEAR of the shadow VMCS (current)", vt_vmclear(sh.shadow), VT_OK);
	if (vt_expect_res(&c, "VMPTRST", vt_vmptrst(&p), VT_OK))
		vt_expect_eq(&c, "current VMCS after VMCLEAR", p, ~0ULL);
	if (vt_expect_res(&c, "VMPTRLD of the shadow VMCS", vt_vmptrld(sh.shadow), VT_OK))
		for (u32 i = 0; i < NFIELDS; i++)
			if (!fields[i].ro)
				vt_expect_eq(&c, fields[i].name, vt_rd(fields[i].enc),
					     pattern(i, SALT_L1) & fields[i].mask);
	vt_expect_res(&c, "VMCLEAR of the shadow VMCS", vt_vmclear(sh.shadow), VT_OK);
	tg_end(&c);
}

/* ---- L2 ---- */

static void set_bit(u8 *bitmap, u32 n)
{
	bitmap[n / 8] |= (u8)(1u << (n % 8));
}

/* A fresh VMCS in 'page' for an L2 with "VMCS shadowing", the bitmaps
 * (only EXIT_FIELD's bits set) and 'link'. L2 has not been launched. */
static bool l2_setup(struct tg_check *c, int page, u64 link)
{
	struct vt_env *env = sh.env;
	struct vt_l2 l2 = {
		.rip = (u64)vt_l2_sh_rd_reg,
		.rsp = vt_stack_top(env, VT_PG_L2_STACK_A, VT_L2_STACK_PAGES),
		.proc2 = SECONDARY_VMCS_SHADOWING,
	};

	SetMem(&regs, sizeof(regs), 0);
	sh.launched = false;
	sh.vmcs = vt_pa(env, page);
	return vt_load_fresh(env, page, &l2, c) &&
	       vt_expect_eq(c, "secondary controls: VMCS shadowing",
			    vt_rd(SECONDARY_VM_EXEC_CONTROL) & SECONDARY_VMCS_SHADOWING,
			    SECONDARY_VMCS_SHADOWING) &&
	       tg_expect(c, vt_wr(VMREAD_BITMAP, vt_pa(env, PG_READ_BITMAP)) &&
			 vt_wr(VMWRITE_BITMAP, vt_pa(env, PG_WRITE_BITMAP)) &&
			 vt_wr(VMCS_LINK_POINTER, link),
			 "VMWRITE of the bitmap addresses or the link pointer failed");
}

/* L2 reads every field (no exit): the shadow VMCS's value, zero-extended
 * to 64 bits in a register or in memory (SDM 31.3 VMREAD). */
static void l2_vmread_checks(void)
{
	struct tg_check c;

	for (int mem = 0; mem < 2; mem++) {
		struct snippet s = snippet(false, mem);
		tg_begin(&c, mem ? "shadow-l2-vmread-memory" : "shadow-l2-vmread-register");
		for (u32 i = 0; i < NFIELDS; i++) {
			*sh.operand = MEM_SENTINEL;
			if (!sh_expect(&c, fields[i].name, l2_run(&s, fields[i].enc, SENTINEL), VT_OK)) {
				if (!sh.launched)
					break; /* VM entry failed */
				continue;
			}
			vt_expect_eq(&c, fields[i].name, mem ? *sh.operand : regs.r8, sh.want[i]);
			if (mem)
				vt_expect_eq(&c, "L2's R8", regs.r8, SENTINEL);
		}
		tg_end(&c);
	}
}

/* L2 writes every field that is not read-only (no exit); L1 finds the
 * values in the shadow VMCS, cut to the field's width (SDM 31.3 VMWRITE). */
static void l2_vmwrite_checks(void)
{
	struct tg_check c;

	for (int mem = 0; mem < 2; mem++) {
		struct snippet s = snippet(true, mem);
		u64 salt = mem ? SALT_W_MEM : SALT_W_REG;
		tg_begin(&c, mem ? "shadow-l2-vmwrite-memory" : "shadow-l2-vmwrite-register");
		for (u32 i = 0; i < NFIELDS; i++) {
			if (fields[i].ro)
				continue;
			*sh.operand = pattern(i, salt);
			sh_expect(&c, fields[i].name, l2_run(&s, fields[i].enc,
							     mem ? SENTINEL : pattern(i, salt)), VT_OK);
		}
		if (shadow_load(&c)) {
			for (u32 i = 0; i < NFIELDS; i++)
				if (!fields[i].ro)
					vt_expect_eq(&c, fields[i].name, vt_rd(fields[i].enc),
						     pattern(i, salt) & fields[i].mask);
			shadow_unload(&c, true);
		}
		tg_end(&c);
	}
}

/* "High" access to a 64-bit field: bits 63:32 (SDM 25.11.2). */
static void l2_high_check(void)
{
	struct snippet rd = snippet(false, false), wr = snippet(true, false);
	struct tg_check c;

	tg_begin(&c, "shadow-l2-64bit-high-access");
	if (shadow_load(&c)) {
		vt_expect_res(&c, "L1's VMWRITE TSC_OFFSET", vt_vmwrite(TSC_OFFSET,
			      0x0123456789abcdefULL), VT_OK);
		shadow_unload(&c, true);
	}
	if (sh_expect(&c, "L2's VMREAD of TSC_OFFSET|1", l2_run(&rd, TSC_OFFSET | 1, SENTINEL),
		      VT_OK))
		vt_expect_eq(&c, "TSC_OFFSET's high half", regs.r8, 0x01234567);
	sh_expect(&c, "L2's VMWRITE of TSC_OFFSET|1", l2_run(&wr, TSC_OFFSET | 1,
		  0xaaaaaaaafedcba98ULL), VT_OK);
	if (shadow_load(&c)) {
		vt_expect_eq(&c, "TSC_OFFSET after L2's high write", vt_rd(TSC_OFFSET),
			     0xfedcba9889abcdefULL);
		shadow_unload(&c, true);
	}
	tg_end(&c);
}

/* The bitmap bit of EXIT_FIELD is set: VM exit 23 or 25 (SDM 26.1.3),
 * fault-like: RIP at the instruction, nothing read or written. Exit
 * qualification: the displacement, sign-extended, or 0 (SDM 28.2.1);
 * instruction length and information (SDM 28.2.5). */
static void l2_exit_check(const char *name, bool write, bool mem)
{
	struct snippet s = snippet(write, mem);
	u32 reason = write ? EXIT_REASON_VMWRITE : EXIT_REASON_VMREAD;
	struct tg_check c;

	tg_begin(&c, name);
	*sh.operand = MEM_SENTINEL;
	if (sh_expect(&c, s.what, l2_run(&s, EXIT_FIELD, SENTINEL), SH_EXIT | reason)) {
		vt_expect_eq(&c, "GUEST_RIP", vt_rd(GUEST_RIP), (u64)s.at);
		vt_expect_eq(&c, "VM_EXIT_INSTRUCTION_LEN", vt_rd(VM_EXIT_INSTRUCTION_LEN),
			     (u64)(s.after - s.at));
		vt_expect_eq(&c, "EXIT_QUALIFICATION", vt_rd(EXIT_QUALIFICATION),
			     mem ? (u64)MEM_DISP : 0);
		vt_expect_eq(&c, mem ? "VMX_INSTRUCTION_INFO (memory form's defined bits)" :
			     "VMX_INSTRUCTION_INFO (register form's defined bits)",
			     vt_rd(VMX_INSTRUCTION_INFO) & (mem ? II_DEFINED_MEM : II_DEFINED_REG),
			     mem ? II_WANT_MEM : II_WANT_REG);
		vt_expect_eq(&c, "L2's R8", regs.r8, SENTINEL);
		vt_expect_eq(&c, "L2's memory operand", *sh.operand, MEM_SENTINEL);
	}
	if (write && shadow_load(&c)) {
		vt_expect_eq(&c, "the shadow's field after the exit", vt_rd(EXIT_FIELD),
			     EXIT_FIELD_VALUE);
		shadow_unload(&c, true);
	}
	tg_end(&c);
}

/* An encoding with any of bits 63:15 set exits whatever the bitmap says
 * (SDM 26.1.3); bits 14:0 here name a field whose bits are clear. */
static void l2_high_bits_check(void)
{
	static const u64 enc[] = { BIT(32) | GUEST_ES_LIMIT, BIT(15) | GUEST_ES_LIMIT,
				   BIT(63) | GUEST_ES_LIMIT };
	struct snippet rd = snippet(false, false), wr = snippet(true, false);
	struct tg_check c;
	char what[64];

	tg_begin(&c, "shadow-l2-encoding-bits-63-15-exit");
	for (u32 i = 0; i < ARRAY_SIZE(enc); i++) {
		tg_snprintf(what, sizeof(what), "L2's VMREAD of %lx", enc[i]);
		if (sh_expect(&c, what, l2_run(&rd, enc[i], SENTINEL), SH_EXIT | EXIT_REASON_VMREAD))
			vt_expect_eq(&c, "GUEST_RIP", vt_rd(GUEST_RIP), (u64)rd.at);
		tg_snprintf(what, sizeof(what), "L2's VMWRITE of %lx", enc[i]);
		if (sh_expect(&c, what, l2_run(&wr, enc[i], SENTINEL), SH_EXIT | EXIT_REASON_VMWRITE))
			vt_expect_eq(&c, "GUEST_RIP", vt_rd(GUEST_RIP), (u64)wr.at);
	}
	tg_end(&c);
}

/* No exit, no such field: VMfailValid(12) (SDM 31.3). VMfailValid sets
 * the VM-instruction error field of the current VMCS (SDM 31.2
 * "Conventions"): in VMX non-root operation that is L2's ordinary VMCS,
 * not the shadow. L1 leaves error 3 there first (VMCLEAR of the VMXON
 * pointer) so that a stale value shows. */
static void l2_unsupported_check(void)
{
	struct snippet rd = snippet(false, false), wr = snippet(true, false);
	u64 vmxon = vt_pa(sh.env, VT_PG_VMXON), before = ~0ULL, after = ~0ULL;
	u32 err12 = VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD);
	struct tg_check c;

	tg_begin(&c, "shadow-l2-unsupported-field-error12");
	if (shadow_load(&c)) {
		before = vt_rd(VM_INSTRUCTION_ERROR);
		shadow_unload(&c, true);
	}
	vt_expect_res(&c, "L1's VMCLEAR of the VMXON pointer", vt_vmclear(vmxon),
		      VT_FAIL_VALID(VMXERR_VMCLEAR_VMXON_PTR));
	sh_expect(&c, "L2's VMREAD of 0x1000", l2_run(&rd, UNSUPPORTED_FIELD, SENTINEL), err12);
	vt_expect_eq(&c, "L2's R8", regs.r8, SENTINEL);
	vt_vmclear(vmxon);
	sh_expect(&c, "L2's VMWRITE of 0x1000", l2_run(&wr, UNSUPPORTED_FIELD, SENTINEL), err12);
	vt_vmclear(vmxon);
	sh_expect(&c, "L2's VMREAD of GUEST_ES_LIMIT|1 (\"high\" of a 32-bit field)",
		  l2_run(&rd, GUEST_ES_LIMIT | 1, SENTINEL), err12);
	if (shadow_load(&c)) {
		after = vt_rd(VM_INSTRUCTION_ERROR);
		vt_expect_eq(&c, "the shadow VMCS's VM_INSTRUCTION_ERROR", after, before);
		shadow_unload(&c, true);
	}
	tg_printf("%s: note: L2's VMfailValid(12): VM_INSTRUCTION_ERROR of L2's (ordinary) "
		  "VMCS %lx, of the shadow VMCS %lx (before: %lx)\n", tg_prog,
		  vt_rd(VM_INSTRUCTION_ERROR), after, before);
	tg_end(&c);
}

/* VMWRITE of a read-only field: allowed where IA32_VMX_MISC[29] says so,
 * else VMfailValid(13) (SDM 31.3 VMWRITE, A.6). */
static void l2_read_only_check(void)
{
	struct snippet wr = snippet(true, false);
	bool any = sh.env->caps.misc & VMX_MISC_VMWRITE_ANY_FIELD;
	struct tg_check c;
	u64 before = 0;

	tg_begin(&c, "shadow-l2-vmwrite-read-only-field");
	if (shadow_load(&c)) {
		before = vt_rd(VM_EXIT_REASON);
		shadow_unload(&c, true);
	}
	sh_expect(&c, any ? "L2's VMWRITE of VM_EXIT_REASON (MISC[29]=1)" :
		  "L2's VMWRITE of VM_EXIT_REASON (MISC[29]=0)",
		  l2_run(&wr, VM_EXIT_REASON, 0x1234),
		  any ? VT_OK : VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY));
	if (shadow_load(&c)) {
		vt_expect_eq(&c, "the shadow's VM_EXIT_REASON", vt_rd(VM_EXIT_REASON),
			     any ? 0x1234 : before);
		shadow_unload(&c, true);
	}
	tg_end(&c);
}

/* What L1 writes into the shadow VMCS L2 reads, and the other way round
 * (SDM 25.10: L2's VMREAD/VMWRITE access "the VMCS referenced by the VMCS
 * link pointer"); the shadow keeps it across VMCLEAR and VMPTRLD. */
static void coherence_checks(void)
{
	struct snippet rd = snippet(false, false), wr = snippet(true, false);
	struct tg_check c;

	tg_begin(&c, "shadow-coherence-l1-vmwrite-vmclear");
	if (shadow_load(&c)) {
		vt_expect_res(&c, "L1's VMWRITE", vt_vmwrite(GUEST_ES_LIMIT, 0x13579bdf), VT_OK);
		shadow_unload(&c, true);
	}
	if (sh_expect(&c, "L2's VMREAD", l2_run(&rd, GUEST_ES_LIMIT, SENTINEL), VT_OK))
		vt_expect_eq(&c, "what L2 read", regs.r8, 0x13579bdf);
	tg_end(&c);

	/* L1 goes back to L2's VMCS with VMPTRLD alone (no VMCLEAR). */
	tg_begin(&c, "shadow-coherence-l1-vmwrite-vmptrld");
	if (shadow_load(&c)) {
		vt_expect_res(&c, "L1's VMWRITE", vt_vmwrite(GUEST_ES_LIMIT, 0x2468ace0), VT_OK);
		shadow_unload(&c, false);
	}
	if (sh_expect(&c, "L2's VMREAD", l2_run(&rd, GUEST_ES_LIMIT, SENTINEL), VT_OK))
		vt_expect_eq(&c, "what L2 read", regs.r8, 0x2468ace0);
	sh_expect(&c, "L2's VMWRITE", l2_run(&wr, GUEST_ES_LIMIT, 0xfdb97531), VT_OK);
	if (shadow_load(&c)) {
		vt_expect_eq(&c, "what L1 read after L2's VMWRITE", vt_rd(GUEST_ES_LIMIT),
			     0xfdb97531);
		shadow_unload(&c, false);
	}
	tg_end(&c);

	/* The values L2 wrote survive VMCLEAR and VMPTRLD, twice. */
	tg_begin(&c, "shadow-coherence-vmclear-reload");
	sh_expect(&c, "L2's VMWRITE", l2_run(&wr, GUEST_RSP, 0xffff8000deadbee0ULL), VT_OK);
	for (int k = 0; k < 2; k++) {
		vt_expect_res(&c, "VMCLEAR of the shadow VMCS", vt_vmclear(sh.shadow), VT_OK);
		if (shadow_load(&c)) {
			vt_expect_eq(&c, "GUEST_ES_LIMIT", vt_rd(GUEST_ES_LIMIT), 0xfdb97531);
			vt_expect_eq(&c, "GUEST_RSP", vt_rd(GUEST_RSP), 0xffff8000deadbee0ULL);
			shadow_unload(&c, k == 1);
		}
	}
	tg_end(&c);
}

/* VM entry with "VMCS shadowing" and the link pointer all ones is legal
 * (SDM 27.3.1.5 checks a link pointer only if it is not FFFFFFFF_FFFFFFFFH);
 * then VMREAD and VMWRITE with clear bitmap bits find no valid link
 * pointer: VMfailInvalid (SDM 31.3). A set bit still exits first. */
static void link_ones_check(void)
{
	struct snippet rd = snippet(false, false), wr = snippet(true, false);
	struct tg_check c;

	tg_begin(&c, "shadow-l2-link-all-ones-vmfailinvalid");
	if (l2_setup(&c, VT_PG_VMCS_B, ~0ULL)) {
		if (sh_expect(&c, "L2's VMREAD", l2_run(&rd, GUEST_ES_LIMIT, SENTINEL),
			      VT_FAIL_INVALID))
			vt_expect_eq(&c, "L2's R8", regs.r8, SENTINEL);
		sh_expect(&c, "L2's VMWRITE", l2_run(&wr, GUEST_ES_LIMIT, 0), VT_FAIL_INVALID);
		sh_expect(&c, "L2's VMREAD of the exiting field", l2_run(&rd, EXIT_FIELD, 0),
			  SH_EXIT | EXIT_REASON_VMREAD);
	}
	tg_end(&c);
}

/* ---- VM entry checks ---- */

/* VM entry with 'link' in VMCS C: a VM-entry failure with qualification
 * 4 (SDM 27.3.1.5, 27.8) when 'fails', else the CPUID exit. */
static void entry_link_check(const char *name, bool shadowing, u64 link, bool fails)
{
	struct vt_env *env = sh.env;
	struct vt_l2 l2 = vt_cpuid_l2(env);
	struct tg_check c;
	bool ok;

	l2.proc2 = shadowing ? SECONDARY_VMCS_SHADOWING : 0;
	SetMem(&regs, sizeof(regs), 0);
	tg_begin(&c, name);
	ok = vt_load_fresh(env, VT_PG_VMCS_C, &l2, &c);
	if (ok && shadowing)
		ok = tg_expect(&c, vt_wr(VMREAD_BITMAP, vt_pa(env, PG_READ_BITMAP)) &&
			       vt_wr(VMWRITE_BITMAP, vt_pa(env, PG_WRITE_BITMAP)),
			       "VMWRITE of the bitmap addresses");
	if (ok && tg_expect(&c, vt_wr(VMCS_LINK_POINTER, link), "VMWRITE of the link pointer")) {
		if (!fails)
			vt_expect_exit(&c, vt_enter(&regs, 0), EXIT_REASON_CPUID,
				       (u64)vt_l2_cpuid_loop_at);
		else if (vt_expect_exit(&c, vt_enter(&regs, 0), ENTRY_FAIL_GUEST, 0))
			vt_expect_eq(&c, "exit qualification", vt_rd(EXIT_QUALIFICATION),
				     QUAL_LINK_POINTER);
	}
	tg_end(&c);
}

/* SDM 27.2.1.1: with "VMCS shadowing", the VMREAD- and VMWRITE-bitmap
 * addresses must be 4-KiB aligned and within the physical-address width:
 * else VMfailValid(7). */
static void entry_bitmap_check(const char *name, u32 field, u64 addr)
{
	struct tg_check c;

	tg_begin(&c, name);
	if (l2_setup(&c, VT_PG_VMCS_C, sh.shadow) &&
	    tg_expect(&c, vt_wr(field, addr), "VMWRITE %x <- %lx", field, addr))
		vt_expect_res(&c, "VMLAUNCH", vt_enter(&regs, 0),
			      VT_FAIL_VALID(VMXERR_ENTRY_INVALID_CONTROL));
	tg_end(&c);
}

static void entry_checks(struct vt_env *env)
{
	u64 ordinary = vt_pa(env, PG_ORDINARY), beyond = 1ULL << env->caps.maxphyaddr;

	vt_init_region(env, PG_ORDINARY);
	vt_vmclear(ordinary);
	/* Bit 31 of the revision dword at the link pointer must equal the
	 * "VMCS shadowing" control; bits 30:0 the revision identifier. */
	entry_link_check("shadow-entry-link-ordinary-with-shadowing", true, ordinary, true);
	entry_link_check("shadow-entry-link-shadow-without-shadowing", false, sh.shadow, true);
	entry_link_check("shadow-entry-link-ordinary-without-shadowing", false, ordinary, false);
	/* Bits 11:0 zero, no bit beyond the physical-address width. */
	entry_link_check("shadow-entry-link-unaligned", true, sh.shadow + 0x800, true);
	entry_link_check("shadow-entry-link-beyond-maxphyaddr", true, beyond, true);
	/* Outside SMM the link pointer must not be the current VMCS pointer. */
	entry_link_check("shadow-entry-link-current-vmcs", false, vt_pa(env, VT_PG_VMCS_C), true);

	entry_bitmap_check("shadow-entry-vmread-bitmap-unaligned", VMREAD_BITMAP,
			   vt_pa(env, PG_READ_BITMAP) + 8);
	entry_bitmap_check("shadow-entry-vmwrite-bitmap-unaligned", VMWRITE_BITMAP,
			   vt_pa(env, PG_WRITE_BITMAP) + 0x800);
	entry_bitmap_check("shadow-entry-vmread-bitmap-beyond-maxphyaddr", VMREAD_BITMAP, beyond);
}

void vt_checks_shadow(struct vt_env *env)
{
	struct tg_check c;

	if (!(env->caps.proc2_1 & SECONDARY_VMCS_SHADOWING)) {
		tg_begin(&c, "shadow-offered");
		tg_expect(&c, false, "IA32_VMX_PROCBASED_CTLS2 does not allow \"VMCS shadowing\" "
			  "(allowed-1 %x)", env->caps.proc2_1);
		tg_end(&c);
		return;
	}
	sh.env = env;
	sh.shadow = vt_pa(env, PG_SHADOW);
	sh.operand = (volatile u64 *)(vt_page(env, PG_MEM) + MEM_OFF);
	SetMem(&regs, sizeof(regs), 0);
	root_checks(env);

	SetMem(vt_page(env, PG_READ_BITMAP), PAGE_SIZE, 0);
	SetMem(vt_page(env, PG_WRITE_BITMAP), PAGE_SIZE, 0);
	set_bit(vt_page(env, PG_READ_BITMAP), EXIT_FIELD);
	set_bit(vt_page(env, PG_WRITE_BITMAP), EXIT_FIELD);

	tg_begin(&c, "shadow-l2-setup");
	bool ok = l2_setup(&c, VT_PG_VMCS_A, sh.shadow) && shadow_load(&c);
	if (ok) {
		shadow_fill(&c, SALT_FILL);
		vt_expect_res(&c, "VMWRITE of the exiting field", vt_vmwrite(EXIT_FIELD,
			      EXIT_FIELD_VALUE), VT_OK);
		ok = shadow_unload(&c, true);
	}
	tg_end(&c);
	if (ok) {
		l2_vmread_checks();
		if (sh.launched) { /* else L2 never ran: the rest would repeat it */
			l2_vmwrite_checks();
			l2_high_check();
			l2_exit_check("shadow-l2-vmread-exit-register", false, false);
			l2_exit_check("shadow-l2-vmread-exit-memory", false, true);
			l2_exit_check("shadow-l2-vmwrite-exit-register", true, false);
			l2_exit_check("shadow-l2-vmwrite-exit-memory", true, true);
			l2_high_bits_check();
			l2_unsupported_check();
			l2_read_only_check();
			coherence_checks();
		}
	}
	link_ones_check();
	entry_checks(env);
}
