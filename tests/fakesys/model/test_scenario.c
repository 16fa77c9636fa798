/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scenario parser and model: every key, every class of bad input, the defaults. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include <vfiokit/host_model.h>

#include "testutil.h"

static struct vk_host_model *load_ok(const char *yaml)
{
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};
	int r = vk_host_model_load_buffer("t.yaml", yaml, strlen(yaml), &m, &e);

	cr_assert_eq(r, 0, "scenario rejected: %s", e.msg);
	return m;
}

static const struct vk_host_device *dev(const struct vk_host_model *m, const char *addr)
{
	struct vk_pci_addr a;

	cr_assert_eq(vk_pci_addr_parse(addr, &a, NULL), 0);
	const struct vk_host_device *d = vk_host_model_find(m, &a);
	cr_assert_not_null(d, "%s not in model", addr);
	return d;
}

#define HDR "version: 1\nname: t\nkernel: {iommu: intel, vfio_device_cdev: true, iommufd: true}\n"

Test(scenario, default_scenario_loads_with_every_section)
{
	char path[4096];
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_host_model_load(vk_scenario_path("default.yaml", path, sizeof(path)), &m, &e), 0, "%s", e.msg);
	cr_assert_str_eq(m->name, "default");
	cr_assert_eq(m->iommu, VK_IOMMU_INTEL);
	cr_assert_eq(m->iommu_units, 2);
	cr_assert(m->vfio_device_cdev && m->iommufd && m->interrupt_remapping && !m->noiommu);
	cr_assert_eq(m->n_devices, 13);
	const struct vk_host_device *gpu = dev(m, "0000:01:00.0");
	cr_assert_eq(gpu->vendor, 0x10de);
	cr_assert_eq(gpu->iommu_group, 12);
	cr_assert_str_eq(gpu->driver, "vfio-pci");
	cr_assert_eq(gpu->vfio_index, 0);
	cr_assert_eq(dev(m, "0000:01:00.1")->vfio_index, 1);
	const struct vk_host_device *vf = dev(m, "0000:81:02.1");
	cr_assert_eq(vf->device, 0x154c, "VF device id from the PF's sriov.vf_device");
	cr_assert_eq(vf->vendor, 0x8086);
	cr_assert_eq(vf->class_code, 0x020000);
	cr_assert_eq(vf->numa_node, 1);
	cr_assert_eq(m->devices[vf->physfn].sriov_totalvfs, 32);
	cr_assert_eq(vf->vfio_index, 2);
	cr_assert(vk_host_model_has_module(m, "vfio_iommu_type1"));
	vk_host_model_free(m);
}

Test(scenario, every_device_key)
{
	struct vk_host_model *m = load_ok(HDR
	                                  "devices:\n"
	                                  "  - address: 0000:00:01.0\n    vendor: 0x8086\n    device: 0x2030\n    class: 0x060400\n    driver: pcieport\n"
	                                  "  - address: 0000:01:00.0\n"
	                                  "    parent: 0000:00:01.0\n"
	                                  "    vendor: 0x10de\n    device: 0x2204\n"
	                                  "    subsystem_vendor: 0x1458\n    subsystem_device: 0x403b\n"
	                                  "    class: 0x030000\n    revision: 0xa1\n"
	                                  "    driver: vfio-pci\n    driver_override: vfio-pci\n"
	                                  "    label: \"Slot 3\"\n    iommu_group: 40\n    numa_node: 1\n"
	                                  "    vfio_cdev: 7\n"
	                                  "    vfio_node: {owner: 107, group: 36, mode: \"0660\", present: true}\n");
	const struct vk_host_device *d = dev(m, "0000:01:00.0");

	cr_assert_eq(d->subsystem_vendor, 0x1458);
	cr_assert_eq(d->subsystem_device, 0x403b);
	cr_assert_eq(d->revision, 0xa1);
	cr_assert_str_eq(d->driver_override, "vfio-pci");
	cr_assert_str_eq(d->label, "Slot 3");
	cr_assert_eq(d->iommu_group, 40);
	cr_assert_eq(d->numa_node, 1);
	cr_assert_eq(d->vfio_index, 7);
	cr_assert_eq(d->vfio_node.uid, 107);
	cr_assert_eq(d->vfio_node.gid, 36);
	cr_assert_eq(d->vfio_node.mode, 0660);
	cr_assert_eq(m->devices[d->parent].addr.slot, 1);
	vk_host_model_free(m);
}

