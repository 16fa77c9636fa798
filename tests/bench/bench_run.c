/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_run: what a reader of the fake host pays under `fakesys run`, as
 * issue #17 measured it: a walk (lstat, readlink, open+read of every entry)
 * of the modelled parts of /sys and /dev of a generated 1,000-device host
 * (sys/devices/pci*, sys/bus/pci, sys/kernel/iommu_groups, sys/class/vfio-dev,
 * dev/vfio), timed three ways in one process: cold (the first walk), second,
 * and warm (best of three more).  The baseline is the same walk, by the same
 * program, of the tree materialized on a tmpfs in the same run (before and
 * after the modes, the faster of the two); every figure
 * is printed beside its ratio to that baseline.  Modes: `fakesys run`
 * (static), `fakesys run --no-emulation`, `fakesys run --live`.
 *
 * The walker is this program again (bench_run --walk ROOT REL...), run as
 * the command of `fakesys run` or on the tmpfs copy, so that every figure
 * comes from the same code.  Not a test: no pass/fail.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "bench_host.h"
#include "bench_util.h"
#include "testutil.h"

struct figures {
	double cold, second, warm;
	unsigned long entries, errors;
};

/* Run @head (a command line ending in the walker's ROOT) plus the rels. */
static int measure(char *const head[], size_t nhead, char **rels, int n, struct figures *f)
{
	char *argv[64], out[256], err[4096];
	size_t k = 0;

	for (size_t i = 0; i < nhead && k < 60; i++)
		argv[k++] = head[i];
	for (int i = 0; i < n && k < 63; i++)
		argv[k++] = rels[i];
	argv[k] = NULL;
	int rc = vk_run(argv, out, sizeof(out), err, sizeof(err));
	if (rc != 0 || sscanf(out, "%lf %lf %lf %lu %lu", &f->cold, &f->second, &f->warm, &f->entries, &f->errors) != 5) {
		fprintf(stderr, "bench_run: %s failed (%d): %s%s\n", argv[0], rc, err, out);
		return -1;
	}
	return 0;
}

/* The modelled parts of the tree a reader walks. */
static int pick_rels(struct vtree *t, char **rels, int max)
{
	static const char *const fixed[] = {"sys/bus/pci", "sys/kernel/iommu_groups", "sys/class/vfio-dev", "dev/vfio"};
	const struct vk_vt_node *devs = vk_vtree_lookup(t, "sys/devices");
	int n = 0;

	for (uint32_t i = 0; devs && i < devs->u.dir.n && n < max - 4; i++)
		if (!strncmp(devs->u.dir.kids[i]->name, "pci", 3) && asprintf(&rels[n], "sys/devices/%s",
		                                                              devs->u.dir.kids[i]->name) > 0)
			n++;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (vk_vtree_lookup(t, fixed[i]))
			rels[n++] = strdup(fixed[i]);
	return n;
}

static void row(const char *name, const struct figures *f, const struct figures *base)
{
	printf("  %-28s %9.1f %9.1f %9.1f %8.2fx %8.2fx %8.2fx\n", name, f->cold, f->second, f->warm, f->cold / base->cold,
	       f->second / base->second, f->warm / base->warm);
	if (f->entries != base->entries || f->errors != base->errors)
		printf("  (%s: %lu entries, %lu errors; the baseline %lu, %lu)\n", name, f->entries, f->errors,
		       base->entries, base->errors);
}

static void bench(unsigned ndev, const char *self)
{
	char tmp[256], yaml[512], base[256], copy[600], fakesys[PATH_MAX];
	struct vk_host_model *m = NULL;
	struct vtree *t = NULL;
	struct vk_error e = {0};
	struct figures fb, f;
	char *rels[48];
	int n = 0;
	bool mounted = false;

	vk_bin("fakesys/fakesys", fakesys, sizeof(fakesys));
	if (vk_mkdtemp(tmp, sizeof(tmp)) < 0 || vk_mkdtemp(base, sizeof(base)) < 0)
		return;
	snprintf(yaml, sizeof(yaml), "%s/host.yaml", tmp);
	snprintf(copy, sizeof(copy), "%s/tree", base);
	if (bench_write_host(yaml, ndev) < 0 || vk_host_model_load(yaml, &m, &e) < 0 || vk_host_tree_build(m, &t, &e) < 0) {
		fprintf(stderr, "bench_run: %s\n", e.msg);
		goto out;
	}
	/* the baseline on a tmpfs of our own as root, else where TMPDIR is */
	mounted = geteuid() == 0 && mount("vfiokit-bench", base, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") == 0;
	if (vk_fakesys_materialize(t, copy, &e) < 0) {
		fprintf(stderr, "bench_run: %s\n", e.msg);
		goto out;
	}
	n = pick_rels(t, rels, 48);
	char *hb[] = {(char *)self, "--walk", copy};
	if (measure(hb, 3, rels, n, &fb) < 0)
		goto out;
	printf("\n%u devices: walk of %lu entries in %d subtrees; baseline: a materialized copy on %s\n", ndev,
	       fb.entries, n, mounted ? "tmpfs" : "$TMPDIR");
	printf("  %-28s %9s %9s %9s %9s %9s %9s\n", "served by", "cold ms", "second", "warm", "cold/b", "2nd/b",
	       "warm/b");
	static const char *const modes[][2] = {
		{"fakesys run", NULL},
		{"fakesys run --no-emulation", "--no-emulation"},
		{"fakesys run --live", "--live"},
	};
	struct figures got[3];
	bool ok[3];
	for (size_t i = 0; i < 3; i++) {
		char *h[8];
		size_t k = 0;
		h[k++] = fakesys;
		h[k++] = "run";
		if (modes[i][1])
			h[k++] = (char *)modes[i][1];
		h[k++] = yaml;
		h[k++] = "--";
		h[k++] = (char *)self;
		h[k++] = "--walk";
		h[k++] = "/";
		ok[i] = measure(h, k, rels, n, &got[i]) == 0;
	}
	/* the baseline again, after the modes: the machine may be shared, and
	 * the faster of the two is the one least disturbed */
	if (measure(hb, 3, rels, n, &f) == 0) {
		fb.cold = f.cold < fb.cold ? f.cold : fb.cold;
		fb.second = f.second < fb.second ? f.second : fb.second;
		fb.warm = f.warm < fb.warm ? f.warm : fb.warm;
	}
	row("baseline (materialized copy)", &fb, &fb);
	for (size_t i = 0; i < 3; i++)
		if (ok[i])
			row(modes[i][0], &got[i], &fb);
out:
	for (int i = 0; i < n; i++)
		free(rels[i]);
	if (mounted)
		umount2(base, MNT_DETACH);
	vk_rm_rf(base);
	vk_vtree_free(t);
	vk_host_model_free(m);
	vk_rm_rf(tmp);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];

	if (argc >= 3 && !strcmp(argv[1], "--walk"))
		return bench_walker(argv[2], argv + 3, argc - 3);
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (k <= 0) {
		perror("bench_run: /proc/self/exe");
		return 1;
	}
	self[k] = '\0';
	printf("bench_run: walks (lstat, readlink, open+read of every entry) of the modelled /sys and /dev; "
	       "ratios to the baseline of the same run\n");
	bench(argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000, self);
	return 0;
}
