/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Print every open FD of this process: "fd=<n> target=<readlink> rdwr=<0|1> cloexec=<0|1>",
 * then "arg=<argv[i]>" for each argument.  Run by vfio-resolve --exec in test_cli. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self;

	if (!d)
		return 1;
	self = dirfd(d);
	while ((e = readdir(d))) {
		char p[64], t[4096];
		int fd;
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == self)
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		n = readlink(p, t, sizeof(t) - 1);
		t[n < 0 ? 0 : n] = '\0';
		int fl = fcntl(fd, F_GETFL), fdf = fcntl(fd, F_GETFD);
		printf("fd=%d target=%s rdwr=%d cloexec=%d\n", fd, t, (fl & O_ACCMODE) == O_RDWR,
		       (fdf & FD_CLOEXEC) != 0);
	}
	closedir(d);
	for (int i = 1; i < argc; i++)
		printf("arg=%s\n", argv[i]);
	return 0;
}
