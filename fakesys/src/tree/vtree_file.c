/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a file of the tree reads: its stored bytes, then a tail that is not
 * stored (vt_node.kern's tail bits): zeros, or the last stored line over and
 * over.  Most of a device's 4096 bytes of config space are zeros, and most of
 * its `resource` lines are the all-zero one: at 50,000 devices each tail
 * kind saves a few hundred bytes a device.  Every reader goes through
 * vk_vt_file_read() or vk_vt_file_same().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tree/vtree_internal.h"

/* Config space, the one user: 4096 bytes of which a PCIe device without
 * SR-IOV uses about 0x150; the header's 256 stay whole for the readers that
 * look at them in place (the per-reader snapshot of 64 or 128 bytes). */
#define ZERO_TAIL_MIN 256

#define ZERO_BLOCK 64

/* The ZERO_BLOCK bytes at @b are all zero (a loop the compiler vectorizes). */
static bool all_zero(const uint8_t *b)
{
	uint8_t any = 0;

	for (size_t i = 0; i < ZERO_BLOCK; i++)
		any |= b[i];
	return any == 0;
}

struct vk_vt_node *vk_vtree_add_file_zero_tail(struct vtree *t, struct vk_vt_node *dir, const char *name,
                                               const void *data, size_t len, uint32_t mode)
{
	const uint8_t *b = data;
	size_t stored = len;

	/* a block at a time first: most of the 4096 bytes are zeros, and a byte
	 * at a time this scan was a twentieth of building 50,000 devices */
	while (stored >= ZERO_TAIL_MIN + ZERO_BLOCK && all_zero(b + stored - ZERO_BLOCK))
		stored -= ZERO_BLOCK;
	while (stored > ZERO_TAIL_MIN && b[stored - 1] == 0)
		stored--;
	return vt_add_file(t, dir, name, data, len, stored, 0, mode);
}

/* Where the line that ends at @end (exclusive, its '\n' included) starts in @b. */
static size_t line_start(const uint8_t *b, size_t end)
{
	const uint8_t *nl = end > 1 ? memrchr(b, '\n', end - 1) : NULL;

	return nl ? (size_t)(nl - b) + 1 : 0;
}

/* How many bytes of @b (@len) to store when the rest repeats the last one:
 * up to the end of the first of its equal last lines; @len when it does not
 * end in a line that repeats. */
static size_t line_tail_stored(const uint8_t *b, size_t len)
{
	if (!len || b[len - 1] != '\n')
		return len;
	size_t start = line_start(b, len), l = len - start;
	/* whole lines only: the one before must end where this one starts */
	while (start >= l && !memcmp(b + start - l, b + start, l) && line_start(b, start) == start - l)
		start -= l;
	return start + l;
}

struct vk_vt_node *vk_vtree_add_file_line_tail(struct vtree *t, struct vk_vt_node *dir, const char *name,
                                               const void *data, size_t len, uint32_t mode)
{
	size_t stored = line_tail_stored(data, len);

	return vt_add_file(t, dir, name, data, len, stored, stored < len ? VK_VT_K_LINE_TAIL : 0, mode);
}

/* @len bytes of the tail of file @n from @off (past its stored bytes). */
static void read_tail(const struct vk_vt_node *n, uint64_t off, uint8_t *buf, size_t len)
{
	size_t stored = n->u.file.stored;

	if (!(n->kern & VK_VT_K_LINE_TAIL) || !stored) {
		memset(buf, 0, len);
		return;
	}
	size_t start = line_start(n->u.file.data, stored), l = stored - start;
	size_t at = (size_t)((off - stored) % l);
	while (len) {
		size_t k = l - at < len ? l - at : len;
		memcpy(buf, n->u.file.data + start + at, k);
		buf += k;
		len -= k;
		at = 0;
	}
}

size_t vk_vt_file_read(const struct vk_vt_node *n, uint64_t off, void *buf, size_t len)
{
	size_t flen = n->type == VK_VT_FILE ? n->u.file.len : 0;

	if (off >= flen)
		return 0;
	if (len > flen - off)
		len = flen - (size_t)off;
	size_t from_data = off < n->u.file.stored ? n->u.file.stored - (size_t)off : 0;
	if (from_data > len)
		from_data = len;
	if (from_data)
		memcpy(buf, n->u.file.data + off, from_data);
	if (len > from_data)
		read_tail(n, off + from_data, (uint8_t *)buf + from_data, len - from_data);
	return len;
}

/* Files @a and @b read the same, compared a block at a time. */
static bool read_same(const struct vk_vt_node *a, const struct vk_vt_node *b)
{
	uint8_t x[512], y[512];

	for (uint64_t off = 0; off < a->u.file.len; off += sizeof(x)) {
		size_t k = vk_vt_file_read(a, off, x, sizeof(x));
		if (vk_vt_file_read(b, off, y, sizeof(y)) != k || memcmp(x, y, k))
			return false;
	}
	return true;
}

bool vk_vt_file_same(const struct vk_vt_node *a, const struct vk_vt_node *b)
{
	if (a->u.file.len != b->u.file.len)
		return false;
	/* stored alike (a rebuilt tree's files): the tail follows from the bytes */
	if (a->u.file.stored == b->u.file.stored && !((a->kern ^ b->kern) & VK_VT_K_TAIL_MASK))
		return !memcmp(a->u.file.data, b->u.file.data, a->u.file.stored);
	if ((a->kern | b->kern) & VK_VT_K_LINE_TAIL)
		return read_same(a, b);
	/* zero tails or none: the stored bytes, then zeros in the longer one */
	const struct vk_vt_node *longer = a->u.file.stored > b->u.file.stored ? a : b;
	uint32_t common = a->u.file.stored < b->u.file.stored ? a->u.file.stored : b->u.file.stored;

	if (memcmp(a->u.file.data, b->u.file.data, common))
		return false;
	for (uint32_t i = common; i < longer->u.file.stored; i++)
		if (longer->u.file.data[i])
			return false;
	return true;
}
