/* Fuzz target: exit reflection (arch/x86_64/nested/reflect.c): which L2
 * exits L1's VMCS12 controls ask for. Reference models written here from
 * the SDM, with the control bits and exit reasons as numbers from its
 * tables (Vol. 3C Tables 25-5, 25-6 and 25-7, Appendix C), not from the
 * project's headers:
 * - 25.6.9 MSR bitmaps: read-low at offset 0, read-high at 1024,
 *   write-low at 2048, write-high at 3072; 26.1.3 RDMSR/WRMSR: exit
 *   without "use MSR bitmaps", for ECX outside 0-1FFFH and
 *   C0000000H-C0001FFFH, or when the MSR's bit is 1;
 * - 25.6.4 I/O bitmaps A (ports 0-7FFFH) and B (8000H-FFFFH); 26.1.3 I/O
 *   instructions: without "use I/O bitmaps", "unconditional I/O exiting"
 *   decides; with them, any accessed port's bit set, or an access that
 *   wraps past FFFFH, exits;
 * - 26.1.2 unconditional exits, 26.1.3 conditional ones (control
 *   registers with masks, shadows and CR3-target values, LMSW, CLTS,
 *   XSAVES/XRSTORS, ...) and 26.2 (exception bitmap, #PF error-code
 *   mask/match, NMI exiting, interrupt windows).
 * A bitmap byte the reader cannot supply counts as all ones (reflect.h's
 * contract: an access to nonexistent memory reads ones on the hardware).
 *
 * Input: the VMCS12 controls (u32 pin, primary, secondary, exception
 * bitmap, #PF mask, #PF match; u64 CR0 mask, CR0 shadow, CR4 mask, CR4
 * shadow; u32 CR3-target count; 4 x u64 CR3-target values; u64 XSS-exiting
 * bitmap), u8 address flags and 3 x u64 (I/O bitmap A, B, MSR bitmap: a
 * page of the fake L1 memory, or raw when the flag bit is set), u8 fill
 * (0 zeros, 1 ones, else PRNG) and u64 seed for L1 memory (4 pages at
 * 0x10000), the exit (u8 reason % 72, u64 qualification, u32
 * interruption information and error code, u32 ECX, u64 CR source value,
 * EDX:EAX, IA32_XSS), u16 port and u8 size for nested_io_exits, then
 * single-byte memory writes (u16 offset, u8 value).
 *
 * Properties: no crash; nested_msr_exits and nested_io_exits equal the
 * references for the exit's ECX and port (and for every size 1-4, read
 * and write); nested_exit_to_l1 equals the reference wherever the SDM
 * decides (the reasons L0 keeps by design are only run). */
#include "fuzz.h"
#include "nested/reflect.h"

#define MEM_BASE 0x10000ULL
#define MEM_PAGES 4
#define MEM_SIZE (MEM_PAGES * 4096ULL)

static u8 l1mem[MEM_SIZE];
static struct vmcs12 v;

static int read_phys(void *ctx, u64 gpa, void *buf, u32 len)
{
	(void)ctx;
	if (gpa < MEM_BASE || gpa >= MEM_BASE + MEM_SIZE || len > MEM_BASE + MEM_SIZE - gpa)
		return -1;
	memcpy(buf, l1mem + (gpa - MEM_BASE), len);
	return 0;
}

/* SDM control bits (Tables 25-5, 25-6, 25-7). */
#define PIN_EXT_INTR (1u << 0)
#define PIN_NMI (1u << 3)
#define P_INTR_WINDOW (1u << 2)
#define P_HLT (1u << 7)
#define P_INVLPG (1u << 9)
#define P_MWAIT (1u << 10)
#define P_RDPMC (1u << 11)
#define P_RDTSC (1u << 12)
#define P_CR3_LOAD (1u << 15)
#define P_CR3_STORE (1u << 16)
#define P_CR8_LOAD (1u << 19)
#define P_CR8_STORE (1u << 20)
#define P_NMI_WINDOW (1u << 22)
#define P_MOV_DR (1u << 23)
#define P_UNCOND_IO (1u << 24)
#define P_IO_BITMAPS (1u << 25)
#define P_MSR_BITMAPS (1u << 28)
#define P_MONITOR (1u << 29)
#define P_PAUSE (1u << 30)
#define P_SECONDARY (1u << 31)
#define S_DESC_TABLE (1u << 2)
#define S_RDTSCP (1u << 3)
#define S_WBINVD (1u << 6)
#define S_PLE (1u << 10)
#define S_RDRAND (1u << 11)
#define S_INVPCID (1u << 12)
#define S_SHADOW_VMCS (1u << 14)
#define S_RDSEED (1u << 16)
#define S_XSAVES (1u << 20)

