/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A bounded YAML loader and the typed readers of the scenario parsers.
 *
 * Why not libyaml's document API (yaml_parser_load()): it loads everything
 * before anything can refuse it, and some of its costs grow faster than the
 * input — every anchor is compared with every earlier one, every alias looked
 * up in a list.  The scanner under it has one more: each token re-checks every
 * open simple key, one per flow level, so 100,000 '[' cost 10^10 steps before
 * the first event.  Here the events are read one by one and every limit of
 * yaml_read.h is checked at the event that would cross it, so the work done is
 * bounded by the limits, not by what the file asks for.
 *
 * The tree is read-only and lives in one arena.  An alias is the node its
 * anchor names (shared, not copied), so the readers see what the document API
 * gave; for the limits an alias counts as a copy, which is what walking it
 * costs (a "billion laughs" file is refused at the alias that crosses a limit).
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "vk_cleanup.h"

#include "model/yaml_read.h"

/* ---------- arena ---------- */

struct ychunk {
	struct ychunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct yarena {
	struct ychunk *head;
};

#define CHUNK_BYTES (1u << 20)

static void *arena_alloc(struct yarena *a, size_t size)
{
	struct ychunk *c = a->head;

	size = (size + 7) & ~(size_t)7;
	if (!c || c->cap - c->used < size) {
		size_t cap = size > CHUNK_BYTES / 2 ? size : CHUNK_BYTES;
		struct ychunk *n = malloc(sizeof(*n) + cap);
		if (!n)
			return NULL;
		n->used = 0;
		n->cap = cap;
		if (c && size > CHUNK_BYTES / 2) {
			/* a big block gets a chunk of its own behind the current one */
			n->next = c->next;
			c->next = n;
		} else {
			n->next = c;
			a->head = n;
		}
		c = n;
	}
	void *p = (char *)c->data + c->used;
	c->used += size;
	return p;
}

void yr_free(struct yreader *y)
{
	if (!y->arena)
		return;
	for (struct ychunk *c = y->arena->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(y->arena);
	y->arena = NULL;
	y->root = NULL;
}

/* ---------- messages ---------- */

int yr_fail(struct yreader *y, const struct ynode *n, const char *key, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n)
		return vk_error_set(y->err, EINVAL, "%s:%u:%u: %s%s%s", y->file, n->line + 1, n->col + 1, key ? key : "",
		                    key ? ": " : "", what);
	return vk_error_set(y->err, EINVAL, "%s: %s%s%s", y->file, key ? key : "", key ? ": " : "", what);
}

int yr_oom(struct yreader *y)
{
	return vk_error_set(y->err, ENOMEM, "out of memory");
}

/* The readers a section parser outside the library uses (vk_scenario_section.h),
 * under names the version script exports: the same functions. */
extern __typeof__(yr_fail) vk__yaml_fail __attribute__((alias("yr_fail")));
extern __typeof__(yr_oom) vk__yaml_oom __attribute__((alias("yr_oom")));

/* ---------- loading ---------- */

/* An anchor: the node it names and what one copy of it costs. */
struct anchor {
	const char *name; /* in the arena; NULL: a free slot */
	const struct ynode *node;
	uint64_t nodes, bytes;
	size_t line;
};

/* An open list or mapping. */
struct frame {
	struct ynode *node;
	const struct ynode **kids; /* grown as entries come; copied into the arena at the end */
	size_t n, cap;
	uint64_t nodes, bytes; /* the collection's own cost, aliases expanded */
	char *anchor;
};

struct loading {
	struct yreader *y;
	yaml_parser_t p;
	struct frame stack[YR_MAX_DEPTH];
	size_t depth;
	struct anchor *anchors; /* open addressing, power-of-two size */
	size_t n_anchors, cap_anchors;
	uint64_t nodes, bytes; /* of the whole stream, aliases expanded */
	const struct ynode *root;
	bool have_root;
};

static int fail_at(struct loading *ld, const yaml_mark_t *mark, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_at(struct loading *ld, const yaml_mark_t *mark, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return vk_error_set(ld->y->err, EINVAL, "%s:%zu:%zu: %s", ld->y->file, mark->line + 1, mark->column + 1, what);
}

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct anchor *anchor_slot(struct anchor *v, size_t cap, const char *name)
{
	for (size_t i = hash_name(name) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!v[i].name || !strcmp(v[i].name, name))
			return &v[i];
}

static int anchor_grow(struct loading *ld)
{
	size_t cap = ld->cap_anchors ? ld->cap_anchors * 2 : 64;
	struct anchor *v = calloc(cap, sizeof(*v));

	if (!v)
		return yr_oom(ld->y);
	for (size_t i = 0; i < ld->cap_anchors; i++)
		if (ld->anchors[i].name)
			*anchor_slot(v, cap, ld->anchors[i].name) = ld->anchors[i];
	free(ld->anchors);
	ld->anchors = v;
	ld->cap_anchors = cap;
	return 0;
}

static int anchor_add(struct loading *ld, const char *name, const struct ynode *node, uint64_t nodes, uint64_t bytes,
                      const yaml_mark_t *mark)
{
	if (2 * (ld->n_anchors + 1) > ld->cap_anchors) {
		int r = anchor_grow(ld);
		if (r < 0)
			return r;
	}
	struct anchor *a = anchor_slot(ld->anchors, ld->cap_anchors, name);
	if (a->name)
		return fail_at(ld, mark, "YAML syntax error: found duplicate anchor &%s (first at line %zu)", name, a->line);
	size_t len = strlen(name);
	char *copy = arena_alloc(ld->y->arena, len + 1);
	if (!copy)
		return yr_oom(ld->y);
	memcpy(copy, name, len + 1);
	*a = (struct anchor){.name = copy, .node = node, .nodes = nodes, .bytes = bytes, .line = mark->line + 1};
	ld->n_anchors++;
	return 0;
}

/* Count @nodes more nodes and @bytes more scalar bytes for the whole stream. */
static int charge(struct loading *ld, uint64_t nodes, uint64_t bytes, const yaml_mark_t *mark, const char *alias)
{
	ld->nodes += nodes;
	ld->bytes += bytes;
	if (ld->nodes > YR_MAX_NODES) {
		if (alias)
			return fail_at(ld, mark,
			               "alias *%s repeats %llu nodes, which takes the scenario past %u nodes (an alias "
			               "counts as a copy of what it names; see Limits in docs/scenario-format.md)",
			               alias, (unsigned long long)nodes, YR_MAX_NODES);
		return fail_at(ld, mark, "more than %u nodes (values, keys and list entries; see Limits in "
		                         "docs/scenario-format.md)",
		               YR_MAX_NODES);
	}
	if (ld->bytes > YR_MAX_BYTES)
		return fail_at(ld, mark,
		               "alias *%s repeats %llu bytes of text, which takes the scenario past %u MiB (an alias "
		               "counts as a copy of what it names; see Limits in docs/scenario-format.md)",
		               alias ? alias : "?", (unsigned long long)bytes, YR_MAX_BYTES >> 20);
	return 0;
}

/* Hand a finished node (or an alias's node) to the open collection, or make it the root. */
static int attach(struct loading *ld, const struct ynode *node, uint64_t nodes, uint64_t bytes,
                  const yaml_mark_t *mark)
{
	if (!ld->depth) {
		if (!ld->have_root) {
			ld->root = node;
			ld->have_root = true;
		}
		return 0;
	}
	struct frame *f = &ld->stack[ld->depth - 1];
	size_t entries = f->node->kind == YN_MAP ? f->n / 2 : f->n;
	if (entries >= YR_MAX_ENTRIES)
		return fail_at(ld, mark, "more than %u entries in the %s that starts at line %u (see Limits in "
		                         "docs/scenario-format.md)",
		               YR_MAX_ENTRIES, f->node->kind == YN_MAP ? "mapping" : "list", f->node->line + 1);
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		const struct ynode **v = realloc(f->kids, cap * sizeof(*v));
		if (!v)
			return yr_oom(ld->y);
		f->kids = v;
		f->cap = cap;
	}
	f->kids[f->n++] = node;
	f->nodes += nodes;
	f->bytes += bytes;
	return 0;
}

static struct ynode *new_node(struct loading *ld, enum ynode_kind kind, const yaml_mark_t *mark)
{
	struct ynode *n = arena_alloc(ld->y->arena, sizeof(*n));

