/* Minimal ACPI tables for nvlaunch's L2: RSDP, XSDT, FADT, FACS, MADT and a
 * DSDT with \_S5 (power off) and, with --net, the virtio-mmio device.
 * Pure: builds the tables in guest memory the caller hands in. */
#ifndef NVLAUNCH_ACPI_H
#define NVLAUNCH_ACPI_H

#include <stdint.h>

/* The fixed-hardware power-management ports the FADT names. L2 powers off
 * by writing SLP_TYP = ACPI_S5_TYP with SLP_EN to PM1a control (ACPI 6.4,
 * 4.8.3.2.1 "PM1 Control Registers"). */
#define ACPI_PM1A_EVT_BLK   0x600   /* PM1a status (2 bytes) + enable (2) */
#define ACPI_PM1A_EVT_LEN   4
#define ACPI_PM1A_CNT_BLK   0x604
#define ACPI_PM1A_CNT_LEN   2
#define ACPI_PM1_SCI_EN     (1U << 0)
#define ACPI_PM1_SLP_TYP(v) (((v) >> 10) & 7)
#define ACPI_PM1_SLP_EN     (1U << 13)
#define ACPI_S5_TYP         5       /* the value \_S5 hands the OS */
#define ACPI_SCI_IRQ        9

/* Local APIC and IOAPIC at their PC addresses (KVM's in-kernel irqchip). */
#define ACPI_LAPIC_ADDR     0xfee00000U
#define ACPI_IOAPIC_ADDR    0xfec00000U

/* Where the tables go: the BIOS area the kernel scans for "RSD PTR ". */
#define ACPI_BASE           0xe0000UL
#define ACPI_AREA_SIZE      0x1000UL

struct acpi_config {
	int has_virtio;            /* describe a virtio-mmio device (LNRO0005) */
	uint64_t virtio_base;
	uint32_t virtio_size;
	uint32_t virtio_irq;       /* a GSI, level-triggered, active high */
};

/* Writes the tables at area (guest-physical ACPI_BASE, ACPI_AREA_SIZE
 * bytes); returns the RSDP's guest-physical address. */
uint64_t acpi_build(uint8_t *area, const struct acpi_config *cfg);

/* Sum of len bytes (a valid table sums to 0). */
uint8_t acpi_sum(const void *p, unsigned long len);

#endif