/* A bitmap bit; unreadable memory reads as ones. */
static bool ref_bit(u64 base, u32 bit)
{
	u64 gpa = base + bit / 8;

	if (gpa < MEM_BASE || gpa >= MEM_BASE + MEM_SIZE)
		return true;
	return (l1mem[gpa - MEM_BASE] >> (bit % 8)) & 1;
}

static bool ref_msr(u32 ecx, bool write)
{
	if (!(v.cpu_based_vm_exec_control & P_MSR_BITMAPS))
		return true;
	if (ecx <= 0x1fff)
		return ref_bit(v.msr_bitmap, (write ? 2048 : 0) * 8 + ecx);
	if (ecx >= 0xc0000000u && ecx <= 0xc0001fffu)
		return ref_bit(v.msr_bitmap, (write ? 3072 : 1024) * 8 + (ecx - 0xc0000000u));
	return true;
}

static bool ref_io(u32 port, u32 size)
{
	u32 cpu = v.cpu_based_vm_exec_control;

	if (!(cpu & P_IO_BITMAPS))
		return cpu & P_UNCOND_IO;
	if (port + size > 0x10000)
		return true; /* wraps around the I/O-port space */
	for (u32 p = port; p < port + size; p++)
		if (p < 0x8000 ? ref_bit(v.io_bitmap_a, p) : ref_bit(v.io_bitmap_b, p - 0x8000))
			return true;
	return false;
}

/* 1 exits to L1, 0 not, -1 no claim (L0's own exits by design, encodings
 * the CPU never reports). */
static int ref_exit(const struct l2_exit *e)
{
	u32 pin = v.pin_based_vm_exec_control, cpu = v.cpu_based_vm_exec_control;
	u32 sec = (cpu & P_SECONDARY) ? v.secondary_vm_exec_control : 0;

	switch (e->reason) {
	case 0: { /* exception or NMI */
		u32 vector = e->intr_info & 0xff, type = (e->intr_info >> 8) & 7;
		bool bit;

		if (type == 2)
			return !!(pin & PIN_NMI);
		if ((type != 3 && type != 5 && type != 6) || vector >= 32)
			return -1;
		bit = (v.exception_bitmap >> vector) & 1;
		if (vector == 14)
			return ((e->intr_error & v.page_fault_error_code_mask) ==
				v.page_fault_error_code_match) ? bit : !bit;
		return bit;
	}
	case 1: return !!(pin & PIN_EXT_INTR);
	case 2: case 3: case 4: case 9: /* triple fault, INIT, SIPI, task switch */
	case 10: case 11: case 13: case 55: /* CPUID, GETSEC, INVD, XSETBV */
	case 18: case 19: case 20: case 21: case 22: case 24: case 26: case 27:
	case 50: case 53: /* VMX instructions, INVEPT, INVVPID */
		return 1;
	case 23: case 25: /* VMREAD, VMWRITE: bitmaps only with VMCS shadowing */
		return (sec & S_SHADOW_VMCS) ? -1 : 1;
	case 7: return !!(cpu & P_INTR_WINDOW);
	case 8: return !!(cpu & P_NMI_WINDOW);
	case 12: return !!(cpu & P_HLT);
	case 14: return !!(cpu & P_INVLPG);
	case 15: return !!(cpu & P_RDPMC);
	case 16: return !!(cpu & P_RDTSC);
	case 28: { /* control-register access, Table 28-3 */
		u32 cr = e->qualification & 15, type = (e->qualification >> 4) & 3;
		u64 src;

		switch (type) {
		case 0: /* MOV to CR */
			if (cr == 0)
				return !!((e->cr_value ^ v.cr0_read_shadow) & v.cr0_guest_host_mask);
			if (cr == 4)
				return !!((e->cr_value ^ v.cr4_read_shadow) & v.cr4_guest_host_mask);
			if (cr == 8)
				return !!(cpu & P_CR8_LOAD);
			if (cr == 3) {
				const u64 t[4] = { v.cr3_target_value0, v.cr3_target_value1,
						   v.cr3_target_value2, v.cr3_target_value3 };

				if (!(cpu & P_CR3_LOAD))
					return 0;
				for (u32 i = 0; i < v.cr3_target_count && i < 4; i++)
					if (t[i] == e->cr_value)
						return 0;
				return 1;
			}
			return -1;
		case 1: /* MOV from CR */
			if (cr == 3)
				return !!(cpu & P_CR3_STORE);
			if (cr == 8)
				return !!(cpu & P_CR8_STORE);
			if (cr == 0 || cr == 4)
				return 0;
			return -1;
		case 2: /* CLTS: TS set in both mask and shadow */
			return !!(v.cr0_guest_host_mask & v.cr0_read_shadow & 8);
		default: /* LMSW */
			src = (e->qualification >> 16) & 0xffff;
			if ((v.cr0_guest_host_mask & 1) && (src & 1) && !(v.cr0_read_shadow & 1))
				return 1;
			return !!(v.cr0_guest_host_mask & 0xe & (src ^ v.cr0_read_shadow));
		}
	}
	case 29: return !!(cpu & P_MOV_DR);
	case 30: { /* I/O, Table 28-5: size - 1 in bits 2:0 (0, 1 or 3), port 31:16 */
		u32 sz = e->qualification & 7;

		if (sz != 0 && sz != 1 && sz != 3)
			return -1;
		return ref_io((e->qualification >> 16) & 0xffff, sz + 1);
	}
	case 31: return ref_msr(e->msr, false);
	case 32: return ref_msr(e->msr, true);
	case 36: return !!(cpu & P_MWAIT);
	case 39: return !!(cpu & P_MONITOR);
	case 40: /* PAUSE: PAUSE-loop exiting may add exits L1 did not ask for */
		return (cpu & P_PAUSE) ? 1 : (sec & S_PLE) ? -1 : 0;
	case 46: case 47: return !!(sec & S_DESC_TABLE);
	case 51: return (cpu & P_RDTSC) && (sec & S_RDTSCP);
	case 54: return !!(sec & S_WBINVD);
	case 57: return !!(sec & S_RDRAND);
	case 58: return (cpu & P_INVLPG) && (sec & S_INVPCID);
	case 61: return !!(sec & S_RDSEED);
	case 63: case 64: /* XSAVES, XRSTORS */
		return (sec & S_XSAVES) && (e->edx_eax & e->ia32_xss & v.xss_exit_bitmap);
	default:
		return -1;
	}
}