Test(scenario, every_kernel_and_dev_key)
{
	struct vk_host_model *m = load_ok(
		"version: 1\nname: k\ndescription: all kernel keys\n"
		"kernel:\n  release: 6.9.1\n  iommu: amd\n  iommu_units: 3\n  group_type: DMA\n"
		"  vfio_device_cdev: false\n  iommufd: yes\n  noiommu: false\n  interrupt_remapping: off\n"
		"  cmdline: amd_iommu=on\n  vfio_cdev_major: 500\n  vfio_group_major: 240\n  iommufd_minor: 99\n"
		"  modules:\n    - iommufd\n    - {name: vfio, builtin: true, parameters: {enable_unsafe_noiommu_mode: N}}\n"
		"    - vfio_pci\n"
		"  drivers: [mydrv]\n"
		"devices:\n  - {address: 0000:00:02.0, vendor: 1, device: 2, driver: mydrv}\n"
		"dev:\n  iommu: {owner: root, group: root, mode: 0600}\n  vfio: {present: false}\n");

	cr_assert_str_eq(m->kernel_release, "6.9.1");
	cr_assert_str_eq(m->description, "all kernel keys");
	cr_assert_eq(m->iommu, VK_IOMMU_AMD);
	cr_assert_eq(m->iommu_units, 3);
	cr_assert_str_eq(m->default_group_type, "DMA");
	cr_assert(!m->vfio_device_cdev && m->iommufd && !m->interrupt_remapping);
	cr_assert_str_eq(m->cmdline, "amd_iommu=on");
	cr_assert_eq(m->vfio_cdev_major, 500);
	cr_assert_eq(m->vfio_group_major, 240);
	cr_assert_eq(m->iommufd_minor, 99);
	cr_assert_eq(m->n_modules, 3);
	cr_assert(m->modules[1].builtin);
	cr_assert_str_eq(m->modules[1].param_names[0], "enable_unsafe_noiommu_mode");
	cr_assert_str_eq(m->modules[1].param_values[0], "N");
	cr_assert_eq(m->dev_iommu.mode, 0600);
	cr_assert(!m->dev_vfio.present);
	bool mydrv = false, vfio = false;
	for (size_t i = 0; i < m->n_drivers; i++) {
		mydrv |= !strcmp(m->drivers[i], "mydrv");
		vfio |= !strcmp(m->drivers[i], "vfio-pci");
	}
	cr_assert(mydrv && vfio, "declared driver and vfio-pci (module loaded) registered");
	vk_host_model_free(m);
}

Test(scenario, defaults)
{
	struct vk_host_model *m = load_ok(
		"version: 1\n"
		"kernel: {iommu: intel, vfio_device_cdev: true, cmdline: \"ro iommu=pt\"}\n"
		"devices:\n"
		"  - {address: 0000:00:1c.0, vendor: 0x8086, device: 0xa190, driver: pcieport, numa_node: 1}\n"
		"  - {address: 0000:02:00.0, parent: 0000:00:1c.0, vendor: 0x144d, device: 0xa80a, driver: nvme}\n"
		"  - {address: 0000:02:00.1, parent: 0000:00:1c.0, vendor: 0x144d, device: 0xa80b, driver: vfio-pci, iommu_group: 0}\n"
		"  - {address: 0000:00:03.0, vendor: 0x8086, device: 0x1111}\n");
	const struct vk_host_device *nvme = dev(m, "0000:02:00.0");

	cr_assert_str_eq(m->name, "unnamed");
	cr_assert_str_eq(m->default_group_type, "identity", "iommu=pt makes identity default domains");
	cr_assert_eq(nvme->class_code, 0x010802, "class from the driver");
	cr_assert_eq(dev(m, "0000:00:1c.0")->class_code, 0x060400);
	cr_assert_eq(dev(m, "0000:00:03.0")->class_code, 0xff0000, "unknown: unassigned class");
	cr_assert_eq(nvme->subsystem_vendor, 0x144d, "subsystem ids default to the device's ids");
	cr_assert_eq(nvme->subsystem_device, 0xa80a);
	cr_assert_eq(nvme->numa_node, 1, "NUMA node inherited from the parent bridge");
	cr_assert_eq(dev(m, "0000:00:03.0")->numa_node, -1);
	cr_assert_null(nvme->driver_override);
	/* groups: one per device, explicit numbers skipped */
	cr_assert_eq(dev(m, "0000:02:00.1")->iommu_group, 0);
	cr_assert_eq(dev(m, "0000:00:03.0")->iommu_group, 1);
	cr_assert_eq(dev(m, "0000:00:1c.0")->iommu_group, 2);
	cr_assert_eq(nvme->iommu_group, 3);
	cr_assert_eq(m->n_groups, 4);
	cr_assert_str_eq(m->groups[0].type, "identity");
	cr_assert_eq(m->groups[0].node.mode, 0600);
	/* cdev index only for vfio-pci */
	cr_assert_eq(dev(m, "0000:02:00.1")->vfio_index, 0);
	cr_assert_eq(nvme->vfio_index, -1);
	/* modules derived from the drivers and features */
	cr_assert(vk_host_model_has_module(m, "vfio_pci") && vk_host_model_has_module(m, "nvme"));
	cr_assert(!vk_host_model_has_module(m, "iommufd"));
	/* node defaults: the kernel's devnode modes */
	cr_assert_eq(m->dev_iommu.mode, 0660);
	cr_assert_eq(m->dev_vfio.mode, 0666);
	cr_assert_eq(nvme->vfio_node.mode, 0600);
	/* config synthesized: ids, class, type 1 header with bus numbers for the bridge */
	const struct vk_host_device *br = dev(m, "0000:00:1c.0");
	cr_assert_eq(nvme->config_len, 4096, "PCIe: the extended config space");
	cr_assert_eq(vk_host_config_byte(nvme, 0) | vk_host_config_byte(nvme, 1) << 8, 0x144d);
	cr_assert_eq(vk_host_config_byte(nvme, 0x0b), 0x01);
	cr_assert_eq(vk_host_config_byte(nvme, 0x0e), 0x80, "multifunction bit: 02:00.1 exists");
	cr_assert_eq(vk_host_config_byte(br, 0x0e), 0x01);
	cr_assert_eq(vk_host_config_byte(br, 0x19), 0x02);
	cr_assert_eq(vk_host_config_byte(br, 0x1a), 0x02);
	vk_host_model_free(m);
}

