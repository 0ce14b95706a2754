/* Shared by the page-walk harnesses (fuzz_ept12.c, fuzz_guest_walk.c): a
 * small fake guest-physical memory of up to MAX_PAGES 4-KByte pages, which
 * the input lays out, and the seed writer for its entries. Include after
 * fuzz.h.
 *
 * Input, read by fuzz_pages(): u8 pages (1 + n % MAX_PAGES), one u16
 * frame number per page (gpa = frame << 12; pages start zeroed), then,
 * until the input ends, entries of 12 bytes: u8 page (% pages), u8 target
 * (bit 7 set: the value's bits 51:12 become the address of page
 * (target & 0x7f) % pages, making a pointer), u16 slot (bits 8:0, the
 * 8-byte entry within the page), u64 value. Two pages with the same frame
 * are allowed: owner() gives the first. */
#ifndef NV_FUZZ_PAGES_H
#define NV_FUZZ_PAGES_H

#define MAX_PAGES 8
#define ADDR_51_12 0x000ffffffffff000ULL

/* A page as 8-byte entries (e) or bytes (b); x86 is little-endian, so
 * entry k is bytes 8k to 8k+7. */
static struct {
	u64 gpa;
	union {
		u64 e[512];
		u8 b[4096];
	};
} mem[MAX_PAGES];
static unsigned int npages;

/* The page that holds gpa, or -1: memory the callbacks do not own. */
static int owner(u64 gpa)
{
	for (unsigned int i = 0; i < npages; i++)
		if ((gpa & ~0xfffULL) == mem[i].gpa)
			return (int)i;
	return -1;
}

/* The pages and their entries, from the rest of the input. */
static void fuzz_pages(struct fz *z)
{
	npages = 1 + fz_u8(z) % MAX_PAGES;
	for (unsigned int i = 0; i < npages; i++) {
		memset(mem[i].e, 0, sizeof(mem[i].e));
		mem[i].gpa = (u64)fz_u16(z) << 12;
	}
	while (fz_more(z)) {
		u8 page = fz_u8(z) % npages, to = fz_u8(z);
		u16 slot = fz_u16(z) & 0x1ff;
		u64 val = fz_u64(z);

		if (to & 0x80)
			val = (val & ~ADDR_51_12) | mem[(to & 0x7f) % npages].gpa;
		mem[page].e[slot] = val;
	}
}

/* Seeds: an entry in 'page'; to >= 0: a pointer to page 'to'. */
static void put_entry(struct seed *s, u8 page, int to, u16 slot, u64 val)
{
	seed_u8(s, page);
	seed_u8(s, to >= 0 ? 0x80 | to : 0);
	seed_u16(s, slot);
	seed_u64(s, val);
}

#endif
