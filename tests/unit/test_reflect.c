/* Exit reflection: one case that goes to L1 and one that stays with L0 for
 * each rule. Qualifications and the I/O and MSR bitmaps are laid out here
 * from the SDM's tables, not with reflect.c's helpers. */
#include "unit.h"
#include <string.h>
#include "nested/reflect.h"
#include "exit_reason.h"
#include "vmcs.h"

#define IO_A_GPA 0x10000ULL
#define IO_B_GPA 0x11000ULL
#define MSR_GPA 0x12000ULL
#define MEM_BASE 0x10000ULL
#define MEM_PAGES 3

static u8 l1_mem[MEM_PAGES * 4096];
static struct vmcs12 v12;
static struct reflect_ctx rc = { .v12 = &v12 };

static int rd(void *ctx, u64 gpa, void *buf, u32 len)
{
	(void)ctx;
	if (gpa < MEM_BASE || gpa + len > MEM_BASE + sizeof(l1_mem))
		return -1;
	memcpy(buf, l1_mem + (gpa - MEM_BASE), len);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	memset(&v12, 0, sizeof(v12));
	memset(l1_mem, 0, sizeof(l1_mem));
	rc.read_phys = rd;
	v12.io_bitmap_a = IO_A_GPA;
	v12.io_bitmap_b = IO_B_GPA;
	v12.msr_bitmap = MSR_GPA;
	return 0;
}

static void set_bit_at(u64 gpa, u32 bit)
{
	l1_mem[gpa - MEM_BASE + bit / 8] |= (u8)(1u << (bit % 8));
}

static bool to_l1(struct l2_exit e)
{
	return nested_exit_to_l1(&rc, &e);
}

static bool exit_only(u32 reason)
{
	return to_l1((struct l2_exit){ .reason = reason });
}

/* Interruption information: vector 7:0, type 10:8, error code 11, valid 31. */
static u32 intr(u32 vector, u32 type, bool ec)
{
	return vector | type << 8 | (ec ? 1u << 11 : 0) | 1u << 31;
}

static void test_reflect_exception_bitmap(void **state)
{
	struct l2_exit ud = { .reason = 0, .intr_info = intr(6, 3, false) };
	struct l2_exit bp = { .reason = 0, .intr_info = intr(3, 6, false) };
	struct l2_exit nmi = { .reason = 0, .intr_info = intr(2, 2, false) };

	(void)state;
	assert_false(to_l1(ud));
	assert_false(to_l1(bp));
	v12.exception_bitmap = 1u << 6 | 1u << 3;
	assert_true(to_l1(ud));
	assert_true(to_l1(bp));  /* INT3 uses the bitmap too */
	/* NMIs follow "NMI exiting", not bit 2 of the bitmap */
	v12.exception_bitmap = 1u << 2;
	assert_false(to_l1(nmi));
	v12.pin_based_vm_exec_control = PIN_BASED_NMI_EXITING;
	assert_true(to_l1(nmi));
}

static void test_reflect_page_fault_mask_match(void **state)
{
	struct l2_exit pf_w = { .reason = 0, .intr_info = intr(14, 3, true), .intr_error = 0x2 };
	struct l2_exit pf_r = pf_w;

	(void)state;
	pf_r.intr_error = 0x4;
	assert_false(to_l1(pf_w));
	/* bit 14 set, mask 0 = match 0: every #PF */
	v12.exception_bitmap = 1u << 14;
	assert_true(to_l1(pf_w));
	assert_true(to_l1(pf_r));
	/* only write faults: PFEC & 2 == 2 */
	v12.page_fault_error_code_mask = 0x2;
	v12.page_fault_error_code_match = 0x2;
	assert_true(to_l1(pf_w));
	assert_false(to_l1(pf_r));
	/* bit 14 clear inverts: every #PF except write faults */
	v12.exception_bitmap = 0;
	assert_false(to_l1(pf_w));
	assert_true(to_l1(pf_r));
}

