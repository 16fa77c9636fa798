/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Garbage thrown at a live mount (issues #22.12, #22.15, #14): every writable
 * sysfs file gets empty, oversized, NUL-laden, newline-less, doubly
 * newlined, non-UTF-8, negative and space-led writes, and answers each with
 * what the kernel's store would (kernfs_fop_write_iter(), sysfs_kf_write(),
 * kstrtoul()/kstrtou16(), vsscanf(), sysfs_streq(), driver_set_override());
 * the control channel gets every verb with missing, extra and garbage words,
 * very long lines and NUL bytes, and answers each with a clear error.  The
 * host stays as it was, and the server keeps answering.  Run through
 * need-fuse.sh; in the ASan build the daemon's own leak check covers it
 * (live_util.h).
 */
#include <dirent.h>
#include <sys/stat.h>

#include "live_util.h"

TestSuite(fuse_garbage, .fini = live_cleanup, .timeout = 120);

static char mnt[512];
static const char *const live[] = {"--live", NULL};

#define BIND "sys/bus/pci/drivers/vfio-pci/bind"
#define UNBIND "sys/bus/pci/drivers/nvme/unbind"
#define NEW_ID "sys/bus/pci/drivers/vfio-pci/new_id"
#define OVERRIDE "sys/bus/pci/devices/0000:02:00.0/driver_override"
#define PROBE "sys/bus/pci/drivers_probe"
#define REMOVE "sys/bus/pci/devices/0000:02:00.0/remove"
#define NUMVFS "sys/bus/pci/devices/0000:03:00.0/sriov_numvfs"

/* Mount LIVE_HOST in the live mode, its control files writable by this user. */
static void mount_live(void)
{
	static const char *const files[] = {BIND, UNBIND, NEW_ID, OVERRIDE, PROBE, REMOVE, NUMVFS, NULL};

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	live_writable_for_all(mnt, files);
}

/* One write(2) of @len bytes: what it returned, or -errno. */
static long wr_bytes(const char *rel, const void *buf, size_t len)
{
	int fd = open(P(mnt, rel), O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", rel, strerror(errno));
	ssize_t n = write(fd, buf, len);
	long r = n < 0 ? -errno : (long)n;
	close(fd);
	return r;
}

/* What must not change: the devices, their drivers and overrides, the VFs. */
static void host_state(char *out, size_t len)
{
	DIR *d = opendir(P(mnt, "sys/bus/pci/devices"));
	struct dirent *e;
	char names[16][256];
	size_t n = 0, w = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) && n < 16)
		if (e->d_name[0] != '.')
			snprintf(names[n++], sizeof(names[0]), "%s", e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	for (size_t i = 0; i < n; i++) {
		char rel[512], link[PATH_MAX] = "-", ovr[128] = "";
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%.200s/driver", names[i]);
		ssize_t k = readlink(P(mnt, rel), link, sizeof(link) - 1);
		link[k > 0 ? k : 1] = '\0';
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%.200s/driver_override", names[i]);
		vk_read_file(P(mnt, rel), ovr, sizeof(ovr));
		w += (size_t)snprintf(out + w, len - w, "%s %s %s", names[i], strrchr(link, '/') ? strrchr(link, '/') : link,
		                      ovr);
	}
	char vfs[32] = "";
	vk_read_file(P(mnt, NUMVFS), vfs, sizeof(vfs));
	snprintf(out + w, len - w, "numvfs %s", vfs);
}

/* A write and what the kernel answers: @want >= 0 bytes taken, else -errno. */
struct wcase {
	const char *file;
	const char *buf;
	size_t len;
	long want;
};

#define C(f, s, w) \
	{ \
		f, s, sizeof(s) - 1, w \
	}

