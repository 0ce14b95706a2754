/* VMX instruction operands and preconditions: the instruction-information
 * field is built here from the SDM's tables (bit positions typed in, not
 * taken from operand.h) and the expected addresses are computed by hand. */
#include "unit.h"
#include <string.h>
#include "nested/operand.h"

#define VMCS12_REV 0x4e560001u

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9 };
enum { ES, CS, SS, DS, FS, GS };
#define NONE 0xff

/* "Format of the VM-Exit Instruction-Information Field as Used for
 * VMCLEAR, VMPTRLD, ...": scale 1:0, address size 9:7 (0/1/2), segment
 * 17:15, index 21:18 (invalid 22), base 26:23 (invalid 27). */
static u32 info(u32 scale, u32 asz_code, u32 seg, u32 index, u32 base)
{
	u32 v = scale | asz_code << 7 | seg << 15;

	v |= index == NONE ? 1u << 22 : index << 18;
	v |= base == NONE ? 1u << 27 : base << 23;
	return v;
}

/* Access rights: type 3:0, S 4, DPL 6:5, P 7, L 13, D/B 14, G 15,
 * unusable 16. */
#define AR_DATA_RW 0x0093u     /* present, S, read/write, accessed */
#define AR_DATA_RO 0x0091u
#define AR_DATA_RW_DOWN 0x0097u
#define AR_CODE_XO 0x0099u     /* execute-only */
#define AR_CODE_XR 0x009bu     /* execute/read */
#define AR_DB 0x4000u
#define AR_L 0x2000u
#define AR_UNUSABLE 0x10000u

static struct operand_ctx ctx64(void)
{
	struct operand_ctx c;

	memset(&c, 0, sizeof(c));
	c.long_mode = true;
	for (int s = 0; s < 6; s++)
		c.seg[s] = (struct seg_state){ .base = 0, .limit = 0xffffffff, .ar = AR_DATA_RW | AR_DB };
	c.seg[CS].ar = AR_CODE_XR | AR_L;
	return c;
}

static struct operand_ctx ctx32(void)
{
	struct operand_ctx c = ctx64();

	c.long_mode = false;
	c.cs_db = true;
	c.seg[CS].ar = AR_CODE_XR | AR_DB;
	return c;
}

static void test_operand_64bit_base_index_disp(void **state)
{
	struct operand_ctx c = ctx64();
	struct vmx_mem_operand m;

	(void)state;
	c.gpr[RAX] = 0x100000;
	c.gpr[RBX] = 0x20;
	/* [rax + rbx*8 + 0x10] via DS: the DS base is ignored in 64-bit mode */
	c.seg[DS].base = 0x5555000;
	assert_int_equal(vmx_decode_mem_operand(info(3, 2, DS, RBX, RAX), 0x10, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(m.linear, 0x100000 + 0x20 * 8 + 0x10);
	assert_int_equal(m.seg, DS);
	assert_int_equal(m.addr_size, 8);
	/* negative displacement, sign-extended by the CPU in the qualification */
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, DS, NONE, RAX), (u64)-8, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(m.linear, 0x100000 - 8);
	/* scale 1 (x2) with r9 as index, r8 as base */
	c.gpr[R8] = 0x7000;
	c.gpr[R9] = 3;
	assert_int_equal(vmx_decode_mem_operand(info(1, 2, DS, R9, R8), 0, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(m.linear, 0x7006);
	/* no base, no index (RIP-relative: the qualification holds RIP + disp) */
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, DS, NONE, NONE), 0xffffffff80001000ULL, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(m.linear, 0xffffffff80001000ULL);
}

static void test_operand_64bit_fs_gs_base(void **state)
{
	struct operand_ctx c = ctx64();
	struct vmx_mem_operand m;

	(void)state;
	c.seg[FS].base = 0x7f0000000000ULL;
	c.seg[GS].base = 0xffff888000000000ULL;
	c.seg[ES].base = 0x1000;
	c.gpr[RDI] = 0x40;
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, FS, NONE, RDI), 0, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(m.linear, 0x7f0000000040ULL);
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, GS, NONE, RDI), 8, &c, 8, true, &m), OPF_NONE);
	assert_int_equal(m.linear, 0xffff888000000048ULL);
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, ES, NONE, RDI), 0, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(m.linear, 0x40);
}

