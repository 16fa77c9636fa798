/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The platform keys of a scenario (cpu:, firmware:, a device's net:) and the
 * tree files they make, without a mount: every refusal with its key, the
 * defaults (an Intel or AMD IOMMU's host has that vendor's CPUs and table),
 * the kernel's formats (cpumask words, cpulists, ACPI tables whose checksum
 * holds, the interface attributes, proc/bus/pci's bus directories, udev's
 * entries), and what `fakesys record` writes back of them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>
#include <vfiokit/vtree.h>

#include "testutil.h"

#define HDR "version: 1\nname: t\n"
#define INTEL "kernel: {iommu: intel}\n"
#define NIC_DEVS \
	"devices:\n" \
	"  - {address: 0000:00:01.0, vendor: 0x8086, device: 0x2030, class: 0x060400, driver: pcieport, numa_node: 0}\n" \
	"  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 0x8086, device: 0x1572, class: 0x020000, " \
	"driver: i40e, numa_node: 1%s}\n" \
	"  - {address: 0000:01:00.1, parent: 0000:00:01.0, vendor: 0x8086, device: 0x1572, class: 0x020000, " \
	"driver: %s%s}\n"

static struct vk_host_model *load(const char *yaml, struct vk_error *e)
{
	struct vk_host_model *m = NULL;

	memset(e, 0, sizeof(*e));
	if (vk_host_model_load_buffer("t.yaml", yaml, strlen(yaml), &m, e) < 0)
		return NULL;
	return m;
}

static struct vk_host_model *load_ok(const char *yaml)
{
	struct vk_error e;
	struct vk_host_model *m = load(yaml, &e);

	cr_assert_not_null(m, "refused: %s\n%s", e.msg, yaml);
	return m;
}

/* A scenario of two NIC functions: @net0 and @net1 are the first's and the
 * second's net: keys (with a leading ", "), @drv1 the second's driver. */
static char *nics(const char *head, const char *net0, const char *drv1, const char *net1)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s" NIC_DEVS, head, net0, drv1, net1);
	return buf;
}

/* ---- refusals: each names its key ----------------------------------------------------- */

struct bad {
	const char *yaml;
	const char *key;  /* in the message as "key:" */
	const char *says; /* and this */
};

static const struct bad bad_cases[] = {
	{HDR "cpu: {vendor: intel, count: 0}\n", "count:", ""},
	{HDR "cpu: {vendor: intel, count: 8193}\n", "count:", ""},
	{HDR "cpu: {vendor: intel, nodes: 0}\n", "nodes:", ""},
	{HDR "cpu: {vendor: intel, model_name: \"\"}\n", "model_name:", "not a CPU model name"},
	{HDR "cpu: {vendor: intel, model_name: \"a\\tb\"}\n", "model_name:", "not a CPU model name"},
	{HDR "cpu: {vendor: intel, model_name: "
             "\"0123456789012345678901234567890123456789012345678901234567890123\"}\n",
         "model_name:", "not a CPU model name"},
	{HDR "cpu: {vendor: intel, flags: [fpu, VMX]}\n", "flags:", "'VMX' is not a cpuinfo flag"},
	{HDR "cpu: {vendor: intel, flags: \"fpu vmx fpu\"}\n", "flags:", "'fpu' is given twice"},
	{HDR "cpu: {vendor: intel, flags: [fpu, {a: b}]}\n", "flags:", ""},
	{HDR "cpu: {vendor: intel, flags: {a: b}}\n", "flags:", ""},
	{HDR "cpu: {vendor: intel, speed: 3}\n", "speed", ""},
	{HDR "cpu: {count: 4}\n", "cpu:", "needs vendor"},
	{HDR "cpu: {vendor: intel, nodes: 1}\ndevices:\n  - {address: 0000:00:02.0, vendor: 0x8086, device: 0x1, "
             "numa_node: 1}\n",
         "nodes:", "a device is on node 1"},
	{HDR "cpu: {vendor: intel, count: 1, nodes: 2}\n", "count:", "cannot fill 2 NUMA nodes"},
	{HDR "firmware: {acpi_tables: DMAR}\n", "acpi_tables:", ""},
	{HDR "firmware: {acpi_tables: [XSDT]}\n", "acpi_tables:", "'XSDT' is not a table fakesys makes"},
	{HDR "firmware: {acpi_tables: [DMAR, DMAR]}\n", "acpi_tables:", "'DMAR' is given twice"},
	{HDR "firmware: {acpi_tables: [{a: b}]}\n", "acpi_tables:", ""},
	{HDR "firmware: {tables: []}\n", "tables", ""},
};