Test(scenario, config_space_gives_the_ids)
{
	struct vk_host_model *m = load_ok("version: 1\ndevices:\n  - address: 0000:00:05.0\n    config: |\n"
	                                  "      86 80 34 12 06 00 10 00 03 00 02 01 10 00 00 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 86 80 01 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 0b 01 00 00\n");
	const struct vk_host_device *d = dev(m, "0000:00:05.0");

	cr_assert_eq(d->vendor, 0x8086);
	cr_assert_eq(d->device, 0x1234);
	cr_assert_eq(d->class_code, 0x010200);
	cr_assert_eq(d->revision, 3);
	cr_assert_eq(d->subsystem_device, 1);
	cr_assert_eq(d->config_len, 256, "padded to the 256 bytes the kernel shows");
	vk_host_model_free(m);
}

Test(scenario, vmd_domain_and_noiommu)
{
	struct vk_host_model *m = load_ok(
		"version: 1\nkernel: {iommu: none, noiommu: true}\n"
		"devices:\n"
		"  - {address: 0000:00:0e.0, vendor: 0x8086, device: 0x467f, driver: vmd}\n"
		"  - {address: 10000:e0:06.0, parent: 0000:00:0e.0, vendor: 0x8086, device: 0x464d, driver: pcieport}\n"
		"  - {address: 10000:e1:00.0, parent: 10000:e0:06.0, vendor: 0x144d, device: 0xa80a, driver: vfio-pci}\n"
		"  - {address: 0000:e0:06.0, vendor: 0x8086, device: 0x1234}\n");

	cr_assert_eq(dev(m, "10000:e1:00.0")->iommu_group, 0, "no-IOMMU: a group only for vfio-pci devices");
	cr_assert_eq(dev(m, "0000:e0:06.0")->iommu_group, -1);
	cr_assert_null(m->groups[0].type);
	bool y = false;
	for (size_t i = 0; i < m->n_modules; i++)
		for (size_t j = 0; j < m->modules[i].n_params; j++)
			y |= !strcmp(m->modules[i].param_names[j], "enable_unsafe_noiommu_mode") &&
			     !strcmp(m->modules[i].param_values[j], "Y");
	cr_assert(y, "vfio.enable_unsafe_noiommu_mode=Y");
	vk_host_model_free(m);
}

/* ---- bad input: one clear error each, with file:line:column and the key ---- */

struct bad_case {
	const char *yaml;
	const char *where; /* "t.yaml:L:C" prefix, or NULL when no position applies */
	const char *msg;   /* a phrase the message must contain */
};

