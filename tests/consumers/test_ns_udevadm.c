/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * udevadm under `fakesys run`: `udevadm info` shows a fake device with the
 * kernel's uevent properties and the database's; and the database holds what
 * udev's own builtins compute on the fake device (path_id, hwdb), in their
 * order: the entries are what systemd-udevd would have written.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/host_model.h>
#include <vfiokit/pci_addr.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 17], err[1 << 16];

Test(udevadm, info_shows_a_fake_device)
{
	cr_assert_eq(consumers_run(NULL, "default.yaml", "udevadm info /sys/bus/pci/devices/0000:81:00.0", out,
	                           sizeof(out), err, sizeof(err)),
	             0, "%s%s", out, err);
	static const char *const want[] = {
		"P: /devices/pci0000:80/0000:80:02.0/0000:81:00.0\n",
		"U: pci\n",
		"V: i40e\n",
		"E: DRIVER=i40e\n",
		"E: PCI_SLOT_NAME=0000:81:00.0\n",
		"E: USEC_INITIALIZED=",
		"E: ID_PATH=pci-0000:81:00.0\n",
		"E: ID_PATH_TAG=pci-0000_81_00_0\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(out, want[i]), "no '%s' in:\n%s", want[i], out);
}

/* The E: lines udev's builtins give for each device (udevadm test-builtin
 * prints KEY=VALUE) are the database's, in the same order. */
Test(udevadm, the_database_is_what_udevs_builtins_compute)
{
	struct vk_host_model *m = consumers_model("default.yaml");
	char a[VK_PCI_ADDR_STRLEN], cmd[1024];

	for (size_t i = 0; i < m->n_devices; i++) {
		vk_pci_addr_format(&m->devices[i].addr, a);
		snprintf(cmd, sizeof(cmd),
		         "d=/sys/bus/pci/devices/%s; { udevadm test-builtin 'hwdb --subsystem=pci' $d; "
		         "udevadm test-builtin path_id $d; } 2>/dev/null | grep '^ID_' | sed 's/^/E:/'; echo --; "
		         "grep '^E:' /run/udev/data/+pci:%s",
		         a, a);
		cr_assert_eq(consumers_run(NULL, "default.yaml", cmd, out, sizeof(out), err, sizeof(err)), 0, "%s%s",
		             out, err);
		char *sep = strstr(out, "--\n");
		cr_assert_not_null(sep, "%s", out);
		*sep = '\0';
		cr_assert_str_eq(out, sep + 3, "%s: the builtins say\n%sthe database has\n%s", a, out, sep + 3);
		cr_assert_not_null(strstr(out, "E:ID_PATH="), "%s: no ID_PATH from path_id", a);
	}
	vk_host_model_free(m);
}

CONSUMERS_MAIN("udevadm", NULL)
