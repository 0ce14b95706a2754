/* virtio-net over virtio-mmio, after the Virtual I/O Device (VIRTIO)
 * Version 1.1 specification: 4.2.2 "MMIO Device Register Layout" (version
 * 2, "modern"), 2.6 "Split Virtqueues" and 5.1 "Network Device".
 *
 * Two queues: 0 receives (L2 posts writable buffers, nvlaunch fills them
 * from the tap), 1 transmits (L2 posts readable chains, nvlaunch writes
 * them to the tap when L2 writes QueueNotify). Features offered: only
 * VIRTIO_F_VERSION_1 and VIRTIO_NET_F_MAC, so every packet carries the
 * 12-byte struct virtio_net_hdr (5.1.6: with VERSION_1 the header always
 * has num_buffers) and no offloads. The vCPU thread (MMIO) and the input
 * thread (tap) share the device under one lock. */
#include "virtio_net.h"
#include "nvlaunch.h"
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

/* 4.2.2 MMIO register offsets. */
#define MMIO_MAGIC          0x000   /* "virt" */
#define MMIO_VERSION        0x004
#define MMIO_DEVICE_ID      0x008
#define MMIO_VENDOR_ID      0x00c
#define MMIO_DEV_FEATURES   0x010
#define MMIO_DEV_FEAT_SEL   0x014
#define MMIO_DRV_FEATURES   0x020
#define MMIO_DRV_FEAT_SEL   0x024
#define MMIO_QUEUE_SEL      0x030
#define MMIO_QUEUE_NUM_MAX  0x034
#define MMIO_QUEUE_NUM      0x038
#define MMIO_QUEUE_READY    0x044
#define MMIO_QUEUE_NOTIFY   0x050
#define MMIO_INT_STATUS     0x060
#define MMIO_INT_ACK        0x064
#define MMIO_STATUS         0x070
#define MMIO_DESC_LOW       0x080
#define MMIO_DESC_HIGH      0x084
#define MMIO_DRIVER_LOW     0x090   /* the available ring */
#define MMIO_DRIVER_HIGH    0x094
#define MMIO_DEVICE_LOW     0x0a0   /* the used ring */
#define MMIO_DEVICE_HIGH    0x0a4
#define MMIO_CONFIG_GEN     0x0fc
#define MMIO_CONFIG         0x100

#define VIRTIO_MAGIC        0x74726976
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_ID_NET       1
#define VENDOR_ID           0x414c564e  /* "NVLA" */
#define VIRTIO_F_VERSION_1  32
#define VIRTIO_NET_F_MAC    5
#define STATUS_FEATURES_OK  8
#define INT_USED_BUFFER     1           /* InterruptStatus bit 0 */

#define NQUEUES             2
#define RXQ                 0
#define TXQ                 1
#define QUEUE_MAX           256
#define NET_HDR_LEN         12          /* struct virtio_net_hdr with num_buffers */
#define MAX_CHAIN           64

/* 2.6.5 The Virtqueue Descriptor Table. */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VRING_DESC_F_NEXT   1
#define VRING_DESC_F_WRITE  2
#define VRING_AVAIL_F_NO_INTERRUPT 1
_Static_assert(sizeof(struct vring_desc) == 16, "virtq_desc");

struct vqueue {
	uint32_t num;
	uint32_t ready;
	uint64_t desc, avail, used;   /* guest-physical */
	uint16_t last_avail;          /* next available entry to take */
	uint16_t used_idx;            /* next used entry to fill */
};

static struct vnet {
	pthread_mutex_t lock;
	int tap, wake;
	uint32_t status, isr, irq_level;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint64_t drv_features;
	struct vqueue q[NQUEUES];
	uint8_t mac[6];
} vn = { .lock = PTHREAD_MUTEX_INITIALIZER, .tap = -1, .wake = -1 };

static const uint64_t dev_features = (1ULL << VIRTIO_F_VERSION_1) |
				     (1ULL << VIRTIO_NET_F_MAC);

