/* Operands of the VMX instructions L1 executes, decoded from the VM-exit
 * instruction-information field and the exit qualification, and the
 * faults every VMX instruction checks before it does anything.
 * SDM Vol. 3C 28.2.5 "Information for VM Exits Due to Instruction
 * Execution" (tables "Format of the VM-Exit Instruction-Information Field
 * as Used for VMCLEAR, VMPTRLD, VMPTRST, VMXON, XRSTORS, and XSAVES",
 * "... for VMREAD and VMWRITE", "... for INVEPT, INVPCID, and INVVPID"),
 * 28.2.1 "Basic VM-Exit Information" (the exit qualification holds the
 * displacement, already sign-extended to 64 bits and, with RIP-relative
 * addressing, already added to RIP), Vol. 3A 3.4 and 5.3 (segment limits
 * and types) and Vol. 3C chapter 31 (each instruction's "Operation").
 * Pure logic: compiled into the monitor and the host unit tests. */
#ifndef NV_NESTED_OPERAND_H
#define NV_NESTED_OPERAND_H

#include <nestvisor/types.h>

/* VM-exit instruction-information field. Bits that a table marks
 * "undefined" for an instruction must not be used for it. */
#define VMX_INFO_SCALE_MASK 0x3u          /* bits 1:0: index * 1, 2, 4, 8 */
#define VMX_INFO_REG1_SHIFT 3             /* bits 6:3: VMREAD/VMWRITE register operand */
#define VMX_INFO_REG_MASK 0xfu
#define VMX_INFO_ADDR_SIZE_SHIFT 7        /* bits 9:7: 0 16-bit, 1 32-bit, 2 64-bit */
#define VMX_INFO_ADDR_SIZE_MASK 0x7u
#define VMX_INFO_REG_OPERAND (1u << 10)   /* VMREAD/VMWRITE: 1 register, 0 memory */
#define VMX_INFO_SEG_SHIFT 15             /* bits 17:15: segment register */
#define VMX_INFO_SEG_MASK 0x7u
#define VMX_INFO_INDEX_SHIFT 18           /* bits 21:18: index register */
#define VMX_INFO_INDEX_INVALID (1u << 22)
#define VMX_INFO_BASE_SHIFT 23            /* bits 26:23: base register */
#define VMX_INFO_BASE_INVALID (1u << 27)
#define VMX_INFO_REG2_SHIFT 28            /* bits 31:28: VMREAD/VMWRITE field, INVxxx type */

/* Segment registers in the SDM's numbering (the instruction-information
 * field uses it). */
enum vmx_seg {
	VMX_SEG_ES = 0,
	VMX_SEG_CS = 1,
	VMX_SEG_SS = 2,
	VMX_SEG_DS = 3,
	VMX_SEG_FS = 4,
	VMX_SEG_GS = 5,
	VMX_SEG_COUNT = 6,
};

/* General registers in the SDM's numbering: 0 RAX, 1 RCX, 2 RDX, 3 RBX,
 * 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8..15 R8..R15. */
#define VMX_GPR_COUNT 16

struct seg_state {
	u64 base;
	u32 limit;   /* byte granular, as the VMCS holds it */
	u32 ar;      /* VMCS access-rights format (vmcs.h VMX_AR_*) */
};

/* What L1's CPU state was when its VMX instruction exited. */
struct operand_ctx {
	u64 gpr[VMX_GPR_COUNT];
	struct seg_state seg[VMX_SEG_COUNT];
	bool long_mode;  /* IA32_EFER.LMA && CS.L: 64-bit mode */
	bool cs_db;      /* CS.D/B (default sizes 32 when set, outside 64-bit mode) */
	bool la57;       /* CR4.LA57: 57-bit canonical addresses in 64-bit mode */
};

enum operand_fault {
	OPF_NONE,
	OPF_GP,  /* #GP(0) */
	OPF_SS,  /* #SS(0) */
	OPF_UD,  /* #UD */
};

struct vmx_mem_operand {
	u64 linear;
	u8 seg;        /* enum vmx_seg */
	u8 addr_size;  /* 2, 4 or 8 */
};