static const struct wcase cases[] = {
	/* empty: sysfs_kf_write() returns 0 before any store */
	C(BIND, "", 0),
	C(UNBIND, "", 0),
	C(NEW_ID, "", 0),
	C(OVERRIDE, "", 0),
	C(PROBE, "", 0),
	C(REMOVE, "", 0),
	C(NUMVFS, "", 0),
	/* NUL bytes: the store sees an empty string */
	C(BIND, "\0\0\0", -ENODEV),
	C(UNBIND, "\0\0\0", -ENODEV),
	C(NEW_ID, "\0\0\0", -EINVAL),
	C(OVERRIDE, "\0\0\0", 3), /* strlen() 0: clears the override (there is none) */
	C(PROBE, "\0\0\0", -ENODEV),
	C(REMOVE, "\0\0\0", -EINVAL),
	C(NUMVFS, "\0\0\0", -EINVAL),
	/* a NUL ends the string: what follows is not seen */
	C(REMOVE, "0\0junk", 6),
	C(NUMVFS, "0\0junk", 6),
	C(PROBE, "0000:02:00.0\0junk", 17),
	/* no newline: as good as one */
	C(REMOVE, "0", 1),
	C(NUMVFS, "0", 1),
	C(PROBE, "0000:02:00.0", 12),
	C(UNBIND, "0000:01:00.0", -ENODEV),
	C(BIND, "0000:02:00.0", -ENODEV), /* vfio-pci matches nothing it was not told to */
	/* two newlines: kstrto*() and sysfs_streq() take one */
	C(REMOVE, "0\n\n", -EINVAL),
	C(NUMVFS, "0\n\n", -EINVAL),
	C(UNBIND, "0000:02:00.0\n\n", -ENODEV),
	C(PROBE, "0000:02:00.0\n\n", -ENODEV),
	C(BIND, "0000:02:00.0\n\n", -ENODEV),
	C(NEW_ID, "zz\n\n", -EINVAL),
	C(OVERRIDE, "\n\n", 2), /* a newline first clears it */
	/* non-UTF-8 */
	C(BIND, "\xff\xfe\n", -ENODEV),
	C(UNBIND, "\xff\xfe\n", -ENODEV),
	C(NEW_ID, "\xff\xfe\n", -EINVAL),
	C(PROBE, "\xff\xfe\n", -ENODEV),
	C(REMOVE, "\xff\xfe\n", -EINVAL),
	C(NUMVFS, "\xc3\x28\n", -EINVAL),
	/* signs: kstrtoul() takes '+', not '-'; vsscanf()'s %x takes neither */
	C(REMOVE, "-1\n", -EINVAL),
	C(NUMVFS, "-1\n", -EINVAL),
	C(NEW_ID, "-1 -1\n", -EINVAL),
	C(NEW_ID, "+1 +1\n", -EINVAL),
	C(REMOVE, "+0\n", 3),
	C(NUMVFS, "+0\n", 3),
	/* a leading space: kstrtoul() refuses it (a remove!), sysfs_streq() too */
	C(REMOVE, " 1\n", -EINVAL),
	C(NUMVFS, " 1\n", -EINVAL),
	C(UNBIND, " 0000:02:00.0\n", -ENODEV),
	C(REMOVE, "\t1\n", -EINVAL),
	/* out of range: -EINVAL, not -ERANGE (the stores map every kstrto*() error) */
	C(REMOVE, "99999999999999999999999\n", -EINVAL),
	C(NUMVFS, "65536\n", -EINVAL),
	C(NUMVFS, "0x\n", -EINVAL),
	C(NUMVFS, "08\n", -EINVAL),
	C(NEW_ID, "8086\n", -EINVAL),
	/* a PCI address in another spelling names no device */
	C(UNBIND, "02:00.0\n", -ENODEV),
	C(UNBIND, "0000:02:00.0 \n", -ENODEV),
	C(UNBIND, "0000:02:00.00\n", -ENODEV),
};

Test(fuse_garbage, every_writable_file_answers_as_the_kernel_does)
{
	char before[2048], after[2048];

	mount_live();
	host_state(before, sizeof(before));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long r = wr_bytes(cases[i].file, cases[i].buf, cases[i].len);
		cr_assert_eq(r, cases[i].want, "case %zu: %zu bytes to %s: %ld (%s), expected %ld (%s)", i, cases[i].len,
		             cases[i].file, r, r < 0 ? strerror((int)-r) : "taken", cases[i].want,
		             cases[i].want < 0 ? strerror((int)-cases[i].want) : "taken");
	}
	host_state(after, sizeof(after));
	cr_assert_str_eq(after, before, "the host changed");
	live_umount(mnt);
}

