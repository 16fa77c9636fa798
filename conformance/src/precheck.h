/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a scenario's expect: block names that only the other parts can check. */
#ifndef CONFORMANCE_PRECHECK_H
#define CONFORMANCE_PRECHECK_H

#include <stddef.h>

#include <vfiokit/host_model.h>

#include "expect.h"

/**
 * runner_precheck() - check what fakesys's loader could check for its shape
 * only: every rule id of doctor: and validate: findings: is in the catalogue
 * (a VD id a vfio-doctor check, a VV id a vfio-validate rule), and
 * doctor_options: memory and memlock are sizes.  Done at load, before
 * anything is served or skipped: a typo (VD999) would otherwise be an
 * expectation that can only fail, or be missed on a machine that skips the
 * scenario.
 * Returns 0, or -EINVAL with "@path:line:column: key: what" in @note.
 */
int runner_precheck(const char *path, const struct vk_fakesys_expect *x, char *note, size_t len);

#endif
