/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VFIO device on vfio-pci: its open and close (drivers/vfio/vfio_main.c
 * vfio_df_open()/vfio_df_close(), vfio_pci_core_enable()/disable()), its
 * ioctls (drivers/vfio/pci/vfio_pci_core.c vfio_pci_core_ioctl(),
 * vfio_pci_intrs.c, vfio_main.c vfio_ioctl_device_feature()) and its regions
 * (vfio_pci_rw(): config space in vfio_config.c, BARs read zeros and count
 * writes, no ROM content, VGA ranges).  No region offers mmap, so a user such
 * as QEMU goes through pread/pwrite, which the emulation sees.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "emul_internal.h"

#define VFIO_PCI_IOEVENTFD_MAX 1000

struct emul_device *device_get(struct emul *e, const char *bdf)
{
	for (struct emul_device *d = e->devices; d; d = d->next)
		if (!strcmp(d->bdf, bdf))
			return d;
	struct emul_device *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	d->irq_type = IRQ_NONE_TYPE;
	d->intx_trigger = d->err_trigger = d->req_trigger = d->pm_wake = -1;
	/* vfio_pci_vf_init(): a PF's token starts as a random UUID */
	if (getrandom(d->vf_token, sizeof(d->vf_token), GRND_NONBLOCK) != sizeof(d->vf_token))
		for (size_t i = 0; i < sizeof(d->vf_token); i++)
			d->vf_token[i] = (uint8_t)(rand() >> 8);
	d->next = e->devices;
	e->devices = d;
	return d;
}

/* vfio_pci_set_irqs_ioctl(.. DATA_NONE|ACTION_TRIGGER, index, 0, 0): everything off */
void device_irqs_off(struct emul_device *d)
{
	put_handle(&d->intx_trigger);
	msi_off(d);
	d->irq_type = IRQ_NONE_TYPE;
	d->intx_masked = false;
	put_handle(&d->err_trigger);
	put_handle(&d->req_trigger);
	put_handle(&d->pm_wake);
	d->low_power = false;
	while (d->ioeventfds) {
		struct emul_ioeventfd *io = d->ioeventfds;
		d->ioeventfds = io->next;
		put_handle(&io->handle);
		free(io);
	}
	d->nioeventfds = 0;
}

/* ---- open and close ------------------------------------------------------------------------- */

/* vfio_df_open() and the first open's vfio_df_device_first_open() + vfio_pci_core_enable() */
int device_open(struct emul_call *c, struct emul_devfile *df)
{
	struct emul_device *d = df->dev;
	uint8_t cfg[4096];
	int r;

	/* Only the group path allows the device to be opened multiple times. */
	if (d->open_count && !df->group_file)
		return -EINVAL;
	if (d->open_count++)
		return 0;
	if (df->group_file) {
		struct emul_group *g = df->group_file->u.g;
		if (g->container) {
			/* vfio_group_use_container() */
			const struct emul_creds *cr;
			r = -EINVAL;
			if (!g->container->iommu || !g->container_users)
				goto fail;
			r = -EPERM;
			if (g->noiommu && (call_creds(c, &cr) < 0 || !cr->cap_sys_rawio))
				goto fail;
			g->container_users++;
		} else if (g->iommufd) {
			/* vfio_iommufd_bind(): bind and attach to the compat IOAS */
			uint32_t ioas;
			r = iommufd_bind_device(c, g->iommufd, d, &df->devid);
			if (r < 0)
				goto fail;
			r = iommufd_compat_ioas(c, g->iommufd, &ioas);
			if (r == 0)
				r = iommufd_attach(c, g->iommufd, df->devid, &ioas);
			if (r < 0) {
				iommufd_unbind_device(c, g->iommufd, df->devid);
				goto fail;
			}
			d->ictx = g->iommufd;
			d->idev_id = df->devid;
		} else {
			r = -EINVAL;
			goto fail;
		}
	} else if (df->ictx) {
		/* vfio_df_iommufd_bind() -> vfio_iommufd_physical_bind() */
		r = iommufd_bind_device(c, df->ictx, d, &df->devid);
		if (r < 0)
			goto fail;
		d->ictx = df->ictx;
		d->idev_id = df->devid;
	}
	/* vfio_pci_core_enable(): a fresh virtual config space, a reset attempt */
	device_irqs_off(d);
	r = config_init(c, d);
	if (r < 0) {
		device_close(c, df);
		return r;
	}
	if (config_phys(c, d, cfg, sizeof(cfg)) == 0 && device_reset_works(c, d, cfg)) {
		d->reset_works = true;
		d->resets++;
	} else {
		d->reset_works = false;
	}
	return 0;
fail:
	d->open_count--;
	return r;
}

