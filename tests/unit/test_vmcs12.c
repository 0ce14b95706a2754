/* VMCS12 layout, field table and VMREAD/VMWRITE semantics. Expected
 * widths and types are decoded here from the encodings (SDM 25.11.2
 * "VMCS Field Encoding"), independently of vmcs12.c. */
#include "unit.h"
#include <string.h>
#include <stdlib.h>
#include <nested/vmcs12.h>

/* Every field encoding vmcs.h defines (SDM Appendix B). */
static const u32 all_fields[] = {
	VIRTUAL_PROCESSOR_ID, POSTED_INTR_NOTIFICATION_VECTOR, EPTP_INDEX,
	GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
	GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR,
	GUEST_INTR_STATUS, GUEST_PML_INDEX,
	HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR, HOST_DS_SELECTOR,
	HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_TR_SELECTOR,
	IO_BITMAP_A, IO_BITMAP_B, MSR_BITMAP, VM_EXIT_MSR_STORE_ADDR, VM_EXIT_MSR_LOAD_ADDR,
	VM_ENTRY_MSR_LOAD_ADDR, EXECUTIVE_VMCS_POINTER, PML_ADDRESS, TSC_OFFSET,
	VIRTUAL_APIC_PAGE_ADDR, APIC_ACCESS_ADDR, POSTED_INTR_DESC_ADDR, VM_FUNCTION_CONTROL,
	EPT_POINTER, EOI_EXIT_BITMAP0, EOI_EXIT_BITMAP1, EOI_EXIT_BITMAP2, EOI_EXIT_BITMAP3,
	EPTP_LIST_ADDRESS, VMREAD_BITMAP, VMWRITE_BITMAP, VE_INFORMATION_ADDRESS,
	XSS_EXIT_BITMAP, ENCLS_EXITING_BITMAP, TSC_MULTIPLIER,
	GUEST_PHYSICAL_ADDRESS,
	VMCS_LINK_POINTER, GUEST_IA32_DEBUGCTL, GUEST_IA32_PAT, GUEST_IA32_EFER,
	GUEST_IA32_PERF_GLOBAL_CTRL, GUEST_PDPTE0, GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3,
	GUEST_IA32_BNDCFGS,
	HOST_IA32_PAT, HOST_IA32_EFER, HOST_IA32_PERF_GLOBAL_CTRL,
	PIN_BASED_VM_EXEC_CONTROL, CPU_BASED_VM_EXEC_CONTROL, EXCEPTION_BITMAP,
	PAGE_FAULT_ERROR_CODE_MASK, PAGE_FAULT_ERROR_CODE_MATCH, CR3_TARGET_COUNT,
	VM_EXIT_CONTROLS, VM_EXIT_MSR_STORE_COUNT, VM_EXIT_MSR_LOAD_COUNT, VM_ENTRY_CONTROLS,
	VM_ENTRY_MSR_LOAD_COUNT, VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_EXCEPTION_ERROR_CODE,
	VM_ENTRY_INSTRUCTION_LEN, TPR_THRESHOLD, SECONDARY_VM_EXEC_CONTROL, PLE_GAP, PLE_WINDOW,
	VM_INSTRUCTION_ERROR, VM_EXIT_REASON, VM_EXIT_INTR_INFO, VM_EXIT_INTR_ERROR_CODE,
	IDT_VECTORING_INFO_FIELD, IDT_VECTORING_ERROR_CODE, VM_EXIT_INSTRUCTION_LEN,
	VMX_INSTRUCTION_INFO,
	GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT,
	GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT, GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT,
	GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES,
	GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES,
	GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE, GUEST_SMBASE, GUEST_SYSENTER_CS,
	VMX_PREEMPTION_TIMER_VALUE,
	HOST_IA32_SYSENTER_CS,
	CR0_GUEST_HOST_MASK, CR4_GUEST_HOST_MASK, CR0_READ_SHADOW, CR4_READ_SHADOW,
	CR3_TARGET_VALUE0, CR3_TARGET_VALUE1, CR3_TARGET_VALUE2, CR3_TARGET_VALUE3,
	EXIT_QUALIFICATION, IO_RCX, IO_RSI, IO_RDI, IO_RIP, GUEST_LINEAR_ADDRESS,
	GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE,
	GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE,
	GUEST_GDTR_BASE, GUEST_IDTR_BASE, GUEST_DR7, GUEST_RSP, GUEST_RIP, GUEST_RFLAGS,
	GUEST_PENDING_DBG_EXCEPTIONS, GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
	HOST_CR0, HOST_CR3, HOST_CR4, HOST_FS_BASE, HOST_GS_BASE, HOST_TR_BASE,
	HOST_GDTR_BASE, HOST_IDTR_BASE, HOST_IA32_SYSENTER_ESP, HOST_IA32_SYSENTER_EIP,
	HOST_RSP, HOST_RIP,
};

