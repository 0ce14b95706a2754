/* VMCS shadowing for L1's VMREAD and VMWRITE (SDM 25.10 "VMCS Types:
 * Ordinary and Shadow", 26.3 VMREAD/VMWRITE in VMX non-root operation).
 *
 * Without it every VMREAD and VMWRITE L1 executes is a VM exit that L0
 * emulates against the cached VMCS12: most of nesting's cost. With it,
 * VMCS01 has "VMCS shadowing" set and its VMCS link pointer names a shadow
 * VMCS holding L1's current VMCS12 fields; VMREAD/VMWRITE of a field whose
 * bit is clear in the VMREAD/VMWRITE bitmaps then reads or writes the
 * shadow VMCS in hardware, with no exit. Only the fields hypervisors use on
 * every exit are shadowed (hot_fields); the others, and fields L1 is not
 * offered, keep their bits set, so they still exit (and the unoffered ones
 * fail with error 12); so do VMWRITEs to the read-only (VM-exit
 * information) fields, which L0 emulates.
 *
 * The shadow VMCS and the cache are kept coherent at the points where L0
 * uses the cache: shadow_pull() before L0 reads VMCS12 (nested VM entry,
 * write-back to L1 memory), shadow_push() after L0 changes it (reflected
 * exit, VMfailValid's error number, VMPTRLD of a new VMCS12). */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <nested/nested.h>
#include <nested/vmcs12.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

#define VMCS_SHADOW_INDICATOR (1U << 31) /* SDM 25.2: bit 31 of the revision */
#define BITMAP_INDEX(enc) ((enc) & 0x7fff) /* SDM 25.6.15: bits 14:0 */

