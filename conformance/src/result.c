/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The result file of a scenario, written by the child that ran the scenario
 * and read by the parent once the child has exited:
 *
 *     STATUS\nMODE\nNOTE\nDIFF-LENGTH\nDIFF
 *
 * The length makes a truncated file (a full disk, a child killed while it
 * wrote) an error rather than a shorter diff; the status must be a known
 * outcome, so that nothing but a whole result can count as a pass.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_cleanup.h"
#include "vk_fileio.h"

#include "result.h"

/* @s on one line: newlines as spaces. */
static void put_line(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc(*s == '\n' ? ' ' : *s, f);
	fputc('\n', f);
}

int runner_result_write(const char *file, int status, const char *mode, const char *note, const char *diff)
{
	FILE *f = fopen(file, "we");
	int r = 0;

	if (!f)
		return -EIO;
	diff = diff ? diff : "";
	fprintf(f, "%d\n", status);
	put_line(f, mode);
	put_line(f, note);
	fprintf(f, "%zu\n%s", strlen(diff), diff);
	if (ferror(f))
		r = -EIO;
	if (fclose(f) != 0)
		r = -EIO;
	return r;
}

/* The line at *@p (without its newline) into a new string; *@p moves past it.
 * NULL when there is no whole line or no memory. */
static char *take_line(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl)
		return NULL;
	char *s = strndup(*p, (size_t)(nl - *p));
	*p = nl + 1;
	return s;
}

/* A decimal number, all of @s. */
static bool parse_number(const char *s, long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !errno && !*end;
}

static int parse(const char *text, size_t len, struct result *r, char *why, size_t wlen)
{
	const char *p = text, *end = text + len;
	_cleanup_free_ char *status = take_line(&p, end);
	_cleanup_free_ char *mode = take_line(&p, end);
	_cleanup_free_ char *note = take_line(&p, end);
	_cleanup_free_ char *dlen = take_line(&p, end);
	long long st, n;

	if (!status || !mode || !note || !dlen) {
		snprintf(why, wlen, "the result has %zu bytes, not the four lines of a whole result", len);
		return -EBADMSG;
	}
	if (!parse_number(status, &st) || st < ST_OK || st > ST_SKIP) {
		snprintf(why, wlen, "the result's status '%.32s' is not a known outcome", status);
		return -EBADMSG;
	}
	if (!parse_number(dlen, &n) || (size_t)n != (size_t)(end - p)) {
		snprintf(why, wlen, "the result announces a diff of '%.32s' bytes and has %zu", dlen, (size_t)(end - p));
		return -EBADMSG;
	}
	char *diff = strndup(p, (size_t)n);
	if (!diff)
		return -ENOMEM;
	*r = (struct result){.status = (int)st, .mode = TAKE_PTR(mode), .note = TAKE_PTR(note), .diff = diff};
	return 0;
}

#define RESULT_MAX (256u << 20)

int runner_result_read(const char *file, struct result *r, char *why, size_t wlen)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	/* the file the scenario's child wrote; a diff is bounded by what
	 * the checks print, far below this */
	int err = vk_read_path_alloc(file, 0, RESULT_MAX, &text, &len, NULL);

	if (err < 0) {
		snprintf(why, wlen, "%s: %s", file, strerror(-err));
		return err;
	}
	if (memchr(text, '\0', len)) {
		snprintf(why, wlen, "the result has a NUL byte");
		return -EBADMSG;
	}
	return parse(text, len, r, why, wlen);
}

void runner_result_set(struct result *r, int status, char *note)
{
	runner_result_clear(r);
	r->status = status;
	r->note = note;
	r->mode = strdup("?");
	r->diff = strdup("");
}

void runner_result_clear(struct result *r)
{
	free(r->mode);
	free(r->note);
	free(r->diff);
	*r = (struct result){0};
}
