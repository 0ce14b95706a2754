/* Fuzz target: the VMCS12 field table and VMREAD/VMWRITE
 * (arch/x86_64/nested/vmcs12.c) against a shadow model written here from
 * the SDM: 25.11.2 "VMCS Field Encoding" (bit 0 access type, bits 9:1
 * index, 11:10 type, 14:13 width, 31:15 and 12 reserved; the high access
 * type only for 64-bit fields), 31.3 VMREAD/VMWRITE ("If the VMCS field
 * is shorter than the effective operand size, the high bits of the
 * destination are cleared; if it is longer, the high bits of the field
 * are not read" / "... the high bits of the field are cleared to 0"),
 * VM-instruction errors 12 (unsupported component) and 13 (VMWRITE to a
 * read-only component, unless IA32_VMX_MISC[29]).
 *
 * Which fields exist and which feature each needs is the table's data
 * (vmcs12_field_table); the model finds them by a linear search of their
 * full encodings, never through vmcs12_field_find(), and decodes widths,
 * types, the access type and the reserved bits itself.
 *
 * Input: u8 flags (bit 0: fill the VMCS12 from a PRNG first), u64 seed,
 * then up to 64 operations of 17 bytes each:
 *   u8 op: bits 1:0 0 VMREAD, 1 VMWRITE, 2 vmcs12_get, 3 vmcs12_set;
 *          bit 2 long mode; bit 3 VMWRITE to any field; bits 5:4 how the
 *          encoding is made (0 a table row, 1 a row with one bit flipped,
 *          2 16 raw bits, 3 32 raw bits); bit 6 high access (rows);
 *          bit 7 every feature offered
 *   u32 selector, u32 offered-feature mask, u64 value
 * Properties: VMREAD returns what the last successful VMWRITE (or
 * vmcs12_set) stored, truncated for the field width and operand size;
 * errors are exactly 12 for unsupported and 13 for read-only fields; a
 * failed VMWRITE, and any write to no field, changes no byte; no write
 * touches a byte outside its field; vmcs12_field_find/supported/get agree
 * with the model; vmcs12_highest_index is the largest offered index. */
#include "fuzz.h"
#include "nested/vmcs12.h"

#define MAX_ROWS 256
#define ALL_FEATURES 0xffffffffU
#define MAX_OPS 64 /* operations per input */

static u64 model[MAX_ROWS];
static struct vmcs12 v, before;
static u8 covered[sizeof(struct vmcs12)]; /* bytes that belong to a field */

/* SDM 25.11.2 */
static u32 enc_width(u32 e) { return (e >> 13) & 3; } /* 0 16, 1 64, 2 32, 3 natural */
static u32 enc_type(u32 e) { return (e >> 10) & 3; }  /* 1: VM-exit information (read-only) */
static u32 enc_index(u32 e) { return (e >> 1) & 0x1ff; }
static unsigned int width_bytes(u32 w) { return w == 0 ? 2 : w == 2 ? 4 : 8; }

static u64 trunc_width(u64 x, u32 w)
{
	unsigned int b = width_bytes(w);

	return b == 8 ? x : x & ((1ULL << (8 * b)) - 1);
}

/* Row + 1 by encoding bits 15:0, built from the rows at start. */
static u8 row_of[0x10000];

/* The row whose full encoding is 'e' exactly, or -1. */
static int find_row(u32 e)
{
	if (e >> 16)
		return -1;
	return (int)row_of[e] - 1;
}

static bool offered(unsigned int row, u32 mask)
{
	u8 f = vmcs12_field_table[row].feature;

	return f == FEAT_NONE || (mask & (1U << f));
}

/* The field an instruction operand names (SDM 31.3 "VMREAD": "register
 * operand does not correspond to any VMCS field" -> error 12). */
static int operand_row(u32 e, u32 mask, bool *high)
{
	int row;

	*high = e & 1;
	row = find_row(e & ~1U);
	if (row < 0 || !offered((unsigned int)row, mask))
		return -1;
	if (*high && enc_width(e) != 1)
		return -1; /* high access to a field that is not 64-bit */
	return row;
}

static u64 raw_field(const struct vmcs12 *p, unsigned int row)
{
	const struct vmcs12_field *f = &vmcs12_field_table[row];
	u64 x = 0;

	memcpy(&x, (const u8 *)p + f->offset, width_bytes(enc_width(f->encoding)));
	return x;
}

