/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scenario's expect: block: what the resolver, vfio-doctor and
 * vfio-validate are expected to say about the host (checked by `fakesys test`).
 * Only the syntax is checked here, as the scenario is loaded: fakesys's loader
 * hands this parser the section's node in file order (vk_scenario_section.h),
 * so a file's first error is the same as when fakesys parsed it.  Rule ids
 * are checked for their shape (VDnnn for the doctor, VVnnn for the
 * validator); whether an id exists is precheck.c's, against the catalogue.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include "vk_scenario_section.h"

#include "expect.h"

static const char *const class_names[] = {
	[VK_FAKESYS_EXPECT_CDEV] = "cdev",
	[VK_FAKESYS_EXPECT_ABSENT] = "absent",
	[VK_FAKESYS_EXPECT_NOT_VFIO_PCI] = "not-vfio-pci",
	[VK_FAKESYS_EXPECT_NO_CDEV] = "no-cdev",
	[VK_FAKESYS_EXPECT_MALFORMED] = "malformed",
	[VK_FAKESYS_EXPECT_NODE_MISSING] = "node-missing",
	[VK_FAKESYS_EXPECT_ACCESS] = "access",
	[VK_FAKESYS_EXPECT_BUSY] = "busy",
	[VK_FAKESYS_EXPECT_GONE] = "gone",
	[VK_FAKESYS_EXPECT_ERROR] = "error",
};

#define CLASS_LIST "absent, not-vfio-pci, no-cdev, malformed, node-missing, access, busy, gone, error"

const char *vk_fakesys_expect_class_name(enum vk_fakesys_expect_class c)
{
	return (unsigned)c < sizeof(class_names) / sizeof(class_names[0]) ? class_names[c] : "?";
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void vk_fakesys_expect_free(struct vk_fakesys_expect *x)
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
	for (size_t i = 0; i < x->n_rule_refs; i++)
		free(x->rule_refs[i].id);
	free(x->rule_refs);
	free(x);
}

static struct vk_fakesys_pos pos_of(const struct ynode *n)
{
	return (struct vk_fakesys_pos){n->line + 1, n->col + 1};
}

/* Remember rule id @id (@len bytes) at @n for the catalogue check. */
static int add_rule_ref(struct yreader *y, struct vk_fakesys_expect *x, const char *id, size_t len, const struct ynode *n)
{
	size_t have = x->n_rule_refs;
	struct vk_fakesys_expect_rule_ref *v = x->rule_refs;

	/* grown by doubling (capacity: 8, then the next power of two), so that an
	 * expect: block of 300,000 ids is linear, also where realloc always moves
	 * (ASan): yaml_limits/long_expect_lists */
	if (have == 0 || (have >= 8 && (have & (have - 1)) == 0)) {
		v = realloc(v, (have ? 2 * have : 8) * sizeof(*v));
		if (!v)
			return vk__yaml_oom(y);
		x->rule_refs = v;
	}
	if (!(v[x->n_rule_refs].id = strndup(id, len)))
		return vk__yaml_oom(y);
	v[x->n_rule_refs++].pos = pos_of(n);
	return 0;
}

/* @prefix and three digits: "VD101" (vfio-doctor), "VV005" (vfio-validate). */
static bool rule_id_ok(const char *s, const char *prefix)
{
	return strlen(s) == 5 && !strncmp(s, prefix, 2) && isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) &&
	       isdigit((unsigned char)s[4]);
}

static int want_addr(struct yreader *y, const struct ynode *n, const char *key, struct vk_pci_addr *out)
{
	const char *s = NULL;
	struct vk_error e = {0};
	int r = vk__yaml_string(y, n, key, &s);

	if (r < 0)
		return r;
	if (vk_pci_addr_parse(s, out, &e) < 0)
		return vk__yaml_fail(y, n, key, "%s", e.msg);
	return 0;
}

/* The only node path the resolver answers with: /dev/vfio/devices/vfioN,
 * N in decimal without leading zeros, as the kernel names the vfio-dev
 * device (drivers/vfio/vfio_main.c: dev_set_name(.., "vfio%d", minor)). */