static const struct bad_case bad[] = {
	{"version: 1\ndevices: [\n", "t.yaml:3:1", "YAML syntax error"},
	{"", NULL, "empty scenario"},
	{"name: x\n", "t.yaml:1:1", "missing 'version: 1'"},
	{"version: 2\n", "t.yaml:1:10", "format version 2 is not supported"},
	{"version: 1\n---\nversion: 1\n", NULL, "one YAML document"},
	{"version: 1\nbogus: 1\n", "t.yaml:2:1", "bogus: unknown key in the scenario"},
	{"version: 1\nname: a\nname: b\n", "t.yaml:3:1", "name: given twice"},
	{"version: 1\nkernel: {iommu: sparc}\n", "t.yaml:2:17", "not an IOMMU"},
	{"version: 1\nkernel: {cdev: true}\n", "t.yaml:2:10", "cdev: unknown key in kernel"},
	{"version: 1\nkernel: {iommufd: maybe}\n", "t.yaml:2:19", "not a boolean"},
	{"version: 1\nkernel: {iommu_units: 65}\n", "t.yaml:2:23", "out of range"},
	{"version: 1\nkernel: {group_type: fast}\n", "t.yaml:2:22", "not a group type"},
	{"version: 1\nkernel: {iommu: intel, noiommu: true}\n", NULL, "no-IOMMU mode is only possible without an IOMMU"},
	{"version: 1\nkernel: {iommufd: true, modules: [vfio]}\n", "t.yaml:2:34", "no iommufd module is listed"},
	{"version: 1\nkernel: {modules: [vfio, vfio]}\n", "t.yaml:2:26", "listed twice"},
	{"version: 1\nkernel: {modules: [../evil]}\n", "t.yaml:2:20", "cannot be a file name"},
	{"version: 1\nkernel: {drivers: [a/b]}\n", "t.yaml:2:20", "cannot be a file name"},
	{"version: 1\nname: ..\n", "t.yaml:2:7", "cannot be a file name"},
	{"version: 1\nfaults: {}\n", "t.yaml:2:9", "expected a list of mappings"},
	{"version: 1\nfaults: [{path: a, op: open, errno: EBOGUS}]\n", "t.yaml:2:37", "not an errno name"},
	{"version: 1\nfaults: [{path: a, op: stat2, errno: EIO}]\n", "t.yaml:2:24", "unknown operation 'stat2'"},
	{"version: 1\nfaults: [{op: open, errno: EIO}]\n", "t.yaml:2:10", "missing 'path'"},
	{"version: 1\nfaults: [{path: a, op: open}]\n", "t.yaml:2:10", "needs an 'errno', a 'delay_ms'"},
	{"version: 1\nfaults: [{path: a, op: open, errno: EIO, nth: 0}]\n", "t.yaml:2:47", "nth"},
	{"version: 1\nfaults: [{path: a, op: open, errno: EIO, when: 1}]\n", "t.yaml:2:42", "unknown key"},
	{"version: 1\nsteps: {}\n", "t.yaml:2:8", "expected a list of mappings {path, op, nth, do}"},
	{"version: 1\nsteps: [{path: a, op: open, do: reboot now}]\n", "t.yaml:2:33", "'reboot now' is not a control command"},
	{"version: 1\nsteps: [{path: a, op: open}]\n", "t.yaml:2:9", "missing 'do'"},
	{"version: 1\nsteps: [{path: a, op: open, do: []}]\n", "t.yaml:2:33", "an empty list of commands"},
	{"version: 1\nsteps: [{path: a, op: open, do: unbind x, errno: EIO}]\n", "t.yaml:2:43", "unknown key in a steps entry"},
	/* found by fuzz_scenario: the repeated name leaked (LeakSanitizer in the ASan build) */
	{"version: 1\nkernel: {modules: [{name: vfio, parameters: {a: 1, a: 2}}]}\n", "t.yaml:2:52", "'a' given twice"},
	{"version: 1\ndevices: {a: 1}\n", "t.yaml:2:10", "expected a list"},
	{"version: 1\ndevices:\n  - {vendor: 1, device: 2}\n", "t.yaml:3:5", "needs address:"},
	{"version: 1\ndevices:\n  - {address: 0000:00:20.0, vendor: 1, device: 2}\n", "t.yaml:3:15",
         "slot 0x20 is out of range"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 0x10000, device: 2}\n", "t.yaml:3:37",
         "out of range"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: ten, device: 2}\n", "t.yaml:3:37", "is not a number"},
	/* issue 19: PCI ids are hex; a bare 1022 is neither read as 0x3fe nor guessed to be 0x1022 */
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1022, device: 2}\n", "t.yaml:3:37",
         "vendor: '1022' is ambiguous: PCI ids are hex (as sysfs and lspci -n show them); write 0x1022, or 0x3fe if "
         "decimal 1022 is meant"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 10de}\n", "t.yaml:3:48",
         "device: '10de' needs the 0x of a hex PCI id: write 0x10de"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, subsystem_vendor: 8086}\n",
         "t.yaml:3:69", "subsystem_vendor: '8086' is ambiguous"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, subsystem_device: 15}\n",
         "t.yaml:3:69", "subsystem_device: '15' is ambiguous"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, class: 10802}\n", "t.yaml:3:58",
         "class: '10802' is ambiguous"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, revision: 10}\n", "t.yaml:3:61",
         "revision: '10' is ambiguous: PCI ids are hex (as sysfs and lspci -n show them); write 0x10, or 0xa if decimal 10 "
         "is meant"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, sriov: {totalvfs: 2, vf_device: 154c}}\n",
         "t.yaml:3:83", "vf_device: '154c' needs the 0x of a hex PCI id"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: -1, device: 2}\n", "t.yaml:3:37",
         "'-1' is not a number (a PCI id is hex with 0x, e.g. 0x10de)"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, class: 0x1000000}\n", "t.yaml:3:58",
         "out of range"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, numa_node: -2}\n", "t.yaml:3:62",
         "out of range"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, device: 2}\n", "t.yaml:3:5", "needs vendor: and device:"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, colour: red}\n", "t.yaml:3:51",
         "colour: unknown key in device"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2}\n  - {address: 00:01.0, vendor: 1, device: 3}\n",
         "t.yaml:4:5", "0000:00:01.0 is given twice (also at line 3)"},
	{"version: 1\ndevices:\n  - {address: 0000:01:00.0, parent: 0000:00:09.0, vendor: 1, device: 2}\n", "t.yaml:3:37",
         "0000:00:09.0 is not a device of this scenario; add the bridge"},
	{"version: 1\ndevices:\n  - {address: 0000:01:00.0, parent: 0000:01:00.0, vendor: 1, device: 2}\n", "t.yaml:3:37",
         "cannot be its own parent"},
	{"version: 1\ndevices:\n  - {address: 0000:81:02.0, physfn: 0000:81:00.0, vendor: 1, device: 2}\n", "t.yaml:3:37",
         "which is not a device of this scenario; a VF exists only beside its PF"},
	{"version: 1\ndevices:\n  - {address: 0000:81:00.0, vendor: 1, device: 2}\n"
         "  - {address: 0000:81:02.0, physfn: 0000:81:00.0}\n",
         "t.yaml:4:37", "is not an SR-IOV PF"},
	{"version: 1\ndevices:\n  - {address: 0000:81:00.0, vendor: 1, device: 2, sriov: {totalvfs: 1}}\n"
         "  - {address: 0000:81:02.0, physfn: 0000:81:00.0}\n  - {address: 0000:81:02.1, physfn: 0000:81:00.0}\n",
         "t.yaml:3:5", "lists 2 VFs but totalvfs is 1"},
	{"version: 1\ndevices:\n  - {address: 0000:81:00.0, vendor: 1, device: 2, sriov: {totalvfs: 0}}\n", "t.yaml:3:69",
         "out of range"},
	{"version: 1\ndevices:\n  - {address: 0000:00:17.0, vendor: 1, device: 2, class: 0x010601}\n"
         "  - {address: 0000:01:00.0, parent: 0000:00:17.0, vendor: 1, device: 3}\n",
         "t.yaml:4:37",
         "is not a PCI bridge"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, class: 0x060400}\n"
         "  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 1, device: 3}\n"
         "  - {address: 0000:02:00.0, parent: 0000:00:01.0, vendor: 1, device: 3}\n",
         "t.yaml:5:5",
         "cannot also be behind it"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, class: 0x060400}\n"
         "  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 1, device: 3}\n"
         "  - {address: 0000:01:00.1, vendor: 1, device: 3}\n",
         "t.yaml:5:5",
         "the secondary bus of bridge 0000:00:01.0: add parent: 0000:00:01.0"},
	{"version: 1\ndevices:\n  - {address: 0000:02:00.0, vendor: 1, device: 2, class: 0x060400}\n"
         "  - {address: 0000:01:00.0, parent: 0000:02:00.0, vendor: 1, device: 3}\n",
         "t.yaml:4:5",
         "its bus must be above the bridge's bus"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, driver: frobnicator}\n", "t.yaml:3:59",
         "unknown driver 'frobnicator'"},
	{"version: 1\nkernel: {modules: [nvme]}\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, driver: vfio-pci}\n",
         "t.yaml:4:59", "kernel.modules lists no vfio_pci"},
	/* a vfio-pci variant driver needs its own module and vfio_pci_core (not vfio_pci) */
	{"version: 1\nkernel: {modules: [vfio, vfio_pci, vfio_pci_core]}\ndevices:\n"
         "  - {address: 0000:00:01.0, vendor: 1, device: 2, driver: mlx5_vfio_pci}\n",
         "t.yaml:4:59", "0000:00:01.0 is bound to mlx5_vfio_pci, a vfio-pci variant driver, but kernel.modules lists no "
                        "mlx5_vfio_pci; add it (or {name: mlx5_vfio_pci, builtin: true})"},
	{"version: 1\nkernel: {modules: [vfio, vfio_pci]}\ndevices:\n"
         "  - {address: 0000:00:01.0, vendor: 1, device: 2, driver: xe-vfio-pci}\n",
         "t.yaml:4:59", "kernel.modules lists no xe_vfio_pci; add it (or {name: xe_vfio_pci, builtin: true})"},
	{"version: 1\nkernel: {modules: [vfio, vfio_pci, mlx5_vfio_pci]}\ndevices:\n"
         "  - {address: 0000:00:01.0, vendor: 1, device: 2, driver: mlx5_vfio_pci}\n",
         "t.yaml:4:59", "a vfio-pci variant driver built on vfio_pci_core, but kernel.modules lists no vfio_pci_core"},
	/* a variant-like name fakesys does not know still needs a declaration */
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, driver: foo_vfio_pci}\n",
         "t.yaml:3:59", "unknown driver 'foo_vfio_pci'"},
	{"version: 1\nkernel: {iommu: intel}\ndevices:\n"
         "  - {address: 0000:00:01.0, vendor: 1, device: 2, driver: mlx5_core, vfio_cdev: 1}\n",
         "t.yaml:4:5", "is bound to mlx5_core; only a device bound to vfio-pci or a vfio-pci variant driver"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, driver: nvme, vfio_cdev: 1}\n", "t.yaml:3:5",
         "is bound to nvme; only a device bound to vfio-pci or a vfio-pci variant driver (such as mlx5_vfio_pci) has a VFIO cdev"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, driver: nvme, vfio_node: {mode: 0666}}\n",
         "t.yaml:3:76", "only a device bound to vfio-pci or a vfio-pci variant driver (such as mlx5_vfio_pci) has a VFIO cdev"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, driver: vfio-pci, vfio_cdev: 3}\n"
         "  - {address: 0000:00:02.0, vendor: 1, device: 2, driver: vfio-pci, vfio_cdev: 3}\n",
         "t.yaml:4:5",
         "vfio3 is given to both"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, iommu_group: 1}\n", "t.yaml:3:64",
         "the host has no IOMMU"},
	{"version: 1\nkernel: {iommu: intel}\ndevices:\n  - {address: 0000:00:02.0, vendor: 1, device: 2, iommu_group: 5}\n"
         "  - {address: 0000:80:03.0, vendor: 1, device: 2, iommu_group: 5}\n",
         "t.yaml:5:64",
         "share no slot, bridge or root bus"},
	{"version: 1\nkernel: {iommu: none, noiommu: true}\ndevices:\n"
         "  - {address: 0000:00:02.0, vendor: 1, device: 2, driver: nvme, iommu_group: 5}\n",
         "t.yaml:4:78",
         "only devices bound to vfio-pci or a vfio-pci variant driver (such as mlx5_vfio_pci) get a (fake) group"},
	{"version: 1\nkernel: {iommu: intel}\ndevices:\n  - {address: 0000:00:02.0, vendor: 1, device: 2}\n"
         "iommu_groups:\n  - {id: 9, type: DMA}\n",
         "t.yaml:6:5", "group 9 has no device in it"},
	{"version: 1\nkernel: {iommu: intel}\ndevices:\n  - {address: 0000:00:02.0, vendor: 1, device: 2, iommu_group: 0}\n"
         "iommu_groups:\n  - {id: 0}\n  - {id: 0}\n",
         "t.yaml:7:5", "group 0 is described twice"},
	{"version: 1\nkernel: {iommu: intel}\ndevices:\n  - {address: 0000:00:02.0, vendor: 1, device: 2, iommu_group: 0}\n"
         "iommu_groups:\n  - {id: 0, flavour: x}\n",
         "t.yaml:6:13", "unknown key in an iommu_groups entry"},
	{"version: 1\ndev: {iommu: {mode: rw-rw----}}\n", "t.yaml:2:21", "not an octal mode"},
	{"version: 1\ndev: {iommu: {mode: 017777}}\n", "t.yaml:2:21", "out of range"},
	{"version: 1\ndev: {iommu: {owner: no-such-user-vfiokit}}\n", "t.yaml:2:22", "give a number"},
	{"version: 1\ndev: {iommu: {group: no-such-group-vfiokit}}\n", "t.yaml:2:22", "give a number"},
	{"version: 1\ndev: {tty: {}}\n", "t.yaml:2:7", "unknown key in dev"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, config: \"86 8\"}\n", "t.yaml:3:37", "odd number of hex digits"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, config: \"86 80 zz\"}\n", "t.yaml:3:37", "not a hex digit"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, config: \"86 80\"}\n", "t.yaml:3:37", "too short"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 0x10de, config: \"86 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\"}\n",
         "t.yaml:3:5", "disagrees with config space"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, class: 0x060400, parent: 0000:00:02.0}\n"
         "  - {address: 0000:00:02.0, vendor: 1, device: 2, class: 0x060400, parent: 0000:00:01.0}\n",
         "t.yaml:3:76",
         "loops back on itself"},
	{"version: 1\nkernel: {modules: [{builtin: true}]}\n", "t.yaml:2:20", "needs name:"},
	{"version: 1\nkernel: {iommu: intel}\ndevices:\n"
         "  - {address: 0000:00:01.0, vendor: 1, device: 2, class: 0x060400, iommu_group: 3}\n"
         "  - {address: 0000:00:02.0, vendor: 1, device: 2, iommu_group: 3}\n"
         "  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 1, device: 2, iommu_group: 3}\n",
         "t.yaml:6:86", "0000:00:02.0 and 0000:01:00.0, which share no slot"},
	{"version: 1\nkernel: {iommu: intel}\ndevices:\n  - {address: 0000:00:02.0, vendor: 1, device: 2, iommu_group: 5}\n"
         "iommu_groups:\n  - {id: 0x5}\n  - {id: 5}\n",
         "t.yaml:7:5", "group 5 is described twice (also at line 6)"},
	{"version: 1\nkernel: {iommu: intel}\ndevices:\n  - {address: 0000:00:02.0, vendor: 1, device: 2, iommu_group: 5}\n"
         "iommu_groups:\n  - {? [a]: 1}\n",
         "t.yaml:6:8", "keys must be plain words"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, vfio_node: {mode: 0666}}\n",
         "t.yaml:3:62", "has no driver; only a device bound to vfio-pci or a vfio-pci variant driver (such as mlx5_vfio_pci) has a VFIO cdev"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, numa_node: 1024}\n", "t.yaml:3:62",
         "1024 is out of range (-1..1023)"},
	{"version: 1\nkernel: {iommu: none, noiommu: true, modules: [{name: vfio, parameters: {enable_unsafe_noiommu_mode: N}}]}\n",
         "t.yaml:2:47", "enable_unsafe_noiommu_mode is 'N'"},
	{"version: 1\nname: a\n\n\n---\nversion: 1\n", "t.yaml:5", "one YAML document"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, resources: [[1, 2]]}\n", "t.yaml:3:63",
         "each line is [start, end, flags]"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, resources: [[9, 2, 0]]}\n", "t.yaml:3:63",
         "end 0x2 is below start 0x9"},
	{"version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, resources: []}\n", "t.yaml:3:62",
         "the resource file has 1 to 17"},
	{"version: 1\ncpu: {vendor: sparc}\n", "t.yaml:2:15", "not a CPU vendor"},
	{"version: 1\ncpu: {cores: 4}\n", "t.yaml:2:7", "cores: unknown key in cpu"},
	{"version: 1\ncpu: {hypervisor: true}\n", "t.yaml:2:6", "needs vendor:"},
	{"version: 1\ndevices:\n  - address: 0000:00:01.0\n    config: |\n"
         "      86 80 34 12 06 00 10 00 03 00 04 06 10 00 01 00\n"
         "      00 00 00 00 00 00 00 00 00 05 05 00 00 00 00 00\n"
         "      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
         "      00 00 00 00 00 00 00 00 00 00 00 00 0b 01 00 00\n"
         "  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 1, device: 2}\n",
         "t.yaml:3:5", "forwards buses 05-05, but the devices behind it are on buses 01-01"},
};

