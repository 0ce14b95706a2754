/* VMCS shadowing offered to L1: L2's VMREAD and VMWRITE against the
 * shadow VMCS12 that L1's VMCS12 links (SDM 25.10 "VMCS Types: Ordinary
 * and Shadow", 26.1.3 "Instructions That Cause VM Exits Conditionally",
 * 31.3 VMREAD/VMWRITE "Operation").
 *
 * VMCS02 never has "VMCS shadowing" set, so every VMREAD and VMWRITE L2
 * executes exits to L0 (after the CPU's own #UD checks, which come before
 * any VM exit: SDM 26.1.1). L0 then asks what the CPU would have asked
 * with VMCS12's controls:
 *  - "VMCS shadowing" clear, encoding bits 63:15 (31:15 outside 64-bit
 *    mode) not all zero, or the field's bit set in L1's VMREAD/VMWRITE
 *    bitmap: a VM exit to L1, with the hardware's exit information;
 *  - otherwise L0 executes the instruction for L2 as the pseudo-code does
 *    in VMX non-root operation: #GP(0) at CPL > 0; VMfailInvalid if the
 *    VMCS link pointer is all ones; VMfailValid(12) for an unsupported
 *    field, (13) for a read-only one unless IA32_VMX_MISC[29]; else the
 *    field of the VMCS at the link pointer, in L1's memory.
 * VMfailValid's error number goes to the current VMCS, the ordinary
 * VMCS12 that runs L2 (what KVM and Bochs do). The shadow VMCS12 is read
 * and written where it lies in L1 memory: L1's own VMREAD/VMWRITE of it
 * happen only while it is current, and VMPTRLD of another VMCS writes the
 * monitor's cached copy back (vmx_insn.c), so memory always holds it
 * while L2 runs. Operands in memory go through L2's paging and EPT12;
 * a fault is L2's #PF (or L1's exit if its exception bitmap asks), an
 * EPT12 violation L1's EPT-violation exit. docs/nested.md, "L2's VMREAD
 * and VMWRITE", walks through one. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <exit_reason.h>
#include <guest_state.h>
#include <nested/nested.h>
#include <nested/ept12.h>
#include <nested/guest_access.h>
#include <nested/guest_walk.h>
#include <nested/operand.h>
#include <nested/vmcs12.h>
#include <vmm.h>
#include <lib.h>

#define RFLAGS_VMX_RESULT (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)
#define BITMAP_INDEX_BITS 15 /* bits 14:0 select the bitmap bit (SDM 25.6.15) */

/* EPT-violation exit qualification (SDM 28.2.1, Table 28-7). */
#define EPT_QUAL_READ BIT(0)
#define EPT_QUAL_WRITE BIT(1)
#define EPT_QUAL_PERMS_SHIFT 3
#define EPT_QUAL_LINEAR_VALID BIT(7)
#define EPT_QUAL_TRANSLATED BIT(8) /* the access was to the linear address, not a paging entry */

/* A failure met while reaching L2's memory operand. */
struct l2_mem {
	bool ept;           /* L1 runs L2 with EPT12 */
	struct ept12_caps caps;
	struct vmcs12 *v12; /* its EPTP, PML address and PML index */
	u64 eptp12;
	/* set when an EPT12 translation failed */
	bool ept_fault;
	bool misconfig;
	u64 gpa2;
	u8 perms;
	u64 access;         /* EPT_QUAL_READ and/or EPT_QUAL_WRITE */
	bool translated;
	bool retry;         /* EPT12 kept changing: nothing done, L2 retries */
	bool pml_full;      /* a page-modification log-full event (SDM 29.3.6) */
};

/* L2-physical -> L1-physical, as the CPU would translate through EPT12 for
 * 'access', setting EPT12's accessed and dirty flags as the CPU would
 * (SDM 29.3.5). With those flags enabled, an access to L2's paging
 * structures ('translated' false) is a write as far as EPT is concerned:
 * it needs write permission, sets the dirty flag, and its violation
 * reports both read and write (SDM 29.3.3.2; 28.2.1, Table 28-7); with
 * "enable PML" the dirtied page is logged (SDM 29.3.6). False (and the
 * failure noted) when EPT12 forbids it, (m->pml_full) when L1's PML log
 * is full, or (m->retry) when L1 kept changing the entries and L2 must
 * execute the instruction again. */
