/* L1's VMX instructions, emulated against VMCS12s in L1's memory. Each
 * follows the "Operation" pseudo-code of its SDM page (chapter 31 "VMX
 * Instruction Reference"), in that order: exceptions first, then
 * VMfailInvalid / VMfailValid with the VM-instruction error number
 * (SDM 31.4 "VM Instruction Error Numbers"), then the effect. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <exit_reason.h>
#include <guest_state.h>
#include <nested/nested.h>
#include <nested/guest_access.h>
#include <nested/operand.h>
#include <nested/vmcs12.h>
#include <msr.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

/* An encoding with reserved bits 31:15 set: never a field. */
#define VMCS12_BAD_ENCODING 0xffffffffu
#define RFLAGS_VMX_RESULT (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

/* SDM 31.2 "Conventions": VMsucceed, VMfailInvalid, VMfailValid(n). */
static void vm_succeed(void)
{
	vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) & ~RFLAGS_VMX_RESULT);
	guest_skip_instruction();
}

static void vm_fail_invalid(void)
{
	vmcs_write(GUEST_RFLAGS, (vmcs_read(GUEST_RFLAGS) & ~RFLAGS_VMX_RESULT) | RFLAGS_CF);
	guest_skip_instruction();
}

static void vm_fail_valid(struct nested_vcpu *n, u32 error)
{
	n->cache->vm_instruction_error = error;
	nested_shadow_push_field(container_of(n, struct vcpu, nested), VM_INSTRUCTION_ERROR);
	vmcs_write(GUEST_RFLAGS, (vmcs_read(GUEST_RFLAGS) & ~RFLAGS_VMX_RESULT) | RFLAGS_ZF);
	guest_skip_instruction();
}

/* "VMfail(error)": VMfailValid if there is a current VMCS, else VMfailInvalid. */
static void vm_fail(struct nested_vcpu *n, u32 error)
{
	if (n->current_ptr != VMCS12_INVALID_PTR)
		vm_fail_valid(n, error);
	else
		vm_fail_invalid();
}

static void inject_ud(void) { guest_inject_exception(EXC_UD, false, 0); }
static void inject_gp(void) { guest_inject_exception(EXC_GP, true, 0); }

/* The checks every VMX instruction but VMXON starts with: #UD outside VMX
 * operation, in real/virtual-8086/compatibility mode; #GP(0) at CPL > 0. */
static bool precheck(struct nested_vcpu *n)
{
	enum operand_fault f = vmx_insn_precheck(n->vmxon, guest_cr0_visible(),
						 vmcs_read(GUEST_RFLAGS), vmcs_read(GUEST_IA32_EFER),
						 (u32)vmcs_read(GUEST_CS_AR_BYTES), guest_cpl());
	if (f == OPF_UD)
		inject_ud();
	else if (f == OPF_GP)
		inject_gp();
	return f == OPF_NONE;
}

/* Writes the cached VMCS12 back to L1's memory: L1 may then move it. */
static void vmcs12_flush(struct nested_vcpu *n)
{
	if (n->current_ptr == VMCS12_INVALID_PTR)
		return;
	nested_shadow_detach(container_of(n, struct vcpu, nested));
	memcpy(nested_gpa_ptr(n->current_ptr), n->cache, sizeof(struct vmcs12));
}

/* A VMCS pointer operand: 4-KiB aligned and inside the physical-address
 * width, the SDM's only checks (31.3). Where L1 has no RAM (or at the
 * monitor's memory) the instructions find what the hardware finds where
 * no memory is: a revision identifier of all ones, and writes that
 * vanish. */
static bool vmcs_ptr_ok(u64 ptr)
{
	return vmx_phys_ptr_valid(ptr, nested_maxphyaddr());
}

static u32 revision_at(u64 ptr)
{
	u32 rev;
	nested_read_l1_or_ones(ptr, &rev, sizeof(rev));
	return rev;
}

