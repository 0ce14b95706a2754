/* A virtio-net device over virtio-mmio (virtio 1.x, MMIO version 2),
 * backed by a tap device of the L1 host. One instance. */
#ifndef NVLAUNCH_VIRTIO_NET_H
#define NVLAUNCH_VIRTIO_NET_H

#include <stdint.h>

/* Its place in L2's physical address space (in the 32-bit PCI hole) and
 * its interrupt: what the DSDT says. */
#define VNET_MMIO_BASE  0xd0000000ULL
#define VNET_MMIO_SIZE  0x200
#define VNET_IRQ        5

/* Opens tap device NAME (IFF_TAP|IFF_NO_PI). 0, or -1 with a reason. */
int vnet_open(const char *name, char *err, unsigned long errlen);
/* An MMIO access at offset off inside the window (vCPU thread). */
void vnet_mmio(uint64_t off, int is_write, uint8_t *data, unsigned int len);
/* For the input thread: the tap fd, whether L2 has posted receive buffers
 * (poll the tap only then), the eventfd that says it posted new ones, and
 * the handler for a readable tap. */
int vnet_tap_fd(void);
int vnet_rx_wanted(void);
int vnet_wake_fd(void);
void vnet_rx(void);

#endif
