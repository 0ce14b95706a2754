/* Nested VMX: the state L0 keeps for an L1 hypervisor, and the entry
 * points the exit dispatcher calls. How it fits together: docs/nested.md. */
#ifndef NESTVISOR_NESTED_H
#define NESTVISOR_NESTED_H

#include <nestvisor/types.h>
#include <nested/caps.h>
#include <nested/vmcs12.h>
#include <ept.h>
#include <vmcs.h>

#define VMCS12_INVALID_PTR (~0ULL) /* "current-VMCS pointer is not valid" */

struct vcpu;

/* The VMCS12 fields the checks on guest control registers, MSRs and
 * segment registers read (SDM 27.3.1.1-27.3.1.2; RFLAGS only for VM). */
#define NESTED_CR_SEG_FIELDS(X)                                                           \
	X(guest_cr0) X(guest_cr3) X(guest_cr4) X(guest_dr7) X(guest_ia32_debugctl)         \
	X(guest_sysenter_esp) X(guest_sysenter_eip) X(guest_ia32_pat) X(guest_ia32_efer)   \
	X(cpu_based_vm_exec_control) X(secondary_vm_exec_control) X(vm_entry_controls)     \
	NESTED_SEG(X, es) NESTED_SEG(X, cs) NESTED_SEG(X, ss) NESTED_SEG(X, ds)            \
	NESTED_SEG(X, fs) NESTED_SEG(X, gs) NESTED_SEG(X, ldtr) NESTED_SEG(X, tr)
#define NESTED_SEG(X, s) X(guest_##s##_selector) X(guest_##s##_base) X(guest_##s##_limit) X(guest_##s##_ar_bytes)
struct nested_cr_seg {
#define NESTED_CR_SEG_MEMBER(m) u64 m;
	NESTED_CR_SEG_FIELDS(NESTED_CR_SEG_MEMBER)
#undef NESTED_CR_SEG_MEMBER
	u64 rflags_vm;
};

struct nested_vcpu {
	bool enabled;          /* VT-x is offered to the guest at all */
	struct nested_caps caps; /* the capability MSRs L1 reads */

	bool vmxon;            /* L1 is in VMX operation */
	u64 vmxon_ptr;         /* L1's VMXON region (guest-physical) */
	u64 current_ptr;       /* L1's current VMCS (guest-physical) or invalid */
	struct vmcs12 *cache;  /* the monitor's copy of the current VMCS12 */

	bool in_l2;            /* VMCS02 is the current hardware VMCS */
	void *vmcs02;          /* the hardware VMCS L2 runs with */
	bool vmcs02_launched;
	u32 launch_state_before; /* VMCS12's, restored if the CPU refuses VMCS02 */
	u8 *msr_bitmap02;      /* L1's MSR bitmap merged with L0's */
	u8 *io_bitmap02_a, *io_bitmap02_b;
	bool io02_l0_only;     /* they hold L0's I/O bitmaps alone */
	u8 *absent_page;       /* L2's virtual-APIC page where L1 has no RAM */
	u64 timer_extra;       /* L1's preemption timer beyond VMCS02's (preempt.c) */

	/* L1's MSR, I/O A and I/O B bitmap pages merged into VMCS02, kept
	 * read-only for L2 (bitmap_watch.c). */
#define NESTED_WATCHED 3
	u64 watch[NESTED_WATCHED];
	bool watch_ept01[NESTED_WATCHED]; /* write-protected in EPT01 */
	bool ept02_watch_ok;   /* EPT02 maps none of them writable */
	bool consulting;       /* L2 wrote one: VMCS02's bitmaps are all ones */
	bool watch_settled;    /* as the last entry left them: nothing to redo */
	u8 *ones_page;

	bool handling_reflected; /* L1 runs its handler for a reflected exit */

