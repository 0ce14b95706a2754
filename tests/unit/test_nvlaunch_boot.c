/* nvlaunch's boot protocol (tools/nvlaunch/boot.c) and ACPI tables
 * (tools/nvlaunch/acpi.c) on synthetic bzImages: the zero page, the
 * command line, the e820 map, initrd placement, rejected images. */
#include "unit.h"
#include <stdlib.h>
#include <string.h>
#include "../../tools/nvlaunch/boot.h"
#include "../../tools/nvlaunch/acpi.h"

#define MB            (1024UL * 1024)
#define SETUP_SECTS   4
#define PAYLOAD       8192
#define IMG_SIZE      ((SETUP_SECTS + 1) * 512 + PAYLOAD)
#define HDR_END_BYTE  0x6a        /* Linux 6.1: header ends at 0x26c */

struct fixture {
	uint8_t img[IMG_SIZE];
	uint8_t *low;
	uint64_t low_size;
};

static struct setup_header *hdr_of(uint8_t *img)
{
	return (struct setup_header *)(img + 0x1f1);
}

/* A bzImage header as Linux 6.1 writes it, over a patterned payload. */
static void make_image(uint8_t *img)
{
	struct setup_header *h = hdr_of(img);
	unsigned int i;

	memset(img, 0, IMG_SIZE);
	h->setup_sects = SETUP_SECTS;
	h->boot_flag = 0xaa55;
	img[0x200] = 0xeb;
	img[0x201] = HDR_END_BYTE;
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH | QUIET_FLAG;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = 2047;
	h->pref_address = 0x1000000;
	h->init_size = 0x400000;
	for (i = (SETUP_SECTS + 1) * 512; i < IMG_SIZE; i++)
		img[i] = (uint8_t)(i * 7);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->low_size = 64 * MB;
	f->low = calloc(1, f->low_size);
	if (!f->low)
		return -1;
	make_image(f->img);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->low);
	free(f);
	return 0;
}

static struct boot_params *zero_page(struct fixture *f)
{
	return (struct boot_params *)(f->low + BOOT_ZERO_PAGE);
}

static void test_parse_good(void **state)
{
	struct fixture *f = *state;
	struct boot_image img;
	char err[BOOT_ERR_MAX];

	assert_int_equal(boot_parse(f->img, IMG_SIZE, &img, err), 0);
	assert_int_equal(img.setup_size, (SETUP_SECTS + 1) * 512);
	assert_int_equal(img.hdr_len, 0x202 + HDR_END_BYTE - 0x1f1);
	assert_int_equal(img.hdr.version, 0x020f);

	/* boot.rst: setup_sects 0 means 4. */
	hdr_of(f->img)->setup_sects = 0;
	assert_int_equal(boot_parse(f->img, IMG_SIZE, &img, err), 0);
	assert_int_equal(img.setup_size, 5 * 512);
}

static void expect_reject(uint8_t *img, size_t size, const char *why)
{
	struct boot_image bi;
	char err[BOOT_ERR_MAX] = "";

	assert_int_equal(boot_parse(img, size, &bi, err), -1);
	if (!strstr(err, why))
		fail_msg("error '%s' does not say '%s'", err, why);
}

static void test_parse_rejects(void **state)
{
	struct fixture *f = *state;
	struct setup_header *h = hdr_of(f->img);

	expect_reject(f->img, 0x200, "too short");
	h->header = 0x53726449;
	expect_reject(f->img, IMG_SIZE, "HdrS");
	make_image(f->img);
	h->boot_flag = 0x55aa;
	expect_reject(f->img, IMG_SIZE, "boot_flag");
	make_image(f->img);
	h->version = 0x020b;
	expect_reject(f->img, IMG_SIZE, "2.11 is too old");
	make_image(f->img);
	h->xloadflags = 0;
	expect_reject(f->img, IMG_SIZE, "not a 64-bit bzImage");
	make_image(f->img);
	h->loadflags = 0;                 /* a zImage loads low */
	expect_reject(f->img, IMG_SIZE, "not a 64-bit bzImage");
	make_image(f->img);
	h->setup_sects = 200;             /* more setup than file */
	expect_reject(f->img, IMG_SIZE, "setup sectors");
}

static int run_setup(struct fixture *f, uint64_t mem, const void *initrd, size_t isize,
		     const char *cmdline, struct boot_layout *lay, char *err)
{
	struct boot_image img;

	assert_int_equal(boot_parse(f->img, IMG_SIZE, &img, err), 0);
	return boot_setup(f->low, mem < f->low_size ? mem : f->low_size, mem, &img,
			  initrd, isize, cmdline, 0xe0000, lay, err);
}