static int read_ptr_operand(struct vcpu *v, u64 *ptr)
{
	u64 linear;
	if (nested_mem_operand(v, 8, false, &linear))
		return -1;
	return nested_read_linear(v, linear, ptr, 8);
}

/* SDM 31.3 VMXON. */
static void emulate_vmxon(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	const u64 *m = n->caps.msr;
	struct vmxon_state s = {
		.in_vmx_operation = n->vmxon,
		.cr0 = guest_cr0_visible(), .cr4 = guest_cr4_visible(),
		.rflags = vmcs_read(GUEST_RFLAGS), .efer = vmcs_read(GUEST_IA32_EFER),
		.cs_ar = (u32)vmcs_read(GUEST_CS_AR_BYTES), .cpl = guest_cpl(),
		.feature_control = FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX,
		.cr0_fixed0 = m[NESTED_CAP(MSR_IA32_VMX_CR0_FIXED0)],
		.cr0_fixed1 = m[NESTED_CAP(MSR_IA32_VMX_CR0_FIXED1)],
		.cr4_fixed0 = m[NESTED_CAP(MSR_IA32_VMX_CR4_FIXED0)],
		.cr4_fixed1 = m[NESTED_CAP(MSR_IA32_VMX_CR4_FIXED1)],
	};
	switch (vmxon_precheck(&s)) {
	case VMXON_UD:
		return inject_ud();
	case VMXON_GP:
		return inject_gp();
	case VMXON_VMFAIL_IN_ROOT:
		return vm_fail(n, VMXERR_VMXON_IN_ROOT);
	case VMXON_VMFAIL_INVALID:
		return vm_fail_invalid();
	case VMXON_OK:
		break;
	}
	u64 ptr;
	if (read_ptr_operand(v, &ptr))
		return;
	if (!vmcs_ptr_ok(ptr))
		return vm_fail_invalid();
	u32 rev = revision_at(ptr);
	if (vmxon_region_check(ptr, nested_maxphyaddr(), rev, VMCS12_REVISION) != VMXON_OK)
		return vm_fail_invalid();
	n->vmxon = true;
	n->vmxon_ptr = ptr;
	n->current_ptr = VMCS12_INVALID_PTR;
	nested_shadow_enable(v, true);
	/* In VMX operation CR0.PE, NE, PG are fixed: now L0 intercepts them;
	 * the read shadow first takes the values L1 sees now. */
	vmcs_write(CR0_READ_SHADOW, guest_cr0_visible());
	vmcs_write(CR0_GUEST_HOST_MASK, nested_cr0_fixed_mask(v));
	pr_info("L1 entered VMX operation (VMXON region %lx)", ptr);
	vm_succeed();
}

/* SDM 31.3 VMXOFF (no dual-monitor treatment of SMIs: never offered). */
static void emulate_vmxoff(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	if (!precheck(n))
		return;
	vmcs12_flush(n);
	n->vmxon = false;
	n->current_ptr = VMCS12_INVALID_PTR;
	nested_shadow_enable(v, false);
	nested_ept02_flush(v); /* give its pages back */
	vmcs_write(CR0_GUEST_HOST_MASK, nested_cr0_fixed_mask(v));
	vm_succeed();
}

/* The start VMCLEAR and VMPTRLD share (SDM 31.3): #UD/#GP, the operand,
 * then VMfail for an invalid address or the VMXON region's. */
static bool vmcs_ptr_operand(struct vcpu *v, u32 err_invalid, u32 err_vmxon, u64 *ptr)
{
	struct nested_vcpu *n = &v->nested;
	if (!precheck(n) || read_ptr_operand(v, ptr))
		return false;
	if (!vmcs_ptr_ok(*ptr)) {
		vm_fail(n, err_invalid);
		return false;
	}
	if (*ptr == n->vmxon_ptr) {
		vm_fail(n, err_vmxon);
		return false;
	}
	return true;
}

