/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_DOCTOR_INTERNAL_H
#define VFIOKIT_DOCTOR_INTERNAL_H

#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <vfiokit/doctor.h>
#include <vfiokit/root.h>

/* Return from the calling function when @x (a report addition) fails. */
#define TRY(x) \
	do { \
		int _r = (x); \
		if (_r < 0) \
			return _r; \
	} while (0)

/* Read a small file under the root with the resolver's vk_root_read() (a regular
 * file only, never blocking; what does not fit in @buf is dropped), trailing
 * newlines/spaces stripped; length or -errno, with the reason in @why (may be NULL). */
long vk__doc_read_why(const struct vk_root *root, const char *rel, char *buf, size_t len, struct vk_error *why);
long vk__doc_read(const struct vk_root *root, const char *rel, char *buf, size_t len);

/* fstat() of an O_PATH open under the root (symlinks followed inside it). */
int vk__doc_stat(const struct vk_root *root, const char *rel, struct stat *st);

/* The path a user would type for @rel. */
const char *vk__doc_path(const struct vk_root *root, const char *rel, char *buf, size_t len);

/* Names in a directory under the root (no dot entries); free with vk__doc_list_free(). */
int vk__doc_list(const struct vk_root *root, const char *rel, char ***names, size_t *n);
void vk__doc_list_free(char **names, size_t n);

/* Evidence "<path>" or "<path>: <what>" on the last check. */
int vk__doc_evidence_path(struct vk_doctor_report *rep, const struct vk_root *root, const char *rel,
                          const char *what);

/* "uid 0 gid 0 mode 0600, char device 511:0" / "..., stand-in file". */
int vk__doc_node_desc(const struct stat *st, char *buf, size_t len);

/* "qemu (uid 107)" or "uid 4242". */
int vk__doc_user_desc(const struct vk_doctor_user *u, char *buf, size_t len);

/* qsort() comparator for char * arrays. */
static inline int vk__doc_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#endif
