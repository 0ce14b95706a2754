/* hctest: VMCALL at CPL 3 must return NV_HC_EPERM and do nothing.
 *
 * Getting to ring 3 inside a UEFI application: a copy of the firmware's GDT
 * with 64-bit ring-3 code/data descriptors and a TSS whose RSP0 is our
 * stack; a DPL-3 interrupt gate (vector 0x80) to come back; and a copy of
 * the page-table path to the ring-3 code and stack pages with U/S set,
 * because OVMF maps everything supervisor-only. Large pages on that path
 * are split so that only our two pages become user pages. Afterwards the
 * firmware's GDTR, TR and CR3 are restored exactly. Interrupts are off. */
#include <efi.h>
#include <efilib.h>
#include "hctest.h"

/* Paging-structure entries (SDM Vol. 3A, 4.5 "4-Level Paging"). */
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_PWT BIT(3)
#define PTE_PCD BIT(4)
#define PTE_A BIT(5)
#define PTE_PAT_4K BIT(7)
#define PTE_PAT_LARGE BIT(12)
#define PTE_XD BIT(63)
#define PTE_ADDR 0x000ffffffffff000ULL
#define PTE_HIGH_ATTRS 0xfff0000000000000ULL /* XD, protection key, ignored */
#define PTE_TABLE_ATTRS (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_A | PTE_XD)
#define CR3_ADDR PTE_ADDR

/* System-descriptor types (SDM Vol. 3A, 3.5). */
#define DESC_TSS_AVAILABLE 0x9
#define DESC_TYPE_SHIFT 40

#define R3_PATTERN_RBX 0x5eed0000b0b0b0b0ULL
#define R3_PATTERN_RCX 0x5eed0000c0c0c0c0ULL
#define R3_END_STATUS 0x77 /* would end the run with a visible failure */

struct cpu_state {
	struct desc_ptr gdtr, idtr;
	u16 tr;
	u64 cr3, cr4, fs_base, gs_base;
};

struct ring3 {
	struct hct_env *env;
	u32 pt_used;
	bool fw_user; /* the firmware already mapped the code page for ring 3 */
	struct tg_gdt gdt;
};

/* One ring-3 VMCALL: the registers it came back with, and the fault it
 * took, if any. */
struct ring3_run {
	struct tg_ring3_ctx ctx;
	u32 fault_vector;
	u64 fault_rip, fault_error;
};

static void save_state(struct cpu_state *s)
{
	asm volatile("sgdt %0; sidt %1; str %2"
		     : "=m"(s->gdtr), "=m"(s->idtr), "=r"(s->tr));
	s->cr3 = read_cr3();
	s->cr4 = read_cr4();
	tg_rdmsr_safe(MSR_IA32_FS_BASE, &s->fs_base);
	tg_rdmsr_safe(MSR_IA32_GS_BASE, &s->gs_base);
}

static u64 *pt_alloc(struct ring3 *r)
{
	if (r->pt_used == HCT_PT_POOL_PAGES)
		return NULL;
	return (u64 *)hct_page(r->env, HCT_PG_PT_POOL + r->pt_used++);
}

static bool pt_is_copy(struct ring3 *r, u64 pa)
{
	u64 pool = (u64)hct_page(r->env, HCT_PG_PT_POOL);
	return pa >= pool && pa < pool + HCT_PT_POOL_PAGES * PAGE_SIZE;
}

/* Replace a 1-GiB or 2-MiB leaf by a table of 512 children with the same
 * attributes: 2-MiB leaves under a 1-GiB one, 4-KiB pages under a 2-MiB
 * one (where PAT moves from bit 12 to bit 7). Returns the table entry. */
static u64 pt_split(u64 leaf, int level, u64 *t)
{
	bool to_4k = level == 2;
	u64 child = to_4k ? PAGE_SIZE : PAGE_SIZE_2M;
	u64 base = leaf & PTE_ADDR & ~((to_4k ? PAGE_SIZE_2M : PAGE_SIZE_1G) - 1);
	u64 attrs = leaf & (0xfff | PTE_HIGH_ATTRS);

	if (to_4k) {
		attrs &= ~PTE_PS;
		if (leaf & PTE_PAT_LARGE)
			attrs |= PTE_PAT_4K;
	} else {
		attrs |= leaf & PTE_PAT_LARGE;
	}
	for (u64 i = 0; i < 512; i++)
		t[i] = (base + i * child) | attrs;
	return (u64)t | (leaf & PTE_TABLE_ATTRS);
}

/* Make the 4-KiB page at 'va' a user page in our copy of the tables rooted
 * at 'pml4' (itself a copy), copying or splitting what lies on the path. */
static bool pt_make_user(struct ring3 *r, u64 *pml4, u64 va, bool exec,
			 struct tg_check *c)
{
	u64 *table = pml4;
	bool was_user = true;