static void test_zero_page(void **state)
{
	struct fixture *f = *state;
	static uint8_t initrd[10000];
	struct boot_params *bp = zero_page(f);
	struct boot_layout lay;
	char err[BOOT_ERR_MAX];
	const uint64_t *pml4, *pdpt, *pd, *gdt;

	memset(initrd, 0xa5, sizeof(initrd));
	assert_int_equal(run_setup(f, 64 * MB, initrd, sizeof(initrd), "console=ttyS0",
				   &lay, err), 0);
	/* The header is the image's, with the loader's fields filled in. */
	assert_int_equal(bp->hdr.setup_sects, SETUP_SECTS);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.init_size, 0x400000);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_true(bp->hdr.loadflags & LOADED_HIGH);
	assert_false(bp->hdr.loadflags & QUIET_FLAG);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_string_equal((char *)f->low + BOOT_CMDLINE_ADDR, "console=ttyS0");
	assert_int_equal(bp->hdr.ramdisk_image, lay.initrd_addr);
	assert_int_equal(bp->hdr.ramdisk_size, sizeof(initrd));
	assert_int_equal(bp->acpi_rsdp_addr, 0xe0000);
	/* The protected-mode kernel at 1 MiB; the initrd at the top of RAM. */
	assert_memory_equal(f->low + BOOT_HIGH_MEM, f->img + 5 * 512, PAYLOAD);
	assert_int_equal(lay.initrd_addr, (64 * MB - sizeof(initrd)) & ~0xfffUL);
	assert_memory_equal(f->low + lay.initrd_addr, initrd, sizeof(initrd));
	/* Runtime range: pref_address, aligned, plus init_size (boot.rst). */
	assert_int_equal(lay.runtime_start, 0x1000000);
	assert_int_equal(lay.runtime_end, 0x1400000);
	/* 64-bit entry state: startup_64, identity map, flat GDT. */
	assert_int_equal(lay.entry, 0x100200);
	assert_int_equal(lay.zero_page, BOOT_ZERO_PAGE);
	pml4 = (const uint64_t *)(f->low + lay.cr3);
	pdpt = (const uint64_t *)(f->low + (pml4[0] & ~0xfffULL));
	pd = (const uint64_t *)(f->low + (pdpt[3] & ~0xfffULL));
	assert_int_equal(pml4[0] & 3, 3);
	assert_int_equal(pd[511], 0xffe00000ULL | 0x83);  /* last 2 MiB below 4 GiB */
	gdt = (const uint64_t *)(f->low + lay.gdt_base);
	assert_int_equal(gdt[BOOT_CS / 8], 0x00af9b000000ffffULL);
	assert_int_equal(gdt[BOOT_DS / 8], 0x00cf93000000ffffULL);
}

static void test_cmdline_truncated(void **state)
{
	struct fixture *f = *state;
	struct boot_layout lay;
	char err[BOOT_ERR_MAX], line[100];
	const char *placed = (const char *)f->low + BOOT_CMDLINE_ADDR;

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	hdr_of(f->img)->cmdline_size = 16;  /* the limit excludes the NUL */
	assert_int_equal(run_setup(f, 64 * MB, NULL, 0, line, &lay, err), 0);
	assert_int_equal(lay.cmdline_len, 16);
	assert_int_equal(strlen(placed), 16);
	/* Exactly at the limit: kept whole. */
	line[16] = '\0';
	assert_int_equal(run_setup(f, 64 * MB, NULL, 0, line, &lay, err), 0);
	assert_string_equal(placed, line);
	/* No initrd: none announced. */
	assert_int_equal(zero_page(f)->hdr.ramdisk_image, 0);
	assert_int_equal(zero_page(f)->hdr.ramdisk_size, 0);
	/* Before protocol 2.06, 255 bytes. */
	hdr_of(f->img)->version = 0x0205;
	assert_int_equal(boot_cmdline_max(hdr_of(f->img)), 255);
}

/* Every RAM entry stays out of 640 KiB - 1 MiB and of the PCI hole. */
static void check_e820_holes(const struct boot_params *bp)
{
	int i;

	for (i = 0; i < bp->e820_entries; i++) {
		const struct boot_e820_entry *e = &bp->e820_table[i];
		uint64_t end = e->addr + e->size;

		if (e->type != E820_RAM)
			continue;
		assert_false(e->addr < 0x100000 && end > 0xa0000);
		assert_false(e->addr < BOOT_4G && end > BOOT_LOW_RAM_MAX);
	}
}

static uint64_t e820_ram(const struct boot_params *bp)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < bp->e820_entries; i++)
		if (bp->e820_table[i].type == E820_RAM)
			sum += bp->e820_table[i].size;
	return sum;
}

static void test_e820(void **state)
{
	static struct boot_params bp;
	const uint64_t lost = 0x100000 - BOOT_EBDA_START;  /* EBDA, VGA, BIOS */

	(void)state;
	assert_int_equal(boot_e820(&bp, 64 * MB), 4);
	assert_int_equal(bp.e820_table[0].addr, 0);
	assert_int_equal(bp.e820_table[0].size, BOOT_EBDA_START);
	assert_int_equal(bp.e820_table[1].type, E820_RESERVED);
	assert_int_equal(bp.e820_table[2].addr, 0xe0000);      /* ACPI tables */
	assert_int_equal(bp.e820_table[2].type, E820_RESERVED);
	assert_int_equal(bp.e820_table[3].addr, 0x100000);
	assert_int_equal(bp.e820_table[3].addr + bp.e820_table[3].size, 64 * MB);
	assert_int_equal(e820_ram(&bp), 64 * MB - lost);
	check_e820_holes(&bp);

	/* Exactly 3 GiB: all below the hole. */
	assert_int_equal(boot_e820(&bp, 3072 * MB), 4);
	assert_int_equal(e820_ram(&bp), 3072 * MB - lost);
	check_e820_holes(&bp);

	/* 4 GiB: the last GiB moves above 4 GiB. */
	assert_int_equal(boot_e820(&bp, 4096 * MB), 5);
	assert_int_equal(bp.e820_table[4].addr, BOOT_4G);
	assert_int_equal(bp.e820_table[4].size, 1024 * MB);
	assert_int_equal(e820_ram(&bp), 4096 * MB - lost);
	check_e820_holes(&bp);
}

