/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VK_NS_EMUL_UTIL_H
#define VK_NS_EMUL_UTIL_H

/*
 * `fakesys run` with the VFIO emulation, end to end: what the machine must
 * allow (FUSE, namespaces, seccomp user notifications), checked before the
 * tests so that the program exits 77 (ctest: skipped) with the reason.
 */
#include <stdbool.h>
#include <stddef.h>

/* NULL when `fakesys run` with emulation works here, else why not (static). */
const char *ns_emul_unavailable(void);

/* Run "sh -c @cmd" with VK paths in the environment ($FAKESYS, $RESOLVE,
 * $CLIENT, $SCEN for scenarios/, $QEMU); out/err captured. The shell's status. */
int ns_emul_sh(const char *cmd, char *out, size_t outlen, char *err, size_t errlen);

/* A Criterion main that exits 77 with the reason when ns_emul_unavailable()
 * or @extra (NULL, or a check returning a reason) says so. */
#define NS_EMUL_MAIN(extra) \
	int main(int argc, char *argv[]) \
	{ \
		const char *(*more)(void) = extra; \
		const char *why = ns_emul_unavailable(); \
		if (!why && more) \
			why = more(); \
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
