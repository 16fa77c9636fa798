/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Cross-reference checks and defaults of a freshly parsed scenario.  Order
 * matters: devices are sorted first (so indices are final), then references
 * resolved (physfn before parent, since a VF inherits its PF's parent), then
 * defaults that depend on them, then whole-host rules (topology, groups).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <linux/pci_regs.h>

#include "vk_cleanup.h"
#include "vk_strv.h"
#include <vfiokit/resolver.h>

#include "model/pci_caps.h"
#include "model/scenario_internal.h"

static int oom(struct loader *l)
{
	return yr_oom(&l->y);
}

static const char *fmt_addr(const struct vk_pci_addr *a, char buf[static VK_PCI_ADDR_STRLEN])
{
	return vk_pci_addr_format(a, buf);
}

static struct loader *sort_ctx;

static int cmp_index(const void *a, const void *b)
{
	const struct vk_host_device *d = sort_ctx->m->devices;
	return vk_pci_addr_cmp(&d[*(const size_t *)a].addr, &d[*(const size_t *)b].addr);
}

/* Sort devices (and their source records) by address; reject duplicates. */
/* Whether the devices are in address order already, each address once: a
 * recording or a generated host lists them so. */
static bool strictly_sorted(const struct vk_host_model *m)
{
	for (size_t i = 1; i < m->n_devices; i++)
		if (vk_pci_addr_cmp(&m->devices[i - 1].addr, &m->devices[i].addr) >= 0)
			return false;
	return true;
}

static int sort_devices(struct loader *l)
{
	struct vk_host_model *m = l->m;
	size_t n = m->n_devices;
	_cleanup_free_ size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	_cleanup_free_ struct vk_host_device *dv = calloc(n ? n : 1, sizeof(*dv));
	_cleanup_free_ struct dev_src *sv = calloc(n ? n : 1, sizeof(*sv));
	char a[VK_PCI_ADDR_STRLEN];

	if (!idx || !dv || !sv)
		return oom(l);
	if (strictly_sorted(m)) /* nothing to move, no address twice */
		return 0;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	sort_ctx = l;
	qsort(idx, n, sizeof(*idx), cmp_index);
	sort_ctx = NULL;
	for (size_t i = 0; i + 1 < n; i++) {
		const struct vk_host_device *x = &m->devices[idx[i]], *y = &m->devices[idx[i + 1]];
		if (vk_pci_addr_equal(&x->addr, &y->addr)) {
			unsigned first = x->line < y->line ? x->line : y->line;
			const struct dev_src *later = x->line < y->line ? &l->src[idx[i + 1]] : &l->src[idx[i]];
			return yr_fail(&l->y, later->node, "address",
			               "%s is given twice (also at line %u); every PCI function appears once",
			               fmt_addr(&x->addr, a), first);
		}
	}
	for (size_t i = 0; i < n; i++) {
		dv[i] = m->devices[idx[i]];
		sv[i] = l->src[idx[i]];
	}
	memcpy(m->devices, dv, n * sizeof(*dv));
	memcpy(l->src, sv, n * sizeof(*sv));
	return 0;
}

static int index_of(const struct vk_host_model *m, const struct vk_pci_addr *a)
{
	const struct vk_host_device *d = vk_host_model_find(m, a);
	return d ? (int)(d - m->devices) : -1;
}

/* Link each VF to its PF; a VF without parent: sits behind its PF's parent. */
static int resolve_physfn(struct loader *l)
{
	struct vk_host_model *m = l->m;
	char a[VK_PCI_ADDR_STRLEN], b[VK_PCI_ADDR_STRLEN];

	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *d = &m->devices[i];
		struct dev_src *s = &l->src[i];
		if (!s->has_physfn)
			continue;
		int pf = index_of(m, &s->physfn_addr);
		if (pf < 0)
			return yr_fail(&l->y, s->physfn_node, "physfn",
			               "%s names PF %s, which is not a device of this scenario; a VF exists "
			               "only beside its PF: add the PF (with sriov: {totalvfs: N})",
			               fmt_addr(&d->addr, a), fmt_addr(&s->physfn_addr, b));
		struct vk_host_device *p = &m->devices[pf];
		if (l->src[pf].has_physfn)
			return yr_fail(&l->y, s->physfn_node, "physfn", "%s is itself a VF; a VF's physfn must be a PF",
			               fmt_addr(&p->addr, b));
		if (!p->sriov_totalvfs)
			return yr_fail(&l->y, s->physfn_node, "physfn",
			               "%s is not an SR-IOV PF; give it sriov: {totalvfs: N}", fmt_addr(&p->addr, b));
		if (d->sriov_totalvfs)
			return yr_fail(&l->y, s->node, "sriov", "%s is a VF and cannot have VFs of its own",
			               fmt_addr(&d->addr, a));
		if (p->addr.domain != d->addr.domain)
			return yr_fail(&l->y, s->physfn_node, "physfn", "a VF lives in its PF's PCI domain (%04x), not %04x",
			               p->addr.domain, d->addr.domain);
		if (vk_pci_addr_cmp(&d->addr, &p->addr) <= 0)
			return yr_fail(&l->y, s->physfn_node, "physfn",
			               "VF %s must come after its PF %s (VF routing IDs are the PF's plus an offset)",
			               fmt_addr(&d->addr, a), fmt_addr(&p->addr, b));
		d->physfn = pf;
		if (!s->has_parent && l->src[pf].has_parent) {
			s->has_parent = true;
			s->parent_addr = l->src[pf].parent_addr;
			s->parent_node = l->src[pf].parent_node;
		}
	}
	/* Each PF's VFs in address order: virtfn0, virtfn1, ... */
	for (size_t i = 0; i < m->n_devices; i++) {
		int pf = m->devices[i].physfn;
		if (pf >= 0)
			m->devices[pf].n_vfs++;
	}
	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *p = &m->devices[i];
		if (p->n_vfs > p->sriov_totalvfs)
			return yr_fail(&l->y, l->src[i].node, "sriov", "%s lists %u VFs but totalvfs is %u",
			               fmt_addr(&p->addr, a), p->n_vfs, p->sriov_totalvfs);
		if (p->n_vfs && !(p->vfs = calloc(p->n_vfs, sizeof(*p->vfs))))
			return oom(l);
		p->n_vfs = 0;
	}
	for (size_t i = 0; i < m->n_devices; i++) {
		int pf = m->devices[i].physfn;
		if (pf >= 0)
			m->devices[pf].vfs[m->devices[pf].n_vfs++] = (int)i;
	}
	return 0;
}