static u64 bitmap_addr(bool raw, u64 val)
{
	return raw ? val : MEM_BASE + (val % MEM_PAGES) * 4096;
}

static void fuzz_one(struct fz *z)
{
	struct reflect_ctx c = { .v12 = &v, .read_phys = read_phys, .ctx = NULL };
	struct l2_exit e;
	u8 flags, fill;
	u64 seed;
	int want;

	memset(&v, 0, sizeof(v));
	v.pin_based_vm_exec_control = fz_u32(z);
	v.cpu_based_vm_exec_control = fz_u32(z);
	v.secondary_vm_exec_control = fz_u32(z);
	v.exception_bitmap = fz_u32(z);
	v.page_fault_error_code_mask = fz_u32(z);
	v.page_fault_error_code_match = fz_u32(z);
	v.cr0_guest_host_mask = fz_u64(z);
	v.cr0_read_shadow = fz_u64(z);
	v.cr4_guest_host_mask = fz_u64(z);
	v.cr4_read_shadow = fz_u64(z);
	v.cr3_target_count = fz_u32(z);
	v.cr3_target_value0 = fz_u64(z);
	v.cr3_target_value1 = fz_u64(z);
	v.cr3_target_value2 = fz_u64(z);
	v.cr3_target_value3 = fz_u64(z);
	v.xss_exit_bitmap = fz_u64(z);
	flags = fz_u8(z);
	v.io_bitmap_a = bitmap_addr(flags & 1, fz_u64(z));
	v.io_bitmap_b = bitmap_addr(flags & 2, fz_u64(z));
	v.msr_bitmap = bitmap_addr(flags & 4, fz_u64(z));
	fill = fz_u8(z);
	seed = fz_u64(z);
	if (fill == 0 || fill == 1)
		memset(l1mem, fill ? 0xff : 0, sizeof(l1mem));
	else
		for (size_t i = 0; i < sizeof(l1mem); i += 8) {
			u64 r = fz_rand(&seed);
			memcpy(&l1mem[i], &r, 8);
		}

	memset(&e, 0, sizeof(e));
	e.reason = fz_u8(z) % 72;
	e.qualification = fz_u64(z);
	e.intr_info = fz_u32(z);
	e.intr_error = fz_u32(z);
	e.msr = fz_u32(z);
	e.cr_value = fz_u64(z);
	e.edx_eax = fz_u64(z);
	e.ia32_xss = fz_u64(z);
	{
		u16 port = fz_u16(z);
		u32 size = 1 + fz_u8(z) % 4;

		while (fz_more(z)) {
			u16 off = fz_u16(z);
			l1mem[off % MEM_SIZE] = fz_u8(z);
		}
		FUZZ_CHECK(nested_io_exits(&c, port, size) == ref_io(port, size),
			   "nested_io_exits(port %#x, size %u): %d, want %d (primary %#x)", port, size,
			   nested_io_exits(&c, port, size), ref_io(port, size),
			   v.cpu_based_vm_exec_control);
	}
	for (u32 size = 1; size <= 4; size++) {
		u16 port = (e.qualification >> 16) & 0xffff;

		FUZZ_CHECK(nested_io_exits(&c, port, size) == ref_io(port, size),
			   "nested_io_exits(port %#x, size %u)", port, size);
	}
	for (int w = 0; w < 2; w++)
		FUZZ_CHECK(nested_msr_exits(&c, e.msr, w) == ref_msr(e.msr, w),
			   "nested_msr_exits(%#x, %s): %d, want %d", e.msr, w ? "write" : "read",
			   nested_msr_exits(&c, e.msr, w), ref_msr(e.msr, w));

	want = ref_exit(&e);
	{
		bool got = nested_exit_to_l1(&c, &e);

		FUZZ_CHECK(want < 0 || got == (bool)want,
			   "nested_exit_to_l1(reason %u, qualification %#llx): %d, want %d "
			   "(pin %#x primary %#x secondary %#x)", e.reason,
			   (unsigned long long)e.qualification, got, want,
			   v.pin_based_vm_exec_control, v.cpu_based_vm_exec_control,
			   v.secondary_vm_exec_control);
	}
}

