/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/qemu_cmdline.h>

#include "vk_fileio.h"

static void pos_set(struct vk_qc_pos *pos, long argi, size_t col, unsigned line)
{
	if (pos) {
		pos->argi = argi;
		pos->col = col;
		pos->line = line;
	}
}

void vk_qc_props_free(struct vk_qc_prop *props, size_t n)
{
	/* key and value share one allocation (prop_new()) */
	for (size_t i = 0; i < n; i++)
		free(props[i].key);
	free(props);
}

/* A growing array of properties: doubling, so that n properties cost O(n). */
struct propvec {
	struct vk_qc_prop *v;
	size_t n, cap;
};

/* Append a property whose key is @klen bytes at @key and whose value is the
 * text [@v, @vend) (with @unescape, ",," there is one ','), both in one
 * allocation.  Returns 0, -ENOMEM, or -E2BIG past VK_QC_MAX_PROPS. */
static int props_add(struct propvec *pv, const char *key, size_t klen, const char *v, const char *vend,
                     bool unescape, enum vk_qc_vkind kind, size_t col)
{
	size_t vlen = (size_t)(vend - v);
	char *k, *o;

	if (pv->n >= VK_QC_MAX_PROPS)
		return -E2BIG;
	if (pv->n == pv->cap) {
		size_t nc = pv->cap ? pv->cap * 2 : 8;
		struct vk_qc_prop *np = realloc(pv->v, nc * sizeof(*np));
		if (!np)
			return -ENOMEM;
		pv->v = np;
		pv->cap = nc;
	}
	k = malloc(klen + 1 + vlen + 1);
	if (!k)
		return -ENOMEM;
	memcpy(k, key, klen);
	k[klen] = '\0';
	o = k + klen + 1;
	for (const char *p = v; p < vend; p++) {
		*o++ = *p;
		if (unescape && *p == ',' && p + 1 < vend && p[1] == ',')
			p++; /* ",," -> ',' */
	}
	*o = '\0';
	pv->v[pv->n++] = (struct vk_qc_prop){.key = k, .value = k + klen + 1, .kind = kind, .col = col};
	return 0;
}

/* The end of a value starting at @p: the first ',' that is not part of ",,". */
static const char *value_end(const char *p)
{
	for (;;) {
		p += strcspn(p, ",");
		if (p[0] != ',' || p[1] != ',')
			return p;
		p += 2;
	}
}

int vk_qc_parse_props(const char *arg, enum vk_qc_syntax syntax, const char *implied_key,
                      struct vk_qc_prop **props, size_t *n, size_t *col, struct vk_error *err)
{
	static const char on[] = "on";
	struct propvec pv = {0};
	const char *p = arg;
	bool first = true;
	int r;

	*props = NULL;
	*n = 0;
	if (col)
		*col = 0;
	if (!*arg)
		return 0; /* QEMU accepts an empty list (and then complains of what is missing) */

