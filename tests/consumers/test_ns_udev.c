/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libudev under `fakesys run`: a PCI enumeration as libvirt's node-device
 * driver makes it (udev_enum.c) lists exactly the scenario's devices, each
 * initialized, with its driver and the hwdb's names; without the
 * SYSTEMD_DEVICE_VERIFY_SYSFS switch fakesys run sets, sd-device refuses every
 * fake device; the database entries have udev's format.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/host_model.h>
#include <vfiokit/pci_addr.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 16], err[1 << 14];

/* The hwdb's "vendor | model" for device @d, asked outside fakesys run. */
static void hwdb_names(const struct vk_host_device *d, char *buf, size_t len)
{
	char cmd[256], o[1024], e[1024];

	snprintf(cmd, sizeof(cmd), "\"$ENUM\" --hwdb pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", d->vendor, d->device,
	         d->subsystem_vendor, d->subsystem_device, d->class_code >> 16, (d->class_code >> 8) & 0xff,
	         d->class_code & 0xff);
	cr_assert_eq(consumers_sh(cmd, o, sizeof(o), e, sizeof(e)), 0, "%s", e);
	*strchrnul(o, '\n') = '\0';
	snprintf(buf, len, "%s", strcmp(o, "no hwdb") ? o : "- | -");
}

/* Every device of @scenario is listed once, with its driver, initialized,
 * and with the names the hwdb has for it; nothing else is listed. */
static void enumerate_exactly(const char *scenario)
{
	struct vk_host_model *m = consumers_model(scenario);
	char a[VK_PCI_ADDR_STRLEN], want[1600], names[1100];

	cr_assert_eq(consumers_run(NULL, scenario, "\"$ENUM\"", out, sizeof(out), err, sizeof(err)), 0, "%s%s", out,
	             err);
	size_t lines = 0;
	for (const char *p = out; *p; p = strchr(p, '\n') + 1, lines++)
		cr_assert_not_null(strchr(p, '\n'));
	cr_assert_eq(lines, m->n_devices + 1, "%s: %zu devices, enumerated:\n%s", scenario, m->n_devices, out);
	snprintf(want, sizeof(want), "devices: %zu\n", m->n_devices);
	cr_assert_not_null(strstr(out, want), "%s", out);
	for (size_t i = 0; i < m->n_devices; i++) {
		const struct vk_host_device *d = &m->devices[i];
		hwdb_names(d, names, sizeof(names));
		snprintf(want, sizeof(want), "%s %s 1 %s\n", vk_pci_addr_format(&d->addr, a), d->driver ? d->driver : "-",
		         names);
		const char *at = strstr(out, want);
		cr_assert(at && (at == out || at[-1] == '\n'), "%s: no line '%.*s' in:\n%s", scenario,
		          (int)strlen(want) - 1, want, out);
	}
	vk_host_model_free(m);
}

Test(udev, the_enumerator_lists_exactly_the_scenarios_devices)
{
	enumerate_exactly("default.yaml");
	enumerate_exactly("vmd-domains.yaml");
	enumerate_exactly("doctor-iommu-off.yaml");
}

/* The switch is what makes it work: sd-device checks that a syspath is on a
 * sysfs (statfs magic) unless SYSTEMD_DEVICE_VERIFY_SYSFS=0. */
Test(udev, without_the_switch_sd_device_refuses_the_fake_devices)
{
	cr_assert_eq(consumers_run(NULL, "default.yaml", "echo \"$SYSTEMD_DEVICE_VERIFY_SYSFS\"", out, sizeof(out), err,
	                           sizeof(err)),
	             0, "%s", err);
	cr_assert_str_eq(out, "0\n");
	cr_assert_eq(consumers_run(NULL, "default.yaml", "env -u SYSTEMD_DEVICE_VERIFY_SYSFS \"$ENUM\"", out,
	                           sizeof(out), err, sizeof(err)),
	             0, "%s", err);
	cr_assert_str_eq(out, "devices: 0\n");
}

/* device_write_db()'s format: I: first, E: properties, V:1 last. */
Test(udev, a_database_entry_has_udevs_format)
{
	cr_assert_eq(consumers_run(NULL, "default.yaml", "cat /run/udev/data/+pci:0000:81:00.0; ls /run/udev/data", out,
	                           sizeof(out), err, sizeof(err)),
	             0, "%s", err);
	unsigned long long usec;
	cr_assert_eq(sscanf(out, "I:%llu\n", &usec), 1, "%s", out);
	cr_assert_gt(usec, 0);
	cr_assert_not_null(strstr(out, "\nE:ID_PATH=pci-0000:81:00.0\nE:ID_PATH_TAG=pci-0000_81_00_0\nV:1\n"), "%s", out);
	for (const char *p = strchr(out, '\n') + 1; strncmp(p, "V:1\n", 4); p = strchr(p, '\n') + 1)
		cr_assert_eq(strncmp(p, "E:", 2), 0, "a line that is not a property before V:1: %s", out);
	/* one entry per device, named by device_get_device_id() */
	struct vk_host_model *m = consumers_model("default.yaml");
	const char *list = strstr(out, "V:1\n") + 4;
	char a[VK_PCI_ADDR_STRLEN], name[64];
	for (size_t i = 0; i < m->n_devices; i++) {
		snprintf(name, sizeof(name), "+pci:%s\n", vk_pci_addr_format(&m->devices[i].addr, a));
		cr_assert_not_null(strstr(list, name), "%s missing:\n%s", name, list);
	}
	vk_host_model_free(m);
}

CONSUMERS_MAIN(NULL)
