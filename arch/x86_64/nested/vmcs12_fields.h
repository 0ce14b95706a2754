/* The VMCS12 field list, an X-macro: one row per VMCS field,
 *     VMCS12_FIELD(encoding, struct member, feature)
 * grouped under the categories of SDM Vol. 3D Appendix B "Field Encoding in
 * VMCS". Width and type come from the encoding (bits 14:13 and 11:10), never
 * from this list. The feature is the capability a field exists with: SDM
 * Appendix B notes "This field exists only on processors that support the
 * 1-setting of ..."; VMREAD/VMWRITE of a field whose feature L1 is not
 * offered fails with VMfailValid(12). Order here is the order of the
 * members in struct vmcs12 (vmcs12.h); docs/vmcs12.md describes it.
 *
 * No include guard: the includer defines VMCS12_FIELD and includes this
 * file once per expansion. */

/* --- 16-bit control fields (B.1.1) ------------------------------------- */
VMCS12_FIELD(VIRTUAL_PROCESSOR_ID, virtual_processor_id, FEAT_VPID)
VMCS12_FIELD(POSTED_INTR_NOTIFICATION_VECTOR, posted_intr_notification_vector, FEAT_POSTED_INTR)
VMCS12_FIELD(EPTP_INDEX, eptp_index, FEAT_VE)

/* --- 16-bit guest-state fields (B.1.2) --------------------------------- */
VMCS12_FIELD(GUEST_ES_SELECTOR, guest_es_selector, FEAT_NONE)
VMCS12_FIELD(GUEST_CS_SELECTOR, guest_cs_selector, FEAT_NONE)
VMCS12_FIELD(GUEST_SS_SELECTOR, guest_ss_selector, FEAT_NONE)
VMCS12_FIELD(GUEST_DS_SELECTOR, guest_ds_selector, FEAT_NONE)
VMCS12_FIELD(GUEST_FS_SELECTOR, guest_fs_selector, FEAT_NONE)
VMCS12_FIELD(GUEST_GS_SELECTOR, guest_gs_selector, FEAT_NONE)
VMCS12_FIELD(GUEST_LDTR_SELECTOR, guest_ldtr_selector, FEAT_NONE)
VMCS12_FIELD(GUEST_TR_SELECTOR, guest_tr_selector, FEAT_NONE)
VMCS12_FIELD(GUEST_INTR_STATUS, guest_intr_status, FEAT_APICV)
VMCS12_FIELD(GUEST_PML_INDEX, guest_pml_index, FEAT_PML)

/* --- 16-bit host-state fields (B.1.3) ---------------------------------- */
VMCS12_FIELD(HOST_ES_SELECTOR, host_es_selector, FEAT_NONE)
VMCS12_FIELD(HOST_CS_SELECTOR, host_cs_selector, FEAT_NONE)
VMCS12_FIELD(HOST_SS_SELECTOR, host_ss_selector, FEAT_NONE)
VMCS12_FIELD(HOST_DS_SELECTOR, host_ds_selector, FEAT_NONE)
VMCS12_FIELD(HOST_FS_SELECTOR, host_fs_selector, FEAT_NONE)
VMCS12_FIELD(HOST_GS_SELECTOR, host_gs_selector, FEAT_NONE)
VMCS12_FIELD(HOST_TR_SELECTOR, host_tr_selector, FEAT_NONE)

