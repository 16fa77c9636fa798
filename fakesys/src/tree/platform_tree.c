/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The platform's sysfs around the PCI devices, in the kernel's shapes:
 *
 * - CPUs and NUMA nodes: sys/devices/system/cpu (drivers/base/cpu.c: online,
 *   possible, present, offline as "%*pbl" lists; cpuN/topology from
 *   drivers/base/topology.c, its masks as "%*pb"), sys/devices/system/node
 *   (drivers/base/node.c: nodeN/{cpumap,cpulist,distance} and the cpuN links
 *   of register_cpu_under_node(), which also puts nodeN in cpuN), their bus
 *   links, and each PCI device's local_cpus/local_cpulist (pci-sysfs.c:
 *   cpumask_of_node() of its node, every online CPU without one);
 * - ACPI tables: sys/firmware/acpi/tables/<signature>, 0400 root
 *   (drivers/acpi/sysfs.c acpi_table_attr_init()), each a table with its
 *   header, its checksum and one structure per IOMMU unit;
 * - network interfaces of NIC functions: <device>/net/<name> with the
 *   attributes of net/core/net-sysfs.c net_class_attrs[] a reader looks at,
 *   and sys/class/net/<name>.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vk_cleanup.h"
#include <vfiokit/resolver.h>

#include "tree/tree_parts.h"

/* ---- CPUs and NUMA nodes -------------------------------------------------------- */

/* The kernel's "%*pb" of an @nbits-bit mask with bits [@first, @first + @n):
 * 32-bit chunks in hex, most significant first, separated by commas
 * (lib/vsprintf.c bitmap_string()). */
