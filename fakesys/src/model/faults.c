/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Injected faults: the scenario's faults: list, the control channel's
 * "fault add" form, and the table the FUSE server consults on every request.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"

#include "live/live.h"
#include "model/sections.h"

static const struct {
	const char *name;
	unsigned op;
} op_names[] = {
	{"open", VK_FAKESYS_OP_OPEN}, {"read", VK_FAKESYS_OP_READ}, {"readdir", VK_FAKESYS_OP_READDIR}, {"readlink", VK_FAKESYS_OP_READLINK}, {"getattr", VK_FAKESYS_OP_GETATTR}, {"lookup", VK_FAKESYS_OP_GETATTR}, {"stat", VK_FAKESYS_OP_GETATTR}, {"write", VK_FAKESYS_OP_WRITE}, {"any", VK_FAKESYS_OP_ALL}, {"ioctl", VK_FAKESYS_OP_IOCTL}, /* reported by the VFIO emulation (run/seccomp_notify.c) */
};

#define OP_LIST "open, read, readdir, readlink, getattr (lookup, stat), write, ioctl, any"

unsigned vk_fakesys_op_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (!strcmp(name, op_names[i].name))
			return op_names[i].op;
	return 0;
}

const char *vk_fakesys_op_name(unsigned op)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (op == op_names[i].op)
			return op_names[i].name;
	return "?";
}

int vk_fakesys_errno_parse(const char *s)
{
	if (!s || !*s)
		return 0;
	if (s[0] >= '0' && s[0] <= '9') {
		char *end;
		long v = strtol(s, &end, 10);
		return *end || v < 1 || v > 4095 ? 0 : (int)v;
	}
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);
		if (n && !strcmp(n, s))
			return e;
	}
	return 0;
}

static const char *errno_name(int e)
{
	const char *n = e ? strerrorname_np(e) : NULL;
	return n ? n : "none";
}

void vk_fakesys_faults_free(struct vk_fakesys_fault *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].path);
		free(v[i].step);
	}
	free(v);
}

/* "nth=3" style option of a control command. */
static int opt_u32(const char *w, const char *key, uint32_t *out, bool *hit)
{
	size_t k = strlen(key);
	char *end;

	if (strncmp(w, key, k) || w[k] != '=')
		return 0;
	*hit = true;
	errno = 0;
	unsigned long v = strtoul(w + k + 1, &end, 10);
	if (errno || *end || end == w + k + 1 || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int vk_fakesys_fault_parse(const char *line, struct vk_fakesys_fault *out, struct vk_error *err)
{
	_cleanup_free_ char *copy = strdup(line);
	char *save = NULL, *w[8];
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (!copy)
		return vk_error_set(err, ENOMEM, "out of memory");
	for (char *t = strtok_r(copy, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == 8)
			return vk_error_set(err, EINVAL, "fault add: too many words (expected PATH OP ERRNO [nth=N] "
			                                 "[times=N] [delay=MS])");
		w[n++] = t;
	}
	if (n < 3)
		return vk_error_set(err, EINVAL, "fault add: expected PATH OP ERRNO [nth=N] [times=N] [delay=MS]");
	if (!(out->ops = vk_fakesys_op_parse(w[1])))
		return vk_error_set(err, EINVAL, "fault add: unknown operation '%s' (expected one of: " OP_LIST ")", w[1]);
	if (strcmp(w[2], "none") && strcmp(w[2], "0") && !(out->err = vk_fakesys_errno_parse(w[2])))
		return vk_error_set(err, EINVAL, "fault add: '%s' is not an errno name (EBUSY, ENODEV, EIO...) or number",
		                    w[2]);
	for (size_t i = 3; i < n; i++) {
		bool hit = false;
		if (opt_u32(w[i], "nth", &out->nth, &hit) < 0 || opt_u32(w[i], "times", &out->times, &hit) < 0 ||
		    opt_u32(w[i], "delay", &out->delay_ms, &hit) < 0)
			return vk_error_set(err, EINVAL, "fault add: '%s': expected a whole number after '='", w[i]);
		if (!hit)
			return vk_error_set(err, EINVAL, "fault add: unknown option '%s' (expected nth=N, times=N, delay=MS)",
			                    w[i]);
	}
	if (!out->err && !out->delay_ms)
		return vk_error_set(err, EINVAL, "fault add: a fault needs an errno or a delay");
	if (out->delay_ms > VK_FAKESYS_DELAY_MAX_MS)
		return vk_error_set(err, EINVAL, "fault add: delay=%u: at most %u ms", out->delay_ms, VK_FAKESYS_DELAY_MAX_MS);
	if (!(out->path = strdup(w[0][0] == '/' ? w[0] + 1 : w[0])))
		return vk_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* ---- the table ---- */

void fault_table_init(struct fault_table *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
}

void fault_table_destroy(struct fault_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].f.path);
		free(t->v[i].f.step);
		free(t->v[i].inos);
	}
	free(t->v);
	pthread_mutex_destroy(&t->mu);
}