static bool l2_gpa_translate(struct l2_mem *m, u64 gpa2, u64 access, bool translated, u64 *gpa1)
{
	if (!m->ept) {
		*gpa1 = gpa2;
		return true;
	}
	if ((m->eptp12 & EPT12_EPTP_AD) && !translated)
		access = EPT_QUAL_READ | EPT_QUAL_WRITE;
	/* The qualification's access bits 1:0 are EPT_R and EPT_W. */
	u64 need = ((access & EPT_QUAL_READ) ? EPT_R : 0) | ((access & EPT_QUAL_WRITE) ? EPT_W : 0);
	struct ept12_walk w;
	switch (nested_ept12_walk_mark(m->v12, gpa2, &m->caps, need, &w)) {
	case NESTED_MARK_RETRY:
		m->retry = true;
		return false;
	case NESTED_MARK_LOG_FULL:
		m->pml_full = true;
		m->gpa2 = gpa2;
		return false;
	case NESTED_MARK_DONE:
		break;
	}
	if (w.result == EPT12_OK && !(need & ~(u64)w.perms)) {
		*gpa1 = w.gpa1;
		return true;
	}
	m->ept_fault = true;
	/* EPT12's tables in memory that is not there read as all ones:
	 * reserved bits set, a misconfiguration. */
	m->misconfig = w.result == EPT12_MISCONFIG || w.result == EPT12_NO_MEMORY;
	m->gpa2 = gpa2;
	m->perms = w.result == EPT12_OK ? w.perms : 0;
	m->access = access;
	m->translated = translated;
	return false;
}

/* guest_walk's reader of L2's paging structures. */
static int l2_paging_read(void *ctx, u64 gpa2, void *buf, u32 len)
{
	u64 gpa1;
	if (!l2_gpa_translate(ctx, gpa2, EPT_QUAL_READ, false, &gpa1))
		return -1;
	nested_read_l1_or_ones(gpa1, buf, len);
	return 0;
}

/* Reads or writes 'len' bytes (at most 8) at L2's linear address. Both
 * pages are translated before a byte moves. 0, or -1 after the fault has
 * gone where the CPU would send it. */
static int l2_linear_access(struct vcpu *v, u64 linear, void *buf, u32 len, bool write)
{
	struct vmcs12 *c = v->nested.cache;
	u64 cap = v->nested.caps.msr[NESTED_CAP(MSR_IA32_VMX_EPT_VPID_CAP)];
	struct l2_mem m = { .ept = nested_l1_uses_ept(c), .v12 = c, .eptp12 = c->ept_pointer };
	nested_ept12_caps(cap, &m.caps);
	u32 cpuid_a, cpuid_b, cpuid_c, cpuid_d;
	cpuid_count(0x80000001, 0, &cpuid_a, &cpuid_b, &cpuid_c, &cpuid_d);
	const struct guest_paging p = {
		.cr0 = vmcs_read(GUEST_CR0), .cr3 = vmcs_read(GUEST_CR3),
		.cr4 = vmcs_read(GUEST_CR4), .efer = vmcs_read(GUEST_IA32_EFER),
		.maxphyaddr = nested_maxphyaddr(), .page_1g = cpuid_d & BIT(26),
	};
	/* CPL is 0 here (CPL > 0 faulted first): a supervisor access, for
	 * which SMAP honours RFLAGS.AC (SDM 4.6). */
	u32 access = (write ? WALK_WRITE : 0) | ((vmcs_read(GUEST_RFLAGS) & RFLAGS_AC) ? WALK_AC : 0);
	u64 gpa1[2];
	u32 piece[2], pieces = 0;

	for (u64 at = linear; at < linear + len; at = ALIGN_DOWN(at, PAGE_SIZE) + PAGE_SIZE) {
		u64 page_end = ALIGN_DOWN(at, PAGE_SIZE) + PAGE_SIZE;
		u64 end = linear + len < page_end ? linear + len : page_end;
		u64 gpa2;
		u32 pfec;
		int r = guest_walk(&p, at, access, l2_paging_read, &m, &gpa2, &pfec);
		if (r == GUEST_WALK_PF) {
			nested_l2_exception(v, EXC_PF, true, pfec, at);
			return -1;
		}
		if (r == GUEST_WALK_OK &&
		    !l2_gpa_translate(&m, gpa2, write ? EPT_QUAL_WRITE : EPT_QUAL_READ, true, &gpa1[pieces]))
			r = GUEST_WALK_ERR;
		if (r != GUEST_WALK_OK) {
			if (m.retry)
				return -1;
			/* SDM 28.2.1: the qualification is 0 but for NMI
			 * unblocking by IRET, which a VMREAD/VMWRITE never is. */
			if (m.pml_full)
				nested_reflect_synthetic(v, EXIT_REASON_PML_FULL, 0,
					&(struct nested_synth_exit){ .gpa = m.gpa2, .linear = at });
			else if (!m.ept_fault) /* cannot happen: reads never fail */
				nested_l2_exception(v, EXC_GP, true, 0, 0);
			else if (m.misconfig)
				nested_reflect_synthetic(v, EXIT_REASON_EPT_MISCONFIG, 0,
					&(struct nested_synth_exit){ .gpa = m.gpa2, .linear = at });
			else
				nested_reflect_synthetic(v, EXIT_REASON_EPT_VIOLATION,
					m.access | ((u64)m.perms << EPT_QUAL_PERMS_SHIFT) |
					EPT_QUAL_LINEAR_VALID | (m.translated ? EPT_QUAL_TRANSLATED : 0),
					&(struct nested_synth_exit){ .gpa = m.gpa2, .linear = at });
			return -1;
		}
		piece[pieces++] = (u32)(end - at);
	}
	u8 *b = buf;
	for (u32 i = 0; i < pieces; b += piece[i], i++) {
		/* Memory that is not there: reads all ones, writes vanish. */
		if (!write)
			nested_read_l1_or_ones(gpa1[i], b, piece[i]);
		else if (nested_gpa_valid(gpa1[i], piece[i]))
			memcpy(nested_gpa_ptr(gpa1[i]), b, piece[i]);
	}
	return 0;
}

