/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys mount --live --kernel-opens` (fakesys_mount_opts.kernel_opens):
 * a live mount whose files the kernel opens itself.  Unchanged files are
 * read once and then served from the kernel's caches (counted in the
 * server's own request trace, -f -d); a kernel-like write is seen at once by
 * the next read, link and lookup, although the written page stays locked by
 * the kernel until the reply (its invalidation goes out after it); what the
 * mode cannot serve is refused with a reason, and the control channel is
 * write-only (as an ordinary user it makes the written files writable).
 * Without the live mode it gives a mount of root's the kernel's opens back
 * (no config by reader).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "live_util.h"

static char mnt[512];

static void setup(void)
{
	if (!vk_have_fuse())
		cr_skip_test("/dev/fuse is not usable here");
}

static void teardown(void)
{
	live_cleanup();
}

TestSuite(fuse_kernel_opens, .init = setup, .fini = teardown, .timeout = 120);

static const char *const kopens[] = {"--live", "--kernel-opens", NULL};

#define DEV "sys/bus/pci/devices/0000:01:00.0"

static void read_is(const char *rel, const char *want)
{
	char buf[256];
	long n = vk_read_file(P(mnt, rel), buf, sizeof(buf));

	cr_assert_geq(n, 0, "read %s: %s", rel, strerror((int)-n));
	cr_assert_str_eq(buf, want, "%s", rel);
}

static void write_ok(const char *rel, const char *v)
{
	int r = vk_write_attr(P(mnt, rel), v);
	cr_assert_eq(r, 0, "echo %s > %s: %s", v, rel, strerror(-r));
}

/* A command to the write-only control channel: 0 or -errno. */
static int ctl(const char *cmd)
{
	return vk_write_attr(P(mnt, ".fakesys/control"), cmd);
}

/* As an ordinary user, the files a test writes made writable (the tree's
 * files are root's): the control channel's chmod. */
static void writable(const char *const *rels)
{
	char cmd[256];

	for (size_t i = 0; geteuid() != 0 && rels[i]; i++) {
		snprintf(cmd, sizeof(cmd), "chmod %s 0666", rels[i]);
		cr_assert_eq(ctl(cmd), 0, "%s", cmd);
	}
}

static const char *const written[] = {DEV "/driver_override", "sys/bus/pci/drivers/vfio-pci/bind",
                                      "sys/bus/pci/drivers/vfio-pci/unbind", "sys/bus/pci/drivers/nvme/bind", NULL};

static bool has_driver(void)
{
	struct stat st;
	return lstat(P(mnt, DEV "/driver"), &st) == 0;
}

/* Every write is seen by the very next read, readlink and lookup. */
Test(fuse_kernel_opens, a_write_is_seen_at_once)
{
	cr_assert_eq(live_mount(LIVE_HOST, kopens, mnt, sizeof(mnt)), 0);
	writable(written);
	read_is(DEV "/driver_override", "vfio-pci\n"); /* now in the page cache */
	for (int i = 0; i < 200; i++) {
		write_ok(DEV "/driver_override", "\n");
		read_is(DEV "/driver_override", "(null)\n");
		write_ok("sys/bus/pci/drivers/vfio-pci/unbind", "0000:01:00.0");
		cr_assert(!has_driver(), "round %d: the driver link outlived the unbind", i);
		write_ok(DEV "/driver_override", "vfio-pci");
		read_is(DEV "/driver_override", "vfio-pci\n");
		write_ok("sys/bus/pci/drivers/vfio-pci/bind", "0000:01:00.0");
		cr_assert(has_driver(), "round %d: no driver link after the bind", i);
		link_target_has(mnt, DEV "/driver", "drivers/vfio-pci");
	}
	/* refused as the kernel refuses it: the override names another driver */
	int r = vk_write_attr(P(mnt, "sys/bus/pci/drivers/nvme/bind"), "0000:01:00.0");
	cr_assert_eq(r, -ENODEV, "%s", strerror(-r));
}

/* What needs every open is refused; the control channel is write-only. */
Test(fuse_kernel_opens, what_needs_opens_is_refused)
{
	char err[4096], buf[64];

	cr_assert_eq(live_mount(LIVE_HOST, kopens, mnt, sizeof(mnt)), 0);
	cr_assert_eq(ctl("chmod " DEV "/label 0600"), -ENOENT, "a command's failure is its write's");
	cr_assert_eq(ctl("chmod " DEV "/vendor 0600"), 0);
	struct stat st;
	cr_assert_eq(stat(P(mnt, DEV "/vendor"), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "the chmod is seen at once: %o", st.st_mode & 07777);
	cr_assert_eq(ctl("fault add " DEV "/vendor read EIO"), -EINVAL, "a read fault the server would not see");
	cr_assert_eq(ctl("fault add " DEV "/vendor getattr EIO"), 0, "a getattr fault");
	/* no result to read (empty, or EOPNOTSUPP when the kernel asks): the
	 * kernel would keep one answer in its page cache for every reader */
	cr_assert_leq(vk_read_file(P(mnt, ".fakesys/control"), buf, sizeof(buf)), 0, "a result: %s", buf);
	live_umount(mnt);
	mnt[0] = '\0';

	const char *with_log[] = {"--live", "--kernel-opens", "--log", "/dev/null", NULL};
	cr_assert_eq(live_mount(LIVE_HOST, with_log, mnt, sizeof(mnt)), 2);
	mnt[0] = '\0';

	char yaml[4096], dir[PATH_MAX], scen[PATH_MAX + 16], bin[PATH_MAX];
	snprintf(yaml, sizeof(yaml), "%sfaults:\n  - {path: '" DEV "/vendor', op: read, errno: EIO}\n", LIVE_HOST);
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(scen, sizeof(scen), "%s/s.yaml", dir);
	FILE *f = fopen(scen, "we");
	cr_assert_not_null(f);
	fputs(yaml, f);
	fclose(f);
	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	char mp[PATH_MAX + 16];
	snprintf(mp, sizeof(mp), "%s/mnt", dir);
	cr_assert_eq(mkdir(mp, 0755), 0);
	char *argv[] = {bin, "mount", "--live", "--kernel-opens", scen, mp, NULL};
	cr_assert_eq(vk_run(argv, NULL, 0, err, sizeof(err)), 1);
	cr_assert_not_null(strstr(err, "matches opens, reads or listings"), "%s", err);
	cr_assert_not_null(strstr(err, "line 14"), "the fault's line: %s", err);
	cr_assert(!live_mounted(mp), "a refused mount is mounted");
	vk_rm_rf(dir);
}

/* opcode @op in the trace @path: how many requests. */
static int trace_count(const char *path, const char *op)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen(path, "re");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, op) != NULL;
	fclose(f);
	return n;
}

/*
 * On a foreground server with -d: three reads of one attribute make one OPEN
 * (answered ENOSYS) and one READ; a write changing it makes the next read a
 * request again, once.  The live mode without kernel opens sends an OPEN
 * for each.
 */
static void count_requests(const char *const *opts, bool write, int *opens, int *reads)
{
	char dir[400], trace[PATH_MAX + 16], pidfile[PATH_MAX + 16], scen[PATH_MAX + 16], bin[PATH_MAX];
	int ws;

	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(trace, sizeof(trace), "%s/trace", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	snprintf(scen, sizeof(scen), "%s/s.yaml", dir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	cr_assert_eq(mkdir(mnt, 0755), 0);
	FILE *f = fopen(scen, "we");
	cr_assert_not_null(f);
	fputs(LIVE_HOST, f);
	fclose(f);
	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	char *argv[12] = {bin, "mount", "-f", "-d", "--pidfile", pidfile};
	int n = 6;
	for (size_t i = 0; opts[i]; i++)
		argv[n++] = (char *)opts[i];
	argv[n++] = scen;
	argv[n++] = mnt;
	argv[n] = NULL;
	pid_t pid = live_spawn_traced(argv, trace, pidfile, mnt);
	if (write)
		writable(written);
	for (int i = 0; i < 3; i++)
		read_is(DEV "/driver_override", "vfio-pci\n");
	if (write) {
		write_ok(DEV "/driver_override", "\n");
		for (int i = 0; i < 3; i++)
			read_is(DEV "/driver_override", "(null)\n");
	}
	cr_assert_eq(vk_umount(mnt), 0);
	live_mnt[0] = '\0';
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	*opens = trace_count(trace, "opcode: OPEN ");
	*reads = trace_count(trace, "opcode: READ ");
	vk_rm_rf(dir);
	mnt[0] = '\0';
}

Test(fuse_kernel_opens, unchanged_files_are_read_from_the_kernels_caches)
{
	int opens, reads;
	const char *live[] = {"--live", NULL};

	count_requests(kopens, true, &opens, &reads);
	cr_assert_eq(opens, 1, "%d OPEN requests: only the first should reach the server", opens);
	cr_assert_eq(reads, 2, "%d READ requests: one before the write and one after", reads);
	count_requests(live, true, &opens, &reads);
	cr_assert_geq(opens, 7, "the live mode without kernel opens sent %d OPEN requests for 7 opens", opens);
}

/* A mount of root's serves config space by reader (64 bytes to others), so
 * it sees every open; with kernel opens it does not, and sees none. */
Test(fuse_kernel_opens, a_static_mount_of_roots_stops_seeing_opens)
{
	int opens, reads;
	const char *plain[] = {NULL}, *kernel[] = {"--kernel-opens", NULL};

	if (geteuid() != 0)
		cr_skip_test("only a mount of root's has readers other than its owner (allow_other)");
	count_requests(plain, false, &opens, &reads);
	cr_assert_geq(opens, 3, "a mount of root's sent %d OPEN requests for 3 opens", opens);
	count_requests(kernel, false, &opens, &reads);
	cr_assert_eq(opens, 1, "%d OPEN requests: only the first should reach the server", opens);
	cr_assert_eq(reads, 1, "%d READ requests for three reads of an unchanged file", reads);
}

/* The library refuses what the CLI refuses before it: a log with kernel opens. */
Test(fuse_kernel_opens, the_library_refuses_a_log)
{
	char scenario[PATH_MAX], dir[400], log[PATH_MAX];
	struct vk_host_model *m = NULL;
	struct vtree *t = NULL;
	struct vk_error e = {0};

	vk_scenario_path("default.yaml", scenario, sizeof(scenario));
	cr_assert_eq(vk_host_model_load(scenario, &m, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_host_tree_build(m, &t, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(log, sizeof(log), "%s/log", dir);
	struct vk_fakesys_mount_opts o = {.serve_opens = true, .kernel_opens = true, .log = log};
	int r = vk_fakesys_mount(t, dir, &o, &e);
	vk_vtree_free(t);
	vk_host_model_free(m);
	cr_assert_eq(r, -EINVAL, "%d: %s", r, e.msg);
	cr_assert_not_null(strstr(e.msg, "access log"), "%s", e.msg);
	cr_assert(!live_mounted(dir), "a refused mount is mounted");
	vk_rm_rf(dir);
}
