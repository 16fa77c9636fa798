/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fixture of the `fakesys test` tests: a temporary directory for
 * scenario variants and buffers for the runner's output. */
#ifndef VK_RUNNER_UTIL_H
#define VK_RUNNER_UTIL_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* `fakesys test [--fuse] ARGS...` (--fuse when @fuse; ARGS up to a NULL) with
 * its output in out and errb; returns its exit status. */
static inline int runner_run(bool fuse, const char *a0, ...)
{
	char bin[4096];
	const char *head[] = {vk_bin("fakesys/fakesys", bin, sizeof(bin)), "test", fuse ? "--fuse" : NULL, NULL};
	va_list ap;

	va_start(ap, a0);
	int rc = vk_vrun(out, OUTLEN, errb, OUTLEN, head, a0, ap);
	va_end(ap);
	return rc;
}

#ifdef VK_SIGIGN_EXEC
/* runner_run() under sigign_exec (tests/conformance/sigign_exec.c) with the
 * options @sig ("-i", "CHLD", ...; NULL-terminated): `fakesys test` started
 * with those signals ignored or blocked, as a parent shell can leave them. */
static inline int runner_run_under(const char *const *sig, bool fuse, const char *a0, ...)
{
	char bin[4096];
	const char *head[16];
	size_t n = 0;
	va_list ap;

	head[n++] = VK_SIGIGN_EXEC;
	for (; *sig && n < 12; sig++)
		head[n++] = *sig;
	head[n++] = vk_bin("fakesys/fakesys", bin, sizeof(bin));
	head[n++] = "test";
	if (fuse)
		head[n++] = "--fuse";
	head[n] = NULL;
	va_start(ap, a0);
	int rc = vk_vrun(out, OUTLEN, errb, OUTLEN, head, a0, ap);
	va_end(ap);
	return rc;
}
#endif

#endif
