/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A PCI device's sysfs attributes in the kernel's formats (see
 * tree/pci_attrs.h): the shape of a device directory, written once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/host_tree.h>

#include "model/model_internal.h"
#include "model/pci_caps.h"
#include "tree/pci_attrs.h"
#include "tree/textfmt.h"
#include "tree/tree_parts.h"

/*
 * Sysfs attributes as the kernel declares them (DEVICE_ATTR_RO/RW/WO tables in
 * drivers/pci/pci-sysfs.c pci_dev_attrs[], pci_dev_config_attrs[],
 * sriov_pf_dev_attrs[] in iov.c, pci_drv_attrs[] in pci-driver.c,
 * pci_bus_attrs[]): a name, a mode, what reading shows, what writing does, and
 * when the file is there at all (the kernel's is_visible()).  The shape of a
 * device directory is written here once; the live mode dispatches writes on
 * @store, the readers and the recorder find the same names.
 */
struct attr {
	const char *name;
	uint16_t mode;
	uint8_t store; /* enum vk_host_store */
	/* NULL: always there */
	bool (*visible)(const struct vk_host_model *m, const struct vk_host_device *d);
	/* The content into @buf (at most @len bytes); its length, or -1 when it does not fit. */
	int (*show)(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len);
};

/* Attribute texts: "%s" of a constant, "0x%0Nx\n" (@width digits), "%u\n",
 * "%d\n", "%x\n", "%s\n"; formatted by hand (tree/textfmt.h), which at
 * 50,000 devices saves a fifth of the build. */
#define SHOW_WITH(fn, ...) \
	static int fn(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len) \
	{ \
		struct textfmt f = {.buf = buf, .cap = len}; \
		(void)m; \
		(void)d; \
		__VA_ARGS__; \
		return tf_end(&f); \
	}
#define SHOW_TEXT(fn, text) SHOW_WITH(fn, tf_str(&f, text))
#define SHOW_HEX(fn, width, v) SHOW_WITH(fn, tf_str(&f, "0x"), tf_hex(&f, v, width), tf_ch(&f, '\n'))
#define SHOW_UINT(fn, v) SHOW_WITH(fn, tf_udec(&f, v), tf_ch(&f, '\n'))
#define SHOW_STR(fn, s) SHOW_WITH(fn, tf_str(&f, s), tf_ch(&f, '\n'))

SHOW_TEXT(show_empty, "")
SHOW_TEXT(show_one, "1\n")
SHOW_TEXT(show_zero, "0\n")
SHOW_HEX(show_vendor, 4, d->vendor)
SHOW_HEX(show_device, 4, d->device)
SHOW_HEX(show_subsystem_vendor, 4, d->subsystem_vendor)
SHOW_HEX(show_subsystem_device, 4, d->subsystem_device)
SHOW_HEX(show_class, 6, d->class_code)
SHOW_HEX(show_revision, 2, d->revision)
SHOW_UINT(show_irq, d->irq)
SHOW_WITH(show_numa_node, tf_dec(&f, d->numa_node), tf_ch(&f, '\n'))
SHOW_TEXT(show_enable, d->driver ? "1\n" : "0\n")
SHOW_TEXT(show_dma_mask_bits, "64\n")
SHOW_STR(show_driver_override, d->driver_override ? d->driver_override : "(null)")
SHOW_STR(show_label, d->label)
SHOW_WITH(show_modalias, tf_pci_modalias(&f, d), tf_ch(&f, '\n'))
SHOW_UINT(show_sriov_totalvfs, d->sriov_totalvfs)
SHOW_UINT(show_sriov_numvfs, d->n_vfs)
SHOW_WITH(show_sriov_vf_device, tf_hex(&f, d->sriov_vf_device ? d->sriov_vf_device : d->device, 0), tf_ch(&f, '\n'))
SHOW_UINT(show_ari_enabled, pci_ari_enabled(m, d) ? 1u : 0u)

/* drivers/pci/iov.c sriov_offset_show()/sriov_stride_show(): the SR-IOV
 * capability's First VF Offset and VF Stride (pci_caps.c) */
static int show_sriov_offset(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	unsigned offset, stride;

	pci_sriov_offset_stride(m, d, &offset, &stride);
	return snprintf(buf, len, "%u\n", offset);
}