static void cpumask(char *buf, size_t len, uint32_t nbits, uint32_t first, uint32_t n)
{
	uint32_t chunk = nbits % 32 ? nbits % 32 : 32;
	size_t off = 0;

	for (int64_t lo = ((int64_t)nbits + 31) / 32 * 32 - 32; lo >= 0 && off < len; lo -= 32) {
		uint32_t v = 0;
		for (uint32_t b = 0; b < chunk; b++) {
			uint64_t bit = (uint64_t)lo + b;
			if (bit >= first && bit < (uint64_t)first + n)
				v |= 1u << b;
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%0*x", off ? "," : "", (int)((chunk + 3) / 4), v);
		chunk = 32;
	}
}

static void cpu_dir(struct tree_parts *p, struct vk_vt_node *cpus, uint32_t cpu, uint32_t node)
{
	const struct vk_host_model *m = p->m;
	char name[32], path[64], target[64], mask[2400], list[32];
	uint32_t first, n;

	snprintf(name, sizeof(name), "cpu%u", cpu);
	snprintf(path, sizeof(path), "sys/devices/system/cpu/%s", name);
	struct vk_vt_node *d = tp_dir(p, cpus, name);
	/* x86's arch_cpu_is_hotpluggable(): every CPU but the boot CPU */
	if (cpu)
		tp_file(p, d, "online", 0644, "1\n");
	tp_file(p, d, "uevent", 0644, "%s", "");
	tp_link(p, d, path, "subsystem", "sys/bus/cpu");
	snprintf(target, sizeof(target), "sys/devices/system/node/node%u", node);
	snprintf(name, sizeof(name), "node%u", node);
	tp_link(p, d, path, name, target);

	/* one package per node, one core per CPU, one thread per core */
	tp_node_cpus(m, node, &first, &n);
	struct vk_vt_node *t = tp_dir(p, d, "topology");
	tp_file(p, t, "physical_package_id", 0444, "%u\n", node);
	tp_file(p, t, "die_id", 0444, "0\n");
	tp_file(p, t, "cluster_id", 0444, "%u\n", cpu - first);
	tp_file(p, t, "core_id", 0444, "%u\n", cpu - first);
	static const char *const self[] = {"core_cpus", "thread_siblings", "cluster_cpus"};
	static const char *const pkg[] = {"core_siblings", "die_cpus", "package_cpus"};
	for (size_t i = 0; i < VK_ARRAY_SIZE(self) + VK_ARRAY_SIZE(pkg); i++) {
		bool own = i < VK_ARRAY_SIZE(self);
		const char *base = own ? self[i] : pkg[i - VK_ARRAY_SIZE(self)];
		char lname[64];
		cpumask(mask, sizeof(mask), m->cpu_count, own ? cpu : first, own ? 1 : n);
		tp_cpulist(list, sizeof(list), own ? cpu : first, own ? 1 : n);
		snprintf(lname, sizeof(lname), "%s_list", base);
		tp_file(p, t, base, 0444, "%s\n", mask);
		tp_file(p, t, lname, 0444, "%s\n", list);
	}
}

static void node_dir(struct tree_parts *p, struct vk_vt_node *nodes, uint32_t node)
{
	const struct vk_host_model *m = p->m;
	char name[32], path[64], target[64], mask[2400], list[32];
	uint32_t first, n;
	_cleanup_free_ char *dist = NULL;
	size_t dlen = 0;

	snprintf(name, sizeof(name), "node%u", node);
	snprintf(path, sizeof(path), "sys/devices/system/node/%s", name);
	struct vk_vt_node *d = tp_dir(p, nodes, name);
	tp_node_cpus(m, node, &first, &n);
	cpumask(mask, sizeof(mask), m->cpu_count, first, n);
	tp_cpulist(list, sizeof(list), first, n);
	tp_file(p, d, "cpumap", 0444, "%s\n", mask);
	tp_file(p, d, "cpulist", 0444, "%s\n", list);
	/* node_read_distance(): the SLIT row, 10 to itself; 21 to another
	 * socket, what two-socket firmware reports */
	FILE *f = open_memstream(&dist, &dlen);
	if (!f) {
		tp_fail(p, ENOMEM, path);
		return;
	}
	for (uint32_t k = 0; k < m->cpu_nodes; k++)
		fprintf(f, "%s%u", k ? " " : "", k == node ? 10u : 21u);
	fputc('\n', f);
	if (fclose(f) != 0) {
		tp_fail(p, ENOMEM, path);
		return;
	}
	tp_bytes(p, d, "distance", 0444, dist, dlen);
	tp_file(p, d, "uevent", 0644, "%s", "");
	tp_link(p, d, path, "subsystem", "sys/bus/node");
	for (uint32_t c = first; c < first + n; c++) {
		snprintf(name, sizeof(name), "cpu%u", c);
		snprintf(target, sizeof(target), "sys/devices/system/cpu/cpu%u", c);
		tp_link(p, d, path, name, target);
	}
}

/* The texts of local_cpus and local_cpulist for a block of CPUs; devices in
 * address order mostly share their neighbour's node, so the last block's
 * texts are kept and reused. */
struct local_cpus_text {
	bool made;
	uint32_t first, n;
	size_t mask_len, list_len;
	char mask[2400], list[32];
};

/* A device's local_cpus and local_cpulist: its node's CPUs, all of them
 * without a node (pci-sysfs.c local_cpus_show()). */
static void local_cpus(struct tree_parts *p, size_t i, struct local_cpus_text *c)
{
	const struct vk_host_model *m = p->m;
	const struct vk_host_device *d = &m->devices[i];
	uint32_t first = 0, n = m->cpu_count;

	if (d->numa_node >= 0 && (uint32_t)d->numa_node < m->cpu_nodes)
		tp_node_cpus(m, (uint32_t)d->numa_node, &first, &n);
	if (!c->made || c->first != first || c->n != n) {
		cpumask(c->mask, sizeof(c->mask) - 1, m->cpu_count, first, n);
		tp_cpulist(c->list, sizeof(c->list) - 1, first, n);
		c->mask_len = strlen(c->mask);
		c->list_len = strlen(c->list);
		c->mask[c->mask_len++] = '\n';
		c->list[c->list_len++] = '\n';
		c->made = true;
		c->first = first;
		c->n = n;
	}
	tp_bytes(p, p->dev_node[i], "local_cpus", 0444, c->mask, c->mask_len);
	tp_bytes(p, p->dev_node[i], "local_cpulist", 0444, c->list, c->list_len);
}

void tree_cpus(struct tree_parts *p)
{
	const struct vk_host_model *m = p->m;
	char list[32], name[32], path[64], target[64];

	if (!m->cpu_vendor || !m->cpu_count || p->rc)
		return;
	struct vk_vt_node *root = vk_vtree_root(p->t);
	struct vk_vt_node *cpus = tp_dir(p, root, "sys/devices/system/cpu");
	struct vk_vt_node *nodes = tp_dir(p, root, "sys/devices/system/node");
	struct vk_vt_node *bcpu = tp_dir(p, root, "sys/bus/cpu/devices");
	struct vk_vt_node *bnode = tp_dir(p, root, "sys/bus/node/devices");

	tp_cpulist(list, sizeof(list), 0, m->cpu_count);
	tp_file(p, cpus, "online", 0444, "%s\n", list);
	tp_file(p, cpus, "possible", 0444, "%s\n", list);
	tp_file(p, cpus, "present", 0444, "%s\n", list);
	tp_file(p, cpus, "offline", 0444, "\n");
	for (uint32_t node = 0; node < m->cpu_nodes && !p->rc; node++) {
		uint32_t first, n;
		tp_node_cpus(m, node, &first, &n);
		for (uint32_t c = first; c < first + n && !p->rc; c++) {
			cpu_dir(p, cpus, c, node);
			snprintf(name, sizeof(name), "cpu%u", c);
			snprintf(target, sizeof(target), "sys/devices/system/cpu/cpu%u", c);
			tp_link(p, bcpu, "sys/bus/cpu/devices", name, target);
		}
		node_dir(p, nodes, node);
		snprintf(name, sizeof(name), "node%u", node);
		snprintf(path, sizeof(path), "sys/devices/system/node/node%u", node);
		tp_link(p, bnode, "sys/bus/node/devices", name, path);
	}
	/* every node has CPUs and (as far as anyone reading these can tell) memory */
	tp_cpulist(list, sizeof(list), 0, m->cpu_nodes);
	static const char *const node_states[] = {"online", "possible", "has_cpu", "has_memory", "has_normal_memory"};
	for (size_t i = 0; i < VK_ARRAY_SIZE(node_states); i++)
		tp_file(p, nodes, node_states[i], 0444, "%s\n", list);
	struct local_cpus_text *c = calloc(1, sizeof(*c));
	if (!c) {
		tp_fail(p, ENOMEM, "local_cpus");
		return;
	}
	for (size_t i = 0; i < m->n_devices && !p->rc; i++)
		local_cpus(p, i, c);
	free(c);
}

/* ---- ACPI tables ------------------------------------------------------------------ */

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)v);
	put16(b + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b + 4, (uint32_t)(v >> 32));
}

