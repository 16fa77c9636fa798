/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_live: the load workload of tests/fakesys/test_fuse_load.c
 * (load_work.h) on a live mount of scenarios/default.yaml, with 1, 2, 4 and
 * 8 readers, without and with a writer toggling 0000:81:02.1 between vfio-pci
 * and iavf for as long as the readers run.  Prints reader ops/s (one op = one
 * lstat, readlink, whole-file read, listing, open of a node or
 * vk_pci_dev_facts_read()), writer toggles/s, the ratio of reader throughput with
 * the writer to without (both measured in this run), and the daemon's RSS.
 * Not a test: the checks of the workload only make a wrong run visible.
 *
 * The mount belongs to this process; the measurements run in a child process,
 * so that whichever way they end (a failure, abort() in load_round(), a crash,
 * Ctrl-C) their reader threads have ended and their files are closed before
 * the unmount: the kernel closes a process's files when it exits, and refuses
 * to unmount a FUSE file system that still has open files (EBUSY).  Then the
 * unmount waits a while for other users, and when it still fails the processes
 * that hold the mount are named and the exit status is 1: no exit path leaves
 * the mount and its daemon behind silently.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "bench_host.h"

#include "../fakesys/load_work.h"
#include "bench_util.h"

#define ITERS 40

/* Reader ops/s of one run; *tps gets the writer's toggles/s when @with. */
static double run(const char *mnt, const struct load_expect *ex, unsigned nr, bool with, double *tps)
{
	struct load_reader rd[8];
	struct load_writer w = {0};
	unsigned long ops = 0;
	double t0 = now();
	load_round(mnt, ex, rd, nr, ITERS, with ? &w : NULL);
	double dt = now() - t0;
	for (unsigned i = 0; i < nr; i++) {
		ops += rd[i].ops;
		if (rd[i].fail[0])
			fprintf(stderr, "bench_live: reader %u: %s\n", i, rd[i].fail);
	}
	if (with && w.fail[0])
		fprintf(stderr, "bench_live: writer: %s\n", w.fail);
	if (tps)
		*tps = with ? (double)w.done / dt : 0;
	return (double)ops / dt;
}

