/* The few C library routines the freestanding monitor needs. */
#ifndef NESTVISOR_LIB_H
#define NESTVISOR_LIB_H

#include <nestvisor/types.h>
#include <stdarg.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* printf subset: %s %c %d %u %x %p, flags '0' and '-' (strings), width,
 * length l/ll/z. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