	/* The last nested VM entry passed the checks of SDM 27.2 (controls,
	 * host state) with this current-VMCS pointer and L1 long mode, and no
	 * control or host-state field of VMCS12 changed since: the next entry
	 * runs only the 27.2 checks with other inputs (nested_entry.c). Every
	 * write path clears it: L1's emulated VMWRITE, a changed field at the
	 * shadow VMCS pull, VMPTRLD loading a VMCS12, L0's own update of
	 * "IA-32e mode guest" on a reflected exit. */
	bool ctl_host_ok;
	u64 ctl_host_ptr;
	bool ctl_host_lma;
	/* VMCS02 holds the controls an entry wrote from VMCS12's control
	 * fields, and none of those changed since (ctl_host_ok stayed set):
	 * the next entry rewrites only the controls that depend on more
	 * than those fields (vmcs02.c). */
	bool vmcs02_ctl_ok;
	/* The guest-state fields VMCS02 takes from VMCS12 as they are
	 * (vmcs02.c guest_fields, one bit each) that L1 changed since VMCS02
	 * and VMCS12 last agreed on them, for the VMCS12 at vmcs02_guest_ptr:
	 * an entry writes only those. */
	u64 guest_dirty;
	u64 vmcs02_guest_ptr;
	/* A copy of the fields SDM 27.3.1.1 and 27.3.1.2 read, as the last
	 * entry saw them, and whether that entry passed (nested_entry.c). */
	struct nested_cr_seg cr_seg;
	bool cr_seg_ok;

	/* EPT02 = EPT12 o EPT01, built on L2's EPT violations (nested_ept.c). */
	struct ept ept02;
	bool ept02_valid;
	u64 ept02_key;         /* the EPTP12 it was built for */

	/* VMCS shadowing of L1's VMREAD/VMWRITE (shadow.c). */
	bool shadowing;        /* the CPU can, and VMCS01 does */
	bool shadow_attached;  /* the shadow VMCS holds the current VMCS12 */
	void *shadow_vmcs;
	u8 *vmread_bitmap, *vmwrite_bitmap;
};

/* The bit of nested_vcpu.guest_dirty for a VMCS12 field, 0 for none. */
u64 nested_guest_field_bit(u32 encoding);

/* VMCS12 field ENCODING (any access type) was written: a control or
 * host-state field makes the next entry run every check of SDM 27.2 and
 * rewrite VMCS02's controls (vmcs12_field_memoized); a guest-state
 * field VMCS02 copies goes there at the next entry. */
static inline void nested_vmcs12_written(struct nested_vcpu *n, u32 encoding)
{
	if (vmcs12_field_memoized(encoding))
		n->ctl_host_ok = false;
	n->guest_dirty |= nested_guest_field_bit(encoding);
}

/* Set up at boot: computes the capabilities, allocates VMCS02 and pages. */
int nested_init(struct vcpu *v);

/* Exits from L1 executing a VMX instruction. Each returns true when the
 * exit handler must VMLAUNCH (rather than VMRESUME) the now-current VMCS. */
bool nested_vmx_instruction(struct vcpu *v, u32 reason);

/* An exit while L2 ran. Returns true to VMLAUNCH, as above. */
bool nested_l2_exit(struct vcpu *v, u32 raw_reason);

/* Between the nested files (nested_entry.c, nested_exit.c, vmcs02.c). */
bool nested_vmentry(struct vcpu *v, bool launch);
void nested_entry_failure_exit(struct vcpu *v, u32 reason, u64 qual);
int nested_msr_list_load(struct vcpu *v, u64 gpa, u32 count, u32 *bad);
int nested_vmcs02_load(struct vcpu *v, bool controls_same);
void nested_vmcs01_load(struct vcpu *v);
void nested_guest_fields_save(struct vmcs12 *c);

static inline bool nested_l1_uses_ept(const struct vmcs12 *c)
{
	return (c->cpu_based_vm_exec_control & CPU_BASED_ACTIVATE_SECONDARY) &&
	       (c->secondary_vm_exec_control & SECONDARY_ENABLE_EPT);
}

/* An exit L0 raises for L1 on L2's behalf (shadow12.c): the event and
 * address information replacing the hardware exit's. */
struct nested_synth_exit {
	u32 intr_info, intr_error; /* VM-exit interruption information, error code */
	u64 gpa, linear;           /* guest-physical and guest-linear address */
};
void nested_reflect_synthetic(struct vcpu *v, u32 reason, u64 qual, const struct nested_synth_exit *s);
/* An exception in L2 during an instruction L0 emulates for it: to L1 if
 * its exception bitmap asks, else delivered to L2 (pf_linear: CR2). */
void nested_l2_exception(struct vcpu *v, u8 vector, bool has_error, u32 error, u64 pf_linear);
/* L2's VMREAD/VMWRITE that L1's VMCS shadowing does not send to L1. */
void nested_l2_vmread_vmwrite(struct vcpu *v, bool write);

