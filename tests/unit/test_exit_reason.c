/* Exit-reason names and the exit-information decoders, against the SDM's
 * bit layouts (values written out by hand here, not taken from the header). */
#include "unit.h"
#include <string.h>
#include "exit_reason.h"

/* SDM Appendix C "VMX Basic Exit Reasons", typed in independently. */
static const struct {
	u32 reason;
	const char *name;
} sdm_reasons[] = {
	{ 0, "EXCEPTION_NMI" }, { 1, "EXTERNAL_INTERRUPT" }, { 2, "TRIPLE_FAULT" },
	{ 3, "INIT_SIGNAL" }, { 4, "SIPI" }, { 5, "IO_SMI" }, { 6, "OTHER_SMI" },
	{ 7, "INTERRUPT_WINDOW" }, { 8, "NMI_WINDOW" }, { 9, "TASK_SWITCH" },
	{ 10, "CPUID" }, { 11, "GETSEC" }, { 12, "HLT" }, { 13, "INVD" },
	{ 14, "INVLPG" }, { 15, "RDPMC" }, { 16, "RDTSC" }, { 17, "RSM" },
	{ 18, "VMCALL" }, { 19, "VMCLEAR" }, { 20, "VMLAUNCH" }, { 21, "VMPTRLD" },
	{ 22, "VMPTRST" }, { 23, "VMREAD" }, { 24, "VMRESUME" }, { 25, "VMWRITE" },
	{ 26, "VMXOFF" }, { 27, "VMXON" }, { 28, "CR_ACCESS" }, { 29, "DR_ACCESS" },
	{ 30, "IO_INSTRUCTION" }, { 31, "RDMSR" }, { 32, "WRMSR" },
	{ 33, "ENTRY_FAIL_GUEST_STATE" }, { 34, "ENTRY_FAIL_MSR_LOADING" },
	{ 36, "MWAIT" }, { 37, "MONITOR_TRAP_FLAG" }, { 39, "MONITOR" },
	{ 40, "PAUSE" }, { 41, "ENTRY_FAIL_MACHINE_CHECK" },
	{ 43, "TPR_BELOW_THRESHOLD" }, { 44, "APIC_ACCESS" },
	{ 45, "VIRTUALIZED_EOI" }, { 46, "GDTR_IDTR" }, { 47, "LDTR_TR" },
	{ 48, "EPT_VIOLATION" }, { 49, "EPT_MISCONFIG" }, { 50, "INVEPT" },
	{ 51, "RDTSCP" }, { 52, "PREEMPTION_TIMER" }, { 53, "INVVPID" },
	{ 54, "WBINVD" }, { 55, "XSETBV" }, { 56, "APIC_WRITE" }, { 57, "RDRAND" },
	{ 58, "INVPCID" }, { 59, "VMFUNC" }, { 60, "ENCLS" }, { 61, "RDSEED" },
	{ 62, "PML_FULL" }, { 63, "XSAVES" }, { 64, "XRSTORS" }, { 66, "SPP" },
	{ 67, "UMWAIT" }, { 68, "TPAUSE" }, { 69, "LOADIWKEY" },
};

static void test_names_match_sdm(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sdm_reasons); i++)
		assert_string_equal(exit_reason_name(sdm_reasons[i].reason), sdm_reasons[i].name);
	assert_int_equal(EXIT_REASON_XSETBV, 55);
	assert_int_equal(EXIT_REASON_EPT_VIOLATION, 48);
	assert_int_equal(EXIT_REASON_LOADIWKEY, 69);
}

static void test_undefined_reasons_unknown(void **state)
{
	static const u32 undefined[] = { 35, 38, 42, 65, 70, 79, 0xffff, 0x80000021 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(undefined); i++)
		assert_string_equal(exit_reason_name(undefined[i]), "UNKNOWN");
}

