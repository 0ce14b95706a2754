/* VMCS02: the hardware VMCS L2 runs with, built at every nested VM entry
 * from VMCS12 (what L1 asked for) and VMCS01 (what L0 must keep):
 *  - guest state: VMCS12's, as L1 wrote it;
 *  - host state: L0's own (every L2 exit comes to L0 first);
 *  - controls: L1's, plus what L0 needs: its EPT (L1 has none, so L2's
 *    guest-physical addresses are L1's, which EPT01 maps), its MSR and I/O
 *    intercepts merged into L1's bitmaps, its CR0/CR4 fixed bits. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <msr.h>
#include <msr_policy.h>
#include <guest_state.h>
#include <nested/nested.h>
#include <nested/guest_access.h>
#include <nested/vmcs12.h>
#include <vmm.h>
#include <log.h>
#include <lib.h>

/* Guest-state fields VMCS02 takes from VMCS12 as they are (SDM 25.4). */
static const u32 guest_fields[] = {
	GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
	GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR,
	GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT,
	GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT, GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT,
	GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES,
	GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES,
	GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_FS_BASE,
	GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE, GUEST_GDTR_BASE, GUEST_IDTR_BASE,
	GUEST_CR3, GUEST_RSP, GUEST_RIP, GUEST_RFLAGS,
	GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE, GUEST_PENDING_DBG_EXCEPTIONS,
	GUEST_SYSENTER_CS, GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
};

_Static_assert(ARRAY_SIZE(guest_fields) <= 64, "one bit of nested_vcpu.guest_dirty per field");

/* guest_fields resolved once to their place in struct vmcs12 and sorted
 * by width, so that the copies, which run at every nested VM entry and
 * every reflected exit, are plain loads and stores; and by their bit in
 * nested_vcpu.guest_dirty (their index in guest_fields). */
struct guest_slot {
	u32 encoding;
	u16 offset;
	u8 width;
};
static struct guest_slot slots16[ARRAY_SIZE(guest_fields)], slots32[ARRAY_SIZE(guest_fields)],
	slots64[ARRAY_SIZE(guest_fields)], by_bit[ARRAY_SIZE(guest_fields)];
static u32 n16, n32, n64;

static void resolve_guest_fields(void)
{
	static bool resolved;
	if (resolved)
		return;
	resolved = true;
	for (u32 i = 0; i < ARRAY_SIZE(guest_fields); i++) {
		const struct vmcs12_field *f = vmcs12_field_find(guest_fields[i]);
		if (!f)
			panic("guest field %x missing from the VMCS12 table", guest_fields[i]);
		struct guest_slot g = { guest_fields[i], f->offset, f->width };
		by_bit[i] = g;
		if (f->width == VMCS12_W16)
			slots16[n16++] = g;
		else if (f->width == VMCS12_W32)
			slots32[n32++] = g;
		else
			slots64[n64++] = g;
	}
}

u64 nested_guest_field_bit(u32 encoding)
{
	encoding &= ~VMCS_ENC_ACCESS_HIGH;
	for (u32 i = 0; i < ARRAY_SIZE(guest_fields); i++)
		if (guest_fields[i] == encoding)
			return 1ULL << i;
	return 0;
}

#define SLOT(c, g, type) (*(type *)((u8 *)(c) + (g).offset))

/* SDM 28.3 "Saving Guest State": the fields L1's exit sees as L2 left
 * them, from the current VMCS (VMCS02). */
void nested_guest_fields_save(struct vmcs12 *c)
{
	resolve_guest_fields();
	for (u32 i = 0; i < n16; i++)
		SLOT(c, slots16[i], u16) = (u16)vmcs_read(slots16[i].encoding);
	for (u32 i = 0; i < n32; i++)
		SLOT(c, slots32[i], u32) = (u32)vmcs_read(slots32[i].encoding);
	for (u32 i = 0; i < n64; i++)
		SLOT(c, slots64[i], u64) = vmcs_read(slots64[i].encoding);
}

/* The same fields from VMCS12 into the current VMCS (VMCS02), those
 * whose bit is set in DIRTY: the others hold in VMCS02 what they hold in
 * VMCS12 (saved there at the last reflected exit, or loaded from there at
 * the last entry, and not written since). */
static void guest_fields_load(const struct vmcs12 *c, u64 dirty)
{
	resolve_guest_fields();
	while (dirty) {
		const struct guest_slot *g = &by_bit[__builtin_ctzll(dirty)];
		dirty &= dirty - 1;
		u64 val = g->width == VMCS12_W16 ? SLOT(c, *g, const u16) :
			  g->width == VMCS12_W32 ? SLOT(c, *g, const u32) : SLOT(c, *g, const u64);
		vmcs_write(g->encoding, val);
	}
}