#define ALL_FEATURES 0xffffffffU
#define ERR_UNSUPPORTED VMXERR_UNSUPPORTED_FIELD
#define ERR_READ_ONLY VMXERR_VMWRITE_READ_ONLY

static unsigned int enc_bytes(u32 enc)
{
	static const unsigned int bytes[4] = { 2, 8, 4, 8 }; /* 16, 64, 32, natural */
	return bytes[(enc >> 13) & 3];
}

static struct vmcs12 *new_vmcs12(void)
{
	struct vmcs12 *v = calloc(1, VMCS12_SIZE);
	assert_non_null(v);
	return v;
}

static void test_vmcs12_table_layout(void **state)
{
	u8 used[VMCS12_SIZE] = { 0 };

	(void)state;
	assert_true(sizeof(struct vmcs12) <= VMCS12_SIZE);
	assert_int_equal(vmcs12_field_count, ARRAY_SIZE(all_fields));
	for (size_t i = 0; i < ARRAY_SIZE(all_fields); i++) {
		u32 enc = all_fields[i];
		const struct vmcs12_field *f = vmcs12_field_find(enc);
		assert_non_null(f);
		assert_int_equal(f->encoding, enc);
		assert_int_equal(f->width, (enc >> 13) & 3);
		assert_int_equal(f->type, (enc >> 10) & 3);
		unsigned int n = enc_bytes(enc);
		/* After the 16-byte header, aligned, inside the struct. */
		assert_true(f->offset >= 16);
		assert_int_equal(f->offset % n, 0);
		assert_true(f->offset + n <= sizeof(struct vmcs12));
		for (unsigned int b = 0; b < n; b++) {
			assert_int_equal(used[f->offset + b], 0);
			used[f->offset + b] = 1;
		}
	}
	/* The header is where docs/vmcs12.md says. */
	assert_int_equal(offsetof(struct vmcs12, revision_id), 0);
	assert_int_equal(offsetof(struct vmcs12, abort), 4);
	assert_int_equal(offsetof(struct vmcs12, launch_state), 8);
	assert_int_equal(offsetof(struct vmcs12, magic), 12);
	/* Group starts as docs/vmcs12.md lists them (update both together). */
	assert_int_equal(offsetof(struct vmcs12, virtual_processor_id), 0x10);
	assert_int_equal(offsetof(struct vmcs12, io_bitmap_a), 0x38);
	assert_int_equal(offsetof(struct vmcs12, guest_physical_address), 0x100);
	assert_int_equal(offsetof(struct vmcs12, pin_based_vm_exec_control), 0x170);
	assert_int_equal(offsetof(struct vmcs12, vm_instruction_error), 0x1b8);
	assert_int_equal(offsetof(struct vmcs12, cr0_guest_host_mask), 0x238);
	assert_int_equal(offsetof(struct vmcs12, host_cr0), 0x348);
	assert_int_equal(sizeof(struct vmcs12), 936);
}

/* vmcs12_set/get reach the named struct member with the field's width. */
static void test_vmcs12_get_set(void **state)
{
	struct vmcs12 *v = new_vmcs12();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(all_fields); i++) {
		u32 enc = all_fields[i];
		unsigned int n = enc_bytes(enc);
		u64 mask = n == 8 ? ~0ULL : (1ULL << (8 * n)) - 1;
		vmcs12_set(v, enc, ~0ULL);
		assert_int_equal(vmcs12_get(v, enc), mask);
		vmcs12_set(v, enc, 0x0123456789abcdefULL + i);
		assert_int_equal(vmcs12_get(v, enc), (0x0123456789abcdefULL + i) & mask);
	}
	vmcs12_set(v, GUEST_RIP, 0xffffffff81000000ULL);
	assert_int_equal(v->guest_rip, 0xffffffff81000000ULL);
	vmcs12_set(v, GUEST_CS_SELECTOR, 0x10);
	assert_int_equal(v->guest_cs_selector, 0x10);
	vmcs12_set(v, VM_EXIT_REASON, 0x30);
	assert_int_equal(v->vm_exit_reason, 0x30);
	/* Not a field: no effect, reads 0. */
	assert_int_equal(vmcs12_get(v, 0x2034), 0);
	free(v);
}

