/* Guest page walks on page tables built here in a fake guest-physical
 * memory, with entry bits and error codes typed in from SDM chapter 4. */
#include "unit.h"
#include <string.h>
#include <stdlib.h>
#include "nested/guest_walk.h"

#define MEM_SIZE (8u << 20)
#define P 0x1ULL
#define RW 0x2ULL
#define US 0x4ULL
#define PS 0x80ULL
#define XD (1ULL << 63)
#define ALL (P | RW | US)

/* CR0.PE|ET|NE|PG, CR0.WP; CR4.PSE, PAE, LA57, SMEP, SMAP; EFER.LME|LMA, NXE */
#define CR0_PG_ON 0x80000031ULL
#define CR0_WP_BIT 0x10000ULL
#define CR4_PSE_BIT 0x10ULL
#define CR4_PAE_BIT 0x20ULL
#define CR4_LA57_BIT 0x1000ULL
#define CR4_SMEP_BIT 0x100000ULL
#define CR4_SMAP_BIT 0x200000ULL
#define EFER_LONG 0x500ULL
#define EFER_NX 0x800ULL

static u8 *mem;
static u64 next_page;
static int fail_reads;

static int rd(void *ctx, u64 gpa, void *buf, u32 len)
{
	(void)ctx;
	if (fail_reads || gpa + len > MEM_SIZE)
		return -1;
	memcpy(buf, mem + gpa, len);
	return 0;
}

static int wr(void *ctx, u64 gpa, const void *buf, u32 len)
{
	(void)ctx;
	if (gpa + len > MEM_SIZE)
		return -1;
	memcpy(mem + gpa, buf, len);
	return 0;
}

static u64 new_page(void)
{
	u64 p = next_page;

	next_page += 4096;
	memset(mem + p, 0, 4096);
	return p;
}

static void set64(u64 gpa, u64 v) { memcpy(mem + gpa, &v, 8); }
static void set32(u64 gpa, u32 v) { memcpy(mem + gpa, &v, 4); }
static u64 get64(u64 gpa) { u64 v; memcpy(&v, mem + gpa, 8); return v; }

static int setup(void **state)
{
	(void)state;
	mem = calloc(1, MEM_SIZE);
	next_page = 0x100000;
	fail_reads = 0;
	return mem ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(mem);
	return 0;
}

/* A 4- or 5-level chain for 'la' down to 'leaf_level' (1 = PTE); ent[l]
 * is the guest-physical address of the entry at level l. */
struct chain {
	u64 cr3;
	u64 ent[6];
};

static struct chain build(int levels, u64 la, int leaf_level, u64 leaf)
{
	struct chain c = { .cr3 = new_page() };
	u64 table = c.cr3;

	for (int l = levels; l >= leaf_level; l--) {
		u64 idx = (la >> (12 + 9 * (l - 1))) & 0x1ff;

		c.ent[l] = table + idx * 8;
		if (l == leaf_level) {
			set64(c.ent[l], leaf);
		} else {
			table = new_page();
			set64(c.ent[l], table | ALL);
		}
	}
	return c;
}

static struct guest_paging long_mode(u64 cr3)
{
	return (struct guest_paging){ .cr0 = CR0_PG_ON | CR0_WP_BIT, .cr3 = cr3,
				      .cr4 = CR4_PAE_BIT, .efer = EFER_LONG | EFER_NX,
				      .maxphyaddr = 39, .page_1g = true };
}

static int walk(const struct guest_paging *p, u64 la, u32 acc, u64 *gpa, u32 *ec)
{
	*gpa = ~0ULL;
	*ec = 0xdead;
	return guest_walk(p, la, acc, rd, NULL, gpa, ec);
}

