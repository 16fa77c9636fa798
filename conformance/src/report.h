/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reports of a `fakesys test` run: text lines, TAP, JUnit XML (report.c). */
#ifndef CONFORMANCE_REPORT_H
#define CONFORMANCE_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "scen.h"

/* The scenarios of @v by status into @cnt; every error (result.h) counts as ST_ERROR. */
void runner_report_count(const struct scen *v, size_t n, size_t cnt[ST_COUNT]);

/* "ok    NAME (MODE, 0.12 s): NOTE", and a failure's diff indented below. */
void runner_report_line(FILE *f, const struct scen *s);

/* JUnit XML of the @n scenarios of @v to @file.  Returns 0, or -errno with
 * the reason printed. */
int runner_report_junit(const char *file, const struct scen *v, size_t n, double total);

/* TAP version 13 of the @n scenarios of @v to @f. */
void runner_report_tap(FILE *f, const struct scen *v, size_t n);

#endif