static void test_operand_64bit_addr32_wraps(void **state)
{
	struct operand_ctx c = ctx64();
	struct vmx_mem_operand m;

	(void)state;
	/* 67h prefix: the effective address is truncated to 32 bits before
	 * the FS base is added */
	c.gpr[RSI] = 0x12fffffff0ULL;
	c.seg[FS].base = 0x100000000ULL;
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, FS, NONE, RSI), 0x20, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(m.addr_size, 4);
	assert_int_equal(m.linear, 0x100000010ULL);
}

static void test_operand_64bit_canonical(void **state)
{
	struct operand_ctx c = ctx64();
	struct vmx_mem_operand m;

	(void)state;
	c.gpr[RAX] = 0x0000800000000000ULL;
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, DS, NONE, RAX), 0, &c, 8, false, &m), OPF_GP);
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, SS, NONE, RAX), 0, &c, 8, false, &m), OPF_SS);
	/* the last byte of the access crosses into non-canonical space */
	c.gpr[RAX] = 0x00007ffffffffffcULL;
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, DS, NONE, RAX), 0, &c, 8, false, &m), OPF_GP);
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, DS, NONE, RAX), 0, &c, 4, false, &m), OPF_NONE);
	c.gpr[RAX] = 0xffff800000000000ULL;
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, DS, NONE, RAX), 0, &c, 8, false, &m), OPF_NONE);
	/* 5-level paging: 57-bit canonical */
	c.gpr[RAX] = 0x0080000000000000ULL;
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, DS, NONE, RAX), 0, &c, 8, false, &m), OPF_GP);
	c.la57 = true;
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, DS, NONE, RAX), 0, &c, 8, false, &m), OPF_NONE);
	c.gpr[RAX] = 0x0100000000000000ULL;
	assert_int_equal(vmx_decode_mem_operand(info(0, 2, DS, NONE, RAX), 0, &c, 8, false, &m), OPF_GP);
}

static void test_operand_32bit_limits(void **state)
{
	struct operand_ctx c = ctx32();
	struct vmx_mem_operand m;

	(void)state;
	c.seg[DS] = (struct seg_state){ .base = 0x10000, .limit = 0xfff, .ar = AR_DATA_RW | AR_DB };
	c.seg[SS] = c.seg[DS];
	c.gpr[RBX] = 0xff8;
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, RBX), 0, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(m.linear, 0x10ff8);
	c.gpr[RBX] = 0xffc;
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, RBX), 0, &c, 8, false, &m), OPF_GP);
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, SS, NONE, RBX), 0, &c, 8, false, &m), OPF_SS);
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, SS, NONE, RBX), 0, &c, 4, false, &m), OPF_NONE);
	/* linear addresses wrap at 4 GiB outside 64-bit mode */
	c.seg[DS] = (struct seg_state){ .base = 0xfffff000, .limit = 0xffffffff, .ar = AR_DATA_RW | AR_DB };
	c.gpr[RBX] = 0x2000;
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, RBX), 0, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(m.linear, 0x1000);
}

static void test_operand_expand_down(void **state)
{
	struct operand_ctx c = ctx32();
	struct vmx_mem_operand m;

	(void)state;
	/* expand-down, B = 1: valid offsets 0x1000 .. 0xffffffff */
	c.seg[DS] = (struct seg_state){ .base = 0, .limit = 0xfff, .ar = AR_DATA_RW_DOWN | AR_DB };
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, NONE), 0x1000, &c, 8, true, &m), OPF_NONE);
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, NONE), 0xffc, &c, 8, true, &m), OPF_GP);
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, NONE), 0xfff, &c, 1, true, &m), OPF_GP);
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, NONE), 0xfffffff8, &c, 8, true, &m), OPF_NONE);
	/* B = 0: upper bound 0xffff */
	c.seg[DS].ar = AR_DATA_RW_DOWN;
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, NONE), 0xfff8, &c, 8, true, &m), OPF_NONE);
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, NONE), 0xfffc, &c, 8, true, &m), OPF_GP);
}

