/* tfault: a ring-0 guest that triple-faults on purpose. The monitor must
 * report it (exit reason 2, registers) and end the run with status 254,
 * never hang or reset silently. */
#include <efi.h>
#include <efilib.h>
#include "lib/cpu.h"
#include "lib/report.h"

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct desc_ptr empty_idt = { 0, 0 };

	InitializeLib(image, systab);
	tg_puts("tfault: loading an empty IDT and raising #UD: expect a triple fault\r\n");
	/* #UD cannot be delivered (IDT limit 0) -> #GP -> #DF -> shutdown. */
	__asm__ volatile("cli; lidt %0; ud2" : : "m"(empty_idt));
	tg_puts("tfault: FAIL still running after the triple fault\r\n");
	return EFI_ABORTED;
}
