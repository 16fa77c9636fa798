/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VK_STRV_H
#define VK_STRV_H

#include <stdlib.h>
#include <string.h>

/* qsort()/bsearch() comparator of an array of strings (char *). */
static inline int vk_strptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Free the @n strings of @v and @v itself; NULL with 0 is allowed. */
static inline void vk_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

#endif
