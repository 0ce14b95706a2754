/* vmxtest: the VMX instructions' results outside and inside VMX operation,
 * as the SDM's chapter 31 "VMX Instruction Reference" pseudo-code gives
 * them. VMfail is VMfailInvalid when there is no current VMCS and
 * VMfailValid(error) when there is one (SDM 31.2 "Conventions"). */
#include <efi.h>
#include <efilib.h>
#include "vmxtest.h"

#define FIELD_RESERVED_BIT12 0x1000ULL          /* bit 12 must be 0 */
#define FIELD_HIGH_OF_32BIT (GUEST_ES_LIMIT | 1) /* "high" access of a 32-bit field */
#define FIELD_UPPER_BITS (BIT(32) | GUEST_ES_LIMIT) /* bits 63:32 not 0 */

static void one(const char *name, const char *what, u32 got, u32 want)
{
	struct tg_check c;

	tg_begin(&c, name);
	vt_expect_res(&c, what, got, want);
	tg_end(&c);
}

static u64 beyond_maxphyaddr(const struct vt_env *env)
{
	return 1ULL << env->caps.maxphyaddr;
}

/* A fault at CPL 3 for 'code' (vmxtest_asm.asm), as an outcome code. */
static void cpl3(struct vt_env *env, const char *name, const char *what, const u8 *code)
{
	struct tg_check c;
	u64 err = 0;
	u32 vec;

	tg_begin(&c, name);
	vec = vt_at_cpl3(env, code, &err);
	if (vt_expect_res(&c, what, vec == TG_NO_FAULT ? VT_OK : VT_FAULT(vec), VT_FAULT(EXC_GP)))
		vt_expect_eq(&c, "#GP error code", err, 0);
	tg_end(&c);
}

/* SDM 31.3 "VMXON": #UD with CR4.VMXE = 0; outside VMX operation #GP(0)
 * at CPL > 0 or with unsupported CR0/CR4 values; VMfailInvalid for a bad
 * address or revision; then VMsucceed. Returns with VMXON done. */
void vt_checks_before_vmxon(struct vt_env *env)
{
	u64 vmxon = vt_pa(env, VT_PG_VMXON);
	u32 *rev = (u32 *)vt_page(env, VT_PG_VMXON);
	struct tg_check c;
	u64 dummy;

	vt_vmx_disable();
	one("vmxon-cr4-vmxe-clear-ud", "VMXON with CR4.VMXE=0", vt_vmxon(vmxon), VT_FAULT(EXC_UD));

	tg_begin(&c, "vmx-enable");
	tg_expect(&c, vt_vmx_enable(env), "IA32_FEATURE_CONTROL does not allow VMXON outside SMX");
	tg_expect(&c, read_cr4() & CR4_VMXE, "CR4.VMXE did not stick: CR4 %lx", read_cr4());
	tg_end(&c);
	vt_init_region(env, VT_PG_VMXON);
	vt_init_region(env, VT_PG_VMCS_A);

	/* SDM 31.3: every VMX instruction but VMXON is #UD outside VMX operation. */
	tg_begin(&c, "vmx-insn-outside-vmx-ud");
	vt_expect_res(&c, "VMPTRLD", vt_vmptrld(vt_pa(env, VT_PG_VMCS_A)), VT_FAULT(EXC_UD));
	vt_expect_res(&c, "VMCLEAR", vt_vmclear(vt_pa(env, VT_PG_VMCS_A)), VT_FAULT(EXC_UD));
	vt_expect_res(&c, "VMPTRST", vt_vmptrst(&dummy), VT_FAULT(EXC_UD));
	vt_expect_res(&c, "VMREAD", vt_vmread(GUEST_RIP, &dummy), VT_FAULT(EXC_UD));
	vt_expect_res(&c, "VMWRITE", vt_vmwrite(GUEST_RIP, 0), VT_FAULT(EXC_UD));
	vt_expect_res(&c, "VMXOFF", vt_vmxoff(), VT_FAULT(EXC_UD));
	vt_expect_res(&c, "VMLAUNCH", vt_enter(&(struct tg_regs){ 0 }, 0), VT_FAULT(EXC_UD));
	tg_end(&c);

	cpl3(env, "vmxon-cpl3-gp", "VMXON at CPL 3", vt_r3_vmxon);

	if (env->caps.cr0_fixed0 & CR0_NE) {
		u64 cr0 = read_cr0();
		write_cr0(cr0 & ~CR0_NE);
		u32 r = vt_vmxon(vmxon);
		write_cr0(cr0);
		if (r == VT_OK)
			vt_vmxoff();
		one("vmxon-cr0-ne-clear-gp", "VMXON with CR0.NE=0", r, VT_FAULT(EXC_GP));
	}

	rev[0] = env->caps.revision ^ 1;
	one("vmxon-bad-revision", "VMXON with revision ^ 1", vt_vmxon(vmxon), VT_FAIL_INVALID);
	rev[0] = env->caps.revision | BIT(31);
	one("vmxon-revision-bit31", "VMXON with revision bit 31 set", vt_vmxon(vmxon),
	    VT_FAIL_INVALID);
	rev[0] = env->caps.revision;
	one("vmxon-unaligned", "VMXON of region + 0x800", vt_vmxon(vmxon + 0x800),
	    VT_FAIL_INVALID);
	one("vmxon-beyond-maxphyaddr", "VMXON of 1 << MAXPHYADDR",
	    vt_vmxon(beyond_maxphyaddr(env)), VT_FAIL_INVALID);
	one("vmxon-succeeds", "VMXON", vt_vmxon(vmxon), VT_OK);
}

