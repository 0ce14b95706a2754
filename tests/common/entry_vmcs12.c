/* The model of the nested VM-entry check tests (entry_vmcs12.h): the
 * capability sets, the L1 facts, the fake L1 memory and the known-good
 * VMCS12 with its presets. */
#include <string.h>
#include <vmcs.h>
#include <msr.h>
#include <cpu.h>
#include "entry_vmcs12.h"
#include "vmx_offer.h"

/* Bochs corei7_skylake_x (docs: /work/shared/platform.md). */
const u64 ec_hw_msrs[EC_NCAPS] = {
	0x00d810000000002bULL, 0x0000007f00000016ULL, 0xf7f9fffe0401e172ULL,
	0x007fffff00036dffULL, 0x0000ffff000011ffULL, 0x00000000600401e0ULL,
	0x80000021ULL, 0xffffffffULL, 0x2000ULL, 0x3727ffULL, 0x34ULL,
	0x02177fff00000000ULL, 0x00000f0106334141ULL, 0x0000007f00000016ULL,
	0xf7f9fffe04006172ULL, 0x007fffff00036dfbULL, 0x0000ffff000011fbULL, 1ULL,
};

/* A control capability cut down to what L1 is offered (plus the
 * default-1 bits). */
static u64 offer(u64 cap, u32 offered)
{
	u32 lo = (u32)cap, hi = (u32)(cap >> 32);

	return ((u64)(hi & (offered | lo)) << 32) | lo;
}

void ec_build_caps(struct nested_caps *c, enum ec_caps_kind kind)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < EC_NCAPS; i++)
		c->msr[i] = ec_hw_msrs[i];
	if (kind == CAPS_HW)
		return;
	/* BASIC: own revision, 4 KiB, WB, bit 54 as hardware, TRUE controls. */
	CAPM(c, MSR_IA32_VMX_BASIC) = (6ULL << 50) | (1ULL << 44) | BIT(54) | BIT(55) | T_REVISION;
	CAPM(c, MSR_IA32_VMX_PINBASED_CTLS) = offer(ec_hw_msrs[1], OFFER_PIN);
	CAPM(c, MSR_IA32_VMX_TRUE_PINBASED_CTLS) = offer(ec_hw_msrs[13], OFFER_PIN);
	CAPM(c, MSR_IA32_VMX_PROCBASED_CTLS) = offer(ec_hw_msrs[2], OFFER_PROC);
	CAPM(c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS) = offer(ec_hw_msrs[14], OFFER_PROC);
	CAPM(c, MSR_IA32_VMX_PROCBASED_CTLS2) = offer(ec_hw_msrs[11], OFFER_PROC2);
	CAPM(c, MSR_IA32_VMX_EXIT_CTLS) = offer(ec_hw_msrs[3], OFFER_EXIT);
	CAPM(c, MSR_IA32_VMX_TRUE_EXIT_CTLS) = offer(ec_hw_msrs[15], OFFER_EXIT);
	CAPM(c, MSR_IA32_VMX_ENTRY_CTLS) = offer(ec_hw_msrs[4], OFFER_ENTRY);
	CAPM(c, MSR_IA32_VMX_TRUE_ENTRY_CTLS) = offer(ec_hw_msrs[16], OFFER_ENTRY);
	/* MISC: LMA store, HLT only, 4 CR3 targets, bits 29/30 as hardware. */
	CAPM(c, MSR_IA32_VMX_MISC) = BIT(5) | BIT(6) | (4ULL << 16) | BIT(29) | BIT(30);
	CAPM(c, MSR_IA32_VMX_EPT_VPID_CAP) = 0;
	CAPM(c, MSR_IA32_VMX_VMFUNC) = 0;
	if (kind == CAPS_POOR) {
		/* No TRUE controls, no HLT state, no CR3 targets, no
		 * zero-length software-event injection. */
		CAPM(c, MSR_IA32_VMX_BASIC) &= ~BIT(55);
		CAPM(c, MSR_IA32_VMX_MISC) = BIT(5);
	}
}

u8 ec_tmem[TMEM_SIZE];

/* Written so that gpa + len cannot wrap around: a huge gpa is refused,
 * not read from below the buffer. */
