/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running the scenarios in parallel child processes (schedule.c). */
#ifndef CONFORMANCE_SCHEDULE_H
#define CONFORMANCE_SCHEDULE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>

#include "scen.h"

struct sched_opts {
	long jobs;        /* children at a time, >= 1 */
	int mode;         /* MODE_* of serve.h */
	unsigned timeout; /* seconds a scenario may take */
	FILE *out;        /* where each scenario's line goes as it finishes */
	bool quiet;       /* the lines of scenarios that failed or erred only */
};

/*
 * runner_schedule() - run the @n scenarios of @v, each in a child process of
 * its own with its own directory @base/<index>, and fill in their results.
 * Each scenario's line is printed as it finishes.
 */
void runner_schedule(struct scen *v, size_t n, const char *base, const struct sched_opts *o);

#endif