/* L0's own bitmaps are fixed after boot and nearly empty: the words with
 * bits set, found once, are all a merge needs to OR in. */
#define L0_BITS_MAX 64
struct l0_bits {
	const u8 *page; /* the L0 bitmap page these words come from */
	u32 count;
	u16 index[L0_BITS_MAX];
	u64 bits[L0_BITS_MAX];
};

static const struct l0_bits *l0_bits_of(const u8 *l0)
{
	static struct l0_bits cache[3];
	for (u32 k = 0; k < ARRAY_SIZE(cache); k++) {
		struct l0_bits *b = &cache[k];
		if (b->page == l0)
			return b;
		if (b->page)
			continue;
		const u64 *w = (const u64 *)l0;
		for (u32 i = 0; i < PAGE_SIZE / 8; i++) {
			if (!w[i])
				continue;
			if (b->count == L0_BITS_MAX)
				panic("L0's bitmap at %p has more than %u words set", l0, L0_BITS_MAX);
			b->index[b->count] = (u16)i;
			b->bits[b->count++] = w[i];
		}
		b->page = l0;
		return b;
	}
	panic("more than %u L0 bitmaps", (u32)ARRAY_SIZE(cache));
}

/* One bitmap page: L1's bits OR L0's, so that an access exits if either
 * wants it; nested_l2_exit() sorts out whose it was. A bitmap where L1
 * has no RAM (or in the monitor's memory) reads as all ones, as memory
 * that is not there reads on the hardware: every access exits. */
static void merge_bitmap(u8 *out, u64 l1_gpa, const u8 *l0)
{
	const struct l0_bits *b = l0_bits_of(l0);
	u64 *o = (u64 *)out;
	nested_read_l1_or_ones(l1_gpa, out, PAGE_SIZE);
	for (u32 i = 0; i < b->count; i++)
		o[b->index[i]] |= b->bits[i];
}

/* VMCS02's MSR and I/O bitmaps from L1's as they are now, merged with
 * L0's (VMCS02 current): at a nested entry, and when L2 changed L1's page
 * (bitmap_watch.c, FORCE). A copy merged from a page nobody has written
 * since (nested_watch_copy_fresh) is kept: 4 KiB read and written less
 * per bitmap and entry. */
void nested_vmcs02_bitmaps(struct vcpu *v, bool force)
{
	struct nested_vcpu *n = &v->nested;
	const struct vmcs12 *c = n->cache;
	u32 proc = c->cpu_based_vm_exec_control;

	/* MSR accesses: L1's bitmap merged with L0's, or all exit. */
	if (proc & CPU_BASED_USE_MSR_BITMAPS) {
		if (force || !nested_watch_copy_fresh(n, NESTED_WATCH_MSR, c->msr_bitmap))
			merge_bitmap(n->msr_bitmap02, c->msr_bitmap, v->msr_bitmap);
		vmcs_write(MSR_BITMAP, (u64)n->msr_bitmap02);
	}
	if (proc & CPU_BASED_USE_IO_BITMAPS) {
		if (force || !nested_watch_copy_fresh(n, NESTED_WATCH_IO_A, c->io_bitmap_a))
			merge_bitmap(n->io_bitmap02_a, c->io_bitmap_a, v->io_bitmap_a);
		if (force || !nested_watch_copy_fresh(n, NESTED_WATCH_IO_B, c->io_bitmap_b))
			merge_bitmap(n->io_bitmap02_b, c->io_bitmap_b, v->io_bitmap_b);
		vmcs_write(IO_BITMAP_A, (u64)n->io_bitmap02_a);
		vmcs_write(IO_BITMAP_B, (u64)n->io_bitmap02_b);
	}
}

/* What VMCS02 takes from VMCS01: L1's EFER, PAT, DR7 and DEBUGCTL as they
 * are now, and L0's own TSC offset. */
struct l1_regs {
	u64 efer, pat, dr7, debugctl;
	u64 l0_tsc_offset;
};

/* The primary processor-based controls VMCS02 runs with: L1's, plus
 * what L0 needs. A function of VMCS12's control fields alone. */
