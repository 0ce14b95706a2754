/* Freestanding memory and string routines and a small vsnprintf. */
#include "lib.h"

/* String instructions: the monitor copies and clears whole pages (VMCS12
 * caches, bitmaps, page tables), 8 bytes a step where it can. */
void *memset(void *d, int c, size_t n)
{
	void *p = d;
	if (!(((u64)d | n) & 7)) {
		u64 q = n / 8, v = 0x0101010101010101ULL * (u8)c;
		asm volatile("rep stosq" : "+D"(p), "+c"(q) : "a"(v) : "memory");
	} else {
		asm volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	}
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *dp = d;
	if (!(((u64)d | (u64)s | n) & 7)) {
		u64 q = n / 8;
		asm volatile("rep movsq" : "+D"(dp), "+S"(s), "+c"(q) : : "memory");
	} else {
		asm volatile("rep movsb" : "+D"(dp), "+S"(s), "+c"(n) : : "memory");
	}
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, u64 v, unsigned base, int width, char pad, bool neg)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	while (width-- > n)
		put(o, pad);
	while (n)
		put(o, tmp[--n]);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, longs = 0;
		bool left = false;
		if (*fmt == '-') {
			left = true;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int l = (int)strlen(s);
			while (!left && width-- > l)
				put(&o, ' ');
			while (*s)
				put(&o, *s++);
			while (left && width-- > l)
				put(&o, ' ');
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 'd': {
			s64 v = longs ? va_arg(ap, s64) : va_arg(ap, int);
			put_num(&o, v < 0 ? -(u64)v : (u64)v, 10, width, pad, v < 0);
			break;
		}
		case 'u':
			put_num(&o, longs ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, width, pad, false);
			break;
		case 'x':
			put_num(&o, longs ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, width, pad, false);
			break;
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, (u64)va_arg(ap, void *), 16, 0, ' ', false);
			break;
		case '%':
			put(&o, '%');
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
