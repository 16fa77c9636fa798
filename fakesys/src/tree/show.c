/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include <vfiokit/host_tree.h>

static void node_desc(char *buf, size_t len, const struct dev_node_spec *s)
{
	if (!s->present)
		snprintf(buf, len, "missing");
	else
		snprintf(buf, len, "%u:%u %04o", s->uid, s->gid, s->mode);
}

static void show_device(const struct host_model *m, size_t i, const char *indent, bool last, FILE *out)
{
	const struct host_device *d = &m->devices[i];
	char a[PCI_ADDR_STRLEN], grp[32] = "-", vf[64] = "", vfio[160] = "", nd[48];
	char sub[256];

	pci_addr_format(&d->addr, a);
	if (d->iommu_group >= 0)
		snprintf(grp, sizeof(grp), "group %lld", (long long)d->iommu_group);
	if (d->physfn >= 0)
		snprintf(vf, sizeof(vf), " VF of %s", pci_addr_format(&m->devices[d->physfn].addr, (char[PCI_ADDR_STRLEN]){0}));
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
	fprintf(out, "%s%s %s [%04x:%04x] %s%s\n", indent, last ? "└─" : "├─", a, d->vendor, d->device,
	        pci_class_name(d->class_code), vf);
	fprintf(out, "%s%s    driver: %-10s %-9s numa %d%s\n", indent, last ? "  " : "│ ", d->driver ? d->driver : "(none)",
	        grp, d->numa_node, vfio);
	snprintf(sub, sizeof(sub), "%s%s  ", indent, last ? "  " : "│ ");
	size_t lastkid = SIZE_MAX;
	for (size_t j = 0; j < m->n_devices; j++)
		if (m->devices[j].parent == (int)i)
			lastkid = j;
	for (size_t j = 0; j < m->n_devices; j++)
		if (m->devices[j].parent == (int)i)
			show_device(m, j, sub, j == lastkid, out);
}

void host_model_show(const struct host_model *m, FILE *out)
{
	char nd[48];

	fprintf(out, "host %s%s%s\n", m->name, m->description ? ": " : "", m->description ? m->description : "");
	fprintf(out, "  kernel %s, IOMMU %s", m->kernel_release, iommu_vendor_name(m->iommu));
	if (m->iommu != IOMMU_NONE)
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
	if (host_model_has_vfio(m)) {
		node_desc(nd, sizeof(nd), &m->dev_vfio);
		fprintf(out, "  /dev/vfio/vfio (%s)", nd);
	}
	fprintf(out, "\n\n");

	/* root buses in address order; VMD-style domains print under their parent */
	for (size_t i = 0; i < m->n_devices; i++) {
		const struct host_device *d = &m->devices[i];
		if (d->parent >= 0)
			continue;
		if (i == 0 || m->devices[i - 1].addr.domain != d->addr.domain || m->devices[i - 1].addr.bus != d->addr.bus ||
		    m->devices[i - 1].parent >= 0) {
			bool first = true;
			for (size_t k = 0; k < i; k++)
				first &= !(m->devices[k].parent < 0 && m->devices[k].addr.domain == d->addr.domain &&
				           m->devices[k].addr.bus == d->addr.bus);
			if (first)
				fprintf(out, "pci%04x:%02x\n", d->addr.domain, d->addr.bus);
		}
		size_t last = i;
		for (size_t j = i + 1; j < m->n_devices; j++)
			if (m->devices[j].parent < 0 && m->devices[j].addr.domain == d->addr.domain &&
			    m->devices[j].addr.bus == d->addr.bus)
				last = j;
		show_device(m, i, "", last == i, out);
	}
	fprintf(out, "\nIOMMU groups:");
	if (!m->n_groups)
		fprintf(out, " none");
	fprintf(out, "\n");
	for (size_t g = 0; g < m->n_groups; g++) {
		const struct host_group *grp = &m->groups[g];
		fprintf(out, "  %u%s%s:", grp->id, grp->type ? " " : "", grp->type ? grp->type : "");
		for (size_t i = 0; i < m->n_devices; i++)
			if (m->devices[i].iommu_group == (int64_t)grp->id)
				fprintf(out, " %s(%s)", pci_addr_format(&m->devices[i].addr, (char[PCI_ADDR_STRLEN]){0}),
				        m->devices[i].driver ? m->devices[i].driver : "none");
		fprintf(out, "\n");
	}
}
