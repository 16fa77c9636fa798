/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef FAKESYS_CLI_RUNNER_H
#define FAKESYS_CLI_RUNNER_H

#include <stddef.h>

/**
 * fakesys_cmd_test() - `fakesys test [-j N] [--junit FILE] [--tap] [--fuse|--plain]
 * [--timeout SEC] [--skipped-exit N] [--shard K/N] [--list] SCENARIO|DIR...`:
 * serve each scenario (of shard K of N: docs/ci.md), run the resolver,
 * vfio-doctor's checks and vfio-validate's rules against it (the libraries,
 * linked into this program) and compare with its expect: block.
 * @argc, @argv: the arguments from "test" on.
 *
 * Each scenario runs in its own process with its own temporary directory
 * (mount point or plain tree), so scenarios run in parallel safely.
 * Returns 0 when every scenario passed (or was skipped), 1 when one failed,
 * 2 for a usage error; with --skipped-exit N, N when every scenario was skipped.
 * With --list, print the scenarios' paths one per line instead and return 0.
 */
int fakesys_cmd_test(int argc, char **argv);

/**
 * fakesys_cmd_check() - `fakesys check SCENARIO|DIR...`: load each scenario
 * as `fakesys test` does (the loader's checks and runner_precheck()) without
 * serving it.  Prints each invalid scenario's first error
 * (file:line:column: key: what) on stderr and a summary line.
 * Returns 0 when all are valid, 1 when one is not, 2 for a usage error.
 */
int fakesys_cmd_check(int argc, char **argv);

struct scen;
/* A scenario file, or every *.yaml of a directory (sorted), appended to *@v. */
int runner_collect(const char *arg, struct scen **v, size_t *n);
void runner_scens_free(struct scen *v, size_t n);

#endif
