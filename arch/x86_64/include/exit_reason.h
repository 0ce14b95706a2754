/* VM-exit reasons and the decoders for the exit information fields.
 * SDM Vol. 3C, Appendix C "VMX Basic Exit Reasons", and "Basic VM-Exit
 * Information" in the chapter "VM Exits" (tables "Exit Qualification for
 * ..."). Pure logic: compiled into the monitor and the host unit tests. */
#ifndef NV_EXIT_REASON_H
#define NV_EXIT_REASON_H

#include <nestvisor/types.h>

enum exit_reason {
	EXIT_REASON_EXCEPTION_NMI = 0,
	EXIT_REASON_EXTERNAL_INTERRUPT = 1,
	EXIT_REASON_TRIPLE_FAULT = 2,
	EXIT_REASON_INIT_SIGNAL = 3,
	EXIT_REASON_SIPI = 4,
	EXIT_REASON_IO_SMI = 5,
	EXIT_REASON_OTHER_SMI = 6,
	EXIT_REASON_INTERRUPT_WINDOW = 7,
	EXIT_REASON_NMI_WINDOW = 8,
	EXIT_REASON_TASK_SWITCH = 9,
	EXIT_REASON_CPUID = 10,
	EXIT_REASON_GETSEC = 11,
	EXIT_REASON_HLT = 12,
	EXIT_REASON_INVD = 13,
	EXIT_REASON_INVLPG = 14,
	EXIT_REASON_RDPMC = 15,
	EXIT_REASON_RDTSC = 16,
	EXIT_REASON_RSM = 17,
	EXIT_REASON_VMCALL = 18,
	EXIT_REASON_VMCLEAR = 19,
	EXIT_REASON_VMLAUNCH = 20,
	EXIT_REASON_VMPTRLD = 21,
	EXIT_REASON_VMPTRST = 22,
	EXIT_REASON_VMREAD = 23,
	EXIT_REASON_VMRESUME = 24,
	EXIT_REASON_VMWRITE = 25,
	EXIT_REASON_VMXOFF = 26,
	EXIT_REASON_VMXON = 27,
	EXIT_REASON_CR_ACCESS = 28,
	EXIT_REASON_DR_ACCESS = 29,
	EXIT_REASON_IO_INSTRUCTION = 30,
	EXIT_REASON_RDMSR = 31,
	EXIT_REASON_WRMSR = 32,
	EXIT_REASON_ENTRY_FAIL_GUEST_STATE = 33,
	EXIT_REASON_ENTRY_FAIL_MSR_LOADING = 34,
	EXIT_REASON_MWAIT = 36,
	EXIT_REASON_MONITOR_TRAP_FLAG = 37,
	EXIT_REASON_MONITOR = 39,
	EXIT_REASON_PAUSE = 40,
	EXIT_REASON_ENTRY_FAIL_MACHINE_CHECK = 41,
	EXIT_REASON_TPR_BELOW_THRESHOLD = 43,
	EXIT_REASON_APIC_ACCESS = 44,
	EXIT_REASON_VIRTUALIZED_EOI = 45,
	EXIT_REASON_GDTR_IDTR = 46,
	EXIT_REASON_LDTR_TR = 47,
	EXIT_REASON_EPT_VIOLATION = 48,
	EXIT_REASON_EPT_MISCONFIG = 49,
	EXIT_REASON_INVEPT = 50,
	EXIT_REASON_RDTSCP = 51,
	EXIT_REASON_PREEMPTION_TIMER = 52,
	EXIT_REASON_INVVPID = 53,
	EXIT_REASON_WBINVD = 54,
	EXIT_REASON_XSETBV = 55,
	EXIT_REASON_APIC_WRITE = 56,
	EXIT_REASON_RDRAND = 57,
	EXIT_REASON_INVPCID = 58,
	EXIT_REASON_VMFUNC = 59,
	EXIT_REASON_ENCLS = 60,
	EXIT_REASON_RDSEED = 61,
	EXIT_REASON_PML_FULL = 62,
	EXIT_REASON_XSAVES = 63,
	EXIT_REASON_XRSTORS = 64,
	EXIT_REASON_SPP = 66,
	EXIT_REASON_UMWAIT = 67,
	EXIT_REASON_TPAUSE = 68,
	EXIT_REASON_LOADIWKEY = 69,
};

/* "UNKNOWN" for numbers the SDM does not define. */
const char *exit_reason_name(u32 basic);

/* Exit-reason field layout (SDM "Basic VM-Exit Information", in the VMCS
 * chapter "VM-Exit Information Fields"). */
#define EXIT_REASON_BASIC_MASK 0xffffu
#define EXIT_REASON_ENCLAVE BIT(27)       /* exit from enclave mode */
#define EXIT_REASON_PENDING_MTF BIT(28)   /* pending MTF VM exit */
#define EXIT_REASON_FROM_VMX_ROOT BIT(29) /* exit from VMX root (SMM dual monitor) */
#define EXIT_REASON_ENTRY_FAIL BIT(31)    /* VM-entry failure */

