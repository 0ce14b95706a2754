/* tfault: a ring-0 guest that triple-faults on purpose. The monitor must
 * report it (exit reason 2, registers) and end the run with status 254,
 * never hang or reset silently. */
#include <efi.h>
#include <efilib.h>

#define COM1 0x3f8

static void serial_puts(const char *s)
{
	for (; *s; s++) {
		for (int i = 0; i < 100000; i++) {
			unsigned char lsr;
			__asm__ volatile("inb %1, %0" : "=a"(lsr) : "Nd"((unsigned short)(COM1 + 5)));
			if (lsr & 0x20)
				break;
		}
		__asm__ volatile("outb %0, %1" : : "a"(*s), "Nd"((unsigned short)COM1));
	}
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct __attribute__((packed)) {
		unsigned short limit;
		unsigned long base;
	} empty_idt = { 0, 0 };

	InitializeLib(image, systab);
	serial_puts("tfault: loading an empty IDT and raising #UD: expect a triple fault\r\n");
	/* #UD cannot be delivered (IDT limit 0) -> #GP -> #DF -> shutdown. */
	__asm__ volatile("cli; lidt %0; ud2" : : "m"(empty_idt));
	serial_puts("tfault: FAIL still running after the triple fault\r\n");
	return EFI_ABORTED;
}