	/* One pass over the argument: every property costs its own length, so a
	 * list of n properties is parsed in O(length) time and memory. */
	for (;;) {
		size_t c = (size_t)(p - arg) + 1;
		const char *eq = p + strcspn(p, "=,");

		if (*eq != '=') {
			/* An element without '=': the implied key's value, or a flag. */
			if (first && implied_key) {
				const char *end = value_end(p);
				r = props_add(&pv, implied_key, strlen(implied_key), p, end, true, VK_QC_V_STRING, c);
				if (r < 0)
					goto fail;
				pv.v[pv.n - 1].implied = true;
				p = end;
				goto next;
			}
			if (eq == p) {
				if (col)
					*col = c;
				r = vk_error_set(err, EINVAL, "empty parameter name at column %zu", c);
				goto fail;
			}
			if (syntax == VK_QC_SYN_KEYVAL) {
				if (col)
					*col = c;
				r = vk_error_set(err, EINVAL, "expected '=' after parameter '%.*s' at column %zu",
				                 (int)(eq - p), p, c);
				goto fail;
			}
			r = props_add(&pv, p, (size_t)(eq - p), on, on + 2, false, VK_QC_V_STRING, c);
			if (r < 0)
				goto fail;
			pv.v[pv.n - 1].flag = true;
			p = eq;
			goto next;
		}
		if (eq == p) {
			if (col)
				*col = c;
			r = vk_error_set(err, EINVAL, "empty parameter name at column %zu", c);
			goto fail;
		}
		{
			const char *v = eq + 1, *end = value_end(v);
			r = props_add(&pv, p, (size_t)(eq - p), v, end, true, VK_QC_V_STRING, c);
			if (r < 0)
				goto fail;
			p = end;
		}
next:
		first = false;
		if (*p == '\0')
			break;
		/* *p == ',' */
		p++;
		if (*p == '\0') {
			if (col)
				*col = (size_t)(p - arg);
			r = vk_error_set(err, EINVAL, "trailing ',' at column %zu (a ',' inside a value is written ',,')",
			                 (size_t)(p - arg));
			goto fail;
		}
	}
	*props = pv.v;
	*n = pv.n;
	return 0;
fail:
	if (r == -ENOMEM)
		vk_error_set(err, ENOMEM, "out of memory");
	else if (r == -E2BIG) {
		if (col)
			*col = (size_t)(p - arg) + 1;
		vk_error_set(err, E2BIG, "more than %u properties in one option (the input limit, docs/rules.md)",
		             VK_QC_MAX_PROPS);
	}
	vk_qc_props_free(pv.v, pv.n);
	return r;
}

int vk_qc_parse_json_props(const char *arg, struct vk_qc_prop **props, size_t *n, size_t *col,
                           struct vk_error *err)
{
	json_error_t je;
	json_t *root = json_loads(arg, JSON_REJECT_DUPLICATES, &je);
	struct propvec pv = {0};
	const char *key;
	json_t *v;
	int r = 0;

	*props = NULL;
	*n = 0;
	if (!root) {
		size_t c = je.position > 0 ? (size_t)je.position : 1;
		if (col)
			*col = c;
		return vk_error_set(err, EINVAL, "invalid JSON at column %zu: %s", c, je.text);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		if (col)
			*col = 1;
		return vk_error_set(err, EINVAL, "JSON argument must be an object");
	}
	if (json_object_size(root) > VK_QC_MAX_PROPS) {
		json_decref(root);
		if (col)
			*col = 1;
		return vk_error_set(err, E2BIG, "more than %u properties in one option (the input limit, docs/rules.md)",
		                    VK_QC_MAX_PROPS);
	}
	json_object_foreach(root, key, v)
	{
		_cleanup_free_ char *val = NULL;
		const char *text = NULL;
		enum vk_qc_vkind kind;

		switch (json_typeof(v)) {
		case JSON_STRING:
			kind = VK_QC_V_STRING;
			text = json_string_value(v);
			break;
		case JSON_INTEGER:
			kind = VK_QC_V_NUMBER;
			if (asprintf(&val, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
				val = NULL;
			break;
		case JSON_REAL:
			kind = VK_QC_V_NUMBER;
			if (asprintf(&val, "%.17g", json_real_value(v)) < 0)
				val = NULL;
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			kind = VK_QC_V_BOOL;
			text = json_is_true(v) ? "true" : "false";
			break;
		case JSON_NULL:
			kind = VK_QC_V_NULL;
			text = "null";
			break;
		default:
			kind = VK_QC_V_COMPOUND;
			val = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			break;
		}
		if (!text)
			text = val;
		if (!text) {
			r = -ENOMEM;
			break;
		}
		/* a JSON string may hold "\u0000": the value ends there, as a C string must */
		r = props_add(&pv, key, strlen(key), text,
		              text + (kind == VK_QC_V_STRING ? strnlen(text, json_string_length(v)) : strlen(text)), false,
		              kind, 0);
		if (r < 0)
			break;
	}
	json_decref(root);
	if (r < 0) {
		vk_qc_props_free(pv.v, pv.n);
		return vk_error_set(err, ENOMEM, "out of memory");
	}
	*props = pv.v;
	*n = pv.n;
	return 0;
}

const struct vk_qc_prop *vk_qc_option_prop(const struct vk_qc_option *o, const char *key)
{
	for (size_t i = o->nprops; i-- > 0;)
		if (strcmp(o->props[i].key, key) == 0)
			return &o->props[i];
	return NULL;
}

const char *vk_qc_option_get(const struct vk_qc_option *o, const char *key)
{
	const struct vk_qc_prop *p = vk_qc_option_prop(o, key);
	return p ? p->value : NULL;
}

const char *vk_qc_option_type(const struct vk_qc_option *o)
{
	if (!o->def || !o->def->implied_key)
		return NULL;
	return vk_qc_option_get(o, o->def->implied_key);
}

size_t vk_qc_device_types(const struct vk_qc_cmdline *c, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nopts && n < max; i++) {
		const struct vk_qc_option *o = &c->opts[i];
		const char *t = o->def && strcmp(o->def->name, "device") == 0 ? vk_qc_option_type(o) : NULL;
		bool seen = false;
		for (size_t k = 0; t && k < n && !seen; k++)
			seen = strcmp(names[k], t) == 0;
		if (t && !seen)
			names[n++] = t;
	}
	return n;
}

static void option_clear(struct vk_qc_option *o)
{
	free(o->name);
	free(o->arg);
	vk_qc_props_free(o->props, o->nprops);
}

void vk_qc_cmdline_free(struct vk_qc_cmdline *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nenv; i++)
		free(c->env[i]);
	free(c->env);
	for (size_t i = 0; i < c->argc; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c->lines);
	for (size_t i = 0; i < c->nopts; i++)
		option_clear(&c->opts[i]);
	free(c->opts);
	free(c);
}

