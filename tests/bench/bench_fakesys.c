/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_fakesys: figures for fakesys on generated hosts.  First the scale
 * table (issue 17): parse, build, `fakesys mount` and memory (the loader's
 * and the tree's VmRSS growth, the mount daemon's VmRSS) per device at 1,000,
 * 10,000 and 50,000 devices, each as a ratio to the same per-device figure at
 * 1,000 measured in the same run (1.00x is linear).  Then, at 1,000 and
 * 10,000 devices, the cost of a stat+readlink+read walk over the FUSE mount
 * (static and live, each with and without kernel opens; cold, second and warm) as a ratio to the
 * same walk over a materialized copy on tmpfs measured in the same run; and
 * on the first host of 1,000 devices or fewer the cost of one FUSE round
 * trip: an fstatat() of a name the kernel has not looked up yet is one LOOKUP
 * request (the reply carries the attributes; fs/fuse/dir.c
 * fuse_lookup_name()), counted in the trace of a `fakesys mount -f -d` doing
 * the same, beside an fstatat() of the same name once cached and on tmpfs.
 * Not a test: no pass/fail, the targets are printed beside the figures.
 *   bench_fakesys            everything
 *   bench_fakesys scale      the scale table alone (~30 s on 2 CPUs)
 *   bench_fakesys N...       the walks at N devices
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "bench_host.h"
#include "bench_util.h"
#include "testutil.h"

static double timed_walk(const char *root, struct walk *w)
{
	memset(w, 0, sizeof(*w));
	double t0 = now();
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		walk_dir(fd, w);
	return now() - t0;
}

/* $VK_BENCH_QUICK=1 (tests/bench/bench_all.sh): the serve-opens mode only up
 * to 1,000 devices (at 10,000 its walks take minutes). */
static bool quick(void)
{
	const char *q = getenv("VK_BENCH_QUICK");
	return q && *q && strcmp(q, "0") != 0;
}

/* Best of three warm walks: the figure least disturbed by the machine. */
static double warm_walk(const char *root, struct walk *w)
{
	double best = 1e9;
	for (int i = 0; i < 3; i++) {
		double t = timed_walk(root, w);
		best = t < best ? t : best;
	}
	return best;
}

/* A tmpfs for the baseline: our own mount as root, else /dev/shm. */
static int baseline_dir(char *dir, size_t len, bool *mounted)
{
	*mounted = false;
	if (vk_mkdtemp(dir, len) < 0)
		return -1;
	if (geteuid() == 0 && mount("vfiokit-bench", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=2g,mode=0755") == 0) {
		*mounted = true;
		return 0;
	}
	rmdir(dir);
	snprintf(dir, len, "/dev/shm/vfiokit-bench.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

/* ---- the cost of one FUSE request --------------------------------------- */

/* The device directories (paths below the tree) and their entries' names. */
struct rt_dirs {
	char **dir;
	char ***names;
	size_t *nnames, n;
	unsigned long total;
};

static void rt_free(struct rt_dirs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		vk_names_free(d->names[i], d->nnames[i]);
		free(d->dir[i]);
	}
	free(d->dir);
	free(d->names);
	free(d->nnames);
}

/* From the copy: sys/bus/pci/devices/<BDF> resolved to sys/devices/... */
static int rt_collect(const char *copy, struct rt_dirs *d)
{
	char bus[600], link[PATH_MAX], full[PATH_MAX * 2];
	size_t nb;

	memset(d, 0, sizeof(*d));
	snprintf(bus, sizeof(bus), "%s/sys/bus/pci/devices", copy);
	char **bdfs = vk_dir_names(bus, &nb);
	if (!bdfs)
		return -1;
	d->dir = calloc(nb, sizeof(*d->dir));
	d->names = calloc(nb, sizeof(*d->names));
	d->nnames = calloc(nb, sizeof(*d->nnames));
	for (size_t i = 0; d->dir && d->names && d->nnames && i < nb; i++) {
		snprintf(full, sizeof(full), "%s/%s", bus, bdfs[i]);
		ssize_t k = readlink(full, link, sizeof(link) - 1);
		const char *p = NULL;
		if (k > 0) {
			link[k] = '\0';
			p = strstr(link, "devices/");
		}
		if (!p)
			continue;
		snprintf(full, sizeof(full), "%s/sys/%s", copy, p);
		char **names = vk_dir_names(full, &d->nnames[d->n]);
		if (!names)
			continue;
		d->names[d->n] = names;
		d->total += d->nnames[d->n];
		if (!(d->dir[d->n] = strdup(full + strlen(copy) + 1))) {
			vk_names_free(names, d->nnames[d->n]);
			continue;
		}
		d->n++;
	}
	vk_names_free(bdfs, nb);
	return d->n ? 0 : -1;
}

/* fstatat() of every name below @root, each directory opened first (not
 * timed); returns the seconds the fstatat() calls took. */
static double rt_stats(const char *root, const struct rt_dirs *d, unsigned long *errors)
{
	char path[PATH_MAX * 2];
	double t = 0;

	for (size_t i = 0; i < d->n; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, d->dir[i]);
		int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			(*errors)++;
			continue;
		}
		double t0 = now();
		for (size_t k = 0; k < d->nnames[i]; k++) {
			struct stat st;
			if (fstatat(dfd, d->names[i][k], &st, AT_SYMLINK_NOFOLLOW) < 0)
				(*errors)++;
		}
		t += now() - t0;
		close(dfd);
	}
	return t;
}

