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

#include <vfiokit/cleanup.h>

#include "model/scenario_internal.h"

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
	free(x->user_groups);
	free(x->memory);
	free(x->memlock);
	free(x->doctor_qemu);
	free_strv(x->requires, x->n_requires);
	for (size_t i = 0; i < x->n_access; i++) {
		free(x->access[i].path);
		free(x->access[i].op);
		free_strv(x->access[i].flags, x->access[i].n_flags);
	}
	free(x->access);
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
	if (!strcmp(key, "qemu"))
		return scenario_dup_string(l, v, key, &x->qemu);
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

/* A uid or gid: a number, so that the scenario means the same on every machine. */
static int want_numeric_id(struct loader *l, yaml_node_t *v, const char *key, uint32_t *out)
{
	uint64_t n;
	int r = scenario_want_uint(l, v, key, 0, UINT32_MAX - 1, &n);

	if (r < 0)
		return r;
	*out = (uint32_t)n;
	return 0;
}

struct user_ctx {
	struct fakesys_expect *x;
	bool has_uid, has_gid;
};

static int user_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct user_ctx *c = obj;
	struct fakesys_expect *x = c->x;

	if (!strcmp(key, "uid")) {
		c->has_uid = true;
		return want_numeric_id(l, v, key, &x->user_uid);
	}
	if (!strcmp(key, "gid")) {
		c->has_gid = true;
		return want_numeric_id(l, v, key, &x->user_gid);
	}
	if (!strcmp(key, "groups")) {
		if (v->type != YAML_SEQUENCE_NODE)
			return scenario_fail(l, v, key, "expected a list of group ids ([36, 107])");
		size_t n = seq_len(v);
		free(x->user_groups);
		x->n_user_groups = 0;
		x->user_groups = calloc(n ? n : 1, sizeof(*x->user_groups));
		if (!x->user_groups)
			return vk_error_set(l->err, ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			int r = want_numeric_id(l, seq_item(l, v, i), key, &x->user_groups[i]);
			if (r < 0)
				return r;
			x->n_user_groups++;
		}
		return 0;
	}
	return 1;
}

/* user: 107, or {uid: 107, gid: 107, groups: [36]} */
static int parse_user(struct loader *l, yaml_node_t *v, struct fakesys_expect *x)
{
	x->has_user = true;
	if (v->type == YAML_SCALAR_NODE) {
		int r = want_numeric_id(l, v, "user", &x->user_uid);
		x->user_gid = x->user_uid;
		return r;
	}
	struct user_ctx c = {.x = x};
	int r = scenario_walk_map(l, v, "user", "uid, gid, groups", user_key, &c);
	if (r < 0)
		return r;
	if (!c.has_uid)
		return scenario_fail(l, v, "user", "give the account's 'uid' (a number)");
	if (!c.has_gid)
		x->user_gid = x->user_uid;
	return 0;
}

static int doctor_options_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct fakesys_expect *x = obj;

	if (!strcmp(key, "memory"))
		return scenario_dup_string(l, v, key, &x->memory);
	if (!strcmp(key, "memlock"))
		return scenario_dup_string(l, v, key, &x->memlock);
	if (!strcmp(key, "qemu"))
		return scenario_dup_string(l, v, key, &x->doctor_qemu);
	return 1;
}

static int parse_requires(struct loader *l, yaml_node_t *v, struct fakesys_expect *x)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return scenario_fail(l, v, "requires", "expected a list of program names ([qemu-system-x86_64])");
	size_t n = seq_len(v);
	x->requires = calloc(n + 1, sizeof(char *));
	if (!x->requires)
		return vk_error_set(l->err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = seq_item(l, v, i);
		int r = scenario_dup_string(l, it, "requires", &x->requires[i]);
		if (r < 0)
			return r;
		x->n_requires++;
		if (!x->requires[i][0])
			return scenario_fail(l, it, "requires", "an empty program name");
	}
	return 0;
}