/* The measurements, in the child: 0, or 1 when the mount could not be read. */
static int measure(const char *mnt)
{
	struct load_expect ex;
	int pid = vk_fakesys_mount_pid(mnt);

	if (load_snapshot(mnt, &ex) < 0) {
		fprintf(stderr, "bench_live: cannot read the stand-ins of %s\n", mnt);
		return 1;
	}
	long rss0 = pid > 0 ? vk_rss_kb(pid) : -1;
	run(mnt, &ex, 2, true, NULL); /* warm-up */
	printf("bench_live: default.yaml, live mount, %d iterations per reader; writer toggles 0000:81:02.1\n", ITERS);
	printf("  %-8s %14s %14s %12s %10s\n", "readers", "ops/s alone", "ops/s +writer", "toggles/s", "ratio");
	static const unsigned nrs[] = {1, 2, 4, 8};
	for (size_t i = 0; i < 4; i++) {
		double tps;
		double alone = run(mnt, &ex, nrs[i], false, NULL);
		double with = run(mnt, &ex, nrs[i], true, &tps);
		printf("  %-8u %14.0f %14.0f %12.1f %9.2fx\n", nrs[i], alone, with, tps, with / alone);
	}
	long rss1 = pid > 0 ? vk_rss_kb(pid) : -1;
	printf("  daemon RSS: %.1f MiB before, %.1f MiB after\n", (double)rss0 / 1024, (double)rss1 / 1024);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Unmount @mnt.  Nothing of this process holds it any more, so a busy mount
 * is a release still in flight or another process: vk_fakesys_umount_with()
 * waits for it (10 s here), then names the processes.  0 or 1. */
static int unmount(const char *mnt)
{
	struct vk_fakesys_umount_opts o = {.timeout_ms = 10000};
	struct vk_error e = {0};

	if (vk_fakesys_umount_with(mnt, &o, &e) == 0)
		return 0;
	fprintf(stderr, "bench_live: %s\n", e.msg);
	return 1;
}

/*
 * Mount @scen live, run @fn(mnt, @arg) in a child process (see the top of
 * this file) and unmount.  Returns the child's status: 0, or 1.
 */
static int mounted_run(const char *scen, int (*fn)(const char *mnt, void *arg), void *arg)
{
	char bin[PATH_MAX], mnt[256], err[4096];
	int st = 0;

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	if (vk_mkdtemp(mnt, sizeof(mnt)) < 0)
		return 1;
	char *argv[] = {bin, "mount", "--live", (char *)scen, mnt, NULL};
	if (vk_run(argv, NULL, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_live: fakesys mount failed: %s\n", err);
		rmdir(mnt);
		return 1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(mnt, arg));
	}
	int rc = 1;
	pid_t w = pid;
	if (pid < 0)
		perror("bench_live: fork");
	while (pid > 0 && (w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (w < 0 && pid > 0)
		perror("bench_live: waitpid");
	else if (pid > 0 && WIFEXITED(st))
		rc = WEXITSTATUS(st);
	else if (pid > 0 && WIFSIGNALED(st))
		fprintf(stderr, "bench_live: the measurements were ended by signal %d (%s)\n", WTERMSIG(st),
		        strsignal(WTERMSIG(st)));
	if (unmount(mnt) != 0)
		return 1;
	rmdir(mnt);
	return rc;
}

static int measure_load(const char *mnt, void *arg)
{
	(void)arg;
	return measure(mnt);
}

/* One write(2) of @s to @path (opened and closed for it, as echo does): 0 or -errno. */
static int write_once(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* ms per write of @n writes of driver_override of @path, toggling it */
static double toggle_ms(const char *path, unsigned n)
{
	static const char *const vals[] = {"vfio-pci\n", "\n"};
	double t0 = now();
	for (unsigned i = 0; i < n; i++)
		if (write_once(path, vals[i % 2]) < 0) {
			fprintf(stderr, "bench_live: write %s: %s\n", path, strerror(errno));
			return -1;
		}
	return (now() - t0) * 1e3 / n;
}

struct write_cost {
	unsigned ndev, n;
	double base, build; /* the baselines, ms */
};

/* ms per write of @n writes unbinding 0000:01:00.0 from i40e and binding it again */
static double rebind_ms(const char *mnt, unsigned n)
{
	char p[2][PATH_MAX];
	snprintf(p[0], sizeof(p[0]), "%s/sys/bus/pci/drivers/i40e/unbind", mnt);
	snprintf(p[1], sizeof(p[1]), "%s/sys/bus/pci/drivers/i40e/bind", mnt);
	double t0 = now();
	for (unsigned i = 0; i < n; i++)
		if (write_once(p[i % 2], "0000:01:00.0\n") < 0) {
			fprintf(stderr, "bench_live: write %s: %s\n", p[i % 2], strerror(errno));
			return -1;
		}
	return (now() - t0) * 1e3 / n;
}

/* In the child: the writes, and the rows of the table. */
static int measure_writes(const char *mnt, void *arg)
{
	const struct write_cost *c = arg;
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/0000:01:00.0/driver_override", mnt);
	toggle_ms(p, 2); /* warm-up */
	double ms = toggle_ms(p, c->n);
	rebind_ms(mnt, 2);
	double rb = rebind_ms(mnt, c->n);
	if (ms < 0 || rb < 0)
		return 1;
	printf("  %-8u %-16s %10.3f %12.4f %9.0fx %14.1f %9.3fx\n", c->ndev, "driver_override", ms, c->base,
	       ms / c->base, c->build, ms / c->build);
	printf("  %-8u %-16s %10.3f %12.4f %9.0fx %14.1f %9.3fx\n", c->ndev, "unbind/bind", rb, c->base, rb / c->base,
	       c->build, rb / c->build);
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * The cost of one live sysfs write (driver_override of 0000:01:00.0, set and
 * cleared) on a generated host of @ndev devices (bench_host.h), beside two
 * baselines of the same run: the same open/write/close of a file in $TMPDIR,
 * and one build of the host's whole tree in this process
 * (vk_host_tree_build(): what each write cost before the in-place update).
 */
static void write_cost(unsigned ndev, unsigned n)
{
	char tmp[256], yaml[512], file[512];
	struct vk_host_model *m = NULL;
	struct vtree *t = NULL;
	struct vk_error e = {0};
	struct write_cost c = {.ndev = ndev, .n = n};

	if (vk_mkdtemp(tmp, sizeof(tmp)) < 0)
		return;
	snprintf(yaml, sizeof(yaml), "%s/host.yaml", tmp);
	snprintf(file, sizeof(file), "%s/driver_override", tmp);
	if (bench_write_host(yaml, ndev) < 0 || vk_host_model_load(yaml, &m, &e) < 0) {
		fprintf(stderr, "bench_live: %s\n", e.msg);
		goto out;
	}
	double build = 1e9;
	for (int i = 0; i < 3; i++) {
		double t0 = now();
		if (vk_host_tree_build(m, &t, &e) < 0) {
			fprintf(stderr, "bench_live: %s\n", e.msg);
			goto out;
		}
		double dt = (now() - t0) * 1e3;
		build = dt < build ? dt : build;
		vk_vtree_free(t);
		t = NULL;
	}
	vk_host_model_free(m);
	m = NULL;
	int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	toggle_ms(file, 100);
	c.base = toggle_ms(file, 1000);
	c.build = build;
	fflush(stdout);
	mounted_run(yaml, measure_writes, &c);
out:
	vk_host_model_free(m);
	vk_rm_rf(tmp);
}

int main(void)
{
	char scen[PATH_MAX];

	if (!vk_have_fuse()) {
		fprintf(stderr, "bench_live: /dev/fuse is not usable here; nothing to measure\n");
		return 0;
	}
	vk_scenario_path("default.yaml", scen, sizeof(scen));
	/* waited for below: not reaped by the kernel (an inherited SIG_IGN) */
	signal(SIGCHLD, SIG_DFL);
	/* a Ctrl-C ends the measurements (the child), not the unmount */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	int rc = mounted_run(scen, measure_load, NULL);
	printf("bench_live: one live sysfs write (open, write, close), ms per write; baselines: the same write of a "
	       "file in $TMPDIR, one build of the whole tree (each write's cost before it was changed in place)\n");
	printf("  %-8s %-16s %10s %12s %10s %14s %10s\n", "devices", "write", "live ms", "tmpfile ms", "ratio",
	       "full build ms", "ratio");
	fflush(stdout);
	write_cost(1000, 40);
	write_cost(10000, 40);
	return rc;
}