int ec_tmem_read(void *ctx, u64 gpa, void *buf, u32 len)
{
	(void)ctx;
	if (gpa < TMEM_BASE || gpa >= TMEM_BASE + TMEM_SIZE || len > TMEM_BASE + TMEM_SIZE - gpa)
		return -1;
	memcpy(buf, ec_tmem + (gpa - TMEM_BASE), len);
	return 0;
}

void ec_build_facts(struct l1_facts *f)
{
	*f = (struct l1_facts){
		.maxphyaddr = 39, .linear_width = 48, .l1_long_mode = true,
		.debugctl_valid = 0xffc3, /* LBR, BTF, bits 15:6 */
		.rtm = false, .current_vmcs_ptr = T_CURRENT,
		.read_gpa = ec_tmem_read,
	};
}

static void set(struct vmcs12 *v, u32 enc, u64 val)
{
	vmcs12_set(v, enc, val);
}

/* The fields of one side, host or guest, that are the same 64-bit kernel
 * on both. */
struct kernel_fields {
	u32 cr0, cr3, cr4, cs_sel, tr_sel, gs_base, tr_base, gdtr_base, idtr_base, pat, efer, rsp, rip;
};

static const struct kernel_fields host_fields = {
	HOST_CR0, HOST_CR3, HOST_CR4, HOST_CS_SELECTOR, HOST_TR_SELECTOR, HOST_GS_BASE,
	HOST_TR_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE, HOST_IA32_PAT, HOST_IA32_EFER,
	HOST_RSP, HOST_RIP,
};

static const struct kernel_fields guest_fields = {
	GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_CS_SELECTOR, GUEST_TR_SELECTOR, GUEST_GS_BASE,
	GUEST_TR_BASE, GUEST_GDTR_BASE, GUEST_IDTR_BASE, GUEST_IA32_PAT, GUEST_IA32_EFER,
	GUEST_RSP, GUEST_RIP,
};

/* A 64-bit Linux-like kernel at CPL 0: paging, the GDT, IDT, TSS and
 * per-CPU area at the same addresses for host and guest; each side has
 * its own CR3, stack and RIP. */
