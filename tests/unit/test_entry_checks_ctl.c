/* Cases for SDM 27.2: checks on VMX controls (27.2.1) -> VMfailValid(7),
 * on host state and address-space size (27.2.2-27.2.4) -> VMfailValid(8).
 * The harness and the known-good VMCS12 are in test_entry_checks.c. */
#include "unit.h"
#include <vmcs.h>
#include <msr.h>
#include <cpu.h>
#include "test_entry_checks.h"

#define EPTP_WB4 (0x36000ULL | 6 | (3 << 3)) /* WB, 4-level walk */
#define TPR_ON OR(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_TPR_SHADOW), W(VIRTUAL_APIC_PAGE_ADDR, T_VAPIC)
#define EPT_ON OR(SECONDARY_VM_EXEC_CONTROL, SECONDARY_ENABLE_EPT), W(EPT_POINTER, EPTP_WB4)
#define SEC(x) OR(SECONDARY_VM_EXEC_CONTROL, (x))
#define INJ(x) W(VM_ENTRY_INTR_INFO_FIELD, 0x80000000U | (x))
#define INJ_EXT W(GUEST_RFLAGS, 0x202), INJ(0x20)
#define LIST(n, a) W(VM_EXIT_MSR_STORE_COUNT, n), W(VM_EXIT_MSR_STORE_ADDR, a)
#define NONCANON 0x0000800000000000ULL
/* Bochs offers no posted interrupts and no MTF: the cases add them. */
#define POSTED CAPOR(MSR_IA32_VMX_TRUE_PINBASED_CTLS, (u64)PIN_BASED_POSTED_INTR << 32), \
	TPR_ON, SEC(SECONDARY_VIRTUAL_INTR_DELIVERY), \
	OR(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_POSTED_INTR), \
	W(POSTED_INTR_NOTIFICATION_VECTOR, 0xf2), W(POSTED_INTR_DESC_ADDR, 0x35000)

