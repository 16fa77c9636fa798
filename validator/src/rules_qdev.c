/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * -device properties against QEMU's device model (VV020, VV021, VV022,
 * VV026-VV029): what qdev-monitor.c qdev_device_add_from_qdict() does with
 * each key before the device is realized.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/validator.h>

#include "rules.h"

/* @subj: the option's subject, made once per option (vk__subject() looks its id up: a
 * -device with 300,000 properties must not cost that per finding) */
#define ADD(rule, o, ev, hint, ...) \
	do { \
		int r_ = vk_report_add(r, rule, subj, (o)->argi, (o)->line, ev, hint, __VA_ARGS__); \
		if (r_ < 0) \
			return r_; \
	} while (0)

bool vk__model_exact(const struct vk_qemu_caps *caps)
{
	return caps->model && (caps->model->from_binary || caps->model->version == caps->version);
}

/* The keys qdev_device_add_from_qdict() takes for itself: not properties of the type. */
static bool qdev_own_key(const char *k)
{
	return strcmp(k, "driver") == 0 || strcmp(k, "bus") == 0 || strcmp(k, "id") == 0;
}

struct propref {
	const struct vk_qc_prop *p;
	size_t idx;
};

static int propref_cmp(const void *a, const void *b)
{
	const struct propref *x = a, *y = b;
	int k = strcmp(x->p->key, y->p->key);
	return k ? k : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

/*
 * VV027: a key given twice.  qemu_opts_to_qdict() (util/qemu-option.c) puts
 * each QemuOpt into the dict in order, so the last one wins and the earlier
 * ones are never looked at.  Marks @last[k] for the property that counts.
 */
static int check_repeats(const struct vk_qc_option *o, const char *subj, bool *last, struct vk_report *r)
{
	_cleanup_free_ struct propref *v = calloc(o->nprops ? o->nprops : 1, sizeof(*v));
	char ev[256];

	if (!v)
		return -ENOMEM;
	for (size_t k = 0; k < o->nprops; k++)
		v[k] = (struct propref){&o->props[k], k};
	if (o->nprops > 1)
		qsort(v, o->nprops, sizeof(*v), propref_cmp);
	for (size_t k = 0; k < o->nprops; k++) {
		bool is_last = k + 1 == o->nprops || strcmp(v[k + 1].p->key, v[k].p->key) != 0;
		last[v[k].idx] = is_last;
		if (!is_last || k == 0 || strcmp(v[k - 1].p->key, v[k].p->key) != 0)
			continue;
		size_t first = k;
		while (first && strcmp(v[first - 1].p->key, v[k].p->key) == 0)
			first--;
		snprintf(ev, sizeof(ev), "%s=%s ... %s=%s", v[first].p->key, v[first].p->value, v[k].p->key, v[k].p->value);
		ADD("VV027", o, ev, NULL, "%s= is given %zu times: QEMU uses the last one, %s=%s, and ignores the others",
		    v[k].p->key, k - first + 1, v[k].p->key, v[k].p->value);
	}
	return 0;
}

/* VV028: JSON "id"/"bus" that is not a string: qdict_get_try_str() returns NULL, QEMU goes on without. */
static int check_json_own_keys(const struct vk_qc_option *o, const char *subj, struct vk_report *r)
{
	static const char *const keys[] = {"id", "bus"};
	char ev[256];

	for (size_t i = 0; o->json && i < VK_ARRAY_SIZE(keys); i++) {
		const struct vk_qc_prop *p = vk_qc_option_prop(o, keys[i]);
		if (!p || p->kind == VK_QC_V_STRING)
			continue;
		snprintf(ev, sizeof(ev), "\"%s\":%s", p->key, p->value);
		ADD("VV028", o, ev, NULL, "\"%s\" is not a JSON string: QEMU ignores it and adds the device %s", p->key,
		    strcmp(p->key, "id") == 0 ? "without an id" : "on the default bus");
	}
	return 0;
}

static bool vfio_string_key(const struct vk_qc_option *o, bool vfio, const char *k)
{
	/* VV012 already reports these for vfio-pci */
	return o->json && vfio &&
	       (strcmp(k, "host") == 0 || strcmp(k, "sysfsdev") == 0 || strcmp(k, "fd") == 0 || strcmp(k, "iommufd") == 0);
}

static int check_prop(const struct vk_qc_option *o, const char *subj, bool vfio, const struct vk_qdev_type *t,
                      const struct vk_qc_prop *v, const struct vk_qemu_caps *caps, struct vk_report *r)
{
	char ev[512], msg[512];
	const struct vk_qdev_prop *p = vk_qdev_type_prop(t, v->key);
	const struct vk_qdev_model *m = caps->model;
	bool exact = vk__model_exact(caps);

	snprintf(ev, sizeof(ev), "%s=%s", v->key, v->value);
	if (!p && vfio && (strcmp(v->key, "iommufd") == 0 || strcmp(v->key, "fd") == 0))
		return 0; /* the capability table knows these (9.0): VV013 says when the target lacks them */
	if (!p) {
		if (exact)
			ADD("VV020", o, ev, NULL, "Property '%s.%s' not found", t->name, v->key);
		else
			ADD("VV029", o, ev, NULL, "%s has no property '%s' in %s, the nearest table: not judged", t->name,
			    v->key, m->label);
		return 0;
	}
	if (strcmp(v->key, "addr") == 0 && t->bus && strcmp(t->bus, "PCI") == 0) {
		int devfn;
		if (vk__pci_devfn_parse(v, &devfn) < 0)
			ADD("VV022", o, ev, "write addr=SLOT[.FUNCTION] in hex, slot 0..1f, function 0..7 (addr=0x3.0x1)",
			    "Property '%s.addr' doesn't take value '%s'", t->name, v->value);
		return 0;
	}
	if (vfio_string_key(o, vfio, v->key))
		return 0;
	if (vk__qdev_value_error(p, v, o->json, msg, sizeof(msg)))
		ADD("VV021", o, ev, NULL, "%s (%s=<%s>)", msg, p->name, p->type);
	return 0;
}

static int check_device(const struct vk_qc_option *o, const struct vk_qemu_caps *caps, struct vk_report *r)
{
	const struct vk_qdev_model *m = caps->model;
	const char *drv = vk_qc_option_type(o);
	const struct vk_qdev_type *t = vk_qdev_model_type(m, drv);
	bool exact = vk__model_exact(caps);
	char ev[256], subj[128];
	int ret;

	if (!drv)
		return 0;
	vk__subject(o, subj, sizeof(subj));
	snprintf(ev, sizeof(ev), "driver=%s", drv);
	if ((!t && m->list_known) || (t && t->absent)) {
		/* a type newer than the nearest table is not judged (nor reported: most are not ours) */
		if (exact)
			ADD("VV026", o, ev, NULL, "'%s' is not a valid device model name", drv);
		return 0;
	}
	if ((ret = check_json_own_keys(o, subj, r)) < 0)
		return ret;
	_cleanup_free_ bool *last = calloc(o->nprops ? o->nprops : 1, sizeof(bool));
	if (!last)
		return -ENOMEM;
	if (!o->json && (ret = check_repeats(o, subj, last, r)) < 0)
		return ret;
	if (o->json) /* the parser refuses duplicate JSON members */
		for (size_t k = 0; k < o->nprops; k++)
			last[k] = true;
	if (!t || !t->props_known)
		return 0;
	/* per option, not per property: each looks the driver up */
	bool vfio = vk__is_vfio_pci(o);
	for (size_t k = 0; k < o->nprops; k++)
		if (last[k] && !qdev_own_key(o->props[k].key) &&
		    (ret = check_prop(o, subj, vfio, t, &o->props[k], caps, r)) < 0)
			return ret;
	return 0;
}

/* A table of one target says nothing about another's devices (qemu-system-s390x has zpci, not q35). */
static bool target_matches(const struct vk_qc_cmdline *c, const struct vk_qdev_model *m)
{
	if (!c->has_program || !m->target[0])
		return true;
	const char *b = strrchr(c->argv[0], '/');
	b = b ? b + 1 : c->argv[0];
	if (strncmp(b, "qemu-system-", 12) != 0)
		return true;
	return strcmp(b + 12, m->target) == 0;
}

int vk__check_qdev(const struct vk_qc_cmdline *c, const struct vk_qemu_caps *caps, struct vk_report *r)
{
	int ret;

	if (!caps->model || !target_matches(c, caps->model))
		return 0;
	for (size_t i = 0; i < c->nopts; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		if (o->def && strcmp(o->def->name, "device") == 0 && (ret = check_device(o, caps, r)) < 0)
			return ret;
	}
	return vk__check_pci_topology(c, caps, r);
}