static void test_reflect_interrupts_and_windows(void **state)
{
	(void)state;
	assert_false(exit_only(EXIT_REASON_EXTERNAL_INTERRUPT));
	v12.pin_based_vm_exec_control = PIN_BASED_EXT_INTR_MASK;
	assert_true(exit_only(EXIT_REASON_EXTERNAL_INTERRUPT));
	assert_false(exit_only(EXIT_REASON_INTERRUPT_WINDOW));
	assert_false(exit_only(EXIT_REASON_NMI_WINDOW));
	v12.cpu_based_vm_exec_control = CPU_BASED_INTR_WINDOW_EXITING;
	assert_true(exit_only(EXIT_REASON_INTERRUPT_WINDOW));
	assert_false(exit_only(EXIT_REASON_NMI_WINDOW));
	v12.cpu_based_vm_exec_control = CPU_BASED_NMI_WINDOW_EXITING;
	assert_true(exit_only(EXIT_REASON_NMI_WINDOW));
	/* TPR below threshold: L1's when L1 uses the TPR shadow */
	assert_false(exit_only(EXIT_REASON_TPR_BELOW_THRESHOLD));
	v12.cpu_based_vm_exec_control = CPU_BASED_TPR_SHADOW;
	assert_true(exit_only(EXIT_REASON_TPR_BELOW_THRESHOLD));
}

static void test_reflect_unconditional(void **state)
{
	static const u32 always[] = { 2, 3, 4, 9, 10, 11, 13, 18, 19, 20, 21, 22, 23,
				      24, 25, 26, 27, 50, 53, 55 };

	(void)state;
	/* every control 0 */
	for (size_t i = 0; i < ARRAY_SIZE(always); i++)
		assert_true(exit_only(always[i]));
}

static void test_reflect_l0_only(void **state)
{
	/* EPT violation/misconfiguration, MTF, APIC access, virtualized EOI,
	 * APIC write, VMFUNC, ENCLS, PML full, SMIs, RSM,
	 * VM-entry failures, and an undefined number */
	static const u32 never[] = { 48, 49, 37, 44, 45, 56, 59, 60, 62, 5, 6, 17,
				     33, 34, 41, 200 };

	(void)state;
	v12.pin_based_vm_exec_control = 0xffffffff;
	v12.cpu_based_vm_exec_control = 0xffffffff;
	v12.secondary_vm_exec_control = 0xffffffff;
	for (size_t i = 0; i < ARRAY_SIZE(never); i++)
		assert_false(exit_only(never[i]));
}

static void test_reflect_primary_instruction_controls(void **state)
{
	static const struct { u32 reason, ctl; } rules[] = {
		{ 12, 1u << 7 },   /* HLT exiting */
		{ 14, 1u << 9 },   /* INVLPG exiting */
		{ 36, 1u << 10 },  /* MWAIT exiting */
		{ 15, 1u << 11 },  /* RDPMC exiting */
		{ 16, 1u << 12 },  /* RDTSC exiting */
		{ 29, 1u << 23 },  /* MOV-DR exiting */
		{ 39, 1u << 29 },  /* MONITOR exiting */
		{ 40, 1u << 30 },  /* PAUSE exiting */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		v12.cpu_based_vm_exec_control = ~rules[i].ctl;
		assert_false(exit_only(rules[i].reason));
		v12.cpu_based_vm_exec_control = rules[i].ctl;
		assert_true(exit_only(rules[i].reason));
	}
}

