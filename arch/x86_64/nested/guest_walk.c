/* Guest page walk (see guest_walk.h). Levels are numbered as in the SDM:
 * 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4, 5 = PML5. */
#include "nested/guest_walk.h"
#include "cpu.h"

enum paging_mode { PAGING_NONE, PAGING_32, PAGING_PAE, PAGING_4LVL, PAGING_5LVL };

/* Paging-structure entry bits (SDM 4.3, 4.4.2, 4.5.4 entry formats). */
#define PG_P BIT(0)
#define PG_RW BIT(1)
#define PG_US BIT(2)
#define PG_PS BIT(7)
#define PG_XD BIT(63)

/* SDM 4.1.1 "Four Paging Modes" (Table 4-1). EFER.LMA is LME once CR0.PG
 * is set. */
static enum paging_mode paging_mode(const struct guest_paging *p)
{
	if (!(p->cr0 & CR0_PG))
		return PAGING_NONE;
	if (!(p->cr4 & CR4_PAE))
		return PAGING_32;
	if (!(p->efer & EFER_LMA))
		return PAGING_PAE;
	return (p->cr4 & CR4_LA57) ? PAGING_5LVL : PAGING_4LVL;
}

struct walk {
	enum paging_mode mode;
	u32 m;          /* MAXPHYADDR */
	bool nxe;
	bool page_1g;
};

static u64 bits(u32 hi, u32 lo)
{
	return (hi >= 63 ? ~0ULL : (1ULL << (hi + 1)) - 1) & ~((1ULL << lo) - 1);
}

/* Physical-address bits M-1 .. lo of an entry. */
static u64 addr_bits(const struct walk *w, u32 lo)
{
	return bits(w->m - 1, lo);
}

static u32 index_shift(enum paging_mode mode, int level)
{
	if (mode == PAGING_32)
		return level == 2 ? 22 : 12;
	return 12 + 9 * (level - 1);
}

static u64 index_mask(enum paging_mode mode, int level)
{
	if (mode == PAGING_32)
		return 0x3ff;
	if (mode == PAGING_PAE && level == 3)
		return 0x3;  /* four PDPTEs */
	return 0x1ff;
}

/* May this entry map a page (PS honoured at this level)? */
static bool is_leaf(const struct walk *w, u64 e, int level, bool pse)
{
	if (level == 1)
		return true;
	if (!(e & PG_PS))
		return false;
	if (w->mode == PAGING_32)
		return level == 2 && pse;
	return level == 2 || (level == 3 && w->mode != PAGING_PAE);
}

/* Reserved bits of a present entry (SDM 4.3 and tables 4-6, 4-8 .. 4-11,
 * 4-14 .. 4-20: "Reserved (must be 0)"). */
static u64 reserved_bits(const struct walk *w, u64 e, int level, bool pse)
{
	u64 rsvd;

	if (w->mode == PAGING_32) {
		/* Only a 4-MByte PDE: bits 21:(M-19), M capped at 40 (PSE-36). */
		u32 m = w->m > 40 ? 40 : w->m;

		if (level == 2 && pse && (e & PG_PS))
			return bits(21, m - 19);
		return 0;
	}
	if (w->mode == PAGING_PAE) {
		if (level == 3)  /* PDPTE: 2:1, 8:5, 63:M */
			return bits(2, 1) | bits(8, 5) | bits(63, w->m);
		rsvd = bits(62, w->m);
	} else {
		rsvd = w->m < 52 ? bits(51, w->m) : 0;  /* 62:52 are ignored */
	}
	if (!w->nxe)
		rsvd |= PG_XD;
	if (w->mode != PAGING_PAE && level >= 4)
		rsvd |= PG_PS;  /* PML4E/PML5E */
	if (level == 3 && w->mode != PAGING_PAE && (e & PG_PS))
		rsvd |= w->page_1g ? bits(29, 13) : PG_PS;
	if (level == 2 && (e & PG_PS))
		rsvd |= bits(20, 13);
	return rsvd;
}

static u64 leaf_address(const struct walk *w, u64 e, int level, u64 linear)
{
	if (w->mode == PAGING_32) {
		if (level == 2)  /* PDE bits 31:22 and, PSE-36, 20:13 as 39:32 */
			return (e & bits(31, 22)) | (((e >> 13) & 0xff) << 32) |
			       (linear & bits(21, 0));
		return (e & bits(31, 12)) | (linear & bits(11, 0));
	}
	u32 shift = index_shift(w->mode, level);

	return (e & addr_bits(w, shift)) | (linear & bits(shift - 1, 0));
}

static u32 fault_code(const struct guest_paging *p, u32 access, u32 extra)
{
	u32 ec = extra;

	if (access & WALK_WRITE)
		ec |= PFEC_W;
	if (access & WALK_USER)
		ec |= PFEC_U;
	/* SDM 4.7: I/D is reported only with SMEP, or with PAE and NXE. */
	if ((access & WALK_FETCH) &&
	    ((p->cr4 & CR4_SMEP) || ((p->cr4 & CR4_PAE) && (p->efer & EFER_NXE))))
		ec |= PFEC_ID;
	return ec;
}