Test(platform, refusals)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *c = &bad_cases[i];
		struct vk_error e;
		struct vk_host_model *m = load(c->yaml, &e);

		cr_assert_null(m, "accepted:\n%s", c->yaml);
		cr_assert_not_null(strstr(e.msg, c->key), "%s: %s", c->key, e.msg);
		cr_assert_not_null(strstr(e.msg, c->says), "'%s' not in: %s", c->says, e.msg);
		cr_assert_not_null(strstr(e.msg, "t.yaml:"), "%s", e.msg);
	}
}

static void refused(const char *yaml, const char *says)
{
	struct vk_error e;
	struct vk_host_model *m = load(yaml, &e);

	cr_assert_null(m, "accepted:\n%s", yaml);
	cr_assert_not_null(strstr(e.msg, says), "'%s' not in: %s", says, e.msg);
	cr_assert_not_null(strstr(e.msg, "t.yaml:"), "%s", e.msg);
}

Test(platform, net_refusals)
{
	refused(nics(HDR INTEL, ", net: ens1", "i40e", ", net: ens2"), "");
	refused(nics(HDR INTEL, ", net: [0123456789abcdef]", "i40e", ""), "not an interface name");
	refused(nics(HDR INTEL, ", net: [a/b]", "i40e", ""), "not an interface name");
	refused(nics(HDR INTEL, ", net: [\"a:b\"]", "i40e", ""), "not an interface name");
	refused(nics(HDR INTEL, ", net: [.]", "i40e", ""), "not an interface name");
	refused(nics(HDR INTEL, ", net: [{name: \"a b\"}]", "i40e", ""), "not an interface name");
	refused(nics(HDR INTEL, ", net: [ens1]", "i40e", ", net: [ens1]"), "named twice");
	refused(nics(HDR INTEL, "", "vfio-pci", ", net: [ens2]"), "bound to vfio-pci");
	refused(nics(HDR INTEL, "", "null", ", net: [ens2]"), "without a driver");
	refused(nics(HDR INTEL, ", net: [{name: e, address: \"3c:fd:fe:a1:b2\"}]", "i40e", ""), "not a unicast MAC");
	refused(nics(HDR INTEL, ", net: [{name: e, address: \"3d:fd:fe:a1:b2:c3\"}]", "i40e", ""), "not a unicast MAC");
	refused(nics(HDR INTEL, ", net: [{name: e, address: \"00:00:00:00:00:00\"}]", "i40e", ""), "not a unicast MAC");
	refused(nics(HDR INTEL, ", net: [{name: e, address: \"3c:fd:fe:a1:b2:cg\"}]", "i40e", ""), "not a unicast MAC");
	refused(nics(HDR INTEL, ", net: [{name: e, state: dormant}]", "i40e", ""), "not an interface state");
	refused(nics(HDR INTEL, ", net: [{address: \"3c:fd:fe:a1:b2:c3\"}]", "i40e", ""), "needs name:");
	refused(nics(HDR INTEL, ", net: [{name: e, mtu: 9000}]", "i40e", ""), "mtu");
}

/* ---- defaults --------------------------------------------------------------------- */

static bool has_flag(const struct vk_host_model *m, const char *f)
{
	for (size_t i = 0; i < m->n_cpu_flags; i++)
		if (!strcmp(m->cpu_flags[i], f))
			return true;
	return false;
}

