/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VK_PATH_H
#define VK_PATH_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * The first executable @prog in the colon-separated directories of
 * @search_path (as execvp() would take it, but an empty entry is skipped
 * rather than meaning the working directory), into @buf.  Returns 0, or
 * -ENOENT with @buf empty.  NULL @search_path searches nothing.
 */
static inline int vk_path_search(const char *search_path, const char *prog, char *buf, size_t len)
{
	for (const char *d = search_path; d && *d;) {
		const char *e = strchrnul(d, ':');
		if (e > d && (size_t)snprintf(buf, len, "%.*s/%s", (int)(e - d), d, prog) < len && access(buf, X_OK) == 0)
			return 0;
		d = *e ? e + 1 : e;
	}
	if (len)
		buf[0] = '\0';
	return -ENOENT;
}

#endif