static void test_operand_16bit_address(void **state)
{
	struct operand_ctx c = ctx32();
	struct vmx_mem_operand m;

	(void)state;
	c.seg[DS].base = 0x20000;
	c.gpr[RSI] = 0x1fffe;  /* upper bits are not part of a 16-bit address */
	c.gpr[RBX] = 0x10;
	assert_int_equal(vmx_decode_mem_operand(info(0, 0, DS, RSI, RBX), 4, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(m.addr_size, 2);
	assert_int_equal(m.linear, 0x20000 + ((0x1fffe + 0x10 + 4) & 0xffff));
}

static void test_operand_segment_type_and_usable(void **state)
{
	struct operand_ctx c = ctx32();
	struct vmx_mem_operand m;

	(void)state;
	c.seg[ES].ar = AR_DATA_RW | AR_UNUSABLE;
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, ES, NONE, NONE), 0, &c, 8, false, &m), OPF_GP);
	c.seg[SS].ar = AR_DATA_RW | AR_UNUSABLE;
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, SS, NONE, NONE), 0, &c, 8, false, &m), OPF_SS);
	/* read-only data: reads fine, writes #GP (VMPTRST, VMREAD to memory) */
	c.seg[DS].ar = AR_DATA_RO | AR_DB;
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, NONE), 0, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, DS, NONE, NONE), 0, &c, 8, true, &m), OPF_GP);
	/* code: execute-only faults on reads, any code segment on writes */
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, CS, NONE, NONE), 0, &c, 8, false, &m), OPF_NONE);
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, CS, NONE, NONE), 0, &c, 8, true, &m), OPF_GP);
	c.seg[CS].ar = AR_CODE_XO | AR_DB;
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, CS, NONE, NONE), 0, &c, 8, false, &m), OPF_GP);
	/* encodings the CPU never reports */
	assert_int_equal(vmx_decode_mem_operand(info(0, 3, DS, NONE, NONE), 0, &c, 8, false, &m), OPF_UD);
	assert_int_equal(vmx_decode_mem_operand(info(0, 1, 6, NONE, NONE), 0, &c, 8, false, &m), OPF_UD);
}

static void test_operand_registers(void **state)
{
	struct operand_ctx c = ctx64();
	/* VMREAD rbx <- field in rdx: bit 10 set, reg1 = 3 (bits 6:3), reg2 = 2 (31:28) */
	u32 i = 1u << 10 | 3u << 3 | 2u << 28;

	(void)state;
	assert_true(vmx_info_is_reg_operand(i));
	assert_false(vmx_info_is_reg_operand(info(0, 2, DS, NONE, RAX)));
	assert_int_equal(vmx_info_reg1(i), RBX);
	assert_int_equal(vmx_info_reg2(i), RDX);
	assert_int_equal(vmx_info_reg2(15u << 28), 15);
	c.gpr[RDX] = 0xdeadbeef00004402ULL;
	assert_int_equal(vmx_operand_size(&c), 8);
	assert_int_equal(vmx_reg_read(&c, RDX), 0xdeadbeef00004402ULL);
	c.long_mode = false;
	assert_int_equal(vmx_operand_size(&c), 4);
	assert_int_equal(vmx_reg_read(&c, RDX), 0x4402);
}

#define CR0_ON 0x80000031ULL   /* PG NE ET PE */
#define EFER_LMA_LME 0x500ULL
#define CS64 (AR_CODE_XR | AR_L)

static void test_operand_insn_precheck(void **state)
{
	(void)state;
	assert_int_equal(vmx_insn_precheck(true, CR0_ON, 0x2, EFER_LMA_LME, CS64, 0), OPF_NONE);
	assert_int_equal(vmx_insn_precheck(false, CR0_ON, 0x2, EFER_LMA_LME, CS64, 0), OPF_UD);
	assert_int_equal(vmx_insn_precheck(true, CR0_ON & ~1ULL, 0x2, 0, CS64, 0), OPF_UD);
	assert_int_equal(vmx_insn_precheck(true, CR0_ON, 0x20002, 0, AR_CODE_XR, 3), OPF_UD);
	/* compatibility mode: LMA with CS.L = 0 */
	assert_int_equal(vmx_insn_precheck(true, CR0_ON, 0x2, EFER_LMA_LME, AR_CODE_XR | AR_DB, 0), OPF_UD);
	/* legacy protected mode is fine */
	assert_int_equal(vmx_insn_precheck(true, CR0_ON, 0x2, 0, AR_CODE_XR | AR_DB, 0), OPF_NONE);
	/* #UD before #GP: CPL 3 outside VMX operation is #UD */
	assert_int_equal(vmx_insn_precheck(false, CR0_ON, 0x2, EFER_LMA_LME, CS64, 3), OPF_UD);
	assert_int_equal(vmx_insn_precheck(true, CR0_ON, 0x2, EFER_LMA_LME, CS64, 3), OPF_GP);
}