static bool cdev_path_ok(const char *s)
{
	static const char pre[] = "/dev/vfio/devices/vfio";
	const char *n = s + sizeof(pre) - 1;
	size_t len;

	if (strncmp(s, pre, sizeof(pre) - 1))
		return false;
	len = strlen(n);
	return len && len <= 10 && strspn(n, "0123456789") == len && (n[0] != '0' || len == 1);
}

/* resolver: {BDF: /dev/vfio/devices/vfioN | class} */
static int parse_resolver(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x)
{
	if (v->kind != YN_MAP)
		return vk__yaml_fail(y, v, "resolver", "expected a mapping of PCI address to a cdev path or one of: " CLASS_LIST);
	size_t n = v->n;
	_cleanup_(vk__name_set_free) struct name_set seen = {0};
	_cleanup_free_ char(*addrs)[VK_PCI_ADDR_STRLEN] = calloc(n ? n : 1, VK_PCI_ADDR_STRLEN);
	x->resolve = calloc(n ? n : 1, sizeof(*x->resolve));
	if (!x->resolve || !addrs)
		return vk__yaml_oom(y);
	for (size_t i = 0; i < n; i++) {
		const struct ynode *k = yr_key(v, i), *val = yr_val(v, i);
		struct vk_fakesys_expect_resolve *e = &x->resolve[x->n_resolve];
		const char *s = NULL;
		int r = want_addr(y, k, "resolver", &e->addr);

		if (r < 0)
			return r;
		r = vk__name_set_add(&seen, vk_pci_addr_format(&e->addr, addrs[i]));
		if (r < 0)
			return vk__yaml_oom(y);
		if (r == 0)
			return vk__yaml_fail(y, k, "resolver", "device given twice");
		x->n_resolve++;
		e->line = k->line + 1;
		r = vk__yaml_string(y, val, "resolver", &s);
		if (r < 0)
			return r;
		if (s[0] == '/') {
			if (!cdev_path_ok(s))
				return vk__yaml_fail(y, val, "resolver",
				                     "'%s' is not a VFIO cdev path: the resolver finds a device's node as "
				                     "/dev/vfio/devices/vfioN (N its vfio-dev number, e.g. /dev/vfio/devices/vfio0)",
				                     s);
			e->cls = VK_FAKESYS_EXPECT_CDEV;
			if (!(e->path = strdup(s)))
				return vk__yaml_oom(y);
			continue;
		}
		bool found = false;
		for (size_t c = VK_FAKESYS_EXPECT_ABSENT; c < sizeof(class_names) / sizeof(class_names[0]) && !found; c++)
			if (!strcmp(s, class_names[c])) {
				e->cls = (enum vk_fakesys_expect_class)c;
				found = true;
			}
		if (!found)
			return vk__yaml_fail(y, val, "resolver",
			                     "'%s' is neither a cdev path (/dev/vfio/devices/vfioN) nor one of: " CLASS_LIST, s);
	}
	return 0;
}

