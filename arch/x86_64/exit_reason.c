/* Names of VM-exit reasons and decoders for the exit information fields. */
#include "exit_reason.h"

#define NAME(r) [EXIT_REASON_##r] = #r

static const char *const exit_reason_names[] = {
	NAME(EXCEPTION_NMI),
	NAME(EXTERNAL_INTERRUPT),
	NAME(TRIPLE_FAULT),
	NAME(INIT_SIGNAL),
	NAME(SIPI),
	NAME(IO_SMI),
	NAME(OTHER_SMI),
	NAME(INTERRUPT_WINDOW),
	NAME(NMI_WINDOW),
	NAME(TASK_SWITCH),
	NAME(CPUID),
	NAME(GETSEC),
	NAME(HLT),
	NAME(INVD),
	NAME(INVLPG),
	NAME(RDPMC),
	NAME(RDTSC),
	NAME(RSM),
	NAME(VMCALL),
	NAME(VMCLEAR),
	NAME(VMLAUNCH),
	NAME(VMPTRLD),
	NAME(VMPTRST),
	NAME(VMREAD),
	NAME(VMRESUME),
	NAME(VMWRITE),
	NAME(VMXOFF),
	NAME(VMXON),
	NAME(CR_ACCESS),
	NAME(DR_ACCESS),
	NAME(IO_INSTRUCTION),
	NAME(RDMSR),
	NAME(WRMSR),
	NAME(ENTRY_FAIL_GUEST_STATE),
	NAME(ENTRY_FAIL_MSR_LOADING),
	NAME(MWAIT),
	NAME(MONITOR_TRAP_FLAG),
	NAME(MONITOR),
	NAME(PAUSE),
	NAME(ENTRY_FAIL_MACHINE_CHECK),
	NAME(TPR_BELOW_THRESHOLD),
	NAME(APIC_ACCESS),
	NAME(VIRTUALIZED_EOI),
	NAME(GDTR_IDTR),
	NAME(LDTR_TR),
	NAME(EPT_VIOLATION),
	NAME(EPT_MISCONFIG),
	NAME(INVEPT),
	NAME(RDTSCP),
	NAME(PREEMPTION_TIMER),
	NAME(INVVPID),
	NAME(WBINVD),
	NAME(XSETBV),
	NAME(APIC_WRITE),
	NAME(RDRAND),
	NAME(INVPCID),
	NAME(VMFUNC),
	NAME(ENCLS),
	NAME(RDSEED),
	NAME(PML_FULL),
	NAME(XSAVES),
	NAME(XRSTORS),
	NAME(SPP),
	NAME(UMWAIT),
	NAME(TPAUSE),
	NAME(LOADIWKEY),
};

const char *exit_reason_name(u32 basic)
{
	/* Gaps in the table (35, 38, 42, 65) are NULL: undefined reasons. */
	if (basic >= ARRAY_SIZE(exit_reason_names) || !exit_reason_names[basic])
		return "UNKNOWN";
	return exit_reason_names[basic];
}

struct exit_reason_info exit_reason_decode(u32 raw)
{
	struct exit_reason_info info = {
		.basic = raw & EXIT_REASON_BASIC_MASK,
		.enclave = raw & EXIT_REASON_ENCLAVE,
		.pending_mtf = raw & EXIT_REASON_PENDING_MTF,
		.from_vmx_root = raw & EXIT_REASON_FROM_VMX_ROOT,
		.entry_failure = raw & EXIT_REASON_ENTRY_FAIL,
	};
	return info;
}

struct cr_access cr_access_decode(u64 qual)
{
	struct cr_access a = {
		.cr = qual & CR_QUAL_CR_MASK,
		.type = (qual >> CR_QUAL_TYPE_SHIFT) & CR_QUAL_TYPE_MASK,
		.gpr = (qual >> CR_QUAL_GPR_SHIFT) & CR_QUAL_GPR_MASK,
		.lmsw_source_data = (qual >> CR_QUAL_LMSW_DATA_SHIFT) & CR_QUAL_LMSW_DATA_MASK,
		.lmsw_memory = qual & CR_QUAL_LMSW_MEMORY,
	};
	/* The SDM defines the operand type and source data only for LMSW and
	 * the register only for MOV CR: clear what the CPU leaves undefined. */
	if (a.type != CR_ACCESS_LMSW) {
		a.lmsw_source_data = 0;
		a.lmsw_memory = false;
	}
	if (a.type != CR_ACCESS_MOV_TO && a.type != CR_ACCESS_MOV_FROM)
		a.gpr = 0;
	return a;
}

struct io_access io_access_decode(u64 qual)
{
	struct io_access a = {
		/* Bits 2:0 hold the size minus one: 0, 1 or 3. */
		.size = (qual & IO_QUAL_SIZE_MASK) + 1,
		.in = qual & IO_QUAL_IN,
		.string = qual & IO_QUAL_STRING,
		.rep = qual & IO_QUAL_REP,
		.imm = qual & IO_QUAL_IMM,
		.port = (qual >> IO_QUAL_PORT_SHIFT) & IO_QUAL_PORT_MASK,
	};
	return a;
}

struct ept_violation ept_violation_decode(u64 qual)
{
	struct ept_violation v = {
		.read = qual & EPT_QUAL_READ,
		.write = qual & EPT_QUAL_WRITE,
		.exec = qual & EPT_QUAL_EXEC,
		.readable = qual & EPT_QUAL_READABLE,
		.writable = qual & EPT_QUAL_WRITABLE,
		.executable = qual & EPT_QUAL_EXECUTABLE,
		.gla_valid = qual & EPT_QUAL_GLA_VALID,
		.nmi_unblocking = qual & EPT_QUAL_NMI_UNBLOCKING,
	};
	/* Bit 8 is reserved (cleared) when bit 7 is 0. */
	v.gla_is_translation = v.gla_valid && (qual & EPT_QUAL_GLA_TRANSLATION);
	return v;
}

struct intr_info intr_info_decode(u32 raw)
{
	struct intr_info i = {
		.vector = raw & INTR_INFO_VECTOR_MASK,
		.type = (raw >> INTR_INFO_TYPE_SHIFT) & INTR_INFO_TYPE_MASK,
		.error_code_valid = raw & INTR_INFO_ERROR_CODE,
		.nmi_unblocking = raw & INTR_INFO_NMI_UNBLOCKING,
		.valid = raw & INTR_INFO_VALID,
	};
	return i;
}

u32 intr_info_encode(u8 vector, u8 type, bool deliver_error_code)
{
	u32 v = vector | ((u32)(type & INTR_INFO_TYPE_MASK) << INTR_INFO_TYPE_SHIFT) |
		INTR_INFO_VALID;

	if (deliver_error_code)
		v |= INTR_INFO_ERROR_CODE;
	return v;
}
