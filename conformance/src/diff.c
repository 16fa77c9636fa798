/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "diff.h"

void runner_item(struct diff *d, const char *name, const char *expected, const char *fmt, ...)
{
	va_list ap;

	d->n++;
	fprintf(d->f, "%s\n  expected: %s\n  got:      ", name, expected);
	va_start(ap, fmt);
	vfprintf(d->f, fmt, ap);
	va_end(ap);
	fputc('\n', d->f);
}
