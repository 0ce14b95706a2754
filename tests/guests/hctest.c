/* hctest: checks the monitor from inside its guest, at CPL 0 in VMX
 * non-root operation, and reports one line per check on the serial port:
 *   hctest: PASS <name>  |  hctest: FAIL <name>: <expected, got>
 * then "hctest: <N> passed, <M> failed", then ends the run with
 * NV_HC_END_RUN (status 0 if all passed, 1 otherwise).
 *
 * It expects the monitor configured with "nested = no": VMX is hidden
 * from the guest (CPUID, IA32_FEATURE_CONTROL, VMX MSRs, CR4.VMXE, VMXON).
 * Without a monitor (bare QEMU or Bochs) the checks fail, and VMCALL's #UD
 * is caught and reported instead of crashing. */
#include <efi.h>
#include <efilib.h>
#include "hctest.h"

u32 hct_vmxon_safe(u64 *region_pa)
{
	tg_fault_vector = TG_NO_FAULT;
	asm volatile(TG_GUARD_BEGIN "vmxon %0" TG_GUARD_END
		     : : "m"(*region_pa) : "r11", "cc", "memory");
	return tg_fault_vector;
}

/* ---- firmware services, used before interrupts go off ---- */

static EFI_STATUS hct_get_memmap(struct hct_env *env, EFI_BOOT_SERVICES *bs)
{
	UINTN size = 0, key, dsize;
	UINT32 dver;
	EFI_STATUS s;

	uefi_call_wrapper(bs->GetMemoryMap, 5, &size, NULL, &key, &dsize, &dver);
	size += 16 * sizeof(EFI_MEMORY_DESCRIPTOR);
	s = uefi_call_wrapper(bs->AllocatePool, 3, EfiLoaderData, size, &env->memmap);
	if (EFI_ERROR(s))
		return s;
	s = uefi_call_wrapper(bs->GetMemoryMap, 5, &size, env->memmap, &key,
			      &dsize, &dver);
	env->memmap_size = size;
	env->memmap_desc_size = dsize;
	return s;
}

/* RAM: any memory-map range that is neither MMIO nor unusable. */
bool hct_is_ram(const struct hct_env *env, u64 addr, u64 size)
{
	for (u64 off = 0; off + env->memmap_desc_size <= env->memmap_size;
	     off += env->memmap_desc_size) {
		EFI_MEMORY_DESCRIPTOR *d = (void *)((u8 *)env->memmap + off);
		u64 end = d->PhysicalStart + d->NumberOfPages * PAGE_SIZE;
		if (d->Type == EfiMemoryMappedIO || d->Type == EfiMemoryMappedIOPortSpace ||
		    d->Type == EfiUnusableMemory)
			continue;
		if (addr >= d->PhysicalStart && addr + size <= end)
			return true;
	}
	return false;
}

