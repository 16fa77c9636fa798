/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VK_UTF8_H
#define VK_UTF8_H

#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at @s (RFC 3629: shortest form, no
 * surrogate, at most U+10FFFF), 0 when there is none; its code point in
 * *@cp_out when that is not NULL.  A NUL byte inside a sequence ends it (0), so
 * a C string is never read past its end.  The writers of formats whose parsers
 * refuse a whole file for one bad byte (JUnit XML, Prometheus text) use it. */
static inline size_t vk_utf8_char_len(const unsigned char *s, unsigned *cp_out)
{
	unsigned c = s[0], cp, min;
	size_t n;

	if (c < 0x80) {
		cp = c;
		n = 1;
		goto out;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
out:
	if (cp_out)
		*cp_out = cp;
	return n;
}

#endif
