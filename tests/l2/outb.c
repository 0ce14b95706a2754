/*
 * outb PORT VALUE: write the byte VALUE to the I/O port PORT (numbers in
 * decimal or 0x-hex), after ioperm(PORT, 1, 1). L2's /init uses it to end a
 * run through QEMU's isa-debug-exit device (nestvisor.l2exit=0xf4), which
 * makes QEMU exit with status (VALUE << 1) | 1.
 *
 * Freestanding (no libc): a few raw system calls keep the binary at a few
 * KiB in the initramfs. Exit status: 0 when the byte was written (if the
 * port ends the machine, it never returns), 1 on a bad argument, 2 when
 * ioperm fails (not root, or no I/O ports on this machine).
 */

#define SYS_write  1
#define SYS_exit   60
#define SYS_ioperm 173

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static unsigned long len(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

static void say(const char *s)
{
	sys3(SYS_write, 2, (long)s, (long)len(s));
}

static __attribute__((noreturn)) void leave(int status)
{
	for (;;)
		sys3(SYS_exit, status, 0, 0);
}

/* Parses decimal or 0x-hex; returns 0 on a malformed or too large number. */
static int number(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0, base = 10, d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			d = (unsigned long)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned long)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned long)(*s - 'A' + 10);
		else
			return 0;
		v = v * base + d;
		if (v > max)
			return 0;
	}
	*out = v;
	return 1;
}

__attribute__((noreturn, used)) void outb_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	unsigned long port, value;

	if (argc != 3 || !number(argv[1], 0xffff, &port) ||
	    !number(argv[2], 0xff, &value)) {
		say("usage: outb PORT VALUE (PORT <= 0xffff, VALUE <= 0xff)\n");
		leave(1);
	}
	if (sys3(SYS_ioperm, (long)port, 1, 1) != 0) {
		say("outb: ioperm failed\n");
		leave(2);
	}
	__asm__ volatile("outb %b0, %w1" : : "a"(value), "Nd"(port));
	leave(0);
}

/* The kernel starts us with argc at (%rsp), then argv[]. */
__asm__(".globl _start\n"
	"_start:\n"
	"\txor %ebp, %ebp\n"
	"\tmov %rsp, %rdi\n"
	"\tand $-16, %rsp\n"
	"\tcall outb_main\n"
	"\thlt\n");
