/* vmxfuzz: a hostile L1. Shared between vmxfuzz.c (entry, random VMX
 * instructions), vmxfuzz_launch.c (random VMCS contents at VMLAUNCH),
 * vmxfuzz_bitmaps.c (random bitmaps under a running L2) and
 * vmxfuzz_shadow.c (VMCS link pointers, shadow VMCS contents and
 * VMX-preemption timer values under it); vmxfuzz_l2.c runs that L2. */
#ifndef VMXFUZZ_H
#define VMXFUZZ_H

#include "vmxtest.h"

#pragma GCC visibility push(hidden)

#define FZ_NOTES_MAX 12
#define FZ_GOOD_PAGES 8 /* scratch pages 0..7: even = right revision, odd = wrong */
#define FZ_PG_MSR_AREA (VT_PG_SCRATCH + 8)
#define FZ_PG_AUX (VT_PG_SCRATCH + 9) /* virtual-APIC, APIC-access, bitmaps, ... */
/* vmxfuzz_l2.h's users: the shadow VMCS, the VMREAD/VMWRITE bitmaps, a page
 * of random bytes (a link-pointer target), L2's memory operand. */
#define FZ_PG_SHADOW (VT_PG_SCRATCH + 10)
#define FZ_PG_VMREAD_BM (VT_PG_SCRATCH + 11)
#define FZ_PG_VMWRITE_BM (VT_PG_SCRATCH + 12)
#define FZ_PG_JUNK (VT_PG_SCRATCH + 13)
#define FZ_PG_OPERAND (VT_PG_SCRATCH + 14)
_Static_assert(FZ_PG_OPERAND < VT_PAGES, "vmxfuzz's scratch pages");

struct fz {
	struct vt_env *env;
	u64 rng;
	u64 current; /* the model's current-VMCS pointer */
	u64 ops, bad;
};

/* L1's state that no VM entry or exit of L2 may change. */
struct fz_l1_state {
	u64 cr0, cr3, cr4, efer;
	struct desc_ptr gdtr, idtr;
	u16 tr;
};

u64 fz_rand(struct fz *f);
u64 fz_below(struct fz *f, u64 n);
/* A result that is not architecturally allowed: counted, the first few
 * printed as notes. */
void fz_violation(struct fz *f, const char *op, u64 a, u64 b, u32 got, const char *allowed);
void fz_violation_text(struct fz *f, const char *op, u64 a, u64 b, const char *got,
		       const char *allowed);
/* A field encoding and what VMREAD/VMWRITE may answer for it: 0 =
 * supported (one of fz_known_fields), 1 = maybe (random shape), 2 =
 * unsupported (reserved bits, "high" of a field that is not 64-bit). */
u64 fz_rand_field(struct fz *f, int *verdict);
extern const u32 fz_known_fields[];
extern const u32 fz_nknown;
void fz_l1_state(struct fz_l1_state *s);
bool fz_same_l1(const struct fz_l1_state *a, const struct fz_l1_state *b);
bool fz_launches(struct fz *f, u32 count, struct tg_check *c);
/* vmxfuzz_bitmaps.c and vmxfuzz_shadow.c: each returns false if its
 * setup failed (in 'c'). */
bool fz_bitmaps(struct fz *f, u32 scenarios, struct tg_check *c);
bool fz_link_pointers(struct fz *f, u32 trials, struct tg_check *c);
bool fz_shadow_vmcs(struct fz *f, u32 scenarios, struct tg_check *c);
bool fz_timer(struct fz *f, u32 runs, struct tg_check *c);
bool fz_io_wrap(struct fz *f, struct tg_check *c);

#pragma GCC visibility pop

#endif
