/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Serving one scenario and checking it, in the child that runs it (serve.c). */
#ifndef CONFORMANCE_SERVE_H
#define CONFORMANCE_SERVE_H

/* How to serve: a FUSE mount when /dev/fuse is usable (auto), always, or a plain tree. */
enum { MODE_AUTO,
       MODE_FUSE,
       MODE_PLAIN };

/**
 * runner_serve_one() - run one scenario in this (child) process.
 * @path:    the scenario file.
 * @dir:     its own empty temporary directory (mount point, plain tree, log).
 * @mode:    MODE_*.
 * @timeout: seconds; a user: client process is killed after as long.
 * @result:  the file the result is written to (result.h).
 *
 * Returns 0 once the result is written, -errno when it could not be.
 */
int runner_serve_one(const char *path, const char *dir, int mode, unsigned timeout, const char *result);

#endif
