/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qdev rules (VV020-VV029) against the built-in QEMU 7.2 table: a failing
 * and a passing line per rule, with QEMU's own message (each message below was
 * seen from Debian's qemu-system-x86_64 7.2; tests/qemu re-checks them live).
 * Also the help-output parser of the model.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <string.h>

#include <vfiokit/qdev_model.h>
#include <vfiokit/validator.h>

/* Check "-machine q35 -nodefaults" + the arguments against QEMU @ver's table. */
static struct vk_report check_v(const char *ver, const char *first, ...)
{
	const char *argv[64] = {"-machine", "q35", "-nodefaults"};
	size_t n = 3;
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
#define check(...) check_v("7.2", __VA_ARGS__, NULL)

/* @rule is reported (with @msg in its message when not NULL), or not. */
static void expect(const char *rule, const char *msg, struct vk_report r, bool present)
{
	const struct vk_finding *f = vk_report_find(&r, rule);
	if (present) {
		cr_assert_not_null(f, "expected %s", rule);
		if (msg)
			cr_assert(strstr(f->message, msg), "%s: '%s' does not hold '%s'", rule, f->message, msg);
	} else {
		cr_assert_null(f, "unexpected %s: %s", rule, f ? f->message : "");
	}
	vk_report_clear(&r);
}

/* No error at all. */
static void clean(struct vk_report r)
{
	cr_assert_eq(vk_report_count(&r, VK_SEV_ERROR), 0, "unexpected error: %s",
	             r.n ? r.findings[0].message : "");
	vk_report_clear(&r);
}

Test(qdev, VV020_property_unknown)
{
	expect("VV020", "Property 'vfio-pci.x-foo' not found", check("-device", "vfio-pci,host=01:00.0,x-foo=1"), true);
	expect("VV020", "Property 'vfio-pci.bogus' not found", check("-device", "vfio-pci,host=01:00.0,bogus"), true);
	expect("VV020", "'pcie-root-port.chasis'", check("-device", "pcie-root-port,id=rp1,chasis=1"), true);
	expect("VV020", NULL, check("-device", "{\"driver\":\"vfio-pci\",\"hostdev\":\"01:00.0\"}"), true);
	clean(check("-device", "vfio-pci,host=01:00.0,x-vga=on,rombar=0,bootindex=1,id=h,failover_pair_id=n"));
	/* against the newest version the 7.2 table is only the nearest: not an error (VV029, info) */
	struct vk_report r = check_v(NULL, "-device", "vfio-pci,host=01:00.0,x-foo=1", NULL);
	cr_assert_eq(vk_report_count(&r, VK_SEV_ERROR), 0);
	expect("VV029", "nearest table", r, true);
	/* iommufd=/fd= are VV013's (the capability table), not VV020's */
	r = check("-object", "iommufd,id=i", "-device", "vfio-pci,host=01:00.0,iommufd=i");
	expect("VV020", NULL, r, false);
}

Test(qdev, VV021_property_type)
{
	expect("VV021", "Parameter 'rombar' expects integer", check("-device", "vfio-pci,host=01:00.0,rombar=x"), true);
	expect("VV021", "Parameter 'rombar' expects integer", check("-device", "vfio-pci,host=01:00.0,rombar=1k"), true);
	expect("VV021", "Parameter 'rombar' expects uint32_t",
	       check("-device", "vfio-pci,host=01:00.0,rombar=4294967296"), true);
	expect("VV021", "expects uint32_t", check("-device", "vfio-pci,host=01:00.0,rombar=-1"), true);
	expect("VV021", "Parameter 'chassis' expects uint8_t", check("-device", "pcie-root-port,chassis=256"), true);
	expect("VV021", "expects 'on' or 'off'", check("-device", "vfio-pci,host=01:00.0,multifunction=maybe"), true);
	expect("VV021", "Parameter 'display' does not accept value 'x'", check("-device", "vfio-pci,host=01:00.0,display=x"),
	       true);
	expect("VV021", "Parameter 'x-msix-relocation' does not accept value 'bar9'",
	       check("-device", "vfio-pci,host=01:00.0,x-msix-relocation=bar9"), true);
	expect("VV021", "Parameter 'io-reserve' expects a size", check("-device", "pcie-root-port,io-reserve=lots"),
	       true);
	/* JSON: QEMU's plain input visitor wants JSON types */
	expect("VV021", "Parameter 'rombar' expects uint64",
	       check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"rombar\":\"1\"}"), true);
	expect("VV021", "Invalid parameter type for 'multifunction', expected: boolean",
	       check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"multifunction\":\"on\"}"), true);
	expect("VV021", "Invalid parameter type for 'bootindex', expected: integer",
	       check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"bootindex\":\"1\"}"), true);
	expect("VV021", "Invalid parameter type for 'display', expected: string",
	       check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"display\":true}"), true);
	/* what QEMU takes: base 0 numbers, yes/true, sizes with a unit, JSON numbers and booleans */
	clean(check("-device", "vfio-pci,host=01:00.0,rombar=0x0,multifunction=yes,x-vga=true,x-msix-relocation=bar2"));
	clean(check("-device", "pcie-root-port,id=rp,chassis=255,io-reserve=4k,mem-reserve=1.5M"));
	clean(check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"rombar\":0,\"bootindex\":1,"
	                       "\"multifunction\":true,\"display\":\"off\"}"));
}

