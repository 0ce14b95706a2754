/* The test guests' view of nestvisor: detection, hypercalls, the
 * loader's configuration table. */
#include <efi.h>
#include <efilib.h>
#include "cpu.h"
#include "faults.h"
#include "nestvisor.h"

bool tg_nestvisor_present(void)
{
	u32 r[4];

	tg_cpuid(NV_CPUID_BASE, 0, r);
	return r[1] == NV_CPUID_SIG_EBX && r[2] == NV_CPUID_SIG_ECX && r[3] == NV_CPUID_SIG_EDX;
}

s64 tg_hypercall(u64 fn, u64 *rbx, u64 *rcx, u64 *rdx)
{
	struct tg_regs r = {
		.rax = fn,
		.rbx = rbx ? *rbx : 0,
		.rcx = rcx ? *rcx : 0,
		.rdx = rdx ? *rdx : 0,
	};

	tg_fault_vector = TG_NO_FAULT;
	tg_vmcall_regs(&r);
	if (tg_fault_vector != TG_NO_FAULT)
		return (s64)TG_HC_FAULTED;
	if (rbx)
		*rbx = r.rbx;
	if (rcx)
		*rcx = r.rcx;
	if (rdx)
		*rdx = r.rdx;
	return (s64)r.rax;
}

bool tg_find_table(EFI_SYSTEM_TABLE *st, struct nv_efi_table *out)
{
	EFI_GUID guid = NV_EFI_TABLE_GUID;
	bool found = false;

	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];
		if (CompareMem(&t->VendorGuid, &guid, sizeof(guid)) == 0) {
			CopyMem(out, t->VendorTable, sizeof(*out));
			found = true;
		}
	}
	return found;
}
