/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The result file of a scenario: "STATUS\nMODE\nNOTE\n" and the diff, written
 * by the child that ran the scenario and read by the parent once the child
 * has exited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

int runner_result_write(const char *file, int status, const char *mode, const char *note, const char *diff)
{
	FILE *f = fopen(file, "we");
	int r = 0;

	if (!f || fprintf(f, "%d\n%s\n%s\n%s", status, mode, note, diff ? diff : "") < 0)
		r = -EIO;
	if (f && fclose(f) != 0)
		r = -EIO;
	return r;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	if (m) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, m);
		fclose(m);
	}
	fclose(f);
	return buf;
}

int runner_result_read(const char *file, struct result *r)
{
	char *text = read_all(file);

	if (!text)
		return -EIO;
	char *p = text, *nl;
	r->status = (int)strtol(p, &nl, 10);
	if (r->status < ST_OK || r->status > ST_SKIP)
		r->status = ST_ERROR;
	p = *nl ? nl + 1 : nl;
	nl = strchrnul(p, '\n');
	r->mode = strndup(p, (size_t)(nl - p));
	p = *nl ? nl + 1 : nl;
	nl = strchrnul(p, '\n');
	r->note = strndup(p, (size_t)(nl - p));
	r->diff = strdup(*nl ? nl + 1 : nl);
	free(text);
	return 0;
}

void runner_result_set(struct result *r, int status, char *note)
{
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
