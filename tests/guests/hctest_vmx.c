/* hctest: VMX is hidden from the guest, and the monitor's own memory is
 * out of its reach while the RAM around it is not. */
#include <efi.h>
#include <efilib.h>
#include "hctest.h"

#define MON_WRITE_PATTERN 0x6e7674657374a5a5ULL
#define NEIGHBOR_PATTERN 0x5a5a6e6569676862ULL

static void expect_fault(struct tg_check *c, const char *what, u32 got, u32 want)
{
	tg_expect(c, got == want, "%s: expected %s, got %s", what,
		   tg_vector_name(want), tg_vector_name(got));
}

void hct_checks_vmx_hidden(struct hct_env *env)
{
	struct tg_check c;
	u64 fc = 0, v;
	u32 r[4], vec;

	tg_begin(&c, "vmx-hidden-cpuid");
	tg_cpuid(1, 0, r);
	tg_expect(&c, !(r[2] & CPUID_1_ECX_VMX), "CPUID.1:ECX.VMX expected 0, ECX=%x", r[2]);
	tg_end(&c);

	/* Locked with VMX off: what firmware leaves when it disables VMX
	 * (SDM Vol. 3C, 24.7 "Enabling and Entering VMX Operation"). */
	tg_begin(&c, "vmx-feature-control-locked");
	vec = tg_rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc);
	if (tg_expect(&c, vec == TG_NO_FAULT, "RDMSR 0x3a raised %s", tg_vector_name(vec))) {
		tg_expect(&c, fc & FEATURE_CONTROL_LOCKED, "lock bit 0 expected 1, MSR=%lx", fc);
		tg_expect(&c, !(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX),
			   "VMX-outside-SMX bit 2 expected 0, MSR=%lx", fc);
	}
	tg_end(&c);

	tg_begin(&c, "vmx-feature-control-write-gp");
	vec = tg_wrmsr_safe(MSR_IA32_FEATURE_CONTROL,
			     fc | FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
	expect_fault(&c, "WRMSR 0x3a", vec, EXC_GP);
	tg_end(&c);

	tg_begin(&c, "vmx-basic-msr-gp");
	vec = tg_rdmsr_safe(MSR_IA32_VMX_BASIC, &v);
	expect_fault(&c, "RDMSR 0x480", vec, EXC_GP);
	if (vec == TG_NO_FAULT)
		tg_expect(&c, false, "read %lx", v);
	tg_end(&c);

	/* QEMU/TCG answers a reserved CR4 bit with an SVM #VMEXIT even outside
	 * SVM, and the CPU never comes back: do not try it there. */
	tg_cpuid(NV_CPUID_BASE, 0, r);
	if (CompareMem(&r[1], "TCGTCGTCGTCG", 12) == 0) {
		tg_skip("vmx-cr4-vmxe-gp", "QEMU/TCG hangs on MOV to CR4 with VMXE");
		goto vmxon;
	}
	tg_begin(&c, "vmx-cr4-vmxe-gp");
	u64 cr4 = read_cr4();
	vec = tg_write_cr4_safe(cr4 | CR4_VMXE);
	expect_fault(&c, "MOV to CR4 with VMXE", vec, EXC_GP);
	u64 after = read_cr4();
	tg_expect(&c, !(after & CR4_VMXE), "CR4 reads back %lx with VMXE", after);
	if (after != cr4)
		write_cr4(cr4);
	tg_end(&c);
vmxon:
	/* VMXON outside VMX operation with CR4.VMXE = 0 is #UD (SDM Vol. 3C,
	 * 31.3 "VMXON"): the guest must see exactly that. */
	tg_begin(&c, "vmx-vmxon-ud");
	u64 region = (u64)hct_page(env, HCT_PG_SCRATCH);
	vec = hct_vmxon_safe(&region);
	expect_fault(&c, "VMXON", vec, EXC_UD);
	if (vec == TG_NO_FAULT)
		asm volatile("vmxoff" : : : "cc", "memory");
	tg_end(&c);
}

static bool has_banner(const u8 *p, u64 len, u64 *at)
{
	static const char word[] = "nestvisor";

	for (u64 i = 0; i + sizeof(word) - 1 <= len; i++) {
		u64 k = 0;
		while (k < sizeof(word) - 1 && (p[i + k] | 0x20) == word[k])
			k++;
		if (k == sizeof(word) - 1) {
			*at = i;
			return true;
		}
	}
	return false;
}

/* Reads one page of monitor memory into the scratch page, 8 bytes at a
 * time, and checks it is one repeated byte equal to *filler (the first
 * byte ever read, if *have_filler is false). */
static bool read_monitor_page(struct hct_env *env, struct tg_check *c, u64 pa,
			      u8 *filler, bool *have_filler)
{
	u64 *buf = (u64 *)hct_page(env, HCT_PG_SCRATCH), at = 0;

	for (u64 i = 0; i < PAGE_SIZE / 8; i++) {
		u32 vec = tg_read64_safe(pa + i * 8, &buf[i]);
		if (!tg_expect(c, vec == TG_NO_FAULT, "read at %lx raised %s",
				pa + i * 8, tg_vector_name(vec)))
			return false;
	}
	if (!*have_filler) {
		*filler = (u8)buf[0];
		*have_filler = true;
	}
	if (!tg_expect(c, !has_banner((u8 *)buf, PAGE_SIZE, &at),
			"\"nestvisor\" visible at %lx", pa + at))
		return false;
	for (u64 i = 0; i < PAGE_SIZE; i++) {
		u8 b = ((u8 *)buf)[i];
		if (!tg_expect(c, b == *filler, "byte at %lx is %x, expected filler %x",
				pa + i, b, *filler))
			return false;
	}
	return true;
}

