/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <string.h>

#include <vfiokit/validator.h>

/* Check a NULL-terminated argument list against QEMU @ver; returns the report. */
static struct vk_report check_v(const char *ver, const char *first, ...)
{
	const char *argv[64];
	size_t n = 0;
	va_list ap;
	struct vk_qc_cmdline *c = NULL;
	struct vk_qemu_caps caps;
	struct vk_report r = {0};
	struct vk_error e = {0};

	va_start(ap, first);
	for (const char *a = first; a && n < 63; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	cr_assert_eq(vk_qc_parse_argv(n, (char *const *)argv, NULL, 0, &c, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_qemu_caps_builtin(ver, &caps, &e), 0);
	cr_assert_eq(vk_check_cmdline(c, &caps, &r, &e), 0);
	vk_qc_cmdline_free(c);
	return r;
}
#define check(...) check_v(NULL, __VA_ARGS__, NULL)

static void expect(const char *rule, struct vk_report r, bool present)
{
	const struct vk_finding *f = vk_report_find(&r, rule);
	if (present)
		cr_assert_not_null(f, "expected %s", rule);
	else
		cr_assert_null(f, "unexpected %s: %s", rule, f ? f->message : "");
	vk_report_clear(&r);
}

#define IOMMUFD "-object", "iommufd,id=iommufd0"

Test(rules, catalogue_ids_unique)
{
	size_t n;
	const struct vk_rule *r = vk_rules(&n);
	for (size_t i = 0; i < n; i++) {
		cr_assert(r[i].id && r[i].name && r[i].title && r[i].hint && r[i].source);
		for (size_t j = 0; j < i; j++) {
			cr_assert_str_neq(r[i].id, r[j].id);
			cr_assert_str_neq(r[i].name, r[j].name);
		}
		cr_assert_eq(vk_rule_find(r[i].name), &r[i]);
	}
	struct vk_report rep = {0};
	cr_assert_eq(vk_report_add(&rep, "VV999", NULL, -1, 0, NULL, NULL, "x"), -EINVAL);
}

Test(rules, VV001_no_host)
{
	expect("VV001", check("-device", "vfio-pci,id=h0"), true);
	expect("VV001", check("-device", "{\"driver\":\"vfio-pci\",\"id\":\"h0\"}"), true);
	expect("VV001", check("-device", "vfio-pci,host=06:00.0"), false);
	expect("VV001", check("-device", "vfio-pci,sysfsdev=/sys/bus/mdev/devices/x"), false);
	expect("VV001", check(IOMMUFD, "-device", "vfio-pci,fd=22,iommufd=iommufd0"), false);
	expect("VV001", check("-device", "virtio-net-pci,id=n"), false);
}

Test(rules, VV002_host_and_sysfsdev)
{
	expect("VV002", check("-device", "vfio-pci,host=06:00.0,sysfsdev=/sys/bus/pci/devices/0000:07:00.0"), true);
	expect("VV002", check("-device", "vfio-pci,sysfsdev=/sys/bus/pci/devices/0000:07:00.0"), false);
}

Test(rules, VV003_VV004_host_address)
{
	expect("VV003", check("-device", "vfio-pci,host=06:00"), true);
	expect("VV003", check("-device", "vfio-pci,host=0000:06:20.0"), true);
	expect("VV003", check("-device", "vfio-pci,host=0000:06:00.8"), true);
	expect("VV003", check("-device", "vfio-pci,host=0000:100:00.0"), true);
	expect("VV003", check("-device", "vfio-pci,host=0000:06:00.0x"), true);
	expect("VV003", check("-device", "vfio-pci,host=ffff:06:1f.7"), false);
	expect("VV003", check("-device", "vfio-pci,host=06:00.0"), false);
	expect("VV004", check("-device", "vfio-pci,host=10000:e0:06.0"), true);
	expect("VV003", check("-device", "vfio-pci,host=10000:e0:06.0"), false);
	expect("VV004", check("-device", "vfio-pci,sysfsdev=/sys/bus/pci/devices/10000:e0:06.0"), false);
}

Test(rules, VV005_fd_without_iommufd)
{
	struct vk_report r = check("-device", "vfio-pci,fd=22");
	const struct vk_finding *f = vk_report_find(&r, "VV005");
	cr_assert_not_null(f);
	cr_assert(strstr(f->message, "Use FD passing only with iommufd backend"));
	vk_report_clear(&r);
	expect("VV005", check(IOMMUFD, "-device", "vfio-pci,fd=22,iommufd=iommufd0"), false);
}

Test(rules, VV006_iommufd_unknown)
{
	expect("VV006", check("-device", "vfio-pci,host=06:00.0,iommufd=iommufd0"), true);
	expect("VV006", check("-object", "memory-backend-ram,id=iommufd0,size=1G", "-device", "vfio-pci,host=06:00.0,iommufd=iommufd0"), true);
	expect("VV006", check(IOMMUFD, "-device", "vfio-pci,host=06:00.0,iommufd=iommufd0"), false);
}

Test(rules, VV007_duplicate_id)
{
	expect("VV007", check("-device", "vfio-pci,host=06:00.0,id=a", "-device", "e1000,id=a"), true);
	expect("VV007", check(IOMMUFD, IOMMUFD), true);
	expect("VV007", check("-device", "e1000,id=a", "-object", "iommufd,id=a"), false);
}

Test(rules, VV008_duplicate_host)
{
	expect("VV008", check("-device", "vfio-pci,host=06:00.0", "-device", "vfio-pci,host=0000:06:00.0"), true);
	expect("VV008", check("-device", "vfio-pci,host=06:00.0", "-device", "vfio-pci,sysfsdev=/sys/bus/pci/devices/0000:06:00.0"), true);
	expect("VV008", check("-device", "vfio-pci,host=06:00.0", "-device", "vfio-pci,host=06:00.1"), false);
}

Test(rules, VV009_duplicate_fd)
{
	expect("VV009", check(IOMMUFD, "-device", "vfio-pci,fd=22,iommufd=iommufd0", "-device", "vfio-pci,fd=22,iommufd=iommufd0"), true);
	expect("VV009", check("-object", "iommufd,id=iommufd0,fd=22", "-device", "vfio-pci,fd=22,iommufd=iommufd0"), true);
	expect("VV009", check("-object", "iommufd,id=iommufd0,fd=21", "-device", "vfio-pci,fd=22,iommufd=iommufd0"),
	       false);
}

Test(rules, VV010_fdset)
{
	expect("VV010", check("-add-fd", "fd=5,set=1", IOMMUFD, "-device", "vfio-pci,fd=/dev/fdset/1,iommufd=iommufd0"), true);
	expect("VV010", check("-add-fd", "fd=5,set=1", "-object", "iommufd,id=i,fd=/dev/fdset/1"), true);
	expect("VV010", check(IOMMUFD, "-device", "vfio-pci,fd=5,iommufd=iommufd0"), false);
}

Test(rules, VV011_named_fd)
{
	expect("VV011", check(IOMMUFD, "-device", "vfio-pci,fd=dev0,iommufd=iommufd0"), true);
	expect("VV011", check(IOMMUFD, "-device", "vfio-pci,fd=7,iommufd=iommufd0"), false);
}

Test(rules, VV012_json_types)
{
	expect("VV012", check(IOMMUFD, "-device", "{\"driver\":\"vfio-pci\",\"fd\":22,\"iommufd\":\"iommufd0\"}"), true);
	expect("VV012", check("-object", "{\"qom-type\":\"iommufd\",\"id\":\"i\",\"fd\":3}"), true);
	expect("VV012", check(IOMMUFD, "-device", "{\"driver\":\"vfio-pci\",\"fd\":\"22\",\"iommufd\":\"iommufd0\",\"bootindex\":1}"), false);
}

Test(rules, VV013_qemu_version)
{
	struct vk_report r = check_v("7.2", IOMMUFD, "-device", "vfio-pci,fd=22,iommufd=iommufd0", NULL);
	const struct vk_finding *f = vk_report_find(&r, "VV013");
	cr_assert_not_null(f);
	cr_assert(strstr(f->message, "QEMU 7.2") && strstr(f->message, "9.0"), "%s", f->message);
	cr_assert_eq(vk_report_count(&r, VK_SEV_ERROR), 3, "object, fd=, iommufd=");
	vk_report_clear(&r);
	expect("VV013", check_v("9.0", IOMMUFD, "-device", "vfio-pci,fd=22,iommufd=iommufd0", NULL), false);
	expect("VV013", check_v("6.1", "-device", "{\"driver\":\"vfio-pci\",\"host\":\"06:00.0\"}", NULL), true);
	expect("VV013", check_v("6.2", "-device", "{\"driver\":\"vfio-pci\",\"host\":\"06:00.0\"}", NULL), false);
	expect("VV013", check_v("5.2", "-object", "{\"qom-type\":\"secret\",\"id\":\"s\",\"data\":\"x\"}", NULL), true);
	expect("VV013", check_v("6.0", "-object", "{\"qom-type\":\"secret\",\"id\":\"s\",\"data\":\"x\"}", NULL), false);
	expect("VV013", check_v("7.2", "-device", "vfio-pci,host=06:00.0", NULL), false);
}

Test(rules, VV014_unknown_option)
{
	expect("VV014", check("-bogus-option"), true);
	expect("VV014", check("-nodefaults"), false);
}

Test(rules, VV015_add_fd)
{
	expect("VV015", check("-add-fd", "fd=1,set=2"), true);
	expect("VV015", check("-add-fd", "fd=x,set=2"), true);
	expect("VV015", check("-add-fd", "set=2"), true);
	expect("VV015", check("-add-fd", "fd=5,set=2,opaque=x"), false);
}

Test(rules, VV016_fdset_unknown)
{
	expect("VV016", check("-drive", "file=/dev/fdset/3,if=none"), true);
	expect("VV016", check("-add-fd", "fd=5,set=3", "-drive", "file=/dev/fdset/3,if=none"), false);
}

Test(rules, VV017_unused_iommufd)
{
	expect("VV017", check(IOMMUFD), true);
	expect("VV017", check(IOMMUFD, "-device", "vfio-pci,host=06:00.0,iommufd=iommufd0"), false);
}

Test(rules, VV018_sysfsdev_relative)
{
	expect("VV018", check("-device", "vfio-pci,sysfsdev=0000:06:00.0"), true);
	expect("VV018", check("-device", "vfio-pci,sysfsdev=/sys/bus/pci/devices/0000:06:00.0"), false);
}

Test(rules, VV019_placeholder)
{
	expect("VV019", check(IOMMUFD, "-device", "vfio-pci,fd=@hostdev-hostdev0-fd@,iommufd=iommufd0"), true);
	expect("VV019", check("-add-fd", "set=0,fd=XXXXXXX"), true);
	expect("VV019", check(IOMMUFD, "-device", "vfio-pci,fd=hostdev0,iommufd=iommufd0"), false);
}

Test(caps, builtin_and_help_texts)
{
	struct vk_qemu_caps c;
	struct vk_error e = {0};

	cr_assert_eq(vk_qemu_caps_builtin("7.2", &c, &e), 0);
	cr_assert(!c.iommufd_object && !c.vfio_fd && c.json_device);
	cr_assert_eq(vk_qemu_caps_builtin("9.0.2", &c, &e), 0);
	cr_assert(c.iommufd_object && c.vfio_fd && c.vfio_iommufd);
	cr_assert_eq(vk_qemu_caps_builtin(NULL, &c, &e), 0);
	cr_assert_eq(c.version, VK_QEMU_VERSION_NEWEST);
	cr_assert_eq(vk_qemu_caps_builtin("9.x", &c, &e), -EINVAL);
	cr_assert_eq(vk_qemu_caps_builtin("", &c, &e), -EINVAL);

	const char *dev = "vfio-pci options:\n  acpi-index=<uint32>    -  (default: 0)\n"
			  "  fd=<str>\n  host=<str>             - Address (bus/device/function) of the host device, example: 04:10.0\n"
			  "  iommufd=<link<iommufd>>\n  sysfsdev=<str>\n";
	const char *obj = "iommufd options:\n  fd=<string>\n";
	cr_assert_eq(vk_qemu_caps_from_help("QEMU emulator version 9.2.0 (Debian 1:9.2.0+ds-1)\nCopyright", dev, obj, &c, &e),
	             0);
	cr_assert_eq(c.version, 902);
	cr_assert(c.from_binary && c.vfio_fd && c.vfio_iommufd && c.iommufd_object && c.iommufd_object_fd);
	/* A 9.x build without CONFIG_IOMMUFD: what the binary says wins over the table. */
	const char *dev2 = "vfio-pci options:\n  host=<str>\n  sysfsdev=<str>\n";
	cr_assert_eq(vk_qemu_caps_from_help("QEMU emulator version 9.1.0\n", dev2,
	                                    "qemu-system-x86_64: -object iommufd,help: invalid object type: iommufd\n", &c, &e),
	             0);
	cr_assert(!c.vfio_fd && !c.iommufd_object && c.vfio_pci);
	cr_assert_eq(vk_qemu_caps_from_help("no version here", dev, obj, &c, &e), -EINVAL);
}

Test(report, json_and_text)
{
	struct vk_report r = check("-device", "vfio-pci,id=h0");
	char *s = vk_report_json(&r, "{\"qemu\":\"x\"}");
	cr_assert_not_null(s);
	cr_assert(strstr(s, "\"id\": \"VV001\"") && strstr(s, "\"errors\": 1") && strstr(s, "\"qemu\": \"x\""), "%s", s);
	free(s);
	char buf[2048] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	cr_assert_eq(vk_report_print(&r, f, false), 0);
	fclose(f);
	cr_assert(strstr(buf, "error   VV001 arg 0 [h0]: No provided host device"), "%s", buf);
	cr_assert_null(strstr(buf, "\033["));
	vk_report_clear(&r);
}
