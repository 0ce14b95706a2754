/* A 16550A UART (National Semiconductor PC16550D data sheet) for L2's
 * console, with interrupts so that Linux's 8250 driver transmits from its
 * THR-empty interrupt instead of losing output.
 *
 * Transmission is instant: a byte written to THR goes to the output file
 * at once and THR is empty again, so the THR-empty (THRE) interrupt is
 * pending again right after each write. As on the chip, that interrupt is
 * cleared by reading IIR while it is the reported source or by writing
 * THR, and set when IER.ETBEI goes from 0 to 1 with THR empty (Linux's
 * UART_BUG_THRE probe in serial8250_do_startup() relies on the latter).
 * The interrupt output reaches the PIC/IOAPIC only when MCR.OUT2 is set,
 * as on every PC serial port. */
#include "uart.h"
#include "nvlaunch.h"
#include <string.h>

/* Register offsets. */
#define REG_RBR_THR   0   /* DLAB=0; DLL with DLAB=1 */
#define REG_IER       1   /* DLAB=0; DLM with DLAB=1 */
#define REG_IIR_FCR   2
#define REG_LCR       3
#define REG_MCR       4
#define REG_LSR       5
#define REG_MSR       6
#define REG_SCR       7

#define IER_ERBFI     (1U << 0)   /* received data available */
#define IER_ETBEI     (1U << 1)   /* THR empty */
#define IER_MASK      0x0f
#define IIR_NO_INT    0x01
#define IIR_THRE      0x02
#define IIR_RDA       0x04
#define IIR_FIFO_ON   0xc0
#define FCR_ENABLE    (1U << 0)
#define FCR_CLEAR_RX  (1U << 1)
#define LCR_DLAB      (1U << 7)
#define MCR_DTR       (1U << 0)
#define MCR_RTS       (1U << 1)
#define MCR_OUT1      (1U << 2)
#define MCR_OUT2      (1U << 3)   /* gates the interrupt line on a PC */
#define MCR_LOOP      (1U << 4)
#define MCR_MASK      0x1f
#define LSR_DR        (1U << 0)
#define LSR_THRE      (1U << 5)
#define LSR_TEMT      (1U << 6)
#define MSR_CTS       (1U << 4)
#define MSR_DSR       (1U << 5)
#define MSR_RI        (1U << 6)
#define MSR_DCD       (1U << 7)

void uart_init(struct uart *u, FILE *out, uint32_t irq)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->out = out;
	u->irq = irq;
}

/* The highest-priority enabled interrupt (data sheet, Table IV). */
static uint8_t uart_iir(const struct uart *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0;

	if ((u->ier & IER_ERBFI) && u->rx_count)
		return fifo | IIR_RDA;
	if ((u->ier & IER_ETBEI) && u->thre_pending)
		return fifo | IIR_THRE;
	return fifo | IIR_NO_INT;
}

/* Raise or lower the line; the irqchip only hears changes. */
static void uart_update_irq(struct uart *u)
{
	int level = !(uart_iir(u) & IIR_NO_INT) && (u->mcr & MCR_OUT2);

	if (level != u->irq_level) {
		u->irq_level = level;
		vm_irq_line(u->irq, level);
	}
}

static void rx_push(struct uart *u, uint8_t c)
{
	if (u->rx_count < UART_RX_FIFO) {
		u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO] = c;
		u->rx_count++;
	}
}

static uint8_t uart_read(struct uart *u, unsigned int off)
{
	uint8_t v = 0, iir;

	switch (off) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_RX_FIFO;
			u->rx_count--;
		}
		return v;
	case REG_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case REG_IIR_FCR:
		iir = uart_iir(u);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if ((iir & 0x0f) == IIR_THRE)
			u->thre_pending = 0;
		return iir;
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
	case REG_MSR:
		/* Loopback wires RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD (Linux's
		 * autoconfig checks this); otherwise a modem that is always there. */
		if (u->mcr & MCR_LOOP)
			return (u->mcr & MCR_RTS ? MSR_CTS : 0) | (u->mcr & MCR_DTR ? MSR_DSR : 0) |
			       (u->mcr & MCR_OUT1 ? MSR_RI : 0) | (u->mcr & MCR_OUT2 ? MSR_DCD : 0);
		return MSR_DCD | MSR_DSR | MSR_CTS;
	default:
		return u->scr;
	}
}

static void uart_write(struct uart *u, unsigned int off, uint8_t v)
{
	uint8_t old;

	switch (off) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			return;
		}
		if (u->mcr & MCR_LOOP)
			rx_push(u, v);
		else
			fputc(v, u->out);
		u->thre_pending = 1;  /* sent at once: THR is empty again */
		return;
	case REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			return;
		}
		old = u->ier;
		u->ier = v & IER_MASK;
		if ((u->ier & IER_ETBEI) && !(old & IER_ETBEI))
			u->thre_pending = 1;
		else if (!(u->ier & IER_ETBEI))
			u->thre_pending = 0;
		return;
	case REG_IIR_FCR:
		if ((v & FCR_CLEAR_RX) || ((v ^ u->fcr) & FCR_ENABLE))
			u->rx_count = 0;
		u->fcr = v & FCR_ENABLE;
		return;
	case REG_LCR:
		u->lcr = v;
		return;
	case REG_MCR:
		u->mcr = v & MCR_MASK;
		return;
	case REG_SCR:
		u->scr = v;
		return;
	default:              /* LSR and MSR are read-only */
		return;
	}
}

void uart_io(struct uart *u, unsigned int off, int is_write, uint8_t *data)
{
	pthread_mutex_lock(&u->lock);
	if (is_write)
		uart_write(u, off, *data);
	else
		*data = uart_read(u, off);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

unsigned int uart_rx(struct uart *u, const uint8_t *buf, unsigned int n)
{
	unsigned int i;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < n && u->rx_count < UART_RX_FIFO; i++)
		rx_push(u, buf[i]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return i;
}
