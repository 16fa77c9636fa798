/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scenario's expect: block: what the resolver, vfio-doctor and
 * vfio-validate are expected to say about the host (checked by `fakesys test`).
 * Only the syntax is checked here; fakesys knows nothing of the validator, so
 * rule ids are checked for their shape, not against the catalogue.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"

static const char *const class_names[] = {
	[FAKESYS_EXPECT_CDEV] = "cdev",
	[FAKESYS_EXPECT_ABSENT] = "absent",
	[FAKESYS_EXPECT_NOT_VFIO_PCI] = "not-vfio-pci",
	[FAKESYS_EXPECT_NO_CDEV] = "no-cdev",
	[FAKESYS_EXPECT_MALFORMED] = "malformed",
	[FAKESYS_EXPECT_NODE_MISSING] = "node-missing",
	[FAKESYS_EXPECT_ACCESS] = "access",
	[FAKESYS_EXPECT_BUSY] = "busy",
	[FAKESYS_EXPECT_GONE] = "gone",
	[FAKESYS_EXPECT_ERROR] = "error",
};

#define CLASS_LIST "absent, not-vfio-pci, no-cdev, malformed, node-missing, access, busy, gone, error"

const char *fakesys_expect_class_name(enum fakesys_expect_class c)
{
	return (unsigned)c < sizeof(class_names) / sizeof(class_names[0]) ? class_names[c] : "?";
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void fakesys_expect_free(struct fakesys_expect *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n_resolve; i++)
		free(x->resolve[i].path);
	free(x->resolve);
	for (size_t i = 0; i < x->n_doctor; i++) {
		free(x->doctor[i].id);
		free(x->doctor[i].subject);
	}
	free(x->doctor);
	free_strv(x->argv, x->argc);
	free(x->argv_devices);
	free_strv(x->findings, x->n_findings);
	free(x->qemu);
	free(x);
}

/* Two capital letters and three digits: "VD101", "VV005". */
static bool rule_id_ok(const char *s)
{
	return strlen(s) == 5 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) &&
	       isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]);
}

static size_t seq_len(yaml_node_t *v)
{
	return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
}

static yaml_node_t *seq_item(struct loader *l, yaml_node_t *v, size_t i)
{
	return yaml_document_get_node(&l->doc, v->data.sequence.items.start[i]);
}

static int want_addr(struct loader *l, yaml_node_t *n, const char *key, struct pci_addr *out)
{
	const char *s = NULL;
	struct vk_error e = {0};
	int r = scenario_want_string(l, n, key, &s);

	if (r < 0)
		return r;
	if (pci_addr_parse(s, out, &e) < 0)
		return scenario_fail(l, n, key, "%s", e.msg);
	return 0;
}

/* resolver: {BDF: /dev/vfio/devices/vfioN | class} */
static int parse_resolver(struct loader *l, yaml_node_t *v, struct fakesys_expect *x)
{
	if (v->type != YAML_MAPPING_NODE)
		return scenario_fail(l, v, "resolver", "expected a mapping of PCI address to a cdev path or one of: " CLASS_LIST);
	size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	x->resolve = calloc(n ? n : 1, sizeof(*x->resolve));
	if (!x->resolve)
		return vk_error_set(l->err, ENOMEM, "out of memory");
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(&l->doc, p->value);
		struct fakesys_expect_resolve *e = &x->resolve[x->n_resolve];
		const char *s = NULL;
		int r = want_addr(l, k, "resolver", &e->addr);

		if (r < 0)
			return r;
		for (size_t i = 0; i < x->n_resolve; i++)
			if (pci_addr_equal(&x->resolve[i].addr, &e->addr))
				return scenario_fail(l, k, "resolver", "device given twice");
		x->n_resolve++;
		e->line = (unsigned)k->start_mark.line + 1;
		r = scenario_want_string(l, val, "resolver", &s);
		if (r < 0)
			return r;
		if (s[0] == '/') {
			if (strncmp(s, "/dev/", 5) || strlen(s) >= 64)
				return scenario_fail(l, val, "resolver", "'%s' is not a node path under /dev/ (e.g. /dev/vfio/devices/vfio0)", s);
			e->cls = FAKESYS_EXPECT_CDEV;
			if (!(e->path = strdup(s)))
				return vk_error_set(l->err, ENOMEM, "out of memory");
			continue;
		}
		bool found = false;
		for (size_t c = FAKESYS_EXPECT_ABSENT; c < sizeof(class_names) / sizeof(class_names[0]) && !found; c++)
			if (!strcmp(s, class_names[c])) {
				e->cls = (enum fakesys_expect_class)c;
				found = true;
			}
		if (!found)
			return scenario_fail(l, val, "resolver",
			                     "'%s' is neither a cdev path (/dev/vfio/devices/vfioN) nor one of: " CLASS_LIST, s);
	}
	return 0;
}

