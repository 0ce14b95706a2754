/* The checks L0 applies to a VMCS12 when L1 executes VMLAUNCH/VMRESUME,
 * exactly as the processor checks a VMCS (SDM chapter 27 "VM Entries":
 * 27.2 controls and host state, 27.3.1 guest state, 27.4 MSR loading).
 * Pure: reads the VMCS12 through vmcs12_get(), the capabilities offered to
 * L1, and the facts about L1's CPU the caller passes in. The table of
 * rules is docs/nested-entry-checks.md. */
#ifndef NESTVISOR_ENTRY_CHECKS_H
#define NESTVISOR_ENTRY_CHECKS_H

#include <nestvisor/types.h>
#include <nested/caps.h>
#include <nested/vmcs12.h>

enum entry_check_kind {
	ENTRY_OK,
	ENTRY_VMFAIL,     /* VMfailValid: 27.2 control or host-state check */
	ENTRY_FAIL_EXIT,  /* VM-entry failure exit to L1 (SDM 27.8) */
};

/* Exit qualifications of exit reason 33 (SDM 27.8 "VM-Entry Failures
 * During or After Loading Guest State"). */
#define ENTRY_FAIL_QUAL_DEFAULT   0
#define ENTRY_FAIL_QUAL_PDPTE     2
#define ENTRY_FAIL_QUAL_NMI_STI   3
#define ENTRY_FAIL_QUAL_VMCS_LINK 4

struct entry_check_result {
	enum entry_check_kind kind;
	u32 vm_instruction_error; /* ENTRY_VMFAIL: VMXERR_ENTRY_INVALID_CONTROL or _HOST_STATE */
	u32 exit_reason;          /* ENTRY_FAIL_EXIT: 33 or 34 with bit 31 set */
	u64 exit_qualification;   /* 33: ENTRY_FAIL_QUAL_*; 34: 1-based MSR entry index */
	const char *rule;         /* the failed rule: field and SDM section; NULL if OK */
};

/* Reads L1 guest-physical memory into buf: 0, or -1 if the range is not
 * L1 memory. */
typedef int (*entry_read_gpa_fn)(void *ctx, u64 gpa, void *buf, u32 len);

/* What the checks need about the CPU L1 sees and about L1 itself. A
 * linear_width or debugctl_valid left 0 means 48 bits and the
 * architectural IA32_DEBUGCTL bits (LBR, BTF, bits 15:6). */
struct l1_facts {
	u32 maxphyaddr;       /* CPUID.80000008H:EAX[7:0] as L1 sees it */
	u32 linear_width;     /* linear-address width: 48, or 57 with LA57 */
	bool l1_long_mode;    /* L1's IA32_EFER.LMA at VMLAUNCH/VMRESUME (27.2.4) */
	u64 debugctl_valid;   /* the IA32_DEBUGCTL bits L1's CPU defines */
	bool rtm;             /* CPUID.(EAX=7,ECX=0):EBX.RTM[bit 11] */
	u64 current_vmcs_ptr; /* L1's current-VMCS pointer (the VMCS12's address) */
	/* L1 memory some checks read: the 4 bytes at the VMCS link pointer,
	 * the VTPR byte of the virtual-APIC page, the PDPTEs, the VM-entry
	 * MSR-load list. NULL skips those checks (and says so in the doc). */
	entry_read_gpa_fn read_gpa;
	void *read_ctx;
	/* The caller vouches that every field 27.3.1.1 and 27.3.1.2 read
	 * (guest CR0/CR3/CR4, DR7, IA32_DEBUGCTL, SYSENTER ESP/EIP, PAT,
	 * EFER, the eight segment registers, RFLAGS, the primary, secondary
	 * and VM-entry controls) holds what an entry that passed them held:
	 * those rules are skipped, the result is the same (nested_entry.c
	 * compares the fields with a copy at each entry). */
	bool cr_seg_known_good;
};

/* One entry of a VM-exit/VM-entry MSR list (SDM 25.7.2, Table 25-15). */
struct vmx_msr_entry {
	u32 index;
	u32 reserved;
	u64 value;
};
_Static_assert(sizeof(struct vmx_msr_entry) == 16, "SDM: 16 bytes per MSR-list entry");

/* 27.2.1: VM-execution, VM-exit and VM-entry control fields -> VMfailValid(7). */
struct entry_check_result nested_check_controls(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f);
/* 27.2.2-27.2.4: host-state area and address-space size -> VMfailValid(8). */
struct entry_check_result nested_check_host_state(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f);
/* 27.3.1: guest-state area -> VM-entry failure, exit reason 33. */
struct entry_check_result nested_check_guest_state(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f);
/* 27.4: the VM-entry MSR-load list's entries -> exit reason 34, qualification
 * the 1-based index of the failing entry. Whether WRMSR of the value would
 * #GP is left to the caller, which loads the list through its MSR policy. */
struct entry_check_result nested_check_msr_load(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f);
/* All of the above in the SDM's order: controls, host, guest, MSR loading. */
struct entry_check_result nested_check_vmentry(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f);
/* The same result for a VMCS12 whose control and host-state fields, and
 * L1's long mode and current-VMCS pointer, are unchanged since an entry
 * that passed 27.2: only the 27.2 rules with other inputs (VTPR, event
 * injection) run again, then 27.3 and 27.4. */
struct entry_check_result nested_check_vmentry_known_good(const struct vmcs12 *v,
		const struct nested_caps *caps, const struct l1_facts *f);

#endif
