/* The loader's configuration parser (boot/config.c): good files, defaults,
 * and errors that name the offending line. */
#include "unit.h"
#include <stdio.h>
#include <string.h>
#include "config.h"

static int parse(const char *text, struct nv_config *cfg, char *err)
{
	return config_parse(text, strlen(text), cfg, err);
}

static void test_all_keys(void **state)
{
	static const char text[] =
		"# nestvisor configuration\n"
		"\n"
		"kernel = \\EFI\\linux\\vmlinuz\n"
		"  initrd=\\EFI\\linux\\initrd.img   \n"
		"\tcmdline = console=ttyS0,115200 root=/dev/ram0 quiet\n"
		"   # indented comment = not a key\n"
		"serial = 0x2f8\n"
		"on_no_vmx = stop\n"
		"debug_exit = yes\n"
		"monitor_mb = 64\n"
		"trace = on\n";
	struct nv_config cfg;
	char err[CFG_ERROR_MAX];

	(void)state;
	assert_int_equal(parse(text, &cfg, err), 0);
	assert_string_equal(cfg.kernel, "\\EFI\\linux\\vmlinuz");
	assert_string_equal(cfg.initrd, "\\EFI\\linux\\initrd.img");
	assert_string_equal(cfg.cmdline, "console=ttyS0,115200 root=/dev/ram0 quiet");
	assert_int_equal(cfg.serial_port, 0x2f8);
	assert_int_equal(cfg.on_no_vmx, CFG_NO_VMX_STOP);
	assert_int_equal(cfg.debug_exit, 1);
	assert_int_equal(cfg.monitor_mb, 64);
	assert_int_equal(cfg.trace, 1);
}

static void test_defaults(void **state)
{
	struct nv_config cfg;
	char err[CFG_ERROR_MAX];

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(parse("kernel=a.efi", &cfg, err), 0); /* no final newline */
	assert_string_equal(cfg.kernel, "a.efi");
	assert_string_equal(cfg.initrd, "");
	assert_string_equal(cfg.cmdline, "");
	assert_int_equal(cfg.serial_port, 0x3f8);
	assert_int_equal(cfg.on_no_vmx, CFG_NO_VMX_NATIVE);
	assert_int_equal(cfg.debug_exit, 0);
	assert_int_equal(cfg.monitor_mb, 32);
	assert_int_equal(cfg.trace, 0);
}

static void test_crlf_and_values(void **state)
{
	static const char text[] =
		"kernel = k.efi\r\n"
		"serial = none\r\n"
		"cmdline =\r\n"
		"\r\n"
		"debug_exit = no\r\n"
		"on_no_vmx = native\r\n";
	struct nv_config cfg;
	char err[CFG_ERROR_MAX];

	(void)state;
	assert_int_equal(parse(text, &cfg, err), 0);
	assert_string_equal(cfg.kernel, "k.efi"); /* no trailing \r */
	assert_int_equal(cfg.serial_port, 0);
	assert_string_equal(cfg.cmdline, "");
	assert_int_equal(cfg.debug_exit, 0);
	assert_int_equal(cfg.on_no_vmx, CFG_NO_VMX_NATIVE);

	assert_int_equal(parse("kernel=k\nserial=1016\n", &cfg, err), 0);
	assert_int_equal(cfg.serial_port, 0x3f8);
}

/* The parse fails and the message names 'line' and contains 'word'. */
static void expect_error(const char *text, unsigned int line, const char *word)
{
	struct nv_config cfg;
	char err[CFG_ERROR_MAX], want[32];

	assert_int_equal(parse(text, &cfg, err), -1);
	snprintf(want, sizeof(want), "line %u:", line);
	if (!strstr(err, want) || !strstr(err, word))
		fail_msg("error '%s' lacks '%s' or '%s'", err, want, word);
}

static void test_bad_files(void **state)
{
	(void)state;
	expect_error("kernel=k\n# c\nkernal = x\n", 3, "kernal");
	expect_error("kernel=k\r\n\r\ninitrd\r\n", 3, "=");
	expect_error("kernel=k\ninitrd=a\n\ninitrd=b\n", 4, "initrd");
	expect_error("kernel=k\nserial=com1\n", 2, "serial");
	expect_error("serial=0x10000\nkernel=k\n", 1, "serial");
	expect_error("kernel=k\nserial=0\n", 2, "serial");
	expect_error("kernel=k\nserial=\n", 2, "serial");
	expect_error("kernel=k\non_no_vmx=boot\n", 2, "on_no_vmx");
	expect_error("kernel=k\ndebug_exit=maybe\n", 2, "debug_exit");
	expect_error("kernel=k\nmonitor_mb=8\n", 2, "monitor_mb");
	expect_error("kernel=k\ntrace=yes\n", 2, "on or off");
	expect_error("= x\nkernel=k\n", 1, "key");
}

static void test_value_too_long(void **state)
{
	static char text[CFG_CMDLINE_MAX + 64];
	struct nv_config cfg;
	char err[CFG_ERROR_MAX];
	size_t n;

	(void)state;
	/* A path of CFG_PATH_MAX - 1 characters fits, one more does not. */
	n = (size_t)snprintf(text, sizeof(text), "kernel=");
	memset(text + n, 'k', CFG_PATH_MAX - 1);
	text[n + CFG_PATH_MAX - 1] = '\0';
	assert_int_equal(parse(text, &cfg, err), 0);
	assert_int_equal(strlen(cfg.kernel), CFG_PATH_MAX - 1);

	n = (size_t)snprintf(text, sizeof(text), "kernel=k\ninitrd=");
	memset(text + n, 'i', CFG_PATH_MAX);
	text[n + CFG_PATH_MAX] = '\0';
	expect_error(text, 2, "initrd");

	n = (size_t)snprintf(text, sizeof(text), "kernel=k\n\ncmdline=");
	memset(text + n, 'c', CFG_CMDLINE_MAX);
	text[n + CFG_CMDLINE_MAX] = '\0';
	expect_error(text, 3, "cmdline");
}

static void test_missing_kernel(void **state)
{
	struct nv_config cfg;
	char err[CFG_ERROR_MAX];

	(void)state;
	assert_int_equal(parse("initrd=i\ncmdline=quiet\n", &cfg, err), -1);
	assert_non_null(strstr(err, "kernel"));
	assert_int_equal(parse("", &cfg, err), -1);
	assert_non_null(strstr(err, "kernel"));
}

int unit_config(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_crlf_and_values),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_value_too_long),
		cmocka_unit_test(test_missing_kernel),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