/* doctor: {ID[@BDF]: PASS|WARN|FAIL|absent} */
static int parse_doctor(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x)
{
	static const char *const st[] = {"PASS", "WARN", "FAIL", "absent"};

	if (v->kind != YN_MAP)
		return vk__yaml_fail(y, v, "doctor", "expected a mapping of check id (VD001, VD101@0000:01:00.0) to PASS, WARN, FAIL or absent");
	size_t n = v->n;
	_cleanup_(vk__name_set_free) struct name_set seen = {0};
	/* "ID" or "ID@DDDD:BB:SS.F", with the address in one spelling */
	_cleanup_free_ char(*keys)[6 + VK_PCI_ADDR_STRLEN] = calloc(n ? n : 1, 6 + VK_PCI_ADDR_STRLEN);
	x->doctor = calloc(n ? n : 1, sizeof(*x->doctor));
	if (!x->doctor || !keys)
		return vk__yaml_oom(y);
	for (size_t i = 0; i < n; i++) {
		const struct ynode *k = yr_key(v, i), *val = yr_val(v, i);
		struct vk_fakesys_expect_doctor *d = &x->doctor[x->n_doctor];
		const char *key = NULL, *s = NULL;
		int r = vk__yaml_string(y, k, "doctor", &key);

		if (r < 0)
			return r;
		const char *at = strchr(key, '@');
		d->id = at ? strndup(key, (size_t)(at - key)) : strdup(key);
		x->n_doctor++;
		d->line = k->line + 1;
		if (!d->id)
			return vk__yaml_oom(y);
		if (!rule_id_ok(d->id, "VD"))
			return vk__yaml_fail(y, k, "doctor", "'%s' is not a vfio-doctor check id (VD001, VD101@0000:01:00.0)", key);
		if ((r = add_rule_ref(y, x, d->id, strlen(d->id), k)) < 0)
			return r;
		if (at) {
			struct vk_pci_addr a;
			struct vk_error e = {0};
			char buf[VK_PCI_ADDR_STRLEN];
			if (vk_pci_addr_parse(at + 1, &a, &e) < 0)
				return vk__yaml_fail(y, k, "doctor", "'%s': %s", key, e.msg);
			if (!(d->subject = strdup(vk_pci_addr_format(&a, buf))))
				return vk__yaml_oom(y);
		}
		snprintf(keys[i], sizeof(keys[i]), "%s%s%s", d->id, d->subject ? "@" : "", d->subject ? d->subject : "");
		r = vk__name_set_add(&seen, keys[i]);
		if (r < 0)
			return vk__yaml_oom(y);
		if (r == 0)
			return vk__yaml_fail(y, k, "doctor", "'%s' given twice", key);
		r = vk__yaml_string(y, val, key, &s);
		if (r < 0)
			return r;
		d->status = -1;
		for (int j = 0; j < 4; j++)
			if (!strcmp(s, st[j]))
				d->status = j;
		if (d->status < 0)
			return vk__yaml_fail(y, val, key, "'%s' is not a check status (expected PASS, WARN, FAIL or absent)", s);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct validate_ctx {
	struct vk_fakesys_expect *x;
	bool has_clean, clean, has_findings;
};

static int validate_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct validate_ctx *c = obj;
	struct vk_fakesys_expect *x = c->x;
	const char *s = NULL;
	int r;

	if (!strcmp(key, "clean")) {
		r = vk__yaml_string(y, v, key, &s);
		if (r < 0)
			return r;
		if (strcmp(s, "true"))
			return vk__yaml_fail(y, v, key, "only 'clean: true' is meaningful; list the expected ids in 'findings:'");
		c->has_clean = c->clean = true;
		return 0;
	}
	if (!strcmp(key, "qemu"))
		return vk__yaml_dup_string(y, v, key, &x->qemu);
	if (!strcmp(key, "findings")) {
		if (v->kind != YN_SEQ)
			return vk__yaml_fail(y, v, key, "expected a list of rule ids ([VV005, VV101])");
		_cleanup_(vk__name_set_free) struct name_set seen = {0};
		size_t n = v->n;
		c->has_findings = true;
		x->findings = calloc(n + 1, sizeof(char *));
		if (!x->findings)
			return vk__yaml_oom(y);
		for (size_t i = 0; i < n; i++) {
			const struct ynode *it = yr_item(v, i);
			r = vk__yaml_string(y, it, key, &s);
			if (r < 0)
				return r;
			if (!rule_id_ok(s, "VV"))
				return vk__yaml_fail(y, it, key, "'%s' is not a vfio-validate rule id (VV005, VV101)", s);
			if ((r = add_rule_ref(y, x, s, strlen(s), it)) < 0)
				return r;
			if (vk__name_set_has(&seen, s))
				continue;
			if (!(x->findings[x->n_findings] = strdup(s)))
				return vk__yaml_oom(y);
			if (vk__name_set_add(&seen, x->findings[x->n_findings++]) < 0)
				return vk__yaml_oom(y);
		}
		qsort(x->findings, x->n_findings, sizeof(char *), cmp_str);
		return 0;
	}
	return 1;
}

/* A uid or gid: a number, so that the scenario means the same on every machine. */
static int want_numeric_id(struct yreader *y, const struct ynode *v, const char *key, uint32_t *out)
{
	uint64_t n;
	int r = vk__yaml_uint(y, v, key, 0, UINT32_MAX - 1, &n);

	if (r < 0)
		return r;
	*out = (uint32_t)n;
	return 0;
}

struct user_ctx {
	struct vk_fakesys_expect *x;
	bool has_uid, has_gid;
};

static int user_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct user_ctx *c = obj;
	struct vk_fakesys_expect *x = c->x;

	if (!strcmp(key, "uid")) {
		c->has_uid = true;
		return want_numeric_id(y, v, key, &x->user_uid);
	}
	if (!strcmp(key, "gid")) {
		c->has_gid = true;
		return want_numeric_id(y, v, key, &x->user_gid);
	}
	if (!strcmp(key, "groups")) {
		if (v->kind != YN_SEQ)
			return vk__yaml_fail(y, v, key, "expected a list of group ids ([36, 107])");
		size_t n = v->n;
		free(x->user_groups);
		x->n_user_groups = 0;
		x->user_groups = calloc(n ? n : 1, sizeof(*x->user_groups));
		if (!x->user_groups)
			return vk__yaml_oom(y);
		for (size_t i = 0; i < n; i++) {
			int r = want_numeric_id(y, yr_item(v, i), key, &x->user_groups[i]);
			if (r < 0)
				return r;
			x->n_user_groups++;
		}
		return 0;
	}
	return 1;
}

