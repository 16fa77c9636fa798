/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/vtree.h>

Test(vk_relpath, sysfs_shapes)
{
	char buf[256];

	cr_assert_eq(vk_relpath("sys/bus/pci/devices", "sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0", buf,
	                        sizeof(buf)),
	             0);
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
	                        buf, sizeof(buf)),
	             0);
	cr_assert_str_eq(buf, "../../../0000:01:00.0", "a link to an ancestor goes past it, as kernfs does");
	cr_assert_eq(vk_relpath("a/b", "a", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "../../a");
	cr_assert_eq(vk_relpath("a/b/c", "x", buf, 8), -ENAMETOOLONG);
}

Test(vtree, build_lookup_and_errors)
{
	struct vtree *t = vk_vtree_new();
	char path[256];

	cr_assert_not_null(t);
	struct vk_vt_node *d = vk_vtree_mkdir_p(t, "sys/bus/pci/devices");
	cr_assert_not_null(d);
	cr_assert_eq(vk_vtree_mkdir_p(t, "sys/bus/pci/devices"), d, "mkdir_p is idempotent");
	cr_assert_not_null(vk_vtree_add_filef(t, d, "zz", 0444, "0x%04x\n", 0x10de));
	cr_assert_not_null(vk_vtree_add_link(t, d, "aa", "../x"));
	cr_assert_null(vk_vtree_add_file(t, d, "zz", "", 0, 0444));
	cr_assert_eq(errno, EEXIST);
	cr_assert_null(vk_vtree_add_dir(t, d, "..", 0755));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(vk_vtree_add_dir(t, d, "a/b", 0755));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(vk_vtree_mkdir_p(t, "sys/bus/pci/devices/zz/x"));
	cr_assert_eq(errno, ENOTDIR);
	cr_assert_eq(vk_vtree_seal(t), 0);

	struct vk_vt_node *f = vk_vtree_lookup(t, "sys/bus/pci/devices/zz");
	cr_assert_not_null(f);
	cr_assert_eq(f->type, VK_VT_FILE);
	cr_assert_eq(f->u.file.len, 7);
	cr_assert_eq(memcmp(f->u.file.data, "0x10de\n", 7), 0);
	cr_assert_eq(vk_vtree_by_ino(t, f->ino), f);
	cr_assert_null(vk_vtree_by_ino(t, 0));
	cr_assert_null(vk_vtree_by_ino(t, vk_vtree_size(t) + 1));
	cr_assert_eq(vk_vtree_path(f, path, sizeof(path)), (int)strlen("sys/bus/pci/devices/zz"));
	cr_assert_str_eq(path, "sys/bus/pci/devices/zz");
	cr_assert_eq(vk_vtree_path(f, path, 5), -ENAMETOOLONG);
	cr_assert_str_eq(vk_vtree_lookup(t, "sys/bus/pci/devices/aa")->u.link.target, "../x");
	cr_assert_null(vk_vtree_lookup(t, "sys/nope"));
	cr_assert_eq(vk_vtree_lookup(t, ""), vk_vtree_root(t));
	vk_vtree_free(t);
}

Test(vtree, seal_finds_duplicates_in_wide_directories)
{
	struct vtree *t = vk_vtree_new();
	struct vk_vt_node *d = vk_vtree_mkdir_p(t, "wide");
	char name[16];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%03d", i);
		cr_assert_not_null(vk_vtree_add_dir(t, d, name, 0755));
	}
	/* past the scan limit a duplicate is only caught by seal */
	cr_assert_not_null(vk_vtree_add_dir(t, d, "n099", 0755));
	cr_assert_eq(vk_vtree_seal(t), -EEXIST);
	vk_vtree_free(t);
}

/* Values of the kernel's own kernfs_name_hash(): each was checked against the
 * order a 6.18 kernel lists /sys/bus/pci/devices, /sys/class, /sys/module in
 * (fs/kernfs/dir.c; the byte 0xe9 as a kernel built with -funsigned-char). */
Test(vtree, kernfs_hash_is_the_kernels)
{
	cr_assert_eq(vk_vt_kernfs_hash("0000:00:00.0"), 1030173350u);
	cr_assert_eq(vk_vt_kernfs_hash("0000:01:00.0"), 693877241u);
	cr_assert_eq(vk_vt_kernfs_hash("vendor"), 491171934u);
	cr_assert_eq(vk_vt_kernfs_hash("config"), 1705099736u);
	cr_assert_eq(vk_vt_kernfs_hash("devices"), 698066606u);
	cr_assert_eq(vk_vt_kernfs_hash("drivers_probe"), 1125081867u);
	cr_assert_eq(vk_vt_kernfs_hash("\xe9"), 2082866195u);
}

/* Names of @dir's children joined by spaces. */
static const char *listing(const struct vk_vt_node *dir, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < dir->u.dir.n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", dir->u.dir.kids[i]->name);
	return buf;
}

