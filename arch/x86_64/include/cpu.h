/* x86-64 architectural definitions and instruction wrappers (SDM Vol. 3A
 * chapter 2 "System Architecture Overview"). */
#ifndef NESTVISOR_CPU_H
#define NESTVISOR_CPU_H

#include <nestvisor/types.h>

/* CR0 (SDM 2.5) */
#define CR0_PE BIT(0)  /* protection enable */
#define CR0_MP BIT(1)
#define CR0_EM BIT(2)
#define CR0_TS BIT(3)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)  /* numeric error: required in VMX operation */
#define CR0_WP BIT(16)
#define CR0_AM BIT(18)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR0_PG BIT(31) /* paging */

/* CR4 (SDM 2.5) */
#define CR4_VME BIT(0)
#define CR4_PVI BIT(1)
#define CR4_TSD BIT(2)
#define CR4_DE BIT(3)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_MCE BIT(6)
#define CR4_PGE BIT(7)
#define CR4_PCE BIT(8)
#define CR4_OSFXSR BIT(9)
#define CR4_OSXMMEXCPT BIT(10)
#define CR4_UMIP BIT(11)
#define CR4_LA57 BIT(12)
#define CR4_VMXE BIT(13) /* VMX enable */
#define CR4_SMXE BIT(14)
#define CR4_FSGSBASE BIT(16)
#define CR4_PCIDE BIT(17)
#define CR4_OSXSAVE BIT(18)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define CR4_PKE BIT(22)
#define CR4_CET BIT(23)

/* IA32_EFER (SDM 2.2.1) */
#define EFER_SCE BIT(0)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)

/* RFLAGS (SDM 2.3) */
#define RFLAGS_CF BIT(0)
#define RFLAGS_FIXED BIT(1) /* always 1 */
#define RFLAGS_PF BIT(2)
#define RFLAGS_AF BIT(4)
#define RFLAGS_ZF BIT(6)
#define RFLAGS_SF BIT(7)
#define RFLAGS_TF BIT(8)
#define RFLAGS_AC BIT(18)
#define RFLAGS_IF BIT(9)
#define RFLAGS_OF BIT(11)
#define RFLAGS_VM BIT(17)

/* Exception vectors (SDM 6.3.1) */
#define EXC_DE 0
#define EXC_DB 1
#define EXC_NMI 2
#define EXC_BP 3
#define EXC_UD 6
#define EXC_NM 7
#define EXC_DF 8
#define EXC_TS 10
#define EXC_NP 11
#define EXC_SS 12
#define EXC_GP 13
#define EXC_PF 14
#define EXC_MC 18

/* CPUID.1:ECX feature bits the monitor itself uses */
#define CPUID_1_ECX_XSAVE BIT(26)

/* 4-level paging entries (SDM 4.5) */
#define PTE_P BIT(0)
#define PTE_W BIT(1)
#define PTE_U BIT(2)
#define PTE_PS BIT(7)
#define PTE_ADDR_MASK 0x000ffffffffff000ULL

struct __attribute__((packed)) desc_ptr {
	u16 limit;
	u64 base;
};

static inline void cpuid_count(u32 leaf, u32 subleaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(subleaf));
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

/* RDMSR/WRMSR that return -1 instead of faulting (host #GP fix-up,
 * arch/x86_64/idt.asm): for MSRs a guest names. */
int rdmsr_safe(u32 msr, u64 *v);
int wrmsr_safe(u32 msr, u64 v);
/* XSETBV with the same fix-up. */
int xsetbv_safe(u32 xcr, u64 v);

#define DEFINE_CR_ACCESSORS(n)                                              \
	static inline u64 read_cr##n(void)                                  \
	{                                                                   \
		u64 v;                                                      \
		asm volatile("mov %%cr" #n ", %0" : "=r"(v));               \
		return v;                                                   \
	}                                                                   \
	static inline void write_cr##n(u64 v)                               \
	{                                                                   \
		asm volatile("mov %0, %%cr" #n : : "r"(v) : "memory");      \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

static inline u64 read_dr7(void)
{
	u64 v;
	asm volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static inline u64 read_rflags(void)
{
	u64 v;
	asm volatile("pushfq; pop %0" : "=r"(v));
	return v;
}

static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(u16 port, u16 v) { asm volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { asm volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

static inline void sgdt(struct desc_ptr *p) { asm volatile("sgdt %0" : "=m"(*p)); }
static inline void sidt(struct desc_ptr *p) { asm volatile("sidt %0" : "=m"(*p)); }

#define DEFINE_SEG_READ(name)                                               \
	static inline u16 read_##name(void)                                 \
	{                                                                   \
		u16 v;                                                      \
		asm volatile("mov %%" #name ", %0" : "=r"(v));              \
		return v;                                                   \
	}
DEFINE_SEG_READ(cs)
DEFINE_SEG_READ(ss)
DEFINE_SEG_READ(ds)
DEFINE_SEG_READ(es)
DEFINE_SEG_READ(fs)
DEFINE_SEG_READ(gs)
#undef DEFINE_SEG_READ

static inline u16 read_tr(void)
{
	u16 v;
	asm volatile("str %0" : "=r"(v));
	return v;
}

static inline u16 read_ldtr(void)
{
	u16 v;
	asm volatile("sldt %0" : "=r"(v));
	return v;
}

static inline void cpu_halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

static inline void wbinvd(void) { asm volatile("wbinvd" ::: "memory"); }

#endif
