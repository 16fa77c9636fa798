/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_umockdev: fakesys against umockdev (issue #17), on the same
 * generated host (bench_host.h), in one run:
 *
 * 1. A walk (lstat, readlink, open+read of every entry; bench_util.h) of
 *    sys/devices/pci* and sys/bus/pci/devices of a 100- and a 1,000-device host, cold,
 *    second and warm (best of three more), by this program as the command of
 *    `umockdev-run -d REC` (libumockdev-preload redirects /sys to its test
 *    bed), of `fakesys run` and of `fakesys run --live`, each beside its ratio
 *    to the same walk of the tree materialized on a tmpfs.  REC is that tree's
 *    sys/devices written as a umockdev recording (umockdev_export.h: the
 *    export lives in the benchmark, not in `fakesys`; it carries what the
 *    walk reads, see there for what a recording cannot carry).
 * 2. Start-up: `true` under `fakesys run` (static and --live) and under
 *    `umockdev-run -d REC` at 1, 100 and 1,000 devices, best of three, beside
 *    its ratio to `true` spawned alone in the same run.
 *
 * umockdev's test bed is a directory in $TMPDIR (bench_all.sh makes that a
 * tmpfs), and its preload rewrites path names only: a walk through directory
 * FDs (openat, fstatat, readlinkat relative to them) pays for the rewriting
 * only where it names a path from /.  Not a test: no pass/fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "bench_host.h"
#include "bench_util.h"
#include "testutil.h"
#include "umockdev_export.h"

#define UMOCKDEV_RUN "/usr/bin/umockdev-run"
#define MAX_RELS 48

struct figures {
	double cold, second, warm;
	unsigned long entries, errors;
};

/* Seconds umockdev-run may take: its loader copies the rest of the
 * recording for every line it parses (Testbed.record_parse_line() returns
 * data.substring(end_pos), src/umockdev.vala), so its start-up grows with
 * the square of the recording's size. */
static double limit_s(void)
{
	const char *q = getenv("VK_BENCH_QUICK");
	return q && *q && strcmp(q, "0") ? 30 : 300;
}

/* The limit of @prog: limit_s() for umockdev-run; for the others only a
 * guard against a hang (a walk over FUSE on a loaded machine takes long). */
static double limit_of(const char *prog)
{
	return strcmp(prog, UMOCKDEV_RUN) ? 1200 : limit_s();
}

/*
 * Run @argv in a process group of its own with $TMPDIR set to @tmpdir (where
 * umockdev-run makes its test bed: a bed left by a killed run goes with the
 * host's directory); its stdout into @out.  The exit status, or -ETIMEDOUT
 * when it ran past limit_of() (then the group was killed), or -errno.
 */
