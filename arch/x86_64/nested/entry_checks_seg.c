/* SDM 27.3.1.2 "Checks on Guest Segment Registers": selectors, bases,
 * limits and access rights of CS, SS, DS, ES, FS, GS, TR and LDTR. */
#include "entry_checks_int.h"

#include <stddef.h>

/* A segment's four fields as places in struct vmcs12: the per-segment
 * rules run over tables of these, and a direct load is what makes the
 * checks cheap enough for every nested VM entry (a field looked up by
 * an encoding known only at run time costs a jump table per read). */
struct ec_seg {
	u16 sel, base, limit, ar; /* offsetof(struct vmcs12, ...) */
};
#define EC_SEG(s) { offsetof(struct vmcs12, guest_##s##_selector), offsetof(struct vmcs12, guest_##s##_base), \
		    offsetof(struct vmcs12, guest_##s##_limit), offsetof(struct vmcs12, guest_##s##_ar_bytes) }

static const struct ec_seg ec_cs = EC_SEG(cs);
static const struct ec_seg ec_ss = EC_SEG(ss);
static const struct ec_seg ec_data[] = { EC_SEG(ds), EC_SEG(es), EC_SEG(fs), EC_SEG(gs) };

static u32 seg_sel(const struct vmcs12 *v, const struct ec_seg *s)
{
	return *(const u16 *)((const u8 *)v + s->sel);
}

static u64 seg_base(const struct vmcs12 *v, const struct ec_seg *s)
{
	return *(const u64 *)((const u8 *)v + s->base);
}

static u32 seg_limit(const struct vmcs12 *v, const struct ec_seg *s)
{
	return *(const u32 *)((const u8 *)v + s->limit);
}

static u32 seg_ar(const struct vmcs12 *v, const struct ec_seg *s)
{
	return *(const u32 *)((const u8 *)v + s->ar);
}

_Static_assert(sizeof(((struct vmcs12 *)0)->guest_cs_selector) == 2, "selector width");
_Static_assert(sizeof(((struct vmcs12 *)0)->guest_cs_base) == 8, "base width");
_Static_assert(sizeof(((struct vmcs12 *)0)->guest_cs_limit) == 4, "limit width");
_Static_assert(sizeof(((struct vmcs12 *)0)->guest_cs_ar_bytes) == 4, "access-rights width");

static bool ec_usable(u32 ar)
{
	return !(ar & VMX_AR_UNUSABLE);
}

/* Granularity against the limit: limit[11:0] not all ones needs G = 0,
 * any of limit[31:20] set needs G = 1. */
static bool ec_limit_g_ok(u32 limit, u32 ar)
{
	if ((limit & 0xfff) != 0xfff && (ar & VMX_AR_G))
		return false;
	if ((limit & 0xfff00000U) && !(ar & VMX_AR_G))
		return false;
	return true;
}

/* Virtual-8086 guest: every segment is real-mode-like. */
static const char *ec_check_v8086_seg(const struct vmcs12 *v, const struct ec_seg *s)
{
	CC(seg_base(v, s) != (u64)seg_sel(v, s) << 4,
	   "27.3.1.2: virtual-8086 guest: CS/SS/DS/ES/FS/GS base is not selector << 4");
	CC(seg_limit(v, s) != 0xffff, "27.3.1.2: virtual-8086 guest: CS/SS/DS/ES/FS/GS limit is not FFFFH");
	CC(seg_ar(v, s) != EC_AR_V8086,
	   "27.3.1.2: virtual-8086 guest: CS/SS/DS/ES/FS/GS access rights are not F3H");
	return NULL;
}

static const char *ec_check_cs(const struct vmcs12 *v, bool ug, bool guest64)
{
	u32 ar = F32(GUEST_CS_AR_BYTES), type = EC_AR_TYPE(ar);
	u32 ss_dpl = EC_AR_DPL(F32(GUEST_SS_AR_BYTES));

	CC(!(type == 9 || type == 11 || type == 13 || type == 15 || (ug && type == 3)),
	   "27.3.1.2: CS type is not an accessed code segment (or accessed read/write data with unrestricted guest)");
	CC(!(ar & VMX_AR_S), "27.3.1.2: CS S bit is 0");
	CC(type == 3 && EC_AR_DPL(ar) != 0, "27.3.1.2: CS type 3 with DPL other than 0");
	CC((type == 9 || type == 11) && EC_AR_DPL(ar) != ss_dpl,
	   "27.3.1.2: non-conforming CS DPL differs from SS DPL");
	CC((type == 13 || type == 15) && EC_AR_DPL(ar) > ss_dpl,
	   "27.3.1.2: conforming CS DPL greater than SS DPL");
	CC(!(ar & VMX_AR_P), "27.3.1.2: CS not present");
	CC(ar & EC_AR_RSVD_11_8, "27.3.1.2: CS access-rights bits 11:8 set");
	CC(guest64 && (ar & VMX_AR_L) && (ar & VMX_AR_DB),
	   "27.3.1.2: CS L and D/B both set in an IA-32e mode guest");
	CC(!ec_limit_g_ok(F32(GUEST_CS_LIMIT), ar), "27.3.1.2: CS G bit inconsistent with the limit");
	CC(ar & EC_AR_RSVD_31_17, "27.3.1.2: CS access-rights bits 31:17 set");
	return NULL;
}

static const char *ec_check_ss(const struct vmcs12 *v, bool ug)
{
	u32 ar = F32(GUEST_SS_AR_BYTES), type = EC_AR_TYPE(ar);
	u32 cs_type = EC_AR_TYPE(F32(GUEST_CS_AR_BYTES));

	CC(!ug && EC_AR_DPL(ar) != (F32(GUEST_SS_SELECTOR) & EC_SEL_RPL_MASK),
	   "27.3.1.2: SS DPL differs from the RPL of its selector");
	CC((cs_type == 3 || !(F(GUEST_CR0) & CR0_PE)) && EC_AR_DPL(ar) != 0,
	   "27.3.1.2: SS DPL not 0 with CS type 3 or CR0.PE = 0");
	if (!ec_usable(ar))
		return NULL;
	CC(type != 3 && type != 7, "27.3.1.2: SS type is not read/write accessed data");
	CC(!(ar & VMX_AR_S), "27.3.1.2: SS S bit is 0");
	CC(!(ar & VMX_AR_P), "27.3.1.2: SS not present");
	CC(ar & EC_AR_RSVD_11_8, "27.3.1.2: SS access-rights bits 11:8 set");
	CC(!ec_limit_g_ok(F32(GUEST_SS_LIMIT), ar), "27.3.1.2: SS G bit inconsistent with the limit");
	CC(ar & EC_AR_RSVD_31_17, "27.3.1.2: SS access-rights bits 31:17 set");
	return NULL;
}

static const char *ec_check_data_seg(const struct vmcs12 *v, const struct ec_seg *s, bool ug)
{
	u32 ar = seg_ar(v, s), type = EC_AR_TYPE(ar);

	if (!ec_usable(ar))
		return NULL;
	CC(!(type & VMX_AR_TYPE_ACCESSED), "27.3.1.2: DS/ES/FS/GS type not accessed");
	CC((type & EC_AR_TYPE_CODE) && !(type & EC_AR_TYPE_READABLE),
	   "27.3.1.2: DS/ES/FS/GS is an execute-only code segment");
	CC(!(ar & VMX_AR_S), "27.3.1.2: DS/ES/FS/GS S bit is 0");
	CC(!ug && type <= 11 && EC_AR_DPL(ar) < (seg_sel(v, s) & EC_SEL_RPL_MASK),
	   "27.3.1.2: DS/ES/FS/GS DPL less than the RPL of its selector");
	CC(!(ar & VMX_AR_P), "27.3.1.2: DS/ES/FS/GS not present");
	CC(ar & EC_AR_RSVD_11_8, "27.3.1.2: DS/ES/FS/GS access-rights bits 11:8 set");
	CC(!ec_limit_g_ok(seg_limit(v, s), ar), "27.3.1.2: DS/ES/FS/GS G bit inconsistent with the limit");
	CC(ar & EC_AR_RSVD_31_17, "27.3.1.2: DS/ES/FS/GS access-rights bits 31:17 set");
	return NULL;
}

static const char *ec_check_tr_ldtr(const struct vmcs12 *v, bool guest64)
{
	u32 ar = F32(GUEST_TR_AR_BYTES), type = EC_AR_TYPE(ar);

	CC(guest64 && type != VMX_AR_TYPE_BUSY_64_TSS,
	   "27.3.1.2: TR type is not a busy 64-bit TSS in an IA-32e mode guest");
	CC(!guest64 && type != EC_AR_TYPE_BUSY_TSS16 && type != VMX_AR_TYPE_BUSY_64_TSS,
	   "27.3.1.2: TR type is not a busy 16-bit or 32-bit TSS");
	CC(ar & VMX_AR_S, "27.3.1.2: TR S bit is 1");
	CC(!(ar & VMX_AR_P), "27.3.1.2: TR not present");
	CC(ar & EC_AR_RSVD_11_8, "27.3.1.2: TR access-rights bits 11:8 set");
	CC(!ec_limit_g_ok(F32(GUEST_TR_LIMIT), ar), "27.3.1.2: TR G bit inconsistent with the limit");
	CC(!ec_usable(ar), "27.3.1.2: TR marked unusable");
	CC(ar & EC_AR_RSVD_31_17, "27.3.1.2: TR access-rights bits 31:17 set");

	ar = F32(GUEST_LDTR_AR_BYTES);
	if (!ec_usable(ar))
		return NULL;
	CC(EC_AR_TYPE(ar) != EC_AR_TYPE_LDT, "27.3.1.2: LDTR type is not LDT");
	CC(ar & VMX_AR_S, "27.3.1.2: LDTR S bit is 1");
	CC(!(ar & VMX_AR_P), "27.3.1.2: LDTR not present");
	CC(ar & EC_AR_RSVD_11_8, "27.3.1.2: LDTR access-rights bits 11:8 set");
	CC(!ec_limit_g_ok(F32(GUEST_LDTR_LIMIT), ar), "27.3.1.2: LDTR G bit inconsistent with the limit");
	CC(ar & EC_AR_RSVD_31_17, "27.3.1.2: LDTR access-rights bits 31:17 set");
	return NULL;
}

/* Selector and base rules, which hold in every mode. */
static const char *ec_check_sel_base(const struct vmcs12 *v, const struct l1_facts *f,
				     bool v8086, bool ug)
{
	bool ldtr_usable = ec_usable(F32(GUEST_LDTR_AR_BYTES));
	u32 w = f->linear_width;

	CC(F32(GUEST_TR_SELECTOR) & EC_SEL_TI, "27.3.1.2: TR selector TI flag set");
	CC(ldtr_usable && (F32(GUEST_LDTR_SELECTOR) & EC_SEL_TI),
	   "27.3.1.2: LDTR selector TI flag set");
	CC(!v8086 && !ug && (F32(GUEST_SS_SELECTOR) & EC_SEL_RPL_MASK) !=
			    (F32(GUEST_CS_SELECTOR) & EC_SEL_RPL_MASK),
	   "27.3.1.2: SS selector RPL differs from CS selector RPL");
	CC(!ec_canonical(F(GUEST_TR_BASE), w), "27.3.1.2: TR base not canonical");
	CC(!ec_canonical(F(GUEST_FS_BASE), w), "27.3.1.2: FS base not canonical");
	CC(!ec_canonical(F(GUEST_GS_BASE), w), "27.3.1.2: GS base not canonical");
	CC(ldtr_usable && !ec_canonical(F(GUEST_LDTR_BASE), w), "27.3.1.2: LDTR base not canonical");
	CC(F(GUEST_CS_BASE) >> 32, "27.3.1.2: CS base bits 63:32 set");
	CC(ec_usable(F32(GUEST_SS_AR_BYTES)) && (F(GUEST_SS_BASE) >> 32),
	   "27.3.1.2: SS base bits 63:32 set");
	CC(ec_usable(F32(GUEST_DS_AR_BYTES)) && (F(GUEST_DS_BASE) >> 32),
	   "27.3.1.2: DS base bits 63:32 set");
	CC(ec_usable(F32(GUEST_ES_AR_BYTES)) && (F(GUEST_ES_BASE) >> 32),
	   "27.3.1.2: ES base bits 63:32 set");
	return NULL;
}

const char *ec_check_guest_segments(const struct vmcs12 *v, const struct nested_caps *c,
				    const struct l1_facts *f)
{
	bool v8086 = F(GUEST_RFLAGS) & RFLAGS_VM;
	bool ug = ec_secondary(v) & SECONDARY_UNRESTRICTED_GUEST;
	bool guest64 = F32(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE;

	(void)c;
	CC_SUB(ec_check_sel_base(v, f, v8086, ug));
	if (v8086) {
		CC_SUB(ec_check_v8086_seg(v, &ec_cs));
		CC_SUB(ec_check_v8086_seg(v, &ec_ss));
		for (size_t i = 0; i < ARRAY_SIZE(ec_data); i++)
			CC_SUB(ec_check_v8086_seg(v, &ec_data[i]));
	} else {
		CC_SUB(ec_check_cs(v, ug, guest64));
		CC_SUB(ec_check_ss(v, ug));
		for (size_t i = 0; i < ARRAY_SIZE(ec_data); i++)
			CC_SUB(ec_check_data_seg(v, &ec_data[i], ug));
	}
	return ec_check_tr_ldtr(v, guest64);
}
