/* vmxtest: a UEFI application that acts as an L1 hypervisor and checks
 * VMX instructions, VM entries, VM exits and event injection. One line per
 * check on the serial port ("vmxtest: PASS <name>" | "vmxtest: FAIL
 * <name>: expected X, got Y"), then "vmxtest: <N> passed, <M> failed".
 * The same lines come out on bare Bochs (real VMX, the oracle) and under
 * nestvisor (emulated VMX): the checks adapt to the capability MSRs and
 * compare only results the SDM fixes. See docs/testing-nested.md. */
#include <efi.h>
#include <efilib.h>
#include "vmxtest.h"

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	static struct vt_env env;

	if (!vt_setup(&env, image, st, "vmxtest")) {
		tg_printf("vmxtest: 0 passed, 1 failed\n");
		tg_end_run(1);
	}
	if (!env.vmx_ok) {
		tg_printf("vmxtest: FAIL vmx-offered: CPUID.1:ECX.VMX is 0\n");
		tg_printf("vmxtest: 0 passed, 1 failed\n");
		tg_end_run(1);
	}
	vt_checks_before_vmxon(&env);
	vt_checks_vmx_insn(&env);
	vt_checks_entry(&env);
	vt_checks_l2_exits(&env);
	vt_checks_inject(&env);
	vt_checks_two_l2(&env);
	vt_checks_ept(&env);
	vt_checks_shadow(&env);
	vt_checks_timer(&env);
	vt_checks_addr(&env);
	vt_checks_pml(&env);
	vt_checks_cycles(&env);

	tg_printf("vmxtest: %u passed, %u failed\n", tg_passed, tg_failed);
	tg_end_run(tg_failed ? 1 : 0);
}