static struct vmxon_state vmxon_ok(void)
{
	/* Capability values as measured on Bochs corei7_skylake_x. */
	return (struct vmxon_state){
		.cr0 = CR0_ON, .cr4 = 0x2020 /* VMXE PAE */, .rflags = 0x2,
		.efer = EFER_LMA_LME, .cs_ar = CS64, .cpl = 0,
		.feature_control = 0x5,
		.cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff,
		.cr4_fixed0 = 0x2000, .cr4_fixed1 = 0x3727ff,
	};
}

static void test_operand_vmxon_precheck(void **state)
{
	struct vmxon_state s;

	(void)state;
	s = vmxon_ok();
	assert_int_equal(vmxon_precheck(&s), VMXON_OK);
	s.cr4 &= ~0x2000ULL;
	assert_int_equal(vmxon_precheck(&s), VMXON_UD);
	s = vmxon_ok(); s.cs_ar = AR_CODE_XR;
	assert_int_equal(vmxon_precheck(&s), VMXON_UD);
	s = vmxon_ok(); s.rflags |= 0x20000;
	assert_int_equal(vmxon_precheck(&s), VMXON_UD);
	/* #UD outranks #GP */
	s = vmxon_ok(); s.cpl = 3; s.cr0 &= ~1ULL;
	assert_int_equal(vmxon_precheck(&s), VMXON_UD);
	s = vmxon_ok(); s.cpl = 3;
	assert_int_equal(vmxon_precheck(&s), VMXON_GP);
	s = vmxon_ok(); s.cr0 &= ~0x20ULL;  /* CR0.NE is fixed to 1 */
	assert_int_equal(vmxon_precheck(&s), VMXON_GP);
	s = vmxon_ok(); s.cr4 |= 1ULL << 23;  /* clear in CR4_FIXED1 */
	assert_int_equal(vmxon_precheck(&s), VMXON_GP);
	s = vmxon_ok(); s.feature_control = 0x4;  /* not locked */
	assert_int_equal(vmxon_precheck(&s), VMXON_GP);
	s = vmxon_ok(); s.feature_control = 0x3;  /* only inside SMX */
	assert_int_equal(vmxon_precheck(&s), VMXON_GP);
	/* in VMX operation: #GP at CPL > 0, else VMfail, whatever CR0/CR4 */
	s = vmxon_ok(); s.in_vmx_operation = true;
	assert_int_equal(vmxon_precheck(&s), VMXON_VMFAIL_IN_ROOT);
	s.cpl = 1;
	assert_int_equal(vmxon_precheck(&s), VMXON_GP);
}

static void test_operand_vmxon_region(void **state)
{
	(void)state;
	assert_int_equal(vmxon_region_check(0x12345000, 39, VMCS12_REV, VMCS12_REV), VMXON_OK);
	assert_int_equal(vmxon_region_check(0x12345800, 39, VMCS12_REV, VMCS12_REV), VMXON_VMFAIL_INVALID);
	assert_int_equal(vmxon_region_check(1ULL << 39, 39, VMCS12_REV, VMCS12_REV), VMXON_VMFAIL_INVALID);
	assert_int_equal(vmxon_region_check((1ULL << 39) - 4096, 39, VMCS12_REV, VMCS12_REV), VMXON_OK);
	assert_int_equal(vmxon_region_check(0x1000, 39, VMCS12_REV + 1, VMCS12_REV), VMXON_VMFAIL_INVALID);
	assert_int_equal(vmxon_region_check(0x1000, 39, VMCS12_REV | 0x80000000u, VMCS12_REV), VMXON_VMFAIL_INVALID);
	assert_true(vmx_phys_ptr_valid(0xfffff000, 32));
	assert_false(vmx_phys_ptr_valid(0x100000000ULL, 32));
}

int unit_operand(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operand_64bit_base_index_disp),
		cmocka_unit_test(test_operand_64bit_fs_gs_base),
		cmocka_unit_test(test_operand_64bit_addr32_wraps),
		cmocka_unit_test(test_operand_64bit_canonical),
		cmocka_unit_test(test_operand_32bit_limits),
		cmocka_unit_test(test_operand_expand_down),
		cmocka_unit_test(test_operand_16bit_address),
		cmocka_unit_test(test_operand_segment_type_and_usable),
		cmocka_unit_test(test_operand_registers),
		cmocka_unit_test(test_operand_insn_precheck),
		cmocka_unit_test(test_operand_vmxon_precheck),
		cmocka_unit_test(test_operand_vmxon_region),
	};

	return cmocka_run_group_tests_name("operand", tests, NULL, NULL);
}