/* A class name (not "cdev"): absent, not-vfio-pci, ... */
static int want_class(struct loader *l, yaml_node_t *v, const char *key, enum fakesys_expect_class *out)
{
	const char *s = NULL;
	int r = scenario_want_string(l, v, key, &s);

	if (r < 0)
		return r;
	for (size_t c = FAKESYS_EXPECT_ABSENT; c < sizeof(class_names) / sizeof(class_names[0]); c++)
		if (!strcmp(s, class_names[c])) {
			*out = (enum fakesys_expect_class)c;
			return 0;
		}
	return scenario_fail(l, v, key, "'%s' is not one of: " CLASS_LIST, s);
}

struct set_ctx {
	struct fakesys_expect *x;
	bool has_at, has_class;
};

static int set_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct set_ctx *c = obj;
	const char *s = NULL;

	if (!strcmp(key, "fails_at")) {
		int r = scenario_want_string(l, v, key, &s);
		if (r < 0)
			return r;
		c->has_at = true;
		if (!strcmp(s, "/dev/iommu") || !strcmp(s, "dev/iommu")) {
			c->x->set_fail_iommufd = true;
			return 0;
		}
		return want_addr(l, v, key, &c->x->set_fail_addr);
	}
	if (!strcmp(key, "class")) {
		c->has_class = true;
		return want_class(l, v, key, &c->x->set_fail_class);
	}
	return 1;
}

/* set: opened, or set: {fails_at: BDF | /dev/iommu, class: CLASS} */
static int parse_set(struct loader *l, yaml_node_t *v, struct fakesys_expect *x)
{
	x->has_set = true;
	x->set_line = (unsigned)v->start_mark.line + 1;
	if (v->type == YAML_SCALAR_NODE) {
		const char *s = NULL;
		int r = scenario_want_string(l, v, "set", &s);
		if (r < 0)
			return r;
		if (strcmp(s, "opened"))
			return scenario_fail(l, v, "set", "expected 'opened' or {fails_at: BDF, class: CLASS}");
		return 0;
	}
	struct set_ctx c = {.x = x};
	int r = scenario_walk_map(l, v, "set", "fails_at, class", set_key, &c);
	if (r < 0)
		return r;
	if (!c.has_at || !c.has_class)
		return scenario_fail(l, v, "set", "a failing set needs 'fails_at' (a PCI address or /dev/iommu) and 'class'");
	x->set_fails = true;
	return 0;
}

/* The operations the access log names (fakesys/src/fuse_server.c rq_begin()). */
static const char *const log_ops[] = {"lookup", "getattr", "readlink", "opendir", "readdir", "open", "read", "write"};

struct access_ctx {
	struct fakesys_expect_access *a;
	bool has_count;
};

static int access_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct access_ctx *c = obj;
	struct fakesys_expect_access *a = c->a;
	const char *s = NULL;
	int r;

	if (!strcmp(key, "path")) {
		r = scenario_dup_string(l, v, key, &a->path);
		if (r == 0 && a->path[0] == '/')
			memmove(a->path, a->path + 1, strlen(a->path));
		return r;
	}
	if (!strcmp(key, "op")) {
		r = scenario_want_string(l, v, key, &s);
		if (r < 0)
			return r;
		if (!strcmp(s, "any"))
			return 0;
		for (size_t i = 0; i < sizeof(log_ops) / sizeof(log_ops[0]); i++)
			if (!strcmp(s, log_ops[i]))
				return scenario_dup_string(l, v, key, &a->op);
		return scenario_fail(l, v, key,
		                     "'%s' is not an operation of the log (open, opendir, read, readdir, readlink, "
		                     "lookup, getattr, write, any)", s);
	}
	if (!strcmp(key, "flags")) {
		r = scenario_want_string(l, v, key, &s);
		if (r < 0)
			return r;
		_cleanup_free_ char *copy = strdup(s);
		if (!copy)
			return vk_error_set(l->err, ENOMEM, "out of memory");
		a->flags = calloc(strlen(s) / 2 + 2, sizeof(char *));
		if (!a->flags)
			return vk_error_set(l->err, ENOMEM, "out of memory");
		char *save = NULL;
		for (char *f = strtok_r(copy, "| ", &save); f; f = strtok_r(NULL, "| ", &save)) {
			if (strncmp(f, "O_", 2) || strspn(f + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(f + 2) || !f[2])
				return scenario_fail(l, v, key, "'%s' is not an open flag (O_RDWR, O_RDONLY|O_NONBLOCK, ...)", f);
			if (!(a->flags[a->n_flags] = strdup(f)))
				return vk_error_set(l->err, ENOMEM, "out of memory");
			a->n_flags++;
		}
		if (!a->n_flags)
			return scenario_fail(l, v, key, "no flags given");
		return 0;
	}
	if (!strcmp(key, "count") || !strcmp(key, "each")) {
		if (c->has_count)
			return scenario_fail(l, v, key, "give either 'count' (all matches) or 'each' (per path), once");
		c->has_count = true;
		a->each = !strcmp(key, "each");
		return scenario_want_uint(l, v, key, 0, UINT32_MAX, &a->count);
	}
	return 1;
}

