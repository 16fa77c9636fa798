/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test helper: open nodes at chosen FD numbers, then exec a program with a
 * chosen argv (what a management layer does before it starts QEMU).
 *
 *   vk-fdhelper [--hold] [--record FILE] [--cloexec-after N] [N=PATH[:ro][:cloexec]]...
 *               -- PATH ARGV0 [ARGS...]
 *
 * N=PATH opens PATH O_RDWR (":ro": O_RDONLY) as FD N, inheritable unless
 * ":cloexec".  Every other FD above 2 is made close-on-exec first, so that the
 * program sees exactly 0, 1, 2 and the FDs asked for.
 *
 * The exec'd program may be this helper again (argv[0] then is, say,
 * "qemu-system-x86_64"), in a mode passed through the environment:
 *   --hold:        print "ready" on stdout, then wait until stdin reaches EOF
 *                  (a process for vfio-validate --pid; with --cloexec-after N it
 *                  first sets FD_CLOEXEC on N);
 *   --record FILE: write argv (one "arg: " line each) and the open FDs
 *                  ("fds: 0 1 2 ...") to FILE and exit 0 (a fake real QEMU for
 *                  vfio-validate --then-exec; the mode survives that exec as it
 *                  lives in the environment).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int record(const char *file, int argc, char **argv)
{
	FILE *f = fopen(file, "we");
	DIR *d;
	struct dirent *de;

	if (!f)
		return 3;
	for (int i = 0; i < argc; i++)
		fprintf(f, "arg: %s\n", argv[i]);
	d = opendir("/proc/self/fd");
	fprintf(f, "fds:");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d) || atoi(de->d_name) == fileno(f))
			continue;
		fprintf(f, " %s", de->d_name);
	}
	fprintf(f, "\n");
	if (d)
		closedir(d);
	return fclose(f) == 0 ? 0 : 3;
}

static int hold(void)
{
	const char *ce = getenv("VK_FDHELPER_CLOEXEC_AFTER");
	char buf[64];

	if (ce && *ce && fcntl(atoi(ce), F_SETFD, FD_CLOEXEC) < 0)
		return 3;
	printf("ready\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = getenv("VK_FDHELPER_MODE");
	int i;

	if (mode && strcmp(mode, "record") == 0)
		return record(getenv("VK_FDHELPER_RECORD"), argc, argv);
	if (mode && strcmp(mode, "hold") == 0)
		return hold();

	for (int fd = 3; fd < 1024; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0)
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		char spec[4096], *eq, *opt;
		int n, fd, flags = O_RDWR;
		bool cloexec = false;

		if (strcmp(argv[i], "--hold") == 0) {
			setenv("VK_FDHELPER_MODE", "hold", 1);
			continue;
		}
		if (strcmp(argv[i], "--record") == 0 && i + 1 < argc) {
			setenv("VK_FDHELPER_MODE", "record", 1);
			setenv("VK_FDHELPER_RECORD", argv[++i], 1);
			continue;
		}
		if (strcmp(argv[i], "--cloexec-after") == 0 && i + 1 < argc) {
			setenv("VK_FDHELPER_CLOEXEC_AFTER", argv[++i], 1);
			continue;
		}
		snprintf(spec, sizeof(spec), "%s", argv[i]);
		eq = strchr(spec, '=');
		if (!eq) {
			fprintf(stderr, "vk-fdhelper: %s: want N=PATH\n", argv[i]);
			return 2;
		}
		*eq = '\0';
		n = atoi(spec);
		while ((opt = strrchr(eq + 1, ':')) && (strcmp(opt, ":ro") == 0 || strcmp(opt, ":cloexec") == 0)) {
			if (strcmp(opt, ":ro") == 0)
				flags = O_RDONLY;
			else
				cloexec = true;
			*opt = '\0';
		}
		fd = open(eq + 1, flags | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "vk-fdhelper: %s: %s\n", eq + 1, strerror(errno));
			return 2;
		}
		if (fd != n) {
			if (dup2(fd, n) < 0)
				return 2;
			close(fd);
		}
		if (fcntl(n, F_SETFD, cloexec ? FD_CLOEXEC : 0) < 0)
			return 2;
	}
	if (i + 2 >= argc) {
		fprintf(stderr, "vk-fdhelper: want -- PATH ARGV0 [ARGS...]\n");
		return 2;
	}
	execv(argv[i + 1], argv + i + 2);
	fprintf(stderr, "vk-fdhelper: exec %s: %s\n", argv[i + 1], strerror(errno));
	return 127;
}
