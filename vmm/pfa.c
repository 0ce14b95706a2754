/* Page-frame allocator: the monitor's memory after its image and boot
 * information, handed out a 4 KiB page at a time. A free list keeps freed
 * pages; fresh pages come from a bump pointer. Single CPU for now. */
#include "vmm.h"
#include "lib.h"
#include "log.h"

static u64 bump, limit;
static void *free_list;
static u64 nr_free;

void pfa_init(u64 start, u64 end)
{
	bump = ALIGN_UP(start, PAGE_SIZE);
	limit = ALIGN_DOWN(end, PAGE_SIZE);
	nr_free = (limit - bump) / PAGE_SIZE;
}

void *pfa_alloc(void)
{
	void *p;
	if (free_list) {
		p = free_list;
		free_list = *(void **)p;
	} else if (bump < limit) {
		p = (void *)bump;
		bump += PAGE_SIZE;
	} else {
		pr_err("out of monitor memory");
		return NULL;
	}
	nr_free--;
	memset(p, 0, PAGE_SIZE);
	return p;
}

void *pfa_alloc_contig(u32 n)
{
	if (bump + n * PAGE_SIZE > limit) {
		pr_err("out of monitor memory (%u contiguous pages)", n);
		return NULL;
	}
	void *p = (void *)bump;
	bump += n * PAGE_SIZE;
	nr_free -= n;
	memset(p, 0, n * PAGE_SIZE);
	return p;
}

void pfa_free(void *page)
{
	*(void **)page = free_list;
	free_list = page;
	nr_free++;
}

u64 pfa_free_pages(void)
{
	return nr_free;
}