/* SDM 31.3 VMCLEAR. */
static void emulate_vmclear(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	u64 ptr;
	if (!vmcs_ptr_operand(v, VMXERR_VMCLEAR_INVALID_ADDR, VMXERR_VMCLEAR_VMXON_PTR, &ptr))
		return;
	if (ptr == n->current_ptr) {
		n->cache->launch_state = VMCS12_STATE_CLEAR;
		vmcs12_flush(n);
		n->current_ptr = VMCS12_INVALID_PTR;
	} else if (nested_gpa_valid(ptr, sizeof(struct vmcs12))) {
		/* "Initialize implementation-specific data in VMCS region". */
		struct vmcs12 *mem = nested_gpa_ptr(ptr);
		mem->launch_state = VMCS12_STATE_CLEAR;
		mem->magic = VMCS12_MAGIC;
	}
	vm_succeed();
}

/* SDM 31.3 VMPTRLD. */
static void emulate_vmptrld(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	u64 ptr;
	if (!vmcs_ptr_operand(v, VMXERR_VMPTRLD_INVALID_ADDR, VMXERR_VMPTRLD_VMXON_PTR, &ptr))
		return;
	/* Bits 30:0 must be nestvisor's revision; bit 31 (a shadow VMCS) is
	 * legal only where "VMCS shadowing" is offered. A shadow VMCS may be
	 * current: L1 reads and writes its fields, but cannot launch it. A
	 * VMCS12 is always L1 RAM: all ones is no revision of ours. */
	u32 rev = revision_at(ptr);
	bool shadow_ok = n->caps.features & FEAT_BIT(FEAT_SHADOW_VMCS);
	if ((rev & ~VMCS12_SHADOW_INDICATOR) != VMCS12_REVISION ||
	    !nested_gpa_valid(ptr, sizeof(struct vmcs12)) ||
	    ((rev & VMCS12_SHADOW_INDICATOR) && !shadow_ok))
		return vm_fail(n, VMXERR_VMPTRLD_BAD_REVISION);
	if (ptr != n->current_ptr) {
		vmcs12_flush(n);
		memcpy(n->cache, nested_gpa_ptr(ptr), sizeof(struct vmcs12));
		n->ctl_host_ok = false;
		n->guest_dirty = ~0ULL;
		if (n->cache->magic != VMCS12_MAGIC) {
			/* Never VMCLEARed: what hardware holds there is
			 * undefined; nestvisor treats it as clear. */
			n->cache->magic = VMCS12_MAGIC;
			n->cache->launch_state = VMCS12_STATE_CLEAR;
		}
		n->current_ptr = ptr;
		nested_shadow_attach(v);
	}
	vm_succeed();
}

/* SDM 31.3 VMPTRST. */
static void emulate_vmptrst(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	u64 linear;
	if (!precheck(n) || nested_mem_operand(v, 8, true, &linear))
		return;
	if (nested_write_linear(v, linear, &n->current_ptr, 8))
		return;
	vm_succeed();
}