static void fuzz_init_table(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	FUZZ_CHECK(vmcs12_field_count > 0 && vmcs12_field_count < MAX_ROWS,
		   "table: %u rows", vmcs12_field_count);
	for (unsigned int i = 0; i < vmcs12_field_count; i++) {
		const struct vmcs12_field *f = &vmcs12_field_table[i];
		unsigned int b = width_bytes(enc_width(f->encoding));

		FUZZ_CHECK(!(f->encoding & 0xffff9001U),
			   "table row %u: encoding %#x has reserved or high-access bits", i, f->encoding);
		FUZZ_CHECK(f->width == enc_width(f->encoding) && f->type == enc_type(f->encoding),
			   "table row %u: width/type %u/%u, the encoding %#x says %u/%u", i,
			   f->width, f->type, f->encoding, enc_width(f->encoding), enc_type(f->encoding));
		FUZZ_CHECK(f->feature < FEAT_COUNT, "table row %u: feature %u", i, f->feature);
		FUZZ_CHECK(!row_of[f->encoding], "table row %u: encoding %#x listed twice",
			   i, f->encoding);
		row_of[f->encoding] = (u8)(i + 1);
		FUZZ_CHECK(f->offset >= 16 && f->offset + b <= sizeof(struct vmcs12),
			   "table row %u: offset %u outside the fields", i, f->offset);
		for (unsigned int k = 0; k < b; k++) {
			FUZZ_CHECK(!covered[f->offset + k], "table row %u (%#x) overlaps another field",
				   i, f->encoding);
			covered[f->offset + k] = 1;
		}
	}
}

/* Every byte outside the field that changed is what it was. */
static void check_only_field(int row, const char *what, u32 enc)
{
	const u8 *a = (const u8 *)&before, *b = (const u8 *)&v;
	size_t lo = sizeof(v), hi = sizeof(v);

	if (row >= 0) {
		lo = vmcs12_field_table[row].offset;
		hi = lo + width_bytes(enc_width(vmcs12_field_table[row].encoding));
	}
	if (memcmp(a, b, lo) || memcmp(a + hi, b + hi, sizeof(v) - hi))
		fuzz_fail("%s %#x changed struct vmcs12 outside the field", what, enc);
}

static u32 make_encoding(u8 how, bool high, u32 sel)
{
	u32 row = sel % vmcs12_field_count, e;

	switch (how) {
	case 0:
		return vmcs12_field_table[row].encoding | (high ? 1 : 0);
	case 1:
		e = vmcs12_field_table[row].encoding | (high ? 1 : 0);
		return e ^ (1U << ((sel >> 16) & 31));
	case 2:
		return sel & 0xffff;
	default:
		return sel;
	}
}

static void fuzz_one(struct fz *z)
{
	u8 flags = fz_u8(z);
	u64 seed = fz_u64(z);
	u32 mask = 0;

	fuzz_init_table();
	memset(&v, 0, sizeof(v));
	if (flags & 1)
		for (size_t i = 0; i < sizeof(v); i++)
			((u8 *)&v)[i] = (u8)fz_rand(&seed);
	for (unsigned int i = 0; i < vmcs12_field_count; i++)
		model[i] = raw_field(&v, i);

	for (int n = 0; fz_more(z) && n < MAX_OPS; n++) {
		u8 op = fz_u8(z);
		u32 sel = fz_u32(z);
		bool lm = op & 4, any = op & 8, high = op & 0x40;
		u64 value, got = 0xdeadbeefdeadbeefULL;
		u32 enc;
		int row, rc, frow;
		bool ohigh;

		mask = fz_u32(z);
		if (op & 0x80)
			mask = ALL_FEATURES;
		value = fz_u64(z);
		enc = make_encoding((op >> 4) & 3, high, sel);
		row = operand_row(enc, mask, &ohigh);
		frow = find_row(enc); /* exact: what get/set/find take */
		before = v;

		/* Lookups. */
		FUZZ_CHECK(vmcs12_field_find(enc) == (frow < 0 ? NULL : &vmcs12_field_table[frow]),
			   "vmcs12_field_find(%#x) is not row %d", enc, frow);
		FUZZ_CHECK(vmcs12_field_supported(enc, mask) ==
			   (frow >= 0 && offered((unsigned int)frow, mask)),
			   "vmcs12_field_supported(%#x, %#x) wrong", enc, mask);

		switch (op & 3) {
		case 0: /* VMREAD */
			rc = vmcs12_read(&v, enc, lm, mask, &got);
			check_only_field(-1, "VMREAD", enc);
			if (row < 0) {
				FUZZ_CHECK(rc == 12, "VMREAD %#x (features %#x): error %d, want 12",
					   enc, mask, rc);
				FUZZ_CHECK(got == 0xdeadbeefdeadbeefULL,
					   "failed VMREAD %#x wrote its destination", enc);
				break;
			}
			{
				u64 want = model[row];

				if (ohigh)
					want >>= 32;
				if (!lm)
					want = (u32)want;
				FUZZ_CHECK(rc == 0, "VMREAD %#x (features %#x): error %d, want 0",
					   enc, mask, rc);
				FUZZ_CHECK(got == want, "VMREAD %#x (%s mode): %#llx, want %#llx", enc,
					   lm ? "64-bit" : "32-bit", (unsigned long long)got,
					   (unsigned long long)want);
			}
			break;
		case 1: /* VMWRITE */
			rc = vmcs12_write(&v, enc, value, lm, mask, any);
			if (row < 0) {
				FUZZ_CHECK(rc == 12, "VMWRITE %#x (features %#x): error %d, want 12",
					   enc, mask, rc);
				check_only_field(-1, "failed VMWRITE", enc);
				break;
			}
			if (enc_type(enc) == 1 && !any) {
				FUZZ_CHECK(rc == 13, "VMWRITE read-only %#x: error %d, want 13", enc, rc);
				check_only_field(-1, "failed VMWRITE", enc);
				break;
			}
			FUZZ_CHECK(rc == 0, "VMWRITE %#x (features %#x, any %d): error %d, want 0",
				   enc, mask, any, rc);
			check_only_field(row, "VMWRITE", enc);
			if (!lm)
				value = (u32)value; /* longer field: high bits cleared */
			if (ohigh)
				model[row] = (model[row] & 0xffffffffULL) | (value << 32);
			else
				model[row] = trunc_width(value, enc_width(enc));
			break;
		case 2: /* vmcs12_get: full encodings of table rows, features ignored */
			got = vmcs12_get(&v, enc);
			check_only_field(-1, "vmcs12_get", enc);
			FUZZ_CHECK(got == (frow < 0 ? 0 : model[frow]),
				   "vmcs12_get(%#x) = %#llx, want %#llx", enc, (unsigned long long)got,
				   (unsigned long long)(frow < 0 ? 0 : model[frow]));
			break;
		default: /* vmcs12_set */
			vmcs12_set(&v, enc, value);
			check_only_field(frow, "vmcs12_set", enc);
			if (frow >= 0)
				model[frow] = trunc_width(value, enc_width(enc));
			break;
		}
	}

	/* Every field holds what the model says, read both ways. */
	for (unsigned int i = 0; i < vmcs12_field_count; i++) {
		u32 e = vmcs12_field_table[i].encoding;
		u64 got = 0;

		FUZZ_CHECK(raw_field(&v, i) == model[i], "field %#x holds %#llx, model %#llx", e,
			   (unsigned long long)raw_field(&v, i), (unsigned long long)model[i]);
		FUZZ_CHECK(vmcs12_read(&v, e, true, ALL_FEATURES, &got) == 0 && got == model[i],
			   "final VMREAD %#x = %#llx, model %#llx", e, (unsigned long long)got,
			   (unsigned long long)model[i]);
		if (enc_width(e) == 1)
			FUZZ_CHECK(vmcs12_read(&v, e | 1, true, ALL_FEATURES, &got) == 0 &&
				   got == model[i] >> 32, "final VMREAD high %#x", e | 1);
	}
	/* SDM A.9: IA32_VMX_VMCS_ENUM bits 9:1, the highest index in use. */
	{
		u32 want = 0;

		for (unsigned int i = 0; i < vmcs12_field_count; i++)
			if (offered(i, mask) && enc_index(vmcs12_field_table[i].encoding) > want)
				want = enc_index(vmcs12_field_table[i].encoding);
		FUZZ_CHECK(vmcs12_highest_index(mask) == want, "vmcs12_highest_index(%#x) = %u, want %u",
			   mask, vmcs12_highest_index(mask), want);
	}
}