/* The 36-byte header every ACPI table starts with (ACPI 6.5, 5.2.6), its
 * length and checksum (all bytes sum to 0) filled in. */
static void acpi_header(uint8_t *t, size_t len, const char sig[4], uint8_t revision)
{
	uint8_t sum = 0;

	memcpy(t, sig, 4);
	put32(t + 4, (uint32_t)len);
	t[8] = revision;
	memcpy(t + 10, "VFIOKT", 6);   /* OEM ID */
	memcpy(t + 16, "FAKESYS ", 8); /* OEM table ID */
	put32(t + 24, 1);              /* OEM revision */
	memcpy(t + 28, "VFKT", 4);     /* creator ID */
	put32(t + 32, 1);
	t[9] = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + t[i]);
	t[9] = (uint8_t)-sum;
}

/* The IOMMU unit (dmarN, ivhdN) a device's iommu link names, -1 for none. */
static int unit_of(const struct tree_parts *p, size_t i)
{
	const struct vk_vt_node *l = tp_kid(p->dev_node[i], "iommu");
	const char *s;

	if (!l || l->type != VK_VT_LINK || !(s = strrchr(l->u.link.target, '/')))
		return -1;
	s++;
	while (*s && (*s < '0' || *s > '9'))
		s++;
	return *s ? atoi(s) : -1;
}

/*
 * DMAR (Intel VT-d 4.1, 8.1): host address width and the interrupt
 * remapping flag, then one DRHD per unit at the address its intel-iommu/address
 * shows; the last one INCLUDE_PCI_ALL (dmar_parse_one_drhd() wants the catch-all
 * last), the others scoping the root-bus devices their iommu links name.
 */
