/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The renderer: kernel shapes of the tree built from a model. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/host_tree.h>
#include <vfiokit/pci_addr.h>

#include "testutil.h"

static struct vtree *tree;
static struct vk_host_model *model;

static void build(const char *yaml)
{
	struct vk_error e = {0};

	cr_assert_eq(vk_host_model_load_buffer("t.yaml", yaml, strlen(yaml), &model, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_host_tree_build(model, &tree, &e), 0, "%s", e.msg);
}

static void build_default(void)
{
	char path[4096];
	struct vk_error e = {0};

	cr_assert_eq(vk_host_model_load(vk_scenario_path("default.yaml", path, sizeof(path)), &model, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_host_tree_build(model, &tree, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
	vk_vtree_free(tree);
	vk_host_model_free(model);
	tree = NULL;
	model = NULL;
}

static const char *content(const char *path)
{
	static char buf[8192];
	struct vk_vt_node *n = vk_vtree_lookup(tree, path);

	cr_assert_not_null(n, "%s missing", path);
	cr_assert_eq(n->type, VK_VT_FILE, "%s is not a file", path);
	cr_assert_lt(n->u.file.len, sizeof(buf));
	vk_vt_file_read(n, 0, buf, n->u.file.len);
	buf[n->u.file.len] = '\0';
	return buf;
}

static const char *target(const char *path)
{
	struct vk_vt_node *n = vk_vtree_lookup(tree, path);

	cr_assert_not_null(n, "%s missing", path);
	cr_assert_eq(n->type, VK_VT_LINK, "%s is not a link", path);
	return n->u.link.target;
}

#define GPU "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"

Test(host_tree, device_links_are_relative_like_sysfs, .init = build_default, .fini = teardown)
{
	cr_assert_str_eq(target("sys/bus/pci/devices/0000:01:00.0"), "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
	cr_assert_str_eq(target("sys/bus/pci/devices/0000:00:00.0"), "../../../devices/pci0000:00/0000:00:00.0");
	cr_assert_str_eq(target(GPU "/driver"), "../../../../bus/pci/drivers/vfio-pci");
	cr_assert_str_eq(target(GPU "/iommu_group"), "../../../../kernel/iommu_groups/12");
	cr_assert_str_eq(target(GPU "/subsystem"), "../../../../bus/pci");
	cr_assert_str_eq(target(GPU "/iommu"), "../../../virtual/iommu/dmar0");
	cr_assert_str_eq(target("sys/bus/pci/drivers/vfio-pci/0000:01:00.0"),
	                 "../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
	cr_assert_str_eq(target("sys/bus/pci/drivers/vfio-pci/module"), "../../../../module/vfio_pci");
	cr_assert_null(vk_vtree_lookup(tree, "sys/bus/pci/drivers/pcieport/module"), "built-in driver: no module link");
	cr_assert_str_eq(target("sys/kernel/iommu_groups/12/devices/0000:01:00.1"),
	                 "../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.1");
	cr_assert_str_eq(target("sys/class/vfio-dev/vfio0"), "../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/vfio-dev/vfio0");
	cr_assert_str_eq(target("sys/class/iommu/dmar1"), "../../devices/virtual/iommu/dmar1");
	cr_assert_str_eq(target("sys/devices/pci0000:80/0000:80:02.0/0000:81:02.1/physfn"), "../0000:81:00.0");
	cr_assert_str_eq(target("sys/devices/pci0000:80/0000:80:02.0/0000:81:00.0/virtfn1"), "../0000:81:02.1");
	cr_assert_str_eq(target(GPU "/vfio-dev/vfio0/device"), "../../../0000:01:00.0");
}

Test(host_tree, attributes_use_the_kernel_formats, .init = build_default, .fini = teardown)
{
	cr_assert_str_eq(content(GPU "/vendor"), "0x10de\n");
	cr_assert_str_eq(content(GPU "/device"), "0x2204\n");
	cr_assert_str_eq(content(GPU "/subsystem_vendor"), "0x1458\n");
	cr_assert_str_eq(content(GPU "/class"), "0x030000\n");
	cr_assert_str_eq(content(GPU "/revision"), "0xa1\n");
	cr_assert_str_eq(content(GPU "/numa_node"), "0\n");
	cr_assert_str_eq(content(GPU "/driver_override"), "vfio-pci\n");
	cr_assert_str_eq(content("sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0/driver_override"), "(null)\n");
	cr_assert_str_eq(content(GPU "/modalias"), "pci:v000010DEd00002204sv00001458sd0000403Bbc03sc00i00\n");
	cr_assert(strstr(content(GPU "/uevent"), "DRIVER=vfio-pci\nPCI_CLASS=30000\nPCI_ID=10DE:2204\n"), "%s",
	          content(GPU "/uevent"));
	cr_assert(strstr(content(GPU "/uevent"), "PCI_SLOT_NAME=0000:01:00.0\n"));
	const char *res = content(GPU "/resource");
	cr_assert_eq(strlen(res), 13 * 57, "13 resource lines for an endpoint");
	cr_assert_eq(strncmp(res + 38, "0x000000000014220c\n", 19), 0, "%s", res);
	cr_assert_eq(strlen(content("sys/devices/pci0000:00/0000:00:01.0/resource")), 17 * 57);
	struct vk_vt_node *cfg = vk_vtree_lookup(tree, GPU "/config");
	cr_assert_eq(cfg->u.file.len, 4096, "a PCIe device: 4096 bytes (pci_dev_config_attr_is_visible())");
	cr_assert_eq(cfg->u.file.data[0], 0xde);
	cr_assert_eq(cfg->mode, 0644);
	cr_assert_str_eq(content("sys/devices/pci0000:00/0000:00:01.0/secondary_bus_number"), "1\n");
	cr_assert_str_eq(content(GPU "/vfio-dev/vfio0/dev"), "511:0\n");
	cr_assert_str_eq(content("sys/devices/pci0000:80/0000:80:02.0/0000:81:00.0/sriov_totalvfs"), "32\n");
	cr_assert_str_eq(content("sys/devices/pci0000:80/0000:80:02.0/0000:81:00.0/sriov_numvfs"), "2\n");
	cr_assert_str_eq(content("sys/kernel/iommu_groups/12/type"), "DMA-FQ\n");
	cr_assert_str_eq(content("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"), "N\n");
	cr_assert_str_eq(content("sys/module/vfio/initstate"), "live\n");
	cr_assert_str_eq(content("sys/devices/virtual/iommu/dmar0/intel-iommu/ecap"), "f050de\n");
	cr_assert(strstr(content("proc/cmdline"), "intel_iommu=on"));
	cr_assert_str_eq(content("sys/bus/pci/drivers_autoprobe"), "1\n");
	cr_assert_eq(vk_vtree_lookup(tree, "sys/bus/pci/drivers/vfio-pci/bind")->mode, 0200);
}

Test(host_tree, dev_nodes_are_stand_ins_with_owner_and_mode, .init = build_default, .fini = teardown)
{
	cr_assert_str_eq(content("dev/vfio/devices/vfio0"), VK_STANDIN_MAGIC " 511:0\n");
	cr_assert_str_eq(content("dev/vfio/devices/vfio2"), VK_STANDIN_MAGIC " 511:2\n");
	cr_assert_str_eq(content("dev/iommu"), VK_STANDIN_MAGIC " 10:122\n");
	cr_assert_str_eq(content("dev/vfio/vfio"), VK_STANDIN_MAGIC " 10:196\n");
	cr_assert_eq(vk_vtree_lookup(tree, "dev/vfio/vfio")->mode, 0666);
	cr_assert_eq(vk_vtree_lookup(tree, "dev/iommu")->mode, 0660);
	cr_assert_not_null(vk_vtree_lookup(tree, "dev/vfio/12"), "group with vfio-pci members has a node");
	cr_assert_null(vk_vtree_lookup(tree, "dev/vfio/7"), "group without vfio-pci members has none");
	cr_assert_str_eq(content("sys/devices/virtual/misc/iommu/dev"), "10:122\n");
}

Test(host_tree, vmd_domain_nests_under_its_parent, .fini = teardown)
{
	build("version: 1\nkernel: {iommu: intel, vfio_device_cdev: true}\ndevices:\n"
	      "  - {address: 0000:00:0e.0, vendor: 0x8086, device: 0x467f, driver: vmd, iommu_group: 3}\n"
	      "  - {address: 10000:e0:06.0, parent: 0000:00:0e.0, vendor: 0x8086, device: 0x464d, class: 0x060400, iommu_group: 3}\n"
	      "  - {address: 10000:e1:00.0, parent: 10000:e0:06.0, vendor: 0x144d, device: 0xa80a, driver: vfio-pci, iommu_group: 3}\n"
	      "  - {address: 0000:e0:06.0, vendor: 0x8086, device: 0x1234}\n");
	cr_assert_str_eq(target("sys/bus/pci/devices/10000:e1:00.0"),
	                 "../../../devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/10000:e1:00.0");
	cr_assert_str_eq(target("sys/bus/pci/devices/0000:e0:06.0"), "../../../devices/pci0000:e0/0000:e0:06.0");
	cr_assert_not_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/10000:e1:00.0/vfio-dev/vfio0/dev"));
}

Test(host_tree, without_cdev_the_vfio_dev_dir_has_no_dev, .fini = teardown)
{
	build("version: 1\nkernel: {iommu: amd, vfio_device_cdev: false}\ndevices:\n"
	      "  - {address: 0000:00:02.0, vendor: 1, device: 2, driver: vfio-pci}\n");
	cr_assert_not_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:02.0/vfio-dev/vfio0"));
	cr_assert_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:02.0/vfio-dev/vfio0/dev"));
	cr_assert_null(vk_vtree_lookup(tree, "dev/vfio/devices"));
	cr_assert_not_null(vk_vtree_lookup(tree, "dev/vfio/0"), "legacy group node still there");
	cr_assert_null(vk_vtree_lookup(tree, "dev/iommu"), "no iommufd, no /dev/iommu");
	cr_assert_str_eq(target("sys/class/iommu/ivhd0"), "../../devices/virtual/iommu/ivhd0");
}

Test(host_tree, noiommu_groups_and_missing_nodes, .fini = teardown)
{
	build("version: 1\nkernel: {iommu: none, noiommu: true, vfio_device_cdev: true, iommufd: true}\ndevices:\n"
	      "  - {address: 0000:00:02.0, vendor: 1, device: 2, driver: vfio-pci}\n"
	      "  - {address: 0000:00:03.0, vendor: 1, device: 2, driver: vfio-pci}\n"
	      "iommu_groups:\n  - {id: 1, node: {present: false}}\n"
	      "dev:\n  iommu: {present: false}\n");
	cr_assert_not_null(vk_vtree_lookup(tree, "dev/vfio/noiommu-0"));
	cr_assert_null(vk_vtree_lookup(tree, "dev/vfio/noiommu-1"), "present: false removes the node");
	cr_assert_null(vk_vtree_lookup(tree, "dev/iommu"));
	cr_assert_str_eq(content("sys/kernel/iommu_groups/0/name"), "vfio-noiommu\n");
	cr_assert_null(vk_vtree_lookup(tree, "sys/class/iommu"));
	cr_assert_str_eq(content("sys/module/vfio/parameters/enable_unsafe_noiommu_mode"), "Y\n");
	cr_assert_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:02.0/iommu"));
}

Test(host_tree, scales_to_many_devices, .fini = teardown)
{
	/* 4,000 endpoints behind 16 root ports: wide directories stay correct */
	size_t cap = 1 << 20, len = 0;
	char *y = malloc(cap);
	len += (size_t)snprintf(y + len, cap - len, "version: 1\nkernel: {iommu: intel}\ndevices:\n");
	for (int p = 0; p < 16; p++) {
		len += (size_t)snprintf(y + len, cap - len,
		                        "  - {address: 0000:00:%02x.0, vendor: 0x8086, device: 0x2030, class: 0x060400}\n", p);
		for (int d = 0; d < 250; d++)
			len += (size_t)snprintf(y + len, cap - len,
			                        "  - {address: 0000:%02x:%02x.%d, parent: 0000:00:%02x.0, vendor: 0x10de, device: 0x2204}\n",
			                        p + 1, d / 8, d % 8, p);
	}
	build(y);
	free(y);
	cr_assert_eq(model->n_devices, 16 + 16 * 250);
	struct vk_vt_node *devs = vk_vtree_lookup(tree, "sys/bus/pci/devices");
	cr_assert_eq(devs->u.dir.n, 16 + 16 * 250);
	cr_assert_str_eq(target("sys/bus/pci/devices/0000:10:1f.1"), "../../../devices/pci0000:00/0000:00:0f.0/0000:10:1f.1");
	cr_assert_not_null(vk_vtree_lookup(tree, "sys/kernel/iommu_groups/4015/devices"));
}

Test(host_tree, recorded_irq_and_resources_are_kept, .fini = teardown)
{
	build("version: 1\ndevices:\n  - address: 0000:00:05.0\n    vendor: 0x8086\n    device: 0x1234\n    irq: 34\n"
	      "    resources:\n      - [0xfe000000, 0xfeffffff, 0x40200]\n      - [0, 0, 0]\n");
	cr_assert_str_eq(content("sys/devices/pci0000:00/0000:00:05.0/irq"), "34\n");
	cr_assert_str_eq(content("sys/devices/pci0000:00/0000:00:05.0/resource"),
	                 "0x00000000fe000000 0x00000000feffffff 0x0000000000040200\n"
	                 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
	cr_assert_eq(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:05.0/config")->u.file.data[0x3c], 34);
}

Test(host_tree, cpu_gives_proc_cpuinfo, .fini = teardown)
{
	build("version: 1\ncpu: {vendor: intel, hypervisor: true}\n");
	cr_assert(strstr(content("proc/cpuinfo"), "vendor_id\t: GenuineIntel\n"));
	cr_assert(strstr(content("proc/cpuinfo"), " hypervisor\n"));
	teardown();
	build("version: 1\n");
	cr_assert_null(vk_vtree_lookup(tree, "proc/cpuinfo"), "no cpu: key, no cpuinfo");
}

Test(host_tree, driver_directories_link_their_module, .fini = teardown)
{
	build("version: 1\ndevices:\n"
	      "  - {address: 0000:00:1f.4, vendor: 0x8086, device: 0xa323, driver: i801_smbus}\n"
	      "  - {address: 0000:00:14.0, vendor: 0x8086, device: 0xa36d, driver: xhci_hcd}\n"
	      "  - {address: 0000:00:1c.0, vendor: 0x8086, device: 0xa338, driver: pcieport}\n");
	cr_assert_str_eq(target("sys/bus/pci/drivers/i801_smbus/module"), "../../../../module/i2c_i801");
	cr_assert_str_eq(target("sys/bus/pci/drivers/xhci_hcd/module"), "../../../../module/xhci_pci");
	cr_assert_null(vk_vtree_lookup(tree, "sys/bus/pci/drivers/pcieport/module"));
	cr_assert_not_null(vk_vtree_lookup(tree, "sys/module/i2c_i801/initstate"));
}

/* A device on a vfio-pci variant driver gets what vfio-pci gives: vfio-dev/vfioN
 * with its dev, the cdev and group stand-ins; its driver directory links the
 * variant's own module, and vfio_pci is not needed (modules given without it). */
Test(host_tree, variant_driver_gets_the_vfio_pci_tree, .fini = teardown)
{
#define VF "sys/devices/pci0000:40/0000:40:01.0/0000:41:02.0"
	build("version: 1\n"
	      "kernel: {iommu: intel, vfio_device_cdev: true, iommufd: true,\n"
	      "         modules: [vfio, vfio_pci_core, iommufd, mlx5_core, mlx5_vfio_pci], drivers: [mlx5_vfio_pci]}\n"
	      "devices:\n"
	      "  - {address: 0000:40:01.0, vendor: 0x8086, device: 0x1bbe, driver: pcieport}\n"
	      "  - {address: 0000:41:00.0, parent: 0000:40:01.0, vendor: 0x15b3, device: 0x1021, driver: mlx5_core,\n"
	      "     sriov: {totalvfs: 4, vf_device: 0x101e}}\n"
	      "  - {address: 0000:41:02.0, physfn: 0000:41:00.0, driver: mlx5_vfio_pci, iommu_group: 5,\n"
	      "     vfio_node: {owner: 107, group: 107, mode: 0660}}\n");
	cr_assert_str_eq(target(VF "/driver"), "../../../../bus/pci/drivers/mlx5_vfio_pci");
	cr_assert_str_eq(target("sys/bus/pci/drivers/mlx5_vfio_pci/0000:41:02.0"),
	                 "../../../../devices/pci0000:40/0000:40:01.0/0000:41:02.0");
	cr_assert_str_eq(target("sys/bus/pci/drivers/mlx5_vfio_pci/module"), "../../../../module/mlx5_vfio_pci");
	cr_assert_str_eq(content("sys/module/mlx5_vfio_pci/initstate"), "live\n");
	cr_assert_str_eq(content("sys/module/vfio_pci_core/initstate"), "live\n");
	cr_assert_null(vk_vtree_lookup(tree, "sys/module/vfio_pci"), "a variant does not need vfio_pci");
	cr_assert_null(vk_vtree_lookup(tree, "sys/bus/pci/drivers/vfio-pci"), "no vfio_pci module, no vfio-pci driver");
	cr_assert(strstr(content(VF "/uevent"), "DRIVER=mlx5_vfio_pci\n"), "%s", content(VF "/uevent"));
	/* the cdev, in sysfs and in /dev */
	cr_assert_str_eq(content(VF "/vfio-dev/vfio0/dev"), "511:0\n");
	cr_assert_str_eq(content(VF "/vfio-dev/vfio0/uevent"), "MAJOR=511\nMINOR=0\nDEVNAME=vfio/devices/vfio0\n");
	cr_assert_str_eq(target(VF "/vfio-dev/vfio0/device"), "../../../0000:41:02.0");
	cr_assert_str_eq(target("sys/class/vfio-dev/vfio0"),
	                 "../../devices/pci0000:40/0000:40:01.0/0000:41:02.0/vfio-dev/vfio0");
	cr_assert_str_eq(content("dev/vfio/devices/vfio0"), VK_STANDIN_MAGIC " 511:0\n");
	struct vk_vt_node *n = vk_vtree_lookup(tree, "dev/vfio/devices/vfio0");
	cr_assert_eq(n->mode, 0660);
	cr_assert_eq(n->uid, 107);
	/* the group node and its class device: vfio holds group 5 */
	cr_assert_str_eq(content("dev/vfio/5"), VK_STANDIN_MAGIC " 243:0\n");
	cr_assert_str_eq(content("sys/devices/virtual/vfio/5/dev"), "243:0\n");
	cr_assert_not_null(vk_vtree_lookup(tree, "dev/vfio/vfio"), "vfio is loaded");
	/* the PF on mlx5_core has none of it */
	cr_assert_null(vk_vtree_lookup(tree, "sys/devices/pci0000:40/0000:40:01.0/0000:41:00.0/vfio-dev"));
	cr_assert_null(vk_vtree_lookup(tree, "dev/vfio/devices/vfio1"));
	teardown();

	/* modules left to the defaults: the VFIO modules and the variant's own
	 * (KBUILD_MODNAME: '-' becomes '_'); no-IOMMU mode gives it a noiommu group */
	build("version: 1\nkernel: {noiommu: true}\n"
	      "devices:\n"
	      "  - {address: 0000:00:02.0, vendor: 0x8086, device: 0xe20b, class: 0x030000, driver: xe-vfio-pci}\n"
	      "  - {address: 0000:00:03.0, vendor: 0x8086, device: 0x0b25, driver: idxd}\n");
	cr_assert_str_eq(target("sys/bus/pci/drivers/xe-vfio-pci/module"), "../../../../module/xe_vfio_pci");
	cr_assert_not_null(vk_vtree_lookup(tree, "sys/module/xe_vfio_pci/initstate"));
	cr_assert_not_null(vk_vtree_lookup(tree, "sys/module/vfio_pci_core/initstate"));
	cr_assert_str_eq(content("dev/vfio/noiommu-0"), VK_STANDIN_MAGIC " 243:0\n");
	cr_assert_str_eq(target("sys/devices/pci0000:00/0000:00:02.0/iommu_group"), "../../../kernel/iommu_groups/0");
	cr_assert_not_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:02.0/vfio-dev/vfio0/uevent"));
	cr_assert_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:02.0/vfio-dev/vfio0/dev"), "no cdev in no-IOMMU mode");
	cr_assert_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:03.0/iommu_group"), "idxd: no fake group");
#undef VF
}

/* vfio_pci_core is enough for the VFIO nodes: it cannot be loaded without vfio. */
Test(host_tree, vfio_pci_core_alone_gives_the_vfio_nodes, .fini = teardown)
{
	build("version: 1\nkernel: {iommu: amd, vfio_device_cdev: true, modules: [vfio_pci_core, pds_vfio_pci]}\n"
	      "devices:\n  - {address: 0000:c1:00.1, vendor: 0x1dd8, device: 0x1003, driver: pds_vfio_pci}\n");
	cr_assert_str_eq(content("dev/vfio/devices/vfio0"), VK_STANDIN_MAGIC " 511:0\n");
	cr_assert_str_eq(content("dev/vfio/vfio"), VK_STANDIN_MAGIC " 10:196\n");
	cr_assert_not_null(vk_vtree_lookup(tree, "dev/vfio/0"));
	cr_assert_not_null(vk_vtree_lookup(tree, "sys/class/vfio-dev/vfio0"));
}

/* The @k-th number (from 0) after the 3 leading fields of a proc/bus/pci/devices line. */
static unsigned long long devices_field(const char *line, int k)
{
	const char *p = line;

	for (int tabs = 0; tabs < 3 + k; p++)
		tabs += *p == '\t';
	return strtoull(p, NULL, 16);
}

/* drivers/pci/proc.c show_device() prints the first 7 resources the sysfs
 * resource file shows (pci_resource_to_user()): each start with its low flag
 * bits, then each size.  Held here against the resource file's own text, read
 * back line by line, for every device of the scenario. */
static void devices_list_shows_the_resource_files(void)
{
	char *devices = strdup(content("proc/bus/pci/devices"));
	char path[4096], key[64];

	for (size_t i = 0; i < model->n_devices; i++) {
		const struct vk_host_device *d = &model->devices[i];
		cr_assert_eq(d->addr.domain, 0, "the list does not show domains: keys are one a device");
		snprintf(key, sizeof(key), "%02x%02x\t%04x%04x\t", d->addr.bus, d->addr.slot << 3 | d->addr.function,
		         d->vendor, d->device);
		const char *line = strstr(devices, key);
		cr_assert_not_null(line, "no line for %s", key);
		char a[VK_PCI_ADDR_STRLEN];
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s", vk_pci_addr_format(&d->addr, a));
		const char *to = target(path); /* "../../../devices/..." */
		cr_assert_eq(strncmp(to, "../../../", 9), 0, "%s", to);
		snprintf(path, sizeof(path), "sys/%s/resource", to + 9);
		const char *r = content(path);
		for (int k = 0; k < 7; k++) {
			unsigned long long start = 0, end = 0, flags = 0;
			if (*r) {
				cr_assert_eq(sscanf(r, "%llx %llx %llx", &start, &end, &flags), 3);
				r = strchr(r, '\n') + 1;
			}
			cr_assert_eq(devices_field(line, k), start | (flags & 0x0f), "%s BAR %d start", key, k);
			cr_assert_eq(devices_field(line, 7 + k), start < end ? end - start + 1 : 0, "%s BAR %d size", key, k);
		}
	}
	free(devices);
}

Test(host_tree, proc_devices_list_shows_the_resource_files, .fini = teardown)
{
	build("version: 1\ndevices:\n"
	      "  - address: 0000:00:05.0\n    vendor: 0x8086\n    device: 0x1234\n"
	      "    resources:\n      - [0xfe000000, 0xfeffffff, 0x40200]\n      - [0xe000, 0xe01f, 0x40101]\n"
	      "  - {address: 0000:00:1f.4, vendor: 0x8086, device: 0xa323, driver: i801_smbus}\n");
	devices_list_shows_the_resource_files();
	teardown();
	build_default();
	devices_list_shows_the_resource_files();
}

/* proc/interrupts' header and timer line as kernel/irq/proc.c prints them
 * ("%*s", "CPU%-8d" per CPU; "%*d: ", "%10u " per CPU), for 2 and 12 CPUs,
 * and its size is what it holds (written into a buffer sized beforehand). */
Test(host_tree, proc_interrupts_header_is_printfs, .fini = teardown)
{
	static const char *const yaml[] = {
		"version: 1\ndevices:\n  - {address: 0000:00:1f.4, vendor: 0x8086, device: 0xa323, driver: i801_smbus}\n",
		"version: 1\ncpu: {vendor: intel, count: 12}\nkernel: {iommu: intel, interrupt_remapping: true}\n"
		"devices:\n  - {address: 0000:00:1f.4, vendor: 0x8086, device: 0xa323, driver: i801_smbus}\n",
	};
	static const unsigned cpus[] = {2, 12};
	char want[1024];

	for (int k = 0; k < 2; k++) {
		build(yaml[k]);
		int n = snprintf(want, sizeof(want), "%11s", "");
		for (unsigned c = 0; c < cpus[k]; c++)
			n += snprintf(want + n, sizeof(want) - (size_t)n, "CPU%-8u", c);
		n += snprintf(want + n, sizeof(want) - (size_t)n, "\n%3d: %10u ", 0, 44u);
		for (unsigned c = 1; c < cpus[k]; c++)
			n += snprintf(want + n, sizeof(want) - (size_t)n, "%10u ", 0u);
		snprintf(want + n, sizeof(want) - (size_t)n, "  %sIO-APIC    2-edge      timer\n", k ? "IR-" : "");
		const char *text = content("proc/interrupts");
		cr_assert_eq(strncmp(text, want, strlen(want)), 0, "%s\n%s", text, want);
		cr_assert_eq(vk_vtree_lookup(tree, "proc/interrupts")->u.file.len, strlen(text));
		cr_assert_not_null(strstr(text + strlen(want), "PCI-MSI-0000:00:1f.4    0-edge      i801_smbus\n"));
		teardown();
	}
}