static void test_walk_4level_4k(void **state)
{
	u64 la = 0x00007f1234567abcULL, gpa;
	struct chain c = build(4, la, 1, 0x3456000ULL | ALL);
	struct guest_paging p = long_mode(c.cr3 | 0x5 /* PCID bits */);
	u32 ec;

	(void)state;
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x3456abc);
	assert_int_equal(walk(&p, la, WALK_WRITE | WALK_USER, &gpa, &ec), GUEST_WALK_OK);
	set64(c.ent[1], 0x3456000ULL | RW | US);  /* not present */
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0);
	assert_int_equal(walk(&p, la, WALK_WRITE | WALK_USER, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x6);
	set64(c.ent[3], get64(c.ent[3]) & ~P);
	assert_int_equal(walk(&p, la, WALK_FETCH, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x10);  /* I/D: PAE paging with NXE */
}

static void test_walk_large_pages(void **state)
{
	u64 la = 0x0000000140312345ULL, gpa;
	struct chain c = build(4, la, 2, 0x40000000ULL | ALL | PS);
	struct guest_paging p = long_mode(c.cr3);
	u32 ec;

	(void)state;
	/* 2 MiB: PDE bits 38:21 + linear bits 20:0 */
	assert_int_equal(walk(&p, la, WALK_WRITE, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x40000000ULL + 0x112345);
	set64(c.ent[2], 0x40000000ULL | ALL | PS | (1ULL << 13));  /* reserved 20:13 */
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x9);

	/* 1 GiB */
	c = build(4, la, 3, 0x40000000ULL | ALL | PS);
	p = long_mode(c.cr3);
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x40000000ULL + 0x00312345);
	set64(c.ent[3], 0x40000000ULL | ALL | PS | (1ULL << 29));
	assert_int_equal(walk(&p, la, WALK_USER, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0xd);
	/* without 1-GByte page support PS is reserved in a PDPTE */
	set64(c.ent[3], 0x40000000ULL | ALL | PS);
	p.page_1g = false;
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x9);
	/* PS is reserved in a PML4E */
	p.page_1g = true;
	set64(c.ent[4], get64(c.ent[4]) | PS);
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x9);
}

static void test_walk_reserved_bits(void **state)
{
	u64 la = 0x1000, gpa;
	struct chain c = build(4, la, 1, 0x7000ULL | ALL | (1ULL << 36));
	struct guest_paging p = long_mode(c.cr3);
	u32 ec;

	(void)state;
	p.maxphyaddr = 36;
	assert_int_equal(walk(&p, la, WALK_WRITE, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0xb);
	p.maxphyaddr = 40;
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, (1ULL << 36) | 0x7000);
	/* 4-level: bits 62:52 are ignored, not reserved */
	set64(c.ent[1], 0x7000ULL | ALL | (1ULL << 55));
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x7000);
	/* XD without EFER.NXE is reserved */
	set64(c.ent[1], 0x7000ULL | ALL | XD);
	p.efer &= ~EFER_NX;
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x9);
	/* without NXE (and SMEP) a fetch fault does not report I/D */
	assert_int_equal(walk(&p, la, WALK_FETCH, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x9);
	p.efer |= EFER_NX;
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_OK);
}

