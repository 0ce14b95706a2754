/* Shared by the nested VM-entry check tests: a case is a known-good 64-bit
 * L2 VMCS12, edited by `setup` (after which it must still pass every
 * check) and then by `brk` (after which it must fail exactly the rule the
 * case names, with the expected result). */
#ifndef NV_TEST_ENTRY_CHECKS_H
#define NV_TEST_ENTRY_CHECKS_H

#include <nestvisor/types.h>
#include <nested/entry_checks.h>
/* The known-good VMCS12, capability sets, presets and L1 memory. */
#include "../common/entry_vmcs12.h"

enum ec_op_kind { OP_END, OP_SET, OP_OR, OP_CLR, OP_MEM8, OP_MEM32, OP_MEM64,
		  OP_CAP_OR, OP_CAP_CLR, OP_FACT };
enum ec_fact { FACT_L1_LONG_MODE, FACT_RTM, FACT_MAXPHYADDR, FACT_NO_READ };

struct ec_op {
	enum ec_op_kind op;
	u32 at;  /* field encoding, guest-physical address, MSR or fact */
	u64 val;
};

struct ec_case {
	const char *name;
	enum ec_caps_kind caps;
	enum ec_preset preset;
	struct ec_op setup[10];
	struct ec_op brk[4];
	enum entry_check_kind kind; /* ENTRY_OK: a case that only has to pass */
	u32 code;                   /* VM-instruction error or exit reason */
	u64 qual;
	const char *rule;           /* a part of the expected rule text */
};

#define W(e, x)      { OP_SET, (e), (x) }
#define OR(e, x)     { OP_OR, (e), (x) }
#define CL(e, x)     { OP_CLR, (e), (x) }
#define M8(a, x)     { OP_MEM8, (a), (x) }
#define M32(a, x)    { OP_MEM32, (a), (x) }
#define M64(a, x)    { OP_MEM64, (a), (x) }
#define CAPOR(m, x)  { OP_CAP_OR, (m), (x) }
#define CAPCL(m, x)  { OP_CAP_CLR, (m), (x) }
#define FACT(f, x)   { OP_FACT, (f), (x) }

#define VMFAIL_CTL(r)    .kind = ENTRY_VMFAIL, .code = 7, .rule = (r)
#define VMFAIL_HOST(r)   .kind = ENTRY_VMFAIL, .code = 8, .rule = (r)
#define FAIL_GUEST(q, r) .kind = ENTRY_FAIL_EXIT, .code = 0x80000021, .qual = (q), .rule = (r)
#define FAIL_MSR(i, r)   .kind = ENTRY_FAIL_EXIT, .code = 0x80000022, .qual = (i), .rule = (r)

extern const struct ec_case ec_ctl_cases[];
extern const size_t ec_ctl_cases_count;
extern const struct ec_case ec_guest_cases[];
extern const size_t ec_guest_cases_count;

#endif
