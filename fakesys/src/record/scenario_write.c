/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys record: a struct rec written as a scenario (docs/scenario-format.md).
 *
 * The YAML is libyaml's emitter's (the quoting of every scalar is its job);
 * the notes come first as a block of comments, which libyaml's emitter cannot
 * write: each is one line of valid UTF-8 (text_line()), so the block is a
 * valid start of a YAML stream whatever a hostile tree held.
 *
 * Layout: block mappings indented by 4 (libyaml puts a block sequence in a
 * mapping at the mapping's own indentation, "-   key: value"), flow
 * mappings for small records ({owner: 0, group: 0, mode: "0600"}), names and
 * free text double-quoted, numbers plain (ids in hex as sysfs shows them).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "vk_cleanup.h"
#include <vfiokit/host_model.h>

#include "record.h"

struct yw {
	yaml_emitter_t e;
	int err; /* 0, or the first failure: -ENOMEM (an event), -EINVAL (the emitter) */
};

static void ev(struct yw *w, yaml_event_t *event, int made)
{
	if (!made) {
		if (!w->err)
			w->err = -ENOMEM;
		return;
	}
	if (w->err) {
		yaml_event_delete(event);
		return;
	}
	if (!yaml_emitter_emit(&w->e, event)) /* takes the event in both cases */
		w->err = w->e.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
}

static void map_start(struct yw *w, bool flow)
{
	yaml_event_t e;
	ev(w, &e, yaml_mapping_start_event_initialize(&e, NULL, NULL, 1, flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static void map_end(struct yw *w)
{
	yaml_event_t e;
	ev(w, &e, yaml_mapping_end_event_initialize(&e));
}

static void seq_start(struct yw *w, bool flow)
{
	yaml_event_t e;
	ev(w, &e, yaml_sequence_start_event_initialize(&e, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

static void seq_end(struct yw *w)
{
	yaml_event_t e;
	ev(w, &e, yaml_sequence_end_event_initialize(&e));
}

static void scalar(struct yw *w, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t e;
	bool plain = style == YAML_PLAIN_SCALAR_STYLE;
	ev(w, &e, yaml_scalar_event_initialize(&e, NULL, NULL, (const yaml_char_t *)s, (int)strlen(s), plain, !plain, style));
}

/* A plain scalar from a format: numbers, booleans, keywords. */
static void __attribute__((format(printf, 2, 3))) plain(struct yw *w, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	scalar(w, buf, YAML_PLAIN_SCALAR_STYLE);
}

/* A name or free text (valid UTF-8, checked when it was read). */
static void str(struct yw *w, const char *s)
{
	scalar(w, s, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void key(struct yw *w, const char *k)
{
	scalar(w, k, YAML_PLAIN_SCALAR_STYLE);
}

static void kv_str(struct yw *w, const char *k, const char *s)
{
	key(w, k);
	str(w, s);
}

static void kv_bool(struct yw *w, const char *k, bool v)
{
	key(w, k);
	scalar(w, v ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
}

#define kv_plain(w, k, ...) (key(w, k), plain(w, __VA_ARGS__))

static void kv_node(struct yw *w, const char *k, const struct rnode *n)
{
	key(w, k);
	map_start(w, true);
	if (n->present) {
		kv_plain(w, "owner", "%u", n->uid);
		kv_plain(w, "group", "%u", n->gid);
		key(w, "mode");
		char m[8];
		snprintf(m, sizeof(m), "%04o", n->mode & 07777);
		str(w, m);
	} else {
		kv_bool(w, "present", false);
	}
	map_end(w);
}

/* ---- the comments ------------------------------------------------------- */

static void put_comment(FILE *f, const char *prefix, const char *s)
{
	_cleanup_free_ char *line = text_line(s);
	fprintf(f, "# %s%s\n", prefix, line ? line : "(out of memory)");
}

static void write_comments(struct rec *r, FILE *f)
{
	const struct vk_fakesys_record_opts *o = r->o;

	fputs("# Recorded by fakesys record (docs/scenario-format.md).\n", f);
	for (size_t i = 0; i < o->n_extra_comments; i++)
		put_comment(f, "", o->extra_comments[i]);
	fputs("# Not recorded: vpd (may hold serial numbers), msi and power state (fakesys derives its\n"
	      "# own), /dev nodes other than VFIO and iommufd, module parameters other than\n"
	      "# those of vfio, vfio_iommu_type1, vfio_pci and iommufd.\n",
	      f);
	if (o->redact)
		fputs("# Left out (--redact): device labels and kernel command-line parameters unrelated to\n"
		      "# IOMMU/VFIO (kept: intel_iommu= amd_iommu= iommu= iommu.* vfio* pci= pcie_acs_override= "
		      "kvm*.*).\n",
		      f);
	for (size_t i = 0; i < r->nt.n; i++)
		put_comment(f, "note: ", r->nt.v[i]);
	if (r->nt.dropped)
		fprintf(f, "# note: %zu more notes not shown\n", r->nt.dropped);
}

/* ---- the document ------------------------------------------------------- */

static void write_kernel(struct yw *w, struct rec *r)
{
	key(w, "kernel");
	map_start(w, false);
	if (r->release)
		kv_str(w, "release", r->release);
	kv_plain(w, "iommu", "%s", r->iommu ? r->iommu : "none");
	if (r->iommu)
		kv_plain(w, "iommu_units", "%u", r->units);
	kv_bool(w, "vfio_device_cdev", r->cdev);
	kv_bool(w, "iommufd", r->iommufd);
	kv_bool(w, "noiommu", r->noiommu);
	kv_bool(w, "interrupt_remapping", r->ir);
	if (r->cmdline)
		kv_str(w, "cmdline", r->cmdline);
	if (r->have_cdev_major)
		kv_plain(w, "vfio_cdev_major", "%u", r->cdev_major);
	if (r->have_group_major)
		kv_plain(w, "vfio_group_major", "%u", r->group_major);
	if (r->have_minor)
		kv_plain(w, "iommufd_minor", "%u", r->iommufd_minor);
	if (!r->no_modules) {
		key(w, "modules");
		seq_start(w, r->n_mods == 0);
		for (size_t i = 0; i < r->n_mods; i++) {
			const struct rmod *m = &r->mods[i];
			map_start(w, true);
			kv_str(w, "name", m->name);
			if (m->builtin)
				kv_bool(w, "builtin", true);
			if (m->np) {
				key(w, "parameters");
				map_start(w, true);
				for (size_t j = 0; j < m->np; j++) {
					str(w, m->pn[j]);
					str(w, m->pv[j]);
				}
				map_end(w);
			}
			map_end(w);
		}
		seq_end(w);
	}
	/* every driver directory the replay would not create by itself */
	_cleanup_free_ bool *bound = calloc(r->n_drivers + 1, sizeof(*bound));
	if (!bound) {
		w->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < r->n_devs; i++) {
		const char *dn = r->devs[i].driver;
		char **hit = r->devs[i].selected && dn ? find_driver(r, dn) : NULL;
		if (hit)
			bound[hit - r->drivers] = true;
	}
	bool any = false;
	for (size_t i = 0; i < r->n_drivers; i++) {
		const char *dn = r->drivers[i];
		if (!strcmp(dn, "pcieport") || (!strcmp(dn, "vfio-pci") && find_mod(r, "vfio_pci")) ||
		    (bound[i] && known_driver(dn)))
			continue;
		if (!any) {
			key(w, "drivers");
			seq_start(w, true);
		}
		any = true;
		str(w, dn);
	}
	if (any)
		seq_end(w);
	map_end(w);
}

/* config: as hex, 16 bytes a line, and what the replay must serve of it. */
static void write_config(struct yw *w, const struct rdev *d)
{
	static const char hex[] = "0123456789abcdef";
	_cleanup_free_ char *text = malloc(d->config_len * 3 + 1);
	size_t o = 0;

	if (!text) {
		w->err = -ENOMEM;
		return;
	}
	for (size_t j = 0; j < d->config_len; j++) {
		text[o++] = hex[d->config[j] >> 4];
		text[o++] = hex[d->config[j] & 15];
		text[o++] = j % 16 == 15 || j + 1 == d->config_len ? '\n' : ' ';
	}
	text[o] = '\0';
	key(w, "config");
	scalar(w, text, YAML_LITERAL_SCALAR_STYLE);
	/* fakesys pads a shorter config to the 256 bytes the kernel shows root;
	 * this reader saw less, and so shall the replay's */
	if (d->config_len < 256)
		kv_plain(w, "config_readable", "%zu", d->config_len);
	/* with its own config a device gets no synthesized BAR: keep what was read */
	if (d->have_irq)
		kv_plain(w, "irq", "%llu", (unsigned long long)d->irq);
	if (d->n_res) {
		key(w, "resources");
		seq_start(w, false);
		for (size_t j = 0; j < d->n_res; j++) {
			seq_start(w, true);
			for (int k = 0; k < 3; k++)
				plain(w, "0x%llx", (unsigned long long)d->res[j][k]);
			seq_end(w);
		}
		seq_end(w);
	}
}

static void write_device(struct yw *w, const struct rdev *d)
{
	char b[VK_PCI_ADDR_STRLEN];

	map_start(w, false);
	kv_plain(w, "address", "%s", d->bdf);
	if (d->have_parent)
		kv_plain(w, "parent", "%s", vk_pci_addr_format(&d->parent, b));
	if (d->have_physfn)
		kv_plain(w, "physfn", "%s", vk_pci_addr_format(&d->physfn, b));
	if (d->have_vendor)
		kv_plain(w, "vendor", "0x%04llx", (unsigned long long)d->vendor);
	if (d->have_device)
		kv_plain(w, "device", "0x%04llx", (unsigned long long)d->device);
	if (d->have_svendor)
		kv_plain(w, "subsystem_vendor", "0x%04llx", (unsigned long long)d->svendor);
	if (d->have_sdevice)
		kv_plain(w, "subsystem_device", "0x%04llx", (unsigned long long)d->sdevice);
	if (d->have_class)
		kv_plain(w, "class", "0x%06llx", (unsigned long long)d->class_code);
	if (d->have_rev)
		kv_plain(w, "revision", "0x%02llx", (unsigned long long)d->revision);
	if (d->driver)
		kv_str(w, "driver", d->driver);
	if (d->override)
		kv_str(w, "driver_override", d->override);
	if (d->label)
		kv_str(w, "label", d->label);
	if (d->group >= 0)
		kv_plain(w, "iommu_group", "%lld", (long long)d->group);
	if (d->have_numa)
		kv_plain(w, "numa_node", "%lld", (long long)d->numa);
	if (d->vfio_index >= 0)
		kv_plain(w, "vfio_cdev", "%lld", (long long)d->vfio_index);
	if (d->vfio_node.known)
		kv_node(w, "vfio_node", &d->vfio_node);
	if (d->totalvfs) {
		key(w, "sriov");
		map_start(w, true);
		kv_plain(w, "totalvfs", "%llu", (unsigned long long)d->totalvfs);
		if (d->have_vf_device)
			kv_plain(w, "vf_device", "0x%04llx", (unsigned long long)d->vf_device);
		map_end(w);
	}
	if (d->n_netifs) {
		key(w, "net");
		seq_start(w, true);
		for (size_t i = 0; i < d->n_netifs; i++)
			str(w, d->netifs[i]);
		seq_end(w);
	}
	if (d->config && d->emit_config)
		write_config(w, d);
	map_end(w);
}

static void write_document(struct yw *w, struct rec *r)
{
	yaml_event_t e;
	size_t nsel = 0;

	ev(w, &e, yaml_stream_start_event_initialize(&e, YAML_UTF8_ENCODING));
	ev(w, &e, yaml_document_start_event_initialize(&e, NULL, NULL, NULL, 1));
	map_start(w, false);
	kv_plain(w, "version", "1");
	kv_plain(w, "name", "recorded");
	if (r->cpu_vendor) {
		key(w, "cpu");
		map_start(w, !r->cpu_flags && !r->cpu_model);
		kv_plain(w, "vendor", "%s", r->cpu_vendor);
		kv_bool(w, "hypervisor", r->cpu_hypervisor);
		if (r->cpu_count)
			kv_plain(w, "count", "%u", r->cpu_count);
		if (r->cpu_model)
			kv_str(w, "model_name", r->cpu_model);
		if (r->cpu_flags)
			kv_str(w, "flags", r->cpu_flags);
		map_end(w);
	}
	if (r->acpi_known) {
		key(w, "firmware");
		map_start(w, true);
		key(w, "acpi_tables");
		seq_start(w, true);
		if (r->acpi_dmar)
			plain(w, "DMAR");
		if (r->acpi_ivrs)
			plain(w, "IVRS");
		seq_end(w);
		map_end(w);
	}
	write_kernel(w, r);

	for (size_t i = 0; i < r->n_devs; i++)
		nsel += r->devs[i].selected;
	key(w, "devices");
	seq_start(w, nsel == 0);
	for (size_t i = 0; i < r->n_devs; i++)
		if (r->devs[i].selected)
			write_device(w, &r->devs[i]);
	seq_end(w);

	bool groups = false;
	for (size_t i = 0; i < r->n_groups; i++) {
		const struct rgroup *g = &r->groups[i];
		if (!g->used || (!g->type && !g->node.known))
			continue;
		if (!groups) {
			key(w, "iommu_groups");
			seq_start(w, false);
		}
		groups = true;
		map_start(w, true);
		kv_plain(w, "id", "%lld", (long long)g->id);
		if (g->type && !r->noiommu)
			kv_plain(w, "type", "%s", g->type);
		if (g->node.known)
			kv_node(w, "node", &g->node);
		map_end(w);
	}
	if (groups)
		seq_end(w);
	if (r->dev_iommu.known || r->dev_vfio.known) {
		key(w, "dev");
		map_start(w, false);
		if (r->dev_iommu.known)
			kv_node(w, "iommu", &r->dev_iommu);
		if (r->dev_vfio.known)
			kv_node(w, "vfio", &r->dev_vfio);
		map_end(w);
	}
	map_end(w);
	ev(w, &e, yaml_document_end_event_initialize(&e, 1));
	ev(w, &e, yaml_stream_end_event_initialize(&e));
}

char *scenario_text(struct rec *r, size_t *len, int *err)
{
	char *buf = NULL;
	struct yw w = {0};
	FILE *f = open_memstream(&buf, len);

	*err = -ENOMEM;
	if (!f)
		return NULL;
	write_comments(r, f);
	if (!yaml_emitter_initialize(&w.e)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	yaml_emitter_set_output_file(&w.e, f);
	yaml_emitter_set_unicode(&w.e, 1);
	yaml_emitter_set_width(&w.e, -1);
	yaml_emitter_set_indent(&w.e, 4);
	yaml_emitter_set_break(&w.e, YAML_LN_BREAK);
	write_document(&w, r);
	if (!w.err && !yaml_emitter_flush(&w.e))
		w.err = -EINVAL;
	yaml_emitter_delete(&w.e);
	if (fclose(f) != 0 && !w.err)
		w.err = -ENOMEM;
	if (w.err) {
		*err = w.err;
		free(buf);
		return NULL;
	}
	*err = 0;
	return buf;
}

/* Whether @hd's config space starts with the @len bytes of @want. */
static bool config_served(const struct vk_host_device *hd, const uint8_t *want, size_t len)
{
	uint8_t have[4096];

	if (len > sizeof(have))
		return false;
	vk_host_config_read(hd, 0, have, len);
	return memcmp(have, want, len) == 0;
}

/*
 * Keep a device's config only where the replay would not serve the same
 * bytes by itself (a recorded fakesys tree gives back its short scenario, and
 * its synthesized BAR0 in resource; a real host keeps every byte).
 */
void choose_configs(struct rec *r)
{
	size_t len;
	int err;
	struct vk_host_model *m = NULL;

	for (size_t i = 0; i < r->n_devs; i++)
		r->devs[i].emit_config = false;
	_cleanup_free_ char *buf = scenario_text(r, &len, &err);
	bool ok = buf && vk_host_model_load_buffer("recording", buf, len, &m, NULL) == 0;
	for (size_t i = 0; i < r->n_devs; i++) {
		struct rdev *d = &r->devs[i];
		if (!d->config)
			continue;
		d->emit_config = true;
		const struct vk_host_device *hd = ok ? vk_host_model_find(m, &d->addr) : NULL;
		size_t served = hd ? (hd->config_readable ? hd->config_readable : hd->config_len) : 0;
		if (hd && served == d->config_len && config_served(hd, d->config, d->config_len))
			d->emit_config = false;
	}
	vk_host_model_free(m);
}
