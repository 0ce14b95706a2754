/* Fuzz target: the nested VM-entry checks (arch/x86_64/nested/
 * entry_checks*.c, nested_check_vmentry and its four categories).
 *
 * Each input starts from a VMCS12 that passes every check (the one
 * tests/common/entry_vmcs12.c builds for the unit tests too, with its
 * capability sets and presets), then applies random mutations to fields, capability MSRs, L1
 * facts and the L1 memory the checks read (link pointer, virtual-APIC
 * page, PDPTEs, MSR-load list).
 *
 * Input: u8 caps kind (offered, hardware, poor), u8 preset (none, 32-bit
 * PAE L2, L1 outside IA-32e mode, virtual-8086 L2), u8 fact flags (bit 0
 * RTM, bit 1 no memory reader, bit 2 57-bit linear addresses, bit 3
 * leave linear width and IA32_DEBUGCTL bits 0 for the defaults), u8
 * MAXPHYADDR (0 keeps 39, else 32 + n % 21), u64 PRNG seed, then up to 32
 * mutations of 11 bytes: u8 kind, u16 selector, u64 value (see mutate():
 * bit operations and values on the field of table row selector, a bit of
 * a capability MSR, 8 bytes of L1 memory, an L1 address, or a control
 * field random within its capability MSR).
 *
 * Properties:
 * - the result is well formed: a defined kind; OK has no rule and no
 *   codes; VMfailValid has error 7 (a 27.2.1 rule) or 8 (27.2.2-27.2.4);
 *   a failure exit has reason 33 (qualification 0, 2, 3 or 4, a 27.3
 *   rule) or 34 (qualification >= 1, a 27.4 rule), bit 31 set;
 * - determinism: the same call again gives the same result and rule;
 * - the checks change nothing (VMCS12, capabilities, facts, L1 memory);
 * - nested_check_vmentry is the first failure of controls, host state,
 *   guest state and MSR loading, in that order;
 * - fields the checks never read (entry_unread.h) do not matter: random
 *   values in all of them give exactly the same result, so in particular
 *   a VMCS12 that passes still passes. */
#define FUZZ_HAS_INIT /* fuzz_init: the starting points pass */
#include "fuzz.h"
#include <nested/entry_checks.h>
#include <vmcs.h>
#include <msr.h>
#include <cpu.h>

/* The known-good VMCS12, capability sets, presets and L1 memory. */
#include "../common/entry_vmcs12.h"

static void set(struct vmcs12 *v, u32 enc, u64 val)
{
	vmcs12_set(v, enc, val);
}

/* ---- the harness ---- */

static const u32 unread[] = {
#define ENTRY_UNREAD(enc) enc,
#include "entry_unread.h"
#undef ENTRY_UNREAD
};

static struct vmcs12 v, v_copy, v_unread;
static u8 tmem_copy[TMEM_SIZE];

static void fuzz_init(void)
{
	/* The starting points pass: otherwise the harness, not the checks,
	 * is wrong. */
	for (int k = 0; k < 3; k++)
		for (int p = 0; p < 4; p++) {
			struct nested_caps caps;
			struct l1_facts f;
			struct entry_check_result r;

			ec_start(&caps, &f, &v, (enum ec_caps_kind)k, (enum ec_preset)p);
			r = nested_check_vmentry(&v, &caps, &f);
			FUZZ_CHECK(r.kind == ENTRY_OK, "harness: start VMCS12 (caps %d, preset %d) fails: %s",
				   k, p, r.rule ? r.rule : "(no rule)");
		}
}

static u32 row_enc(u16 sel)
{
	return vmcs12_field_table[sel % vmcs12_field_count].encoding;
}

static void mutate(u8 kind, u16 sel, u64 val, struct nested_caps *caps)
{
	u32 enc = row_enc(sel);

	switch (kind % 9) {
	case 0: set(&v, enc, vmcs12_get(&v, enc) | BIT(val & 63)); break;
	case 1: set(&v, enc, vmcs12_get(&v, enc) & ~BIT(val & 63)); break;
	case 2: set(&v, enc, val); break;
	case 3: set(&v, enc, vmcs12_get(&v, enc) ^ val); break;
	case 4: caps->msr[sel % EC_NCAPS] ^= BIT(val & 63); break;
	case 5: { /* L1 memory: 8 bytes */
		u64 off = ((u64)sel * 8) % TMEM_SIZE;
		memcpy(&ec_tmem[off], &val, 8);
		break;
	}
	case 6: set(&v, enc, val & 0xff); break;                    /* counts, states */
	case 7: set(&v, enc, TMEM_BASE + (val & (TMEM_SIZE - 1))); break; /* an address in L1 memory */
	default: { /* a control field, random within what its capability MSR allows */
		static const u32 ctl[5][3] = {
			{ PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			  MSR_IA32_VMX_TRUE_PINBASED_CTLS },
			{ CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			  MSR_IA32_VMX_TRUE_PROCBASED_CTLS },
			{ SECONDARY_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS2,
			  MSR_IA32_VMX_PROCBASED_CTLS2 },
			{ VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS },
			{ VM_ENTRY_CONTROLS, MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS },
		};
		const u32 *k = ctl[sel % 5];
		u64 cap = (CAPM(caps, MSR_IA32_VMX_BASIC) & BIT(55)) ? CAPM(caps, k[2]) : CAPM(caps, k[1]);

		set(&v, k[0], ((u32)val & (u32)(cap >> 32)) | (u32)cap);
	}
	}
}

