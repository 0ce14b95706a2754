/* vmxtest / vmxfuzz: the L1 environment (our own GDT with a TSS and ring-3
 * segments, our own IDT, page tables with user pages for CPL-3 checks),
 * the VMX capabilities, and guarded VMX instruction wrappers that report
 * the outcome as one code (SDM 31.2 "Conventions"). */
#include <efi.h>
#include <efilib.h>
#include "vmxtest.h"

volatile u64 vt_fault_recover;
volatile u32 vt_fault_vector = VT_NO_FAULT;
volatile u64 vt_fault_error;
volatile u64 vt_fault_rip;
u64 vt_last_rflags;

#define DESC_USER_DATA 0x00cff2000000ffffULL /* P, DPL 3, data RW, G, D/B */
#define DESC_USER_CODE 0x00affa000000ffffULL /* P, DPL 3, code RX, G, L */
#define DESC_TSS_AVAILABLE 0x89ULL           /* P, available 64-bit TSS */
#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_PS BIT(7)
#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "the CPU reads this layout");

void vt_cpuid(u32 leaf, u32 sub, u32 r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(sub));
}

u64 vt_rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (u64)hi << 32 | lo;
}

void vt_wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

/* Each guarded instruction registers label 1 as its recovery address and
 * starts with every arithmetic flag set, so that a VMX instruction must
 * clear the ones the SDM says it clears. */
#define GUARD_BEGIN "leaq 1f(%%rip), %%r11\n\tmovq %%r11, vt_fault_recover(%%rip)\n\t" \
	"pushq $0x8d7\n\tpopfq\n\t"
#define GUARD_END "\n1:\n\tpushfq\n\tpopq %[fl]\n\tmovq $0, vt_fault_recover(%%rip)"

u32 vt_rdmsr_safe(u32 msr, u64 *val)
{
	u32 lo = 0, hi = 0;
	u64 fl;

	vt_fault_vector = VT_NO_FAULT;
	asm volatile(GUARD_BEGIN "rdmsr" GUARD_END
		     : "+a"(lo), "+d"(hi), [fl] "=r"(fl) : "c"(msr) : "r11", "cc", "memory");
	*val = (u64)hi << 32 | lo;
	return vt_fault_vector;
}