static void test_reflect_secondary_controls(void **state)
{
	static const struct { u32 reason, sec; } rules[] = {
		{ 54, 1u << 6 },   /* WBINVD exiting */
		{ 46, 1u << 2 },   /* descriptor-table exiting: GDTR/IDTR */
		{ 47, 1u << 2 },   /* ... LDTR/TR */
		{ 57, 1u << 11 },  /* RDRAND exiting */
		{ 61, 1u << 16 },  /* RDSEED exiting */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		v12.secondary_vm_exec_control = rules[i].sec;
		v12.cpu_based_vm_exec_control = 0;  /* secondary controls inactive */
		assert_false(exit_only(rules[i].reason));
		v12.cpu_based_vm_exec_control = CPU_BASED_ACTIVATE_SECONDARY;
		assert_true(exit_only(rules[i].reason));
		v12.secondary_vm_exec_control = ~rules[i].sec;
		assert_false(exit_only(rules[i].reason));
	}
}

static void test_reflect_rdtscp_invpcid(void **state)
{
	(void)state;
	/* RDTSCP: RDTSC exiting and enable RDTSCP */
	v12.cpu_based_vm_exec_control = CPU_BASED_RDTSC_EXITING | CPU_BASED_ACTIVATE_SECONDARY;
	assert_false(exit_only(EXIT_REASON_RDTSCP));
	v12.secondary_vm_exec_control = SECONDARY_ENABLE_RDTSCP;
	assert_true(exit_only(EXIT_REASON_RDTSCP));
	v12.cpu_based_vm_exec_control = CPU_BASED_ACTIVATE_SECONDARY;
	assert_false(exit_only(EXIT_REASON_RDTSCP));
	/* INVPCID: INVLPG exiting and enable INVPCID */
	v12.cpu_based_vm_exec_control = CPU_BASED_INVLPG_EXITING | CPU_BASED_ACTIVATE_SECONDARY;
	assert_false(exit_only(EXIT_REASON_INVPCID));
	v12.secondary_vm_exec_control = SECONDARY_ENABLE_INVPCID;
	assert_true(exit_only(EXIT_REASON_INVPCID));
}

static void test_reflect_xsaves(void **state)
{
	struct l2_exit e = { .reason = EXIT_REASON_XSAVES, .edx_eax = 0x300, .ia32_xss = 0x100 };

	(void)state;
	v12.cpu_based_vm_exec_control = CPU_BASED_ACTIVATE_SECONDARY;
	v12.secondary_vm_exec_control = SECONDARY_ENABLE_XSAVES;
	v12.xss_exit_bitmap = 0x100;
	assert_true(to_l1(e));
	e.reason = EXIT_REASON_XRSTORS;
	assert_true(to_l1(e));
	/* no bit in all three */
	e.ia32_xss = 0x200;
	assert_false(to_l1(e));
	e.ia32_xss = 0x100;
	v12.xss_exit_bitmap = 0x200;
	assert_false(to_l1(e));
}

/* CR-access qualification: CR 3:0, type 5:4, GPR 11:8, LMSW data 31:16. */
static struct l2_exit cr_exit(u32 cr, u32 type, u64 value, u16 lmsw)
{
	return (struct l2_exit){ .reason = 28, .qualification = cr | type << 4 | 1u << 8 |
				 (u64)lmsw << 16, .cr_value = value };
}

static void test_reflect_mov_to_cr0_cr4(void **state)
{
	(void)state;
	v12.cr0_guest_host_mask = 0x80000021;  /* PG NE PE owned by L1 */
	v12.cr0_read_shadow = 0x80000031;
	assert_false(to_l1(cr_exit(0, 0, 0x80000031, 0)));
	assert_false(to_l1(cr_exit(0, 0, 0x8005003b, 0)));  /* only unowned bits differ */
	assert_true(to_l1(cr_exit(0, 0, 0x00000031, 0)));   /* PG */
	v12.cr4_guest_host_mask = 0x2000;  /* VMXE */
	v12.cr4_read_shadow = 0;
	assert_false(to_l1(cr_exit(4, 0, 0x6f0, 0)));
	assert_true(to_l1(cr_exit(4, 0, 0x26f0, 0)));
	/* reads of CR0/CR4 never exit */
	assert_false(to_l1(cr_exit(0, 1, 0, 0)));
}

