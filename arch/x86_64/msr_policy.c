/* The guest's view of MSRs, and the MSR and I/O bitmaps that enforce it. */
#include "msr_policy.h"
#include "msr.h"

/* The capability MSRs that exist when VMX is offered: the rest of the
 * range (tertiary controls, secondary exit controls) is reported absent. */
#define MSR_IA32_VMX_OFFERED_LAST MSR_IA32_VMX_VMFUNC

static bool msr_is_vmx(u32 msr)
{
	return msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST;
}

enum msr_action msr_policy_rdmsr(u32 msr, const struct msr_policy *p, u64 *value)
{
	if (msr == MSR_IA32_FEATURE_CONTROL) {
		/* Locked, so the guest cannot change it; VMXON allowed only if
		 * VMX is offered. */
		*value = FEATURE_CONTROL_LOCKED;
		if (p->expose_vmx)
			*value |= FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
		return MSR_EMULATE;
	}
	if (msr == MSR_IA32_ARCH_CAPABILITIES) {
		/* Enumerated by CPUID.(EAX=7,ECX=0):EDX[29], which the
		 * monitor sets for the guest (cpuid_policy.c). */
		*value = p->arch_capabilities;
		return MSR_EMULATE;
	}
	if (msr_is_vmx(msr)) {
		/* SDM Appendix A: these MSRs exist only if CPUID.1:ECX.VMX = 1;
		 * a later issue computes the values offered to the guest. */
		if (!p->expose_vmx || msr > MSR_IA32_VMX_OFFERED_LAST)
			return MSR_INJECT_GP;
		*value = 0;
		return MSR_EMULATE;
	}
	return MSR_PASSTHROUGH;
}

enum msr_action msr_policy_wrmsr(u32 msr, u64 value, const struct msr_policy *p)
{
	(void)value;
	(void)p;
	/* WRMSR to a locked IA32_FEATURE_CONTROL, or to a read-only
	 * capability MSR (VMX, IA32_ARCH_CAPABILITIES), raises #GP(0). */
	if (msr == MSR_IA32_FEATURE_CONTROL || msr == MSR_IA32_ARCH_CAPABILITIES || msr_is_vmx(msr))
		return MSR_INJECT_GP;
	return MSR_PASSTHROUGH;
}

static void msr_bitmap_set(u8 *bitmap, u32 offset, u32 index)
{
	bitmap[offset + index / 8] |= (u8)(1u << (index % 8));
}

void msr_bitmap_build(u8 *bitmap, const struct msr_policy *p)
{
	static const u32 base[] = { MSR_RANGE_LOW_BASE, MSR_RANGE_HIGH_BASE };
	static const u32 rd[] = { MSR_BITMAP_READ_LOW, MSR_BITMAP_READ_HIGH };
	static const u32 wr[] = { MSR_BITMAP_WRITE_LOW, MSR_BITMAP_WRITE_HIGH };

	/* Derived from the policy itself so the two never disagree. */
	for (u32 r = 0; r < ARRAY_SIZE(base); r++) {
		for (u32 i = 0; i < MSR_RANGE_COUNT; i++) {
			u64 v;

			if (msr_policy_rdmsr(base[r] + i, p, &v) != MSR_PASSTHROUGH)
				msr_bitmap_set(bitmap, rd[r], i);
			if (msr_policy_wrmsr(base[r] + i, 0, p) != MSR_PASSTHROUGH)
				msr_bitmap_set(bitmap, wr[r], i);
		}
	}
}

bool msr_bitmap_intercepts(const u8 *bitmap, u32 msr, bool write)
{
	u32 offset, index;

	/* SDM "RDMSR"/"WRMSR" exit rules: an MSR outside both ranges exits. */
	if (msr - MSR_RANGE_LOW_BASE < MSR_RANGE_COUNT) {
		offset = write ? MSR_BITMAP_WRITE_LOW : MSR_BITMAP_READ_LOW;
		index = msr - MSR_RANGE_LOW_BASE;
	} else if (msr - MSR_RANGE_HIGH_BASE < MSR_RANGE_COUNT) {
		offset = write ? MSR_BITMAP_WRITE_HIGH : MSR_BITMAP_READ_HIGH;
		index = msr - MSR_RANGE_HIGH_BASE;
	} else {
		return true;
	}
	return bitmap[offset + index / 8] & (1u << (index % 8));
}

/* Bitmap A holds ports 0x0000-0x7fff, B 0x8000-0xffff, one bit a port. */
static u32 io_bitmap_byte(u32 port)
{
	return (port % IO_BITMAP_B_FIRST) / 8;
}

void io_bitmap_set(u8 *bitmap_a, u8 *bitmap_b, u16 port, bool intercept)
{
	u8 *map = port < IO_BITMAP_B_FIRST ? bitmap_a : bitmap_b;
	u8 bit = (u8)(1u << (port % 8));

	if (intercept)
		map[io_bitmap_byte(port)] |= bit;
	else
		map[io_bitmap_byte(port)] &= (u8)~bit;
}

bool io_bitmap_intercepts(const u8 *a, const u8 *b, u16 port, u8 size)
{
	/* SDM "Instructions That Cause VM Exits Conditionally": an access that
	 * wraps around the 16-bit port space (touches 0xffff and 0) exits. */
	if ((u32)port + size - 1 > 0xffff)
		return true;
	for (u32 p = port; p < (u32)port + size; p++) {
		const u8 *map = p < IO_BITMAP_B_FIRST ? a : b;

		if (map[io_bitmap_byte(p)] & (1u << (p % 8)))
			return true;
	}
	return false;
}
