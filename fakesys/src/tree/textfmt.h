/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hand formatters for the tree build's per-device text: the few printf
 * conversions sysfs attributes use (%0Nx, %Nx, %X, %u, %d, a PCI address),
 * appended to a fixed buffer.  At 50,000 devices the build formats some
 * forty strings a device; vsnprintf's format parsing was a fifth of the
 * build (issue 17).  The output is printf's, byte for byte
 * (tests/fakesys/model/test_attr_text.c holds the attributes against it).
 */
#ifndef VFIOKIT_TEXTFMT_H
#define VFIOKIT_TEXTFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vfiokit/host_model.h>
#include <vfiokit/pci_addr.h>

/* Text being put together in @buf (@cap bytes); @len grows past @cap when it
 * does not fit, and then tf_end() says so. */
struct textfmt {
	char *buf;
	size_t len, cap;
};

#define TEXTFMT(b) ((struct textfmt){.buf = (b), .len = 0, .cap = sizeof(b)})

static inline void tf_mem(struct textfmt *f, const char *s, size_t n)
{
	if (f->len < f->cap && n <= f->cap - f->len)
		memcpy(f->buf + f->len, s, n);
	f->len += n;
}

static inline void tf_str(struct textfmt *f, const char *s)
{
	tf_mem(f, s, strlen(s));
}

static inline void tf_ch(struct textfmt *f, char c)
{
	tf_mem(f, &c, 1);
}

/* Digits of @v in @base (16 or 10), at least @width of them padded with
 * @pad ('0' for %0Nx, ' ' for %Nx and %Nu); @upper for %X. */
static inline void tf_num(struct textfmt *f, uint64_t v, unsigned base, unsigned width, char pad, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = digits[v % base];
		v /= base;
	} while (v);
	while (sizeof(tmp) - n < width && n > 0)
		tmp[--n] = pad;
	tf_mem(f, tmp + n, sizeof(tmp) - n);
}

/* %0Nx (@width 0: %x) */
static inline void tf_hex(struct textfmt *f, uint64_t v, unsigned width)
{
	tf_num(f, v, 16, width, '0', false);
}

/* %0NX */
static inline void tf_hex_upper(struct textfmt *f, uint64_t v, unsigned width)
{
	tf_num(f, v, 16, width, '0', true);
}

/* %u, %zu, %llu */
static inline void tf_udec(struct textfmt *f, uint64_t v)
{
	tf_num(f, v, 10, 0, ' ', false);
}

/* %d, %lld */
static inline void tf_dec(struct textfmt *f, int64_t v)
{
	if (v < 0)
		tf_ch(f, '-');
	tf_udec(f, v < 0 ? -(uint64_t)v : (uint64_t)v);
}

/* vk_pci_addr_format()'s "%04x:%02x:%02x.%x" */
static inline void tf_pci_addr(struct textfmt *f, const struct vk_pci_addr *a)
{
	tf_hex(f, a->domain, 4);
	tf_ch(f, ':');
	tf_hex(f, a->bus, 2);
	tf_ch(f, ':');
	tf_hex(f, a->slot, 2);
	tf_ch(f, '.');
	tf_hex(f, a->function, 0);
}

/* modalias_show() (drivers/pci/pci-sysfs.c) without its newline:
 * "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X" */
static inline void tf_pci_modalias(struct textfmt *f, const struct vk_host_device *d)
{
	tf_str(f, "pci:v");
	tf_hex_upper(f, d->vendor, 8);
	tf_ch(f, 'd');
	tf_hex_upper(f, d->device, 8);
	tf_str(f, "sv");
	tf_hex_upper(f, d->subsystem_vendor, 8);
	tf_str(f, "sd");
	tf_hex_upper(f, d->subsystem_device, 8);
	tf_str(f, "bc");
	tf_hex_upper(f, d->class_code >> 16, 2);
	tf_str(f, "sc");
	tf_hex_upper(f, (d->class_code >> 8) & 0xff, 2);
	tf_ch(f, 'i');
	tf_hex_upper(f, d->class_code & 0xff, 2);
}

/* pci_uevent() (drivers/pci/pci-driver.c), DRIVER= from the driver core:
 * "%s%s%sPCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\n"
 * "PCI_SLOT_NAME=%s\nMODALIAS=%s\n" */
static inline void tf_pci_uevent(struct textfmt *f, const struct vk_host_device *d)
{
	if (d->driver) {
		tf_str(f, "DRIVER=");
		tf_str(f, d->driver);
		tf_ch(f, '\n');
	}
	tf_str(f, "PCI_CLASS=");
	tf_hex_upper(f, d->class_code, 0);
	tf_str(f, "\nPCI_ID=");
	tf_hex_upper(f, d->vendor, 4);
	tf_ch(f, ':');
	tf_hex_upper(f, d->device, 4);
	tf_str(f, "\nPCI_SUBSYS_ID=");
	tf_hex_upper(f, d->subsystem_vendor, 4);
	tf_ch(f, ':');
	tf_hex_upper(f, d->subsystem_device, 4);
	tf_str(f, "\nPCI_SLOT_NAME=");
	tf_pci_addr(f, &d->addr);
	tf_str(f, "\nMODALIAS=");
	tf_pci_modalias(f, d);
	tf_ch(f, '\n');
}

/* The length, the text NUL-terminated; -1 when it did not fit (with its NUL). */
static inline int tf_end(struct textfmt *f)
{
	if (f->len >= f->cap || f->len > INT32_MAX)
		return -1;
	f->buf[f->len] = '\0';
	return (int)f->len;
}

/* vk_pci_addr_format() without the format string, into @buf. */
static inline char *tf_pci_addr_str(const struct vk_pci_addr *a, char buf[VK_PCI_ADDR_STRLEN])
{
	struct textfmt f = {.buf = buf, .cap = VK_PCI_ADDR_STRLEN};

	tf_pci_addr(&f, a);
	(void)tf_end(&f); /* fits: a 32-bit domain has at most 8 digits */
	return buf;
}

#endif