/* doctor: {ID[@BDF]: PASS|WARN|FAIL|absent} */
static int parse_doctor(struct loader *l, yaml_node_t *v, struct fakesys_expect *x)
{
	static const char *const st[] = {"PASS", "WARN", "FAIL", "absent"};

	if (v->type != YAML_MAPPING_NODE)
		return scenario_fail(l, v, "doctor", "expected a mapping of check id (VD001, VD101@0000:01:00.0) to PASS, WARN, FAIL or absent");
	size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	x->doctor = calloc(n ? n : 1, sizeof(*x->doctor));
	if (!x->doctor)
		return vk_error_set(l->err, ENOMEM, "out of memory");
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(&l->doc, p->value);
		struct fakesys_expect_doctor *d = &x->doctor[x->n_doctor];
		const char *key = NULL, *s = NULL;
		int r = scenario_want_string(l, k, "doctor", &key);

		if (r < 0)
			return r;
		const char *at = strchr(key, '@');
		d->id = at ? strndup(key, (size_t)(at - key)) : strdup(key);
		x->n_doctor++;
		d->line = (unsigned)k->start_mark.line + 1;
		if (!d->id)
			return vk_error_set(l->err, ENOMEM, "out of memory");
		if (!rule_id_ok(d->id) || strncmp(d->id, "VD", 2))
			return scenario_fail(l, k, "doctor", "'%s' is not a vfio-doctor check id (VD001, VD101@0000:01:00.0)", key);
		if (at) {
			struct pci_addr a;
			struct vk_error e = {0};
			char buf[PCI_ADDR_STRLEN];
			if (pci_addr_parse(at + 1, &a, &e) < 0)
				return scenario_fail(l, k, "doctor", "'%s': %s", key, e.msg);
			if (!(d->subject = strdup(pci_addr_format(&a, buf))))
				return vk_error_set(l->err, ENOMEM, "out of memory");
		}
		for (size_t i = 0; i + 1 < x->n_doctor; i++)
			if (!strcmp(x->doctor[i].id, d->id) &&
			    (x->doctor[i].subject ? d->subject && !strcmp(x->doctor[i].subject, d->subject) : !d->subject))
				return scenario_fail(l, k, "doctor", "'%s' given twice", key);
		r = scenario_want_string(l, val, key, &s);
		if (r < 0)
			return r;
		d->status = -1;
		for (int i = 0; i < 4; i++)
			if (!strcmp(s, st[i]))
				d->status = i;
		if (d->status < 0)
			return scenario_fail(l, val, key, "'%s' is not a check status (expected PASS, WARN, FAIL or absent)", s);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct validate_ctx {
	struct fakesys_expect *x;
	bool has_clean, clean, has_findings;
};

static int validate_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct validate_ctx *c = obj;
	struct fakesys_expect *x = c->x;
	const char *s = NULL;
	int r;

	if (!strcmp(key, "clean")) {
		r = scenario_want_string(l, v, key, &s);
		if (r < 0)
			return r;
		if (strcmp(s, "true"))
			return scenario_fail(l, v, key, "only 'clean: true' is meaningful; list the expected ids in 'findings:'");
		c->has_clean = c->clean = true;
		return 0;
	}
	if (!strcmp(key, "qemu")) {
		r = scenario_want_string(l, v, key, &s);
		if (r < 0)
			return r;
		free(x->qemu);
		return (x->qemu = strdup(s)) ? 0 : vk_error_set(l->err, ENOMEM, "out of memory");
	}
	if (!strcmp(key, "findings")) {
		if (v->type != YAML_SEQUENCE_NODE)
			return scenario_fail(l, v, key, "expected a list of rule ids ([VV005, VV101])");
		size_t n = seq_len(v);
		c->has_findings = true;
		x->findings = calloc(n + 1, sizeof(char *));
		if (!x->findings)
			return vk_error_set(l->err, ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *it = seq_item(l, v, i);
			r = scenario_want_string(l, it, key, &s);
			if (r < 0)
				return r;
			if (!rule_id_ok(s))
				return scenario_fail(l, it, key, "'%s' is not a rule id (VV005, VD101)", s);
			bool dup = false;
			for (size_t j = 0; j < x->n_findings; j++)
				dup = dup || !strcmp(x->findings[j], s);
			if (dup)
				continue;
			if (!(x->findings[x->n_findings] = strdup(s)))
				return vk_error_set(l->err, ENOMEM, "out of memory");
			x->n_findings++;
		}
		qsort(x->findings, x->n_findings, sizeof(char *), cmp_str);
		return 0;
	}
	return 1;
}