static void recompute_ops(struct fault_table *t)
{
	unsigned ops = 0;
	for (size_t i = 0; i < t->n; i++)
		ops |= t->v[i].f.ops;
	atomic_store(&t->ops, ops);
}

int fault_table_add(struct fault_table *t, const struct vk_fakesys_fault *f)
{
	char *path = strdup(f->path);
	char *step = f->step ? strdup(f->step) : NULL;
	int r = 0;

	if (!path || (f->step && !step)) {
		free(path);
		free(step);
		return -ENOMEM;
	}
	pthread_mutex_lock(&t->mu);
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct fault_ent *v = realloc(t->v, cap * sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n] = (struct fault_ent){.f = *f};
	if (step)
		atomic_store_explicit(&t->steps, true, memory_order_relaxed);
	t->v[t->n].f.step = TAKE_PTR(step);
	t->v[t->n++].f.path = TAKE_PTR(path);
	recompute_ops(t);
out:
	pthread_mutex_unlock(&t->mu);
	free(path);
	free(step);
	return r;
}

size_t fault_table_clear(struct fault_table *t, const char *path)
{
	size_t removed = 0, w = 0;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n; i++) {
		if (!t->v[i].f.step && (!path || !strcmp(t->v[i].f.path, path))) {
			free(t->v[i].f.path);
			free(t->v[i].inos);
			removed++;
		} else {
			t->v[w++] = t->v[i];
		}
	}
	t->n = w;
	recompute_ops(t);
	pthread_mutex_unlock(&t->mu);
	return removed;
}

void fault_table_expand(struct fault_table *t, fault_expand_fn fn, void *ctx)
{
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n; i++) {
		uint64_t *inos = NULL;
		size_t n = 0;
		if (fn(ctx, t->v[i].f.path, &inos, &n) < 0)
			continue; /* keep the old set */
		free(t->v[i].inos);
		t->v[i].inos = inos;
		t->v[i].n_inos = n;
	}
	pthread_mutex_unlock(&t->mu);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool match(const struct fault_ent *x, unsigned op, const char *path, uint64_t ino)
{
	if (!(x->f.ops & op))
		return false;
	if (ino && x->n_inos && bsearch(&ino, x->inos, x->n_inos, sizeof(ino), cmp_u64))
		return true;
	return fnmatch(x->f.path, path, FNM_PATHNAME) == 0;
}

int fault_table_check(struct fault_table *t, unsigned op, const char *path, uint64_t ino, uint32_t *delay_ms,
                      char **step)
{
	int e = 0;

	*delay_ms = 0;
	*step = NULL;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n; i++) {
		struct fault_ent *x = &t->v[i];
		if (!match(x, op, path, ino))
			continue;
		/* nth alone: that access only; times alone: the first ones; both:
		 * @times accesses from the nth; neither: every access */
		uint64_t k = ++x->seen, first = x->f.nth ? x->f.nth : 1;
		if (x->f.step) {
			/* a step fires once, at the nth access */
			if (k == first) {
				size_t old = *step ? strlen(*step) : 0, add = strlen(x->f.step);
				char *v = realloc(*step, old + add + 2);
				if (v) {
					if (!old)
						v[0] = '\0';
					strcat(strcat(v, x->f.step), "\n");
					*step = v;
				}
			}
			continue;
		}
		uint64_t times = x->f.times ? x->f.times : x->f.nth ? 1
		                                                    : 0;
		if (k < first || (times && k >= first + times))
			continue;
		if (x->f.delay_ms > *delay_ms)
			*delay_ms = x->f.delay_ms;
		if (!e)
			e = x->f.err;
	}
	pthread_mutex_unlock(&t->mu);
	return e;
}

