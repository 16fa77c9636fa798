/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What libvirt's node-device driver asks libudev about PCI devices
 * (src/node_device/node_device_udev.c: udev_enumerate_add_match_subsystem,
 * scan, then per device its properties and whether udev initialized it):
 *
 *   udev_enum            one line per PCI device:
 *                        PCI_SLOT_NAME DRIVER initialized ID_VENDOR_FROM_DATABASE | ID_MODEL_FROM_DATABASE
 *                        ("-" for a missing value), then "devices: N"
 *   udev_enum --hwdb M   the hwdb's vendor and model for modalias M, the same way
 *
 * Exits 1 with a message when a libudev call fails.
 */
#include <errno.h>
#include <libudev.h>
#include <stdio.h>
#include <string.h>

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static int hwdb(struct udev *udev, const char *modalias)
{
	struct udev_hwdb *h = udev_hwdb_new(udev);
	struct udev_list_entry *e;
	const char *vendor = NULL, *model = NULL;

	if (!h) {
		printf("no hwdb\n");
		return 0;
	}
	udev_list_entry_foreach(e, udev_hwdb_get_properties_list_entry(h, modalias, 0))
	{
		if (!strcmp(udev_list_entry_get_name(e), "ID_VENDOR_FROM_DATABASE"))
			vendor = udev_list_entry_get_value(e);
		if (!strcmp(udev_list_entry_get_name(e), "ID_MODEL_FROM_DATABASE"))
			model = udev_list_entry_get_value(e);
	}
	printf("%s | %s\n", or_dash(vendor), or_dash(model));
	udev_hwdb_unref(h);
	return 0;
}

static int enumerate(struct udev *udev)
{
	struct udev_enumerate *en = udev_enumerate_new(udev);
	struct udev_list_entry *e;
	unsigned n = 0;
	int r;

	if (!en) {
		fprintf(stderr, "udev_enumerate_new: %s\n", strerror(errno));
		return 1;
	}
	if ((r = udev_enumerate_add_match_subsystem(en, "pci")) < 0 || (r = udev_enumerate_scan_devices(en)) < 0) {
		fprintf(stderr, "enumerating pci: %s\n", strerror(-r));
		udev_enumerate_unref(en);
		return 1;
	}
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en))
	{
		const char *path = udev_list_entry_get_name(e);
		struct udev_device *d = udev_device_new_from_syspath(udev, path);
		if (!d) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			udev_enumerate_unref(en);
			return 1;
		}
		printf("%s %s %d %s | %s\n", or_dash(udev_device_get_property_value(d, "PCI_SLOT_NAME")),
		       or_dash(udev_device_get_property_value(d, "DRIVER")), udev_device_get_is_initialized(d),
		       or_dash(udev_device_get_property_value(d, "ID_VENDOR_FROM_DATABASE")),
		       or_dash(udev_device_get_property_value(d, "ID_MODEL_FROM_DATABASE")));
		udev_device_unref(d);
		n++;
	}
	printf("devices: %u\n", n);
	udev_enumerate_unref(en);
	return 0;
}

int main(int argc, char *argv[])
{
	struct udev *udev = udev_new();
	int r;

	if (!udev) {
		fprintf(stderr, "udev_new: %s\n", strerror(errno));
		return 1;
	}
	if (argc == 3 && !strcmp(argv[1], "--hwdb"))
		r = hwdb(udev, argv[2]);
	else if (argc == 1)
		r = enumerate(udev);
	else {
		fprintf(stderr, "usage: udev_enum [--hwdb MODALIAS]\n");
		r = 2;
	}
	udev_unref(udev);
	return r;
}