/* Seeds: bitmaps in pages 0-2, each kind of exit once. */
static void fuzz_write_seeds(void)
{
	static const u8 reasons[] = { 0, 1, 7, 10, 12, 16, 28, 30, 31, 32, 46, 51, 58, 63 };

	for (unsigned int i = 0; i < sizeof(reasons); i++) {
		struct seed s;
		char name[32];

		memset(&s, 0, sizeof(s));
		seed_u32(&s, 0x16 | PIN_NMI);
		seed_u32(&s, P_SECONDARY | P_IO_BITMAPS | P_MSR_BITMAPS | P_HLT | P_CR3_LOAD | P_RDTSC);
		seed_u32(&s, S_RDTSCP | S_INVPCID | S_XSAVES);
		seed_u32(&s, (1u << 14) | (1u << 6));
		seed_u32(&s, 1);
		seed_u32(&s, 1);
		seed_u64(&s, 0x21);              /* CR0 mask: PE, NE */
		seed_u64(&s, 0x21);
		seed_u64(&s, 0x2000);            /* CR4 mask: VMXE */
		seed_u64(&s, 0);
		seed_u32(&s, 1);
		seed_u64(&s, 0x5000);
		seed_u64(&s, 0);
		seed_u64(&s, 0);
		seed_u64(&s, 0);
		seed_u64(&s, 0x100);
		seed_u8(&s, 0);
		seed_u64(&s, 0);                 /* I/O A: page 0 */
		seed_u64(&s, 1);                 /* I/O B: page 1 */
		seed_u64(&s, 2);                 /* MSR bitmap: page 2 */
		seed_u8(&s, 0);
		seed_u64(&s, 0);
		seed_u8(&s, reasons[i]);
		seed_u64(&s, reasons[i] == 30 ? (0x3f8ULL << 16) : reasons[i] == 28 ? 0x3 : 0);
		seed_u32(&s, 0x80000b0e);        /* #PF, error code valid */
		seed_u32(&s, 1);
		seed_u32(&s, reasons[i] == 32 ? 0xc0000100 : 0x174);
		seed_u64(&s, 0x5000);
		seed_u64(&s, 0x100);
		seed_u64(&s, 0x100);
		seed_u16(&s, 0x3f8);
		seed_u8(&s, 0);
		seed_u16(&s, 0x3f8 / 8);         /* port 3F8H's bit in bitmap A */
		seed_u8(&s, 1);
		seed_u16(&s, 2 * 4096 + 0x174 / 8); /* MSR 174H read */
		seed_u8(&s, 0x10);
		snprintf(name, sizeof(name), "exit-%u", reasons[i]);
		seed_write(&s, name);
	}
}
