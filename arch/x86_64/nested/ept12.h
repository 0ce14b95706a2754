/* Walking L1's EPT (EPT12): the translation L1 set up for L2's
 * guest-physical addresses, read from L1's memory the way the CPU walks an
 * EPT (SDM 29.3.2 "EPT Translation Mechanism"; misconfigurations SDM
 * 29.3.3.1, violations 29.3.3.2). Pure: memory comes from a callback. */
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

struct ept12_walk {
	enum ept12_result result;
	u64 gpa1;    /* the L1 guest-physical address gpa2 translates to */
	u8 perms;    /* EPT_R|EPT_W|EPT_X: AND over every entry on the path */
	u8 memtype;  /* leaf bits 5:3 */
	bool ipat;   /* leaf bit 6 */
	int level;   /* leaf level: 1 (4 KiB), 2 (2 MiB), 3 (1 GiB) */
};

typedef int ept12_read_fn(void *ctx, u64 gpa, void *buf, u32 len);

void ept12_walk(u64 eptp, u64 gpa2, const struct ept12_caps *caps, ept12_read_fn *read,
		void *ctx, struct ept12_walk *out);

#endif