static size_t dmar_table(const struct tree_parts *p, uint8_t *t, size_t cap)
{
	const struct vk_host_model *m = p->m;
	size_t len = 48;
	unsigned units = m->iommu_units ? m->iommu_units : 1;

	memset(t, 0, cap);
	t[36] = 45; /* HAW: 46 bits, as cpuinfo's address sizes */
	t[37] = m->interrupt_remapping ? 1 : 0;
	for (unsigned u = 0; u < units; u++) {
		uint8_t *h = t + len;
		size_t hl = 16;
		bool all = u + 1 == units;
		for (size_t i = 0; !all && i < m->n_devices; i++) {
			const struct vk_host_device *d = &m->devices[i];
			if (d->parent >= 0 || d->addr.domain || unit_of(p, i) != (int)u || len + hl + 8 > cap)
				continue;
			uint8_t *s = h + hl;
			s[0] = (d->class_code >> 8) == 0x0604 ? 2 : 1; /* PCI sub-hierarchy or endpoint */
			s[1] = 8;
			s[5] = d->addr.bus;
			s[6] = d->addr.slot;
			s[7] = d->addr.function;
			hl += 8;
		}
		put16(h, 0); /* DRHD */
		put16(h + 2, (uint16_t)hl);
		h[4] = all ? 1 : 0;
		put64(h + 8, 0xfbffc000ull - 0x100000ull * u);
		len += hl;
	}
	acpi_header(t, len, "DMAR", 1);
	return len;
}

/*
 * IVRS (AMD I/O Virtualization Technology spec 48882, 5.2): IVinfo (48-bit
 * physical and 64-bit virtual addresses, EFR support), then one IVHD type 10h
 * per unit with a select entry (type 2) for each device its iommu link names.
 */
static size_t ivrs_table(const struct tree_parts *p, uint8_t *t, size_t cap)
{
	const struct vk_host_model *m = p->m;
	size_t len = 48;
	unsigned units = m->iommu_units ? m->iommu_units : 1;

	memset(t, 0, cap);
	put32(t + 36, 64u << 15 | 48u << 8 | 2u << 5 | 1u);
	for (unsigned u = 0; u < units; u++) {
		uint8_t *h = t + len;
		size_t hl = 24;
		for (size_t i = 0; i < m->n_devices; i++) {
			const struct vk_host_device *d = &m->devices[i];
			if (d->addr.domain || unit_of(p, i) != (int)u || len + hl + 4 > cap)
				continue;
			h[hl] = 2;
			put16(h + hl + 1, (uint16_t)(d->addr.bus << 8 | d->addr.slot << 3 | d->addr.function));
			hl += 4;
		}
		h[0] = 0x10;
		h[1] = 0xb0; /* coherent, IotlbSup, PassPW */
		put16(h + 2, (uint16_t)hl);
		put16(h + 4, (uint16_t)(u << 8 | 2)); /* the IOMMU function: 00:00.2 of its root bus */
		put16(h + 6, 0x40);                   /* capability offset */
		put64(h + 8, 0xfd200000ull + 0x100000ull * u);
		len += hl;
	}
	acpi_header(t, len, "IVRS", 2);
	return len;
}

void tree_acpi(struct tree_parts *p)
{
	const struct vk_host_model *m = p->m;
	size_t cap = 48 + (m->iommu_units + 1) * 24 + m->n_devices * 8, len;

	if (!m->acpi_tables || p->rc)
		return;
	struct vk_vt_node *dir = tp_dir(p, vk_vtree_root(p->t), "sys/firmware/acpi/tables");
	_cleanup_free_ uint8_t *t = malloc(cap);
	if (!t) {
		tp_fail(p, ENOMEM, "sys/firmware/acpi/tables");
		return;
	}
	if (m->acpi_tables & VK_HOST_ACPI_DMAR) {
		len = dmar_table(p, t, cap);
		tp_bytes(p, dir, "DMAR", 0400, t, len);
	}
	if (m->acpi_tables & VK_HOST_ACPI_IVRS) {
		len = ivrs_table(p, t, cap);
		tp_bytes(p, dir, "IVRS", 0400, t, len);
	}
}

