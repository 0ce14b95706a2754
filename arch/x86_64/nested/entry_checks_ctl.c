/* SDM 27.2.1 "Checks on VMX Controls": VM-execution (27.2.1.1), VM-exit
 * (27.2.1.2) and VM-entry (27.2.1.3) control fields. A failure is
 * VMfailValid(VMXERR_ENTRY_INVALID_CONTROL). */
#include "entry_checks_int.h"

/* An MSR list (count entries of 16 bytes at addr): 16-byte aligned, and
 * its first and last byte inside the physical-address width. */
static bool ec_msr_list_ok(u64 addr, u32 count, u32 maxphyaddr)
{
	if (!count)
		return true;
	return !(addr & 0xf) && ec_in_width(addr, maxphyaddr) &&
	       ec_in_width(addr + (u64)count * sizeof(struct vmx_msr_entry) - 1, maxphyaddr);
}

static const char *ec_check_eptp(u64 eptp, u64 ept_cap, u32 maxphyaddr)
{
	u64 mt = eptp & EC_EPTP_MT_MASK;
	u64 levels = ((eptp & EC_EPTP_PWL_MASK) >> EC_EPTP_PWL_SHIFT) + 1;

	CC(!((mt == EC_EPTP_MT_UC && (ept_cap & EC_EPT_CAP_UC)) ||
	     (mt == EC_EPTP_MT_WB && (ept_cap & EC_EPT_CAP_WB))),
	   "27.2.1.1: EPTP memory type not supported by IA32_VMX_EPT_VPID_CAP");
	CC(!((levels == 4 && (ept_cap & EC_EPT_CAP_PWL4)) ||
	     (levels == 5 && (ept_cap & EC_EPT_CAP_PWL5))),
	   "27.2.1.1: EPTP page-walk length not supported");
	CC((eptp & EC_EPTP_AD) && !(ept_cap & EC_EPT_CAP_AD),
	   "27.2.1.1: EPTP accessed/dirty flags enabled but not supported");
	CC(eptp & EC_EPTP_RSVD_11_7, "27.2.1.1: EPTP reserved bits 11:7 set");
	CC(!ec_in_width(eptp, maxphyaddr),
	   "27.2.1.1: EPTP bits beyond the physical-address width set");
	return NULL;
}

/* With "use TPR shadow" and neither virtual-interrupt delivery nor APIC-
 * access virtualization: the TPR threshold against VTPR, byte 80H of the
 * virtual-APIC page (27.2.1.1, SDM 30.1.1), which L1 and L2 write as
 * memory: memory that is not there reads as all ones. */
