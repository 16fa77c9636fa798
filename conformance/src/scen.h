/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One scenario of a `fakesys test` run, as the parent tracks it. */
#ifndef CONFORMANCE_SCEN_H
#define CONFORMANCE_SCEN_H

#include <sys/types.h>
#include <time.h>

#include "result.h"

struct scen {
	char *path;
	char *name;     /* basename without .yaml */
	char dir[4200]; /* its temporary directory */
	pid_t pid;
	struct timespec start;
	double secs;
	struct result res;
};

#endif