Test(vtree, directories_sort_in_their_filesystems_order)
{
	static const char *const names[] = {"vendor", "config", "0000:01:00.0", "0000:00:00.0", "devices", "ab", "b"};
	struct vtree *t = vk_vtree_new();
	struct vk_vt_node *k = vk_vtree_mkdir_p(t, "sys/k"), *p = vk_vtree_mkdir_p(t, "proc/p"), *n = vk_vtree_mkdir_p(t, "n");
	char buf[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		cr_assert_not_null(vk_vtree_add_file(t, k, names[i], "x", 1, 0444));
		cr_assert_not_null(vk_vtree_add_file(t, p, names[i], "x", 1, 0444));
		cr_assert_not_null(vk_vtree_add_file(t, n, names[i], "x", 1, 0444));
	}
	vk_vtree_set_kernfs(k->parent, VK_VT_ORDER_KERNFS);
	vk_vtree_set_kernfs(p->parent, VK_VT_ORDER_PROCFS);
	cr_assert_eq(vk_vtree_seal(t), 0);
	/* by the hashes above (ab: 1408867950, b: 1544121420) */
	cr_assert_str_eq(listing(k, buf, sizeof(buf)), "vendor 0000:01:00.0 devices 0000:00:00.0 ab b config");
	cr_assert_str_eq(listing(p, buf, sizeof(buf)), "b ab config vendor devices 0000:00:00.0 0000:01:00.0");
	cr_assert_str_eq(listing(n, buf, sizeof(buf)), "0000:00:00.0 0000:01:00.0 ab b config devices vendor");
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		cr_assert_not_null(vk_vtree_child(k, names[i]), "%s", names[i]);
		cr_assert_not_null(vk_vtree_child(p, names[i]), "%s", names[i]);
		cr_assert_not_null(vk_vtree_child(n, names[i]), "%s", names[i]);
	}
	cr_assert_null(vk_vtree_child(k, "nope"));
	cr_assert_null(vk_vtree_child(p, "nope"));
	vk_vtree_free(t);
}

/* Sealed, a directory's children are stored exactly (cap 0: in the arena);
 * a graft after that copies them out to a growing array, the arena's copy
 * stays, and freeing the tree frees only the arrays malloc gave. */
Test(vtree, sealed_directories_take_grafts_and_unlinks)
{
	struct vtree *t = vk_vtree_new(), *src = vk_vtree_new();
	struct vk_vt_node *d = vk_vtree_mkdir_p(t, "d"), *one = vk_vtree_mkdir_p(t, "one");
	struct vk_vt_node *empty = vk_vtree_mkdir_p(t, "empty");
	char buf[512], name[16];

	cr_assert_not_null(vk_vtree_add_file(t, d, "c", "c", 1, 0444));
	cr_assert_not_null(vk_vtree_add_file(t, d, "a", "a", 1, 0444));
	cr_assert_not_null(vk_vtree_add_file(t, one, "only", "o", 1, 0444));
	for (int i = 0; i < 24; i++) {
		snprintf(name, sizeof(name), "g%02d", i);
		cr_assert_not_null(vk_vtree_add_file(src, vk_vtree_root(src), name, name, 3, 0444));
	}
	cr_assert_not_null(vk_vtree_add_file(src, vk_vtree_root(src), "b", "b", 1, 0444));
	cr_assert_eq(vk_vtree_seal(t), 0);
	cr_assert_eq(vk_vtree_seal(src), 0);
	cr_assert_eq(d->u.dir.cap, 0, "stored exactly");
	cr_assert_eq(vk_vtree_root(t)->u.dir.cap, 0);
	cr_assert_eq(empty->u.dir.n, 0);
	cr_assert_null(empty->u.dir.kids);

	cr_assert_not_null(vk_vtree_graft(t, d, vk_vtree_child(vk_vtree_root(src), "b")));
	cr_assert_str_eq(listing(d, buf, sizeof(buf)), "a b c");
	cr_assert_geq(d->u.dir.cap, d->u.dir.n, "a malloc'd array now");
	for (int i = 23; i >= 0; i--) { /* grows it past its first size, each in its place */
		snprintf(name, sizeof(name), "g%02d", i);
		cr_assert_not_null(vk_vtree_graft(t, d, vk_vtree_child(vk_vtree_root(src), name)), "%s", name);
	}
	cr_assert_eq(d->u.dir.n, 27);
	cr_assert_str_eq(vk_vtree_child(d, "g17")->name, "g17");
	cr_assert_str_eq(listing(d, buf, 16), "a b c g00 g01 g");
	cr_assert_not_null(vk_vtree_graft(t, empty, vk_vtree_child(vk_vtree_root(src), "b")));
	cr_assert_str_eq(listing(empty, buf, sizeof(buf)), "b");

	/* emptied, the arena's array stays: the next graft must not grow it in place */
	vk_vtree_unlink(t, vk_vtree_child(one, "only"));
	cr_assert_eq(one->u.dir.n, 0);
	cr_assert_not_null(vk_vtree_graft(t, one, vk_vtree_child(vk_vtree_root(src), "g05")));
	cr_assert_str_eq(listing(one, buf, sizeof(buf)), "g05");
	cr_assert_eq(vk_vtree_graft(t, one, vk_vtree_child(vk_vtree_root(src), "g05")), NULL);
	cr_assert_eq(errno, EEXIST);
	cr_assert_eq(vk_vtree_seal(t), 0, "sealed again: every directory stored exactly");
	cr_assert_eq(d->u.dir.cap, 0);
	cr_assert_str_eq(vk_vtree_child(d, "g23")->name, "g23");
	vk_vtree_free(src);
	vk_vtree_free(t);
}