bool fault_table_matches(struct fault_table *t, unsigned ops, const char *path, uint64_t ino)
{
	bool hit = false;

	if (!fault_table_has(t, ops))
		return false;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n && !hit; i++)
		hit = match(&t->v[i], ops, path, ino);
	pthread_mutex_unlock(&t->mu);
	return hit;
}

char *fault_table_list(struct fault_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n; i++) {
		const struct vk_fakesys_fault *x = &t->v[i].f;
		if (x->step)
			continue;
		fprintf(f, "%s %s %s nth=%u times=%u delay=%u seen=%llu\n", x->path, vk_fakesys_op_name(x->ops),
		        errno_name(x->err), x->nth, x->times, x->delay_ms, (unsigned long long)t->v[i].seen);
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct vk_fakesys_fault *x = &t->v[i].f;
		if (!x->step)
			continue;
		fprintf(f, "step %s %s nth=%u seen=%llu: ", x->path, vk_fakesys_op_name(x->ops), x->nth ? x->nth : 1,
		        (unsigned long long)t->v[i].seen);
		for (const char *c = x->step; *c; c++)
			fputs(*c == '\n' ? (c[1] ? "; " : "") : (char[2]){*c, 0}, f);
		fputc('\n', f);
	}
	pthread_mutex_unlock(&t->mu);
	fclose(f);
	return buf;
}

/* ---- the scenario's faults: list ---- */

struct fault_ctx {
	struct vk_fakesys_fault *f;
	bool has_errno, has_op;
};

static int fault_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct fault_ctx *c = obj;
	const char *s = NULL;
	uint64_t u;
	int r;

	if (!strcmp(key, "path")) {
		if ((r = yr_string(y, v, key, &s)) < 0)
			return r;
		if (!*s)
			return yr_fail(y, v, key, "an empty pattern matches nothing; give a path such as "
			                          "dev/vfio/devices/vfio0 (globs allowed)");
		free(c->f->path);
		c->f->path = strdup(s[0] == '/' ? s + 1 : s);
		return c->f->path ? 0 : yr_oom(y);
	}
	if (!strcmp(key, "op")) {
		if ((r = yr_string(y, v, key, &s)) < 0)
			return r;
		if (!(c->f->ops = vk_fakesys_op_parse(s)))
			return yr_fail(y, v, key, "unknown operation '%s' (expected one of: " OP_LIST ")", s);
		c->has_op = true;
		return 0;
	}
	if (!strcmp(key, "errno")) {
		if ((r = yr_string(y, v, key, &s)) < 0)
			return r;
		if (!(c->f->err = vk_fakesys_errno_parse(s)))
			return yr_fail(y, v, key,
			               "'%s' is not an errno name (EACCES, EBUSY, EIO, ENOENT, ENODEV, ENXIO, EPERM, "
			               "EAGAIN, EINVAL...) or number",
			               s);
		c->has_errno = true;
		return 0;
	}
	if (!strcmp(key, "delay_ms")) {
		r = yr_uint(y, v, key, 0, VK_FAKESYS_DELAY_MAX_MS, &u);
		c->f->delay_ms = (uint32_t)u;
		return r;
	}
	if (!strcmp(key, "nth")) {
		r = yr_uint(y, v, key, 1, UINT32_MAX, &u);
		c->f->nth = (uint32_t)u;
		return r;
	}
	if (!strcmp(key, "times")) {
		r = yr_uint(y, v, key, 1, UINT32_MAX, &u);
		c->f->times = (uint32_t)u;
		return r;
	}
	return 1;
}

/* Why an entry of faults: or steps: is incomplete, or NULL when it is whole. */
typedef const char *(*entry_check_fn)(const struct fault_ctx *c);

/*
 * A list of {path, op, ...} mappings into a fresh array (the previous one is
 * freed); @check names what a complete entry still lacks.  Shared by faults:
 * and steps:, which differ only in their keys and what they require.
 */