Test(fuse_garbage, a_store_gets_one_page)
{
	char before[2048], after[2048];
	static char big[5000];

	mount_live();
	host_state(before, sizeof(before));
	/* more than a page of garbage: each store sees its first 4096 bytes */
	memset(big, 'x', sizeof(big));
	static const struct {
		const char *file;
		long want;
	} over[] = {{BIND, -ENODEV}, {UNBIND, -ENODEV}, {NEW_ID, -EINVAL}, {OVERRIDE, -EINVAL}, {PROBE, -ENODEV}, {REMOVE, -EINVAL}, {NUMVFS, -EINVAL}};
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++)
		cr_assert_eq(wr_bytes(over[i].file, big, sizeof(big)), over[i].want, "%s", over[i].file);
	/* a valid value in the first page: taken, and the write is short */
	memset(big, 0, sizeof(big));
	big[0] = '0';
	cr_assert_eq(wr_bytes(REMOVE, big, sizeof(big)), 4096);
	cr_assert_eq(wr_bytes(NUMVFS, big, sizeof(big)), 4096);
	/* driver_set_override() refuses PAGE_SIZE - 1 bytes, takes one fewer */
	memset(big, 'a', sizeof(big));
	cr_assert_eq(wr_bytes(OVERRIDE, big, 4095), -EINVAL);
	cr_assert_eq(wr_bytes(OVERRIDE, big, 4094), 4094);
	cr_assert_eq(wr_bytes(OVERRIDE, "\n", 1), 1);
	host_state(after, sizeof(after));
	cr_assert_str_eq(after, before, "the host changed");
	live_umount(mnt);
}

