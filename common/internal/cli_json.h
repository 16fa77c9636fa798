/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one shape of --json output (docs/schemas/README.md): an object whose
 * first members are the envelope
 *
 *   "tool"     the program ("vfio-resolve", "vfio-validate", "vfio-doctor")
 *   "version"  vfiokit's version
 *   "ok"       true exactly when the exit status is 0
 *   "exit"     the exit status
 *   "error"    null, or {"message": ..., details} when the run could not give
 *              its result (then the tool's own members may be missing)
 *
 * followed by the tool's own members (docs/schemas/<tool>.schema.json).
 * Header-only (jansson), for the programs that link jansson.
 */
#ifndef VFIOKIT_CLI_JSON_H
#define VFIOKIT_CLI_JSON_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_common.h"

/* A new envelope, its members in the documented order; NULL when out of memory. */
static inline json_t *vk_cli_json_envelope(const char *tool, int status, const char *error_msg)
{
	json_t *j = json_object();

	if (!j)
		return NULL;
	json_object_set_new(j, "tool", json_string(tool));
	json_object_set_new(j, "version", json_string(VFIOKIT_VERSION));
	json_object_set_new(j, "ok", json_boolean(status == 0));
	json_object_set_new(j, "exit", json_integer(status));
	json_object_set_new(j, "error", error_msg ? json_pack("{s:s}", "message", error_msg) : json_null());
	return j;
}

/* Set the exit status (and "ok") of an envelope made before it was known. */
static inline void vk_cli_json_set_status(json_t *j, int status)
{
	json_object_set_new(j, "ok", json_boolean(status == 0));
	json_object_set_new(j, "exit", json_integer(status));
}

/* Set "error" to {"message": @msg}; returns the error object (for details). */
static inline json_t *vk_cli_json_set_error(json_t *j, const char *msg)
{
	json_t *e = json_pack("{s:s}", "message", msg);

	json_object_set_new(j, "error", e);
	return e;
}

/* Print @j (two-space indent, members in order) and a newline to @f; 0 or -1. */
static inline int vk_cli_json_print(json_t *j, FILE *f)
{
	char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	int r = -1;

	if (s && fprintf(f, "%s\n", s) >= 0)
		r = 0;
	free(s);
	return r;
}

#endif
