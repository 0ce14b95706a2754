/* The x86 Linux boot protocol for nvlaunch (Documentation/x86/boot.rst).
 *
 * nvlaunch uses the 64-bit boot protocol: the vCPU starts in long mode at
 * the load address + 0x200 (startup_64), with RSI pointing at the zero page.
 * boot.rst, "64-bit Boot Protocol": "At entry, the CPU must be in 64-bit
 * mode with paging enabled. The range with setup_header.init_size from
 * start address of loaded kernel and zero page and command line buffer get
 * ident mapping; a GDT must be loaded with the descriptors for selectors
 * __BOOT_CS(0x10) and __BOOT_DS(0x18); [...] %rsi must hold the base
 * address of the struct boot_params." The real-mode setup code is never
 * run, so nothing else from the BIOS is needed. */
#include "boot.h"
#include <stdio.h>
#include <string.h>

/* Offsets in the bzImage (boot.rst, "The Real-Mode Kernel Header"). */
#define HDR_OFFSET         0x1f1      /* struct setup_header */
#define HDR_JUMP_OFFSET    0x201      /* the header ends at 0x202 + this byte */
#define HDR_END_BASE       0x202
#define HDR_MAGIC          0x53726448 /* "HdrS" */
#define HDR_BOOT_FLAG      0xaa55
#define HDR_MIN_VERSION    0x020c     /* 2.12: xloadflags, XLF_KERNEL_64 */
#define ENTRY64_OFFSET     0x200      /* startup_64 from the load address */
#define LOADER_UNDEFINED   0xff       /* type_of_loader: "no assigned id" */
#define SECTOR             512

/* Paging (SDM Vol. 3A, 4.5 "4-Level Paging"). */
#define PTE_P              (1UL << 0)
#define PTE_RW             (1UL << 1)
#define PTE_PS             (1UL << 7)   /* 2-MiB page in a PD entry */
#define PAGE_SIZE          0x1000UL
#define PAGE_2M            0x200000UL

/* Flat 4-GiB descriptors (SDM Vol. 3A, 3.4.5 "Segment Descriptors"):
 * G=1, P=1, S=1; code: type 0xb (execute/read, accessed), L=1; data:
 * type 0x3 (read/write, accessed), D/B=1. */
#define GDT_CODE64         0x00af9b000000ffffULL
#define GDT_DATA           0x00cf93000000ffffULL

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

int boot_parse(const void *file, size_t size, struct boot_image *img,
	       char err[BOOT_ERR_MAX])
{
	const uint8_t *p = file;
	struct setup_header h;
	size_t sects, hdr_len;

	memset(img, 0, sizeof(*img));
	if (size < HDR_OFFSET + sizeof(h)) {
		snprintf(err, BOOT_ERR_MAX, "not a bzImage: %zu bytes is too short", size);
		return -1;
	}
	memcpy(&h, p + HDR_OFFSET, sizeof(h));
	if (h.header != HDR_MAGIC) {
		snprintf(err, BOOT_ERR_MAX, "not a bzImage: no \"HdrS\" magic at 0x202");
		return -1;
	}
	if (h.boot_flag != HDR_BOOT_FLAG) {
		snprintf(err, BOOT_ERR_MAX, "not a bzImage: boot_flag 0x%04x, not 0xaa55",
			 h.boot_flag);
		return -1;
	}
	if (h.version < HDR_MIN_VERSION) {
		snprintf(err, BOOT_ERR_MAX, "boot protocol %u.%02u is too old "
			 "(2.12 or later needed for the 64-bit entry)",
			 h.version >> 8, h.version & 0xff);
		return -1;
	}
	if (!(h.loadflags & LOADED_HIGH) || !(h.xloadflags & XLF_KERNEL_64)) {
		snprintf(err, BOOT_ERR_MAX, "not a 64-bit bzImage (loadflags 0x%02x, "
			 "xloadflags 0x%04x)", h.loadflags, h.xloadflags);
		return -1;
	}
	/* boot.rst, setup_sects: "If this field is 0, the real value is 4." */
	sects = h.setup_sects ? h.setup_sects : 4;
	if ((sects + 1) * SECTOR >= size) {
		snprintf(err, BOOT_ERR_MAX, "not a bzImage: %zu setup sectors but only "
			 "%zu bytes", sects, size);
		return -1;
	}
	/* boot.rst: the header's end is "0x0202 + byte value at offset 0x0201". */
	hdr_len = HDR_END_BASE + p[HDR_JUMP_OFFSET] - HDR_OFFSET;
	img->file = p;
	img->file_size = size;
	img->setup_size = (sects + 1) * SECTOR;
	img->hdr_len = hdr_len < sizeof(h) ? hdr_len : sizeof(h);
	img->hdr = h;
	return 0;
}

