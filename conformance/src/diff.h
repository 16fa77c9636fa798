/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What differed from a scenario's expectations: the entries a failing scenario lists. */
#ifndef CONFORMANCE_DIFF_H
#define CONFORMANCE_DIFF_H

#include <stdio.h>

/* One entry per expectation not met, written to @f (an open_memstream of @buf). */
struct diff {
	FILE *f;
	char *buf;
	size_t len;
	unsigned n;
};

/* Add one entry to @d: @name, then what was expected and what came out. */
void runner_item(struct diff *d, const char *name, const char *expected, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
