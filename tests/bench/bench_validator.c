/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_validator: parse + check of every libvirt command line of the corpus
 * (../shared/corpus/libvirt-args), repeated; prints per file the words, the
 * options, and the time per command line (split: read+tokenize+parse, rules).
 * Then the scaling rows: one -device with 1,000 vs 100,000 properties and
 * 1,000 vs 100,000 vfio-pci devices (every host and fd twice, so the duplicate
 * rules have work), time per property and per device, and their ratio (1.0:
 * linear; the quadratic parser and rules of issue #14.7 gave ~100).
 * Not a test.  The corpus part is skipped (with a note) when it is absent.
 */
#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/validator.h>

#include "testutil.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parse + rules of @text, best of @reps runs; seconds. */
static double time_one(const char *text, size_t len, const struct qemu_caps *caps, int reps)
{
	double best = 1e30;

	for (int k = 0; k < reps; k++) {
		struct qc_cmdline *c = NULL;
		struct vk_report r = { 0 };
		double t0 = now();
		if (qc_parse_args_text(text, len, &c, NULL, NULL) < 0) {
			printf("scaling: parse error\n");
			return -1;
		}
		vk_check_cmdline(c, caps, &r, NULL);
		double t = now() - t0;
		best = t < best ? t : best;
		vk_report_clear(&r);
		qc_cmdline_free(c);
	}
	return best;
}

/* One -device of @n properties, or @n vfio-pci devices (each host and fd twice). */
static char *scaling_text(size_t n, bool devices, size_t *len)
{
	char *s = malloc(64 + n * 96), *w = s;

	w += sprintf(w, "/usr/bin/qemu-system-x86_64 -object iommufd,id=iommufd0 -device vfio-pci,host=01:00.0");
	for (size_t i = 0; i < n; i++) {
		size_t j = i / 2;
		if (devices)
			w += sprintf(w, " -device vfio-pci,host=%04zx:%02zx:%02zx.0,fd=%zu,iommufd=iommufd0", j / 8192,
			             (j / 32) % 256, j % 32, j + 3);
		else
			w += sprintf(w, ",p%zu=v", i);
	}
	*len = (size_t)(w - s);
	return s;
}

static void scaling(const struct qemu_caps *caps)
{
	static const char *const what[] = { "properties of one -device", "vfio-pci devices" };

	printf("scaling: parse + rules, best of 5, per item\n");
	printf("%-28s %14s %14s %8s\n", "", "1,000: us/item", "100,000: us/item", "ratio");
	for (int d = 0; d < 2; d++) {
		size_t l1, l2;
		char *t1 = scaling_text(1000, d, &l1), *t2 = scaling_text(100000, d, &l2);
		double a = time_one(t1, l1, caps, 5) / 1000 * 1e6, b = time_one(t2, l2, caps, 5) / 100000 * 1e6;
		printf("%-28s %14.3f %16.3f %8.2f\n", what[d], a, b, b / a);
		free(t1);
		free(t2);
	}
}

int main(void)
{
	char dir[4096];
	char *names[256];
	size_t n = 0;
	const int reps = 200;
	struct qemu_caps caps;

	qemu_caps_builtin(NULL, &caps, NULL);
	scaling(&caps);

	snprintf(dir, sizeof(dir), "%s/../shared/corpus/libvirt-args", vk_source_dir());
	DIR *d = opendir(dir);
	if (!d) {
		printf("bench_validator: corpus %s absent, nothing measured\n", dir);
		return 0;
	}
	for (struct dirent *de; (de = readdir(d)) && n < 256;) {
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".args") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp);

	printf("bench_validator: %zu command lines, %d repetitions each (text already in memory)\n", n, reps);
	printf("%-58s %6s %6s %10s %10s %9s\n", "file", "words", "opts", "parse us", "rules us", "findings");
	double tp_all = 0, tr_all = 0, worst = 0;
	for (size_t i = 0; i < n; i++) {
		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		char *text = malloc(1 << 20);
		ssize_t len = fd >= 0 ? read(fd, text, 1 << 20) : -1;
		if (fd >= 0)
			close(fd);
		if (len < 0) {
			free(text);
			continue;
		}
		double tp = 0, tr = 0;
		size_t words = 0, opts = 0, findings = 0;
		for (int k = 0; k < reps; k++) {
			struct qc_cmdline *c = NULL;
			struct vk_report r = { 0 };
			double t0 = now();
			if (qc_parse_args_text(text, (size_t)len, &c, NULL, NULL) < 0) {
				printf("%s: parse error\n", names[i]);
				break;
			}
			double t1 = now();
			vk_check_cmdline(c, &caps, &r, NULL);
			double t2 = now();
			tp += t1 - t0;
			tr += t2 - t1;
			words = c->argc;
			opts = c->nopts;
			findings = r.n;
			vk_report_clear(&r);
			qc_cmdline_free(c);
		}
		tp = tp / reps * 1e6;
		tr = tr / reps * 1e6;
		tp_all += tp;
		tr_all += tr;
		if (tp + tr > worst)
			worst = tp + tr;
		printf("%-58.58s %6zu %6zu %10.1f %10.1f %9zu\n", names[i], words, opts, tp, tr, findings);
		free(text);
		free(names[i]);
	}
	printf("mean per command line: parse %.1f us + rules %.1f us = %.1f us; worst %.1f us\n", tp_all / (double)n,
	       tr_all / (double)n, (tp_all + tr_all) / (double)n, worst);
	return 0;
}