	if (n)
		*n = (struct ynode){.kind = (uint8_t)kind, .line = (uint32_t)mark->line, .col = (uint32_t)mark->column};
	return n;
}

static int on_scalar(struct loading *ld, const yaml_event_t *ev)
{
	size_t len = ev->data.scalar.length;
	struct ynode *n = new_node(ld, YN_SCALAR, &ev->start_mark);
	char *s = n ? arena_alloc(ld->y->arena, len + 1) : NULL;
	int r;

	if (!s)
		return yr_oom(ld->y);
	memcpy(s, ev->data.scalar.value, len);
	s[len] = '\0';
	n->str = s;
	n->n = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if ((r = charge(ld, 1, len, &ev->start_mark, NULL)) < 0)
		return r;
	if (ev->data.scalar.anchor &&
	    (r = anchor_add(ld, (const char *)ev->data.scalar.anchor, n, 1, len, &ev->start_mark)) < 0)
		return r;
	return attach(ld, n, 1, len, &ev->start_mark);
}

static int on_alias(struct loading *ld, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *a = ld->cap_anchors ? anchor_slot(ld->anchors, ld->cap_anchors, name) : NULL;
	int r;

	/* An anchor is registered when its node is complete, so an alias inside
	 * its own anchor is undefined here: the tree has no cycles. */
	if (!a || !a->name)
		return fail_at(ld, &ev->start_mark, "YAML syntax error: found undefined alias *%s", name);
	if ((r = charge(ld, a->nodes, a->bytes, &ev->start_mark, name)) < 0)
		return r;
	return attach(ld, a->node, a->nodes, a->bytes, &ev->start_mark);
}

static int on_start(struct loading *ld, const yaml_event_t *ev, enum ynode_kind kind)
{
	const yaml_char_t *anchor = kind == YN_SEQ ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
	int r;

	if (ld->depth == YR_MAX_DEPTH)
		return fail_at(ld, &ev->start_mark,
		               "lists and mappings nested deeper than %u levels (a scenario needs 5; see Limits in "
		               "docs/scenario-format.md)",
		               YR_MAX_DEPTH);
	if ((r = charge(ld, 1, 0, &ev->start_mark, NULL)) < 0)
		return r;
	struct frame *f = &ld->stack[ld->depth];
	f->node = new_node(ld, kind, &ev->start_mark);
	if (!f->node)
		return yr_oom(ld->y);
	f->n = 0;
	f->nodes = 1;
	f->bytes = 0;
	f->anchor = anchor ? strdup((const char *)anchor) : NULL;
	if (anchor && !f->anchor)
		return yr_oom(ld->y);
	ld->depth++;
	return 0;
}

static int on_end(struct loading *ld, const yaml_event_t *ev)
{
	struct frame *f = &ld->stack[--ld->depth];
	_cleanup_free_ char *anchor = TAKE_PTR(f->anchor);
	struct ynode *n = f->node;
	int r;

	n->n = n->kind == YN_MAP ? f->n / 2 : f->n;
	if (f->n) {
		const struct ynode **kids = arena_alloc(ld->y->arena, f->n * sizeof(*kids));
		if (!kids)
			return yr_oom(ld->y);
		memcpy(kids, f->kids, f->n * sizeof(*kids));
		n->kids = kids;
	}
	if (anchor) {
		yaml_mark_t mark = {.line = n->line, .column = n->col};
		if ((r = anchor_add(ld, anchor, n, f->nodes, f->bytes, &mark)) < 0)
			return r;
	}
	return attach(ld, n, f->nodes, f->bytes, &ev->end_mark);
}

/*
 * libyaml compares each %TAG directive with every one before it while it reads
 * the directives, all before the document's first event: count them in the
 * text first.  A '%' can start a line only as a directive (it cannot begin a
 * plain scalar; inside a quoted one spread over lines it may, and then
 * counts too, which no scenario comes near).
 */
static int check_directives(struct yreader *y, const char *buf, size_t len)
{
	size_t count = 0, line = 1;

	for (const char *p = buf, *end = buf + len; p < end;) {
		if (*p == '%' && ++count > YR_MAX_DIRECTIVES)
			return vk_error_set(y->err, EINVAL,
			                    "%s:%zu:1: more than %u YAML directives (lines starting with '%%'); a scenario "
			                    "needs none (see Limits in docs/scenario-format.md)",
			                    y->file, line, YR_MAX_DIRECTIVES);
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		p = nl + 1;
		line++;
	}
	return 0;
}

static int syntax_error(struct loading *ld)
{
	yaml_parser_t *p = &ld->p;

	if (p->error == YAML_MEMORY_ERROR)
		return yr_oom(ld->y);
	return vk_error_set(ld->y->err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s%s%s", ld->y->file,
	                    p->problem_mark.line + 1, p->problem_mark.column + 1, p->problem ? p->problem : "malformed",
	                    p->context ? " " : "", p->context ? p->context : "");
}

/*
 * The events of the whole stream.  The first document is the scenario; a
 * later one is allowed only when empty (a trailing '---', or one holding a
 * plain null), since a second document with content is almost always a
 * mistake.
 */
static int read_events(struct loading *ld)
{
	size_t docs = 0, doc_line = 0;
	int r = 0;

	for (;;) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&ld->p, &ev))
			return syntax_error(ld);
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			return 0;
		case YAML_DOCUMENT_START_EVENT:
			docs++;
			doc_line = ev.start_mark.line + 1;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (docs > 1 && (ev.type != YAML_SCALAR_EVENT || ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
			                 (ev.data.scalar.length && strcmp((const char *)ev.data.scalar.value, "~") &&
			                  strcasecmp((const char *)ev.data.scalar.value, "null")))) {
				r = vk_error_set(ld->y->err, EINVAL,
				                 "%s:%zu: a scenario is one YAML document; remove the second '---'", ld->y->file,
				                 doc_line);
				break;
			}
			if (docs > 1)
				break;
			r = ev.type == YAML_SCALAR_EVENT           ? on_scalar(ld, &ev)
			    : ev.type == YAML_ALIAS_EVENT          ? on_alias(ld, &ev)
			    : ev.type == YAML_SEQUENCE_START_EVENT ? on_start(ld, &ev, YN_SEQ)
			                                           : on_start(ld, &ev, YN_MAP);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			r = on_end(ld, &ev);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
	}
}