Test(vtree, kernfs_sizes_and_unprivileged_lengths)
{
	struct vtree *t = vk_vtree_new();
	struct vk_vt_node *d = vk_vtree_mkdir_p(t, "sys/dev"), *other = vk_vtree_mkdir_p(t, "run");
	static uint8_t cfg[4096];

	struct vk_vt_node *attr = vk_vtree_add_file(t, d, "vendor", "0x10de\n", 7, 0444);
	struct vk_vt_node *c256 = vk_vtree_add_file(t, d, "config256", cfg, 256, 0644);
	struct vk_vt_node *c4k = vk_vtree_add_file(t, d, "config", cfg, 4096, 0644);
	struct vk_vt_node *cb = vk_vtree_add_file(t, d, "cardbus", cfg, 256, 0644);
	struct vk_vt_node *big = vk_vtree_add_file(t, d, "big", cfg, 4096, 0444);
	struct vk_vt_node *link = vk_vtree_add_link(t, d, "subsystem", "../../bus/pci");
	struct vk_vt_node *plain = vk_vtree_add_file(t, other, "f", "abc", 3, 0444);
	c256->kern = VK_VT_SIZE_256 | VK_VT_K_UNPRIV_64;
	c4k->kern = VK_VT_SIZE_4096 | VK_VT_K_UNPRIV_64;
	cb->kern = VK_VT_SIZE_256 | VK_VT_K_UNPRIV_128;
	vk_vtree_set_kernfs(d->parent, VK_VT_ORDER_KERNFS);
	cr_assert_eq(vk_vtree_seal(t), 0);
	/* kernfs_init_inode(): i_size = the attribute's size; dirs and links none */
	cr_assert_eq(vk_vt_node_size(attr), 4096);
	cr_assert_eq(vk_vt_node_size(c256), 256);
	cr_assert_eq(vk_vt_node_size(c4k), 4096);
	cr_assert_eq(vk_vt_node_size(big), 4096);
	cr_assert_eq(vk_vt_node_size(d), 0);
	cr_assert_eq(vk_vt_node_size(link), 0);
	cr_assert_eq(vk_vt_node_size(plain), 3, "outside sysfs: the content's length");
	cr_assert_eq(vk_vt_node_size(other), 4096);
	/* pci_read_config(): 64 bytes without CAP_SYS_ADMIN, 128 of a CardBus bridge */
	cr_assert_eq(vk_vt_node_unpriv_len(c256), 64);
	cr_assert_eq(vk_vt_node_unpriv_len(c4k), 64);
	cr_assert_eq(vk_vt_node_unpriv_len(cb), 128);
	cr_assert_eq(vk_vt_node_unpriv_len(attr), 7);
	struct vk_vt_node *short_cfg = vk_vtree_add_file(t, other, "short", cfg, 32, 0644);
	short_cfg->kern = VK_VT_SIZE_256 | VK_VT_K_UNPRIV_64;
	cr_assert_eq(vk_vt_node_unpriv_len(short_cfg), 32, "never more than there is");
	vk_vtree_free(t);
}

Test(vtree, seal_finds_duplicates_in_kernfs_order)
{
	struct vtree *t = vk_vtree_new();
	struct vk_vt_node *d = vk_vtree_mkdir_p(t, "sys/wide");
	char name[16];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%03d", i);
		cr_assert_not_null(vk_vtree_add_dir(t, d, name, 0755));
	}
	cr_assert_not_null(vk_vtree_add_dir(t, d, "n042", 0755));
	vk_vtree_set_kernfs(d->parent, VK_VT_ORDER_KERNFS);
	cr_assert_eq(vk_vtree_seal(t), -EEXIST);
	vk_vtree_free(t);
}

/* A config space of 4096 bytes keeps its non-zero prefix (at least 256
 * bytes) and reads as zeros past it, across the boundary too. */
Test(vtree, zero_tail_stores_the_prefix_and_reads_zeros)
{
	struct vtree *t = vk_vtree_new();
	uint8_t cfg[4096] = {0}, got[4096];

	cfg[0] = 0x86;
	cfg[0x100] = 0x01;
	cfg[0x147] = 0x2a; /* the last non-zero byte */
	struct vk_vt_node *f = vk_vtree_add_file_zero_tail(t, vk_vtree_root(t), "config", cfg, sizeof(cfg), 0644);
	cr_assert_not_null(f);
	cr_assert_eq(f->u.file.len, 4096);
	cr_assert_eq(f->u.file.stored, 0x148);
	memset(got, 0xee, sizeof(got));
	cr_assert_eq(vk_vt_file_read(f, 0, got, sizeof(got)), 4096);
	cr_assert_eq(memcmp(got, cfg, sizeof(cfg)), 0);
	memset(got, 0xee, sizeof(got));
	cr_assert_eq(vk_vt_file_read(f, 0x140, got, 16), 16, "across the end of the stored bytes");
	cr_assert_eq(memcmp(got, cfg + 0x140, 16), 0);
	cr_assert_eq(vk_vt_file_read(f, 4000, got, 1000), 96, "cut at the end");
	cr_assert_eq(vk_vt_file_read(f, 4096, got, 16), 0);
	cr_assert_eq(vk_vt_node_size(f), 4096);

	/* all zeros: the first 256 stay stored; a short file is kept whole */
	uint8_t zeros[1024] = {0};
	struct vk_vt_node *z = vk_vtree_add_file_zero_tail(t, vk_vtree_root(t), "z", zeros, sizeof(zeros), 0644);
	cr_assert_eq(z->u.file.stored, 256);
	struct vk_vt_node *s = vk_vtree_add_file_zero_tail(t, vk_vtree_root(t), "s", zeros, 10, 0644);
	cr_assert_eq(s->u.file.stored, 10);
	cr_assert_null(vk_vtree_add_file_zero_tail(t, vk_vtree_root(t), "z", zeros, 10, 0644));
	cr_assert_eq(errno, EEXIST);
	/* not a file: nothing to read */
	cr_assert_eq(vk_vt_file_read(vk_vtree_root(t), 0, got, 16), 0);
	/* the length is kept in 32 bits: a longer content is refused before any byte is read */
	cr_assert_null(vk_vtree_add_file(t, vk_vtree_root(t), "big", cfg, (size_t)UINT32_MAX + 1, 0644));
	cr_assert_eq(errno, EFBIG);
	vk_vtree_free(t);
}