/* --- 64-bit control fields (B.2.1) ------------------------------------- */
VMCS12_FIELD(IO_BITMAP_A, io_bitmap_a, FEAT_NONE)
VMCS12_FIELD(IO_BITMAP_B, io_bitmap_b, FEAT_NONE)
VMCS12_FIELD(MSR_BITMAP, msr_bitmap, FEAT_NONE)
VMCS12_FIELD(VM_EXIT_MSR_STORE_ADDR, vm_exit_msr_store_addr, FEAT_NONE)
VMCS12_FIELD(VM_EXIT_MSR_LOAD_ADDR, vm_exit_msr_load_addr, FEAT_NONE)
VMCS12_FIELD(VM_ENTRY_MSR_LOAD_ADDR, vm_entry_msr_load_addr, FEAT_NONE)
VMCS12_FIELD(EXECUTIVE_VMCS_POINTER, executive_vmcs_pointer, FEAT_NONE)
VMCS12_FIELD(PML_ADDRESS, pml_address, FEAT_PML)
VMCS12_FIELD(TSC_OFFSET, tsc_offset, FEAT_NONE)
VMCS12_FIELD(VIRTUAL_APIC_PAGE_ADDR, virtual_apic_page_addr, FEAT_TPR_SHADOW)
VMCS12_FIELD(APIC_ACCESS_ADDR, apic_access_addr, FEAT_APIC_ACCESS)
VMCS12_FIELD(POSTED_INTR_DESC_ADDR, posted_intr_desc_addr, FEAT_POSTED_INTR)
VMCS12_FIELD(VM_FUNCTION_CONTROL, vm_function_control, FEAT_VMFUNC)
VMCS12_FIELD(EPT_POINTER, ept_pointer, FEAT_EPT)
VMCS12_FIELD(EOI_EXIT_BITMAP0, eoi_exit_bitmap0, FEAT_APICV)
VMCS12_FIELD(EOI_EXIT_BITMAP1, eoi_exit_bitmap1, FEAT_APICV)
VMCS12_FIELD(EOI_EXIT_BITMAP2, eoi_exit_bitmap2, FEAT_APICV)
VMCS12_FIELD(EOI_EXIT_BITMAP3, eoi_exit_bitmap3, FEAT_APICV)
VMCS12_FIELD(EPTP_LIST_ADDRESS, eptp_list_address, FEAT_VMFUNC)
VMCS12_FIELD(VMREAD_BITMAP, vmread_bitmap, FEAT_SHADOW_VMCS)
VMCS12_FIELD(VMWRITE_BITMAP, vmwrite_bitmap, FEAT_SHADOW_VMCS)
VMCS12_FIELD(VE_INFORMATION_ADDRESS, ve_information_address, FEAT_VE)
VMCS12_FIELD(XSS_EXIT_BITMAP, xss_exit_bitmap, FEAT_XSAVES)
VMCS12_FIELD(ENCLS_EXITING_BITMAP, encls_exiting_bitmap, FEAT_ENCLS)
VMCS12_FIELD(TSC_MULTIPLIER, tsc_multiplier, FEAT_TSC_SCALING)

/* --- 64-bit read-only data field (B.2.2) ------------------------------- */
VMCS12_FIELD(GUEST_PHYSICAL_ADDRESS, guest_physical_address, FEAT_EPT)

/* --- 64-bit guest-state fields (B.2.3) --------------------------------- */
VMCS12_FIELD(VMCS_LINK_POINTER, vmcs_link_pointer, FEAT_NONE)
VMCS12_FIELD(GUEST_IA32_DEBUGCTL, guest_ia32_debugctl, FEAT_NONE)
VMCS12_FIELD(GUEST_IA32_PAT, guest_ia32_pat, FEAT_PAT)
VMCS12_FIELD(GUEST_IA32_EFER, guest_ia32_efer, FEAT_EFER)
VMCS12_FIELD(GUEST_IA32_PERF_GLOBAL_CTRL, guest_ia32_perf_global_ctrl, FEAT_PERF_GLOBAL_CTRL)
VMCS12_FIELD(GUEST_PDPTE0, guest_pdpte0, FEAT_EPT)
VMCS12_FIELD(GUEST_PDPTE1, guest_pdpte1, FEAT_EPT)
VMCS12_FIELD(GUEST_PDPTE2, guest_pdpte2, FEAT_EPT)
VMCS12_FIELD(GUEST_PDPTE3, guest_pdpte3, FEAT_EPT)
VMCS12_FIELD(GUEST_IA32_BNDCFGS, guest_ia32_bndcfgs, FEAT_BNDCFGS)