static bool same(const struct entry_check_result *a, const struct entry_check_result *b)
{
	if (a->kind != b->kind || a->vm_instruction_error != b->vm_instruction_error ||
	    a->exit_reason != b->exit_reason || a->exit_qualification != b->exit_qualification)
		return false;
	if (!a->rule || !b->rule)
		return a->rule == b->rule;
	return !strcmp(a->rule, b->rule);
}

static const char *rs(const struct entry_check_result *r)
{
	return r->rule ? r->rule : "(none)";
}

static bool starts(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

static void check_well_formed(const struct entry_check_result *r)
{
	switch (r->kind) {
	case ENTRY_OK:
		FUZZ_CHECK(!r->rule && !r->vm_instruction_error && !r->exit_reason &&
			   !r->exit_qualification, "ENTRY_OK with a rule or codes (%s)", rs(r));
		break;
	case ENTRY_VMFAIL:
		FUZZ_CHECK(!r->exit_reason && !r->exit_qualification,
			   "VMfailValid with exit reason/qualification (%s)", rs(r));
		FUZZ_CHECK((r->vm_instruction_error == VMXERR_ENTRY_INVALID_CONTROL &&
			    starts(r->rule, "27.2.1")) ||
			   (r->vm_instruction_error == VMXERR_ENTRY_INVALID_HOST_STATE &&
			    (starts(r->rule, "27.2.2") || starts(r->rule, "27.2.3") ||
			     starts(r->rule, "27.2.4"))),
			   "VMfailValid(%u) with rule \"%s\"", r->vm_instruction_error, rs(r));
		break;
	case ENTRY_FAIL_EXIT:
		FUZZ_CHECK(!r->vm_instruction_error, "failure exit with VM-instruction error %u",
			   r->vm_instruction_error);
		if (r->exit_reason == (33U | BIT(31)))
			FUZZ_CHECK(starts(r->rule, "27.3") &&
				   (r->exit_qualification == 0 || r->exit_qualification == 2 ||
				    r->exit_qualification == 3 || r->exit_qualification == 4),
				   "exit 33 qualification %llu rule \"%s\"",
				   (unsigned long long)r->exit_qualification, rs(r));
		else if (r->exit_reason == (34U | BIT(31)))
			FUZZ_CHECK(starts(r->rule, "27.4") && r->exit_qualification >= 1,
				   "exit 34 qualification %llu rule \"%s\"",
				   (unsigned long long)r->exit_qualification, rs(r));
		else
			fuzz_fail("failure exit with reason %#x", r->exit_reason);
		break;
	default:
		fuzz_fail("result kind %d", (int)r->kind);
	}
}

static void fuzz_one(struct fz *z)
{
	struct nested_caps caps, caps_copy;
	struct l1_facts f, f_copy;
	struct entry_check_result r, r2, parts[4], composed;
	u8 kind = fz_u8(z) % 3, preset = fz_u8(z) % 4, flags = fz_u8(z), mpa = fz_u8(z);
	u64 seed = fz_u64(z);

	ec_start(&caps, &f, &v, (enum ec_caps_kind)kind, (enum ec_preset)preset);
	f.rtm = flags & 1;
	if (flags & 2)
		f.read_gpa = NULL;
	if (flags & 4)
		f.linear_width = 57;
	if (flags & 8)
		f.linear_width = 0, f.debugctl_valid = 0;
	if (mpa)
		f.maxphyaddr = 32 + mpa % 21;
	for (int n = 0; fz_more(z) && n < 32; n++) {
		u8 k = fz_u8(z);
		u16 sel = fz_u16(z);

		mutate(k, sel, fz_u64(z), &caps);
	}

	v_copy = v;
	caps_copy = caps;
	f_copy = f;
	memcpy(tmem_copy, ec_tmem, sizeof(ec_tmem));
	r = nested_check_vmentry(&v, &caps, &f);
	check_well_formed(&r);
	FUZZ_CHECK(!memcmp(&v, &v_copy, sizeof(v)), "the checks changed the VMCS12");
	FUZZ_CHECK(!memcmp(&caps, &caps_copy, sizeof(caps)) && !memcmp(&f, &f_copy, sizeof(f)),
		   "the checks changed the capabilities or facts");
	FUZZ_CHECK(!memcmp(ec_tmem, tmem_copy, sizeof(ec_tmem)), "the checks changed L1 memory");

	r2 = nested_check_vmentry(&v, &caps, &f);
	FUZZ_CHECK(same(&r, &r2), "not deterministic: \"%s\" then \"%s\"", rs(&r), rs(&r2));

	parts[0] = nested_check_controls(&v, &caps, &f);
	parts[1] = nested_check_host_state(&v, &caps, &f);
	parts[2] = nested_check_guest_state(&v, &caps, &f);
	parts[3] = nested_check_msr_load(&v, &caps, &f);
	composed = parts[0];
	for (int i = 1; i < 4 && composed.kind == ENTRY_OK; i++)
		composed = parts[i];
	FUZZ_CHECK(same(&r, &composed), "nested_check_vmentry \"%s\" is not the first failure \"%s\"",
		   rs(&r), rs(&composed));
	for (int i = 0; i < 4; i++)
		check_well_formed(&parts[i]);
	FUZZ_CHECK(parts[0].kind != ENTRY_FAIL_EXIT && parts[1].kind != ENTRY_FAIL_EXIT &&
		   parts[2].kind != ENTRY_VMFAIL && parts[3].kind != ENTRY_VMFAIL,
		   "a category returned the other kind of failure");

	/* Fields the checks never read. */
	v_unread = v;
	for (size_t i = 0; i < sizeof(unread) / sizeof(unread[0]); i++)
		set(&v_unread, unread[i], fz_rand(&seed));
	r2 = nested_check_vmentry(&v_unread, &caps, &f);
	FUZZ_CHECK(same(&r, &r2), "a field the checks do not read changed the result: \"%s\" -> \"%s\"",
		   rs(&r), rs(&r2));
}

/* ---- seeds ---- */

static void put_mut(struct seed *s, u8 kind, u32 enc, u64 val)
{
	unsigned int row = 0;

	for (unsigned int i = 0; i < vmcs12_field_count; i++)
		if (vmcs12_field_table[i].encoding == enc)
			row = i;
	seed_u8(s, kind);
	seed_u16(s, row);
	seed_u64(s, val);
}

static void fuzz_write_seeds(void)
{
	struct seed s;
	char name[64];

	/* Each capability set and preset, untouched. */
	for (int k = 0; k < 3; k++)
		for (int p = 0; p < 4; p++) {
			memset(&s, 0, sizeof(s));
			seed_u8(&s, k);
			seed_u8(&s, p);
			seed_u8(&s, 0);
			seed_u8(&s, 0);
			seed_u64(&s, k * 4 + p);
			snprintf(name, sizeof(name), "start-%d-%d", k, p);
			seed_write(&s, name);
		}
	/* The memory-reading checks switched on: a link pointer, the TPR
	 * shadow with its virtual-APIC page, an MSR-load list. */
	memset(&s, 0, sizeof(s));
	seed_u8(&s, 0); seed_u8(&s, 0); seed_u8(&s, 0); seed_u8(&s, 0);
	seed_u64(&s, 7);
	put_mut(&s, 2, VMCS_LINK_POINTER, 0x30000);
	seed_u8(&s, 5); seed_u16(&s, 0); seed_u64(&s, T_REVISION);
	put_mut(&s, 0, CPU_BASED_VM_EXEC_CONTROL, 21);           /* use TPR shadow */
	put_mut(&s, 2, VIRTUAL_APIC_PAGE_ADDR, 0x31000);
	put_mut(&s, 2, VM_ENTRY_MSR_LOAD_COUNT, 2);
	put_mut(&s, 2, VM_ENTRY_MSR_LOAD_ADDR, 0x33000);
	seed_u8(&s, 5); seed_u16(&s, 0x3000 / 8); seed_u64(&s, 0x174);
	seed_write(&s, "memory");
	/* A guest-state and a host-state failure. */
	memset(&s, 0, sizeof(s));
	seed_u8(&s, 0); seed_u8(&s, 1); seed_u8(&s, 0); seed_u8(&s, 0);
	seed_u64(&s, 9);
	put_mut(&s, 2, GUEST_ACTIVITY_STATE, 1);
	put_mut(&s, 2, GUEST_INTERRUPTIBILITY_INFO, 1);
	put_mut(&s, 2, HOST_TR_SELECTOR, 0);
	seed_write(&s, "failures");
}
