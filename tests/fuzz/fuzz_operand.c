/* Fuzz target: the VMX-instruction operand decoder and prechecks
 * (arch/x86_64/nested/operand.c) against reference models written here
 * from the SDM, not from the module:
 * - Vol. 3C 28.2.5, the VM-exit instruction-information field (scaling
 *   bits 1:0, address size 9:7, segment 17:15, index 21:18 and its
 *   invalid bit 22, base 26:23 and its invalid bit 27) and 28.2.1 (the
 *   exit qualification holds the displacement);
 * - Vol. 1 3.7.5 "Specifying an Offset": offset = base + index * scale +
 *   displacement, computed at the address size; Vol. 3A 3.4.4 and 3.3.7.1:
 *   in 64-bit mode only FS and GS bases apply and the address must be
 *   canonical (#SS for SS, else #GP); outside it the linear address is
 *   segment base + offset, 32 bits;
 * - Vol. 3A 5.3 limit checking (expand-down segments: above the limit up
 *   to FFFFH or FFFFFFFFH per the B flag), 5.4.1/3.4.5.1 types (no write
 *   to code or read-only data, no read of execute-only code), unusable
 *   segments; the VMPTRST/VMREAD "Protected Mode Exceptions" lists;
 * - Vol. 3C 31.3 "Operation" of VMPTRLD-like instructions and of VMXON
 *   (#UD, #GP(0), VMfail) and the VMXON-region checks.
 *
 * Input (fixed layout, zeros past the end): u32 instruction information,
 * u64 qualification, 16 x u64 registers, 6 x (u64 base, u32 limit, u32
 * access rights), u8 flags (long mode, CS.D, LA57, write), u8 size (n %
 * 17 bytes), then the precheck inputs (see fuzz_one).
 *
 * Properties: no crash; OPF_UD exactly for encodings the CPU never
 * reports (address size > 2, segment > 5) or a zero size; with OPF_NONE
 * the linear address, segment and address size equal the reference; a
 * fault is returned iff the reference finds a violated condition, and it
 * is the fault of one of the violated conditions (the SDM does not order
 * them); vmx_reg_read, vmx_insn_precheck, vmxon_precheck,
 * vmxon_region_check and vmx_phys_ptr_valid agree with their references. */
#include "fuzz.h"
#include "nested/operand.h"

/* Bits of the VMCS access-rights format (SDM Vol. 3C 25.4.1, Table 25-2). */
#define AR_TYPE(ar) ((ar) & 0xf)
#define AR_B (1u << 14)
#define AR_L (1u << 13)
#define AR_UNUSABLE (1u << 16)
#define SEG_SS 2
#define SEG_FS 4
#define SEG_GS 5

static bool canonical(u64 la, bool la57)
{
	unsigned int bits = la57 ? 57 : 48;
	u64 top = la >> (bits - 1); /* bits 63:bits-1 all 0 or all 1 */

	return top == 0 || top == (~0ULL >> (bits - 1));
}

/* Which faults the SDM allows for this access: bit OPF_GP / OPF_SS. */
static unsigned int ref_faults(const struct operand_ctx *c, unsigned int seg, u64 offset,
			       u64 linear, u32 size, bool write)
{
	unsigned int f = 0, limit_fault = seg == SEG_SS ? 1u << OPF_SS : 1u << OPF_GP;
	const struct seg_state *s = &c->seg[seg];
	u32 type = AR_TYPE(s->ar);
	bool code = type & 8;
	u64 last = offset + size - 1;

	if (c->long_mode) {
		if (!canonical(linear, c->la57) || !canonical(linear + size - 1, c->la57))
			f |= limit_fault;
		return f;
	}
	if (s->ar & AR_UNUSABLE)
		f |= limit_fault; /* null selector: #GP(0), #SS(0) for SS */
	if (write && (code || !(type & 2)))
		f |= 1u << OPF_GP; /* code or read-only data segment */
	if (!write && code && !(type & 2))
		f |= 1u << OPF_GP; /* execute-only code segment */
	if (!code && (type & 4)) {
		u64 upper = (s->ar & AR_B) ? 0xffffffffULL : 0xffffULL;

		if (offset <= s->limit || last > upper)
			f |= limit_fault;
	} else if (last > s->limit) {
		f |= limit_fault;
	}
	return f;
}