static int parse_option_arg(struct vk_qc_option *o, struct vk_qc_pos *pos, struct vk_error *err)
{
	const struct vk_qc_optdef *d = o->def;
	size_t col = 0;
	struct vk_error e2 = {0};
	int r;

	if (!d || d->syntax == VK_QC_SYN_NONE || !o->arg)
		return 0;
	if (d->json_since && o->arg[0] == '{') {
		o->json = true;
		r = vk_qc_parse_json_props(o->arg, &o->props, &o->nprops, &col, &e2);
	} else {
		r = vk_qc_parse_props(o->arg, d->syntax, d->implied_key, &o->props, &o->nprops, &col, &e2);
	}
	if (r < 0) {
		long argi = o->argi + 1;
		pos_set(pos, argi, col, 0);
		return vk_error_set(err, r, "argument %ld (of -%s): %s", argi, o->name, e2.msg);
	}
	return 0;
}

/* The input limits, checked before anything is copied. */
static int check_input_limits(size_t argc, char *const argv[], const unsigned *lines, struct vk_qc_pos *pos,
                              struct vk_error *err)
{
	if (argc > VK_QC_MAX_ARGS)
		return vk_error_set(err, E2BIG, "%zu arguments: more than %u (the input limit, docs/rules.md)", argc,
		                    VK_QC_MAX_ARGS);
	for (size_t k = 0, bytes = 0; k < argc; k++) {
		bytes += strlen(argv[k]) + 1;
		if (bytes > VK_QC_MAX_TEXT) {
			pos_set(pos, (long)k, 0, lines ? lines[k] : 0);
			return vk_error_set(err, E2BIG, "argument %zu: the arguments run past %u bytes (the input limit, "
			                                "docs/rules.md)",
			                    k, VK_QC_MAX_TEXT);
		}
	}
	return 0;
}

/* @c's copies of the words and their lines, and room for as many options; -ENOMEM. */
static int copy_words(struct vk_qc_cmdline *c, size_t argc, char *const argv[], const unsigned *lines)
{
	c->argv = calloc(argc + 1, sizeof(char *));
	c->lines = calloc(argc + 1, sizeof(unsigned));
	c->opts = calloc(argc + 1, sizeof(struct vk_qc_option));
	if (!c->argv || !c->lines || !c->opts)
		return -ENOMEM;
	for (; c->argc < argc; c->argc++) {
		c->argv[c->argc] = strdup(argv[c->argc]);
		if (!c->argv[c->argc])
			return -ENOMEM;
		c->lines[c->argc] = lines ? lines[c->argc] : 0;
	}
	return 0;
}

