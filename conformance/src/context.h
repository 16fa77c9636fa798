/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the checks of one scenario need: its model, its expectations, the served tree. */
#ifndef CONFORMANCE_CONTEXT_H
#define CONFORMANCE_CONTEXT_H

#include <vfiokit/host_model.h>
#include <vfiokit/root.h>

struct run_ctx {
	const struct vk_host_model *m;
	const struct vk_fakesys_expect *x;
	const struct vk_root *root;
	const char *log; /* the access log (expect: access:), or NULL */
	unsigned timeout;
};

#endif
