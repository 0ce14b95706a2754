/* What nvlaunch's devices need from the VM (main.c): interrupt lines and
 * guest memory. */
#ifndef NVLAUNCH_H
#define NVLAUNCH_H

#include <stddef.h>
#include <stdint.h>

/* nvlaunch's exit status. Odd values come from L2 through the debug-exit
 * port ((v << 1) | 1, as QEMU's isa-debug-exit), even ones from nvlaunch. */
#define NV_EXIT_POWEROFF   0
#define NV_EXIT_REBOOT     2
#define NV_EXIT_L2_FAILED  4   /* triple fault, internal error, failed entry */
#define NV_EXIT_ERROR      6   /* options, /dev/kvm, image, memory, KVM calls */

/* Ends nvlaunch: flushes L2's console, says why on stderr, exits. */
void vm_finish(int status, const char *why) __attribute__((noreturn));

/* Sets the level of a GSI of the in-kernel irqchip (KVM_IRQ_LINE). */
void vm_irq_line(uint32_t gsi, int level);

/* Host address of len bytes of guest RAM at gpa, or NULL when any of them
 * is not RAM (a device must not trust addresses the guest hands it). */
void *vm_guest_ptr(uint64_t gpa, uint64_t len);

#endif