static void check_width(const char *name, u32 field, u64 write, u64 mask)
{
	struct tg_check c;
	u64 v = 0x5555555555555555ULL, m = 0x6666666666666666ULL, w2 = ~write;

	tg_begin(&c, name);
	if (vt_expect_res(&c, "VMWRITE (register)", vt_vmwrite(field, write), VT_OK) &&
	    vt_expect_res(&c, "VMREAD (register)", vt_vmread(field, &v), VT_OK))
		vt_expect_eq(&c, "read back", v, write & mask);
	if (vt_expect_res(&c, "VMREAD (memory)", vt_vmread_mem(field, &m), VT_OK))
		vt_expect_eq(&c, "read back to memory (64 bits written)", m, write & mask);
	if (vt_expect_res(&c, "VMWRITE (memory)", vt_vmwrite_mem(field, &w2), VT_OK) &&
	    vt_expect_res(&c, "VMREAD after it", vt_vmread(field, &v), VT_OK))
		vt_expect_eq(&c, "read back", v, w2 & mask);
	tg_end(&c);
}

/* 64-bit fields: "high" accesses (encoding bit 0 = 1) reach bits 63:32
 * (SDM 25.11.2 "VMREAD, VMWRITE, and Encodings of VMCS Fields"). */
static void check_high_access(void)
{
	struct tg_check c;
	u64 v = 0;

	tg_begin(&c, "vmwrite-vmread-64bit-high");
	vt_vmwrite(TSC_OFFSET, 0x0123456789abcdefULL);
	vt_expect_res(&c, "VMREAD high", vt_vmread(TSC_OFFSET | 1, &v), VT_OK);
	vt_expect_eq(&c, "TSC_OFFSET high", v, 0x01234567);
	vt_expect_res(&c, "VMWRITE high", vt_vmwrite(TSC_OFFSET | 1, 0xaaaaaaaafedcba98ULL), VT_OK);
	vt_expect_res(&c, "VMREAD full", vt_vmread(TSC_OFFSET, &v), VT_OK);
	vt_expect_eq(&c, "TSC_OFFSET after a high write", v, 0xfedcba9889abcdefULL);
	tg_end(&c);
}

static void check_no_current(struct vt_env *env)
{
	struct tg_check c;
	u64 p = 0, v = 0;

	one("vmxon-in-root-no-vmcs", "second VMXON, no current VMCS",
	    vt_vmxon(vt_pa(env, VT_PG_VMXON)), VT_FAIL_INVALID);
	tg_begin(&c, "vmptrst-no-current");
	if (vt_expect_res(&c, "VMPTRST", vt_vmptrst(&p), VT_OK))
		vt_expect_eq(&c, "stored pointer", p, ~0ULL);
	tg_end(&c);
	tg_begin(&c, "vmfail-invalid-no-current");
	vt_expect_res(&c, "VMREAD", vt_vmread(GUEST_RIP, &v), VT_FAIL_INVALID);
	vt_expect_res(&c, "VMWRITE", vt_vmwrite(GUEST_RIP, 0), VT_FAIL_INVALID);
	vt_expect_res(&c, "VMLAUNCH", vt_enter(&(struct tg_regs){ 0 }, 0), VT_FAIL_INVALID);
	vt_expect_res(&c, "VMRESUME", vt_enter(&(struct tg_regs){ 0 }, 1), VT_FAIL_INVALID);
	vt_expect_res(&c, "VMCLEAR unaligned", vt_vmclear(vt_pa(env, VT_PG_VMCS_A) + 8),
		      VT_FAIL_INVALID);
	tg_end(&c);
}

