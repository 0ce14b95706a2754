/* The loader's configuration file, \nestvisor.cfg on the ESP.
 * Format and keys: docs/configuration.md. The parser is plain C with no
 * UEFI dependency so that the host-side unit tests compile it as is. */
#ifndef NESTVISOR_CONFIG_H
#define NESTVISOR_CONFIG_H

#include <nestvisor/types.h>

#define CFG_PATH_MAX 256
#define CFG_CMDLINE_MAX 1024
#define CFG_ERROR_MAX 160

enum cfg_on_no_vmx {
	CFG_NO_VMX_NATIVE = 0, /* boot the guest without the monitor */
	CFG_NO_VMX_STOP = 1,   /* print why and stop */
};

struct nv_config {
	char kernel[CFG_PATH_MAX];   /* "kernel": EFI image of the guest (required) */
	char initrd[CFG_PATH_MAX];   /* "initrd": passed to Linux as initrd= */
	char cmdline[CFG_CMDLINE_MAX]; /* "cmdline": the guest's load options */
	u16 serial_port;             /* "serial": 0x3f8 (default), ..., or "none" = 0 */
	u8 on_no_vmx;                /* "on_no_vmx": native | stop (default native) */
	u8 debug_exit;               /* "debug_exit": yes | no (default no) */
	u32 monitor_mb;              /* "monitor_mb": monitor memory, MiB (default 32) */
	u8 nested;                   /* "nested": offer VT-x to the guest, yes | no (default yes) */
	u8 trace;                    /* "trace": record VM exits (docs/trace.md), on | off (default off) */
};

/* Parse 'len' bytes of 'text'. Returns 0 and fills 'cfg', or -1 and writes a
 * one-line reason naming the line number into 'err' (CFG_ERROR_MAX bytes). */
int config_parse(const char *text, size_t len, struct nv_config *cfg, char *err);

#endif