static void check_mem_operand(u32 info, u64 qual, const struct operand_ctx *c, u32 size,
			      bool write)
{
	unsigned int asz_code = (info >> 7) & 7, seg = (info >> 15) & 7;
	struct vmx_mem_operand out;
	enum operand_fault got = vmx_decode_mem_operand(info, qual, c, size, write, &out);
	u64 mask, offset, linear;
	unsigned int asz, want;

	if (asz_code > 2 || seg > 5 || size == 0) {
		FUZZ_CHECK(got == OPF_UD, "info %#x size %u: fault %d, want #UD", info, size, got);
		return;
	}
	asz = 2u << asz_code; /* 2, 4 or 8 bytes */
	mask = asz == 8 ? ~0ULL : (1ULL << (8 * asz)) - 1;
	offset = qual; /* the displacement */
	if (!(info & (1u << 27)))
		offset += c->gpr[(info >> 23) & 15];
	if (!(info & (1u << 22)))
		offset += c->gpr[(info >> 18) & 15] * (1ULL << (info & 3));
	offset &= mask;
	if (c->long_mode)
		linear = ((seg == SEG_FS || seg == SEG_GS) ? c->seg[seg].base : 0) + offset;
	else
		linear = (c->seg[seg].base + offset) & 0xffffffffULL;
	want = ref_faults(c, seg, offset, linear, size, write);

	FUZZ_CHECK(got == OPF_NONE || got == OPF_GP || got == OPF_SS,
		   "info %#x: fault %d for a valid encoding", info, got);
	if (got == OPF_NONE) {
		FUZZ_CHECK(!want, "info %#x qual %#llx size %u %s: no fault, the SDM wants %s", info,
			   (unsigned long long)qual, size, write ? "write" : "read",
			   (want & (1u << OPF_SS)) ? "#SS" : "#GP");
		FUZZ_CHECK(out.linear == linear, "info %#x qual %#llx: linear %#llx, want %#llx", info,
			   (unsigned long long)qual, (unsigned long long)out.linear,
			   (unsigned long long)linear);
		FUZZ_CHECK(out.seg == seg && out.addr_size == asz,
			   "info %#x: segment %u address size %u, want %u %u", info, out.seg,
			   out.addr_size, seg, asz);
	} else {
		FUZZ_CHECK(want & (1u << got), "info %#x qual %#llx size %u %s: fault %s, the SDM "
			   "allows %#x (bit 1 #GP, 2 #SS)", info, (unsigned long long)qual, size,
			   write ? "write" : "read", got == OPF_SS ? "#SS" : "#GP", want);
	}
}

/* SDM 31.3, e.g. VMPTRLD "Operation": #UD outside VMX operation, with
 * CR0.PE = 0, RFLAGS.VM = 1 or IA32_EFER.LMA = 1 and CS.L = 0; then
 * #GP(0) at CPL > 0. */
static enum operand_fault ref_precheck(bool vmx, u64 cr0, u64 rflags, u64 efer, u32 cs_ar, int cpl)
{
	if (!vmx || !(cr0 & 1) || (rflags & (1ULL << 17)) || ((efer & (1ULL << 10)) && !(cs_ar & AR_L)))
		return OPF_UD;
	return cpl > 0 ? OPF_GP : OPF_NONE;
}