static int show_sriov_stride(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	unsigned offset, stride;

	pci_sriov_offset_stride(m, d, &offset, &stride);
	return snprintf(buf, len, "%u\n", stride);
}

/* drivers/pci/pci.c reset_method_show(): the methods pci_init_reset_methods() found */
static int show_reset_method(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	return pci_reset_methods(m, d, buf, len);
}

/* drivers/pci/pci-sysfs.c pcie_dev_attrs[]: from the Express capability's link registers */
static int show_max_link_speed(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	return pci_link_speed_show(d, true, buf, len);
}

static int show_current_link_speed(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	return pci_link_speed_show(d, false, buf, len);
}

static int show_max_link_width(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	return pci_link_width_show(d, true, buf, len);
}

static int show_current_link_width(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	return pci_link_width_show(d, false, buf, len);
}

/* drivers/pci/pci.c resource_alignment_show(): "%s\n" of the pci=resource_alignment=
 * value (pci_setup() takes it up to the next comma), nothing when there is none. */
static int show_resource_alignment(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	const char *c = m->cmdline;

	(void)d;
	for (; c && *c; c += strcspn(c, " ")) {
		c += strspn(c, " ");
		if (strncmp(c, "pci=", 4))
			continue;
		for (const char *o = c + 4; *o && *o != ' '; o += strcspn(o, ", "), o += *o == ',') {
			if (!strncmp(o, "resource_alignment=", 19)) {
				o += 19;
				return snprintf(buf, len, "%.*s\n", (int)strcspn(o, ", "), o);
			}
		}
	}
	return 0;
}

/* drivers/pci/pci-driver.c pci_uevent() (tree/textfmt.h) */
SHOW_WITH(show_uevent, tf_pci_uevent(&f, d))

/* The bytes of config space as the scenario (or the recording) has them, the
 * SR-IOV registers as the VFs the model has now set them; with
 * config_readable: only those a recording's reader got (pci_read_config() in
 * drivers/pci/pci-sysfs.c gives one without CAP_SYS_ADMIN the first 64). */
static int show_config(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	size_t n = d->config_readable ? d->config_readable : d->config_len;

	(void)m;
	if (n > len)
		return -1;
	vk_host_config_read(d, 0, buf, n);
	pci_config_current(d, (uint8_t *)buf, n);
	return (int)n;
}

/*
 * The config file is a binary attribute (pci-sysfs.c pci_dev_config_attr_bin_size():
 * dev->cfg_size, 256 or 4096), of which pci_read_config() gives an opener
 * without CAP_SYS_ADMIN (file_ns_capable(filp, &init_user_ns, ...)) the first
 * 64 bytes, 128 of a CardBus bridge (PCI_HEADER_TYPE_CARDBUS).
 */
uint8_t host_config_kern(const struct vk_host_device *d)
{
	bool cardbus = (vk_host_config_byte(d, 0x0e) & 0x7f) == 2;

	return (uint8_t)((d->config_len > 256 ? VK_VT_SIZE_4096 : VK_VT_SIZE_256) | (cardbus ? VK_VT_K_UNPRIV_128 : VK_VT_K_UNPRIV_64));
}

/* "0x%016llx" of @v at @p, returning its end: by hand, since 50,000
 * devices' 13 to 17 lines each made vfprintf a tenth of the build. */
static char *resource_hex(char *p, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";

	p[0] = '0';
	p[1] = 'x';
	for (int i = 17; i >= 2; i--, v >>= 4)
		p[i] = digits[v & 0xf];
	return p + 18;
}

/* "0x%016llx 0x%016llx 0x%016llx\n" */
#define RESOURCE_LINE 57

unsigned tree_pci_resource_lines(const struct vk_host_device *d)
{
	/* PCI_BRIDGE_RESOURCES (13) for endpoints, PCI_NUM_RESOURCES (17) for bridges */
	return d->n_resources ? (unsigned)d->n_resources : tree_is_bridge(d) ? 17
	                                                                     : 13;
}

