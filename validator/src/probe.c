/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running a QEMU binary to ask it something, with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/qdev_model.h>

#define CAPTURE_MAX (1u << 20)

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Kill the child's process group (a script's own children too) and reap it. */
static void kill_and_reap(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Read @fd until EOF, the cap or the deadline.  Returns 0 at EOF or cap, -ETIMEDOUT, -errno. */
static int read_until(int fd, long long deadline, char *buf, size_t *len)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0)
			return -ETIMEDOUT;
		int n = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			continue;
		if (*len >= CAPTURE_MAX)
			return 0; /* closing the pipe makes a child that writes on get EPIPE */
		ssize_t k = read(fd, buf + *len, CAPTURE_MAX - *len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return 0;
		*len += (size_t)k;
	}
}

/* Wait for @pid until the deadline.  Returns 0 (reaped), -ETIMEDOUT. */
static int wait_until(pid_t pid, long long deadline, int *status)
{
	for (;;) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			if (status)
				*status = st;
			return 0;
		}
		if (w < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

int vk_run_capture(char *const argv[], unsigned timeout_ms, char **out, int *status)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int pfd[2], r;
	pid_t pid;
	size_t len = 0;
	char *buf;

	*out = NULL;
	if (!timeout_ms)
		timeout_ms = 10000;
	buf = malloc(CAPTURE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = -errno;
		free(buf);
		return r;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	/* A stand-in holds the VFIO FDs it inherited: the probe must not get them. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/* its own process group, so that a timeout kills what it started too */
	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	r = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (r != 0) {
		close(pfd[0]);
		free(buf);
		return -r;
	}
	long long deadline = now_ms() + timeout_ms;
	r = read_until(pfd[0], deadline, buf, &len);
	close(pfd[0]);
	if (r == 0)
		r = wait_until(pid, deadline, status);
	if (r < 0) {
		kill_and_reap(pid);
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}