/* L2's memory operand: the segmentation checks, then the access. */
static int l2_mem_operand(struct vcpu *v, void *buf, u32 len, bool write)
{
	u64 linear;
	int vector = nested_mem_operand_decode(v, len, write, &linear);
	if (vector >= 0) {
		nested_l2_exception(v, (u8)vector, vector != EXC_UD, 0, 0);
		return -1;
	}
	return l2_linear_access(v, linear, buf, len, write);
}

/* SDM 31.2 conventions, on L2's RFLAGS (VMCS02 is current). */
static void l2_vm_result(u64 flags)
{
	vmcs_write(GUEST_RFLAGS, (vmcs_read(GUEST_RFLAGS) & ~RFLAGS_VMX_RESULT) | flags);
	guest_skip_instruction();
}

void nested_l2_vmread_vmwrite(struct vcpu *v, bool write)
{
	struct nested_vcpu *n = &v->nested;
	struct vmcs12 *c = n->cache;
	u32 info = (u32)vmcs_read(VMX_INSTRUCTION_INFO);
	bool lm = guest_in_64bit_mode();
	u32 opsize = lm ? 8 : 4;
	/* No exit to L1 (reflect.c): "VMCS shadowing" is on, the encoding
	 * has bits 63:15 clear and its bitmap bit is clear. */
	u32 field = (u32)guest_gpr_read(v, vmx_info_reg2(info));

	/* From here L1 sees nothing: L0 is the CPU. */
	if (guest_cpl() > 0)
		return nested_l2_exception(v, EXC_GP, true, 0, 0);
	bool reg = vmx_info_is_reg_operand(info);
	u64 value = 0;
	if (write) {
		if (reg)
			value = guest_gpr_read(v, vmx_info_reg1(info));
		else if (l2_mem_operand(v, &value, opsize, false))
			return;
		if (!lm)
			value &= 0xffffffffULL;
	}
	u64 link = c->vmcs_link_pointer;
	/* VM entry checked the link pointer (SDM 27.3.1.5): all ones, or
	 * L1 memory holding a shadow VMCS. */
	if (link == ~0ULL || !nested_gpa_valid(link, sizeof(struct vmcs12)))
		return l2_vm_result(RFLAGS_CF);
	struct vmcs12 *shadow = nested_gpa_ptr(link);
	int err;
	if (write)
		err = vmcs12_write(shadow, field, value, lm, n->caps.features,
				   n->caps.msr[NESTED_CAP(MSR_IA32_VMX_MISC)] & VMX_MISC_VMWRITE_ANY_FIELD);
	else
		err = vmcs12_read(shadow, field, lm, n->caps.features, &value);
	if (err) {
		c->vm_instruction_error = (u32)err;
		return l2_vm_result(RFLAGS_ZF);
	}
	if (!write) {
		if (reg)
			guest_gpr_write(v, vmx_info_reg1(info), lm ? value : (u32)value);
		else if (l2_mem_operand(v, &value, opsize, true))
			return;
	}
	stats_count_l2_shadowed();
	l2_vm_result(0);
}
