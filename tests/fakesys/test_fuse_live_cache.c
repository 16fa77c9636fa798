/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The live mode keeps the kernel's caches (issue #17): a second walk of a
 * live mount reads no file, link or listing from the server again (counted
 * in the server's own request trace, -f -d); a kernel-like write is seen
 * through every cache at once (pages, link targets, listings, negative
 * entries, attributes); an open from before a change still reads one whole
 * old value; and the daemon's memory stays flat over 10,000 writes.
 * Run through need-fuse.sh.
 */
#include <dirent.h>
#include <spawn.h>
#include <sys/stat.h>

#include <vfiokit/fakesys_serve.h>

#include "live_util.h"

TestSuite(fuse_live_cache, .fini = live_cleanup, .timeout = 180);

extern char **environ;

static char mnt[512];
static const char *const live[] = {"--live", NULL};

#define DEV "sys/bus/pci/devices/0000:02:00.0"

/* lstat every entry below @dir, readlink the links, read the files, list
 * the directories (as lspci or a udev walk would).  Returns the entries. */
static unsigned walk(const char *dir)
{
	char p[PATH_MAX], buf[8192];
	unsigned n = 0;
	DIR *d = opendir(dir);

	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	for (struct dirent *e; (e = readdir(d));) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		cr_assert_eq(lstat(p, &st), 0, "%s: %s", p, strerror(errno));
		n++;
		if (S_ISLNK(st.st_mode))
			cr_assert_gt(readlink(p, buf, sizeof(buf)), 0, "%s: %s", p, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			n += walk(p);
		else if (!strcmp(e->d_name, "config"))
			continue; /* read by reader, never from the page cache (test_fuse_caps_lspci) */
		else if ((st.st_mode & 0444) && vk_read_file(p, buf, sizeof(buf)) < 0 &&
		         errno != EACCES)
			cr_assert_fail("%s: %s", p, strerror(errno));
	}
	closedir(d);
	return n;
}

/* The requests named @op in @trace from byte @from on. */
static unsigned count_ops(const char *trace, long from, const char *op)
{
	char line[4096], want[64];
	unsigned n = 0;
	FILE *f = fopen(trace, "re");

	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, from, SEEK_SET), 0);
	snprintf(want, sizeof(want), "opcode: %s (", op);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want))
			n++;
	fclose(f);
	return n;
}

static long file_size(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	return st.st_size;
}

/* A second walk of a device's directory on a live mount: the kernel answers
 * every read, readlink, listing and lookup from its caches (opens, and the
 * getattr a read makes stale on a writable superblock, still reach the
 * server).  Before issue #17 every read, readlink and listing did. */
Test(fuse_live_cache, a_second_walk_is_served_from_the_kernels_caches)
{
	char dir[PATH_MAX], scen[PATH_MAX + 32], trace[PATH_MAX + 16], pidfile[PATH_MAX + 16], bin[PATH_MAX];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int ws;

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(scen, sizeof(scen), "%s/scenario.yaml", dir);
	snprintf(trace, sizeof(trace), "%s/trace", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	FILE *f = fopen(scen, "we");
	cr_assert_not_null(f);
	fputs(LIVE_HOST, f);
	fclose(f);
	cr_assert_eq(vk_mkdtemp(mnt, sizeof(mnt)), 0);
	char *argv[] = {bin, "mount", "-f", "-d", "--live", "--pidfile", pidfile, scen, mnt, NULL};
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, trace, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 500 && access(pidfile, F_OK) < 0; i++)
		usleep(10000);
	cr_assert_eq(access(pidfile, F_OK), 0, "the server did not mount");
	snprintf(live_mnt, sizeof(live_mnt), "%s", mnt);

	char root[PATH_MAX];
	cr_assert_not_null(realpath(P(mnt, DEV), root), "%s: %s", DEV, strerror(errno));
	unsigned first = walk(root);
	long mark = file_size(trace);
	unsigned second = walk(root);
	cr_assert_eq(first, second);
	cr_assert_gt(first, 20, "the walk saw %u entries", first);
	unsigned reads = count_ops(trace, mark, "READ"), links = count_ops(trace, mark, "READLINK");
	unsigned lists = count_ops(trace, mark, "READDIR") + count_ops(trace, mark, "READDIRPLUS");
	unsigned lookups = count_ops(trace, mark, "LOOKUP"), opens = count_ops(trace, mark, "OPEN");
	live_umount(mnt);
	mnt[0] = '\0';
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	vk_rm_rf(dir);
	cr_assert_gt(opens, 0, "the trace shows no OPEN: not a live mount, or no trace");
	cr_assert_eq(reads, 0, "%u reads of %u entries reached the server again", reads, second);
	cr_assert_eq(links, 0, "%u readlinks reached the server again", links);
	cr_assert_eq(lists, 0, "%u listings reached the server again", lists);
	cr_assert_eq(lookups, 0, "%u lookups reached the server again", lookups);
}