static unsigned changes;

static void count_change(void *ctx, enum vk_vt_change what, uint64_t parent, const char *name, uint64_t ino)
{
	(void)ctx, (void)what, (void)parent, (void)name, (void)ino;
	changes++;
}

/* A rebuilt tree whose config reads the same is unchanged however much of it
 * is stored; one whose stored tail differs is changed. */
static unsigned config_changes(const uint8_t *a, size_t la, bool tail_a, const uint8_t *b, size_t lb, bool tail_b)
{
	struct vtree *o = vk_vtree_new(), *n = vk_vtree_new();

	if (tail_a)
		cr_assert_not_null(vk_vtree_add_file_zero_tail(o, vk_vtree_root(o), "config", a, la, 0644));
	else
		cr_assert_not_null(vk_vtree_add_file(o, vk_vtree_root(o), "config", a, la, 0644));
	if (tail_b)
		cr_assert_not_null(vk_vtree_add_file_zero_tail(n, vk_vtree_root(n), "config", b, lb, 0644));
	else
		cr_assert_not_null(vk_vtree_add_file(n, vk_vtree_root(n), "config", b, lb, 0644));
	cr_assert_eq(vk_vtree_seal(o), 0);
	cr_assert_eq(vk_vtree_seal(n), 0);
	changes = 0;
	cr_assert_eq(vk_vtree_inherit_inos(n, o, count_change, NULL), 0);
	vk_vtree_free(o);
	vk_vtree_free(n);
	return changes;
}

Test(vtree, zero_tail_compares_by_content)
{
	uint8_t a[4096] = {0}, b[4096] = {0};

	a[0x200] = 1;
	b[0x200] = 1;
	cr_assert_eq(config_changes(a, sizeof(a), true, b, sizeof(b), false), 0, "same bytes, one stored whole");
	cr_assert_eq(config_changes(a, sizeof(a), false, b, sizeof(b), true), 0);
	b[0xfff] = 1;
	cr_assert_eq(config_changes(a, sizeof(a), true, b, sizeof(b), false), 1, "a byte in the other's zero tail");
	cr_assert_eq(config_changes(b, sizeof(b), false, a, sizeof(a), true), 1);
	cr_assert_eq(config_changes(a, sizeof(a), true, a, 256, true), 1, "another length");
	b[0xfff] = 0;
	b[0x10] = 7;
	cr_assert_eq(config_changes(a, sizeof(a), true, b, sizeof(b), true), 1, "a byte in both stored parts");
}

/* Every read of @n, at each offset and of each size across its end, gives
 * the bytes of @want (@len). */
static void assert_reads_as(const struct vk_vt_node *n, const char *want, size_t len)
{
	char got[1024];

	cr_assert_eq(n->u.file.len, len);
	cr_assert_leq(len + 8, sizeof(got));
	for (size_t off = 0; off <= len + 2; off++) {
		for (size_t k = 0; k <= len + 2; k++) {
			size_t expect = off >= len ? 0 : len - off < k ? len - off
			                                               : k;
			memset(got, '#', sizeof(got));
			cr_assert_eq(vk_vt_file_read(n, off, got, k), expect, "read %zu at %zu", k, off);
			cr_assert_eq(memcmp(got, want + (off < len ? off : len), expect), 0, "read %zu at %zu", k, off);
			cr_assert_eq(got[expect], '#', "read %zu at %zu wrote past what it returned", k, off);
		}
	}
}

#define BAR "0x00000000fe000000 0x00000000feffffff 0x0000000000040200\n"
#define NUL "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
#define RESOURCE BAR NUL NUL NUL NUL NUL NUL BAR NUL NUL NUL NUL NUL

/* A resource file keeps its lines up to the first of its last, equal ones;
 * the rest reads as that line again, at any offset, across the boundary too. */
