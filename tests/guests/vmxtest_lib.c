/* vmxtest / vmxfuzz: serial output, check reporting and the end of a run.
 * Lines: "<prog>: PASS <name>" | "<prog>: FAIL <name>: <expected, got>",
 * then "<prog>: <N> passed, <M> failed". */
#include <efi.h>
#include <efilib.h>
#include "vmxtest.h"

const char *vt_prog = "vmxtest";
u32 vt_passed, vt_failed;

#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE BIT(5)
#define UART_LSR_TEMT BIT(6)

static void vt_putc(char ch)
{
	/* Bounded wait: a missing UART must not hang the test. */
	for (u32 i = 0; i < 100000; i++)
		if (vt_inb(VT_SERIAL_PORT + UART_LSR) & UART_LSR_THRE)
			break;
	vt_outb(VT_SERIAL_PORT + UART_THR, (u8)ch);
}

/* A small vsnprintf: %s %c %d %u %x %p, 'l' for 64 bits. */
u32 vt_vformat(char *buf, u32 cap, const char *fmt, va_list ap)
{
	u32 n = 0;
#define EMIT(ch) do { if (n + 1 < cap) buf[n] = (ch); n++; } while (0)
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

void vt_snprintf(char *buf, u32 cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vt_vformat(buf, cap, fmt, ap);
	va_end(ap);
}

void vt_printf(const char *fmt, ...)
{
	char buf[320];
	va_list ap;

	va_start(ap, fmt);
	vt_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (const char *s = buf; *s; s++)
		vt_putc(*s);
}

void vt_begin(struct vt_check *c, const char *name)
{
	c->name = name;
	c->failed = false;
	c->full = false;
	c->len = 0;
	c->why[0] = 0;
}

bool vt_expect(struct vt_check *c, bool ok, const char *fmt, ...)
{
	static const char more[] = "; ...";
	char msg[sizeof(c->why) - sizeof(more)];
	va_list ap;
	u32 n;

	if (ok)
		return true;
	c->failed = true;
	va_start(ap, fmt);
	n = vt_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->full)
		return false;
	if (c->len && c->len + 2 + n + sizeof(more) > sizeof(c->why)) {
		CopyMem(c->why + c->len, (void *)more, sizeof(more));
		c->len += sizeof(more) - 1;
		c->full = true;
		return false;
	}
	if (c->len) {
		c->why[c->len++] = ';';
		c->why[c->len++] = ' ';
	}
	CopyMem(c->why + c->len, msg, n + 1);
	c->len += n;
	return false;
}

void vt_end(struct vt_check *c)
{
	if (c->failed) {
		vt_failed++;
		vt_printf("%s: FAIL %s: %s\n", vt_prog, c->name, c->why);
	} else {
		vt_passed++;
		vt_printf("%s: PASS %s\n", vt_prog, c->name);
	}
}

bool vt_expect_res(struct vt_check *c, const char *what, u32 got, u32 want)
{
	return vt_expect(c, got == want, "%s: expected %s, got %s", what,
			 vt_res_name(want), vt_res_name(got));
}

bool vt_expect_eq(struct vt_check *c, const char *what, u64 got, u64 want)
{
	return vt_expect(c, got == want, "%s: expected %lx, got %lx", what, want, got);
}

/* VMCALL at CPL 0 (nestvisor's hypercall ABI, include/nestvisor/hypercall.h).
 * Only called under nestvisor: on bare hardware VMCALL outside VMX non-root
 * operation is #UD. */
s64 vt_hypercall(u64 fn, u64 *rbx, u64 *rcx)
{
	u64 b = rbx ? *rbx : 0, c = rcx ? *rcx : 0, d = 0;

	asm volatile("vmcall" : "+a"(fn), "+b"(b), "+c"(c), "+d"(d) : : "memory");
	if (rbx)
		*rbx = b;
	if (rcx)
		*rcx = c;
	return (s64)fn;
}

static bool vt_under_nestvisor(void)
{
	u32 r[4];

	vt_cpuid(NV_CPUID_BASE, 0, r);
	return r[1] == NV_CPUID_SIG_EBX && r[2] == NV_CPUID_SIG_ECX && r[3] == NV_CPUID_SIG_EDX;
}

/* Under nestvisor: NV_HC_END_RUN. On bare Bochs: "Shutdown" to 0x8900. */
void vt_end_run(u32 status)
{
	if (vt_under_nestvisor()) {
		u64 rbx = status;
		vt_hypercall(NV_HC_END_RUN, &rbx, NULL);
		vt_printf("%s: FAIL end-run: NV_HC_END_RUN returned\n", vt_prog);
	}
	for (u32 i = 0; i < 1000000; i++)
		if (vt_inb(VT_SERIAL_PORT + UART_LSR) & UART_LSR_TEMT)
			break;
	for (const char *s = "Shutdown"; *s; s++)
		vt_outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	vt_outb(NV_DEBUG_EXIT_PORT, (u8)(status ? status : 0));
	for (;;)
		asm volatile("cli; hlt");
}

void vt_unexpected_fault(u64 vector, u64 error, u64 rip)
{
	vt_failed++;
	vt_printf("%s: FAIL unexpected-fault: vector %lu error %lx at rip %lx\n", vt_prog,
		  vector, error, rip);
	vt_printf("%s: %u passed, %u failed\n", vt_prog, vt_passed, vt_failed);
	vt_end_run(1);
}