Test(platform, the_iommu_decides_the_cpus_and_tables)
{
	char path[4096];
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_host_model_load(vk_scenario_path("default.yaml", path, sizeof(path)), &m, &e), 0, "%s", e.msg);
	cr_assert_str_eq(m->cpu_vendor, "GenuineIntel");
	cr_assert_eq(m->cpu_nodes, 2, "the devices are on nodes 0 and 1");
	cr_assert_eq(m->cpu_count, 8, "4 per node");
	cr_assert(has_flag(m, "vmx") && !has_flag(m, "svm") && !m->cpu_hypervisor);
	cr_assert_eq(m->acpi_tables, VK_HOST_ACPI_DMAR);
	vk_host_model_free(m);

	m = load_ok(HDR "kernel: {iommu: amd}\n");
	cr_assert_str_eq(m->cpu_vendor, "AuthenticAMD");
	cr_assert_eq(m->cpu_nodes, 1);
	cr_assert_eq(m->cpu_count, 4);
	cr_assert(has_flag(m, "svm") && !has_flag(m, "vmx"));
	cr_assert_eq(m->acpi_tables, VK_HOST_ACPI_IVRS);
	cr_assert_str_eq(m->cpu_model_name, "AMD EPYC 7302 16-Core Processor");
	vk_host_model_free(m);

	/* no IOMMU and no cpu: nothing modelled: the host's own show */
	m = load_ok(HDR "kernel: {iommu: none}\n");
	cr_assert_null(m->cpu_vendor);
	cr_assert_eq(m->acpi_tables, 0);
	vk_host_model_free(m);

	/* given: kept; the hypervisor flag follows hypervisor: and the list */
	m = load_ok(HDR "kernel: {iommu: none}\ncpu: {vendor: hygon, count: 3, hypervisor: true, flags: [fpu, svm]}\n"
	                "firmware: {acpi_tables: [IVRS, DMAR]}\n");
	cr_assert_eq(m->n_cpu_flags, 3);
	cr_assert_str_eq(m->cpu_flags[2], "hypervisor");
	cr_assert(m->cpu_hypervisor);
	cr_assert_eq(m->cpu_count, 3);
	cr_assert_eq(m->acpi_tables, VK_HOST_ACPI_DMAR | VK_HOST_ACPI_IVRS);
	vk_host_model_free(m);
	m = load_ok(HDR INTEL "cpu: {flags: \"fpu  hypervisor vmx\"}\nfirmware: {acpi_tables: []}\n");
	cr_assert(m->cpu_hypervisor, "a list with the flag is a VM");
	cr_assert_str_eq(m->cpu_vendor, "GenuineIntel", "vendor from the IOMMU");
	cr_assert_eq(m->acpi_tables, 0, "[] is no table");
	vk_host_model_free(m);
}

/* ---- the tree ------------------------------------------------------------------------ */

static struct vtree *tree_of(struct vk_host_model *m)
{
	struct vtree *t = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_host_tree_build(m, &t, &e), 0, "%s", e.msg);
	return t;
}

static const char *text(struct vtree *t, const char *path)
{
	static char buf[1 << 17];
	const struct vk_vt_node *n = vk_vtree_lookup(t, path);

	cr_assert_not_null(n, "%s missing", path);
	cr_assert_eq(n->type, VK_VT_FILE, "%s", path);
	snprintf(buf, sizeof(buf), "%.*s", (int)n->u.file.len, (const char *)n->u.file.data);
	return buf;
}

static const char *link_of(struct vtree *t, const char *path)
{
	const struct vk_vt_node *n = vk_vtree_lookup(t, path);

	cr_assert_not_null(n, "%s missing", path);
	cr_assert_eq(n->type, VK_VT_LINK, "%s", path);
	return n->u.link.target;
}

/* Masks as the kernel's %*pb: 32-bit words, most significant first, the
 * first one only as wide as the bits left; lists as %*pbl. */