void tree_pci_resource(const struct vk_host_model *m, const struct vk_host_device *d, unsigned i, uint64_t r[3])
{
	uint64_t start = 0, end = 0, flags = 0;

	if (d->n_resources) {
		start = d->resources[i][0];
		end = d->resources[i][1];
		flags = d->resources[i][2];
	} else if (i == 0 && d->bar0_size) {
		start = d->bar0_base;
		end = d->bar0_base + d->bar0_size - 1;
		flags = 0x14220c; /* MEM | PREFETCH | MEM_64 | SIZEALIGN, as the kernel shows */
	} else if (i == 7 && pci_sriov_vf_bar(m, d, &start, &end)) {
		/* PCI_IOV_RESOURCES: the VF BAR0s of all TotalVFs (drivers/pci/iov.c sriov_init()) */
		end = start + end * d->sriov_totalvfs - 1;
		flags = 0x14220c;
	}
	r[0] = start;
	r[1] = end;
	r[2] = flags;
}

static int show_resource(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	unsigned lines = tree_pci_resource_lines(d);
	size_t off = 0;

	for (unsigned i = 0; i < lines; i++) {
		uint64_t r[3];
		tree_pci_resource(m, d, i, r);
		if (len - off < RESOURCE_LINE)
			return -1;
		char *p = resource_hex(buf + off, r[0]);
		*p++ = ' ';
		p = resource_hex(p, r[1]);
		*p++ = ' ';
		p = resource_hex(p, r[2]);
		*p = '\n';
		off += RESOURCE_LINE;
	}
	return (int)off;
}

static bool has_label(const struct vk_host_model *m, const struct vk_host_device *d)
{
	return d->label != NULL;
}

static bool is_sriov_pf(const struct vk_host_model *m, const struct vk_host_device *d)
{
	return d->sriov_totalvfs != 0;
}

/* drivers/pci/pci-sysfs.c pci_dev_hp_attrs_are_visible(): no remove or rescan on a VF */
static bool not_vf(const struct vk_host_model *m, const struct vk_host_device *d)
{
	return d->physfn < 0;
}

/* pci_dev_reset_attr_is_visible(), pci_dev_reset_method_attr_is_visible():
 * only when pci_reset_supported(), i.e. some reset method was found */
static bool has_reset(const struct vk_host_model *m, const struct vk_host_device *d)
{
	char buf[64];
	return pci_reset_methods(m, d, buf, sizeof(buf)) > 0;
}

/* pcie_dev_attrs_are_visible(): pci_is_pcie() */
static bool is_pcie(const struct vk_host_model *m, const struct vk_host_device *d)
{
	return pci_is_pcie(d);
}

static const struct attr pci_dev_attrs[] = {
	{"vendor", 0444, 0, NULL, show_vendor},
	{"device", 0444, 0, NULL, show_device},
	{"subsystem_vendor", 0444, 0, NULL, show_subsystem_vendor},
	{"subsystem_device", 0444, 0, NULL, show_subsystem_device},
	{"class", 0444, 0, NULL, show_class},
	{"revision", 0444, 0, NULL, show_revision},
	{"irq", 0444, 0, NULL, show_irq},
	{"numa_node", 0644, 0, NULL, show_numa_node},
	{"enable", 0644, 0, NULL, show_enable},
	{"dma_mask_bits", 0444, 0, NULL, show_dma_mask_bits},
	{"broken_parity_status", 0644, 0, NULL, show_zero},
	{"msi_bus", 0644, 0, NULL, show_one},
	{"driver_override", 0644, VK_HOST_STORE_OVERRIDE, NULL, show_driver_override},
	{"modalias", 0444, 0, NULL, show_modalias},
	{"uevent", 0644, 0, NULL, show_uevent},
	{"label", 0444, 0, has_label, show_label},
	{"ari_enabled", 0444, 0, NULL, show_ari_enabled},
	/* DEVICE_ATTR_IGNORE_LOCKDEP(remove, 0220, ...); __ATTR(rescan, 0200, ...) */
	{"remove", 0220, VK_HOST_STORE_REMOVE, not_vf, show_empty},
	{"rescan", 0200, 0, not_vf, show_empty},
	/* DEVICE_ATTR_WO(reset) in pci-sysfs.c; DEVICE_ATTR_RW(reset_method) in pci.c */
	{"reset", 0200, 0, has_reset, show_empty},
	{"reset_method", 0644, 0, has_reset, show_reset_method},
	{"current_link_speed", 0444, 0, is_pcie, show_current_link_speed},
	{"current_link_width", 0444, 0, is_pcie, show_current_link_width},
	{"max_link_speed", 0444, 0, is_pcie, show_max_link_speed},
	{"max_link_width", 0444, 0, is_pcie, show_max_link_width},
	{"config", 0644, 0, NULL, show_config},
	{"resource", 0444, 0, NULL, show_resource},
	/* drivers/pci/iov.c sriov_pf_dev_attrs[] */
	{"sriov_totalvfs", 0444, 0, is_sriov_pf, show_sriov_totalvfs},
	{"sriov_numvfs", 0644, VK_HOST_STORE_NUMVFS, is_sriov_pf, show_sriov_numvfs},
	{"sriov_offset", 0444, 0, is_sriov_pf, show_sriov_offset},
	{"sriov_stride", 0444, 0, is_sriov_pf, show_sriov_stride},
	{"sriov_vf_device", 0444, 0, is_sriov_pf, show_sriov_vf_device},
	{"sriov_drivers_autoprobe", 0644, 0, is_sriov_pf, show_one},
};