/* SDM 31.3 VMXON "Operation" (outside SMX, not in A20M mode). */
static enum vmxon_result ref_vmxon(const struct vmxon_state *s)
{
	bool cr_ok = (s->cr0 & s->cr0_fixed0) == s->cr0_fixed0 && !(s->cr0 & ~s->cr0_fixed1) &&
		     (s->cr4 & s->cr4_fixed0) == s->cr4_fixed0 && !(s->cr4 & ~s->cr4_fixed1);

	if (!(s->cr0 & 1) || !(s->cr4 & (1ULL << 13)) || (s->rflags & (1ULL << 17)) ||
	    ((s->efer & (1ULL << 10)) && !(s->cs_ar & AR_L)))
		return VMXON_UD;
	if (!s->in_vmx_operation) {
		/* IA32_FEATURE_CONTROL bit 0 lock, bit 2 VMXON outside SMX */
		if (s->cpl > 0 || !cr_ok || !(s->feature_control & 1) || !(s->feature_control & 4))
			return VMXON_GP;
		return VMXON_OK;
	}
	return s->cpl > 0 ? VMXON_GP : VMXON_VMFAIL_IN_ROOT;
}

static bool ref_phys_ok(u64 addr, u32 maxphy)
{
	return !(addr & 0xfff) && (maxphy >= 64 || !(addr >> maxphy));
}

static void fuzz_one(struct fz *z)
{
	struct operand_ctx c;
	u32 info = fz_u32(z);
	u64 qual = fz_u64(z);
	u8 flags, size;

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 16; i++)
		c.gpr[i] = fz_u64(z);
	for (int i = 0; i < 6; i++) {
		c.seg[i].base = fz_u64(z);
		c.seg[i].limit = fz_u32(z);
		c.seg[i].ar = fz_u32(z);
	}
	flags = fz_u8(z);
	size = fz_u8(z) % 17;
	c.long_mode = flags & 1;
	c.cs_db = flags & 2;
	c.la57 = flags & 4;
	check_mem_operand(info, qual, &c, size, flags & 8);

	/* vmx_reg_read: the register at the operand size (64 bits in 64-bit
	 * mode, else 32: SDM 31.3 VMREAD "Description"). */
	{
		u8 reg = fz_u8(z);
		u64 want = c.gpr[reg & 15] & (c.long_mode ? ~0ULL : 0xffffffffULL);

		FUZZ_CHECK(vmx_reg_read(&c, reg) == want, "vmx_reg_read(%u)", reg);
		FUZZ_CHECK(vmx_operand_size(&c) == (c.long_mode ? 8u : 4u), "vmx_operand_size");
	}
	{
		u8 b = fz_u8(z);
		u64 cr0 = fz_u64(z), rflags = fz_u64(z), efer = fz_u64(z);
		u32 cs_ar = fz_u32(z);
		int cpl = fz_u8(z) & 3;

		FUZZ_CHECK(vmx_insn_precheck(b & 1, cr0, rflags, efer, cs_ar, cpl) ==
			   ref_precheck(b & 1, cr0, rflags, efer, cs_ar, cpl),
			   "vmx_insn_precheck(vmx %d cr0 %#llx rflags %#llx efer %#llx cs_ar %#x cpl %d)",
			   b & 1, (unsigned long long)cr0, (unsigned long long)rflags,
			   (unsigned long long)efer, cs_ar, cpl);
	}
	{
		struct vmxon_state s = {
			.in_vmx_operation = fz_bool(z),
			.cr0 = fz_u64(z), .cr4 = fz_u64(z), .rflags = fz_u64(z), .efer = fz_u64(z),
			.cs_ar = fz_u32(z), .cpl = fz_u8(z) & 3, .feature_control = fz_u64(z),
			.cr0_fixed0 = fz_u64(z), .cr0_fixed1 = fz_u64(z),
			.cr4_fixed0 = fz_u64(z), .cr4_fixed1 = fz_u64(z),
		};

		FUZZ_CHECK(vmxon_precheck(&s) == ref_vmxon(&s), "vmxon_precheck: %d, want %d",
			   vmxon_precheck(&s), ref_vmxon(&s));
	}
	{
		u64 addr = fz_u64(z);
		u32 maxphy = fz_u8(z), rev_mem = fz_u32(z), rev_sup = fz_u32(z);
		enum vmxon_result want = !ref_phys_ok(addr, maxphy) ||
			(rev_mem & 0x7fffffffu) != (rev_sup & 0x7fffffffu) || (rev_mem >> 31) ?
			VMXON_VMFAIL_INVALID : VMXON_OK;

		FUZZ_CHECK(vmx_phys_ptr_valid(addr, maxphy) == ref_phys_ok(addr, maxphy),
			   "vmx_phys_ptr_valid(%#llx, %u)", (unsigned long long)addr, maxphy);
		FUZZ_CHECK(vmxon_region_check(addr, maxphy, rev_mem, rev_sup) == want,
			   "vmxon_region_check(%#llx, %u, %#x, %#x)", (unsigned long long)addr, maxphy,
			   rev_mem, rev_sup);
	}
}