/* user: 107, or {uid: 107, gid: 107, groups: [36]} */
static int parse_user(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x)
{
	x->has_user = true;
	if (v->kind == YN_SCALAR) {
		int r = want_numeric_id(y, v, "user", &x->user_uid);
		x->user_gid = x->user_uid;
		return r;
	}
	struct user_ctx c = {.x = x};
	int r = vk__yaml_walk_map(y, v, "user", "uid, gid, groups", user_key, &c);
	if (r < 0)
		return r;
	if (!c.has_uid)
		return vk__yaml_fail(y, v, "user", "give the account's 'uid' (a number)");
	if (!c.has_gid)
		x->user_gid = x->user_uid;
	return 0;
}

static int doctor_options_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct vk_fakesys_expect *x = obj;

	if (!strcmp(key, "memory")) {
		x->memory_pos = pos_of(v);
		return vk__yaml_dup_string(y, v, key, &x->memory);
	}
	if (!strcmp(key, "memlock")) {
		x->memlock_pos = pos_of(v);
		return vk__yaml_dup_string(y, v, key, &x->memlock);
	}
	if (!strcmp(key, "qemu"))
		return vk__yaml_dup_string(y, v, key, &x->doctor_qemu);
	return 1;
}

static int parse_requires(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x)
{
	if (v->kind != YN_SEQ)
		return vk__yaml_fail(y, v, "requires", "expected a list of program names ([qemu-system-x86_64])");
	size_t n = v->n;
	x->requires = calloc(n + 1, sizeof(char *));
	if (!x->requires)
		return vk__yaml_oom(y);
	for (size_t i = 0; i < n; i++) {
		const struct ynode *it = yr_item(v, i);
		int r = vk__yaml_dup_string(y, it, "requires", &x->requires[i]);
		if (r < 0)
			return r;
		x->n_requires++;
		if (!x->requires[i][0])
			return vk__yaml_fail(y, it, "requires", "an empty program name");
	}
	return 0;
}

/* A class name (not "cdev"): absent, not-vfio-pci, ... */
static int want_class(struct yreader *y, const struct ynode *v, const char *key, enum vk_fakesys_expect_class *out)
{
	const char *s = NULL;
	int r = vk__yaml_string(y, v, key, &s);

	if (r < 0)
		return r;
	for (size_t c = VK_FAKESYS_EXPECT_ABSENT; c < sizeof(class_names) / sizeof(class_names[0]); c++)
		if (!strcmp(s, class_names[c])) {
			*out = (enum vk_fakesys_expect_class)c;
			return 0;
		}
	return vk__yaml_fail(y, v, key, "'%s' is not one of: " CLASS_LIST, s);
}

