/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VFIO PCI device's interrupts (drivers/vfio/pci/vfio_pci_intrs.c):
 * VFIO_DEVICE_SET_IRQS for INTx, MSI, MSI-X, ERR and REQ, with the eventfds
 * the user gives kept as handles (FDs of the emulation's own) that a
 * loopback trigger (DATA_NONE/DATA_BOOL) signals, as the kernel's
 * eventfd_signal() does.  Nothing else ever fires them: there is no device.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emul_internal.h"

void put_handle(int *h)
{
	if (*h >= 0)
		close(*h);
	*h = -1;
}

void signal_handle(int h)
{
	uint64_t one = 1;

	if (h >= 0 && write(h, &one, sizeof(one)) < 0) {
		/* an eventfd at its maximum: the kernel's eventfd_signal() does not fail either */
	}
}

void msi_off(struct emul_device *d)
{
	for (unsigned i = 0; i < d->nctx; i++)
		put_handle(&d->ctx_trigger[i]);
	free(d->ctx_trigger);
	d->ctx_trigger = NULL;
	d->nctx = 0;
}

/* vfio_pci_get_irq_count() */
unsigned irq_count(struct emul_call *c, struct emul_device *d, unsigned index, const uint8_t *cfg)
{
	uint8_t pos;

	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		if (host_dev_is_vf(c->e, d->bdf))
			return 0;
		return cfg[PCI_INTERRUPT_PIN] ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		pos = config_find_cap(cfg, PCI_CAP_ID_MSI);
		return pos ? 1u << ((cfg[pos + PCI_MSI_FLAGS] & PCI_MSI_FLAGS_QMASK) >> 1) : 0;
	case VFIO_PCI_MSIX_IRQ_INDEX:
		pos = config_find_cap(cfg, PCI_CAP_ID_MSIX);
		return pos ? ((cfg[pos + PCI_MSIX_FLAGS] | cfg[pos + PCI_MSIX_FLAGS + 1] << 8) & PCI_MSIX_FLAGS_QSIZE) + 1
		           : 0;
	case VFIO_PCI_ERR_IRQ_INDEX:
		return config_is_pcie(cfg) ? 1 : 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	}
	return 0;
}

int get_trigger(struct emul_call *c, int32_t fd, int *out)
{
	*out = -1;
	if (fd < 0)
		return 0;
	if (!c->env || !c->env->get_eventfd)
		return -EBADF;
	int h = c->env->get_eventfd(c->env->ctx, fd);
	if (h < 0)
		return h;
	*out = h;
	return 0;
}

/* vfio_pci_set_ctx_trigger_single(): ERR and REQ */
static long set_single(struct emul_call *c, int *ctx, uint32_t count, uint32_t flags, const uint8_t *data)
{
	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		if (*ctx >= 0) {
			if (count)
				signal_handle(*ctx);
			else
				put_handle(ctx);
		}
		return 0;
	}
	if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (!count)
			return -EINVAL;
		if (data[0] && *ctx >= 0)
			signal_handle(*ctx);
		return 0;
	}
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd;
		if (!count)
			return -EINVAL;
		memcpy(&fd, data, sizeof(fd));
		if (fd == -1) {
			put_handle(ctx);
		} else if (fd >= 0) {
			int h;
			int r = get_trigger(c, fd, &h);
			if (r < 0)
				return r;
			put_handle(ctx);
			*ctx = h;
		}
		return 0;
	}
	return -EINVAL;
}

/* vfio_pci_set_intx_trigger() and _mask/_unmask */
static long set_intx(struct emul_call *c, struct emul_device *d, uint32_t action, uint32_t start, uint32_t count,
                     uint32_t flags, const uint8_t *data)
{
	bool is_intx = d->irq_type == VFIO_PCI_INTX_IRQ_INDEX;

	if (action == VFIO_IRQ_SET_ACTION_MASK || action == VFIO_IRQ_SET_ACTION_UNMASK) {
		if (!is_intx || start != 0 || count != 1)
			return -EINVAL;
		if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
			if (action == VFIO_IRQ_SET_ACTION_MASK)
				return -ENOTTY; /* XXX implement me */
			/* an unmask eventfd (virqfd): taken and dropped, nothing signals it */
			int32_t fd;
			int h;
			memcpy(&fd, data, sizeof(fd));
			int r = get_trigger(c, fd, &h);
			put_handle(&h);
			return r;
		}
		if ((flags & VFIO_IRQ_SET_DATA_BOOL) && !data[0])
			return 0;
		d->intx_masked = action == VFIO_IRQ_SET_ACTION_MASK;
		return 0;
	}
	if (is_intx && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		put_handle(&d->intx_trigger);
		d->irq_type = IRQ_NONE_TYPE;
		d->intx_masked = false;
		return 0;
	}
	if (!(is_intx || d->irq_type == IRQ_NONE_TYPE) || start != 0 || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd;
		int h, r;
		memcpy(&fd, data, sizeof(fd));
		if ((r = get_trigger(c, fd, &h)) < 0)
			return r;
		if (!is_intx) {
			/* vfio_intx_enable() */
			if (host_dev_irq(c->e, d->bdf) <= 0) {
				put_handle(&h);
				return -ENODEV;
			}
			d->irq_type = VFIO_PCI_INTX_IRQ_INDEX;
			d->intx_masked = false;
		}
		put_handle(&d->intx_trigger);
		d->intx_trigger = h;
		return 0;
	}
	if (!is_intx)
		return -EINVAL;
	if ((flags & VFIO_IRQ_SET_DATA_NONE) || ((flags & VFIO_IRQ_SET_DATA_BOOL) && data[0]))
		signal_handle(d->intx_trigger);
	return 0;
}

