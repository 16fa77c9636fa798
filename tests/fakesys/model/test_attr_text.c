/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The texts the tree build formats by hand (fakesys/src/tree/textfmt.h) are
 * printf's with the kernel's formats, byte for byte: each attribute of a
 * model's devices against snprintf() of the format the kernel uses
 * (drivers/pci/pci-sysfs.c, pci-driver.c, iov.c; proc/bus/pci/devices,
 * proc/interrupts), on values at the edges of their widths: ids of 0 and
 * 0xffff, a 5-digit domain, numa_node -1, an irq of 10 digits, bus 0xff.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "testutil.h"

static struct vk_host_model *model;
static struct vtree *tree;

static void teardown(void)
{
	vk_vtree_free(tree);
	vk_host_model_free(model);
	tree = NULL;
	model = NULL;
}

#define EDGES \
	"version: 1\nkernel: {iommu: intel, interrupt_remapping: true, modules: [vfio, vfio_pci, vfio_pci_core]}\n" \
	"devices:\n" \
	"  - {address: 0000:00:01.0, vendor: 0x8086, device: 0x2030, class: 0x060400, driver: pcieport}\n" \
	"  - {address: 0000:ff:00.0, parent: 0000:00:01.0, vendor: 0xffff, device: 0, subsystem_vendor: 0xabcd,\n" \
	"     subsystem_device: 0x00ef, class: 0xff00fe, revision: 0xa1, irq: 4294967295, numa_node: -1,\n" \
	"     driver: vfio-pci, sriov: {totalvfs: 7, vf_device: 0xa}}\n" \
	"  - {address: 0000:00:02.0, vendor: 0x0001, device: 0x1, class: 0, revision: 0, irq: 9, numa_node: 3}\n" \
	"  - {address: 0000:00:0e.0, vendor: 0x8086, device: 0x467f, driver: vmd, numa_node: 1}\n" \
	"  - {address: 1abcd:e0:1f.7, parent: 0000:00:0e.0, vendor: 0x8086, device: 0x464d, class: 0x060400}\n"

static void load(void)
{
	struct vk_error e = {0};
	cr_assert_eq(vk_host_model_load_buffer("t.yaml", EDGES, strlen(EDGES), &model, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_host_tree_build(model, &tree, &e), 0, "%s", e.msg);
}

/* The content of @dir/@name, NUL-terminated. */
static const char *content(const char *dir, const char *name)
{
	static char buf[1 << 16];
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct vk_vt_node *n = vk_vtree_lookup(tree, path);

	cr_assert_not_null(n, "%s missing", path);
	cr_assert_eq(n->type, VK_VT_FILE, "%s is not a file", path);
	cr_assert_lt(n->u.file.len, sizeof(buf));
	size_t got = vk_vt_file_read(n, 0, buf, sizeof(buf) - 1);
	buf[got] = '\0';
	return buf;
}

/* The device directory of @d: sys/bus/pci/devices/<addr> is a link to it. */
static void dev_dir(const struct vk_host_device *d, char *buf, size_t len)
{
	char a[VK_PCI_ADDR_STRLEN], link[64];
	vk_pci_addr_format(&d->addr, a);
	snprintf(link, sizeof(link), "sys/bus/pci/devices/%s", a);
	struct vk_vt_node *n = vk_vtree_lookup(tree, link);
	cr_assert_not_null(n, "%s", link);
	cr_assert_eq(n->type, VK_VT_LINK);
	cr_assert_eq(strncmp(n->u.link.target, "../../../", 9), 0, "%s", n->u.link.target);
	snprintf(buf, len, "sys/%s", n->u.link.target + 9);
}

#define EXPECT(dir, name, ...) \
	do { \
		char want_[1024]; \
		snprintf(want_, sizeof(want_), __VA_ARGS__); \
		cr_assert_str_eq(content(dir, name), want_, "%s/%s", dir, name); \
	} while (0)

Test(attr_text, every_device_attribute_is_printf_of_the_kernel_format, .init = load, .fini = teardown)
{
	for (size_t i = 0; i < model->n_devices; i++) {
		const struct vk_host_device *d = &model->devices[i];
		uint32_t c = d->class_code;
		char dir[4096], a[VK_PCI_ADDR_STRLEN];
		vk_pci_addr_format(&d->addr, a);
		dev_dir(d, dir, sizeof(dir));

		EXPECT(dir, "vendor", "0x%04x\n", d->vendor);
		EXPECT(dir, "device", "0x%04x\n", d->device);
		EXPECT(dir, "subsystem_vendor", "0x%04x\n", d->subsystem_vendor);
		EXPECT(dir, "subsystem_device", "0x%04x\n", d->subsystem_device);
		EXPECT(dir, "class", "0x%06x\n", c);
		EXPECT(dir, "revision", "0x%02x\n", d->revision);
		EXPECT(dir, "irq", "%u\n", d->irq);
		EXPECT(dir, "numa_node", "%d\n", d->numa_node);
		EXPECT(dir, "enable", "%d\n", d->driver ? 1 : 0);
		EXPECT(dir, "modalias", "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n", d->vendor, d->device,
		       d->subsystem_vendor, d->subsystem_device, c >> 16, (c >> 8) & 0xff, c & 0xff);
		EXPECT(dir, "uevent",
		       "%s%s%sPCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\n"
		       "MODALIAS=pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n",
		       d->driver ? "DRIVER=" : "", d->driver ? d->driver : "", d->driver ? "\n" : "", c, d->vendor,
		       d->device, d->subsystem_vendor, d->subsystem_device, a, d->vendor, d->device,
		       d->subsystem_vendor, d->subsystem_device, c >> 16, (c >> 8) & 0xff, c & 0xff);
		EXPECT(dir, "power/runtime_status", "%s\n", d->driver ? "active" : "suspended");
		if (d->sriov_totalvfs) {
			EXPECT(dir, "sriov_totalvfs", "%u\n", d->sriov_totalvfs);
			EXPECT(dir, "sriov_numvfs", "%u\n", d->n_vfs);
			EXPECT(dir, "sriov_vf_device", "%x\n", d->sriov_vf_device ? d->sriov_vf_device : d->device);
		}
		if ((c >> 8) == 0x0604) {
			EXPECT(dir, "secondary_bus_number", "%u\n", vk_host_config_byte(d, 0x19));
			EXPECT(dir, "subordinate_bus_number", "%u\n", vk_host_config_byte(d, 0x1a));
		}
	}
}

Test(attr_text, the_edges_are_where_they_should_be, .init = load, .fini = teardown)
{
	/* the values above reach the widths' edges: a check of the scenario itself */
	const char *dir = "sys/devices/pci0000:00/0000:00:01.0/0000:ff:00.0";
	cr_assert_str_eq(content(dir, "irq"), "4294967295\n");
	cr_assert_str_eq(content(dir, "numa_node"), "-1\n");
	cr_assert_str_eq(content(dir, "device"), "0x0000\n");
	cr_assert_str_eq(content(dir, "class"), "0xff00fe\n");
	cr_assert_str_eq(content(dir, "sriov_vf_device"), "a\n");
	cr_assert_not_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:0e.0/pci1abcd:e0/1abcd:e0:1f.7/uevent"),
	                   "a domain of 5 digits names its directories with all of them");
}

