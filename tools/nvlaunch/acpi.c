/* Minimal ACPI tables (ACPI 6.4 specification, chapter 5) for nvlaunch.
 *
 * Why ACPI: Linux powers off a PC through ACPI only. Without it, `poweroff
 * -f` ends in native_machine_power_off(), which halts the CPU; with KVM's
 * in-kernel irqchip that HLT never leaves the kernel, so the launcher could
 * not tell a power-off from an idle guest. With a FADT and a DSDT holding
 * \_S5, Linux's acpi_power_off() writes SLP_TYP|SLP_EN to the PM1a control
 * port, which nvlaunch watches. The Debian cloud kernel also needs ACPI to
 * find the IOAPIC (MADT; it has no MP-table parser, CONFIG_X86_MPPARSE=n)
 * and the virtio-mmio device (DSDT, _HID "LNRO0005"; it lacks
 * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES). */
#include "acpi.h"
#include <stddef.h>
#include <string.h>

struct acpi_header {               /* 5.2.6 System Description Table Header */
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header");

struct acpi_rsdp {                 /* 5.2.5.3 RSDP Structure */
	char signature[8];         /* "RSD PTR " */
	uint8_t checksum;          /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;          /* 2: XSDT */
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;      /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");

struct acpi_gas {                  /* 5.2.3.2 Generic Address Structure */
	uint8_t space_id, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {                 /* 5.2.9 FADT, revision 6 (276 bytes) */
	struct acpi_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt;
	struct acpi_gas x_pm2_cnt, x_pm_tmr, x_gpe0, x_gpe1;
	struct acpi_gas sleep_control, sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));
_Static_assert(offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "FADT PM1a_EVT_BLK");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT Flags");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT size");

struct acpi_facs {                 /* 5.2.10 FACS (no checksum) */
	char signature[4];
	uint32_t length;
	uint32_t hw_signature, waking_vector, global_lock, flags;
	uint64_t x_waking_vector;
	uint8_t version, reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");

/* FADT Flags (Table 5.10): WBINVD works; no fixed-feature power or sleep
 * button. IAPC_BOOT_ARCH stays 0: no 8042 to probe (the reset port 0x64
 * still works, reboot does not need the driver), no VGA. */
#define FADT_WBINVD         (1U << 0)
#define FADT_PWR_BUTTON     (1U << 4)
#define FADT_SLP_BUTTON     (1U << 5)
#define GAS_SYSTEM_IO       1

/* MADT (5.2.12) and its entries. */
#define MADT_PCAT_COMPAT    (1U << 0)  /* dual 8259 PICs present */
#define MADT_LAPIC          0
#define MADT_IOAPIC         1
#define MADT_ISO            2          /* Interrupt Source Override */
#define MPS_INTI_HIGH_LEVEL 0x000d     /* polarity active high, level */

/* Where each table goes inside the area (FACS 64-byte aligned, 5.2.10). */
#define OFF_RSDP            0x000
#define OFF_XSDT            0x040
#define OFF_FADT            0x080
#define OFF_FACS            0x200
#define OFF_MADT            0x240
#define OFF_DSDT            0x300

/* AML opcodes (ACPI 6.4, 20.3 "AML Grammar Definition"). */
#define AML_ZERO            0x00
#define AML_NAME            0x08
#define AML_BYTE_PREFIX     0x0a
#define AML_STRING_PREFIX   0x0d
#define AML_BUFFER          0x11
#define AML_PACKAGE         0x12
#define AML_ROOT            0x5c
#define AML_DUAL_NAME       0x2e
#define AML_EXT_PREFIX      0x5b
#define AML_DEVICE          0x82

uint8_t acpi_sum(const void *p, unsigned long len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s;
}

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, "NVLNCH", 6);
	memcpy(h->oem_table_id, "NVLAUNCH", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "NVLA", 4);
	h->creator_revision = 1;
	h->checksum = 0;
	h->checksum = (uint8_t)-acpi_sum(h, len);
}

static void gas_io(struct acpi_gas *g, uint16_t port, uint8_t bytes)
{
	g->space_id = GAS_SYSTEM_IO;
	g->bit_width = (uint8_t)(bytes * 8);
	g->address = port;
}