static void test_too_little_memory(void **state)
{
	struct fixture *f = *state;
	static uint8_t initrd[4 * MB];
	struct boot_layout lay;
	char err[BOOT_ERR_MAX];

	/* The kernel runs at 16 MiB and needs init_size (4 MiB) there. */
	assert_int_equal(run_setup(f, 16 * MB, NULL, 0, "", &lay, err), -1);
	assert_non_null(strstr(err, "too little memory"));
	assert_int_equal(run_setup(f, 20 * MB, NULL, 0, "", &lay, err), 0);
	/* ... and an initrd above that. */
	assert_int_equal(run_setup(f, 22 * MB, initrd, sizeof(initrd), "", &lay, err), -1);
	assert_non_null(strstr(err, "too little memory"));
	assert_int_equal(run_setup(f, 24 * MB, initrd, sizeof(initrd), "", &lay, err), 0);
	assert_int_equal(lay.initrd_addr, 20 * MB);
	/* initrd_addr_max below the kernel's runtime range: no room. */
	hdr_of(f->img)->initrd_addr_max = 0x15fffff;
	assert_int_equal(run_setup(f, 64 * MB, initrd, sizeof(initrd), "", &lay, err), -1);
	assert_non_null(strstr(err, "initrd_addr_max"));
	/* initrd_addr_max is the last byte the initrd may use. */
	hdr_of(f->img)->initrd_addr_max = 0x1ffffff;
	assert_int_equal(run_setup(f, 64 * MB, initrd, sizeof(initrd), "", &lay, err), 0);
	assert_int_equal(lay.initrd_addr + sizeof(initrd), 0x2000000);
}

static const uint8_t *find(const uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i + n <= len; i++)
		if (!memcmp(p + i, s, n))
			return p + i;
	return NULL;
}

static void test_acpi_tables(void **state)
{
	struct fixture *f = *state;
	struct acpi_config cfg = { .has_virtio = 1, .virtio_base = 0xd0000000,
				   .virtio_size = 0x200, .virtio_irq = 5 };
	uint8_t *area = f->low + ACPI_BASE;
	uint64_t rsdp = acpi_build(area, &cfg), xsdt, fadt, dsdt;
	uint32_t len;

	assert_int_equal(rsdp, ACPI_BASE);
	assert_memory_equal(area, "RSD PTR ", 8);
	assert_int_equal(acpi_sum(area, 20), 0);
	assert_int_equal(acpi_sum(area, 36), 0);
	memcpy(&xsdt, area + 24, 8);
	memcpy(&len, f->low + xsdt + 4, 4);
	assert_memory_equal(f->low + xsdt, "XSDT", 4);
	assert_int_equal(acpi_sum(f->low + xsdt, len), 0);
	memcpy(&fadt, f->low + xsdt + 36, 8);
	assert_memory_equal(f->low + fadt, "FACP", 4);
	assert_int_equal(acpi_sum(f->low + fadt, 276), 0);
	memcpy(&dsdt, f->low + fadt + 140, 8);                /* X_DSDT */
	memcpy(&len, f->low + dsdt + 4, 4);
	assert_memory_equal(f->low + dsdt, "DSDT", 4);
	assert_int_equal(acpi_sum(f->low + dsdt, len), 0);
	assert_non_null(find(f->low + dsdt, len, "_S5_"));
	assert_non_null(find(f->low + dsdt, len, "LNRO0005"));
	memcpy(&xsdt, area + 24, 8);
	memcpy(&fadt, f->low + xsdt + 44, 8);                 /* MADT */
	assert_memory_equal(f->low + fadt, "APIC", 4);
	memcpy(&len, f->low + fadt + 4, 4);
	assert_int_equal(acpi_sum(f->low + fadt, len), 0);

	/* Without --net, no virtio device in the DSDT. */
	cfg.has_virtio = 0;
	acpi_build(area, &cfg);
	memcpy(&len, f->low + dsdt + 4, 4);
	assert_null(find(f->low + dsdt, len, "LNRO0005"));
	assert_non_null(find(f->low + dsdt, len, "_S5_"));
}

int unit_nvlaunch_boot(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parse_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline_truncated, setup, teardown),
		cmocka_unit_test(test_e820),
		cmocka_unit_test_setup_teardown(test_too_little_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_tables, setup, teardown),
	};

	return cmocka_run_group_tests_name("nvlaunch_boot", tests, NULL, NULL);
}
