/* Parser for \nestvisor.cfg (format: docs/configuration.md).
 * Plain C without UEFI headers or libc, so the host unit tests build it as is. */
#include "config.h"

/* A bounded string builder for error messages. */
struct msg {
	char *buf;
	size_t len;
};

static void msg_str(struct msg *m, const char *s)
{
	while (*s && m->len + 1 < CFG_ERROR_MAX)
		m->buf[m->len++] = *s++;
	m->buf[m->len] = '\0';
}

/* Appends at most n bytes of s; non-printable bytes become '?'. */
static void msg_strn(struct msg *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n && m->len + 1 < CFG_ERROR_MAX; i++)
		m->buf[m->len++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	m->buf[m->len] = '\0';
}

static void msg_uint(struct msg *m, u64 v)
{
	char digits[21];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && m->len + 1 < CFG_ERROR_MAX)
		m->buf[m->len++] = digits[--n];
	m->buf[m->len] = '\0';
}

/* "line N: " */
static struct msg msg_line(char *err, unsigned int line)
{
	struct msg m = { err, 0 };

	err[0] = '\0';
	if (line) {
		msg_str(&m, "line ");
		msg_uint(&m, line);
		msg_str(&m, ": ");
	}
	return m;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool span_eq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (word[i] != s[i])
			return false;
	return word[i] == '\0';
}

