/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Capability lists of synthesized config space (fakesys/src/model/pci_caps.c),
 * read back with this file's own walker, which follows the kernel's rules
 * (drivers/pci/pci.c __pci_find_next_cap_ttl(), pci_find_next_ext_capability())
 * and refuses what lspci would choke on: a loop, a pointer out of range or into
 * the header, capability id 0 (lspci's "Null").  Then the shape each device
 * gets from its class, SR-IOV role and place in the topology, the scenario's
 * capabilities: list and its errors, the sysfs files the kernel derives from
 * the capabilities, and lspci -vvv reading materialized trees.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "testutil.h"

/* include/uapi/linux/pci_regs.h values, written out: the test does not take
 * them from the code it checks */
enum { CAP_PM = 0x01,
       CAP_MSI = 0x05,
       CAP_SSVID = 0x0d,
       CAP_EXP = 0x10,
       CAP_MSIX = 0x11 };
enum { EXT_ERR = 0x0001,
       EXT_ACS = 0x000d,
       EXT_ARI = 0x000e,
       EXT_SRIOV = 0x0010 };
enum { T_ENDPOINT = 0,
       T_ROOT_PORT = 4,
       T_UPSTREAM = 5,
       T_DOWNSTREAM = 6,
       T_RC_END = 9 };

static struct vk_host_model *model;
static struct vtree *tree;

static void teardown(void)
{
	vk_vtree_free(tree);
	vk_host_model_free(model);
	tree = NULL;
	model = NULL;
}

static void load_text(const char *yaml)
{
	struct vk_error e = {0};
	cr_assert_eq(vk_host_model_load_buffer("t.yaml", yaml, strlen(yaml), &model, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_host_tree_build(model, &tree, &e), 0, "%s", e.msg);
}

static void load_scenario(const char *name)
{
	char path[PATH_MAX];
	struct vk_error e = {0};
	cr_assert_eq(vk_host_model_load(vk_scenario_path(name, path, sizeof(path)), &model, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_host_tree_build(model, &tree, &e), 0, "%s", e.msg);
}

static void load_default(void)
{
	load_scenario("default.yaml");
}

static unsigned r16(const uint8_t *c, unsigned off)
{
	return (unsigned)c[off] | (unsigned)c[off + 1] << 8;
}

static uint32_t r32(const uint8_t *c, unsigned off)
{
	return (uint32_t)r16(c, off) | (uint32_t)r16(c, off + 2) << 16;
}

struct walk {
	unsigned n_std, n_ext;
	uint8_t std_id[48];
	unsigned std_pos[48];
	uint16_t ext_id[64];
	unsigned ext_pos[64];
};

/* Walk both lists of @c, asserting they are well formed. */
static void walk(const uint8_t *c, size_t len, const char *who, struct walk *w)
{
	bool seen[256] = {false}, eseen[1024] = {false};

	memset(w, 0, sizeof(*w));
	cr_assert_geq(len, 256, "%s: config of %zu bytes", who, len);
	bool list = r16(c, 0x06) & 0x10;
	unsigned p = c[0x34];
	cr_assert(list || p == 0, "%s: a capability pointer 0x%x without Status bit 4", who, p);
	for (; list && p; p = c[p + 1]) {
		cr_assert(p >= 0x40 && p <= 0xfc && !(p & 3), "%s: capability pointer 0x%x outside 0x40..0xfc", who, p);
		cr_assert(!seen[p], "%s: the capability list loops back to 0x%x", who, p);
		seen[p] = true;
		cr_assert(c[p] != 0 && c[p] <= 0x15, "%s: capability id 0x%02x at 0x%x", who, c[p], p);
		cr_assert_lt(w->n_std, 48u, "%s: more capabilities than the kernel walks", who);
		w->std_id[w->n_std] = c[p];
		w->std_pos[w->n_std++] = p;
	}
	if (len < 4096)
		return;
	for (p = 0x100;;) {
		uint32_t h = r32(c, p);
		if (!h)
			break;
		cr_assert(!eseen[p / 4], "%s: the extended list loops back to 0x%x", who, p);
		eseen[p / 4] = true;
		cr_assert((h & 0xffff) != 0 && (h & 0xffff) <= 0x2f, "%s: extended capability id 0x%x at 0x%x", who,
		          h & 0xffff, p);
		cr_assert_lt(w->n_ext, 64u);
		w->ext_id[w->n_ext] = (uint16_t)(h & 0xffff);
		w->ext_pos[w->n_ext++] = p;
		unsigned next = (h >> 20) & 0xffc;
		if (!next)
			break;
		cr_assert(next >= 0x100 && next <= 0xffc, "%s: extended pointer 0x%x out of range", who, next);
		p = next;
	}
}

/* @d's whole config space (vk_host_config_read(): the model stores it
 * zero-tailed), in one of a few buffers reused in turn: a caller holds at
 * most three at once. */
static const uint8_t *full(const struct vk_host_device *d)
{
	static uint8_t bufs[8][4096];
	static unsigned next;
	uint8_t *b = bufs[next++ % 8];

	cr_assert_leq(d->config_len, sizeof(bufs[0]));
	vk_host_config_read(d, 0, b, d->config_len);
	return b;
}

static const struct vk_host_device *dev(const char *bdf)
{
	struct vk_pci_addr a;
	cr_assert_eq(vk_pci_addr_parse(bdf, &a, NULL), 0, "%s", bdf);
	const struct vk_host_device *d = vk_host_model_find(model, &a);
	cr_assert_not_null(d, "%s is not in the model", bdf);
	return d;
}

/* Offset of standard capability @id of @bdf (0: none), its list checked on the way. */
static unsigned std_cap(const char *bdf, uint8_t id)
{
	const struct vk_host_device *d = dev(bdf);
	struct walk w;
	walk(full(d), d->config_len, bdf, &w);
	for (unsigned k = 0; k < w.n_std; k++)
		if (w.std_id[k] == id)
			return w.std_pos[k];
	return 0;
}

static unsigned ext_cap(const char *bdf, uint16_t id)
{
	const struct vk_host_device *d = dev(bdf);
	struct walk w;
	walk(full(d), d->config_len, bdf, &w);
	for (unsigned k = 0; k < w.n_ext; k++)
		if (w.ext_id[k] == id)
			return w.ext_pos[k];
	return 0;
}

/* The ids of @bdf's lists as text: "01 05 10 | 0001 000d". */
static const char *ids(const char *bdf)
{
	static char buf[512];
	const struct vk_host_device *d = dev(bdf);
	struct walk w;
	size_t n = 0;

	walk(full(d), d->config_len, bdf, &w);
	buf[0] = '\0';
	for (unsigned k = 0; k < w.n_std; k++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%02x", k ? " " : "", w.std_id[k]);
	if (w.n_ext)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " |");
	for (unsigned k = 0; k < w.n_ext; k++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %04x", w.ext_id[k]);
	return buf;
}

static unsigned exp_type(const char *bdf)
{
	unsigned p = std_cap(bdf, CAP_EXP);
	cr_assert(p, "%s has no Express capability", bdf);
	return (r16(full(dev(bdf)), p + 2) >> 4) & 0xf;
}

Test(pci_caps, every_bundled_scenario_walks_cleanly, .fini = teardown)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	unsigned devices = 0, scenarios = 0, with_caps = 0;

	snprintf(dir, sizeof(dir), "%s/scenarios", vk_source_dir());
	DIR *dp = opendir(dir);
	cr_assert_not_null(dp, "%s: %s", dir, strerror(errno));
	for (struct dirent *e; (e = readdir(dp));) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct vk_error err = {0};
		cr_assert_eq(vk_host_model_load(path, &model, &err), 0, "%s", err.msg);
		for (size_t i = 0; i < model->n_devices; i++) {
			const struct vk_host_device *d = &model->devices[i];
			char who[300];
			struct walk w;
			snprintf(who, sizeof(who), "%s %04x:%02x:%02x.%x", e->d_name, d->addr.domain, d->addr.bus,
			         d->addr.slot, d->addr.function);
			walk(full(d), d->config_len, who, &w);
			bool pcie = false;
			for (unsigned k = 0; k < w.n_std; k++)
				pcie |= w.std_id[k] == CAP_EXP;
			/* a PCIe device has the extended space (pci_cfg_space_size()) */
			cr_assert(!pcie || d->config_len == 4096, "%s: PCIe with %zu bytes of config", who, d->config_len);
			with_caps += w.n_std != 0;
			devices++;
		}
		vk_host_model_free(model);
		model = NULL;
		scenarios++;
	}
	closedir(dp);
	cr_assert_gt(scenarios, 10);
	cr_assert_gt(with_caps, devices / 2, "%u of %u devices have capabilities", with_caps, devices);
}

Test(pci_caps, default_host_devices_get_their_class_and_place, .init = load_default, .fini = teardown)
{
	/* host bridge: no capabilities, conventional */
	cr_assert_str_eq(ids("0000:00:00.0"), "");
	cr_assert_eq(dev("0000:00:00.0")->config_len, 256);
	/* root ports: PM, MSI, Express root port with a slot; AER, ACS */
	cr_assert_str_eq(ids("0000:00:01.0"), "01 05 10 | 0001 000d");
	cr_assert_eq(exp_type("0000:00:01.0"), T_ROOT_PORT);
	cr_assert(r16(full(dev("0000:00:01.0")), std_cap("0000:00:01.0", CAP_EXP) + 2) & 0x100, "Slot+");
	/* chipset functions on the root bus: root complex integrated endpoints */
	cr_assert_str_eq(ids("0000:00:14.0"), "01 05 11 10 | 0001");
	cr_assert_eq(exp_type("0000:00:14.0"), T_RC_END);
	/* GPU and its audio: PM, MSI, Express endpoint with FLR, no MSI-X */
	cr_assert_str_eq(ids("0000:01:00.0"), "01 05 10 | 0001");
	cr_assert_str_eq(ids("0000:01:00.1"), "01 05 10 | 0001");
	cr_assert_eq(exp_type("0000:01:00.0"), T_ENDPOINT);
	cr_assert(r32(full(dev("0000:01:00.0")), std_cap("0000:01:00.0", CAP_EXP) + 4) & 0x10000000, "FLReset+");
	/* on vfio-pci: MSI stays off for the guest to enable */
	cr_assert_eq(r16(full(dev("0000:01:00.0")), std_cap("0000:01:00.0", CAP_MSI) + 2) & 1, 0);
	/* NVMe on nvme: MSI-X on, its table and PBA inside BAR0, INTx off */
	const struct vk_host_device *nvme = dev("0000:02:00.0");
	unsigned x = std_cap("0000:02:00.0", CAP_MSIX);
	cr_assert(x);
	unsigned ctl = r16(full(nvme), x + 2);
	cr_assert(ctl & 0x8000, "MSI-X enabled by nvme");
	cr_assert_eq((ctl & 0x7ff) + 1, 33u);
	uint32_t table = r32(full(nvme), x + 4), pba = r32(full(nvme), x + 8);
	cr_assert_eq(table & 7, 0u, "table in BAR0");
	cr_assert_leq((uint64_t)(table & ~7u) + 33 * 16, nvme->bar0_size);
	cr_assert_leq((uint64_t)(pba & ~7u) + 8, nvme->bar0_size);
	cr_assert(r16(full(nvme), 0x04) & 0x400, "DisINTx+ once MSI-X is on");
	/* the NIC's root port forwards ARI: the PF below has it */
	const struct vk_host_device *rp = dev("0000:80:02.0");
	cr_assert(r16(full(rp), std_cap("0000:80:02.0", CAP_EXP) + 0x28) & 0x20, "ARIFwd+");
	cr_assert_eq(r16(full(rp), ext_cap("0000:80:02.0", EXT_ACS) + 6), 0x1du, "ACS enabled with an IOMMU");
}

Test(pci_caps, sriov_pf_and_vfs_agree_with_the_sysfs_files, .init = load_default, .fini = teardown)
{
	const struct vk_host_device *pf = dev("0000:81:00.0");
	cr_assert_str_eq(ids("0000:81:00.0"), "01 05 11 10 | 0001 000d 000e 0010");
	unsigned s = ext_cap("0000:81:00.0", EXT_SRIOV);
	cr_assert_eq(r16(full(pf), s + 0x0e), 32u, "TotalVFs");
	cr_assert_eq(r16(full(pf), s + 0x0c), 32u, "InitialVFs");
	cr_assert_eq(r16(full(pf), s + 0x14), 16u, "First VF Offset: 81:00.0 + 16 = 81:02.0");
	cr_assert_eq(r16(full(pf), s + 0x16), 1u, "VF Stride");
	cr_assert_eq(r16(full(pf), s + 0x1a), 0x154cu, "VF Device ID");
	cr_assert(r16(full(pf), s + 0x08) & 0x10, "ARI Capable Hierarchy (the root port forwards ARI)");
	uint64_t window = (r32(full(pf), s + 0x24) | (uint64_t)r32(full(pf), s + 0x28) << 32);
	cr_assert_eq(window & 0xf, 0xcu, "64-bit prefetchable");
	window &= ~0xfull;
	cr_assert_neq(window, 0);
	for (unsigned k = 0; k < 2; k++) {
		const char *bdf = k ? "0000:81:02.1" : "0000:81:02.0";
		const struct vk_host_device *vf = dev(bdf);
		/* the VF shape: MSI-X and Express only, no INTx, no SR-IOV */
		cr_assert_str_eq(ids(bdf), "11 10 | 0001 000d 000e");
		cr_assert_eq(full(vf)[0x3d], 0, "%s: no interrupt pin", bdf);
		cr_assert_eq(exp_type(bdf), T_ENDPOINT);
		cr_assert(r32(full(vf), std_cap(bdf, CAP_EXP) + 4) & 0x10000000, "%s: a VF has FLR", bdf);
		/* its BAR0 is slot k of the PF's VF BAR window */
		cr_assert_eq(vf->bar0_base, window + k * vf->bar0_size, "%s", bdf);
		uint64_t bar = r32(full(vf), 0x10) | (uint64_t)r32(full(vf), 0x14) << 32;
		cr_assert_eq(bar & ~0xfull, vf->bar0_base);
	}
	/* the VF on iavf has MSI-X on, the one on vfio-pci off */
	cr_assert(r16(full(dev("0000:81:02.0")), std_cap("0000:81:02.0", CAP_MSIX) + 2) & 0x8000);
	cr_assert_eq(r16(full(dev("0000:81:02.1")), std_cap("0000:81:02.1", CAP_MSIX) + 2) & 0x8000, 0u);
}

#define TOPO \
	"version: 1\nkernel: {iommu: intel}\ndevices:\n" \
	"  - {address: 0000:00:01.0, vendor: 0x8086, device: 0x2030, class: 0x060400}\n" \
	"  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 0x10b5, device: 0x8747, class: 0x060400}\n" \
	"  - {address: 0000:02:08.0, parent: 0000:01:00.0, vendor: 0x10b5, device: 0x8747, class: 0x060400}\n" \
	"  - {address: 0000:02:10.0, parent: 0000:01:00.0, vendor: 0x10b5, device: 0x8747, class: 0x060400}\n" \
	"  - {address: 0000:03:00.0, parent: 0000:02:08.0, vendor: 0x144d, device: 0xa80a, class: 0x010802}\n"

Test(pci_caps, a_switch_gives_upstream_and_downstream_ports, .fini = teardown)
{
	load_text(TOPO);
	cr_assert_eq(exp_type("0000:00:01.0"), T_ROOT_PORT);
	cr_assert_eq(exp_type("0000:01:00.0"), T_UPSTREAM);
	cr_assert_eq(exp_type("0000:02:08.0"), T_DOWNSTREAM);
	cr_assert_eq(exp_type("0000:02:10.0"), T_DOWNSTREAM);
	cr_assert_eq(exp_type("0000:03:00.0"), T_ENDPOINT);
	/* ACS on the root and downstream ports, not on the upstream port */
	cr_assert(ext_cap("0000:00:01.0", EXT_ACS) && ext_cap("0000:02:08.0", EXT_ACS));
	cr_assert_eq(ext_cap("0000:01:00.0", EXT_ACS), 0u);
	/* links: the NVMe trains x4 at 16 GT/s; the empty downstream port is down */
	unsigned e = std_cap("0000:03:00.0", CAP_EXP), pe = std_cap("0000:02:08.0", CAP_EXP),
		 ee = std_cap("0000:02:10.0", CAP_EXP);
	const uint8_t *n = full(dev("0000:03:00.0")), *dp = full(dev("0000:02:08.0")),
		      *empty = full(dev("0000:02:10.0"));
	cr_assert_eq(r16(n, e + 0x12) & 0x3ff, 0x44u, "Gen4 x4");
	cr_assert_eq(r16(dp, pe + 0x12) & 0x3ff, 0x44u, "the port's end of the same link");
	cr_assert(r16(dp, pe + 0x12) & 0x2000, "DLActive+");
	cr_assert(r16(dp, pe + 0x1a) & 0x40, "PresDet+");
	cr_assert_eq(r16(empty, ee + 0x12) & 0x3f0, 0u, "x0: nothing below");
	cr_assert_eq(r16(empty, ee + 0x1a) & 0x40, 0u, "PresDet-");
}

#define CONVENTIONAL \
	"version: 1\ndevices:\n" \
	"  - {address: 0000:00:1e.0, vendor: 0x8086, device: 0x244e, class: 0x060400, capabilities: [pm]}\n" \
	"  - {address: 0000:05:00.0, parent: 0000:00:1e.0, vendor: 0x1000, device: 0x0030, class: 0x010000,\n" \
	"     capabilities: [pm, msi]}\n" \
	"  - {address: 0000:05:01.0, parent: 0000:00:1e.0, vendor: 0x1102, device: 0x0002, class: 0x040100}\n" \
	"  - {address: 0000:00:1f.3, vendor: 0x8086, device: 0xa348, class: 0x040300, capabilities: [pm, pcie]}\n" \
	"  - {address: 0000:00:1f.4, vendor: 0x8086, device: 0xa323, class: 0x0c0500, capabilities: []}\n"

Test(pci_caps, capabilities_key_replaces_the_default, .fini = teardown)
{
	load_text(CONVENTIONAL);
	cr_assert_str_eq(ids("0000:00:1e.0"), "01");
	cr_assert_eq(dev("0000:00:1e.0")->config_len, 256, "conventional: 256 bytes");
	cr_assert_str_eq(ids("0000:05:00.0"), "01 05");
	cr_assert_eq(dev("0000:05:00.0")->config_len, 256);
	/* no list given, below a conventional bridge: conventional by default */
	cr_assert_str_eq(ids("0000:05:01.0"), "01 05");
	cr_assert_eq(dev("0000:05:01.0")->config_len, 256);
	/* [pm, pcie]: no MSI, an integrated endpoint on the root bus, no AER unless asked */
	cr_assert_str_eq(ids("0000:00:1f.3"), "01 10");
	cr_assert_eq(exp_type("0000:00:1f.3"), T_RC_END);
	/* []: Status Cap-, pointer 0 */
	cr_assert_str_eq(ids("0000:00:1f.4"), "");
	cr_assert_eq(r16(full(dev("0000:00:1f.4")), 6) & 0x10, 0u);
}

struct bad {
	const char *devices; /* the devices: list */
	const char *where;   /* "t.yaml:L:C" */
	const char *phrase;
};

Test(pci_caps, capabilities_that_cannot_be_are_refused, .fini = teardown)
{
	static const struct bad cases[] = {
		{"  - {address: 0000:00:02.0, vendor: 1, device: 2, capabilities: [pm, msx]}\n", "t.yaml:3:70",
	         "'msx' is not a capability fakesys makes; use pm, msi, msix, pcie, aer, acs, sriov, ari"},
		{"  - {address: 0000:00:02.0, vendor: 1, device: 2, capabilities: [pm, pm]}\n", "t.yaml:3:70",
	         "'pm' is listed twice"},
		{"  - {address: 0000:00:02.0, vendor: 1, device: 2, capabilities: pm}\n", "t.yaml:3:65", "capabilities"},
		{"  - {address: 0000:00:02.0, vendor: 1, device: 2, capabilities: [pm, aer]}\n", "t.yaml:3:5",
	         "aer, acs, sriov and ari live in PCIe extended config space; add pcie"},
		{"  - {address: 0000:00:02.0, vendor: 1, device: 2, sriov: {totalvfs: 4}, capabilities: [pcie, ari]}\n",
	         "t.yaml:3:5", "SR-IOV PF (sriov: totalvfs), so the list needs sriov"},
		{"  - {address: 0000:00:02.0, vendor: 1, device: 2, capabilities: [pcie, sriov, ari]}\n", "t.yaml:3:5",
	         "sriov needs an SR-IOV PF"},
		{"  - {address: 0000:00:02.0, vendor: 1, device: 2, sriov: {totalvfs: 4}}\n"
	         "  - {address: 0000:00:04.0, physfn: 0000:00:02.0, capabilities: [msix]}\n",
	         "t.yaml:4:5", "a VF is a PCIe function"},
		{"  - {address: 0000:00:01.0, vendor: 1, device: 2, class: 0x060400, capabilities: [pm, msix, pcie]}\n",
	         "t.yaml:3:5", "msix needs a memory BAR"},
		{"  - {address: 0000:00:01.0, vendor: 1, device: 2, class: 0x060400, capabilities: [pm]}\n"
	         "  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 1, device: 3, capabilities: [pcie]}\n",
	         "t.yaml:4:5", "pcie below a conventional PCI bridge"},
		{"  - {address: 0000:00:01.0, vendor: 1, device: 2, class: 0x060400}\n"
	         "  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 1, device: 3, sriov: {totalvfs: 8},\n"
	         "     capabilities: [pcie, sriov]}\n",
	         "t.yaml:4:5", "past function 7, which the port above forwards only with ARI: add ari"},
		{"  - {address: 0000:00:02.0, vendor: 1, device: 2, capabilities: [msix],\n"
	         "     resources: [[0xfe000000, 0xfe00000f, 0x40200]]}\n",
	         "t.yaml:3:5", "no memory BAR holds an MSI-X table"},
		{"  - {address: 0000:00:02.0, capabilities: [pm], config: \"86 80 34 12 00 00 00 00 00 00 00 02 00 00 "
	         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
	         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\"}\n",
	         "t.yaml:3:5", "with config: the bytes' own list is used"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[2048];
		struct vk_error e = {0};
		snprintf(yaml, sizeof(yaml), "version: 1\ndevices:\n%s", cases[i].devices);
		int fds = vk_fd_count();
		cr_assert_eq(vk_host_model_load_buffer("t.yaml", yaml, strlen(yaml), &model, &e), -EINVAL,
		             "case %zu loaded: %s", i, yaml);
		cr_assert_null(model);
		cr_assert_eq(vk_fd_count(), fds);
		cr_assert(!strncmp(e.msg, cases[i].where, strlen(cases[i].where)) &&
		                  e.msg[strlen(cases[i].where)] == ':',
		          "case %zu: '%s' does not start with '%s:'", i, e.msg, cases[i].where);
		cr_assert(strstr(e.msg, "capabilities"), "case %zu: '%s' does not name the key", i, e.msg);
		cr_assert(strstr(e.msg, cases[i].phrase), "case %zu: '%s' lacks '%s'", i, e.msg, cases[i].phrase);
	}
}

/* ---------- what the kernel derives: the tree ---------- */

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

static uint32_t mode_of(const char *path)
{
	struct vk_vt_node *n = vk_vtree_lookup(tree, path);
	cr_assert_not_null(n, "%s missing", path);
	return n->mode;
}

#define RP0 "sys/devices/pci0000:00/0000:00:01.0"
#define GPU RP0 "/0000:01:00.0"
#define NVME "sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0"
#define XHCI "sys/devices/pci0000:00/0000:00:14.0"
#define PF "sys/devices/pci0000:80/0000:80:02.0/0000:81:00.0"
#define VF0 "sys/devices/pci0000:80/0000:80:02.0/0000:81:02.0"
#define VF1 "sys/devices/pci0000:80/0000:80:02.0/0000:81:02.1"

Test(pci_caps, hotplug_and_reset_files_are_the_kernels, .init = load_default, .fini = teardown)
{
	/* drivers/pci/pci-sysfs.c: remove is 0220, rescan 0200, neither on a VF */
	cr_assert_eq(mode_of(PF "/remove"), 0220);
	cr_assert_eq(mode_of(PF "/rescan"), 0200);
	cr_assert_null(vk_vtree_lookup(tree, VF0 "/remove"));
	cr_assert_null(vk_vtree_lookup(tree, VF0 "/rescan"));
	/* reset and reset_method only with a method, in pci_reset_fn_methods[] order */
	cr_assert_str_eq(content(NVME "/reset_method"), "flr bus\n", "alone below its root port");
	cr_assert_str_eq(content(GPU "/reset_method"), "flr\n", "shares its bus with the audio function");
	cr_assert_str_eq(content(RP0 "/reset_method"), "pm\n", "a port: PM without NoSoftRst");
	cr_assert_str_eq(content(VF0 "/reset_method"), "flr\n");
	cr_assert_eq(mode_of(NVME "/reset"), 0200);
	cr_assert_eq(mode_of(NVME "/reset_method"), 0644);
	cr_assert_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:00.0/reset"), "no method, no reset");
	cr_assert_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:00.0/reset_method"));
}

Test(pci_caps, link_sriov_and_ari_files_follow_the_capabilities, .init = load_default, .fini = teardown)
{
	cr_assert_str_eq(content(NVME "/max_link_speed"), "16.0 GT/s PCIe\n");
	cr_assert_str_eq(content(NVME "/max_link_width"), "4\n");
	cr_assert_str_eq(content(NVME "/current_link_speed"), "16.0 GT/s PCIe\n");
	cr_assert_str_eq(content(NVME "/current_link_width"), "4\n");
	cr_assert_str_eq(content(PF "/max_link_speed"), "8.0 GT/s PCIe\n");
	cr_assert_str_eq(content("sys/devices/pci0000:80/0000:80:02.0/current_link_width"), "8\n",
	                 "the root port trains to the NIC's x8");
	cr_assert_str_eq(content(XHCI "/current_link_speed"), "Unknown\n", "an integrated endpoint has no link");
	cr_assert_str_eq(content(XHCI "/current_link_width"), "0\n");
	cr_assert_null(vk_vtree_lookup(tree, "sys/devices/pci0000:00/0000:00:00.0/max_link_speed"), "not PCIe");
	cr_assert_str_eq(content(PF "/ari_enabled"), "1\n");
	cr_assert_str_eq(content(VF1 "/ari_enabled"), "1\n");
	cr_assert_str_eq(content(GPU "/ari_enabled"), "0\n");
	cr_assert_str_eq(content(PF "/sriov_offset"), "16\n");
	cr_assert_str_eq(content(PF "/sriov_stride"), "1\n");
	cr_assert_str_eq(content(PF "/sriov_vf_device"), "154c\n");

	/* the served config has NumVFs and VF Enable as sriov_numvfs says */
	struct vk_vt_node *cfg = vk_vtree_lookup(tree, PF "/config");
	cr_assert_eq(cfg->u.file.len, 4096);
	struct walk w;
	uint8_t bytes[4096]; /* as a reader gets them: the zero tail is not stored */
	cr_assert_eq(vk_vt_file_read(cfg, 0, bytes, sizeof(bytes)), 4096);
	walk(bytes, cfg->u.file.len, "PF config file", &w);
	unsigned s = 0;
	for (unsigned k = 0; k < w.n_ext; k++)
		s = w.ext_id[k] == EXT_SRIOV ? w.ext_pos[k] : s;
	cr_assert(s);
	cr_assert_eq(r16(bytes, s + 0x10), 2u, "NumVFs = sriov_numvfs");
	cr_assert_eq(r16(bytes, s + 0x08) & 0x9, 0x9u, "VF Enable, VF MSE");
	cr_assert_str_eq(content(PF "/sriov_numvfs"), "2\n");

	/* resource line 7 (PCI_IOV_RESOURCES) is the VF BAR window; VF 1's BAR0 its second slot */
	const char *res = content(PF "/resource");
	unsigned long long start, end, flags, vstart, vend, vflags;
	cr_assert_eq(sscanf(res + 7 * 57, "%llx %llx %llx", &start, &end, &flags), 3, "%s", res);
	cr_assert_eq(end - start + 1, 32ull * (16 << 20), "32 VFs of 16 MiB");
	cr_assert_eq(flags, 0x14220cull);
	cr_assert_eq(sscanf(content(VF1 "/resource"), "%llx %llx %llx", &vstart, &vend, &vflags), 3);
	cr_assert_eq(vstart, start + (16 << 20));
	cr_assert_eq(vend, vstart + (16 << 20) - 1);
}

/* @link's target, resolved against the link's directory, as a path in the tree. */
static const char *resolve(const char *link)
{
	static char out[PATH_MAX];
	char buf[PATH_MAX];
	struct vk_vt_node *n = vk_vtree_lookup(tree, link);

	cr_assert_not_null(n, "%s missing", link);
	cr_assert_eq(n->type, VK_VT_LINK, "%s is not a link", link);
	snprintf(buf, sizeof(buf), "%s", link);
	*strrchr(buf, '/') = '\0';
	for (const char *t = n->u.link.target; *t;) {
		size_t len = strcspn(t, "/");
		if (len == 2 && !strncmp(t, "..", 2)) {
			char *slash = strrchr(buf, '/');
			cr_assert_not_null(slash, "%s leaves the root", link);
			*slash = '\0';
		} else if (len) {
			size_t b = strlen(buf);
			snprintf(buf + b, sizeof(buf) - b, "/%.*s", (int)len, t);
		}
		t += len + (t[len] == '/');
	}
	snprintf(out, sizeof(out), "%s", buf);
	return out;
}

Test(pci_caps, class_pci_bus_links_every_bus, .init = load_default, .fini = teardown)
{
	static const struct {
		const char *bus, *dir, *device;
	} buses[] = {
		{"0000:00", "sys/devices/pci0000:00/pci_bus/0000:00", "sys/devices/pci0000:00"},
		{"0000:01", RP0 "/pci_bus/0000:01", RP0},
		{"0000:02", "sys/devices/pci0000:00/0000:00:1c.0/pci_bus/0000:02", "sys/devices/pci0000:00/0000:00:1c.0"},
		{"0000:80", "sys/devices/pci0000:80/pci_bus/0000:80", "sys/devices/pci0000:80"},
		{"0000:81", "sys/devices/pci0000:80/0000:80:02.0/pci_bus/0000:81", "sys/devices/pci0000:80/0000:80:02.0"},
	};
	char path[PATH_MAX];

	cr_assert_eq(vk_vtree_lookup(tree, "sys/class/pci_bus")->u.dir.n, 5);
	for (size_t i = 0; i < sizeof(buses) / sizeof(buses[0]); i++) {
		snprintf(path, sizeof(path), "sys/class/pci_bus/%s", buses[i].bus);
		cr_assert_str_eq(resolve(path), buses[i].dir);
		snprintf(path, sizeof(path), "%s/device", buses[i].dir);
		cr_assert_str_eq(resolve(path), buses[i].device);
		snprintf(path, sizeof(path), "%s/subsystem", buses[i].dir);
		cr_assert_str_eq(resolve(path), "sys/class/pci_bus");
		snprintf(path, sizeof(path), "%s/rescan", buses[i].dir);
		cr_assert_eq(mode_of(path), 0200);
	}
}

Test(pci_caps, bus_and_group_files_are_the_kernels, .fini = teardown)
{
	/* resource_alignment: empty without pci=resource_alignment= (pci.c resource_alignment_show()) */
	load_text("version: 1\nkernel: {iommu: none, noiommu: true, vfio_device_cdev: true}\ndevices:\n"
	          "  - {address: 0000:00:02.0, vendor: 1, device: 2, driver: vfio-pci}\n");
	cr_assert_str_eq(content("sys/bus/pci/resource_alignment"), "");
	cr_assert_eq(mode_of("sys/bus/pci/resource_alignment"), 0644);
	/* a no-IOMMU group: name, type "unknown" (no default domain), reserved_regions */
	cr_assert_str_eq(content("sys/kernel/iommu_groups/0/name"), "vfio-noiommu\n");
	cr_assert_str_eq(content("sys/kernel/iommu_groups/0/type"), "unknown\n");
	cr_assert_eq(mode_of("sys/kernel/iommu_groups/0/type"), 0644);
	cr_assert_str_eq(content("sys/kernel/iommu_groups/0/reserved_regions"), "");
	teardown();

	load_text("version: 1\nkernel: {iommu: intel, cmdline: \"ro pci=noaer,resource_alignment=20@00:1f.2;"
	          "16@0000:01:00.0,realloc quiet\"}\ndevices:\n  - {address: 0000:00:02.0, vendor: 1, device: 2}\n");
	cr_assert_str_eq(content("sys/bus/pci/resource_alignment"), "20@00:1f.2;16@0000:01:00.0\n");
	cr_assert_null(vk_vtree_lookup(tree, "sys/kernel/iommu_groups/0/name"), "a real group has no name");
	cr_assert_str_eq(content("sys/kernel/iommu_groups/0/type"), "DMA-FQ\n", "intel's default domain type");
}

/* ---------- lspci reads it ---------- */

static bool have_lspci(void)
{
	return access("/usr/bin/lspci", X_OK) == 0;
}

/* lspci -vvv of a materialized @scenario (all devices, or @slot), malloc'd. */
static char *lspci_of(const char *scenario, const char *slot)
{
	char path[PATH_MAX], dir[PATH_MAX], opt[PATH_MAX + 32], err[4096];
	size_t cap = 1 << 20;
	char *out = malloc(cap);

	cr_assert_not_null(out);
	cr_assert_eq(vk_materialize(vk_scenario_path(scenario, path, sizeof(path)), dir, sizeof(dir)), 0);
	snprintf(opt, sizeof(opt), "sysfs.path=%s/sys/bus/pci", dir);
	int rc = slot ? vk_runv(out, cap, err, sizeof(err), "/usr/bin/lspci", "-A", "linux-sysfs", "-O", opt, "-vvv",
	                        "-s", slot, NULL)
	              : vk_runv(out, cap, err, sizeof(err), "/usr/bin/lspci", "-A", "linux-sysfs", "-O", opt, "-vvv",
	                        NULL);
	vk_rm_rf(dir);
	cr_assert_eq(rc, 0, "lspci: %s", err);
	return out;
}

static void assert_has(const char *out, const char *what, const char *s)
{
	cr_assert(strstr(out, s), "%s: lspci -vvv lacks '%s':\n%s", what, s, out);
}

static void assert_lacks(const char *out, const char *what, const char *s)
{
	cr_assert(!strstr(out, s), "%s: lspci -vvv shows '%s':\n%s", what, s, out);
}

/* What every capability lspci printed must not be: unparsed or denied. */
static void assert_clean(const char *out, const char *what)
{
	assert_lacks(out, what, "Null");
	assert_lacks(out, what, "<access denied>");
	assert_lacks(out, what, "<chain broken>");
	assert_lacks(out, what, "<chain looped>");
	assert_lacks(out, what, "Capabilities: [0");
}

Test(pci_caps, lspci_reads_the_default_host)
{
	if (!have_lspci())
		cr_skip_test("lspci (pciutils) is not installed");
	char *all = lspci_of("default.yaml", NULL);
	assert_clean(all, "default");
	free(all);

	char *rp = lspci_of("default.yaml", "0000:00:01.0");
	assert_has(rp, "root port", "Status: Cap+");
	assert_has(rp, "root port", "Express (v2) Root Port (Slot+), MSI 00");
	assert_has(rp, "root port", "Capabilities: [100 v2] Advanced Error Reporting");
	assert_has(rp, "root port", "Access Control Services");
	assert_has(rp, "root port", "ACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+");
	free(rp);

	char *gpu = lspci_of("default.yaml", "0000:01:00.0");
	assert_has(gpu, "GPU", "Capabilities: [a0] Express (v2) Endpoint, MSI 00");
	assert_has(gpu, "GPU", "FLReset+");
	assert_has(gpu, "GPU", "MSI: Enable- Count=1/1");
	assert_has(gpu, "GPU", "LnkSta:\tSpeed 16GT/s, Width x16");
	assert_lacks(gpu, "GPU", "MSI-X");
	free(gpu);

	char *nvme = lspci_of("default.yaml", "0000:02:00.0");
	assert_has(nvme, "NVMe", "MSI-X: Enable+ Count=33");
	assert_has(nvme, "NVMe", "Vector table: BAR=0 offset=00000000");
	free(nvme);

	char *xhci = lspci_of("default.yaml", "0000:00:14.0");
	assert_has(xhci, "xHCI", "Express (v2) Root Complex Integrated Endpoint");
	free(xhci);

	char *pf = lspci_of("default.yaml", "0000:81:00.0");
	assert_has(pf, "PF", "Single Root I/O Virtualization (SR-IOV)");
	assert_has(pf, "PF", "Initial VFs: 32, Total VFs: 32, Number of VFs: 2");
	assert_has(pf, "PF", "VF offset: 16, stride: 1, Device ID: 154c");
	assert_has(pf, "PF", "IOVCtl:\tEnable+ Migration- Interrupt- MSE+ ARIHierarchy+");
	assert_has(pf, "PF", "Alternative Routing-ID Interpretation (ARI)");
	assert_has(pf, "PF", "MSI-X: Enable+ Count=129");
	free(pf);

	char *vf = lspci_of("default.yaml", "0000:81:02.1");
	assert_has(vf, "VF", "Express (v2) Endpoint");
	assert_has(vf, "VF", "MSI-X: Enable- Count=5");
	assert_lacks(vf, "VF", "SR-IOV");
	assert_lacks(vf, "VF", "Power Management");
	assert_lacks(vf, "VF", "Interrupt: pin");
	free(vf);

	char *hb = lspci_of("default.yaml", "0000:00:00.0");
	assert_has(hb, "host bridge", "Status: Cap-");
	assert_lacks(hb, "host bridge", "Capabilities:");
	free(hb);
}

Test(pci_caps, lspci_reads_an_sriov_nic_and_a_conventional_bus)
{
	if (!have_lspci())
		cr_skip_test("lspci (pciutils) is not installed");
	char *nic = lspci_of("happy-nic-vf-x710-keyval.yaml", NULL);
	assert_clean(nic, "x710");
	assert_has(nic, "x710", "Total VFs: 32");
	assert_has(nic, "x710", "Express (v2) Root Port (Slot+)");
	assert_has(nic, "x710", "Access Control Services");
	free(nic);

	char *conv = lspci_of("caps-conventional-pci.yaml", NULL);
	assert_clean(conv, "conventional");
	free(conv);
	char *card = lspci_of("caps-conventional-pci.yaml", "0000:05:00.0");
	assert_has(card, "PCI card", "Status: Cap+");
	assert_has(card, "PCI card", "Capabilities: [40] Power Management version 3");
	assert_has(card, "PCI card", "Capabilities: [50] MSI: Enable- Count=1/1");
	assert_lacks(card, "PCI card", "Express");
	assert_lacks(card, "PCI card", "Capabilities: [100");
	free(card);

	char *sw = lspci_of("caps-switch-nvme.yaml", NULL);
	assert_clean(sw, "switch");
	assert_has(sw, "switch", "Express (v2) Upstream Port");
	assert_has(sw, "switch", "Express (v2) Downstream Port (Slot+)");
	free(sw);
}