/* The option at c->argv[*i] (and its argument, *i moved past it) as c->opts'
 * next entry; *@nprops counts the properties of all. */
static int parse_one(struct vk_qc_cmdline *c, size_t *i, size_t *nprops, struct vk_qc_pos *pos,
                     struct vk_error *err)
{
	struct vk_qc_option *o = &c->opts[c->nopts];
	const char *w = c->argv[*i];
	int r;

	o->argi = (long)*i;
	o->line = c->lines[*i];
	if (w[0] != '-') {
		/* QEMU: a word that is not an option is the -hda image. */
		o->is_image = true;
		o->name = strdup("");
		o->arg = strdup(w);
		if (!o->name || !o->arg)
			return vk_error_set(err, ENOMEM, "out of memory");
		c->nopts++;
		return 0;
	}
	const char *name = w + 1;
	if (*name == '-')
		name++; /* --opt is -opt */
	o->name = strdup(name);
	if (!o->name)
		return vk_error_set(err, ENOMEM, "out of memory");
	o->def = vk_qc_option_lookup(name);
	c->nopts++;
	if (!o->def || !o->def->has_arg)
		return 0; /* unknown: reported by the rules; assumed to take no argument */
	if (*i + 1 >= c->argc) {
		pos_set(pos, (long)*i, strlen(w) + 1, c->lines[*i]);
		return vk_error_set(err, EINVAL, "argument %zu: option '%s' requires an argument", *i, w);
	}
	o->arg = strdup(c->argv[++*i]);
	if (!o->arg)
		return vk_error_set(err, ENOMEM, "out of memory");
	r = parse_option_arg(o, pos, err);
	if (r == 0 && (*nprops += o->nprops) > VK_QC_MAX_PROPS) {
		pos_set(pos, (long)*i, 0, 0);
		r = vk_error_set(err, E2BIG, "argument %zu (of -%s): more than %u properties in the "
		                             "command line (the input limit, docs/rules.md)",
		                 *i, o->name, VK_QC_MAX_PROPS);
	}
	if (r < 0 && pos)
		pos->line = c->lines[*i];
	return r;
}

int vk_qc_parse_argv(size_t argc, char *const argv[], const unsigned *lines, unsigned flags,
                     struct vk_qc_cmdline **out, struct vk_qc_pos *pos, struct vk_error *err)
{
	struct vk_qc_cmdline *c = calloc(1, sizeof(*c));
	size_t i = 0, nprops = 0;
	int r;

	*out = NULL;
	pos_set(pos, -1, 0, 0);
	if (!c)
		return vk_error_set(err, ENOMEM, "out of memory");
	if ((r = check_input_limits(argc, argv, lines, pos, err)) < 0)
		goto fail;
	if (copy_words(c, argc, argv, lines) < 0)
		goto enomem;

	if (argc > 0 && ((flags & VK_QC_ARGV_HAS_PROGRAM) ||
	                 ((flags & VK_QC_ARGV_DETECT_PROGRAM) && argv[0][0] != '-'))) {
		c->has_program = true;
		i = 1;
	}
	for (; i < argc; i++) {
		if ((r = parse_one(c, &i, &nprops, pos, err)) < 0)
			goto fail;
	}
	*out = c;
	return 0;
enomem:
	r = vk_error_set(err, ENOMEM, "out of memory");
fail:
	vk_qc_cmdline_free(c);
	return r;
}

/* ---- .args files ---- */

struct wordvec {
	char **w;
	unsigned *lines;
	size_t n, cap;
};

static void wordvec_free(struct wordvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->w[i]);
	free(v->w);
	free(v->lines);
	memset(v, 0, sizeof(*v));
}