/* A little AML writer: p advances as bytes are emitted. */
static uint8_t *aml_bytes(uint8_t *p, const void *b, unsigned long n)
{
	memcpy(p, b, n);
	return p + n;
}

/* PkgLength (20.2.4): one byte below 64, else a lead byte with the count
 * of following bytes in bits 7:6 and the low nibble, then 8-bit pieces.
 * The length counts itself. */
static uint8_t *aml_pkglen(uint8_t *p, unsigned long body)
{
	unsigned long len = body + 1;

	if (len < 0x40) {
		*p++ = (uint8_t)len;
		return p;
	}
	len = body + 2;
	*p++ = (uint8_t)(0x40 | (len & 0xf));
	*p++ = (uint8_t)(len >> 4);
	return p;
}

/* Name(_S5, Package() { 5, 5, 0, 0 }): SLP_TYPa, SLP_TYPb, reserved. */
static uint8_t *aml_s5(uint8_t *p)
{
	static const uint8_t pkg[] = { 4, AML_BYTE_PREFIX, ACPI_S5_TYP,
				       AML_BYTE_PREFIX, ACPI_S5_TYP, AML_ZERO, AML_ZERO };

	*p++ = AML_NAME;
	p = aml_bytes(p, "_S5_", 4);
	*p++ = AML_PACKAGE;
	p = aml_pkglen(p, sizeof(pkg));
	return aml_bytes(p, pkg, sizeof(pkg));
}

/* Device(\_SB.VR00) { Name(_HID, "LNRO0005") Name(_UID, 0)
 *   Name(_CRS, ResourceTemplate() { Memory32Fixed(ReadWrite, base, size)
 *     Interrupt(ResourceConsumer, Level, ActiveHigh, Exclusive) { irq } }) }
 * "LNRO0005" is the ACPI id Linux's virtio_mmio driver matches. */
static uint8_t *aml_virtio(uint8_t *p, const struct acpi_config *cfg)
{
	uint8_t body[96], crs[23], *b = body;
	uint32_t v;

	/* 6.4.3.4 32-Bit Fixed Memory Range Descriptor: 0x86, length 9,
	 * read-write, base, size. */
	crs[0] = 0x86; crs[1] = 9; crs[2] = 0; crs[3] = 1;
	v = (uint32_t)cfg->virtio_base; memcpy(&crs[4], &v, 4);
	v = cfg->virtio_size; memcpy(&crs[8], &v, 4);
	/* 6.4.3.6 Extended Interrupt Descriptor: 0x89, length 6, flags
	 * (bit 0 consumer; bit 1 clear: level; bit 2 clear: active high),
	 * one interrupt. Then 6.4.2.9 End Tag (checksum 0: "treated as if
	 * the checksum operation succeeded"). */
	crs[12] = 0x89; crs[13] = 6; crs[14] = 0; crs[15] = 0x01; crs[16] = 1;
	v = cfg->virtio_irq; memcpy(&crs[17], &v, 4);
	crs[21] = 0x79; crs[22] = 0;

	b = aml_bytes(b, (const uint8_t[]){ AML_ROOT, AML_DUAL_NAME }, 2);
	b = aml_bytes(b, "_SB_VR00", 8);
	*b++ = AML_NAME;
	b = aml_bytes(b, "_HID", 4);
	*b++ = AML_STRING_PREFIX;
	b = aml_bytes(b, "LNRO0005", 9);
	*b++ = AML_NAME;
	b = aml_bytes(b, "_UID", 4);
	*b++ = AML_ZERO;
	*b++ = AML_NAME;
	b = aml_bytes(b, "_CRS", 4);
	*b++ = AML_BUFFER;
	b = aml_pkglen(b, 2 + sizeof(crs));
	*b++ = AML_BYTE_PREFIX;
	*b++ = sizeof(crs);
	b = aml_bytes(b, crs, sizeof(crs));

	*p++ = AML_EXT_PREFIX;
	*p++ = AML_DEVICE;
	p = aml_pkglen(p, (unsigned long)(b - body));
	return aml_bytes(p, body, (unsigned long)(b - body));
}