	for (int level = 4; level >= 1; level--) {
		u64 *e = &table[(va >> (12 + 9 * (level - 1))) & 511];
		if (!tg_expect(c, *e & PTE_P, "page %lx not mapped at level %d", va, level))
			return false;
		was_user = was_user && (*e & PTE_US);
		if (level > 1 && level < 4 && (*e & PTE_PS)) {
			u64 *t = pt_alloc(r);
			if (!tg_expect(c, t != NULL, "page-table pool exhausted"))
				return false;
			*e = pt_split(*e, level, t);
		} else if (level > 1 && !pt_is_copy(r, *e & PTE_ADDR)) {
			u64 *t = pt_alloc(r);
			if (!tg_expect(c, t != NULL, "page-table pool exhausted"))
				return false;
			CopyMem(t, (void *)(*e & PTE_ADDR), PAGE_SIZE);
			*e = (*e & ~PTE_ADDR) | (u64)t;
		}
		*e |= PTE_US;
		if (exec)
			*e &= ~PTE_XD;
		table = (u64 *)(*e & PTE_ADDR);
	}
	if (exec)
		r->fw_user = was_user;
	return true;
}

static void run_ring3(struct ring3 *r, struct ring3_run *run, u64 fn, u64 rbx, u64 rcx)
{
	struct tg_ring3_ctx *ctx = &run->ctx;
	u8 *code = hct_page(r->env, HCT_PG_R3_CODE);

	SetMem(run, sizeof(*run), 0);
	ctx->rip = (u64)code;
	ctx->cs = r->gdt.user_cs;
	ctx->rflags = RFLAGS_FIXED; /* IF = 0, IOPL = 0 */
	ctx->rsp = (u64)hct_page(r->env, HCT_PG_R3_STACK) + PAGE_SIZE - 16;
	ctx->ss = r->gdt.user_ss;
	ctx->rax = fn;
	ctx->rbx = rbx;
	ctx->rcx = rcx;
	tg_fault_vector = TG_NO_FAULT;
	tg_fault_recover = (u64)code + (hct_r3_template_fault - hct_r3_template);
	tg_ring3_enter(ctx);
	tg_fault_recover = 0;
	run->fault_vector = tg_fault_vector;
	run->fault_rip = tg_fault_rip;
	run->fault_error = tg_fault_error;
}

/* Shared verdict on one ring-3 VMCALL. */
static bool ring3_returned(struct tg_check *c, const struct ring3_run *run)
{
	const struct tg_ring3_ctx *ctx = &run->ctx;

	if (ctx->rax == HCT_R3_FAULTED)
		return tg_expect(c, false, "VMCALL at CPL 3 raised %s at rip %lx (error %lx)",
				  tg_vector_name(run->fault_vector), run->fault_rip,
				  run->fault_error);
	if (!tg_expect(c, (ctx->frame_cs & 3) == 3,
			"came back from CPL %lu, not 3", ctx->frame_cs & 3))
		return false;
	return tg_expect(c, (s64)ctx->rax == NV_HC_EPERM, "RAX expected %d (EPERM), got %ld",
			  NV_HC_EPERM, (s64)ctx->rax);
}

static void restore_tr(const struct cpu_state *fw)
{
	/* LTR needs an available TSS: the firmware's own descriptor is marked
	 * busy since it was loaded (SDM Vol. 3A, 8.2.4 "Task Register"). */
	u64 *desc = (u64 *)(fw->gdtr.base + (fw->tr & ~7u));
	*desc = (*desc & ~(0xfULL << DESC_TYPE_SHIFT)) |
		(u64)DESC_TSS_AVAILABLE << DESC_TYPE_SHIFT;
	asm volatile("ltr %0" : : "r"(fw->tr) : "memory");
}