/* Lines of @path holding "opcode: @op", or "opcode: " with @op NULL. */
static long count_ops(const char *path, const char *op)
{
	char line[1024], pat[64];
	long n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	snprintf(pat, sizeof(pat), "opcode: %s", op ? op : "");
	while (fgets(line, sizeof(line), f))
		n += strstr(line, pat) != NULL;
	fclose(f);
	return n;
}

/* `fakesys mount -f -d` in the background, stderr to @log; its PID, or -1. */
static pid_t rt_debug_mount(const char *bin, const char *yaml, const char *mnt, const char *pidfile, const char *log)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(bin, bin, "mount", "-f", "-d", "--pidfile", pidfile, yaml, mnt, (char *)NULL);
		_exit(127);
	}
	for (double end = now() + 20; pid > 0 && access(pidfile, F_OK) < 0 && now() < end;)
		usleep(5000);
	if (pid > 0 && access(pidfile, F_OK) < 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* Unmount @mnt and wait for the foreground server @pid (20 s, then killed). */
static void rt_debug_umount(const char *bin, const char *mnt, pid_t pid)
{
	char err[4096];
	char *uargv[] = {(char *)bin, "umount", (char *)mnt, NULL};
	int st;

	if (vk_run(uargv, NULL, 0, err, sizeof(err)) != 0)
		fprintf(stderr, "bench: umount %s: %s\n", mnt, err);
	for (double end = now() + 20; waitpid(pid, &st, WNOHANG) == 0;) {
		if (now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(5000);
	}
}

/*
 * The cost of one FUSE round trip: fstatat() of names not looked up yet on
 * a fresh mount (kernel open cache mode, the default), against the same
 * calls once the entries are cached and on the tmpfs copy.  The requests
 * they cost are counted in a second mount's -d trace, doing the same.
 */
static void round_trip(const char *bin, const char *yaml, const char *copy, const char *tmp)
{
	char mnt[256], dmnt[256], pidfile[600], log[600], err[4096];
	struct rt_dirs d;
	unsigned long errs = 0;

	if (rt_collect(copy, &d) < 0) {
		fprintf(stderr, "bench: cannot list the devices of %s\n", copy);
		return;
	}
	if (vk_mkdtemp(mnt, sizeof(mnt)) < 0)
		goto out;
	char *argv[] = {(char *)bin, "mount", (char *)yaml, mnt, NULL};
	if (vk_run(argv, NULL, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: fakesys mount failed: %s\n", err);
		rmdir(mnt);
		goto out;
	}
	double cold = rt_stats(mnt, &d, &errs);
	double cached = rt_stats(mnt, &d, &errs);
	vk_umount(mnt);
	double tmpfs = rt_stats(copy, &d, &errs);
	double tmpfs2 = rt_stats(copy, &d, &errs);
	tmpfs = tmpfs2 < tmpfs ? tmpfs2 : tmpfs;

	/* the requests the same calls make, from a -d trace */
	long lookups = -1, all = -1, cached_reqs = -1;
	snprintf(pidfile, sizeof(pidfile), "%s/rt.pid", tmp);
	snprintf(log, sizeof(log), "%s/rt.trace", tmp);
	pid_t pid = vk_mkdtemp(dmnt, sizeof(dmnt)) == 0 ? rt_debug_mount(bin, yaml, dmnt, pidfile, log) : -1;
	if (pid > 0) {
		unsigned long e2 = 0;
		char path[PATH_MAX * 2];
		/* the directories first, as rt_stats() opens them outside its clock */
		for (size_t i = 0; i < d.n; i++) {
			snprintf(path, sizeof(path), "%s/%s", dmnt, d.dir[i]);
			int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0)
				close(dfd);
		}
		long l0 = count_ops(log, "LOOKUP"), a0 = count_ops(log, NULL);
		rt_stats(dmnt, &d, &e2);
		long l1 = count_ops(log, "LOOKUP"), a1 = count_ops(log, NULL);
		rt_stats(dmnt, &d, &e2);
		long a2 = count_ops(log, NULL);
		lookups = l1 - l0;
		all = a1 - a0;
		cached_reqs = a2 - a1;
		rt_debug_umount(bin, dmnt, pid);
		unlink(log);
	}
	rmdir(dmnt);
	/* a name looked up when its own directory was opened (a device below
	 * another) costs no request: divide by the requests counted */
	double n = (double)d.total, nreq = lookups > 0 ? (double)lookups : n;
	printf("  FUSE round trip: fstatat() of %lu names in %zu device directories (%lu errors); a -d trace of the "
	       "same: %ld requests (%ld LOOKUP), %ld once cached\n",
	       d.total, d.n, errs, all, lookups, cached_reqs);
	printf("  %-40s %10s %10s\n", "", "us", "/tmpfs");
	printf("  %-40s %10.2f %9.2fx\n", "one FUSE request (uncached fstatat)", cold / nreq * 1e6,
	       (cold / nreq) / (tmpfs / n));
	printf("  %-40s %10.2f %9.2fx\n", "cached fstatat on the mount (no request)", cached / n * 1e6, cached / tmpfs);
	printf("  %-40s %10.2f %9.2fx\n", "fstatat on tmpfs (the baseline)", tmpfs / n * 1e6, 1.0);
out:
	rt_free(&d);
}

static void bench_size(unsigned ndev)
{
	char tmp[256], yaml[512], base[256], copy[512], bin[PATH_MAX];
	struct vk_host_model *m = NULL;
	struct vtree *t = NULL;
	struct vk_error e = {0};
	bool tmpfs_mounted;
	struct walk w;

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	if (vk_mkdtemp(tmp, sizeof(tmp)) < 0)
		return;
	snprintf(yaml, sizeof(yaml), "%s/host.yaml", tmp);
	if (bench_write_host(yaml, ndev) < 0) {
		fprintf(stderr, "cannot write %s\n", yaml);
		return;
	}

	double t0 = now();
	if (vk_host_model_load(yaml, &m, &e) < 0 || vk_host_tree_build(m, &t, &e) < 0) {
		fprintf(stderr, "bench: %s\n", e.msg);
		vk_host_model_free(m);
		vk_rm_rf(tmp);
		return;
	}
	double build = now() - t0;
	printf("\n%u devices: parse+build %.1f ms, tree %zu nodes, %.1f MiB arena\n", ndev, build * 1e3,
	       vk_vtree_size(t), (double)vk_vtree_bytes(t) / (1 << 20));

	/* baseline: the materialized tree on tmpfs */
	if (baseline_dir(base, sizeof(base), &tmpfs_mounted) < 0) {
		fprintf(stderr, "bench: no tmpfs for the baseline\n");
		goto out;
	}
	snprintf(copy, sizeof(copy), "%s/tree", base);
	t0 = now();
	if (vk_fakesys_materialize(t, copy, &e) < 0) {
		fprintf(stderr, "bench: %s\n", e.msg);
		goto out_base;
	}
	double mat = now() - t0;
	double tmpfs_first = timed_walk(copy, &w);
	double tmpfs_second = timed_walk(copy, &w);
	double tmpfs_warm = warm_walk(copy, &w);
	printf("  materialize on tmpfs %.1f ms; walk of %lu entries (%lu bytes read, %lu errors): "
	       "first %.1f ms, second %.1f ms, warm %.1f ms\n",
	       mat * 1e3, w.entries, w.bytes, w.errors, tmpfs_first * 1e3, tmpfs_second * 1e3, tmpfs_warm * 1e3);
	printf("  %-20s %9s %9s %10s %10s %10s %9s %9s %9s\n", "FUSE mode", "mount ms", "RSS MiB", "cold ms", "second",
	       "warm ms", "cold/tmp", "2nd/tmp", "warm/tmp");

	/* the static mount (as root it sees every open: config by reader), and
	 * with kernel opens; the live mode as it sees every open (left out at
	 * 10,000 when quick), and with kernel opens */
	static const char *const modes[][2] = {
		{NULL, NULL}, {"--kernel-opens", NULL}, {"--live", NULL}, {"--live", "--kernel-opens"}};
	static const char *const mode_names[] = {"static", "static, kernel opens", "live, serve opens",
	                                         "live, kernel opens"};
	for (int mode = 0; mode < 4; mode++) {
		char mnt[256], pidfile[512], err[4096];
		if (mode == 2 && quick() && ndev > 1000)
			continue;
		if (vk_mkdtemp(mnt, sizeof(mnt)) < 0)
			break;
		snprintf(pidfile, sizeof(pidfile), "%s/pid.%d", tmp, mode);
		char *argv[8] = {bin, "mount", "--pidfile", pidfile};
		int n = 4;
		for (int i = 0; i < 2 && modes[mode][i]; i++)
			argv[n++] = (char *)modes[mode][i];
		argv[n++] = yaml;
		argv[n++] = mnt;
		argv[n] = NULL;
		t0 = now();
		int rc = vk_run(argv, NULL, 0, err, sizeof(err));
		double mnt_time = now() - t0;
		if (rc != 0) {
			fprintf(stderr, "bench: fakesys mount failed (%d): %s\n", rc, err);
			rmdir(mnt);
			continue;
		}
		char pbuf[32];
		pid_t pid = vk_read_file(pidfile, pbuf, sizeof(pbuf)) > 0 ? atoi(pbuf) : 0;
		struct walk wc, ws, ww;
		double cold = timed_walk(mnt, &wc);
		double second = timed_walk(mnt, &ws);
		double warm = warm_walk(mnt, &ww);
		long rss = pid > 0 ? vk_rss_kb(pid) : -1;
		if (wc.entries != w.entries || ww.errors != w.errors)
			fprintf(stderr, "bench: walk differs from tmpfs: %lu entries / %lu errors\n", wc.entries,
			        ww.errors);
		printf("  %-20s %9.1f %9.1f %10.1f %10.1f %10.1f %8.2fx %8.2fx %8.2fx\n",
		       mode_names[mode], mnt_time * 1e3, (double)rss / 1024, cold * 1e3,
		       second * 1e3, warm * 1e3, cold / tmpfs_first, second / tmpfs_second, warm / tmpfs_warm);
		char *uargv[] = {bin, "umount", mnt, NULL};
		if (vk_run(uargv, NULL, 0, err, sizeof(err)) != 0)
			fprintf(stderr, "bench: umount %s: %s\n", mnt, err);
		rmdir(mnt);
	}
	static bool round_trip_done; /* once, on the first host of 1,000 devices or fewer */
	if (ndev <= 1000 && !round_trip_done) {
		round_trip(bin, yaml, copy, tmp);
		round_trip_done = true;
	}

out_base:
	if (tmpfs_mounted) {
		umount2(base, MNT_DETACH);
		rmdir(base);
	} else {
		vk_rm_rf(base);
	}
out:
	vk_vtree_free(t);
	vk_host_model_free(m);
	vk_rm_rf(tmp);
}

/* VmRSS of this process in KiB (the figure `top` shows), or -1. */
static long self_rss_kb(void)
{
	return vk_rss_kb(getpid());
}

/* What one size costs, measured in a child of its own so that memory freed by
 * an earlier size (kept by malloc) does not hide this one's. */
struct scale {
	double parse, build, mount; /* seconds */
	long model_kb, tree_kb;     /* VmRSS growth: after the load; after the build */
	long daemon_kb;             /* the mount daemon's VmRSS, serving */
	size_t nodes;
};

static void scale_child(const char *yaml, int fd)
{
	struct vk_host_model *m = NULL;
	struct vtree *t = NULL;
	struct vk_error e = {0};
	struct scale s = {0};

	long rss0 = self_rss_kb();
	double t0 = now();
	if (vk_host_model_load(yaml, &m, &e) < 0) {
		fprintf(stderr, "bench: %s\n", e.msg);
		_exit(1);
	}
	s.parse = now() - t0;
	long rss1 = self_rss_kb();
	t0 = now();
	if (vk_host_tree_build(m, &t, &e) < 0) {
		fprintf(stderr, "bench: %s\n", e.msg);
		_exit(1);
	}
	s.build = now() - t0;
	s.model_kb = rss1 - rss0;
	s.tree_kb = self_rss_kb() - rss1;
	s.nodes = vk_vtree_size(t);
	_exit(write(fd, &s, sizeof(s)) == (ssize_t)sizeof(s) ? 0 : 1);
}

/* `fakesys mount` of @yaml: its wall time and the daemon's RSS, then unmounted. */
static int scale_mount(const char *tmp, const char *yaml, struct scale *s)
{
	char mnt[256], pidfile[512], err[4096], bin[PATH_MAX], pbuf[32];

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	if (vk_mkdtemp(mnt, sizeof(mnt)) < 0)
		return -1;
	snprintf(pidfile, sizeof(pidfile), "%s/pid.scale", tmp);
	char *argv[] = {bin, "mount", "--pidfile", pidfile, (char *)yaml, mnt, NULL};
	double t0 = now();
	int rc = vk_run(argv, NULL, 0, err, sizeof(err));
	s->mount = now() - t0;
	if (rc != 0) {
		fprintf(stderr, "bench: fakesys mount failed (%d): %s\n", rc, err);
		rmdir(mnt);
		return -1;
	}
	pid_t pid = vk_read_file(pidfile, pbuf, sizeof(pbuf)) > 0 ? atoi(pbuf) : 0;
	s->daemon_kb = pid > 0 ? vk_rss_kb(pid) : -1;
	char *uargv[] = {bin, "umount", mnt, NULL};
	if (vk_run(uargv, NULL, 0, err, sizeof(err)) != 0)
		fprintf(stderr, "bench: umount %s: %s\n", mnt, err);
	rmdir(mnt);
	return 0;
}

static int scale_one(unsigned n, struct scale *s)
{
	char tmp[256], yaml[512];
	int p[2], st, r = -1;

	memset(s, 0, sizeof(*s));
	if (vk_mkdtemp(tmp, sizeof(tmp)) < 0)
		return -1;
	snprintf(yaml, sizeof(yaml), "%s/host.yaml", tmp);
	if (bench_write_host(yaml, n) < 0 || pipe(p) < 0)
		goto out;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		scale_child(yaml, p[1]);
	}
	close(p[1]);
	ssize_t got = pid > 0 ? read(p[0], s, sizeof(*s)) : -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	if (got == (ssize_t)sizeof(*s))
		r = scale_mount(tmp, yaml, s);
out:
	vk_rm_rf(tmp);
	return r;
}

/*
 * Linear to 50,000 devices (issue 17): each figure per device, and as a ratio
 * to the same figure per device at 1,000 devices measured in this run (1.00x
 * is linear; a quadratic step shows as 10x at 10,000 and 50x at 50,000).
 */
static void bench_scale(void)
{
	static const unsigned sizes[] = {1000, 10000, 50000};
	struct scale base = {0};

	printf("\nscale (per device; ratio = per-device figure / the same at 1,000 devices, 1.00x is linear)\n");
	printf("  targets: 50,000 devices parse+build <= 1 s; daemon RSS <= 6 KiB per device\n");
	printf("  %7s %8s %8s %8s %8s %8s %9s %9s %10s  %s\n", "devices", "nodes", "parse", "build", "p+b ms",
	       "mount ms", "model", "tree", "daemon", "ratios: parse build mount daemon");
	printf("  %7s %8s %8s %8s %8s %8s %9s %9s %10s\n", "", "/dev", "us/dev", "us/dev", "", "", "KiB/dev",
	       "KiB/dev", "KiB/dev");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned n = sizes[i];
		struct scale s;
		if (scale_one(n, &s) < 0) {
			printf("  %7u (failed)\n", n);
			continue;
		}
		if (i == 0)
			base = s;
		double k = (double)sizes[0] / n;
		printf("  %7u %8.1f %8.1f %8.1f %8.0f %8.0f %9.2f %9.2f %10.2f  %5.2fx %5.2fx %5.2fx %5.2fx\n", n,
		       (double)s.nodes / n, s.parse * 1e6 / n, s.build * 1e6 / n, (s.parse + s.build) * 1e3,
		       s.mount * 1e3, (double)s.model_kb / n, (double)s.tree_kb / n, (double)s.daemon_kb / n,
		       s.parse * k / base.parse, s.build * k / base.build, s.mount * k / base.mount,
		       (double)s.daemon_kb * k / (double)base.daemon_kb);
	}
}

int main(int argc, char **argv)
{
	if (!vk_have_fuse()) {
		fprintf(stderr, "bench_fakesys: /dev/fuse is not usable here; nothing to measure\n");
		return 0;
	}
	printf("bench_fakesys: targets: warm walk <= 2x tmpfs; live mode <= 4x cold, <= 2x warm; 10,000 devices: mount < "
	       "1 s, RSS < 100 MiB\n");
	if (argc > 1 && !strcmp(argv[1], "scale")) {
		bench_scale();
		return 0;
	}
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			bench_size((unsigned)strtoul(argv[i], NULL, 10));
		return 0;
	}
	bench_scale();
	bench_size(1000);
	bench_size(10000);
	return 0;
}