static u32 vmcs02_proc(const struct vmcs12 *c)
{
	u32 proc = c->cpu_based_vm_exec_control;

	/* I/O: with "use I/O bitmaps" L1's bitmaps decide, whatever
	 * "unconditional I/O exiting" says (SDM 25.6.4); with neither, L2 may
	 * use every port but L0's own (the debug-exit port). */
	if (!(proc & (CPU_BASED_USE_IO_BITMAPS | CPU_BASED_UNCOND_IO_EXITING)))
		proc |= CPU_BASED_USE_IO_BITMAPS;
	/* L2's TSC is L1's view (L0's offset) plus L1's offset for L2
	 * (every_entry_controls()); an offset of 0 changes nothing. */
	proc |= CPU_BASED_USE_TSC_OFFSETTING;
	/* A virtual-APIC page where L1 has no RAM: L2's MOV to CR8 would
	 * write VTPR into the page of ones that stands in for it (below),
	 * and CR8 and TPR virtualization would then read the value back
	 * (SDM 30.3, 30.1.2) where memory that is not there reads as ones.
	 * So it exits to L0, which lets the write vanish (nested_exit.c). */
	if ((proc & CPU_BASED_TPR_SHADOW) && !nested_gpa_valid(c->virtual_apic_page_addr, PAGE_SIZE))
		proc |= CPU_BASED_CR8_LOAD_EXITING;
	return proc | CPU_BASED_ACTIVATE_SECONDARY;
}

/* The controls that follow from VMCS12's control fields (and L0's fixed
 * needs) alone. They stay in VMCS02 from one entry to the next while no
 * control field of VMCS12 changes (nested_entry.c tracks that). */
static void controls_from_vmcs12(struct vcpu *v, const struct vmcs12 *c)
{
	u32 proc = vmcs02_proc(c);
	u32 proc2 = (c->cpu_based_vm_exec_control & CPU_BASED_ACTIVATE_SECONDARY) ? c->secondary_vm_exec_control : 0;

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, c->pin_based_vm_exec_control);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);
	/* L1's VPID is honoured by not using one: without VPID every VM entry
	 * and exit flushes L2's linear translations (SDM 29.4.3.3). */
	/* L1's VMCS shadowing is emulated: VMCS02 lets L2's VMREAD and
	 * VMWRITE exit to L0 (shadow12.c). So is L1's PML: L0 sets every
	 * dirty flag of EPT12 and logs it there (nested_ept.c); the CPU's
	 * PML would log EPT02's flags into VMCS02's (unset) PML address. */
	vmcs_write(SECONDARY_VM_EXEC_CONTROL,
		   (proc2 & ~(SECONDARY_ENABLE_VPID | SECONDARY_VMCS_SHADOWING | SECONDARY_ENABLE_PML)) |
		   SECONDARY_ENABLE_EPT);
	vmcs_write(EXCEPTION_BITMAP, c->exception_bitmap);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, c->page_fault_error_code_mask);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, c->page_fault_error_code_match);
	vmcs_write(CR3_TARGET_COUNT, c->cr3_target_count);
	vmcs_write(CR3_TARGET_VALUE0, c->cr3_target_value0);
	vmcs_write(CR3_TARGET_VALUE1, c->cr3_target_value1);
	vmcs_write(CR3_TARGET_VALUE2, c->cr3_target_value2);
	vmcs_write(CR3_TARGET_VALUE3, c->cr3_target_value3);
	if (proc & CPU_BASED_TPR_SHADOW) {
		/* The CPU reads and writes VTPR there: never the monitor's
		 * memory. Where L1 has no RAM, a page of ones stands in for
		 * memory that is not there (refilled at each entry). */
		u64 vapic = c->virtual_apic_page_addr;
		if (!nested_gpa_valid(vapic, PAGE_SIZE))
			vapic = (u64)v->nested.absent_page;
		vmcs_write(VIRTUAL_APIC_PAGE_ADDR, vapic);
		vmcs_write(TPR_THRESHOLD, c->tpr_threshold);
	}
	if (proc2 & SECONDARY_ENABLE_XSAVES)
		vmcs_write(XSS_EXIT_BITMAP, c->xss_exit_bitmap);

	/* L1's masks plus L0's: L2 reads L1's shadow for L1's bits and its
	 * own value for bits only L0 traps (SDM 25.6.6). */
	u64 l0_cr0 = nested_cr0_fixed_mask(v) & ~(CR0_PE | CR0_PG);
	u64 l0_cr4 = vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1 | CR4_SMXE;
	vmcs_write(CR0_GUEST_HOST_MASK, c->cr0_guest_host_mask | l0_cr0);
	vmcs_write(CR4_GUEST_HOST_MASK, c->cr4_guest_host_mask | l0_cr4);

	/* L0 always loads and saves EFER, PAT and the debug controls; where L1
	 * did not ask, the values are L1's current ones (SDM 27.3.2.1). */
	vmcs_write(VM_EXIT_CONTROLS, VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
				     VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |
				     VM_EXIT_SAVE_DEBUG_CONTROLS |
				     (c->vm_exit_controls & VM_EXIT_ACK_INTR_ON_EXIT) |
				     ((c->pin_based_vm_exec_control & PIN_BASED_VMX_PREEMPTION_TIMER) ?
					      VM_EXIT_SAVE_PREEMPTION_TIMER : 0) |
				     ((u32)vmx_caps.exit & 0xffffffffu));
	vmcs_write(VM_ENTRY_CONTROLS, VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT |
				      VM_ENTRY_LOAD_DEBUG_CONTROLS |
				      (c->vm_entry_controls & VM_ENTRY_IA32E_MODE) |
				      ((u32)vmx_caps.entry & 0xffffffffu));
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
}

