/* vmxfuzz: a hostile L1. Shared between vmxfuzz.c (entry, random VMX
 * instructions) and vmxfuzz_launch.c (random VMCS contents at VMLAUNCH). */
#ifndef VMXFUZZ_H
#define VMXFUZZ_H

#include "vmxtest.h"

#pragma GCC visibility push(hidden)

#define FZ_NOTES_MAX 12
#define FZ_GOOD_PAGES 8 /* scratch pages 0..7: even = right revision, odd = wrong */
#define FZ_PG_MSR_AREA (VT_PG_SCRATCH + 8)
#define FZ_PG_AUX (VT_PG_SCRATCH + 9) /* virtual-APIC, APIC-access, bitmaps, ... */

struct fz {
	struct vt_env *env;
	u64 rng;
	u64 current; /* the model's current-VMCS pointer */
	u64 ops, bad;
};

u64 fz_rand(struct fz *f);
u64 fz_below(struct fz *f, u64 n);
/* A result that is not architecturally allowed: counted, the first few
 * printed as notes. */
void fz_violation(struct fz *f, const char *op, u64 a, u64 b, u32 got, const char *allowed);
bool fz_launches(struct fz *f, u32 count, struct tg_check *c);

#pragma GCC visibility pop

#endif
