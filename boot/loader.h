/* The UEFI loader's internal interfaces (the parts that use UEFI types).
 * The sequence that ties them together is in main.c; docs/loader.md
 * explains it. */
#ifndef NESTVISOR_LOADER_H
#define NESTVISOR_LOADER_H

#include <efi.h>
#include <efilib.h>
#include <nestvisor/bootinfo.h>
#include "config.h"

#define LOG_PREFIX "[nestvisor-boot] "

/* console.c: every line goes to ConOut and straight to the 16550. */
void con_set_serial(u16 port);
void nv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int nv_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *efi_status_str(EFI_STATUS status);
/* Waits up to 'seconds' for a key press on ConIn. */
void con_wait_key(unsigned int seconds);

/* fs.c: files on the volume the loader was loaded from. Paths are ASCII
 * with '\' or '/' separators. */
EFI_STATUS fs_init(EFI_HANDLE image);
EFI_HANDLE fs_device(void);
EFI_STATUS fs_read(const char *path, void **data, UINTN *size); /* FreePool */
EFI_STATUS fs_exists(const char *path);
/* ASCII path to UCS-2 with '\' separators and a leading '\'. */
void fs_path16(const char *path, CHAR16 *out, size_t out_len);

/* memory.c */
struct mon_mem {
	EFI_PHYSICAL_ADDRESS base; /* 2 MiB aligned */
	u64 size;                  /* bytes, monitor_mb MiB */
};
EFI_STATUS mem_alloc_monitor(u32 monitor_mb, struct mon_mem *mem);
void mem_free_monitor(struct mon_mem *mem);
EFI_STATUS mem_fill_map(struct nv_bootinfo *bi);

/* monitor.c: load \nestvisor\monitor.elf, fill the bootinfo, start it.
 * Returns NV_OK (now running as a guest), the monitor's negative NV_E_*
 * code, or MON_E_LOAD when the loader itself failed (already reported). */
#define MONITOR_PATH "\\nestvisor\\monitor.elf"
#define MON_E_LOAD (-100)
s64 monitor_start(const struct nv_config *cfg);
const char *monitor_error_str(s64 code);

/* launch.asm */
s64 nv_launch(void *entry, struct nv_bootinfo *bi, struct nv_resume *resume);

/* guest.c */
EFI_STATUS guest_check_files(const struct nv_config *cfg);
EFI_STATUS guest_start(EFI_HANDLE image, const struct nv_config *cfg);

#endif