static int expect_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct fakesys_expect *x = obj;
	const char *s = NULL;
	int r;

	if (!strcmp(key, "resolver"))
		return parse_resolver(l, v, x);
	if (!strcmp(key, "doctor"))
		return parse_doctor(l, v, x);
	if (!strcmp(key, "argv")) {
		x->has_argv = true;
		if (v->type == YAML_SCALAR_NODE) {
			r = scenario_want_string(l, v, key, &s);
			if (r < 0)
				return r;
			if (strcmp(s, "resolver"))
				return scenario_fail(l, v, key, "expected 'resolver' (the command line the resolver builds) or a list of words");
			x->argv_resolver = true;
			return 0;
		}
		if (v->type != YAML_SEQUENCE_NODE)
			return scenario_fail(l, v, key, "expected 'resolver' or a list of QEMU arguments");
		size_t n = seq_len(v);
		if (!n)
			return scenario_fail(l, v, key, "an empty command line");
		x->argv = calloc(n + 1, sizeof(char *));
		if (!x->argv)
			return vk_error_set(l->err, ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			r = scenario_want_string(l, seq_item(l, v, i), key, &s);
			if (r < 0)
				return r;
			if (!(x->argv[x->argc] = strdup(s)))
				return vk_error_set(l->err, ENOMEM, "out of memory");
			x->argc++;
		}
		return 0;
	}
	if (!strcmp(key, "argv_syntax")) {
		r = scenario_want_string(l, v, key, &s);
		if (r < 0)
			return r;
		if (strcmp(s, "json") && strcmp(s, "keyval"))
			return scenario_fail(l, v, key, "'%s' is not a syntax (expected keyval or json)", s);
		x->argv_json = !strcmp(s, "json");
		return 0;
	}
	if (!strcmp(key, "argv_devices")) {
		if (v->type != YAML_SEQUENCE_NODE)
			return scenario_fail(l, v, key, "expected a list of PCI addresses");
		size_t n = seq_len(v);
		x->has_argv_devices = true;
		x->argv_devices = calloc(n ? n : 1, sizeof(*x->argv_devices));
		if (!x->argv_devices)
			return vk_error_set(l->err, ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			r = want_addr(l, seq_item(l, v, i), key, &x->argv_devices[i]);
			if (r < 0)
				return r;
			x->n_argv_devices++;
		}
		return 0;
	}
	if (!strcmp(key, "validate")) {
		struct validate_ctx c = {.x = x};
		x->has_validate = true;
		r = scenario_walk_map(l, v, "validate", "findings, clean, qemu", validate_key, &c);
		if (r < 0)
			return r;
		if (c.has_clean == c.has_findings)
			return scenario_fail(l, v, "validate", "give either 'clean: true' or 'findings: [IDS...]'");
		return 0;
	}
	return 1;
}

int scenario_parse_expect(struct loader *l, yaml_node_t *v)
{
	struct fakesys_expect *x = calloc(1, sizeof(*x));
	int r;

	if (!x)
		return vk_error_set(l->err, ENOMEM, "out of memory");
	fakesys_expect_free(l->m->expect);
	l->m->expect = x;
	r = scenario_walk_map(l, v, "expect", "resolver, doctor, argv, argv_syntax, argv_devices, validate",
	                      expect_key, x);
	if (r < 0)
		return r;
	if (x->has_argv && !x->has_validate)
		return scenario_fail(l, v, "expect", "'argv' is checked by 'validate: {findings: [...]}' or 'validate: {clean: true}'; add one");
	if ((x->argv_json || x->has_argv_devices) && x->argv && !x->argv_resolver)
		return scenario_fail(l, v, "expect", "'argv_syntax' and 'argv_devices' apply to 'argv: resolver' only");
	if (x->has_validate && !x->has_argv)
		x->has_argv = x->argv_resolver = true;
	return 0;
}