static bool check_table(struct hct_env *env)
{
	const struct nv_efi_table *t = &env->table;
	struct tg_check c;

	tg_begin(&c, "monitor-table");
	if (tg_expect(&c, env->have_table, "no NV_EFI_TABLE_GUID configuration table")) {
		tg_expect(&c, t->magic == NV_BOOTINFO_MAGIC, "magic %lx", t->magic);
		tg_expect(&c, t->version == NV_VERSION, "version %x, expected %x",
			   t->version, NV_VERSION);
		tg_expect(&c, t->monitor_size && !(t->monitor_base & (PAGE_SIZE_2M - 1)) &&
			   !(t->monitor_size & (PAGE_SIZE_2M - 1)),
			   "base %lx size %lx not 2-MiB multiples", t->monitor_base,
			   t->monitor_size);
	}
	tg_end(&c);
	return !c.failed;
}

static void check_neighbor(struct hct_env *env, const char *name, u64 pa)
{
	struct tg_check c;
	u64 old = 0, back = 0;
	u32 vec;

	if (!hct_is_ram(env, pa, 8)) {
		tg_skip(name, "not RAM in the UEFI memory map");
		return;
	}
	/* Interrupts are off: nobody sees the pattern before it is undone. */
	tg_begin(&c, name);
	vec = tg_read64_safe(pa, &old);
	if (tg_expect(&c, vec == TG_NO_FAULT, "read at %lx raised %s", pa,
		       tg_vector_name(vec))) {
		vec = tg_write64_safe(pa, NEIGHBOR_PATTERN);
		tg_expect(&c, vec == TG_NO_FAULT, "write at %lx raised %s", pa,
			   tg_vector_name(vec));
		tg_read64_safe(pa, &back);
		tg_expect(&c, back == NEIGHBOR_PATTERN, "read back %lx after writing %lx",
			   back, NEIGHBOR_PATTERN);
		tg_write64_safe(pa, old);
	}
	tg_end(&c);
}

void hct_checks_monitor_memory(struct hct_env *env)
{
	struct tg_check c;
	bool have_filler = false;
	u8 filler = 0;

	if (!check_table(env))
		return;
	u64 base = env->table.monitor_base, size = env->table.monitor_size;
	const u64 pages[3] = { base, base + ALIGN_DOWN(size / 2, PAGE_SIZE),
			       base + size - PAGE_SIZE };
	const u64 spots[3] = { base, base + size / 2, base + size - 8 };

	tg_begin(&c, "monitor-read-hidden");
	for (int i = 0; i < 3; i++)
		if (!read_monitor_page(env, &c, pages[i], &filler, &have_filler))
			break;
	tg_end(&c);
	if (have_filler)
		tg_printf("hctest: note: monitor memory reads as filler byte %x\n", filler);

	/* The writes must neither fault nor reach the monitor: it answers. */
	tg_begin(&c, "monitor-write-harmless");
	for (int i = 0; i < 3; i++) {
		u32 vec = tg_write64_safe(spots[i], MON_WRITE_PATTERN);
		tg_expect(&c, vec == TG_NO_FAULT, "write at %lx raised %s", spots[i],
			   tg_vector_name(vec));
	}
	u64 rbx = 0, rcx = 0;
	s64 ret = tg_hypercall(NV_HC_VERSION, &rbx, &rcx, NULL);
	if (ret == (s64)TG_HC_FAULTED)
		tg_expect(&c, false, "NV_HC_VERSION after the writes raised %s",
			   tg_vector_name(tg_fault_vector));
	else
		tg_expect(&c, ret == NV_HC_OK && rbx == NV_VERSION &&
			   rcx == NV_HC_VERSION_MAGIC,
			   "NV_HC_VERSION after the writes: status %ld, RBX %lx, RCX %lx",
			   ret, rbx, rcx);
	tg_end(&c);

	/* Writes land in the monitor's scratch (sink) page, never in its
	 * memory: rereads show the filler or what this guest wrote itself,
	 * nothing else (docs/monitor.md "The monitor's memory"). */
	u64 fill = filler * 0x0101010101010101ULL;
	tg_begin(&c, "monitor-write-contained");
	for (int i = 0; i < 3; i++) {
		u64 v = 0;
		u32 vec = tg_read64_safe(spots[i], &v);
		tg_expect(&c, vec == TG_NO_FAULT && (v == fill || v == MON_WRITE_PATTERN),
			   "reread at %lx: %lx (%s), expected the filler %lx or the pattern written %lx",
			   spots[i], v, tg_vector_name(vec), fill, (u64)MON_WRITE_PATTERN);
	}
	tg_end(&c);
	for (int i = 0; i < 3; i++) /* leave the memory as it was found */
		tg_write64_safe(spots[i], fill);

	check_neighbor(env, "monitor-neighbor-below", base - PAGE_SIZE);
	check_neighbor(env, "monitor-neighbor-above", base + size);
}