static void expect_unsupported(struct vmcs12 *v, u32 enc, u32 features)
{
	u64 x = 0x5a5a;
	assert_int_equal(vmcs12_read(v, enc, true, features, &x), ERR_UNSUPPORTED);
	assert_int_equal(x, 0x5a5a); /* the destination is untouched */
	assert_int_equal(vmcs12_write(v, enc, 1, true, features, true), ERR_UNSUPPORTED);
	assert_int_equal(vmcs12_read(v, enc, false, features, &x), ERR_UNSUPPORTED);
	assert_int_equal(vmcs12_write(v, enc, 1, false, features, false), ERR_UNSUPPORTED);
}

static void test_vmcs12_unsupported(void **state)
{
	struct vmcs12 *v = new_vmcs12();
	u8 zero[VMCS12_SIZE] = { 0 };

	(void)state;
	/* Encodings of no field (0x2034: SPP table pointer, not in this CPU). */
	expect_unsupported(v, 0x2034, ALL_FEATURES);
	expect_unsupported(v, 0x0014, ALL_FEATURES);
	expect_unsupported(v, 0x6c18, ALL_FEATURES);
	/* Reserved bits: bit 12, bits 31:15. */
	expect_unsupported(v, GUEST_CR0 | (1U << 12), ALL_FEATURES);
	expect_unsupported(v, GUEST_ES_SELECTOR | (1U << 12), ALL_FEATURES);
	expect_unsupported(v, TSC_OFFSET | (1U << 15), ALL_FEATURES);
	expect_unsupported(v, GUEST_RIP | 0x80000000U, ALL_FEATURES);
	/* High access to 16-bit, 32-bit and natural-width fields. */
	expect_unsupported(v, GUEST_ES_SELECTOR | 1, ALL_FEATURES);
	expect_unsupported(v, VM_EXIT_REASON | 1, ALL_FEATURES);
	expect_unsupported(v, GUEST_RIP | 1, ALL_FEATURES);
	assert_null(vmcs12_field_find(TSC_OFFSET | 1)); /* the table holds full encodings */
	/* Nothing above wrote anything. */
	assert_memory_equal(v, zero, sizeof(*v));
	free(v);
}