/* Criterion hands parameters to a re-executed child, where pointers into this
 * image may differ (ASLR): pass indices into the table, not the structs. */
#define VK_N_BAD (sizeof(bad) / sizeof(bad[0]))
static size_t bad_index[VK_N_BAD];

ParameterizedTestParameters(scenario, rejects_bad_input)
{
	for (size_t i = 0; i < VK_N_BAD; i++)
		bad_index[i] = i;
	return cr_make_param_array(size_t, bad_index, VK_N_BAD);
}

ParameterizedTest(size_t *idx, scenario, rejects_bad_input)
{
	const struct bad_case *c = &bad[*idx];
	struct vk_host_model *m = (struct vk_host_model *)0x1;
	struct vk_error e = {0};
	int r = vk_host_model_load_buffer("t.yaml", c->yaml, strlen(c->yaml), &m, &e);

	cr_assert_eq(r, -EINVAL, "accepted (rc %d): %s", r, c->yaml);
	cr_assert_null(m, "no model is handed out on error");
	cr_assert(strstr(e.msg, c->msg), "message '%s' lacks '%s'", e.msg, c->msg);
	if (c->where)
		cr_assert(!strncmp(e.msg, c->where, strlen(c->where)) && e.msg[strlen(c->where)] == ':',
		          "message '%s' does not start with '%s:'", e.msg, c->where);
	else
		cr_assert(!strncmp(e.msg, "t.yaml", 6), "message '%s' does not name the file", e.msg);
}

