/* The monitor's memory, and the physical memory map handed to it. */
#include "loader.h"

/* EfiReservedMemoryType: neither the firmware nor the OS that later reads
 * the UEFI memory map will ever use these pages (UEFI 2.x, 7.2 "Memory
 * Allocation Services"). 2 MiB of slack let us pick a 2 MiB-aligned part,
 * so EPT can leave the monitor out with whole large pages. */
EFI_STATUS mem_alloc_monitor(u32 monitor_mb, struct mon_mem *mem)
{
	u64 size = (u64)monitor_mb << 20;
	u64 pages = (size + PAGE_SIZE_2M) / PAGE_SIZE;
	EFI_PHYSICAL_ADDRESS raw = 0, base;
	EFI_STATUS st;
	u64 head, tail;

	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiReservedMemoryType,
			       pages, &raw);
	if (EFI_ERROR(st))
		return st;
	base = ALIGN_UP(raw, PAGE_SIZE_2M);
	head = base - raw;
	tail = PAGE_SIZE_2M - head;
	if (head)
		uefi_call_wrapper(BS->FreePages, 2, raw, head / PAGE_SIZE);
	if (tail)
		uefi_call_wrapper(BS->FreePages, 2, base + size, tail / PAGE_SIZE);
	mem->base = base;
	mem->size = size;
	return EFI_SUCCESS;
}

void mem_free_monitor(struct mon_mem *mem)
{
	if (mem->size)
		uefi_call_wrapper(BS->FreePages, 2, mem->base, mem->size / PAGE_SIZE);
	mem->size = 0;
}

static u32 nv_type(UINT32 efi_type)
{
	switch (efi_type) {
	case EfiMemoryMappedIO:
	case EfiMemoryMappedIOPortSpace:
		return NV_MEM_MMIO;
	case EfiReservedMemoryType:
	case EfiUnusableMemory:
	case EfiACPIMemoryNVS:
	case EfiPalCode:
		return NV_MEM_RESERVED;
	default:
		return NV_MEM_RAM;
	}
}

/* Insertion sort by base, then merge neighbours of the same type that touch. */
static void sort_merge(struct nv_bootinfo *bi)
{
	struct nv_mem_range *m = bi->mem;
	u32 n = bi->mem_range_count, out = 0;

	for (u32 i = 1; i < n; i++) {
		struct nv_mem_range r = m[i];
		u32 j = i;

		for (; j > 0 && m[j - 1].base > r.base; j--)
			m[j] = m[j - 1];
		m[j] = r;
	}
	for (u32 i = 0; i < n; i++) {
		if (out && m[out - 1].type == m[i].type &&
		    m[out - 1].base + m[out - 1].size == m[i].base)
			m[out - 1].size += m[i].size;
		else
			m[out++] = m[i];
	}
	bi->mem_range_count = out;
}

/* Fills bi->mem from GetMemoryMap. Call after the last allocation that
 * matters: the map reflects the monitor's own EfiReservedMemoryType pages. */
EFI_STATUS mem_fill_map(struct nv_bootinfo *bi)
{
	UINTN map_size = 0, key, desc_size;
	UINT32 desc_version;
	EFI_MEMORY_DESCRIPTOR *map = NULL;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &map_size, map, &key, &desc_size,
			       &desc_version);
	if (st != EFI_BUFFER_TOO_SMALL)
		return EFI_ERROR(st) ? st : EFI_DEVICE_ERROR;
	/* The pool allocation itself may add descriptors. */
	map_size += 8 * desc_size;
	map = AllocatePool(map_size);
	if (!map)
		return EFI_OUT_OF_RESOURCES;
	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &map_size, map, &key, &desc_size,
			       &desc_version);
	if (EFI_ERROR(st))
		goto out;

	bi->mem_range_count = 0;
	for (UINTN off = 0; off < map_size; off += desc_size) {
		EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((u8 *)map + off);
		struct nv_mem_range *r;

		if (!d->NumberOfPages)
			continue;
		if (bi->mem_range_count == NV_MAX_MEM_RANGES) {
			/* Merging first may make room: the map is rarely sorted. */
			sort_merge(bi);
			if (bi->mem_range_count == NV_MAX_MEM_RANGES) {
				st = EFI_BUFFER_TOO_SMALL;
				goto out;
			}
		}
		r = &bi->mem[bi->mem_range_count++];
		r->base = d->PhysicalStart;
		r->size = d->NumberOfPages * PAGE_SIZE;
		r->type = nv_type(d->Type);
		r->pad = 0;
	}
	sort_merge(bi);
out:
	FreePool(map);
	return st;
}
