/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VK_CONSUMERS_UTIL_H
#define VK_CONSUMERS_UTIL_H

/*
 * Programs nobody here wrote, run under `fakesys run` (docs/architecture.md,
 * "fakesys run"): what each test program needs (FUSE, namespaces, the
 * consumer itself) is checked before its tests, so that it exits 77 (ctest:
 * skipped) with the reason instead of passing without trying.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct vk_host_model;

/* NULL when `fakesys run` works here and every program of @programs
 * (NULL-terminated names, looked up on $PATH) is installed; else why not. */
const char *consumers_unavailable(const char *const *programs);

/*
 * Run "sh -c @cmd" with $FAKESYS (the built fakesys), $ENUM (the libudev
 * enumerator), $DOCTOR (vfio-doctor) and $SCEN (scenarios/) in the
 * environment; out/err captured.  Returns the shell's status.
 */
int consumers_sh(const char *cmd, char *out, size_t outlen, char *err, size_t errlen);

/* `"$FAKESYS" run [@opts] @scenario -- sh -c @inner` through consumers_sh(). */
int consumers_run(const char *opts, const char *scenario, const char *inner, char *out, size_t outlen, char *err,
                  size_t errlen);

/* scenarios/@name with @from replaced by @to (each found once), and so on for
 * the pairs after them up to a NULL, written into a private temporary
 * directory (removed at exit); its path (valid for 8 more calls). */
__attribute__((sentinel)) const char *consumers_variant(const char *name, const char *from, const char *to, ...);

/* A scenario of @text in that directory; its path. */
const char *consumers_scenario_text(const char *file_name, const char *text);

/* The model of scenarios/@name (or of a path with a '/'); aborts the test on error. */
struct vk_host_model *consumers_model(const char *name);

/* A Criterion main that exits 77 with the reason when consumers_unavailable()
 * says so for the programs listed (strings, then NULL). */
#define CONSUMERS_MAIN(...) \
	int main(int argc, char *argv[]) \
	{ \
		static const char *const progs[] = {__VA_ARGS__}; \
		const char *why = consumers_unavailable(progs); \
		if (why) { \
			fprintf(stderr, "SKIP: %s\n", why); \
			return 77; \
		} \
		struct criterion_test_set *tests = criterion_initialize(); \
		int result = 0; \
		if (criterion_handle_args(argc, argv, true)) \
			result = !criterion_run_all_tests(tests); \
		criterion_finalize(tests); \
		return result; \
	}

#endif
