/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * umockdev-record under `fakesys run` records a fake device as udev shows it:
 * its path, the database's properties (it crashed on the devices libudev
 * refused before fakesys run set SYSTEMD_DEVICE_VERIFY_SYSFS=0), its
 * attributes and links, and its parents up to the root bus.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 20], err[1 << 14];

Test(umockdev, record_of_a_fake_device)
{
	int rc = consumers_run(NULL, "default.yaml", "umockdev-record /sys/bus/pci/devices/0000:01:00.0", out,
	                       sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, 0, "status %d: %s", rc, err);
	static const char *const want[] = {
		"P: /devices/pci0000:00/0000:00:01.0/0000:01:00.0\n", "E: DRIVER=vfio-pci\n",
		"E: ID_PATH=pci-0000:01:00.0\n", "E: PCI_SLOT_NAME=0000:01:00.0\n",
		"L: iommu_group=../../../../kernel/iommu_groups/12\n", "A: local_cpulist=0-3\\n\n", /* umockdev escapes the value's newline */
		"\nP: /devices/pci0000:00/0000:00:01.0\n", "E: DRIVER=pcieport\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(out, want[i]), "no '%s' in the recording:\n%.4000s", want[i], out);
}

CONSUMERS_MAIN("umockdev-record", NULL)
