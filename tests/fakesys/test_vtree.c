/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <vfiokit/vtree.h>

Test(vk_relpath, sysfs_shapes)
{
	char buf[256];

	cr_assert_eq(vk_relpath("sys/bus/pci/devices", "sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0", buf,
	                        sizeof(buf)), 0);
	cr_assert_str_eq(buf, "../../../devices/pci0000:00/0000:00:1c.0/0000:02:00.0");
	cr_assert_eq(vk_relpath("sys/devices/pci0000:00/0000:00:01.0", "sys/bus/pci", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "../../../bus/pci");
	cr_assert_eq(vk_relpath("sys/bu", "sys/bus", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "../bus");
	cr_assert_eq(vk_relpath("sys/bus", "sys/bus/pci", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "pci");
	cr_assert_eq(vk_relpath("", "dev/iommu", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "dev/iommu");
	cr_assert_eq(vk_relpath("sys/devices/pci0000:00/0000:01:00.0/vfio-dev/vfio0", "sys/devices/pci0000:00/0000:01:00.0",
	                        buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "../../../0000:01:00.0", "a link to an ancestor goes past it, as kernfs does");
	cr_assert_eq(vk_relpath("a/b", "a", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "../../a");
	cr_assert_eq(vk_relpath("a/b/c", "x", buf, 8), -ENAMETOOLONG);
}

Test(vtree, build_lookup_and_errors)
{
	struct vtree *t = vtree_new();
	char path[256];

	cr_assert_not_null(t);
	struct vt_node *d = vtree_mkdir_p(t, "sys/bus/pci/devices");
	cr_assert_not_null(d);
	cr_assert_eq(vtree_mkdir_p(t, "sys/bus/pci/devices"), d, "mkdir_p is idempotent");
	cr_assert_not_null(vtree_add_filef(t, d, "zz", 0444, "0x%04x\n", 0x10de));
	cr_assert_not_null(vtree_add_link(t, d, "aa", "../x"));
	cr_assert_null(vtree_add_file(t, d, "zz", "", 0, 0444));
	cr_assert_eq(errno, EEXIST);
	cr_assert_null(vtree_add_dir(t, d, "..", 0755));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(vtree_add_dir(t, d, "a/b", 0755));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(vtree_mkdir_p(t, "sys/bus/pci/devices/zz/x"));
	cr_assert_eq(errno, ENOTDIR);
	cr_assert_eq(vtree_seal(t), 0);

	struct vt_node *f = vtree_lookup(t, "sys/bus/pci/devices/zz");
	cr_assert_not_null(f);
	cr_assert_eq(f->type, VT_FILE);
	cr_assert_eq(f->u.file.len, 7);
	cr_assert_eq(memcmp(f->u.file.data, "0x10de\n", 7), 0);
	cr_assert_eq(vtree_by_ino(t, f->ino), f);
	cr_assert_null(vtree_by_ino(t, 0));
	cr_assert_null(vtree_by_ino(t, vtree_size(t) + 1));
	cr_assert_eq(vtree_path(f, path, sizeof(path)), (int)strlen("sys/bus/pci/devices/zz"));
	cr_assert_str_eq(path, "sys/bus/pci/devices/zz");
	cr_assert_eq(vtree_path(f, path, 5), -ENAMETOOLONG);
	cr_assert_str_eq(vtree_lookup(t, "sys/bus/pci/devices/aa")->u.link.target, "../x");
	cr_assert_null(vtree_lookup(t, "sys/nope"));
	cr_assert_eq(vtree_lookup(t, ""), vtree_root(t));
	vtree_free(t);
}

Test(vtree, seal_finds_duplicates_in_wide_directories)
{
	struct vtree *t = vtree_new();
	struct vt_node *d = vtree_mkdir_p(t, "wide");
	char name[16];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%03d", i);
		cr_assert_not_null(vtree_add_dir(t, d, name, 0755));
	}
	/* past the scan limit a duplicate is only caught by seal */
	cr_assert_not_null(vtree_add_dir(t, d, "n099", 0755));
	cr_assert_eq(vtree_seal(t), -EEXIST);
	vtree_free(t);
}