/* SDM 4.6 "Access Rights": rights are the AND of R/W and U/S (and the OR
 * of XD) over every entry of the walk. */
static bool access_allowed(const struct guest_paging *p, u32 access, bool user_page,
			   bool writable, bool no_exec)
{
	bool write = access & WALK_WRITE, fetch = access & WALK_FETCH;

	if (fetch && no_exec)
		return false;
	if (access & WALK_USER)
		return user_page && (!write || writable);
	/* Supervisor access (4.6.1). */
	if (fetch)
		return !(user_page && (p->cr4 & CR4_SMEP));
	if (user_page && (p->cr4 & CR4_SMAP) && !(access & WALK_AC))
		return false;
	return !write || writable || !(p->cr0 & CR0_WP);
}

int guest_walk(const struct guest_paging *p, u64 linear, u32 access,
	       guest_read_phys_fn *read_phys, void *ctx, u64 *gpa, u32 *pf_error)
{
	struct walk w = {
		.mode = paging_mode(p),
		.m = p->maxphyaddr < 32 ? 32 : p->maxphyaddr > 52 ? 52 : p->maxphyaddr,
		.nxe = p->efer & EFER_NXE,
		.page_1g = p->page_1g,
	};
	bool pse = p->cr4 & CR4_PSE;
	bool user_page = true, writable = true, no_exec = false;
	u64 table;
	int level;

	if (w.mode == PAGING_NONE) {
		*gpa = linear & 0xffffffffULL;
		return GUEST_WALK_OK;
	}
	switch (w.mode) {
	case PAGING_32:
		level = 2;
		table = p->cr3 & bits(31, 12);
		linear &= 0xffffffffULL;
		break;
	case PAGING_PAE:
		level = 3;
		table = p->cr3 & bits(31, 5);
		linear &= 0xffffffffULL;
		break;
	default:
		level = w.mode == PAGING_5LVL ? 5 : 4;
		table = p->cr3 & addr_bits(&w, 12);
		break;
	}

	for (;; level--) {
		u32 esize = w.mode == PAGING_32 ? 4 : 8;
		u64 idx = (linear >> index_shift(w.mode, level)) & index_mask(w.mode, level);
		u64 e = 0;

		if (read_phys(ctx, table + idx * esize, &e, esize))
			return GUEST_WALK_ERR;
		if (!(e & PG_P)) {
			*pf_error = fault_code(p, access, 0);
			return GUEST_WALK_PF;
		}
		if (e & reserved_bits(&w, e, level, pse)) {
			*pf_error = fault_code(p, access, PFEC_P | PFEC_RSVD);
			return GUEST_WALK_PF;
		}
		/* PAE PDPTEs have no R/W, U/S or XD (those bits are reserved). */
		if (!(w.mode == PAGING_PAE && level == 3)) {
			user_page &= !!(e & PG_US);
			writable &= !!(e & PG_RW);
			no_exec |= w.nxe && (e & PG_XD);
		}
		if (is_leaf(&w, e, level, pse)) {
			if (!access_allowed(p, access, user_page, writable, no_exec)) {
				*pf_error = fault_code(p, access, PFEC_P);
				return GUEST_WALK_PF;
			}
			*gpa = leaf_address(&w, e, level, linear);
			return GUEST_WALK_OK;
		}
		table = w.mode == PAGING_32 ? e & bits(31, 12) : e & addr_bits(&w, 12);
	}
}

int guest_linear_access(const struct guest_paging *p, u64 linear, void *buf, u32 len,
			u32 access, const struct guest_mem_ops *ops, u32 *pf_error,
			u64 *fault_linear)
{
	/* Outside IA-32e mode linear addresses are 32 bits and wrap. */
	u64 wrap = (p->efer & EFER_LMA) ? ~0ULL : 0xffffffffULL;
	u64 la[2], gpa[2];
	u32 part[2];
	int n = 0, rc;

	if (len == 0 || len > PAGE_SIZE || !ops->read_phys ||
	    ((access & WALK_WRITE) && !ops->write_phys))
		return GUEST_WALK_ERR;
	part[0] = (u32)(PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
	if (part[0] >= len) {
		part[0] = len;
		n = 1;
	} else {
		part[1] = len - part[0];
		n = 2;
	}
	la[0] = linear & wrap;
	la[1] = (linear + part[0]) & wrap;

	for (int i = 0; i < n; i++) {
		rc = guest_walk(p, la[i], access, ops->read_phys, ops->ctx, &gpa[i], pf_error);
		if (rc == GUEST_WALK_PF)
			*fault_linear = la[i];
		if (rc)
			return rc;
	}
	for (int i = 0, off = 0; i < n; off += part[i], i++) {
		u8 *b = (u8 *)buf + off;

		rc = (access & WALK_WRITE) ? ops->write_phys(ops->ctx, gpa[i], b, part[i])
					   : ops->read_phys(ops->ctx, gpa[i], b, part[i]);
		if (rc)
			return GUEST_WALK_ERR;
	}
	return GUEST_WALK_OK;
}
