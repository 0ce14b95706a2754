/* VMCS12: the VMCS an L1 hypervisor builds, as it lives in L1's memory,
 * and the field table VMREAD/VMWRITE emulation works from. Layout and
 * rules: docs/vmcs12.md. Pure module (no VMX instructions, no globals). */
#ifndef NESTVISOR_NESTED_VMCS12_H
#define NESTVISOR_NESTED_VMCS12_H

#include <nestvisor/types.h>
#include "vmcs.h"

/* IA32_VMX_BASIC bits 30:0 as L1 reads them ("NV" 0001). */
#define VMCS12_REVISION 0x4e560001
#define VMCS12_SHADOW_INDICATOR BIT(31) /* revision_id bit 31 (SDM 25.2) */
#define VMCS12_SIZE 4096
#define VMCS12_MAGIC 0x3231534eU        /* "NS12": VMCLEAR has initialised it */
#define VMCS12_STATE_CLEAR 0
#define VMCS12_STATE_LAUNCHED 1

/* Field encoding (SDM 25.11.2 "VMCS Field Encoding"). */
#define VMCS_ENC_ACCESS_HIGH BIT(0)       /* high 32 bits of a 64-bit field */
#define VMCS_ENC_INDEX(e) (((e) >> 1) & 0x1ff)
#define VMCS_ENC_TYPE(e) (((e) >> 10) & 3)
#define VMCS_ENC_WIDTH(e) (((e) >> 13) & 3)
#define VMCS_ENC_RESERVED 0xffff9000U     /* bits 31:15 and 12 */

enum vmcs12_width { VMCS12_W16, VMCS12_W64, VMCS12_W32, VMCS12_WNAT };
enum vmcs12_type { VMCS12_T_CONTROL, VMCS12_T_RO_DATA, VMCS12_T_GUEST, VMCS12_T_HOST };

/* Capabilities a field's existence depends on (SDM Appendix B: "exists only
 * on processors that support the 1-setting of ..."). offered_features is a
 * bitmask of FEAT_BIT(f); FEAT_NONE fields always exist. */
enum nested_feature {
	FEAT_NONE,
	FEAT_SECONDARY,        /* "activate secondary controls" */
	FEAT_TPR_SHADOW,       /* "use TPR shadow" */
	FEAT_EPT,              /* "enable EPT" */
	FEAT_VPID,             /* "enable VPID" */
	FEAT_PREEMPTION_TIMER, /* "activate VMX-preemption timer" */
	FEAT_SHADOW_VMCS,      /* "VMCS shadowing" */
	FEAT_APIC_ACCESS,      /* "virtualize APIC accesses" */
	FEAT_APICV,            /* "virtual-interrupt delivery" */
	FEAT_POSTED_INTR,      /* "process posted interrupts" */
	FEAT_PML,              /* "enable PML" */
	FEAT_VMFUNC,           /* "enable VM functions" */
	FEAT_VE,               /* "EPT-violation #VE" */
	FEAT_XSAVES,           /* "enable XSAVES/XRSTORS" */
	FEAT_TSC_SCALING,      /* "use TSC scaling" */
	FEAT_ENCLS,            /* "enable ENCLS exiting" */
	FEAT_PLE,              /* "PAUSE-loop exiting" */
	FEAT_PAT,              /* load/save IA32_PAT on entry/exit */
	FEAT_EFER,             /* load/save IA32_EFER on entry/exit */
	FEAT_PERF_GLOBAL_CTRL, /* load IA32_PERF_GLOBAL_CTRL */
	FEAT_BNDCFGS,          /* load/clear IA32_BNDCFGS */
	FEAT_COUNT
};
#define FEAT_BIT(f) (1U << (f))
_Static_assert(FEAT_COUNT <= 32, "features fit a u32 mask");

/* The C type of a field, chosen from its encoding's width bits: 16, 32,
 * or 64 (64-bit and natural-width; nestvisor runs only in 64-bit mode). */
#define VMCS12_CTYPE(enc)                                                    \
	__typeof__(__builtin_choose_expr(VMCS_ENC_WIDTH(enc) == VMCS12_W16, (u16)0, \
		   __builtin_choose_expr(VMCS_ENC_WIDTH(enc) == VMCS12_W32, (u32)0, (u64)0)))

