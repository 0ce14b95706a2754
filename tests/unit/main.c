/* Runs every unit-test group; exits non-zero if any test failed. */
#include "unit.h"

int main(void)
{
	int failed = 0;

	failed += unit_exit_reason();
	failed += unit_trace();
	failed += unit_ept();
	failed += unit_ept_identity();
	failed += unit_cpuid_policy();
	failed += unit_msr_policy();
	failed += unit_config();
	failed += unit_vmcs12();
	failed += unit_nested_caps();
	failed += unit_operand();
	failed += unit_guest_walk();
	failed += unit_reflect();
	failed += unit_entry_checks();
	failed += unit_ept12();
	failed += unit_nvlaunch_boot();
	return failed ? 1 : 0;
}