/* One operation. */
static void put_op(struct seed *s, u8 op, u32 sel, u32 mask, u64 value)
{
	seed_u8(s, op);
	seed_u32(s, sel);
	seed_u32(s, mask);
	seed_u64(s, value);
}

static void fuzz_write_seeds(void)
{
	struct seed s;
	char name[64];

	fuzz_init_table();
	/* Per row: VMWRITE then VMREAD, 64-bit and 32-bit, all features,
	 * 32 rows a seed. */
	for (int mode = 0; mode < 2; mode++) {
		u8 lm = mode ? 0 : 4;

		for (unsigned int first = 0; first < vmcs12_field_count; first += 32) {
			memset(&s, 0, sizeof(s));
			seed_u8(&s, 0);
			seed_u64(&s, 0);
			for (unsigned int i = first; i < vmcs12_field_count && i < first + 32; i++) {
				put_op(&s, 0x81 | lm, i, 0, 0x0123456789abcdefULL + i);
				put_op(&s, 0x80 | lm, i, 0, 0);
			}
			snprintf(name, sizeof(name), "rows-%s-%u", mode ? "32" : "64", first);
			seed_write(&s, name);
		}
	}
	/* High accesses, read-only writes with and without "any field",
	 * features withheld, raw encodings, get and set, a PRNG-filled VMCS12. */
	memset(&s, 0, sizeof(s));
	seed_u8(&s, 1);
	seed_u64(&s, 42);
	for (unsigned int i = 0; i < vmcs12_field_count && i < 9; i++) {
		put_op(&s, 0xc5, i, 0, ~0ULL);        /* VMWRITE high, 64-bit */
		put_op(&s, 0x41, i, 0, 0x5555);       /* VMWRITE high, 32-bit, no features */
		put_op(&s, 0x8d, i, 0, 0xaaaa);       /* VMWRITE any field */
		put_op(&s, 0xc0, i, 0, 0);            /* VMREAD high */
		put_op(&s, 0x23, i, 0, 0x77);         /* vmcs12_set, one bit flipped */
		put_op(&s, 0x02, i, 0, 0);            /* vmcs12_get */
		put_op(&s, 0x34, 0x6000u + 2 * i, 0, 0); /* raw 32-bit encoding */
	}
	seed_write(&s, "mixed");
}
