/* Formatted log output on the serial port. */
#include "log.h"
#include "lib.h"
#include <serial.h>

void log_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	serial_write(buf, (size_t)n);
}
