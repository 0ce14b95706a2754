/* The boot-information block: what the UEFI loader hands the monitor.
 *
 * The loader fills it in, then calls the monitor's ELF entry point
 * (System V ABI) as   s64 monitor_entry(struct nv_bootinfo *bi);
 * through boot/launch.asm, which records in bi->resume where the loader
 * continues once it runs as a guest. On success the monitor does not return
 * to its caller: it VMLAUNCHes the loader's own context (bi->resume) as the
 * guest, so the call appears to return 0 -- now in VMX non-root operation.
 * On failure it leaves VMX operation and returns a negative NV_E* code. */
#ifndef NESTVISOR_BOOTINFO_H
#define NESTVISOR_BOOTINFO_H

#include "types.h"

#define NV_BOOTINFO_MAGIC 0x4f4f4253564e4e56ULL /* "VNNVSBOO" */
#define NV_BOOTINFO_VERSION 1

/* Physical memory kinds, as the monitor needs them for EPT memory types. */
enum nv_mem_type {
	NV_MEM_RAM = 1,      /* cacheable memory: EPT memory type WB */
	NV_MEM_MMIO = 2,     /* memory-mapped I/O: EPT memory type UC */
	NV_MEM_RESERVED = 3, /* firmware-reserved RAM: WB, still mapped */
};

struct nv_mem_range {
	u64 base;
	u64 size;
	u32 type; /* enum nv_mem_type */
	u32 pad;
};

#define NV_MAX_MEM_RANGES 256

/* Where the loader continues as a guest: filled in by boot/launch.asm. */
struct nv_resume {
	u64 rip;
	u64 rsp;
	u64 rflags;
};
_Static_assert(sizeof(struct nv_resume) == 24, "launch.asm uses these offsets");

struct nv_bootinfo {
	u64 magic;        /* NV_BOOTINFO_MAGIC */
	u32 version;      /* NV_BOOTINFO_VERSION */
	u32 flags;        /* NV_BOOT_* */

	u64 monitor_base; /* physical base of the monitor's memory, 2 MiB aligned */
	u64 monitor_size; /* bytes, a multiple of 2 MiB */
	u64 image_end;    /* physical address just past the loaded ELF image */

	u16 serial_port;  /* I/O base of the 16550 for the log, 0 = none */
	u16 pad0;
	u32 cpu_count;    /* CPUs the firmware reported (MP services) */
	u64 acpi_rsdp;    /* physical address of the ACPI RSDP, 0 if none */

	u32 mem_range_count;
	u32 pad1;
	struct nv_mem_range mem[NV_MAX_MEM_RANGES]; /* sorted, non-overlapping */

	struct nv_resume resume; /* written by launch.asm */
};

/* The loader allocates the monitor's memory as EfiReservedMemoryType, so no
 * later owner uses it, and publishes where it is in a UEFI configuration
 * table (for test guests and diagnostics; EPT keeps it unreachable anyway). */
#define NV_EFI_TABLE_GUID \
	{ 0x6e657374, 0x7669, 0x736f, { 0x72, 0x4e, 0x56, 0x4d, 0x4d, 0x00, 0x00, 0x01 } }
struct nv_efi_table {
	u64 magic;        /* NV_BOOTINFO_MAGIC */
	u32 version;      /* NV_VERSION (hypercall.h) */
	u32 pad;
	u64 monitor_base;
	u64 monitor_size;
};

#define NV_BOOT_DEBUG_EXIT BIT(0) /* guest may end the run through port 0xf4 */
#define NV_BOOT_NESTED BIT(1)     /* offer VT-x to the guest (nested VMX) */
#define NV_BOOT_TRACE BIT(2)      /* record VM exits in the trace ring */

/* Result codes, negative on failure (monitor_entry's return value). */
#define NV_OK 0
#define NV_E_BOOTINFO (-1)  /* bad magic/version */
#define NV_E_NOVMX (-2)     /* a required VMX capability is missing */
#define NV_E_NOMEM (-3)     /* the monitor's memory is too small */
#define NV_E_VMXON (-4)     /* VMXON failed */
#define NV_E_VMCS (-5)      /* VMCLEAR/VMPTRLD/VMWRITE failed */
#define NV_E_LAUNCH (-6)    /* VMLAUNCH failed */

#endif