static void test_exit_reason_decode(void **state)
{
	struct exit_reason_info i;

	(void)state;
	/* VM-entry failure due to invalid guest state: bit 31 | 33. */
	i = exit_reason_decode(0x80000021u);
	assert_int_equal(i.basic, 33);
	assert_true(i.entry_failure);
	assert_false(i.enclave || i.pending_mtf || i.from_vmx_root);

	i = exit_reason_decode((1u << 27) | 12);
	assert_int_equal(i.basic, 12);
	assert_true(i.enclave);
	assert_false(i.pending_mtf || i.from_vmx_root || i.entry_failure);

	i = exit_reason_decode((1u << 28) | (1u << 29) | 0xffff);
	assert_int_equal(i.basic, 0xffff);
	assert_true(i.pending_mtf && i.from_vmx_root);
	assert_false(i.enclave || i.entry_failure);

	/* Bits 26:16 and 30 are not part of the basic reason. */
	i = exit_reason_decode(0x47ff0000u | 10);
	assert_int_equal(i.basic, 10);
	assert_false(i.enclave || i.pending_mtf || i.from_vmx_root || i.entry_failure);
}

static void test_cr_access_decode(void **state)
{
	struct cr_access a;

	(void)state;
	/* MOV CR3, RAX: CR 3, type 0, register 0. */
	a = cr_access_decode(0x3);
	assert_int_equal(a.cr, 3);
	assert_int_equal(a.type, CR_ACCESS_MOV_TO);
	assert_int_equal(CR_ACCESS_MOV_TO, 0);
	assert_int_equal(a.gpr, 0);

	/* MOV R15, CR8: CR 8, type 1 (bits 5:4), register 15 (bits 11:8). */
	a = cr_access_decode(8 | (1 << 4) | (15 << 8));
	assert_int_equal(a.cr, 8);
	assert_int_equal(a.type, CR_ACCESS_MOV_FROM);
	assert_int_equal(a.gpr, 15);

	/* MOV CR4, RSI (register 6 in SDM order). */
	a = cr_access_decode(4 | (6 << 8));
	assert_int_equal(a.cr, 4);
	assert_int_equal(a.gpr, 6);

	/* CLTS: type 2, CR 0. */
	a = cr_access_decode(2 << 4);
	assert_int_equal(a.type, CR_ACCESS_CLTS);
	assert_int_equal(a.cr, 0);

	/* LMSW from memory with source data 0x000f: type 3, bit 6, bits 31:16. */
	a = cr_access_decode((3 << 4) | (1 << 6) | (0xfull << 16));
	assert_int_equal(a.type, CR_ACCESS_LMSW);
	assert_true(a.lmsw_memory);
	assert_int_equal(a.lmsw_source_data, 0xf);

	/* LMSW from a register: operand type 0, data 0x8001. */
	a = cr_access_decode((3 << 4) | (0x8001ull << 16));
	assert_false(a.lmsw_memory);
	assert_int_equal(a.lmsw_source_data, 0x8001);
}

static void test_io_access_decode(void **state)
{
	struct io_access a;

	(void)state;
	/* OUT 0x80, AL: size 1 (bits 2:0 = 0), out, immediate (bit 6). */
	a = io_access_decode((1 << 6) | (0x80ull << 16));
	assert_int_equal(a.port, 0x80);
	assert_int_equal(a.size, 1);
	assert_false(a.in || a.string || a.rep);
	assert_true(a.imm);

	/* REP INSW from DX = 0x1f0: size 2 (1), in, string, rep. */
	a = io_access_decode(1 | (1 << 3) | (1 << 4) | (1 << 5) | (0x1f0ull << 16));
	assert_int_equal(a.port, 0x1f0);
	assert_int_equal(a.size, 2);
	assert_true(a.in && a.string && a.rep);
	assert_false(a.imm);

	/* IN EAX, DX = 0xcfc: size 4 (3). */
	a = io_access_decode(3 | (1 << 3) | (0xcfcull << 16));
	assert_int_equal(a.port, 0xcfc);
	assert_int_equal(a.size, 4);
	assert_true(a.in);

	a = io_access_decode(0xffffull << 16);
	assert_int_equal(a.port, 0xffff);
}

