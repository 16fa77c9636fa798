/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a parser of a scenario section that lives outside libvfiokit-fakesys
 * needs (never installed): the scenario loader's YAML tree, the typed readers
 * that turn its nodes into values or errors "file:line:col: key: message", the
 * string set of the repeat checks, and the loader that hands such a parser its
 * section.  The conformance runner reads the expect: block through it
 * (conformance/src/expect.c): fakesys knows that section's name, not its
 * schema, and the dependency stays conformance -> fakesys.
 *
 * The inline accessors keep the names of fakesys's own parsers (yr_item...);
 * the functions are exported as vk__yaml_*, vk__name_set_* and vk__scenario_*:
 * the version script exports vk_ names only, and two underscores mark a name
 * that is the project's own, not the API (docs/abi.md, "Names").  Inside
 * fakesys they are the same functions under their yr_ and name_set_ names
 * (model/yaml_read.h, model/model_internal.h).
 */
#ifndef VFIOKIT_SCENARIO_SECTION_H
#define VFIOKIT_SCENARIO_SECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/error.h>
#include <vfiokit/fakesys_scenario.h>

enum ynode_kind { YN_NONE = 0,
	          YN_SCALAR,
	          YN_SEQ,
	          YN_MAP };

/* One node.  Aliases are not nodes: an alias is the node its anchor names. */
struct ynode {
	uint8_t kind;       /* enum ynode_kind */
	bool plain;         /* a plain (unquoted, not block) scalar */
	uint32_t line, col; /* 0-based, as libyaml's marks */
	size_t n;           /* scalar: bytes; list: entries; mapping: pairs */
	union {
		const char *str;           /* scalar, NUL-terminated (may hold NULs before n) */
		const struct ynode **kids; /* list: n entries; mapping: key, value, key, value... */
	};
};

struct yarena;

struct yreader {
	const char *file; /* the name in messages */
	struct vk_error *err;
	const struct ynode *root; /* NULL: an empty stream */
	struct yarena *arena;
};

static inline const struct ynode *yr_item(const struct ynode *n, size_t i)
{
	return n->kids[i];
}

static inline const struct ynode *yr_key(const struct ynode *n, size_t i)
{
	return n->kids[2 * i];
}

static inline const struct ynode *yr_val(const struct ynode *n, size_t i)
{
	return n->kids[2 * i + 1];
}

/* "file:line:col: key: message" into y->err; returns -EINVAL.  @n may be NULL (no position). */
int vk__yaml_fail(struct yreader *y, const struct ynode *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "out of memory" into y->err; returns -ENOMEM. */
int vk__yaml_oom(struct yreader *y);
/* A string value (a scalar), pointing into the tree. */
int vk__yaml_string(struct yreader *y, const struct ynode *n, const char *key, const char **out);
/* A string value, strdup'ed into *@out (the old value freed). */
int vk__yaml_dup_string(struct yreader *y, const struct ynode *n, const char *key, char **out);
/* Decimal or 0x hex, within [min,max]. */
int vk__yaml_uint(struct yreader *y, const struct ynode *n, const char *key, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Walk a mapping, handing each key to @fn.  Rejects repeated keys and, through
 * @fn returning 1, unknown keys with the list @known of the known ones.
 */
typedef int (*yr_key_fn)(struct yreader *y, const char *key, const struct ynode *val, void *obj);
int vk__yaml_walk_map(struct yreader *y, const struct ynode *map, const char *what, const char *known, yr_key_fn fn,
                      void *obj);

/*
 * A set of strings it does not own (open addressing): the repeat checks and
 * lookups over lists of any length, in O(1) each instead of a scan.
 */
struct name_set {
	const char **v;
	size_t n, cap;
};

/* 1 when added, 0 when already there, -ENOMEM. */
int vk__name_set_add(struct name_set *s, const char *name);
bool vk__name_set_has(const struct name_set *s, const char *name);
void vk__name_set_free(struct name_set *s);

/*
 * A top-level section of the scenario that a caller of the loader parses: when
 * the file has the key @key, @parse gets its value node, in file order among
 * the other sections (so the first error of a file is the same whoever parses
 * which part), with @data.  Its errors are the load's errors.  A key fakesys
 * reads itself cannot be taken over.
 */
struct vk_scenario_section {
	const char *key;
	int (*parse)(struct yreader *y, const struct ynode *v, void *data);
	void *data;
};

/**
 * vk__scenario_load_sections() - vk_fakesys_scenario_load() with the
 * parsers of @n sections of the caller's (@sections).  The tree of the file
 * lives as long as the call: a parser copies what it keeps.
 */
int vk__scenario_load_sections(const char *path, const struct vk_scenario_section *sections, size_t n,
                               struct vk_fakesys_scenario **out, struct vk_error *err);
/* As vk__scenario_load_sections(), from a buffer; @name is used in messages. */
int vk__scenario_load_buffer_sections(const char *name, const char *buf, size_t len,
                                      const struct vk_scenario_section *sections, size_t n,
                                      struct vk_fakesys_scenario **out, struct vk_error *err);

#endif