int yr_load(struct yreader *y, const char *buf, size_t len)
{
	struct loading ld = {.y = y};
	int r;

	y->root = NULL;
	if (len > YR_MAX_BYTES)
		return vk_error_set(y->err, EFBIG, "%s: %zu bytes is larger than a scenario may be (%u MiB)", y->file, len,
		                    YR_MAX_BYTES >> 20);
	if ((r = check_directives(y, buf, len)) < 0)
		return r;
	if (!(y->arena = calloc(1, sizeof(*y->arena))))
		return yr_oom(y);
	if (!yaml_parser_initialize(&ld.p))
		return yr_oom(y);
	yaml_parser_set_input_string(&ld.p, (const unsigned char *)buf, len);
	r = read_events(&ld);
	yaml_parser_delete(&ld.p);
	for (size_t i = 0; i < YR_MAX_DEPTH; i++) {
		free(ld.stack[i].kids);
		free(ld.stack[i].anchor);
	}
	free(ld.anchors);
	if (r == 0)
		y->root = ld.root;
	return r;
}

/* ---------- scalar access ---------- */

const char *yr_scalar(const struct ynode *n)
{
	return n && n->kind == YN_SCALAR ? n->str : NULL;
}

bool yr_is_null(const struct ynode *n)
{
	const char *s = yr_scalar(n);

	if (!s || !n->plain)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

int yr_want_kind(struct yreader *y, const struct ynode *n, const char *key, enum ynode_kind kind)
{
	static const char *const names[] = {"nothing", "a scalar", "a list", "a mapping"};

	if (n->kind != kind)
		return yr_fail(y, n, key, "expected %s, found %s", names[kind], names[n->kind]);
	return 0;
}

int yr_string(struct yreader *y, const struct ynode *n, const char *key, const char **out)
{
	const char *s = yr_scalar(n);

	if (!s)
		return yr_fail(y, n, key, "expected a string, found a %s", n->kind == YN_MAP ? "mapping" : "list");
	if (strlen(s) != n->n)
		return yr_fail(y, n, key, "the value contains a NUL byte");
	*out = s;
	return 0;
}

int yr_dup_string(struct yreader *y, const struct ynode *n, const char *key, char **out)
{
	const char *s = NULL;
	int r = yr_string(y, n, key, &s);

	if (r < 0)
		return r;
	free(*out);
	*out = strdup(s);
	return *out ? 0 : yr_oom(y);
}

/* An unsigned number in decimal or 0x hex (0o/leading 0 octal is not guessed:
 * "010" is ten), within [min,max]. */
int yr_uint(struct yreader *y, const struct ynode *n, const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = NULL;
	char *end;
	int base = 10;
	int r = yr_string(y, n, key, &s);

	if (r < 0)
		return r;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	if (!isxdigit((unsigned char)s[0]))
		return yr_fail(y, n, key, "'%s' is not a number (expected decimal or 0x-prefixed hex)", n->str);
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end)
		return yr_fail(y, n, key, "'%s' is not a number (expected decimal or 0x-prefixed hex)", n->str);
	if (v < min || v > max)
		return yr_fail(y, n, key, "%s is out of range (0x%llx..0x%llx)", n->str, (unsigned long long)min,
		               (unsigned long long)max);
	*out = v;
	return 0;
}

