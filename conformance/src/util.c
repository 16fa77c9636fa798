/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int runner_find_program(const char *prog, char *buf, size_t len)
{
	if (strchr(prog, '/')) {
		snprintf(buf, len, "%s", prog);
		return access(prog, X_OK) == 0 ? 0 : -ENOENT;
	}
	const char *path = getenv("PATH");
	for (const char *p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
		const char *end = strchrnul(p, ':');
		snprintf(buf, len, "%.*s/%s", (int)(end - p), p, prog);
		if (end > p && access(buf, X_OK) == 0)
			return 0;
		p = *end ? end + 1 : end;
	}
	*buf = '\0';
	return -ENOENT;
}

char *runner_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	return p;
}

double runner_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}
