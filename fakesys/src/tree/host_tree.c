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
 * and host_tree_build() reports the first failure with the path it was making.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/host_tree.h>
#include <vfiokit/resolver.h>

#define VFIO_MISC_MINOR 196 /* include/linux/miscdevice.h: VFIO_MINOR */
#define MISC_MAJOR 10

struct build {
	struct vtree *t;
	const struct host_model *m;
	char **dev_path; /* sysfs directory of each device, relative to the root */
	struct vt_node *class_vfio_dev; /* sys/class/vfio-dev */
	struct vt_node **dev_node; /* and its node: children are made from it, never by path,
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

static struct vt_node *mkdirs(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static struct vt_node *mkdirs(struct build *b, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	struct vt_node *n;

	if (b->rc)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	n = vtree_mkdir_p(b->t, path);
	if (!n)
		note_failure(b, path, NULL);
	return n;
}

/* @rel below @dir, made with its parents (a relative walk: cheap from a known node). */
static struct vt_node *subdir(struct build *b, struct vt_node *dir, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct vt_node *subdir(struct build *b, struct vt_node *dir, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	struct vt_node *n;

	if (b->rc || !dir)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	n = vtree_mkdir_at(b->t, dir, rel);
	if (!n)
		note_failure(b, dir->name, rel);
	return n;
}

static struct vt_node *file(struct build *b, struct vt_node *dir, const char *name, uint32_t mode, const char *fmt,
                            ...) __attribute__((format(printf, 5, 6)));
static struct vt_node *file(struct build *b, struct vt_node *dir, const char *name, uint32_t mode, const char *fmt,
                            ...)
{
	char buf[4096];
	va_list ap;
	int len;
	struct vt_node *n;

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
	n = vtree_add_file(b->t, dir, name, buf, (size_t)len, mode);
	if (!n)
		note_failure(b, dir->name, name);
	return n;
}

static void binary(struct build *b, struct vt_node *dir, const char *name, uint32_t mode, const void *data,
                   size_t len)
{
	if (b->rc || !dir)
		return;
	if (!vtree_add_file(b->t, dir, name, data, len, mode))
		note_failure(b, dir->name, name);
}

/* A relative link in @dir (at @dir_path) to the root-relative @target. */
static void link_to(struct build *b, struct vt_node *dir, const char *dir_path, const char *name, const char *target)
{
	char rel[PATH_MAX];

	if (b->rc || !dir)
		return;
	if (vk_relpath(dir_path, target, rel, sizeof(rel)) < 0) {
		errno = ENAMETOOLONG;
		note_failure(b, dir_path, name);
		return;
	}
	if (!vtree_add_link(b->t, dir, name, rel))
		note_failure(b, dir_path, name);
}

static void standin(struct build *b, struct vt_node *dir, const char *name, const struct dev_node_spec *spec,
                    uint32_t major, uint32_t minor)
{
	struct vt_node *n;

	if (!spec->present)
		return;
	n = file(b, dir, name, spec->mode, VK_STANDIN_MAGIC " %u:%u\n", major, minor);
	if (n)
		vtree_chown(n, spec->uid, spec->gid);
}

/* vfio-pci or a variant driver on vfio-pci-core (mlx5_vfio_pci, ...): both
 * register the device with vfio_pci_core_register_device(), which makes
 * vfio-dev/vfioN and the cdev. */
static bool bound_to_vfio(const struct host_device *d)
{
	return pci_driver_is_vfio_pci(d->driver);
}

static bool is_bridge(const struct host_device *d)
{
	return (d->class_code >> 8) == 0x0604 || (d->class_code >> 8) == 0x0609;
}

/* The module link of a driver's directory: its module when loaded (not built in). */
static const char *module_of_driver(const struct host_model *m, const char *drv)
{
	const char *mod = host_driver_module(drv);

	for (size_t i = 0; mod && i < m->n_modules; i++)
		if (!strcmp(m->modules[i].name, mod) && !m->modules[i].builtin)
			return m->modules[i].name;
	return NULL;
}

static int device_paths(struct build *b)
{
	const struct host_model *m = b->m;
	char a[PCI_ADDR_STRLEN];

	b->dev_path = calloc(m->n_devices ? m->n_devices : 1, sizeof(char *));
	b->dev_node = calloc(m->n_devices ? m->n_devices : 1, sizeof(*b->dev_node));
	if (!b->dev_path || !b->dev_node)
		return -ENOMEM;
	/* Parents may sort after children (VMD domains), so fill until stable. */
	for (size_t done = 0, pass = 0; done < m->n_devices && pass <= m->n_devices; pass++) {
		for (size_t i = 0; i < m->n_devices; i++) {
			const struct host_device *d = &m->devices[i];
			int r = 0;
			if (b->dev_path[i])
				continue;
			pci_addr_format(&d->addr, a);
			if (d->parent < 0)
				r = asprintf(&b->dev_path[i], "sys/devices/pci%04x:%02x/%s", d->addr.domain, d->addr.bus, a);
			else if (!b->dev_path[d->parent])
				continue;
			else if (m->devices[d->parent].addr.domain != d->addr.domain)
				r = asprintf(&b->dev_path[i], "%s/pci%04x:%02x/%s", b->dev_path[d->parent], d->addr.domain,
				             d->addr.bus, a);
			else
				r = asprintf(&b->dev_path[i], "%s/%s", b->dev_path[d->parent], a);
			if (r < 0) {
				b->dev_path[i] = NULL;
				return -ENOMEM;
			}
			done++;
		}
	}
	return 0;
}

/* The directory of device @i, made under its parent's directory node. */
static struct vt_node *dev_dir(struct build *b, size_t i)
{
	const struct host_device *d = &b->m->devices[i];
	struct vt_node *parent;
	char a[PCI_ADDR_STRLEN];

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
	b->dev_node[i] = vtree_add_dir(b->t, parent, pci_addr_format(&d->addr, a), 0755);
	if (!b->dev_node[i])
		note_failure(b, b->dev_path[i], NULL);
	return b->dev_node[i];
}

static void resource_file(struct build *b, struct vt_node *dir, const struct host_device *d)
{
	/* PCI_BRIDGE_RESOURCES (13) lines for endpoints, PCI_NUM_RESOURCES (17) for bridges */
	char buf[17 * 60];
	size_t len = 0;
	int lines = d->n_resources ? (int)d->n_resources : is_bridge(d) ? 17 : 13;

	for (int i = 0; i < lines; i++) {
		uint64_t start = 0, end = 0, flags = 0;
		if (d->n_resources) {
			start = d->resources[i][0];
			end = d->resources[i][1];
			flags = d->resources[i][2];
		} else if (i == 0 && d->bar0_size) {
			start = d->bar0_base;
			end = d->bar0_base + d->bar0_size - 1;
			flags = 0x14220c; /* MEM | PREFETCH | MEM_64 | SIZEALIGN, as the kernel shows */
		}
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "0x%016llx 0x%016llx 0x%016llx\n",
		                        (unsigned long long)start, (unsigned long long)end, (unsigned long long)flags);
	}
	binary(b, dir, "resource", 0444, buf, len);
}

static void iommu_unit_name(const struct host_model *m, unsigned unit, char *buf, size_t len)
{
	static const char *const prefix[] = {
		[IOMMU_NONE] = "iommu", [IOMMU_INTEL] = "dmar", [IOMMU_AMD] = "ivhd",
		[IOMMU_ARM_SMMU] = "smmu3.", [IOMMU_VIRTIO] = "viommu",
	};
	snprintf(buf, len, "%s%u", prefix[m->iommu], unit);
}

static unsigned iommu_unit_of(const struct host_model *m, const struct host_device *d)
{
	return d->numa_node > 0 ? (unsigned)d->numa_node % m->iommu_units : 0;
}

static void device_dir(struct build *b, size_t i)
{
	const struct host_model *m = b->m;
	const struct host_device *d = &m->devices[i];
	const char *path = b->dev_path[i];
	char a[PCI_ADDR_STRLEN], target[PATH_MAX], name[64];
	struct vt_node *dir = dev_dir(b, i);
	uint32_t cls = d->class_code;

	pci_addr_format(&d->addr, a);
	file(b, dir, "vendor", 0444, "0x%04x\n", d->vendor);
	file(b, dir, "device", 0444, "0x%04x\n", d->device);
	file(b, dir, "subsystem_vendor", 0444, "0x%04x\n", d->subsystem_vendor);
	file(b, dir, "subsystem_device", 0444, "0x%04x\n", d->subsystem_device);
	file(b, dir, "class", 0444, "0x%06x\n", cls);
	file(b, dir, "revision", 0444, "0x%02x\n", d->revision);
	file(b, dir, "irq", 0444, "%u\n", d->irq);
	file(b, dir, "numa_node", 0644, "%d\n", d->numa_node);
	file(b, dir, "enable", 0644, "%d\n", d->driver ? 1 : 0);
	file(b, dir, "dma_mask_bits", 0444, "64\n");
	file(b, dir, "broken_parity_status", 0644, "0\n");
	file(b, dir, "msi_bus", 0644, "1\n");
	file(b, dir, "driver_override", 0644, "%s\n", d->driver_override ? d->driver_override : "(null)");
	file(b, dir, "modalias", 0444, "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n", d->vendor, d->device,
	     d->subsystem_vendor, d->subsystem_device, cls >> 16, (cls >> 8) & 0xff, cls & 0xff);
	file(b, dir, "uevent", 0644, "%s%s%sPCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\n"
	     "MODALIAS=pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n",
	     d->driver ? "DRIVER=" : "", d->driver ? d->driver : "", d->driver ? "\n" : "", cls, d->vendor, d->device,
	     d->subsystem_vendor, d->subsystem_device, a, d->vendor, d->device, d->subsystem_vendor,
	     d->subsystem_device, cls >> 16, (cls >> 8) & 0xff, cls & 0xff);
	if (d->label)
		file(b, dir, "label", 0444, "%s\n", d->label);
	file(b, dir, "remove", 0200, "%s", "");
	file(b, dir, "rescan", 0200, "%s", "");
	if (!is_bridge(d))
		file(b, dir, "reset", 0200, "%s", "");
	/* config_readable: what a reader without CAP_SYS_ADMIN got (pci_read_config()
	 * in drivers/pci/pci-sysfs.c returns only the first 64 bytes to it) */
	binary(b, dir, "config", 0644, d->config, d->config_readable ? d->config_readable : d->config_len);
	resource_file(b, dir, d);
	struct vt_node *power = subdir(b, dir, "power");
	file(b, power, "control", 0644, "on\n");
	file(b, power, "runtime_status", 0444, "%s\n", d->driver ? "active" : "suspended");

	link_to(b, dir, path, "subsystem", "sys/bus/pci");
	if (d->driver) {
		snprintf(target, sizeof(target), "sys/bus/pci/drivers/%s", d->driver);
		link_to(b, dir, path, "driver", target);
	}
	if (d->iommu_group >= 0) {
		snprintf(target, sizeof(target), "sys/kernel/iommu_groups/%lld", (long long)d->iommu_group);
		link_to(b, dir, path, "iommu_group", target);
	}
	if (d->iommu_group >= 0 && m->iommu != IOMMU_NONE) {
		iommu_unit_name(m, iommu_unit_of(m, d), name, sizeof(name));
		snprintf(target, sizeof(target), "sys/devices/virtual/iommu/%s", name);
		link_to(b, dir, path, "iommu", target);
	}
	if (is_bridge(d)) {
		file(b, dir, "secondary_bus_number", 0444, "%u\n", d->config[0x19]);
		file(b, dir, "subordinate_bus_number", 0444, "%u\n", d->config[0x1a]);
		if (d->config[0x19]) /* bus 0 is never a secondary bus: a bridge with nothing behind it */
			subdir(b, dir, "pci_bus/%04x:%02x", d->addr.domain, d->config[0x19]);
	}
	if (d->sriov_totalvfs) {
		for (uint32_t k = 0; k < d->n_vfs; k++) {
			snprintf(name, sizeof(name), "virtfn%u", k);
			link_to(b, dir, path, name, b->dev_path[d->vfs[k]]);
		}
		file(b, dir, "sriov_totalvfs", 0444, "%u\n", d->sriov_totalvfs);
		file(b, dir, "sriov_numvfs", 0644, "%u\n", d->n_vfs);
		file(b, dir, "sriov_offset", 0444, "%u\n", 16u);
		file(b, dir, "sriov_stride", 0444, "%u\n", 1u);
		file(b, dir, "sriov_vf_device", 0444, "%x\n", d->sriov_vf_device ? d->sriov_vf_device : d->device);
		file(b, dir, "sriov_drivers_autoprobe", 0644, "1\n");
	}
	if (d->physfn >= 0)
		link_to(b, dir, path, "physfn", b->dev_path[d->physfn]);
	if (bound_to_vfio(d) && d->vfio_index >= 0) {
		char vpath[PATH_MAX];
		snprintf(vpath, sizeof(vpath), "%s/vfio-dev/vfio%lld", path, (long long)d->vfio_index);
		struct vt_node *v = subdir(b, dir, "vfio-dev/vfio%lld", (long long)d->vfio_index);
		bool cdev = m->vfio_device_cdev && !m->noiommu;
		if (cdev)
			file(b, v, "dev", 0444, "%u:%lld\n", m->vfio_cdev_major, (long long)d->vfio_index);
		if (cdev)
			file(b, v, "uevent", 0644, "MAJOR=%u\nMINOR=%lld\nDEVNAME=vfio/devices/vfio%lld\n",
			     m->vfio_cdev_major, (long long)d->vfio_index, (long long)d->vfio_index);
		else
			file(b, v, "uevent", 0644, "%s", "");
		link_to(b, v, vpath, "device", path);
		link_to(b, v, vpath, "subsystem", "sys/class/vfio-dev");
		file(b, subdir(b, v, "power"), "control", 0644, "auto\n");
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
	const struct host_model *m = b->m;
	char prev[PATH_MAX] = "";

	for (size_t i = 0; i < m->n_devices; i++) {
		const struct host_device *d = &m->devices[i];
		char rootpath[PATH_MAX];
		if (d->parent >= 0 && m->devices[d->parent].addr.domain == d->addr.domain)
			continue;
		snprintf(rootpath, sizeof(rootpath), "%s", b->dev_path[i]);
		*strrchr(rootpath, '/') = '\0';
		if (!strcmp(rootpath, prev) || !b->dev_node[i])
			continue;
		snprintf(prev, sizeof(prev), "%s", rootpath);
		struct vt_node *root = b->dev_node[i]->parent;
		file(b, root, "uevent", 0644, "%s", "");
		subdir(b, root, "pci_bus/%04x:%02x", d->addr.domain, d->addr.bus);
		file(b, subdir(b, root, "power"), "control", 0644, "auto\n");
	}
}

static void bus_pci(struct build *b)
{
	const struct host_model *m = b->m;
	struct vt_node *bus = mkdirs(b, "sys/bus/pci");
	struct vt_node *devs = mkdirs(b, "sys/bus/pci/devices");
	char a[PCI_ADDR_STRLEN], path[PATH_MAX], target[PATH_MAX];

	mkdirs(b, "sys/bus/pci/slots");
	file(b, bus, "drivers_probe", 0200, "%s", "");
	file(b, bus, "drivers_autoprobe", 0644, "1\n");
	file(b, bus, "rescan", 0200, "%s", "");
	file(b, bus, "resource_alignment", 0644, "\n");
	file(b, bus, "uevent", 0200, "%s", "");
	for (size_t i = 0; i < m->n_devices; i++)
		link_to(b, devs, "sys/bus/pci/devices", pci_addr_format(&m->devices[i].addr, a), b->dev_path[i]);

	for (size_t k = 0; k < m->n_drivers; k++) {
		const char *drv = m->drivers[k];
		snprintf(path, sizeof(path), "sys/bus/pci/drivers/%s", drv);
		struct vt_node *dd = mkdirs(b, "%s", path);
		file(b, dd, "bind", 0200, "%s", "");
		file(b, dd, "unbind", 0200, "%s", "");
		file(b, dd, "new_id", 0200, "%s", "");
		file(b, dd, "remove_id", 0200, "%s", "");
		file(b, dd, "uevent", 0200, "%s", "");
		const char *mod = module_of_driver(m, drv);
		if (mod) {
			snprintf(target, sizeof(target), "sys/module/%s", mod);
			link_to(b, dd, path, "module", target);
		}
		for (size_t i = 0; i < m->n_devices; i++)
			if (m->devices[i].driver && !strcmp(m->devices[i].driver, drv))
				link_to(b, dd, path, pci_addr_format(&m->devices[i].addr, a), b->dev_path[i]);
	}
}

static void iommu_groups(struct build *b)
{
	const struct host_model *m = b->m;
	char a[PCI_ADDR_STRLEN], path[PATH_MAX];

	struct vt_node *groups = mkdirs(b, "sys/kernel/iommu_groups");
	for (size_t g = 0; g < m->n_groups; g++) {
		const struct host_group *grp = &m->groups[g];
		char id[16];
		snprintf(id, sizeof(id), "%u", grp->id);
		snprintf(path, sizeof(path), "sys/kernel/iommu_groups/%u/devices", grp->id);
		struct vt_node *dir = b->rc ? NULL : vtree_add_dir(b->t, groups, id, 0755);
		if (!dir && !b->rc)
			note_failure(b, "sys/kernel/iommu_groups", id);
		struct vt_node *devs = subdir(b, dir, "devices");
		if (m->noiommu)
			file(b, dir, "name", 0444, "vfio-noiommu\n");
		else
			file(b, dir, "type", 0644, "%s\n", grp->type);
		file(b, dir, "reserved_regions", 0444, "%s",
		     m->iommu == IOMMU_NONE ? "" : "0x00000000fee00000 0x00000000feefffff msi\n");
		for (size_t k = 0; k < grp->n_members; k++)
			link_to(b, devs, path, pci_addr_format(&m->devices[grp->members[k]].addr, a),
			        b->dev_path[grp->members[k]]);
	}
}

static void iommu_class(struct build *b)
{
	const struct host_model *m = b->m;
	char name[64], path[PATH_MAX - 16], dpath[PATH_MAX], a[PCI_ADDR_STRLEN];

	if (m->iommu == IOMMU_NONE)
		return;
	struct vt_node *cls = mkdirs(b, "sys/class/iommu");
	for (unsigned u = 0; u < m->iommu_units; u++) {
		iommu_unit_name(m, u, name, sizeof(name));
		snprintf(path, sizeof(path), "sys/devices/virtual/iommu/%s", name);
		struct vt_node *dir = mkdirs(b, "%s", path);
		file(b, dir, "uevent", 0644, "%s", "");
		link_to(b, cls, "sys/class/iommu", name, path);
		if (m->iommu == IOMMU_INTEL) {
			struct vt_node *ii = mkdirs(b, "%s/intel-iommu", path);
			/* ecap bit 3 is Interrupt Remapping support (VT-d spec, 11.4.3) */
			file(b, ii, "version", 0444, "1:0\n");
			file(b, ii, "cap", 0444, "d2008c40660462\n");
			file(b, ii, "ecap", 0444, "%s\n", m->interrupt_remapping ? "f050de" : "f050d6");
			file(b, ii, "address", 0444, "%llx\n", 0xfbffc000ull - 0x100000ull * u);
		} else if (m->iommu == IOMMU_AMD) {
			struct vt_node *ai = mkdirs(b, "%s/amd-iommu", path);
			file(b, ai, "cap", 0444, "0x00190040\n");
			/* the extended feature register; interrupt remapping is not a bit of it
			 * (the kernel shows it in /proc/interrupts: see proc_interrupts()) */
			file(b, ai, "features", 0444, "25bf732fa2295afe\n");
		}
		snprintf(dpath, sizeof(dpath), "%s/devices", path);
		struct vt_node *devs = mkdirs(b, "%s", dpath);
		for (size_t i = 0; i < m->n_devices; i++) {
			const struct host_device *d = &m->devices[i];
			if (d->iommu_group >= 0 && iommu_unit_of(m, d) == u)
				link_to(b, devs, dpath, pci_addr_format(&d->addr, a), b->dev_path[i]);
		}
	}
}

static void modules(struct build *b)
{
	const struct host_model *m = b->m;

	mkdirs(b, "sys/module");
	for (size_t i = 0; i < m->n_modules; i++) {
		const struct kmodule *k = &m->modules[i];
		struct vt_node *dir = mkdirs(b, "sys/module/%s", k->name);
		if (!k->builtin) {
			file(b, dir, "initstate", 0444, "live\n");
			file(b, dir, "refcnt", 0444, "1\n");
		}
		if (k->n_params) {
			struct vt_node *p = mkdirs(b, "sys/module/%s/parameters", k->name);
			for (size_t j = 0; j < k->n_params; j++)
				file(b, p, k->param_names[j], 0644, "%s\n", k->param_values[j]);
		}
	}
}

/* A class device: sys/devices/virtual/<cls>/<name>/dev plus the class link;
 * @vdir and @cdir are those two class directories. */
static void class_dev(struct build *b, struct vt_node *vdir, struct vt_node *cdir, const char *cls, const char *name,
                      const char *devname, uint32_t major, uint32_t minor)
{
	char path[PATH_MAX], cpath[PATH_MAX];
	struct vt_node *d = b->rc ? NULL : vtree_add_dir(b->t, vdir, name, 0755);

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
	const struct host_model *m = b->m;
	char name[64];
	bool vfio = host_model_has_vfio(m);

	struct vt_node *dev = mkdirs(b, "dev");
	struct vt_node *vmisc = NULL, *cmisc = NULL;
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
	struct vt_node *dv = mkdirs(b, "dev/vfio");
	struct vt_node *vvfio = mkdirs(b, "sys/devices/virtual/vfio"), *cvfio = mkdirs(b, "sys/class/vfio");
	standin(b, dv, "vfio", &m->dev_vfio, MISC_MAJOR, VFIO_MISC_MINOR);
	class_dev(b, vmisc, cmisc, "misc", "vfio", "vfio/vfio", MISC_MAJOR, VFIO_MISC_MINOR);
	for (size_t g = 0; g < m->n_groups; g++) {
		const struct host_group *grp = &m->groups[g];
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
	struct vt_node *dd = mkdirs(b, "dev/vfio/devices");
	for (size_t i = 0; i < m->n_devices; i++) {
		const struct host_device *d = &m->devices[i];
		if (!bound_to_vfio(d) || d->vfio_index < 0)
			continue;
		snprintf(name, sizeof(name), "vfio%lld", (long long)d->vfio_index);
		standin(b, dd, name, &d->vfio_node, m->vfio_cdev_major, (uint32_t)d->vfio_index);
	}
}

/*
 * proc/interrupts: one MSI line per device with a driver.  With interrupt
 * remapping on, the kernel names the irq chips "IR-PCI-MSI" (and "IR-IO-APIC"),
 * which is how a reader tells remapping on any vendor (kernel/irq/proc.c,
 * drivers/iommu/intel/irq_remapping.c, drivers/iommu/amd/iommu.c chip names).
 */
static void proc_interrupts(struct build *b, struct vt_node *proc)
{
	const struct host_model *m = b->m;
	const char *ir = m->interrupt_remapping && m->iommu != IOMMU_NONE ? "IR-" : "";
	char a[PCI_ADDR_STRLEN];
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (b->rc || !proc)
		return;
	f = open_memstream(&buf, &len);
	if (!f) {
		note_failure(b, "proc", "interrupts");
		return;
	}
	fprintf(f, "           CPU0       CPU1\n");
	fprintf(f, "  0:         44          0   %sIO-APIC    2-edge      timer\n", ir);
	for (size_t i = 0, irq = 24; i < m->n_devices; i++) {
		const struct host_device *d = &m->devices[i];
		if (d->driver)
			fprintf(f, "%3zu:          0          0   %sPCI-MSI-%s    0-edge      %s\n", irq++, ir,
			        pci_addr_format(&d->addr, a), d->driver);
	}
	if (fclose(f) != 0) {
		note_failure(b, "proc", "interrupts");
		return;
	}
	binary(b, proc, "interrupts", 0444, buf, len);
}

int host_tree_build(const struct host_model *m, struct vtree **out, struct vk_error *err)
{
	struct build b = {.m = m};
	int r;

	*out = NULL;
	b.t = vtree_new();
	if (!b.t)
		return vk_error_set(err, ENOMEM, "out of memory building the tree");
	r = device_paths(&b);
	if (r < 0) {
		b.rc = r;
		snprintf(b.failed_at, sizeof(b.failed_at), "device paths");
		goto out;
	}
	if (host_model_has_vfio(m))
		b.class_vfio_dev = mkdirs(&b, "sys/class/vfio-dev");
	for (size_t i = 0; i < m->n_devices && !b.rc; i++)
		device_dir(&b, i);
	root_buses(&b);
	bus_pci(&b);
	iommu_groups(&b);
	iommu_class(&b);
	modules(&b);
	dev_nodes(&b);
	struct vt_node *proc = mkdirs(&b, "proc");
	file(&b, proc, "cmdline", 0444, "%s\n", m->cmdline);
	proc_interrupts(&b, proc);
	if (m->cpu_vendor)
		file(&b, proc, "cpuinfo", 0444,
		     "processor\t: 0\nvendor_id\t: %s\nmodel name\t: %s\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 "
		     "apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx lm%s\n\n",
		     m->cpu_vendor, strcmp(m->cpu_vendor, "GenuineIntel") ? "AMD EPYC (fakesys)" : "Intel Xeon (fakesys)",
		     m->cpu_hypervisor ? " hypervisor" : "");
	struct vt_node *sk = mkdirs(&b, "proc/sys/kernel");
	file(&b, sk, "osrelease", 0444, "%s\n", m->kernel_release);
	if (!b.rc) {
		r = vtree_seal(b.t);
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
		vtree_free(b.t);
		return vk_error_set(err, b.rc, "%s: building the fake tree failed at %s: %s", m->source ? m->source : "",
		                    b.failed_at, strerror(-b.rc));
	}
	*out = b.t;
	return 0;
}
