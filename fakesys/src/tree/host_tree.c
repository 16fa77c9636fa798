/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host model -> file tree, in the kernel's shapes.  Formats follow the kernel:
 * drivers/pci/pci-sysfs.c (ids "0x%04x\n", class "0x%06x\n", resource lines
 * "0x%016llx 0x%016llx 0x%016llx\n", driver_override "(null)\n" when unset),
 * drivers/pci/pci-driver.c (uevent, modalias), drivers/iommu/iommu.c
 * (iommu_groups/N/{devices,type,reserved_regions}), drivers/vfio/device_cdev.c
 * (vfio-dev/vfioN/dev, /dev/vfio/devices/vfioN).  Links are relative, computed
 * from the two paths, exactly as sysfs makes them.
 *
 * Building uses a sticky error: every helper is a no-op once one step failed,
 * and vk_host_tree_build() reports the first failure with the path it was making.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/host_tree.h>
#include <vfiokit/resolver.h>

#include "model/model_internal.h"
#include "model/pci_caps.h"
#include "tree/pci_attrs.h"
#include "tree/textfmt.h"
#include "tree/tree_parts.h"

#define VFIO_MISC_MINOR 196 /* include/linux/miscdevice.h: VFIO_MINOR */
#define MISC_MAJOR 10

struct build {
	struct vtree *t;
	const struct vk_host_model *m;
	char **dev_path;                   /* sysfs directory of each device, relative to the root */
	struct vk_vt_node *class_vfio_dev; /* sys/class/vfio-dev */
	struct vk_vt_node *class_pci_bus;  /* sys/class/pci_bus */
	struct vk_vt_node **dev_node;      /* and its node: children are made from it, never by path,
	                            * since a path walk scans the wide directories on its way */
	int rc;
	char failed_at[PATH_MAX];
};

static void note_failure(struct build *b, const char *dir, const char *name)
{
	if (b->rc == 0) {
		b->rc = -(errno ? errno : ENOMEM);
		if (snprintf(b->failed_at, sizeof(b->failed_at), "%s/%s", dir ? dir : "", name ? name : "") >=
		    (int)sizeof(b->failed_at))
			memcpy(b->failed_at + sizeof(b->failed_at) - 4, "...", 4); /* say it was cut */
	}
}