int yr_int(struct yreader *y, const struct ynode *n, const char *key, int64_t min, int64_t max, int64_t *out)
{
	const char *s = NULL;
	char *end;
	int r = yr_string(y, n, key, &s);

	if (r < 0)
		return r;
	bool neg = s[0] == '-';
	const char *digits = neg ? s + 1 : s;
	int base = 10;
	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
		base = 16, digits += 2;
	if (!isxdigit((unsigned char)digits[0]))
		return yr_fail(y, n, key, "'%s' is not a number (expected decimal or 0x-prefixed hex)", s);
	errno = 0;
	unsigned long long v = strtoull(digits, &end, base);
	if (errno || *end)
		return yr_fail(y, n, key, "'%s' is not a number (expected decimal or 0x-prefixed hex)", s);
	if (v > (unsigned long long)INT64_MAX || (neg ? -(int64_t)v < min : (int64_t)v > max) ||
	    (!neg && (int64_t)v < min))
		return yr_fail(y, n, key, "%s is out of range (%lld..%lld)", s, (long long)min, (long long)max);
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/*
 * PCI ids are hex wherever they are shown (sysfs vendor/device/class files,
 * lspci -n, the kernel's new_id), so a bare 1022 is almost certainly AMD's
 * 0x1022, not 0x3fe.  Rather than guess either way, an id is written with 0x;
 * a lone digit 0-9 reads the same in both bases and needs none.
 */
int yr_pci_id(struct yreader *y, const struct ynode *n, const char *key, uint32_t max, uint32_t *out)
{
	const char *s = NULL;
	int r = yr_string(y, n, key, &s);

	if (r < 0)
		return r;
	if (!(s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
		size_t len = strlen(s);
		if (len == 1 && isdigit((unsigned char)s[0]))
			return *out = (uint32_t)(s[0] - '0'), 0;
		if (len && strspn(s, "0123456789") == len) {
			errno = 0;
			unsigned long long dec = strtoull(s, NULL, 10);
			if (!errno)
				return yr_fail(y, n, key,
				               "'%s' is ambiguous: PCI ids are hex (as sysfs and lspci -n show them); write 0x%s, "
				               "or 0x%llx if decimal %s is meant",
				               s, s, dec, s);
		}
		if (len && strspn(s, "0123456789abcdefABCDEF") == len)
			return yr_fail(y, n, key, "'%s' needs the 0x of a hex PCI id: write 0x%s", s, s);
		return yr_fail(y, n, key, "'%s' is not a number (a PCI id is hex with 0x, e.g. 0x10de)", s);
	}
	uint64_t v;
	if ((r = yr_uint(y, n, key, 0, max, &v)) < 0)
		return r;
	*out = (uint32_t)v;
	return 0;
}

int yr_bool(struct yreader *y, const struct ynode *n, const char *key, bool *out)
{
	/* YAML 1.1 booleans, any case (the kernel's own Y/N included) */
	static const char *const yes[] = {"true", "yes", "on", "y", NULL};
	static const char *const no[] = {"false", "no", "off", "n", NULL};
	const char *s = NULL;
	int r = yr_string(y, n, key, &s);

	if (r < 0)
		return r;
	for (int i = 0; yes[i]; i++)
		if (!strcasecmp(s, yes[i]))
			return *out = true, 0;
	for (int i = 0; no[i]; i++)
		if (!strcasecmp(s, no[i]))
			return *out = false, 0;
	return yr_fail(y, n, key, "'%s' is not a boolean (expected true or false)", s);
}

/* Modes are octal whatever their spelling: 0660, "0660", 660, 0o660. */
int yr_mode(struct yreader *y, const struct ynode *n, const char *key, uint32_t *out)
{
	const char *s = NULL;
	int r = yr_string(y, n, key, &s);

	if (r < 0)
		return r;
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		s += 2;
	if (!*s || strspn(s, "01234567") != strlen(s))
		return yr_fail(y, n, key, "'%s' is not an octal mode (expected e.g. \"0660\")", n->str);
	unsigned long v = strtoul(s, NULL, 8);
	if (v > 07777)
		return yr_fail(y, n, key, "mode %s is out of range (0..07777)", n->str);
	*out = (uint32_t)v;
	return 0;
}

int yr_addr(struct yreader *y, const struct ynode *n, const char *key, struct vk_pci_addr *out)
{
	const char *s = NULL;
	struct vk_error e = {0};
	int r = yr_string(y, n, key, &s);

	if (r < 0)
		return r;
	if (vk_pci_addr_parse(s, out, &e) < 0)
		return yr_fail(y, n, key, "%s", e.msg);
	return 0;
}

/* A name that becomes a path component: no '/', not "." or "..", printable. */
int yr_name(struct yreader *y, const struct ynode *n, const char *key, char **out)
{
	const char *s = NULL;
	int r = yr_string(y, n, key, &s);

	if (r < 0)
		return r;
	if (!*s || strlen(s) > 255 || strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, ".."))
		return yr_fail(y, n, key, "'%s' cannot be a file name (empty, '.', '..', over 255 bytes, or contains '/')", s);
	/* UTF-8 is fine in a file name; spaces and control characters are not */
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return yr_fail(y, n, key, "'%s' contains a space or control character", s);
	return yr_dup_string(y, n, key, out);
}

int yr_owner(struct yreader *y, const struct ynode *n, const char *key, bool group, uint32_t *out)
{
	const char *s = yr_scalar(n);
	uint64_t v;

	if (s && *s && strspn(s, "0123456789") == strlen(s)) {
		int r = yr_uint(y, n, key, 0, UINT32_MAX, &v);
		if (r < 0)
			return r;
		*out = (uint32_t)v;
		return 0;
	}
	if (!s)
		return yr_string(y, n, key, &s);
	if (!strcmp(s, "root"))
		return *out = 0, 0;
	if (group) {
		struct group *g = getgrnam(s);
		if (g)
			return *out = g->gr_gid, 0;
	} else {
		struct passwd *p = getpwnam(s);
		if (p)
			return *out = p->pw_uid, 0;
	}
	return yr_fail(y, n, key, "no %s named '%s' on this machine; give a number so the scenario means the same everywhere",
	               group ? "group" : "user", s);
}

/* ---------- mappings ---------- */

int yr_walk_map(struct yreader *y, const struct ynode *map, const char *what, const char *known, yr_key_fn fn,
                void *obj)
{
	int r = yr_want_kind(y, map, what, YN_MAP);

	if (r < 0)
		return r;
	/* The repeat check below looks at the keys before this one: there are at
	 * most as many as @known names, since an unknown or repeated key ends the walk. */
	for (size_t i = 0; i < map->n; i++) {
		const struct ynode *k = yr_key(map, i);
		const char *key = yr_scalar(k);

		if (!key)
			return yr_fail(y, k, what, "keys must be plain words");
		for (size_t j = 0; j < i; j++) {
			const char *prev = yr_scalar(yr_key(map, j));
			if (prev && !strcmp(prev, key))
				return yr_fail(y, k, key, "given twice in %s (the first is at line %u)", what,
				               yr_key(map, j)->line + 1);
		}
		r = fn(y, key, yr_val(map, i), obj);
		if (r < 0)
			return r;
		if (r > 0)
			return yr_fail(y, k, key, "unknown key in %s (expected one of: %s)", what, known);
	}
	return 0;
}

extern __typeof__(yr_string) vk__yaml_string __attribute__((alias("yr_string")));
extern __typeof__(yr_dup_string) vk__yaml_dup_string __attribute__((alias("yr_dup_string")));
extern __typeof__(yr_uint) vk__yaml_uint __attribute__((alias("yr_uint")));
extern __typeof__(yr_walk_map) vk__yaml_walk_map __attribute__((alias("yr_walk_map")));