Test(platform, cpu_masks_and_lists)
{
	struct vk_host_model *m = load_ok(HDR "cpu: {vendor: intel, count: 40, nodes: 2}\n");
	struct vtree *t = tree_of(m);

	cr_assert_str_eq(text(t, "sys/devices/system/cpu/online"), "0-39\n");
	cr_assert_str_eq(text(t, "sys/devices/system/node/node0/cpumap"), "00,000fffff\n");
	cr_assert_str_eq(text(t, "sys/devices/system/node/node1/cpumap"), "ff,fff00000\n");
	cr_assert_str_eq(text(t, "sys/devices/system/node/node1/cpulist"), "20-39\n");
	cr_assert_str_eq(text(t, "sys/devices/system/node/node1/distance"), "21 10\n");
	cr_assert_str_eq(text(t, "sys/devices/system/cpu/cpu33/topology/thread_siblings"), "02,00000000\n");
	cr_assert_str_eq(text(t, "sys/devices/system/cpu/cpu33/topology/package_cpus_list"), "20-39\n");
	cr_assert_str_eq(text(t, "sys/devices/system/cpu/cpu33/topology/core_id"), "13\n");
	cr_assert_str_eq(text(t, "sys/devices/system/cpu/cpu33/topology/physical_package_id"), "1\n");
	cr_assert_str_eq(link_of(t, "sys/devices/system/cpu/cpu33/node1"), "../../node/node1");
	cr_assert_str_eq(link_of(t, "sys/devices/system/node/node1/cpu33"), "../../cpu/cpu33");
	cr_assert_str_eq(link_of(t, "sys/bus/cpu/devices/cpu0"), "../../../devices/system/cpu/cpu0");
	cr_assert_null(vk_vtree_lookup(t, "sys/devices/system/cpu/cpu0/online"), "the boot CPU is not hotpluggable");
	cr_assert_str_eq(text(t, "sys/devices/system/cpu/cpu1/online"), "1\n");
	cr_assert_null(vk_vtree_lookup(t, "sys/devices/system/cpu/cpu40"));
	/* cpuinfo: 40 blocks, the second package's first CPU as sysfs has it */
	const char *ci = text(t, "proc/cpuinfo");
	size_t blocks = 0;
	for (const char *p = ci; (p = strstr(p, "processor\t: ")); p++)
		blocks++;
	cr_assert_eq(blocks, 40);
	const char *c20 = strstr(ci, "processor\t: 20\n");
	cr_assert_not_null(c20);
	cr_assert_not_null(strstr(c20, "physical id\t: 1\nsiblings\t: 20\ncore id\t\t: 0\ncpu cores\t: 20\n"));
	cr_assert_not_null(strstr(ci, "power management:\n\n"), "no space after an empty value");
	/* proc/interrupts: a column per CPU */
	const char *irq = text(t, "proc/interrupts");
	cr_assert_not_null(strstr(irq, "CPU39      \n"), "%s", irq);
	vk_vtree_free(t);
	vk_host_model_free(m);
}

