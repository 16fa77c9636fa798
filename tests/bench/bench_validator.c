/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_validator: parse + check of every libvirt command line of the corpus
 * (../shared/corpus/libvirt-args), repeated; prints per file the words, the
 * options, and the time per command line (split: read+tokenize+parse, rules).
 * Not a test.  Skips (exit 0 with a note) when the corpus is absent.
 */
#include <dirent.h>
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

int main(void)
{
	char dir[4096];
	char *names[256];
	size_t n = 0;
	const int reps = 200;
	struct qemu_caps caps;

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
	qemu_caps_builtin(NULL, &caps, NULL);

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
