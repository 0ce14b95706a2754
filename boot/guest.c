/* Starting the guest: an EFI application on the same volume, usually a
 * Linux kernel whose EFI stub reads the initrd named by "initrd=" in its
 * load options. */
#include "loader.h"

EFI_STATUS guest_check_files(const struct nv_config *cfg)
{
	EFI_STATUS st;

	st = fs_exists(cfg->kernel);
	if (EFI_ERROR(st)) {
		nv_log("FATAL: kernel file '%s' not found on the boot volume (%s)", cfg->kernel,
		       efi_status_str(st));
		return st;
	}
	if (cfg->initrd[0]) {
		st = fs_exists(cfg->initrd);
		if (EFI_ERROR(st)) {
			nv_log("FATAL: initrd file '%s' not found on the boot volume (%s)",
			       cfg->initrd, efi_status_str(st));
			return st;
		}
	}
	return EFI_SUCCESS;
}

/* "cmdline initrd=\path" in UCS-2, as Linux's EFI stub expects. */
static CHAR16 *load_options(const struct nv_config *cfg, UINTN *bytes)
{
	static CHAR16 opts[CFG_CMDLINE_MAX + CFG_PATH_MAX + 16];
	static const char initrd_opt[] = "initrd=";
	size_t n = 0;

	for (const char *s = cfg->cmdline; *s; s++)
		opts[n++] = (CHAR16)(u8)*s;
	if (cfg->initrd[0]) {
		if (n)
			opts[n++] = L' ';
		for (const char *s = initrd_opt; *s; s++)
			opts[n++] = (CHAR16)*s;
		fs_path16(cfg->initrd, opts + n, ARRAY_SIZE(opts) - n);
		while (opts[n])
			n++;
	}
	opts[n] = 0;
	*bytes = (n + 1) * sizeof(CHAR16);
	return opts;
}

EFI_STATUS guest_start(EFI_HANDLE image, const struct nv_config *cfg)
{
	CHAR16 path[CFG_PATH_MAX + 2];
	EFI_DEVICE_PATH *dp;
	EFI_LOADED_IMAGE *li;
	EFI_HANDLE child;
	EFI_STATUS st;
	UINTN exit_size = 0;
	CHAR16 *exit_data = NULL;
	CHAR16 *opts;
	UINTN opts_bytes;

	fs_path16(cfg->kernel, path, ARRAY_SIZE(path));
	dp = FileDevicePath(fs_device(), path);
	if (!dp)
		return EFI_OUT_OF_RESOURCES;
	st = uefi_call_wrapper(BS->LoadImage, 6, FALSE, image, dp, NULL, 0, &child);
	FreePool(dp);
	if (EFI_ERROR(st)) {
		nv_log("FATAL: cannot load the kernel '%s': %s", cfg->kernel, efi_status_str(st));
		return st;
	}
	st = uefi_call_wrapper(BS->HandleProtocol, 3, child, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st)) {
		nv_log("FATAL: the kernel image has no EFI_LOADED_IMAGE_PROTOCOL: %s",
		       efi_status_str(st));
		uefi_call_wrapper(BS->UnloadImage, 1, child);
		return st;
	}
	opts = load_options(cfg, &opts_bytes);
	li->LoadOptions = opts;
	li->LoadOptionsSize = (UINT32)opts_bytes;

	nv_log("starting the guest '%s' (%lu KiB)", cfg->kernel, (u64)li->ImageSize >> 10);
	/* The boot manager armed a 5-minute watchdog for us; a long test guest
	 * must not be reset by it (Linux's EFI stub disarms it itself). */
	uefi_call_wrapper(BS->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	st = uefi_call_wrapper(BS->StartImage, 3, child, &exit_size, &exit_data);
	nv_log("FATAL: the guest returned: %s", efi_status_str(st));
	if (exit_data)
		FreePool(exit_data);
	return EFI_ERROR(st) ? st : EFI_ABORTED;
}
