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
#include <sys/stat.h>

#include <vfiokit/fakesys_serve.h>

#include "live_util.h"

TestSuite(fuse_live_cache, .fini = live_cleanup, .timeout = 180);

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
	pid_t pid = live_spawn_traced(argv, trace, pidfile, mnt);

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
#ifdef VK_ASAN /* every write there costs several times more, and RSS is not bounded */
	const int total = 2000;
#else
	const int total = 10000;
#endif
	for (int i = 0; i < total; i++) {
		const char *v = vals[i % 2];
		cr_assert_eq(pwrite(fd, v, strlen(v), 0), (ssize_t)strlen(v), "write %d: %s", i, strerror(errno));
		if (i == 999 || i == total - 1) {
			rss[i == total - 1] = vk_rss_kb(pid);
			cr_assert_gt(rss[i == total - 1], 0, "VmRSS of the daemon %d", pid);
		}
	}
	close(fd);
	read_is(DEV "/driver_override", "(null)\n");
	cr_log_info("daemon RSS: %ld KiB after 1,000 writes, %ld KiB after %d", rss[0], rss[1], total);
#ifndef VK_ASAN /* the sanitizer's quarantine holds freed memory on purpose */
	cr_assert_lt(rss[1] - rss[0], 8192, "RSS %ld KiB after 1,000 writes, %ld KiB after 10,000", rss[0], rss[1]);
#endif
}

/* ---- the tree changed in place is the tree a rebuild gives --------------- */

/* The devices of the mount now (sys/bus/pci/devices), into @v. */
static size_t devices_now(char v[][16], size_t max)
{
	size_t n = 0;
	DIR *d = opendir(P(mnt, "sys/bus/pci/devices"));
	cr_assert_not_null(d);
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.' && n < max)
			snprintf(v[n++], 16, "%.15s", e->d_name);
	closedir(d);
	return n;
}