/* vfio_df_close(): the last close disables the device and gives the IOMMU back */
void device_close(struct emul_call *c, struct emul_devfile *df)
{
	struct emul_device *d = df->dev;

	if (d->open_count && !--d->open_count) {
		/* vfio_pci_core_disable(): interrupts off, a reset when one works */
		device_irqs_off(d);
		if (d->reset_works)
			d->resets++;
		memset(d->physw_mask, 0, sizeof(d->physw_mask));
		if (df->group_file && df->group_file->u.g->container) {
			df->group_file->u.g->container_users--;
		} else if (d->ictx) {
			iommufd_unbind_device(c, d->ictx, d->idev_id);
			d->ictx = NULL;
			d->idev_id = 0;
		}
	}
	if (df->group_file) {
		struct emul_file *gf = df->group_file;
		df->group_file = NULL;
		emul_file_put(c->e, gf);
	}
}

/* ---- matching a name (VFIO_GROUP_GET_DEVICE_FD) ----------------------------------------- */

static int parse_uuid(const char *s, uint8_t out[16])
{
	static const int pos[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};

	if (s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		unsigned v;
		char hex[3] = {s[pos[i]], s[pos[i] + 1], 0};
		char *end;
		v = (unsigned)strtoul(hex, &end, 16);
		if (*end || !hex[0] || !hex[1])
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* The VFs of PF @pf that are open (vf_token->users). */
static unsigned pf_vf_users(struct emul_call *c, const char *pf)
{
	unsigned users = 0;

	for (struct emul_device *d = c->e->devices; d; d = d->next) {
		char phys[32];
		if (d->open_count && host_dev_physfn(c->e, d->bdf, phys, sizeof(phys)) == 0 && !strcmp(phys, pf))
			users++;
	}
	return users;
}

/* vfio_pci_core_match() and vfio_pci_validate_vf_token() */
int device_match_name(struct emul_call *c, struct emul_device *d, const char *buf)
{
	size_t len = strlen(d->bdf);
	bool have_token = false;
	uint8_t uuid[16];
	char drv[64], pf[32];

	if (strncmp(d->bdf, buf, len))
		return 0;
	if (strlen(buf) > len) {
		buf += len;
		if (*buf != ' ')
			return 0; /* No match: non-whitespace after name */
		while (*buf) {
			if (*buf == ' ') {
				buf++;
				continue;
			}
			if (!have_token && !strncmp(buf, "vf_token=", 9)) {
				if (strlen(buf) < 9 + 36 || parse_uuid(buf + 9, uuid) < 0)
					return -EINVAL;
				have_token = true;
				buf += 9 + 36;
			} else {
				return -EINVAL; /* Unknown/duplicate option */
			}
		}
	}
	if (host_dev_physfn(c->e, d->bdf, pf, sizeof(pf)) == 0) {
		bool pf_vfio = host_dev_driver(c->e, pf, drv, sizeof(drv)) == 0 && host_driver_is_vfio(drv);
		if (!pf_vfio)
			return have_token ? -EINVAL : 1; /* "VF token incorrectly provided, PF not bound to vfio-pci" */
		if (!have_token)
			return -EACCES; /* "VF token required to access device" */
		struct emul_device *p = device_get(c->e, pf);
		if (!p)
			return -ENOMEM;
		return memcmp(p->vf_token, uuid, 16) ? -EACCES : 1;
	}
	if (host_dev_is_pf(c->e, d->bdf)) {
		if (pf_vf_users(c, d->bdf)) {
			if (!have_token || memcmp(d->vf_token, uuid, 16))
				return -EACCES;
		} else if (have_token) {
			memcpy(d->vf_token, uuid, 16);
		}
		return 1;
	}
	return have_token ? -EINVAL : 1; /* "VF token incorrectly provided, not a PF or VF" */
}

/* ---- the facts behind the ioctls ----------------------------------------------------------- */

static bool has_vga(struct emul_call *c, const struct emul_device *d)
{
	char rel[96], buf[32];

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/class", d->bdf);
	return host_read(c->e, rel, buf, sizeof(buf)) > 0 && (strtoul(buf, NULL, 16) >> 8) == 0x0300;
}

static uint64_t bar_len(const struct emul_resource *r)
{
	return r->end ? r->end - r->start + 1 : 0;
}

/* ---- ioctls -------------------------------------------------------------------------------------- */

static long get_info(struct emul_call *c, struct emul_device *d, uint64_t arg)
{
	struct vfio_device_info info;
	size_t minsz = offsetof(struct vfio_device_info, num_irqs) + sizeof(info.num_irqs);
	/* For backward compatibility, cannot require this */
	size_t capsz = offsetof(struct vfio_iommu_type1_info, cap_offset) + sizeof(uint32_t);

	memset(&info, 0, sizeof(info));
	if (copy_from_user(c, &info, arg, minsz) < 0)
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	if (info.argsz >= capsz) {
		minsz = capsz;
		info.cap_offset = 0;
	}
	info.flags = VFIO_DEVICE_FLAGS_PCI;
	if (d->reset_works)
		info.flags |= VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return copy_to_user(c, arg, &info, minsz) < 0 ? -EFAULT : 0;
}

static long get_region_info(struct emul_call *c, struct emul_device *d, uint64_t arg)
{
	struct vfio_region_info info;
	size_t minsz = offsetof(struct vfio_region_info, offset) + sizeof(info.offset);
	struct emul_resource res[7];

	if (copy_from_user(c, &info, arg, minsz) < 0)
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	host_dev_resources(c->e, d->bdf, res, 7);
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.offset = VFIO_PCI_INDEX_TO_OFFSET(info.index);
		info.size = d->cfg_size;
		info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		info.offset = VFIO_PCI_INDEX_TO_OFFSET(info.index);
		info.size = bar_len(&res[info.index]);
		/* readable and writable; mmap is not offered, so accesses come as pread/pwrite */
		info.flags = info.size ? VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE : 0;
		break;
	case VFIO_PCI_ROM_REGION_INDEX:
		/* Report the BAR size, not the ROM size; but pci_map_rom() finds no
		 * ROM image in a fake device: size 0 */
		info.offset = VFIO_PCI_INDEX_TO_OFFSET(info.index);
		info.flags = 0;
		info.size = 0;
		break;
	case VFIO_PCI_VGA_REGION_INDEX:
		if (!has_vga(c, d))
			return -EINVAL;
		info.offset = VFIO_PCI_INDEX_TO_OFFSET(info.index);
		info.size = 0xc0000;
		info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		break;
	default:
		return -EINVAL; /* no device-specific regions */
	}
	return copy_to_user(c, arg, &info, minsz) < 0 ? -EFAULT : 0;
}

static long get_irq_info(struct emul_call *c, struct emul_device *d, uint64_t arg)
{
	struct vfio_irq_info info;
	size_t minsz = offsetof(struct vfio_irq_info, count) + sizeof(info.count);
	uint8_t cfg[4096];

	if (copy_from_user(c, &info, arg, minsz) < 0)
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (config_phys(c, d, cfg, sizeof(cfg)) < 0)
		return -EIO;
	if (info.index == VFIO_PCI_ERR_IRQ_INDEX && !config_is_pcie(cfg))
		return -EINVAL;
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	info.count = irq_count(c, d, info.index, cfg);
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	return copy_to_user(c, arg, &info, minsz) < 0 ? -EFAULT : 0;
}

static long reset(struct emul_device *d)
{
	if (!d->reset_works)
		return -EINVAL;
	d->low_power = false; /* vfio_pci_set_power_state(vdev, PCI_D0) */
	d->resets++;
	return 0;
}

/* The PCI devices a bus reset of @d touches (vfio_pci_for_each_slot_or_bus()):
 * -ENODEV when there is no bus reset (a root bus). */
static int reset_domain(struct emul_call *c, struct emul_device *d, char (*peers)[20], int max)
{
	bool root;
	int n = host_dev_bus_peers(c->e, d->bdf, peers, max, &root);

	if (n < 0)
		return n;
	return root ? -ENODEV : n;
}

/* vfio_iommufd_get_dev_id(): the devid in @ictx, OWNED (0) when the group is
 * owned there, NOT_OWNED (-1) else */
static int32_t devid_in(struct emul_call *c, const char *bdf, struct emul_ictx *ictx)
{
	char drv[64];
	if (host_dev_driver(c->e, bdf, drv, sizeof(drv)) < 0 || !host_driver_is_vfio(drv))
		return VFIO_PCI_DEVID_NOT_OWNED;
	struct emul_device *p = device_get(c->e, bdf);
	if (p && p->ictx == ictx && p->idev_id)
		return (int32_t)p->idev_id;
	long g = host_dev_group(c->e, bdf);
	for (struct emul_device *o = c->e->devices; o; o = o->next)
		if (o->ictx == ictx && o->idev_id && host_dev_group(c->e, o->bdf) == g)
			return VFIO_PCI_DEVID_OWNED;
	return VFIO_PCI_DEVID_NOT_OWNED;
}

static long hot_reset_info(struct emul_call *c, struct emul_file *f, uint64_t arg)
{
	struct emul_device *d = f->u.df->dev;
	struct vfio_pci_hot_reset_info hdr;
	size_t minsz = offsetof(struct vfio_pci_hot_reset_info, count) + sizeof(hdr.count);
	char peers[EMUL_MAX_GROUP_DEVS][20];
	struct vfio_pci_dependent_device devs[EMUL_MAX_GROUP_DEVS];
	bool cdev = f->kind == EMUL_CDEV;
	long ret = 0;

	if (copy_from_user(c, &hdr, arg, minsz) < 0)
		return -EFAULT;
	if (hdr.argsz < minsz)
		return -EINVAL;
	hdr.flags = 0;
	int n = reset_domain(c, d, peers, EMUL_MAX_GROUP_DEVS);
	if (n < 0)
		return n;
	uint32_t flags = cdev ? VFIO_PCI_HOT_RESET_FLAG_DEV_ID | VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED : 0;
	for (int i = 0; i < n; i++) {
		unsigned dom, bus, slot, fn;
		if (sscanf(peers[i], "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
			return -EINVAL;
		devs[i].segment = (uint16_t)dom;
		devs[i].bus = (uint8_t)bus;
		devs[i].devfn = (uint8_t)(slot << 3 | fn);
		if (cdev) {
			int32_t id = devid_in(c, peers[i], f->u.df->ictx);
			devs[i].group_id = (uint32_t)id;
			if (id == VFIO_PCI_DEVID_NOT_OWNED)
				flags &= ~VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
		} else {
			long g = host_dev_group(c->e, peers[i]);
			if (g < 0)
				return -EPERM; /* Cannot reset non-isolated devices */
			devs[i].group_id = (uint32_t)g;
		}
	}
	if (hdr.argsz < sizeof(hdr) + (size_t)n * sizeof(devs[0])) {
		ret = -ENOSPC;
		hdr.count = (uint32_t)n;
	} else {
		hdr.count = (uint32_t)n;
		hdr.flags = flags;
	}
	if (copy_to_user(c, arg, &hdr, minsz) < 0)
		return -EFAULT;
	if (!ret && copy_to_user(c, arg + sizeof(hdr), devs, sizeof(devs[0]) * (size_t)n) < 0)
		return -EFAULT;
	return ret;
}

static long pci_hot_reset(struct emul_call *c, struct emul_file *f, uint64_t arg)
{
	struct emul_device *d = f->u.df->dev;
	struct vfio_pci_hot_reset hdr;
	size_t minsz = offsetof(struct vfio_pci_hot_reset, count) + sizeof(hdr.count);
	char peers[EMUL_MAX_GROUP_DEVS][20], drv[64];
	long groups[EMUL_MAX_GROUP_DEVS];
	bool cdev = f->kind == EMUL_CDEV;

	if (copy_from_user(c, &hdr, arg, minsz) < 0)
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.flags)
		return -EINVAL;
	/* zero-length array is only for cdev opened devices */
	if (!!hdr.count == cdev)
		return -EINVAL;
	int n = reset_domain(c, d, peers, EMUL_MAX_GROUP_DEVS);
	if (n < 0)
		return n;
	if (hdr.count > (uint32_t)n)
		return -EINVAL;
	for (uint32_t i = 0; i < hdr.count; i++) {
		int32_t fd;
		struct emul_file *gf = NULL;
		if (copy_from_user(c, &fd, arg + sizeof(hdr) + 4 * i, sizeof(fd)) < 0)
			return -EFAULT;
		int r = c->env && c->env->get_file ? c->env->get_file(c->env->ctx, fd, &gf) : -EBADF;
		if (r < 0)
			return r;
		bool is_group = gf && gf->kind == EMUL_GROUP;
		groups[i] = is_group ? gf->u.g->id : -1;
		if (gf)
			emul_file_put(c->e, gf);
		if (!is_group)
			return -EINVAL;
	}
	/* vfio_pci_dev_set_resettable(): every function of the bus on vfio-pci */
	for (int i = 0; i < n; i++)
		if (host_dev_driver(c->e, peers[i], drv, sizeof(drv)) < 0 || !host_driver_is_vfio(drv))
			return -EINVAL;
	/* every one owned: in the groups given, or in the caller's iommufd */
	for (int i = 0; i < n; i++) {
		bool owned = false;
		if (cdev) {
			owned = devid_in(c, peers[i], f->u.df->ictx) != VFIO_PCI_DEVID_NOT_OWNED;
		} else {
			long g = host_dev_group(c->e, peers[i]);
			for (uint32_t j = 0; j < hdr.count; j++)
				owned |= groups[j] == g;
		}
		if (!owned)
			return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		struct emul_device *p = device_get(c->e, peers[i]);
		if (p)
			p->resets++;
	}
	return 0;
}

static bool msix_table(struct emul_call *c, struct emul_device *d, unsigned *bar, uint64_t *start, uint64_t *end);

static long ioeventfd(struct emul_call *c, struct emul_device *d, uint64_t arg)
{
	struct vfio_device_ioeventfd io;
	size_t minsz = offsetof(struct vfio_device_ioeventfd, fd) + sizeof(io.fd);
	struct emul_resource res[7];

	if (copy_from_user(c, &io, arg, minsz) < 0)
		return -EFAULT;
	if (io.argsz < minsz || io.flags & ~VFIO_DEVICE_IOEVENTFD_SIZE_MASK)
		return -EINVAL;
	unsigned count = io.flags & VFIO_DEVICE_IOEVENTFD_SIZE_MASK;
	if (__builtin_popcount(count) != 1 || io.fd < -1)
		return -EINVAL;
	/* vfio_pci_ioeventfd(): only BARs */
	uint64_t bar = VFIO_PCI_OFFSET_TO_INDEX(io.offset), pos = io.offset & VFIO_PCI_OFFSET_MASK;
	if (bar > VFIO_PCI_BAR5_REGION_INDEX)
		return -EINVAL;
	host_dev_resources(c->e, d->bdf, res, 7);
	if (pos + count > bar_len(&res[bar]))
		return -EINVAL;
	/* Disallow ioeventfds working around MSI-X table writes */
	unsigned xbar;
	uint64_t xs, xe;
	if (msix_table(c, d, &xbar, &xs, &xe) && xbar == bar && !(pos + count <= xs || pos >= xe))
		return -EINVAL;
	for (struct emul_ioeventfd **p = &d->ioeventfds; *p; p = &(*p)->next) {
		struct emul_ioeventfd *e = *p;
		if (e->pos == pos && e->bar == bar && e->data == io.data && e->count == count) {
			if (io.fd != -1)
				return -EEXIST;
			*p = e->next;
			put_handle(&e->handle);
			free(e);
			d->nioeventfds--;
			return 0;
		}
	}
	if (io.fd < 0)
		return -ENODEV;
	if (d->nioeventfds >= VFIO_PCI_IOEVENTFD_MAX)
		return -ENOSPC;
	struct emul_ioeventfd *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	int r = get_trigger(c, io.fd, &e->handle);
	if (r < 0) {
		free(e);
		return r;
	}
	e->bar = (unsigned)bar;
	e->pos = pos;
	e->data = io.data;
	e->count = count;
	e->next = d->ioeventfds;
	d->ioeventfds = e;
	d->nioeventfds++;
	return 0;
}

/* vfio_check_feature() */
static int check_feature(uint32_t flags, size_t argsz, uint32_t supported, size_t minsz)
{
	if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) & ~supported)
		return -EINVAL;
	if (flags & VFIO_DEVICE_FEATURE_PROBE)
		return 0;
	/* Without PROBE one of GET or SET must be requested */
	if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)))
		return -EINVAL;
	if (argsz < minsz)
		return -EINVAL;
	return 1;
}