static int wordvec_push(struct wordvec *v, char *word, unsigned line)
{
	if (!word)
		return -ENOMEM;
	if (v->n + 2 > v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		char **w = realloc(v->w, cap * sizeof(char *));
		if (!w) {
			free(word);
			return -ENOMEM;
		}
		v->w = w;
		unsigned *l = realloc(v->lines, cap * sizeof(unsigned));
		if (!l) {
			free(word);
			return -ENOMEM;
		}
		v->lines = l;
		v->cap = cap;
	}
	v->w[v->n] = word;
	v->lines[v->n] = line;
	v->n++;
	v->w[v->n] = NULL;
	return 0;
}

/* The shell-like reader of vk_qc_split_args_text(): where it is in @text, the
 * word being read (@buf, @o bytes), where errors go. */
struct lexer {
	const char *text;
	size_t len, i;
	unsigned line;
	size_t line_start; /* offset of the current line's first byte */
	char *buf;
	size_t o;
	struct vk_qc_pos *pos;
	struct vk_error *err;
};

/* A newline passed: the next line starts at @next. */
static void lx_newline(struct lexer *x, size_t next)
{
	x->line++;
	x->line_start = next;
}

static size_t lx_col(const struct lexer *x, size_t at)
{
	return at - x->line_start + 1;
}

/* Blanks, newlines, continuations and comments between words: true when one was passed. */
static bool lx_skip_between(struct lexer *x)
{
	char ch = x->text[x->i];

	if (ch == ' ' || ch == '\t' || ch == '\r') {
		x->i++;
		return true;
	}
	if (ch == '\n') {
		x->i++;
		lx_newline(x, x->i);
		return true;
	}
	if (ch == '\\' && x->i + 1 < x->len && x->text[x->i + 1] == '\n') {
		x->i += 2;
		lx_newline(x, x->i);
		return true;
	}
	if (ch == '#') { /* a comment runs to the end of the line */
		while (x->i < x->len && x->text[x->i] != '\n')
			x->i++;
		return true;
	}
	return false;
}

/* A backslash in a word: the next byte as it is, or a continuation. */
static int lx_backslash(struct lexer *x)
{
	if (x->i + 1 >= x->len) {
		pos_set(x->pos, -1, lx_col(x, x->i), x->line);
		return vk_error_set(x->err, EINVAL, "line %u, column %zu: backslash at end of input", x->line,
		                    lx_col(x, x->i));
	}
	if (x->text[x->i + 1] == '\n') { /* continuation inside a word */
		x->i += 2;
		lx_newline(x, x->i);
		return 0;
	}
	x->buf[x->o++] = x->text[x->i + 1];
	x->i += 2;
	return 0;
}

/* '...': every byte as it is, newlines included. */
static int lx_single_quote(struct lexer *x)
{
	size_t qcol = lx_col(x, x->i);
	unsigned qline = x->line;

	x->i++;
	while (x->i < x->len && x->text[x->i] != '\'') {
		if (x->text[x->i] == '\n')
			lx_newline(x, x->i + 1);
		x->buf[x->o++] = x->text[x->i++];
	}
	if (x->i >= x->len) {
		pos_set(x->pos, -1, qcol, qline);
		return vk_error_set(x->err, EINVAL, "line %u, column %zu: unterminated single quote", qline, qcol);
	}
	x->i++;
	return 0;
}

/* "...": a backslash escapes " \ $ ` and newline (a continuation), as in sh. */
static int lx_double_quote(struct lexer *x)
{
	size_t qcol = lx_col(x, x->i);
	unsigned qline = x->line;
	const char *t = x->text;

	x->i++;
	while (x->i < x->len && t[x->i] != '"') {
		if (t[x->i] == '\\' && x->i + 1 < x->len && strchr("\"\\$`\n", t[x->i + 1])) {
			if (t[x->i + 1] == '\n') {
				x->i += 2;
				lx_newline(x, x->i);
				continue;
			}
			x->buf[x->o++] = t[x->i + 1];
			x->i += 2;
			continue;
		}
		if (t[x->i] == '\n')
			lx_newline(x, x->i + 1);
		x->buf[x->o++] = t[x->i++];
	}
	if (x->i >= x->len) {
		pos_set(x->pos, -1, qcol, qline);
		return vk_error_set(x->err, EINVAL, "line %u, column %zu: unterminated double quote", qline, qcol);
	}
	x->i++;
	return 0;
}

