/* The loader's log: each line to the firmware console (ConOut) and, when
 * the firmware console does not already reach a serial port, written
 * directly to a 16550 UART as well, so that it reaches the serial log
 * exactly once. */
#include "loader.h"

#define UART_THR 0 /* transmit holding register (DLAB=0) */
#define UART_DLL 0 /* divisor latch, low byte (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch, high byte (DLAB=1) */
#define UART_FCR 2 /* FIFO control */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
#define UART_LSR_THRE 0x20 /* transmit holding register empty */

static u16 con_port = 0x3f8;
static bool conout_has_uart; /* the firmware console already reaches a UART */

/* Does any console output device sit on a UART (a device path with a
 * Messaging/UART node, UEFI spec 10.3.4)? Then the firmware copies ConOut
 * to the serial port itself, and writing the UART directly as well would
 * print every line twice. */
static bool firmware_console_on_uart(void)
{
	EFI_HANDLE *handles = NULL;
	UINTN count = 0;
	bool found = false;

	if (LibLocateHandle(ByProtocol, &TextOutProtocol, NULL, &count, &handles) != EFI_SUCCESS)
		return false;
	for (UINTN i = 0; i < count && !found; i++) {
		EFI_DEVICE_PATH *dp = DevicePathFromHandle(handles[i]);
		for (; dp && !IsDevicePathEnd(dp); dp = NextDevicePathNode(dp))
			if (DevicePathType(dp) == MESSAGING_DEVICE_PATH && DevicePathSubType(dp) == MSG_UART_DP)
				found = true;
	}
	FreePool(handles);
	return found;
}

static inline void outb(u16 port, u8 val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 val;

	__asm__ volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

/* 115200 8N1 with FIFOs, the setting OVMF itself uses, so sharing the UART
 * with the firmware's serial console changes nothing for it. */
void con_set_serial(u16 port)
{
	con_port = port;
	conout_has_uart = firmware_console_on_uart();
	if (!port)
		return;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, UART_LCR_DLAB);
	outb(port + UART_DLL, 1);
	outb(port + UART_DLM, 0);
	outb(port + UART_LCR, UART_LCR_8N1);
	outb(port + UART_FCR, 0xc7); /* enable, clear both FIFOs, 14-byte trigger */
	outb(port + UART_MCR, 0x03); /* DTR, RTS */
}

static void serial_putc(char c)
{
	/* Bounded: a missing UART must not hang the loader. */
	for (int i = 0; i < 100000; i++)
		if (inb(con_port + UART_LSR) & UART_LSR_THRE)
			break;
	outb(con_port + UART_THR, (u8)c);
}

static void serial_write(const char *s)
{
	if (!con_port)
		return;
	for (; *s; s++) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s);
	}
}

static void conout_write(const char *s)
{
	CHAR16 buf[128];
	size_t n = 0;

	if (!ST || !ST->ConOut)
		return;
	for (;; s++) {
		if (*s == '\n' || *s == '\0' || n + 3 >= ARRAY_SIZE(buf)) {
			if (*s == '\n')
				buf[n++] = L'\r';
			if (*s == '\n')
				buf[n++] = L'\n';
			buf[n] = 0;
			uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, buf);
			n = 0;
			if (*s == '\0')
				return;
			if (*s == '\n')
				continue;
		}
		buf[n++] = (CHAR16)(u8)*s;
	}
}

/* A small vsnprintf: %s %c %d %u %x %p, flag 0, width, length l/ll/z. */
struct out {
	char *buf;
	size_t size, len;
};

static void out_c(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_num(struct out *o, u64 v, unsigned int base, bool neg, int width, char pad)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		width--;
	if (neg && pad == '0')
		out_c(o, '-');
	for (; width > n; width--)
		out_c(o, pad);
	if (neg && pad != '0')
		out_c(o, '-');
	while (n)
		out_c(o, digits[--n]);
}

static int vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';
		u64 v;

		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = *fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			s64 sv = lng ? va_arg(ap, s64) : va_arg(ap, int);

			out_num(&o, sv < 0 ? -(u64)sv : (u64)sv, 10, sv < 0, width, pad);
			break;
		}
		case 'u':
		case 'x':
			v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned int);
			out_num(&o, v, *fmt == 'x' ? 16 : 10, false, width, pad);
			break;
		case 'p':
			out_c(&o, '0');
			out_c(&o, 'x');
			out_num(&o, (u64)(uintptr_t)va_arg(ap, void *), 16, false, width, pad);
			break;
		case 'c':
			out_c(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);

			for (s = s ? s : "(null)"; *s; s++)
				out_c(&o, *s);
			break;
		}
		case '%':
			out_c(&o, '%');
			break;
		default:
			return -1; /* unknown conversion: a bug in the caller */
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int nv_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void nv_log(const char *fmt, ...)
{
	static char line[1600];
	size_t pre = sizeof(LOG_PREFIX) - 1;
	va_list ap;
	int n;

	for (size_t i = 0; i < pre; i++)
		line[i] = LOG_PREFIX[i];
	va_start(ap, fmt);
	n = vformat(line + pre, sizeof(line) - pre - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - pre - 2)
		n = (int)(sizeof(line) - pre - 2);
	line[pre + n] = '\n';
	line[pre + n + 1] = '\0';
	if (!conout_has_uart)
		serial_write(line);
	conout_write(line);
}

const char *efi_status_str(EFI_STATUS status)
{
	static char buf[96];
	CHAR16 wide[64];
	size_t i;

	StatusToString(wide, status);
	for (i = 0; wide[i] && i + 1 < sizeof(buf); i++)
		buf[i] = wide[i] < 0x80 ? (char)wide[i] : '?';
	buf[i] = '\0';
	return buf;
}

void con_wait_key(unsigned int seconds)
{
	EFI_EVENT events[2];
	EFI_INPUT_KEY key;
	UINTN index;

	if (!ST->ConIn ||
	    uefi_call_wrapper(BS->CreateEvent, 5, EVT_TIMER, 0, NULL, NULL, &events[1]) !=
		    EFI_SUCCESS) {
		uefi_call_wrapper(BS->Stall, 1, (UINTN)seconds * 1000000);
		return;
	}
	events[0] = ST->ConIn->WaitForKey;
	/* Timer periods are in units of 100 ns. */
	uefi_call_wrapper(BS->SetTimer, 3, events[1], TimerRelative, (u64)seconds * 10000000);
	uefi_call_wrapper(BS->WaitForEvent, 3, 2, events, &index);
	uefi_call_wrapper(BS->CloseEvent, 1, events[1]);
	if (index == 0)
		uefi_call_wrapper(ST->ConIn->ReadKeyStroke, 2, ST->ConIn, &key);
}
