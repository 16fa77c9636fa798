/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef FAKESYS_CLI_RUNNER_H
#define FAKESYS_CLI_RUNNER_H

/**
 * fakesys_cmd_test() - `fakesys test [-j N] [--junit FILE] [--tap] [--fuse|--plain]
 * [--timeout SEC] [--skipped-exit N] SCENARIO|DIR...`: serve each scenario, run the resolver,
 * vfio-doctor's checks and vfio-validate's rules against it (the libraries,
 * linked into this program) and compare with its expect: block.
 * @argc, @argv: the arguments from "test" on.
 *
 * Each scenario runs in its own process with its own temporary directory
 * (mount point or plain tree), so scenarios run in parallel safely.
 * Returns 0 when every scenario passed (or was skipped), 1 when one failed,
 * 2 for a usage error; with --skipped-exit N, N when every scenario was skipped.
 */
int fakesys_cmd_test(int argc, char **argv);

#include <stdio.h>
#include <sys/types.h>

#include <vfiokit/host_model.h>

/* What differed from the expectations: one entry per expectation not met. */
struct diff {
	FILE *f;
	char *buf;
	size_t len;
	unsigned n;
};

/* Add one entry to @d: @name, then what was expected and what came out. */
void runner_item(struct diff *d, const char *name, const char *expected, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/**
 * runner_check_access() - the expect: access: rules against the access log
 * @log (JSON lines, as `fakesys mount --log` writes them) between byte offsets
 * @from and @to: the records of the set phase.  Each rule not met becomes an
 * entry of @d, naming its line and listing the records it matched.
 */
void runner_check_access(const struct fakesys_expect *x, const char *log, off_t from, off_t to, struct diff *d);

#endif
