/* The model the nested VM-entry checks (arch/x86_64/nested/entry_checks*.c,
 * SDM 27.2-27.4) are tested against, shared by the cmocka cases
 * (tests/unit/test_entry_checks*.c) and the libFuzzer target
 * (tests/fuzz/fuzz_entry_checks.c): a known-good VMCS12 for a 64-bit L1
 * kernel running a 64-bit L2 kernel, which passes every check with each
 * capability set, presets that turn it into another kind of L2 that still
 * passes, the VMX capability MSRs (Bochs corei7_skylake_x, as offered to
 * L1, raw, or poorer), the L1 facts, and a small fake L1 memory for the
 * checks that read L1 memory (link pointer, virtual-APIC page, PDPTEs,
 * MSR-load list). */
#ifndef NV_TEST_ENTRY_VMCS12_H
#define NV_TEST_ENTRY_VMCS12_H

#include <nestvisor/types.h>
#include <nested/entry_checks.h>
#include <msr.h>

/* The capability sets: the Bochs MSRs cut down to what L1 is offered
 * (tests/common/vmx_offer.h), the hardware's as they are, and a poorer CPU
 * without TRUE controls, HLT state, CR3 targets or zero-length
 * software-event injection. */
enum ec_caps_kind { CAPS_OFFERED, CAPS_HW, CAPS_POOR };
/* Presets applied to the known-good VMCS12: a 32-bit PAE L2 (L1 still
 * 64-bit), the same with L1 outside IA-32e mode, a virtual-8086 L2. */
enum ec_preset { PRESET_NONE, PRESET_GUEST32, PRESET_L1_32, PRESET_V86 };

/* The hardware's VMX capability MSRs, 0x480 (BASIC) to 0x491 (VMFUNC). */
#define EC_NCAPS 18
extern const u64 ec_hw_msrs[EC_NCAPS];
/* Capability MSR m of the nested_caps c. */
#define CAPM(c, m) ((c)->msr[(m) - MSR_IA32_VMX_BASIC])

/* The fake L1 memory read_gpa sees, and where things are put in it. */
#define TMEM_BASE   0x30000ULL
#define TMEM_SIZE   0x10000ULL
#define T_LINK      0x30000ULL /* a VMCS for the link pointer */
#define T_VAPIC     0x31000ULL /* virtual-APIC page */
#define T_PDPT      0x32000ULL /* PAE PDPT of the 32-bit presets */
#define T_MSRS      0x33000ULL /* VM-entry MSR-load list */
#define T_CURRENT   0x20000ULL /* L1's current-VMCS pointer */
#define T_REVISION  0x4e560001U /* VMCS12_REVISION */
#define T_HW_REVISION 0x2bU

extern u8 ec_tmem[TMEM_SIZE];
/* entry_read_gpa_fn over ec_tmem: -1 unless all of [gpa, gpa + len) is
 * in it. */
int ec_tmem_read(void *ctx, u64 gpa, void *buf, u32 len);

void ec_build_caps(struct nested_caps *c, enum ec_caps_kind kind);
/* L1 facts: MAXPHYADDR 39, 48-bit linear addresses, L1 in IA-32e mode,
 * no RTM, L1 memory read through ec_tmem_read. */
void ec_build_facts(struct l1_facts *f);
/* The known-good VMCS12: every check passes with each caps kind. */
void ec_build_vmcs12(struct vmcs12 *v);
void ec_apply_preset(struct vmcs12 *v, struct l1_facts *f, enum ec_preset p);
/* A test's starting point: L1 memory zeroed, then the capability set,
 * the facts and the known-good VMCS12 with the preset applied. */
void ec_start(struct nested_caps *c, struct l1_facts *f, struct vmcs12 *v,
	      enum ec_caps_kind kind, enum ec_preset p);

#endif