static bool is_bridge(const struct vk_host_device *d)
{
	return (d->class_code >> 8) == 0x0604 || (d->class_code >> 8) == 0x0609;
}

/* What a walk up a chain of links (parents, or PFs) found for a device. */
enum { WALK_NEW,
       WALK_ON_PATH,
       WALK_ROOT,
       WALK_LOOP };

/*
 * The first device (in address order) whose parent chain loops.  Each chain is
 * walked until it meets a device already settled, so every device is visited
 * once: O(n), where walking every chain to its end was O(n * depth), and
 * depth reaches n with a chain of domain-crossing parents (VMD-like).
 */
static int check_parent_loops(struct loader *l)
{
	struct vk_host_model *m = l->m;
	char a[VK_PCI_ADDR_STRLEN];
	_cleanup_free_ uint8_t *state = calloc(m->n_devices ? m->n_devices : 1, 1);

	if (!state)
		return oom(l);
	for (size_t i = 0; i < m->n_devices; i++) {
		if (state[i] == WALK_NEW) {
			int p = (int)i;
			while (p >= 0 && state[p] == WALK_NEW) {
				state[p] = WALK_ON_PATH;
				p = m->devices[p].parent;
			}
			/* met a root, a settled device, or itself (a loop) */
			uint8_t end = p < 0 || state[p] == WALK_ROOT ? WALK_ROOT : WALK_LOOP;
			for (int q = (int)i; q >= 0 && state[q] == WALK_ON_PATH; q = m->devices[q].parent)
				state[q] = end;
		}
		if (state[i] == WALK_LOOP)
			return yr_fail(&l->y, l->src[i].parent_node, "parent", "the parent chain of %s loops back on itself",
			               fmt_addr(&m->devices[i].addr, a));
	}
	return 0;
}

static int resolve_parents(struct loader *l)
{
	struct vk_host_model *m = l->m;
	char a[VK_PCI_ADDR_STRLEN], b[VK_PCI_ADDR_STRLEN];

	for (size_t i = 0; i < m->n_devices; i++) {
		struct dev_src *s = &l->src[i];
		struct vk_host_device *d = &m->devices[i];
		if (!s->has_parent)
			continue;
		int p = index_of(m, &s->parent_addr);
		if (p < 0)
			return yr_fail(&l->y, s->parent_node, "parent",
			               "%s is not a device of this scenario; add the bridge (or root port) %s, "
			               "or remove parent: to put %s on a root bus",
			               fmt_addr(&s->parent_addr, b), fmt_addr(&s->parent_addr, b), fmt_addr(&d->addr, a));
		if (p == (int)i)
			return yr_fail(&l->y, s->parent_node, "parent", "%s cannot be its own parent", fmt_addr(&d->addr, a));
		d->parent = p;
	}
	return check_parent_loops(l);
}

