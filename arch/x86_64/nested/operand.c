/* VMX instruction operands and preconditions (see operand.h). */
#include "nested/operand.h"
#include "cpu.h"
#include "msr.h"
#include "vmcs.h"

/* Segment type field, bits 3:0 of the access rights (SDM Vol. 3A 3.4.5.1
 * "Code- and Data-Segment Descriptor Types"). */
#define SEG_TYPE_CODE (1u << 3)
#define SEG_TYPE_DATA_EXPAND_DOWN (1u << 2)
#define SEG_TYPE_DATA_WRITABLE (1u << 1)
#define SEG_TYPE_CODE_READABLE (1u << 1)

static u64 addr_size_mask(u32 bytes)
{
	return bytes == 8 ? ~0ULL : (1ULL << (8 * bytes)) - 1;
}

u64 vmx_reg_read(const struct operand_ctx *ctx, u8 reg)
{
	return ctx->gpr[reg & VMX_INFO_REG_MASK] & addr_size_mask(vmx_operand_size(ctx));
}

/* SDM Vol. 3A 3.3.7.1 "Canonical Addressing": bits 63:47 (63:56 with
 * 5-level paging) all equal. */
static bool is_canonical(u64 la, bool la57)
{
	int shift = la57 ? 7 : 16;

	return (u64)((s64)(la << shift) >> shift) == la;
}

static enum operand_fault seg_fault(u8 seg)
{
	return seg == VMX_SEG_SS ? OPF_SS : OPF_GP;
}

/* Vol. 3A 5.3 "Limit Checking": an expand-down segment allows offsets
 * above the limit, up to FFFFH or FFFFFFFFH by its B flag. */
static bool within_limit(const struct seg_state *s, u64 first, u64 last)
{
	u32 type = s->ar & 0xf;

	if (!(type & SEG_TYPE_CODE) && (type & SEG_TYPE_DATA_EXPAND_DOWN)) {
		u64 upper = (s->ar & VMX_AR_DB) ? 0xffffffffULL : 0xffffULL;

		return first > s->limit && last <= upper;
	}
	return last <= s->limit;
}

/* Protected-mode checks in VMPTRST/VMREAD "Protected Mode Exceptions":
 * unusable segment, wrong type (#GP(0): destination in a read-only data
 * segment or any code segment, source in an execute-only code segment),
 * then the limit. */
static enum operand_fault seg_check(const struct seg_state *s, u8 seg, u64 off,
				    u32 size, bool write)
{
	u32 type = s->ar & 0xf;

	if (s->ar & VMX_AR_UNUSABLE)
		return seg_fault(seg);
	if (write && ((type & SEG_TYPE_CODE) || !(type & SEG_TYPE_DATA_WRITABLE)))
		return OPF_GP;
	if (!write && (type & SEG_TYPE_CODE) && !(type & SEG_TYPE_CODE_READABLE))
		return OPF_GP;
	if (!within_limit(s, off, off + size - 1))
		return seg_fault(seg);
	return OPF_NONE;
}