static void check_pointers(struct vt_env *env)
{
	u64 a = vt_pa(env, VT_PG_VMCS_A), vmxon = vt_pa(env, VT_PG_VMXON), p = 0, v = 0;
	u32 *bad = (u32 *)vt_page(env, VT_PG_BAD_REV);
	struct tg_check c;

	tg_begin(&c, "vmptrld-succeeds");
	vt_expect_res(&c, "VMCLEAR", vt_vmclear(a), VT_OK);
	vt_expect_res(&c, "VMPTRLD", vt_vmptrld(a), VT_OK);
	if (vt_expect_res(&c, "VMPTRST", vt_vmptrst(&p), VT_OK))
		vt_expect_eq(&c, "current VMCS", p, a);
	tg_end(&c);

	one("vmxon-in-root-with-vmcs", "second VMXON", vt_vmxon(vmxon),
	    VT_FAIL_VALID(VMXERR_VMXON_IN_ROOT));
	one("vmclear-unaligned", "VMCLEAR of VMCS + 8", vt_vmclear(a + 8),
	    VT_FAIL_VALID(VMXERR_VMCLEAR_INVALID_ADDR));
	one("vmclear-beyond-maxphyaddr", "VMCLEAR of 1 << MAXPHYADDR",
	    vt_vmclear(beyond_maxphyaddr(env)), VT_FAIL_VALID(VMXERR_VMCLEAR_INVALID_ADDR));
	one("vmclear-vmxon-pointer", "VMCLEAR of the VMXON region", vt_vmclear(vmxon),
	    VT_FAIL_VALID(VMXERR_VMCLEAR_VMXON_PTR));
	one("vmptrld-unaligned", "VMPTRLD of VMCS + 8", vt_vmptrld(a + 8),
	    VT_FAIL_VALID(VMXERR_VMPTRLD_INVALID_ADDR));
	one("vmptrld-beyond-maxphyaddr", "VMPTRLD of 1 << MAXPHYADDR",
	    vt_vmptrld(beyond_maxphyaddr(env)), VT_FAIL_VALID(VMXERR_VMPTRLD_INVALID_ADDR));
	one("vmptrld-vmxon-pointer", "VMPTRLD of the VMXON region", vt_vmptrld(vmxon),
	    VT_FAIL_VALID(VMXERR_VMPTRLD_VMXON_PTR));
	/* Bit 31 clear: a shadow-VMCS revision is legal where VMCS shadowing
	 * is offered (Bochs) and not where it is not (nestvisor). */
	SetMem(bad, PAGE_SIZE, 0);
	bad[0] = env->caps.revision ^ 1;
	one("vmptrld-bad-revision", "VMPTRLD with revision ^ 1",
	    vt_vmptrld(vt_pa(env, VT_PG_BAD_REV)), VT_FAIL_VALID(VMXERR_VMPTRLD_BAD_REVISION));

	tg_begin(&c, "vm-instruction-error-field");
	vt_vmptrld(vmxon);
	vt_expect_res(&c, "VMREAD VM_INSTRUCTION_ERROR", vt_vmread(VM_INSTRUCTION_ERROR, &v), VT_OK);
	vt_expect_eq(&c, "VM_INSTRUCTION_ERROR after VMPTRLD of the VMXON pointer", v,
		     VMXERR_VMPTRLD_VMXON_PTR);
	if (vt_expect_res(&c, "VMPTRST", vt_vmptrst(&p), VT_OK))
		vt_expect_eq(&c, "current VMCS unchanged by the failures", p, a);
	tg_end(&c);
}

static void check_fields(struct vt_env *env)
{
	struct tg_check c;
	u64 v = 0;

	tg_begin(&c, "vmread-unsupported-field");
	vt_expect_res(&c, "VMREAD of 0x1000 (bit 12 set)", vt_vmread(FIELD_RESERVED_BIT12, &v),
		      VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD));
	vt_expect_res(&c, "VMREAD of 0xffffffff", vt_vmread(0xffffffffULL, &v),
		      VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD));
	vt_expect_res(&c, "VMREAD of GUEST_ES_LIMIT|1", vt_vmread(FIELD_HIGH_OF_32BIT, &v),
		      VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD));
	tg_end(&c);
	tg_begin(&c, "vmread-field-upper-bits");
	vt_expect_res(&c, "VMREAD with encoding bits 63:32 set", vt_vmread(FIELD_UPPER_BITS, &v),
		      VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD));
	tg_end(&c);
	tg_begin(&c, "vmwrite-unsupported-field");
	vt_expect_res(&c, "VMWRITE of 0x1000", vt_vmwrite(FIELD_RESERVED_BIT12, 0),
		      VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD));
	vt_expect_res(&c, "VMWRITE of GUEST_ES_LIMIT|1", vt_vmwrite(FIELD_HIGH_OF_32BIT, 0),
		      VT_FAIL_VALID(VMXERR_UNSUPPORTED_FIELD));
	tg_end(&c);

	/* IA32_VMX_MISC[29]: VMWRITE may write VM-exit information fields. */
	tg_begin(&c, "vmwrite-read-only-field");
	bool any = env->caps.misc & VMX_MISC_VMWRITE_ANY_FIELD;
	u32 r = vt_vmwrite(VM_EXIT_REASON, 0x1234);
	vt_expect_res(&c, any ? "VMWRITE VM_EXIT_REASON (MISC[29]=1)" :
		      "VMWRITE VM_EXIT_REASON (MISC[29]=0)", r,
		      any ? VT_OK : VT_FAIL_VALID(VMXERR_VMWRITE_READ_ONLY));
	if (any && r == VT_OK)
		vt_expect_eq(&c, "VM_EXIT_REASON read back", vt_rd(VM_EXIT_REASON), 0x1234);
	tg_end(&c);

	/* In 64-bit mode the operands are 64 bits; narrower fields take the
	 * low bits and read back zero-extended (SDM 31.3 VMREAD, VMWRITE). */
	check_width("vmwrite-vmread-16bit", GUEST_ES_SELECTOR, 0xffffffffffff1238ULL, 0xffffULL);
	check_width("vmwrite-vmread-32bit", GUEST_ES_LIMIT, 0xdeadbeef89abcdefULL, 0xffffffffULL);
	check_width("vmwrite-vmread-64bit", TSC_OFFSET, 0x0123456789abcdefULL, ~0ULL);
	check_width("vmwrite-vmread-natural", GUEST_RSP, 0xffff800012345678ULL, ~0ULL);
	check_high_access();
}

