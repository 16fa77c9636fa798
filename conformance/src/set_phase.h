/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The set phase of a scenario: set:, access:, argv: resolver (set_phase.c). */
#ifndef CONFORMANCE_SET_PHASE_H
#define CONFORMANCE_SET_PHASE_H

#include "diff.h"

/*
 * The set phase: vk_vfio_set_open() of the set's devices as the management layer
 * would (all or nothing), then set:, access: and argv: resolver against it,
 * and no FD left behind either way.  A literal argv is validated here too.
 * @ctx is a struct run_ctx (the signature of a client function, client.h).
 */
void runner_set_phase(void *ctx, struct diff *d);

#endif