/* The host loader leaves expect: to the conformance runner (tests/conformance/
 * test_expect.c parses it): a block it cannot know is no error here, and an
 * unknown top-level key still names expect: among the known ones. */
Test(scenario, the_host_loader_skips_expect)
{
	struct vk_host_model *m = load_ok("version: 1\nexpect: {bogus: [1, {2: 3}]}\nname: h\n");
	struct vk_error e = {0};
	const char *typo = "version: 1\nexpected: {}\n";

	cr_assert_str_eq(m->name, "h", "the keys after expect: are read");
	vk_host_model_free(m);
	cr_assert_eq(vk_host_model_load_buffer("t.yaml", typo, strlen(typo), &m, &e), -EINVAL);
	cr_assert_str_eq(e.msg, "t.yaml:2:1: expected: unknown key in the scenario (expected one of: version, name, "
	                        "description, kernel, cpu, firmware, devices, iommu_groups, dev, faults, steps, expect)");
}

Test(scenario, file_errors_name_the_path_and_errno)
{
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};
	char dir[4096], path[4200];

	cr_assert_eq(vk_host_model_load("/nonexistent/vfiokit.yaml", &m, &e), -ENOENT);
	cr_assert(strstr(e.msg, "/nonexistent/vfiokit.yaml") && strstr(e.msg, "No such file"), "%s", e.msg);
	cr_assert_eq(vk_host_model_load("/tmp", &m, &e), -EINVAL);
	cr_assert(strstr(e.msg, "not a regular file"), "%s", e.msg);

	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/nul.yaml", dir);
	FILE *f = fopen(path, "w");
	fwrite("version: 1\n\0", 1, 12, f);
	fclose(f);
	int before = vk_fd_count();
	cr_assert_eq(vk_host_model_load(path, &m, &e), -EINVAL);
	cr_assert(strstr(e.msg, "NUL byte"), "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before, "no FD left open on error");
	vk_rm_rf(dir);
}