Test(vtree, line_tail_stores_up_to_the_first_repeated_line)
{
	static const struct {
		const char *text, *why;
		size_t stored;
	} cases[] = {
		{RESOURCE, "13 lines, the last 5 the same", 9 * 57},
		{"0\n0\n0\n", "every line the same", 2},
		{"x0\n0\n0\n", "\"0\\n\" at 1 is not a line: the first whole one stays", 5},
		{"ab\nab\nb\n", "no two equal last lines", 8},
		{"a\nb\na\nb\n", "a repeated pair is not a repeated line", 8},
		{"a\na", "no end of line", 3},
		{"\n\n\n", "empty lines", 1},
		{"", "empty", 0},
	};
	struct vtree *t = vk_vtree_new();
	char name[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t len = strlen(cases[i].text);
		snprintf(name, sizeof(name), "f%zu", i);
		struct vk_vt_node *f = vk_vtree_add_file_line_tail(t, vk_vtree_root(t), name, cases[i].text, len, 0444);
		cr_assert_not_null(f);
		cr_assert_eq(f->u.file.stored, cases[i].stored, "%s: %u stored", cases[i].why, f->u.file.stored);
		cr_assert_eq(!!(f->kern & VK_VT_K_LINE_TAIL), cases[i].stored < len, "%s: the tail bit", cases[i].why);
		assert_reads_as(f, cases[i].text, len);
	}
	cr_assert_null(vk_vtree_add_file_line_tail(t, vk_vtree_root(t), "f0", "x\n", 2, 0444));
	cr_assert_eq(errno, EEXIST);
	vk_vtree_free(t);
}

/* Copies keep the tail as it is; new content replaces it; the same bytes
 * stored either way compare the same, and one byte more or less does not. */
Test(vtree, line_tail_copies_and_compares_by_content)
{
	static const char other[] = BAR NUL NUL NUL NUL NUL NUL BAR NUL NUL NUL NUL BAR;
	struct vtree *t = vk_vtree_new(), *u = vk_vtree_new();
	struct vk_vt_node *root = vk_vtree_root(t);
	size_t len = strlen(RESOURCE);

	struct vk_vt_node *lt = vk_vtree_add_file_line_tail(t, root, "resource", RESOURCE, len, 0444);
	struct vk_vt_node *whole = vk_vtree_add_file(t, root, "whole", RESOURCE, len, 0444);
	struct vk_vt_node *diff = vk_vtree_add_file_line_tail(t, root, "other", other, len, 0444);
	struct vk_vt_node *shorter = vk_vtree_add_file_line_tail(t, root, "shorter", RESOURCE, len - 57, 0444);
	struct vk_vt_node *zeros = vk_vtree_add_file_zero_tail(t, root, "zeros", RESOURCE, len, 0444);
	cr_assert(lt && whole && diff && shorter && zeros);
	cr_assert(vk_vt_file_same(lt, whole));
	cr_assert(vk_vt_file_same(whole, lt));
	cr_assert(vk_vt_file_same(lt, zeros), "no zero tail: stored whole");
	cr_assert_not(vk_vt_file_same(lt, diff), "the last line differs");
	cr_assert_not(vk_vt_file_same(diff, whole));
	cr_assert_not(vk_vt_file_same(lt, shorter));
	/* stored alike, one stored byte apart */
	char first[sizeof(RESOURCE)];
	memcpy(first, RESOURCE, sizeof(first));
	first[17] = '1';
	struct vk_vt_node *apart = vk_vtree_add_file_line_tail(t, root, "apart", first, len, 0444);
	cr_assert_eq(apart->u.file.stored, lt->u.file.stored);
	cr_assert_not(vk_vt_file_same(lt, apart));
	cr_assert(vk_vt_file_same(lt, vk_vtree_add_file_line_tail(t, root, "again", RESOURCE, len, 0444)));

	struct vk_vt_node *same = vk_vtree_add_file_same(t, root, "same", lt, 0444);
	cr_assert_not_null(same);
	cr_assert(same->kern & VK_VT_K_LINE_TAIL);
	assert_reads_as(same, RESOURCE, len);

	struct vk_vt_node *c = vk_vtree_add_file(u, vk_vtree_root(u), "c", "x", 1, 0444);
	cr_assert_eq(vk_vtree_copy_file(u, c, lt), 0);
	cr_assert(c->kern & VK_VT_K_LINE_TAIL);
	cr_assert_eq(c->u.file.stored, lt->u.file.stored);
	assert_reads_as(c, RESOURCE, len);
	cr_assert_eq(vk_vtree_copy_file(u, c, whole), 0);
	cr_assert_not(c->kern & VK_VT_K_LINE_TAIL, "stored whole: no tail");
	assert_reads_as(c, RESOURCE, len);
	cr_assert_eq(vk_vtree_copy_file(u, c, lt), 0);
	cr_assert_eq(vk_vtree_set_file(u, c, "0\n", 2), 0);
	cr_assert_not(c->kern & VK_VT_K_LINE_TAIL, "new content, stored whole");
	assert_reads_as(c, "0\n", 2);

	cr_assert_eq(vk_vtree_seal(t), 0);
	cr_assert_eq(vk_vtree_seal(u), 0);
	struct vk_vt_node *g = vk_vtree_graft(u, vk_vtree_root(u), lt);
	cr_assert_not_null(g);
	cr_assert(g->kern & VK_VT_K_LINE_TAIL);
	assert_reads_as(g, RESOURCE, len);
	vk_vtree_free(u);
	vk_vtree_free(t);
}

