/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers of the scenario runner: a PATH search, formatted allocation, elapsed time. */
#ifndef CONFORMANCE_UTIL_H
#define CONFORMANCE_UTIL_H

#include <stddef.h>
#include <time.h>

/* @prog as execvp() would find it: a path with a '/', else the first
 * executable in $PATH, into @buf.  Returns 0 or -ENOENT. */
int runner_find_program(const char *prog, char *buf, size_t len);

/* asprintf() that returns the string, or NULL when out of memory. */
char *runner_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Seconds since @a (CLOCK_MONOTONIC). */
double runner_since(const struct timespec *a);

#endif
