/* vmxfuzz: the plumbing shared by vmxfuzz_bitmaps.c and vmxfuzz_shadow.c,
 * where a running L2 meets a hostile L1's data structures: L2's code
 * snippets (one instruction each, then VMCALL), running one in L2 and
 * telling how it ended, the checks of a fault-like exit's RIP, length and
 * qualification (SDM 28.2.1 "Basic VM-Exit Information"), a fresh VMCS for
 * L2, and the addresses a fuzzed pointer may name. */
#ifndef VMXFUZZ_L2_H
#define VMXFUZZ_L2_H

#include "vmxfuzz.h"

#define SHADOW_INDICATOR BIT(31)     /* SDM 25.2 "Format of the VMCS Region" */
#define BITMAP_BITS 15               /* VMREAD/VMWRITE bitmaps: encoding bits 14:0 */
#define SENTINEL 0x6666666666666666ULL

/* L2's code (vmxfuzz_l2.c): <n> the snippet, <n>_at its instruction,
 * <n>_after the next one. */
#pragma GCC visibility push(hidden)
#define L2_DECL(n) extern const u8 n[], n##_at[], n##_after[]
L2_DECL(fzs_in8); L2_DECL(fzs_in16); L2_DECL(fzs_in32);
L2_DECL(fzs_out8); L2_DECL(fzs_out16); L2_DECL(fzs_out32);
L2_DECL(fzs_rdmsr); L2_DECL(fzs_wrmsr);
L2_DECL(fzs_vmread_reg); L2_DECL(fzs_vmread_mem);
L2_DECL(fzs_vmwrite_reg); L2_DECL(fzs_vmwrite_mem);
L2_DECL(fzs_poke);

struct snip {
	const u8 *code, *at, *after;
};
#define SNIP(n) ((struct snip){ n, n##_at, n##_after })

/* What L2's instruction did: VT_OK / VT_FAIL_* (a VMX instruction that
 * reached the VMCALL), DONE (another one that did), or a VM exit. */
#define DONE 0x40000u
#define EXITED 0x10000u       /* | basic exit reason */
#define ENTRY_FAILED 0x20000u /* | EXITED | basic exit reason */

/* The L2 under test and its last exit, shared by the fuzz groups. */
struct fz_l2_state {
	struct fz *f;
	struct vt_env *env;
	bool nv;          /* under nestvisor */
	u64 maxpa;
	u64 vmcs;         /* L2's (ordinary) VMCS */
	bool launched;
	u64 rip;          /* GUEST_RIP at the last exit */
	struct tg_regs regs;
};
extern struct fz_l2_state fz_l2;

/* Where a fuzzed address points. Memory that is not L1's (no RAM, the
 * monitor's, MMIO) has no contents the SDM defines; under nestvisor it
 * reads as all ones (docs/nested.md), on bare Bochs anything goes. */
enum where { W_OURS, W_NORAM, W_MONITOR, W_MMIO, W_UNALIGNED, W_BEYOND, W_KINDS };

/* Points fz_l2 at 'f' and its environment; each group calls it first. */
void fz_l2_init(struct fz *f);
/* The name of a result of fz_l2_run(), for reports. */
const char *fz_out_name(u32 r);
/* A violation by L2's operation: counted as an op, reported with 'got'. */
void fz_l2_bad(const char *op, u64 a, u64 b, u32 got, const char *allowed);
/* Runs 's' in L2 with fz_l2.regs; 'vmx': decode VMsucceed/VMfail. */
u32 fz_l2_run(struct snip s, bool vmx);
/* Exit 'reason' at the instruction with its length (and 'qual' unless ~0). */
bool fz_exit_ok(u32 got, u32 reason, struct snip s, u64 qual);
/* A fresh VMCS in 'page' for L2 (all exceptions exit), made current. */
bool fz_l2_fresh(int page, u32 proc, u32 proc2, u32 pin, u32 exit, struct tg_check *c);
/* VMCLEAR of L2's VMCS; no VMCS current afterwards. */
bool fz_l2_done(struct tg_check *c);
/* An address of kind '*k' ('ours' for W_OURS); '*k' becomes what it is. */
u64 fz_rand_where(enum where *k, u64 ours);
/* Unaligned or beyond MAXPHYADDR: VM entry fails if the control is used. */
bool fz_where_bad(enum where k);
/* Not L1's memory: all ones under nestvisor, unknown on bare Bochs. */
bool fz_where_absent(enum where k);
/* L2's VMREAD or VMWRITE, register or memory operand. */
struct snip fz_vmx_snip(bool write, bool mem);
/* L2's VMREAD/VMWRITE operands: encoding 'enc', register and memory 'val'. */
void fz_vmx_operands(u64 enc, u64 val);

#pragma GCC visibility pop

#endif
