/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_VALIDATOR_INTERNAL_H
#define VFIOKIT_VALIDATOR_INTERNAL_H

#include <stddef.h>

/* Read a whole FD into a malloc'd, NUL-terminated buffer (one spare byte). */
int vk__read_all(int fd, char **out, size_t *len);

#endif
