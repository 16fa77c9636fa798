/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The result of one scenario, as the child that ran it hands it to the parent
 * in a file (result.c): the only thing that crosses between them.
 */
#ifndef CONFORMANCE_RESULT_H
#define CONFORMANCE_RESULT_H

enum { ST_OK, ST_FAIL, ST_ERROR, ST_SKIP };

struct result {
	int status;      /* ST_* */
	char *mode;      /* "fuse", "plain", "plain (FUSE mount failed: ...)" */
	char *note;      /* one line: the reason of an error or skip */
	char *diff;      /* what differed, or the error; may be "" */
};

/* Write a result to @file (the child).  Returns 0 or -EIO. */
int runner_result_write(const char *file, int status, const char *mode, const char *note, const char *diff);

/* Read the result the child wrote to @file into @r (the parent).  Returns 0,
 * or -errno when the file cannot be read. */
int runner_result_read(const char *file, struct result *r);

/* A result of the parent's own making: @status with @note (taken over; NULL
 * when out of memory), mode "?" and no diff. */
void runner_result_set(struct result *r, int status, char *note);

void runner_result_clear(struct result *r);

#endif