/* The controls every entry writes: they also depend on L1's guest state,
 * on memory L1 or L2 may have written, on L0's state (timer, EPT02, TSC
 * offset), or they are consumed by the entry (event injection). */
static void every_entry_controls(struct vcpu *v, const struct vmcs12 *c, const struct l1_regs *l1,
				 bool controls_same)
{
	struct nested_vcpu *n = &v->nested;
	u32 proc = vmcs02_proc(c);
	u32 proc2 = (c->cpu_based_vm_exec_control & CPU_BASED_ACTIVATE_SECONDARY) ? c->secondary_vm_exec_control : 0;

	/* L1's VMX-preemption timer is the hardware's, started from L1's value
	 * at every nested VM entry (SDM 27.7.4; a value of 0 exits before L2
	 * runs an instruction). VMCS02 always saves it, so that an exit L0
	 * handles resumes L2 with what is left (preempt.c). */
	nested_timer_entry(v, c);

	nested_vmcs02_bitmaps(v, false);
	if (c->cpu_based_vm_exec_control & CPU_BASED_USE_IO_BITMAPS) {
		n->io02_l0_only = false;
	} else if ((proc & CPU_BASED_USE_IO_BITMAPS) && !n->io02_l0_only) {
		/* L0's bitmaps alone, which never change: copied once */
		memcpy(n->io_bitmap02_a, v->io_bitmap_a, PAGE_SIZE);
		memcpy(n->io_bitmap02_b, v->io_bitmap_b, PAGE_SIZE);
		n->io02_l0_only = true;
	}
	if (proc & CPU_BASED_USE_IO_BITMAPS) {
		vmcs_write(IO_BITMAP_A, (u64)n->io_bitmap02_a);
		vmcs_write(IO_BITMAP_B, (u64)n->io_bitmap02_b);
	}
	/* The copies stand for L1's pages while L2 cannot write those. */
	nested_watch_entry(v, c, controls_same);
	/* L2's TSC = L1's view (L0's offset) plus L1's offset for L2, when
	 * L1 uses offsetting (SDM 26.3 "Changes to Instruction Behavior":
	 * RDTSC adds the TSC offset). */
	vmcs_write(TSC_OFFSET, l1->l0_tsc_offset +
		   ((c->cpu_based_vm_exec_control & CPU_BASED_USE_TSC_OFFSETTING) ? c->tsc_offset : 0));
	/* L2-physical addresses: L1's own when L1 has no EPT (EPT01 maps
	 * them); through L1's EPT12 otherwise (EPT02, nested_ept.c). */
	u64 eptp = ept_eptp(&v->ept);
	if (proc2 & SECONDARY_ENABLE_EPT) {
		eptp = nested_ept02_eptp(v, c->ept_pointer);
		if (!eptp)
			guest_report_and_stop("out of monitor memory for L2's EPT02");
	}
	vmcs_write(EPT_POINTER, eptp);
	if ((proc & CPU_BASED_TPR_SHADOW) && !nested_gpa_valid(c->virtual_apic_page_addr, PAGE_SIZE))
		memset(n->absent_page, 0xff, PAGE_SIZE);

	vmcs_write(CR0_READ_SHADOW, (c->cr0_read_shadow & c->cr0_guest_host_mask) |
					    (c->guest_cr0 & ~c->cr0_guest_host_mask));
	vmcs_write(CR4_READ_SHADOW, (c->cr4_read_shadow & c->cr4_guest_host_mask) |
					    (c->guest_cr4 & ~c->cr4_guest_host_mask));

	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, c->vm_entry_intr_info_field);
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, c->vm_entry_exception_error_code);
	vmcs_write(VM_ENTRY_INSTRUCTION_LEN, c->vm_entry_instruction_len);
}

