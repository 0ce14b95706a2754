/* L1's registers and memory, as the nested code reaches them from an exit
 * (VMCS01 current). Faults are injected into L1 the way the CPU would
 * raise them during the instruction. */
#include <vmx.h>
#include <vmcs.h>
#include <cpu.h>
#include <guest_state.h>
#include <nested/guest_access.h>
#include <nested/guest_walk.h>
#include <nested/operand.h>
#include <vmm.h>
#include <lib.h>

u32 nested_maxphyaddr(void)
{
	static u32 width;
	if (!width) {
		u32 a, b, c, d;
		cpuid_count(0x80000008, 0, &a, &b, &c, &d);
		width = a & 0xff;
	}
	return width;
}

bool nested_gpa_valid(u64 gpa, u64 len)
{
	if (len == 0 || gpa + len < gpa || (gpa + len - 1) >> nested_maxphyaddr())
		return false;
	return vmm_gpa_is_guest_ram(gpa, len);
}

void *nested_gpa_ptr(u64 gpa)
{
	return (void *)gpa; /* EPT01 and the monitor's page tables are 1:1 */
}

/* CPUID.80000001H:EDX.Page1GB[bit 26]: the guest sees the CPU's CPUID. */
static bool cpu_has_1g_pages(void)
{
	u32 a, b, c, d;
	cpuid_count(0x80000001, 0, &a, &b, &c, &d);
	return d & BIT(26);
}

static void operand_ctx_fill(struct vcpu *v, struct operand_ctx *c)
{
	for (u8 i = 0; i < VMX_GPR_COUNT; i++)
		c->gpr[i] = guest_gpr_read(v, i);
	for (u32 s = 0; s < VMX_SEG_COUNT; s++) {
		c->seg[s].base = vmcs_read(GUEST_ES_BASE + 2 * s);
		c->seg[s].limit = (u32)vmcs_read(GUEST_ES_LIMIT + 2 * s);
		c->seg[s].ar = (u32)vmcs_read(GUEST_ES_AR_BYTES + 2 * s);
	}
	c->long_mode = guest_in_64bit_mode();
	c->cs_db = vmcs_read(GUEST_CS_AR_BYTES) & VMX_AR_DB;
	c->la57 = vmcs_read(GUEST_CR4) & CR4_LA57;
}

int nested_mem_operand_decode(struct vcpu *v, u32 size, bool write, u64 *linear)
{
	struct operand_ctx ctx;
	struct vmx_mem_operand op;

	operand_ctx_fill(v, &ctx);
	enum operand_fault f = vmx_decode_mem_operand((u32)vmcs_read(VMX_INSTRUCTION_INFO),
						      vmcs_read(EXIT_QUALIFICATION), &ctx, size, write, &op);
	switch (f) {
	case OPF_NONE:
		*linear = op.linear;
		return -1;
	case OPF_SS:
		return EXC_SS;
	case OPF_UD:
		return EXC_UD;
	case OPF_GP:
	default:
		return EXC_GP;
	}
}

int nested_mem_operand(struct vcpu *v, u32 size, bool write, u64 *linear)
{
	int vector = nested_mem_operand_decode(v, size, write, linear);
	if (vector < 0)
		return 0;
	guest_inject_exception((u8)vector, vector != EXC_UD, 0);
	return -1;
}

int nested_read_l1(void *ctx, u64 gpa, void *buf, u32 len)
{
	(void)ctx;
	if (!nested_gpa_valid(gpa, len))
		return -1;
	memcpy(buf, nested_gpa_ptr(gpa), len);
	return 0;
}

void nested_read_l1_or_ones(u64 gpa, void *buf, u32 len)
{
	if (nested_read_l1(NULL, gpa, buf, len))
		memset(buf, 0xff, len);
}

static int write_phys(void *ctx, u64 gpa, const void *buf, u32 len)
{
	(void)ctx;
	if (!nested_gpa_valid(gpa, len))
		return -1;
	memcpy(nested_gpa_ptr(gpa), buf, len);
	return 0;
}

static int linear_access(struct vcpu *v, u64 linear, void *buf, u32 len, bool write)
{
	(void)v;
	u64 mask = vmcs_read(CR0_GUEST_HOST_MASK);
	struct guest_paging p = {
		.cr0 = (vmcs_read(GUEST_CR0) & ~mask) | (vmcs_read(CR0_READ_SHADOW) & mask),
		.cr3 = vmcs_read(GUEST_CR3),
		.cr4 = vmcs_read(GUEST_CR4),
		.efer = vmcs_read(GUEST_IA32_EFER),
		.maxphyaddr = nested_maxphyaddr(),
		.page_1g = cpu_has_1g_pages(),
	};
	const struct guest_mem_ops ops = { nested_read_l1, write_phys, NULL };
	u32 pfec;
	u64 fault_linear;
	/* VMX instructions run at CPL 0: supervisor data accesses, for which
	 * SMAP honours RFLAGS.AC (SDM 4.6 "Access Rights"). */
	u32 access = (write ? WALK_WRITE : 0) | (guest_cpl() == 3 ? WALK_USER : 0) |
		     ((vmcs_read(GUEST_RFLAGS) & RFLAGS_AC) ? WALK_AC : 0);

	int r = guest_linear_access(&p, linear, buf, len, access, &ops, &pfec, &fault_linear);
	if (r == GUEST_WALK_OK)
		return 0;
	if (r == GUEST_WALK_PF) {
		/* CR2 is not in the VMCS: it is the CPU's, and the monitor
		 * itself never faults on a page, so set it for the guest. */
		asm volatile("mov %0, %%cr2" : : "r"(fault_linear));
		guest_inject_exception(EXC_PF, true, pfec);
		return -1;
	}
	/* The paging structures or the target are outside L1 RAM (or are the
	 * monitor's memory): nothing is there for L1 to reach. */
	guest_inject_exception(EXC_GP, true, 0);
	return -1;
}

int nested_read_linear(struct vcpu *v, u64 linear, void *buf, u32 len)
{
	return linear_access(v, linear, buf, len, false);
}

int nested_write_linear(struct vcpu *v, u64 linear, const void *buf, u32 len)
{
	return linear_access(v, linear, (void *)buf, len, true);
}