Test(attr_text, proc_lines_are_printf_of_the_kernel_format, .init = load, .fini = teardown)
{
	const char *devices = content("proc/bus/pci", "devices");
	const char *interrupts;
	char want[1024];

	/* show_device(): one line per device; the driver last */
	for (size_t i = 0; i < model->n_devices; i++) {
		const struct vk_host_device *d = &model->devices[i];
		int n = snprintf(want, sizeof(want), "%02x%02x\t%04x%04x\t%x\t", d->addr.bus,
		                 d->addr.slot << 3 | d->addr.function, d->vendor, d->device, d->irq);
		cr_assert_not_null(strstr(devices, want), "proc/bus/pci/devices has no line starting %s", want);
		const char *line = strstr(devices, want);
		const char *end = strchr(line, '\n');
		cr_assert_not_null(end);
		/* the 14 numbers (starts, sizes) read back and printed again: "\t%16llx" each */
		const char *p = line + n - 1;
		for (int k = 0; k < 14; k++) {
			char *q;
			unsigned long long v = strtoull(p + 1, &q, 16);
			n += snprintf(want + n, sizeof(want) - (size_t)n, "%16llx\t", v);
			p = q;
		}
		snprintf(want + n, sizeof(want) - (size_t)n, "%s", d->driver ? d->driver : "");
		cr_assert_eq((size_t)(end - line), strlen(want), "%.*s", (int)(end - line), line);
		cr_assert_eq(strncmp(line, want, strlen(want)), 0, "%.*s\n%s", (int)(end - line), line, want);
	}
	/* show_interrupts(): "%3d: " (wider above 999), "%10u " per CPU (2 without CPUs) */
	interrupts = content("proc", "interrupts");
	size_t irq = 24;
	uint32_t ncpu = model->cpu_vendor && model->cpu_count ? model->cpu_count : 2;
	const char *ir = model->interrupt_remapping && model->iommu != VK_IOMMU_NONE ? "IR-" : "";
	cr_assert_str_eq(ir, "IR-", "the scenario has interrupt remapping");
	for (size_t i = 0; i < model->n_devices; i++) {
		const struct vk_host_device *d = &model->devices[i];
		char a[VK_PCI_ADDR_STRLEN];
		if (!d->driver)
			continue;
		int n = snprintf(want, sizeof(want), "%3zu: ", irq++);
		for (uint32_t c = 0; c < ncpu; c++)
			n += snprintf(want + n, sizeof(want) - (size_t)n, "%10u ", 0u);
		snprintf(want + n, sizeof(want) - (size_t)n, "  %sPCI-MSI-%s    0-edge      %s\n", ir,
		         vk_pci_addr_format(&d->addr, a), d->driver);
		cr_assert_not_null(strstr(interrupts, want), "proc/interrupts has no line %s in\n%s", want, interrupts);
	}
}

Test(attr_text, the_udev_db_entry_is_printf_of_udev_format, .init = load, .fini = teardown)
{
	for (size_t i = 0; i < model->n_devices; i++) {
		const struct vk_host_device *d = &model->devices[i];
		char a[VK_PCI_ADDR_STRLEN], name[64], want[256], tag[64];
		vk_pci_addr_format(&d->addr, a);
		snprintf(name, sizeof(name), "+pci:%s", a);
		snprintf(tag, sizeof(tag), "pci-%s", a);
		for (char *p = tag + 4; *p; p++)
			*p = *p == ':' || *p == '.' ? '_' : *p;
		const char *db = content("run/udev/data", name);
		snprintf(want, sizeof(want), "I:%llu\n", 3000000ull + 1000ull * i);
		cr_assert_eq(strncmp(db, want, strlen(want)), 0, "%s: %s", name, db);
		snprintf(want, sizeof(want), "E:ID_PATH=pci-%s\nE:ID_PATH_TAG=%s\nV:1\n", a, tag);
		cr_assert(strlen(db) >= strlen(want) && !strcmp(db + strlen(db) - strlen(want), want), "%s: %s", name, db);
	}
}
