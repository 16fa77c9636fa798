/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fixture of the `fakesys test` tests: a temporary directory for
 * scenario variants and buffers for the runner's output. */
#ifndef VK_RUNNER_UTIL_H
#define VK_RUNNER_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>

#include "testutil.h"

#define OUTLEN (256 * 1024)

static char tmp[4096];
static char *out, *errb;

static inline void runner_setup(void)
{
	out = calloc(1, OUTLEN);
	errb = calloc(1, OUTLEN);
	cr_assert(out && errb);
	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
}

static inline void runner_teardown(void)
{
	vk_rm_rf(tmp);
	free(out);
	free(errb);
}

#endif