static void read_is(const char *rel, const char *want)
{
	char buf[256];
	cr_assert_geq(vk_read_file(P(mnt, rel), buf, sizeof(buf)), 0, "%s: %s", rel, strerror(errno));
	cr_assert_str_eq(buf, want, "%s", rel);
}

static bool listed(const char *rel, const char *name)
{
	bool found = false;
	DIR *d = opendir(P(mnt, rel));
	cr_assert_not_null(d, "%s: %s", rel, strerror(errno));
	for (struct dirent *e; (e = readdir(d));)
		found |= !strcmp(e->d_name, name);
	closedir(d);
	return found;
}

static int lstat_errno(const char *rel)
{
	struct stat st;
	return lstat(P(mnt, rel), &st) == 0 ? 0 : errno;
}

static void wr(const char *rel, const char *s)
{
	cr_assert_eq(vk_write_attr(P(mnt, rel), s), 0, "echo %s > %s: %s", s, rel, strerror(errno));
}

/* Everything the kernel cached of 0000:02:00.0 (its driver_override page, its
 * driver link, the drivers' listings, a negative entry, an attribute) is
 * seen to change as soon as the writes that change it return. */
Test(fuse_live_cache, a_write_is_seen_through_every_cache)
{
	char buf[64], out[256];
	struct stat st;

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	for (int i = 0; i < 2; i++) { /* the second time from the caches */
		read_is(DEV "/driver_override", "(null)\n");
		link_target_has(mnt, DEV "/driver", "/nvme");
		cr_assert_eq(lstat_errno("sys/bus/pci/drivers/vfio-pci/0000:02:00.0"), ENOENT);
		cr_assert(!listed("sys/bus/pci/drivers/vfio-pci", "0000:02:00.0"));
		cr_assert(listed("sys/bus/pci/drivers/nvme", "0000:02:00.0"));
		cr_assert_eq(stat(P(mnt, DEV "/vendor"), &st), 0);
		cr_assert_eq(st.st_mode & 07777, 0444);
	}
	/* an open from before the change: one whole value, read in two parts */
	int fd = open(P(mnt, DEV "/driver_override"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(read(fd, buf, 1), 1);

	wr(DEV "/driver_override", "vfio-pci");
	wr("sys/bus/pci/drivers/nvme/unbind", "0000:02:00.0");
	wr("sys/bus/pci/drivers_probe", "0000:02:00.0");

	ssize_t n = read(fd, buf + 1, sizeof(buf) - 2);
	cr_assert_gt(n, 0);
	buf[n + 1] = '\0';
	close(fd);
	cr_assert_str_eq(buf, "(null)\n", "an open from before the change read a mix");
	read_is(DEV "/driver_override", "vfio-pci\n");
	link_target_has(mnt, DEV "/driver", "/vfio-pci");
	cr_assert_eq(lstat_errno("sys/bus/pci/drivers/vfio-pci/0000:02:00.0"), 0, "a cached negative entry");
	cr_assert_eq(lstat_errno("sys/bus/pci/drivers/nvme/0000:02:00.0"), ENOENT, "a cached entry");
	cr_assert(listed("sys/bus/pci/drivers/vfio-pci", "0000:02:00.0"), "a cached listing");
	cr_assert(!listed("sys/bus/pci/drivers/nvme", "0000:02:00.0"), "a cached listing");

	/* an attribute, changed through the control channel */
	cr_assert_eq(live_ctl(mnt, "chmod " DEV "/vendor 0400\n", out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(stat(P(mnt, DEV "/vendor"), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0400, "a cached attribute: mode %o", st.st_mode & 07777);

	/* and back: a file that changed once is read afresh every time */
	wr(DEV "/driver_override", "\n");
	read_is(DEV "/driver_override", "(null)\n");
	wr(DEV "/driver_override", "nvme");
	read_is(DEV "/driver_override", "nvme\n");
	cr_assert_eq(stat(P(mnt, DEV "/driver_override"), &st), 0);
	/* kernfs's size, or the length of what is there now: never the old value's */
	cr_assert(st.st_size == 4096 || st.st_size == 5, "a stale size: %lld", (long long)st.st_size);
}

/* A readlink fault added at run time on a mount that caches link targets
 * sees the readlinks it counts. */
Test(fuse_live_cache, a_readlink_fault_added_later_sees_its_readlinks)
{
	char buf[PATH_MAX], out[256];

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	link_target_has(mnt, DEV "/driver", "/nvme"); /* now in the page cache */
	cr_assert_eq(live_ctl(mnt, "fault add " DEV "/driver readlink EIO nth=2\n", out, sizeof(out)), 0, "%s",
	             out);
	cr_assert_gt(readlink(P(mnt, DEV "/driver"), buf, sizeof(buf)), 0, "%s", strerror(errno));
	/* the invalidation after the first is sent by a thread of the server's */
	int e = 0;
	for (int i = 0; i < 200 && !e; i++) {
		e = readlink(P(mnt, DEV "/driver"), buf, sizeof(buf)) < 0 ? errno : 0;
		if (!e)
			usleep(10000);
	}
	cr_assert_eq(e, EIO, "the second readlink was not counted: %s", strerror(e));
}

/* 10,000 writes, each changing the host: the daemon's memory stays flat
 * (each change frees the tree it replaces). */
Test(fuse_live_cache, memory_stays_flat_over_10000_writes)
{
	static const char *const vals[] = {"vfio-pci\n", "\n"};

	cr_assert_eq(live_mount(LIVE_HOST, live, mnt, sizeof(mnt)), 0);
	int pid = vk_fakesys_mount_pid(mnt);
	cr_assert_gt(pid, 0);
	int fd = open(P(mnt, DEV "/driver_override"), O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	long rss[2] = {0, 0};
	for (int i = 0; i < 10000; i++) {
		const char *v = vals[i % 2];
		cr_assert_eq(pwrite(fd, v, strlen(v), 0), (ssize_t)strlen(v), "write %d: %s", i, strerror(errno));
		if (i == 999 || i == 9999) {
			char path[64], st[4096];
			snprintf(path, sizeof(path), "/proc/%d/status", pid);
			cr_assert_gt(vk_read_file(path, st, sizeof(st)), 0);
			char *p = strstr(st, "VmRSS:");
			cr_assert_not_null(p);
			rss[i == 9999] = strtol(p + 6, NULL, 10);
		}
	}
	close(fd);
	read_is(DEV "/driver_override", "(null)\n");
#ifndef VK_ASAN /* the sanitizer's quarantine holds freed memory on purpose */
	cr_assert_lt(rss[1] - rss[0], 8192, "RSS %ld KiB after 1,000 writes, %ld KiB after 10,000", rss[0], rss[1]);
#endif
}