/* SDM 31.3 VMREAD and VMWRITE. */
static void emulate_vmread_vmwrite(struct vcpu *v, bool write)
{
	struct nested_vcpu *n = &v->nested;
	u32 info = (u32)vmcs_read(VMX_INSTRUCTION_INFO);
	bool lm = guest_in_64bit_mode();
	u32 opsize = lm ? 8 : 4;

	if (!precheck(n))
		return;
	if (n->current_ptr == VMCS12_INVALID_PTR)
		return vm_fail_invalid();
	/* The encoding is the whole register: in 64-bit mode bits 63:32
	 * set name no field (SDM 31.3 VMREAD: "unsupported VMCS component"). */
	u64 field64 = guest_gpr_read(v, vmx_info_reg2(info));
	u32 field = lm && (field64 >> 32) ? VMCS12_BAD_ENCODING : (u32)field64;
	u64 value = 0, linear = 0;
	bool reg = vmx_info_is_reg_operand(info);

	if (write) {
		/* The source operand is read first: a fault there comes
		 * before any VMfail. */
		if (reg)
			value = guest_gpr_read(v, vmx_info_reg1(info));
		else if (nested_mem_operand(v, opsize, false, &linear) ||
			 nested_read_linear(v, linear, &value, opsize))
			return;
		if (!lm)
			value &= 0xffffffffULL;
		int err = vmcs12_write(n->cache, field, value, lm, n->caps.features,
				       n->caps.msr[NESTED_CAP(MSR_IA32_VMX_MISC)] & VMX_MISC_VMWRITE_ANY_FIELD);
		if (err)
			return vm_fail_valid(n, err);
		/* A read-only field (VMWRITE exits for those): VMREAD of it
		 * goes to the shadow VMCS, so the shadow must see it too. */
		nested_shadow_push_field(v, field);
		nested_vmcs12_written(n, field);
		return vm_succeed();
	}
	int err = vmcs12_read(n->cache, field, lm, n->caps.features, &value);
	if (err)
		return vm_fail_valid(n, err);
	if (reg) {
		guest_gpr_write(v, vmx_info_reg1(info), lm ? value : (u32)value);
	} else if (nested_mem_operand(v, opsize, true, &linear) ||
		   nested_write_linear(v, linear, &value, opsize)) {
		return;
	}
	vm_succeed();
}

#define EPT_CAP_INVEPT BIT(20)
#define EPT_CAP_INVEPT_SINGLE BIT(25)
#define EPT_CAP_INVEPT_ALL BIT(26)
#define EPT_CAP_WB BIT(14)
#define EPT_CAP_UC BIT(8)
#define EPT_CAP_AD BIT(21)
#define EPTP_AD BIT(6)
#define INVEPT_SINGLE_CONTEXT 1
#define INVEPT_ALL_CONTEXT 2

/* An EPTP as INVEPT checks it, which is as VM entry does (SDM 31.3,
 * 27.2.1.1): a memory type the CPU offers, a 4-level walk, accessed and
 * dirty flags (bit 6) only if offered, reserved bits 11:7 and above
 * MAXPHYADDR clear (SDM 25.6.11 "Extended-Page-Table Pointer"). */
static bool eptp_valid(u64 eptp, u64 cap)
{
	u64 mt = eptp & 7;
	if (!((mt == 6 && (cap & EPT_CAP_WB)) || (mt == 0 && (cap & EPT_CAP_UC))))
		return false;
	if (((eptp >> 3) & 7) != 3 || ((eptp & EPTP_AD) && !(cap & EPT_CAP_AD)) || (eptp & 0xf80))
		return false;
	return !(eptp >> nested_maxphyaddr());
}

/* The start INVEPT and INVVPID share (SDM 31.3): #UD unless the feature
 * is offered, the #UD/#GP checks, the type from the register operand
 * (VMfail 28 unless 'types' has its bit), then the 128-bit descriptor from
 * memory. False when the instruction has already ended. */
static bool inv_operands(struct vcpu *v, bool offered, u32 types, u64 *type, u64 desc[2])
{
	struct nested_vcpu *n = &v->nested;
	u32 info = (u32)vmcs_read(VMX_INSTRUCTION_INFO);
	u64 linear;

	if (!offered) {
		inject_ud();
		return false;
	}
	if (!precheck(n))
		return false;
	*type = guest_gpr_read(v, vmx_info_reg2(info));
	if (!guest_in_64bit_mode())
		*type = (u32)*type;
	if (*type > 31 || !(types & (1u << *type))) {
		vm_fail(n, VMXERR_INVEPT_INVVPID_OPERAND);
		return false;
	}
	return !nested_mem_operand(v, 16, false, &linear) && !nested_read_linear(v, linear, desc, 16);
}