const struct ec_case ec_ctl_cases[] = {
	/* The known-good VMCS12 passes with each capability set. */
	{ "ec_base_offered", CAPS_OFFERED, .kind = ENTRY_OK },
	{ "ec_base_hw", CAPS_HW, .kind = ENTRY_OK },
	{ "ec_base_poor_cpu", CAPS_POOR, .kind = ENTRY_OK },

	/* 27.2.1.1 VM-execution control fields */
	{ "ec_pin_allowed1", .brk = { OR(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_POSTED_INTR) },
	  VMFAIL_CTL("27.2.1.1: pin-based") },
	{ "ec_pin_default1", .brk = { CL(PIN_BASED_VM_EXEC_CONTROL, 0x2) }, VMFAIL_CTL("27.2.1.1: pin-based") },
	{ "ec_proc_allowed1", .brk = { OR(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MONITOR_TRAP_FLAG) },
	  VMFAIL_CTL("27.2.1.1: primary processor-based") },
	{ "ec_proc_true_vs_plain", CAPS_POOR, .brk = { CL(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_CR3_LOAD_EXITING) },
	  VMFAIL_CTL("27.2.1.1: primary processor-based") },
	{ "ec_proc_true_allows_clear", .setup = { CL(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_CR3_LOAD_EXITING) },
	  .kind = ENTRY_OK },
	{ "ec_sec_allowed1", .brk = { SEC(SECONDARY_ENABLE_EPT) }, VMFAIL_CTL("27.2.1.1: secondary processor-based") },
	{ "ec_sec_ignored_inactive",
	  .setup = { CL(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY), W(SECONDARY_VM_EXEC_CONTROL, 0xffffffff) },
	  .brk = { OR(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY) },
	  VMFAIL_CTL("27.2.1.1: secondary processor-based") },
	{ "ec_cr3_target_count", .setup = { W(CR3_TARGET_COUNT, 4) }, .brk = { W(CR3_TARGET_COUNT, 5) },
	  VMFAIL_CTL("27.2.1.1: CR3-target count") },
	{ "ec_cr3_target_count_misc", CAPS_POOR, .brk = { W(CR3_TARGET_COUNT, 1) },
	  VMFAIL_CTL("27.2.1.1: CR3-target count") },
	{ "ec_io_bitmap_a", .brk = { W(IO_BITMAP_A, 0x10800) }, VMFAIL_CTL("I/O-bitmap A address") },
	{ "ec_io_bitmap_b", .brk = { W(IO_BITMAP_B, 1ULL << 39) }, VMFAIL_CTL("I/O-bitmap B address") },
	{ "ec_io_bitmap_unused", .setup = { CL(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS), W(IO_BITMAP_A, 1) },
	  .kind = ENTRY_OK },
	{ "ec_msr_bitmap", .brk = { W(MSR_BITMAP, 0x12004) }, VMFAIL_CTL("MSR-bitmap address") },
	{ "ec_vapic_addr", .setup = { TPR_ON }, .brk = { W(VIRTUAL_APIC_PAGE_ADDR, T_VAPIC + 8) },
	  VMFAIL_CTL("virtual-APIC address") },
	{ "ec_tpr_threshold_31_4", .setup = { TPR_ON }, .brk = { W(TPR_THRESHOLD, 0x10) },
	  VMFAIL_CTL("TPR threshold bits 31:4") },
	{ "ec_tpr_threshold_vtpr", .setup = { TPR_ON, M8(T_VAPIC + 0x80, 0x50), W(TPR_THRESHOLD, 5) },
	  .brk = { W(TPR_THRESHOLD, 6) }, VMFAIL_CTL("greater than VTPR") },
	/* VTPR lowered in memory after a good entry (L2's MOV to CR8 does
	 * that): no control field changed, the check still runs. */
	{ "ec_tpr_threshold_vtpr_lowered", .setup = { TPR_ON, M8(T_VAPIC + 0x80, 0x50), W(TPR_THRESHOLD, 5) },
	  .brk = { M8(T_VAPIC + 0x80, 0x40) }, VMFAIL_CTL("greater than VTPR") },
	/* A virtual-APIC page where no memory is: VTPR reads as FFH, so any
	 * threshold passes (the SDM checks only alignment and width). */
	{ "ec_vtpr_absent_reads_ones", .setup = { TPR_ON, W(VIRTUAL_APIC_PAGE_ADDR, 0x80000),
	  W(TPR_THRESHOLD, 0xf) }, .kind = ENTRY_OK },
	{ "ec_apicv_needs_tpr_shadow", CAPS_HW, .setup = { TPR_ON, SEC(SECONDARY_VIRTUALIZE_X2APIC) },
	  .brk = { CL(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_TPR_SHADOW) }, VMFAIL_CTL("without use TPR shadow") },
	{ "ec_apic_access_addr", CAPS_HW,
	  .setup = { SEC(SECONDARY_VIRTUALIZE_APIC_ACCESSES), W(APIC_ACCESS_ADDR, 0x34000) },
	  .brk = { W(APIC_ACCESS_ADDR, 0x34010) }, VMFAIL_CTL("APIC-access address") },
	{ "ec_x2apic_vs_apic_access", CAPS_HW, .setup = { TPR_ON, SEC(SECONDARY_VIRTUALIZE_X2APIC), W(APIC_ACCESS_ADDR, 0x34000) },
	  .brk = { SEC(SECONDARY_VIRTUALIZE_APIC_ACCESSES) }, VMFAIL_CTL("x2APIC mode with virtualize APIC accesses") },
	{ "ec_vid_needs_ext_intr", CAPS_HW, .setup = { TPR_ON, SEC(SECONDARY_VIRTUAL_INTR_DELIVERY) },
	  .brk = { CL(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_EXT_INTR_MASK) },
	  VMFAIL_CTL("virtual-interrupt delivery without external-interrupt exiting") },
	{ "ec_posted_needs_vid", CAPS_HW, .setup = { POSTED },
	  .brk = { CL(SECONDARY_VM_EXEC_CONTROL, SECONDARY_VIRTUAL_INTR_DELIVERY) },
	  VMFAIL_CTL("posted interrupts without virtual-interrupt delivery") },
	{ "ec_posted_needs_ack", CAPS_HW, .setup = { POSTED }, .brk = { CL(VM_EXIT_CONTROLS, VM_EXIT_ACK_INTR_ON_EXIT) },
	  VMFAIL_CTL("without acknowledge interrupt on exit") },
	{ "ec_posted_vector", CAPS_HW, .setup = { POSTED }, .brk = { W(POSTED_INTR_NOTIFICATION_VECTOR, 0x1f2) },
	  VMFAIL_CTL("notification vector bits 15:8") },
	{ "ec_posted_desc", CAPS_HW, .setup = { POSTED }, .brk = { W(POSTED_INTR_DESC_ADDR, 0x35020) },
	  VMFAIL_CTL("posted-interrupt descriptor address") },
	{ "ec_vnmi_needs_nmi_exiting", .brk = { CL(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_NMI_EXITING) },
	  VMFAIL_CTL("virtual NMIs without NMI exiting") },
	{ "ec_nmi_window_needs_vnmi", .setup = { OR(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING) },
	  .brk = { CL(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VIRTUAL_NMIS) }, VMFAIL_CTL("NMI-window exiting without virtual NMIs") },
	{ "ec_vpid_zero", CAPS_HW, .setup = { SEC(SECONDARY_ENABLE_VPID), W(VIRTUAL_PROCESSOR_ID, 1) },
	  .brk = { W(VIRTUAL_PROCESSOR_ID, 0) }, VMFAIL_CTL("enable VPID with VPID 0") },
	{ "ec_eptp_memtype", CAPS_HW, .setup = { EPT_ON }, .brk = { W(EPT_POINTER, EPTP_WB4 - 1) },
	  VMFAIL_CTL("EPTP memory type") },
	{ "ec_eptp_walk_length", CAPS_HW, .setup = { EPT_ON }, .brk = { W(EPT_POINTER, EPTP_WB4 + (1 << 3)) },
	  VMFAIL_CTL("EPTP page-walk length") },
	{ "ec_eptp_ad", CAPS_HW, .setup = { EPT_ON, W(EPT_POINTER, EPTP_WB4 | BIT(6)) },
	  .brk = { CAPCL(MSR_IA32_VMX_EPT_VPID_CAP, BIT(21)) }, VMFAIL_CTL("EPTP accessed/dirty") },
	{ "ec_eptp_rsvd", CAPS_HW, .setup = { EPT_ON }, .brk = { W(EPT_POINTER, EPTP_WB4 | BIT(7)) },
	  VMFAIL_CTL("EPTP reserved bits 11:7") },
	{ "ec_eptp_width", CAPS_HW, .setup = { EPT_ON }, .brk = { W(EPT_POINTER, EPTP_WB4 | BIT(39)) },
	  VMFAIL_CTL("EPTP bits beyond") },
	/* Event injection reads guest CR0.PE with unrestricted guest: an
	 * error code for #GP is right in protected mode, wrong in real mode
	 * (27.2.1.3); only a guest-state field changed. */
	{ "ec_inj_error_code_guest_real_mode", CAPS_HW,
	  .setup = { EPT_ON, SEC(SECONDARY_UNRESTRICTED_GUEST), INJ(0xb0d) },
	  .brk = { CL(GUEST_CR0, CR0_PE) }, VMFAIL_CTL("deliver-error-code bit does not match") },
	{ "ec_ug_needs_ept", CAPS_HW, .setup = { EPT_ON, SEC(SECONDARY_UNRESTRICTED_GUEST) },
	  .brk = { CL(SECONDARY_VM_EXEC_CONTROL, SECONDARY_ENABLE_EPT) }, VMFAIL_CTL("unrestricted guest without enable EPT") },
	{ "ec_mbec_needs_ept", CAPS_HW,
	  .setup = { CAPOR(MSR_IA32_VMX_PROCBASED_CTLS2, (u64)SECONDARY_MODE_BASED_EPT_EXEC << 32), EPT_ON,
		     SEC(SECONDARY_MODE_BASED_EPT_EXEC) },
	  .brk = { CL(SECONDARY_VM_EXEC_CONTROL, SECONDARY_ENABLE_EPT) }, VMFAIL_CTL("mode-based execute control") },
	{ "ec_pml_needs_ept", CAPS_HW, .setup = { EPT_ON, SEC(SECONDARY_ENABLE_PML), W(PML_ADDRESS, 0x37000) },
	  .brk = { CL(SECONDARY_VM_EXEC_CONTROL, SECONDARY_ENABLE_EPT) }, VMFAIL_CTL("enable PML without enable EPT") },
	{ "ec_pml_addr", CAPS_HW, .setup = { EPT_ON, SEC(SECONDARY_ENABLE_PML), W(PML_ADDRESS, 0x37000) },
	  .brk = { W(PML_ADDRESS, 0x37001) }, VMFAIL_CTL("PML address") },
	{ "ec_vmfunc_allowed", CAPS_HW,
	  .setup = { EPT_ON, SEC(SECONDARY_ENABLE_VMFUNC), W(VM_FUNCTION_CONTROL, 1), W(EPTP_LIST_ADDRESS, 0x38000) },
	  .brk = { W(VM_FUNCTION_CONTROL, 3) }, VMFAIL_CTL("VM-function controls") },
	{ "ec_eptp_switching_needs_ept", CAPS_HW,
	  .setup = { EPT_ON, SEC(SECONDARY_ENABLE_VMFUNC), W(VM_FUNCTION_CONTROL, 1), W(EPTP_LIST_ADDRESS, 0x38000) },
	  .brk = { CL(SECONDARY_VM_EXEC_CONTROL, SECONDARY_ENABLE_EPT) }, VMFAIL_CTL("EPTP switching without enable EPT") },
	{ "ec_eptp_list_addr", CAPS_HW,
	  .setup = { EPT_ON, SEC(SECONDARY_ENABLE_VMFUNC), W(VM_FUNCTION_CONTROL, 1), W(EPTP_LIST_ADDRESS, 0x38000) },
	  .brk = { W(EPTP_LIST_ADDRESS, 0x38008) }, VMFAIL_CTL("EPTP-list address") },
	{ "ec_vmread_bitmap", CAPS_HW,
	  .setup = { SEC(SECONDARY_VMCS_SHADOWING), W(VMREAD_BITMAP, 0x39000), W(VMWRITE_BITMAP, 0x3a000) },
	  .brk = { W(VMREAD_BITMAP, 0x39001) }, VMFAIL_CTL("VMREAD-bitmap address") },
	{ "ec_vmwrite_bitmap", CAPS_HW,
	  .setup = { SEC(SECONDARY_VMCS_SHADOWING), W(VMREAD_BITMAP, 0x39000), W(VMWRITE_BITMAP, 0x3a000) },
	  .brk = { W(VMWRITE_BITMAP, 1ULL << 40) }, VMFAIL_CTL("VMWRITE-bitmap address") },
	{ "ec_ve_info_addr", CAPS_HW, .setup = { EPT_ON, SEC(SECONDARY_EPT_VIOLATION_VE), W(VE_INFORMATION_ADDRESS, 0x3b000) },
	  .brk = { W(VE_INFORMATION_ADDRESS, 0x3b004) }, VMFAIL_CTL("virtualization-exception information address") },

	/* 27.2.1.2 VM-exit control fields */
	{ "ec_exit_allowed1", .brk = { OR(VM_EXIT_CONTROLS, VM_EXIT_LOAD_PERF_GLOBAL_CTRL) },
	  VMFAIL_CTL("27.2.1.2: VM-exit controls") },
	{ "ec_exit_default1", .brk = { CL(VM_EXIT_CONTROLS, 0x1) }, VMFAIL_CTL("27.2.1.2: VM-exit controls") },
	{ "ec_exit_save_timer", CAPS_HW,
	  .setup = { OR(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER), OR(VM_EXIT_CONTROLS, VM_EXIT_SAVE_PREEMPTION_TIMER) },
	  .brk = { CL(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER) }, VMFAIL_CTL("save VMX-preemption timer") },
	{ "ec_exit_msr_store_align", .setup = { LIST(2, T_MSRS) }, .brk = { W(VM_EXIT_MSR_STORE_ADDR, T_MSRS + 8) },
	  VMFAIL_CTL("VM-exit MSR-store address") },
	{ "ec_exit_msr_store_last_byte", .setup = { LIST(2, BIT(39) - 0x20) }, .brk = { W(VM_EXIT_MSR_STORE_COUNT, 3) },
	  VMFAIL_CTL("VM-exit MSR-store address") },
	{ "ec_exit_msr_store_unused", .setup = { W(VM_EXIT_MSR_STORE_ADDR, 3) }, .kind = ENTRY_OK },
	{ "ec_exit_msr_load_align", .setup = { W(VM_EXIT_MSR_LOAD_COUNT, 1), W(VM_EXIT_MSR_LOAD_ADDR, T_MSRS) },
	  .brk = { W(VM_EXIT_MSR_LOAD_ADDR, T_MSRS + 4) }, VMFAIL_CTL("VM-exit MSR-load address") },

	/* 27.2.1.3 VM-entry control fields and event injection */
	{ "ec_entry_allowed1", .brk = { OR(VM_ENTRY_CONTROLS, VM_ENTRY_LOAD_PERF_GLOBAL_CTRL) },
	  VMFAIL_CTL("27.2.1.3: VM-entry controls") },
	{ "ec_entry_smm", CAPS_HW, .brk = { OR(VM_ENTRY_CONTROLS, VM_ENTRY_SMM) }, VMFAIL_CTL("entry to SMM") },
	{ "ec_entry_dual_monitor", CAPS_HW, .brk = { OR(VM_ENTRY_CONTROLS, VM_ENTRY_DEACT_DUAL_MONITOR) },
	  VMFAIL_CTL("deactivate dual-monitor") },
	{ "ec_entry_msr_load_align", .setup = { W(VM_ENTRY_MSR_LOAD_COUNT, 1), W(VM_ENTRY_MSR_LOAD_ADDR, T_MSRS) },
	  .brk = { W(VM_ENTRY_MSR_LOAD_ADDR, T_MSRS + 1) }, VMFAIL_CTL("VM-entry MSR-load address") },
	{ "ec_entry_msr_load_width", .setup = { W(VM_ENTRY_MSR_LOAD_COUNT, 1), W(VM_ENTRY_MSR_LOAD_ADDR, T_MSRS) },
	  .brk = { W(VM_ENTRY_MSR_LOAD_ADDR, BIT(39)) }, VMFAIL_CTL("VM-entry MSR-load address") },
	{ "ec_inj_type_reserved", .setup = { INJ_EXT }, .brk = { INJ(0x120) }, VMFAIL_CTL("type 1 (reserved)") },
	{ "ec_inj_other_needs_mtf", .brk = { INJ(0x700) }, VMFAIL_CTL("without monitor trap flag support") },
	{ "ec_inj_other_vector", CAPS_HW,
	  .setup = { CAPOR(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, (u64)CPU_BASED_MONITOR_TRAP_FLAG << 32), INJ(0x700) }, .brk = { INJ(0x701) },
	  VMFAIL_CTL("other event with vector other than 0") },
	{ "ec_inj_nmi_vector", .setup = { INJ(0x202) }, .brk = { INJ(0x203) }, VMFAIL_CTL("NMI with vector other than 2") },
	{ "ec_inj_hw_exc_vector", .setup = { INJ(0x306) }, .brk = { INJ(0x320) }, VMFAIL_CTL("vector > 31") },
	{ "ec_inj_error_code_missing", .setup = { INJ(0xb0d) }, .brk = { INJ(0x30d) }, VMFAIL_CTL("deliver-error-code bit does not match") },
	{ "ec_inj_error_code_extra", .setup = { INJ(0x306) }, .brk = { INJ(0xb06) }, VMFAIL_CTL("deliver-error-code bit does not match") },
	{ "ec_inj_error_code_ext_intr", .setup = { INJ_EXT }, .brk = { INJ(0x820) }, VMFAIL_CTL("deliver-error-code bit does not match") },
	{ "ec_inj_error_code_basic56", .setup = { CAPOR(MSR_IA32_VMX_BASIC, BIT(56)), INJ(0xb06) },
	  .brk = { W(GUEST_RFLAGS, 0x202), INJ(0x820) }, VMFAIL_CTL("without a protected-mode hardware exception") },
	{ "ec_inj_reserved_bits", .setup = { INJ_EXT }, .brk = { INJ(0x1020) }, VMFAIL_CTL("reserved bits 30:12") },
	{ "ec_inj_error_code_31_16", .setup = { INJ(0xb0d), W(VM_ENTRY_EXCEPTION_ERROR_CODE, 0xffff) },
	  .brk = { W(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000) }, VMFAIL_CTL("error code bits 31:16") },
	{ "ec_inj_soft_len_15", .setup = { INJ(0x603), W(VM_ENTRY_INSTRUCTION_LEN, 15) },
	  .brk = { W(VM_ENTRY_INSTRUCTION_LEN, 16) }, VMFAIL_CTL("instruction length > 15") },
	{ "ec_inj_soft_len_zero_allowed", .setup = { INJ(0x403), W(VM_ENTRY_INSTRUCTION_LEN, 0) }, .kind = ENTRY_OK },
	{ "ec_inj_soft_len_zero", CAPS_POOR, .setup = { INJ(0x503), W(VM_ENTRY_INSTRUCTION_LEN, 1) },
	  .brk = { W(VM_ENTRY_INSTRUCTION_LEN, 0) }, VMFAIL_CTL("instruction length 0") },

	/* 27.2.2 host control registers and MSRs */
	{ "ec_host_cr0_fixed0", .brk = { CL(HOST_CR0, CR0_NE) }, VMFAIL_HOST("27.2.2: host CR0") },
	{ "ec_host_cr0_fixed1", .brk = { OR(HOST_CR0, BIT(32)) }, VMFAIL_HOST("27.2.2: host CR0") },
	{ "ec_host_cr4_fixed", .brk = { CL(HOST_CR4, CR4_VMXE) }, VMFAIL_HOST("27.2.2: host CR4") },
	{ "ec_host_cr3_width", .brk = { W(HOST_CR3, BIT(39)) }, VMFAIL_HOST("host CR3") },
	{ "ec_host_sysenter_esp", .brk = { W(HOST_IA32_SYSENTER_ESP, NONCANON) }, VMFAIL_HOST("IA32_SYSENTER_ESP") },
	{ "ec_host_sysenter_eip", .brk = { W(HOST_IA32_SYSENTER_EIP, NONCANON) }, VMFAIL_HOST("IA32_SYSENTER_EIP") },
	{ "ec_host_pat", .brk = { W(HOST_IA32_PAT, 0x0007040600070402ULL) }, VMFAIL_HOST("host IA32_PAT") },
	{ "ec_host_pat_unused", .setup = { CL(VM_EXIT_CONTROLS, VM_EXIT_LOAD_IA32_PAT), W(HOST_IA32_PAT, 8) }, .kind = ENTRY_OK },
	{ "ec_host_efer_rsvd", .brk = { OR(HOST_IA32_EFER, BIT(2)) }, VMFAIL_HOST("host IA32_EFER reserved") },
	{ "ec_host_efer_lma", .brk = { CL(HOST_IA32_EFER, EFER_LMA) }, VMFAIL_HOST("host IA32_EFER.LMA") },
	{ "ec_host_efer_lme", .brk = { CL(HOST_IA32_EFER, EFER_LME) }, VMFAIL_HOST("host IA32_EFER.LME") },

	/* 27.2.3 host segment and descriptor-table registers */
	{ "ec_host_sel_rpl", .brk = { W(HOST_DS_SELECTOR, 3) }, VMFAIL_HOST("with RPL or TI") },
	{ "ec_host_sel_ti", .brk = { W(HOST_TR_SELECTOR, 0x44) }, VMFAIL_HOST("with RPL or TI") },
	{ "ec_host_cs_zero", .brk = { W(HOST_CS_SELECTOR, 0) }, VMFAIL_HOST("host CS selector is 0") },
	{ "ec_host_tr_zero", .brk = { W(HOST_TR_SELECTOR, 0) }, VMFAIL_HOST("host TR selector is 0") },
	{ "ec_host_ss_zero_64", .setup = { W(HOST_SS_SELECTOR, 0) }, .kind = ENTRY_OK },
	{ "ec_host_ss_zero_32", .preset = PRESET_L1_32, .brk = { W(HOST_SS_SELECTOR, 0) }, VMFAIL_HOST("host SS selector is 0") },
	{ "ec_host_fs_base", .brk = { W(HOST_FS_BASE, NONCANON) }, VMFAIL_HOST("host FS base") },
	{ "ec_host_gs_base", .brk = { W(HOST_GS_BASE, NONCANON) }, VMFAIL_HOST("host GS base") },
	{ "ec_host_gdtr_base", .brk = { W(HOST_GDTR_BASE, NONCANON) }, VMFAIL_HOST("host GDTR base") },
	{ "ec_host_idtr_base", .brk = { W(HOST_IDTR_BASE, NONCANON) }, VMFAIL_HOST("host IDTR base") },
	{ "ec_host_tr_base", .brk = { W(HOST_TR_BASE, NONCANON) }, VMFAIL_HOST("host TR base") },

	/* 27.2.4 address-space size */
	{ "ec_as_guest64_l1_32", .preset = PRESET_L1_32, .brk = { OR(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE) },
	  VMFAIL_HOST("IA-32e mode guest with L1 outside") },
	{ "ec_as_host64_l1_32", .preset = PRESET_L1_32, .brk = { OR(VM_EXIT_CONTROLS, VM_EXIT_HOST_ADDR_SPACE_SIZE),
	  W(HOST_IA32_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE) },
	  VMFAIL_HOST("host address-space size 1 with L1 outside") },
	{ "ec_as_host32_l1_64", .preset = PRESET_GUEST32, .brk = { CL(VM_EXIT_CONTROLS, VM_EXIT_HOST_ADDR_SPACE_SIZE),
	  W(HOST_IA32_EFER, 0) }, VMFAIL_HOST("host address-space size 0 with L1 in IA-32e mode") },
	{ "ec_as_host32_pcide", .preset = PRESET_L1_32, .setup = { CAPOR(MSR_IA32_VMX_CR4_FIXED1, CR4_PCIDE) },
	  .brk = { OR(HOST_CR4, CR4_PCIDE) }, VMFAIL_HOST("host CR4.PCIDE") },
	{ "ec_as_host32_rip", .preset = PRESET_L1_32, .brk = { W(HOST_RIP, BIT(32)) }, VMFAIL_HOST("host RIP bits 63:32") },
	{ "ec_as_host64_pae", .brk = { CL(HOST_CR4, CR4_PAE) }, VMFAIL_HOST("host CR4.PAE clear") },
	{ "ec_as_host64_rip", .brk = { W(HOST_RIP, NONCANON) }, VMFAIL_HOST("host RIP not canonical") },
};
const size_t ec_ctl_cases_count = ARRAY_SIZE(ec_ctl_cases);