static void set_kernel(struct vmcs12 *v, const struct kernel_fields *k, u64 cr3, u64 rsp, u64 rip)
{
	set(v, k->cr0, 0x80050033);           /* PG WP NE ET MP PE */
	set(v, k->cr3, cr3);
	set(v, k->cr4, CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_VMXE);
	set(v, k->cs_sel, 0x10);
	set(v, k->tr_sel, 0x40);
	set(v, k->gs_base, 0xffff888000000000ULL);
	set(v, k->tr_base, 0xfffffe0000003000ULL);
	set(v, k->gdtr_base, 0xfffffe0000001000ULL);
	set(v, k->idtr_base, 0xfffffe0000000000ULL);
	set(v, k->pat, 0x0007040600070406ULL);
	set(v, k->efer, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
	set(v, k->rsp, rsp);
	set(v, k->rip, rip);
}

/* Host state: a 64-bit L1 kernel (FS base 0). */
static void build_host(struct vmcs12 *v)
{
	set_kernel(v, &host_fields, 0x1000, 0xffffc90000004000ULL, 0xffffffff81001000ULL);
	set(v, HOST_SS_SELECTOR, 0x18);
}

/* Guest state: a 64-bit L2 kernel in long mode at CPL 0. */
static void build_guest(struct vmcs12 *v)
{
	static const u32 sel[] = { GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_ES_SELECTOR };
	static const u32 lim[] = { GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_ES_LIMIT };
	static const u32 ar[] = { GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES, GUEST_ES_AR_BYTES };

	set_kernel(v, &guest_fields, 0x5000, 0xffffc90000008000ULL, 0xffffffff81000000ULL);
	set(v, GUEST_DR7, 0x400);
	set(v, GUEST_CS_LIMIT, 0xffffffff);
	set(v, GUEST_CS_AR_BYTES, 0xa09b);     /* code RX accessed, S, P, L, G */
	for (u32 i = 0; i < 3; i++) {          /* SS, DS, ES: data RW accessed */
		set(v, sel[i], 0x18);
		set(v, lim[i], 0xffffffff);
		set(v, ar[i], 0xc093);
	}
	set(v, GUEST_FS_AR_BYTES, VMX_AR_UNUSABLE);
	set(v, GUEST_GS_AR_BYTES, VMX_AR_UNUSABLE);
	set(v, GUEST_LDTR_AR_BYTES, VMX_AR_UNUSABLE);
	set(v, GUEST_TR_LIMIT, 0x67);
	set(v, GUEST_TR_AR_BYTES, 0x8b);       /* busy 64-bit TSS, P */
	set(v, GUEST_GDTR_LIMIT, 0x7f);
	set(v, GUEST_IDTR_LIMIT, 0xfff);
	set(v, GUEST_RFLAGS, RFLAGS_FIXED);
	set(v, VMCS_LINK_POINTER, ~0ULL);
}

void ec_build_vmcs12(struct vmcs12 *v)
{
	memset(v, 0, sizeof(*v));
	set(v, PIN_BASED_VM_EXEC_CONTROL, 0x16 | OFFER_PIN);
	set(v, CPU_BASED_VM_EXEC_CONTROL, 0x0401e172 | CPU_BASED_HLT_EXITING |
	    CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_ACTIVATE_SECONDARY);
	set(v, SECONDARY_VM_EXEC_CONTROL, SECONDARY_ENABLE_RDTSCP | SECONDARY_ENABLE_INVPCID |
	    SECONDARY_ENABLE_XSAVES);
	set(v, IO_BITMAP_A, 0x10000);
	set(v, IO_BITMAP_B, 0x11000);
	set(v, MSR_BITMAP, 0x12000);
	set(v, VM_EXIT_CONTROLS, 0x36dff | OFFER_EXIT);
	set(v, VM_ENTRY_CONTROLS, 0x11ff | OFFER_ENTRY);
	build_host(v);
	build_guest(v);
}

/* A 32-bit protected-mode L2 with PAE paging (PDPT in L1 memory). */
static void preset_guest32(struct vmcs12 *v)
{
	set(v, VM_ENTRY_CONTROLS, vmcs12_get(v, VM_ENTRY_CONTROLS) & ~VM_ENTRY_IA32E_MODE);
	set(v, GUEST_IA32_EFER, EFER_NXE);
	set(v, GUEST_CR3, T_PDPT);
	set(v, GUEST_CS_AR_BYTES, 0xc09b);
	set(v, GUEST_RIP, 0x100000);
	set(v, GUEST_GS_BASE, 0);
}

/* A virtual-8086 segment: selector 1000H, base 10000H, 64 KiB, data RW
 * accessed at DPL 3. */
static void preset_v86_seg(struct vmcs12 *v, u32 sel, u32 base, u32 lim, u32 ar)
{
	set(v, sel, 0x1000);
	set(v, base, 0x10000);
	set(v, lim, 0xffff);
	set(v, ar, 0xf3);
}

void ec_apply_preset(struct vmcs12 *v, struct l1_facts *f, enum ec_preset p)
{
	if (p == PRESET_NONE)
		return;
	preset_guest32(v);
	if (p == PRESET_L1_32) {
		f->l1_long_mode = false;
		set(v, VM_EXIT_CONTROLS, vmcs12_get(v, VM_EXIT_CONTROLS) & ~VM_EXIT_HOST_ADDR_SPACE_SIZE);
		set(v, HOST_IA32_EFER, 0);
		set(v, HOST_RIP, 0x1000);
	}
	if (p == PRESET_V86) {
		set(v, GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_VM);
		preset_v86_seg(v, GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR_BYTES);
		preset_v86_seg(v, GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES);
		preset_v86_seg(v, GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES);
		preset_v86_seg(v, GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES);
		preset_v86_seg(v, GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES);
		preset_v86_seg(v, GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES);
		set(v, GUEST_RIP, 0x100);
	}
}

void ec_start(struct nested_caps *c, struct l1_facts *f, struct vmcs12 *v,
	      enum ec_caps_kind kind, enum ec_preset p)
{
	memset(ec_tmem, 0, sizeof(ec_tmem));
	ec_build_caps(c, kind);
	ec_build_facts(f);
	ec_build_vmcs12(v);
	ec_apply_preset(v, f, p);
}
