/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The expect: access: rules, against the access log of the set phase. */
#ifndef CONFORMANCE_ACCESS_H
#define CONFORMANCE_ACCESS_H

#include <sys/types.h>

#include <vfiokit/host_model.h>

#include "expect.h"

#include "diff.h"

/**
 * runner_check_access() - the expect: access: rules against the access log
 * @log (JSON lines, as `fakesys mount --log` writes them) between byte offsets
 * @from and @to: the records of the set phase.  Each rule not met becomes an
 * entry of @d, naming its line and listing the records it matched.
 */
void runner_check_access(const struct vk_fakesys_expect *x, const char *log, off_t from, off_t to, struct diff *d);

#endif