/* Class by driver, for devices whose class the scenario leaves out. */
static uint32_t class_for_driver(const char *drv)
{
	static const struct {
		const char *drv;
		uint32_t cls;
	} t[] = {
		{"nvme", 0x010802},
		{"ahci", 0x010601},
		{"xhci_hcd", 0x0c0330},
		{"ehci-pci", 0x0c0320},
		{"pcieport", 0x060400},
		{"snd_hda_intel", 0x040300},
		{"vmd", 0x010400},
		{"megaraid_sas", 0x010400},
		{"mpt3sas", 0x010700},
		{"nvidia", 0x030000},
		{"nouveau", 0x030000},
		{"amdgpu", 0x030000},
		{"radeon", 0x030000},
		{"i915", 0x030000},
		{"xe", 0x030000},
		{"ast", 0x030000},
		{"mgag200", 0x030000},
		{"i801_smbus", 0x0c0500},
		{"lpc_ich", 0x060100},
	};
	static const char *const nics[] = {"e1000e", "igb", "igbvf", "igc", "ixgbe", "ixgbevf", "i40e", "iavf",
	                                   "ice", "mlx4_core", "mlx5_core", "bnxt_en", "qede", NULL};

	if (!drv)
		return 0xff0000;
	for (size_t i = 0; i < VK_ARRAY_SIZE(t); i++)
		if (!strcmp(t[i].drv, drv))
			return t[i].cls;
	for (int i = 0; nics[i]; i++)
		if (!strcmp(nics[i], drv))
			return 0x020000;
	return 0xff0000;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* With config: given, the header's ids are the truth; fields the scenario also
 * names must agree with them. */
static int derive_from_config(struct loader *l, size_t i)
{
	struct vk_host_device *d = &l->m->devices[i];
	struct dev_src *s = &l->src[i];
	uint8_t c[PCI_STD_HEADER_SIZEOF];
	vk_host_config_read(d, 0, c, sizeof(c));
	uint32_t cls = (uint32_t)c[0x0b] << 16 | (uint32_t)c[0x0a] << 8 | c[0x09];
	/* Subsystem ids are in the type 0 (endpoint) header only; a bridge keeps
	 * them in a capability, so the scenario's values (or 0) stand. */
	bool type0 = (c[0x0e] & 0x7f) == 0;
	struct {
		const char *key;
		bool *given;
		uint32_t have, cfg;
		void *dst;
		int width;
	} f[] = {
		{"vendor", &s->has_vendor, d->vendor, le16(c), &d->vendor, 16},
		{"device", &s->has_device, d->device, le16(c + 2), &d->device, 16},
		{"class", &s->has_class, d->class_code, cls, &d->class_code, 24},
		{"revision", &s->has_revision, d->revision, c[0x08], &d->revision, 8},
		{"subsystem_vendor", &s->has_ssvid, d->subsystem_vendor, le16(c + 0x2c), &d->subsystem_vendor, 16},
		{"subsystem_device", &s->has_ssid, d->subsystem_device, le16(c + 0x2e), &d->subsystem_device, 16},
	};

	for (size_t k = 0; k < (type0 ? 6u : 4u); k++) {
		if (*f[k].given) {
			if (f[k].have != f[k].cfg)
				return yr_fail(&l->y, s->node, f[k].key,
				               "0x%x disagrees with config space (0x%x); drop one of the two", f[k].have,
				               f[k].cfg);
			continue;
		}
		if (f[k].width == 8)
			*(uint8_t *)f[k].dst = (uint8_t)f[k].cfg;
		else if (f[k].width == 16)
			*(uint16_t *)f[k].dst = (uint16_t)f[k].cfg;
		else
			*(uint32_t *)f[k].dst = f[k].cfg;
		*f[k].given = true;
	}
	if (!s->has_irq)
		d->irq = c[0x3c];
	return 0;
}

/* A VF takes its PF's identity where the scenario is silent, as SR-IOV does:
 * vendor, class, revision and subsystem from the PF (after the PF's own
 * defaults), the device id from the PF's SR-IOV capability (sriov.vf_device). */
static void inherit_from_pf(struct loader *l, size_t i)
{
	struct vk_host_device *d = &l->m->devices[i];
	struct dev_src *s = &l->src[i];
	const struct vk_host_device *p = &l->m->devices[d->physfn];

	if (!s->has_vendor)
		d->vendor = p->vendor, s->has_vendor = true;
	if (!s->has_device)
		d->device = p->sriov_vf_device ? p->sriov_vf_device : p->device, s->has_device = true;
	if (!s->has_class)
		d->class_code = p->class_code, s->has_class = true;
	if (!s->has_ssvid)
		d->subsystem_vendor = p->subsystem_vendor, s->has_ssvid = true;
	if (!s->has_ssid)
		d->subsystem_device = p->subsystem_device, s->has_ssid = true;
	if (!s->has_revision)
		d->revision = p->revision;
}

static int numa_from(const struct vk_host_model *m, int i)
{
	return m->devices[i].physfn >= 0 ? m->devices[i].physfn : m->devices[i].parent;
}

/*
 * NUMA node from the PF (for a VF) or the parent where not given.  Parents can
 * sort after their children (a VMD domain), so each device's chain is walked
 * up to a device that has its node (given, or settled by an earlier walk), and
 * the node is handed down the path: O(n).  A chain that ends without one, or
 * runs in a circle (rejected later), leaves -1.
 */
static int inherit_numa(struct loader *l)
{
	struct vk_host_model *m = l->m;
	_cleanup_free_ uint8_t *state = calloc(m->n_devices ? m->n_devices : 1, 1);

	if (!state)
		return oom(l);
	for (size_t i = 0; i < m->n_devices; i++)
		if (l->src[i].has_numa)
			state[i] = WALK_ROOT;
	for (size_t i = 0; i < m->n_devices; i++) {
		if (state[i] != WALK_NEW)
			continue;
		int p = (int)i;
		while (p >= 0 && state[p] == WALK_NEW) {
			state[p] = WALK_ON_PATH;
			p = numa_from(m, p);
		}
		int node = p >= 0 && state[p] == WALK_ROOT ? m->devices[p].numa_node : -1;
		for (int q = (int)i; q >= 0 && state[q] == WALK_ON_PATH; q = numa_from(m, q)) {
			m->devices[q].numa_node = node;
			state[q] = WALK_ROOT;
		}
	}
	return 0;
}

static int device_defaults(struct loader *l)
{
	struct vk_host_model *m = l->m;
	char a[VK_PCI_ADDR_STRLEN];

	/* PFs and other functions first, so that VFs inherit finished values */
	for (int vf_pass = 0; vf_pass < 2; vf_pass++) {
		for (size_t i = 0; i < m->n_devices; i++) {
			struct vk_host_device *d = &m->devices[i];
			struct dev_src *s = &l->src[i];

			if ((d->physfn >= 0) != vf_pass)
				continue;
			if (vf_pass)
				inherit_from_pf(l, i);
			if (!s->has_vendor || !s->has_device)
				return yr_fail(&l->y, s->node, s->has_vendor ? "device" : "vendor",
				               "%s needs vendor: and device: ids (or config:, or physfn: for a VF)",
				               fmt_addr(&d->addr, a));
			if (!s->has_class)
				d->class_code = class_for_driver(d->driver);
			if (!s->has_ssvid)
				d->subsystem_vendor = is_bridge(d) ? 0 : d->vendor;
			if (!s->has_ssid)
				d->subsystem_device = is_bridge(d) ? 0 : d->device;
		}
	}
	return inherit_numa(l);
}

/* config: given: the header is the truth for the ids (before VFs inherit them). */
static int derive_configs(struct loader *l)
{
	for (size_t i = 0; i < l->m->n_devices; i++) {
		int r = l->src[i].has_config ? derive_from_config(l, i) : 0;
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * With kernel.modules given, the module a VFIO driver comes from must be
 * there: vfio_pci for vfio-pci; for a variant driver its own module (the
 * driver name with '-' as '_', vk_host_driver_module()) and vfio_pci_core, which
 * it is built on (a variant does not need vfio_pci).
 */
static int check_vfio_modules(struct loader *l, size_t i)
{
	const struct vk_host_device *d = &l->m->devices[i];
	char a[VK_PCI_ADDR_STRLEN], own[256];

	if (!l->modules_given || !vk_pci_driver_is_vfio_pci(d->driver))
		return 0;
	if (!strcmp(d->driver, "vfio-pci")) {
		if (!name_set_has(&l->modules, "vfio_pci"))
			return yr_fail(&l->y, l->src[i].driver_node, "driver",
			               "%s is bound to vfio-pci but kernel.modules lists no vfio_pci; add it "
			               "(or {name: vfio_pci, builtin: true})",
			               fmt_addr(&d->addr, a));
		return 0;
	}
	snprintf(own, sizeof(own), "%s", vk_host_driver_module(d->driver));
	if (!name_set_has(&l->modules, own))
		return yr_fail(&l->y, l->src[i].driver_node, "driver",
		               "%s is bound to %s, a vfio-pci variant driver, but kernel.modules lists no %s; "
		               "add it (or {name: %s, builtin: true})",
		               fmt_addr(&d->addr, a), d->driver, own, own);
	if (!name_set_has(&l->modules, "vfio_pci_core"))
		return yr_fail(&l->y, l->src[i].driver_node, "driver",
		               "%s is bound to %s, a vfio-pci variant driver built on vfio_pci_core, but "
		               "kernel.modules lists no vfio_pci_core; add it (or {name: vfio_pci_core, builtin: "
		               "true})",
		               fmt_addr(&d->addr, a), d->driver);
	return 0;
}

static int check_drivers(struct loader *l)
{
	struct vk_host_model *m = l->m;
	char a[VK_PCI_ADDR_STRLEN];
	int r;

	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *d = &m->devices[i];
		struct dev_src *s = &l->src[i];
		if (d->driver && !model_driver_known(m, d->driver))
			return yr_fail(&l->y, s->driver_node, "driver",
			               "unknown driver '%s' for %s; use the kernel's driver name (as in "
			               "/sys/bus/pci/drivers) or declare it under kernel.drivers",
			               d->driver, fmt_addr(&d->addr, a));
		if ((r = check_vfio_modules(l, i)) < 0)
			return r;
		if (d->driver && model_add_driver(m, d->driver) < 0)
			return oom(l);
		if (!d->driver && (s->has_vfio_index || s->vfio_node_node))
			return yr_fail(&l->y, s->has_vfio_index ? s->node : s->vfio_node_node,
			               s->has_vfio_index ? "vfio_cdev" : "vfio_node",
			               "%s has no driver; only a device bound to " VFIO_FAMILY " has a VFIO cdev",
			               fmt_addr(&d->addr, a));
		if (d->driver && !vk_pci_driver_is_vfio_pci(d->driver) && (s->has_vfio_index || s->vfio_node_node))
			return yr_fail(&l->y, s->has_vfio_index ? s->node : s->vfio_node_node,
			               s->has_vfio_index ? "vfio_cdev" : "vfio_node",
			               "%s is bound to %s; only a device bound to " VFIO_FAMILY " has a VFIO cdev",
			               fmt_addr(&d->addr, a), d->driver);
	}
	return 0;
}

/* (domain, bus) -> the bridge forwarding to it, sortable. */
struct bus_owner {
	uint64_t key; /* domain << 8 | bus */
	size_t bridge;
};

static int cmp_owner(const void *a, const void *b)
{
	const struct bus_owner *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->bridge < y->bridge ? -1 : x->bridge > y->bridge;
}

static uint64_t bus_key(const struct vk_pci_addr *a)
{
	return (uint64_t)a->domain << 8 | a->bus;
}

/* The first owner of @key in the sorted @owners, or NULL. */
static const struct bus_owner *owner_of(const struct bus_owner *owners, size_t n, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (owners[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && owners[lo].key == key ? &owners[lo] : NULL;
}

/* Bridges forward to one secondary bus; a device's bus must be its parent's
 * secondary bus, and a root-bus device must not sit on a bus a bridge owns.
 * Bus owners are sorted once, so every check is a lookup, not a scan. */
static int check_topology(struct loader *l)
{
	struct vk_host_model *m = l->m;
	size_t n = m->n_devices ? m->n_devices : 1, n_owners = 0;
	char a[VK_PCI_ADDR_STRLEN], b[VK_PCI_ADDR_STRLEN];
	_cleanup_free_ int *secondary = malloc(n * sizeof(int));
	_cleanup_free_ struct bus_owner *owners = malloc(n * sizeof(*owners));

	if (!secondary || !owners)
		return oom(l);
	for (size_t i = 0; i < m->n_devices; i++)
		secondary[i] = -1;
	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *d = &m->devices[i];
		if (d->parent < 0)
			continue;
		struct vk_host_device *p = &m->devices[d->parent];
		if (p->addr.domain != d->addr.domain)
			continue; /* behind a domain-creating device such as VMD: a new root bus */
		if (!is_bridge(p))
			return yr_fail(&l->y, l->src[i].parent_node, "parent",
			               "%s is not a PCI bridge (class 0x%06x); only a bridge or root port "
			               "(class 0x0604xx) has devices behind it in the same domain",
			               fmt_addr(&p->addr, b), p->class_code);
		if (d->addr.bus <= p->addr.bus)
			return yr_fail(&l->y, l->src[i].node, "address",
			               "%s sits behind bridge %s, so its bus must be above the bridge's bus %02x",
			               fmt_addr(&d->addr, a), fmt_addr(&p->addr, b), p->addr.bus);
		if (secondary[d->parent] >= 0 && secondary[d->parent] != d->addr.bus)
			return yr_fail(&l->y, l->src[i].node, "address",
			               "bridge %s forwards to bus %02x (its other devices); %s on bus %02x cannot "
			               "also be behind it",
			               fmt_addr(&p->addr, b), secondary[d->parent], fmt_addr(&d->addr, a), d->addr.bus);
		if (secondary[d->parent] < 0)
			owners[n_owners++] = (struct bus_owner){bus_key(&d->addr), (size_t)d->parent};
		secondary[d->parent] = d->addr.bus;
	}
	qsort(owners, n_owners, sizeof(*owners), cmp_owner);
	for (size_t k = 1; k < n_owners; k++)
		if (owners[k].key == owners[k - 1].key)
			return yr_fail(&l->y, l->src[owners[k].bridge].node, "address",
			               "bridges %s and %s both forward to bus %02x; each bus has one upstream bridge",
			               fmt_addr(&m->devices[owners[k - 1].bridge].addr, a),
			               fmt_addr(&m->devices[owners[k].bridge].addr, b), (unsigned)(owners[k].key & 0xff));
	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *d = &m->devices[i];
		if (d->parent >= 0 && m->devices[d->parent].addr.domain == d->addr.domain)
			continue;
		const struct bus_owner *o = owner_of(owners, n_owners, bus_key(&d->addr));
		if (o)
			return yr_fail(&l->y, l->src[i].node, "parent",
			               "%s is on bus %02x, the secondary bus of bridge %s: add parent: %s",
			               fmt_addr(&d->addr, a), d->addr.bus, fmt_addr(&m->devices[o->bridge].addr, b),
			               fmt_addr(&m->devices[o->bridge].addr, b));
	}
	return 0;
}

static int add_module(struct loader *l, const char *name)
{
	struct vk_host_model *m = l->m;

	if (name_set_has(&l->modules, name))
		return 0;
	struct vk_kmodule *v = realloc(m->modules, (m->n_modules + 1) * sizeof(*v));
	if (!v)
		return oom(l);
	m->modules = v;
	v = &m->modules[m->n_modules];
	*v = (struct vk_kmodule){.name = strdup(name)};
	if (!v->name)
		return oom(l);
	m->n_modules++;
	return name_set_add(&l->modules, v->name) < 0 ? oom(l) : 0;
}

/* The name, IOMMU units, group type, command line and release a scenario left out. */
static int kernel_settings_defaults(struct loader *l)
{
	struct vk_host_model *m = l->m;

	if (!m->name && !(m->name = strdup("unnamed")))
		return oom(l);
	if (m->noiommu && m->iommu != VK_IOMMU_NONE)
		return yr_fail(&l->y, NULL, "kernel.noiommu",
		               "no-IOMMU mode is only possible without an IOMMU; set kernel.iommu: none");
	if (!m->iommu_units)
		m->iommu_units = 1;
	if (!m->default_group_type) {
		bool pt = m->cmdline && (strstr(m->cmdline, "iommu=pt") || strstr(m->cmdline, "iommu.passthrough=1"));
		if (!(m->default_group_type = strdup(pt ? "identity" : "DMA-FQ")))
			return oom(l);
	}
	if (!m->cmdline && !(m->cmdline = strdup(m->iommu == VK_IOMMU_INTEL ? "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=on"
	                                         : m->iommu == VK_IOMMU_AMD ? "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro amd_iommu=on"
	                                                                    : "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro")))
		return oom(l);
	if (!m->kernel_release && !(m->kernel_release = strdup("6.8.0-vfiokit")))
		return oom(l);
	return 0;
}

/* Listed modules: they must hold what the kernel settings need.  Else the
 * modules the settings and the devices' drivers need. */
static int kernel_modules(struct loader *l)
{
	struct vk_host_model *m = l->m;
	int r;

	if (l->modules_given) {
		if (m->iommufd && !vk_host_model_has_module(m, "iommufd"))
			return yr_fail(&l->y, l->modules_node, "modules",
			               "kernel.iommufd is true but no iommufd module is listed; add iommufd "
			               "(or {name: iommufd, builtin: true})");
		if (m->noiommu && !vk_host_model_has_module(m, "vfio"))
			return yr_fail(&l->y, l->modules_node, "modules",
			               "kernel.noiommu is a parameter of the vfio module, which is not listed");
		return 0;
	}
	bool vfio = false;
	for (size_t i = 0; i < m->n_devices; i++)
		vfio |= vk_pci_driver_is_vfio_pci(m->devices[i].driver);
	if (vfio || m->noiommu || m->vfio_device_cdev)
		for (const char *const *p = (const char *const[]){"vfio", "vfio_pci", "vfio_pci_core", "vfio_iommu_type1",
		                                                  NULL};
		     *p; p++)
			if ((r = add_module(l, *p)) < 0)
				return r;
	if (m->iommufd && (r = add_module(l, "iommufd")) < 0)
		return r;
	for (size_t i = 0; i < m->n_devices; i++) {
		const char *mod = m->devices[i].driver ? vk_host_driver_module(m->devices[i].driver) : NULL;
		if (mod && (r = add_module(l, mod)) < 0)
			return r;
	}
	return 0;
}

/* kernel.noiommu is vfio's enable_unsafe_noiommu_mode: given as true, or added as Y. */
static int kernel_noiommu_param(struct loader *l)
{
	struct vk_host_model *m = l->m;
	struct vk_kmodule *v = NULL;
	bool set = false;

	if (!m->noiommu)
		return 0;
	for (size_t i = 0; i < m->n_modules; i++)
		if (!strcmp(m->modules[i].name, "vfio"))
			v = &m->modules[i];
	for (size_t i = 0; v && i < v->n_params; i++) {
		if (strcmp(v->param_names[i], "enable_unsafe_noiommu_mode"))
			continue;
		/* the kernel's bool parameters (kstrtobool) read y/Y/1/on as true */
		const char *pv = v->param_values[i];
		if (!strchr("yY1", pv[0]) && strcasecmp(pv, "on"))
			return yr_fail(&l->y, l->modules_node, "modules",
			               "kernel.noiommu is true but vfio's enable_unsafe_noiommu_mode is '%s'; "
			               "drop the parameter or set it to Y",
			               v->param_values[i]);
		set = true;
	}
	if (!v || set)
		return 0;
	char **n = realloc(v->param_names, (v->n_params + 2) * sizeof(char *));
	if (n)
		v->param_names = n;
	char **val = realloc(v->param_values, (v->n_params + 2) * sizeof(char *));
	if (val)
		v->param_values = val;
	if (!n || !val)
		return oom(l);
	v->param_names[v->n_params] = strdup("enable_unsafe_noiommu_mode");
	v->param_values[v->n_params] = strdup("Y");
	if (!v->param_names[v->n_params] || !v->param_values[v->n_params])
		return oom(l);
	v->n_params++;
	return 0;
}

static int kernel_defaults(struct loader *l)
{
	struct vk_host_model *m = l->m;
	int r;

	if ((r = kernel_settings_defaults(l)) < 0 || (r = kernel_modules(l)) < 0 || (r = kernel_noiommu_param(l)) < 0)
		return r;
	if (vk_host_model_has_module(m, "vfio_pci") && (r = model_add_driver(m, "vfio-pci")) < 0)
		return oom(l);
	if (model_add_driver(m, "pcieport") < 0)
		return oom(l);
	return 0;
}

static bool same_slot(const struct vk_pci_addr *x, const struct vk_pci_addr *y)
{
	return x->domain == y->domain && x->bus == y->bus && x->slot == y->slot;
}

/* Config space from the ids when the scenario gives none; the header shape
 * (type 0 endpoint or type 1 bridge) is what lspci reads. */
/* The scenario's config bytes are kept; only what the topology decides must agree. */
static int given_config(struct loader *l, size_t i, int secondary, int subordinate, bool multifunction)
{
	struct vk_host_device *d = &l->m->devices[i];
	uint8_t sec = vk_host_config_byte(d, PCI_SECONDARY_BUS), sub = vk_host_config_byte(d, PCI_SUBORDINATE_BUS);
	uint8_t *hdr;

	if (is_bridge(d) && secondary >= 0 && (sec != secondary || sub < subordinate))
		return yr_fail(&l->y, l->src[i].node, "config",
		               "the bridge's config space forwards buses %02x-%02x, but the devices behind it "
		               "are on buses %02x-%02x; fix bytes 0x19/0x1a",
		               sec, sub, secondary, subordinate);
	if (!multifunction)
		return 0;
	if (vk_host_config_writable(d, PCI_HEADER_TYPE, 1, &hdr) < 0)
		return oom(l);
	*hdr |= 0x80;
	return 0;
}

static int synthesize_config(struct loader *l, size_t i, const int *secondary, const int *subordinate)
{
	struct vk_host_model *m = l->m;
	struct vk_host_device *d = &m->devices[i];
	uint8_t c[PCI_CFG_SPACE_SIZE] = {0};
	bool multifunction = false;

	/* devices are sorted by address: the other functions of a slot are neighbours */
	multifunction = (i > 0 && same_slot(&d->addr, &m->devices[i - 1].addr)) ||
	                (i + 1 < m->n_devices && same_slot(&d->addr, &m->devices[i + 1].addr));
	if (d->config_len)
		return given_config(l, i, secondary[i], subordinate[i], multifunction);
	if (!is_bridge(d) && !d->n_resources) {
		d->bar0_size = 16u << 20;
		d->bar0_base = 0x380000000000ull + ((uint64_t)i << 24);
	}
	c[0x00] = (uint8_t)d->vendor;
	c[0x01] = (uint8_t)(d->vendor >> 8);
	c[0x02] = (uint8_t)d->device;
	c[0x03] = (uint8_t)(d->device >> 8);
	c[0x04] = d->driver ? 0x06 : 0x00; /* memory space + bus master once a driver enabled it */
	c[0x08] = d->revision;
	c[0x09] = (uint8_t)d->class_code;
	c[0x0a] = (uint8_t)(d->class_code >> 8);
	c[0x0b] = (uint8_t)(d->class_code >> 16);
	c[0x0c] = 0x10;
	c[0x0e] = (uint8_t)((is_bridge(d) ? 0x01 : 0x00) | (multifunction ? 0x80 : 0x00));
	if (is_bridge(d)) {
		c[0x18] = d->addr.bus;
		c[0x19] = (uint8_t)(secondary[i] >= 0 ? secondary[i] : 0);
		c[0x1a] = (uint8_t)(subordinate[i] >= 0 ? subordinate[i] : 0);
	} else {
		uint64_t bar = d->bar0_base | 0x0c; /* 64-bit prefetchable memory */
		memcpy(c + 0x10, &(uint32_t){(uint32_t)bar}, 4);
		memcpy(c + 0x14, &(uint32_t){(uint32_t)(bar >> 32)}, 4);
		c[0x2c] = (uint8_t)d->subsystem_vendor;
		c[0x2d] = (uint8_t)(d->subsystem_vendor >> 8);
		c[0x2e] = (uint8_t)d->subsystem_device;
		c[0x2f] = (uint8_t)(d->subsystem_device >> 8);
	}
	if (!l->src[i].has_irq)
		d->irq = (uint32_t)(16 + i % 100);
	c[0x3c] = (uint8_t)d->irq;
	c[0x3d] = d->physfn >= 0 ? 0 : 1; /* VFs have no INTx */
	if (vk_host_config_set(d, c, sizeof(c), sizeof(c)) < 0)
		return oom(l);
	char why[256];
	int r = pci_caps_synthesize(m, i, why, sizeof(why)); /* the capability list (model/pci_caps.c) */
	return r == -EINVAL ? yr_fail(&l->y, l->src[i].node, "capabilities", "%s", why) : r < 0 ? oom(l)
	                                                                                        : 0;
}

static int finish_config(struct loader *l)
{
	struct vk_host_model *m = l->m;
	size_t n = m->n_devices ? m->n_devices : 1;
	_cleanup_free_ int *sec = malloc(n * sizeof(int));
	_cleanup_free_ int *sub = malloc(n * sizeof(int));
	int r;

	if (!sec || !sub)
		return oom(l);
	for (size_t i = 0; i < m->n_devices; i++)
		sec[i] = sub[i] = -1;
	/* subordinate = highest bus anywhere below the bridge in its domain */
	for (size_t i = 0; i < m->n_devices; i++) {
		struct vk_host_device *d = &m->devices[i];
		for (int p = d->parent, child = (int)i; p >= 0; child = p, p = m->devices[p].parent) {
			if (m->devices[p].addr.domain != d->addr.domain)
				break;
			if (m->devices[child].parent == p && sec[p] < 0)
				sec[p] = m->devices[child].addr.bus;
			if (sub[p] < d->addr.bus)
				sub[p] = d->addr.bus;
		}
	}
	for (size_t i = 0; i < m->n_devices; i++)
		if ((r = synthesize_config(l, i, sec, sub)) < 0)
			return r;
	return 0;
}

int scenario_complete(struct loader *l)
{
	struct vk_host_model *m = l->m;
	int r;

	if ((r = sort_devices(l)) < 0 || (r = derive_configs(l)) < 0 || (r = resolve_physfn(l)) < 0 || (r = resolve_parents(l)) < 0 ||
	    (r = device_defaults(l)) < 0 || (r = check_drivers(l)) < 0 || (r = check_topology(l)) < 0 ||
	    (r = kernel_defaults(l)) < 0 || (r = scenario_assign_groups(l)) < 0 ||
	    (r = scenario_apply_group_specs(l)) < 0 || (r = scenario_assign_vfio_indices(l)) < 0 || (r = finish_config(l)) < 0 ||
	    (r = scenario_platform_complete(l)) < 0)
		return r;
	vk_host_model_assign_group_minors(m);
	for (size_t i = 0; i < m->n_devices; i++)
		m->devices[i].udev_seq = (uint32_t)i + 1;
	if (m->n_drivers)
		qsort(m->drivers, m->n_drivers, sizeof(*m->drivers), vk_strptr_cmp);
	return host_model_note_native_ids(m);
}
