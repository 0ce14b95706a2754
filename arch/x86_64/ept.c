/* EPT paging-structure builder. Levels are numbered as in the SDM walk:
 * 4 = PML4, 3 = PDPT, 2 = PD, 1 = PT. */
#include "ept.h"

_Static_assert(EPT_ENTRIES * sizeof(u64) == PAGE_SIZE, "an EPT table fills one page");

static inline u64 ept_level_size(int level)
{
	return 1ULL << (12 + 9 * (level - 1));
}

static inline unsigned int ept_index(u64 gpa, int level)
{
	return (gpa >> (12 + 9 * (level - 1))) & (EPT_ENTRIES - 1);
}

/* SDM "EPT Translation Mechanism": an entry with bits 2:0 clear is not
 * present and ends the walk. */
static inline bool ept_present(u64 e)
{
	return e & EPT_RWX;
}

static inline bool ept_is_leaf(u64 e, int level)
{
	return level == 1 || (e & EPT_LARGE);
}

static u64 *ept_alloc_table(struct ept *ept, u64 *pa)
{
	u64 *t = ept->ops.alloc_page(ept->ops.ctx, pa);

	if (t && (*pa & ~EPT_ADDR_MASK))
		return NULL; /* not page aligned or beyond 52 bits: unusable */
	return t;
}

static u64 *ept_table(struct ept *ept, u64 e)
{
	return ept->ops.phys_to_virt(ept->ops.ctx, e & EPT_ADDR_MASK);
}

/* Replaces the large leaf *e at 'level' with a table of the next level that
 * keeps the same translation and attributes. */
static int ept_split(struct ept *ept, u64 *e, int level)
{
	u64 pa, child = ept_level_size(level - 1);
	u64 attrs = *e & ~(EPT_ADDR_MASK | EPT_LARGE);
	u64 base = *e & EPT_ADDR_MASK;
	u64 *t = ept_alloc_table(ept, &pa);

	if (!t)
		return -1;
	if (level - 1 > 1)
		attrs |= EPT_LARGE;
	for (unsigned int i = 0; i < EPT_ENTRIES; i++)
		t[i] = (base + i * child) | attrs;
	/* Non-leaf entries allow everything: the leaf alone decides access. */
	*e = pa | EPT_RWX;
	return 0;
}

/* The table that entry *e at 'level' points to, creating it (alloc) or
 * splitting a large page into it as needed. NULL if none. */
static u64 *ept_child(struct ept *ept, u64 *e, int level, bool alloc)
{
	u64 pa;

	if (!ept_present(*e)) {
		u64 *t;

		if (!alloc)
			return NULL;
		t = ept_alloc_table(ept, &pa);
		if (!t)
			return NULL;
		*e = pa | EPT_RWX;
		return t;
	}
	if (ept_is_leaf(*e, level) && ept_split(ept, e, level))
		return NULL;
	return ept_table(ept, *e);
}

int ept_init(struct ept *ept, const struct ept_mem_ops *ops, bool has_1g)
{
	ept->ops = *ops;
	ept->has_1g = has_1g;
	ept->pml4 = ept_alloc_table(ept, &ept->pml4_pa);
	return ept->pml4 ? 0 : -1;
}

static bool ept_aligned(u64 gpa, u64 hpa, u64 size, int level)
{
	u64 s = ept_level_size(level);

	return !(gpa & (s - 1)) && !(hpa & (s - 1)) && size >= s;
}

static bool ept_memtype_valid(u8 mt)
{
	return mt == EPT_MT_UC || mt == EPT_MT_WC || mt == EPT_MT_WT ||
	       mt == EPT_MT_WP || mt == EPT_MT_WB;
}

static bool ept_range_ok(u64 gpa, u64 hpa, u64 size)
{
	if ((gpa | hpa | size) & (PAGE_SIZE - 1))
		return false;
	if (gpa + size < gpa || gpa + size > BIT(EPT_GPA_BITS))
		return false;
	return hpa + size >= hpa && hpa + size <= BIT(EPT_PA_BITS);
}

int ept_map(struct ept *ept, u64 gpa, u64 hpa, u64 size, u64 perms, u8 memtype)
{
	if (!ept_range_ok(gpa, hpa, size) || !ept_memtype_valid(memtype))
		return -1;
	/* SDM "EPT Misconfigurations": write without read is one; so would be
	 * an entry with no access at all be "not present" (use ept_unmap). */
	if ((perms & ~(EPT_RWX | EPT_IGNORE_PAT)) || !(perms & EPT_RWX) ||
	    ((perms & EPT_W) && !(perms & EPT_R)))
		return -1;

	while (size) {
		int want = 1, level;
		u64 *table = ept->pml4, *e;

		if (ept->has_1g && ept_aligned(gpa, hpa, size, 3))
			want = 3;
		else if (ept_aligned(gpa, hpa, size, 2))
			want = 2;

		for (level = EPT_LEVELS;; level--) {
			e = &table[ept_index(gpa, level)];
			/* An existing finer table is filled in, not dropped. */
			if (level <= want && (level == 1 || !ept_present(*e) || (*e & EPT_LARGE)))
				break;
			table = ept_child(ept, e, level, true);
			if (!table)
				return -1;
		}
		*e = hpa | perms | ((u64)memtype << EPT_MT_SHIFT) | (level > 1 ? EPT_LARGE : 0);
		gpa += ept_level_size(level);
		hpa += ept_level_size(level);
		size -= ept_level_size(level);
	}
	return 0;
}