/* --- 64-bit host-state fields (B.2.4) ---------------------------------- */
VMCS12_FIELD(HOST_IA32_PAT, host_ia32_pat, FEAT_PAT)
VMCS12_FIELD(HOST_IA32_EFER, host_ia32_efer, FEAT_EFER)
VMCS12_FIELD(HOST_IA32_PERF_GLOBAL_CTRL, host_ia32_perf_global_ctrl, FEAT_PERF_GLOBAL_CTRL)

/* --- 32-bit control fields (B.3.1) ------------------------------------- */
VMCS12_FIELD(PIN_BASED_VM_EXEC_CONTROL, pin_based_vm_exec_control, FEAT_NONE)
VMCS12_FIELD(CPU_BASED_VM_EXEC_CONTROL, cpu_based_vm_exec_control, FEAT_NONE)
VMCS12_FIELD(EXCEPTION_BITMAP, exception_bitmap, FEAT_NONE)
VMCS12_FIELD(PAGE_FAULT_ERROR_CODE_MASK, page_fault_error_code_mask, FEAT_NONE)
VMCS12_FIELD(PAGE_FAULT_ERROR_CODE_MATCH, page_fault_error_code_match, FEAT_NONE)
VMCS12_FIELD(CR3_TARGET_COUNT, cr3_target_count, FEAT_NONE)
VMCS12_FIELD(VM_EXIT_CONTROLS, vm_exit_controls, FEAT_NONE)
VMCS12_FIELD(VM_EXIT_MSR_STORE_COUNT, vm_exit_msr_store_count, FEAT_NONE)
VMCS12_FIELD(VM_EXIT_MSR_LOAD_COUNT, vm_exit_msr_load_count, FEAT_NONE)
VMCS12_FIELD(VM_ENTRY_CONTROLS, vm_entry_controls, FEAT_NONE)
VMCS12_FIELD(VM_ENTRY_MSR_LOAD_COUNT, vm_entry_msr_load_count, FEAT_NONE)
VMCS12_FIELD(VM_ENTRY_INTR_INFO_FIELD, vm_entry_intr_info_field, FEAT_NONE)
VMCS12_FIELD(VM_ENTRY_EXCEPTION_ERROR_CODE, vm_entry_exception_error_code, FEAT_NONE)
VMCS12_FIELD(VM_ENTRY_INSTRUCTION_LEN, vm_entry_instruction_len, FEAT_NONE)
VMCS12_FIELD(TPR_THRESHOLD, tpr_threshold, FEAT_TPR_SHADOW)
VMCS12_FIELD(SECONDARY_VM_EXEC_CONTROL, secondary_vm_exec_control, FEAT_SECONDARY)
VMCS12_FIELD(PLE_GAP, ple_gap, FEAT_PLE)
VMCS12_FIELD(PLE_WINDOW, ple_window, FEAT_PLE)

/* --- 32-bit read-only data fields (B.3.2) ------------------------------ */
VMCS12_FIELD(VM_INSTRUCTION_ERROR, vm_instruction_error, FEAT_NONE)
VMCS12_FIELD(VM_EXIT_REASON, vm_exit_reason, FEAT_NONE)
VMCS12_FIELD(VM_EXIT_INTR_INFO, vm_exit_intr_info, FEAT_NONE)
VMCS12_FIELD(VM_EXIT_INTR_ERROR_CODE, vm_exit_intr_error_code, FEAT_NONE)
VMCS12_FIELD(IDT_VECTORING_INFO_FIELD, idt_vectoring_info_field, FEAT_NONE)
VMCS12_FIELD(IDT_VECTORING_ERROR_CODE, idt_vectoring_error_code, FEAT_NONE)
VMCS12_FIELD(VM_EXIT_INSTRUCTION_LEN, vm_exit_instruction_len, FEAT_NONE)
VMCS12_FIELD(VMX_INSTRUCTION_INFO, vmx_instruction_info, FEAT_NONE)