void hct_checks_cpuid(struct hct_env *env)
{
	struct tg_check c;
	u32 r[4];

	(void)env;
	tg_begin(&c, "cpuid-leaf1");
	tg_cpuid(1, 0, r);
	tg_expect(&c, r[2] & CPUID_1_ECX_HYPERVISOR,
		  "ECX.hypervisor[31] expected 1, ECX=%x", r[2]);
	tg_expect(&c, !(r[2] & CPUID_1_ECX_VMX), "ECX.VMX[5] expected 0, ECX=%x", r[2]);
	tg_end(&c);

	tg_begin(&c, "cpuid-signature");
	tg_cpuid(NV_CPUID_BASE, 0, r);
	tg_expect(&c, r[0] >= NV_CPUID_MAX_LEAF, "EAX expected >= %x, got %x",
		  NV_CPUID_MAX_LEAF, r[0]);
	char sig[13];
	CopyMem(sig, &r[1], 4);
	CopyMem(sig + 4, &r[2], 4);
	CopyMem(sig + 8, &r[3], 4);
	for (int i = 0; i < 12; i++)
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '.';
	sig[12] = 0;
	tg_expect(&c, r[1] == NV_CPUID_SIG_EBX && r[2] == NV_CPUID_SIG_ECX &&
		  r[3] == NV_CPUID_SIG_EDX,
		  "EBX:ECX:EDX expected \"NestVisorVMM\", got \"%s\"", sig);
	tg_end(&c);

	/* IA32_ARCH_CAPABILITIES, enumerated by CPUID.(EAX=7,ECX=0):EDX[29],
	 * read-only (SDM Vol. 4, Table 2-2): the monitor offers it on every
	 * CPU with SKIP_L1DFL_VMENTRY (bit 3) set, because it flushes L1D
	 * before entering L2 itself (arch/x86_64/l1d.c). */
	tg_begin(&c, "arch-capabilities-skip-l1d-flush");
	tg_cpuid(7, 0, r);
	if (tg_expect(&c, r[3] & BIT(29), "CPUID.7.0:EDX[29] expected 1, EDX=%x", r[3])) {
		u64 caps = 0;
		u32 vec = tg_rdmsr_safe(MSR_IA32_ARCH_CAPABILITIES, &caps);
		if (tg_expect(&c, vec == TG_NO_FAULT, "RDMSR 0x10a raised %s", tg_vector_name(vec)))
			tg_expect(&c, caps & BIT(3), "SKIP_L1DFL_VMENTRY (bit 3) expected 1, MSR=%lx", caps);
		vec = tg_wrmsr_safe(MSR_IA32_ARCH_CAPABILITIES, caps);
		tg_expect(&c, vec == EXC_GP, "WRMSR 0x10a expected #GP, got %s", tg_vector_name(vec));
	}
	tg_end(&c);

	tg_begin(&c, "cpuid-version");
	tg_cpuid(NV_CPUID_MAX_LEAF, 0, r);
	tg_expect(&c, r[0] == NV_VERSION, "EAX expected %x, got %x", NV_VERSION, r[0]);
	tg_end(&c);

	/* Single-stepping over CPUID, which the monitor executes for the
	 * guest: the #DB trap comes right after CPUID, as on hardware (SDM
	 * 18.3.1.4; POPF's TF takes effect after the next instruction). On
	 * real CPUs the VM exit leaves pending-debug-exceptions.BS clear and
	 * the monitor must set it (exit.c); Bochs sets BS itself on such an
	 * exit (a departure from hardware, Bochs issue 132), so here the check
	 * catches a lost or doubled #DB rather than a missing BS. */
	u64 after_cpuid = 0;
	tg_begin(&c, "single-step-emulated-cpuid");
	tg_fault_vector = TG_NO_FAULT;
	asm volatile(TG_GUARD_BEGIN
		     "xorl %%eax, %%eax\n\txorl %%ecx, %%ecx\n\t"
		     "leaq 2f(%%rip), %0\n\t"
		     "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
		     "cpuid\n"
		     "2:\tnop\n\tnop"
		     TG_GUARD_END
		     : "=&r"(after_cpuid) : : "rax", "rbx", "rcx", "rdx", "r11", "memory");
	tg_expect(&c, tg_fault_vector == EXC_DB && tg_fault_rip == after_cpuid,
		  "expected #DB at %lx (after CPUID), got %s at %lx", after_cpuid,
		  tg_vector_name(tg_fault_vector), tg_fault_rip);
	tg_end(&c);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	static struct hct_env env;
	EFI_PHYSICAL_ADDRESS pages = 0;
	struct desc_ptr fw_idtr;
	EFI_STATUS s;

	(void)image;
	tg_start("hctest", false);
	env.have_table = tg_find_table(st, &env.table);
	s = hct_get_memmap(&env, st->BootServices);
	if (!EFI_ERROR(s))
		s = uefi_call_wrapper(st->BootServices->AllocatePages, 4,
				      AllocateAnyPages, EfiLoaderCode, HCT_PAGES, &pages);
	if (EFI_ERROR(s)) {
		tg_printf("hctest: FAIL setup: memory map or AllocatePages: status %lx\n", s);
		tg_printf("hctest: 0 passed, 1 failed\n");
		tg_end_run(1);
	}
	env.pages = (u8 *)pages;
	SetMem(env.pages, HCT_PAGES * PAGE_SIZE, 0);

	/* From here on no firmware code runs: interrupts stay off, and our
	 * own IDT (the firmware's with our exception handlers) catches faults. */
	asm volatile("cli");
	env.cs = read_cs();
	tg_install_idt(hct_page(&env, HCT_PG_IDT), env.cs, &fw_idtr);
	tg_printf("hctest: monitor table %s", env.have_table ? "found:" : "not found\n");
	if (env.have_table)
		tg_printf(" base %lx size %lx\n", env.table.monitor_base,
			  env.table.monitor_size);

	hct_checks_cpuid(&env);
	hct_checks_hypercall(&env);
	hct_checks_ring3(&env);
	hct_checks_vmx_hidden(&env);
	hct_checks_monitor_memory(&env);

	tg_summary();
	/* Our IDT stays: if END_RUN faults (no monitor), we still report. */
	tg_end_run(tg_failed ? 1 : 0);
}
