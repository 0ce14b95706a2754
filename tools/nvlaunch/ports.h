/* Legacy PC ports: i8042 reset, ACPI PM1a, debug exit, CMOS. */
#ifndef NVLAUNCH_PORTS_H
#define NVLAUNCH_PORTS_H

#include <stdint.h>

#define PORT_DEBUG_EXIT     0xf4    /* QEMU's isa-debug-exit, iobase 0xf4 */
#define PORT_STATS_MARK     0xf5    /* nestvisor's NV_STATS_MARK_PORT */

/* One port access of size bytes that no other device claimed. */
void ports_io(uint16_t port, int is_write, uint8_t *data, unsigned int size);

#endif
