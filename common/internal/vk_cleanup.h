/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VK_CLEANUP_H
#define VK_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Scope-bound cleanup in the style of systemd's _cleanup_: every early return
 * frees what the scope owns, which is how error paths stay leak- and FD-free. */
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(vk_freep)
#define _cleanup_close_ _cleanup_(vk_closep)
#define _cleanup_fclose_ _cleanup_(vk_fclosep)
#define _cleanup_closedir_ _cleanup_(vk_closedirp)

static inline void vk_freep(void *p)
{
	free(*(void **)p);
}

/* close() preserving errno, so that a cleanup never clobbers the error being reported. */
static inline void vk_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void vk_fclosep(FILE **f)
{
	if (*f) {
		int saved = errno;
		fclose(*f);
		errno = saved;
	}
}

static inline void vk_closedirp(DIR **d)
{
	if (*d) {
		int saved = errno;
		closedir(*d);
		errno = saved;
	}
}

/* Hand ownership out of a cleanup-managed variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

#define VK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
