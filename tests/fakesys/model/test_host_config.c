/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A device's config space in the model: stored zero-tailed (only up to its
 * last non-zero byte), read through vk_host_config_read() and
 * vk_host_config_byte() (zeros past the stored part), written through
 * vk_host_config_writable() (grows the storage) and replaced with
 * vk_host_config_set().
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <vfiokit/host_model.h>

#include "testutil.h"

static struct vk_host_model *load_ok(const char *yaml)
{
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};
	cr_assert_eq(vk_host_model_load_buffer("t.yaml", yaml, strlen(yaml), &m, &e), 0, "%s", e.msg);
	return m;
}

static const struct vk_host_device *dev(const struct vk_host_model *m, const char *addr)
{
	struct vk_pci_addr a;
	cr_assert_eq(vk_pci_addr_parse(addr, &a, NULL), 0);
	const struct vk_host_device *d = vk_host_model_find(m, &a);
	cr_assert_not_null(d, "%s", addr);
	return d;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

Test(host_config, a_synthesized_pcie_space_stores_only_up_to_its_last_nonzero_byte)
{
	struct vk_host_model *m = load_ok("version: 1\ndevices:\n"
	                                  "  - {address: 0000:00:01.0, vendor: 0x8086, device: 0x2030, class: 0x060400}\n"
	                                  "  - {address: 0000:01:00.0, parent: 0000:00:01.0, vendor: 0x144d, "
	                                  "device: 0xa80a, class: 0x010802, driver: nvme}\n");
	const struct vk_host_device *d = dev(m, "0000:01:00.0");
	uint8_t whole[4096];

	cr_assert_eq(d->config_len, 4096, "PCIe: the kernel shows 4096 bytes");
	/* the extended capabilities (AER at 0x100) are stored, the zeros after them not */
	cr_assert_gt(d->config_stored, 0x100);
	cr_assert_lt(d->config_stored, 1024, "%zu bytes stored of 4096", d->config_stored);
	cr_assert_neq(d->config[d->config_stored - 1], 0, "the stored part ends on a non-zero byte");
	memset(whole, 0xaa, sizeof(whole));
	vk_host_config_read(d, 0, whole, sizeof(whole));
	cr_assert_eq(memcmp(whole, d->config, d->config_stored), 0);
	cr_assert(all_zero(whole + d->config_stored, sizeof(whole) - d->config_stored), "the tail reads 0");
	cr_assert_eq(whole[0] | whole[1] << 8, 0x144d);
	cr_assert_eq(vk_host_config_byte(d, 0x0b), 0x01, "class byte");
	cr_assert_eq(vk_host_config_byte(d, 4095), 0);
	vk_host_model_free(m);
}

Test(host_config, a_read_across_the_stored_end_gives_the_bytes_then_zeros)
{
	struct vk_host_device d = {0};
	uint8_t bytes[8] = {1, 2, 3, 4, 5, 0, 0, 0}, got[6];

	cr_assert_eq(vk_host_config_set(&d, bytes, sizeof(bytes), 256), 0);
	cr_assert_eq(d.config_stored, 5, "the zero tail of what was given is not kept");
	cr_assert_eq(d.config_len, 256);
	memset(got, 0xaa, sizeof(got));
	vk_host_config_read(&d, 3, got, sizeof(got));
	cr_assert_eq(memcmp(got, (uint8_t[]){4, 5, 0, 0, 0, 0}, sizeof(got)), 0);
	memset(got, 0xaa, sizeof(got));
	vk_host_config_read(&d, 200, got, sizeof(got));
	cr_assert(all_zero(got, sizeof(got)), "wholly past the stored part");
	free(d.config);
}

Test(host_config, set_of_zeros_stores_nothing_and_set_checks_its_sizes)
{
	struct vk_host_device d = {0};
	uint8_t zeros[256] = {0}, b = 0;

	cr_assert_eq(vk_host_config_set(&d, zeros, sizeof(zeros), 4096), 0);
	cr_assert_null(d.config);
	cr_assert_eq(d.config_stored, 0);
	cr_assert_eq(d.config_len, 4096, "the size shown is kept apart from the size stored");
	vk_host_config_read(&d, 4095, &b, 1);
	cr_assert_eq(b, 0);
	cr_assert_eq(vk_host_config_set(&d, zeros, sizeof(zeros), 64), -EINVAL, "more bytes than the space has");
	cr_assert_eq(d.config_len, 4096, "a refused set changes nothing");
}

Test(host_config, writable_grows_the_storage_with_zeros)
{
	struct vk_host_device d = {0};
	uint8_t hdr[4] = {0x86, 0x80, 0x34, 0x12}, *p = NULL, got[4];

	cr_assert_eq(vk_host_config_set(&d, hdr, sizeof(hdr), 4096), 0);
	cr_assert_eq(vk_host_config_writable(&d, 0x100, 4, &p), 0);
	cr_assert_eq(d.config_stored, 0x104);
	cr_assert(all_zero(p, 4), "the new bytes are 0");
	cr_assert(all_zero(d.config + 4, 0x100 - 4), "and so are those between");
	memcpy(p, "\x01\x00\x02\x00", 4);
	vk_host_config_read(&d, 0x100, got, sizeof(got));
	cr_assert_eq(memcmp(got, "\x01\x00\x02\x00", 4), 0);
	cr_assert_eq(vk_host_config_byte(&d, 1), 0x80, "the bytes before are kept");
	/* inside the stored part: no growth */
	cr_assert_eq(vk_host_config_writable(&d, 2, 2, &p), 0);
	cr_assert_eq(p, d.config + 2);
	cr_assert_eq(d.config_stored, 0x104);
	/* the last bytes of the space, not one past them */
	cr_assert_eq(vk_host_config_writable(&d, 4092, 4, &p), 0);
	cr_assert_eq(d.config_stored, 4096);
	cr_assert_eq(vk_host_config_writable(&d, 4093, 4, &p), -ERANGE);
	cr_assert_eq(vk_host_config_writable(&d, 5000, 1, &p), -ERANGE);
	cr_assert_eq(vk_host_config_writable(&d, 1, SIZE_MAX, &p), -ERANGE, "no overflow of off + len");
	free(d.config);
}

Test(host_config, a_given_config_keeps_its_bytes_and_the_multifunction_bit)
{
	/* 64 bytes: a type 0 header whose tail is zeros; 00:05.1 makes 00:05.0 multifunction */
	struct vk_host_model *m = load_ok("version: 1\ndevices:\n  - address: 0000:00:05.0\n    config: |\n"
	                                  "      86 80 34 12 06 00 10 00 03 00 02 01 10 00 00 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 86 80 01 00\n"
	                                  "      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
	                                  "  - {address: 0000:00:05.1, vendor: 0x8086, device: 0x1235, class: 0x010200}\n");
	const struct vk_host_device *d = dev(m, "0000:00:05.0");

	cr_assert_eq(d->config_len, 256);
	cr_assert_eq(d->config_stored, 0x2f, "stored up to the subsystem id, its last non-zero byte");
	cr_assert_eq(vk_host_config_byte(d, 0x0e), 0x80, "set by the loader: 00:05.1 exists");
	cr_assert_eq(vk_host_config_byte(d, 0x2e), 0x01);
	vk_host_model_free(m);
}
