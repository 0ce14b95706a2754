/* EPT paging structures: a 4-level builder for the monitor's guest map.
 * SDM Vol. 3C "EPT Translation Mechanism", "Format of EPT Entries" (tables
 * "Format of an EPT PML4 Entry" ... "Format of an EPT Page-Table Entry") and
 * "Extended-Page-Table Pointer (EPTP)". Pure logic: page memory comes from
 * callbacks, so the host unit tests run it on malloc'd pages. */
#ifndef NV_EPT_H
#define NV_EPT_H

#include <nestvisor/types.h>
#include <nestvisor/bootinfo.h>

/* Entry bits common to all levels. */
#define EPT_R BIT(0)               /* read access */
#define EPT_W BIT(1)               /* write access */
#define EPT_X BIT(2)               /* supervisor-mode execute access */
#define EPT_RWX (EPT_R | EPT_W | EPT_X)
/* Leaf-only bits (PTE, or PDE/PDPTE with EPT_LARGE). */
#define EPT_MT_SHIFT 3             /* bits 5:3 EPT memory type */
#define EPT_MT_MASK (7ULL << EPT_MT_SHIFT)
#define EPT_IGNORE_PAT BIT(6)      /* ignore the guest PAT memory type */
#define EPT_LARGE BIT(7)           /* PDPTE maps 1 GiB, PDE maps 2 MiB */
#define EPT_ACCESSED BIT(8)
#define EPT_DIRTY BIT(9)
#define EPT_ADDR_MASK 0x000ffffffffff000ULL /* bits 51:12 */

/* EPT memory types (SDM "EPT and Memory Typing"); 2, 3 and 7 are reserved
 * and make a leaf an EPT misconfiguration. */
#define EPT_MT_UC 0
#define EPT_MT_WC 1
#define EPT_MT_WT 4
#define EPT_MT_WP 5
#define EPT_MT_WB 6

/* EPTP fields. */
#define EPTP_MT_WB 6ULL            /* bits 2:0 paging-structure memory type */
#define EPTP_WALK_SHIFT 3          /* bits 5:3 page-walk length minus 1 */
#define EPTP_WALK_4 (3ULL << EPTP_WALK_SHIFT)
#define EPTP_AD_ENABLE BIT(6)      /* accessed/dirty flags (not used) */

#define EPT_LEVELS 4
#define EPT_ENTRIES 512
#define EPT_GPA_BITS 48            /* a 4-level walk translates 48 bits */
#define EPT_PA_BITS 52

struct ept_mem_ops {
	void *(*alloc_page)(void *ctx, u64 *pa); /* zeroed 4 KiB page, NULL if none */
	void *(*phys_to_virt)(void *ctx, u64 pa);
	void *ctx;
};

struct ept {
	u64 pml4_pa;
	u64 *pml4;
	struct ept_mem_ops ops;
	bool has_1g; /* IA32_VMX_EPT_VPID_CAP bit 17: 1-GByte pages */
};

/* Allocates the PML4. 0 or -1. */
int ept_init(struct ept *ept, const struct ept_mem_ops *ops, bool has_1g);

/* Maps [gpa, gpa+size) to [hpa, hpa+size) with the largest pages alignment
 * allows (1 GiB only if has_1g). A large page that a smaller mapping lands
 * in is split first, keeping the old translation for the rest; a range that
 * already has a finer table is filled into that table (there is no way to
 * free pages, so tables are never dropped). All of gpa, hpa, size 4 KiB
 * aligned; perms = EPT_R|EPT_W|EPT_X, optionally |EPT_IGNORE_PAT; write
 * without read and reserved memory types are refused (both would be EPT
 * misconfigurations). 0 or -1; on -1 (out of pages) part may be mapped. */
int ept_map(struct ept *ept, u64 gpa, u64 hpa, u64 size, u64 perms, u8 memtype);

/* Makes [gpa, gpa+size) not present, splitting large pages as needed.
 * 4 KiB aligned. 0 or -1 (out of pages for a split). */
int ept_unmap(struct ept *ept, u64 gpa, u64 size);

/* The leaf entry mapping gpa, NULL if not present; *level = 1 (4 KiB),
 * 2 (2 MiB), 3 (1 GiB); level may be NULL. */
u64 *ept_lookup(struct ept *ept, u64 gpa, int *level);

/* Frees every paging-structure page (the root too) through free_page;
 * the ept can then be ept_init()ed again. */
void ept_destroy(struct ept *ept, void (*free_page)(void *ctx, void *va, u64 pa));

/* EPTP: WB paging-structure memory type, page-walk length 4, no A/D. */
u64 ept_eptp(const struct ept *ept);

/* The monitor's guest map: [0, limit) identity, all RWX, NV_MEM_RAM and
 * NV_MEM_RESERVED ranges WB, everything else (MMIO and holes) UC; then the
 * hole [hole_base, hole_base + hole_size) -- the monitor's own memory -- not
 * present. Memory-map ranges need not be page aligned: MMIO is rounded
 * outward and RAM inward, so a page shared by both is UC. Caching MMIO is
 * unsafe (speculative reads, merged writes); an uncached bit of RAM is only
 * slow. limit is rounded up to 4 KiB; hole_base and hole_size must be 4 KiB
 * aligned. The guest PAT is not ignored, so its UC/WC choices still apply.
 * 0 or -1. */
int ept_build_identity(struct ept *ept, const struct nv_mem_range *mem, u32 count,
		       u64 limit, u64 hole_base, u64 hole_size);

#endif