struct exit_reason_info {
	u16 basic;
	bool enclave;
	bool pending_mtf;
	bool from_vmx_root;
	bool entry_failure;
};

struct exit_reason_info exit_reason_decode(u32 raw);

/* Control-register accesses (SDM table "Exit Qualification for
 * Control-Register Accesses"). */
enum cr_access_type {
	CR_ACCESS_MOV_TO = 0,
	CR_ACCESS_MOV_FROM = 1,
	CR_ACCESS_CLTS = 2,
	CR_ACCESS_LMSW = 3,
};

#define CR_QUAL_CR_MASK 0xfull         /* bits 3:0 control register number */
#define CR_QUAL_TYPE_SHIFT 4           /* bits 5:4 access type */
#define CR_QUAL_TYPE_MASK 0x3ull
#define CR_QUAL_LMSW_MEMORY BIT(6)     /* LMSW operand type: 1 = memory */
#define CR_QUAL_GPR_SHIFT 8            /* bits 11:8 MOV CR general register */
#define CR_QUAL_GPR_MASK 0xfull
#define CR_QUAL_LMSW_DATA_SHIFT 16     /* bits 31:16 LMSW source data */
#define CR_QUAL_LMSW_DATA_MASK 0xffffull

struct cr_access {
	u8 cr;
	u8 type;   /* enum cr_access_type */
	u8 gpr;    /* 0=RAX, 1=RCX, 2=RDX, 3=RBX, 4=RSP, 5=RBP, 6=RSI, 7=RDI, 8..15=R8..R15 */
	u16 lmsw_source_data;
	bool lmsw_memory;
};

struct cr_access cr_access_decode(u64 qual);

/* I/O instructions (SDM table "Exit Qualification for I/O Instructions"). */
#define IO_QUAL_SIZE_MASK 0x7ull   /* bits 2:0 size - 1 (0, 1 or 3) */
#define IO_QUAL_IN BIT(3)          /* direction: 1 = IN */
#define IO_QUAL_STRING BIT(4)      /* INS/OUTS */
#define IO_QUAL_REP BIT(5)         /* REP prefixed */
#define IO_QUAL_IMM BIT(6)         /* operand encoding: 1 = immediate */
#define IO_QUAL_PORT_SHIFT 16      /* bits 31:16 port number */
#define IO_QUAL_PORT_MASK 0xffffull

struct io_access {
	u16 port;
	u8 size;   /* 1, 2 or 4 bytes */
	bool in;
	bool string;
	bool rep;
	bool imm;
};

struct io_access io_access_decode(u64 qual);

/* EPT violations (SDM table "Exit Qualification for EPT Violations"). */
#define EPT_QUAL_READ BIT(0)
#define EPT_QUAL_WRITE BIT(1)
#define EPT_QUAL_EXEC BIT(2)
#define EPT_QUAL_READABLE BIT(3)
#define EPT_QUAL_WRITABLE BIT(4)
#define EPT_QUAL_EXECUTABLE BIT(5)
#define EPT_QUAL_GLA_VALID BIT(7)
#define EPT_QUAL_GLA_TRANSLATION BIT(8) /* valid only if GLA_VALID */
#define EPT_QUAL_NMI_UNBLOCKING BIT(12)

struct ept_violation {
	bool read, write, exec;                   /* the access that faulted */
	bool readable, writable, executable;      /* what the entries allowed */
	bool gla_valid, gla_is_translation;
	bool nmi_unblocking;
};

struct ept_violation ept_violation_decode(u64 qual);

/* VM-exit interruption information and VM-entry interruption information
 * share this layout (SDM "VM-Entry Controls for Event Injection" and
 * "Information for VM Exits Due to Vectored Events"). */
enum intr_type {
	INTR_TYPE_EXT_INTR = 0,
	INTR_TYPE_NMI = 2,
	INTR_TYPE_HW_EXCEPTION = 3,
	INTR_TYPE_SW_INT = 4,
	INTR_TYPE_PRIV_SW_EXCEPTION = 5,
	INTR_TYPE_SW_EXCEPTION = 6,
	INTR_TYPE_OTHER = 7,
};

#define INTR_INFO_VECTOR_MASK 0xffu     /* bits 7:0 */
#define INTR_INFO_TYPE_SHIFT 8          /* bits 10:8 */
#define INTR_INFO_TYPE_MASK 0x7u
#define INTR_INFO_ERROR_CODE BIT(11)    /* error code valid / deliver error code */
#define INTR_INFO_NMI_UNBLOCKING BIT(12) /* NMI unblocking due to IRET (exit only) */
#define INTR_INFO_VALID BIT(31)

struct intr_info {
	u8 vector;
	u8 type;   /* enum intr_type */
	bool error_code_valid;
	bool nmi_unblocking;
	bool valid;
};

struct intr_info intr_info_decode(u32 raw);

/* VM-entry interruption-information field for injecting an event: valid set,
 * bit 12 clear (reserved on entry). */
u32 intr_info_encode(u8 vector, u8 type, bool deliver_error_code);

#endif
