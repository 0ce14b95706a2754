/* vmxtest / vmxfuzz: the L1 environment (our own GDT with a TSS and ring-3
 * segments, our own IDT, page tables with user pages for CPL-3 checks),
 * the VMX capabilities, and guarded VMX instruction wrappers that report
 * the outcome as one code (SDM 31.2 "Conventions"). */
#include <efi.h>
#include <efilib.h>
#include "vmxtest.h"

u64 vt_last_rflags;

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

/* Each guarded VMX instruction starts with every arithmetic flag set, so
 * that it must clear the ones the SDM says it clears, and ends with RFLAGS
 * in %[fl]. */
#define GUARD_BEGIN TG_GUARD_BEGIN "pushq $0x8d7\n\tpopfq\n\t"
#define GUARD_END "\n1:\n\tpushfq\n\tpopq %[fl]\n\tmovq $0, tg_fault_recover(%%rip)"

u32 vt_flags_result(u64 fl)
{
	u64 err = 0, field = VM_INSTRUCTION_ERROR;

	switch (fl & RFLAGS_ARITH) {
	case 0:
		return VT_OK;
	case RFLAGS_CF:
		return VT_FAIL_INVALID;
	case RFLAGS_ZF:
		asm volatile("vmread %1, %0" : "=r"(err) : "r"(field) : "cc");
		return err < 0x100 ? VT_FAIL_VALID((u32)err) : VT_BAD_FLAGS;
	default:
		return VT_BAD_FLAGS;
	}
}

static u32 vt_outcome(u64 fl)
{
	vt_last_rflags = fl;
	if (tg_fault_vector != TG_NO_FAULT)
		return VT_FAULT(tg_fault_vector);
	return vt_flags_result(fl);
}

const char *vt_res_name(u32 res)
{
	static char bufs[4][40];
	static u32 next;
	char *b = bufs[next++ % 4];
	u32 v = res & 0xff;

	switch (VT_KIND(res)) {
	case VT_OK: return "VMsucceed";
	case VT_FAIL_INVALID: return "VMfailInvalid";
	case 0x200: tg_snprintf(b, 40, "VMfailValid(%u)", v); break;
	case 0x300:
		if (v == EXC_UD)
			return "#UD";
		if (v == EXC_GP)
			return "#GP";
		tg_snprintf(b, 40, "exception %u", v);
		break;
	case 0xf00: return "a VM exit";
	default: tg_snprintf(b, 40, "bad RFLAGS %lx", vt_last_rflags); break;
	}
	return b;
}

bool vt_expect_res(struct tg_check *c, const char *what, u32 got, u32 want)
{
	return tg_expect(c, got == want, "%s: expected %s, got %s", what,
			 vt_res_name(want), vt_res_name(got));
}

bool vt_expect_eq(struct tg_check *c, const char *what, u64 got, u64 want)
{
	return tg_expect(c, got == want, "%s: expected %lx, got %lx", what, want, got);
}