enum operand_fault vmx_decode_mem_operand(u32 info, u64 qualification,
					  const struct operand_ctx *ctx, u32 size,
					  bool write, struct vmx_mem_operand *out)
{
	u32 asz_code = (info >> VMX_INFO_ADDR_SIZE_SHIFT) & VMX_INFO_ADDR_SIZE_MASK;
	u8 seg = (info >> VMX_INFO_SEG_SHIFT) & VMX_INFO_SEG_MASK;
	u64 ea = qualification; /* the displacement */
	u32 asz;

	if (asz_code > 2 || seg >= VMX_SEG_COUNT || size == 0)
		return OPF_UD; /* encodings the CPU does not report */
	asz = 2u << asz_code;
	if (!(info & VMX_INFO_BASE_INVALID))
		ea += ctx->gpr[(info >> VMX_INFO_BASE_SHIFT) & VMX_INFO_REG_MASK];
	if (!(info & VMX_INFO_INDEX_INVALID))
		ea += ctx->gpr[(info >> VMX_INFO_INDEX_SHIFT) & VMX_INFO_REG_MASK]
		      << (info & VMX_INFO_SCALE_MASK);
	/* The effective address wraps at the address size. */
	ea &= addr_size_mask(asz);

	out->seg = seg;
	out->addr_size = (u8)asz;
	if (ctx->long_mode) {
		/* Vol. 3A 3.4.4 "Segment Loading Instructions in IA-32e Mode":
		 * only FS and GS bases apply; no limit or type checks. */
		u64 base = (seg == VMX_SEG_FS || seg == VMX_SEG_GS) ? ctx->seg[seg].base : 0;

		out->linear = base + ea;
		if (!is_canonical(out->linear, ctx->la57) ||
		    !is_canonical(out->linear + size - 1, ctx->la57))
			return seg_fault(seg);
		return OPF_NONE;
	}
	/* Outside 64-bit mode linear addresses are 32 bits and wrap. */
	out->linear = (ctx->seg[seg].base + ea) & 0xffffffffULL;
	return seg_check(&ctx->seg[seg], seg, ea, size, write);
}

static bool compat_mode(u64 efer, u32 cs_ar)
{
	return (efer & EFER_LMA) && !(cs_ar & VMX_AR_L);
}

enum operand_fault vmx_insn_precheck(bool in_vmx_operation, u64 cr0, u64 rflags,
				     u64 efer, u32 cs_ar, int cpl)
{
	if (!in_vmx_operation || !(cr0 & CR0_PE) || (rflags & RFLAGS_VM) ||
	    compat_mode(efer, cs_ar))
		return OPF_UD;
	if (cpl > 0)
		return OPF_GP;
	return OPF_NONE;
}

/* SDM 24.8 "Restrictions on VMX Operation": bits fixed to 1 in FIXED0 and
 * bits fixed to 0 (clear in FIXED1). */
static bool fixed_ok(u64 v, u64 fixed0, u64 fixed1)
{
	return (v & fixed0) == fixed0 && (v & ~fixed1) == 0;
}

enum vmxon_result vmxon_precheck(const struct vmxon_state *s)
{
	if (!(s->cr0 & CR0_PE) || !(s->cr4 & CR4_VMXE) || (s->rflags & RFLAGS_VM) ||
	    compat_mode(s->efer, s->cs_ar))
		return VMXON_UD;
	if (s->in_vmx_operation) {
		/* VMXON in VMX root operation: #GP(0) at CPL > 0, else VMfail. */
		return s->cpl > 0 ? VMXON_GP : VMXON_VMFAIL_IN_ROOT;
	}
	/* Outside SMX operation bit 2 ("enable VMX outside SMX") decides;
	 * the in-SMX branch (bit 1) does not apply to L1. */
	if (s->cpl > 0 || !fixed_ok(s->cr0, s->cr0_fixed0, s->cr0_fixed1) ||
	    !fixed_ok(s->cr4, s->cr4_fixed0, s->cr4_fixed1) ||
	    !(s->feature_control & FEATURE_CONTROL_LOCKED) ||
	    !(s->feature_control & FEATURE_CONTROL_VMXON_OUTSIDE_SMX))
		return VMXON_GP;
	return VMXON_OK;
}

enum vmxon_result vmxon_region_check(u64 addr, u32 maxphyaddr, u32 rev_in_memory,
				     u32 rev_supported)
{
	if (!vmx_phys_ptr_valid(addr, maxphyaddr))
		return VMXON_VMFAIL_INVALID;
	/* rev[30:0] must match and rev[31] must be 0 */
	if (rev_in_memory != (rev_supported & 0x7fffffffu))
		return VMXON_VMFAIL_INVALID;
	return VMXON_OK;
}