/* How many times @what is in @s. */
static unsigned count_of(const char *s, const char *what)
{
	unsigned n = 0;

	for (const char *p = s; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* Lines of @log that contain @what. */
static unsigned log_lines(const char *log, const char *what)
{
	static char buf[1 << 20];
	unsigned n = 0;

	buf[0] = '\0';
	vk_read_file(log, buf, sizeof(buf));
	for (const char *p = buf; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/*
 * A random sequence of kernel-like writes (bind, unbind, driver_override,
 * drivers_probe, new_id, remove_id, remove, sriov_numvfs), with the daemon
 * comparing its tree with a fresh build of the model after every write it
 * made in place (FAKESYS_LIVE_CHECK: a difference fails the write with EIO,
 * naming the first node that differs, on its stderr).  Most writes must have
 * been made in place, or the comparison shows nothing.
 */
Test(fuse_live_cache, changes_in_place_equal_a_rebuild)
{
	static const char *const drivers[] = {"vfio-pci", "nvme", "i40e", "pcieport"};
	static const char *const ids[] = {"8086 1572", "144d a808", "10de 2204", "8086 154c"};
	char log[PATH_MAX + 16], dir[PATH_MAX], devs[32][16], rel[256], val[64], report[4096] = "";
	unsigned changed = 0, tried = 0;

	unsigned rebuilt = 0;

	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	for (unsigned seed = 1; seed <= 3; seed++) {
		snprintf(log, sizeof(log), "%s/daemon.%u.log", dir, seed);
		/* a fresh host for each sequence: removals leave fewer devices */
		setenv("FAKESYS_LIVE_CHECK", "1", 1);
		int rc = live_mount_reporting(LIVE_HOST, live, mnt, sizeof(mnt), log, NULL);
		unsetenv("FAKESYS_LIVE_CHECK");
		cr_assert_eq(rc, 0);
		srand(seed);
		for (int step = 0; step < 150; step++) {
			size_t n = devices_now(devs, 32);
			if (!n)
				break;
			const char *dev = devs[(size_t)rand() % n];
			const char *drv = drivers[rand() % 4];
			int op = rand() % 16;
			snprintf(val, sizeof(val), "%s", dev);
			if (op < 4) {
				snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/bind", drv);
			} else if (op < 8) {
				char t[PATH_MAX];
				snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver", dev);
				ssize_t m = readlink(P(mnt, rel), t, sizeof(t) - 1);
				if (m <= 0)
					continue;
				t[m] = '\0';
				snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/unbind", strrchr(t, '/') + 1);
			} else if (op < 11) {
				snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver_override", dev);
				snprintf(val, sizeof(val), "%s", rand() % 3 ? drv : "\n");
			} else if (op < 13) {
				snprintf(rel, sizeof(rel), "sys/bus/pci/drivers_probe");
			} else if (op == 13) {
				snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/%s", drv, rand() % 2 ? "new_id" : "remove_id");
				snprintf(val, sizeof(val), "%s", ids[rand() % 4]);
			} else if (op == 14) {
				snprintf(rel, sizeof(rel), "sys/bus/pci/devices/0000:03:00.0/sriov_numvfs");
				snprintf(val, sizeof(val), "%d", rand() % 5);
			} else {
				if (rand() % 4) /* a removal ends the device's part of the sequence: rarely */
					continue;
				snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/remove", dev);
				snprintf(val, sizeof(val), "1");
			}
			int r = vk_write_attr(P(mnt, rel), val);
			if (getenv("VK_TEST_TRACE"))
				fprintf(stderr, "seed %u step %d: echo %s > %s: %d\n", seed, step, val, rel, r);
			tried++;
			if (r == -EIO) /* the daemon's stderr names the first node that differs */
				vk_read_file(log, report, sizeof(report));
			cr_assert_neq(r, -EIO, "seed %u step %d: echo %s > %s: EIO\n%s", seed, step, val, rel, report);
			changed += r == 0;
		}
		live_umount(mnt);
		mnt[0] = '\0';
		rebuilt += log_lines(log, "rebuilt:");
		cr_assert_eq(log_lines(log, "differs from a rebuild"), 0);
	}
	cr_log_info("%u writes, %u took, %u of them rebuilt the tree", tried, changed, rebuilt);
	cr_assert_gt(changed, 100, "only %u of %u writes took", changed, tried);
	cr_assert_lt(rebuilt * 4, changed, "%u of %u writes rebuilt the whole tree", rebuilt, changed);
	vk_rm_rf(dir);
}

/*
 * A removal is made in place: the device's lines go from the lists of every
 * device (proc/bus/pci/devices, proc/interrupts), its directories and links
 * go, and nothing else changes, udev's "I:" of the devices after it included
 * (each keeps the time udev saw it, vk_host_device.udev_seq).  No rebuild
 * (the daemon's FAKESYS_LIVE_CHECK report names each), and the tree is what
 * a rebuild gives (the check fails the write with EIO otherwise).  VFs going
 * are taken out in place too; VFs coming still rebuild: where their lines go
 * among devices the small trees lack is not known.
 */
Test(fuse_live_cache, a_removal_is_made_in_place)
{
	char log[PATH_MAX + 16], dir[PATH_MAX], buf[65536], before[512], after[512];
	const char *numvfs = "sys/bus/pci/devices/0000:03:00.0/sriov_numvfs";
	const char *nic_db = "run/udev/data/+pci:0000:03:00.0";

	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	setenv("FAKESYS_LIVE_CHECK", "1", 1);
	int rc = live_mount_reporting(LIVE_HOST, live, mnt, sizeof(mnt), log, NULL);
	unsetenv("FAKESYS_LIVE_CHECK");
	cr_assert_eq(rc, 0);
	cr_assert_gt(vk_read_file(P(mnt, nic_db), before, sizeof(before)), 0);
	cr_assert_eq(vk_write_attr(P(mnt, "sys/bus/pci/devices/0000:02:00.0/remove"), "1"), 0);
	cr_assert_eq(vk_write_attr(P(mnt, "sys/bus/pci/devices/0000:01:00.1/remove"), "1"), 0);
	cr_assert_gt(vk_read_file(P(mnt, "proc/bus/pci/devices"), buf, sizeof(buf)), 0);
	cr_assert_eq(count_of(buf, "\t144da808\t"), 0, "the removed disk's line is still there:\n%s", buf);
	cr_assert_eq(count_of(buf, "\t10de1aef\t"), 0, "the removed audio function's line is still there:\n%s", buf);
	cr_assert_eq(count_of(buf, "\t10de2204\t"), 1, "the GPU's line went too:\n%s", buf);
	cr_assert_eq(access(P(mnt, "sys/bus/pci/devices/0000:02:00.0"), F_OK), -1);
	cr_assert_gt(vk_read_file(P(mnt, nic_db), after, sizeof(after)), 0);
	cr_assert_str_eq(after, before, "a later device's udev entry changed with the removal");
	cr_assert_eq(log_lines(log, "rebuilt:"), 0, "a removal rebuilt the tree:\n%s",
	             vk_read_file(log, buf, sizeof(buf)) >= 0 ? buf : "");
	cr_assert_eq(vk_write_attr(P(mnt, numvfs), "3"), 0);
	cr_assert_eq(log_lines(log, "rebuilt:"), 1, "VFs coming did not rebuild");
	cr_assert_gt(vk_read_file(P(mnt, "proc/bus/pci/devices"), buf, sizeof(buf)), 0);
	cr_assert_eq(count_of(buf, "\t8086154c\t"), 3, "the VFs' lines:\n%s", buf);
	cr_assert_eq(vk_write_attr(P(mnt, numvfs), "0"), 0);
	cr_assert_gt(vk_read_file(P(mnt, "proc/bus/pci/devices"), buf, sizeof(buf)), 0);
	cr_assert_eq(count_of(buf, "\t8086154c\t"), 0, "the VFs' lines are still there:\n%s", buf);
	cr_assert_eq(log_lines(log, "rebuilt:"), 1, "VFs going rebuilt the tree:\n%s",
	             vk_read_file(log, buf, sizeof(buf)) >= 0 ? buf : "");
	live_umount(mnt);
	mnt[0] = '\0';
	vk_rm_rf(dir);
}
