/* Loading and starting the monitor (steps 4 and 5 in docs/loader.md). */
#include "loader.h"
#include "elf.h"
#include <nestvisor/hypercall.h>

/* EFI_MP_SERVICES_PROTOCOL (UEFI PI spec, Vol. 2, 13.4): only its first
 * member is used; gnu-efi does not define it. */
#define MP_SERVICES_GUID \
	{ 0x3fdda605, 0xa76e, 0x4f46, { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } }
struct mp_services {
	EFI_STATUS(EFIAPI *get_number_of_processors)(struct mp_services *self, UINTN *count,
						      UINTN *enabled);
};

static EFI_GUID mp_guid = MP_SERVICES_GUID;
static EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;
static EFI_GUID acpi10_guid = ACPI_TABLE_GUID;
static EFI_GUID nv_table_guid = NV_EFI_TABLE_GUID;

static u32 count_cpus(void)
{
	struct mp_services *mp;
	UINTN count, enabled;

	if (EFI_ERROR(uefi_call_wrapper(BS->LocateProtocol, 3, &mp_guid, NULL, (void **)&mp)))
		return 1;
	if (EFI_ERROR(uefi_call_wrapper(mp->get_number_of_processors, 3, mp, &count, &enabled)) ||
	    !enabled)
		return 1;
	return (u32)enabled;
}

static void *config_table(EFI_GUID *guid)
{
	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++)
		if (!CompareMem(&ST->ConfigurationTable[i].VendorGuid, guid, sizeof(*guid)))
			return ST->ConfigurationTable[i].VendorTable;
	return NULL;
}

static u64 find_rsdp(void)
{
	void *rsdp = config_table(&acpi20_guid);

	if (!rsdp)
		rsdp = config_table(&acpi10_guid);
	return (u64)(uintptr_t)rsdp;
}

/* Publishes where the monitor lives, for test guests and diagnostics. */
static EFI_STATUS install_table(const struct mon_mem *mem)
{
	struct nv_efi_table *t;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->AllocatePool, 3, EfiRuntimeServicesData, sizeof(*t),
			       (void **)&t);
	if (EFI_ERROR(st))
		return st;
	t->magic = NV_BOOTINFO_MAGIC;
	t->version = NV_VERSION;
	t->pad = 0;
	t->monitor_base = mem->base;
	t->monitor_size = mem->size;
	st = uefi_call_wrapper(BS->InstallConfigurationTable, 2, &nv_table_guid, t);
	if (EFI_ERROR(st))
		FreePool(t);
	return st;
}

static void uninstall_table(void)
{
	void *t = config_table(&nv_table_guid);

	if (!t)
		return;
	uefi_call_wrapper(BS->InstallConfigurationTable, 2, &nv_table_guid, NULL);
	FreePool(t);
}

/* Reads and loads the ELF, fills the bootinfo. Returns the entry point or
 * NULL after reporting why. */
