/* hello: the smallest guest. Prints its load options over serial (COM1,
 * written directly) and ends the run with status 0: port 0xf4 (QEMU's
 * isa-debug-exit, or the monitor's debug exit), then Bochs's shutdown port
 * 0x8900 for a native Bochs run. Used by tests/system/qemu.sh to see that the
 * loader started the guest and passed the command line through. */
#include <efi.h>
#include <efilib.h>
#include "lib/cpu.h"
#include "lib/nestvisor.h"
#include "lib/report.h"

static void puts_serial(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			tg_putc('\r');
		tg_putc(*s);
	}
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	static char line[2048];
	static const char head[] = "hello: guest started, load options: ";
	EFI_LOADED_IMAGE *li = NULL;
	UINTN n = 0;

	InitializeLib(image, systab);
	for (const char *s = head; *s; s++)
		line[n++] = *s;
	uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
	if (li && li->LoadOptions) {
		const CHAR16 *opt = li->LoadOptions;
		UINTN chars = li->LoadOptionsSize / sizeof(CHAR16);

		for (UINTN i = 0; i < chars && opt[i] && n + 2 < sizeof(line); i++)
			line[n++] = opt[i] < 0x80 ? (char)opt[i] : '?';
	}
	line[n++] = '\n';
	line[n] = '\0';
	puts_serial(line);

	outb(NV_DEBUG_EXIT_PORT, 0);
	for (const char *s = "Shutdown"; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	puts_serial("hello: still running after the exit ports; returning\n");
	return EFI_SUCCESS;
}