const char *ec_check_vtpr(const struct vmcs12 *v, const struct l1_facts *f)
{
	u32 sec = ec_secondary(v);
	u8 vtpr;

	if (!(F32(CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_TPR_SHADOW) ||
	    (sec & (SECONDARY_VIRTUAL_INTR_DELIVERY | SECONDARY_VIRTUALIZE_APIC_ACCESSES)) || !f->read_gpa)
		return NULL;
	if (f->read_gpa(f->read_ctx, F(VIRTUAL_APIC_PAGE_ADDR) + 0x80, &vtpr, 1))
		vtpr = 0xff;
	CC((F32(TPR_THRESHOLD) & 0xf) > (u32)(vtpr >> 4),
	   "27.2.1.1: TPR threshold bits 3:0 greater than VTPR bits 7:4");
	return NULL;
}

/* The checks that depend on the TPR shadow and the APIC-virtualization
 * controls (27.2.1.1). */
static const char *ec_check_apic_controls(const struct vmcs12 *v, const struct l1_facts *f)
{
	u32 pin = F32(PIN_BASED_VM_EXEC_CONTROL);
	u32 cpu = F32(CPU_BASED_VM_EXEC_CONTROL);
	u32 sec = ec_secondary(v);
	u32 tpr_threshold = F32(TPR_THRESHOLD);

	if (cpu & CPU_BASED_TPR_SHADOW) {
		u64 vapic = F(VIRTUAL_APIC_PAGE_ADDR);

		CC(!ec_page_ok(vapic, f->maxphyaddr),
		   "27.2.1.1: virtual-APIC address not 4-KByte aligned or beyond the physical-address width");
		CC(!(sec & SECONDARY_VIRTUAL_INTR_DELIVERY) && (tpr_threshold & ~0xfU),
		   "27.2.1.1: TPR threshold bits 31:4 set");
		CC_SUB(ec_check_vtpr(v, f));
	} else {
		CC(sec & (SECONDARY_VIRTUALIZE_X2APIC | SECONDARY_APIC_REGISTER_VIRT |
			  SECONDARY_VIRTUAL_INTR_DELIVERY),
		   "27.2.1.1: virtualize x2APIC mode, APIC-register virtualization or virtual-interrupt delivery without use TPR shadow");
	}
	CC((sec & SECONDARY_VIRTUALIZE_APIC_ACCESSES) &&
	   !ec_page_ok(F(APIC_ACCESS_ADDR), f->maxphyaddr),
	   "27.2.1.1: APIC-access address not 4-KByte aligned or beyond the physical-address width");
	CC((sec & SECONDARY_VIRTUALIZE_X2APIC) && (sec & SECONDARY_VIRTUALIZE_APIC_ACCESSES),
	   "27.2.1.1: virtualize x2APIC mode with virtualize APIC accesses");
	CC((sec & SECONDARY_VIRTUAL_INTR_DELIVERY) && !(pin & PIN_BASED_EXT_INTR_MASK),
	   "27.2.1.1: virtual-interrupt delivery without external-interrupt exiting");
	if (pin & PIN_BASED_POSTED_INTR) {
		u64 desc = F(POSTED_INTR_DESC_ADDR);

		CC(!(sec & SECONDARY_VIRTUAL_INTR_DELIVERY),
		   "27.2.1.1: process posted interrupts without virtual-interrupt delivery");
		CC(!(F32(VM_EXIT_CONTROLS) & VM_EXIT_ACK_INTR_ON_EXIT),
		   "27.2.1.1: process posted interrupts without acknowledge interrupt on exit");
		CC(F32(POSTED_INTR_NOTIFICATION_VECTOR) & 0xff00,
		   "27.2.1.1: posted-interrupt notification vector bits 15:8 set");
		CC((desc & 0x3f) || !ec_in_width(desc, f->maxphyaddr),
		   "27.2.1.1: posted-interrupt descriptor address not 64-byte aligned or beyond the physical-address width");
	}
	return NULL;
}

/* The checks on EPT and the controls that build on it (27.2.1.1). */
static const char *ec_check_ept_controls(const struct vmcs12 *v, const struct nested_caps *c,
					 const struct l1_facts *f)
{
	u32 sec = ec_secondary(v);
	bool ept = sec & SECONDARY_ENABLE_EPT;

	if (ept)
		CC_SUB(ec_check_eptp(F(EPT_POINTER), EC_CAP(c, MSR_IA32_VMX_EPT_VPID_CAP), f->maxphyaddr));
	CC((sec & SECONDARY_UNRESTRICTED_GUEST) && !ept,
	   "27.2.1.1: unrestricted guest without enable EPT");
	CC((sec & SECONDARY_MODE_BASED_EPT_EXEC) && !ept,
	   "27.2.1.1: mode-based execute control for EPT without enable EPT");
	if (sec & SECONDARY_ENABLE_PML) {
		CC(!ept, "27.2.1.1: enable PML without enable EPT");
		CC(!ec_page_ok(F(PML_ADDRESS), f->maxphyaddr),
		   "27.2.1.1: PML address not 4-KByte aligned or beyond the physical-address width");
	}
	if (sec & SECONDARY_ENABLE_VMFUNC) {
		u64 vmfunc = F(VM_FUNCTION_CONTROL);

		CC(vmfunc & ~EC_CAP(c, MSR_IA32_VMX_VMFUNC),
		   "27.2.1.1: VM-function controls set a bit IA32_VMX_VMFUNC does not allow");
		if (vmfunc & EC_VMFUNC_EPTP_SWITCHING) {
			CC(!ept, "27.2.1.1: EPTP switching without enable EPT");
			CC(!ec_page_ok(F(EPTP_LIST_ADDRESS), f->maxphyaddr),
			   "27.2.1.1: EPTP-list address not 4-KByte aligned or beyond the physical-address width");
		}
	}
	CC((sec & SECONDARY_EPT_VIOLATION_VE) &&
	   !ec_page_ok(F(VE_INFORMATION_ADDRESS), f->maxphyaddr),
	   "27.2.1.1: virtualization-exception information address not 4-KByte aligned or beyond the physical-address width");
	return NULL;
}

const char *ec_check_exec_controls(const struct vmcs12 *v, const struct nested_caps *c,
				   const struct l1_facts *f)
{
	u32 pin = F32(PIN_BASED_VM_EXEC_CONTROL);
	u32 cpu = F32(CPU_BASED_VM_EXEC_CONTROL);
	u32 sec = ec_secondary(v);
	u64 misc = EC_CAP(c, MSR_IA32_VMX_MISC);
	u32 cr3_targets = EC_MISC_CR3_TARGETS(misc);

	CC(!nested_ctl_allowed(ec_ctl_cap(c, MSR_IA32_VMX_PINBASED_CTLS,
					  MSR_IA32_VMX_TRUE_PINBASED_CTLS), pin),
	   "27.2.1.1: pin-based VM-execution controls: a bit IA32_VMX_(TRUE_)PINBASED_CTLS fixes is wrong");
	CC(!nested_ctl_allowed(ec_ctl_cap(c, MSR_IA32_VMX_PROCBASED_CTLS,
					  MSR_IA32_VMX_TRUE_PROCBASED_CTLS), cpu),
	   "27.2.1.1: primary processor-based VM-execution controls: a bit IA32_VMX_(TRUE_)PROCBASED_CTLS fixes is wrong");
	CC((cpu & CPU_BASED_ACTIVATE_SECONDARY) &&
	   !nested_ctl_allowed(EC_CAP(c, MSR_IA32_VMX_PROCBASED_CTLS2), sec),
	   "27.2.1.1: secondary processor-based VM-execution controls: a bit IA32_VMX_PROCBASED_CTLS2 fixes is wrong");
	CC(F32(CR3_TARGET_COUNT) > (cr3_targets < 4 ? cr3_targets : 4),
	   "27.2.1.1: CR3-target count > 4 (or > IA32_VMX_MISC[24:16])");
	if (cpu & CPU_BASED_USE_IO_BITMAPS) {
		CC(!ec_page_ok(F(IO_BITMAP_A), f->maxphyaddr),
		   "27.2.1.1: I/O-bitmap A address not 4-KByte aligned or beyond the physical-address width");
		CC(!ec_page_ok(F(IO_BITMAP_B), f->maxphyaddr),
		   "27.2.1.1: I/O-bitmap B address not 4-KByte aligned or beyond the physical-address width");
	}
	CC((cpu & CPU_BASED_USE_MSR_BITMAPS) && !ec_page_ok(F(MSR_BITMAP), f->maxphyaddr),
	   "27.2.1.1: MSR-bitmap address not 4-KByte aligned or beyond the physical-address width");
	CC_SUB(ec_check_apic_controls(v, f));
	CC(!(pin & PIN_BASED_NMI_EXITING) && (pin & PIN_BASED_VIRTUAL_NMIS),
	   "27.2.1.1: virtual NMIs without NMI exiting");
	CC(!(pin & PIN_BASED_VIRTUAL_NMIS) && (cpu & CPU_BASED_NMI_WINDOW_EXITING),
	   "27.2.1.1: NMI-window exiting without virtual NMIs");
	CC((sec & SECONDARY_ENABLE_VPID) && !F32(VIRTUAL_PROCESSOR_ID),
	   "27.2.1.1: enable VPID with VPID 0");
	CC_SUB(ec_check_ept_controls(v, c, f));
	if (sec & SECONDARY_VMCS_SHADOWING) {
		CC(!ec_page_ok(F(VMREAD_BITMAP), f->maxphyaddr),
		   "27.2.1.1: VMREAD-bitmap address not 4-KByte aligned or beyond the physical-address width");
		CC(!ec_page_ok(F(VMWRITE_BITMAP), f->maxphyaddr),
		   "27.2.1.1: VMWRITE-bitmap address not 4-KByte aligned or beyond the physical-address width");
	}
	return NULL;
}

const char *ec_check_exit_controls(const struct vmcs12 *v, const struct nested_caps *c,
				   const struct l1_facts *f)
{
	u32 exit = F32(VM_EXIT_CONTROLS);

	CC(!nested_ctl_allowed(ec_ctl_cap(c, MSR_IA32_VMX_EXIT_CTLS,
					  MSR_IA32_VMX_TRUE_EXIT_CTLS), exit),
	   "27.2.1.2: VM-exit controls: a bit IA32_VMX_(TRUE_)EXIT_CTLS fixes is wrong");
	CC(!(F32(PIN_BASED_VM_EXEC_CONTROL) & PIN_BASED_VMX_PREEMPTION_TIMER) &&
	   (exit & VM_EXIT_SAVE_PREEMPTION_TIMER),
	   "27.2.1.2: save VMX-preemption timer value without activate VMX-preemption timer");
	CC(!ec_msr_list_ok(F(VM_EXIT_MSR_STORE_ADDR), F32(VM_EXIT_MSR_STORE_COUNT), f->maxphyaddr),
	   "27.2.1.2: VM-exit MSR-store address not 16-byte aligned or the list beyond the physical-address width");
	CC(!ec_msr_list_ok(F(VM_EXIT_MSR_LOAD_ADDR), F32(VM_EXIT_MSR_LOAD_COUNT), f->maxphyaddr),
	   "27.2.1.2: VM-exit MSR-load address not 16-byte aligned or the list beyond the physical-address width");
	return NULL;
}

/* Exceptions that push an error code (SDM 6.3.1, Table 6-1). */
static bool ec_exception_has_error_code(u32 vector)
{
	switch (vector) {
	case EXC_DF: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP:
	case EXC_PF: case EC_EXC_AC: case EC_EXC_CP:
		return true;
	default:
		return false;
	}
}

/* Event injection: the VM-entry interruption-information field, the
 * exception error code and the instruction length (27.2.1.3). */
const char *ec_check_event_injection(const struct vmcs12 *v, const struct nested_caps *c)
{
	u32 info = F32(VM_ENTRY_INTR_INFO_FIELD);
	u32 vector = info & EC_INTR_INFO_VECTOR_MASK;
	u32 type = (info & EC_INTR_INFO_TYPE_MASK) >> EC_INTR_INFO_TYPE_SHIFT;
	bool has_code = info & EC_INTR_INFO_DELIVER_CODE;
	bool ug = ec_secondary(v) & SECONDARY_UNRESTRICTED_GUEST;
	bool prot = !ug || (F(GUEST_CR0) & CR0_PE);
	u64 proc_cap = ec_ctl_cap(c, MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
	u32 len = F32(VM_ENTRY_INSTRUCTION_LEN);

	if (!(info & EC_INTR_INFO_VALID))
		return NULL;
	CC(type == EC_INTR_TYPE_RESERVED,
	   "27.2.1.3: VM-entry interruption type 1 (reserved)");
	CC(type == EC_INTR_TYPE_OTHER_EVENT && !((proc_cap >> 32) & CPU_BASED_MONITOR_TRAP_FLAG),
	   "27.2.1.3: VM-entry interruption type 7 (other event) without monitor trap flag support");
	CC(type == EC_INTR_TYPE_NMI && vector != EXC_NMI,
	   "27.2.1.3: VM-entry interruption type NMI with vector other than 2");
	CC(type == EC_INTR_TYPE_HARD_EXCEPTION && vector > 31,
	   "27.2.1.3: VM-entry hardware exception with vector > 31");
	CC(type == EC_INTR_TYPE_OTHER_EVENT && vector != 0,
	   "27.2.1.3: VM-entry interruption type other event with vector other than 0");
	if (!(EC_CAP(c, MSR_IA32_VMX_BASIC) & EC_BASIC_NO_HW_ERRCODE)) {
		bool want = prot && type == EC_INTR_TYPE_HARD_EXCEPTION &&
			    ec_exception_has_error_code(vector);
		CC(has_code != want,
		   "27.2.1.3: VM-entry deliver-error-code bit does not match the interruption type and vector");
	} else {
		/* IA32_VMX_BASIC[56]: only the real-mode rule remains. */
		CC(has_code && (!prot || type != EC_INTR_TYPE_HARD_EXCEPTION),
		   "27.2.1.3: VM-entry deliver-error-code bit without a protected-mode hardware exception");
	}
	CC(info & EC_INTR_INFO_RSVD_30_12,
	   "27.2.1.3: VM-entry interruption-information reserved bits 30:12 set");
	CC(has_code && (F32(VM_ENTRY_EXCEPTION_ERROR_CODE) & 0xffff0000U),
	   "27.2.1.3: VM-entry exception error code bits 31:16 set");
	if (type == EC_INTR_TYPE_SOFT_INTR || type == EC_INTR_TYPE_PRIV_SW_EXC ||
	    type == EC_INTR_TYPE_SOFT_EXCEPTION) {
		CC(len > 15, "27.2.1.3: VM-entry instruction length > 15 for a software event");
		CC(len == 0 && !(EC_CAP(c, MSR_IA32_VMX_MISC) & EC_MISC_ZERO_LEN_INJECT),
		   "27.2.1.3: VM-entry instruction length 0 for a software event without IA32_VMX_MISC[30]");
	}
	return NULL;
}

const char *ec_check_entry_controls(const struct vmcs12 *v, const struct nested_caps *c,
				    const struct l1_facts *f)
{
	u32 entry = F32(VM_ENTRY_CONTROLS);

	CC(!nested_ctl_allowed(ec_ctl_cap(c, MSR_IA32_VMX_ENTRY_CTLS,
					  MSR_IA32_VMX_TRUE_ENTRY_CTLS), entry),
	   "27.2.1.3: VM-entry controls: a bit IA32_VMX_(TRUE_)ENTRY_CTLS fixes is wrong");
	CC_SUB(ec_check_event_injection(v, c));
	CC(!ec_msr_list_ok(F(VM_ENTRY_MSR_LOAD_ADDR), F32(VM_ENTRY_MSR_LOAD_COUNT), f->maxphyaddr),
	   "27.2.1.3: VM-entry MSR-load address not 16-byte aligned or the list beyond the physical-address width");
	/* L1 never runs in SMM. */
	CC(entry & VM_ENTRY_SMM, "27.2.1.3: entry to SMM outside SMM");
	CC(entry & VM_ENTRY_DEACT_DUAL_MONITOR,
	   "27.2.1.3: deactivate dual-monitor treatment outside SMM");
	return NULL;
}
