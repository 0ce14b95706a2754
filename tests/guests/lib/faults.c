/* The test guests' fault catching, guarded instructions, IDT and GDT. */
#include <efi.h>
#include <efilib.h>
#include "cpu.h"
#include "faults.h"

volatile u64 tg_fault_recover;
volatile u32 tg_fault_vector = TG_NO_FAULT;
volatile u64 tg_fault_error;
volatile u64 tg_fault_rip;
u64 tg_cpuid_count;

/* Segment descriptors (SDM Vol. 3A, 3.4.5, 5.2.1): 64-bit code, L = 1. */
#define DESC_USER_DATA 0x00cff2000000ffffULL /* P, DPL 3, data RW, G, D/B */
#define DESC_USER_CODE 0x00affa000000ffffULL /* P, DPL 3, code RX, G, L */
#define DESC_TSS_AVAILABLE 0x89ULL           /* P, available 64-bit TSS */
#define DESC_TYPE_SHIFT 40
#define GATE_INTERRUPT 0x8eULL               /* P, 64-bit interrupt gate */

void tg_cpuid(u32 leaf, u32 sub, u32 r[4])
{
	cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3]);
	tg_cpuid_count++;
}

const char *tg_vector_name(u32 vec)
{
	switch (vec) {
	case EXC_UD: return "#UD";
	case EXC_GP: return "#GP";
	case EXC_PF: return "#PF";
	case TG_NO_FAULT: return "no fault";
	default: return "a fault";
	}
}

u32 tg_rdmsr_safe(u32 msr, u64 *val)
{
	u32 lo = 0, hi = 0;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(TG_GUARD_BEGIN "rdmsr" TG_GUARD_END
		     : "+a"(lo), "+d"(hi) : "c"(msr) : "r11", "memory");
	*val = tg_fault_vector == TG_NO_FAULT ? ((u64)hi << 32 | lo) : 0;
	return tg_fault_vector;
}

u32 tg_wrmsr_safe(u32 msr, u64 val)
{
	tg_fault_vector = TG_NO_FAULT;
	asm volatile(TG_GUARD_BEGIN "wrmsr" TG_GUARD_END
		     : : "c"(msr), "a"((u32)val), "d"((u32)(val >> 32))
		     : "r11", "memory");
	return tg_fault_vector;
}

u32 tg_write_cr4_safe(u64 val)
{
	tg_fault_vector = TG_NO_FAULT;
	asm volatile(TG_GUARD_BEGIN "mov %0, %%cr4" TG_GUARD_END
		     : : "r"(val) : "r11", "memory");
	return tg_fault_vector;
}

u32 tg_read64_safe(u64 addr, u64 *val)
{
	u64 v = 0;

	tg_fault_vector = TG_NO_FAULT;
	asm volatile(TG_GUARD_BEGIN "movq (%1), %0" TG_GUARD_END
		     : "+r"(v) : "r"(addr) : "r11", "memory");
	*val = v;
	return tg_fault_vector;
}

u32 tg_write64_safe(u64 addr, u64 val)
{
	tg_fault_vector = TG_NO_FAULT;
	asm volatile(TG_GUARD_BEGIN "movq %1, (%0)" TG_GUARD_END
		     : : "r"(addr), "r"(val) : "r11", "memory");
	return tg_fault_vector;
}

void tg_set_gate(void *idt, int vec, u64 off, u16 cs, int dpl)
{
	u64 *g = (u64 *)idt + 2 * vec;

	g[0] = (off & 0xffff) | (u64)cs << 16 | (GATE_INTERRUPT | (u64)dpl << 5) << 40 |
	       (off >> 16 & 0xffff) << 48;
	g[1] = off >> 32;
}

void tg_install_idt(void *idt, u16 cs, struct desc_ptr *fw)
{
	struct desc_ptr mine = { .limit = PAGE_SIZE - 1, .base = (u64)idt };

	sidt(fw);
	CopyMem(idt, (void *)fw->base, fw->limit + 1u < PAGE_SIZE ? fw->limit + 1u : PAGE_SIZE);
	for (int vec = 0; vec < TG_EXCEPTIONS; vec++)
		tg_set_gate(idt, vec, (u64)tg_isr_table[vec], cs, 0);
	asm volatile("lidt %0" : : "m"(mine) : "memory");
}

bool tg_build_gdt(u64 *gdt, struct tg_tss64 *tss, u64 rsp0, const struct desc_ptr *fw,
		  struct tg_gdt *out)
{
	u32 n = ((u32)fw->limit + 8) / 8;

	if (n + 4 > PAGE_SIZE / 8)
		return false;
	CopyMem(gdt, (void *)fw->base, fw->limit + 1u);
	gdt[n] = DESC_USER_DATA;
	gdt[n + 1] = DESC_USER_CODE;
	tss->rsp[0] = rsp0;
	tss->iomap_base = sizeof(*tss);
	/* 16-byte TSS descriptor (SDM Vol. 3A, 8.2.3). */
	u64 b = (u64)tss, lim = sizeof(*tss) - 1;
	gdt[n + 2] = (lim & 0xffff) | (b & 0xffffff) << 16 |
		     DESC_TSS_AVAILABLE << DESC_TYPE_SHIFT |
		     (lim >> 16 & 0xf) << 48 | (b >> 24 & 0xff) << 56;
	gdt[n + 3] = b >> 32;
	out->user_ss = (u16)(n * 8 | 3);
	out->user_cs = (u16)((n + 1) * 8 | 3);
	out->tss_sel = (u16)((n + 2) * 8);
	out->gdtr.base = (u64)gdt;
	out->gdtr.limit = (u16)((n + 4) * 8 - 1);
	return true;
}
