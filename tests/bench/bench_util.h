/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the benchmarks share: the clock, and the walk a reader of a host tree
 * does (bench_fakesys, bench_run, bench_live, bench_validator). */
#ifndef VFIOKIT_BENCH_UTIL_H
#define VFIOKIT_BENCH_UTIL_H

#include <dirent.h>
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

#endif
