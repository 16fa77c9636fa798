/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_ERROR_H
#define VFIOKIT_ERROR_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Errors across vfiokit are a negative errno returned by the function plus a
 * human message in a caller-provided struct vk_error.  The message names the
 * place (file:line:column, path, device) and, where there is one, the fix.
 * A NULL struct pointer is allowed: the caller then only gets the errno.
 */
struct vk_error {
	int code; /* positive errno of the first error, 0 when none */
	char msg[1024];
};

/* Record an error; returns -code so that callers can `return vk_error_set(...)`. */
static inline int __attribute__((format(printf, 3, 4)))
vk_error_set(struct vk_error *e, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EINVAL;
	if (e) {
		va_list ap;
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

/* Reset an error struct before reuse. */
static inline void vk_error_clear(struct vk_error *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

#ifdef __cplusplus
}
#endif

#endif