Test(scenario, minimal_scenario_is_a_host_without_devices)
{
	struct vk_host_model *m = load_ok("version: 1\n");

	cr_assert_eq(m->n_devices, 0);
	cr_assert_eq(m->iommu, VK_IOMMU_NONE);
	cr_assert_eq(m->n_groups, 0);
	cr_assert_not_null(m->cmdline);
	vk_host_model_free(m);
}

Test(scenario, vf_of_a_config_only_pf_inherits_finished_values)
{
	struct vk_host_model *m = load_ok("version: 1\ndevices:\n  - address: 0000:81:00.0\n    sriov: {totalvfs: 4}\n"
	                                  "    driver: i40e\n    config: |\n"
	                                  "      86 80 72 15 06 00 10 00 02 00 00 02 10 00 00 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 86 80 01 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 0b 01 00 00\n"
	                                  "  - {address: 0000:81:02.0, physfn: 0000:81:00.0, driver: vfio-pci}\n"
	                                  "  - {address: 0000:82:00.0, vendor: 0x8086, device: 0x1572, driver: i40e, "
	                                  "sriov: {totalvfs: 2, vf_device: 0x154c}, physfn: ~}\n"
	                                  "  - {address: 0000:82:02.0, physfn: 0000:82:00.0}\n");
	const struct vk_host_device *vf = dev(m, "0000:81:02.0");

	cr_assert_eq(vf->vendor, 0x8086);
	cr_assert_eq(vf->device, 0x1572, "no vf_device: the PF's device id");
	cr_assert_eq(vf->subsystem_device, 1);
	cr_assert_eq(vf->class_code, 0x020000);
	cr_assert_eq(dev(m, "0000:81:00.0")->irq, 0x0b, "irq from config byte 0x3c");
	cr_assert_eq(dev(m, "0000:82:02.0")->class_code, 0x020000, "the PF's class defaulted from its driver");
	cr_assert_eq(dev(m, "0000:82:02.0")->device, 0x154c);
	cr_assert_eq(dev(m, "0000:82:00.0")->n_vfs, 1);
	vk_host_model_free(m);
}

/* PCI ids: 0x hex in any case; a lone digit is the same in both bases. */
Test(scenario, pci_ids_are_hex)
{
	struct vk_host_model *m = load_ok("version: 1\ndevices:\n"
	                                  "  - {address: 0000:00:01.0, vendor: 0x1022, device: 0X14DA, class: 0x060400,\n"
	                                  "     revision: 0x0a, subsystem_vendor: 7, subsystem_device: 0}\n"
	                                  "  - {address: 0000:00:02.0, vendor: 0x15b3, device: 0x101d, sriov: {totalvfs: 2, "
	                                  "vf_device: 0x101e}}\n"
	                                  "  - {address: 0000:00:02.1, physfn: 0000:00:02.0}\n");
	const struct vk_host_device *d = dev(m, "0000:00:01.0");

	cr_assert_eq(d->vendor, 0x1022);
	cr_assert_eq(d->device, 0x14da);
	cr_assert_eq(d->class_code, 0x060400);
	cr_assert_eq(d->revision, 0x0a);
	cr_assert_eq(d->subsystem_vendor, 7);
	cr_assert_eq(d->subsystem_device, 0);
	cr_assert_eq(dev(m, "0000:00:02.1")->device, 0x101e);
	vk_host_model_free(m);
}

