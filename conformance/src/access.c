/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test`: the expect: access: rules, checked against the slice of the
 * mount's access log written while the resolver opened the set.
 *
 * The server writes a record before it answers the request (fuse_server.c
 * rq_log()), so once vk_vfio_set_open() has returned, every lookup, open and read
 * it made is in the file.  A release (close) is asynchronous in FUSE and is
 * not logged.
 */
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"

#include "access.h"

/* One record of the log, as far as the rules look at it. */
struct rec {
	char *op, *path, *flags, *err;
};

struct recs {
	struct rec *v;
	size_t n;
};

static void recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].op);
		free(r->v[i].path);
		free(r->v[i].flags);
		free(r->v[i].err);
	}
	free(r->v);
}

static char *json_str_dup(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return strdup(s ? s : "");
}

/* The records between @from and @to; returns 0 or -errno with @what set. */
static int recs_read(const char *log, off_t from, off_t to, struct recs *out, char *what, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(log, "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;

	if (!f) {
		snprintf(what, len, "%s: %s", log, strerror(errno));
		return -errno;
	}
	if (fseeko(f, from, SEEK_SET) < 0) {
		snprintf(what, len, "%s: seek: %s", log, strerror(errno));
		return -errno;
	}
	for (off_t pos = from; pos < to;) {
		ssize_t n = getline(&line, &cap, f);
		if (n <= 0) {
			/* fewer records than the size said: a rule on them would judge a part */
			snprintf(what, len, "%s: ends at offset %lld, before %lld (the set phase's end)", log,
			         (long long)pos, (long long)to);
			return ferror(f) ? -EIO : -ENODATA;
		}
		pos += n;
		lineno++;
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		if (!json_is_object(o)) {
			json_decref(o);
			snprintf(what, len, "%s: record %u after offset %lld is not a JSON object: %s", log, lineno,
			         (long long)from, je.text);
			return -EINVAL;
		}
		struct rec *v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v) {
			json_decref(o);
			return -ENOMEM;
		}
		out->v = v;
		struct rec *r = &v[out->n++];
		r->op = json_str_dup(o, "op");
		r->path = json_str_dup(o, "path");
		r->flags = json_str_dup(o, "flags");
		r->err = json_str_dup(o, "errno");
		json_decref(o);
		if (!r->op || !r->path || !r->flags || !r->err)
			return -ENOMEM;
	}
	return 0;
}

/* Is @flag one of the '|'-separated names of @flags? */
static bool has_flag(const char *flags, const char *flag)
{
	size_t k = strlen(flag);

	for (const char *p = flags; *p;) {
		const char *end = strchrnul(p, '|');
		if ((size_t)(end - p) == k && !strncmp(p, flag, k))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

static bool rule_matches(const struct vk_fakesys_expect_access *a, const struct rec *r)
{
	if (a->op && strcmp(a->op, r->op))
		return false;
	if (a->path && fnmatch(a->path, r->path, FNM_PATHNAME) != 0)
		return false;
	for (size_t i = 0; i < a->n_flags; i++)
		if (!has_flag(r->flags, a->flags[i]))
			return false;
	return true;
}

/* "access (line 7) {path: dev/iommu, op: open, flags: O_RDWR}" */
static void rule_describe(const struct vk_fakesys_expect_access *a, char *buf, size_t len)
{
	size_t pos = (size_t)snprintf(buf, len, "access (line %u) {path: %s, op: %s", a->line, a->path ? a->path : "any",
	                              a->op ? a->op : "any");
	for (size_t i = 0; i < a->n_flags && pos < len; i++)
		pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", i ? "|" : ", flags: ", a->flags[i]);
	if (pos < len)
		snprintf(buf + pos, len - pos, "}");
}

/* The matching records, one per line, at most 20. */
static void print_matches(FILE *f, const struct vk_fakesys_expect_access *a, const struct recs *rs, const char *path)
{
	size_t shown = 0, total = 0;

	for (size_t i = 0; i < rs->n; i++) {
		const struct rec *r = &rs->v[i];
		if (!rule_matches(a, r) || (path && strcmp(path, r->path)))
			continue;
		if (++total > 20)
			continue;
		shown++;
		fprintf(f, "\n    %s %s%s%s%s%s", r->op, r->path, *r->flags ? " " : "", r->flags, *r->err ? " " : "",
		        r->err);
	}
	if (total > shown)
		fprintf(f, "\n    ... and %zu more", total - shown);
}

static void check_count(const struct vk_fakesys_expect_access *a, const struct recs *rs, struct diff *d)
{
	size_t n = 0;
	char name[512];

	for (size_t i = 0; i < rs->n; i++)
		n += rule_matches(a, &rs->v[i]);
	if (n == a->count)
		return;
	_cleanup_free_ char *got = NULL;
	size_t glen = 0;
	FILE *g = open_memstream(&got, &glen);
	if (g) {
		fprintf(g, "%zu record(s)", n);
		print_matches(g, a, rs, NULL);
		fclose(g);
	}
	char want[64];
	snprintf(want, sizeof(want), "%llu record(s)", (unsigned long long)a->count);
	rule_describe(a, name, sizeof(name));
	if (got)
		runner_item(d, name, want, "%s", got);
	else
		runner_item(d, name, want, "%zu record(s)", n);
}

/* each: N: every distinct path matched exactly N times, and at least one. */
static void check_each(const struct vk_fakesys_expect_access *a, const struct recs *rs, struct diff *d)
{
	_cleanup_free_ const char **paths = calloc(rs->n + 1, sizeof(char *));
	_cleanup_free_ size_t *counts = calloc(rs->n + 1, sizeof(size_t));
	size_t np = 0;
	char name[512];

	rule_describe(a, name, sizeof(name));
	if (!paths || !counts) {
		runner_item(d, name, "each path matched", "out of memory");
		return;
	}
	for (size_t i = 0; i < rs->n; i++) {
		if (!rule_matches(a, &rs->v[i]))
			continue;
		size_t k = 0;
		while (k < np && strcmp(paths[k], rs->v[i].path))
			k++;
		if (k == np)
			paths[np++] = rs->v[i].path;
		counts[k]++;
	}
	if (!np) {
		runner_item(d, name, "each path matched", "no record matched %llu time(s)", (unsigned long long)a->count);
		return;
	}
	for (size_t k = 0; k < np; k++) {
		if (counts[k] == a->count)
			continue;
		_cleanup_free_ char *got = NULL;
		size_t glen = 0;
		FILE *g = open_memstream(&got, &glen);
		if (g) {
			fprintf(g, "%s: %zu", paths[k], counts[k]);
			print_matches(g, a, rs, paths[k]);
			fclose(g);
		}
		char want[64];
		snprintf(want, sizeof(want), "each path %llu time(s)", (unsigned long long)a->count);
		if (got)
			runner_item(d, name, want, "%s", got);
		else
			runner_item(d, name, want, "%s: %zu", paths[k], counts[k]);
	}
}

void runner_check_access(const struct vk_fakesys_expect *x, const char *log, off_t from, off_t to, struct diff *d)
{
	struct recs rs = {0};
	char what[1024] = "";

	if (!x->n_access)
		return;
	int r = recs_read(log, from, to, &rs, what, sizeof(what));
	if (r < 0) {
		runner_item(d, "access", "the access log of the set phase", "%s", what[0] ? what : strerror(-r));
		recs_free(&rs);
		return;
	}
	for (size_t i = 0; i < x->n_access; i++) {
		if (x->access[i].each)
			check_each(&x->access[i], &rs, d);
		else
			check_count(&x->access[i], &rs, d);
	}
	recs_free(&rs);
}