static void test_ept_violation_decode(void **state)
{
	struct ept_violation v;

	(void)state;
	/* A write to a read-only, executable page through a linear address. */
	v = ept_violation_decode((1 << 1) | (1 << 3) | (1 << 5) | (1 << 7) | (1 << 8));
	assert_true(v.write && v.readable && v.executable);
	assert_false(v.read || v.exec || v.writable);
	assert_true(v.gla_valid && v.gla_is_translation);
	assert_false(v.nmi_unblocking);

	/* Instruction fetch from a not-present page, NMI unblocking (bit 12). */
	v = ept_violation_decode((1 << 2) | (1 << 12));
	assert_true(v.exec && v.nmi_unblocking);
	assert_false(v.read || v.write || v.readable || v.writable || v.executable);
	assert_false(v.gla_valid);

	/* Bit 8 means nothing without bit 7 (e.g. a paging-structure access). */
	v = ept_violation_decode((1 << 0) | (1 << 8) | (1 << 4));
	assert_true(v.read && v.writable);
	assert_false(v.gla_valid || v.gla_is_translation);
}

static void test_intr_info(void **state)
{
	struct intr_info i;

	(void)state;
	/* #PF: vector 14, hardware exception (3), error code, valid. */
	i = intr_info_decode(0x80000b0eu);
	assert_int_equal(i.vector, 14);
	assert_int_equal(i.type, INTR_TYPE_HW_EXCEPTION);
	assert_true(i.error_code_valid && i.valid);
	assert_false(i.nmi_unblocking);

	/* NMI with NMI unblocking due to IRET. */
	i = intr_info_decode(0x80001202u);
	assert_int_equal(i.vector, 2);
	assert_int_equal(i.type, INTR_TYPE_NMI);
	assert_true(i.nmi_unblocking && i.valid);
	assert_false(i.error_code_valid);

	i = intr_info_decode(0x000000ffu | (7 << 8));
	assert_false(i.valid);
	assert_int_equal(i.type, INTR_TYPE_OTHER);

	assert_int_equal(intr_info_encode(14, INTR_TYPE_HW_EXCEPTION, true), 0x80000b0eu);
	assert_int_equal(intr_info_encode(13, INTR_TYPE_HW_EXCEPTION, true), 0x80000b0du);
	assert_int_equal(intr_info_encode(0x30, INTR_TYPE_EXT_INTR, false), 0x80000030u);
	assert_int_equal(intr_info_encode(3, INTR_TYPE_SW_EXCEPTION, false), 0x80000603u);
	assert_int_equal(intr_info_encode(0x80, INTR_TYPE_SW_INT, false), 0x80000480u);
	assert_int_equal(intr_info_encode(1, INTR_TYPE_PRIV_SW_EXCEPTION, false), 0x80000501u);

	/* Round trip over every vector and type. */
	for (u32 type = 0; type < 8; type++) {
		for (u32 vec = 0; vec < 256; vec++) {
			i = intr_info_decode(intr_info_encode((u8)vec, (u8)type, vec & 1));
			assert_int_equal(i.vector, vec);
			assert_int_equal(i.type, type);
			assert_int_equal(i.error_code_valid, vec & 1);
			assert_true(i.valid);
			assert_false(i.nmi_unblocking);
		}
	}
}

int unit_exit_reason(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_match_sdm),
		cmocka_unit_test(test_undefined_reasons_unknown),
		cmocka_unit_test(test_exit_reason_decode),
		cmocka_unit_test(test_cr_access_decode),
		cmocka_unit_test(test_io_access_decode),
		cmocka_unit_test(test_ept_violation_decode),
		cmocka_unit_test(test_intr_info),
	};

	return cmocka_run_group_tests_name("exit_reason", tests, NULL, NULL);
}
