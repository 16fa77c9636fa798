/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LD_PRELOAD shim for test_fuse_runner: the first close() of an FD on a VFIO
 * cdev (a path ending in /dev/vfio/devices/vfio0) is skipped, so that the
 * process leaks exactly that FD.  It proves that `fakesys test` notices an FD
 * left open by the set phase: a check that cannot fail proves nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_bool leaked;

int close(int fd)
{
	static int (*real_close)(int);
	char link[64], target[4096];
	const char *tail = "/dev/vfio/devices/vfio0";

	if (!real_close)
		real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		size_t k = strlen(tail);
		if ((size_t)n >= k && !strcmp(target + n - k, tail) && !atomic_exchange(&leaked, true))
			return 0;
	}
	return real_close(fd);
}
