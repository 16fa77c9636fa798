/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QEMU's device model: built-in tables and models read from QEMU's help output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include <vfiokit/qdev_model.h>

/* Generated from Debian 12's qemu-system-x86_64 by validator/tools/gen-qdev-table.sh. */
#include "qdev_table_702.inc"

static const struct vk_qdev_model tables[] = {QDEV_TABLE_702};
static const unsigned table_versions[] = {702};

const unsigned *vk_qdev_model_builtin_versions(size_t *n)
{
	*n = VK_ARRAY_SIZE(table_versions);
	return table_versions;
}

const struct vk_qdev_model *vk_qdev_model_builtin(unsigned version)
{
	const struct vk_qdev_model *best = &tables[0];

	for (size_t i = 0; i < VK_ARRAY_SIZE(tables); i++)
		if (tables[i].version <= version)
			best = &tables[i];
	return best;
}

static int type_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vk_qdev_type *)a)->name, ((const struct vk_qdev_type *)b)->name);
}

const struct vk_qdev_type *vk_qdev_model_type(const struct vk_qdev_model *m, const char *name)
{
	struct vk_qdev_type key = {.name = name};
	const struct vk_qdev_type *t;

	if (!m || !name)
		return NULL;
	/* both kinds of model keep their types sorted by name */
	t = bsearch(&key, m->types, m->ntypes, sizeof(*t), type_cmp);
	if (t)
		return t;
	for (size_t i = 0; i < m->ntypes; i++)
		if (m->types[i].alias && strcmp(m->types[i].alias, name) == 0)
			return &m->types[i];
	return NULL;
}

const struct vk_qdev_prop *vk_qdev_type_prop(const struct vk_qdev_type *t, const char *name)
{
	for (size_t i = 0; t && i < t->nprops; i++)
		if (strcmp(t->props[i].name, name) == 0)
			return &t->props[i];
	return NULL;
}

/* ---- models read from help output ---- */

void vk_qdev_model_free(const struct vk_qdev_model *m)
{
	if (!m || !m->priv)
		return;
	for (size_t i = 0; i < m->ntypes; i++) {
		struct vk_qdev_type *t = (struct vk_qdev_type *)&m->types[i];
		for (size_t k = 0; k < t->nprops; k++) {
			free((char *)t->props[k].name);
			free((char *)t->props[k].type);
			free((char *)t->props[k].desc);
		}
		free((void *)t->props);
		free((char *)t->name);
		free((char *)t->bus);
		free((char *)t->alias);
	}
	free((void *)m->types);
	free((void *)m);
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* A growing array of types. */
struct typevec {
	struct vk_qdev_type *v;
	size_t n, cap;
};

static struct vk_qdev_type *typevec_add(struct typevec *tv)
{
	if (tv->n == tv->cap) {
		size_t nc = tv->cap ? tv->cap * 2 : 64;
		struct vk_qdev_type *p = realloc(tv->v, nc * sizeof(*p));
		if (!p)
			return NULL;
		tv->v = p;
		tv->cap = nc;
	}
	memset(&tv->v[tv->n], 0, sizeof(tv->v[0]));
	return &tv->v[tv->n++];
}

/* `name "X", bus Y[, alias "Z"][, desc "..."]` */
static int parse_list_line(const char *l, const char *end, struct typevec *tv)
{
	const char *q, *b, *be;
	struct vk_qdev_type *t;

	if (strncmp(l, "name \"", 6) != 0)
		return 0;
	q = memchr(l + 6, '"', (size_t)(end - l - 6));
	if (!q || !(t = typevec_add(tv)))
		return q ? -ENOMEM : 0;
	t->name = dup_n(l + 6, (size_t)(q - l - 6));
	if (!t->name)
		return -ENOMEM;
	if (end - q > 7 && strncmp(q, "\", bus ", 7) == 0) {
		b = q + 7;
		for (be = b; be < end && *be != ','; be++)
			;
		if (!(t->bus = dup_n(b, (size_t)(be - b))))
			return -ENOMEM;
	}
	const char *a = NULL;
	for (const char *p = q; p + 9 <= end; p++)
		if (strncmp(p, ", alias \"", 9) == 0) {
			a = p + 9;
			break;
		}
	if (a && (q = memchr(a, '"', (size_t)(end - a))) && !(t->alias = dup_n(a, (size_t)(q - a))))
		return -ENOMEM;
	return 0;
}

static int parse_list(const char *text, struct typevec *tv)
{
	for (const char *l = text; l && *l;) {
		const char *e = strchr(l, '\n');
		if (!e)
			e = l + strlen(l);
		int r = parse_list_line(l, e, tv);
		if (r < 0)
			return r;
		l = *e ? e + 1 : NULL;
	}
	return 0;
}

/* "  name=<type>   - desc": fills @p; returns 1 for such a line, 0 otherwise, -ENOMEM. */
static int parse_prop_line(const char *l, const char *end, struct vk_qdev_prop *p)
{
	const char *eq, *ts, *te, *d;
	int depth = 1;

	if (end - l < 3 || l[0] != ' ' || l[1] != ' ' || l[2] == ' ')
		return 0;
	l += 2;
	eq = memchr(l, '=', (size_t)(end - l));
	if (!eq || eq == l || eq + 1 >= end || eq[1] != '<')
		return 0;
	ts = eq + 2;
	for (te = ts; te < end; te++) {
		if (*te == '<')
			depth++;
		else if (*te == '>' && --depth == 0)
			break;
	}
	if (te >= end)
		return 0;
	for (d = te + 1; d < end && *d == ' '; d++)
		;
	if (d + 1 < end && d[0] == '-' && d[1] == ' ')
		d += 2;
	else if (d + 1 == end && d[0] == '-')
		d = end;
	while (d < end && *d == ' ')
		d++;
	p->name = dup_n(l, (size_t)(eq - l));
	p->type = dup_n(ts, (size_t)(te - ts));
	p->desc = dup_n(d, (size_t)(end - d));
	return p->name && p->type && p->desc ? 1 : -ENOMEM;
}

static int prop_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vk_qdev_prop *)a)->name, ((const struct vk_qdev_prop *)b)->name);
}

