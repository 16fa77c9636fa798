/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <vfiokit/pci_addr.h>

/* Read exactly 1..max hex digits; returns the number of digits consumed (0 on none
 * or on more than max digits, so "0000:001:00.0" is refused rather than truncated). */
static size_t hex_field(const char *s, size_t max, uint32_t *out)
{
	size_t n = 0;
	uint32_t v = 0;

	while (isxdigit((unsigned char)s[n])) {
		if (n == max)
			return 0;
		v = v * 16 + (uint32_t)(isdigit((unsigned char)s[n]) ? s[n] - '0'
		                                                     : tolower((unsigned char)s[n]) - 'a' + 10);
		n++;
	}
	*out = v;
	return n;
}

int vk_pci_addr_parse(const char *s, struct vk_pci_addr *out, struct vk_error *err)
{
	uint32_t f[4] = {0};
	size_t len, pos = 0;
	int colons = 0;

	if (!s || !*s)
		return vk_error_set(err, EINVAL, "empty PCI address (expected DDDD:BB:SS.F)");
	for (const char *p = s; *p; p++)
		colons += *p == ':';
	if (colons != 1 && colons != 2)
		return vk_error_set(err, EINVAL,
		                    "'%s' is not a PCI address: expected DDDD:BB:SS.F or BB:SS.F", s);

	if (colons == 2) {
		len = hex_field(s, 8, &f[0]);
		if (len == 0 || s[len] != ':')
			return vk_error_set(err, EINVAL,
			                    "'%s': the domain must be 1 to 8 hex digits followed by ':'", s);
		pos = len + 1;
	}
	len = hex_field(s + pos, 2, &f[1]);
	if (len != 2 || s[pos + len] != ':')
		return vk_error_set(err, EINVAL, "'%s': the bus must be exactly 2 hex digits followed by ':'", s);
	pos += len + 1;
	len = hex_field(s + pos, 2, &f[2]);
	if (len != 2 || s[pos + len] != '.')
		return vk_error_set(err, EINVAL, "'%s': the slot must be exactly 2 hex digits followed by '.'", s);
	if (f[2] > 0x1f)
		return vk_error_set(err, EINVAL, "'%s': slot 0x%02x is out of range (0x00-0x1f)", s, f[2]);
	pos += len + 1;
	len = hex_field(s + pos, 1, &f[3]);
	if (len != 1 || s[pos + len] != '\0')
		return vk_error_set(err, EINVAL, "'%s': the function must be one digit 0-7 at the end", s);
	if (f[3] > 7)
		return vk_error_set(err, EINVAL, "'%s': function %u is out of range (0-7)", s, f[3]);

	out->domain = f[0];
	out->bus = (uint8_t)f[1];
	out->slot = (uint8_t)f[2];
	out->function = (uint8_t)f[3];
	return 0;
}

char *vk_pci_addr_format(const struct vk_pci_addr *a, char buf[static VK_PCI_ADDR_STRLEN])
{
	snprintf(buf, VK_PCI_ADDR_STRLEN, "%04x:%02x:%02x.%x", a->domain, a->bus, a->slot, a->function);
	return buf;
}

int vk_pci_addr_cmp(const struct vk_pci_addr *a, const struct vk_pci_addr *b)
{
	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	if (a->bus != b->bus)
		return a->bus < b->bus ? -1 : 1;
	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	if (a->function != b->function)
		return a->function < b->function ? -1 : 1;
	return 0;
}

bool vk_pci_addr_equal(const struct vk_pci_addr *a, const struct vk_pci_addr *b)
{
	return vk_pci_addr_cmp(a, b) == 0;
}
