/* The monitor's C entry: called by arch/x86_64/entry.asm on the loader's
 * stack, with the loader's (the firmware's) CPU state still in place. */
#include "vmm.h"
#include "log.h"
#include "lib.h"
#include "trace.h"
#include <serial.h>

struct vmm vmm;

s64 vmm_main(struct nv_bootinfo *bi)
{
	if (bi->magic != NV_BOOTINFO_MAGIC || bi->version != NV_BOOTINFO_VERSION)
		return NV_E_BOOTINFO;

	serial_init(bi->serial_port);            /* log on the loader's serial port */
	pr_info("nestvisor %u.%u.%u: monitor starting (NestVisorVMM)",
		NV_VERSION_MAJOR, NV_VERSION_MINOR, NV_VERSION_PATCH);
	vmm.bi = bi;
	vmm.mon_base = bi->monitor_base;
	vmm.mon_size = bi->monitor_size;
	vmm.debug_exit = bi->flags & NV_BOOT_DEBUG_EXIT;
	pr_info("monitor memory %lx-%lx (%lu MiB), image ends at %lx",
		vmm.mon_base, vmm.mon_base + vmm.mon_size - 1, vmm.mon_size >> 20, bi->image_end);

	pfa_init(bi->image_end, vmm.mon_base + vmm.mon_size); /* page allocator */
	trace_setup(bi->flags & NV_BOOT_TRACE);  /* exit trace ring, when configured */
	int err = arch_init(bi);                 /* VMXON, VMCS01, EPT, host tables */
	if (err)
		return err;
	pr_info("launching the firmware as the guest (%lu free pages left)", pfa_free_pages());
	return arch_launch(bi);                  /* returns only on failure */
}