enum nested_ept_action {
	NESTED_EPT_HANDLED,           /* EPT02 filled in: resume L2 */
	NESTED_EPT_REFLECT_VIOLATION, /* L1's EPT forbids it: qualification rewritten */
	NESTED_EPT_REFLECT_MISCONFIG, /* L1's EPT is misconfigured there */
	NESTED_EPT_REFLECT_PML_FULL,  /* L1's PML log is full: qualification rewritten */
};
enum nested_ept_action nested_ept_l2_exit(struct vcpu *v, u32 reason, u64 *qual);
u64 nested_ept02_eptp(struct vcpu *v, u64 eptp12);
struct ept12_caps;
struct ept12_walk;
void nested_ept12_caps(u64 ept_vpid_cap, struct ept12_caps *out);
/* EPT12's translation (c's EPTP) of gpa2 for 'access' (EPT_R|EPT_W|
 * EPT_X) in *w; with EPTP bit 6, the accessed and dirty flags set when
 * EPT12 allows the access (SDM 29.3.5), and with "enable PML" the page
 * logged in c's PML log (SDM 29.3.6). */
enum nested_mark {
	NESTED_MARK_DONE,     /* *w is the translation; flags set, page logged */
	NESTED_MARK_RETRY,    /* L1 kept changing the entries: L2 executes it again */
	NESTED_MARK_LOG_FULL, /* a page-modification log-full event: nothing set */
};
enum nested_mark nested_ept12_walk_mark(struct vmcs12 *c, u64 gpa2, const struct ept12_caps *caps,
					u64 access, struct ept12_walk *w);
void nested_ept02_flush(struct vcpu *v);

/* L1's VMX-preemption timer (preempt.c); VMCS02 current. */
void nested_timer_entry(struct vcpu *v, const struct vmcs12 *c);
bool nested_timer_expired(struct vcpu *v);       /* false: re-armed, L0's exit */
void nested_timer_charge(struct vcpu *v, u64 tsc_at_exit);
u32 nested_timer_save(const struct vcpu *v);

/* bitmap_watch.c: at a nested entry (VMCS02 current, before its EPTP is
 * chosen; CONTROLS_SAME: no control field changed since the last one);
 * EPT02's permissions for an L1 page; a write fault in EPT01 (true if it
 * was a watched page, now writable). */
void nested_watch_entry(struct vcpu *v, const struct vmcs12 *c, bool controls_same);
u64 nested_watch_ept02_perms(struct vcpu *v, u64 page1, u64 perms, bool write);
bool nested_watch_ept01_write(struct vcpu *v, u64 gpa, bool write);
/* An I/O or MSR exit of L2 while VMCS02's copies are stale and L1's page
 * lets it through: fresh copies, pages read-only again; L2 retries. */
void nested_watch_rearm(struct vcpu *v);
void nested_vmcs02_bitmaps(struct vcpu *v, bool force);

/* The watch slots: L1's MSR bitmap, I/O bitmaps A and B. */
enum { NESTED_WATCH_MSR, NESTED_WATCH_IO_A, NESTED_WATCH_IO_B };
/* VMCS02's copy of slot SLOT was merged from GPA and nobody can have
 * written that page since: it has stayed write-protected in EPT01 (L1's
 * and an EPT01 L2's writes lift that) and L2 has not written it through
 * EPT02 (that sets consulting). */
static inline bool nested_watch_copy_fresh(const struct nested_vcpu *n, int slot, u64 gpa)
{
	return !n->consulting && n->watch[slot] == gpa && n->watch_ept01[slot];
}

int nested_shadow_init(struct vcpu *v);
void nested_shadow_vmcs01_setup(struct vcpu *v);
void nested_shadow_enable(struct vcpu *v, bool on);
void nested_shadow_attach(struct vcpu *v);
void nested_shadow_detach(struct vcpu *v);
void nested_shadow_pull(struct vcpu *v);
void nested_shadow_push(struct vcpu *v);
void nested_shadow_push_exit(struct vcpu *v);
void nested_shadow_push_field(struct vcpu *v, u32 encoding);

#ifndef NESTED_CAP
#define NESTED_CAP(msr) ((msr) - 0x480) /* index into nested_caps.msr[] */
#endif

/* L1's view of IA32_FEATURE_CONTROL and the VMX MSRs, and of CR0/CR4 bits
 * that VMX operation fixes (exit_msr.c, exit_cr.c). */
bool nested_rdmsr(struct vcpu *v, u32 msr, u64 *value);
u64 nested_cr0_fixed_mask(const struct vcpu *v);

#endif