Test(platform, local_cpus_follow_the_numa_node)
{
	struct vk_host_model *m = load_ok(nics(HDR INTEL, "", "i40e", ", numa_node: -1"));
	struct vtree *t = tree_of(m);

	cr_assert_str_eq(text(t, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/local_cpulist"), "4-7\n");
	cr_assert_str_eq(text(t, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/local_cpus"), "f0\n");
	/* no node: every CPU */
	cr_assert_str_eq(text(t, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1/local_cpulist"), "0-7\n");
	vk_vtree_free(t);
	vk_host_model_free(m);
	/* without CPUs, no such files */
	m = load_ok(HDR "kernel: {iommu: none}\ndevices:\n  - {address: 0000:00:02.0, vendor: 0x8086, device: 0x1}\n");
	t = tree_of(m);
	cr_assert_null(vk_vtree_lookup(t, "sys/devices/pci0000:00/0000:00:02.0/local_cpus"));
	cr_assert_null(vk_vtree_lookup(t, "sys/devices/system/cpu"));
	cr_assert_null(vk_vtree_lookup(t, "proc/cpuinfo"));
	cr_assert_null(vk_vtree_lookup(t, "sys/firmware"));
	vk_vtree_free(t);
	vk_host_model_free(m);
}

static const uint8_t *table(struct vtree *t, const char *name, size_t *len)
{
	char path[128];
	snprintf(path, sizeof(path), "sys/firmware/acpi/tables/%s", name);
	const struct vk_vt_node *n = vk_vtree_lookup(t, path);
	cr_assert_not_null(n, "%s missing", path);
	cr_assert_eq(n->mode, 0400);
	*len = n->u.file.len;
	cr_assert_geq(*len, 48);
	const uint8_t *b = n->u.file.data;
	uint8_t sum = 0;
	for (size_t i = 0; i < *len; i++)
		sum = (uint8_t)(sum + b[i]);
	cr_assert_eq(sum, 0, "%s: checksum", name);
	cr_assert_eq(memcmp(b, name, 4), 0);
	cr_assert_eq((size_t)(b[4] | b[5] << 8 | b[6] << 16 | (uint32_t)b[7] << 24), *len, "%s: length", name);
	return b;
}

Test(platform, acpi_tables)
{
	char path[4096];
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};
	size_t len;

	cr_assert_eq(vk_host_model_load(vk_scenario_path("default.yaml", path, sizeof(path)), &m, &e), 0, "%s", e.msg);
	struct vtree *t = tree_of(m);
	const uint8_t *d = table(t, "DMAR", &len);
	cr_assert_eq(d[36], 45, "HAW: 46 bits");
	cr_assert_eq(d[37] & 1, 1, "INTR_REMAP: the default host remaps interrupts");
	/* two DRHDs (two units): the first scopes root-bus devices on dmar0, the
	 * last is INCLUDE_PCI_ALL */
	const uint8_t *h0 = d + 48;
	size_t l0 = (size_t)(h0[2] | h0[3] << 8);
	cr_assert_eq(h0[0] | h0[1] << 8, 0);
	cr_assert_eq(h0[4], 0, "not the catch-all");
	cr_assert_gt(l0, 16, "device scopes");
	cr_assert_eq(h0[16], 1, "an endpoint first: 00:00.0");
	cr_assert_eq(h0[21] << 8 | h0[22] << 3 | h0[23], 0);
	const uint8_t *h1 = h0 + l0;
	cr_assert_eq(h1[4], 1, "INCLUDE_PCI_ALL");
	cr_assert_eq(48 + l0 + (size_t)(h1[2] | h1[3] << 8), len);
	cr_assert_null(vk_vtree_lookup(t, "sys/firmware/acpi/tables/IVRS"));
	vk_vtree_free(t);
	vk_host_model_free(m);

	m = load_ok(nics(HDR "kernel: {iommu: amd, iommu_units: 1}\n", "", "i40e", ""));
	t = tree_of(m);
	d = table(t, "IVRS", &len);
	cr_assert_eq(d[48], 0x10, "IVHD type 10h");
	cr_assert_eq(len, 48 + 24 + 3 * 4, "one select entry per device");
	cr_assert_eq(d[48 + 24], 2);
	cr_assert_eq(d[48 + 24 + 4 + 1] | d[48 + 24 + 4 + 2] << 8, 0x0100, "01:00.0's requester id");
	vk_vtree_free(t);
	vk_host_model_free(m);
}

Test(platform, network_interfaces)
{
	struct vk_host_model *m =
		load_ok(nics(HDR INTEL, ", net: [ens1f0]", "i40e", ", net: [{name: ens1f1, address: \"3c:fd:fe:a1:b2:c4\", "
	                                                           "state: down}]"));
	struct vtree *t = tree_of(m);
	const char *d0 = "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/net/ens1f0";
	char p[256];

#define AT(dir, f) (snprintf(p, sizeof(p), "%s/%s", dir, f), p)
	cr_assert_str_eq(text(t, AT(d0, "address")), "02:00:01:00:00:00\n", "domain, bus, devfn, place");
	cr_assert_str_eq(text(t, AT(d0, "operstate")), "up\n");
	cr_assert_str_eq(text(t, AT(d0, "carrier")), "1\n");
	cr_assert_str_eq(text(t, AT(d0, "flags")), "0x1003\n");
	cr_assert_str_eq(text(t, AT(d0, "ifindex")), "100\n");
	cr_assert_str_eq(text(t, AT(d0, "uevent")), "INTERFACE=ens1f0\nIFINDEX=100\n");
	cr_assert_str_eq(link_of(t, AT(d0, "device")), "../../../0000:01:00.0");
	cr_assert_str_eq(link_of(t, AT(d0, "subsystem")), "../../../../../../class/net");
	cr_assert_str_eq(link_of(t, "sys/class/net/ens1f0"),
	                 "../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/net/ens1f0");
	const char *d1 = "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1/net/ens1f1";
	cr_assert_str_eq(text(t, AT(d1, "address")), "3c:fd:fe:a1:b2:c4\n");
	cr_assert_str_eq(text(t, AT(d1, "operstate")), "down\n");
	cr_assert_str_eq(text(t, AT(d1, "flags")), "0x1002\n");
	cr_assert_str_eq(text(t, AT(d1, "ifindex")), "101\n");
	vk_vtree_free(t);

	/* unbound (as the live mode leaves it), the interface is gone */
	free(m->devices[1].driver);
	m->devices[1].driver = NULL;
	t = tree_of(m);
	cr_assert_null(vk_vtree_lookup(t, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/net"));
	cr_assert_null(vk_vtree_lookup(t, "sys/class/net/ens1f0"));
	cr_assert_not_null(vk_vtree_lookup(t, "sys/class/net/ens1f1"));
	vk_vtree_free(t);
	vk_host_model_free(m);
}

/* proc/bus/pci: a bus directory per bus ("DDDD:BB" outside domain 0), a
 * config file per device with the sysfs config's bytes; udev's entries. */
Test(platform, proc_bus_pci_and_udev_entries)
{
	char path[4096];
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_host_model_load(vk_scenario_path("vmd-domains.yaml", path, sizeof(path)), &m, &e), 0, "%s", e.msg);
	struct vtree *t = tree_of(m);
	size_t lines = 0;
	for (const char *s = text(t, "proc/bus/pci/devices"); (s = strchr(s, '\n')); s++)
		lines++;
	cr_assert_eq(lines, m->n_devices);
	char proc[256], a[VK_PCI_ADDR_STRLEN];
	bool far = false;
	for (size_t i = 0; i < m->n_devices; i++) {
		const struct vk_host_device *d = &m->devices[i];
		if (d->addr.domain)
			snprintf(proc, sizeof(proc), "proc/bus/pci/%04x:%02x/%02x.%x", d->addr.domain, d->addr.bus, d->addr.slot,
			         d->addr.function);
		else
			snprintf(proc, sizeof(proc), "proc/bus/pci/%02x/%02x.%x", d->addr.bus, d->addr.slot, d->addr.function);
		far |= d->addr.domain != 0;
		vk_pci_addr_format(&d->addr, a);
		const struct vk_vt_node *pn = vk_vtree_lookup(t, proc);
		cr_assert_not_null(pn, "%s missing", proc);
		cr_assert_eq(pn->mode, 0644);
		cr_assert_eq(pn->u.file.len, d->config_readable ? d->config_readable : d->config_len, "%s", proc);
		snprintf(path, sizeof(path), "run/udev/data/+pci:%s", a);
		const char *db = text(t, path);
		cr_assert_eq(strncmp(db, "I:", 2), 0, "%s", db);
		snprintf(path, sizeof(path), "E:ID_PATH=pci-%s\n", a);
		cr_assert_not_null(strstr(db, path), "%s", db);
		cr_assert_not_null(strstr(db, "\nV:1\n"), "%s", db);
	}
	cr_assert(far, "vmd-domains.yaml has a device outside domain 0");
	vk_vtree_free(t);
	vk_host_model_free(m);
}

/* ---- fakesys record: the CPUs, the tables and the interfaces back -------------------------- */

static char out[1 << 20], err[1 << 16];

static void record(const char *dir)
{
	char fakesys[4096];

	vk_bin("fakesys/fakesys", fakesys, sizeof(fakesys));
	cr_assert_eq(vk_runv(out, sizeof(out), err, sizeof(err), fakesys, "record", "--root", dir, NULL), 0, "%s", err);
}

Test(platform, record_writes_cpu_firmware_and_net)
{
	char dir[1024], scen[4096], sub[2048];
	const char *yaml = nics(HDR INTEL "cpu: {vendor: intel, count: 6, model_name: \"Xeon Test\", "
	                                  "flags: [fpu, vmx, ept]}\n",
	                        ", net: [ens1f0]", "i40e", "");
	char fakesys[4096];

	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(scen, sizeof(scen), "%s/s.yaml", dir);
	FILE *f = fopen(scen, "we");
	cr_assert_not_null(f);
	fputs(yaml, f);
	fclose(f);
	snprintf(sub, sizeof(sub), "%s/tree", dir);
	vk_bin("fakesys/fakesys", fakesys, sizeof(fakesys));
	cr_assert_eq(vk_runv(out, sizeof(out), err, sizeof(err), fakesys, "materialize", scen, sub, NULL), 0, "%s", err);
	record(sub);
	cr_assert_not_null(strstr(out, "    count: 6\n    model_name: \"Xeon Test\"\n    flags: \"fpu vmx ept\"\n"), "%s",
	                   out);
	cr_assert_not_null(strstr(out, "firmware: {acpi_tables: [DMAR]}\n"), "%s", out);
	cr_assert_not_null(strstr(out, "    net: [\"ens1f0\"]\n"), "%s", out);

	/* what the scenario cannot take is left out, with a note: a count below
	 * the devices' nodes, flags that are no cpuinfo flags */
	snprintf(scen, sizeof(scen), "%s/proc/cpuinfo", sub);
	f = fopen(scen, "we");
	cr_assert_not_null(f);
	fputs("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon Test\nflags\t\t: fpu Vmx\n\n", f);
	fclose(f);
	record(sub);
	cr_assert_null(strstr(out, "count:"), "%s", out);
	cr_assert_null(strstr(out, "flags:"), "%s", out);
	cr_assert_not_null(strstr(err, "1 CPUs for 2 NUMA nodes: the count is left out"), "%s", err);
	cr_assert_not_null(strstr(err, "flags not recorded"), "%s", err);
	cr_assert_eq(vk_rm_rf(dir), 0);
}