static void test_reflect_clts_lmsw(void **state)
{
	(void)state;
	/* CLTS: TS set in both mask and shadow */
	v12.cr0_guest_host_mask = 0x8;
	assert_false(to_l1(cr_exit(0, 2, 0, 0)));
	v12.cr0_read_shadow = 0x8;
	assert_true(to_l1(cr_exit(0, 2, 0, 0)));
	v12.cr0_guest_host_mask = 0;
	assert_false(to_l1(cr_exit(0, 2, 0, 0)));

	/* LMSW: MP, EM, TS owned, shadow 0x1 */
	v12.cr0_guest_host_mask = 0xf;
	v12.cr0_read_shadow = 0x1;
	assert_false(to_l1(cr_exit(0, 3, 0, 0x1)));
	assert_false(to_l1(cr_exit(0, 3, 0, 0xfff1)));  /* bits above 3 are not CR0's */
	assert_true(to_l1(cr_exit(0, 3, 0, 0x9)));      /* TS differs */
	assert_false(to_l1(cr_exit(0, 3, 0, 0x0)));     /* LMSW cannot clear PE */
	v12.cr0_read_shadow = 0;
	assert_true(to_l1(cr_exit(0, 3, 0, 0x1)));      /* sets PE, shadow PE = 0 */
	v12.cr0_guest_host_mask = 0x6;
	assert_false(to_l1(cr_exit(0, 3, 0, 0x9)));     /* PE and TS not owned */
}

static void test_reflect_cr3(void **state)
{
	(void)state;
	assert_false(to_l1(cr_exit(3, 0, 0x1000, 0)));
	v12.cpu_based_vm_exec_control = CPU_BASED_CR3_LOAD_EXITING;
	assert_true(to_l1(cr_exit(3, 0, 0x1000, 0)));  /* count 0: always */
	v12.cr3_target_count = 2;
	v12.cr3_target_value0 = 0x5000;
	v12.cr3_target_value1 = 0x1000;
	v12.cr3_target_value2 = 0x7000;
	assert_false(to_l1(cr_exit(3, 0, 0x1000, 0)));
	assert_true(to_l1(cr_exit(3, 0, 0x7000, 0)));  /* beyond the count */
	v12.cr3_target_count = 3;
	assert_false(to_l1(cr_exit(3, 0, 0x7000, 0)));
	/* CR3 store */
	assert_false(to_l1(cr_exit(3, 1, 0, 0)));
	v12.cpu_based_vm_exec_control = CPU_BASED_CR3_STORE_EXITING;
	assert_true(to_l1(cr_exit(3, 1, 0, 0)));
}

static void test_reflect_cr8(void **state)
{
	(void)state;
	/* TPR shadow alone: CR8 accesses go to the virtual-APIC page */
	v12.cpu_based_vm_exec_control = CPU_BASED_TPR_SHADOW;
	assert_false(to_l1(cr_exit(8, 0, 0xf, 0)));
	assert_false(to_l1(cr_exit(8, 1, 0, 0)));
	v12.cpu_based_vm_exec_control = CPU_BASED_TPR_SHADOW | CPU_BASED_CR8_LOAD_EXITING;
	assert_true(to_l1(cr_exit(8, 0, 0xf, 0)));
	assert_false(to_l1(cr_exit(8, 1, 0, 0)));
	v12.cpu_based_vm_exec_control = CPU_BASED_CR8_STORE_EXITING;
	assert_false(to_l1(cr_exit(8, 0, 0xf, 0)));
	assert_true(to_l1(cr_exit(8, 1, 0, 0)));
}

/* I/O qualification: size-1 2:0, IN 3, string 4, REP 5, port 31:16. */
static struct l2_exit io_exit(u16 port, u32 size, bool in, bool rep_string)
{
	return (struct l2_exit){ .reason = 30, .qualification = (size - 1) | (in ? 8u : 0) |
				 (rep_string ? 0x30u : 0) | (u64)port << 16 };
}