/* A rebuilt tree whose resource reads the same is unchanged, stored either way. */
static unsigned resource_changes(const char *a, bool tail_a, const char *b, bool tail_b)
{
	struct vtree *o = vk_vtree_new(), *n = vk_vtree_new();

	cr_assert_not_null(tail_a ? vk_vtree_add_file_line_tail(o, vk_vtree_root(o), "resource", a, strlen(a), 0444)
	                          : vk_vtree_add_file(o, vk_vtree_root(o), "resource", a, strlen(a), 0444));
	cr_assert_not_null(tail_b ? vk_vtree_add_file_line_tail(n, vk_vtree_root(n), "resource", b, strlen(b), 0444)
	                          : vk_vtree_add_file(n, vk_vtree_root(n), "resource", b, strlen(b), 0444));
	cr_assert_eq(vk_vtree_seal(o), 0);
	cr_assert_eq(vk_vtree_seal(n), 0);
	changes = 0;
	cr_assert_eq(vk_vtree_inherit_inos(n, o, count_change, NULL), 0);
	vk_vtree_free(o);
	vk_vtree_free(n);
	return changes;
}

Test(vtree, line_tail_is_no_change_when_it_reads_the_same)
{
	cr_assert_eq(resource_changes(RESOURCE, true, RESOURCE, false), 0);
	cr_assert_eq(resource_changes(RESOURCE, false, RESOURCE, true), 0);
	cr_assert_eq(resource_changes(RESOURCE, true, RESOURCE, true), 0);
	cr_assert_eq(resource_changes(RESOURCE, true, BAR NUL NUL NUL NUL NUL NUL NUL NUL NUL NUL NUL NUL, true), 1);
	cr_assert_eq(resource_changes(RESOURCE, true, RESOURCE NUL, true), 1, "one more line");
}

/* Equal names, short contents and link targets are stored once while a tree
 * is built; sealing drops the index that finds them (vk_vtree_bytes() counts
 * it), and a later graft still shares the strings it brings among themselves. */
Test(vtree, strings_are_stored_once_and_their_index_goes_at_seal)
{
	struct vtree *t = vk_vtree_new(), *src = vk_vtree_new();
	struct vk_vt_node *a = vk_vtree_mkdir_p(t, "sys/devices/pci0000:00/a"), *b = vk_vtree_mkdir_p(t, "sys/devices/pci0000:00/b");
	char name[16];

	struct vk_vt_node *la = vk_vtree_add_link(t, a, "subsystem", "../../../bus/pci/drivers/vfio-pci");
	struct vk_vt_node *lb = vk_vtree_add_link(t, b, "subsystem", "../../../bus/pci/drivers/vfio-pci");
	cr_assert(la && lb);
	cr_assert_eq(la->u.link.target, lb->u.link.target, "one copy of the target");
	cr_assert_eq(la->name, lb->name);
	cr_assert_str_eq(lb->u.link.target, "../../../bus/pci/drivers/vfio-pci");
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		cr_assert_not_null(vk_vtree_add_file(t, a, name, name, 4, 0444));
	}
	size_t before = vk_vtree_bytes(t);
	cr_assert_eq(vk_vtree_seal(t), 0);
	cr_assert_lt(vk_vtree_bytes(t), before, "the index of %d strings went", 600);

	struct vk_vt_node *d = vk_vtree_add_dir(src, vk_vtree_root(src), "d", 0755);
	cr_assert_not_null(vk_vtree_add_link(src, d, "x", "../../../bus/pci/drivers/vfio-pci"));
	cr_assert_not_null(vk_vtree_add_link(src, d, "y", "../../../bus/pci/drivers/vfio-pci"));
	cr_assert_eq(vk_vtree_seal(src), 0);
	struct vk_vt_node *g = vk_vtree_graft(t, b, d);
	cr_assert_not_null(g);
	struct vk_vt_node *gx = vk_vtree_child(g, "x"), *gy = vk_vtree_child(g, "y");
	cr_assert(gx && gy);
	cr_assert_str_eq(gx->u.link.target, "../../../bus/pci/drivers/vfio-pci");
	cr_assert_str_eq((const char *)vk_vtree_child(a, "f599")->u.file.data, "f599");
	vk_vtree_free(src);
	vk_vtree_free(t);
}

/* 2.3 million nodes at 50,000 devices: each byte of a node is 2.3 MB of a
 * mount daemon (issue 17's budget is 6 KiB a device, nodes take 2.2). */
Test(vtree, a_node_takes_48_bytes)
{
	cr_assert_eq(sizeof(struct vk_vt_node), 48);
}

/* The stored bytes end at the last non-zero one wherever it is (the scan goes
 * 64 bytes at a time, then byte by byte), never below the first 256. */
Test(vtree, zero_tail_ends_at_the_last_non_zero_byte_anywhere)
{
	struct vtree *t = vk_vtree_new();
	uint8_t cfg[4096] = {0}, got[4096];
	char name[16];

	cfg[0] = 0x86;
	for (size_t last = 1; last < sizeof(cfg); last += last < 400 ? 1 : 61) {
		cfg[last] = 0x5a;
		snprintf(name, sizeof(name), "c%zu", last);
		struct vk_vt_node *f = vk_vtree_add_file_zero_tail(t, vk_vtree_root(t), name, cfg, sizeof(cfg), 0644);
		cr_assert_not_null(f);
		cr_assert_eq(f->u.file.stored, last < 256 ? 256 : last + 1, "a last non-zero byte at %zu", last);
		cr_assert_eq(vk_vt_file_read(f, 0, got, sizeof(got)), sizeof(got));
		cr_assert_eq(memcmp(got, cfg, sizeof(cfg)), 0, "reads what it was given (%zu)", last);
		cfg[last] = 0;
	}
	vk_vtree_free(t);
}

