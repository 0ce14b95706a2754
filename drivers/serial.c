/* 16550 UART, polled. The firmware has already programmed the line (and the
 * guest shares it), so the monitor only waits for the transmit holding
 * register to empty before each byte. */
#include "serial.h"
#include <cpu.h>

#define UART_THR 0 /* transmit holding register */
#define UART_LSR 5 /* line status register */
#define UART_LSR_THRE 0x20 /* transmit holding register empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty: the last bit is out */

static u16 serial_port;

void serial_init(u16 port)
{
	serial_port = port;
}

static void serial_putc(char c)
{
	/* Bounded wait: a missing UART reads 0xff and must not hang us. */
	for (int i = 0; i < 100000; i++)
		if (inb(serial_port + UART_LSR) & UART_LSR_THRE)
			break;
	outb(serial_port + UART_THR, (u8)c);
}

void serial_write(const char *s, size_t n)
{
	if (!serial_port)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

void serial_flush(void)
{
	if (!serial_port)
		return;
	for (int i = 0; i < 100000; i++)
		if (inb(serial_port + UART_LSR) & UART_LSR_TEMT)
			break;
}