static void test_reflect_io(void **state)
{
	(void)state;
	assert_false(to_l1(io_exit(0x3f8, 1, false, false)));
	v12.cpu_based_vm_exec_control = CPU_BASED_UNCOND_IO_EXITING;
	assert_true(to_l1(io_exit(0x3f8, 1, false, false)));
	/* with bitmaps, unconditional I/O exiting is ignored */
	v12.cpu_based_vm_exec_control = CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_USE_IO_BITMAPS;
	assert_false(to_l1(io_exit(0x3f8, 1, false, false)));
	/* wrapping past 0xffff always exits, with clear bitmaps */
	assert_true(to_l1(io_exit(0xfffd, 4, false, false)));
	assert_true(to_l1(io_exit(0xffff, 2, true, false)));
	assert_false(to_l1(io_exit(0xffff, 1, true, false)));
	set_bit_at(IO_A_GPA, 0x3f8);
	assert_true(to_l1(io_exit(0x3f8, 1, true, true)));
	assert_false(to_l1(io_exit(0x3f9, 1, false, true)));
	/* a 4-byte access at 0x3f5 covers 0x3f8 */
	assert_true(to_l1(io_exit(0x3f5, 4, false, false)));
	assert_false(to_l1(io_exit(0x3f4, 4, false, false)));
	/* bitmap B: port 0x8000 is its bit 0; a word at 0x7fff spans A and B */
	assert_false(to_l1(io_exit(0x7fff, 2, false, false)));
	set_bit_at(IO_B_GPA, 0);
	assert_true(to_l1(io_exit(0x7fff, 2, false, false)));
	set_bit_at(IO_B_GPA, 0x7ffa);  /* port 0xfffa */
	assert_true(to_l1(io_exit(0xfffa, 1, false, false)));
	assert_false(to_l1(io_exit(0xfffb, 4, false, false)));  /* ends at 0xfffe */
	/* an unreadable bitmap reads as ones */
	v12.io_bitmap_a = 0x900000;
	assert_true(to_l1(io_exit(0x60, 1, true, false)));
}

static void test_reflect_msr(void **state)
{
	struct l2_exit rdmsr = { .reason = 31, .msr = 0x10 };
	struct l2_exit wrmsr = { .reason = 32, .msr = 0x10 };

	(void)state;
	/* without MSR bitmaps every RDMSR/WRMSR exits */
	assert_true(to_l1(rdmsr));
	assert_true(to_l1(wrmsr));
	v12.cpu_based_vm_exec_control = CPU_BASED_USE_MSR_BITMAPS;
	assert_false(to_l1(rdmsr));
	assert_false(to_l1(wrmsr));
	/* read-low bitmap at byte 0, write-low at byte 2048 */
	set_bit_at(MSR_GPA, 0x10);
	assert_true(to_l1(rdmsr));
	assert_false(to_l1(wrmsr));
	set_bit_at(MSR_GPA, 2048 * 8 + 0x10);
	assert_true(to_l1(wrmsr));
	/* high MSRs: read-high at byte 1024, write-high at byte 3072 */
	rdmsr.msr = wrmsr.msr = 0xc0000080;
	assert_false(to_l1(rdmsr));
	set_bit_at(MSR_GPA, 3072 * 8 + 0x80);
	assert_false(to_l1(rdmsr));
	assert_true(to_l1(wrmsr));
	rdmsr.msr = 0xc0001fff;
	set_bit_at(MSR_GPA, 1024 * 8 + 0x1fff);
	assert_true(to_l1(rdmsr));
	rdmsr.msr = 0x1fff;
	assert_false(to_l1(rdmsr));
	/* outside both ranges: always */
	rdmsr.msr = 0x2000;
	assert_true(to_l1(rdmsr));
	rdmsr.msr = 0x40000000;
	assert_true(to_l1(rdmsr));
	wrmsr.msr = 0xc0002000;
	assert_true(to_l1(wrmsr));
	/* the helper agrees */
	assert_true(nested_msr_exits(&rc, 0xc0000080, true));
	assert_false(nested_msr_exits(&rc, 0xc0000080, false));
}

