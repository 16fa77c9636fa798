/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the benchmarks share: the clock, and the walk a reader of a host tree
 * does (bench_fakesys, bench_run, bench_live, bench_validator). */
#ifndef VFIOKIT_BENCH_UTIL_H
#define VFIOKIT_BENCH_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdbool.h>
#include <limits.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct walk {
	unsigned long entries, bytes, errors;
};

/* lstat every entry, readlink links, read files; recursive over dirfds. */
static inline void walk_dir(int dfd, struct walk *w)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;
	char buf[8192];

	if (!d) {
		close(dfd);
		w->errors++;
		return;
	}
	while ((e = readdir(d))) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		w->entries++;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			w->errors++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				w->errors++;
			else
				walk_dir(sub, w);
		} else if (S_ISLNK(st.st_mode)) {
			if (readlinkat(dirfd(d), e->d_name, buf, sizeof(buf)) < 0)
				w->errors++;
		} else {
			int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			ssize_t r;
			if (fd < 0) {
				w->errors++;
				continue;
			}
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				w->bytes += (unsigned long)r;
			close(fd);
		}
	}
	closedir(d);
}

/* ROOT/REL without "//": umockdev's preload matches "/sys/..." only. */
static inline double bench_walk_all(const char *root, char **rels, int n, struct walk *w)
{
	char path[PATH_MAX];
	bool slash = root[0] && root[strlen(root) - 1] == '/';

	memset(w, 0, sizeof(*w));
	double t0 = now();
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s%s%s", root, slash ? "" : "/", rels[i]);
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			w->errors++;
		else
			walk_dir(fd, w);
	}
	return now() - t0;
}

/* A benchmark's --walk ROOT REL... mode (run as the command of `fakesys run`,
 * `umockdev-run` or on a tmpfs copy, so that every figure comes from the same
 * code): prints "cold second warm entries errors" (ms). */
static inline int bench_walker(const char *root, char **rels, int n)
{
	struct walk w;
	double cold = bench_walk_all(root, rels, n, &w);
	double second = bench_walk_all(root, rels, n, &w);
	double warm = 1e9;
	for (int i = 0; i < 3; i++) {
		double t = bench_walk_all(root, rels, n, &w);
		warm = t < warm ? t : warm;
	}
	printf("%.3f %.3f %.3f %lu %lu\n", cold * 1e3, second * 1e3, warm * 1e3, w.entries, w.errors);
	return 0;
}

#endif
