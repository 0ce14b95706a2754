/* Which MSR and I/O-port accesses exit to the monitor, and what the guest
 * sees for the MSRs the monitor emulates. SDM Vol. 3C "MSR-Bitmap Address",
 * "I/O-Bitmap Addresses" and "Instructions That Cause VM Exits
 * Conditionally". Pure logic. */
#ifndef NV_MSR_POLICY_H
#define NV_MSR_POLICY_H

#include <nestvisor/types.h>

enum msr_action {
	MSR_PASSTHROUGH, /* the monitor executes the access (with fault recovery) */
	MSR_EMULATE,     /* the policy's value is the result; writes are dropped */
	MSR_INJECT_GP,   /* the guest gets #GP(0) */
};

struct msr_policy {
	bool expose_vmx;       /* the guest sees VT-x (nested) */
	u64 arch_capabilities; /* what RDMSR IA32_ARCH_CAPABILITIES returns (l1d.h) */
};

enum msr_action msr_policy_rdmsr(u32 msr, const struct msr_policy *p, u64 *value);
enum msr_action msr_policy_wrmsr(u32 msr, u64 value, const struct msr_policy *p);

/* MSR bitmap (one 4 KiB page): four 1 KiB bitmaps, one bit per MSR. */
#define MSR_BITMAP_SIZE 4096
#define MSR_BITMAP_READ_LOW 0x000  /* RDMSR 0x00000000-0x00001fff */
#define MSR_BITMAP_READ_HIGH 0x400 /* RDMSR 0xc0000000-0xc0001fff */
#define MSR_BITMAP_WRITE_LOW 0x800
#define MSR_BITMAP_WRITE_HIGH 0xc00
#define MSR_RANGE_LOW_BASE 0x00000000u
#define MSR_RANGE_HIGH_BASE 0xc0000000u
#define MSR_RANGE_COUNT 0x2000u

/* Sets the read and write intercept bits of every MSR in the two bitmap
 * ranges that the policy does not pass through. bitmap starts zeroed. */
void msr_bitmap_build(u8 *bitmap, const struct msr_policy *p);

/* Whether RDMSR (write = false) or WRMSR of msr exits. MSRs outside both
 * ranges always exit. */
bool msr_bitmap_intercepts(const u8 *bitmap, u32 msr, bool write);

/* I/O bitmaps: A covers ports 0x0000-0x7fff, B 0x8000-0xffff, 4 KiB each. */
#define IO_BITMAP_SIZE 4096
#define IO_BITMAP_B_FIRST 0x8000u

void io_bitmap_set(u8 *bitmap_a, u8 *bitmap_b, u16 port, bool intercept);

/* Whether an access of 'size' bytes (1, 2 or 4) at port exits: if the bit
 * of any port it touches is set, or if it wraps past 0xffff. */
bool io_bitmap_intercepts(const u8 *a, const u8 *b, u16 port, u8 size);

#endif