static void vmptrld_or_die(void *vmcs, const char *which)
{
	u64 pa = (u64)vmcs;
	u8 fail;
	asm volatile("vmptrld %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	if (fail)
		panic("VMPTRLD of %s failed", which);
}

/* The fields a hypervisor reads or writes on nearly every exit: the exit
 * information, the guest registers it advances or inspects, event
 * injection. Only these are shadowed: each one costs L0 a VMREAD and a
 * VMWRITE per nested entry and exit to keep the shadow coherent, and the
 * rest (set once per VMCS) exit and are emulated. */
static const u32 hot_fields[] = {
	/* VM-exit information (read-only) */
	VM_EXIT_REASON, EXIT_QUALIFICATION, VM_EXIT_INTR_INFO, VM_EXIT_INTR_ERROR_CODE,
	IDT_VECTORING_INFO_FIELD, IDT_VECTORING_ERROR_CODE, VM_EXIT_INSTRUCTION_LEN,
	VMX_INSTRUCTION_INFO, GUEST_LINEAR_ADDRESS, GUEST_PHYSICAL_ADDRESS,
	VM_INSTRUCTION_ERROR,
	/* guest state an exit handler looks at or changes */
	GUEST_RIP, GUEST_RSP, GUEST_RFLAGS, GUEST_CR0, GUEST_CR3, GUEST_CR4,
	GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE, GUEST_CS_SELECTOR,
	GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_CS_BASE, GUEST_ES_BASE, GUEST_DS_BASE,
	GUEST_SS_BASE, GUEST_FS_BASE, GUEST_GS_BASE,
	/* read by KVM's emulation of L2's string I/O (DS:SI and the limits
	 * it checks; in its container L2 boot one VMREAD each per six to
	 * twenty reflected exits) */
	GUEST_DS_SELECTOR, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES, GUEST_CS_LIMIT,
	/* controls changed between entries */
	CPU_BASED_VM_EXEC_CONTROL, EXCEPTION_BITMAP, CR0_READ_SHADOW, CR4_READ_SHADOW,
	VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_EXCEPTION_ERROR_CODE, VM_ENTRY_INSTRUCTION_LEN,
	TPR_THRESHOLD, TSC_OFFSET, HOST_FS_BASE, HOST_GS_BASE, HOST_RSP,
	/* read after every exit by a hypervisor that uses PML (Linux's KVM
	 * empties its log on each one); offered only with PML */
	GUEST_PML_INDEX,
	/* written before every entry while L2 has a timer armed (KVM's
	 * "hv timer"); offered only with the VMX-preemption timer */
	VMX_PREEMPTION_TIMER_VALUE,
};

/* hot_fields[i] when L1 is offered that field, else NULL. */
/* After a sync: VMCLEAR the shadow VMCS (its data goes to memory and it is
 * no longer active: SDM 25.11.1, as VMCS01's link pointer names it), then
 * VMCS01 is current again. */
static void back_to_vmcs01(struct vcpu *v)
{
	u64 pa = (u64)v->nested.shadow_vmcs;
	u8 fail;
	asm volatile("vmclear %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	if (fail)
		panic("VMCLEAR of the shadow VMCS failed");
	vmptrld_or_die(v->vmcs, "VMCS01");
}

static const struct vmcs12_field *hot_field(const struct nested_vcpu *n, u32 i)
{
	if (!vmcs12_field_supported(hot_fields[i], n->caps.features))
		return NULL;
	return vmcs12_field_find(hot_fields[i]);
}

/* The hot fields L1 is offered, resolved once (encoding, place in
 * struct vmcs12, width): the syncs run on every nested entry and exit. */
static struct shadow_field {
	u32 encoding;
	u16 offset;
	u8 width;
	bool read_only;
	bool ctl_host;  /* a change clears ctl_host_ok (vmcs12_field_memoized) */
	u64 guest_bit;  /* a change sets it in guest_dirty (nested_guest_field_bit) */
	bool at_exit;   /* L0 may change it between an entry and the reflected exit */
} shadow_list[ARRAY_SIZE(hot_fields)];
static u32 shadow_count;
/* shadow_list sorted by width: 16-bit from by_width_start[0], 32-bit from
 * [1], natural and 64-bit from [2], up to [3]. */
static struct shadow_field by_width[ARRAY_SIZE(hot_fields)];
static u32 by_width_start[4], by_width_count;
/* The same for the fields with at_exit set. */
static struct shadow_field exit_by_width[ARRAY_SIZE(hot_fields)];
static u32 exit_by_width_start[4], exit_by_width_count;
#define CACHE_AT(c, f, type) (*(type *)((u8 *)(c) + (f)->offset))

static bool shadowed(const struct nested_vcpu *n, const struct vmcs12_field *f)
{
	for (u32 i = 0; i < ARRAY_SIZE(hot_fields); i++)
		if (hot_fields[i] == f->encoding)
			return vmcs12_field_supported(f->encoding, n->caps.features);
	return false;
}

static void bitmap_clear(u8 *bitmap, u32 enc)
{
	bitmap[BITMAP_INDEX(enc) / 8] &= (u8)~(1u << (BITMAP_INDEX(enc) % 8));
}

int nested_shadow_init(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;

	/* nested_shadow_push() VMWRITEs the VM-exit information fields into
	 * the shadow VMCS: that needs IA32_VMX_MISC bit 29 (SDM A.6; 31.3
	 * VMWRITE fails with error 13 otherwise, and vmcs_write() panics). */
	if (!((vmx_caps.procbased2 >> 32) & SECONDARY_VMCS_SHADOWING) ||
	    !(vmx_caps.misc & VMX_MISC_VMWRITE_ANY_FIELD)) {
		pr_info("no VMCS shadowing: every VMREAD/VMWRITE of L1 exits");
		return 0;
	}
	n->shadow_vmcs = pfa_alloc();
	n->vmread_bitmap = pfa_alloc();
	n->vmwrite_bitmap = pfa_alloc();
	if (!n->shadow_vmcs || !n->vmread_bitmap || !n->vmwrite_bitmap)
		return NV_E_NOMEM;
	*(u32 *)n->shadow_vmcs = ((u32)vmx_caps.basic & 0x7fffffff) | VMCS_SHADOW_INDICATOR;
	u64 pa = (u64)n->shadow_vmcs;
	u8 fail;
	asm volatile("vmclear %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	if (fail)
		return NV_E_VMCS;

	memset(n->vmread_bitmap, 0xff, PAGE_SIZE);
	memset(n->vmwrite_bitmap, 0xff, PAGE_SIZE);
	for (u32 i = 0; i < ARRAY_SIZE(hot_fields); i++) {
		const struct vmcs12_field *f = hot_field(n, i);
		if (!f)
			continue;
		shadow_list[shadow_count++] = (struct shadow_field){
			f->encoding, f->offset, f->width, f->type == VMCS12_T_RO_DATA,
			vmcs12_field_memoized(f->encoding), nested_guest_field_bit(f->encoding),
			/* At an exit L0 writes the exit information and L2's
			 * state (SDM 28.2-28.3) and clears the valid bit of
			 * the event it injected (SDM 28.2); no other control
			 * or host-state field. */
			(f->type != VMCS12_T_CONTROL && f->type != VMCS12_T_HOST) ||
				f->encoding == VM_ENTRY_INTR_INFO_FIELD };
		bitmap_clear(n->vmread_bitmap, f->encoding);
		if (f->width == VMCS12_W64)
			bitmap_clear(n->vmread_bitmap, f->encoding | 1);
		if (f->type == VMCS12_T_RO_DATA)
			continue;
		bitmap_clear(n->vmwrite_bitmap, f->encoding);
		if (f->width == VMCS12_W64)
			bitmap_clear(n->vmwrite_bitmap, f->encoding | 1);
	}
	/* The same list sorted by width for the syncs (plain loads and
	 * stores in their loops), and the part of it an exit changes. */
	for (u32 w = 0; w < 3; w++) {
		by_width_start[w] = by_width_count;
		exit_by_width_start[w] = exit_by_width_count;
		for (u32 i = 0; i < shadow_count; i++) {
			u8 width = shadow_list[i].width;
			u32 group = width == VMCS12_W16 ? 0 : width == VMCS12_W32 ? 1 : 2; /* 2: 64-bit, natural */
			if (group != w)
				continue;
			by_width[by_width_count++] = shadow_list[i];
			if (shadow_list[i].at_exit)
				exit_by_width[exit_by_width_count++] = shadow_list[i];
		}
	}
	by_width_start[3] = by_width_count;
	exit_by_width_start[3] = exit_by_width_count;
	n->shadowing = true;
	return 0;
}

/* VMCS01's bitmaps for shadowing (VMCS01 current); the control itself is
 * set only while L1 is in VMX operation (nested_shadow_enable). */
void nested_shadow_vmcs01_setup(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	if (!n->shadowing)
		return;
	vmcs_write(VMREAD_BITMAP, (u64)n->vmread_bitmap);
	vmcs_write(VMWRITE_BITMAP, (u64)n->vmwrite_bitmap);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
}

/* In VMX non-root operation the CPU takes the guest to be in VMX
 * operation: a shadowed VMREAD by an L1 that never executed VMXON would
 * VMfailInvalid instead of raising #UD (SDM 31.3 VMREAD "Operation"). So
 * "VMCS shadowing" is on exactly while L1 is in VMX operation (VMXON to
 * VMXOFF); outside it every VMREAD/VMWRITE exits and L0 raises #UD. */
void nested_shadow_enable(struct vcpu *v, bool on)
{
	if (!v->nested.shadowing)
		return;
	u64 ctl = vmcs_read(SECONDARY_VM_EXEC_CONTROL) & ~(u64)SECONDARY_VMCS_SHADOWING;
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, ctl | (on ? SECONDARY_VMCS_SHADOWING : 0));
}

/* Shadow VMCS -> cache: the fields L1 can write without an exit. */
void nested_shadow_pull(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	if (!n->shadow_attached)
		return;
	vmptrld_or_die(n->shadow_vmcs, "the shadow VMCS");
	/* A field L1 changed: a control or host-state one makes the next
	 * entry check all of SDM 27.2 again (nested_entry.c), a guest-state
	 * one goes to VMCS02 (vmcs02.c). */
#define PULL(from, to, type)                                                   \
	for (u32 i = by_width_start[from]; i < by_width_start[to]; i++) {       \
		const struct shadow_field *f = &by_width[i];                   \
		if (f->read_only)                                              \
			continue;                                              \
		type val = (type)vmcs_read(f->encoding);                       \
		if (CACHE_AT(n->cache, f, type) != val) {                      \
			if (f->ctl_host)                                       \
				n->ctl_host_ok = false;                        \
			n->guest_dirty |= f->guest_bit;                        \
			CACHE_AT(n->cache, f, type) = val;                     \
		}                                                              \
	}
	PULL(0, 1, u16)
	PULL(1, 2, u32)
	PULL(2, 3, u64)
#undef PULL
	back_to_vmcs01(v);
}

static void push_list(struct vcpu *v, const struct shadow_field *list, const u32 *start)
{
	struct nested_vcpu *n = &v->nested;
	if (!n->shadow_attached)
		return;
	vmptrld_or_die(n->shadow_vmcs, "the shadow VMCS");
	for (u32 i = start[0]; i < start[1]; i++)
		vmcs_write(list[i].encoding, CACHE_AT(n->cache, &list[i], u16));
	for (u32 i = start[1]; i < start[2]; i++)
		vmcs_write(list[i].encoding, CACHE_AT(n->cache, &list[i], u32));
	for (u32 i = start[2]; i < start[3]; i++)
		vmcs_write(list[i].encoding, CACHE_AT(n->cache, &list[i], u64));
	back_to_vmcs01(v);
}

/* Cache -> shadow VMCS: every shadowed field. */
void nested_shadow_push(struct vcpu *v)
{
	push_list(v, by_width, by_width_start);
}

/* The same after a reflected exit: only the fields L0 changed since the
 * nested entry's pull, when the shadow and the cache agreed on the rest
 * (emulated VMWRITEs in between push their field themselves). */
void nested_shadow_push_exit(struct vcpu *v)
{
	push_list(v, exit_by_width, exit_by_width_start);
}

/* L1 has a current VMCS12 (VMPTRLD): its fields go to the shadow VMCS and
 * VMCS01's link pointer names it (VMCS01 current). */
void nested_shadow_attach(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	if (!n->shadowing)
		return;
	n->shadow_attached = true;
	nested_shadow_push(v);
	vmcs_write(VMCS_LINK_POINTER, (u64)n->shadow_vmcs);
}

/* No current VMCS12 any more (VMCLEAR, VMXOFF, VMPTRLD of another): the
 * shadow's fields back into the cache, and VMREAD/VMWRITE exit again. */
void nested_shadow_detach(struct vcpu *v)
{
	struct nested_vcpu *n = &v->nested;
	if (!n->shadow_attached)
		return;
	nested_shadow_pull(v);
	n->shadow_attached = false;
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
}

/* One field L0 changed (a VM-instruction error, an emulated VMWRITE). */
void nested_shadow_push_field(struct vcpu *v, u32 encoding)
{
	struct nested_vcpu *n = &v->nested;
	const struct vmcs12_field *f = vmcs12_field_find(encoding & ~1u);
	if (!n->shadow_attached || !f || !shadowed(n, f))
		return;
	vmptrld_or_die(n->shadow_vmcs, "the shadow VMCS");
	vmcs_write(f->encoding, vmcs12_get(n->cache, f->encoding));
	back_to_vmcs01(v);
}