static int parse_entry_list(struct yreader *y, const struct ynode *v, const char *what, const char *keys, yr_key_fn fn,
                            entry_check_fn check, struct vk_fakesys_fault **list, size_t *count)
{
	char entry[64];

	if (v->kind != YN_SEQ)
		return yr_fail(y, v, what, "expected a list of mappings {%s}", keys);
	size_t n = v->n;
	if (!n)
		return 0;
	struct vk_fakesys_fault *arr = calloc(n, sizeof(*arr));
	if (!arr)
		return yr_oom(y);
	vk_fakesys_faults_free(*list, *count);
	*list = arr;
	*count = 0;
	snprintf(entry, sizeof(entry), "a %s entry", what);
	for (size_t i = 0; i < n; i++) {
		const struct ynode *node = yr_item(v, i);
		struct fault_ctx c = {.f = &arr[(*count)++]};
		c.f->line = node->line + 1;
		int r = yr_walk_map(y, node, entry, keys, fn, &c);
		if (r < 0)
			return r;
		const char *missing = check(&c);
		if (missing)
			return yr_fail(y, node, what, "%s", missing);
	}
	return 0;
}

static const char *fault_missing(const struct fault_ctx *c)
{
	if (!c->f->path)
		return "missing 'path' (a pattern on the root-relative path)";
	if (!c->has_op)
		return "missing 'op' (one of: " OP_LIST ")";
	if (!c->has_errno && !c->f->delay_ms)
		return "a fault needs an 'errno', a 'delay_ms', or both";
	return NULL;
}

int scenario_parse_faults(struct yreader *y, const struct ynode *v, struct vk_fakesys_fault **list, size_t *count)
{
	return parse_entry_list(y, v, "faults", "path, op, errno, delay_ms, nth, times", fault_key, fault_missing,
	                        list, count);
}

/* ---- the scenario's steps: list ---- */

static const char *const step_verbs[] = {"fault", "log", "bind", "unbind", "remove", "chmod", "set", "write"};

/* One control command of a step's do: checked for its verb. */
static int step_command(struct yreader *y, const struct ynode *v, char **acc)
{
	const char *s = NULL;
	int r = yr_string(y, v, "do", &s);

	if (r < 0)
		return r;
	size_t w = strcspn(s, " \t");
	bool known = false;
	for (size_t i = 0; i < sizeof(step_verbs) / sizeof(step_verbs[0]) && !known; i++)
		known = strlen(step_verbs[i]) == w && !strncmp(s, step_verbs[i], w);
	if (!known || strchr(s, '\n'))
		return yr_fail(y, v, "do",
		               "'%s' is not a control command (one line starting with fault, log, bind, unbind, "
		               "remove, chmod, set or write; docs/architecture.md, Control channel)",
		               s);
	size_t old = *acc ? strlen(*acc) : 0;
	char *n = realloc(*acc, old + strlen(s) + 2);
	if (!n)
		return yr_oom(y);
	if (old)
		n[old++] = '\n';
	strcpy(n + old, s);
	*acc = n;
	return 0;
}

static int step_key(struct yreader *y, const char *key, const struct ynode *v, void *obj)
{
	struct fault_ctx *c = obj;
	uint64_t u;
	int r;

	if (!strcmp(key, "path") || !strcmp(key, "op"))
		return fault_key(y, key, v, obj);
	if (!strcmp(key, "nth")) {
		r = yr_uint(y, v, key, 1, UINT32_MAX, &u);
		c->f->nth = (uint32_t)u;
		return r;
	}
	if (!strcmp(key, "do")) {
		if (v->kind == YN_SEQ) {
			if (!v->n)
				return yr_fail(y, v, key, "an empty list of commands does nothing");
			for (size_t i = 0; i < v->n; i++)
				if ((r = step_command(y, yr_item(v, i), &c->f->step)) < 0)
					return r;
			return 0;
		}
		return step_command(y, v, &c->f->step);
	}
	return 1;
}

static const char *step_missing(const struct fault_ctx *c)
{
	if (!c->f->path)
		return "missing 'path' (the access that triggers the step)";
	if (!c->has_op)
		return "missing 'op' (one of: " OP_LIST ")";
	if (!c->f->step)
		return "missing 'do' (a control command, or a list of them)";
	return NULL;
}

int scenario_parse_steps(struct yreader *y, const struct ynode *v, struct vk_fakesys_fault **list, size_t *count)
{
	return parse_entry_list(y, v, "steps", "path, op, nth, do", step_key, step_missing, list, count);
}