/* ---- network interfaces --------------------------------------------------------------- */

/* Whether a net_device of @d exists: a network driver bound (vfio-pci and
 * pci-stub register none). */
static bool has_netdev(const struct vk_host_device *d)
{
	return d->n_netifs && d->driver && !vk_pci_driver_is_vfio_pci(d->driver) && strcmp(d->driver, "pci-stub") &&
	       strcmp(d->driver, "pcieport");
}

static void netif(struct tree_parts *p, size_t i, const struct vk_host_netif *n, struct vk_vt_node *cls, int ifindex)
{
	char path[PATH_MAX];
	const uint8_t *a = n->mac;

	if ((size_t)snprintf(path, sizeof(path), "%s/net/%s", p->dev_path[i], n->name) >= sizeof(path)) {
		tp_fail(p, ENAMETOOLONG, n->name);
		return;
	}
	struct vk_vt_node *dir = tp_dir(p, p->dev_node[i], "net");
	dir = tp_dir(p, dir, n->name);
	tp_file(p, dir, "addr_assign_type", 0444, "0\n"); /* NET_ADDR_PERM */
	tp_file(p, dir, "addr_len", 0444, "6\n");
	tp_file(p, dir, "address", 0444, "%02x:%02x:%02x:%02x:%02x:%02x\n", a[0], a[1], a[2], a[3], a[4], a[5]);
	tp_file(p, dir, "broadcast", 0444, "ff:ff:ff:ff:ff:ff\n");
	tp_file(p, dir, "carrier", 0644, "%d\n", n->up ? 1 : 0);
	tp_file(p, dir, "dev_id", 0444, "0x0\n");
	tp_file(p, dir, "dev_port", 0444, "0\n");
	tp_file(p, dir, "dormant", 0444, "0\n");
	tp_file(p, dir, "duplex", 0444, "%s\n", n->up ? "full" : "unknown");
	/* IFF_UP | IFF_BROADCAST | IFF_MULTICAST, without IFF_UP when down */
	tp_file(p, dir, "flags", 0644, "0x%x\n", n->up ? 0x1003 : 0x1002);
	tp_file(p, dir, "ifalias", 0644, "\n");
	tp_file(p, dir, "ifindex", 0444, "%d\n", ifindex);
	tp_file(p, dir, "iflink", 0444, "%d\n", ifindex);
	tp_file(p, dir, "link_mode", 0644, "0\n");
	tp_file(p, dir, "mtu", 0644, "1500\n");
	tp_file(p, dir, "name_assign_type", 0444, "4\n"); /* NET_NAME_RENAMED: udev named it */
	tp_file(p, dir, "netdev_group", 0644, "0\n");
	tp_file(p, dir, "operstate", 0444, "%s\n", n->up ? "up" : "down");
	tp_file(p, dir, "proto_down", 0644, "0\n");
	tp_file(p, dir, "speed", 0444, "%d\n", n->up ? 10000 : -1);
	tp_file(p, dir, "tx_queue_len", 0644, "1000\n");
	tp_file(p, dir, "type", 0444, "1\n"); /* ARPHRD_ETHER */
	tp_file(p, dir, "uevent", 0644, "INTERFACE=%s\nIFINDEX=%d\n", n->name, ifindex);
	tp_link(p, dir, path, "device", p->dev_path[i]);
	tp_link(p, dir, path, "subsystem", "sys/class/net");
	tp_link(p, cls, "sys/class/net", n->name, path);
}

void tree_netifs(struct tree_parts *p)
{
	const struct vk_host_model *m = p->m;
	struct vk_vt_node *cls = NULL;
	/* ifindex: above those a host's own interfaces have, so that a number
	 * read here does not name a real interface through the kernel */
	int ifindex = 100;

	for (size_t i = 0; i < m->n_devices && !p->rc; i++) {
		const struct vk_host_device *d = &m->devices[i];
		if (!has_netdev(d))
			continue;
		if (!cls)
			cls = tp_dir(p, vk_vtree_root(p->t), "sys/class/net");
		for (size_t k = 0; k < d->n_netifs; k++)
			netif(p, i, &d->netifs[k], cls, ifindex++);
	}
}
