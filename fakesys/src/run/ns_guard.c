/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys run: the FUSE server and its guard (docs/architecture.md, "fakesys
 * run").
 *
 * The guard is a child of the caller, in a process group of its own (a Ctrl-C
 * or a kill of the caller's group does not reach it), and a child subreaper;
 * the server is the guard's child.  The guard
 *   - reaps the server, and the fusermount3 helper that libfuse's
 *     auto_unmount leaves running (its parent exits once the mount is made,
 *     so without a subreaper it would become PID 1's child and, where PID 1
 *     does not reap, its zombie);
 *   - watches the caller through a pidfd.  When the caller dies, however it
 *     dies (SIGKILL included), the guard continues the server (a stopped
 *     server would keep a pending SIGTERM forever, and with it every command
 *     process waiting in a request the server had already read: such a wait
 *     is uninterruptible, request_wait_answer() in fs/fuse/dev.c), ends it,
 *     removes the tree's mount from the host if it is still there, and
 *     removes the scratch directory.
 * On a normal end the caller asks the guard (one byte on a socket) to stop
 * the server, and gets back how the server ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/fakesys_serve.h>

#include "ns_run_internal.h"

extern char **environ;

/* How long the caller waits for the server to mount; how long the server
 * gets to end by itself once the command's namespace is gone, and after a
 * SIGTERM; how long the guard waits for the fusermount3 helper. */
#define SERVER_START_MS 60000
#define SERVER_STOP_MS 5000
#define SERVER_TERM_MS 2000
#define HELPER_WAIT_MS 2000

/* What the guard sends back when asked to stop. */
struct guard_result {
	int server_ws;     /* the server's wait status (valid when it was reaped) */
	int reaped;        /* the server was reaped */
	int signalled;     /* 0, or the signal the stop had to send (SIGTERM, SIGKILL) */
	struct vk_error e; /* the tree's mount could not be removed from the host */
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- the host's mount of the tree ----------------------------------------------------- */

int run_detach_tree(const char *mnt, pid_t server, struct vk_error *err)
{
	int pid = vk_fakesys_mount_pid(mnt);

	/* nothing there, or not this server's mount: nothing to do */
	if (pid == -EINVAL || (pid >= 0 && pid != server))
		return 0;
	if (pid < 0)
		return vk_error_set(err, pid, "run: reading the mounts at %s: %s", mnt, strerror(-pid));
	if (geteuid() == 0) {
		if (umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return vk_error_set(err, errno, "run: detaching the FUSE mount %s: %s", mnt, strerror(errno));
		return 0;
	}
	/* as another user only fusermount3 (set-uid root) may unmount it */
	char *argv[] = {"fusermount3", "-u", "-z", "-q", "--", (char *)mnt, NULL};
	pid_t p;
	int ws, r = posix_spawnp(&p, "fusermount3", NULL, NULL, argv, environ);
	if (r)
		return vk_error_set(err, r, "run: detaching %s: cannot run fusermount3: %s", mnt, strerror(r));
	while (waitpid(p, &ws, 0) < 0)
		if (errno != EINTR)
			return vk_error_set(err, errno, "run: detaching %s: waitpid: %s", mnt, strerror(errno));
	if (!WIFEXITED(ws) || WEXITSTATUS(ws))
		return vk_error_set(err, EBUSY, "run: detaching %s: fusermount3 -u -z failed", mnt);
	return 0;
}

/* ---- the server ------------------------------------------------------------------------- */

static __attribute__((noreturn)) void server_child(const struct run_ctx *c, const struct vk_fakesys_run_opts *o,
                                                   int err_fd, pid_t guard)
{
	struct vk_fakesys_mount_opts mo = {
		.foreground = true,
		.serve_opens = o->serve_opens || o->model,
		.model = o->model,
		.faults = o->faults,
		.n_faults = o->n_faults,
		.steps = o->steps,
		.n_steps = o->n_steps,
		.log = o->log,
		.pidfile = c->ready,
	};
	struct vk_error e = {0};
	sigset_t s;
	int devnull;

	/* if the guard dies, the server unmounts and ends */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != guard)
		_exit(1);
	/* The fusermount3 helper of auto_unmount inherits our stdio: it must not
	 * hold the caller's pipes open. */
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(devnull);
	}
	/* libfuse installs its handlers only over SIG_DFL */
	for (size_t i = 0; i < VK_ARRAY_SIZE(run_fwd_signals); i++)
		signal(run_fwd_signals[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	run_fwd_sigset(&s);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	if (vk_fakesys_mount(c->t, c->mnt, &mo, &e) < 0) {
		if (write(err_fd, &e, sizeof(e)) < 0) {
			/* the caller is gone: nobody to tell */
		}
		_exit(1);
	}
	_exit(0);
}

/* ---- the guard ---------------------------------------------------------------------------- */

/* Wait up to @ms for the server to end; true once it is reaped. */
static bool wait_server(pid_t server, int server_fd, int ms, struct guard_result *res)
{
	double end = now_ms() + ms;

	for (;;) {
		pid_t w = waitpid(server, &res->server_ws, WNOHANG);
		if (w == server || (w < 0 && errno == ECHILD)) {
			res->reaped = w == server;
			return true;
		}
		int left = (int)(end - now_ms());
		if (left <= 0)
			return false;
		struct pollfd pf = {.fd = server_fd, .events = POLLIN};
		if (server_fd < 0 || poll(&pf, 1, left) < 0)
			sleep_ms(left < 10 ? left : 10);
	}
}

/* Reap every child that comes here (the fusermount3 helper), for @ms at most.
 * Woken by each SIGCHLD (blocked, taken with sigtimedwait()) instead of
 * polling: the helper ends within microseconds of the server's /dev/fuse
 * closing, and a 10 ms sleep per round was most of a short run's end. */
static void reap_all(int ms)
{
	double end = now_ms() + ms;
	sigset_t chld, old;
	int ws;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	for (;;) {
		pid_t w = waitpid(-1, &ws, WNOHANG);
		if (w > 0)
			continue;
		double left = end - now_ms();
		if ((w < 0 && errno == ECHILD) || left <= 0)
			break;
		struct timespec ts = {(time_t)(left / 1e3), (long)((left - (double)(time_t)(left / 1e3) * 1e3) * 1e6)};
		sigtimedwait(&chld, NULL, &ts);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * End the server: continue it (a stopped one ends nothing), remove the
 * host's mount of the tree, then give it @grace_ms to end by itself (it
 * does, with ENODEV on /dev/fuse, once no mount of the tree is left), then
 * SIGTERM (its handler unmounts), then SIGKILL; a mount it left is removed.
 */
static void stop_server(const struct run_ctx *c, pid_t server, int server_fd, int grace_ms, struct guard_result *res)
{
	if (!res->reaped) {
		kill(server, SIGCONT);
		run_detach_tree(c->mnt, server, NULL);
		if (!wait_server(server, server_fd, grace_ms, res)) {
			res->signalled = SIGTERM;
			kill(server, SIGTERM);
			if (!wait_server(server, server_fd, SERVER_TERM_MS, res)) {
				res->signalled = SIGKILL;
				kill(server, SIGKILL);
				while (waitpid(server, &res->server_ws, 0) < 0 && errno == EINTR)
					;
				res->reaped = 1;
			}
		}
	}
	run_detach_tree(c->mnt, server, &res->e);
	/* the helper ends as soon as the server's end closed its socket */
	reap_all(HELPER_WAIT_MS);
}

static __attribute__((noreturn)) void guard_main(const struct run_ctx *c, const struct vk_fakesys_run_opts *o, int ctl,
                                                 int err_fd, pid_t caller)
{
	struct guard_result res = {0};
	struct vk_error e = {0};
	bool caller_gone = false;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	int caller_fd = pidfd_open(caller, 0);
	if (caller_fd < 0) {
		vk_error_set(&e, errno, "run: pidfd_open: %s (Linux 5.3 or later is needed)", strerror(errno));
		if (write(err_fd, &e, sizeof(e)) < 0) {
			/* the caller is gone */
		}
		_exit(1);
	}
	/* a static tree has no server: the guard only removes the scratch
	 * directory if the caller dies */
	pid_t server = c->static_tree ? 0 : fork();
	if (server < 0) {
		vk_error_set(&e, errno, "run: fork: %s", strerror(errno));
		if (write(err_fd, &e, sizeof(e)) < 0) {
			/* the caller is gone */
		}
		_exit(1);
	}
	if (server == 0 && !c->static_tree) {
		close(ctl);
		close(caller_fd);
		server_child(c, o, err_fd, getppid());
	}
	close(err_fd);
	_cleanup_close_ int server_fd = server > 0 ? pidfd_open(server, 0) : -1;
	/* the caller may have died before the pidfd existed */
	caller_gone = getppid() != caller;
	while (!caller_gone) {
		struct pollfd pf[3] = {
			{.fd = caller_fd, .events = POLLIN},
			{.fd = ctl, .events = POLLIN},
			{.fd = res.reaped || server <= 0 ? -1 : server_fd, .events = POLLIN},
		};
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			caller_gone = true; /* cannot watch: end everything now */
			break;
		}
		if (pf[2].revents && waitpid(server, &res.server_ws, WNOHANG) == server)
			res.reaped = 1; /* no zombie while the run goes on */
		if (pf[1].revents) {
			char b;
			if (recv(ctl, &b, 1, 0) == 1)
				break;      /* asked to stop */
			caller_gone = true; /* the socket closed: the caller is gone */
		}
		if (pf[0].revents)
			caller_gone = true;
	}
	if (caller_gone) {
		/* the command's side is being killed (its parent-death signals):
		 * nothing to wait for */
		if (server > 0)
			stop_server(c, server, server_fd, 0, &res);
		run_remove_workdir(c, NULL);
	} else {
		/* the caller asks once the command's namespace is gone */
		if (server > 0)
			stop_server(c, server, server_fd, SERVER_STOP_MS, &res);
		if (send(ctl, &res, sizeof(res), MSG_NOSIGNAL) < 0) {
			/* the caller is gone: nobody to tell */
		}
	}
	_exit(0);
}

/* ---- the caller's side ------------------------------------------------------------------------ */

/* Stop the guard (and with it the server) and reap it; the server's end as an error, if any. */
int run_guard_stop(const struct run_ctx *c, struct run_guard *g, struct vk_error *err)
{
	struct guard_result res = {0};
	ssize_t n = -1;
	int ws;

	if (g->pid <= 0)
		return 0;
	if (send(g->ctl, "q", 1, MSG_NOSIGNAL) == 1) {
		struct pollfd pf = {.fd = g->ctl, .events = POLLIN};
		int bound = SERVER_STOP_MS + SERVER_TERM_MS + HELPER_WAIT_MS + 5000;
		if (poll(&pf, 1, bound) == 1)
			n = recv(g->ctl, &res, sizeof(res), 0);
	}
	if (n != (ssize_t)sizeof(res))
		kill(g->pid, SIGKILL);
	while (waitpid(g->pid, &ws, 0) < 0 && errno == EINTR)
		;
	close(g->ctl);
	g->ctl = -1;
	g->pid = 0;
	if (n != (ssize_t)sizeof(res))
		return vk_error_set(err, EIO, "run: the guard of the FUSE server ended without a report");
	if (res.e.code) {
		if (err)
			*err = res.e;
		return -res.e.code;
	}
	if (!res.signalled && res.reaped && WIFSIGNALED(res.server_ws))
		return vk_error_set(err, EIO,
		                    "run: the FUSE server (pid %d) was killed by signal %d (%s) while the command ran: "
		                    "the command lost the fake tree (ENOTCONN)",
		                    (int)g->server, WTERMSIG(res.server_ws), strsignal(WTERMSIG(res.server_ws)));
	if (!res.signalled && res.reaped && WIFEXITED(res.server_ws) && WEXITSTATUS(res.server_ws))
		return vk_error_set(err, EIO, "run: the FUSE server (pid %d) failed (status %d) while the command ran",
		                    (int)g->server, WEXITSTATUS(res.server_ws));
	if (res.signalled)
		return vk_error_set(err, ETIMEDOUT,
		                    "run: the FUSE server (pid %d) did not end with the command's namespace; ended it with %s",
		                    (int)g->server, strsignal(res.signalled));
	(void)c;
	return 0;
}

int run_guard_start(const struct run_ctx *c, const struct vk_fakesys_run_opts *o, struct run_guard *g,
                    struct vk_error *err)
{
	_cleanup_close_ int efd = -1, rfd = -1;
	struct vk_error se = {0};
	pid_t caller = getpid();
	char buf[32];
	int ep[2], sv[2];

	g->pid = 0;
	g->ctl = -1;
	if (pipe2(ep, O_CLOEXEC) < 0)
		return vk_error_set(err, errno, "run: pipe: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int x = errno;
		close(ep[0]);
		close(ep[1]);
		return vk_error_set(err, x, "run: socketpair: %s", strerror(x));
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(ep[0]);
		close(sv[0]);
		guard_main(c, o, sv[1], ep[1], caller);
	}
	int fork_errno = errno;
	close(ep[1]);
	close(sv[1]);
	efd = ep[0];
	if (pid < 0) {
		close(sv[0]);
		return vk_error_set(err, fork_errno, "run: fork: %s", strerror(fork_errno));
	}
	g->pid = pid;
	g->ctl = sv[0];
	if (c->static_tree)
		return 0; /* no server to wait for */

	/* The server writes its PID to the FIFO once the tree is mounted (its
	 * open for writing waits for this reader), or its error to efd. */
	rfd = open(c->ready, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0) {
		int r = vk_error_set(err, errno, "run: %s: %s", c->ready, strerror(errno));
		run_guard_stop(c, g, NULL);
		return r;
	}
	struct pollfd pf[2] = {{.fd = rfd, .events = POLLIN}, {.fd = efd, .events = POLLIN}};
	int n;
	do
		n = poll(pf, 2, SERVER_START_MS);
	while (n < 0 && errno == EINTR);
	ssize_t len = n > 0 && (pf[0].revents & POLLIN) ? read(rfd, buf, sizeof(buf) - 1) : -1;
	if (len > 0) {
		buf[len] = '\0';
		g->server = (pid_t)atoi(buf);
		return 0;
	}
	int r;
	if (n == 0)
		r = vk_error_set(err, ETIMEDOUT, "run: the FUSE server did not mount %s within %d s", c->mnt,
		                 SERVER_START_MS / 1000);
	else if (n > 0 && (pf[1].revents & (POLLIN | POLLHUP)) && read(efd, &se, sizeof(se)) == (ssize_t)sizeof(se) &&
	         se.code) {
		if (err)
			*err = se;
		r = -se.code;
	} else
		r = vk_error_set(err, EIO, "run: the FUSE server exited before %s was mounted", c->mnt);
	run_guard_stop(c, g, NULL);
	return r;
}