struct set_ctx {
	struct vk_fakesys_expect *x;
	bool has_at, has_class;
};

static int set_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct set_ctx *c = obj;
	const char *s = NULL;

	if (!strcmp(key, "fails_at")) {
		int r = vk__yaml_string(y, v, key, &s);
		if (r < 0)
			return r;
		c->has_at = true;
		if (!strcmp(s, "/dev/iommu") || !strcmp(s, "dev/iommu")) {
			c->x->set_fail_iommufd = true;
			return 0;
		}
		return want_addr(y, v, key, &c->x->set_fail_addr);
	}
	if (!strcmp(key, "class")) {
		c->has_class = true;
		return want_class(y, v, key, &c->x->set_fail_class);
	}
	return 1;
}

/* set: opened, or set: {fails_at: BDF | /dev/iommu, class: CLASS} */
static int parse_set(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x)
{
	x->has_set = true;
	x->set_line = v->line + 1;
	if (v->kind == YN_SCALAR) {
		const char *s = NULL;
		int r = vk__yaml_string(y, v, "set", &s);
		if (r < 0)
			return r;
		if (strcmp(s, "opened"))
			return vk__yaml_fail(y, v, "set", "expected 'opened' or {fails_at: BDF, class: CLASS}");
		return 0;
	}
	struct set_ctx c = {.x = x};
	int r = vk__yaml_walk_map(y, v, "set", "fails_at, class", set_key, &c);
	if (r < 0)
		return r;
	if (!c.has_at || !c.has_class)
		return vk__yaml_fail(y, v, "set", "a failing set needs 'fails_at' (a PCI address or /dev/iommu) and 'class'");
	x->set_fails = true;
	return 0;
}

/* The operations the access log names (fakesys/src/fuse_server.c rq_begin()). */
static const char *const log_ops[] = {"lookup", "getattr", "readlink", "opendir", "readdir", "open", "read", "write"};

struct access_ctx {
	struct vk_fakesys_expect_access *a;
	bool has_count;
};

static int access_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct access_ctx *c = obj;
	struct vk_fakesys_expect_access *a = c->a;
	const char *s = NULL;
	int r;

	if (!strcmp(key, "path")) {
		r = vk__yaml_dup_string(y, v, key, &a->path);
		if (r == 0 && a->path[0] == '/')
			memmove(a->path, a->path + 1, strlen(a->path));
		return r;
	}
	if (!strcmp(key, "op")) {
		r = vk__yaml_string(y, v, key, &s);
		if (r < 0)
			return r;
		if (!strcmp(s, "any"))
			return 0;
		for (size_t i = 0; i < sizeof(log_ops) / sizeof(log_ops[0]); i++)
			if (!strcmp(s, log_ops[i]))
				return vk__yaml_dup_string(y, v, key, &a->op);
		return vk__yaml_fail(y, v, key,
		                     "'%s' is not an operation of the log (open, opendir, read, readdir, readlink, "
		                     "lookup, getattr, write, any)",
		                     s);
	}
	if (!strcmp(key, "flags")) {
		r = vk__yaml_string(y, v, key, &s);
		if (r < 0)
			return r;
		_cleanup_free_ char *copy = strdup(s);
		if (!copy)
			return vk__yaml_oom(y);
		a->flags = calloc(strlen(s) / 2 + 2, sizeof(char *));
		if (!a->flags)
			return vk__yaml_oom(y);
		char *save = NULL;
		for (char *f = strtok_r(copy, "| ", &save); f; f = strtok_r(NULL, "| ", &save)) {
			if (strncmp(f, "O_", 2) || strspn(f + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(f + 2) || !f[2])
				return vk__yaml_fail(y, v, key, "'%s' is not an open flag (O_RDWR, O_RDONLY|O_NONBLOCK, ...)", f);
			if (!(a->flags[a->n_flags] = strdup(f)))
				return vk__yaml_oom(y);
			a->n_flags++;
		}
		if (!a->n_flags)
			return vk__yaml_fail(y, v, key, "no flags given");
		return 0;
	}
	if (!strcmp(key, "count") || !strcmp(key, "each")) {
		if (c->has_count)
			return vk__yaml_fail(y, v, key, "give either 'count' (all matches) or 'each' (per path), once");
		c->has_count = true;
		a->each = !strcmp(key, "each");
		return vk__yaml_uint(y, v, key, 0, UINT32_MAX, &a->count);
	}
	return 1;
}