Test(qdev, VV022_pci_addr)
{
	expect("VV022", "Property 'vfio-pci.addr' doesn't take value '0x20'",
	       check("-device", "vfio-pci,host=01:00.0,addr=0x20"), true);
	expect("VV022", "doesn't take value '1f.8'", check("-device", "vfio-pci,host=01:00.0,addr=1f.8"), true);
	expect("VV022", "doesn't take value '2.'", check("-device", "vfio-pci,host=01:00.0,addr=2."), true);
	expect("VV022", NULL, check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"addr\":256}"), true);
	clean(check("-device", "vfio-pci,host=01:00.0,addr=0x1e.0x7,multifunction=on"));
	clean(check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"addr\":24}"));
	/* the last addr= counts (VV027) */
	clean(check("-device", "vfio-pci,host=01:00.0,addr=zz,addr=3.0"));
	expect("VV022", "'zz'", check("-device", "vfio-pci,host=01:00.0,addr=3.0,addr=zz"), true);
}

Test(qdev, VV023_multifunction)
{
	expect("VV023", "PCI: single function device can't be populated in function 3.1",
	       check("-device", "vfio-pci,host=01:00.0,addr=3.0", "-device", "vfio-pci,host=01:00.1,addr=3.1"), true);
	expect("VV023", "PCI: 3.0 indicates single function, but 3.1 is already populated.",
	       check("-device", "vfio-pci,host=01:00.1,addr=3.1", "-device", "vfio-pci,host=01:00.0,addr=3.0"), true);
	/* JSON addr 3 is devfn 3: function 3 of slot 0, beside the host bridge */
	expect("VV023", "function 0.3", check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"addr\":3}"),
	       true);
	clean(check("-device", "vfio-pci,host=01:00.0,addr=3.0,multifunction=on", "-device",
	            "vfio-pci,host=01:00.1,addr=3.1"));
	clean(check("-device", "vfio-pci,host=01:00.1,addr=3.1", "-device", "vfio-pci,host=01:00.0,addr=3.0,multifunction=on"));
	clean(check("-device", "vfio-pci,host=01:00.0,addr=0x1f.4")); /* ICH9-LPC at 1f.0 is multifunction */
}

Test(qdev, VV024_slot_in_use)
{
	expect("VV024", "in use by ICH9-LPC", check("-device", "vfio-pci,host=01:00.0,addr=1f"), true);
	expect("VV024", "in use by mch", check("-device", "vfio-pci,host=01:00.0,addr=0"), true);
	expect("VV024", "slot 3 function 0 not available",
	       check("-device", "vfio-pci,host=01:00.0,addr=3", "-device", "vfio-pci,host=01:00.1,addr=3"), true);
	/* without addr= the first free slot: 1 on q35 (with -nodefaults) */
	expect("VV024", "slot 1 function 0",
	       check("-device", "vfio-pci,host=01:00.0", "-device", "vfio-pci,host=01:00.1,addr=1"), true);
	clean(check("-device", "vfio-pci,host=01:00.0", "-device", "vfio-pci,host=01:00.1,addr=2"));
	/* without -nodefaults QEMU may put devices of its own first: automatic slots are not followed */
	struct vk_qc_cmdline *c = NULL;
	struct vk_error e = {0};
	struct vk_qemu_caps caps;
	struct vk_report r = {0};
	char *argv[] = {"-machine", "q35", "-device", "vfio-pci,host=01:00.0", "-device", "vfio-pci,host=01:00.1,addr=1"};
	cr_assert_eq(vk_qc_parse_argv(6, argv, NULL, 0, &c, NULL, &e), 0);
	vk_qemu_caps_builtin("7.2", &caps, &e);
	cr_assert_eq(vk_check_cmdline(c, &caps, &r, &e), 0);
	vk_qc_cmdline_free(c);
	expect("VV024", NULL, r, false);
}