static void test_walk_access_rights(void **state)
{
	u64 la = 0x2000, gpa;
	struct chain c = build(4, la, 1, 0x9000ULL | P);  /* supervisor, read-only */
	struct guest_paging p = long_mode(c.cr3);
	u32 ec;

	(void)state;
	/* CR0.WP decides supervisor writes to read-only pages */
	assert_int_equal(walk(&p, la, WALK_WRITE, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x3);
	p.cr0 &= ~CR0_WP_BIT;
	assert_int_equal(walk(&p, la, WALK_WRITE, &gpa, &ec), GUEST_WALK_OK);
	/* user accesses need U/S, and R/W for writes, WP or not */
	assert_int_equal(walk(&p, la, WALK_USER, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x5);
	set64(c.ent[1], 0x9000ULL | P | US);
	assert_int_equal(walk(&p, la, WALK_USER, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(walk(&p, la, WALK_USER | WALK_WRITE, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x7);
	/* U/S must be set at every level */
	set64(c.ent[1], 0x9000ULL | ALL);
	set64(c.ent[4], get64(c.ent[4]) & ~US);
	assert_int_equal(walk(&p, la, WALK_USER, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x5);
	set64(c.ent[4], get64(c.ent[4]) | US);

	/* SMAP: supervisor data access to a user page, unless AC is set */
	p.cr4 |= CR4_SMAP_BIT;
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x1);
	assert_int_equal(walk(&p, la, WALK_AC, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(walk(&p, la, WALK_WRITE, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x3);
	assert_int_equal(walk(&p, la, WALK_USER | WALK_WRITE, &gpa, &ec), GUEST_WALK_OK);
	/* SMEP: supervisor fetch from a user page */
	assert_int_equal(walk(&p, la, WALK_FETCH, &gpa, &ec), GUEST_WALK_OK);
	p.cr4 |= CR4_SMEP_BIT;
	assert_int_equal(walk(&p, la, WALK_FETCH, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x11);
	assert_int_equal(walk(&p, la, WALK_FETCH | WALK_USER, &gpa, &ec), GUEST_WALK_OK);
	/* XD at any level forbids fetches */
	set64(c.ent[2], get64(c.ent[2]) | XD);
	assert_int_equal(walk(&p, la, WALK_FETCH | WALK_USER, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x15);
	assert_int_equal(walk(&p, la, WALK_USER, &gpa, &ec), GUEST_WALK_OK);
}

static void test_walk_5level(void **state)
{
	u64 la = 0x00ab123456789123ULL, gpa;
	struct chain c = build(5, la, 1, 0x5000ULL | ALL);
	struct guest_paging p = long_mode(c.cr3);
	u32 ec;

	(void)state;
	p.cr4 |= CR4_LA57_BIT;
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x5123);
	set64(c.ent[5], get64(c.ent[5]) | PS);  /* reserved in a PML5E */
	assert_int_equal(walk(&p, la, 0, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x9);
}

static void test_walk_32bit(void **state)
{
	u64 pd = new_page(), pt = new_page(), gpa;
	struct guest_paging p = { .cr0 = CR0_PG_ON, .cr3 = pd, .maxphyaddr = 40 };
	u32 ec;

	(void)state;
	/* 0x00c01abc: PDE 3, PTE 1 */
	set32(pd + 3 * 4, (u32)(pt | ALL));
	set32(pt + 1 * 4, 0x00777000 | ALL);
	assert_int_equal(walk(&p, 0x00c01abc, 0, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x00777abc);
	/* 4-MByte page with PSE-36: PDE bits 20:13 are address bits 39:32 */
	set32(pd + 5 * 4, 0x00800000 | (0x12 << 13) | (u32)(ALL | PS));
	p.cr4 = CR4_PSE_BIT;
	assert_int_equal(walk(&p, 0x0143abcd, 0, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x1200800000ULL + 0x3abcd);
	set32(pd + 5 * 4, 0x00800000 | (1u << 21) | (u32)(ALL | PS));  /* reserved */
	assert_int_equal(walk(&p, 0x0143abcd, 0, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x9);
	/* without CR4.PSE, PS is ignored: the PDE points to a page table */
	p.cr4 = 0;
	set32(pd + 5 * 4, (u32)(pt | ALL | PS));
	assert_int_equal(walk(&p, 0x01401abc, 0, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x00777abc);
	/* no I/D bit in 32-bit paging without SMEP; bit 63 of nothing */
	assert_int_equal(walk(&p, 0x01402000, WALK_FETCH, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x0);
	p.cr4 = CR4_SMEP_BIT;
	assert_int_equal(walk(&p, 0x01402000, WALK_FETCH, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x10);
	/* the linear address is 32 bits */
	assert_int_equal(walk(&p, 0x1200c01abcULL, 0, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x00777abc);
}

static void test_walk_pae(void **state)
{
	u64 pdpt = new_page() + 0x60, pd = new_page(), pt = new_page(), gpa;
	struct guest_paging p = { .cr0 = CR0_PG_ON, .cr3 = pdpt, .cr4 = CR4_PAE_BIT,
				  .efer = EFER_NX, .maxphyaddr = 36 };
	u32 ec;

	(void)state;
	/* 0xc0603123: PDPTE 3, PDE 3, PTE 3; 0xc0812345: PDE 4 maps 2 MiB */
	set64(pdpt + 3 * 8, pd | P);
	set64(pd + 3 * 8, pt | ALL);
	set64(pt + 3 * 8, 0xabc000ULL | ALL | XD);
	set64(pd + 4 * 8, 0x200000ULL | ALL | PS);
	assert_int_equal(walk(&p, 0xc0603123, WALK_USER | WALK_WRITE, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0xabc123);
	assert_int_equal(walk(&p, 0xc0812345, 0, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x212345);
	assert_int_equal(walk(&p, 0xc0603123, WALK_FETCH, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x11);
	/* PAE: bits 62:M are reserved (ignored in 4-level paging) */
	set64(pt + 3 * 8, 0xabc000ULL | ALL | (1ULL << 55));
	assert_int_equal(walk(&p, 0xc0603123, 0, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x9);
	/* PDPTE bits 2:1 are reserved */
	set64(pdpt + 3 * 8, pd | P | RW);
	assert_int_equal(walk(&p, 0xc0812345, 0, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x9);
	set64(pdpt + 3 * 8, pd);
	assert_int_equal(walk(&p, 0xc0812345, WALK_WRITE, &gpa, &ec), GUEST_WALK_PF);
	assert_int_equal(ec, 0x2);
}

static void test_walk_no_paging_and_errors(void **state)
{
	struct guest_paging p = { .cr0 = 0x11, .maxphyaddr = 36 };
	u64 gpa;
	u32 ec;

	(void)state;
	assert_int_equal(walk(&p, 0x12345678, WALK_WRITE, &gpa, &ec), GUEST_WALK_OK);
	assert_int_equal(gpa, 0x12345678);
	/* a page table outside guest memory */
	p = long_mode(0x7ffff000ULL);
	assert_int_equal(walk(&p, 0x1000, 0, &gpa, &ec), GUEST_WALK_ERR);
}

static void test_walk_linear_access_two_pages(void **state)
{
	u64 la = 0x403ff8, data1 = 0x200000, data2 = 0x300000;
	struct chain c = build(4, la, 1, data1 | ALL);
	struct guest_paging p = long_mode(c.cr3);
	struct guest_mem_ops ops = { .read_phys = rd, .write_phys = wr };
	u8 buf[16], want[16];
	u32 ec;
	u64 cr2 = 0;

	(void)state;
	/* the next linear page (PTE + 1) maps a different physical page */
	set64(c.ent[1] + 8, data2 | ALL);
	for (int i = 0; i < 16; i++)
		want[i] = (u8)(0xa0 + i);
	memcpy(mem + data1 + 0xff8, want, 8);
	memcpy(mem + data2, want + 8, 8);
	assert_int_equal(guest_linear_access(&p, la, buf, 16, 0, &ops, &ec, &cr2), GUEST_WALK_OK);
	assert_memory_equal(buf, want, 16);
	/* write across both */
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(guest_linear_access(&p, la, buf, 16, WALK_WRITE, &ops, &ec, &cr2), GUEST_WALK_OK);
	assert_int_equal(mem[data1 + 0xfff], 0x5a);
	assert_int_equal(mem[data2 + 7], 0x5a);
	assert_int_equal(mem[data2 + 8], 0);
	/* second page not present: #PF at its first byte, first page untouched */
	set64(c.ent[1] + 8, data2 | RW | US);
	memset(buf, 0x11, sizeof(buf));
	assert_int_equal(guest_linear_access(&p, la, buf, 16, WALK_WRITE, &ops, &ec, &cr2), GUEST_WALK_PF);
	assert_int_equal(cr2, 0x404000);
	assert_int_equal(ec, 0x2);
	assert_int_equal(mem[data1 + 0xff8], 0x5a);
	/* within one page; bad lengths */
	assert_int_equal(guest_linear_access(&p, la, buf, 8, 0, &ops, &ec, &cr2), GUEST_WALK_OK);
	assert_int_equal(guest_linear_access(&p, la, buf, 0, 0, &ops, &ec, &cr2), GUEST_WALK_ERR);
	assert_int_equal(guest_linear_access(&p, la, buf, 4097, 0, &ops, &ec, &cr2), GUEST_WALK_ERR);
}

static void test_walk_linear_access_wraps_32bit(void **state)
{
	u64 pd = new_page(), pt_hi = new_page(), pt_lo = new_page();
	struct guest_paging p = { .cr0 = CR0_PG_ON, .cr3 = pd, .maxphyaddr = 36 };
	struct guest_mem_ops ops = { .read_phys = rd };
	u8 buf[8];
	u32 ec;
	u64 cr2;

	(void)state;
	/* 0xfffffffc..0x3: the last page of 4 GiB and the first one */
	set32(pd + 1023 * 4, (u32)(pt_hi | ALL));
	set32(pt_hi + 1023 * 4, 0x500000 | ALL);
	set32(pd, (u32)(pt_lo | ALL));
	set32(pt_lo, 0x600000 | ALL);
	memcpy(mem + 0x500ffc, "abcd", 4);
	memcpy(mem + 0x600000, "efgh", 4);
	assert_int_equal(guest_linear_access(&p, 0xfffffffc, buf, 8, 0, &ops, &ec, &cr2), GUEST_WALK_OK);
	assert_memory_equal(buf, "abcdefgh", 8);
	/* a write without a write callback is refused */
	assert_int_equal(guest_linear_access(&p, 0xfffffffc, buf, 8, WALK_WRITE, &ops, &ec, &cr2), GUEST_WALK_ERR);
}

int unit_guest_walk(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_walk_4level_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_large_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_reserved_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_access_rights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_5level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_32bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_pae, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_no_paging_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_linear_access_two_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_linear_access_wraps_32bit, setup, teardown),
	};

	return cmocka_run_group_tests_name("guest_walk", tests, NULL, NULL);
}