int vnet_open(const char *name, char *err, unsigned long errlen)
{
	struct ifreq ifr;

	vn.tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (vn.tap < 0) {
		snprintf(err, errlen, "/dev/net/tun: %s (is the tun module loaded?)",
			 strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(vn.tap, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "TUNSETIFF %s: %s", name, strerror(errno));
		return -1;
	}
	vn.wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vn.wake < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	/* A locally administered unicast address (QEMU's prefix, 52:54:00). */
	memcpy(vn.mac, (const uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
	return 0;
}

int vnet_tap_fd(void) { return vn.tap; }
int vnet_wake_fd(void) { return vn.wake; }

static void vnet_update_irq(void)
{
	uint32_t level = vn.isr != 0;

	if (level != vn.irq_level) {
		vn.irq_level = level;
		vm_irq_line(VNET_IRQ, (int)level);
	}
}

static void vnet_reset(void)
{
	vn.status = 0;
	vn.isr = 0;
	vn.drv_features = 0;
	vn.dev_feat_sel = vn.drv_feat_sel = vn.queue_sel = 0;
	memset(vn.q, 0, sizeof(vn.q));
	vnet_update_irq();
}

/* The ring's avail->idx and used->idx are shared with L2's running vCPU:
 * acquire what L2 published, release what nvlaunch publishes (2.6.13). */
static uint16_t *avail_field(struct vqueue *q, uint32_t i)
{
	return vm_guest_ptr(q->avail + 2 * i, 2);  /* flags, idx, ring[] */
}

/* Takes the next available chain: its head, and its buffers as iovecs
 * (writable ones for RX, readable ones for TX). -1 when none is ready. */
static int pop_chain(struct vqueue *q, int writable, struct iovec *iov, int *niov)
{
	uint16_t *idx = avail_field(q, 1), *slot;
	struct vring_desc *d;
	uint16_t head, i;
	int n = 0;

	if (!q->ready || !idx || __atomic_load_n(idx, __ATOMIC_ACQUIRE) == q->last_avail)
		return -1;
	slot = avail_field(q, 2 + q->last_avail % q->num);
	if (!slot)
		return -1;
	head = i = *slot;
	q->last_avail++;
	while (n < MAX_CHAIN && i < q->num) {
		d = vm_guest_ptr(q->desc + 16ULL * i, sizeof(*d));
		if (!d)
			break;
		if (!!(d->flags & VRING_DESC_F_WRITE) == writable) {
			iov[n].iov_base = vm_guest_ptr(d->addr, d->len);
			iov[n].iov_len = d->len;
			if (iov[n].iov_base)
				n++;
		}
		if (!(d->flags & VRING_DESC_F_NEXT))
			break;
		i = d->next;
	}
	*niov = n;
	return head;
}

static void push_used(struct vqueue *q, uint32_t head, uint32_t len)
{
	uint32_t *elem = vm_guest_ptr(q->used + 4 + 8ULL * (q->used_idx % q->num), 8);
	uint16_t *idx = vm_guest_ptr(q->used + 2, 2);
	uint16_t *flags = avail_field(q, 0);

	if (!elem || !idx)
		return;
	elem[0] = head;
	elem[1] = len;
	q->used_idx++;
	__atomic_store_n(idx, q->used_idx, __ATOMIC_RELEASE);
	/* Without VIRTIO_F_EVENT_IDX, the driver's NO_INTERRUPT flag asks the
	 * device not to interrupt (2.6.7.1); Linux polls then. */
	if (flags && !(__atomic_load_n(flags, __ATOMIC_ACQUIRE) & VRING_AVAIL_F_NO_INTERRUPT))
		vn.isr |= INT_USED_BUFFER;
}

/* Skips n bytes at the front of an iovec array, in place. */
static int iov_skip(struct iovec *iov, int niov, size_t n)
{
	int i = 0;

	while (i < niov && n >= iov[i].iov_len)
		n -= iov[i++].iov_len;
	if (i < niov) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + n;
		iov[i].iov_len -= n;
	}
	memmove(iov, iov + i, (size_t)(niov - i) * sizeof(*iov));
	return niov - i;
}

/* L2 notified the TX queue: each chain is a header and a frame. */
static void vnet_tx(void)
{
	struct vqueue *q = &vn.q[TXQ];
	struct iovec iov[MAX_CHAIN];
	int head, n;

	while ((head = pop_chain(q, 0, iov, &n)) >= 0) {
		n = iov_skip(iov, n, NET_HDR_LEN);
		/* A full queue (EAGAIN) or a tap that is down (EIO) drops the
		 * frame, as a cable would; anything else is worth a line. */
		if (n > 0 && writev(vn.tap, iov, n) < 0 && errno != EAGAIN && errno != EIO)
			perror("nvlaunch: tap write");
		push_used(q, (uint32_t)head, 0);
	}
	vnet_update_irq();
}

int vnet_rx_wanted(void)
{
	struct vqueue *q = &vn.q[RXQ];
	uint16_t *idx;
	int wanted;

	pthread_mutex_lock(&vn.lock);
	idx = q->ready ? avail_field(q, 1) : NULL;
	wanted = idx && __atomic_load_n(idx, __ATOMIC_ACQUIRE) != q->last_avail;
	pthread_mutex_unlock(&vn.lock);
	return wanted;
}

/* The tap is readable: one frame per posted buffer, while both last. */
void vnet_rx(void)
{
	static const uint8_t hdr[NET_HDR_LEN] = { [10] = 1 }; /* num_buffers = 1 */
	struct vqueue *q = &vn.q[RXQ];
	struct iovec iov[MAX_CHAIN];
	uint16_t saved;
	ssize_t got;
	int head, n;

	pthread_mutex_lock(&vn.lock);
	for (;;) {
		saved = q->last_avail;
		head = pop_chain(q, 1, iov, &n);
		if (head < 0)
			break;
		if (n == 0 || iov[0].iov_len < NET_HDR_LEN) {  /* not a buffer we can use */
			push_used(q, (uint32_t)head, 0);
			continue;
		}
		memcpy(iov[0].iov_base, hdr, NET_HDR_LEN);
		n = iov_skip(iov, n, NET_HDR_LEN);
		got = readv(vn.tap, iov, n);
		if (got < 0) {
			q->last_avail = saved;  /* nothing to read: give the buffer back */
			break;
		}
		push_used(q, (uint32_t)head, (uint32_t)(NET_HDR_LEN + got));
	}
	vnet_update_irq();
	pthread_mutex_unlock(&vn.lock);
}

static uint32_t *queue_addr_reg(struct vqueue *q, uint64_t off)
{
	uint64_t *a = off < MMIO_DRIVER_LOW ? &q->desc :
		      off < MMIO_DEVICE_LOW ? &q->avail : &q->used;

	return (uint32_t *)a + ((off & 4) ? 1 : 0);  /* little endian halves */
}

/* The queue QueueSel names; a scratch one for a queue that does not exist. */
static struct vqueue *selected_queue(void)
{
	static struct vqueue none;

	if (vn.queue_sel < NQUEUES)
		return &vn.q[vn.queue_sel];
	memset(&none, 0, sizeof(none));
	return &none;
}

static uint32_t mmio_read(uint64_t off)
{
	struct vqueue *q = selected_queue();

	switch (off) {
	case MMIO_MAGIC:         return VIRTIO_MAGIC;
	case MMIO_VERSION:       return VIRTIO_MMIO_VERSION;
	case MMIO_DEVICE_ID:     return VIRTIO_ID_NET;
	case MMIO_VENDOR_ID:     return VENDOR_ID;
	case MMIO_DEV_FEATURES:
		return vn.dev_feat_sel < 2 ? (uint32_t)(dev_features >> (32 * vn.dev_feat_sel)) : 0;
	case MMIO_QUEUE_NUM_MAX: return vn.queue_sel < NQUEUES ? QUEUE_MAX : 0;
	case MMIO_QUEUE_READY:   return q->ready;
	case MMIO_INT_STATUS:    return vn.isr;
	case MMIO_STATUS:        return vn.status;
	case MMIO_CONFIG_GEN:    return 0;
	default:                 return 0;
	}
}

static void mmio_write(uint64_t off, uint32_t v)
{
	struct vqueue *q = selected_queue();
	uint64_t eventfd_one = 1;

	switch (off) {
	case MMIO_DEV_FEAT_SEL:  vn.dev_feat_sel = v; return;
	case MMIO_DRV_FEAT_SEL:  vn.drv_feat_sel = v; return;
	case MMIO_DRV_FEATURES:
		if (vn.drv_feat_sel < 2) {
			vn.drv_features &= ~(0xffffffffULL << (32 * vn.drv_feat_sel));
			vn.drv_features |= (uint64_t)v << (32 * vn.drv_feat_sel);
		}
		return;
	case MMIO_QUEUE_SEL:     vn.queue_sel = v; return;
	case MMIO_QUEUE_NUM:
		if (v && v <= QUEUE_MAX && !(v & (v - 1)))
			q->num = v;
		return;
	case MMIO_QUEUE_READY:
		q->ready = (v & 1) && q->num;
		q->last_avail = q->used_idx = 0;
		return;
	case MMIO_QUEUE_NOTIFY:
		if (v == TXQ)
			vnet_tx();
		else if (v == RXQ && write(vn.wake, &eventfd_one, 8) < 0)
			perror("nvlaunch: eventfd");
		return;
	case MMIO_INT_ACK:
		vn.isr &= ~v;
		vnet_update_irq();
		return;
	case MMIO_STATUS:
		if (v == 0) {
			vnet_reset();
			return;
		}
		/* 3.1.1: the device refuses FEATURES_OK for a feature set it
		 * cannot run; a modern device needs VERSION_1 accepted. */
		if ((v & STATUS_FEATURES_OK) &&
		    (!(vn.drv_features & (1ULL << VIRTIO_F_VERSION_1)) ||
		     (vn.drv_features & ~dev_features)))
			v &= ~STATUS_FEATURES_OK;
		vn.status = v;
		return;
	default:
		if (off >= MMIO_DESC_LOW && off <= MMIO_DEVICE_HIGH && !(off & 8))
			*queue_addr_reg(q, off) = v;
		return;
	}
}

void vnet_mmio(uint64_t off, int is_write, uint8_t *data, unsigned int len)
{
	uint32_t v = 0;

	pthread_mutex_lock(&vn.lock);
	if (off >= MMIO_CONFIG) {
		/* Device configuration (5.1.4): the MAC, read bytewise. */
		off -= MMIO_CONFIG;
		if (!is_write) {
			memset(data, 0, len);
			if (off < sizeof(vn.mac))
				memcpy(data, vn.mac + off,
				       len < sizeof(vn.mac) - off ? len : sizeof(vn.mac) - off);
		}
	} else if (is_write) {
		memcpy(&v, data, len < 4 ? len : 4);
		mmio_write(off, v);
	} else {
		v = mmio_read(off);
		memcpy(data, &v, len < 4 ? len : 4);
	}
	pthread_mutex_unlock(&vn.lock);
}