/* The memory operand of VMCLEAR/VMPTRLD/VMPTRST/VMXON/INVEPT/INVVPID/
 * INVPCID, or of VMREAD/VMWRITE when bit 10 of instr_info is 0, with the
 * protection checks the instruction makes on a 'size'-byte access (read,
 * or write when 'write'). OPF_UD for an encoding the CPU never reports
 * (address size or segment out of range). */
enum operand_fault vmx_decode_mem_operand(u32 instr_info, u64 qualification,
					  const struct operand_ctx *ctx, u32 size,
					  bool write, struct vmx_mem_operand *out);

static inline bool vmx_info_is_reg_operand(u32 instr_info)
{
	return instr_info & VMX_INFO_REG_OPERAND;
}

/* VMREAD destination / VMWRITE source register (when bit 10 is set). */
static inline u8 vmx_info_reg1(u32 instr_info)
{
	return (instr_info >> VMX_INFO_REG1_SHIFT) & VMX_INFO_REG_MASK;
}

/* VMREAD/VMWRITE: the register holding the field encoding. INVEPT,
 * INVPCID, INVVPID: the register holding the type. */
static inline u8 vmx_info_reg2(u32 instr_info)
{
	return (instr_info >> VMX_INFO_REG2_SHIFT) & VMX_INFO_REG_MASK;
}

/* VMREAD/VMWRITE and the INVxxx type operand are 64 bits in 64-bit mode
 * and 32 bits outside it (SDM 31.3, VMREAD "Description"). */
static inline u32 vmx_operand_size(const struct operand_ctx *ctx)
{
	return ctx->long_mode ? 8 : 4;
}

/* Register 'reg' at the operand size. */
u64 vmx_reg_read(const struct operand_ctx *ctx, u8 reg);

/* #UD and #GP(0) checks at the top of every VMX instruction other than
 * VMXON (SDM 31.3, e.g. VMPTRLD "Operation"): #UD outside VMX operation,
 * with CR0.PE = 0, RFLAGS.VM = 1 or in compatibility mode; then #GP(0) at
 * CPL > 0. cr0/rflags/efer are as L1 sees them. */
enum operand_fault vmx_insn_precheck(bool in_vmx_operation, u64 cr0, u64 rflags,
				     u64 efer, u32 cs_ar, int cpl);

struct vmxon_state {
	bool in_vmx_operation;
	u64 cr0, cr4, rflags, efer;          /* as L1 sees them */
	u32 cs_ar;
	int cpl;
	u64 feature_control;                 /* IA32_FEATURE_CONTROL as L1 sees it */
	u64 cr0_fixed0, cr0_fixed1;          /* IA32_VMX_CR0_FIXED0/1 offered to L1 */
	u64 cr4_fixed0, cr4_fixed1;
};

enum vmxon_result {
	VMXON_OK,
	VMXON_UD,
	VMXON_GP,                 /* #GP(0) */
	VMXON_VMFAIL_IN_ROOT,     /* VMfail(VMXERR_VMXON_IN_ROOT) */
	VMXON_VMFAIL_INVALID,     /* VMfailInvalid */
};

/* The first failure in the order of the VMXON "Operation" pseudo-code
 * (SDM 31.3 VMXON), up to reading the operand. Assumes L1 is outside SMX
 * operation, not in SMM and not in A20M mode (L0 offers none of these). */
enum vmxon_result vmxon_precheck(const struct vmxon_state *s);

/* The VMXON region checks after the operand is read: 4-KByte aligned,
 * within MAXPHYADDR, revision identifier with bit 31 clear. */
enum vmxon_result vmxon_region_check(u64 addr, u32 maxphyaddr, u32 rev_in_memory,
				     u32 rev_supported);

/* A VMCS/VMXON pointer as VMCLEAR/VMPTRLD/VMXON require it: 4-KByte
 * aligned and no bit set at or above MAXPHYADDR. */
static inline bool vmx_phys_ptr_valid(u64 addr, u32 maxphyaddr)
{
	if (addr & (PAGE_SIZE - 1))
		return false;
	return maxphyaddr >= 64 || (addr >> maxphyaddr) == 0;
}

#endif
