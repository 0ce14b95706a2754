/* vmxtest / vmxfuzz: the current VMCS set up for a 64-bit L2 that shares
 * L1's address space (same CR3: identity map), GDT and selectors, with its
 * own stack, IDT and TSS. The host state is L1 as it runs now. Controls
 * are the wanted bits adjusted to what the capability MSRs allow (SDM A.3
 * "VM-Execution Controls" ...), so the same code works with Bochs's and
 * nestvisor's different offers. */
#include <efi.h>
#include <efilib.h>
#include "vmxtest.h"

#define DR7_FIXED 0x400ULL

struct vt_field {
	u32 enc;
	u64 val;
};

static bool vt_write_all(const struct vt_field *f, u32 n, struct tg_check *c)
{
	bool ok = true;

	for (u32 i = 0; i < n; i++) {
		u32 r = vt_vmwrite(f[i].enc, f[i].val);
		if (r != VT_OK)
			ok = tg_expect(c, false, "VMWRITE %x <- %lx: %s", f[i].enc, f[i].val,
				       vt_res_name(r));
	}
	return ok;
}

bool vt_vmcs_setup(struct vt_env *env, const struct vt_l2 *l2, struct tg_check *c)
{
	const struct vt_caps *k = &env->caps;
	u64 cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
	u32 proc = vt_adjust(l2->proc, k->proc0, k->proc1);
	u32 proc2 = l2->proc2 & k->proc2_1;
	struct desc_ptr idtr;
	u16 fs, gs, ss;
	u8 *l2_idt = vt_page(env, VT_PG_L2_IDT);

	asm volatile("mov %%fs, %0" : "=r"(fs));
	asm volatile("mov %%gs, %0" : "=r"(gs));
	asm volatile("mov %%ss, %0" : "=r"(ss));
	asm volatile("sidt %0" : "=m"(idtr));
	if (proc2)
		proc |= CPU_BASED_ACTIVATE_SECONDARY;
	for (int v = 0; v < 256; v++)
		tg_set_gate(l2_idt, v, (u64)vt_l2_isr_base + 16 * (u64)v, env->cs, 0);

	const struct vt_field f[] = {
		/* Controls (SDM 25.6-25.8). */
		{ PIN_BASED_VM_EXEC_CONTROL, vt_adjust(l2->pin, k->pin0, k->pin1) },
		{ CPU_BASED_VM_EXEC_CONTROL, proc },
		{ EXCEPTION_BITMAP, l2->exc_bitmap },
		{ PAGE_FAULT_ERROR_CODE_MASK, 0 },
		{ PAGE_FAULT_ERROR_CODE_MATCH, 0 },
		{ CR3_TARGET_COUNT, 0 },
		{ VM_EXIT_CONTROLS, vt_adjust(l2->exit | VM_EXIT_HOST_ADDR_SPACE_SIZE,
					      k->exit0, k->exit1) },
		{ VM_EXIT_MSR_STORE_COUNT, 0 },
		{ VM_EXIT_MSR_LOAD_COUNT, 0 },
		{ VM_ENTRY_CONTROLS, vt_adjust(l2->entry | VM_ENTRY_IA32E_MODE,
					       k->entry0, k->entry1) },
		{ VM_ENTRY_MSR_LOAD_COUNT, 0 },
		{ VM_ENTRY_INTR_INFO_FIELD, 0 },
		{ VM_ENTRY_EXCEPTION_ERROR_CODE, 0 },
		{ VM_ENTRY_INSTRUCTION_LEN, 0 },
		{ IO_BITMAP_A, vt_pa(env, VT_PG_IO_A) },
		{ IO_BITMAP_B, vt_pa(env, VT_PG_IO_B) },
		{ MSR_BITMAP, vt_pa(env, VT_PG_MSR_BITMAP) },
		{ TSC_OFFSET, 0 },
		{ CR0_GUEST_HOST_MASK, 0 },
		{ CR4_GUEST_HOST_MASK, 0 },
		{ CR0_READ_SHADOW, cr0 },
		{ CR4_READ_SHADOW, cr4 },
		{ VMCS_LINK_POINTER, ~0ULL },
		/* Guest state (SDM 25.4): L1's paging, L2's stack/IDT/TSS. */
		{ GUEST_CR0, cr0 },
		{ GUEST_CR3, cr3 },
		{ GUEST_CR4, cr4 },
		{ GUEST_DR7, DR7_FIXED },
		{ GUEST_IA32_DEBUGCTL, 0 },
		{ GUEST_RSP, l2->rsp },
		{ GUEST_RIP, l2->rip },
		{ GUEST_RFLAGS, l2->rflags | RFLAGS_FIXED },
		{ GUEST_CS_SELECTOR, env->cs },
		{ GUEST_CS_BASE, 0 },
		{ GUEST_CS_LIMIT, 0xffffffff },
		{ GUEST_CS_AR_BYTES, AR_CODE64 },
#define DATA_SEG(s) \
		{ GUEST_##s##_SELECTOR, env->ds }, { GUEST_##s##_BASE, 0 }, \
		{ GUEST_##s##_LIMIT, 0xffffffff }, { GUEST_##s##_AR_BYTES, AR_DATA }
		DATA_SEG(SS), DATA_SEG(DS), DATA_SEG(ES), DATA_SEG(FS), DATA_SEG(GS),
#undef DATA_SEG
		{ GUEST_LDTR_SELECTOR, 0 },
		{ GUEST_LDTR_BASE, 0 },
		{ GUEST_LDTR_LIMIT, 0 },
		{ GUEST_LDTR_AR_BYTES, AR_UNUSABLE },
		{ GUEST_TR_SELECTOR, env->tr },
		{ GUEST_TR_BASE, vt_pa(env, VT_PG_L2_TSS) },
		{ GUEST_TR_LIMIT, 0x67 },
		{ GUEST_TR_AR_BYTES, AR_TSS_BUSY },
		{ GUEST_GDTR_BASE, env->gdt_base },
		{ GUEST_GDTR_LIMIT, env->gdt_limit },
		{ GUEST_IDTR_BASE, (u64)l2_idt },
		{ GUEST_IDTR_LIMIT, 256 * 16 - 1 },
		{ GUEST_INTERRUPTIBILITY_INFO, 0 },
		{ GUEST_ACTIVITY_STATE, 0 },
		{ GUEST_PENDING_DBG_EXCEPTIONS, 0 },
		{ GUEST_SYSENTER_CS, 0 },
		{ GUEST_SYSENTER_ESP, 0 },
		{ GUEST_SYSENTER_EIP, 0 },
		/* Host state (SDM 25.5): L1 now. HOST_RSP/RIP: vt_enter_raw. */
		{ HOST_CR0, cr0 },
		{ HOST_CR3, cr3 },
		{ HOST_CR4, cr4 },
		{ HOST_CS_SELECTOR, env->cs },
		{ HOST_SS_SELECTOR, ss },
		{ HOST_DS_SELECTOR, env->ds },
		{ HOST_ES_SELECTOR, env->ds },
		{ HOST_FS_SELECTOR, fs },
		{ HOST_GS_SELECTOR, gs },
		{ HOST_TR_SELECTOR, env->tr },
		{ HOST_FS_BASE, rdmsr(MSR_IA32_FS_BASE) },
		{ HOST_GS_BASE, rdmsr(MSR_IA32_GS_BASE) },
		{ HOST_TR_BASE, vt_pa(env, VT_PG_TSS) },
		{ HOST_GDTR_BASE, env->gdt_base },
		{ HOST_IDTR_BASE, idtr.base },
		{ HOST_IA32_SYSENTER_CS, 0 },
		{ HOST_IA32_SYSENTER_ESP, 0 },
		{ HOST_IA32_SYSENTER_EIP, 0 },
	};
	if (!vt_write_all(f, ARRAY_SIZE(f), c))
		return false;
	if (proc & CPU_BASED_ACTIVATE_SECONDARY)
		return vt_write_all(&(struct vt_field){ SECONDARY_VM_EXEC_CONTROL, proc2 }, 1, c);
	return true;
}

/* A fresh VMCS in 'page', made current and set up for 'l2'. */
bool vt_load_fresh(struct vt_env *env, int page, const struct vt_l2 *l2, struct tg_check *c)
{
	u64 pa = vt_pa(env, page);

	vt_init_region(env, page);
	return vt_expect_res(c, "VMCLEAR", vt_vmclear(pa), VT_OK) &&
	       vt_expect_res(c, "VMPTRLD", vt_vmptrld(pa), VT_OK) &&
	       vt_vmcs_setup(env, l2, c);
}