static uint32_t build_madt(uint8_t *t)
{
	uint8_t *p = t + sizeof(struct acpi_header);
	uint32_t v;

	v = ACPI_LAPIC_ADDR; memcpy(p, &v, 4); p += 4;
	v = MADT_PCAT_COMPAT; memcpy(p, &v, 4); p += 4;
	/* Processor Local APIC: UID 0, APIC id 0, enabled. */
	p = aml_bytes(p, (const uint8_t[]){ MADT_LAPIC, 8, 0, 0, 1, 0, 0, 0 }, 8);
	/* I/O APIC id 1 at 0xfec00000, GSI base 0. KVM's default routing
	 * sends ISA IRQ n to IOAPIC pin n, so no override for IRQ 0. */
	p = aml_bytes(p, (const uint8_t[]){ MADT_IOAPIC, 12, 1, 0 }, 4);
	v = ACPI_IOAPIC_ADDR; memcpy(p, &v, 4); p += 4;
	v = 0; memcpy(p, &v, 4); p += 4;
	/* The SCI: ISA IRQ 9 = GSI 9, level, active high (never raised). */
	p = aml_bytes(p, (const uint8_t[]){ MADT_ISO, 10, 0, ACPI_SCI_IRQ,
					    ACPI_SCI_IRQ, 0, 0, 0,
					    MPS_INTI_HIGH_LEVEL & 0xff, 0 }, 10);
	return (uint32_t)(p - t);
}

uint64_t acpi_build(uint8_t *area, const struct acpi_config *cfg)
{
	struct acpi_rsdp *rsdp = (struct acpi_rsdp *)(area + OFF_RSDP);
	struct acpi_fadt *fadt = (struct acpi_fadt *)(area + OFF_FADT);
	struct acpi_facs *facs = (struct acpi_facs *)(area + OFF_FACS);
	uint8_t *xsdt = area + OFF_XSDT, *dsdt = area + OFF_DSDT, *p;
	uint64_t ents[2] = { ACPI_BASE + OFF_FADT, ACPI_BASE + OFF_MADT };
	uint32_t len;

	memset(area, 0, ACPI_AREA_SIZE);

	/* DSDT: definition block header, then the AML. */
	p = aml_s5(dsdt + sizeof(struct acpi_header));
	if (cfg->has_virtio)
		p = aml_virtio(p, cfg);
	header((struct acpi_header *)dsdt, "DSDT", (uint32_t)(p - dsdt), 2);

	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;

	/* FADT: the PM1a blocks nvlaunch emulates; no SMI_CMD, which tells
	 * the OS the machine is already in ACPI mode (5.2.9: "zero if the
	 * system does not support System Management mode"). */
	fadt->firmware_ctrl = ACPI_BASE + OFF_FACS;
	fadt->dsdt = ACPI_BASE + OFF_DSDT;
	fadt->x_dsdt = ACPI_BASE + OFF_DSDT;
	fadt->sci_int = ACPI_SCI_IRQ;
	fadt->pm1a_evt_blk = ACPI_PM1A_EVT_BLK;
	fadt->pm1a_cnt_blk = ACPI_PM1A_CNT_BLK;
	fadt->pm1_evt_len = ACPI_PM1A_EVT_LEN;
	fadt->pm1_cnt_len = ACPI_PM1A_CNT_LEN;
	gas_io(&fadt->x_pm1a_evt, ACPI_PM1A_EVT_BLK, ACPI_PM1A_EVT_LEN);
	gas_io(&fadt->x_pm1a_cnt, ACPI_PM1A_CNT_BLK, ACPI_PM1A_CNT_LEN);
	fadt->flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON;
	header(&fadt->h, "FACP", sizeof(*fadt), 6);

	len = build_madt(area + OFF_MADT);
	header((struct acpi_header *)(area + OFF_MADT), "APIC", len, 5);

	memcpy(xsdt + sizeof(struct acpi_header), ents, sizeof(ents));
	header((struct acpi_header *)xsdt, "XSDT",
	       (uint32_t)(sizeof(struct acpi_header) + sizeof(ents)), 1);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, "NVLNCH", 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt = ACPI_BASE + OFF_XSDT;
	rsdp->checksum = (uint8_t)-acpi_sum(rsdp, 20);
	rsdp->ext_checksum = (uint8_t)-acpi_sum(rsdp, sizeof(*rsdp));
	return ACPI_BASE + OFF_RSDP;
}
