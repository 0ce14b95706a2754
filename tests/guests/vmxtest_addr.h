/* vmxtest: what vmxtest_addr.c and vmxtest_bitmaps.c share: their scratch
 * pages, the I/O and MSR bitmap layouts (SDM 25.6.4, 25.6.9), the
 * qualification of an I/O exit (SDM 28.2.1), and a runner of L2 that
 * expects one VM exit after another. */
#ifndef VMXTEST_ADDR_H
#define VMXTEST_ADDR_H

#include "vmxtest.h"

#pragma GCC visibility push(hidden)

/* Scratch pages: L1's page tables with the absent region mapped, a
 * virtual-APIC page of zeros, and an EPT12 for L2 (the first 4 GiB
 * identity in 2-MiB pages, and a 4-KiB alias of the MSR bitmap at
 * ALIAS_GPA). */
enum {
	PG_PML4 = VT_PG_SCRATCH, PG_PDPT, PG_PD, PG_VAPIC,
	PG_EPT_PML4, PG_EPT_PDPT, PG_EPT_PD, PG_EPT_PT = PG_EPT_PD + 4,
	PG_END
};
_Static_assert(PG_END <= VT_PG_SCRATCH + VT_SCRATCH_PAGES, "scratch pages");

/* Exit qualification for I/O instructions (SDM 28.2.1, table "Exit
 * Qualification for I/O Instructions"). */
#define IO_IN BIT(3)
#define IO_STRING BIT(4)
#define IO_REP BIT(5)
#define IO_IMM BIT(6)
#define IO_QUAL(port, size, flags) ((u64)(port) << 16 | ((size) - 1) | (flags))
#define IMM_PORT 0x80
#define PORT_A 0x510       /* I/O bitmap A: ports 0-7FFFH */
#define PORT_B 0xfff0      /* I/O bitmap B: 8000H-FFFFH */
#define PORT_AB 0x7fff     /* a word or dword here touches both bitmaps */
#define PORT_B_LAST 0xfffc /* a dword here reaches FFFFH, no wrap */

/* MSR bitmap (SDM 25.6.9): read low, read high, write low, write high. */
#define MSRB_READ_HIGH 0x400
#define MSRB_WRITE_LOW 0x800
#define MSRB_WRITE_HIGH 0xc00
#define MSR_HIGH_BASE 0xc0000000u
#define MSR_LOW_LAST 0x1fffu
#define MSR_HIGH_LAST 0xc0001fffu

#define VMCALL_LEN 3

/* One expected VM exit: its reason at 'at', the instruction's length,
 * the qualification of an I/O exit. L1 then skips the instruction. */
struct step {
	const u8 *at;
	u32 reason, len;
	u64 qual;
};

/* L2's registers for the next VM entry. */
extern struct tg_regs addr_regs;

/* Runs L2 through 'n' expected exits, skipping each instruction. */
bool addr_run_steps(struct tg_check *c, bool resume, const struct step *s, u32 n);
/* A fresh VMCS A for an L2 at 'rip' with 'proc' controls. */
bool addr_setup(struct vt_env *env, struct tg_check *c, const u8 *rip, u32 proc);
/* A VMWRITE that must succeed. */
bool addr_wr(struct tg_check *c, u32 field, u64 val);
/* vmxtest_bitmaps.c: the bitmaps read when they are used, without and with EPT. */
void addr_bitmap_checks(struct vt_env *env);

#pragma GCC visibility pop

#endif