/* vfio_ioctl_device_feature() with vfio_pci_core_ioctl_feature() behind it: a
 * device without migration or DMA logging (ENOTTY), with runtime low power
 * and, on an SR-IOV PF, the VF token */
static long feature(struct emul_call *c, struct emul_device *d, uint64_t arg)
{
	struct vfio_device_feature ft;
	size_t minsz = offsetof(struct vfio_device_feature, flags) + sizeof(ft.flags);
	int r;

	if (copy_from_user(c, &ft, arg, minsz) < 0)
		return -EFAULT;
	if (ft.argsz < minsz)
		return -EINVAL;
	if (ft.flags & ~(VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_GET |
	                 VFIO_DEVICE_FEATURE_PROBE))
		return -EINVAL;
	/* GET & SET are mutually exclusive except with PROBE */
	if (!(ft.flags & VFIO_DEVICE_FEATURE_PROBE) && (ft.flags & VFIO_DEVICE_FEATURE_SET) &&
	    (ft.flags & VFIO_DEVICE_FEATURE_GET))
		return -EINVAL;
	size_t argsz = ft.argsz - minsz;
	uint64_t data = arg + minsz;
	switch (ft.flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_MIGRATION:
	case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
	case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
		return -ENOTTY; /* no mig_ops, no log_ops */
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
		if ((r = check_feature(ft.flags, argsz, VFIO_DEVICE_FEATURE_SET, 0)) != 1)
			return r;
		if (d->low_power)
			return -EINVAL;
		d->low_power = true;
		return 0;
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP: {
		struct vfio_device_low_power_entry_with_wakeup entry;
		int h;
		if ((r = check_feature(ft.flags, argsz, VFIO_DEVICE_FEATURE_SET, sizeof(entry))) != 1)
			return r;
		if (copy_from_user(c, &entry, data, sizeof(entry)) < 0)
			return -EFAULT;
		if (entry.wakeup_eventfd < 0)
			return -EINVAL;
		if ((r = get_trigger(c, entry.wakeup_eventfd, &h)) < 0)
			return r;
		if (d->low_power) {
			put_handle(&h);
			return -EINVAL;
		}
		d->low_power = true;
		d->pm_wake = h;
		return 0;
	}
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
		if ((r = check_feature(ft.flags, argsz, VFIO_DEVICE_FEATURE_SET, 0)) != 1)
			return r;
		d->low_power = false;
		put_handle(&d->pm_wake);
		return 0;
	case VFIO_DEVICE_FEATURE_PCI_VF_TOKEN: {
		uint8_t uuid[16];
		if (!host_dev_is_pf(c->e, d->bdf))
			return -ENOTTY;
		/* no GET: it could expose the previous user's token */
		if ((r = check_feature(ft.flags, argsz, VFIO_DEVICE_FEATURE_SET, sizeof(uuid))) != 1)
			return r;
		if (copy_from_user(c, uuid, data, sizeof(uuid)) < 0)
			return -EFAULT;
		memcpy(d->vf_token, uuid, sizeof(uuid));
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

long device_ioctl(struct emul_call *c, struct emul_file *f, unsigned int cmd, uint64_t arg)
{
	struct emul_device *d = f->u.df->dev;
	char drv[64];

	/* an unbound device's registration is gone: the kernel's unbind would have
	 * waited for this file to be closed (vfio_unregister_group_dev()) */
	if (host_dev_driver(c->e, d->bdf, drv, sizeof(drv)) < 0 || !host_driver_is_vfio(drv))
		return -ENODEV;
	switch (cmd) {
	case VFIO_DEVICE_FEATURE:
		return feature(c, d, arg);
	case VFIO_DEVICE_GET_INFO:
		return get_info(c, d, arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return get_irq_info(c, d, arg);
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		return hot_reset_info(c, f, arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return get_region_info(c, d, arg);
	case VFIO_DEVICE_IOEVENTFD:
		return ioeventfd(c, d, arg);
	case VFIO_DEVICE_PCI_HOT_RESET:
		return pci_hot_reset(c, f, arg);
	case VFIO_DEVICE_RESET:
		return reset(d);
	case VFIO_DEVICE_SET_IRQS:
		return device_set_irqs(c, d, arg);
	default:
		return -ENOTTY;
	}
}

/* ---- regions ---------------------------------------------------------------------------------- */

/* The MSI-X table's place (vfio_pci_core_enable(): msix_bar, msix_offset,
 * msix_size): no user access reaches it. */
static bool msix_table(struct emul_call *c, struct emul_device *d, unsigned *bar, uint64_t *start, uint64_t *end)
{
	uint8_t cfg[256];

	if (config_phys(c, d, cfg, sizeof(cfg)) < 0)
		return false;
	uint8_t pos = config_find_cap(cfg, PCI_CAP_ID_MSIX);
	if (!pos)
		return false;
	uint32_t table = (uint32_t)cfg[pos + 4] | (uint32_t)cfg[pos + 5] << 8 | (uint32_t)cfg[pos + 6] << 16 |
	                 (uint32_t)cfg[pos + 7] << 24;
	uint16_t flags = (uint16_t)(cfg[pos + PCI_MSIX_FLAGS] | cfg[pos + PCI_MSIX_FLAGS + 1] << 8);
	*bar = table & PCI_MSIX_TABLE_BIR;
	*start = table & PCI_MSIX_TABLE_OFFSET;
	*end = *start + ((flags & PCI_MSIX_FLAGS_QSIZE) + 1u) * PCI_MSIX_ENTRY_SIZE;
	return true;
}

/* vfio_pci_bar_rw(): zeros read, writes counted (and the last kept); the
 * MSI-X table reads 0xff and drops writes (vfio_pci_core_do_io_rw()) */
static ssize_t bar_rw(struct emul_call *c, struct emul_device *d, unsigned bar, uint8_t *buf, size_t count,
                      uint64_t pos, bool write)
{
	struct emul_resource res[7];
	uint64_t xs = 0, xe = 0;
	unsigned xbar;

	host_dev_resources(c->e, d->bdf, res, 7);
	if (!res[bar].start)
		return -EINVAL;
	uint64_t end = bar_len(&res[bar]);
	if (pos >= end)
		return -EINVAL;
	if (count > end - pos)
		count = (size_t)(end - pos);
	/* a memory BAR with memory decode off: -EIO */
	bool io = res[bar].flags & 0x100;
	if (!io && !host_dev_is_vf(c->e, d->bdf) && !(d->vconfig[PCI_COMMAND] & PCI_COMMAND_MEMORY))
		return -EIO;
	if (!msix_table(c, d, &xbar, &xs, &xe) || xbar != bar)
		xs = xe = 0;
	bool reached = false;
	for (size_t i = 0; i < count; i++) {
		bool excluded = pos + i >= xs && pos + i < xe;
		if (!write)
			buf[i] = excluded ? 0xff : 0;
		reached |= !excluded;
	}
	if (write && reached) {
		uint64_t v = 0;
		memcpy(&v, buf, count < 8 ? count : 8);
		d->bar_writes++;
		d->last_bar_write = (struct emul_bar_write){bar, pos, v, (unsigned)count};
	}
	return (ssize_t)count;
}

/* vfio_pci_vga_rw() */
static ssize_t vga_rw(struct emul_call *c, struct emul_device *d, uint8_t *buf, size_t count, uint64_t pos,
                      bool write)
{
	uint64_t end;

	if (!has_vga(c, d))
		return -EINVAL;
	if (pos > 0xbffff)
		return -EINVAL;
	if (pos >= 0xa0000)
		end = 0xc0000;
	else if (pos >= 0x3b0 && pos <= 0x3bb)
		end = 0x3bc;
	else if (pos >= 0x3c0 && pos <= 0x3df)
		end = 0x3e0;
	else
		return -EINVAL;
	if (count > end - pos)
		count = (size_t)(end - pos);
	if (!write)
		memset(buf, 0xff, count); /* nothing decodes legacy VGA here */
	return (ssize_t)count;
}

/* vfio_pci_rw() */
ssize_t device_rw(struct emul_call *c, struct emul_device *d, void *buf, size_t count, uint64_t pos, bool write)
{
	unsigned index = (unsigned)VFIO_PCI_OFFSET_TO_INDEX(pos);
	uint64_t off = pos & VFIO_PCI_OFFSET_MASK;
	char drv[64];

	if (index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	if (host_dev_driver(c->e, d->bdf, drv, sizeof(drv)) < 0 || !host_driver_is_vfio(drv))
		return -ENODEV;
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		return config_rw(c, d, buf, count, off, write);
	case VFIO_PCI_ROM_REGION_INDEX:
		return -EINVAL; /* a write always; a read finds no ROM */
	case VFIO_PCI_VGA_REGION_INDEX:
		return vga_rw(c, d, buf, count, off, write);
	default:
		return bar_rw(c, d, index, buf, count, off, write);
	}
}
