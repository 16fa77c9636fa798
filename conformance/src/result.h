/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The result of one scenario, as the child that ran it hands it to the parent
 * in a file (result.c): the only thing that crosses between them.
 */
#ifndef CONFORMANCE_RESULT_H
#define CONFORMANCE_RESULT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * ST_NOTRUN is the zero value: a result nobody filled in (a child that was
 * never waited for, a slot the scheduler did not reach) must never read as a
 * pass.  Anything but OK, FAIL and SKIP is reported and counted as an error.
 */
enum { ST_NOTRUN,
       ST_OK,
       ST_FAIL,
       ST_ERROR,
       ST_SKIP,
       ST_COUNT };

/* Whether @status counts as an error: ST_ERROR, and everything that is not a
 * known outcome (ST_NOTRUN, out of range). */
static inline bool runner_status_is_error(int status)
{
	return status != ST_OK && status != ST_FAIL && status != ST_SKIP;
}

struct result {
	int status; /* ST_* */
	char *mode; /* "fuse", "plain", "plain (FUSE mount failed: ...)" */
	char *note; /* one line: the reason of an error or skip */
	char *diff; /* what differed, or the error; may be "" */
};

/* Write a result to @file (the child); newlines in @mode and @note become
 * spaces.  Returns 0 or -EIO. */
int runner_result_write(const char *file, int status, const char *mode, const char *note, const char *diff);

/*
 * Read the result the child wrote to @file into @r (the parent).  Returns 0,
 * or -errno with the reason in @why: the file cannot be read (-ENOENT, ...),
 * or it is not a whole result (-EBADMSG: a status that is not a known
 * outcome, a missing line, a diff shorter or longer than announced).  @r is
 * untouched on failure.
 */
int runner_result_read(const char *file, struct result *r, char *why, size_t len);

/* A result of the parent's own making: @status with @note (taken over; NULL
 * when out of memory), mode "?" and no diff.  A result already there is
 * replaced. */
void runner_result_set(struct result *r, int status, char *note);

void runner_result_clear(struct result *r);

#endif