static void test_vmcs12_features(void **state)
{
	struct vmcs12 *v = new_vmcs12();
	u64 x;

	(void)state;
	/* A field exists only with its feature. */
	expect_unsupported(v, VIRTUAL_PROCESSOR_ID, 0);
	expect_unsupported(v, EPT_POINTER, FEAT_BIT(FEAT_VPID));
	expect_unsupported(v, EPT_POINTER | 1, FEAT_BIT(FEAT_VPID));
	expect_unsupported(v, SECONDARY_VM_EXEC_CONTROL, FEAT_BIT(FEAT_TPR_SHADOW));
	expect_unsupported(v, VMX_PREEMPTION_TIMER_VALUE, 0);
	assert_false(vmcs12_field_supported(XSS_EXIT_BITMAP, FEAT_BIT(FEAT_EPT)));
	assert_true(vmcs12_field_supported(XSS_EXIT_BITMAP, FEAT_BIT(FEAT_XSAVES)));
	assert_true(vmcs12_field_supported(GUEST_RIP, 0));
	assert_false(vmcs12_field_supported(0x2034, ALL_FEATURES));

	assert_int_equal(vmcs12_write(v, VIRTUAL_PROCESSOR_ID, 7, true, FEAT_BIT(FEAT_VPID), false), 0);
	assert_int_equal(vmcs12_read(v, VIRTUAL_PROCESSOR_ID, true, FEAT_BIT(FEAT_VPID), &x), 0);
	assert_int_equal(x, 7);
	assert_int_equal(vmcs12_write(v, EPT_POINTER | 1, 2, true, FEAT_BIT(FEAT_EPT), false), 0);
	assert_int_equal(v->ept_pointer, 2ULL << 32);

	/* VMCS_ENUM's highest index: GUEST_SYSENTER_CS (0x482a, 21) always;
	 * XSS_EXIT_BITMAP (0x202c, 22) with XSAVES; TSC_MULTIPLIER (0x2032,
	 * 25) with TSC scaling. */
	assert_int_equal(vmcs12_highest_index(0), 21);
	assert_int_equal(vmcs12_highest_index(FEAT_BIT(FEAT_XSAVES) | FEAT_BIT(FEAT_PAT)), 22);
	assert_int_equal(vmcs12_highest_index(FEAT_BIT(FEAT_PREEMPTION_TIMER)), 23);
	assert_int_equal(vmcs12_highest_index(ALL_FEATURES), 25);
	/* Cross-check against the list: the highest index that is supported. */
	for (u32 feat = 0; feat < FEAT_COUNT; feat++) {
		u32 mask = FEAT_BIT(feat), highest = 0;
		for (size_t i = 0; i < ARRAY_SIZE(all_fields); i++)
			if (vmcs12_field_supported(all_fields[i], mask) &&
			    ((all_fields[i] >> 1) & 0x1ff) > highest)
				highest = (all_fields[i] >> 1) & 0x1ff;
		assert_int_equal(vmcs12_highest_index(mask), highest);
	}
	free(v);
}

/* SDM 31.3 VMWRITE: read-only fields fail with 13 unless IA32_VMX_MISC
 * bit 29 is offered; an unsupported field fails with 12 first. */
static void test_vmcs12_read_only(void **state)
{
	struct vmcs12 *v = new_vmcs12();
	static const u32 ro[] = { VM_INSTRUCTION_ERROR, VM_EXIT_REASON, EXIT_QUALIFICATION,
				  IO_RIP, GUEST_LINEAR_ADDRESS, VMX_INSTRUCTION_INFO };
	u64 x;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ro); i++) {
		assert_int_equal(vmcs12_write(v, ro[i], 0x33, true, 0, false), ERR_READ_ONLY);
		assert_int_equal(vmcs12_get(v, ro[i]), 0);
		assert_int_equal(vmcs12_write(v, ro[i], 0x33, true, 0, true), 0);
		assert_int_equal(vmcs12_read(v, ro[i], true, 0, &x), 0);
		assert_int_equal(x, 0x33);
	}
	/* 64-bit read-only, both halves. */
	assert_int_equal(vmcs12_write(v, GUEST_PHYSICAL_ADDRESS | 1, 1, false,
				      FEAT_BIT(FEAT_EPT), false), ERR_READ_ONLY);
	assert_int_equal(vmcs12_write(v, GUEST_PHYSICAL_ADDRESS | 1, 1, false,
				      FEAT_BIT(FEAT_EPT), true), 0);
	assert_int_equal(v->guest_physical_address, 1ULL << 32);
	assert_int_equal(vmcs12_write(v, GUEST_PHYSICAL_ADDRESS, 1, true, 0, false), ERR_UNSUPPORTED);
	/* Other types are writable without bit 29. */
	assert_int_equal(vmcs12_write(v, GUEST_RIP, 1, true, 0, false), 0);
	assert_int_equal(vmcs12_write(v, HOST_RIP, 1, true, 0, false), 0);
	assert_int_equal(vmcs12_write(v, EXCEPTION_BITMAP, 1, true, 0, false), 0);
	free(v);
}

