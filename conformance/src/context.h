/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the checks of one scenario need: its scenario and model, its expectations, the served tree. */
#ifndef CONFORMANCE_CONTEXT_H
#define CONFORMANCE_CONTEXT_H

#include <vfiokit/host_model.h>
#include <vfiokit/root.h>

#include "expect.h"

struct run_ctx {
	const struct vk_fakesys_scenario *sc; /* the scenario: host, faults, steps */
	const struct vk_host_model *m;        /* sc->host */
	const struct vk_fakesys_expect *x;
	const struct vk_root *root;
	const char *log; /* the access log (expect: access:), or NULL */
	unsigned timeout;
};

#endif