/* SDM 31.3 INVEPT. L0 keeps one EPT02 and discards it for either type:
 * more than asked is allowed. */
static void emulate_invept(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	u64 cap = n->caps.msr[NESTED_CAP(MSR_IA32_VMX_EPT_VPID_CAP)];
	u32 types = ((cap & EPT_CAP_INVEPT_SINGLE) ? 1u << INVEPT_SINGLE_CONTEXT : 0) |
		    ((cap & EPT_CAP_INVEPT_ALL) ? 1u << INVEPT_ALL_CONTEXT : 0);
	u64 type, desc[2];

	if (!inv_operands(v, (n->caps.features & FEAT_BIT(FEAT_EPT)) && (cap & EPT_CAP_INVEPT),
			  types, &type, desc))
		return;
	if (type == INVEPT_SINGLE_CONTEXT && !eptp_valid(desc[0], cap))
		return vm_fail(n, VMXERR_INVEPT_INVVPID_OPERAND);
	nested_ept02_flush(v);
	vm_succeed();
}

#define EPT_CAP_INVVPID BIT(32)
#define INVVPID_TYPE_SHIFT 40 /* bits 43:40: types 0-3 supported */
#define INVVPID_INDIVIDUAL_ADDRESS 0
#define INVVPID_ALL_CONTEXT 2

/* SDM 31.3 INVVPID: the descriptor holds the VPID in bits 15:0 (63:16
 * reserved) and a linear address in bits 127:64. VMCS02 runs without
 * VPID, so the CPU already flushes L2's translations at every VM entry and
 * exit (SDM 29.4.3.3): after the checks there is nothing left to do. */
static void emulate_invvpid(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	u64 cap = n->caps.msr[NESTED_CAP(MSR_IA32_VMX_EPT_VPID_CAP)];
	u64 type, desc[2];

	if (!inv_operands(v, (n->caps.features & FEAT_BIT(FEAT_VPID)) && (cap & EPT_CAP_INVVPID),
			  (cap >> INVVPID_TYPE_SHIFT) & 0xf, &type, desc))
		return;
	u16 vpid = desc[0] & 0xffff;
	if (desc[0] >> 16)
		return vm_fail(n, VMXERR_INVEPT_INVVPID_OPERAND);
	if (type != INVVPID_ALL_CONTEXT && vpid == 0)
		return vm_fail(n, VMXERR_INVEPT_INVVPID_OPERAND);
	/* Individual address: the address must be canonical (48 bits). */
	if (type == INVVPID_INDIVIDUAL_ADDRESS && (u64)((s64)(desc[1] << 16) >> 16) != desc[1])
		return vm_fail(n, VMXERR_INVEPT_INVVPID_OPERAND);
	vm_succeed();
}

bool nested_vmx_instruction(struct vcpu *v, u32 reason)
{
	if (!v->nested.enabled) {
		/* The guest's CPU has no VMX: undefined opcodes. */
		inject_ud();
		return false;
	}
	switch (reason) {
	case EXIT_REASON_VMXON: emulate_vmxon(v); break;
	case EXIT_REASON_VMXOFF: emulate_vmxoff(v); break;
	case EXIT_REASON_VMCLEAR: emulate_vmclear(v); break;
	case EXIT_REASON_VMPTRLD: emulate_vmptrld(v); break;
	case EXIT_REASON_VMPTRST: emulate_vmptrst(v); break;
	case EXIT_REASON_VMREAD: emulate_vmread_vmwrite(v, false); break;
	case EXIT_REASON_VMWRITE: emulate_vmread_vmwrite(v, true); break;
	case EXIT_REASON_INVEPT: emulate_invept(v); break;
	case EXIT_REASON_INVVPID: emulate_invvpid(v); break;
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMRESUME:
		if (!precheck(&v->nested))
			return false;
		return nested_vmentry(v, reason == EXIT_REASON_VMLAUNCH);
	default:
		inject_ud();
	}
	return false;
}
