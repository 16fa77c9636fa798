/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * udev's database of the fake PCI devices: run/udev/data/+pci:<BDF>, what
 * systemd-udevd would have written once its rules ran on each device's "add"
 * event.  sd-device (libudev, udevadm) reads a device's properties from its
 * uevent file and this file, and calls a device with such a file initialized
 * (device_read_db_internal_filename() in src/libsystemd/sd-device/sd-device.c;
 * the file's id "+<subsystem>:<sysname>" is device_get_device_id()'s for a
 * device without a device number).  The format is device_write_db()'s
 * (src/libsystemd/sd-device/device-private.c): "I:" the CLOCK_MONOTONIC
 * microsecond udev first saw the device, "E:KEY=VALUE" per property a rule
 * added, "G:"/"Q:" tags (none for PCI functions), "V:1" the database version.
 *
 * The properties are those of the rules every distribution ships for a PCI
 * function (50-udev-default.rules):
 *   ENV{MODALIAS}!="", IMPORT{builtin}="hwdb --subsystem=$env{SUBSYSTEM}"
 *     the hwdb's entries for the modalias: ID_VENDOR_FROM_DATABASE,
 *     ID_MODEL_FROM_DATABASE, ID_PCI_CLASS/SUBCLASS/INTERFACE_FROM_DATABASE,
 *     looked up in this host's hwdb through libudev as the builtin does;
 *   SUBSYSTEM=="pci|usb|platform", IMPORT{builtin}="path_id"
 *     ID_PATH=pci-<BDF> and ID_PATH_TAG (src/udev/udev-builtin-path_id.c:
 *     the PCI ancestors are skipped, the tag keeps [0-9A-Za-z-] and turns every
 *     other run into one '_').
 * Without a hwdb (no hwdb.bin on this machine) a device has only the path
 * properties, as on a host whose udev has none.
 */
#include <libudev.h>
#include <stdint.h>
#include <stdlib.h>

#include "vk_cleanup.h"

#include "tree/textfmt.h"
#include "tree/tree_parts.h"

/* When udev saw the devices: a few seconds after boot, one millisecond
 * apart, so that sd_device_get_usec_since_initialized() (now - I) is positive
 * on any machine up for longer than that. */
#define UDEV_INIT_USEC 3000000ull

/* The order udev writes them in: the hwdb's match order (20-pci-classes.hwdb
 * before 20-pci-vendor-model.hwdb); libudev hands them over sorted by name. */
static int hwdb_rank(const char *key)
{
	static const char *const order[] = {
		"ID_PCI_CLASS_FROM_DATABASE",
		"ID_PCI_SUBCLASS_FROM_DATABASE",
		"ID_PCI_INTERFACE_FROM_DATABASE",
		"ID_VENDOR_FROM_DATABASE",
		"ID_MODEL_FROM_DATABASE",
	};

	for (size_t i = 0; i < VK_ARRAY_SIZE(order); i++)
		if (!strcmp(key, order[i]))
			return (int)i;
	return (int)VK_ARRAY_SIZE(order);
}

/*
 * The hwdb's answers by modalias, for one tree: a lookup costs a few hundred
 * microseconds (libudev builds a list for each), and large scenarios repeat a
 * handful of ids over thousands of functions.  Open addressing, never full:
 * at most one entry per device, in twice as many slots.
 */
