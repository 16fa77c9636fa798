/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QEMU arguments in both syntaxes, VMD domains, escaping, legacy form. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include <vfiokit/qemu_argv.h>

static struct vk_vfio_opened dev(const char *bdf, int fd)
{
	struct vk_vfio_opened o = {.fd = fd, .iommu_group = 12};
	cr_assert_eq(vk_pci_addr_parse(bdf, &o.addr, NULL), 0);
	vk_pci_addr_format(&o.addr, o.bdf);
	return o;
}

static void expect(const struct vk_vfio_set *s, enum vk_qemu_syntax syn, unsigned flags, const char *const *want)
{
	struct vk_qemu_argv a;
	struct vk_error e;
	size_t n = 0;

	cr_assert_eq(vk_qemu_argv_build(s, syn, flags, &a, &e), 0, "%s", e.msg);
	while (want[n])
		n++;
	cr_assert_eq(a.argc, n, "argc %zu, want %zu", a.argc, n);
	cr_assert_null(a.argv[a.argc]);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(a.argv[i], want[i], "argv[%zu]", i);
	vk_qemu_argv_free(&a);
	vk_qemu_argv_free(&a);
}

Test(argv, keyval_and_json_for_a_cdev_set)
{
	struct vk_vfio_opened d[] = {dev("0000:06:00.0", 22), dev("0000:06:00.1", 23)};
	struct vk_vfio_set s = {.iommufd = 21, .n = 2, .dev = d};

	expect(&s, VK_QEMU_SYNTAX_KEYVAL, 0,
	       (const char *const[]){"-object", "iommufd,id=iommufd0,fd=21", "-device",
	                             "vfio-pci,host=0000:06:00.0,id=hostdev0,iommufd=iommufd0,fd=22", "-device",
	                             "vfio-pci,host=0000:06:00.1,id=hostdev1,iommufd=iommufd0,fd=23", NULL});
	expect(&s, VK_QEMU_SYNTAX_JSON, 0,
	       (const char *const[]){
		       "-object", "{\"qom-type\":\"iommufd\",\"id\":\"iommufd0\",\"fd\":\"21\"}", "-device",
		       "{\"driver\":\"vfio-pci\",\"host\":\"0000:06:00.0\",\"id\":\"hostdev0\",\"iommufd\":\"iommufd0\","
		       "\"fd\":\"22\"}",
		       "-device",
		       "{\"driver\":\"vfio-pci\",\"host\":\"0000:06:00.1\",\"id\":\"hostdev1\",\"iommufd\":\"iommufd0\","
		       "\"fd\":\"23\"}",
		       NULL});
	expect(&s, VK_QEMU_SYNTAX_JSON, VK_QEMU_ARGV_NO_HOST,
	       (const char *const[]){
		       "-object", "{\"qom-type\":\"iommufd\",\"id\":\"iommufd0\",\"fd\":\"21\"}", "-device",
		       "{\"driver\":\"vfio-pci\",\"id\":\"hostdev0\",\"iommufd\":\"iommufd0\",\"fd\":\"22\"}", "-device",
		       "{\"driver\":\"vfio-pci\",\"id\":\"hostdev1\",\"iommufd\":\"iommufd0\",\"fd\":\"23\"}", NULL});
}

Test(argv, vmd_domain_gets_fd_alone_and_its_twin_keeps_host)
{
	struct vk_vfio_opened d[] = {dev("10000:e0:06.0", 4), dev("0000:e0:06.0", 5)};
	struct vk_vfio_set s = {.iommufd = 3, .n = 2, .dev = d};

	expect(&s, VK_QEMU_SYNTAX_KEYVAL, 0,
	       (const char *const[]){"-object", "iommufd,id=iommufd0,fd=3", "-device",
	                             "vfio-pci,id=hostdev0,iommufd=iommufd0,fd=4", "-device",
	                             "vfio-pci,host=0000:e0:06.0,id=hostdev1,iommufd=iommufd0,fd=5", NULL});
}

Test(argv, legacy_form_without_fds)
{
	struct vk_vfio_opened d[] = {dev("0000:06:00.0", -1), dev("10000:e0:06.0", -1)};
	struct vk_vfio_set s = {.iommufd = -1, .n = 2, .dev = d};

	expect(&s, VK_QEMU_SYNTAX_KEYVAL, 0,
	       (const char *const[]){"-device", "vfio-pci,host=0000:06:00.0,id=hostdev0", "-device",
	                             "vfio-pci,sysfsdev=/sys/bus/pci/devices/10000:e0:06.0,id=hostdev1", NULL});
	expect(&s, VK_QEMU_SYNTAX_JSON, 0,
	       (const char *const[]){"-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:06:00.0\",\"id\":\"hostdev0\"}",
	                             "-device",
	                             "{\"driver\":\"vfio-pci\",\"sysfsdev\":\"/sys/bus/pci/devices/10000:e0:06.0\","
	                             "\"id\":\"hostdev1\"}",
	                             NULL});
}

Test(argv, keyval_escaping_and_json_values_are_strings)
{
	char *e = vk_qemu_keyval_escape("a,b,,c");
	cr_assert_str_eq(e, "a,,b,,,,c");
	free(e);
	e = vk_qemu_keyval_escape("");
	cr_assert_str_eq(e, "");
	free(e);

	struct vk_vfio_opened d[] = {dev("0000:06:00.0", 22)};
	struct vk_vfio_set s = {.iommufd = 21, .n = 1, .dev = d};
	struct vk_qemu_argv a;
	cr_assert_eq(vk_qemu_argv_build(&s, VK_QEMU_SYNTAX_JSON, 0, &a, NULL), 0);
	json_t *j = json_loads(a.argv[3], 0, NULL);
	cr_assert_not_null(j);
	cr_assert(json_is_string(json_object_get(j, "fd")));
	cr_assert(json_is_string(json_object_get(j, "host")));
	json_decref(j);
	vk_qemu_argv_free(&a);

	struct vk_vfio_set empty = {.iommufd = 3};
	struct vk_error err;
	cr_assert_eq(vk_qemu_argv_build(&empty, VK_QEMU_SYNTAX_KEYVAL, 0, &a, &err), -EINVAL);
}