/* The VMCS12 region, 4 KiB in L1 memory. The first 8 bytes are the SDM's
 * (25.2 "Format of the VMCS Region"); the rest is nestvisor's own format,
 * which L1 must treat as opaque. */
struct vmcs12 {
	u32 revision_id;  /* bits 30:0 VMCS12_REVISION, bit 31 shadow-VMCS indicator */
	u32 abort;        /* VMX-abort indicator */
	u32 launch_state; /* VMCS12_STATE_CLEAR or VMCS12_STATE_LAUNCHED */
	u32 magic;        /* VMCS12_MAGIC once VMCLEAR initialised the region */
#define VMCS12_FIELD(enc, name, feat) VMCS12_CTYPE(enc) name;
#include "vmcs12_fields.h"
#undef VMCS12_FIELD
};
_Static_assert(sizeof(struct vmcs12) <= VMCS12_SIZE, "a VMCS12 fits its 4-KiB region");

struct vmcs12_field {
	u32 encoding;
	u16 offset; /* in struct vmcs12 */
	u8 width, type, feature;
};

/* The table, in vmcs12_fields.h order (for iteration: tests, dumps). */
extern const struct vmcs12_field vmcs12_field_table[];
extern const unsigned int vmcs12_field_count;

/* Full-access encoding (bit 0 clear); NULL if not in the table. */
const struct vmcs12_field *vmcs12_field_find(u32 encoding);
/* A field L1 may use: in the table and its feature offered. */
bool vmcs12_field_supported(u32 encoding, u32 offered_features);

/* SDM 31.3 VMREAD/VMWRITE on a cached VMCS12: 0, or the VM-instruction
 * error (VMXERR_UNSUPPORTED_FIELD, VMXERR_VMWRITE_READ_ONLY). long_mode:
 * executed in 64-bit mode (64-bit operands) or not (32-bit operands). The
 * caller fails an encoding operand with bits 63:32 set itself (12). */
int vmcs12_read(const struct vmcs12 *v, u32 encoding, bool long_mode,
		u32 offered_features, u64 *value);
int vmcs12_write(struct vmcs12 *v, u32 encoding, u64 value, bool long_mode,
		 u32 offered_features, bool vmwrite_any_field);

/* The monitor's own typed access, no checks: full-access encodings of
 * table fields; anything else reads 0 and writes nothing. */
u64 vmcs12_get(const struct vmcs12 *v, u32 encoding);
void vmcs12_set(struct vmcs12 *v, u32 encoding, u64 value);

/* Highest index (encoding bits 9:1) of the fields L1 may use: what
 * IA32_VMX_VMCS_ENUM bits 9:1 report (SDM A.9). */
u32 vmcs12_highest_index(u32 offered_features);

/* Whether a change of the field ENCODING (any access type) can change
 * what a nested entry that trusts its last one does not compute again:
 * the SDM 27.2 rules that a known-good entry skips, and the VMCS02
 * controls it keeps (nested_entry.c, vmcs02.c). Every control and
 * host-state field can, except the event-injection fields, which only the
 * rules that always run read (27.2.1.3, 27.3.1.4-5; VMCS02 takes them at
 * every entry), and host RSP, which no VM-entry check reads (27.2.4 reads
 * host RIP). Linux's KVM writes those between entries that change
 * nothing else: an event to inject, HOST_RSP after a trip to user space. */
static inline bool vmcs12_field_memoized(u32 encoding)
{
	u32 type = (encoding >> 10) & 3; /* SDM 25.11.2: 0 control, 3 host state */
	switch (encoding & ~VMCS_ENC_ACCESS_HIGH) {
	case VM_ENTRY_INTR_INFO_FIELD:
	case VM_ENTRY_EXCEPTION_ERROR_CODE:
	case VM_ENTRY_INSTRUCTION_LEN:
	case HOST_RSP:
		return false;
	}
	return type == 0 || type == 3;
}

/* vmcs12_get() for an encoding known at compile time: the switch folds to
 * one load of the member (the entry checks read hundreds of fields per
 * nested VM entry). */
static inline u64 vmcs12_field(const struct vmcs12 *v, u32 encoding)
{
	switch (encoding) {
#define VMCS12_FIELD(enc, name, feat) case enc: return v->name;
#include "vmcs12_fields.h"
#undef VMCS12_FIELD
	default: return 0;
	}
}

#endif
