/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_validator: parse + check of every libvirt command line of the corpus
 * (../shared/corpus/libvirt-args), repeated; prints per file the words, the
 * options, and the time per command line (split: read+tokenize+parse, rules).
 * Then the scaling rows: one -device with 1,000 vs 100,000 properties and
 * 1,000 vs 100,000 vfio-pci devices (every host and fd twice, so the duplicate
 * rules have work), time per property and per device, and their ratio (1.0:
 * linear; the quadratic parser and rules of issue #14.7 gave ~100).
 * Last, the property cache: per x86_64 command line of the corpus, the time of
 * --qemu /usr/bin/qemu-system-x86_64 (probe of the device model + parse +
 * rules) with a cold cache (an empty cache directory: QEMU runs) and a warm
 * one (nothing runs), against the built-in table in the same run.
 * Not a test.  The corpus part is skipped (with a note) when it is absent,
 * the cache part when QEMU is.
 */
#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/qdev_model.h>
#include <vfiokit/validator.h>

#include "testutil.h"
#include "bench_util.h"

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Probe (in @cache) + parse + rules of @text against @qemu; seconds, or -1. */
static double time_binary(const char *qemu, const char *cache, const char *text, size_t len, size_t *runs_types)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_qdev_model *m = NULL;
	struct vk_report r = {0};
	struct vk_qemu_caps caps;
	const char *names[64];
	struct vk_qdev_probe_opts o = {.cache_dir = cache};
	double t0 = now();

	if (vk_qc_parse_args_text(text, len, &c, NULL, NULL) < 0)
		return -1;
	size_t n = vk_qc_device_types(c, names, 64);
	if (vk_qdev_model_probe(qemu, n, names, &o, &m, NULL) < 0) {
		vk_qc_cmdline_free(c);
		return -1;
	}
	vk_qemu_caps_from_model(m, &caps);
	vk_check_cmdline(c, &caps, &r, NULL);
	double t = now() - t0;
	*runs_types = n;
	vk_report_clear(&r);
	vk_qdev_model_free(m);
	vk_qc_cmdline_free(c);
	return t;
}

static void cache_rows(const char *dir, char **names, size_t n)
{
	const char *qemu = "/usr/bin/qemu-system-x86_64";
	char cold[4096], warm[4096];
	double tc = 0, tw = 0, tt = 0;
	size_t files = 0;
	struct vk_qemu_caps table;

	if (access(qemu, X_OK) != 0) {
		printf("property cache: %s absent, not measured\n", qemu);
		return;
	}
	vk_qemu_caps_builtin("7.2", &table, NULL);
	if (vk_mkdtemp(warm, sizeof(warm)) < 0)
		return;
	printf("\nproperty cache: --qemu %s per x86_64 command line (probe + parse + rules)\n", qemu);
	printf("%-58s %6s %10s %10s %10s\n", "file", "types", "cold ms", "warm ms", "table ms");
	for (size_t i = 0; i < n; i++) {
		char path[8192], *text = NULL;
		size_t len, nt = 0;
		if (!strstr(names[i], ".x86_64-"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		text = malloc(1 << 20);
		len = fread(text, 1, 1 << 20, f);
		fclose(f);
		/* cold: a cache of its own, empty */
		if (vk_mkdtemp(cold, sizeof(cold)) < 0) {
			free(text);
			continue;
		}
		double c = time_binary(qemu, cold, text, len, &nt);
		vk_rm_rf(cold);
		time_binary(qemu, warm, text, len, &nt); /* fill the shared warm cache */
		double w = 1e30, t = 1e30;
		for (int k = 0; k < 20; k++) {
			double x = time_binary(qemu, warm, text, len, &nt);
			if (x >= 0 && x < w)
				w = x;
			struct vk_qc_cmdline *cl = NULL;
			struct vk_report r = {0};
			double t0 = now();
			if (vk_qc_parse_args_text(text, len, &cl, NULL, NULL) == 0)
				vk_check_cmdline(cl, &table, &r, NULL);
			x = now() - t0;
			if (x < t)
				t = x;
			vk_report_clear(&r);
			vk_qc_cmdline_free(cl);
		}
		free(text);
		if (c < 0)
			continue;
		printf("%-58.58s %6zu %10.2f %10.3f %10.3f\n", names[i], nt, c * 1e3, w * 1e3, t * 1e3);
		tc += c;
		tw += w;
		tt += t;
		files++;
	}
	vk_rm_rf(warm);
	if (!files)
		return;
	printf("mean per command line: cold %.2f ms, warm %.3f ms, built-in table %.3f ms; cold/warm %.0fx, warm/table %.1fx\n",
	       tc / (double)files * 1e3, tw / (double)files * 1e3, tt / (double)files * 1e3, tc / tw, tw / tt);
}

/* Parse + rules of @text, best of @reps runs; seconds. */
static double time_one(const char *text, size_t len, const struct vk_qemu_caps *caps, int reps)
{
	double best = 1e30;

	for (int k = 0; k < reps; k++) {
		struct vk_qc_cmdline *c = NULL;
		struct vk_report r = {0};
		double t0 = now();
		if (vk_qc_parse_args_text(text, len, &c, NULL, NULL) < 0) {
			printf("scaling: parse error\n");
			return -1;
		}
		vk_check_cmdline(c, caps, &r, NULL);
		double t = now() - t0;
		best = t < best ? t : best;
		vk_report_clear(&r);
		vk_qc_cmdline_free(c);
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

static void scaling(const struct vk_qemu_caps *caps)
{
	static const char *const what[] = {"properties of one -device", "vfio-pci devices"};

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
	struct vk_qemu_caps caps;

	vk_qemu_caps_builtin(NULL, &caps, NULL);
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
			struct vk_qc_cmdline *c = NULL;
			struct vk_report r = {0};
			double t0 = now();
			if (vk_qc_parse_args_text(text, (size_t)len, &c, NULL, NULL) < 0) {
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
			vk_qc_cmdline_free(c);
		}
		tp = tp / reps * 1e6;
		tr = tr / reps * 1e6;
		tp_all += tp;
		tr_all += tr;
		if (tp + tr > worst)
			worst = tp + tr;
		printf("%-58.58s %6zu %6zu %10.1f %10.1f %9zu\n", names[i], words, opts, tp, tr, findings);
		free(text);
	}
	printf("mean per command line: parse %.1f us + rules %.1f us = %.1f us; worst %.1f us\n", tp_all / (double)n,
	       tr_all / (double)n, (tp_all + tr_all) / (double)n, worst);
	cache_rows(dir, names, n);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return 0;
}
