/* Walking L1's EPT (EPT12): the translation L1 set up for L2's
 * guest-physical addresses, read from L1's memory the way the CPU walks an
 * EPT (SDM 29.3.2 "EPT Translation Mechanism"; misconfigurations SDM
 * 29.3.3.1, violations 29.3.3.2), and the accessed and dirty flags the CPU
 * sets in it (SDM 29.3.5). Pure: memory comes from callbacks. */
#ifndef NESTVISOR_EPT12_H
#define NESTVISOR_EPT12_H

#include <nestvisor/types.h>

enum ept12_result {
	EPT12_OK,          /* translated; perms say what the entries allow */
	EPT12_NOT_PRESENT, /* an entry on the path has bits 2:0 = 0 */
	EPT12_MISCONFIG,   /* an entry is an EPT misconfiguration */
	EPT12_NO_MEMORY,   /* a paging structure is not readable L1 memory */
};

struct ept12_caps {
	u32 maxphyaddr;
	bool exec_only; /* IA32_VMX_EPT_VPID_CAP bit 0 as offered to L1 */
	bool page_1g;   /* bit 17: PDPTEs may map 1 GByte */
	bool page_2m;   /* bit 16 */
};

#define EPT12_EPTP_AD (1ULL << 6)   /* EPTP: accessed and dirty flags enabled */
#define EPT12_ACCESSED (1ULL << 8)  /* any entry, with EPTP bit 6 */
#define EPT12_DIRTY (1ULL << 9)     /* a leaf, with EPTP bit 6 */

struct ept12_walk {
	enum ept12_result result;
	u64 gpa1;    /* the L1 guest-physical address gpa2 translates to */
	u8 perms;    /* EPT_R|EPT_W|EPT_X: AND over every entry on the path */
	u8 memtype;  /* leaf bits 5:3 */
	bool ipat;   /* leaf bit 6 */
	int level;   /* leaf level: 1 (4 KiB), 2 (2 MiB), 3 (1 GiB) */
	/* The entries read, PML4E first: where each lies and its value. */
	int entries;
	u64 entry_gpa[4];
	u64 entry[4];
};

typedef int ept12_read_fn(void *ctx, u64 gpa, void *buf, u32 len);
/* Replaces the 8 bytes at gpa with 'new' if they hold 'old', atomically
 * (lock cmpxchg): 0 replaced, 1 they held something else, -1 no memory. */
typedef int ept12_cmpxchg_fn(void *ctx, u64 gpa, u64 old, u64 new);

void ept12_walk(u64 eptp, u64 gpa2, const struct ept12_caps *caps, ept12_read_fn *read,
		void *ctx, struct ept12_walk *out);

enum ept12_ad_result {
	EPT12_AD_DONE,    /* every flag set; w->entry[] holds the new values */
	EPT12_AD_CHANGED, /* an entry no longer holds what the walk read */
	EPT12_AD_LOG_FULL, /* PML: a page-modification log-full event, nothing set */
};

/* SDM 29.3.5 "Accessed and Dirty Flags for EPT", for an access EPT12
 * allows after a walk that translated (EPTP bit 6 set): the accessed flag
 * in every entry of the path, and for a write the dirty flag in the leaf;
 * each entry changed with one compare-exchange against what the walk read,
 * as the CPU updates them atomically. On EPT12_AD_CHANGED, walk again.
 * *dirtied: this call set the leaf's dirty flag (it was 0). */
enum ept12_ad_result ept12_set_ad(struct ept12_walk *w, bool write, ept12_cmpxchg_fn *cmpxchg,
				  void *ctx, bool *dirtied);

/* Page-modification logging (SDM 29.3.6), with "enable PML" and EPTP
 * bit 6: the PML address and index of the VMCS, and how to store one
 * 8-byte log entry at a physical address (where there is no memory the
 * store vanishes). */
#define EPT12_PML_ENTRIES 512
struct ept12_pml {
	u64 address;
	u16 index;
	void (*store)(void *ctx, u64 gpa, u64 value);
};

/* Whether the access would set any flag (ept12_set_ad would change an
 * entry): the SDM's "needs to set an accessed or dirty flag for EPT". */
bool ept12_ad_pending(const struct ept12_walk *w, bool write);

/* ept12_set_ad with page-modification logging (SDM 29.3.6), pml NULL
 * without it. Before setting a flag: a PML index outside 0-511 is a
 * log-full event (EPT12_AD_LOG_FULL: no flag set, the access must not
 * happen). Otherwise the flags are set, and if the leaf's dirty flag went
 * from 0 to 1, gpa2 with bits 11:0 clear is stored at PML address + 8 *
 * index and the index decremented (0 becomes FFFFH). */
enum ept12_ad_result ept12_set_ad_pml(struct ept12_walk *w, bool write, u64 gpa2,
				      ept12_cmpxchg_fn *cmpxchg, void *ctx, struct ept12_pml *pml);

#endif
