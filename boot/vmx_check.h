/* VT-x checks before the monitor is loaded: does this CPU offer what the
 * monitor needs? Free of UEFI types; the hardware access goes through
 * 'struct vmx_hw' so host tests can feed it made-up MSR values. */
#ifndef NESTVISOR_VMX_CHECK_H
#define NESTVISOR_VMX_CHECK_H

#include <nestvisor/types.h>

struct vmx_hw {
	void (*cpuid)(u32 leaf, u32 subleaf, u32 regs[4]); /* eax, ebx, ecx, edx */
	u64 (*rdmsr)(u32 msr);
	void (*wrmsr)(u32 msr, u64 val);
};

/* The real instructions (not in host test builds). */
extern const struct vmx_hw vmx_hw_cpu;

/* Calls 'missing' once per absent feature, naming it. When nothing is
 * missing and IA32_FEATURE_CONTROL is unlocked, enables VMX outside SMX and
 * locks it. Returns the number of missing features (0 = usable). */
int vmx_check(const struct vmx_hw *hw, void (*missing)(const char *item));

#endif
