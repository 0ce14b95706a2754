/* nestvisor's UEFI loader: \EFI\BOOT\BOOTX64.EFI. The sequence below is
 * explained step by step in docs/loader.md. */
#include "loader.h"
#include "vmx_check.h"
#include <nestvisor/hypercall.h>

#define CONFIG_PATH "\\nestvisor.cfg"
#define STOP_WAIT_SECONDS 30

static struct nv_config cfg;

/* Every fatal path ends here: the reason is already printed. Never hang:
 * wait a bounded time so a person can read it, then give up. */
static EFI_STATUS stop(void)
{
	nv_log("stopped; press a key or wait %u s to return to the firmware", STOP_WAIT_SECONDS);
	con_wait_key(STOP_WAIT_SECONDS);
	return EFI_ABORTED;
}

static bool read_config(void)
{
	char err[CFG_ERROR_MAX];
	void *text;
	UINTN size;
	EFI_STATUS st;

	st = fs_read(CONFIG_PATH, &text, &size);
	if (EFI_ERROR(st)) {
		nv_log("FATAL: cannot read the configuration file %s: %s", CONFIG_PATH,
		       efi_status_str(st));
		return false;
	}
	if (config_parse(text, size, &cfg, err)) {
		nv_log("FATAL: %s: %s", CONFIG_PATH, err);
		FreePool(text);
		return false;
	}
	FreePool(text);
	return true;
}

static void report_missing(const char *item)
{
	nv_log("VT-x unusable: %s", item);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	bool native;
	EFI_STATUS st;
	s64 rc;

	InitializeLib(image, systab);
	con_set_serial(0x3f8); /* the default until the configuration says otherwise */
	nv_log("nestvisor loader %u.%u.%u", NV_VERSION_MAJOR, NV_VERSION_MINOR,
	       NV_VERSION_PATCH);

	/* 1. Configuration from the volume we were loaded from. */
	st = fs_init(image);
	if (EFI_ERROR(st)) {
		nv_log("FATAL: cannot open the boot volume: %s", efi_status_str(st));
		return stop();
	}
	if (!read_config())
		return stop();
	if (cfg.serial_port != 0x3f8)
		con_set_serial(cfg.serial_port);
	nv_log("config: kernel=%s initrd=%s serial=0x%x on_no_vmx=%s debug_exit=%s monitor_mb=%u nested=%s trace=%s",
	       cfg.kernel, cfg.initrd[0] ? cfg.initrd : "(none)", cfg.serial_port,
	       cfg.on_no_vmx == CFG_NO_VMX_STOP ? "stop" : "native",
	       cfg.debug_exit ? "yes" : "no", cfg.monitor_mb, cfg.nested ? "yes" : "no",
	       cfg.trace ? "on" : "off");
	nv_log("config: cmdline=%s", cfg.cmdline);

	/* Missing guest files are fatal before anything irreversible happens. */
	if (EFI_ERROR(guest_check_files(&cfg)))
		return stop();

	/* 2. Can this CPU run the monitor? */
	native = vmx_check(&vmx_hw_cpu, report_missing) != 0;
	if (native && cfg.on_no_vmx == CFG_NO_VMX_STOP) {
		nv_log("FATAL: VT-x is unusable on this CPU (see above) and on_no_vmx = stop");
		return stop();
	}

	/* 3. Load and start the monitor; on success we continue as its guest. */
	if (!native) {
		nv_log("VT-x usable; starting the monitor");
		rc = monitor_start(&cfg);
		if (rc == NV_OK) {
			nv_log("monitor running; the loader continues as a guest");
		} else {
			nv_log("the monitor did not start: %s (%ld)", monitor_error_str(rc), rc);
			if (cfg.on_no_vmx == CFG_NO_VMX_STOP) {
				nv_log("FATAL: no monitor and on_no_vmx = stop");
				return stop();
			}
			native = true;
		}
	}
	if (native)
		nv_log("booting the guest without the monitor");

	/* 4. The guest. Returning from it is always a failure. */
	guest_start(image, &cfg);
	return stop();
}