/* One word into x->buf (x->o bytes), up to a blank or the end. */
static int lx_word(struct lexer *x)
{
	int r;

	x->o = 0;
	while (x->i < x->len) {
		char ch = x->text[x->i];
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
			break;
		if (ch == '\0') {
			pos_set(x->pos, -1, lx_col(x, x->i), x->line);
			return vk_error_set(x->err, EINVAL, "line %u, column %zu: NUL byte", x->line, lx_col(x, x->i));
		}
		if (ch == '\\' || ch == '\'' || ch == '"') {
			r = ch == '\\' ? lx_backslash(x) : ch == '\'' ? lx_single_quote(x)
			                                              : lx_double_quote(x);
			if (r < 0)
				return r;
			continue;
		}
		x->buf[x->o++] = ch;
		x->i++;
	}
	return 0;
}

int vk_qc_split_args_text(const char *text, size_t len, char ***words, size_t *nwords,
                          unsigned **lines, struct vk_qc_pos *pos, struct vk_error *err)
{
	struct wordvec v = {0};
	struct lexer x = {.text = text, .len = len, .line = 1, .pos = pos, .err = err};
	int r;

	*words = NULL;
	*nwords = 0;
	*lines = NULL;
	pos_set(pos, -1, 0, 0);
	if (len > VK_QC_MAX_TEXT)
		return vk_error_set(err, E2BIG, "%zu bytes: more than %u (the input limit, docs/rules.md)", len,
		                    VK_QC_MAX_TEXT);
	x.buf = malloc(len + 1);
	if (!x.buf)
		return vk_error_set(err, ENOMEM, "out of memory");

	while (x.i < len) {
		if (lx_skip_between(&x))
			continue;
		unsigned wline = x.line;
		if ((r = lx_word(&x)) < 0)
			goto fail;
		if (v.n >= VK_QC_MAX_ARGS) {
			pos_set(pos, -1, 0, wline);
			r = vk_error_set(err, E2BIG, "line %u: more than %u words (the input limit, docs/rules.md)", wline,
			                 VK_QC_MAX_ARGS);
			goto fail;
		}
		r = wordvec_push(&v, strndup(x.buf, x.o), wline);
		if (r < 0) {
			r = vk_error_set(err, ENOMEM, "out of memory");
			goto fail;
		}
	}
	free(x.buf);
	if (!v.w) { /* empty input: an empty vector */
		v.w = calloc(1, sizeof(char *));
		if (!v.w)
			return vk_error_set(err, ENOMEM, "out of memory");
	}
	*words = v.w;
	*nwords = v.n;
	*lines = v.lines;
	return 0;
fail:
	free(x.buf);
	wordvec_free(&v);
	return r;
}

/* Put a formatted prefix in front of err->msg (truncating the end). */
static void __attribute__((format(printf, 2, 3))) prefix_msg(struct vk_error *err, const char *fmt, ...)
{
	char pfx[512], tmp[sizeof(err->msg)];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(pfx, sizeof(pfx), fmt, ap);
	va_end(ap);
	n = strlen(pfx);
	if (n >= sizeof(tmp))
		return;
	memcpy(tmp, pfx, n);
	size_t m = strnlen(err->msg, sizeof(err->msg) - 1);
	if (m > sizeof(tmp) - 1 - n)
		m = sizeof(tmp) - 1 - n;
	memcpy(tmp + n, err->msg, m);
	tmp[n + m] = '\0';
	memcpy(err->msg, tmp, sizeof(tmp));
}

static bool is_assignment(const char *w)
{
	const char *p = w;

	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_'))
		return false;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	return *p == '=';
}

int vk_qc_parse_args_text(const char *text, size_t len, struct vk_qc_cmdline **out,
                          struct vk_qc_pos *pos, struct vk_error *err)
{
	char **words;
	size_t n, nenv = 0;
	unsigned *lines;
	int r;