/* vfio_pci_set_msi_trigger() */
static long set_msi(struct emul_call *c, struct emul_device *d, unsigned index, uint32_t action, uint32_t start,
                    uint32_t count, uint32_t flags, const uint8_t *data)
{
	if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
		return -ENOTTY; /* XXX Need masking support exported */
	bool is_this = d->irq_type == (int)index;
	if (is_this && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		msi_off(d);
		d->irq_type = IRQ_NONE_TYPE;
		return 0;
	}
	if (!(is_this || d->irq_type == IRQ_NONE_TYPE))
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		if (!is_this) {
			/* vfio_msi_enable(): vectors for start + count */
			d->ctx_trigger = malloc(sizeof(int) * (start + count));
			if (!d->ctx_trigger && start + count)
				return -ENOMEM;
			d->nctx = start + count;
			for (unsigned i = 0; i < d->nctx; i++)
				d->ctx_trigger[i] = -1;
			d->irq_type = (int)index;
		}
		for (uint32_t i = 0; i < count; i++) {
			int32_t fd;
			int h, r;
			if (start + i >= d->nctx) {
				/* MSI-X grows (dynamic allocation); MSI cannot */
				if (index != VFIO_PCI_MSIX_IRQ_INDEX)
					return -EINVAL;
				int *n = realloc(d->ctx_trigger, sizeof(int) * (start + i + 1));
				if (!n)
					return -ENOMEM;
				d->ctx_trigger = n;
				while (d->nctx < start + i + 1)
					d->ctx_trigger[d->nctx++] = -1;
			}
			memcpy(&fd, data + 4 * i, sizeof(fd));
			put_handle(&d->ctx_trigger[start + i]);
			if ((r = get_trigger(c, fd, &h)) < 0) {
				if (!is_this) {
					msi_off(d);
					d->irq_type = IRQ_NONE_TYPE;
				}
				return r;
			}
			d->ctx_trigger[start + i] = h;
		}
		return 0;
	}
	if (!is_this)
		return -EINVAL;
	for (uint32_t i = start; i < start + count && i < d->nctx; i++)
		if ((flags & VFIO_IRQ_SET_DATA_NONE) || ((flags & VFIO_IRQ_SET_DATA_BOOL) && data[i - start]))
			signal_handle(d->ctx_trigger[i]);
	return 0;
}

long device_set_irqs(struct emul_call *c, struct emul_device *d, uint64_t arg)
{
	struct vfio_irq_set hdr;
	size_t minsz = offsetof(struct vfio_irq_set, count) + sizeof(hdr.count), size = 0;
	uint8_t cfg[4096], *data = NULL;
	long r;

	if (copy_from_user(c, &hdr, arg, minsz) < 0)
		return -EFAULT;
	if (config_phys(c, d, cfg, sizeof(cfg)) < 0)
		return -EIO;
	unsigned max = hdr.index < VFIO_PCI_NUM_IRQS ? irq_count(c, d, hdr.index, cfg) : 0;
	/* vfio_set_irqs_validate_and_prepare() */
	if (hdr.argsz < minsz || hdr.index >= VFIO_PCI_NUM_IRQS || hdr.count >= UINT32_MAX - hdr.start ||
	    (hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)))
		return -EINVAL;
	if (hdr.start >= max || hdr.start + hdr.count > max)
		return -EINVAL;
	switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		size = 1;
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		size = 4;
		break;
	default:
		return -EINVAL;
	}
	uint32_t action = hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	if (size) {
		if (hdr.argsz - minsz < (uint64_t)hdr.count * size)
			return -EINVAL;
		data = malloc(hdr.count * size + 4);
		if (!data)
			return -ENOMEM;
		if (copy_from_user(c, data, arg + minsz, hdr.count * size) < 0) {
			free(data);
			return -EFAULT;
		}
	}
	/* vfio_pci_set_irqs_ioctl(): one action, or no handler (ENOTTY) */
	if (action != VFIO_IRQ_SET_ACTION_MASK && action != VFIO_IRQ_SET_ACTION_UNMASK &&
	    action != VFIO_IRQ_SET_ACTION_TRIGGER) {
		free(data);
		return -ENOTTY;
	}
	switch (hdr.index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		r = set_intx(c, d, action, hdr.start, hdr.count, hdr.flags, data);
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		r = set_msi(c, d, hdr.index, action, hdr.start, hdr.count, hdr.flags, data);
		break;
	default:
		r = action != VFIO_IRQ_SET_ACTION_TRIGGER
		            ? -ENOTTY
		            : set_single(c, hdr.index == VFIO_PCI_ERR_IRQ_INDEX ? &d->err_trigger : &d->req_trigger,
		                         hdr.count, hdr.flags, data);
	}
	free(data);
	return r;
}
