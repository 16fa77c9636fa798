/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys show: the host model as a tree of devices under their root buses,
 * then the IOMMU groups.  Linear in the devices: children are linked once
 * (first_child/next_sibling, in address order), the tree is walked with an
 * explicit stack (a chain of bridges is as deep as the scenario makes it),
 * groups print their members list.  The lines are drawn with UTF-8 box
 * characters, or in ASCII (as tree(1) --charset=ascii and lspci -t draw) for a
 * terminal whose locale cannot show them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/host_tree.h>

#define INDENT_MAX 255 /* bytes of tree drawing before a line; deeper levels share it */

/* The pieces a tree is drawn with. */
struct glyphs {
	const char *tee, *corner;    /* before a device: more siblings follow, or the last */
	const char *bar, *blank;     /* before its second line: the same two cases */
	const char *bar_in, *gap_in; /* its children's indentation: the same two cases */
};

static const struct glyphs utf8_glyphs = {"├─", "└─", "│ ", "  ", "│   ", "    "};
static const struct glyphs ascii_glyphs = {"|-", "`-", "| ", "  ", "|   ", "    "};

static void node_desc(char *buf, size_t len, const struct vk_dev_node_spec *s)
{
	if (!s->present)
		snprintf(buf, len, "missing");
	else
		snprintf(buf, len, "%u:%u %04o", s->uid, s->gid, s->mode);
}

static void show_device(const struct vk_host_model *m, size_t i, const char *indent, int ilen, bool last,
                        const struct glyphs *g, FILE *out)
{
	const struct vk_host_device *d = &m->devices[i];
	char a[VK_PCI_ADDR_STRLEN], grp[32] = "-", vf[64] = "", vfio[160] = "", nd[48];

	vk_pci_addr_format(&d->addr, a);
	if (d->iommu_group >= 0)
		snprintf(grp, sizeof(grp), "group %lld", (long long)d->iommu_group);
	if (d->physfn >= 0)
		snprintf(vf, sizeof(vf), " VF of %s", vk_pci_addr_format(&m->devices[d->physfn].addr, (char[VK_PCI_ADDR_STRLEN]){0}));
	if (d->sriov_totalvfs)
		snprintf(vf, sizeof(vf), " SR-IOV PF (%u VFs max)", d->sriov_totalvfs);
	if (d->vfio_index >= 0) {
		if (m->vfio_device_cdev && !m->noiommu) {
			node_desc(nd, sizeof(nd), &d->vfio_node);
			snprintf(vfio, sizeof(vfio), "  /dev/vfio/devices/vfio%lld (%s)", (long long)d->vfio_index, nd);
		} else {
			snprintf(vfio, sizeof(vfio), "  vfio-dev/vfio%lld (no cdev)", (long long)d->vfio_index);
		}
	}
	fprintf(out, "%.*s%s %s [%04x:%04x] %s%s\n", ilen, indent, last ? g->corner : g->tee, a, d->vendor, d->device,
	        vk_pci_class_name(d->class_code), vf);
	fprintf(out, "%.*s%s    driver: %-10s %-9s numa %d%s\n", ilen, indent, last ? g->blank : g->bar,
	        d->driver ? d->driver : "(none)", grp, d->numa_node, vfio);
}

struct walk {
	size_t dev;
	int ilen;  /* the indentation it prints with: indent[0..ilen) */
	bool last; /* the last child of its parent (or of its root bus) */
};

/* Device @root and everything below it, depth first, children in address order. */
static void show_subtree(const struct vk_host_model *m, size_t root, bool last, const size_t *first_child,
                         const size_t *next_sibling, struct walk *stack, char *indent, const struct glyphs *g,
                         FILE *out)
{
	size_t top = 0;

	stack[top++] = (struct walk){root, 0, last};
	while (top) {
		struct walk w = stack[--top];
		show_device(m, w.dev, indent, w.ilen, w.last, g, out);
		if (first_child[w.dev] == SIZE_MAX)
			continue;
		/* the children's indentation: this line's, then "│ " (more siblings
		 * follow) or "  ", then two spaces; whole pieces up to INDENT_MAX */
		const char *piece = w.last ? g->gap_in : g->bar_in;
		int plen = (int)strlen(piece), clen = w.ilen;
		if (clen + plen <= INDENT_MAX) {
			memcpy(indent + clen, piece, (size_t)plen);
			clen += plen;
		}
		/* pushed last to first, so that they come off the stack in order */
		size_t first = top;
		for (size_t c = first_child[w.dev]; c != SIZE_MAX; c = next_sibling[c])
			stack[top++] = (struct walk){c, clen, next_sibling[c] == SIZE_MAX};
		for (size_t x = first, y = top - 1; x < y; x++, y--) {
			struct walk t = stack[x];
			stack[x] = stack[y];
			stack[y] = t;
		}
	}
}