static int run_limited(char *const argv[], const char *tmpdir, char *out, size_t outlen, double *secs)
{
	int p[2], st = 0;
	size_t got = 0;
	double t0 = now(), end = t0 + limit_of(argv[0]);

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(p[1], 1);
		setenv("TMPDIR", tmpdir, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	close(p[1]);
	bool late = false;
	for (;;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		int left = (int)((end - now()) * 1e3);
		if (left <= 0) {
			late = true;
			break;
		}
		if (poll(&pf, 1, left) <= 0)
			continue;
		ssize_t r = out && got + 1 < outlen ? read(p[0], out + got, outlen - got - 1) : read(p[0], (char[256]){0}, 256);
		if (r <= 0)
			break;
		if (out && got + 1 < outlen)
			got += (size_t)r;
	}
	close(p[0]);
	while (!late && waitpid(pid, &st, WNOHANG) == 0) {
		if (now() > end)
			late = true;
		else
			poll(NULL, 0, 2);
	}
	if (late) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (out && outlen)
		out[got] = '\0';
	*secs = now() - t0;
	if (late)
		return -ETIMEDOUT;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run @head (a command line ending in the walker's ROOT) plus the rels. */
static int measure(char *const head[], size_t nhead, char **rels, int n, const char *tmpdir, struct figures *f)
{
	char *argv[64], out[256];
	size_t k = 0;
	double secs;

	for (size_t i = 0; i < nhead && k < 60; i++)
		argv[k++] = head[i];
	for (int i = 0; i < n && k < 63; i++)
		argv[k++] = rels[i];
	argv[k] = NULL;
	int rc = run_limited(argv, tmpdir, out, sizeof(out), &secs);
	if (rc == -ETIMEDOUT) {
		printf("  (%s: killed after %.0f s)\n", argv[0], secs);
		return -1;
	}
	if (rc != 0 || sscanf(out, "%lf %lf %lf %lu %lu", &f->cold, &f->second, &f->warm, &f->entries, &f->errors) != 5) {
		fprintf(stderr, "bench_umockdev: %s failed (%d): %s\n", argv[0], rc, out);
		return -1;
	}
	return 0;
}

/* The subtrees both serve: sys/devices/pci* and sys/bus/pci/devices. */
static int pick_rels(struct vtree *t, char **rels, int max)
{
	const struct vk_vt_node *devs = vk_vtree_lookup(t, "sys/devices");
	int n = 0;

	for (uint32_t i = 0; devs && i < devs->u.dir.n && n < max - 1; i++)
		if (!strncmp(devs->u.dir.kids[i]->name, "pci", 3) && asprintf(&rels[n], "sys/devices/%s",
		                                                              devs->u.dir.kids[i]->name) > 0)
			n++;
	if (vk_vtree_lookup(t, "sys/bus/pci/devices"))
		rels[n++] = strdup("sys/bus/pci/devices");
	return n;
}

static void row(const char *name, const struct figures *f, const struct figures *base)
{
	printf("  %-28s %9.1f %9.1f %9.1f %8.2fx %8.2fx %8.2fx %8lu\n", name, f->cold, f->second, f->warm,
	       f->cold / base->cold, f->second / base->second, f->warm / base->warm, f->entries);
	if (f->errors)
		printf("  (%s: %lu errors)\n", name, f->errors);
}

/* One host of @ndev devices: its scenario, materialized copy and recording. */
struct host {
	unsigned ndev;
	char tmp[256], yaml[512], copy[600], rec[600];
	unsigned long devices, lost;
	bool um_late; /* umockdev-run did not start within limit_s() */
	struct vtree *t;
	struct vk_host_model *m;
};

static int host_make(struct host *h, unsigned ndev)
{
	struct vk_error e = {0};
	char tmp[sizeof(h->tmp)];

	memset(h, 0, sizeof(*h));
	h->ndev = ndev;
	if (vk_mkdtemp(tmp, sizeof(tmp)) < 0)
		return -1;
	memcpy(h->tmp, tmp, sizeof(tmp));
	snprintf(h->yaml, sizeof(h->yaml), "%s/host.yaml", tmp);
	snprintf(h->copy, sizeof(h->copy), "%s/tree", tmp);
	snprintf(h->rec, sizeof(h->rec), "%s/host.umockdev", tmp);
	if (bench_write_host(h->yaml, ndev) < 0 || vk_host_model_load(h->yaml, &h->m, &e) < 0 ||
	    vk_host_tree_build(h->m, &h->t, &e) < 0 || vk_fakesys_materialize(h->t, h->copy, &e) < 0) {
		fprintf(stderr, "bench_umockdev: %u devices: %s\n", ndev, e.msg[0] ? e.msg : "cannot write the scenario");
		return -1;
	}
	/* the subtrees walked: a recording of the rest would only slow umockdev */
	int r = um_export(h->copy, "pci", h->rec, &h->devices, &h->lost);
	if (r < 0) {
		fprintf(stderr, "bench_umockdev: %s: %s\n", h->rec, strerror(-r));
		return -1;
	}
	return 0;
}

static void host_free(struct host *h)
{
	vk_vtree_free(h->t);
	vk_host_model_free(h->m);
	if (h->tmp[0])
		vk_rm_rf(h->tmp);
}

static void walks(const struct host *h, const char *self, const char *fakesys)
{
	char *rels[MAX_RELS];
	struct figures fb, f, got[3];
	bool ok[3];
	int n = pick_rels(h->t, rels, MAX_RELS);
	struct stat st;

	stat(h->rec, &st);
	printf("\n%u devices: walk of sys/devices/pci* and sys/bus/pci/devices; recording of %lu devices "
	       "(%.1f KiB; %lu entries it cannot carry)\n",
	       h->ndev, h->devices, (double)st.st_size / 1024, h->lost);
	char *hb[] = {(char *)self, "--walk", (char *)h->copy};
	if (measure(hb, 3, rels, n, h->tmp, &fb) < 0)
		goto out;
	printf("  %-28s %9s %9s %9s %9s %9s %9s %8s\n", "served by", "cold ms", "second", "warm", "cold/b", "2nd/b",
	       "warm/b", "entries");
	char *um[] = {UMOCKDEV_RUN, "-d", (char *)h->rec, "--", (char *)self, "--walk", "/"};
	char *fs[] = {(char *)fakesys, "run", (char *)h->yaml, "--", (char *)self, "--walk", "/"};
	char *fl[] = {(char *)fakesys, "run", "--live", (char *)h->yaml, "--", (char *)self, "--walk", "/"};
	ok[0] = !h->um_late && measure(um, 7, rels, n, h->tmp, &got[0]) == 0;
	if (h->um_late)
		printf("  (umockdev-run: not run, it did not start within %.0f s)\n", limit_s());
	ok[1] = measure(fs, 7, rels, n, h->tmp, &got[1]) == 0;
	ok[2] = measure(fl, 8, rels, n, h->tmp, &got[2]) == 0;
	/* the baseline again, the faster kept: the machine may be shared */
	if (measure(hb, 3, rels, n, h->tmp, &f) == 0) {
		fb.cold = f.cold < fb.cold ? f.cold : fb.cold;
		fb.second = f.second < fb.second ? f.second : fb.second;
		fb.warm = f.warm < fb.warm ? f.warm : fb.warm;
	}
	static const char *const names[] = {"umockdev-run (preload)", "fakesys run", "fakesys run --live"};
	row("baseline (materialized copy)", &fb, &fb);
	for (int i = 0; i < 3; i++)
		if (ok[i])
			row(names[i], &got[i], &fb);
out:
	for (int i = 0; i < n; i++)
		free(rels[i]);
}

/* Best of three wall times of @argv, in ms; -1 when it fails, -2 when it
 * ran past limit_s() (then it is not tried again). */
static double start_ms(char *const argv[], const char *tmpdir)
{
	double best = -1, secs;

	for (int i = 0; i < 3; i++) {
		int rc = run_limited(argv, tmpdir, NULL, 0, &secs);
		if (rc == -ETIMEDOUT)
			return -2;
		if (rc != 0) {
			fprintf(stderr, "bench_umockdev: %s failed (%d)\n", argv[0], rc);
			return -1;
		}
		best = best < 0 || secs * 1e3 < best ? secs * 1e3 : best;
	}
	return best;
}

static void startup(struct host *hs, int nh, const char *fakesys)
{
	static char tru[] = "/bin/true";

	printf("\nstart-up: `true` run under each, best of 3 (ms); ratio to `true` spawned alone in the same run\n");
	printf("  %-8s %8s %12s %12s %12s %9s %9s %9s %9s\n", "devices", "true", "fakesys run", "run --live",
	       "umockdev-run", "run/b", "live/b", "umock/b", "run/umock");
	for (int i = 0; i < nh; i++) {
		struct host *h = &hs[i];
		char *base[] = {tru, NULL};
		char *fs[] = {(char *)fakesys, "run", h->yaml, "--", tru, NULL};
		char *fl[] = {(char *)fakesys, "run", "--live", h->yaml, "--", tru, NULL};
		char *um[] = {UMOCKDEV_RUN, "-d", h->rec, "--", tru, NULL};
		double b = start_ms(base, h->tmp), s = start_ms(fs, h->tmp), l = start_ms(fl, h->tmp);
		double u = start_ms(um, h->tmp), b2 = start_ms(base, h->tmp);
		char ustr[32], ratio[32], fsum[32];
		if (b2 > 0 && b2 < b)
			b = b2;
		if (b <= 0 || s <= 0 || l <= 0 || u == -1)
			continue;
		h->um_late = u < 0;
		snprintf(ustr, sizeof(ustr), u < 0 ? "> %.0f s" : "%.1f", u < 0 ? limit_s() : u);
		snprintf(ratio, sizeof(ratio), u < 0 ? "> %.0fx" : "%.1fx", u < 0 ? limit_s() * 1e3 / b : u / b);
		snprintf(fsum, sizeof(fsum), u < 0 ? "< %.4fx" : "%.2fx", u < 0 ? s / (limit_s() * 1e3) : s / u);
		printf("  %-8u %8.2f %12.1f %12.1f %12s %8.1fx %8.1fx %9s %9s\n", h->ndev, b, s, l, ustr, s / b, l / b,
		       ratio, fsum);
	}
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], fakesys[PATH_MAX];
	unsigned sizes[3] = {1, 100, 1000};
	size_t nsizes = 3;
	struct host hs[3];
	int nh = 0;

	if (argc >= 3 && !strcmp(argv[1], "--walk"))
		return bench_walker(argv[2], argv + 3, argc - 3);
	if (access(UMOCKDEV_RUN, X_OK) < 0) {
		printf("bench_umockdev: no %s (umockdev); nothing to compare with\n", UMOCKDEV_RUN);
		return 0;
	}
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (k <= 0) {
		perror("bench_umockdev: /proc/self/exe");
		return 1;
	}
	self[k] = '\0';
	vk_bin("fakesys/fakesys", fakesys, sizeof(fakesys));
	printf("bench_umockdev: fakesys against umockdev-run's preload on the same generated host; test bed and "
	       "copies in %s\n",
	       getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (argc > 1) { /* bench_umockdev N...: other sizes (up to three), walks at the last */
		for (nsizes = 0; nsizes < 3 && (int)nsizes + 1 < argc; nsizes++)
			sizes[nsizes] = (unsigned)strtoul(argv[nsizes + 1], NULL, 10);
	}
	for (size_t i = 0; i < nsizes; i++) {
		if (host_make(&hs[nh], sizes[i]) < 0) {
			host_free(&hs[nh]);
			continue;
		}
		nh++;
	}
	/* start-up first: it learns whether umockdev-run starts in time */
	startup(hs, nh, fakesys);
	for (int i = 0; i < nh; i++)
		if (hs[i].ndev >= 100 || (argc > 1 && i == nh - 1))
			walks(&hs[i], self, fakesys);
	for (int i = 0; i < nh; i++)
		host_free(&hs[i]);
	return 0;
}