u32 vt_vmxon(u64 pa)
{
	u64 fl;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmxon %[m]" GUARD_END
		     : [fl] "=r"(fl) : [m] "m"(pa) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmxoff(void)
{
	u64 fl;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmxoff" GUARD_END : [fl] "=r"(fl) : : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmclear(u64 pa)
{
	u64 fl;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmclear %[m]" GUARD_END
		     : [fl] "=r"(fl) : [m] "m"(pa) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmptrld(u64 pa)
{
	u64 fl;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmptrld %[m]" GUARD_END
		     : [fl] "=r"(fl) : [m] "m"(pa) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmptrst(u64 *pa)
{
	u64 fl;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmptrst %[m]" GUARD_END
		     : [fl] "=r"(fl), [m] "=m"(*pa) : : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmread(u64 field, u64 *val)
{
	u64 fl, v = *val;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmread %[f], %[v]" GUARD_END
		     : [fl] "=r"(fl), [v] "+r"(v) : [f] "r"(field) : "r11", "cc", "memory");
	*val = v;
	return vt_outcome(fl);
}

u32 vt_vmread_mem(u64 field, u64 *mem)
{
	u64 fl;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmread %[f], %[m]" GUARD_END
		     : [fl] "=r"(fl), [m] "+m"(*mem) : [f] "r"(field) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmwrite(u64 field, u64 val)
{
	u64 fl;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmwrite %[v], %[f]" GUARD_END
		     : [fl] "=r"(fl) : [f] "r"(field), [v] "r"(val) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmwrite_mem(u64 field, const u64 *mem)
{
	u64 fl;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmwrite %[m], %[f]" GUARD_END
		     : [fl] "=r"(fl) : [f] "r"(field), [m] "m"(*mem) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u64 vt_rd(u64 field)
{
	u64 v = 0;

	return vt_vmread(field, &v) == VT_OK ? v : ~0ULL;
}

bool vt_wr(u64 field, u64 val)
{
	u32 r = vt_vmwrite(field, val);

	if (r != VT_OK)
		tg_printf("%s: note: VMWRITE %lx <- %lx: %s\n", tg_prog, field, val,
			  vt_res_name(r));
	return r == VT_OK;
}

u32 vt_enter(struct tg_regs *regs, int resume)
{
	u64 r;

	tg_fault_vector = TG_NO_FAULT;
	r = vt_enter_raw(regs, resume);
	if (r == 0)
		return VT_ENTERED;
	return vt_outcome(r == 1 ? 0 : r);
}

/* ---- VMX capabilities and enabling ---- */

u32 vt_adjust(u32 want, u32 allowed0, u32 allowed1)
{
	return (want | allowed0) & allowed1;
}

/* Allowed settings (SDM A.3-A.5): low half allowed-0, high half allowed-1;
 * the TRUE_ MSRs when IA32_VMX_BASIC[55] says they exist. */
static void vt_read_caps(struct vt_caps *k)
{
	bool true_ctls;
	u64 v;
	u32 r[4];

	k->basic = rdmsr(MSR_IA32_VMX_BASIC);
	k->revision = (u32)k->basic & 0x7fffffffu;
	true_ctls = k->basic & BIT(55);
#define CTLS(plain, truem, lo, hi) \
	v = rdmsr(true_ctls ? (truem) : (plain)); k->lo = (u32)v; k->hi = (u32)(v >> 32)
	CTLS(MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS, pin0, pin1);
	CTLS(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, proc0, proc1);
	CTLS(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, exit0, exit1);
	CTLS(MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS, entry0, entry1);
#undef CTLS
	k->proc2_1 = k->proc1 & CPU_BASED_ACTIVATE_SECONDARY ?
		(u32)(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) : 0;
	k->misc = rdmsr(MSR_IA32_VMX_MISC);
	k->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	k->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	k->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	k->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	tg_cpuid(0x80000000u, 0, r);
	k->maxphyaddr = 36;
	if (r[0] >= 0x80000008u) {
		tg_cpuid(0x80000008u, 0, r);
		k->maxphyaddr = r[0] & 0xff;
	}
}

bool vt_vmx_enable(struct vt_env *env)
{
	u64 fc = 0;

	if (tg_rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc) != TG_NO_FAULT)
		return false;
	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		fc |= FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
	}
	if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX))
		return false;
	(void)env;
	write_cr4(read_cr4() | CR4_VMXE);
	return true;
}

void vt_vmx_disable(void)
{
	write_cr4(read_cr4() & ~CR4_VMXE);
}

bool vt_init_region(struct vt_env *env, int page)
{
	u32 *p = (u32 *)vt_page(env, page);

	SetMem(p, PAGE_SIZE, 0);
	p[0] = env->caps.revision;
	return true;
}

/* ---- L1 environment ---- */

/* Our GDT (the firmware's with ring-3 segments and a TSS) and IDT (the
 * firmware's with lib/'s exception stubs and the ring-3 return gate). */
static bool vt_build_tables(struct vt_env *env)
{
	struct desc_ptr fw;
	struct tg_gdt gdt;
	u8 *idt = vt_page(env, VT_PG_IDT);

	sgdt(&fw);
	if (!tg_build_gdt((u64 *)vt_page(env, VT_PG_GDT), (void *)vt_page(env, VT_PG_TSS),
			  vt_stack_top(env, VT_PG_R0_STACK, VT_R0_STACK_PAGES), &fw, &gdt))
		return false;
	env->user_ss = gdt.user_ss;
	env->user_cs = gdt.user_cs;
	env->tr = gdt.tss_sel;
	env->gdt_base = gdt.gdtr.base;
	env->gdt_limit = gdt.gdtr.limit;
	asm volatile("lgdt %0" : : "m"(gdt.gdtr) : "memory");
	asm volatile("ltr %0" : : "r"(env->tr) : "memory");

	tg_install_idt(idt, env->cs, &fw);
	tg_set_gate(idt, TG_VEC_RING0_RETURN, (u64)tg_isr_ring0_return, env->cs, 3);
	env->idt_base = (u64)idt;
	return true;
}

/* 4 GiB identity map in 2-MiB user pages: only loaded around CPL-3 checks
 * (OVMF maps everything supervisor-only). */
static void vt_build_user_pt(struct vt_env *env)
{
	u64 *pml4 = (u64 *)vt_page(env, VT_PG_USER_PT);
	u64 *pdpt = (u64 *)vt_page(env, VT_PG_USER_PT + 1);

	pml4[0] = (u64)pdpt | PTE_P | PTE_W | PTE_U;
	for (u64 i = 0; i < 4; i++) {
		u64 *pd = (u64 *)vt_page(env, VT_PG_USER_PT + 2 + (int)i);
		pdpt[i] = (u64)pd | PTE_P | PTE_W | PTE_U;
		for (u64 j = 0; j < 512; j++)
			pd[j] = (i << 30 | j << 21) | PTE_P | PTE_W | PTE_U | PTE_PS;
	}
}

u64 vt_stack_top(const struct vt_env *env, int first_page, int pages)
{
	return vt_pa(env, first_page + pages) - 16;
}

/* Runs 'code' at CPL 3: it executes one instruction and comes back with
 * "int 0x80"; a fault resumes at vt_r3_fault. Returns the fault vector or
 * TG_NO_FAULT, and the error code. */
u32 vt_at_cpl3(struct vt_env *env, const u8 *code, u64 *error)
{
	u64 cr3 = read_cr3(), cr4 = read_cr4();
	u64 fs = rdmsr(MSR_IA32_FS_BASE), gs = rdmsr(MSR_IA32_GS_BASE);
	struct tg_ring3_ctx ctx = {
		.rip = (u64)code, .cs = env->user_cs, .rflags = RFLAGS_FIXED,
		.rsp = vt_stack_top(env, VT_PG_R3_STACK, 1), .ss = env->user_ss,
	};

	*(u64 *)ctx.rsp = vt_pa(env, VT_PG_VMXON); /* the memory operand */
	write_cr4(cr4 & ~(CR4_SMEP | CR4_SMAP));
	write_cr3(vt_pa(env, VT_PG_USER_PT));
	tg_fault_vector = TG_NO_FAULT;
	tg_fault_recover = (u64)vt_r3_fault;
	tg_ring3_enter(&ctx);
	tg_fault_recover = 0;
	write_cr3(cr3);
	write_cr4(cr4);
	wrmsr(MSR_IA32_FS_BASE, fs);
	wrmsr(MSR_IA32_GS_BASE, gs);
	*error = tg_fault_error;
	return ctx.rax == VT_R3_FAULTED ? tg_fault_vector : TG_NO_FAULT;
}

bool vt_setup(struct vt_env *env, void *image, void *systab, const char *prog)
{
	EFI_SYSTEM_TABLE *st = systab;
	EFI_PHYSICAL_ADDRESS pages = 0xffffffffULL;
	EFI_STATUS s;
	u32 r[4];

	(void)image;
	env->prog = prog;
	tg_start(prog, true);
	env->have_table = tg_find_table(st, &env->table);
	s = uefi_call_wrapper(st->BootServices->AllocatePages, 4, AllocateMaxAddress,
			      EfiLoaderCode, VT_PAGES, &pages);
	if (EFI_ERROR(s)) {
		tg_printf("%s: FAIL setup: AllocatePages: status %lx\n", prog, s);
		return false;
	}
	env->pages = (u8 *)pages;
	SetMem(env->pages, VT_PAGES * PAGE_SIZE, 0);

	/* From here on no firmware code runs: interrupts off, the PICs
	 * masked (L2 runs with RFLAGS.IF = 1 in some checks). */
	asm volatile("cli");
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	env->cs = read_cs();
	env->ds = read_ds();
	if (!vt_build_tables(env)) {
		tg_printf("%s: FAIL setup: firmware GDT too large\n", prog);
		return false;
	}
	vt_build_user_pt(env);

	env->nestvisor = tg_nestvisor_present();
	tg_cpuid(1, 0, r);
	env->vmx_ok = r[2] & CPUID_1_ECX_VMX;
	if (env->vmx_ok)
		vt_read_caps(&env->caps);
	tg_printf("%s: note: %s, VMX %s, IA32_VMX_BASIC %lx, MISC %lx, MAXPHYADDR %u\n",
		  prog, env->nestvisor ? "under nestvisor" : "no nestvisor (bare hardware)",
		  env->vmx_ok ? "offered" : "NOT offered", env->caps.basic, env->caps.misc,
		  env->caps.maxphyaddr);
	if (env->have_table)
		tg_printf("%s: note: monitor memory %lx size %lx\n", prog,
			  env->table.monitor_base, env->table.monitor_size);
	return true;
}