size_t boot_cmdline_max(const struct setup_header *hdr)
{
	/* cmdline_size exists from 2.06; before it the limit was 255. */
	if (hdr->version < 0x0206)
		return 255;
	return hdr->cmdline_size;
}

static int e820_add(struct boot_params *bp, uint64_t addr, uint64_t end, uint32_t type)
{
	struct boot_e820_entry *e;

	if (end <= addr || bp->e820_entries >= E820_MAX_ENTRIES_ZEROPAGE)
		return bp->e820_entries;
	e = &bp->e820_table[bp->e820_entries++];
	e->addr = addr;
	e->size = end - addr;
	e->type = type;
	return bp->e820_entries;
}

int boot_e820(struct boot_params *bp, uint64_t mem_size)
{
	uint64_t low_end = min_u64(mem_size, BOOT_LOW_RAM_MAX);

	bp->e820_entries = 0;
	/* Conventional memory, then the PC's EBDA and BIOS area (the ACPI
	 * tables), so that 640 KiB - 1 MiB is never RAM to Linux. */
	e820_add(bp, 0, min_u64(mem_size, BOOT_EBDA_START), E820_RAM);
	e820_add(bp, BOOT_EBDA_START, 0xa0000, E820_RESERVED);
	e820_add(bp, BOOT_BIOS_START, BOOT_HIGH_MEM, E820_RESERVED);
	e820_add(bp, BOOT_HIGH_MEM, low_end, E820_RAM);
	/* RAM that would fall in the 32-bit PCI hole continues at 4 GiB. */
	if (mem_size > BOOT_LOW_RAM_MAX)
		e820_add(bp, BOOT_4G, BOOT_4G + (mem_size - BOOT_LOW_RAM_MAX), E820_RAM);
	return bp->e820_entries;
}

/* Identity map of the first 4 GiB with 2-MiB pages: covers the kernel,
 * its init_size, the zero page, the command line and the initrd. */
static void build_page_tables(uint8_t *low)
{
	uint64_t *pml4 = (uint64_t *)(low + BOOT_PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(low + BOOT_PDPT_ADDR);
	uint64_t *pd = (uint64_t *)(low + BOOT_PD_ADDR);
	unsigned int i;

	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	pml4[0] = BOOT_PDPT_ADDR | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * PAGE_SIZE) | PTE_P | PTE_RW;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = (uint64_t)i * PAGE_2M | PTE_P | PTE_RW | PTE_PS;
}

static void build_gdt(uint8_t *low)
{
	uint64_t *gdt = (uint64_t *)(low + BOOT_GDT_ADDR);

	memset(gdt, 0, 4 * sizeof(*gdt));
	gdt[BOOT_CS / 8] = GDT_CODE64;
	gdt[BOOT_DS / 8] = GDT_DATA;
}

int boot_setup(uint8_t *low, uint64_t low_size, uint64_t mem_size,
	       const struct boot_image *img, const void *initrd,
	       size_t initrd_size, const char *cmdline, uint64_t rsdp,
	       struct boot_layout *out, char err[BOOT_ERR_MAX])
{
	const struct setup_header *h = &img->hdr;
	struct boot_params *bp = (struct boot_params *)(low + BOOT_ZERO_PAGE);
	uint64_t pm_size = img->file_size - img->setup_size;
	uint64_t limit, need;
	size_t len;

