/* The VMCS12 field table and VMREAD/VMWRITE on a cached VMCS12, following
 * SDM 25.11.2 "VMCS Field Encoding" and the VMREAD/VMWRITE pages of
 * chapter 31 "VMX Instruction Reference". Both the table and the struct
 * are generated from vmcs12_fields.h. */
#include <stddef.h>
#include "vmcs12.h"

/* Dense position of each field in the table. */
enum {
#define VMCS12_FIELD(enc, name, feat) VMCS12_POS_##name,
#include "vmcs12_fields.h"
#undef VMCS12_FIELD
	VMCS12_NFIELDS
};

const struct vmcs12_field vmcs12_field_table[] = {
#define VMCS12_FIELD(enc, name, feat) \
	{ enc, offsetof(struct vmcs12, name), VMCS_ENC_WIDTH(enc), VMCS_ENC_TYPE(enc), feat },
#include "vmcs12_fields.h"
#undef VMCS12_FIELD
};
const unsigned int vmcs12_field_count = VMCS12_NFIELDS;

/* Every row is a full-access encoding without reserved bits, its member
 * has the width the encoding names, and the index fits the lookup below. */
#define VMCS12_INDEX_LIMIT 32
#define VMCS12_FIELD(enc, name, feat)                                                \
	_Static_assert(!((enc) & (VMCS_ENC_RESERVED | VMCS_ENC_ACCESS_HIGH)), #enc); \
	_Static_assert(sizeof(((struct vmcs12 *)0)->name) ==                         \
		       (VMCS_ENC_WIDTH(enc) == VMCS12_W16 ? 2 : VMCS_ENC_WIDTH(enc) == VMCS12_W32 ? 4 : 8), #name); \
	_Static_assert(VMCS_ENC_INDEX(enc) < VMCS12_INDEX_LIMIT, #enc);
#include "vmcs12_fields.h"
#undef VMCS12_FIELD

/* Lookup by (width, type, index): position + 1, 0 for no field. A row
 * listed twice is an -Woverride-init error at build time. */
#define VMCS12_SLOT(enc) ((VMCS_ENC_WIDTH(enc) << 7) | (VMCS_ENC_TYPE(enc) << 5) | VMCS_ENC_INDEX(enc))
static const u8 vmcs12_slot[4 * 4 * VMCS12_INDEX_LIMIT] = {
#define VMCS12_FIELD(enc, name, feat) [VMCS12_SLOT(enc)] = VMCS12_POS_##name + 1,
#include "vmcs12_fields.h"
#undef VMCS12_FIELD
};
_Static_assert(VMCS12_NFIELDS < 255, "positions fit a u8");

const struct vmcs12_field *vmcs12_field_find(u32 encoding)
{
	if (encoding & (VMCS_ENC_RESERVED | VMCS_ENC_ACCESS_HIGH) ||
	    VMCS_ENC_INDEX(encoding) >= VMCS12_INDEX_LIMIT)
		return NULL;
	u8 pos = vmcs12_slot[VMCS12_SLOT(encoding)];
	return pos ? &vmcs12_field_table[pos - 1] : NULL;
}

static bool feature_offered(u8 feature, u32 offered)
{
	return feature == FEAT_NONE || (offered & FEAT_BIT(feature));
}

bool vmcs12_field_supported(u32 encoding, u32 offered_features)
{
	const struct vmcs12_field *f = vmcs12_field_find(encoding);
	return f && feature_offered(f->feature, offered_features);
}

/* The field an instruction operand names, or NULL: "register operand does
 * not correspond to any VMCS field". The high-access type exists only for
 * 64-bit fields (SDM 25.11.2: "Bit 0 must be 0 for all fields except for
 * 64-bit fields"). */
static const struct vmcs12_field *operand_field(u32 encoding, u32 offered, bool *high)
{
	*high = encoding & VMCS_ENC_ACCESS_HIGH;
	if (*high && VMCS_ENC_WIDTH(encoding) != VMCS12_W64)
		return NULL;
	const struct vmcs12_field *f = vmcs12_field_find(encoding & ~VMCS_ENC_ACCESS_HIGH);
	return f && feature_offered(f->feature, offered) ? f : NULL;
}

static u64 load(const struct vmcs12 *v, const struct vmcs12_field *f)
{
	const void *p = (const u8 *)v + f->offset;

	switch (f->width) {
	case VMCS12_W16: return *(const u16 *)p;
	case VMCS12_W32: return *(const u32 *)p;
	default: return *(const u64 *)p;
	}
}

static void store(struct vmcs12 *v, const struct vmcs12_field *f, u64 value)
{
	void *p = (u8 *)v + f->offset;

	switch (f->width) {
	case VMCS12_W16: *(u16 *)p = (u16)value; break;
	case VMCS12_W32: *(u32 *)p = (u32)value; break;
	default: *(u64 *)p = value; break;
	}
}

/* SDM 25.11.2: 16/32-bit fields read zero-extended; a high access reads
 * bits 63:32 of a 64-bit field into bits 31:0; outside IA-32e mode the
 * 32-bit destination gets bits 31:0 of 64-bit and natural-width fields. */
int vmcs12_read(const struct vmcs12 *v, u32 encoding, bool long_mode,
		u32 offered_features, u64 *value)
{
	bool high;
	const struct vmcs12_field *f = operand_field(encoding, offered_features, &high);

	if (!f)
		return VMXERR_UNSUPPORTED_FIELD;
	u64 x = load(v, f);
	if (high)
		x >>= 32;
	if (!long_mode)
		x = (u32)x;
	*value = x;
	return 0;
}

/* SDM 31.3 VMWRITE: an unsupported field fails before a read-only one;
 * VM-exit information fields are read-only unless IA32_VMX_MISC bit 29
 * ("VMWRITE to any supported field") is offered. A field longer than the
 * 32-bit operand outside IA-32e mode has its high bits cleared; a high
 * access writes bits 63:32 and keeps 31:0. */
int vmcs12_write(struct vmcs12 *v, u32 encoding, u64 value, bool long_mode,
		 u32 offered_features, bool vmwrite_any_field)
{
	bool high;
	const struct vmcs12_field *f = operand_field(encoding, offered_features, &high);

	if (!f)
		return VMXERR_UNSUPPORTED_FIELD;
	if (f->type == VMCS12_T_RO_DATA && !vmwrite_any_field)
		return VMXERR_VMWRITE_READ_ONLY;
	if (!long_mode)
		value = (u32)value;
	if (high)
		value = (load(v, f) & 0xffffffffULL) | ((value & 0xffffffffULL) << 32);
	store(v, f, value);
	return 0;
}

u64 vmcs12_get(const struct vmcs12 *v, u32 encoding)
{
	const struct vmcs12_field *f = vmcs12_field_find(encoding);
	return f ? load(v, f) : 0;
}

void vmcs12_set(struct vmcs12 *v, u32 encoding, u64 value)
{
	const struct vmcs12_field *f = vmcs12_field_find(encoding);
	if (f)
		store(v, f, value);
}

u32 vmcs12_highest_index(u32 offered_features)
{
	u32 highest = 0;

	for (unsigned int i = 0; i < VMCS12_NFIELDS; i++) {
		const struct vmcs12_field *f = &vmcs12_field_table[i];
		if (feature_offered(f->feature, offered_features) &&
		    VMCS_ENC_INDEX(f->encoding) > highest)
			highest = VMCS_ENC_INDEX(f->encoding);
	}
	return highest;
}