static u32 vt_outcome(u64 fl)
{
	u64 err = 0, field = VM_INSTRUCTION_ERROR;

	vt_last_rflags = fl;
	if (vt_fault_vector != VT_NO_FAULT)
		return VT_FAULT(vt_fault_vector);
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

const char *vt_res_name(u32 res)
{
	static char bufs[4][40];
	static u32 next;
	char *b = bufs[next++ % 4];
	u32 v = res & 0xff;

	switch (VT_KIND(res)) {
	case VT_OK: return "VMsucceed";
	case VT_FAIL_INVALID: return "VMfailInvalid";
	case 0x200: vt_snprintf(b, 40, "VMfailValid(%u)", v); break;
	case 0x300:
		if (v == VEC_UD)
			return "#UD";
		if (v == VEC_GP)
			return "#GP";
		vt_snprintf(b, 40, "exception %u", v);
		break;
	case 0xf00: return "a VM exit";
	default: vt_snprintf(b, 40, "bad RFLAGS %lx", vt_last_rflags); break;
	}
	return b;
}

u32 vt_vmxon(u64 pa)
{
	u64 fl;

	vt_fault_vector = VT_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmxon %[m]" GUARD_END
		     : [fl] "=r"(fl) : [m] "m"(pa) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmxoff(void)
{
	u64 fl;

	vt_fault_vector = VT_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmxoff" GUARD_END : [fl] "=r"(fl) : : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmclear(u64 pa)
{
	u64 fl;

	vt_fault_vector = VT_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmclear %[m]" GUARD_END
		     : [fl] "=r"(fl) : [m] "m"(pa) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmptrld(u64 pa)
{
	u64 fl;

	vt_fault_vector = VT_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmptrld %[m]" GUARD_END
		     : [fl] "=r"(fl) : [m] "m"(pa) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmptrst(u64 *pa)
{
	u64 fl;

	vt_fault_vector = VT_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmptrst %[m]" GUARD_END
		     : [fl] "=r"(fl), [m] "=m"(*pa) : : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmread(u64 field, u64 *val)
{
	u64 fl, v = *val;

	vt_fault_vector = VT_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmread %[f], %[v]" GUARD_END
		     : [fl] "=r"(fl), [v] "+r"(v) : [f] "r"(field) : "r11", "cc", "memory");
	*val = v;
	return vt_outcome(fl);
}

u32 vt_vmread_mem(u64 field, u64 *mem)
{
	u64 fl;

	vt_fault_vector = VT_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmread %[f], %[m]" GUARD_END
		     : [fl] "=r"(fl), [m] "+m"(*mem) : [f] "r"(field) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmwrite(u64 field, u64 val)
{
	u64 fl;

	vt_fault_vector = VT_NO_FAULT;
	asm volatile(GUARD_BEGIN "vmwrite %[v], %[f]" GUARD_END
		     : [fl] "=r"(fl) : [f] "r"(field), [v] "r"(val) : "r11", "cc", "memory");
	return vt_outcome(fl);
}

u32 vt_vmwrite_mem(u64 field, const u64 *mem)
{
	u64 fl;

	vt_fault_vector = VT_NO_FAULT;
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
		vt_printf("%s: note: VMWRITE %lx <- %lx: %s\n", vt_prog, field, val,
			  vt_res_name(r));
	return r == VT_OK;
}

u32 vt_enter(struct vt_gprs *regs, int resume)
{
	u64 r;

	vt_fault_vector = VT_NO_FAULT;
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

	k->basic = vt_rdmsr(MSR_IA32_VMX_BASIC);
	k->revision = (u32)k->basic & 0x7fffffffu;
	true_ctls = k->basic & BIT(55);
#define CTLS(plain, truem, lo, hi) \
	v = vt_rdmsr(true_ctls ? (truem) : (plain)); k->lo = (u32)v; k->hi = (u32)(v >> 32)
	CTLS(MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS, pin0, pin1);
	CTLS(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, proc0, proc1);
	CTLS(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, exit0, exit1);
	CTLS(MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS, entry0, entry1);
#undef CTLS
	k->proc2_1 = k->proc1 & CPU_BASED_ACTIVATE_SECONDARY ?
		(u32)(vt_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) : 0;
	k->misc = vt_rdmsr(MSR_IA32_VMX_MISC);
	k->cr0_fixed0 = vt_rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	k->cr0_fixed1 = vt_rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	k->cr4_fixed0 = vt_rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	k->cr4_fixed1 = vt_rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	vt_cpuid(0x80000000u, 0, r);
	k->maxphyaddr = 36;
	if (r[0] >= 0x80000008u) {
		vt_cpuid(0x80000008u, 0, r);
		k->maxphyaddr = r[0] & 0xff;
	}
}

bool vt_vmx_enable(struct vt_env *env)
{
	u64 fc = 0;

	if (vt_rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc) != VT_NO_FAULT)
		return false;
	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		fc |= FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
		vt_wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
	}
	if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX))
		return false;
	(void)env;
	VT_WRITE_CR(4, VT_READ_CR(4) | CR4_VMXE);
	return true;
}

void vt_vmx_disable(void)
{
	VT_WRITE_CR(4, VT_READ_CR(4) & ~CR4_VMXE);
}

bool vt_init_region(struct vt_env *env, int page)
{
	u32 *p = (u32 *)vt_page(env, page);

	SetMem(p, PAGE_SIZE, 0);
	p[0] = env->caps.revision;
	return true;
}

/* ---- L1 environment ---- */

void vt_set_gate(void *idt, int vec, u64 off, u16 cs, int dpl)
{
	u64 *g = (u64 *)idt + 2 * vec;

	g[0] = (off & 0xffff) | (u64)cs << 16 | (u64)(0x8e | dpl << 5) << 40 |
	       (off >> 16 & 0xffff) << 48;
	g[1] = off >> 32;
}

/* Our GDT: the firmware's descriptors, then user data, user code, TSS. */
static bool vt_build_gdt(struct vt_env *env)
{
	struct vt_dtr fw, mine;
	u64 *gdt = (u64 *)vt_page(env, VT_PG_GDT);
	struct tss64 *tss = (void *)vt_page(env, VT_PG_TSS);
	u32 n;

	asm volatile("sgdt %0" : "=m"(fw));
	n = ((u32)fw.limit + 8) / 8;
	if (n + 4 > PAGE_SIZE / 8)
		return false;
	CopyMem(gdt, (void *)fw.base, fw.limit + 1u);
	gdt[n] = DESC_USER_DATA;
	gdt[n + 1] = DESC_USER_CODE;
	tss->rsp[0] = vt_stack_top(env, VT_PG_R0_STACK, VT_R0_STACK_PAGES);
	tss->iomap_base = sizeof(*tss);
	u64 b = (u64)tss, lim = sizeof(*tss) - 1;
	gdt[n + 2] = (lim & 0xffff) | (b & 0xffffff) << 16 | DESC_TSS_AVAILABLE << 40 |
		     (lim >> 16 & 0xf) << 48 | (b >> 24 & 0xff) << 56;
	gdt[n + 3] = b >> 32;
	env->user_ss = (u16)(n * 8 | 3);
	env->user_cs = (u16)((n + 1) * 8 | 3);
	env->tr = (u16)((n + 2) * 8);
	mine.base = (u64)gdt;
	mine.limit = (u16)((n + 4) * 8 - 1);
	env->gdt_base = mine.base;
	env->gdt_limit = mine.limit;
	asm volatile("lgdt %0" : : "m"(mine) : "memory");
	asm volatile("ltr %0" : : "r"(env->tr) : "memory");
	return true;
}

static void vt_build_idt(struct vt_env *env)
{
	struct vt_dtr fw, mine;
	u8 *idt = vt_page(env, VT_PG_IDT);

	asm volatile("sidt %0" : "=m"(fw));
	CopyMem(idt, (void *)fw.base, fw.limit + 1u < PAGE_SIZE ? fw.limit + 1u : PAGE_SIZE);
	vt_set_gate(idt, VEC_UD, (u64)vt_isr_ud, env->cs, 0);
	vt_set_gate(idt, VEC_GP, (u64)vt_isr_gp, env->cs, 0);
	vt_set_gate(idt, VEC_PF, (u64)vt_isr_pf, env->cs, 0);
	vt_set_gate(idt, VEC_RING0_RETURN, (u64)vt_isr_ring0_return, env->cs, 3);
	mine.base = (u64)idt;
	mine.limit = PAGE_SIZE - 1;
	env->idt_base = mine.base;
	asm volatile("lidt %0" : : "m"(mine) : "memory");
}

/* 4 GiB identity map in 2-MiB user pages: only loaded around CPL-3 checks
 * (OVMF maps everything supervisor-only). */
static void vt_build_user_pt(struct vt_env *env)
{
	u64 *pml4 = (u64 *)vt_page(env, VT_PG_USER_PT);
	u64 *pdpt = (u64 *)vt_page(env, VT_PG_USER_PT + 1);

	pml4[0] = (u64)pdpt | PTE_P | PTE_RW | PTE_US;
	for (u64 i = 0; i < 4; i++) {
		u64 *pd = (u64 *)vt_page(env, VT_PG_USER_PT + 2 + (int)i);
		pdpt[i] = (u64)pd | PTE_P | PTE_RW | PTE_US;
		for (u64 j = 0; j < 512; j++)
			pd[j] = (i << 30 | j << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;
	}
}

u64 vt_stack_top(const struct vt_env *env, int first_page, int pages)
{
	return vt_pa(env, first_page + pages) - 16;
}

/* Runs 'code' at CPL 3: it executes one instruction and comes back with
 * "int 0x80"; a fault resumes at vt_r3_fault. Returns the fault vector or
 * VT_NO_FAULT, and the error code. */
u32 vt_at_cpl3(struct vt_env *env, const u8 *code, u64 *error)
{
	u64 cr3 = VT_READ_CR(3), cr4 = VT_READ_CR(4);
	u64 fs = vt_rdmsr(MSR_IA32_FS_BASE), gs = vt_rdmsr(MSR_IA32_GS_BASE);
	u64 rsp = vt_stack_top(env, VT_PG_R3_STACK, 1), ret;

	*(u64 *)rsp = vt_pa(env, VT_PG_VMXON); /* the memory operand */
	VT_WRITE_CR(4, cr4 & ~(CR4_SMEP | CR4_SMAP));
	VT_WRITE_CR(3, vt_pa(env, VT_PG_USER_PT));
	vt_fault_vector = VT_NO_FAULT;
	vt_fault_recover = (u64)vt_r3_fault;
	ret = vt_ring3_call((u64)code, env->user_cs, env->user_ss, rsp);
	vt_fault_recover = 0;
	VT_WRITE_CR(3, cr3);
	VT_WRITE_CR(4, cr4);
	vt_wrmsr(MSR_IA32_FS_BASE, fs);
	vt_wrmsr(MSR_IA32_GS_BASE, gs);
	*error = vt_fault_error;
	return ret == VT_R3_FAULTED ? vt_fault_vector : VT_NO_FAULT;
}

static void vt_find_table(struct vt_env *env, EFI_SYSTEM_TABLE *st)
{
	EFI_GUID guid = NV_EFI_TABLE_GUID;

	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];
		if (CompareMem(&t->VendorGuid, &guid, sizeof(guid)) == 0) {
			CopyMem(&env->table, t->VendorTable, sizeof(env->table));
			env->have_table = true;
		}
	}
}

bool vt_setup(struct vt_env *env, void *image, void *systab, const char *prog)
{
	EFI_SYSTEM_TABLE *st = systab;
	EFI_PHYSICAL_ADDRESS pages = 0xffffffffULL;
	EFI_STATUS s;
	u32 r[4];

	(void)image;
	vt_prog = env->prog = prog;
	vt_printf("%s: start\n", prog);
	vt_find_table(env, st);
	s = uefi_call_wrapper(st->BootServices->AllocatePages, 4, AllocateMaxAddress,
			      EfiLoaderCode, VT_PAGES, &pages);
	if (EFI_ERROR(s)) {
		vt_printf("%s: FAIL setup: AllocatePages: status %lx\n", prog, s);
		return false;
	}
	env->pages = (u8 *)pages;
	SetMem(env->pages, VT_PAGES * PAGE_SIZE, 0);

	/* From here on no firmware code runs: interrupts off, the PICs
	 * masked (L2 runs with RFLAGS.IF = 1 in some checks). */
	asm volatile("cli");
	vt_outb(PIC1_DATA, 0xff);
	vt_outb(PIC2_DATA, 0xff);
	asm volatile("mov %%cs, %0" : "=r"(env->cs));
	asm volatile("mov %%ds, %0" : "=r"(env->ds));
	if (!vt_build_gdt(env)) {
		vt_printf("%s: FAIL setup: firmware GDT too large\n", prog);
		return false;
	}
	vt_build_idt(env);
	vt_build_user_pt(env);

	vt_cpuid(NV_CPUID_BASE, 0, r);
	env->nestvisor = r[1] == NV_CPUID_SIG_EBX && r[2] == NV_CPUID_SIG_ECX &&
			 r[3] == NV_CPUID_SIG_EDX;
	vt_cpuid(1, 0, r);
	env->vmx_ok = r[2] & CPUID_1_ECX_VMX;
	if (env->vmx_ok)
		vt_read_caps(&env->caps);
	vt_printf("%s: note: %s, VMX %s, IA32_VMX_BASIC %lx, MISC %lx, MAXPHYADDR %u\n",
		  prog, env->nestvisor ? "under nestvisor" : "no nestvisor (bare hardware)",
		  env->vmx_ok ? "offered" : "NOT offered", env->caps.basic, env->caps.misc,
		  env->caps.maxphyaddr);
	if (env->have_table)
		vt_printf("%s: note: monitor memory %lx size %lx\n", prog,
			  env->table.monitor_base, env->table.monitor_size);
	return true;
}