static void *load(const struct nv_config *cfg, struct mon_mem *mem, struct nv_bootinfo **out)
{
	u64 bi_size = ALIGN_UP(sizeof(struct nv_bootinfo), PAGE_SIZE);
	char err[ELF_ERROR_MAX];
	struct elf_image img;
	struct nv_bootinfo *bi;
	void *file = NULL, *entry = NULL;
	UINTN file_size;
	EFI_STATUS st;

	st = fs_read(MONITOR_PATH, &file, &file_size);
	if (EFI_ERROR(st)) {
		nv_log("cannot read the monitor %s: %s", MONITOR_PATH, efi_status_str(st));
		return NULL;
	}
	if (elf_inspect(file, file_size, &img, err)) {
		nv_log("bad monitor image %s: %s", MONITOR_PATH, err);
		goto out;
	}
	if (img.mem_size + bi_size > ((u64)cfg->monitor_mb << 20)) {
		nv_log("the monitor image (%lu KiB) does not fit in monitor_mb = %u",
		       img.mem_size >> 10, cfg->monitor_mb);
		goto out;
	}
	st = mem_alloc_monitor(cfg->monitor_mb, mem);
	if (EFI_ERROR(st)) {
		nv_log("cannot allocate %u MiB for the monitor: %s", cfg->monitor_mb,
		       efi_status_str(st));
		goto out;
	}
	/* UEFI maps memory 1:1, so the physical base is also the load address. */
	if (elf_load(file, file_size, (void *)(uintptr_t)mem->base, err)) {
		nv_log("bad monitor image %s: %s", MONITOR_PATH, err);
		mem_free_monitor(mem);
		goto out;
	}

	/* The bootinfo takes the pages right after the image, inside the
	 * monitor's memory: EPT hides it from the guest with the rest. */
	bi = (struct nv_bootinfo *)(uintptr_t)(mem->base + img.mem_size);
	SetMem(bi, bi_size, 0);
	bi->magic = NV_BOOTINFO_MAGIC;
	bi->version = NV_BOOTINFO_VERSION;
	bi->flags = (cfg->debug_exit ? NV_BOOT_DEBUG_EXIT : 0) | (cfg->nested ? NV_BOOT_NESTED : 0) |
		    (cfg->trace ? NV_BOOT_TRACE : 0);
	bi->monitor_base = mem->base;
	bi->monitor_size = mem->size;
	bi->image_end = mem->base + img.mem_size + bi_size;
	bi->serial_port = cfg->serial_port;
	bi->cpu_count = count_cpus();
	bi->acpi_rsdp = find_rsdp();
	*out = bi;
	entry = (void *)(uintptr_t)(mem->base + img.entry);
out:
	FreePool(file);
	return entry;
}

s64 monitor_start(const struct nv_config *cfg)
{
	struct mon_mem mem = { 0, 0 };
	struct nv_bootinfo *bi;
	EFI_STATUS st;
	void *entry;
	s64 rc;

	entry = load(cfg, &mem, &bi);
	if (!entry)
		return MON_E_LOAD;
	st = install_table(&mem);
	if (EFI_ERROR(st)) {
		nv_log("cannot install the nestvisor configuration table: %s", efi_status_str(st));
		mem_free_monitor(&mem);
		return MON_E_LOAD;
	}
	/* Last: the map must show every allocation made above. */
	st = mem_fill_map(bi);
	if (EFI_ERROR(st)) {
		nv_log("cannot read the memory map: %s", efi_status_str(st));
		uninstall_table();
		mem_free_monitor(&mem);
		return MON_E_LOAD;
	}
	nv_log("monitor: %lu MiB at 0x%lx, entry 0x%lx, %u CPU(s), ACPI RSDP 0x%lx, %u memory ranges",
	       mem.size >> 20, mem.base, (u64)(uintptr_t)entry, bi->cpu_count, bi->acpi_rsdp,
	       bi->mem_range_count);

	rc = nv_launch(entry, bi, &bi->resume);
	if (rc == NV_OK)
		return NV_OK; /* a guest now: the monitor's memory is out of reach */
	uninstall_table();
	mem_free_monitor(&mem);
	return rc;
}

const char *monitor_error_str(s64 code)
{
	switch (code) {
	case NV_E_BOOTINFO:
		return "NV_E_BOOTINFO: the monitor rejected the boot information (magic/version)";
	case NV_E_NOVMX:
		return "NV_E_NOVMX: a required VMX capability is missing";
	case NV_E_NOMEM:
		return "NV_E_NOMEM: the monitor's memory is too small (raise monitor_mb)";
	case NV_E_VMXON:
		return "NV_E_VMXON: VMXON failed";
	case NV_E_VMCS:
		return "NV_E_VMCS: VMCLEAR/VMPTRLD/VMWRITE failed";
	case NV_E_LAUNCH:
		return "NV_E_LAUNCH: VMLAUNCH failed";
	case MON_E_LOAD:
		return "the loader could not load the monitor";
	default:
		return "unknown error code";
	}
}