/* access: [{path: PATTERN, op: OP, flags: O_RDWR, count: N | each: N}, ...] */
static int parse_access(struct loader *l, yaml_node_t *v, struct fakesys_expect *x)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return scenario_fail(l, v, "access", "expected a list of {path, op, flags, count | each}");
	size_t n = seq_len(v);
	x->access = calloc(n ? n : 1, sizeof(*x->access));
	if (!x->access)
		return vk_error_set(l->err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = seq_item(l, v, i);
		struct access_ctx c = {.a = &x->access[i]};
		x->n_access++;
		x->access[i].line = (unsigned)it->start_mark.line + 1;
		int r = scenario_walk_map(l, it, "access", "path, op, flags, count, each", access_key, &c);
		if (r < 0)
			return r;
		if (!c.has_count)
			return scenario_fail(l, it, "access", "say how many: 'count: N' (all matches) or 'each: N' (per path)");
		if (x->access[i].each && x->access[i].count == 0)
			return scenario_fail(l, it, "each", "'each: 0' matches nothing by definition; use 'count: 0'");
	}
	return 0;
}

static int expect_key(struct loader *l, const char *key, yaml_node_t *v, void *obj)
{
	struct fakesys_expect *x = obj;
	const char *s = NULL;
	int r;

	if (!strcmp(key, "resolver"))
		return parse_resolver(l, v, x);
	if (!strcmp(key, "user"))
		return parse_user(l, v, x);
	if (!strcmp(key, "doctor_options")) {
		x->doctor_options_line = (unsigned)v->start_mark.line + 1;
		return scenario_walk_map(l, v, "doctor_options", "memory, memlock, qemu", doctor_options_key, x);
	}
	if (!strcmp(key, "requires"))
		return parse_requires(l, v, x);
	if (!strcmp(key, "set"))
		return parse_set(l, v, x);
	if (!strcmp(key, "access"))
		return parse_access(l, v, x);
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
	r = scenario_walk_map(l, v, "expect",
	                      "resolver, doctor, argv, argv_syntax, argv_devices, validate, set, access, user, "
	                      "doctor_options, requires",
	                      expect_key, x);
	if (r < 0)
		return r;
	if (x->has_argv && !x->has_validate)
		return scenario_fail(l, v, "expect", "'argv' is checked by 'validate: {findings: [...]}' or 'validate: {clean: true}'; add one");
	if (x->argv && !x->argv_resolver && (x->argv_json || (x->has_argv_devices && !x->has_set && !x->n_access)))
		return scenario_fail(l, v, "expect", "'argv_syntax' and 'argv_devices' apply to 'argv: resolver' "
		                                     "(and argv_devices to set: and access:) only");
	if (x->has_validate && !x->has_argv)
		x->has_argv = x->argv_resolver = true;
	if (x->set_fails && x->argv_resolver)
		return scenario_fail(l, v, "expect", "'argv: resolver' needs the set to open, but 'set:' expects it to fail; "
		                                     "give a literal argv or drop validate:");
	return 0;
}