	*out = NULL;
	r = vk_qc_split_args_text(text, len, &words, &n, &lines, pos, err);
	if (r < 0)
		return r;
	while (nenv < n && is_assignment(words[nenv]))
		nenv++;
	if (nenv == n) {
		pos_set(pos, -1, 0, n ? lines[n - 1] : 1);
		r = vk_error_set(err, EINVAL, "no program in the command line (only %zu environment assignments)", nenv);
		goto out;
	}
	r = vk_qc_parse_argv(n - nenv, words + nenv, lines + nenv, VK_QC_ARGV_HAS_PROGRAM, out, pos, err);
	if (r == 0 && nenv) {
		(*out)->env = calloc(nenv, sizeof(char *));
		if (!(*out)->env) {
			vk_qc_cmdline_free(*out);
			*out = NULL;
			r = vk_error_set(err, ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nenv; i++) {
			(*out)->env[i] = words[i];
			words[i] = NULL;
		}
		(*out)->nenv = nenv;
	}
	if (r < 0 && pos && pos->argi >= 0 && err) {
		/* Make the message name the file line as well. */
		prefix_msg(err, "line %u: ", pos->line);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(words[i]);
	free(words);
	free(lines);
	return r;
}

int vk_qc_parse_args_file(const char *path, struct vk_qc_cmdline **out, struct vk_qc_pos *pos,
                          struct vk_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	*out = NULL;
	pos_set(pos, -1, 0, 0);
	/* the user named this file: a pipe or a FIFO is what --args-file <(...) gives */
	if (strcmp(path, "-") == 0) {
		r = vk_read_fd_alloc(STDIN_FILENO, VK_QC_MAX_TEXT, &text, &len);
		if (r < 0)
			vk_error_set(err, r, "<stdin>: %s", strerror(-r));
	} else {
		r = vk_read_path_alloc(path, VK_READ_ANY_TYPE, VK_QC_MAX_TEXT, &text, &len, err);
	}
	if (r == -EFBIG)
		return vk_error_set(err, E2BIG, "%s: more than %u bytes (the input limit, docs/rules.md)",
		                    strcmp(path, "-") ? path : "<stdin>", VK_QC_MAX_TEXT);
	if (r < 0)
		return r;
	r = vk_qc_parse_args_text(text, len, out, pos, err);
	if (r < 0 && err) {
		prefix_msg(err, "%s: ", strcmp(path, "-") ? path : "<stdin>");
	}
	return r;
}

int vk_qc_parse_pid(const char *proc, pid_t pid, struct vk_qc_cmdline **out, struct vk_qc_pos *pos,
                    struct vk_error *err)
{
	char path[256];
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char **argv = NULL;
	struct vk_error e = {0};
	size_t len, n = 0;
	int r;

	*out = NULL;
	pos_set(pos, -1, 0, 0);
	snprintf(path, sizeof(path), "%s/%d/cmdline", proc ? proc : "/proc", (int)pid);
	r = vk_read_path_alloc(path, 0, VK_QC_MAX_TEXT, &text, &len, &e);
	if (r == -ENOENT)
		return vk_error_set(err, ESRCH, "%s: %s (no such process)", path, strerror(ENOENT));
	if (r == -EFBIG)
		return vk_error_set(err, E2BIG, "%s: more than %u bytes (the input limit, docs/rules.md)", path,
		                    VK_QC_MAX_TEXT);
	if (r < 0)
		return vk_error_set(err, r, "%s", e.msg);
	if (len == 0)
		return vk_error_set(err, EINVAL, "%s is empty (a kernel thread or a zombie)", path);
	if (text[len - 1] != '\0')
		text[len++] = '\0'; /* the buffer has room for the NUL */
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0')
			n++;
	if (n > VK_QC_MAX_ARGS)
		return vk_error_set(err, E2BIG, "%s: %zu arguments: more than %u (the input limit, docs/rules.md)", path,
		                    n, VK_QC_MAX_ARGS);
	argv = calloc(n + 1, sizeof(char *));
	if (!argv)
		return vk_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0, k = 0; k < n; k++) {
		argv[k] = text + i;
		i += strlen(text + i) + 1;
	}
	return vk_qc_parse_argv(n, argv, NULL, VK_QC_ARGV_HAS_PROGRAM, out, pos, err);
}
