/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Capability lists for synthesized config space, and the kernel's readings of
 * a config space's capabilities.
 *
 * Register layouts are the kernel's include/uapi/linux/pci_regs.h (included
 * below, so the names are the kernel's).  What a device gets by default:
 *
 *   class                          standard capabilities
 *   network, storage, serial bus,  PM, MSI, MSI-X (table in a memory BAR)
 *   accelerators
 *   display, multimedia, others    PM, MSI
 *   bridges (PCI-PCI)              PM, MSI
 *   host and ISA bridges           none
 *   SR-IOV VF                      MSI-X (no INTx, no PM)
 *
 * plus, for a PCIe device, the Express capability (endpoint, or root complex
 * integrated endpoint on a root bus; root port, upstream or downstream switch
 * port by the bridge's place: drivers/pci/probe.c set_pcie_port_type() reads
 * it back the same way), 4096 bytes of config and, in extended config space,
 * AER; ACS on root and downstream ports (and on SR-IOV functions, which is
 * what lets their VFs sit in groups of their own: drivers/pci/pci.c
 * pci_acs_enabled()); SR-IOV and ARI on a PF; ARI on a VF.  A device is PCIe
 * unless the bridge above it is not (a conventional bridge has conventional
 * devices below it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>

#include <vfiokit/resolver.h>

#include "model/pci_caps.h"
#include "model/yaml_read.h"

/* The synthesized BAR0 (synthesize_config()) and a VF's BAR0 in its PF's window. */
#define SYNTH_BAR_SIZE (16ull << 20)
/* VF BAR windows start here, above the synthesized BAR0s at 0x380000000000 + (i << 24). */
#define VF_WINDOW_BASE 0x3c0000000000ull
/* Fixed offsets of the standard capabilities (an X710 has them there too). */
enum { POS_PM = 0x40,
       POS_MSI = 0x50,
       POS_MSIX = 0x70,
       POS_EXP = 0xa0 };
/* drivers/pci/pci.c: PCI_FIND_CAP_TTL, the kernel's bound on a capability walk */
#define FIND_CAP_TTL 48
/* PCI_EXP_DEVCTL payload/read request encodings: 256 bytes, 512 bytes */
#define DEVCTL_DEFAULT (PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_EXT_TAG | PCI_EXP_DEVCTL_NOSNOOP_EN | \
	                PCI_EXP_DEVCTL_PAYLOAD_256B | PCI_EXP_DEVCTL_READRQ_512B)
#define PCIE_BAD_TYPE 0xff /* not PCIe */

static const struct {
	const char *name;
	uint32_t bit;
} cap_names[] = {
	{"pm", PCI_CAPS_PM},
	{"msi", PCI_CAPS_MSI},
	{"msix", PCI_CAPS_MSIX},
	{"pcie", PCI_CAPS_PCIE},
	{"aer", PCI_CAPS_AER},
	{"acs", PCI_CAPS_ACS},
	{"sriov", PCI_CAPS_SRIOV},
	{"ari", PCI_CAPS_ARI},
};

uint32_t pci_caps_bit(const char *name)
{
	for (size_t k = 0; k < sizeof(cap_names) / sizeof(cap_names[0]); k++)
		if (!strcmp(cap_names[k].name, name))
			return cap_names[k].bit;
	return 0;
}

const char *pci_caps_names(void)
{
	return "pm, msi, msix, pcie, aer, acs, sriov, ari";
}

int pci_caps_parse(struct yreader *y, const struct ynode *v, uint32_t *out)
{
	int r = yr_want_kind(y, v, "capabilities", YN_SEQ);

	if (r < 0)
		return r;
	*out = PCI_CAPS_GIVEN;
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *n = yr_item(v, i);
		const char *name;
		if ((r = yr_string(y, n, "capabilities", &name)) < 0)
			return r;
		uint32_t bit = pci_caps_bit(name);
		if (!bit)
			return yr_fail(y, n, "capabilities", "'%s' is not a capability fakesys makes; use %s", name,
			               pci_caps_names());
		if (*out & bit)
			return yr_fail(y, n, "capabilities", "'%s' is listed twice", name);
		*out |= bit;
	}
	return 0;
}

static uint16_t rd16(const uint8_t *c, size_t off)
{
	return (uint16_t)(c[off] | c[off + 1] << 8);
}