/* --- 32-bit guest-state fields (B.3.3) --------------------------------- */
VMCS12_FIELD(GUEST_ES_LIMIT, guest_es_limit, FEAT_NONE)
VMCS12_FIELD(GUEST_CS_LIMIT, guest_cs_limit, FEAT_NONE)
VMCS12_FIELD(GUEST_SS_LIMIT, guest_ss_limit, FEAT_NONE)
VMCS12_FIELD(GUEST_DS_LIMIT, guest_ds_limit, FEAT_NONE)
VMCS12_FIELD(GUEST_FS_LIMIT, guest_fs_limit, FEAT_NONE)
VMCS12_FIELD(GUEST_GS_LIMIT, guest_gs_limit, FEAT_NONE)
VMCS12_FIELD(GUEST_LDTR_LIMIT, guest_ldtr_limit, FEAT_NONE)
VMCS12_FIELD(GUEST_TR_LIMIT, guest_tr_limit, FEAT_NONE)
VMCS12_FIELD(GUEST_GDTR_LIMIT, guest_gdtr_limit, FEAT_NONE)
VMCS12_FIELD(GUEST_IDTR_LIMIT, guest_idtr_limit, FEAT_NONE)
VMCS12_FIELD(GUEST_ES_AR_BYTES, guest_es_ar_bytes, FEAT_NONE)
VMCS12_FIELD(GUEST_CS_AR_BYTES, guest_cs_ar_bytes, FEAT_NONE)
VMCS12_FIELD(GUEST_SS_AR_BYTES, guest_ss_ar_bytes, FEAT_NONE)
VMCS12_FIELD(GUEST_DS_AR_BYTES, guest_ds_ar_bytes, FEAT_NONE)
VMCS12_FIELD(GUEST_FS_AR_BYTES, guest_fs_ar_bytes, FEAT_NONE)
VMCS12_FIELD(GUEST_GS_AR_BYTES, guest_gs_ar_bytes, FEAT_NONE)
VMCS12_FIELD(GUEST_LDTR_AR_BYTES, guest_ldtr_ar_bytes, FEAT_NONE)
VMCS12_FIELD(GUEST_TR_AR_BYTES, guest_tr_ar_bytes, FEAT_NONE)
VMCS12_FIELD(GUEST_INTERRUPTIBILITY_INFO, guest_interruptibility_info, FEAT_NONE)
VMCS12_FIELD(GUEST_ACTIVITY_STATE, guest_activity_state, FEAT_NONE)
VMCS12_FIELD(GUEST_SMBASE, guest_smbase, FEAT_NONE)
VMCS12_FIELD(GUEST_SYSENTER_CS, guest_sysenter_cs, FEAT_NONE)
VMCS12_FIELD(VMX_PREEMPTION_TIMER_VALUE, vmx_preemption_timer_value, FEAT_PREEMPTION_TIMER)

/* --- 32-bit host-state field (B.3.4) ----------------------------------- */
VMCS12_FIELD(HOST_IA32_SYSENTER_CS, host_ia32_sysenter_cs, FEAT_NONE)

/* --- Natural-width control fields (B.4.1) ------------------------------ */
VMCS12_FIELD(CR0_GUEST_HOST_MASK, cr0_guest_host_mask, FEAT_NONE)
VMCS12_FIELD(CR4_GUEST_HOST_MASK, cr4_guest_host_mask, FEAT_NONE)
VMCS12_FIELD(CR0_READ_SHADOW, cr0_read_shadow, FEAT_NONE)
VMCS12_FIELD(CR4_READ_SHADOW, cr4_read_shadow, FEAT_NONE)
VMCS12_FIELD(CR3_TARGET_VALUE0, cr3_target_value0, FEAT_NONE)
VMCS12_FIELD(CR3_TARGET_VALUE1, cr3_target_value1, FEAT_NONE)
VMCS12_FIELD(CR3_TARGET_VALUE2, cr3_target_value2, FEAT_NONE)
VMCS12_FIELD(CR3_TARGET_VALUE3, cr3_target_value3, FEAT_NONE)

