/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The client side of a scenario, as the account of expect: user: (client.c). */
#ifndef CONFORMANCE_CLIENT_H
#define CONFORMANCE_CLIENT_H

#include "context.h"
#include "diff.h"

/*
 * Run @fn, the client side of a scenario (what the management layer or QEMU
 * does), in this process, or with expect: user: in a child process that has
 * become that account, so that the kernel checks the tree's modes and owners
 * as it would for an unprivileged QEMU.  The child's entries join @d.
 */
void runner_run_client(const struct run_ctx *c, void (*fn)(void *, struct diff *), struct diff *d);

#endif
