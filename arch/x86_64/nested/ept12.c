/* EPT12 walk: see ept12.h. */
#include <nested/ept12.h>

#define EPT_RWX 7ULL
#define EPT_R 1u
#define EPT_W 2u
#define EPT_X 4u
#define EPT_LARGE (1ULL << 7)
#define EPT_MT(e) (((e) >> 3) & 7)
#define EPT_IPAT (1ULL << 6)
#define EPT_ADDR_MASK 0x000ffffffffff000ULL

static u64 level_size(int level)
{
	return 1ULL << (12 + 9 * (level - 1));
}

/* SDM 29.3.3.1 "EPT Misconfigurations": write without read; execute-only
 * where not supported; reserved bits (above MAXPHYADDR, bit 7 of a PML4E,
 * bits 6:3 of a non-leaf entry, the address bits below a large page);
 * a leaf memory type of 2, 3 or 7. */
static bool misconfigured(u64 e, int level, bool leaf, const struct ept12_caps *c)
{
	u8 rwx = e & EPT_RWX;
	if ((rwx & (EPT_R | EPT_W)) == EPT_W)
		return true;
	if (rwx == EPT_X && !c->exec_only)
		return true;
	if (c->maxphyaddr < 52 && ((e & EPT_ADDR_MASK) >> c->maxphyaddr))
		return true;
	if (!leaf)
		return (e >> 3) & 0xf; /* bits 6:3 reserved in non-leaf entries */
	u8 mt = EPT_MT(e);
	if (mt == 2 || mt == 3 || mt == 7)
		return true;
	if (level > 1 && ((e & EPT_ADDR_MASK) & (level_size(level) - 1)))
		return true;
	return false;
}

void ept12_walk(u64 eptp, u64 gpa2, const struct ept12_caps *caps, ept12_read_fn *read,
		void *ctx, struct ept12_walk *out)
{
	u64 table = eptp & EPT_ADDR_MASK;
	u8 perms = EPT_RWX;

	*out = (struct ept12_walk){ .result = EPT12_NOT_PRESENT, .perms = 0 };
	for (int level = 4; level >= 1; level--) {
		u64 e;
		unsigned idx = (gpa2 >> (12 + 9 * (level - 1))) & 0x1ff;
		if (read(ctx, table + idx * 8, &e, 8)) {
			out->result = EPT12_NO_MEMORY;
			return;
		}
		out->entry_gpa[out->entries] = table + idx * 8;
		out->entry[out->entries++] = e;
		if (!(e & EPT_RWX)) /* not present (SDM 29.3.2) */
			return;
		bool large_ok = (level == 2 && caps->page_2m) || (level == 3 && caps->page_1g);
		if (level > 1 && (e & EPT_LARGE) && (level == 4 || !large_ok)) {
			/* bit 7 reserved: in a PML4E always, in a PDPTE or PDE
			 * without the page size; in a PTE it is ignored (SDM
			 * Vol. 3C Table 29-6) */
			out->result = EPT12_MISCONFIG;
			return;
		}
		bool leaf = level == 1 || (e & EPT_LARGE);
		if (misconfigured(e, level, leaf, caps)) {
			out->result = EPT12_MISCONFIG;
			return;
		}
		perms &= e & EPT_RWX;
		if (leaf) {
			u64 size = level_size(level);
			out->result = EPT12_OK;
			out->gpa1 = (e & EPT_ADDR_MASK & ~(size - 1)) | (gpa2 & (size - 1));
			out->perms = perms;
			out->memtype = EPT_MT(e);
			out->ipat = e & EPT_IPAT;
			out->level = level;
			return;
		}
		table = e & EPT_ADDR_MASK;
	}
}

enum ept12_ad_result ept12_set_ad(struct ept12_walk *w, bool write, ept12_cmpxchg_fn *cmpxchg,
				  void *ctx, bool *dirtied)
{
	*dirtied = false;
	for (int i = 0; i < w->entries; i++) {
		bool leaf = i == w->entries - 1;
		u64 old = w->entry[i];
		u64 new = old | EPT12_ACCESSED | (leaf && write ? EPT12_DIRTY : 0);
		if (new == old)
			continue;
		/* Changed, or gone (-1): the next walk sees what is there. */
		if (cmpxchg(ctx, w->entry_gpa[i], old, new))
			return EPT12_AD_CHANGED;
		w->entry[i] = new;
		/* A table that maps itself puts one entry on the path twice. */
		for (int k = i + 1; k < w->entries; k++)
			if (w->entry_gpa[k] == w->entry_gpa[i] && w->entry[k] == old)
				w->entry[k] = new;
		if (leaf && !(old & EPT12_DIRTY) && (new & EPT12_DIRTY))
			*dirtied = true;
	}
	return EPT12_AD_DONE;
}

bool ept12_ad_pending(const struct ept12_walk *w, bool write)
{
	for (int i = 0; i < w->entries; i++) {
		bool leaf = i == w->entries - 1;
		u64 want = EPT12_ACCESSED | (leaf && write ? EPT12_DIRTY : 0);
		if ((w->entry[i] & want) != want)
			return true;
	}
	return false;
}

enum ept12_ad_result ept12_set_ad_pml(struct ept12_walk *w, bool write, u64 gpa2,
				      ept12_cmpxchg_fn *cmpxchg, void *ctx, struct ept12_pml *pml)
{
	bool dirtied;

	if (pml && pml->index >= EPT12_PML_ENTRIES && ept12_ad_pending(w, write))
		return EPT12_AD_LOG_FULL;
	enum ept12_ad_result r = ept12_set_ad(w, write, cmpxchg, ctx, &dirtied);
	if (r == EPT12_AD_DONE && dirtied && pml) {
		pml->store(ctx, pml->address + 8 * (u64)pml->index, gpa2 & ~0xfffULL);
		pml->index--;
	}
	return r;
}
