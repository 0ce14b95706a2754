/* The test guests' CPU access: the monitor's own definitions and wrappers
 * (arch/x86_64/include/cpu.h, msr.h: plain inline assembly, usable in a
 * gnu-efi build), plus what only a guest needs. */
#ifndef TG_CPU_H
#define TG_CPU_H

#include <nestvisor/types.h>
#include <cpu.h>
#include <msr.h>

#pragma GCC visibility push(hidden)

#define CPUID_1_ECX_VMX BIT(5)
#define CPUID_1_ECX_HYPERVISOR BIT(31)

/* CPUID, counted in tg_cpuid_count (hctest compares it with the
 * monitor's CPUID exit count). */
extern u64 tg_cpuid_count;
void tg_cpuid(u32 leaf, u32 sub, u32 r[4]);

#pragma GCC visibility pop

#endif