/* 26.5.1: the VMX-preemption timer's exit is L1's when L1 activated it. */
static void test_reflect_preemption_timer(void **state)
{
	(void)state;
	assert_false(exit_only(EXIT_REASON_PREEMPTION_TIMER));
	v12.pin_based_vm_exec_control = PIN_BASED_VMX_PREEMPTION_TIMER;
	assert_true(exit_only(EXIT_REASON_PREEMPTION_TIMER));
}

/* 26.1.3 VMREAD/VMWRITE: unconditional without "VMCS shadowing"; with it,
 * bits 63:15 of the encoding set, or the encoding's bit (14:0) set in the
 * VMREAD or VMWRITE bitmap; a bitmap where no memory is reads as ones. */
static void test_reflect_vmread_vmwrite(void **state)
{
	struct l2_exit rd_rip = { .reason = EXIT_REASON_VMREAD, .vmcs_field = 0x681e };
	struct l2_exit wr_rip = { .reason = EXIT_REASON_VMWRITE, .vmcs_field = 0x681e };

	(void)state;
	assert_true(to_l1(rd_rip));
	v12.cpu_based_vm_exec_control = CPU_BASED_ACTIVATE_SECONDARY;
	v12.secondary_vm_exec_control = SECONDARY_VMCS_SHADOWING;
	v12.vmread_bitmap = IO_A_GPA;
	v12.vmwrite_bitmap = IO_B_GPA;
	assert_false(to_l1(rd_rip));
	assert_false(to_l1(wr_rip));
	set_bit_at(IO_A_GPA, 0x681e);
	assert_true(to_l1(rd_rip));   /* the VMREAD bitmap's bit */
	assert_false(to_l1(wr_rip));  /* the VMWRITE bitmap decides VMWRITE */
	set_bit_at(IO_B_GPA, 0x681e);
	assert_true(to_l1(wr_rip));
	/* Bits 63:15 set exit whatever the bitmap says (bit 0x8000 would be
	 * bit 0 of the bitmap). */
	struct l2_exit high = { .reason = EXIT_REASON_VMREAD, .vmcs_field = 0x8000 };
	assert_true(to_l1(high));
	high.vmcs_field = 1ULL << 40;
	assert_true(to_l1(high));
	/* Secondary controls inactive: shadowing off. */
	v12.cpu_based_vm_exec_control = 0;
	struct l2_exit es = { .reason = EXIT_REASON_VMREAD, .vmcs_field = 0x0800 };
	assert_true(to_l1(es));
	v12.cpu_based_vm_exec_control = CPU_BASED_ACTIVATE_SECONDARY;
	assert_false(to_l1(es));
	v12.vmread_bitmap = 0x7f000000; /* no memory there */
	assert_true(to_l1(es));
}

#define T(f) cmocka_unit_test_setup(f, setup)

int unit_reflect(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reflect_exception_bitmap),
		T(test_reflect_page_fault_mask_match),
		T(test_reflect_interrupts_and_windows),
		T(test_reflect_unconditional),
		T(test_reflect_l0_only),
		T(test_reflect_primary_instruction_controls),
		T(test_reflect_secondary_controls),
		T(test_reflect_rdtscp_invpcid),
		T(test_reflect_xsaves),
		T(test_reflect_mov_to_cr0_cr4),
		T(test_reflect_clts_lmsw),
		T(test_reflect_cr3),
		T(test_reflect_cr8),
		T(test_reflect_io),
		T(test_reflect_msr),
		T(test_reflect_preemption_timer),
		T(test_reflect_vmread_vmwrite),
	};

	return cmocka_run_group_tests_name("reflect", tests, NULL, NULL);
}