static void wr16(uint8_t *c, size_t off, uint16_t v)
{
	c[off] = (uint8_t)v;
	c[off + 1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *c, size_t off, uint32_t v)
{
	wr16(c, off, (uint16_t)v);
	wr16(c, off + 2, (uint16_t)(v >> 16));
}

/* A config space to read: @stored bytes at @b, zeros from there to @len (a
 * model device's zero-tailed storage, or a whole buffer). */
struct cfg_view {
	const uint8_t *b;
	size_t stored, len;
};

static struct cfg_view dev_view(const struct vk_host_device *d)
{
	return (struct cfg_view){d->config, d->config_stored, d->config_len};
}

static uint8_t v8(const struct cfg_view *v, size_t off)
{
	return off < v->stored ? v->b[off] : 0;
}

static uint16_t v16(const struct cfg_view *v, size_t off)
{
	return (uint16_t)(v8(v, off) | v8(v, off + 1) << 8);
}

static uint32_t v32(const struct cfg_view *v, size_t off)
{
	return (uint32_t)v16(v, off) | (uint32_t)v16(v, off + 2) << 16;
}

/* drivers/pci/pci.c __pci_find_next_cap_ttl(): pointers below 0x40 end the
 * list, the low two bits are ignored, id 0xff ends it, at most 48 steps. */
static unsigned view_cap_find(const struct cfg_view *v, uint8_t id)
{
	if (v->len < PCI_CFG_SPACE_SIZE || !(v16(v, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	unsigned pos = v8(v, PCI_CAPABILITY_LIST);
	for (int ttl = FIND_CAP_TTL; ttl > 0; ttl--) {
		if (pos < PCI_STD_HEADER_SIZEOF)
			break;
		pos &= ~3u;
		if (v8(v, pos) == 0xff)
			break;
		if (v8(v, pos) == id)
			return pos;
		pos = v8(v, pos + PCI_CAP_LIST_NEXT);
	}
	return 0;
}

/* drivers/pci/pci.c pci_find_next_ext_capability(): from 0x100, at most
 * (4096 - 256) / 8 steps, a next pointer below 0x100 ends the list. */
static unsigned view_ext_cap_find(const struct cfg_view *v, uint16_t id)
{
	if (v->len < PCI_CFG_SPACE_EXP_SIZE)
		return 0;
	unsigned pos = PCI_CFG_SPACE_SIZE;
	for (int ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8; ttl > 0; ttl--) {
		uint32_t h = v32(v, pos);
		if (h == 0 || h == 0xffffffff)
			break;
		if (PCI_EXT_CAP_ID(h) == id)
			return pos;
		pos = PCI_EXT_CAP_NEXT(h);
		if (pos < PCI_CFG_SPACE_SIZE || pos > PCI_CFG_SPACE_EXP_SIZE - 4)
			break;
	}
	return 0;
}

static bool is_bridge(const struct vk_host_device *d)
{
	return (d->class_code >> 8) == 0x0604 || (d->class_code >> 8) == 0x0609;
}

static bool same_bus(const struct vk_host_device *a, const struct vk_host_device *b)
{
	return a->addr.domain == b->addr.domain && a->addr.bus == b->addr.bus;
}

static uint32_t rid_of(const struct vk_host_device *d)
{
	return (uint32_t)d->addr.bus << 8 | (uint32_t)d->addr.slot << 3 | d->addr.function;
}

/* The synthesis in progress: device @self, whose own config is still only a header. */
struct ctx {
	const struct vk_host_model *m;
	size_t self;
	uint32_t self_caps;
	int depth;
};

static uint32_t caps_of(struct ctx *c, size_t j);
static unsigned port_type(struct ctx *c, size_t j);

/* Whether device @j's config is complete (given, or synthesized before): then @v views it. */
static bool done_config(const struct ctx *c, size_t j, struct cfg_view *v)
{
	const struct vk_host_device *d = &c->m->devices[j];
	*v = dev_view(d);
	return j != c->self && d->config_len;
}

/* The capabilities a complete config space has. */
static uint32_t caps_in_config(const struct cfg_view *v)
{
	static const struct {
		uint8_t id;
		uint32_t bit;
	} std[] = {{PCI_CAP_ID_PM, PCI_CAPS_PM}, {PCI_CAP_ID_MSI, PCI_CAPS_MSI}, {PCI_CAP_ID_MSIX, PCI_CAPS_MSIX}, {PCI_CAP_ID_EXP, PCI_CAPS_PCIE}};
	static const struct {
		uint16_t id;
		uint32_t bit;
	} ext[] = {{PCI_EXT_CAP_ID_ERR, PCI_CAPS_AER}, {PCI_EXT_CAP_ID_ACS, PCI_CAPS_ACS}, {PCI_EXT_CAP_ID_SRIOV, PCI_CAPS_SRIOV}, {PCI_EXT_CAP_ID_ARI, PCI_CAPS_ARI}};
	uint32_t caps = 0;

	for (size_t k = 0; k < sizeof(std) / sizeof(std[0]); k++)
		caps |= view_cap_find(v, std[k].id) ? std[k].bit : 0;
	for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++)
		caps |= view_ext_cap_find(v, ext[k].id) ? ext[k].bit : 0;
	return caps;
}

/* The bridge above @j in its own domain, -1 on a root bus (a VMD domain's too). */
static int upstream_bridge(const struct vk_host_model *m, size_t j)
{
	const struct vk_host_device *d = &m->devices[j];
	if (d->parent < 0 || m->devices[d->parent].addr.domain != d->addr.domain ||
	    !is_bridge(&m->devices[d->parent]))
		return -1;
	return d->parent;
}

/* Whether the bus @j sits on is PCIe: a root bus is; below a bridge, when the
 * bridge is a PCIe port other than a PCIe-to-PCI bridge. */
static bool bus_is_pcie(struct ctx *c, size_t j)
{
	int p = upstream_bridge(c->m, j);
	if (p < 0)
		return true;
	if (!(caps_of(c, (size_t)p) & PCI_CAPS_PCIE))
		return false;
	return port_type(c, (size_t)p) != PCI_EXP_TYPE_PCI_BRIDGE;
}

/* A memory BAR for the MSI-X table: its index and size. */
static bool msix_bar(const struct vk_host_device *d, unsigned *bir, uint64_t *size)
{
	if (!d->n_resources) {
		*bir = 0;
		*size = d->bar0_size;
		return d->bar0_size != 0;
	}
	for (size_t k = 0; k < d->n_resources && k < PCI_STD_NUM_BARS; k++) {
		const uint64_t *r = d->resources[k];
		if ((r[2] & 0x200) && r[1] > r[0]) { /* IORESOURCE_MEM */
			*bir = (unsigned)k;
			*size = r[1] - r[0] + 1;
			return true;
		}
	}
	return false;
}

static uint32_t default_caps(struct ctx *c, size_t j)
{
	const struct vk_host_device *d = &c->m->devices[j];
	uint8_t base = (uint8_t)(d->class_code >> 16), sub = (uint8_t)(d->class_code >> 8);
	unsigned bir;
	uint64_t size;
	uint32_t caps;

	if (d->physfn >= 0) /* SR-IOV 1.1, 3.4: a VF has no INTx; its own PM is optional */
		caps = PCI_CAPS_MSIX | PCI_CAPS_PCIE | PCI_CAPS_AER | PCI_CAPS_ARI | PCI_CAPS_ACS;
	else if (base == 0x06 && (sub == 0x00 || sub == 0x01)) /* host and ISA bridges */
		return 0;
	else if (is_bridge(d))
		caps = PCI_CAPS_PM | PCI_CAPS_MSI;
	else if (base == 0x01 || base == 0x02 || base == 0x0c || base == 0x12)
		caps = PCI_CAPS_PM | PCI_CAPS_MSI | PCI_CAPS_MSIX;
	else
		caps = PCI_CAPS_PM | PCI_CAPS_MSI;
	if ((caps & PCI_CAPS_MSIX) && !msix_bar(d, &bir, &size))
		caps = (caps & ~PCI_CAPS_MSIX) | PCI_CAPS_MSI;
	if (d->physfn < 0 && !bus_is_pcie(c, j))
		return caps;
	caps |= PCI_CAPS_PCIE | PCI_CAPS_AER;
	if (d->sriov_totalvfs)
		caps |= PCI_CAPS_SRIOV | PCI_CAPS_ARI | PCI_CAPS_ACS;
	if (is_bridge(d)) {
		unsigned t = port_type(c, j);
		if (t == PCI_EXP_TYPE_ROOT_PORT || t == PCI_EXP_TYPE_DOWNSTREAM)
			caps |= PCI_CAPS_ACS;
	}
	return caps;
}

static uint32_t caps_of(struct ctx *c, size_t j)
{
	const struct vk_host_device *d = &c->m->devices[j];
	struct cfg_view v;
	uint32_t caps;

	if (done_config(c, j, &v))
		return caps_in_config(&v);
	if (j == c->self && c->self_caps)
		return c->self_caps;
	if (d->caps & PCI_CAPS_GIVEN)
		return d->caps & ~PCI_CAPS_GIVEN;
	if (c->depth > 512) /* parents form a tree (check_topology()); a guard all the same */
		return 0;
	c->depth++;
	caps = default_caps(c, j);
	c->depth--;
	return caps;
}

/* PCI_EXP_FLAGS_TYPE of device @j, PCIE_BAD_TYPE when it is not PCIe. */
static unsigned port_type(struct ctx *c, size_t j)
{
	const struct vk_host_model *m = c->m;
	const struct vk_host_device *d = &m->devices[j];
	struct cfg_view v;

	if (done_config(c, j, &v)) {
		unsigned pos = view_cap_find(&v, PCI_CAP_ID_EXP);
		return pos ? (v16(&v, pos + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_TYPE) >> 4 : PCIE_BAD_TYPE;
	}
	if (d->physfn >= 0) /* a VF is the kind of function its PF is */
		return port_type(c, (size_t)d->physfn) == PCI_EXP_TYPE_RC_END ? PCI_EXP_TYPE_RC_END
		                                                              : PCI_EXP_TYPE_ENDPOINT;
	int p = upstream_bridge(m, j);
	if (!is_bridge(d))
		return p < 0 ? PCI_EXP_TYPE_RC_END : PCI_EXP_TYPE_ENDPOINT;
	if (p < 0)
		return PCI_EXP_TYPE_ROOT_PORT;
	if (c->depth > 512)
		return PCI_EXP_TYPE_ROOT_PORT;
	c->depth++;
	unsigned up = port_type(c, (size_t)p);
	c->depth--;
	/* below a switch's upstream port are its downstream ports; below a root or
	 * downstream port, the next switch's upstream port */
	return up == PCI_EXP_TYPE_UPSTREAM ? PCI_EXP_TYPE_DOWNSTREAM : PCI_EXP_TYPE_UPSTREAM;
}

/* The first device at or after @a (devices are sorted by address). */
static size_t lower_bound(const struct vk_host_model *m, const struct vk_pci_addr *a)
{
	size_t lo = 0, hi = m->n_devices;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (vk_pci_addr_cmp(&m->devices[mid].addr, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool is_child(const struct vk_host_model *m, size_t k, size_t j)
{
	const struct vk_host_device *e = &m->devices[k];
	return e->parent == (int)j && e->physfn < 0 && e->addr.domain == m->devices[j].addr.domain;
}

/* The function on the other end of port @j's link: the first device on its
 * secondary bus (found by address once the header names that bus). */
static int link_child(const struct vk_host_model *m, size_t j)
{
	const struct vk_host_device *d = &m->devices[j];

	if (d->config_len) {
		struct vk_pci_addr a = {.domain = d->addr.domain, .bus = vk_host_config_byte(d, PCI_SECONDARY_BUS)};
		if (!a.bus) /* never a secondary bus: nothing behind the bridge */
			return -1;
		for (size_t k = lower_bound(m, &a);
		     k < m->n_devices && m->devices[k].addr.domain == a.domain && m->devices[k].addr.bus == a.bus; k++)
			if (is_child(m, k, j))
				return (int)k;
		return -1;
	}
	for (size_t k = 0; k < m->n_devices; k++) /* no header yet (a parent sorting after its child) */
		if (is_child(m, k, j))
			return (int)k;
	return -1;
}

/* Generation (1 = 2.5 GT/s .. 5 = 32 GT/s) and lanes a function's link supports:
 * by the class of the slot's first function (all functions share one link). */
static void class_link(const struct vk_host_model *m, size_t j, unsigned *gen, unsigned *width)
{
	while (j > 0 && m->devices[j - 1].addr.domain == m->devices[j].addr.domain &&
	       m->devices[j - 1].addr.bus == m->devices[j].addr.bus &&
	       m->devices[j - 1].addr.slot == m->devices[j].addr.slot)
		j--;
	const struct vk_host_device *d = &m->devices[j];
	uint16_t cls = (uint16_t)(d->class_code >> 8);

	*gen = 3;
	*width = 4;
	if (is_bridge(d) || (cls >> 8) == 0x03 || (cls >> 8) == 0x12)
		*gen = 4, *width = 16; /* ports, GPUs, accelerators: Gen4 x16 */
	else if (cls == 0x0108)
		*gen = 4, *width = 4; /* NVMe */
	else if ((cls >> 8) == 0x01 || (cls >> 8) == 0x02)
		*gen = 3, *width = 8; /* NICs, SAS/RAID */
	else if (cls == 0x0c03)
		*gen = 3, *width = 1; /* USB */
}

/* The link capability of device @j: from its config when complete, else by class. */
static void link_cap(struct ctx *c, size_t j, unsigned *gen, unsigned *width)
{
	struct cfg_view v;
	unsigned pos;

	if (done_config(c, j, &v) && (pos = view_cap_find(&v, PCI_CAP_ID_EXP))) {
		uint32_t cap = v32(&v, pos + PCI_EXP_LNKCAP);
		*gen = cap & PCI_EXP_LNKCAP_SLS;
		*width = (cap & PCI_EXP_LNKCAP_MLW) >> 4;
		return;
	}
	class_link(c->m, j, gen, width);
}

/* Whether port @p forwards ARI: drivers/pci/pci.c pci_configure_ari() enables
 * it when the function 0 below has the ARI capability. */
static bool ari_forwarding(struct ctx *c, size_t p)
{
	struct cfg_view v;
	unsigned pos;

	if (done_config(c, p, &v))
		return (pos = view_cap_find(&v, PCI_CAP_ID_EXP)) && (v16(&v, pos + PCI_EXP_DEVCTL2) & PCI_EXP_DEVCTL2_ARI);
	if (!(caps_of(c, p) & PCI_CAPS_PCIE))
		return false;
	unsigned t = port_type(c, p);
	if (t != PCI_EXP_TYPE_ROOT_PORT && t != PCI_EXP_TYPE_DOWNSTREAM)
		return false;
	int k = link_child(c->m, p);
	return k >= 0 && c->m->devices[k].addr.slot == 0 && c->m->devices[k].addr.function == 0 &&
	       (caps_of(c, (size_t)k) & PCI_CAPS_ARI);
}

static void put_pm(uint8_t *cfg, unsigned next, bool no_soft_reset)
{
	cfg[POS_PM] = PCI_CAP_ID_PM;
	cfg[POS_PM + PCI_CAP_LIST_NEXT] = (uint8_t)next;
	wr16(cfg, POS_PM + PCI_PM_PMC, 3 | PCI_PM_CAP_PME_D0 | PCI_PM_CAP_PME_D3hot | PCI_PM_CAP_PME_D3cold);
	/* D0; NoSoftRst+ keeps the state across D3hot->D0, which rules out the
	 * "pm" reset method (drivers/pci/pci.c pci_pm_reset()) */
	wr16(cfg, POS_PM + PCI_PM_CTRL, no_soft_reset ? PCI_PM_CTRL_NO_SOFT_RESET : 0);
}

static void put_msi(uint8_t *cfg, unsigned next, bool enable)
{
	cfg[POS_MSI] = PCI_CAP_ID_MSI;
	cfg[POS_MSI + PCI_CAP_LIST_NEXT] = (uint8_t)next;
	wr16(cfg, POS_MSI + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT | (enable ? PCI_MSI_FLAGS_ENABLE : 0));
	if (enable)
		wr32(cfg, POS_MSI + PCI_MSI_ADDRESS_LO, 0xfee00000); /* the x86 MSI window */
}

/* Table at the start of the BAR, the PBA on the next page when it fits, else right after. */
static bool put_msix(uint8_t *cfg, unsigned next, const struct vk_host_device *d, unsigned vectors, bool enable)
{
	unsigned bir;
	uint64_t size;

	if (!msix_bar(d, &bir, &size))
		return false;
	while (vectors > 1 && (uint64_t)vectors * 16 + (vectors + 63) / 64 * 8 > size)
		vectors /= 2;
	uint64_t table_end = (uint64_t)vectors * 16, pba = (table_end + 0xfff) & ~0xfffull;
	if (pba + (vectors + 63) / 64 * 8 > size)
		pba = table_end;
	if (pba + (vectors + 63) / 64 * 8 > size)
		return false;
	cfg[POS_MSIX] = PCI_CAP_ID_MSIX;
	cfg[POS_MSIX + PCI_CAP_LIST_NEXT] = (uint8_t)next;
	wr16(cfg, POS_MSIX + PCI_MSIX_FLAGS, (uint16_t)((vectors - 1) | (enable ? PCI_MSIX_FLAGS_ENABLE : 0)));
	wr32(cfg, POS_MSIX + PCI_MSIX_TABLE, bir);
	wr32(cfg, POS_MSIX + PCI_MSIX_PBA, (uint32_t)pba | bir);
	return true;
}

/* MSI-X vectors by class: what such devices commonly have (an X710 PF 129,
 * its iavf VFs 5, an NVMe drive 33). */
static unsigned msix_vectors(const struct vk_host_device *d)
{
	uint16_t cls = (uint16_t)(d->class_code >> 8);
	if (cls >> 8 == 0x02)
		return d->physfn >= 0 ? 5 : 129;
	if (d->physfn >= 0)
		return 8;
	if (cls == 0x0108)
		return 33;
	if (cls == 0x0c03)
		return 8;
	return 16;
}

/* The Express capability (version 2, 0x3c bytes: PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 and the slot registers). */
static void put_express(struct ctx *c, uint8_t *cfg, unsigned next, unsigned type)
{
	const struct vk_host_model *m = c->m;
	const struct vk_host_device *d = &m->devices[c->self];
	bool port = type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_DOWNSTREAM;
	bool function = type == PCI_EXP_TYPE_ENDPOINT || type == PCI_EXP_TYPE_RC_END;
	unsigned gen = 0, width = 0, lgen = 0, lwidth = 0, pgen, pwidth;
	int partner = -1;

	cfg[POS_EXP] = PCI_CAP_ID_EXP;
	cfg[POS_EXP + PCI_CAP_LIST_NEXT] = (uint8_t)next;
	wr16(cfg, POS_EXP + PCI_EXP_FLAGS, (uint16_t)(2 | type << 4 | (port ? PCI_EXP_FLAGS_SLOT : 0)));
	/* 256-byte payloads, extended tags, role-based errors; FLR on functions
	 * (a VF must have it: SR-IOV 1.1, 6.2); L0s/L1 latency "no limit" */
	wr32(cfg, POS_EXP + PCI_EXP_DEVCAP,
	     1 | PCI_EXP_DEVCAP_EXT_TAG | PCI_EXP_DEVCAP_RBER | (function ? PCI_EXP_DEVCAP_FLR : 0) |
	             (function ? PCI_EXP_DEVCAP_L0S | PCI_EXP_DEVCAP_L1 : 0));
	wr16(cfg, POS_EXP + PCI_EXP_DEVCTL, DEVCTL_DEFAULT);
	/* completion timeout ranges A-D and its disable; ports forward ARI */
	wr32(cfg, POS_EXP + PCI_EXP_DEVCAP2, 0xf | PCI_EXP_DEVCAP2_COMP_TMOUT_DIS | PCI_EXP_DEVCAP2_LTR | (port ? PCI_EXP_DEVCAP2_ARI : 0));
	if (port && ari_forwarding(c, c->self))
		wr16(cfg, POS_EXP + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI);
	/* Link registers: none for a root complex integrated endpoint (no link) and
	 * for a VF (its link is the PF's; the VF's fields are reserved). */
	if (type == PCI_EXP_TYPE_RC_END || d->physfn >= 0)
		return;
	class_link(m, c->self, &gen, &width);
	if (port)
		partner = link_child(m, c->self);
	else if (upstream_bridge(m, c->self) >= 0)
		partner = upstream_bridge(m, c->self);
	if (partner >= 0 && (caps_of(c, (size_t)partner) & PCI_CAPS_PCIE)) {
		link_cap(c, (size_t)partner, &pgen, &pwidth);
		lgen = gen < pgen ? gen : pgen;
		lwidth = width < pwidth ? width : pwidth;
	}
	wr32(cfg, POS_EXP + PCI_EXP_LNKCAP,
	     gen | width << 4 | PCI_EXP_LNKCAP_ASPM_L1 | (uint32_t)(port ? d->addr.slot : 0) << 24 |
	             (port ? PCI_EXP_LNKCAP_DLLLARC | PCI_EXP_LNKCAP_LBNC : 0));
	if (lwidth) {
		wr16(cfg, POS_EXP + PCI_EXP_LNKCTL, PCI_EXP_LNKCTL_CCC);
		wr16(cfg, POS_EXP + PCI_EXP_LNKSTA,
		     (uint16_t)(lgen | lwidth << 4 | PCI_EXP_LNKSTA_SLC | (port ? PCI_EXP_LNKSTA_DLLLA : 0)));
	} else {
		wr16(cfg, POS_EXP + PCI_EXP_LNKSTA, PCI_EXP_LNKSTA_CLS_2_5GB); /* link down: x0 */
	}
	if (port) { /* a slot, numbered by the port's device number; 75 W */
		wr32(cfg, POS_EXP + PCI_EXP_SLTCAP, 75u << 7 | (uint32_t)(d->addr.slot + 1) << 19);
		wr16(cfg, POS_EXP + PCI_EXP_SLTSTA, partner >= 0 ? PCI_EXP_SLTSTA_PDS : 0);
	}
	if (type == PCI_EXP_TYPE_ROOT_PORT)
		wr16(cfg, POS_EXP + PCI_EXP_RTCAP, PCI_EXP_RTCAP_CRSVIS);
	wr32(cfg, POS_EXP + PCI_EXP_LNKCAP2, ((1u << gen) - 1) << 1);
	wr16(cfg, POS_EXP + PCI_EXP_LNKCTL2, (uint16_t)gen);
}

/* Extended capability header: id, version, next. */
static void ext_header(uint8_t *cfg, unsigned pos, uint16_t id, unsigned ver, unsigned next)
{
	wr32(cfg, pos, id | ver << 16 | next << 20);
}

/* PF @pf's VF BAR window: 4 GiB of its own above the synthesized BAR0s,
 * which VF BAR0s of 16 MiB fill up to 256 VFs, smaller ones (a power of two)
 * beyond. */
static uint64_t vf_window(size_t pf)
{
	return VF_WINDOW_BASE + ((uint64_t)pf << 32);
}

static uint64_t vf_bar_size(uint32_t totalvfs)
{
	uint64_t size = SYNTH_BAR_SIZE;
	while (totalvfs && size * totalvfs > (1ull << 32))
		size >>= 1;
	return size;
}

static unsigned vf_offset_stride(const struct vk_host_model *m, const struct vk_host_device *d, unsigned *stride)
{
	*stride = 1;
	if (!d->n_vfs || !d->vfs)
		return 16; /* what the live mode uses to add VFs (live.c add_vfs()) */
	const struct vk_host_device *v0 = &m->devices[d->vfs[0]];
	if (d->n_vfs > 1)
		*stride = rid_of(&m->devices[d->vfs[1]]) - rid_of(v0);
	return rid_of(v0) - rid_of(d);
}

/* The SR-IOV capability (PCI_EXT_CAP_SRIOV_SIZEOF bytes): drivers/pci/iov.c sriov_init() reads it. */
static void put_sriov(struct ctx *c, uint8_t *cfg, unsigned pos, unsigned next)
{
	const struct vk_host_device *d = &c->m->devices[c->self];
	unsigned stride, offset = vf_offset_stride(c->m, d, &stride);
	uint64_t bar = vf_window(c->self) | PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH;
	uint16_t ctrl = 0;
	int p = upstream_bridge(c->m, c->self);

	ext_header(cfg, pos, PCI_EXT_CAP_ID_SRIOV, 1, next);
	/* ARI Capable Hierarchy: sriov_init() sets it when the bus forwards ARI */
	if (p >= 0 && ari_forwarding(c, (size_t)p))
		ctrl |= PCI_SRIOV_CTRL_ARI;
	wr16(cfg, pos + PCI_SRIOV_CTRL, ctrl); /* VF Enable follows the VFs: pci_config_current() */
	wr16(cfg, pos + PCI_SRIOV_INITIAL_VF, (uint16_t)d->sriov_totalvfs);
	wr16(cfg, pos + PCI_SRIOV_TOTAL_VF, (uint16_t)d->sriov_totalvfs);
	cfg[pos + PCI_SRIOV_FUNC_LINK] = (uint8_t)(rid_of(d) & 0xff);
	wr16(cfg, pos + PCI_SRIOV_VF_OFFSET, (uint16_t)offset);
	wr16(cfg, pos + PCI_SRIOV_VF_STRIDE, (uint16_t)stride);
	wr16(cfg, pos + PCI_SRIOV_VF_DID, d->sriov_vf_device ? d->sriov_vf_device : d->device);
	wr32(cfg, pos + PCI_SRIOV_SUP_PGSIZE, 0x553); /* 4K, 8K, 64K, 256K, 1M, 4M */
	wr32(cfg, pos + PCI_SRIOV_SYS_PGSIZE, 1);     /* 4K */
	wr32(cfg, pos + PCI_SRIOV_BAR, (uint32_t)bar);
	wr32(cfg, pos + PCI_SRIOV_BAR + 4, (uint32_t)(bar >> 32));
}

/* The next function number of an ARI device: the next PF on the bus (VFs say 0). */
static unsigned ari_next_function(const struct vk_host_model *m, size_t j)
{
	const struct vk_host_device *d = &m->devices[j];
	if (d->physfn >= 0)
		return 0;
	for (size_t k = j + 1; k < m->n_devices; k++) {
		const struct vk_host_device *e = &m->devices[k];
		if (e->addr.domain != d->addr.domain || e->addr.bus != d->addr.bus)
			break;
		if (e->physfn < 0)
			return rid_of(e) & 0xff;
	}
	return 0;
}

/* The extended capabilities from 0x100; returns where the last one ends. */
static unsigned put_ext(struct ctx *c, uint8_t *cfg, uint32_t caps, unsigned type)
{
	static const struct {
		uint32_t bit;
		unsigned size;
	} order[] = {{PCI_CAPS_AER, 0x48}, {PCI_CAPS_ACS, 0x08}, {PCI_CAPS_ARI, PCI_EXT_CAP_ARI_SIZEOF}, {PCI_CAPS_SRIOV, PCI_EXT_CAP_SRIOV_SIZEOF}};
	unsigned pos[4], n = 0, at = PCI_CFG_SPACE_SIZE;
	const struct vk_host_model *m = c->m;
	bool port = type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_DOWNSTREAM;
	/* drivers/pci/pci.c pci_std_enable_acs(): with an IOMMU (pci_request_acs())
	 * the kernel enables source validation, request/completion redirect and
	 * upstream forwarding where the capability has them */
	uint16_t acs_cap = port ? PCI_ACS_SV | PCI_ACS_TB | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF
	                        : PCI_ACS_RR | PCI_ACS_CR;
	uint16_t acs_ctrl = m->iommu != VK_IOMMU_NONE ? acs_cap & (PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF) : 0;

	for (size_t k = 0; k < 4; k++) {
		if (!(caps & order[k].bit))
			continue;
		pos[n++] = at;
		at = (at + order[k].size + 0xf) & ~0xfu;
	}
	for (size_t k = 0, i = 0; k < 4; k++) {
		if (!(caps & order[k].bit))
			continue;
		unsigned p = pos[i], next = i + 1 < n ? pos[i + 1] : 0;
		i++;
		switch (order[k].bit) {
		case PCI_CAPS_AER:
			ext_header(cfg, p, PCI_EXT_CAP_ID_ERR, 2, next);
			/* the spec's default severities: DLP, SDES, FCP, RxOF, MalfTLP, UncorrIntErr */
			wr32(cfg, p + PCI_ERR_UNCOR_SEVER, 0x00462030);
			wr32(cfg, p + PCI_ERR_COR_MASK, PCI_ERR_COR_ADV_NFAT | PCI_ERR_COR_INTERNAL);
			wr32(cfg, p + PCI_ERR_CAP, PCI_ERR_CAP_ECRC_GENC | PCI_ERR_CAP_ECRC_CHKC);
			break;
		case PCI_CAPS_ACS:
			ext_header(cfg, p, PCI_EXT_CAP_ID_ACS, 1, next);
			wr16(cfg, p + PCI_ACS_CAP, acs_cap);
			wr16(cfg, p + PCI_ACS_CTRL, acs_ctrl);
			break;
		case PCI_CAPS_ARI:
			ext_header(cfg, p, PCI_EXT_CAP_ID_ARI, 1, next);
			wr16(cfg, p + PCI_ARI_CAP, (uint16_t)(ari_next_function(m, c->self) << 8));
			break;
		case PCI_CAPS_SRIOV:
			put_sriov(c, cfg, p, next);
			break;
		}
	}
	return at;
}

static int fail(char *why, size_t len, const char *msg)
{
	if (why && len)
		snprintf(why, len, "%s", msg);
	return -EINVAL;
}

/* The scenario's list, checked against what the device is. */
static int check_given(struct ctx *c, uint32_t caps, char *why, size_t why_len)
{
	const struct vk_host_device *d = &c->m->devices[c->self];
	unsigned bir, stride, offset;
	uint64_t size;

	if ((caps & (PCI_CAPS_AER | PCI_CAPS_ACS | PCI_CAPS_SRIOV | PCI_CAPS_ARI)) && !(caps & PCI_CAPS_PCIE))
		return fail(why, why_len, "aer, acs, sriov and ari live in PCIe extended config space; add pcie");
	if (d->sriov_totalvfs && !(caps & PCI_CAPS_SRIOV))
		return fail(why, why_len, "the device is an SR-IOV PF (sriov: totalvfs), so the list needs sriov");
	if (!d->sriov_totalvfs && (caps & PCI_CAPS_SRIOV))
		return fail(why, why_len, "sriov needs an SR-IOV PF: give the device sriov: {totalvfs: N}");
	if (d->physfn >= 0 && !(caps & PCI_CAPS_PCIE))
		return fail(why, why_len, "a VF is a PCIe function: the list needs pcie");
	if ((caps & PCI_CAPS_MSIX) && !msix_bar(d, &bir, &size))
		return fail(why, why_len, "msix needs a memory BAR for its table, and the device has none (a bridge, "
		                          "or resources: with only I/O or empty BARs)");
	if ((caps & PCI_CAPS_PCIE) && !bus_is_pcie(c, c->self))
		return fail(why, why_len, "pcie below a conventional PCI bridge: the bridge above has no pcie in its "
		                          "capabilities (or its config: no Express capability)");
	if ((caps & PCI_CAPS_SRIOV) && !(caps & PCI_CAPS_ARI) && upstream_bridge(c->m, c->self) >= 0) {
		/* a port forwards config requests to device 0 only, unless ARI
		 * forwarding is on (drivers/pci/probe.c only_one_child()) */
		offset = vf_offset_stride(c->m, d, &stride);
		if (d->addr.function + offset + (uint64_t)stride * (d->sriov_totalvfs - 1) > 7)
			return fail(why, why_len, "the VFs' routing IDs reach past function 7, which the port above "
			                          "forwards only with ARI: add ari");
	}
	return 0;
}

/* A VF's BAR0 in its PF's VF BAR window, at the VF's index; @cfg is the VF's config being made. */
static void place_vf_bar(const struct vk_host_model *m, struct vk_host_device *d, size_t i, uint8_t *cfg)
{
	const struct vk_host_device *pf = &m->devices[d->physfn];
	struct cfg_view v = dev_view(pf);
	unsigned pos = view_ext_cap_find(&v, PCI_EXT_CAP_ID_SRIOV);
	uint64_t k = 0;

	if (d->n_resources || !pos)
		return;
	uint64_t bar = v32(&v, pos + PCI_SRIOV_BAR) | (uint64_t)v32(&v, pos + PCI_SRIOV_BAR + 4) << 32;
	bar &= ~0xfull;
	if (!bar)
		return;
	bool found = false;
	for (uint32_t n = 0; pf->vfs && n < pf->n_vfs && !found; n++)
		if ((size_t)pf->vfs[n] == i)
			k = n, found = true;
	if (!found) { /* a VF being added (live): its index from its routing ID */
		unsigned off = v16(&v, pos + PCI_SRIOV_VF_OFFSET), st = v16(&v, pos + PCI_SRIOV_VF_STRIDE);
		k = (rid_of(d) - rid_of(pf) - off) / (st ? st : 1);
	}
	d->bar0_size = vf_bar_size(pf->sriov_totalvfs);
	d->bar0_base = bar + k * d->bar0_size;
	uint64_t reg = d->bar0_base | PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH;
	wr32(cfg, PCI_BASE_ADDRESS_0, (uint32_t)reg);
	wr32(cfg, PCI_BASE_ADDRESS_1, (uint32_t)(reg >> 32));
}

int pci_caps_synthesize(struct vk_host_model *m, size_t i, char *why, size_t why_len)
{
	struct vk_host_device *d = &m->devices[i];
	struct ctx c = {.m = m, .self = i};
	/* made whole here, stored zero-tailed at the end: the header is kept */
	uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE] = {0};
	uint32_t caps;
	int r;

	vk_host_config_read(d, 0, cfg, PCI_STD_HEADER_SIZEOF);
	if (d->physfn >= 0) {
		/* a VF has no INTx: drivers/pci/probe.c pci_read_irq() sets pin and irq
		 * to 0 for it without reading the registers */
		cfg[PCI_INTERRUPT_PIN] = 0;
		cfg[PCI_INTERRUPT_LINE] = 0;
		d->irq = 0;
		place_vf_bar(m, d, i, cfg);
	}
	if (d->caps & PCI_CAPS_GIVEN) {
		caps = d->caps & ~PCI_CAPS_GIVEN;
		if ((r = check_given(&c, caps, why, why_len)) < 0)
			return r;
	} else {
		caps = default_caps(&c, i);
	}
	c.self_caps = caps;
	size_t len = caps & PCI_CAPS_PCIE ? PCI_CFG_SPACE_EXP_SIZE : PCI_CFG_SPACE_SIZE;
	cfg[PCI_CAPABILITY_LIST] = 0;
	wr16(cfg, PCI_STATUS, (uint16_t)(rd16(cfg, PCI_STATUS) & ~PCI_STATUS_CAP_LIST));

	/* enabled by the driver that is bound, unless it is vfio-pci, which leaves
	 * that to its user (the kernel also stops INTx then: pci_intx_for_msi()) */
	bool active = d->driver && !vk_pci_driver_is_vfio_pci(d->driver);
	unsigned type = caps & PCI_CAPS_PCIE ? port_type(&c, i) : PCIE_BAD_TYPE;
	static const struct {
		uint32_t bit;
		unsigned pos;
	} chain[] = {{PCI_CAPS_PM, POS_PM}, {PCI_CAPS_MSI, POS_MSI}, {PCI_CAPS_MSIX, POS_MSIX}, {PCI_CAPS_PCIE, POS_EXP}};
	unsigned first = 0;
	for (size_t k = 0; k < 4; k++) {
		if (!(caps & chain[k].bit))
			continue;
		unsigned next = 0;
		for (size_t n = k + 1; n < 4 && !next; n++)
			next = caps & chain[n].bit ? chain[n].pos : 0;
		first = first ? first : chain[k].pos;
		switch (chain[k].bit) {
		case PCI_CAPS_PM:
			put_pm(cfg, next, type == PCI_EXP_TYPE_ENDPOINT || type == PCI_EXP_TYPE_RC_END);
			break;
		case PCI_CAPS_MSI:
			put_msi(cfg, next, active && !(caps & PCI_CAPS_MSIX));
			break;
		case PCI_CAPS_MSIX:
			if (!put_msix(cfg, next, d, msix_vectors(d), active))
				return fail(why, why_len, "no memory BAR holds an MSI-X table");
			break;
		case PCI_CAPS_PCIE:
			put_express(&c, cfg, next, type);
			break;
		}
	}
	if (first) {
		cfg[PCI_CAPABILITY_LIST] = (uint8_t)first;
		wr16(cfg, PCI_STATUS, rd16(cfg, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	}
	if (active && (caps & (PCI_CAPS_MSI | PCI_CAPS_MSIX)))
		wr16(cfg, PCI_COMMAND, rd16(cfg, PCI_COMMAND) | PCI_COMMAND_INTX_DISABLE);
	/* the standard capabilities end below 0x100: what is past the last
	 * capability written is zeros, not to be scanned for its last non-zero byte */
	size_t end = caps & PCI_CAPS_PCIE ? put_ext(&c, cfg, caps, type) : PCI_CFG_SPACE_SIZE;
	return vk_host_config_set(d, cfg, end, len);
}

bool pci_is_pcie(const struct vk_host_device *d)
{
	struct cfg_view v = dev_view(d);
	return view_cap_find(&v, PCI_CAP_ID_EXP) != 0;
}

/*
 * drivers/pci/pci.c pci_reset_fn_methods[] in order, as pci_init_reset_methods()
 * probes them: device_specific and acpi (quirks and firmware, not modelled),
 * "flr" (pcie_reset_flr(): DevCap FLR), "af_flr" (no AF capability here),
 * "pm" (pci_pm_reset(): a PM capability without NoSoftRst), "bus"
 * (pci_reset_bus_function() -> pci_parent_bus_reset(): not on a root bus, not
 * a bridge, and alone on its bus; no hotplug slots are modelled).
 */
/* snprintf(@buf, @len, "%s", @s), -1 when it does not fit: without snprintf,
 * which parses its format for each of the tree's 50,000 devices. */
static int put_text(char *buf, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n >= len)
		return -1;
	memcpy(buf, s, n + 1);
	return (int)n;
}

int pci_reset_methods(const struct vk_host_model *m, const struct vk_host_device *d, char *buf, size_t len)
{
	struct cfg_view v = dev_view(d);
	unsigned pos;
	bool flr = false, pm = false, bus = false;

	if ((pos = view_cap_find(&v, PCI_CAP_ID_EXP)))
		flr = v32(&v, pos + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR;
	if ((pos = view_cap_find(&v, PCI_CAP_ID_PM)))
		pm = !(v16(&v, pos + PCI_PM_CTRL) & PCI_PM_CTRL_NO_SOFT_RESET);
	size_t self = (size_t)(d - m->devices);
	if (!is_bridge(d) && self < m->n_devices && upstream_bridge(m, self) >= 0) {
		/* alone on its bus: its neighbours in address order are on other buses */
		bus = (self == 0 || !same_bus(&m->devices[self - 1], d)) &&
		      (self + 1 == m->n_devices || !same_bus(&m->devices[self + 1], d));
	}
	char text[16] = ""; /* by hand, not snprintf: the tree asks twice per device */
	if (flr)
		strcat(text, "flr");
	if (pm)
		strcat(text, *text ? " pm" : "pm");
	if (bus)
		strcat(text, *text ? " bus" : "bus");
	return put_text(buf, len, *text ? strcat(text, "\n") : text);
}

/* drivers/pci/probe.c pci_speed_string() for PCIe speeds (Linux 5.7 and later), with the newline */
static const char *speed_string(unsigned gen)
{
	static const char *const s[] = {"Unknown\n", "2.5 GT/s PCIe\n", "5.0 GT/s PCIe\n", "8.0 GT/s PCIe\n",
	                                "16.0 GT/s PCIe\n", "32.0 GT/s PCIe\n", "64.0 GT/s PCIe\n"};
	return gen < sizeof(s) / sizeof(s[0]) ? s[gen] : "Unknown\n";
}

/* max: pcie_get_speed_cap() (LnkCap2's Supported Link Speeds Vector, whose
 * bit 1 is 2.5 GT/s, else LnkCap); current: pcie_link_speed[] of LnkSta */
int pci_link_speed_show(const struct vk_host_device *d, bool max, char *buf, size_t len)
{
	struct cfg_view v = dev_view(d);
	unsigned pos = view_cap_find(&v, PCI_CAP_ID_EXP), gen = 0;

	if (pos && max) {
		uint32_t sup = v32(&v, pos + PCI_EXP_LNKCAP2) & 0xfe;
		if (sup)
			for (sup >>= 1; sup; sup >>= 1)
				gen++;
		else
			gen = v32(&v, pos + PCI_EXP_LNKCAP) & PCI_EXP_LNKCAP_SLS;
	} else if (pos) {
		gen = v16(&v, pos + PCI_EXP_LNKSTA) & PCI_EXP_LNKSTA_CLS;
	}
	return put_text(buf, len, speed_string(gen));
}

int pci_link_width_show(const struct vk_host_device *d, bool max, char *buf, size_t len)
{
	struct cfg_view v = dev_view(d);
	unsigned pos = view_cap_find(&v, PCI_CAP_ID_EXP), w = 0;

	if (pos)
		w = max ? (unsigned)(v32(&v, pos + PCI_EXP_LNKCAP) & PCI_EXP_LNKCAP_MLW) >> 4
		        : (unsigned)(v16(&v, pos + PCI_EXP_LNKSTA) & PCI_EXP_LNKSTA_NLW) >> PCI_EXP_LNKSTA_NLW_SHIFT;
	/* "%u\n" of 0..63 (6 bits) */
	char text[4] = {(char)('0' + w / 10), (char)('0' + w % 10), '\n', '\0'};
	return put_text(buf, len, w >= 10 ? text : text + 1);
}

bool pci_ari_enabled(const struct vk_host_model *m, const struct vk_host_device *d)
{
	size_t self = (size_t)(d - m->devices);
	int p = self < m->n_devices ? upstream_bridge(m, self) : -1;
	if (p < 0)
		return false;
	struct cfg_view v = dev_view(&m->devices[p]);
	unsigned pos = view_cap_find(&v, PCI_CAP_ID_EXP);
	return pos && (v16(&v, pos + PCI_EXP_DEVCTL2) & PCI_EXP_DEVCTL2_ARI);
}

void pci_sriov_offset_stride(const struct vk_host_model *m, const struct vk_host_device *d, unsigned *offset,
                             unsigned *stride)
{
	struct cfg_view v = dev_view(d);
	unsigned pos = view_ext_cap_find(&v, PCI_EXT_CAP_ID_SRIOV);

	if (pos) {
		*offset = v16(&v, pos + PCI_SRIOV_VF_OFFSET);
		*stride = v16(&v, pos + PCI_SRIOV_VF_STRIDE);
		return;
	}
	*offset = vf_offset_stride(m, d, stride);
}

bool pci_sriov_vf_bar(const struct vk_host_model *m, const struct vk_host_device *d, uint64_t *base, uint64_t *size)
{
	struct cfg_view v = dev_view(d);
	unsigned pos = view_ext_cap_find(&v, PCI_EXT_CAP_ID_SRIOV);

	(void)m;
	if (!pos || !d->sriov_totalvfs)
		return false;
	*base = (v32(&v, pos + PCI_SRIOV_BAR) | (uint64_t)v32(&v, pos + PCI_SRIOV_BAR + 4) << 32) & ~0xfull;
	*size = vf_bar_size(d->sriov_totalvfs);
	return *base != 0;
}

void pci_config_current(const struct vk_host_device *d, uint8_t *cfg, size_t len)
{
	unsigned pos = view_ext_cap_find(&(struct cfg_view){cfg, len, len}, PCI_EXT_CAP_ID_SRIOV);
	if (!pos || pos + PCI_SRIOV_NUM_VF + 2 > len)
		return;
	/* drivers/pci/iov.c sriov_enable(): NumVFs, then VF Enable and VF MSE */
	uint16_t ctrl = (uint16_t)(rd16(cfg, pos + PCI_SRIOV_CTRL) & ~(PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE));
	wr16(cfg, pos + PCI_SRIOV_CTRL, (uint16_t)(ctrl | (d->n_vfs ? PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE : 0)));
	wr16(cfg, pos + PCI_SRIOV_NUM_VF, (uint16_t)d->n_vfs);
}
