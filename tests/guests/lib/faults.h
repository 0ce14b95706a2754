/* The test guests' exception handling, descriptor tables and ring 3.
 *
 * Fault catching (faults_asm.asm): before an instruction that may fault,
 * store a recovery address in tg_fault_recover; the handlers of vectors
 * 0-31 record the vector, error code and RIP and resume there (clearing
 * tg_fault_recover). An exception with no recovery address set goes to
 * tg_unexpected_fault(): reported, rather than left to the firmware's
 * handler to hang silently. */
#ifndef TG_FAULTS_H
#define TG_FAULTS_H

#include <nestvisor/types.h>
#include <cpu.h>

#pragma GCC visibility push(hidden)

#define TG_NO_FAULT 0xffffffffu
#define TG_EXCEPTIONS 32
#define TG_VEC_RING0_RETURN 0x80 /* DPL-3 gate: ring 3 returns to ring 0 */

extern volatile u64 tg_fault_recover;
extern volatile u32 tg_fault_vector;
extern volatile u64 tg_fault_error;
extern volatile u64 tg_fault_rip;
extern void (*const tg_isr_table[TG_EXCEPTIONS])(void);
void tg_isr_ring0_return(void);
const char *tg_vector_name(u32 vec); /* "#UD", "#GP", "#PF", "no fault" */

/* Inline-assembly brackets of a guarded instruction: label 1 (right after
 * it) is the recovery address. The instruction may clobber r11. */
#define TG_GUARD_BEGIN \
	"leaq 1f(%%rip), %%r11\n\tmovq %%r11, tg_fault_recover(%%rip)\n\t"
#define TG_GUARD_END "\n1:\n\tmovq $0, tg_fault_recover(%%rip)"

/* Guarded instructions: each returns the vector of the fault it raised,
 * or TG_NO_FAULT (a faulting read yields 0). */
u32 tg_rdmsr_safe(u32 msr, u64 *val);
u32 tg_wrmsr_safe(u32 msr, u64 val);
u32 tg_write_cr4_safe(u64 val);
u32 tg_read64_safe(u64 addr, u64 *val);
u32 tg_write64_safe(u64 addr, u64 val);

/* 64-bit interrupt gate (SDM Vol. 3A, 6.14.1 "64-Bit Mode IDT"). */
void tg_set_gate(void *idt, int vec, u64 handler, u16 cs, int dpl);
/* Copies the current (firmware's) IDT into 'idt' (one page), points
 * vectors 0-31 at the fault stubs and loads it. Interrupts must be off.
 * The firmware's IDTR goes to *fw. */
void tg_install_idt(void *idt, u16 cs, struct desc_ptr *fw);

/* 64-bit TSS (SDM Vol. 3A, 8.7 "Task Management in 64-bit Mode"). */
struct tg_tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tg_tss64) == 104, "the CPU reads this layout");

/* A GDT for ring 3: the firmware's descriptors, then user data, user code
 * and a TSS whose RSP0 is 'rsp0' (no I/O bitmap: IN/OUT fault at CPL 3). */
struct tg_gdt {
	struct desc_ptr gdtr;
	u16 user_cs, user_ss, tss_sel;
};
/* Builds it in the page 'gdt' from the firmware's 'fw'; false if the
 * firmware's GDT leaves no room. Loads nothing. */
bool tg_build_gdt(u64 *gdt, struct tg_tss64 *tss, u64 rsp0, const struct desc_ptr *fw,
		  struct tg_gdt *out);

/* Ring-3 entry (faults_asm.asm): IRETQ to ring 3 with RAX..RDX from *ctx;
 * ring 3 comes back with "int TG_VEC_RING0_RETURN" (a DPL-3 gate to
 * tg_isr_ring0_return), which stores RAX..RDX into *ctx and resumes the
 * caller on its own stack with its own segment registers. */
struct tg_ring3_ctx {
	u64 rip, cs, rflags, rsp, ss;
	u64 rax, rbx, rcx, rdx;
	u64 frame_cs; /* CS of the "int 0x80" frame: where it came from */
};
void tg_ring3_enter(struct tg_ring3_ctx *ctx);

#pragma GCC visibility pop

#endif
