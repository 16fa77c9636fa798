/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hostile trees given to --root (issue #22).  Each tool runs in a child killed
 * after LIMIT_S seconds, with 1 GB of address space (not in a sanitizer
 * build), and must end by itself; the time each run took is printed.
 *
 * - A FIFO where sysfs has an attribute, procfs a file or /dev a node:
 *   vfio-resolve, vfio-validate --root and vfio-doctor opened attributes in
 *   blocking mode and hung forever on a FIFO with no writer; now a clear error
 *   naming the path ("... not a regular file (fifo)").
 * - Links out of the root, absolute and by "..": nothing outside is read (a
 *   canary file beside the tree never shows up in any output).
 * - Symlink loops where a device, an attribute or a node belongs: ELOOP.
 * - Huge files (1 GB, sparse) as attributes, /proc files and the kernel
 *   config: read up to a cap, never whole.
 * - Directories of 100,000 entries (vfio-dev/, iommu_groups/) and an IOMMU
 *   group of 3,000 devices named on the command line: linear, bounded.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vk_cleanup.h"

#include "testutil.h"
#include "tree.h"

#define LIMIT_S 10
#define VMEM_BYTES (1000ul << 20)

static char dir[PATH_MAX];

static void setup(void)
{
	char sc[PATH_MAX];
	cr_assert_eq(vk_materialize(vk_scenario_path("default.yaml", sc, sizeof(sc)), dir, sizeof(dir)), 0);
}

static void teardown(void)
{
	vk_rm_rf(dir);
}

TestSuite(hostile_tree, .init = setup, .fini = teardown, .timeout = 240);

/* Replace the file @rel of the tree (symlinks in the path followed) with a FIFO. */
static void plant_fifo(const char *rel)
{
	char p[PATH_MAX + 64], real[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	cr_assert_not_null(realpath(p, real), "%s: %s", p, strerror(errno));
	cr_assert_eq(unlink(real), 0, "%s: %s", real, strerror(errno));
	cr_assert_eq(mkfifo(real, 0644), 0, "%s: %s", real, strerror(errno));
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read what a child wrote to the file @fd (rewound) into @buf. */
static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/*
 * Run @argv in its own process group with stdout/stderr captured; kill the
 * group after LIMIT_S seconds.  Returns the exit status, or -ETIMEDOUT.
 */
static int run_limited(char *const argv[], char *out, size_t outlen, char *err, size_t errlen)
{
	char tmpl_o[] = "/tmp/vk-fifo-out.XXXXXX", tmpl_e[] = "/tmp/vk-fifo-err.XXXXXX";
	int fo = mkstemp(tmpl_o), fe = mkstemp(tmpl_e), st = 0;
	double t0 = now();
	pid_t pid, w = 0;

	cr_assert(fo >= 0 && fe >= 0);
	unlink(tmpl_o);
	unlink(tmpl_e);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		setpgid(0, 0);
#ifndef VK_SANITIZE
		/* memory bounded: a sanitizer's shadow needs terabytes of address space */
		struct rlimit rl = {VMEM_BYTES, VMEM_BYTES};
		setrlimit(RLIMIT_AS, &rl);
#endif
		dup2(devnull, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now() - t0 < LIMIT_S)
		usleep(20000);
	if (w == 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	slurp(fo, out, outlen);
	slurp(fe, err, errlen);
	cr_log_info("%s %s: %.3f s%s", argv[0], argv[1], now() - t0, w == 0 ? " (killed: hung)" : "");
	if (w == 0)
		return -ETIMEDOUT;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run one of the CLIs with --root <tree> and the words after it, up to a NULL. */
__attribute__((sentinel)) static int tool(const char *prog, char *out, size_t outlen, char *err, size_t errlen, ...)
{
	char bin[PATH_MAX];
	char *argv[32];
	size_t n = 0;
	va_list ap;

	vk_bin(prog, bin, sizeof(bin));
	argv[n++] = bin;
	argv[n++] = (char *)"--root";
	argv[n++] = dir;
	va_start(ap, errlen);
	for (const char *a; n < 31 && (a = va_arg(ap, const char *));)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return run_limited(argv, out, outlen, err, errlen);
}

#define DEV "sys/bus/pci/devices/0000:01:00.0"

/* The three tools on device 0000:01:00.0 end with an error naming @what. */
static void all_three_refuse(const char *what)
{
	char out[65536], err[8192];
	int rc;

	rc = tool("resolver/vfio-resolve", out, sizeof(out), err, sizeof(err), "0000:01:00.0", NULL);
	cr_assert_eq(rc, 1, "vfio-resolve: status %d (-110: hung), stderr: %s", rc, err);
	cr_assert(strstr(err, what) && strstr(err, "not a regular file (fifo)"), "%s", err);

	rc = tool("resolver/vfio-resolve", out, sizeof(out), err, sizeof(err), "--no-openat2", "0000:01:00.0", NULL);
	cr_assert_eq(rc, 1, "vfio-resolve --no-openat2: status %d, stderr: %s", rc, err);
	cr_assert(strstr(err, "not a regular file (fifo)"), "%s", err);

	rc = tool("validator/vfio-validate", out, sizeof(out), err, sizeof(err), "--", "qemu-system-x86_64", "-device",
	          "vfio-pci,host=0000:01:00.0", NULL);
	cr_assert_eq(rc, 2, "vfio-validate: status %d, stderr: %s", rc, err);
	cr_assert(strstr(err, what) && strstr(err, "not a regular file (fifo)"), "%s", err);

	rc = tool("doctor/vfio-doctor", out, sizeof(out), err, sizeof(err), "--no-qemu", "--memlock", "unlimited",
	          "0000:01:00.0", NULL);
	cr_assert_eq(rc, 1, "vfio-doctor: status %d, stderr: %s", rc, err);
	cr_assert(strstr(out, what) && strstr(out, "not a regular file (fifo)"), "%s", out);
}

Test(hostile_tree, fifo_as_vendor)
{
	plant_fifo(DEV "/vendor");
	all_three_refuse("0000:01:00.0/vendor");
}

Test(hostile_tree, fifo_as_the_cdev_dev_attribute)
{
	plant_fifo(DEV "/vfio-dev/vfio0/dev");
	all_three_refuse("vfio-dev/vfio0/dev");
}

Test(hostile_tree, fifo_as_proc_cmdline_and_interrupts)
{
	char out[1 << 17], err[8192];

	plant_fifo("proc/cmdline");
	plant_fifo("proc/interrupts");
	int rc = tool("doctor/vfio-doctor", out, sizeof(out), err, sizeof(err), "--no-qemu", "--memlock", "unlimited",
	              "--json", NULL);
	cr_assert(rc == 0 || rc == 1, "vfio-doctor: status %d (-110: hung), stderr: %s", rc, err);
	cr_assert(strstr(out, "/proc/cmdline: not a regular file (fifo)"), "the IOMMU check's evidence must say why "
	                                                                   "the command line is unknown: %.2000s",
	          out);
}

Test(hostile_tree, fifo_as_a_class_dev_attribute_for_the_stand_in)
{
	char out[65536], err[8192];

	plant_fifo("sys/class/vfio-dev/vfio0/dev");
	plant_fifo("sys/class/misc/iommu/dev");
	int rc = tool("validator/vfio-validate", out, sizeof(out), err, sizeof(err), "--stand-in", "--",
	              "qemu-system-x86_64", "-S", NULL);
	cr_assert_eq(rc, 0, "vfio-validate --stand-in: status %d (-110: hung), stderr: %s", rc, err);
}

/* A FIFO where /dev has the VFIO cdev or /dev/iommu: the resolver opens those
 * O_RDWR on purpose (a FIFO opened O_RDWR never blocks, fs/pipe.c fifo_open()),
 * and the node check refuses it before anything is handed out. */
Test(hostile_tree, fifo_as_the_device_nodes)
{
	char out[65536], err[8192];
	int rc;

	plant_fifo("dev/vfio/devices/vfio0");
	rc = tool("resolver/vfio-resolve", out, sizeof(out), err, sizeof(err), "--open", "0000:01:00.0", NULL);
	cr_assert_eq(rc, 1, "vfio-resolve --open: status %d, stderr: %s", rc, err);
	cr_assert(strstr(err, "neither a character device nor a stand-in"), "%s", err);

	teardown();
	setup();
	plant_fifo("dev/iommu");
	rc = tool("resolver/vfio-resolve", out, sizeof(out), err, sizeof(err), "--open", "0000:01:00.0", NULL);
	cr_assert_eq(rc, 1, "vfio-resolve --open: status %d, stderr: %s", rc, err);
	cr_assert(strstr(err, "dev/iommu"), "%s", err);
}

/* ---- links out of the root ---- */

#define CANARY "VFIOKIT-CANARY-OUTSIDE-THE-ROOT"

static char outside[PATH_MAX];

/* A directory beside the tree with a file @name holding the canary. */
static void make_outside(void)
{
	char p[PATH_MAX + 64];

	cr_assert_eq(vk_mkdtemp(outside, sizeof(outside)), 0);
	snprintf(p, sizeof(p), "%s/secret", outside);
	FILE *f = fopen(p, "we");
	cr_assert_not_null(f);
	fprintf(f, "0x10de %s intel_iommu=on\n", CANARY);
	cr_assert_eq(fclose(f), 0);
}

/* mkdir -p of the directory @rel is in. */
static void mkdir_parent(const char *rel)
{
	char d[PATH_MAX];

	snprintf(d, sizeof(d), "%s", rel);
	char *slash = strrchr(d, '/');
	if (slash) {
		*slash = '\0';
		cr_assert_eq(tree_mkdir(dir, d), 0, "%s", d);
	}
}

/* Replace @rel of the tree (not following a last symlink) with a symlink to @target. */
static void plant_link(const char *rel, const char *target)
{
	char p[PATH_MAX + 64];

	mkdir_parent(rel);
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (unlink(p) < 0)
		cr_assert_eq(errno, ENOENT, "%s: %s", p, strerror(errno));
	cr_assert_eq(symlink(target, p), 0, "%s: %s", p, strerror(errno));
}

/* The path of @rel's real directory (symlinks in the tree followed) relative to the tree. */
static const char *real_rel(const char *rel, char *buf, size_t len)
{
	char p[PATH_MAX + 64], real[PATH_MAX], rdir[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	cr_assert_not_null(realpath(p, real), "%s", p);
	cr_assert_not_null(realpath(dir, rdir));
	snprintf(buf, len, "%s", real + strlen(rdir) + 1);
	return buf;
}

Test(hostile_tree, links_out_of_the_root_read_nothing_outside)
{
	char out[1 << 17], err[8192], t[PATH_MAX * 2], rel[PATH_MAX];
	/* deeper than any tree: followed without the root's rules, it reaches / */
	const char *up = "../../../../../../../../../../../../../../../../../../../..";
	int rc;

	make_outside();
	snprintf(t, sizeof(t), "%s/secret", outside);
	plant_link("proc/cmdline", t); /* absolute */
	snprintf(t, sizeof(t), "%s%s/secret", up, outside);
	plant_link("proc/sys/kernel/osrelease", t); /* by ".." */
	plant_link("sys/module/vfio/parameters/enable_unsafe_noiommu_mode", t);
	snprintf(t, sizeof(t), "%s/secret", outside);
	plant_link(real_rel(DEV "/vendor", rel, sizeof(rel)), t); /* an attribute: refused, not followed */
	plant_link("sys/bus/pci/devices/0000:01:00.1", outside);  /* a device directory */

	rc = tool("doctor/vfio-doctor", out, sizeof(out), err, sizeof(err), "--no-qemu", "--memlock", "unlimited",
	          "--json", NULL);
	cr_assert(rc == 0 || rc == 1, "vfio-doctor: status %d (-110: hung), stderr: %s", rc, err);
	cr_assert_null(strstr(out, CANARY), "the doctor read a file outside the root: %.3000s", out);
	cr_assert_null(strstr(err, CANARY));
	cr_assert(strstr(out, "refusing to follow"), "the symlinked vendor must be refused: %.3000s", out);

	rc = tool("resolver/vfio-resolve", out, sizeof(out), err, sizeof(err), "--json", "0000:01:00.1", NULL);
	cr_assert_eq(rc, 1, "vfio-resolve: status %d, stderr: %s", rc, err);
	cr_assert_null(strstr(out, CANARY));
	cr_assert(strstr(out, "does not exist") || strstr(err, "does not exist"), "the device link resolves inside the "
	                                                                          "root, where nothing is: %s %s",
	          out, err);
	rc = tool("resolver/vfio-resolve", out, sizeof(out), err, sizeof(err), "--no-openat2", "0000:01:00.1", NULL);
	cr_assert_eq(rc, 1, "vfio-resolve --no-openat2: status %d, stderr: %s", rc, err);
	cr_assert(strstr(out, "does not exist") || strstr(err, "does not exist"), "%s %s", out, err);

	rc = tool("validator/vfio-validate", out, sizeof(out), err, sizeof(err), "--json", "--", "qemu-system-x86_64",
	          "-device", "vfio-pci,host=0000:01:00.0", "-device", "vfio-pci,host=0000:01:00.1", NULL);
	cr_assert_eq(rc, 2, "vfio-validate: status %d, stderr: %s", rc, err);
	cr_assert_null(strstr(out, CANARY));
	cr_assert_null(strstr(err, CANARY));
	vk_rm_rf(outside);
}

/* ---- loops ---- */

Test(hostile_tree, symlink_loops_end_in_eloop)
{
	char out[65536], err[8192], rel[PATH_MAX], p[PATH_MAX + 64];
	int rc;

	/* a device whose directory is a loop, a node that is one, a group listing that points at itself */
	plant_link("sys/bus/pci/devices/0000:01:00.1", "0000:01:00.1");
	plant_link("dev/vfio/devices/vfio0", "vfio0.b");
	plant_link("dev/vfio/devices/vfio0.b", "/dev/vfio/devices/vfio0");
	snprintf(p, sizeof(p), "%s/devices/loop", real_rel("sys/kernel/iommu_groups/1", rel, sizeof(rel)));
	plant_link(p, "../..");

	rc = tool("resolver/vfio-resolve", out, sizeof(out), err, sizeof(err), "0000:01:00.1", NULL);
	cr_assert_eq(rc, 1, "vfio-resolve: status %d (-110: hung), stderr: %s", rc, err);
	cr_assert(strstr(err, "ELOOP"), "%s", err);
	rc = tool("resolver/vfio-resolve", out, sizeof(out), err, sizeof(err), "--no-openat2", "0000:01:00.0", NULL);
	cr_assert_eq(rc, 1, "vfio-resolve --no-openat2: status %d, stderr: %s", rc, err);
	cr_assert(strstr(out, "cannot examine") && strstr(out, "(ELOOP)"), "%s", out);
	rc = tool("doctor/vfio-doctor", out, sizeof(out), err, sizeof(err), "--no-qemu", "--memlock", "unlimited",
	          NULL);
	cr_assert(rc == 0 || rc == 1, "vfio-doctor: status %d (-110: hung), stderr: %s", rc, err);
	rc = tool("validator/vfio-validate", out, sizeof(out), err, sizeof(err), "--", "qemu-system-x86_64", "-device",
	          "vfio-pci,host=0000:01:00.0,iommufd=i", "-object", "iommufd,id=i", NULL);
	cr_assert_eq(rc, 1, "vfio-validate: status %d, stderr: %s", rc, err);
	cr_assert(strstr(out, "VV103") && strstr(out, "Too many levels of symbolic links"), "%s", out);
}

/* ---- huge files ---- */

/* Replace @rel (symlinks followed) with a sparse file of @size bytes starting with @head. */
static void plant_huge(const char *rel, off_t size, const char *head)
{
	char p[PATH_MAX + 64], real[PATH_MAX + 64];

	mkdir_parent(rel);
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (!realpath(p, real))
		snprintf(real, sizeof(real), "%s", p);
	unlink(real);
	int fd = open(real, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert(fd >= 0, "%s: %s", real, strerror(errno));
	cr_assert_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	cr_assert_eq(ftruncate(fd, size), 0);
	close(fd);
}

Test(hostile_tree, huge_sparse_files_are_read_to_a_cap)
{
	char out[1 << 17], err[8192], p[PATH_MAX + 64];
	const off_t gb = 1l << 30;
	int rc;

	plant_huge(DEV "/vendor", gb, "0x10de\n");
	plant_huge(DEV "/driver_override", gb, "vfio-pci\n");
	plant_huge("proc/cmdline", gb, "intel_iommu=on ");
	plant_huge("proc/cpuinfo", gb, "vendor_id\t: GenuineIntel\n");
	plant_huge("proc/interrupts", gb, "           CPU0\n");
	plant_huge("boot/config-6.8.0-45-generic", gb, "CONFIG_VFIO=y\n");
	/* no device on vfio-pci: the doctor's cdev check falls back to the kernel config */
	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/vfio-pci", dir);
	char **names;
	size_t n;
	names = vk_dir_names(p, &n);
	for (size_t i = 0; names && i < n; i++) {
		char q[PATH_MAX * 2];
		snprintf(q, sizeof(q), "%s/%s", p, names[i]);
		unlink(q);
	}
	vk_names_free(names, n);

	rc = tool("doctor/vfio-doctor", out, sizeof(out), err, sizeof(err), "--no-qemu", "--memlock", "unlimited",
	          "--json", "0000:01:00.0", NULL);
	cr_assert(rc == 0 || rc == 1, "vfio-doctor: status %d (-110: hung), stderr: %s", rc, err);
	cr_assert(strstr(out, "the kernel config lacks CONFIG_VFIO_DEVICE_CDEV"), "the head of the config is read: "
	                                                                          "%.3000s",
	          out);
	rc = tool("resolver/vfio-resolve", out, sizeof(out), err, sizeof(err), "--json", "0000:01:00.0", NULL);
	cr_assert(rc == 0 || rc == 1, "vfio-resolve: status %d, stderr: %s", rc, err);

	/* an .args file or stdin of 1 GB: refused past 16 MiB */
	snprintf(p, sizeof(p), "%s/huge.args", dir);
	plant_huge("huge.args", gb, "qemu-system-x86_64 ");
	char bin[PATH_MAX];
	char *argv[] = {(char *)vk_bin("validator/vfio-validate", bin, sizeof(bin)), (char *)"--args-file", p, NULL};
	rc = run_limited(argv, out, sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, 2, "vfio-validate --args-file: status %d, stderr: %s", rc, err);
	cr_assert(strstr(err, "more than 16777216 bytes"), "%s", err);
}

/* ---- big directories ---- */

Test(hostile_tree, a_vfio_dev_of_100000_entries_and_100000_groups)
{
	char out[1 << 17], err[8192], rel[PATH_MAX], p[PATH_MAX * 3];
	int rc;

	/* 200,000 directories: on a tmpfs when there is one (a disk under load
	 * makes them at a few thousand a second); a hand-built tree, since
	 * fakesys never writes below /dev */
	teardown();
	if (access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	cr_assert_eq(tree_new(dir, sizeof(dir), true), 0);
	cr_assert_eq(tree_add(dir, &tree_happy), 0);
	real_rel("sys/bus/pci/devices/0000:06:00.0/vfio-dev", rel, sizeof(rel));
	for (int i = 1; i <= 100000; i++) {
		snprintf(p, sizeof(p), "%s/%s/vfio%d", dir, rel, i);
		cr_assert_eq(mkdir(p, 0755), 0, "%s: %s", p, strerror(errno));
	}
	for (int i = 1000; i < 101000; i++) {
		snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups/%d", dir, i);
		cr_assert_eq(mkdir(p, 0755), 0, "%s: %s", p, strerror(errno));
	}
	rc = tool("resolver/vfio-resolve", out, sizeof(out), err, sizeof(err), "0000:06:00.0", NULL);
	cr_assert_eq(rc, 1, "vfio-resolve: status %d (-110: hung), stderr: %s", rc, err);
	cr_assert(strstr(out, "holds 100001 entries") || strstr(err, "holds 100001 entries"), "%s %s", out, err);
	rc = tool("doctor/vfio-doctor", out, sizeof(out), err, sizeof(err), "--no-qemu", "--memlock", "unlimited",
	          "0000:06:00.0", NULL);
	cr_assert(rc == 0 || rc == 1, "vfio-doctor: status %d (-110: hung), stderr: %s", rc, err);
	cr_assert(strstr(out, "100001 entries"), "%.3000s", out);
}

/* A tree of @n devices in IOMMU group 0, the even ones on vfio-pci, the odd ones on e1000e. */
static void big_group(int n)
{
	char p[PATH_MAX * 2], bdf[16];

	snprintf(p, sizeof(p), "%s/big", dir);
	cr_assert_eq(mkdir(p, 0755), 0);
	static const char *const dirs[] = {"sys/bus/pci/devices", "sys/bus/pci/drivers/vfio-pci",
	                                   "sys/bus/pci/drivers/e1000e", "sys/kernel/iommu_groups/0/devices"};
	for (size_t i = 0; i < VK_ARRAY_SIZE(dirs); i++) {
		char q[PATH_MAX * 2];
		snprintf(q, sizeof(q), "big/%s", dirs[i]);
		cr_assert_eq(tree_mkdir(dir, q), 0);
	}
	for (int i = 0; i < n; i++) {
		const char *drv = i % 2 ? "e1000e" : "vfio-pci";
		snprintf(bdf, sizeof(bdf), "0000:%02x:%02x.%d", (i >> 8) & 255, (i >> 3) & 31, i & 7);
		snprintf(p, sizeof(p), "%s/big/sys/bus/pci/devices/%s", dir, bdf);
		cr_assert_eq(mkdir(p, 0755), 0);
		snprintf(p, sizeof(p), "%s/big/sys/bus/pci/devices/%s/driver", dir, bdf);
		char t[128];
		snprintf(t, sizeof(t), "../../drivers/%s", drv);
		cr_assert_eq(symlink(t, p), 0);
		snprintf(p, sizeof(p), "%s/big/sys/bus/pci/devices/%s/iommu_group", dir, bdf);
		cr_assert_eq(symlink("../../../../kernel/iommu_groups/0", p), 0);
		snprintf(p, sizeof(p), "%s/big/sys/kernel/iommu_groups/0/devices/%s", dir, bdf);
		snprintf(t, sizeof(t), "../../../../bus/pci/devices/%s", bdf);
		cr_assert_eq(symlink(t, p), 0);
	}
}

Test(hostile_tree, a_group_of_3000_devices_named_on_the_command_line)
{
	char out[1 << 16], err[8192], bin[PATH_MAX], root[PATH_MAX + 8], args[PATH_MAX + 16];
	const int n = 3000;
	int rc;

	big_group(n);
	snprintf(root, sizeof(root), "%s/big", dir);
	snprintf(args, sizeof(args), "%s/big.args", dir);
	FILE *f = fopen(args, "we");
	cr_assert_not_null(f);
	fprintf(f, "/usr/bin/qemu-system-x86_64");
	for (int i = 0; i < n; i += 2)
		fprintf(f, " -device vfio-pci,host=0000:%02x:%02x.%d", (i >> 8) & 255, (i >> 3) & 31, i & 7);
	fprintf(f, "\n");
	cr_assert_eq(fclose(f), 0);
	/* each of the 1,500 devices walks the group of 3,000: once, not 1,500 times */
	char *argv[] = {(char *)vk_bin("validator/vfio-validate", bin, sizeof(bin)), (char *)"--root", root,
	                (char *)"--args-file", args, NULL};
	rc = run_limited(argv, out, sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, 1, "vfio-validate: status %d (-110: hung), stderr: %s", rc, err);
	cr_assert(strstr(out, "VV104") && strstr(out, "1484 more members are bound to kernel drivers"), "%.2000s", out);
}