/* The properties `-device NAME,help` lists, into @t. */
static int parse_type_help(const char *text, struct vk_qdev_type *t)
{
	size_t cap = 0;
	struct vk_qdev_prop *props = NULL;

	t->props_known = true;
	/* qdev-monitor.c qdev_device_help() -> qdev_get_device_class(): "Device '%s' not found" */
	if (strstr(text, "' not found") || strstr(text, "is not a valid device model name")) {
		t->absent = true;
		return 0;
	}
	for (const char *l = text; l && *l;) {
		const char *e = strchr(l, '\n');
		if (!e)
			e = l + strlen(l);
		if (t->nprops == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct vk_qdev_prop *np = realloc(props, nc * sizeof(*np));
			if (!np)
				goto nomem;
			props = np;
			cap = nc;
		}
		memset(&props[t->nprops], 0, sizeof(props[0]));
		int r = parse_prop_line(l, e, &props[t->nprops]);
		if (r < 0) {
			t->nprops++;
			goto nomem;
		}
		t->nprops += (size_t)r;
		l = *e ? e + 1 : NULL;
	}
	if (t->nprops > 1)
		qsort(props, t->nprops, sizeof(*props), prop_cmp);
	t->props = props;
	return 0;
nomem:
	t->props = props;
	return -ENOMEM;
}

int vk_qdev_model_from_help(const char *version_text, const char *list_text, size_t ntypes,
                            const char *const *names, const char *const *helps, const char *object_help,
                            struct vk_qdev_model **out, struct vk_error *err)
{
	struct typevec tv = {0};
	struct vk_qdev_model *m;
	unsigned maj, min, mic = 0;
	const char *p = version_text ? strstr(version_text, "version ") : NULL;
	int r = 0;

	*out = NULL;
	if (!p || sscanf(p + 8, "%u.%u.%u", &maj, &min, &mic) < 2 || maj > 99 || min > 99)
		return vk_error_set(err, EINVAL, "no \"version X.Y.Z\" in the -version output");
	m = calloc(1, sizeof(*m));
	if (!m)
		return vk_error_set(err, ENOMEM, "out of memory");
	m->version = maj * 100 + min;
	m->from_binary = true;
	m->priv = m;
	snprintf(m->label, sizeof(m->label), "QEMU %u.%u.%u (binary)", maj, min, mic);
	if (object_help) {
		/* qom/object_interfaces.c user_creatable_help_func(): "iommufd options:" then "  fd=<str>" */
		m->objects_known = true;
		m->iommufd_object = strstr(object_help, "iommufd options:") != NULL;
		m->iommufd_object_fd = m->iommufd_object && strstr(object_help, "\n  fd=<") != NULL;
	}
	if (list_text) {
		m->list_known = true;
		r = parse_list(list_text, &tv);
	}
	for (size_t i = 0; r == 0 && i < ntypes; i++) {
		struct vk_qdev_type *t = NULL;
		if (!helps[i])
			continue;
		for (size_t k = 0; k < tv.n && !t; k++)
			if (strcmp(tv.v[k].name, names[i]) == 0 || (tv.v[k].alias && strcmp(tv.v[k].alias, names[i]) == 0))
				t = &tv.v[k];
		if (!t) {
			if (!(t = typevec_add(&tv)) || !(t->name = strdup(names[i]))) {
				r = -ENOMEM;
				break;
			}
		}
		if (!t->props_known)
			r = parse_type_help(helps[i], t);
	}
	m->types = tv.v;
	m->ntypes = tv.n;
	if (r < 0) {
		vk_qdev_model_free(m);
		return vk_error_set(err, ENOMEM, "out of memory");
	}
	if (m->ntypes > 1)
		qsort(tv.v, tv.n, sizeof(*tv.v), type_cmp);
	*out = m;
	return 0;
}
