/* Polled 16550 UART: the monitor's log. */
#ifndef NESTVISOR_SERIAL_H
#define NESTVISOR_SERIAL_H

#include <nestvisor/types.h>

void serial_init(u16 port); /* 0 = no serial output */
void serial_write(const char *s, size_t n);
void serial_flush(void); /* wait until the last byte has left the UART */

#endif