Test(qdev, VV025_bus_not_found)
{
	expect("VV025", "Bus 'nonexist' not found", check("-device", "vfio-pci,host=01:00.0,bus=nonexist"), true);
	expect("VV025", "comes later", check("-device", "vfio-pci,host=01:00.0,bus=rp1", "-device", "pcie-root-port,id=rp1"),
	       true);
	expect("VV025", "Bus 'pci.0' not found", check("-device", "vfio-pci,host=01:00.0,bus=pci.0"), true);
	expect("VV025", "is a vfio-pci",
	       check("-device", "vfio-pci,host=01:00.0,id=hd", "-device", "vfio-pci,host=01:00.1,bus=hd"), true);
	expect("VV025", "root bus is pci.0",
	       check("-machine", "pc", "-device", "vfio-pci,host=01:00.0,bus=pcie.0"), true);
	clean(check("-device", "pcie-root-port,id=rp1,chassis=1", "-device", "vfio-pci,host=01:00.0,bus=rp1"));
	clean(check("-device", "vfio-pci,host=01:00.0,bus=pcie.0"));
	clean(check("-machine", "pc-i440fx-7.2", "-device", "vfio-pci,host=01:00.0,bus=pci.0,addr=4"));
	/* a machine these rules do not know, a path, a bus QEMU named itself: not judged */
	clean(check("-machine", "virt", "-device", "vfio-pci,host=01:00.0,bus=pcie.0"));
	clean(check("-device", "vfio-pci,host=01:00.0,bus=/q35-pcihost/pcie.0"));
	clean(check("-device", "pcie-root-port,chassis=1", "-device", "vfio-pci,host=01:00.0,bus=pcie.1"));
}

Test(qdev, VV026_device_unknown)
{
	expect("VV026", "'nosuch' is not a valid device model name", check("-device", "nosuch,id=a"), true);
	clean(check("-device", "virtio-iommu,id=viommu")); /* an alias of virtio-iommu-pci */
	/* newer than the nearest table: not judged */
	struct vk_report r = check_v(NULL, "-device", "nosuch,id=a", NULL);
	cr_assert_eq(r.n, 0);
	vk_report_clear(&r);
}

Test(qdev, VV027_key_repeated)
{
	struct vk_report r = check("-device", "vfio-pci,host=02:00.0,host=01:00.0");
	cr_assert_eq(vk_report_count(&r, VK_SEV_ERROR), 0, "QEMU takes the last one: not an error");
	expect("VV027", "QEMU uses the last one, host=01:00.0", r, true);
	expect("VV027", NULL, check("-device", "vfio-pci,host=01:00.0,x-vga=on"), false);
}

Test(qdev, VV028_json_own_key_ignored)
{
	struct vk_report r = check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"id\":1}");
	cr_assert_eq(vk_report_count(&r, VK_SEV_ERROR), 0, "QEMU accepts it");
	expect("VV028", "without an id", r, true);
	expect("VV028", "default bus", check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"bus\":1}"), true);
	expect("VV028", NULL, check("-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.0\",\"id\":\"h\"}"), false);
}

Test(qdev, other_targets_are_not_held_against_the_x86_table)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_error e = {0};
	struct vk_qemu_caps caps;
	struct vk_report r = {0};
	char *argv[] = {"/usr/bin/qemu-system-s390x", "-device", "zpci,uid=1,target=hostdev0", "-device",
	                "vfio-pci,host=0001:00:00.0,id=hostdev0,bogus=1"};
	cr_assert_eq(vk_qc_parse_argv(5, argv, NULL, VK_QC_ARGV_HAS_PROGRAM, &c, NULL, &e), 0);
	vk_qemu_caps_builtin("7.2", &caps, &e);
	cr_assert_eq(vk_check_cmdline(c, &caps, &r, &e), 0);
	vk_qc_cmdline_free(c);
	cr_assert_eq(r.n, 0, "%s", r.n ? r.findings[0].message : "");
}