static struct vk_vt_node *mkdirs(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static struct vk_vt_node *mkdirs(struct build *b, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	struct vk_vt_node *n;

	if (b->rc)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	n = vk_vtree_mkdir_p(b->t, path);
	if (!n)
		note_failure(b, path, NULL);
	return n;
}

/* @rel below @dir, made with its parents (a relative walk: cheap from a known node). */
static struct vk_vt_node *subdir(struct build *b, struct vk_vt_node *dir, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct vk_vt_node *subdir(struct build *b, struct vk_vt_node *dir, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	struct vk_vt_node *n;

	if (b->rc || !dir)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	n = vk_vtree_mkdir_at(b->t, dir, rel);
	if (!n)
		note_failure(b, dir->name, rel);
	return n;
}

static struct vk_vt_node *file(struct build *b, struct vk_vt_node *dir, const char *name, uint32_t mode, const char *fmt,
                               ...) __attribute__((format(printf, 5, 6)));
static struct vk_vt_node *file(struct build *b, struct vk_vt_node *dir, const char *name, uint32_t mode, const char *fmt,
                               ...)
{
	char buf[4096];
	va_list ap;
	int len;
	struct vk_vt_node *n;

	if (b->rc || !dir)
		return NULL;
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		note_failure(b, dir->name, name);
		return NULL;
	}
	n = vk_vtree_add_file(b->t, dir, name, buf, (size_t)len, mode);
	if (!n)
		note_failure(b, dir->name, name);
	return n;
}

/* A file of @text as it is: file() without a format to parse. */
static struct vk_vt_node *file_text(struct build *b, struct vk_vt_node *dir, const char *name, uint32_t mode,
                                    const char *text)
{
	struct vk_vt_node *n;

	if (b->rc || !dir)
		return NULL;
	n = vk_vtree_add_file(b->t, dir, name, text, strlen(text), mode);
	if (!n)
		note_failure(b, dir->name, name);
	return n;
}

/* A file of "%u\n". */
static void file_uint(struct build *b, struct vk_vt_node *dir, const char *name, uint32_t mode, uint64_t v)
{
	char buf[32];
	struct textfmt f = TEXTFMT(buf);

	tf_udec(&f, v);
	tf_ch(&f, '\n');
	if (tf_end(&f) >= 0)
		file_text(b, dir, name, mode, buf);
}

/* A relative link in @dir (at @dir_path) to the root-relative @target. */
static void link_to(struct build *b, struct vk_vt_node *dir, const char *dir_path, const char *name, const char *target)
{
	char rel[PATH_MAX];

	if (b->rc || !dir)
		return;
	if (vk_relpath(dir_path, target, rel, sizeof(rel)) < 0) {
		errno = ENAMETOOLONG;
		note_failure(b, dir_path, name);
		return;
	}
	if (!vk_vtree_add_link(b->t, dir, name, rel))
		note_failure(b, dir_path, name);
}

/* A link in @dir (at @dir_path) to device @i's directory, named as it is. */
static void link_to_dev(struct build *b, struct vk_vt_node *dir, const char *dir_path, size_t i)
{
	char rel[PATH_MAX];

	if (b->rc || !dir)
		return;
	if (vk_relpath(dir_path, b->dev_path[i], rel, sizeof(rel)) < 0) {
		errno = ENAMETOOLONG;
		note_failure(b, dir_path, b->dev_node[i]->name);
		return;
	}
	if (!vk_vtree_add_link_as(b->t, dir, b->dev_node[i], rel))
		note_failure(b, dir_path, b->dev_node[i]->name);
}

/* link_to() of the target put together in @f (failing when it did not fit). */
static void link_made(struct build *b, struct vk_vt_node *dir, const char *dir_path, const char *name,
                      struct textfmt *f)
{
	if (tf_end(f) < 0) {
		errno = ENAMETOOLONG;
		note_failure(b, dir_path, name);
		return;
	}
	link_to(b, dir, dir_path, name, f->buf);
}

static void standin(struct build *b, struct vk_vt_node *dir, const char *name, const struct vk_dev_node_spec *spec,
                    uint32_t major, uint32_t minor)
{
	struct vk_vt_node *n;

	if (!spec->present)
		return;
	n = file(b, dir, name, spec->mode, VK_STANDIN_MAGIC " %u:%u\n", major, minor);
	if (n)
		vk_vtree_chown(n, spec->uid, spec->gid);
}

/* vfio-pci or a variant driver on vfio-pci-core (mlx5_vfio_pci, ...): both
 * register the device with vfio_pci_core_register_device(), which makes
 * vfio-dev/vfioN and the cdev. */
static bool bound_to_vfio(const struct vk_host_device *d)
{
	return vk_pci_driver_is_vfio_pci(d->driver);
}

/* The module link of a driver's directory: its module when loaded (not built in). */
static const char *module_of_driver(const struct vk_host_model *m, const char *drv)
{
	const char *mod = vk_host_driver_module(drv);

	for (size_t i = 0; mod && i < m->n_modules; i++)
		if (!strcmp(m->modules[i].name, mod) && !m->modules[i].builtin)
			return m->modules[i].name;
	return NULL;
}

/* sysfs directory of device @i, below its parent's (made before): the parent's
 * path, pciDDDD:BB when the parent is in another domain (a VMD), the address. */
static int device_path(struct build *b, size_t i)
{
	const struct vk_host_model *m = b->m;
	const struct vk_host_device *d = &m->devices[i];
	char path[PATH_MAX];
	struct textfmt f = TEXTFMT(path);
	bool root = d->parent < 0 || m->devices[d->parent].addr.domain != d->addr.domain;

	tf_str(&f, d->parent < 0 ? "sys/devices" : b->dev_path[d->parent]);
	if (root) {
		tf_str(&f, "/pci");
		tf_hex(&f, d->addr.domain, 4);
		tf_ch(&f, ':');
		tf_hex(&f, d->addr.bus, 2);
	}
	tf_ch(&f, '/');
	tf_pci_addr(&f, &d->addr);
	if (tf_end(&f) < 0)
		return -ENAMETOOLONG;
	return (b->dev_path[i] = strdup(path)) ? 0 : -ENOMEM;
}

static int device_paths(struct build *b)
{
	const struct vk_host_model *m = b->m;

	b->dev_path = calloc(m->n_devices ? m->n_devices : 1, sizeof(char *));
	b->dev_node = calloc(m->n_devices ? m->n_devices : 1, sizeof(*b->dev_node));
	if (!b->dev_path || !b->dev_node)
		return -ENOMEM;
	/* Parents may sort after children (VMD domains), so fill until stable. */
	for (size_t done = 0, pass = 0; done < m->n_devices && pass <= m->n_devices; pass++) {
		for (size_t i = 0; i < m->n_devices; i++) {
			const struct vk_host_device *d = &m->devices[i];
			int r = 0;
			if (b->dev_path[i])
				continue;
			if (d->parent >= 0 && !b->dev_path[d->parent])
				continue;
			if ((r = device_path(b, i)) < 0)
				return r;
			done++;
		}
	}
	return 0;
}

/* The directory of device @i, made under its parent's directory node. */
static struct vk_vt_node *dev_dir(struct build *b, size_t i)
{
	const struct vk_host_device *d = &b->m->devices[i];
	struct vk_vt_node *parent;
	char a[VK_PCI_ADDR_STRLEN];

	if (b->dev_node[i] || b->rc)
		return b->dev_node[i];
	if (d->parent < 0)
		parent = mkdirs(b, "sys/devices/pci%04x:%02x", d->addr.domain, d->addr.bus);
	else if (b->m->devices[d->parent].addr.domain != d->addr.domain)
		parent = subdir(b, dev_dir(b, (size_t)d->parent), "pci%04x:%02x", d->addr.domain, d->addr.bus);
	else
		parent = dev_dir(b, (size_t)d->parent);
	if (!parent)
		return NULL;
	b->dev_node[i] = vk_vtree_add_dir(b->t, parent, tf_pci_addr_str(&d->addr, a), 0755);
	if (!b->dev_node[i])
		note_failure(b, b->dev_path[i], NULL);
	return b->dev_node[i];
}

/* The attribute files of table @which in @dir (tree/pci_attrs.c). */
static void attrs_of(struct build *b, struct vk_vt_node *dir, enum tree_attr_table which, const struct vk_host_device *d)
{
	const char *failed = "";

	if (b->rc || !dir)
		return;
	int r = tree_pci_attrs(b->t, dir, which, b->m, d, &failed);
	if (r < 0) {
		errno = -r;
		note_failure(b, dir->name, failed);
	}
}

static void iommu_unit_name(const struct vk_host_model *m, unsigned unit, char *buf, size_t len)
{
	static const char *const prefix[] = {
		[VK_IOMMU_NONE] = "iommu",
		[VK_IOMMU_INTEL] = "dmar",
		[VK_IOMMU_AMD] = "ivhd",
		[VK_IOMMU_ARM_SMMU] = "smmu3.",
		[VK_IOMMU_VIRTIO] = "viommu",
	};
	struct textfmt f = {.buf = buf, .cap = len};

	tf_str(&f, prefix[m->iommu]);
	tf_udec(&f, unit);
	if (tf_end(&f) < 0 && len) /* not so: callers give 64 bytes, a name is at most 16 */
		buf[0] = '\0';
}

static unsigned iommu_unit_of(const struct vk_host_model *m, const struct vk_host_device *d)
{
	return d->numa_node > 0 ? (unsigned)d->numa_node % m->iommu_units : 0;
}

/*
 * The pci_bus device of bus @domain:@bus below @owner (at @owner_path): a PCI
 * bridge's secondary bus, or a root bus below its host bridge pciDDDD:BB.
 * drivers/pci/probe.c names it "%04x:%02x" in pcibus_class with the bridge as
 * parent, so the driver core adds the device and subsystem links and
 * /sys/class/pci_bus/DDDD:BB; pcibus_attrs[] (pci-sysfs.c) gives rescan, 0200.
 * cpuaffinity and cpulistaffinity are left out: the model has no CPUs.
 */
static void pci_bus_dev(struct build *b, struct vk_vt_node *owner, const char *owner_path, unsigned domain,
                        unsigned bus)
{
	char name[32], path[PATH_MAX];

	snprintf(name, sizeof(name), "%04x:%02x", domain, bus);
	if (snprintf(path, sizeof(path), "%s/pci_bus/%s", owner_path, name) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		note_failure(b, owner_path, "pci_bus");
		return;
	}
	struct vk_vt_node *dir = subdir(b, owner, "pci_bus/%s", name);
	file_text(b, dir, "rescan", 0200, "");
	file_text(b, dir, "uevent", 0644, "");
	link_to(b, dir, path, "device", owner_path);
	link_to(b, dir, path, "subsystem", "sys/class/pci_bus");
	link_to(b, b->class_pci_bus, "sys/class/pci_bus", name, path);
}

static void device_dir(struct build *b, size_t i)
{
	const struct vk_host_model *m = b->m;
	const struct vk_host_device *d = &m->devices[i];
	const char *path = b->dev_path[i];
	char target[PATH_MAX], name[64];
	struct vk_vt_node *dir = dev_dir(b, i);

	attrs_of(b, dir, TREE_ATTRS_DEVICE, d);
	struct vk_vt_node *power = subdir(b, dir, "power");
	file_text(b, power, "control", 0644, "on\n");
	file_text(b, power, "runtime_status", 0444, d->driver ? "active\n" : "suspended\n");

	link_to(b, dir, path, "subsystem", "sys/bus/pci");
	if (d->driver) {
		struct textfmt f = TEXTFMT(target);
		tf_str(&f, "sys/bus/pci/drivers/");
		tf_str(&f, d->driver);
		link_made(b, dir, path, "driver", &f);
	}
	if (d->iommu_group >= 0) {
		struct textfmt f = TEXTFMT(target);
		tf_str(&f, "sys/kernel/iommu_groups/");
		tf_dec(&f, d->iommu_group);
		link_made(b, dir, path, "iommu_group", &f);
	}
	if (d->iommu_group >= 0 && m->iommu != VK_IOMMU_NONE) {
		struct textfmt f = TEXTFMT(target);
		iommu_unit_name(m, iommu_unit_of(m, d), name, sizeof(name));
		tf_str(&f, "sys/devices/virtual/iommu/");
		tf_str(&f, name);
		link_made(b, dir, path, "iommu", &f);
	}
	if (tree_is_bridge(d)) {
		uint8_t secondary = vk_host_config_byte(d, 0x19);
		file_uint(b, dir, "secondary_bus_number", 0444, secondary);
		file_uint(b, dir, "subordinate_bus_number", 0444, vk_host_config_byte(d, 0x1a));
		if (secondary) /* bus 0 is never a secondary bus: a bridge with nothing behind it */
			pci_bus_dev(b, dir, path, d->addr.domain, secondary);
	}
	if (d->sriov_totalvfs) {
		for (uint32_t k = 0; k < d->n_vfs; k++) {
			snprintf(name, sizeof(name), "virtfn%u", k);
			link_to(b, dir, path, name, b->dev_path[d->vfs[k]]);
		}
	}
	if (d->physfn >= 0)
		link_to(b, dir, path, "physfn", b->dev_path[d->physfn]);
	if (bound_to_vfio(d) && d->vfio_index >= 0) {
		char vpath[PATH_MAX];
		snprintf(vpath, sizeof(vpath), "%s/vfio-dev/vfio%lld", path, (long long)d->vfio_index);
		struct vk_vt_node *v = subdir(b, dir, "vfio-dev/vfio%lld", (long long)d->vfio_index);
		bool cdev = m->vfio_device_cdev && !m->noiommu;
		if (cdev)
			file(b, v, "dev", 0444, "%u:%lld\n", m->vfio_cdev_major, (long long)d->vfio_index);
		if (cdev)
			file(b, v, "uevent", 0644, "MAJOR=%u\nMINOR=%lld\nDEVNAME=vfio/devices/vfio%lld\n",
			     m->vfio_cdev_major, (long long)d->vfio_index, (long long)d->vfio_index);
		else
			file_text(b, v, "uevent", 0644, "");
		link_to(b, v, vpath, "device", path);
		link_to(b, v, vpath, "subsystem", "sys/class/vfio-dev");
		file_text(b, subdir(b, v, "power"), "control", 0644, "auto\n");
		snprintf(name, sizeof(name), "vfio%lld", (long long)d->vfio_index);
		if (!b->class_vfio_dev)
			b->class_vfio_dev = mkdirs(b, "sys/class/vfio-dev");
		link_to(b, b->class_vfio_dev, "sys/class/vfio-dev", name, vpath);
	}
}

/* sys/devices/pciDDDD:BB for each root bus.  Root-bus devices of one
 * (domain, bus) are adjacent in address order, so comparing with the previous
 * one finds each root bus once without a lookup. */
static void root_buses(struct build *b)
{
	const struct vk_host_model *m = b->m;
	char prev[PATH_MAX] = "";

	for (size_t i = 0; i < m->n_devices; i++) {
		const struct vk_host_device *d = &m->devices[i];
		char rootpath[PATH_MAX];
		if (d->parent >= 0 && m->devices[d->parent].addr.domain == d->addr.domain)
			continue;
		snprintf(rootpath, sizeof(rootpath), "%s", b->dev_path[i]);
		*strrchr(rootpath, '/') = '\0';
		if (!strcmp(rootpath, prev) || !b->dev_node[i])
			continue;
		snprintf(prev, sizeof(prev), "%s", rootpath);
		struct vk_vt_node *root = b->dev_node[i]->parent;
		file_text(b, root, "uevent", 0644, "");
		pci_bus_dev(b, root, rootpath, d->addr.domain, d->addr.bus);
		file(b, subdir(b, root, "power"), "control", 0644, "auto\n");
	}
}

static void bus_pci(struct build *b)
{
	const struct vk_host_model *m = b->m;
	struct vk_vt_node *bus = mkdirs(b, "sys/bus/pci");
	struct vk_vt_node *devs = mkdirs(b, "sys/bus/pci/devices");
	char path[PATH_MAX], target[PATH_MAX];

	mkdirs(b, "sys/bus/pci/slots");
	attrs_of(b, bus, TREE_ATTRS_BUS, NULL);
	for (size_t i = 0; i < m->n_devices; i++)
		link_to_dev(b, devs, "sys/bus/pci/devices", i);

	/* each driver's devices as a list (in address order), found in one pass:
	 * not a pass over every device per driver */
	size_t n = m->n_devices;
	_cleanup_free_ size_t *first = malloc((m->n_drivers + 1) * sizeof(size_t));
	_cleanup_free_ size_t *next = malloc((n + 1) * sizeof(size_t));
	if (!first || !next) {
		errno = ENOMEM;
		note_failure(b, "sys/bus/pci/drivers", NULL);
		return;
	}
	model_driver_devices(m, first, next);
	for (size_t k = 0; k < m->n_drivers; k++) {
		const char *drv = m->drivers[k];
		snprintf(path, sizeof(path), "sys/bus/pci/drivers/%s", drv);
		struct vk_vt_node *dd = mkdirs(b, "%s", path);
		attrs_of(b, dd, TREE_ATTRS_DRIVER, NULL);
		const char *mod = module_of_driver(m, drv);
		if (mod) {
			snprintf(target, sizeof(target), "sys/module/%s", mod);
			link_to(b, dd, path, "module", target);
		}
		for (size_t i = first[k]; i < n; i = next[i])
			link_to_dev(b, dd, path, i);
	}
}

static void iommu_groups(struct build *b)
{
	const struct vk_host_model *m = b->m;
	char path[PATH_MAX];

	struct vk_vt_node *groups = mkdirs(b, "sys/kernel/iommu_groups");
	for (size_t g = 0; g < m->n_groups; g++) {
		const struct vk_host_group *grp = &m->groups[g];
		char id[16];
		snprintf(id, sizeof(id), "%u", grp->id);
		snprintf(path, sizeof(path), "sys/kernel/iommu_groups/%u/devices", grp->id);
		struct vk_vt_node *dir = b->rc ? NULL : vk_vtree_add_dir(b->t, groups, id, 0755);
		if (!dir && !b->rc)
			note_failure(b, "sys/kernel/iommu_groups", id);
		struct vk_vt_node *devs = subdir(b, dir, "devices");
		/* iommu_group_alloc() makes reserved_regions and type for every group;
		 * vfio_noiommu_group_alloc() (drivers/vfio/group.c) names its groups
		 * with iommu_group_set_name(), and with no default domain
		 * iommu_group_show_type() says "unknown" */
		if (m->noiommu)
			file_text(b, dir, "name", 0444, "vfio-noiommu\n");
		file(b, dir, "type", 0644, "%s\n", m->noiommu ? "unknown" : grp->type);
		file_text(b, dir, "reserved_regions", 0444,
		          m->iommu == VK_IOMMU_NONE ? "" : "0x00000000fee00000 0x00000000feefffff msi\n");
		for (size_t k = 0; k < grp->n_members; k++)
			link_to_dev(b, devs, path, grp->members[k]);
	}
}

static void iommu_class(struct build *b)
{
	const struct vk_host_model *m = b->m;
	char name[64], path[PATH_MAX - 16], dpath[PATH_MAX];

	if (m->iommu == VK_IOMMU_NONE)
		return;
	struct vk_vt_node *cls = mkdirs(b, "sys/class/iommu");
	for (unsigned u = 0; u < m->iommu_units; u++) {
		iommu_unit_name(m, u, name, sizeof(name));
		snprintf(path, sizeof(path), "sys/devices/virtual/iommu/%s", name);
		struct vk_vt_node *dir = mkdirs(b, "%s", path);
		file(b, dir, "uevent", 0644, "%s", "");
		link_to(b, cls, "sys/class/iommu", name, path);
		if (m->iommu == VK_IOMMU_INTEL) {
			struct vk_vt_node *ii = mkdirs(b, "%s/intel-iommu", path);
			/* ecap bit 3 is Interrupt Remapping support (VT-d spec, 11.4.3) */
			file(b, ii, "version", 0444, "1:0\n");
			file(b, ii, "cap", 0444, "d2008c40660462\n");
			file(b, ii, "ecap", 0444, "%s\n", m->interrupt_remapping ? "f050de" : "f050d6");
			file(b, ii, "address", 0444, "%llx\n", 0xfbffc000ull - 0x100000ull * u);
		} else if (m->iommu == VK_IOMMU_AMD) {
			struct vk_vt_node *ai = mkdirs(b, "%s/amd-iommu", path);
			file(b, ai, "cap", 0444, "0x00190040\n");
			/* the extended feature register; interrupt remapping is not a bit of it
			 * (the kernel shows it in /proc/interrupts: see proc_files.c) */
			file(b, ai, "features", 0444, "25bf732fa2295afe\n");
		}
		snprintf(dpath, sizeof(dpath), "%s/devices", path);
		struct vk_vt_node *devs = mkdirs(b, "%s", dpath);
		for (size_t i = 0; i < m->n_devices; i++) {
			const struct vk_host_device *d = &m->devices[i];
			if (d->iommu_group >= 0 && iommu_unit_of(m, d) == u)
				link_to_dev(b, devs, dpath, i);
		}
	}
}

static void modules(struct build *b)
{
	const struct vk_host_model *m = b->m;

	mkdirs(b, "sys/module");
	for (size_t i = 0; i < m->n_modules; i++) {
		const struct vk_kmodule *k = &m->modules[i];
		struct vk_vt_node *dir = mkdirs(b, "sys/module/%s", k->name);
		if (!k->builtin) {
			file(b, dir, "initstate", 0444, "live\n");
			file(b, dir, "refcnt", 0444, "1\n");
		}
		if (k->n_params) {
			struct vk_vt_node *p = mkdirs(b, "sys/module/%s/parameters", k->name);
			for (size_t j = 0; j < k->n_params; j++)
				file(b, p, k->param_names[j], 0644, "%s\n", k->param_values[j]);
		}
	}
}

/* A class device: sys/devices/virtual/<cls>/<name>/dev plus the class link;
 * @vdir and @cdir are those two class directories. */
static void class_dev(struct build *b, struct vk_vt_node *vdir, struct vk_vt_node *cdir, const char *cls, const char *name,
                      const char *devname, uint32_t major, uint32_t minor)
{
	char path[PATH_MAX], cpath[PATH_MAX];
	struct vk_vt_node *d = b->rc ? NULL : vk_vtree_add_dir(b->t, vdir, name, 0755);

	if (!d && !b->rc)
		note_failure(b, cls, name);
	snprintf(path, sizeof(path), "sys/devices/virtual/%s/%s", cls, name);
	snprintf(cpath, sizeof(cpath), "sys/class/%s", cls);
	file(b, d, "dev", 0444, "%u:%u\n", major, minor);
	file(b, d, "uevent", 0644, "MAJOR=%u\nMINOR=%u\nDEVNAME=%s\n", major, minor, devname);
	link_to(b, cdir, cpath, name, path);
}

static void dev_nodes(struct build *b)
{
	const struct vk_host_model *m = b->m;
	char name[64];
	bool vfio = vk_host_model_has_vfio(m);

	struct vk_vt_node *dev = mkdirs(b, "dev");
	struct vk_vt_node *vmisc = NULL, *cmisc = NULL;
	if (m->iommufd || vfio) {
		vmisc = mkdirs(b, "sys/devices/virtual/misc");
		cmisc = mkdirs(b, "sys/class/misc");
	}
	if (m->iommufd) {
		standin(b, dev, "iommu", &m->dev_iommu, MISC_MAJOR, m->iommufd_minor);
		class_dev(b, vmisc, cmisc, "misc", "iommu", "iommu", MISC_MAJOR, m->iommufd_minor);
	}
	if (!vfio)
		return;
	struct vk_vt_node *dv = mkdirs(b, "dev/vfio");
	struct vk_vt_node *vvfio = mkdirs(b, "sys/devices/virtual/vfio"), *cvfio = mkdirs(b, "sys/class/vfio");
	standin(b, dv, "vfio", &m->dev_vfio, MISC_MAJOR, VFIO_MISC_MINOR);
	class_dev(b, vmisc, cmisc, "misc", "vfio", "vfio/vfio", MISC_MAJOR, VFIO_MISC_MINOR);
	for (size_t g = 0; g < m->n_groups; g++) {
		const struct vk_host_group *grp = &m->groups[g];
		if (grp->vfio_minor < 0) /* vfio does not hold the group */
			continue;
		uint32_t minor = (uint32_t)grp->vfio_minor;
		snprintf(name, sizeof(name), m->noiommu ? "noiommu-%u" : "%u", grp->id);
		standin(b, dv, name, &grp->node, m->vfio_group_major, minor);
		char devname[80];
		snprintf(devname, sizeof(devname), "vfio/%s", name);
		class_dev(b, vvfio, cvfio, "vfio", name, devname, m->vfio_group_major, minor);
	}
	if (!m->vfio_device_cdev || m->noiommu)
		return;
	struct vk_vt_node *dd = mkdirs(b, "dev/vfio/devices");
	for (size_t i = 0; i < m->n_devices; i++) {
		const struct vk_host_device *d = &m->devices[i];
		if (!bound_to_vfio(d) || d->vfio_index < 0)
			continue;
		snprintf(name, sizeof(name), "vfio%lld", (long long)d->vfio_index);
		standin(b, dd, name, &d->vfio_node, m->vfio_cdev_major, (uint32_t)d->vfio_index);
	}
}

/* The files of their own (tree_parts.h): CPUs, nodes, ACPI tables, network
 * interfaces, /proc, udev's database, each reading the devices made above. */
static void build_parts(struct build *b, struct vk_vt_node *proc)
{
	struct tree_parts p = {.t = b->t, .m = b->m, .dev_path = b->dev_path, .dev_node = b->dev_node};

	tree_cpus(&p);
	tree_acpi(&p);
	tree_netifs(&p);
	tree_proc(&p, proc);
	tree_udev_db(&p);
	if (p.rc) {
		b->rc = p.rc;
		snprintf(b->failed_at, sizeof(b->failed_at), "%s", p.failed_at);
	}
}

int vk_host_tree_build(const struct vk_host_model *m, struct vtree **out, struct vk_error *err)
{
	struct build b = {.m = m};
	int r;

	*out = NULL;
	b.t = vk_vtree_new();
	if (!b.t)
		return vk_error_set(err, ENOMEM, "out of memory building the tree");
	r = device_paths(&b);
	if (r < 0) {
		b.rc = r;
		snprintf(b.failed_at, sizeof(b.failed_at), "device paths");
		goto out;
	}
	if (vk_host_model_has_vfio(m))
		b.class_vfio_dev = mkdirs(&b, "sys/class/vfio-dev");
	b.class_pci_bus = mkdirs(&b, "sys/class/pci_bus"); /* pcibus_class, registered at boot */
	for (size_t i = 0; i < m->n_devices && !b.rc; i++)
		device_dir(&b, i);
	root_buses(&b);
	bus_pci(&b);
	iommu_groups(&b);
	iommu_class(&b);
	modules(&b);
	dev_nodes(&b);
	struct vk_vt_node *proc = mkdirs(&b, "proc");
	file(&b, proc, "cmdline", 0444, "%s\n", m->cmdline);
	struct vk_vt_node *sk = mkdirs(&b, "proc/sys/kernel");
	file(&b, sk, "osrelease", 0444, "%s\n", m->kernel_release);
	if (!b.rc)
		build_parts(&b, proc);
	if (!b.rc) {
		/* listed and sized as sysfs and procfs are (the rest is tmpfs: by name) */
		vk_vtree_set_kernfs(mkdirs(&b, "sys"), VK_VT_ORDER_KERNFS);
		vk_vtree_set_kernfs(proc, VK_VT_ORDER_PROCFS);
		r = vk_vtree_seal(b.t);
		if (r < 0) {
			b.rc = r;
			snprintf(b.failed_at, sizeof(b.failed_at), "a directory (a name made twice)");
		}
	}
out:
	for (size_t i = 0; b.dev_path && i < m->n_devices; i++)
		free(b.dev_path[i]);
	free(b.dev_path);
	free(b.dev_node);
	if (b.rc) {
		vk_vtree_free(b.t);
		return vk_error_set(err, b.rc, "%s: building the fake tree failed at %s: %s", m->source ? m->source : "",
		                    b.failed_at, strerror(-b.rc));
	}
	*out = b.t;
	return 0;
}
