/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A FIFO where sysfs has an attribute, procfs a file or /dev a node (issue
 * #22): vfio-resolve, vfio-validate --root and vfio-doctor opened attributes
 * in blocking mode and hung forever on a FIFO with no writer.  Each tool runs
 * here in a child killed after LIMIT_S seconds; it must end by itself with a
 * clear error naming the path ("... not a regular file (fifo)").  The time
 * each run took is printed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define LIMIT_S 10

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

TestSuite(fifo_tree, .init = setup, .fini = teardown, .timeout = 120);

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

Test(fifo_tree, fifo_as_vendor)
{
	plant_fifo(DEV "/vendor");
	all_three_refuse("0000:01:00.0/vendor");
}

Test(fifo_tree, fifo_as_the_cdev_dev_attribute)
{
	plant_fifo(DEV "/vfio-dev/vfio0/dev");
	all_three_refuse("vfio-dev/vfio0/dev");
}

Test(fifo_tree, fifo_as_proc_cmdline_and_interrupts)
{
	char out[1 << 17], err[8192];

	plant_fifo("proc/cmdline");
	plant_fifo("proc/interrupts");
	int rc = tool("doctor/vfio-doctor", out, sizeof(out), err, sizeof(err), "--no-qemu", "--memlock", "unlimited",
	              "--json", NULL);
	cr_assert(rc == 0 || rc == 1, "vfio-doctor: status %d (-110: hung), stderr: %s", rc, err);
	cr_assert(strstr(out, "/proc/cmdline: not a regular file (fifo)"), "the IOMMU check's evidence must say why "
	          "the command line is unknown: %.2000s", out);
}

Test(fifo_tree, fifo_as_a_class_dev_attribute_for_the_stand_in)
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
Test(fifo_tree, fifo_as_the_device_nodes)
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
