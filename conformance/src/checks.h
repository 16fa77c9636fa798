/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The expectations on the resolver, vfio-doctor and vfio-validate (checks.c). */
#ifndef CONFORMANCE_CHECKS_H
#define CONFORMANCE_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include <vfiokit/resolver.h>

#include "expect.h"

#include "context.h"
#include "diff.h"

/* The class of an open that failed with @err once the facts were fine. */
enum vk_fakesys_expect_class runner_class_of_errno(int err);

/* The class of a failed open, from the facts read and the errno (see
 * docs/scenario-format.md, "Resolver classes"). */
enum vk_fakesys_expect_class runner_class_of(const struct vk_pci_dev_facts *f, int err);

/* resolver: each device opened on its own with vk_vfio_device_open(); @ctx is a
 * struct run_ctx (the signature of a client function, client.h). */
void runner_check_resolver(void *ctx, struct diff *d);

/* doctor: and doctor_options: vfio-doctor's checks of the host. */
void runner_check_doctor(const struct run_ctx *c, struct diff *d);

/* vfio-validate's rules on @argv; with @live_fds (argv: resolver), also the live-FD rules. */
void runner_validate_argv(const struct run_ctx *c, size_t argc, char *const *argv, bool live_fds, struct diff *d);

/* argv: resolver: the command line the builder makes of @set, checked with
 * the set's FDs inheritable, as QEMU would get them. */
void runner_validate_set(const struct run_ctx *c, struct vk_vfio_set *set, struct diff *d);

#endif
