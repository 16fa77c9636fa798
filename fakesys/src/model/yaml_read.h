/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The YAML-reading toolkit of the scenario parsers (scenario.c, faults.c,
 * platform.c, ...; the conformance runner's expect.c through
 * vk_scenario_section.h): a bounded loader from libyaml's event API into a read-only tree
 * that keeps every node's line and column, and the typed readers that turn a
 * node into a value or an error "file:line:col: key: message".  It knows
 * nothing of scenarios: it is a leaf, calling only libyaml.
 */
#ifndef VFIOKIT_YAML_READ_H
#define VFIOKIT_YAML_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/error.h>
#include <vfiokit/pci_addr.h>

/* The tree's types and accessors, shared with the section parsers outside the
 * library; yr_fail, yr_oom, yr_string, yr_dup_string, yr_uint and
 * yr_walk_map are exported there as vk__yaml_* (yaml_read.c). */
#include "vk_scenario_section.h"

/*
 * Limits (docs/scenario-format.md, "Limits").  Each is checked as the input is
 * read, before the cost of what lies beyond it is paid.  A scenario of 50,000
 * devices written out in full (every key, 17 resource lines each) stays below
 * all of them.
 */
#define YR_MAX_BYTES (256u << 20) /* the text; also the scalar bytes once aliases are expanded */
#define YR_MAX_DEPTH 64u          /* nested lists and mappings; a scenario needs 5 */
#define YR_MAX_NODES (8u << 20)   /* scalars, lists and mappings, an alias counting as a copy of its anchor */
#define YR_MAX_ENTRIES (1u << 20) /* entries of one list, or pairs of one mapping */
#define YR_MAX_DIRECTIVES 16u     /* %YAML / %TAG lines (libyaml checks each against all before it) */

/* Parse @buf (one YAML document) into @y->root within the limits above.
 * Returns 0 or a negative errno with @y->err set; yr_free() either way. */
int yr_load(struct yreader *y, const char *buf, size_t len);
void yr_free(struct yreader *y);

/* "file:line:col: key: message" into y->err; returns -EINVAL.  @n may be NULL (no position). */
int yr_fail(struct yreader *y, const struct ynode *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int yr_oom(struct yreader *y);

/* The text of a scalar, NULL for a list or mapping. */
const char *yr_scalar(const struct ynode *n);
/* A plain ~, null, Null, NULL or empty value. */
bool yr_is_null(const struct ynode *n);

int yr_want_kind(struct yreader *y, const struct ynode *n, const char *key, enum ynode_kind kind);
int yr_string(struct yreader *y, const struct ynode *n, const char *key, const char **out);
/* A string value, strdup'ed into *@out (the old value freed). */
int yr_dup_string(struct yreader *y, const struct ynode *n, const char *key, char **out);
/* Decimal or 0x hex, within [min,max]. */
int yr_uint(struct yreader *y, const struct ynode *n, const char *key, uint64_t min, uint64_t max, uint64_t *out);
int yr_int(struct yreader *y, const struct ynode *n, const char *key, int64_t min, int64_t max, int64_t *out);
/* A PCI id (vendor, device, class...): hex, as lspci and sysfs write them. */
int yr_pci_id(struct yreader *y, const struct ynode *n, const char *key, uint32_t max, uint32_t *out);
int yr_bool(struct yreader *y, const struct ynode *n, const char *key, bool *out);
/* A permission mode: octal whatever its spelling. */
int yr_mode(struct yreader *y, const struct ynode *n, const char *key, uint32_t *out);
int yr_addr(struct yreader *y, const struct ynode *n, const char *key, struct vk_pci_addr *out);
/* A name that becomes a path component, strdup'ed into *@out. */
int yr_name(struct yreader *y, const struct ynode *n, const char *key, char **out);
/* A uid (@group false) or gid: a number, root, or a name known on this machine. */
int yr_owner(struct yreader *y, const struct ynode *n, const char *key, bool group, uint32_t *out);

/*
 * Walk a mapping, handing each key to @fn.  Rejects repeated keys and, through
 * @fn returning 1, unknown keys with the list @known of the known ones.
 */
int yr_walk_map(struct yreader *y, const struct ynode *map, const char *what, const char *known, yr_key_fn fn,
                void *obj);

#endif