static void setup_guest(const struct vmcs12 *c, const struct l1_regs *l1, u64 dirty)
{
	guest_fields_load(c, dirty);
	vmcs_write(GUEST_CR0, c->guest_cr0);
	vmcs_write(GUEST_CR4, c->guest_cr4);

	bool ia32e = c->vm_entry_controls & VM_ENTRY_IA32E_MODE;
	u64 efer = l1->efer;
	if (c->vm_entry_controls & VM_ENTRY_LOAD_IA32_EFER)
		efer = c->guest_ia32_efer;
	else /* LMA and LME follow "IA-32e mode guest" (SDM 27.3.2.1) */
		efer = (efer & ~(EFER_LMA | EFER_LME)) | (ia32e ? EFER_LMA | EFER_LME : 0);
	vmcs_write(GUEST_IA32_EFER, efer);
	vmcs_write(GUEST_IA32_PAT, (c->vm_entry_controls & VM_ENTRY_LOAD_IA32_PAT) ? c->guest_ia32_pat : l1->pat);
	bool dbg = c->vm_entry_controls & VM_ENTRY_LOAD_DEBUG_CONTROLS;
	vmcs_write(GUEST_DR7, dbg ? c->guest_dr7 : l1->dr7);
	vmcs_write(GUEST_IA32_DEBUGCTL, dbg ? c->guest_ia32_debugctl : l1->debugctl);

	/* PAE paging outside IA-32e mode: with EPT on, VM entry loads the
	 * PDPTEs from these fields (SDM 27.3.2.4). L1 with EPT wrote them;
	 * L1 without EPT did not, and the CPU would have read them from L2's
	 * CR3 for it: so does L0. */
	if (nested_l1_uses_ept(c)) {
		vmcs_write(GUEST_PDPTE0, c->guest_pdpte0);
		vmcs_write(GUEST_PDPTE1, c->guest_pdpte1);
		vmcs_write(GUEST_PDPTE2, c->guest_pdpte2);
		vmcs_write(GUEST_PDPTE3, c->guest_pdpte3);
	} else if ((c->guest_cr0 & CR0_PG) && (c->guest_cr4 & CR4_PAE) && !(efer & EFER_LMA)) {
		u64 pdpt = c->guest_cr3 & 0xffffffe0ULL; /* PAE: CR3 bits 31:5 (SDM 4.4.1) */
		const u64 *p = nested_gpa_valid(pdpt, 32) ? nested_gpa_ptr(pdpt) : NULL;
		for (int i = 0; i < 4; i++)
			vmcs_write(GUEST_PDPTE0 + 2 * i, p ? p[i] : 0);
	}
}

int nested_vmcs02_load(struct vcpu *v, bool controls_same)
{
	struct nested_vcpu *n = &v->nested;
	struct l1_regs l1 = {
		vmcs_read(GUEST_IA32_EFER), vmcs_read(GUEST_IA32_PAT),
		vmcs_read(GUEST_DR7), vmcs_read(GUEST_IA32_DEBUGCTL),
		(vmcs_read(CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_USE_TSC_OFFSETTING) ? vmcs_read(TSC_OFFSET) : 0,
	};
	u64 pa = (u64)n->vmcs02;
	u8 fail;
	asm volatile("vmptrld %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	if (fail)
		panic("VMPTRLD of VMCS02 failed");
	/* A VMCS02 that was launched (and not VMCLEARed since) holds L0's
	 * host state, which never changes, and the controls that follow
	 * from VMCS12's control fields as the last entry that reached here
	 * saw them; 'controls_same' says whether those are unchanged. */
	controls_same = controls_same && n->vmcs02_launched;
	if (!controls_same)
		controls_from_vmcs12(v, n->cache);
	every_entry_controls(v, n->cache, &l1, controls_same);
	/* VMCS02's guest fields are another VMCS12's, or never written. */
	if (!n->vmcs02_launched || n->vmcs02_guest_ptr != n->current_ptr)
		n->guest_dirty = ~0ULL;
	setup_guest(n->cache, &l1, n->guest_dirty);
	n->guest_dirty = 0;
	n->vmcs02_guest_ptr = n->current_ptr;
	if (!n->vmcs02_launched) {
		vmcs_host_state_write(v);
		vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	}
	n->in_l2 = true;
	return 0;
}

void nested_vmcs01_load(struct vcpu *v)
{
	u64 pa = (u64)v->vmcs;
	u8 fail;
	asm volatile("vmptrld %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	if (fail)
		panic("VMPTRLD of VMCS01 failed");
	v->nested.in_l2 = false;
}