struct hwdb_cache {
	struct udev_hwdb *hwdb; /* NULL: this machine has no hwdb */
	char **key, **lines;    /* modalias, and its "E:" lines */
	size_t cap;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The hwdb's properties for @modalias as "E:" lines, in udev's order (NULL:
 * out of memory). */
static const char *hwdb_lines(struct hwdb_cache *c, const char *modalias)
{
	struct udev_list_entry *e, *first;
	int max = hwdb_rank("");
	size_t i = hash(modalias) & (c->cap - 1), len = 0;
	char *buf = NULL;

	for (; c->key[i]; i = (i + 1) & (c->cap - 1))
		if (!strcmp(c->key[i], modalias))
			return c->lines[i];
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	first = c->hwdb ? udev_hwdb_get_properties_list_entry(c->hwdb, modalias, 0) : NULL;
	for (int rank = 0; first && rank <= max; rank++)
		udev_list_entry_foreach(e, first)
		{
			const char *k = udev_list_entry_get_name(e), *v = udev_list_entry_get_value(e);
			/* a value on one line: a newline would end the entry in the db */
			if (hwdb_rank(k) == rank && v && !strchr(v, '\n') && !strchr(k, '='))
				fprintf(f, "E:%s=%s\n", k, v);
		}
	if (fclose(f) != 0 || !(c->key[i] = strdup(modalias))) {
		free(buf);
		return NULL;
	}
	c->lines[i] = buf;
	return buf;
}

static void device_db(struct tree_parts *p, struct vk_vt_node *data, struct hwdb_cache *c, size_t i)
{
	const struct vk_host_device *d = &p->m->devices[i];
	char a[VK_PCI_ADDR_STRLEN], modalias[64], tag[64], name[80];
	struct textfmt mf = TEXTFMT(modalias);
	size_t t = 0;

	tf_pci_addr_str(&d->addr, a);
	/* the modalias attribute (pci-sysfs.c modalias_show()): 47 characters, fits */
	tf_pci_modalias(&mf, d);
	(void)tf_end(&mf);
	for (const char *s = "pci-"; *s; s++)
		tag[t++] = *s;
	for (const char *s = a; *s && t + 1 < sizeof(tag); s++) {
		bool keep = (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '-';
		if (keep)
			tag[t++] = *s;
		else if (tag[t - 1] != '_')
			tag[t++] = '_';
	}
	tag[t] = '\0';
	const char *hw = hwdb_lines(c, modalias);
	if (!hw) {
		tp_fail(p, ENOMEM, "run/udev/data");
		return;
	}
	/* "I:%llu\n%sE:ID_PATH=pci-%s\nE:ID_PATH_TAG=%s\nV:1\n" by hand (tree/textfmt.h) */
	size_t cap = strlen(hw) + 160;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf) {
		tp_fail(p, ENOMEM, "run/udev/data");
		return;
	}
	struct textfmt f = {.buf = buf, .cap = cap};
	tf_str(&f, "I:");
	tf_udec(&f, UDEV_INIT_USEC + 1000ull * (d->udev_seq ? d->udev_seq - 1 : i));
	tf_ch(&f, '\n');
	tf_str(&f, hw);
	tf_str(&f, "E:ID_PATH=pci-");
	tf_str(&f, a);
	tf_str(&f, "\nE:ID_PATH_TAG=");
	tf_str(&f, tag);
	tf_str(&f, "\nV:1\n");
	int len = tf_end(&f); /* 20 digits, an address and a tag of 64 fit */
	struct textfmt nf = TEXTFMT(name);
	tf_str(&nf, "+pci:");
	tf_str(&nf, a);
	if (len < 0 || tf_end(&nf) < 0) {
		tp_fail(p, ENAMETOOLONG, "run/udev/data");
		return;
	}
	tp_bytes(p, data, name, 0644, buf, (size_t)len);
}

void tree_udev_db(struct tree_parts *p)
{
	struct hwdb_cache c = {.cap = 16};
	struct udev *udev;

	if (p->rc)
		return;
	struct vk_vt_node *data = tp_dir(p, vk_vtree_root(p->t), "run/udev/data");
	while (c.cap < 2 * p->m->n_devices)
		c.cap *= 2;
	c.key = calloc(c.cap, sizeof(*c.key));
	c.lines = calloc(c.cap, sizeof(*c.lines));
	/* libudev's hwdb: the file udevd reads (/etc/udev/hwdb.bin, else the
	 * one systemd-hwdb built under /usr/lib/udev) */
	udev = udev_new();
	if (udev)
		c.hwdb = udev_hwdb_new(udev);
	if (!c.key || !c.lines)
		tp_fail(p, ENOMEM, "run/udev/data");
	for (size_t i = 0; i < p->m->n_devices && !p->rc; i++)
		device_db(p, data, &c, i);
	for (size_t i = 0; c.key && c.lines && i < c.cap; i++) {
		free(c.key[i]);
		free(c.lines[i]);
	}
	free(c.key);
	free(c.lines);
	udev_hwdb_unref(c.hwdb);
	udev_unref(udev);
}
