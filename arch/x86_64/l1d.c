/* The L1D flush before L2 runs (l1d.h).
 *
 * On a CPU affected by L1TF, software in VMX non-root operation can read
 * whatever sits in the L1 data cache through a page-table entry that is
 * not present, whatever EPT says. L1 runs right before each of its
 * VMLAUNCH/VMRESUMEs, so its data is in L1D when L2 starts. A hypervisor
 * on such a CPU flushes L1D before entering its guest; Linux's KVM in L1
 * does so in software, and that software flush executes CPUID, which
 * exits to L0: one more L1 exit per reflected L2 exit.
 *
 * nestvisor flushes instead, before every VM entry to L2 that follows
 * L1's VMLAUNCH or VMRESUME, and says so to L1 through
 * IA32_ARCH_CAPABILITIES.SKIP_L1DFL_VMENTRY (SDM Vol. 4: "the hypervisor
 * need not flush the L1D on VM entry"). L1's KVM then leaves its own
 * flush out. The flush is one WRMSR to IA32_FLUSH_CMD where the CPU has
 * it (CPUID.(EAX=7,ECX=0):EDX[28]), else a read of a 64-KiB buffer, twice
 * the L1D of the CPUs that need it, which replaces every line.
 *
 * Entries to L2 after an exit L0 handled alone (an EPT02 fill) do not
 * flush: L1 did not run in between, and L0 read only EPT12 entries that
 * describe L2's own memory (KVM as L0 does the same for EPT violations).
 * Entries to L1 do not flush either: the monitor holds nothing of anyone
 * but L1's. */
#include <l1d.h>
#include <cpu.h>
#include <vmm.h>
#include <log.h>

#define L1D_FLUSH_BYTES (64 * 1024)
#define CACHE_LINE 64

static enum l1d_flush_kind kind;
static u64 host_arch_cap;
static u8 flush_buf[L1D_FLUSH_BYTES] __attribute__((aligned(PAGE_SIZE)));

void l1d_init(void)
{
	u32 a, b, c, d;

	cpuid_count(0x7, 0, &a, &b, &c, &d);
	host_arch_cap = (d & CPUID_7_EDX_ARCH_CAPABILITIES) ? rdmsr(MSR_IA32_ARCH_CAPABILITIES) : 0;
	if (host_arch_cap & ARCH_CAP_RDCL_NO)
		kind = L1D_FLUSH_NOT_NEEDED;
	else if (d & CPUID_7_EDX_L1D_FLUSH)
		kind = L1D_FLUSH_MSR;
	else
		kind = L1D_FLUSH_SOFTWARE;
	static const char *const how[] = {
		[L1D_FLUSH_NOT_NEEDED] = "none needed (RDCL_NO)",
		[L1D_FLUSH_MSR] = "IA32_FLUSH_CMD",
		[L1D_FLUSH_SOFTWARE] = "software, 64 KiB read",
	};
	pr_info("L1D flush before entering L2: %s; L1 reads IA32_ARCH_CAPABILITIES %lx", how[kind],
		l1d_guest_arch_capabilities());
}

enum l1d_flush_kind l1d_flush_kind(void)
{
	return kind;
}

u64 l1d_guest_arch_capabilities(void)
{
	return host_arch_cap | ARCH_CAP_SKIP_L1DFL_VMENTRY;
}

/* One load per cache line, 32 lines (2 KiB) an iteration. The page pass
 * first puts the buffer's translations in the TLB, so that the page walks
 * of the line pass do not evict lines already loaded. */
#define LINES_PER_STEP 32
static void l1d_flush_software(void)
{
	const volatile u8 *p = flush_buf;

	for (u32 i = 0; i < L1D_FLUSH_BYTES; i += PAGE_SIZE)
		(void)p[i];
	for (u32 i = 0; i < L1D_FLUSH_BYTES; i += LINES_PER_STEP * CACHE_LINE) {
#pragma GCC unroll 32
		for (u32 l = 0; l < LINES_PER_STEP; l++)
			(void)p[i + l * CACHE_LINE];
	}
}

void l1d_flush_before_l2(void)
{
	switch (kind) {
	case L1D_FLUSH_NOT_NEEDED:
		return;
	case L1D_FLUSH_MSR:
		wrmsr(MSR_IA32_FLUSH_CMD, FLUSH_CMD_L1D);
		break;
	case L1D_FLUSH_SOFTWARE:
		l1d_flush_software();
		break;
	}
	stats_count_l1d_flush();
}