/* access: [{path: PATTERN, op: OP, flags: O_RDWR, count: N | each: N}, ...] */
static int parse_access(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x)
{
	if (v->kind != YN_SEQ)
		return vk__yaml_fail(y, v, "access", "expected a list of {path, op, flags, count | each}");
	size_t n = v->n;
	x->access = calloc(n ? n : 1, sizeof(*x->access));
	if (!x->access)
		return vk__yaml_oom(y);
	for (size_t i = 0; i < n; i++) {
		const struct ynode *it = yr_item(v, i);
		struct access_ctx c = {.a = &x->access[i]};
		x->n_access++;
		x->access[i].line = it->line + 1;
		int r = vk__yaml_walk_map(y, it, "access", "path, op, flags, count, each", access_key, &c);
		if (r < 0)
			return r;
		if (!c.has_count)
			return vk__yaml_fail(y, it, "access", "say how many: 'count: N' (all matches) or 'each: N' (per path)");
		if (x->access[i].each && x->access[i].count == 0)
			return vk__yaml_fail(y, it, "each", "'each: 0' matches nothing by definition; use 'count: 0'");
	}
	return 0;
}

/* argv: 'resolver', or the words of a command line. */
static int parse_argv(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x)
{
	const char *key = "argv", *s = NULL;
	int r;

	x->has_argv = true;
	if (v->kind == YN_SCALAR) {
		r = vk__yaml_string(y, v, key, &s);
		if (r < 0)
			return r;
		if (strcmp(s, "resolver"))
			return vk__yaml_fail(y, v, key, "expected 'resolver' (the command line the resolver builds) or a list of words");
		x->argv_resolver = true;
		return 0;
	}
	if (v->kind != YN_SEQ)
		return vk__yaml_fail(y, v, key, "expected 'resolver' or a list of QEMU arguments");
	size_t n = v->n;
	if (!n)
		return vk__yaml_fail(y, v, key, "an empty command line");
	x->argv = calloc(n + 1, sizeof(char *));
	if (!x->argv)
		return vk__yaml_oom(y);
	for (size_t i = 0; i < n; i++) {
		r = vk__yaml_string(y, yr_item(v, i), key, &s);
		if (r < 0)
			return r;
		if (!(x->argv[x->argc] = strdup(s)))
			return vk__yaml_oom(y);
		x->argc++;
	}
	return 0;
}

/* argv_syntax: keyval or json. */
static int parse_argv_syntax(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x)
{
	const char *s = NULL;
	int r = vk__yaml_string(y, v, "argv_syntax", &s);

	if (r < 0)
		return r;
	if (strcmp(s, "json") && strcmp(s, "keyval"))
		return vk__yaml_fail(y, v, "argv_syntax", "'%s' is not a syntax (expected keyval or json)", s);
	x->argv_json = !strcmp(s, "json");
	return 0;
}

/* argv_devices: the PCI addresses of the set. */
static int parse_argv_devices(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x)
{
	int r;

	if (v->kind != YN_SEQ)
		return vk__yaml_fail(y, v, "argv_devices", "expected a list of PCI addresses");
	size_t n = v->n;
	x->has_argv_devices = true;
	x->argv_devices = calloc(n ? n : 1, sizeof(*x->argv_devices));
	if (!x->argv_devices)
		return vk__yaml_oom(y);
	for (size_t i = 0; i < n; i++) {
		r = want_addr(y, yr_item(v, i), "argv_devices", &x->argv_devices[i]);
		if (r < 0)
			return r;
		x->n_argv_devices++;
	}
	return 0;
}