static int by_kernfs_order(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	uint32_t hx = vk_vt_kernfs_hash(x), hy = vk_vt_kernfs_hash(y);

	return hx != hy ? (hx < hy ? -1 : 1) : strcmp(x, y);
}

/* @dir holds exactly @names (@n of them), listed in kernfs order. */
static void assert_kernfs_listing(const struct vk_vt_node *dir, const char **names, size_t n)
{
	const char *want[16];

	cr_assert_leq(n, 16);
	memcpy(want, names, n * sizeof(*names));
	qsort(want, n, sizeof(*want), by_kernfs_order);
	cr_assert_eq(dir->u.dir.n, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(dir->u.dir.kids[i]->name, want[i], "%s: entry %zu", dir->name, i);
}

/* Directories made alike are sorted once and the others take that order
 * (vk_vtree_seal()); any difference in the names, their creation order, a
 * name too long to be stored once, or a listing order, is sorted on its own. */
Test(vtree, alike_directories_sort_the_same_and_unlike_ones_on_their_own)
{
	static const char *dev[] = {"vendor", "config", "0000:01:00.0", "0000:00:00.0", "devices", "ab", "b"};
	static const char *other[] = {"vendor", "config", "0000:01:00.0", "driver", "devices", "ab", "b"};
	static const char *longer[] = {"vendor", "config", "0000:01:00.0", "a name longer than 24 bytes", "devices", "ab",
	                               "b"};
	const char *rev[7];
	struct vtree *t = vk_vtree_new();
	struct vk_vt_node *sys = vk_vtree_mkdir_p(t, "sys"), *d[6];
	char name[16], buf[256];

	for (size_t i = 0; i < 7; i++)
		rev[i] = dev[6 - i];
	const char **made[6] = {dev, dev, other, rev, longer, dev};
	for (int k = 0; k < 6; k++) {
		snprintf(name, sizeof(name), "d%d", k);
		d[k] = vk_vtree_add_dir(t, sys, name, 0755);
		for (size_t i = 0; i < 7; i++)
			cr_assert_not_null(vk_vtree_add_file(t, d[k], made[k][i], "x", 1, 0444));
	}
	/* the same names listed by name (not kernfs) */
	struct vk_vt_node *plain = vk_vtree_mkdir_p(t, "plain");
	for (size_t i = 0; i < 7; i++)
		cr_assert_not_null(vk_vtree_add_file(t, plain, dev[i], "x", 1, 0444));
	vk_vtree_set_kernfs(sys, VK_VT_ORDER_KERNFS);
	cr_assert_eq(vk_vtree_seal(t), 0);
	for (int k = 0; k < 6; k++)
		assert_kernfs_listing(d[k], made[k], 7);
	cr_assert_str_eq(listing(plain, buf, sizeof(buf)), "0000:00:00.0 0000:01:00.0 ab b config devices vendor");
	for (int k = 0; k < 6; k++)
		for (size_t i = 0; i < 7; i++)
			cr_assert_eq(vk_vtree_child(d[k], made[k][i])->parent, d[k]);
	vk_vtree_free(t);
}

/* A directory alike to one sorted before but for a name made twice (past the
 * scan limit: found by the seal alone) is not taken for it. */
Test(vtree, seal_finds_a_duplicate_in_a_directory_like_another)
{
	struct vtree *t = vk_vtree_new();
	struct vk_vt_node *a = vk_vtree_mkdir_p(t, "a"), *b = vk_vtree_mkdir_p(t, "b");
	char name[16];

	for (int i = 0; i < 80; i++) {
		snprintf(name, sizeof(name), "n%02d", i);
		cr_assert_not_null(vk_vtree_add_file(t, a, name, "x", 1, 0444));
		snprintf(name, sizeof(name), "n%02d", i == 79 ? 70 : i);
		cr_assert_not_null(vk_vtree_add_file(t, b, name, "x", 1, 0444));
	}
	cr_assert_eq(vk_vtree_seal(t), -EEXIST);
	vk_vtree_free(t);
}

/* A name made twice in a small directory is refused as it is made: short
 * names are compared as the one copy the tree keeps until it is sealed,
 * long ones (not kept once) and names after the seal by their bytes. */
Test(vtree, a_name_made_twice_is_refused_before_and_after_the_seal)
{
	struct vtree *t = vk_vtree_new();
	struct vk_vt_node *d = vk_vtree_mkdir_p(t, "d");
	char longname[] = "a name longer than 24 bytes", copy[sizeof(longname)];

	cr_assert_not_null(vk_vtree_add_file(t, d, "vendor", "x", 1, 0444));
	cr_assert_not_null(vk_vtree_add_file(t, d, longname, "x", 1, 0444));
	memcpy(copy, longname, sizeof(copy));
	errno = 0;
	cr_assert_null(vk_vtree_add_dir(t, d, "vendor", 0755));
	cr_assert_eq(errno, EEXIST);
	errno = 0;
	cr_assert_null(vk_vtree_add_link(t, d, copy, "x"));
	cr_assert_eq(errno, EEXIST);
	cr_assert_not_null(vk_vtree_add_file(t, d, "vendo", "x", 1, 0444), "a prefix is another name");
	cr_assert_eq(vk_vtree_seal(t), 0);
	errno = 0;
	cr_assert_null(vk_vtree_add_file(t, d, "vendor", "y", 1, 0444), "after the seal, a new index");
	cr_assert_eq(errno, EEXIST);
	errno = 0;
	cr_assert_null(vk_vtree_add_file(t, d, copy, "y", 1, 0444));
	cr_assert_eq(errno, EEXIST);
	cr_assert_not_null(vk_vtree_add_file(t, d, "device", "y", 1, 0444));
	cr_assert_null(vk_vtree_add_file(t, d, "device", "y", 1, 0444), "made twice after the seal");
	cr_assert_eq(errno, EEXIST);
	vk_vtree_free(t);
}

/* A link named as another node is named, refused as vk_vtree_add_link()
 * refuses a name, before the seal and after. */
Test(vtree, a_link_takes_the_name_of_a_node)
{
	struct vtree *t = vk_vtree_new();
	struct vk_vt_node *dev = vk_vtree_mkdir_p(t, "sys/devices/pci0000:00/0000:00:01.0");
	struct vk_vt_node *list = vk_vtree_mkdir_p(t, "sys/bus/pci/devices");
	struct vk_vt_node *f = vk_vtree_add_file(t, list->parent, "rescan", "", 0, 0200);

	struct vk_vt_node *l = vk_vtree_add_link_as(t, list, dev, "../../../devices/pci0000:00/0000:00:01.0");
	cr_assert_not_null(l);
	cr_assert_str_eq(l->name, "0000:00:01.0");
	cr_assert_eq(l->type, VK_VT_LINK);
	cr_assert_str_eq(l->u.link.target, "../../../devices/pci0000:00/0000:00:01.0");
	errno = 0;
	cr_assert_null(vk_vtree_add_link_as(t, list, dev, "x"));
	cr_assert_eq(errno, EEXIST);
	errno = 0;
	cr_assert_null(vk_vtree_add_link(t, list, "0000:00:01.0", "x"), "the same name by its bytes");
	cr_assert_eq(errno, EEXIST);
	errno = 0;
	cr_assert_null(vk_vtree_add_link_as(t, f, dev, "x"));
	cr_assert_eq(errno, ENOTDIR);
	errno = 0;
	cr_assert_null(vk_vtree_add_link_as(t, list, NULL, "x"));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(vk_vtree_add_link_as(t, list, vk_vtree_root(t), "x"), "the root has no name");
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(vk_vtree_seal(t), 0);
	errno = 0;
	cr_assert_null(vk_vtree_add_link_as(t, list, dev, "x"), "sealed");
	cr_assert_eq(errno, EEXIST);
	struct vk_vt_node *other = vk_vtree_mkdir_p(t, "sys/devices/pci0000:00/0000:00:02.0");
	cr_assert_not_null(vk_vtree_add_link_as(t, list, other, "../../../devices/pci0000:00/0000:00:02.0"));
	cr_assert_not_null(vk_vtree_child(list, "0000:00:02.0"));
	vk_vtree_free(t);
}

/* An index large enough to be mapped on its own (past 256 KiB: 16,384 slots)
 * still finds every string, grows, and goes at the seal. */
Test(vtree, a_large_strings_index_finds_them_all_and_goes)
{
	struct vtree *t = vk_vtree_new();
	struct vk_vt_node *a = vk_vtree_mkdir_p(t, "a"), *b = vk_vtree_mkdir_p(t, "b");
	char name[16];

	for (int i = 0; i < 40000; i++) {
		snprintf(name, sizeof(name), "s%05d", i);
		cr_assert_not_null(vk_vtree_add_file(t, a, name, name, 6, 0444));
	}
	for (int i = 0; i < 40000; i += 997) {
		snprintf(name, sizeof(name), "s%05d", i);
		struct vk_vt_node *f = vk_vtree_add_file(t, b, name, name, 6, 0444);
		cr_assert_not_null(f);
		cr_assert_eq(f->u.file.data, a->u.dir.kids[i]->u.file.data, "%s stored once", name);
		cr_assert_eq(f->name, a->u.dir.kids[i]->name);
	}
	size_t before = vk_vtree_bytes(t);
	cr_assert_eq(vk_vtree_seal(t), 0);
	/* a name and a content of the same bytes are one string: 40,000 of them */
	cr_assert_eq((const char *)vk_vtree_child(a, "s00997")->u.file.data, vk_vtree_child(a, "s00997")->name);
	/* the index (65,536 slots: 1 MiB) went; the children moved into the arena (320 KiB) */
	cr_assert_lt(vk_vtree_bytes(t), before, "the index of 40,000 strings went");
	cr_assert_str_eq((const char *)vk_vtree_child(a, "s39999")->u.file.data, "s39999");
	vk_vtree_free(t);
}
