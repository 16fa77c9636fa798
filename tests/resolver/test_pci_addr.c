/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <string.h>

#include <vfiokit/pci_addr.h>

Test(pci_addr, parses_long_short_vmd_and_case)
{
	struct vk_pci_addr a;
	char buf[VK_PCI_ADDR_STRLEN];

	cr_assert_eq(vk_pci_addr_parse("0000:06:00.0", &a, NULL), 0);
	cr_assert_str_eq(vk_pci_addr_format(&a, buf), "0000:06:00.0");
	cr_assert_eq(vk_pci_addr_parse("06:1F.7", &a, NULL), 0);
	cr_assert_str_eq(vk_pci_addr_format(&a, buf), "0000:06:1f.7");
	cr_assert_eq(vk_pci_addr_parse("10000:e0:06.0", &a, NULL), 0);
	cr_assert_eq(a.domain, 0x10000);
	cr_assert_str_eq(vk_pci_addr_format(&a, buf), "10000:e0:06.0");
	cr_assert_eq(vk_pci_addr_parse("ffffffff:ff:1f.7", &a, NULL), 0);
	cr_assert_str_eq(vk_pci_addr_format(&a, buf), "ffffffff:ff:1f.7");
	cr_assert_eq(strlen(buf) + 1, VK_PCI_ADDR_STRLEN);
}

Test(pci_addr, rejects_junk_with_a_reason)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
		{"", "empty"},
		{"0000:06:00", "slot"},
		{"0000:06:20.0", "out of range"},
		{"0000:06:00.8", "out of range"},
		{"0000:6:00.0", "bus"},
		{"0000:006:00.0", "bus"},
		{"100000000:00:00.0", "domain"},
		{"0000:06:00.0 ", "function"},
		{" 0000:06:00.0", "domain"},
		{"0000:06:00.0/..", "function"},
		{"../0000:06:00.0", "domain"},
		{"0000:0g:00.0", "bus"},
		{"0000:06:00.00", "function"},
		{"0000:06.00.0", "bus"},
		{"1:2:3:4.0", "not a PCI address"},
		{"nonsense", "not a PCI address"},
	};
	struct vk_pci_addr a;
	struct vk_error e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vk_error_clear(&e);
		cr_assert_eq(vk_pci_addr_parse(bad[i].in, &a, &e), -EINVAL, "'%s' accepted", bad[i].in);
		cr_assert(strstr(e.msg, bad[i].why), "'%s': message '%s' lacks '%s'", bad[i].in, e.msg, bad[i].why);
	}
}

Test(pci_addr, orders_by_domain_first)
{
	struct vk_pci_addr a, b;

	vk_pci_addr_parse("0000:e0:06.0", &a, NULL);
	vk_pci_addr_parse("10000:e0:06.0", &b, NULL);
	cr_assert_lt(vk_pci_addr_cmp(&a, &b), 0);
	cr_assert(!vk_pci_addr_equal(&a, &b));
	cr_assert(vk_pci_addr_equal(&a, &a));
}