/* --- Natural-width read-only data fields (B.4.2) ----------------------- */
VMCS12_FIELD(EXIT_QUALIFICATION, exit_qualification, FEAT_NONE)
VMCS12_FIELD(IO_RCX, io_rcx, FEAT_NONE)
VMCS12_FIELD(IO_RSI, io_rsi, FEAT_NONE)
VMCS12_FIELD(IO_RDI, io_rdi, FEAT_NONE)
VMCS12_FIELD(IO_RIP, io_rip, FEAT_NONE)
VMCS12_FIELD(GUEST_LINEAR_ADDRESS, guest_linear_address, FEAT_NONE)

/* --- Natural-width guest-state fields (B.4.3) -------------------------- */
VMCS12_FIELD(GUEST_CR0, guest_cr0, FEAT_NONE)
VMCS12_FIELD(GUEST_CR3, guest_cr3, FEAT_NONE)
VMCS12_FIELD(GUEST_CR4, guest_cr4, FEAT_NONE)
VMCS12_FIELD(GUEST_ES_BASE, guest_es_base, FEAT_NONE)
VMCS12_FIELD(GUEST_CS_BASE, guest_cs_base, FEAT_NONE)
VMCS12_FIELD(GUEST_SS_BASE, guest_ss_base, FEAT_NONE)
VMCS12_FIELD(GUEST_DS_BASE, guest_ds_base, FEAT_NONE)
VMCS12_FIELD(GUEST_FS_BASE, guest_fs_base, FEAT_NONE)
VMCS12_FIELD(GUEST_GS_BASE, guest_gs_base, FEAT_NONE)
VMCS12_FIELD(GUEST_LDTR_BASE, guest_ldtr_base, FEAT_NONE)
VMCS12_FIELD(GUEST_TR_BASE, guest_tr_base, FEAT_NONE)
VMCS12_FIELD(GUEST_GDTR_BASE, guest_gdtr_base, FEAT_NONE)
VMCS12_FIELD(GUEST_IDTR_BASE, guest_idtr_base, FEAT_NONE)
VMCS12_FIELD(GUEST_DR7, guest_dr7, FEAT_NONE)
VMCS12_FIELD(GUEST_RSP, guest_rsp, FEAT_NONE)
VMCS12_FIELD(GUEST_RIP, guest_rip, FEAT_NONE)
VMCS12_FIELD(GUEST_RFLAGS, guest_rflags, FEAT_NONE)
VMCS12_FIELD(GUEST_PENDING_DBG_EXCEPTIONS, guest_pending_dbg_exceptions, FEAT_NONE)
VMCS12_FIELD(GUEST_SYSENTER_ESP, guest_sysenter_esp, FEAT_NONE)
VMCS12_FIELD(GUEST_SYSENTER_EIP, guest_sysenter_eip, FEAT_NONE)

/* --- Natural-width host-state fields (B.4.4) --------------------------- */
VMCS12_FIELD(HOST_CR0, host_cr0, FEAT_NONE)
VMCS12_FIELD(HOST_CR3, host_cr3, FEAT_NONE)
VMCS12_FIELD(HOST_CR4, host_cr4, FEAT_NONE)
VMCS12_FIELD(HOST_FS_BASE, host_fs_base, FEAT_NONE)
VMCS12_FIELD(HOST_GS_BASE, host_gs_base, FEAT_NONE)
VMCS12_FIELD(HOST_TR_BASE, host_tr_base, FEAT_NONE)
VMCS12_FIELD(HOST_GDTR_BASE, host_gdtr_base, FEAT_NONE)
VMCS12_FIELD(HOST_IDTR_BASE, host_idtr_base, FEAT_NONE)
VMCS12_FIELD(HOST_IA32_SYSENTER_ESP, host_ia32_sysenter_esp, FEAT_NONE)
VMCS12_FIELD(HOST_IA32_SYSENTER_EIP, host_ia32_sysenter_eip, FEAT_NONE)
VMCS12_FIELD(HOST_RSP, host_rsp, FEAT_NONE)
VMCS12_FIELD(HOST_RIP, host_rip, FEAT_NONE)
