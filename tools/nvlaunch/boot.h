/* The x86 Linux boot protocol (Documentation/x86/boot.rst), as nvlaunch
 * follows it: parse a bzImage's setup header, lay out guest memory, fill
 * the zero page (struct boot_params). Pure: no KVM and no system calls, so
 * the host unit tests (tests/unit/test_nvlaunch_boot.c) can run it. */
#ifndef NVLAUNCH_BOOT_H
#define NVLAUNCH_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>

/* Guest-physical layout below 1 MiB (all inside the first e820 RAM range,
 * which Linux 6.1 reserves whole: "x86/setup: Always reserve the first 1M
 * of RAM"). */
#define BOOT_GDT_ADDR      0x1000UL   /* __BOOT_CS and __BOOT_DS */
#define BOOT_ZERO_PAGE     0x7000UL   /* struct boot_params */
#define BOOT_PML4_ADDR     0x9000UL   /* identity map: PML4, PDPT, 4 PDs */
#define BOOT_PDPT_ADDR     0xa000UL
#define BOOT_PD_ADDR       0xb000UL   /* 4 pages: 4 GiB of 2-MiB pages */
#define BOOT_CMDLINE_ADDR  0x20000UL  /* up to BOOT_CMDLINE_MAX bytes */
#define BOOT_CMDLINE_MAX   0x10000UL
#define BOOT_EBDA_START    0x9fc00UL  /* RAM ends here, as on a PC */
#define BOOT_BIOS_START    0xe0000UL  /* ACPI tables (reserved in e820) */
#define BOOT_HIGH_MEM      0x100000UL /* protected-mode kernel loads here */

/* The 32-bit PCI hole: RAM beyond 3 GiB moves above 4 GiB. The virtio-mmio
 * window, the IOAPIC and the local APIC live in the hole. */
#define BOOT_LOW_RAM_MAX   0xc0000000ULL
#define BOOT_4G            0x100000000ULL

/* GDT selectors the 64-bit boot protocol requires (boot.rst, "64-bit Boot
 * Protocol": "__BOOT_CS(0x10) and __BOOT_DS(0x18)"). */
#define BOOT_CS            0x10
#define BOOT_DS            0x18

/* e820 types (ACPI "Address Range Types"). */
#define E820_RAM           1
#define E820_RESERVED      2

#define BOOT_ERR_MAX       160

/* What boot_parse() found in a bzImage. */
struct boot_image {
	const uint8_t *file;
	size_t file_size;
	size_t setup_size;        /* (setup_sects + 1) * 512: real-mode part */
	size_t hdr_len;           /* bytes of setup header to copy from 0x1f1 */
	struct setup_header hdr;  /* the image's header */
};

/* Where boot_setup() put things, for the vCPU state and the messages. */
struct boot_layout {
	uint64_t entry;           /* RIP: load address + 0x200 (startup_64) */
	uint64_t zero_page;       /* RSI */
	uint64_t cr3;             /* identity map of the first 4 GiB */
	uint64_t gdt_base;
	uint16_t gdt_limit;
	uint64_t kernel_end;      /* end of the loaded protected-mode image */
	uint64_t runtime_start;   /* where the kernel decompresses itself */
	uint64_t runtime_end;     /* runtime_start + init_size */
	uint64_t initrd_addr;
	uint64_t initrd_size;
	size_t cmdline_len;       /* after truncation to cmdline_size */
	int e820_entries;
};

/* Checks FILE is a bzImage nvlaunch can boot (boot protocol 2.12 or later,
 * 64-bit entry). 0, or -1 with a one-line reason in err. */
int boot_parse(const void *file, size_t size, struct boot_image *img,
	       char err[BOOT_ERR_MAX]);

/* Fills the e820 map for mem_size bytes of guest RAM; returns the count. */
int boot_e820(struct boot_params *bp, uint64_t mem_size);

/* The largest command line the kernel accepts, without the NUL. */
size_t boot_cmdline_max(const struct setup_header *hdr);

/* Lays out guest memory: loads the kernel at 1 MiB, the initrd as high as
 * initrd_addr_max allows, the command line, page tables, GDT and zero page.
 * low points at guest-physical 0 and holds low_size bytes (the RAM below
 * the PCI hole); mem_size is all guest RAM. rsdp is the ACPI RSDP address
 * (0: none). 0, or -1 with a reason in err (too little memory). */
int boot_setup(uint8_t *low, uint64_t low_size, uint64_t mem_size,
	       const struct boot_image *img, const void *initrd,
	       size_t initrd_size, const char *cmdline, uint64_t rsdp,
	       struct boot_layout *out, char err[BOOT_ERR_MAX]);

#endif
