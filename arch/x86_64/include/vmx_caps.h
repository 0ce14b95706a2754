/* The hardware's VMX capability MSRs as the monitor reads them once at
 * start (SDM Vol. 3D Appendix A). Self-standing so that pure modules
 * (arch/x86_64/nested/caps.c) can use it without the monitor's vmx.h. */
#ifndef NESTVISOR_VMX_CAPS_H
#define NESTVISOR_VMX_CAPS_H

#include <nestvisor/types.h>

struct vmx_caps {
	u64 basic;
	u64 pinbased, procbased, procbased2, exit, entry; /* TRUE_* where offered */
	u64 misc, ept_vpid;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

#endif