/* validate: {findings: [...]} or {clean: true}, and qemu:. */
static int parse_validate(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x)
{
	struct validate_ctx c = {.x = x};
	int r;

	x->has_validate = true;
	r = vk__yaml_walk_map(y, v, "validate", "findings, clean, qemu", validate_key, &c);
	if (r < 0)
		return r;
	if (c.has_clean == c.has_findings)
		return vk__yaml_fail(y, v, "validate", "give either 'clean: true' or 'findings: [IDS...]'");
	return 0;
}

static int expect_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	static const struct {
		const char *key;
		int (*parse)(struct yreader *y, const struct ynode *v, struct vk_fakesys_expect *x);
	} keys[] = {
		{"resolver", parse_resolver},
		{"user", parse_user},
		{"requires", parse_requires},
		{"set", parse_set},
		{"access", parse_access},
		{"doctor", parse_doctor},
		{"argv", parse_argv},
		{"argv_syntax", parse_argv_syntax},
		{"argv_devices", parse_argv_devices},
		{"validate", parse_validate},
	};
	struct vk_fakesys_expect *x = obj;

	if (!strcmp(key, "doctor_options")) {
		x->doctor_options_line = v->line + 1;
		return vk__yaml_walk_map(y, v, "doctor_options", "memory, memlock, qemu", doctor_options_key, x);
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i].key))
			return keys[i].parse(y, v, x);
	return 1;
}

/* The expect: section's parser (struct vk_scenario_section): into *@data, a
 * struct vk_fakesys_expect ** (the previous block freed). */
static int parse_expect(struct yreader *y, const struct ynode *v, void *data)
{
	struct vk_fakesys_expect **out = data;
	struct vk_fakesys_expect *x = calloc(1, sizeof(*x));
	int r;

	if (!x)
		return vk__yaml_oom(y);
	vk_fakesys_expect_free(*out);
	*out = x;
	r = vk__yaml_walk_map(y, v, "expect",
	                      "resolver, doctor, argv, argv_syntax, argv_devices, validate, set, access, user, "
	                      "doctor_options, requires",
	                      expect_key, x);
	if (r < 0)
		return r;
	if (x->has_argv && !x->has_validate)
		return vk__yaml_fail(y, v, "expect", "'argv' is checked by 'validate: {findings: [...]}' or 'validate: {clean: true}'; add one");
	if (x->argv && !x->argv_resolver && (x->argv_json || (x->has_argv_devices && !x->has_set && !x->n_access)))
		return vk__yaml_fail(y, v, "expect", "'argv_syntax' and 'argv_devices' apply to 'argv: resolver' "
		                                     "(and argv_devices to set: and access:) only");
	if (x->has_validate && !x->has_argv)
		x->has_argv = x->argv_resolver = true;
	if (x->set_fails && x->argv_resolver)
		return vk__yaml_fail(y, v, "expect", "'argv: resolver' needs the set to open, but 'set:' expects it to fail; "
		                                     "give a literal argv or drop validate:");
	return 0;
}

/* A failed load leaves nothing to free: the block a parse began goes too. */
static int load_result(int r, struct vk_fakesys_expect **x)
{
	if (r < 0) {
		vk_fakesys_expect_free(*x);
		*x = NULL;
	}
	return r;
}

int runner_scenario_load(const char *path, struct vk_fakesys_scenario **s, struct vk_fakesys_expect **x,
                         struct vk_error *err)
{
	const struct vk_scenario_section sec = {"expect", parse_expect, x};

	*x = NULL;
	return load_result(vk__scenario_load_sections(path, &sec, 1, s, err), x);
}

int runner_scenario_load_buffer(const char *name, const char *buf, size_t len, struct vk_fakesys_scenario **s,
                                struct vk_fakesys_expect **x, struct vk_error *err)
{
	const struct vk_scenario_section sec = {"expect", parse_expect, x};

	*x = NULL;
	return load_result(vk__scenario_load_buffer_sections(name, buf, len, &sec, 1, s, err), x);
}
