/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What vfio-validate and vfio-doctor share as command-line programs. */
#ifndef VFIOKIT_VALIDATOR_CLI_COMMON_H
#define VFIOKIT_VALIDATOR_CLI_COMMON_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Colour only on a terminal, and never with NO_COLOR set (no-color.org). */
static inline bool want_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");
	return isatty(fileno(f)) && !(nc && *nc);
}

#endif
