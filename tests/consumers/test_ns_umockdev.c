/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * umockdev-record under `fakesys run` records a fake device as udev shows it:
 * its path, the database's properties (it crashed on the devices libudev
 * refused before fakesys run set SYSTEMD_DEVICE_VERIFY_SYSFS=0), its
 * attributes and links, and its parents up to the root bus; and
 * `fakesys import-umockdev` of that recording brings back the IOMMU groups
 * with their members and the IOMMU's kind, from the devices' iommu_group and
 * iommu links (what a VFIO bug report needs).
 */
#include <criterion/criterion.h>
#include <string.h>

#include <vfiokit/host_model.h>
#include <vfiokit/pci_addr.h>

#include "consumers_util.h"
#include "testutil.h"

static char out[1 << 20], err[1 << 14];

Test(umockdev, record_of_a_fake_device)
{
	int rc = consumers_run(NULL, "default.yaml", "umockdev-record /sys/bus/pci/devices/0000:01:00.0", out,
	                       sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, 0, "status %d: %s", rc, err);
	static const char *const want[] = {
		"P: /devices/pci0000:00/0000:00:01.0/0000:01:00.0\n",
		"E: DRIVER=vfio-pci\n",
		"E: ID_PATH=pci-0000:01:00.0\n",
		"E: PCI_SLOT_NAME=0000:01:00.0\n",
		"L: iommu_group=../../../../kernel/iommu_groups/12\n",
		"A: local_cpulist=0-3\\n\n", /* umockdev escapes the value's newline */
		"\nP: /devices/pci0000:00/0000:00:01.0\n",
		"E: DRIVER=pcieport\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(out, want[i]), "no '%s' in the recording:\n%.4000s", want[i], out);
}

Test(umockdev, import_keeps_the_iommu_groups)
{
	static const char *const bdfs[] = {"0000:01:00.0", "0000:01:00.1", "0000:02:00.0"};
	int rc = consumers_run(NULL, "default.yaml",
	                       "f=$(mktemp) && umockdev-record /sys/bus/pci/devices/0000:01:00.0 "
	                       "/sys/bus/pci/devices/0000:01:00.1 /sys/bus/pci/devices/0000:02:00.0 > $f && "
	                       "\"$FAKESYS\" import-umockdev $f; rc=$?; rm -f $f; exit $rc",
	                       out, sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, 0, "status %d: %s", rc, err);
	struct vk_host_model *orig = consumers_model("default.yaml");
	struct vk_host_model *m = consumers_model(consumers_scenario_text("imported.yaml", out));
	cr_assert_eq(m->iommu, VK_IOMMU_INTEL, "the units' kind from their names (dmar0)");
	for (size_t i = 0; i < sizeof(bdfs) / sizeof(*bdfs); i++) {
		struct vk_pci_addr a;
		cr_assert_eq(vk_pci_addr_parse(bdfs[i], &a, NULL), 0);
		const struct vk_host_device *d = vk_host_model_find(m, &a), *o = vk_host_model_find(orig, &a);
		cr_assert(d && o, "%s", bdfs[i]);
		cr_assert_geq(o->iommu_group, 0);
		cr_assert_eq(d->iommu_group, o->iommu_group, "%s: group %lld, recorded %lld", bdfs[i],
		             (long long)d->iommu_group, (long long)o->iommu_group);
	}
	/* the GPU's two functions share their group, as recorded */
	cr_assert_eq(vk_host_model_find(m, &(struct vk_pci_addr){.bus = 1, .function = 1})->iommu_group,
	             vk_host_model_find(m, &(struct vk_pci_addr){.bus = 1})->iommu_group);
	vk_host_model_free(m);
	vk_host_model_free(orig);
}

CONSUMERS_MAIN("umockdev-record", NULL)
