/* The VMX capability MSRs L1 reads (SDM Vol. 3D Appendix A "VMX
 * Capability Reporting Facility"): what nestvisor emulates, intersected
 * with what the hardware can run. Pure module. */
#ifndef NESTVISOR_NESTED_CAPS_H
#define NESTVISOR_NESTED_CAPS_H

#include <nestvisor/types.h>
#include "msr.h"
#include "vmcs.h"
#include "vmx_caps.h"
#include "vmcs12.h"

/* IA32_VMX_BASIC (0x480) to IA32_VMX_VMFUNC (0x491); index = MSR - 0x480. */
#define IA32_VMX_MSR_COUNT (MSR_IA32_VMX_VMFUNC - MSR_IA32_VMX_BASIC + 1)
#define NESTED_CAP(msr) ((msr) - MSR_IA32_VMX_BASIC)

/* IA32_VMX_MISC (SDM A.6 "Miscellaneous Data"); VMX_MISC_STORE_LMA (bit 5),
 * VMX_MISC_ACTIVITY_HLT (6) and VMX_MISC_VMWRITE_ANY_FIELD (29) are in vmcs.h. */
#define VMX_MISC_PREEMPTION_RATE 0x1fULL  /* bits 4:0 */
/* The slowest rate offered L1: 2^5 TSC ticks per timer tick, so that a
 * 32-bit timer spans more than 10 s even at 4 GHz (Linux's KVM refuses a
 * faster one). Common on real CPUs; Bochs's is 0. */
#define NESTED_TIMER_RATE_MIN 5
#define VMX_MISC_ACTIVITY_SHUTDOWN BIT(7)
#define VMX_MISC_ACTIVITY_WAIT_SIPI BIT(8)
#define VMX_MISC_CR3_TARGETS_SHIFT 16     /* bits 24:16 */
#define VMX_MISC_CR3_TARGETS_MASK 0x1ffULL
#define VMX_MISC_MAX_MSR_LIST_SHIFT 25    /* bits 27:25: 512 * (N + 1) entries */
#define VMX_MISC_MAX_MSR_LIST_MASK 0x7ULL
#define VMX_MISC_INJECT_LEN0 BIT(30)      /* event injection with instruction length 0 */
#define VMX_MISC_MSEG_REVISION_SHIFT 32

/* The "default1" class of each control MSR (SDM A.2 "Reserved Controls and
 * Default Settings"): reported must-be-1 by the non-TRUE MSRs. */
#define VMX_PINBASED_DEFAULT1 0x00000016U  /* bits 1, 2, 4 */
#define VMX_PROCBASED_DEFAULT1 0x0401e172U /* bits 1, 4-6, 8, 13-16, 26 */
#define VMX_EXIT_DEFAULT1 0x00036dffU      /* bits 0-8, 10, 11, 13, 14, 16, 17 */
#define VMX_ENTRY_DEFAULT1 0x000011ffU     /* bits 0-8, 12 */

struct nested_caps {
	u64 msr[IA32_VMX_MSR_COUNT]; /* index NESTED_CAP(msr) */
	u32 features;                /* FEAT_BIT(f) for each nested_feature offered */
};

/* The offer of docs/nested.md for hardware hw (the monitor's vmx_caps:
 * TRUE_* control MSRs when IA32_VMX_BASIC bit 55 is set). */
void nested_caps_compute(const struct vmx_caps *hw, struct nested_caps *out);
/* L1's RDMSR of a VMX capability MSR; false if msr is not one. */
bool nested_caps_rdmsr(const struct nested_caps *c, u32 msr, u64 *value);
/* A control value satisfies a control capability MSR: every allowed-0
 * (must-be-1, bits 31:0) bit set, nothing outside allowed-1 (bits 63:32). */
bool nested_ctl_allowed(u64 cap_msr, u32 value);

#endif