int ept_unmap(struct ept *ept, u64 gpa, u64 size)
{
	if (!ept_range_ok(gpa, 0, size))
		return -1;

	while (size) {
		u64 *table = ept->pml4, step = 0;

		for (int level = EPT_LEVELS;; level--) {
			u64 *e = &table[ept_index(gpa, level)];
			u64 span = ept_level_size(level);
			u64 off = gpa & (span - 1);

			if (!ept_present(*e)) {
				step = span - off; /* nothing mapped below */
				break;
			}
			if (ept_is_leaf(*e, level) && !off && size >= span) {
				*e = 0;
				step = span;
				break;
			}
			/* A partly covered large page is split; a table is
			 * walked into (its leaves cleared one by one). */
			table = ept_child(ept, e, level, false);
			if (!table)
				return -1;
		}
		if (step > size)
			step = size;
		gpa += step;
		size -= step;
	}
	return 0;
}

u64 *ept_lookup(struct ept *ept, u64 gpa, int *level)
{
	u64 *table = ept->pml4;

	if (gpa >= BIT(EPT_GPA_BITS))
		return NULL;
	for (int l = EPT_LEVELS; l >= 1; l--) {
		u64 *e = &table[ept_index(gpa, l)];

		if (!ept_present(*e))
			return NULL;
		if (l < EPT_LEVELS && ept_is_leaf(*e, l)) {
			if (level)
				*level = l;
			return e;
		}
		table = ept_table(ept, *e);
	}
	return NULL; /* not reached: level 1 entries are leaves */
}

u64 ept_eptp(const struct ept *ept)
{
	return ept->pml4_pa | EPTP_MT_WB | EPTP_WALK_4;
}

/* Extent of memory-map range r after rounding: RAM inward, MMIO outward. */
static void ept_range_extent(const struct nv_mem_range *r, u64 *start, u64 *end)
{
	if (r->type == NV_MEM_RAM || r->type == NV_MEM_RESERVED) {
		*start = ALIGN_UP(r->base, PAGE_SIZE);
		*end = ALIGN_DOWN(r->base + r->size, PAGE_SIZE);
	} else {
		*start = ALIGN_DOWN(r->base, PAGE_SIZE);
		*end = ALIGN_UP(r->base + r->size, PAGE_SIZE);
	}
}

/* Memory type of the page at addr: UC wins over WB, holes are UC. */
static u8 ept_type_at(const struct nv_mem_range *mem, u32 count, u64 addr)
{
	bool wb = false;

	for (u32 i = 0; i < count; i++) {
		u64 s, e;

		ept_range_extent(&mem[i], &s, &e);
		if (addr < s || addr >= e)
			continue;
		if (mem[i].type != NV_MEM_RAM && mem[i].type != NV_MEM_RESERVED)
			return EPT_MT_UC;
		wb = true;
	}
	return wb ? EPT_MT_WB : EPT_MT_UC;
}

/* The first range boundary above addr (or limit): the type is constant
 * in between. */
static u64 ept_next_boundary(const struct nv_mem_range *mem, u32 count, u64 addr, u64 limit)
{
	u64 next = limit;

	for (u32 i = 0; i < count; i++) {
		u64 s, e;

		ept_range_extent(&mem[i], &s, &e);
		if (s > addr && s < next)
			next = s;
		if (e > addr && e < next)
			next = e;
	}
	return next;
}

int ept_build_identity(struct ept *ept, const struct nv_mem_range *mem, u32 count,
		       u64 limit, u64 hole_base, u64 hole_size)
{
	u64 addr = 0;

	limit = ALIGN_UP(limit, PAGE_SIZE);
	while (addr < limit) {
		u8 type = ept_type_at(mem, count, addr);
		u64 end = ept_next_boundary(mem, count, addr, limit);

		/* Merge neighbouring ranges of the same type so that a
		 * boundary between two RAM ranges does not cost large pages. */
		while (end < limit && ept_type_at(mem, count, end) == type)
			end = ept_next_boundary(mem, count, end, limit);
		if (ept_map(ept, addr, addr, end - addr, EPT_RWX, type))
			return -1;
		addr = end;
	}
	if (hole_size && ept_unmap(ept, hole_base, hole_size))
		return -1;
	return 0;
}

/* Frees every table below 'table' at 'level' (leaves are not pages of
 * ours), then the table itself. */
static void ept_free_table(struct ept *ept, u64 *table, u64 pa, int level,
			   void (*free_page)(void *ctx, void *va, u64 pa))
{
	for (unsigned int i = 0; level > 1 && i < EPT_ENTRIES; i++)
		if (ept_present(table[i]) && !ept_is_leaf(table[i], level))
			ept_free_table(ept, ept_table(ept, table[i]), table[i] & EPT_ADDR_MASK,
				       level - 1, free_page);
	free_page(ept->ops.ctx, table, pa);
}

void ept_destroy(struct ept *ept, void (*free_page)(void *ctx, void *va, u64 pa))
{
	if (ept->pml4)
		ept_free_table(ept, ept->pml4, ept->pml4_pa, EPT_LEVELS, free_page);
	ept->pml4 = NULL;
	ept->pml4_pa = 0;
}