Test(scenario, lenient_spellings)
{
	struct vk_host_model *m = load_ok("version: 1\nname: café\nkernel: {iommufd: Y, vfio_device_cdev: On}\n---\n");

	cr_assert_str_eq(m->name, "café");
	cr_assert(m->iommufd && m->vfio_device_cdev);
	vk_host_model_free(m);
}

Test(scenario, bridge_config_keeps_the_scenario_subsystem_ids)
{
	struct vk_host_model *m = load_ok("version: 1\ndevices:\n  - address: 0000:00:01.0\n    subsystem_vendor: 0x8086\n"
	                                  "    config: |\n"
	                                  "      86 80 30 20 06 00 10 00 04 00 04 06 10 00 01 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 01 01 00 00 00 00 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 0b 01 00 00\n"
	                                  "  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 1, device: 2}\n");

	cr_assert_eq(dev(m, "0000:00:01.0")->subsystem_vendor, 0x8086);
	cr_assert_eq(dev(m, "0000:00:01.0")->class_code, 0x060400);
	vk_host_model_free(m);
}

/* vfio-pci variant drivers (mlx5_vfio_pci, xe-vfio-pci, ...) are vfio-pci-core
 * drivers: a cdev index, the VFIO modules by default, a group in no-IOMMU mode;
 * their own module is the driver name with '-' as '_'. */
Test(scenario, variant_drivers_are_vfio_pci_devices)
{
	static const char *const known[] = {"mlx5_vfio_pci", "hisi_acc_vfio_pci", "pds_vfio_pci", "nvgrace_gpu_vfio_pci",
	                                    "virtio_vfio_pci", "qat_vfio_pci", "xe-vfio-pci"};
	char yaml[512];

	cr_assert_str_eq(vk_host_driver_module("mlx5_vfio_pci"), "mlx5_vfio_pci");
	cr_assert_str_eq(vk_host_driver_module("xe-vfio-pci"), "xe_vfio_pci");
	cr_assert_str_eq(vk_host_driver_module("vfio-pci"), "vfio_pci");
	/* every variant the kernel has is known without a declaration */
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		snprintf(yaml, sizeof(yaml), HDR "devices:\n  - {address: 0000:01:00.0, vendor: 1, device: 2, driver: %s}\n",
		         known[i]);
		struct vk_host_model *m = load_ok(yaml);
		cr_assert_eq(dev(m, "0000:01:00.0")->vfio_index, 0, "%s: a cdev index", known[i]);
		cr_assert(vk_host_model_has_module(m, vk_host_driver_module(known[i])), "%s: its own module", known[i]);
		cr_assert(vk_host_model_has_module(m, "vfio_pci_core"), "%s: vfio_pci_core by default", known[i]);
		cr_assert_geq(m->groups[0].vfio_minor, 0, "%s: vfio holds its group", known[i]);
		vk_host_model_free(m);
	}

	/* modules given: its own and vfio_pci_core suffice, vfio_pci is not needed */
	struct vk_host_model *m = load_ok(
		"version: 1\nkernel: {iommu: intel, vfio_device_cdev: true, iommufd: true,\n"
		"         modules: [vfio, vfio_pci_core, iommufd, {name: mlx5_vfio_pci, builtin: true}], drivers: [mlx5_vfio_pci]}\n"
		"devices:\n"
		"  - {address: 0000:01:00.0, vendor: 0x10de, device: 0x2204, driver: nvme}\n"
		"  - {address: 0000:41:00.1, vendor: 0x15b3, device: 0x101e, driver: mlx5_vfio_pci, vfio_cdev: 4,\n"
		"     vfio_node: {mode: 0660}}\n"
		"  - {address: 0000:41:00.2, vendor: 0x15b3, device: 0x101e, driver: mlx5_vfio_pci}\n");
	cr_assert(!vk_host_model_has_module(m, "vfio_pci"));
	cr_assert_eq(dev(m, "0000:41:00.1")->vfio_index, 4);
	cr_assert_eq(dev(m, "0000:41:00.1")->vfio_node.mode, 0660);
	cr_assert_eq(dev(m, "0000:41:00.2")->vfio_index, 0, "the lowest index nobody claims");
	cr_assert_eq(dev(m, "0000:01:00.0")->vfio_index, -1);
	vk_host_model_free(m);

	/* no-IOMMU mode: a variant's device gets a fake group, as vfio-pci's does */
	m = load_ok("version: 1\nkernel: {iommu: none, noiommu: true}\ndevices:\n"
	            "  - {address: 0000:00:02.0, vendor: 1, device: 2, driver: nvme}\n"
	            "  - {address: 0000:00:03.0, vendor: 1, device: 2, driver: pds_vfio_pci, iommu_group: 7}\n"
	            "  - {address: 0000:00:04.0, vendor: 1, device: 2, driver: qat_vfio_pci}\n");
	cr_assert_eq(dev(m, "0000:00:02.0")->iommu_group, -1);
	cr_assert_eq(dev(m, "0000:00:03.0")->iommu_group, 7);
	cr_assert_eq(dev(m, "0000:00:04.0")->iommu_group, 0);
	vk_host_model_free(m);
}