/* Decimal, or hexadecimal with a 0x prefix. False on junk or overflow. */
static bool parse_uint(const char *s, size_t n, u64 max, u64 *out)
{
	u64 base = 10, v = 0;
	size_t i = 0;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == n)
		return false;
	for (; i < n; i++) {
		char c = s[i];
		u64 d;

		if (c >= '0' && c <= '9')
			d = (u64)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (u64)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (u64)(c - 'A' + 10);
		else
			return false;
		if (v > (max - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

enum cfg_key {
	KEY_KERNEL,
	KEY_INITRD,
	KEY_CMDLINE,
	KEY_SERIAL,
	KEY_ON_NO_VMX,
	KEY_DEBUG_EXIT,
	KEY_MONITOR_MB,
	KEY_NESTED,
	KEY_TRACE,
	KEY_COUNT,
};

static const char *const key_names[KEY_COUNT] = {
	[KEY_KERNEL] = "kernel",
	[KEY_INITRD] = "initrd",
	[KEY_CMDLINE] = "cmdline",
	[KEY_SERIAL] = "serial",
	[KEY_ON_NO_VMX] = "on_no_vmx",
	[KEY_DEBUG_EXIT] = "debug_exit",
	[KEY_MONITOR_MB] = "monitor_mb",
	[KEY_NESTED] = "nested",
	[KEY_TRACE] = "trace",
};

/* What a bad value should have looked like, for the error message. */
static const char *const key_expect[KEY_COUNT] = {
	[KEY_KERNEL] = "a file path on this volume",
	[KEY_INITRD] = "a file path on this volume",
	[KEY_CMDLINE] = "",
	[KEY_SERIAL] = "an I/O port such as 0x3f8, or none",
	[KEY_ON_NO_VMX] = "native or stop",
	[KEY_DEBUG_EXIT] = "yes or no",
	[KEY_MONITOR_MB] = "MiB from 16 to 1024",
	[KEY_NESTED] = "yes or no",
	[KEY_TRACE] = "on or off",
};

static void copy_value(char *dst, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = s[i];
	dst[i] = '\0';
}

/* Stores the value of one key; false if the value is malformed. */
static bool set_value(struct nv_config *cfg, enum cfg_key key, const char *v, size_t n)
{
	u64 num;

	switch (key) {
	case KEY_KERNEL:
		if (n == 0)
			return false;
		copy_value(cfg->kernel, v, n);
		return true;
	case KEY_INITRD:
		if (n == 0)
			return false;
		copy_value(cfg->initrd, v, n);
		return true;
	case KEY_CMDLINE:
		copy_value(cfg->cmdline, v, n);
		return true;
	case KEY_SERIAL:
		if (span_eq(v, n, "none")) {
			cfg->serial_port = 0;
			return true;
		}
		if (!parse_uint(v, n, 0xffff, &num) || num == 0)
			return false;
		cfg->serial_port = (u16)num;
		return true;
	case KEY_ON_NO_VMX:
		if (span_eq(v, n, "native"))
			cfg->on_no_vmx = CFG_NO_VMX_NATIVE;
		else if (span_eq(v, n, "stop"))
			cfg->on_no_vmx = CFG_NO_VMX_STOP;
		else
			return false;
		return true;
	case KEY_DEBUG_EXIT:
	case KEY_NESTED: {
		u8 *flag = key == KEY_NESTED ? &cfg->nested : &cfg->debug_exit;
		if (span_eq(v, n, "yes"))
			*flag = 1;
		else if (span_eq(v, n, "no"))
			*flag = 0;
		else
			return false;
		return true;
	}
	case KEY_TRACE:
		if (span_eq(v, n, "on"))
			cfg->trace = 1;
		else if (span_eq(v, n, "off"))
			cfg->trace = 0;
		else
			return false;
		return true;
	case KEY_MONITOR_MB:
		if (!parse_uint(v, n, 0xffffffff, &num) || num < 16 || num > 1024)
			return false;
		cfg->monitor_mb = (u32)num;
		return true;
	case KEY_COUNT:
		break;
	}
	return false;
}

static size_t value_max(enum cfg_key key)
{
	return key == KEY_CMDLINE ? CFG_CMDLINE_MAX - 1 : CFG_PATH_MAX - 1;
}

/* Parses one line (without its newline). Returns false with 'err' set. */
static bool parse_line(const char *s, size_t n, unsigned int line, struct nv_config *cfg,
		       unsigned int first_line[KEY_COUNT], char *err)
{
	size_t eq, k0, k1, v0, v1;
	struct msg m;
	int key;

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t') {
			m = msg_line(err, line);
			msg_str(&m, "control character in line (is the file plain ASCII/UTF-8?)");
			return false;
		}
	}
	for (k0 = 0; k0 < n && is_space(s[k0]); k0++)
		;
	if (k0 == n || s[k0] == '#')
		return true;
	for (eq = k0; eq < n && s[eq] != '='; eq++)
		;
	for (k1 = eq; k1 > k0 && is_space(s[k1 - 1]); k1--)
		;
	if (eq == n) {
		m = msg_line(err, line);
		msg_str(&m, "missing '=' in '");
		msg_strn(&m, s + k0, k1 - k0 > 40 ? 40 : k1 - k0);
		msg_str(&m, "' (expected key = value)");
		return false;
	}
	if (k1 == k0) {
		m = msg_line(err, line);
		msg_str(&m, "missing key before '='");
		return false;
	}
	for (v0 = eq + 1; v0 < n && is_space(s[v0]); v0++)
		;
	for (v1 = n; v1 > v0 && is_space(s[v1 - 1]); v1--)
		;

	for (key = 0; key < KEY_COUNT; key++)
		if (span_eq(s + k0, k1 - k0, key_names[key]))
			break;
	if (key == KEY_COUNT) {
		size_t w = k0;

		/* "cmdline console=ttyS0": the '=' belongs to the value. */
		while (w < k1 && !is_space(s[w]))
			w++;
		for (key = 0; w < k1 && key < KEY_COUNT; key++) {
			if (span_eq(s + k0, w - k0, key_names[key])) {
				m = msg_line(err, line);
				msg_str(&m, "missing '=' after '");
				msg_str(&m, key_names[key]);
				msg_str(&m, "'");
				return false;
			}
		}
		m = msg_line(err, line);
		msg_str(&m, "unknown key '");
		msg_strn(&m, s + k0, k1 - k0 > 40 ? 40 : k1 - k0);
		msg_str(&m, "'");
		return false;
	}
	if (first_line[key]) {
		m = msg_line(err, line);
		msg_str(&m, "duplicate key '");
		msg_str(&m, key_names[key]);
		msg_str(&m, "' (first set on line ");
		msg_uint(&m, first_line[key]);
		msg_str(&m, ")");
		return false;
	}
	if (v1 - v0 > value_max(key)) {
		m = msg_line(err, line);
		msg_str(&m, "value of '");
		msg_str(&m, key_names[key]);
		msg_str(&m, "' too long (at most ");
		msg_uint(&m, value_max(key));
		msg_str(&m, " characters)");
		return false;
	}
	if (!set_value(cfg, key, s + v0, v1 - v0)) {
		m = msg_line(err, line);
		msg_str(&m, "bad value '");
		msg_strn(&m, s + v0, v1 - v0 > 40 ? 40 : v1 - v0);
		msg_str(&m, "' for '");
		msg_str(&m, key_names[key]);
		msg_str(&m, "' (expected ");
		msg_str(&m, key_expect[key]);
		msg_str(&m, ")");
		return false;
	}
	first_line[key] = line;
	return true;
}

int config_parse(const char *text, size_t len, struct nv_config *cfg, char *err)
{
	unsigned int first_line[KEY_COUNT] = { 0 };
	unsigned int line = 0;
	size_t pos = 0;
	struct msg m;

	for (size_t i = 0; i < sizeof(*cfg); i++)
		((u8 *)cfg)[i] = 0;
	cfg->serial_port = 0x3f8;
	cfg->on_no_vmx = CFG_NO_VMX_NATIVE;
	cfg->debug_exit = 0;
	cfg->monitor_mb = 32;
	cfg->nested = 1;
	err[0] = '\0';

	/* A UTF-8 byte-order mark, as some editors write, is not content. */
	if (len >= 3 && (u8)text[0] == 0xef && (u8)text[1] == 0xbb && (u8)text[2] == 0xbf)
		pos = 3;

	while (pos < len) {
		size_t end = pos, n;

		while (end < len && text[end] != '\n')
			end++;
		n = end - pos;
		if (n && text[pos + n - 1] == '\r')
			n--;
		line++;
		if (!parse_line(text + pos, n, line, cfg, first_line, err))
			return -1;
		pos = end + 1;
	}

	if (!first_line[KEY_KERNEL]) {
		m = msg_line(err, 0);
		msg_str(&m, "missing required key 'kernel' (the guest to boot)");
		return -1;
	}
	return 0;
}