/* drivers/pci/pci-driver.c pci_drv_attrs[] + the driver core's bind/unbind/uevent */
static const struct attr driver_attrs[] = {
	{"bind", 0200, VK_HOST_STORE_BIND, NULL, show_empty},
	{"unbind", 0200, VK_HOST_STORE_UNBIND, NULL, show_empty},
	{"new_id", 0200, VK_HOST_STORE_NEW_ID, NULL, show_empty},
	{"remove_id", 0200, VK_HOST_STORE_REMOVE_ID, NULL, show_empty},
	{"uevent", 0200, 0, NULL, show_empty},
};

/* drivers/pci/pci-sysfs.c pci_bus_attrs[] + the bus type's files */
static const struct attr bus_attrs[] = {
	{"drivers_probe", 0200, VK_HOST_STORE_PROBE, NULL, show_empty},
	{"drivers_autoprobe", 0644, 0, NULL, show_one},
	{"rescan", 0200, 0, NULL, show_empty},
	{"resource_alignment", 0644, 0, NULL, show_resource_alignment},
	{"uevent", 0200, 0, NULL, show_empty},
};

/* The file of attribute @at in @dir with the @len bytes of @buf, of which
 * the tree stores less where most are the same: a PCIe device's 4096 bytes
 * of config space are mostly zeros, its resource lines mostly the all-zero one. */
static struct vk_vt_node *attr_file(struct vtree *t, struct vk_vt_node *dir, const struct attr *at, const char *buf,
                                    size_t len)
{
	if (at->show == show_config)
		return vk_vtree_add_file_zero_tail(t, dir, at->name, buf, len, at->mode);
	if (at->show == show_resource)
		return vk_vtree_add_file_line_tail(t, dir, at->name, buf, len, at->mode);
	return vk_vtree_add_file(t, dir, at->name, buf, len, at->mode);
}

/* The files of @table in @dir, for device @d (NULL for a driver or the bus):
 * 0, or -errno with the name of the attribute that failed in *@failed. */
static int attrs(struct vtree *t, struct vk_vt_node *dir, const struct attr *table, size_t n,
                 const struct vk_host_model *m, const struct vk_host_device *d, const char **failed)
{
	char buf[4096]; /* PAGE_SIZE: what a sysfs show() may fill */

	for (size_t i = 0; i < n; i++) {
		const struct attr *at = &table[i];
		if (at->visible && !at->visible(m, d))
			continue;
		*failed = at->name;
		int len = at->show(m, d, buf, sizeof(buf));
		if (len < 0 || (size_t)len > sizeof(buf))
			return -ENAMETOOLONG;
		struct vk_vt_node *f = attr_file(t, dir, at, buf, (size_t)len);
		if (!f)
			return -(errno ? errno : ENOMEM);
		f->store = at->store;
		if (at->show == show_config)
			f->kern = host_config_kern(d);
	}
	return 0;
}

int tree_pci_attrs(struct vtree *t, struct vk_vt_node *dir, enum tree_attr_table which,
                   const struct vk_host_model *m, const struct vk_host_device *d, const char **failed)
{
	switch (which) {
	case TREE_ATTRS_DEVICE:
		return attrs(t, dir, pci_dev_attrs, VK_ARRAY_SIZE(pci_dev_attrs), m, d, failed);
	case TREE_ATTRS_DRIVER:
		return attrs(t, dir, driver_attrs, VK_ARRAY_SIZE(driver_attrs), m, NULL, failed);
	default:
		return attrs(t, dir, bus_attrs, VK_ARRAY_SIZE(bus_attrs), m, NULL, failed);
	}
}