static bool same_bus(const struct vk_host_device *a, const struct vk_host_device *b)
{
	return a->addr.domain == b->addr.domain && a->addr.bus == b->addr.bus;
}

static void show_header(const struct vk_host_model *m, FILE *out)
{
	char nd[48];

	fprintf(out, "host %s%s%s\n", m->name, m->description ? ": " : "", m->description ? m->description : "");
	fprintf(out, "  kernel %s, IOMMU %s", m->kernel_release, vk_iommu_vendor_name(m->iommu));
	if (m->iommu != VK_IOMMU_NONE)
		fprintf(out, " (%u unit%s, default domain %s, interrupt remapping %s)", m->iommu_units,
		        m->iommu_units == 1 ? "" : "s", m->default_group_type, m->interrupt_remapping ? "on" : "off");
	fprintf(out, "\n  VFIO cdev %s, iommufd %s%s\n", m->vfio_device_cdev ? "yes" : "no", m->iommufd ? "yes" : "no",
	        m->noiommu ? ", NO-IOMMU MODE (unsafe)" : "");
	fprintf(out, "  cmdline: %s\n  modules:", m->cmdline);
	for (size_t i = 0; i < m->n_modules; i++)
		fprintf(out, " %s%s", m->modules[i].name, m->modules[i].builtin ? "(builtin)" : "");
	fprintf(out, "\n");
	if (m->iommufd) {
		node_desc(nd, sizeof(nd), &m->dev_iommu);
		fprintf(out, "  /dev/iommu (%s)", nd);
	}
	if (vk_host_model_has_vfio(m)) {
		node_desc(nd, sizeof(nd), &m->dev_vfio);
		fprintf(out, "  /dev/vfio/vfio (%s)", nd);
	}
	fprintf(out, "\n\n");
}

static void show_groups(const struct vk_host_model *m, FILE *out)
{
	fprintf(out, "\nIOMMU groups:");
	if (!m->n_groups)
		fprintf(out, " none");
	fprintf(out, "\n");
	for (size_t g = 0; g < m->n_groups; g++) {
		const struct vk_host_group *grp = &m->groups[g];
		fprintf(out, "  %u%s%s:", grp->id, grp->type ? " " : "", grp->type ? grp->type : "");
		for (size_t k = 0; k < grp->n_members; k++) {
			const struct vk_host_device *d = &m->devices[grp->members[k]];
			fprintf(out, " %s(%s)", vk_pci_addr_format(&d->addr, (char[VK_PCI_ADDR_STRLEN]){0}),
			        d->driver ? d->driver : "none");
		}
		fprintf(out, "\n");
	}
}

void vk_host_model_show(const struct vk_host_model *m, FILE *out)
{
	vk_host_model_show_with(m, out, 0);
}

void vk_host_model_show_with(const struct vk_host_model *m, FILE *out, unsigned flags)
{
	const struct glyphs *g = flags & VK_HOST_SHOW_ASCII ? &ascii_glyphs : &utf8_glyphs;
	size_t n = m->n_devices;
	_cleanup_free_ size_t *first_child = malloc((n + 1) * sizeof(size_t));
	_cleanup_free_ size_t *next_sibling = malloc((n + 1) * sizeof(size_t));
	_cleanup_free_ struct walk *stack = malloc((n + 1) * sizeof(struct walk));
	char indent[INDENT_MAX + 1];

	show_header(m, out);
	if (!first_child || !next_sibling || !stack) {
		fprintf(out, "(out of memory: no device tree)\n");
		show_groups(m, out);
		return;
	}
	/* children lists in address order: built from the last device back */
	for (size_t i = 0; i < n; i++)
		first_child[i] = next_sibling[i] = SIZE_MAX;
	for (size_t i = n; i-- > 0;) {
		int p = m->devices[i].parent;
		if (p >= 0 && (size_t)p < n) {
			next_sibling[i] = first_child[p];
			first_child[p] = i;
		}
	}

	/* root buses in address order (a bus's root devices are neighbours among
	 * the root devices); VMD-style domains print under their parent */
	size_t prev_root = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct vk_host_device *d = &m->devices[i];
		if (d->parent >= 0)
			continue;
		if (prev_root == SIZE_MAX || !same_bus(&m->devices[prev_root], d))
			fprintf(out, "pci%04x:%02x\n", d->addr.domain, d->addr.bus);
		prev_root = i;
		size_t next_root = i + 1;
		while (next_root < n && m->devices[next_root].parent >= 0)
			next_root++;
		bool last = next_root == n || !same_bus(&m->devices[next_root], d);
		show_subtree(m, i, last, first_child, next_sibling, stack, indent, g, out);
	}
	show_groups(m, out);
}
