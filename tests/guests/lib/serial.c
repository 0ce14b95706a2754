/* The test guests' serial output: the 16550 at COM1, polled (the firmware
 * set it up), and a small vsnprintf. */
#include "report.h"
#include "cpu.h"

#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE BIT(5)
#define UART_LSR_TEMT BIT(6)

void tg_putc(char ch)
{
	/* Bounded wait: a missing UART must not hang the test. */
	for (u32 i = 0; i < 100000; i++)
		if (inb(TG_SERIAL_PORT + UART_LSR) & UART_LSR_THRE)
			break;
	outb(TG_SERIAL_PORT + UART_THR, (u8)ch);
}

void tg_puts(const char *s)
{
	for (; *s; s++)
		tg_putc(*s);
}

void tg_serial_drain(void)
{
	for (u32 i = 0; i < 1000000; i++)
		if (inb(TG_SERIAL_PORT + UART_LSR) & UART_LSR_TEMT)
			break;
}

u32 tg_vformat(char *buf, u32 cap, const char *fmt, va_list ap)
{
	u32 n = 0;
	/* 'ch' is evaluated once, whether it fits or not (it may be tmp[--t]). */
#define EMIT(ch) do { char ch_ = (ch); if (n + 1 < cap) buf[n] = ch_; n++; } while (0)
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			EMIT(*fmt);
			continue;
		}
		bool is_long = false;
		if (*++fmt == 'l') {
			is_long = true;
			fmt++;
		}
		u64 v;
		char tmp[24];
		int t = 0, base = 10;
		switch (*fmt) {
		case 's':
			for (const char *s = va_arg(ap, const char *); *s; s++)
				EMIT(*s);
			continue;
		case 'c':
			EMIT((char)va_arg(ap, int));
			continue;
		case 'd': {
			s64 sv = is_long ? va_arg(ap, s64) : va_arg(ap, int);
			if (sv < 0) {
				EMIT('-');
				sv = -sv;
			}
			v = (u64)sv;
			break;
		}
		case 'p':
			v = (u64)va_arg(ap, void *);
			base = 16;
			break;
		case 'x':
			base = 16;
			/* fall through */
		case 'u':
			v = is_long ? va_arg(ap, u64) : va_arg(ap, u32);
			break;
		default:
			EMIT('%');
			EMIT(*fmt);
			continue;
		}
		if (base == 16) {
			EMIT('0');
			EMIT('x');
		}
		do {
			tmp[t++] = "0123456789abcdef"[v % base];
			v /= base;
		} while (v);
		while (t)
			EMIT(tmp[--t]);
	}
#undef EMIT
	if (cap)
		buf[n < cap ? n : cap - 1] = 0;
	return n < cap ? n : cap - 1;
}

void tg_snprintf(char *buf, u32 cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tg_vformat(buf, cap, fmt, ap);
	va_end(ap);
}

void tg_printf(const char *fmt, ...)
{
	char buf[320];
	va_list ap;

	va_start(ap, fmt);
	tg_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tg_puts(buf);
}