Test(qdev_model, from_help_output)
{
	struct vk_qdev_model *m = NULL;
	struct vk_error e = {0};
	const char *names[] = {"vfio-pci", "nosuch", "virtio-iommu"};
	const char *helps[] = {
		"vfio-pci options:\n"
		"  addr=<int32>           - Slot and optional function number, example: 06.0 or 06 (default: -1)\n"
		"  display=<OnOffAuto>    - on/off/auto (default: \"off\")\n"
		"  iommufd=<link<iommufd>>\n"
		"  x-foo=<uint4> -\n",
		"qemu-system-x86_64: -device nosuch,help: Device 'nosuch' not found\n",
		"virtio-iommu-pci options:\n  granule=<GranuleMode>  - granule (default: \"host\")\n",
	};
	const char *list = "Controller/Bridge/Hub devices:\n"
			   "name \"pcie-root-port\", bus PCI, desc \"PCI Express Root Port\"\n\n"
			   "Misc devices:\n"
			   "name \"vfio-pci\", bus PCI, desc \"VFIO-based PCI device assignment\"\n"
			   "name \"virtio-iommu-pci\", bus PCI, alias \"virtio-iommu\"\n";

	cr_assert_eq(vk_qdev_model_from_help("nothing", list, 3, names, helps, NULL, &m, &e), -EINVAL);
	cr_assert_eq(vk_qdev_model_from_help("QEMU emulator version 9.2.1 (x)\n", list, 3, names, helps,
	                                     "iommufd options:\n  fd=<str>\n", &m, &e),
	             0, "%s", e.msg);
	cr_assert_eq(m->version, 902);
	cr_assert(m->from_binary && m->list_known && m->objects_known && m->iommufd_object && m->iommufd_object_fd);
	const struct vk_qdev_type *t = vk_qdev_model_type(m, "vfio-pci");
	cr_assert(t && t->props_known && !t->absent && t->nprops == 4 && strcmp(t->bus, "PCI") == 0);
	cr_assert_str_eq(vk_qdev_type_prop(t, "iommufd")->type, "link<iommufd>");
	cr_assert_str_eq(vk_qdev_type_prop(t, "display")->desc, "on/off/auto (default: \"off\")");
	cr_assert_str_eq(vk_qdev_type_prop(t, "x-foo")->desc, "");
	cr_assert(vk_qdev_model_type(m, "nosuch")->absent);
	t = vk_qdev_model_type(m, "virtio-iommu");
	cr_assert(t && strcmp(t->name, "virtio-iommu-pci") == 0 && t->props_known && t->nprops == 1);
	cr_assert(!vk_qdev_model_type(m, "pcie-root-port")->props_known);
	cr_assert_null(vk_qdev_model_type(m, "e1000"));
	struct vk_qemu_caps caps;
	vk_qemu_caps_from_model(m, &caps);
	cr_assert(caps.vfio_iommufd && !caps.vfio_fd && caps.iommufd_object && caps.model == m);
	vk_qdev_model_free(m);
}

Test(qdev_model, builtin_tables)
{
	size_t n;
	const unsigned *v = vk_qdev_model_builtin_versions(&n);
	cr_assert(n >= 1 && v[0] == 702);
	const struct vk_qdev_model *m = vk_qdev_model_builtin(1001);
	cr_assert_eq(m->version, v[n - 1], "the newest table for a newer version");
	cr_assert_eq(vk_qdev_model_builtin(100)->version, v[0], "the oldest for an older one");
	cr_assert(!m->from_binary && m->list_known && !m->priv && strcmp(m->target, "x86_64") == 0);
	const struct vk_qdev_type *t = vk_qdev_model_type(vk_qdev_model_builtin(702), "vfio-pci");
	cr_assert(t && t->props_known && vk_qdev_type_prop(t, "rombar") && !vk_qdev_type_prop(t, "iommufd"));
	cr_assert_str_eq(vk_qdev_type_prop(t, "rombar")->type, "uint32");
	vk_qdev_model_free(m); /* a table: ignored */
}
