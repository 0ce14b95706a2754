/* A 16550A UART for nvlaunch (COM1, 0x3f8, IRQ 4) with interrupts. */
#ifndef NVLAUNCH_UART_H
#define NVLAUNCH_UART_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define UART_COM1_BASE  0x3f8
#define UART_COM1_IRQ   4
#define UART_NREGS      8
#define UART_RX_FIFO    256

struct uart {
	pthread_mutex_t lock;      /* vCPU thread (port I/O) vs input thread (RX) */
	FILE *out;                 /* where L2's transmitted bytes go */
	uint32_t irq;
	int irq_level;             /* last level given to the irqchip */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	int thre_pending;          /* THR-empty interrupt not yet acknowledged */
	uint8_t rx[UART_RX_FIFO];
	unsigned int rx_head, rx_count;
};

void uart_init(struct uart *u, FILE *out, uint32_t irq);
/* One byte of port I/O at offset off (0..7) from the base. */
void uart_io(struct uart *u, unsigned int off, int is_write, uint8_t *data);
/* Queues received bytes for L2; returns how many fitted. */
unsigned int uart_rx(struct uart *u, const uint8_t *buf, unsigned int n);

#endif
