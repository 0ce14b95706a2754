/* What nvlaunch's devices need from the VM (main.c): interrupt lines and
 * guest memory. */
#ifndef NVLAUNCH_H
#define NVLAUNCH_H

#include <stddef.h>
#include <stdint.h>

/* Sets the level of a GSI of the in-kernel irqchip (KVM_IRQ_LINE). */
void vm_irq_line(uint32_t gsi, int level);

/* Host address of len bytes of guest RAM at gpa, or NULL when any of them
 * is not RAM (a device must not trust addresses the guest hands it). */
void *vm_guest_ptr(uint64_t gpa, uint64_t len);

#endif