/* SDM 25.11.2: operand sizes and access types, in and outside 64-bit mode. */
static void test_vmcs12_widths(void **state)
{
	struct vmcs12 *v = new_vmcs12();
	u64 x;

	(void)state;
	/* 16-bit: bits 15:0 written, read zero-extended. */
	assert_int_equal(vmcs12_write(v, GUEST_CS_SELECTOR, 0xffffffffabcd1234ULL, true, 0, false), 0);
	assert_int_equal(v->guest_cs_selector, 0x1234);
	x = ~0ULL;
	assert_int_equal(vmcs12_read(v, GUEST_CS_SELECTOR, true, 0, &x), 0);
	assert_int_equal(x, 0x1234);
	/* 32-bit: bits 31:0. */
	assert_int_equal(vmcs12_write(v, EXCEPTION_BITMAP, 0xdeadbeef00040000ULL, true, 0, false), 0);
	assert_int_equal(v->exception_bitmap, 0x00040000);
	assert_int_equal(vmcs12_read(v, EXCEPTION_BITMAP, false, 0, &x), 0);
	assert_int_equal(x, 0x00040000);
	/* Natural width in 64-bit mode: all 64 bits. */
	assert_int_equal(vmcs12_write(v, GUEST_RIP, 0xffffffff81000000ULL, true, 0, false), 0);
	assert_int_equal(vmcs12_read(v, GUEST_RIP, true, 0, &x), 0);
	assert_int_equal(x, 0xffffffff81000000ULL);
	/* Outside 64-bit mode: reads give bits 31:0, writes clear 63:32. */
	assert_int_equal(vmcs12_read(v, GUEST_RIP, false, 0, &x), 0);
	assert_int_equal(x, 0x81000000ULL);
	assert_int_equal(vmcs12_write(v, GUEST_RIP, 0x1234567800001000ULL, false, 0, false), 0);
	assert_int_equal(v->guest_rip, 0x1000);
	/* 64-bit full access, 64-bit mode. */
	assert_int_equal(vmcs12_write(v, TSC_OFFSET, 0x1122334455667788ULL, true, 0, false), 0);
	assert_int_equal(v->tsc_offset, 0x1122334455667788ULL);
	assert_int_equal(vmcs12_read(v, TSC_OFFSET, true, 0, &x), 0);
	assert_int_equal(x, 0x1122334455667788ULL);
	assert_int_equal(vmcs12_read(v, TSC_OFFSET | 1, true, 0, &x), 0);
	assert_int_equal(x, 0x11223344);
	/* Outside 64-bit mode: the full access reads bits 31:0 ... */
	assert_int_equal(vmcs12_read(v, TSC_OFFSET, false, 0, &x), 0);
	assert_int_equal(x, 0x55667788);
	assert_int_equal(vmcs12_read(v, TSC_OFFSET | 1, false, 0, &x), 0);
	assert_int_equal(x, 0x11223344);
	/* ... and a full-access write clears 63:32; the high access then
	 * fills them in, keeping 31:0: 32-bit software writes both halves. */
	assert_int_equal(vmcs12_write(v, TSC_OFFSET, 0xaaaaaaaacafef00dULL, false, 0, false), 0);
	assert_int_equal(v->tsc_offset, 0xcafef00dULL);
	assert_int_equal(vmcs12_write(v, TSC_OFFSET | 1, 0xbbbbbbbbfeedfaceULL, false, 0, false), 0);
	assert_int_equal(v->tsc_offset, 0xfeedfacecafef00dULL);
	/* High access in 64-bit mode: source bits 31:0 to field bits 63:32. */
	assert_int_equal(vmcs12_write(v, MSR_BITMAP | 1, 0xffffffff00000001ULL, true, 0, false), 0);
	assert_int_equal(vmcs12_write(v, MSR_BITMAP, 0x5000, false, 0, false), 0);
	assert_int_equal(v->msr_bitmap, 0x5000);
	assert_int_equal(vmcs12_write(v, MSR_BITMAP | 1, 0xffffffff00000001ULL, true, 0, false), 0);
	assert_int_equal(v->msr_bitmap, 0x100005000ULL);
	/* Writes touch only their own field. */
	assert_int_equal(v->io_bitmap_b, 0);
	assert_int_equal(v->vm_exit_msr_store_addr, 0);
	free(v);
}

int unit_vmcs12(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmcs12_table_layout),
		cmocka_unit_test(test_vmcs12_get_set),
		cmocka_unit_test(test_vmcs12_unsupported),
		cmocka_unit_test(test_vmcs12_features),
		cmocka_unit_test(test_vmcs12_read_only),
		cmocka_unit_test(test_vmcs12_widths),
	};
	return cmocka_run_group_tests_name("vmcs12", tests, NULL, NULL);
}