/* Seeds: typical VMPTRLD/VMREAD operands in 64-bit and 32-bit mode. */
static void put_ctx(struct seed *s, u32 info, u64 qual, bool lm, u32 size, bool write)
{
	seed_u32(s, info);
	seed_u64(s, qual);
	for (int i = 0; i < 16; i++)
		seed_u64(s, 0x1000ULL * (u64)i);
	for (int i = 0; i < 6; i++) {
		seed_u64(s, i == SEG_FS ? 0x7f0000000000ULL : 0);
		seed_u32(s, 0xffffffff);
		seed_u32(s, i == 1 ? 0xa09b : 0xc093); /* CS code, others data RW */
	}
	seed_u8(s, (lm ? 1 : 0) | 2 | (write ? 8 : 0));
	seed_u8(s, size);
	seed_u8(s, 3);                         /* vmx_reg_read(RBX) */
	seed_u8(s, 1);                         /* in VMX operation */
	seed_u64(s, 0x80050033);
	seed_u64(s, 2);
	seed_u64(s, lm ? 0xd01 : 0);
	seed_u32(s, 0xa09b);
	seed_u8(s, 0);
	seed_u8(s, 0);                         /* VMXON outside VMX operation */
	seed_u64(s, 0x80050033);
	seed_u64(s, 0x2020);
	seed_u64(s, 2);
	seed_u64(s, 0xd01);
	seed_u32(s, 0xa09b);
	seed_u8(s, 0);
	seed_u64(s, 5);
	seed_u64(s, 0x80000021);
	seed_u64(s, 0xffffffff);
	seed_u64(s, 0x2000);
	seed_u64(s, 0x3727ff);
	seed_u64(s, 0x5000);
	seed_u8(s, 39);
	seed_u32(s, 0x4e560001);
	seed_u32(s, 0x4e560001);
}

static void fuzz_write_seeds(void)
{
	/* base RBX (3), index RSI (6) * 8, DS; [rip+disp] style (both invalid) */
	static const u32 infos[] = {
		(2u << 7) | (3u << 15) | (6u << 18) | (3u << 23) | 3,
		(2u << 7) | (3u << 15) | (1u << 22) | (1u << 27),
		(1u << 7) | (2u << 15) | (1u << 22) | (4u << 23),
		(0u << 7) | (0u << 15) | (7u << 18) | (5u << 23) | 1,
		(2u << 7) | (4u << 15) | (1u << 22) | (0u << 23),
	};
	char name[32];

	for (unsigned int i = 0; i < sizeof(infos) / sizeof(infos[0]); i++)
		for (int lm = 0; lm < 2; lm++) {
			struct seed s;

			memset(&s, 0, sizeof(s));
			put_ctx(&s, infos[i], 0x10 * i, lm, 8, i & 1);
			snprintf(name, sizeof(name), "operand-%u-%s", i, lm ? "64" : "32");
			seed_write(&s, name);
		}
}