Test(fuse_garbage, driver_override_takes_any_bytes_as_the_kernel_does)
{
	char buf[64];

	mount_live();
	cr_assert_eq(wr_bytes(OVERRIDE, "\xff\xfe\n", 3), 3);
	cr_assert_gt(vk_read_file(P(mnt, OVERRIDE), buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "\xff\xfe\n");
	cr_assert_eq(wr_bytes(OVERRIDE, "pci-stub\nvfio-pci\n", 18), 18); /* up to the first newline */
	cr_assert_gt(vk_read_file(P(mnt, OVERRIDE), buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "pci-stub\n");
	cr_assert_eq(wr_bytes(OVERRIDE, "\nvfio-pci\n", 10), 10); /* a newline first: cleared */
	cr_assert_gt(vk_read_file(P(mnt, OVERRIDE), buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "(null)\n");
	live_umount(mnt);
}

Test(fuse_garbage, control_channel_verbs_with_missing_extra_and_garbage_words)
{
	static const struct {
		const char *cmd, *needle;
		size_t len; /* 0: strlen(cmd) */
		int err;    /* 0: EINVAL */
	} bad[] = {
		{"bind\n", "expected 'bind BDF DRIVER'", 0, 0},
		{"bind 0000:02:00.0\n", "expected 'bind BDF DRIVER'", 0, 0},
		{"bind 0000:02:00.0 vfio-pci extra\n", "unexpected 'extra'", 0, 0},
		{"bind zz vfio-pci\n", "not a PCI address", 0, 0},
		{"unbind\n", "expected 'unbind BDF'", 0, 0},
		{"unbind 0000:02:00.0 extra\n", "unexpected 'extra'", 0, 0},
		{"unbind -1\n", "not a PCI address", 0, 0},
		{"remove\n", "expected 'remove BDF'", 0, 0},
		{"remove 0000:02:00.0 now\n", "unexpected 'now'", 0, 0},
		{"remove \xff\xfe\n", "not a PCI address", 0, 0},
		{"chmod\n", "expected PATH MODE", 0, 0},
		{"chmod sys\n", "expected PATH MODE", 0, 0},
		{"chmod sys 0755 extra\n", "unexpected 'extra'", 0, 0},
		{"chmod sys -1\n", "not an octal mode", 0, 0},
		{"chmod sys 8\n", "not an octal mode", 0, 0},
		{"chmod sys 17777\n", "not an octal mode", 0, 0},
		{"chmod sys 0x1ff\n", "not an octal mode", 0, 0},
		{"set\n", "expected PATH VALUE", 0, 0},
		{"set " OVERRIDE "\n", "expected PATH VALUE", 0, 0},
		{"set sys 1\n", "not a regular file", 0, 0},
		{"write\n", "expected PATH VALUE", 0, 0},
		{"write " PROBE "\n", "expected PATH VALUE", 0, 0},
		{"write sys/nothing 1\n", "no such path", 0, ENOENT},
		{"fault\n", "expected 'fault add", 0, 0},
		{"fault frob\n", "expected 'fault add", 0, 0},
		{"fault add\n", "expected PATH OP ERRNO", 0, 0},
		{"fault add dev/iommu open\n", "expected PATH OP ERRNO", 0, 0},
		{"fault add dev/iommu open EBUSY times=-1\n", "expected a whole number", 0, 0},
		{"fault add dev/iommu open EBUSY nth=1 times=1 delay=1 nth=2 x=1\n", "unknown option 'x=1'", 0, 0},
		{"fault add dev/iommu open EBUSY delay=600001\n", "at most 600000 ms", 0, 0},
		{"fault add dev/iommu open E\xff\n", "not an errno name", 0, 0},
		{"fault clear a b\n", "unexpected 'b'", 0, 0},
		{"fault list all\n", "unexpected 'all'", 0, 0},
		{"log on\n", "no log", 0, 0},
		{"log\n", "no log", 0, 0},
		{"help me\n", "unexpected 'me'", 0, 0},
		{"\xff\xfe\n", "unknown command", 0, 0},
		{"HELP\n", "unknown command 'HELP'", 0, 0},
		{"help\0\n", "contains a NUL byte (at 4)", 6, 0},
		{"\0", "contains a NUL byte (at 0)", 1, 0},
		{"frob\nhelp\n", "unknown command 'frob'", 0, 0}, /* the first failure stops the rest */
	};
	char out[4096], before[2048], after[2048];

	mount_live();
	host_state(before, sizeof(before));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[PATH_MAX];
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].cmd);
		snprintf(path, sizeof(path), "%s/.fakesys/control", mnt);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		cr_assert_geq(fd, 0);
		ssize_t w = write(fd, bad[i].cmd, len);
		int e = w < 0 ? errno : 0;
		ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
		out[n > 0 ? n : 0] = '\0';
		close(fd);
		int want = bad[i].err ? bad[i].err : EINVAL;
		cr_assert_eq(e, want, "case %zu (%s): write gave %s, expected %s; answer %s", i, bad[i].cmd,
		             e ? strerror(e) : "success", strerror(want), out);
		cr_assert(!strncmp(out, "error: ", 7) && strstr(out, bad[i].needle), "case %zu (%s): %s", i, bad[i].cmd,
		          out);
		cr_assert(!strchr(out, '\n') || strchr(out, '\n')[1] == '\0', "one line: %s", out);
	}
	host_state(after, sizeof(after));
	cr_assert_str_eq(after, before, "the host changed");
	cr_assert_eq(live_ctl(mnt, "fault list\n", out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "", "no fault was added");
	live_umount(mnt);
}

Test(fuse_garbage, control_channel_very_long_lines)
{
	static char line[100000 + 64];
	char out[4096];

	mount_live();
	/* a long unknown word: refused, quoted short */
	memset(line, 'x', 100000);
	memcpy(line + 100000, "\n", 2);
	cr_assert_eq(live_ctl(mnt, line, out, sizeof(out)), -EINVAL);
	cr_assert(!strncmp(out, "error: unknown command 'xxx", 27) && strlen(out) < 200, "%.200s", out);
	/* a long run of blanks after a verb is no extra word */
	memcpy(line, "help", 4);
	memset(line + 4, ' ', 100000 - 4);
	cr_assert_eq(live_ctl(mnt, line, out, sizeof(out)), 0, "%.200s", out);
	cr_assert(strstr(out, "fault add PATH OP ERRNO"), "%.200s", out);
	/* a long value for write: echo writes it in pages, as a sysfs store takes them */
	snprintf(line, sizeof(line), "write %s ", PROBE);
	size_t k = strlen(line);
	memset(line + k, 'y', 9000);
	memcpy(line + k + 9000, "\n", 2);
	cr_assert_eq(live_ctl(mnt, line, out, sizeof(out)), -ENODEV, "%.200s", out);
	cr_assert(!strncmp(out, "error: drivers_probe: no such device 'yyy", 40), "%.200s", out);
	cr_assert_eq(live_ctl(mnt, "help\n", out, sizeof(out)), 0, "the server still answers");
	live_umount(mnt);
}

Test(fuse_garbage, chmod_of_the_root_takes_effect)
{
	char out[256];
	struct stat st;

	mount_live();
	cr_assert_eq(stat(mnt, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0755);
	/* 0711: still a way in for a test that is not root */
	cr_assert_eq(live_ctl(mnt, "chmod / 0711\n", out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "ok\n");
	cr_assert_eq(stat(mnt, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0711, "chmod / answered ok: the root's mode must be 0711, is %o",
	             st.st_mode & 07777);
	cr_assert_eq(live_ctl(mnt, "chmod / 0755\n", out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(stat(mnt, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0755);
	live_umount(mnt);
}
