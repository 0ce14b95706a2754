/* The unit-test groups: each test file runs its own cmocka group and
 * returns the number of failed tests. */
#ifndef NV_UNIT_H
#define NV_UNIT_H

/* cmocka needs these before <cmocka.h>. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

int unit_exit_reason(void);
int unit_ept(void);
int unit_ept_identity(void);
int unit_cpuid_policy(void);
int unit_msr_policy(void);
int unit_config(void);
int unit_vmcs12(void);
int unit_nested_caps(void);
int unit_operand(void);
int unit_guest_walk(void);
int unit_reflect(void);
int unit_entry_checks(void);
int unit_ept12(void);
int unit_nvlaunch_boot(void);
int unit_trace(void);

#endif