	memset(out, 0, sizeof(*out));
	out->kernel_end = BOOT_HIGH_MEM + pm_size;
	/* boot.rst, init_size: the runtime start is the load address raised
	 * to pref_address and aligned to kernel_alignment when the kernel is
	 * relocatable, else pref_address; the kernel needs init_size bytes
	 * there before it reads the memory map. */
	if (h->relocatable_kernel)
		out->runtime_start = align_up(max_u64(BOOT_HIGH_MEM, h->pref_address),
					      h->kernel_alignment ? h->kernel_alignment : PAGE_2M);
	else
		out->runtime_start = h->pref_address;
	out->runtime_end = out->runtime_start + h->init_size;

	need = max_u64(out->kernel_end, out->runtime_end);
	need = align_up(need, PAGE_SIZE) + align_up(initrd_size, PAGE_SIZE);
	if (low_size > mem_size || need > low_size) {
		snprintf(err, BOOT_ERR_MAX, "too little memory: the kernel and initrd "
			 "need %llu MB, the guest has %llu MB below the PCI hole",
			 (unsigned long long)((need + 0xfffff) >> 20),
			 (unsigned long long)(low_size >> 20));
		return -1;
	}
	memcpy(low + BOOT_HIGH_MEM, img->file + img->setup_size, pm_size);

	/* The initrd as high as allowed: below initrd_addr_max (2.03+; the
	 * header field is the highest address the initrd may occupy). */
	if (initrd_size) {
		limit = min_u64(low_size, (uint64_t)h->initrd_addr_max + 1);
		out->initrd_addr = (limit - initrd_size) & ~(PAGE_SIZE - 1);
		if (limit < initrd_size ||
		    out->initrd_addr < max_u64(out->kernel_end, out->runtime_end)) {
			snprintf(err, BOOT_ERR_MAX, "too little memory: no room for a "
				 "%zu-byte initrd below initrd_addr_max 0x%x above the kernel",
				 initrd_size, h->initrd_addr_max);
			return -1;
		}
		memcpy(low + out->initrd_addr, initrd, initrd_size);
		out->initrd_size = initrd_size;
	}

	/* The zero page: zeros, then the image's setup header (boot.rst,
	 * "64-bit Boot Protocol": "the setup header at offset 0x01f1 of
	 * kernel image on should be loaded into struct boot_params"). */
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, img->file + HDR_OFFSET, img->hdr_len);
	bp->hdr.type_of_loader = LOADER_UNDEFINED;
	bp->hdr.loadflags &= ~(QUIET_FLAG | KEEP_SEGMENTS | CAN_USE_HEAP);
	bp->hdr.ramdisk_image = (uint32_t)out->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)out->initrd_size;
	bp->hdr.setup_data = 0;

	/* The command line, cut at cmdline_size (the limit excludes the NUL). */
	len = strlen(cmdline);
	if (len > boot_cmdline_max(h))
		len = boot_cmdline_max(h);
	if (len > BOOT_CMDLINE_MAX - 1)
		len = BOOT_CMDLINE_MAX - 1;
	memcpy(low + BOOT_CMDLINE_ADDR, cmdline, len);
	low[BOOT_CMDLINE_ADDR + len] = '\0';
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE_ADDR;
	out->cmdline_len = len;

	out->e820_entries = boot_e820(bp, mem_size);
	/* 2.14: the kernel takes the RSDP from here before scanning the BIOS
	 * area for it. */
	bp->acpi_rsdp_addr = rsdp;

	build_page_tables(low);
	build_gdt(low);
	out->entry = BOOT_HIGH_MEM + ENTRY64_OFFSET;
	out->zero_page = BOOT_ZERO_PAGE;
	out->cr3 = BOOT_PML4_ADDR;
	out->gdt_base = BOOT_GDT_ADDR;
	out->gdt_limit = 4 * 8 - 1;
	return 0;
}