void hct_checks_ring3(struct hct_env *env)
{
	struct ring3 r = { .env = env };
	struct cpu_state fw, now;
	struct ring3_run ver, end;
	struct tg_check c;
	u8 gate_save[16];
	u8 *idt;

	save_state(&fw);
	tg_begin(&c, "ring3-setup");
	if (!tg_expect(&c, read_cr0() & CR0_PG, "paging is off") ||
	    !tg_expect(&c, !(fw.cr4 & CR4_LA57), "5-level paging not handled")) {
		tg_end(&c);
		return;
	}
	u64 *pml4 = pt_alloc(&r);
	CopyMem(pml4, (void *)(fw.cr3 & CR3_ADDR), PAGE_SIZE);
	u8 *code = hct_page(env, HCT_PG_R3_CODE);
	CopyMem(code, hct_r3_template, hct_r3_template_end - hct_r3_template);
	if (!pt_make_user(&r, pml4, (u64)code, true, &c) ||
	    !pt_make_user(&r, pml4, (u64)hct_page(env, HCT_PG_R3_STACK), false, &c) ||
	    !tg_expect(&c, tg_build_gdt((u64 *)hct_page(env, HCT_PG_GDT),
					(void *)hct_page(env, HCT_PG_TSS),
					(u64)hct_page(env, HCT_PG_R0_STACK + HCT_R0_STACK_PAGES),
					&fw.gdtr, &r.gdt),
		       "firmware GDT too large (limit %x)", fw.gdtr.limit)) {
		tg_end(&c);
		return;
	}
	tg_end(&c);
	tg_printf("hctest: note: firmware CR3 %lx, code page %p %s for ring 3 (%u table pages copied), TR %x\n",
		   fw.cr3, code, r.fw_user ? "already user" : "supervisor-only",
		   r.pt_used, fw.tr);

	idt = (u8 *)fw.idtr.base;
	CopyMem(gate_save, idt + 16 * TG_VEC_RING0_RETURN, sizeof(gate_save));
	tg_set_gate(idt, TG_VEC_RING0_RETURN, (u64)tg_isr_ring0_return, env->cs, 3);
	asm volatile("lgdt %0" : : "m"(r.gdt.gdtr) : "memory");
	asm volatile("ltr %0" : : "r"(r.gdt.tss_sel) : "memory");
	write_cr3((u64)pml4 | (fw.cr3 & ~CR3_ADDR));

	run_ring3(&r, &ver, NV_HC_VERSION, R3_PATTERN_RBX, R3_PATTERN_RCX);
	run_ring3(&r, &end, NV_HC_END_RUN, R3_END_STATUS, 0);

	write_cr3(fw.cr3);
	if (fw.cr4 & CR4_PGE) { /* drop global TLB entries of our copy too */
		write_cr4(fw.cr4 & ~CR4_PGE);
		write_cr4(fw.cr4);
	}
	asm volatile("lgdt %0" : : "m"(fw.gdtr) : "memory");
	if (fw.tr)
		restore_tr(&fw);
	CopyMem(idt + 16 * TG_VEC_RING0_RETURN, gate_save, sizeof(gate_save));
	tg_rdmsr_safe(MSR_IA32_FS_BASE, &now.fs_base);
	if (now.fs_base != fw.fs_base)
		tg_wrmsr_safe(MSR_IA32_FS_BASE, fw.fs_base);
	tg_rdmsr_safe(MSR_IA32_GS_BASE, &now.gs_base);
	if (now.gs_base != fw.gs_base)
		tg_wrmsr_safe(MSR_IA32_GS_BASE, fw.gs_base);

	tg_begin(&c, "ring3-vmcall-eperm");
	if (ring3_returned(&c, &ver)) {
		tg_expect(&c, ver.ctx.rbx == R3_PATTERN_RBX, "RBX changed: %lx", ver.ctx.rbx);
		tg_expect(&c, ver.ctx.rcx == R3_PATTERN_RCX, "RCX changed: %lx", ver.ctx.rcx);
	}
	tg_end(&c);

	/* Reaching this line at all is the proof that END_RUN did nothing. */
	tg_begin(&c, "ring3-end-run-ignored");
	ring3_returned(&c, &end);
	tg_end(&c);

	tg_begin(&c, "ring3-state-restored");
	save_state(&now);
	tg_expect(&c, now.gdtr.base == fw.gdtr.base && now.gdtr.limit == fw.gdtr.limit,
		   "GDTR %lx/%x, expected %lx/%x", now.gdtr.base, now.gdtr.limit,
		   fw.gdtr.base, fw.gdtr.limit);
	tg_expect(&c, now.idtr.base == fw.idtr.base && now.idtr.limit == fw.idtr.limit,
		   "IDTR %lx/%x, expected %lx/%x", now.idtr.base, now.idtr.limit,
		   fw.idtr.base, fw.idtr.limit);
	tg_expect(&c, now.cr3 == fw.cr3, "CR3 %lx, expected %lx", now.cr3, fw.cr3);
	tg_expect(&c, now.cr4 == fw.cr4, "CR4 %lx, expected %lx", now.cr4, fw.cr4);
	tg_expect(&c, now.fs_base == fw.fs_base && now.gs_base == fw.gs_base,
		   "FS/GS base %lx/%lx, expected %lx/%lx", now.fs_base, now.gs_base,
		   fw.fs_base, fw.gs_base);
	/* A null TR cannot be loaded again (LTR of a null selector is #GP):
	 * then our TSS stays in TR, in pages this application never frees. */
	if (fw.tr)
		tg_expect(&c, now.tr == fw.tr, "TR %x, expected %x", now.tr, fw.tr);
	else
		tg_printf("hctest: note: firmware TR was 0; TR keeps hctest's TSS\n");
	tg_end(&c);
}