/* Field values stay with their VMCS across VMCLEAR and VMPTRLD. */
static void check_switch(struct vt_env *env)
{
	u64 a = vt_pa(env, VT_PG_VMCS_A), b = vt_pa(env, VT_PG_VMCS_B), p = 0, v = 0;
	struct tg_check c;

	vt_init_region(env, VT_PG_VMCS_B);
	tg_begin(&c, "vmcs-switch-keeps-fields");
	vt_vmptrld(a);
	vt_vmwrite(GUEST_ES_LIMIT, 0x1111);
	vt_expect_res(&c, "VMCLEAR B", vt_vmclear(b), VT_OK);
	vt_expect_res(&c, "VMPTRLD B", vt_vmptrld(b), VT_OK);
	vt_vmwrite(GUEST_ES_LIMIT, 0x2222);
	vt_expect_res(&c, "VMPTRLD A", vt_vmptrld(a), VT_OK);
	vt_expect_eq(&c, "A's GUEST_ES_LIMIT", vt_rd(GUEST_ES_LIMIT), 0x1111);
	vt_expect_res(&c, "VMCLEAR A", vt_vmclear(a), VT_OK);
	vt_expect_res(&c, "VMPTRLD B", vt_vmptrld(b), VT_OK);
	vt_expect_eq(&c, "B's GUEST_ES_LIMIT", vt_rd(GUEST_ES_LIMIT), 0x2222);
	vt_expect_res(&c, "VMPTRLD A", vt_vmptrld(a), VT_OK);
	vt_expect_eq(&c, "A's GUEST_ES_LIMIT after VMCLEAR", vt_rd(GUEST_ES_LIMIT), 0x1111);
	tg_end(&c);

	/* VMCLEAR of the current VMCS makes the current-VMCS pointer invalid. */
	tg_begin(&c, "vmclear-current-invalidates");
	vt_expect_res(&c, "VMCLEAR A (current)", vt_vmclear(a), VT_OK);
	if (vt_expect_res(&c, "VMPTRST", vt_vmptrst(&p), VT_OK))
		vt_expect_eq(&c, "current VMCS", p, ~0ULL);
	vt_expect_res(&c, "VMREAD", vt_vmread(GUEST_ES_LIMIT, &v), VT_FAIL_INVALID);
	tg_end(&c);
}

void vt_checks_vmx_insn(struct vt_env *env)
{
	struct tg_check c;
	u64 p = 0;

	check_no_current(env);
	check_pointers(env);
	check_fields(env);
	check_switch(env);
	vt_vmptrld(vt_pa(env, VT_PG_VMCS_A));
	cpl3(env, "vmptrst-cpl3-gp", "VMPTRST at CPL 3", vt_r3_vmptrst);
	cpl3(env, "vmxon-cpl3-in-root-gp", "VMXON at CPL 3 in VMX operation", vt_r3_vmxon);

	tg_begin(&c, "vmxoff-vmxon-again");
	vt_expect_res(&c, "VMXOFF", vt_vmxoff(), VT_OK);
	vt_expect_res(&c, "VMPTRST after VMXOFF", vt_vmptrst(&p), VT_FAULT(EXC_UD));
	vt_expect_res(&c, "VMXON", vt_vmxon(vt_pa(env, VT_PG_VMXON)), VT_OK);
	if (vt_expect_res(&c, "VMPTRST", vt_vmptrst(&p), VT_OK))
		vt_expect_eq(&c, "current VMCS after VMXON", p, ~0ULL);
	tg_end(&c);
}
