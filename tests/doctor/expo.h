/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A reader of Prometheus text exposition for the doctor's tests: what
 * vfio-doctor --format=prometheus writes and what node_exporter serves.
 * Header-only: each test program that includes it gets its own copy. */
#ifndef VK_EXPO_H
#define VK_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct expo_sample {
	char name[128];
	char labels[1024]; /* decoded, sorted by name: "check=VD001,name=platform.iommu,status=fail" */
	char value[64];
};

struct expo {
	struct expo_sample *s;
	size_t n, cap;
	char (*help)[128], (*type)[128]; /* family names of the HELP and TYPE lines, in order */
	char (*kind)[32];                /* the TYPE of each */
	size_t n_help, n_type;
};

static inline int expo__pair_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline bool expo__fail(char *why, size_t len, size_t line, const char *msg)
{
	snprintf(why, len, "line %zu: %s", line, msg);
	return false;
}

/* One sample line into @s; false with the reason. */
static inline bool expo__sample(const char *l, struct expo_sample *s, const char **err)
{
	static char pairs[64][1100];
	char *pp[64];
	size_t np = 0, k = 0;
	const char *p = l;

	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':' ||
	       (p > l && *p >= '0' && *p <= '9'))
		p++;
	if (p == l || (size_t)(p - l) >= sizeof(s->name))
		return *err = "no metric name", false;
	snprintf(s->name, sizeof(s->name), "%.*s", (int)(p - l), l);
	if (*p == '{') {
		p++;
		while (*p != '}') {
			const char *n = p;
			while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || (p > n && *p >= '0' && *p <= '9'))
				p++;
			if (p == n || *p != '=' || p[1] != '"' || np == 64)
				return *err = "a label is not name=\"value\"", false;
			k = (size_t)snprintf(pairs[np], sizeof(pairs[np]), "%.*s=", (int)(p - n), n);
			for (p += 2; *p != '"'; p++) {
				char c = *p;
				if (!c || c == '\n')
					return *err = "an unterminated label value", false;
				if (c == '\\') {
					c = *++p;
					if (c == 'n')
						c = '\n';
					else if (c != '\\' && c != '"')
						return *err = "an escape other than \\\\, \\\" or \\n", false;
				}
				if (k + 1 < sizeof(pairs[np]))
					pairs[np][k++] = c;
			}
			pairs[np][k] = '\0';
			pp[np] = pairs[np];
			np++;
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return *err = "labels not separated by ','", false;
		}
		p++;
	}
	if (*p != ' ')
		return *err = "no space before the value", false;
	p++;
	if (!*p || strchr(p, ' ') || strlen(p) >= sizeof(s->value))
		return *err = "not one value (a timestamp is not allowed in a textfile)", false;
	char *end;
	if (strcmp(p, "+Inf") && strcmp(p, "-Inf") && strcmp(p, "NaN") && (strtod(p, &end), *end))
		return *err = "the value is not a number", false;
	snprintf(s->value, sizeof(s->value), "%s", p);
	qsort(pp, np, sizeof(*pp), expo__pair_cmp);
	s->labels[0] = '\0';
	k = 0;
	for (size_t i = 0; i < np; i++)
		k += (size_t)snprintf(s->labels + k, k < sizeof(s->labels) ? sizeof(s->labels) - k : 0, "%s%s", i ? "," : "",
		                      pp[i]);
	return true;
}

static inline bool expo__has(char (*v)[128], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

static inline bool expo_parse(const char *text, bool need_meta, struct expo *e, char *why, size_t len)
{
	size_t line = 0;
	char last[128] = "";

	memset(e, 0, sizeof(*e));
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		char buf[4096];
		line++;
		if (!nl)
			return expo__fail(why, len, line, "the last line has no newline");
		if ((size_t)(nl - l) >= sizeof(buf))
			return expo__fail(why, len, line, "too long");
		snprintf(buf, sizeof(buf), "%.*s", (int)(nl - l), l);
		l = nl + 1;
		if (!strncmp(buf, "# HELP ", 7) || !strncmp(buf, "# TYPE ", 7)) {
			bool help = buf[2] == 'H';
			char name[128] = "", kind[32] = "";
			sscanf(buf + 7, "%127s %31s", name, kind);
			size_t *n = help ? &e->n_help : &e->n_type;
			char(**v)[128] = help ? &e->help : &e->type;
			if (expo__has(*v, *n, name))
				return expo__fail(why, len, line, "a second HELP or TYPE for one family");
			*v = realloc(*v, (*n + 1) * sizeof(**v));
			if (!help)
				e->kind = realloc(e->kind, (*n + 1) * sizeof(*e->kind));
			snprintf((*v)[*n], sizeof((*v)[*n]), "%s", name);
			if (!help)
				snprintf(e->kind[*n], sizeof(e->kind[*n]), "%s", kind);
			(*n)++;
			continue;
		}
		if (buf[0] == '#' || !buf[0])
			continue;
		if (e->n == e->cap) {
			e->cap = e->cap ? 2 * e->cap : 256;
			e->s = realloc(e->s, e->cap * sizeof(*e->s));
		}
		struct expo_sample *s = &e->s[e->n];
		const char *err = NULL;
		if (!expo__sample(buf, s, &err))
			return expo__fail(why, len, line, err);
		if (need_meta && (!expo__has(e->help, e->n_help, s->name) || !expo__has(e->type, e->n_type, s->name)))
			return expo__fail(why, len, line, "a sample before its family's HELP and TYPE");
		if (strcmp(last, s->name)) {
			for (size_t i = 0; i < e->n; i++)
				if (!strcmp(e->s[i].name, s->name))
					return expo__fail(why, len, line, "a family's samples are not together");
			snprintf(last, sizeof(last), "%s", s->name);
		}
		for (size_t i = 0; i < e->n; i++)
			if (!strcmp(e->s[i].name, s->name) && !strcmp(e->s[i].labels, s->labels))
				return expo__fail(why, len, line, "the same series twice");
		e->n++;
	}
	return true;
}

static inline void expo_free(struct expo *e)
{
	free(e->s);
	free(e->help);
	free(e->type);
	free(e->kind);
	memset(e, 0, sizeof(*e));
}

static inline const char *expo_get(const struct expo *e, const char *name, const char *labels)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->s[i].name, name) && !strcmp(e->s[i].labels, labels))
			return e->s[i].value;
	return NULL;
}

static inline size_t expo_count(const struct expo *e, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < e->n; i++)
		n += !strcmp(e->s[i].name, name);
	return n;
}

static inline const char *expo_type(const struct expo *e, const char *name)
{
	for (size_t i = 0; i < e->n_type; i++)
		if (!strcmp(e->type[i], name))
			return e->kind[i];
	return NULL;
}

#endif
