/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_live: the load workload of tests/fakesys/test_fuse_load.c
 * (load_work.h) on a live mount of scenarios/default.yaml, with 1, 2, 4 and
 * 8 readers, without and with a writer toggling 0000:81:02.1 between vfio-pci
 * and iavf for as long as the readers run.  Prints reader ops/s (one op = one
 * lstat, readlink, whole-file read, listing, open of a node or
 * pci_dev_facts_read()), writer toggles/s, the ratio of reader throughput with
 * the writer to without (both measured in this run), and the daemon's RSS.
 * Not a test: the checks of the workload only make a wrong run visible.
 */
#include <time.h>

#include <vfiokit/fakesys_serve.h>

#include "../fakesys/load_work.h"

#define ITERS 40

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

int main(void)
{
	char bin[PATH_MAX], scen[PATH_MAX], mnt[256], err[4096];
	struct load_expect ex;

	if (!vk_have_fuse()) {
		fprintf(stderr, "bench_live: /dev/fuse is not usable here; nothing to measure\n");
		return 0;
	}
	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	vk_scenario_path("default.yaml", scen, sizeof(scen));
	if (vk_mkdtemp(mnt, sizeof(mnt)) < 0)
		return 1;
	char *argv[] = {bin, "mount", "--live", scen, mnt, NULL};
	if (vk_run(argv, NULL, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_live: fakesys mount failed: %s\n", err);
		rmdir(mnt);
		return 1;
	}
	int pid = fakesys_mount_pid(mnt);
	if (load_snapshot(mnt, &ex) < 0)
		fprintf(stderr, "bench_live: cannot read the stand-ins\n");
	long rss0 = pid > 0 ? load_rss_kb(pid) : -1;
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
	long rss1 = pid > 0 ? load_rss_kb(pid) : -1;
	printf("  daemon RSS: %.1f MiB before, %.1f MiB after\n", (double)rss0 / 1024, (double)rss1 / 1024);
	char *uargv[] = {bin, "umount", mnt, NULL};
	if (vk_run(uargv, NULL, 0, err, sizeof(err)) != 0)
		fprintf(stderr, "bench_live: umount %s: %s\n", mnt, err);
	rmdir(mnt);
	return 0;
}
