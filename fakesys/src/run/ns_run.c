/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys run: a command in a private mount namespace whose /sys, /dev and
 * /proc files show the fake host (docs/architecture.md, "fakesys run").
 *
 * Three processes:
 *   the caller   makes a scratch directory, starts the server, runs the
 *                command, forwards signals, and cleans up on every path;
 *   the server   a forked child serving the tree with FUSE on scratch/mnt
 *                (foreground mode; SIGTERM when the caller dies);
 *   the command  a forked child that enters the namespace, builds the new
 *                /sys and /dev, binds the proc files, and execs.
 *
 * The new /sys (and /dev) is a tmpfs holding, per entry, either a bind mount
 * of the real entry (kept), a bind mount of the fake entry (modelled), a copy
 * of a symlink, or, where both have a directory the scenario only partly
 * models (sys/class, sys/module, ...), a tmpfs directory built the same way
 * one level down.  Nothing is ever mounted outside the namespace but the FUSE
 * mount on the scratch directory.  overlayfs was tried and rejected: it merges
 * the host's and the fake's sys/bus/pci/devices, and it hides the mounts below
 * a lower layer (/sys/fs/cgroup, /dev/pts, /dev/shm come out empty).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/fakesys_run.h>
#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>

#include "ns_run_internal.h"

/* Exit statuses as env(1) and chroot(1) use them. */
enum { ST_SETUP = 125, ST_NOEXEC = 126, ST_NOTFOUND = 127 };

/* How long the caller waits for the server to mount, and for it to exit. */
#define SERVER_START_MS 60000
#define SERVER_STOP_MS 5000

static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* What the command child tells the caller through a CLOEXEC pipe. */
struct report {
	enum { REP_READY = 1, REP_FAIL } kind;
	int status;                /* REP_FAIL: 125, 126 or 127 */
	uint64_t ns_dev, ns_ino;   /* REP_READY: the namespace (st_dev/st_ino of /proc/self/ns/mnt) */
	struct vk_error e;
};

/* ---- signals --------------------------------------------------------------- */

static volatile sig_atomic_t g_child;

/* Forward a signal sent to us by a process (kill, sigqueue, tgkill: si_code
 * <= 0) to the command; one from the terminal (SI_KERNEL) reached the whole
 * foreground process group, the command included, and is not sent twice. */
static void forward_signal(int sig, siginfo_t *si, void *uc)
{
	pid_t c = (pid_t)g_child;

	(void)uc;
	if (c > 0 && si && si->si_code <= 0)
		kill(c, sig);
}

static void fwd_sigset(sigset_t *s)
{
	sigemptyset(s);
	for (size_t i = 0; i < VK_ARRAY_SIZE(fwd_signals); i++)
		sigaddset(s, fwd_signals[i]);
}

/* ---- small helpers ------------------------------------------------------------ */

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_string(const char *path, const char *s, struct vk_error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(s);

	if (fd < 0 || write(fd, s, n) != (ssize_t)n)
		return vk_error_set(err, errno ? errno : EIO, "run: writing %s: %s", path, strerror(errno ? errno : EIO));
	return 0;
}

/* Write all of @buf (a pipe message), retrying on EINTR. */
static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* Read exactly @len bytes; returns 1, 0 at EOF before any byte, -1 on error or a short message. */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return got == 0 && n == 0 ? 0 : -1;
		got += (size_t)n;
	}
	return 1;
}

static int enter_namespace(const struct fakesys_run_opts *o, struct vk_error *err)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	bool done = false;
	char map[64];
	int r;

	if (uid == 0 && !o->userns) {
		if (unshare(CLONE_NEWNS) == 0)
			done = true;
		else if (errno != EPERM)
			return vk_error_set(err, errno, "run: unshare(CLONE_NEWNS): %s", strerror(errno));
	}
	if (!done) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			return vk_error_set(err, errno,
			                    "run: cannot create a user and mount namespace: %s (unprivileged user "
			                    "namespaces may be off: see sysctl user.max_user_namespaces, "
			                    "kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns; "
			                    "or run as root)",
			                    strerror(errno));
		if (write_string("/proc/self/setgroups", "deny", err) < 0 && errno != ENOENT)
			return -err->code;
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
		if ((r = write_string("/proc/self/uid_map", map, err)) < 0)
			return r;
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
		if ((r = write_string("/proc/self/gid_map", map, err)) < 0)
			return r;
	}
	/* nothing done here may propagate back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return vk_error_set(err, errno, "run: making / private: %s", strerror(errno));
	return 0;
}

static __attribute__((noreturn)) void command_child(const struct run_ctx *c, char *const argv[],
                                                    const struct fakesys_run_opts *o, int rep_fd,
                                                    const sigset_t *mask, const struct sigaction *oldsa,
                                                    pid_t caller)
{
	struct report rep = {.kind = REP_FAIL, .status = ST_SETUP};
	struct stat st;
	mode_t um;
	int r;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != caller)
		_exit(ST_SETUP);
	for (size_t i = 0; i < VK_ARRAY_SIZE(fwd_signals); i++)
		sigaction(fwd_signals[i], &oldsa[i], NULL);
	um = umask(0);
	r = enter_namespace(o, &rep.e);
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* again: new credentials may clear it */
	if (r == 0)
		r = run_build_overlay(c, &rep.e);
	if (r == 0 && stat("/proc/self/ns/mnt", &st) < 0)
		r = vk_error_set(&rep.e, errno, "run: /proc/self/ns/mnt: %s", strerror(errno));
	if (r < 0) {
		write_all(rep_fd, &rep, sizeof(rep));
		_exit(ST_SETUP);
	}
	rep.kind = REP_READY;
	rep.ns_dev = st.st_dev;
	rep.ns_ino = st.st_ino;
	write_all(rep_fd, &rep, sizeof(rep));
	umask(um);
	setenv("FAKESYS_MOUNT", c->mnt, 1);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(argv[0], argv);
	int x = errno;
	rep.kind = REP_FAIL;
	rep.status = x == ENOENT ? ST_NOTFOUND : ST_NOEXEC;
	vk_error_set(&rep.e, x, "run: %s: %s", argv[0], strerror(x));
	write_all(rep_fd, &rep, sizeof(rep));
	_exit(rep.status);
}

/* ---- the server ------------------------------------------------------------------ */

static __attribute__((noreturn)) void server_child(const struct run_ctx *c, const struct fakesys_run_opts *o,
                                                   int err_fd, pid_t caller)
{
	struct fakesys_mount_opts mo = {
		.foreground = true,
		.serve_opens = o->serve_opens || o->model,
		.model = o->model,
		.pidfile = c->ready,
	};
	struct vk_error e = {0};
	sigset_t s;
	int devnull;

	/* Own process group: a Ctrl-C at the terminal goes to the command (and
	 * the caller), not to the server it still needs. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != caller)
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
	for (size_t i = 0; i < VK_ARRAY_SIZE(fwd_signals); i++)
		signal(fwd_signals[i], SIG_DFL);
	fwd_sigset(&s);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	if (fakesys_mount(c->t, c->mnt, &mo, &e) < 0) {
		write_all(err_fd, &e, sizeof(e));
		_exit(1);
	}
	_exit(0);
}

static int wait_child(pid_t pid, int *ws)
{
	while (waitpid(pid, ws, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Start the server and wait until the tree is mounted. */
static int start_server(const struct run_ctx *c, const struct fakesys_run_opts *o, pid_t *server,
                        struct vk_error *err)
{
	_cleanup_close_ int rfd = open(c->ready, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	_cleanup_close_ int efd = -1;
	struct vk_error se = {0};
	pid_t caller = getpid();
	char buf[32];
	int ep[2], ws;

	if (rfd < 0)
		return vk_error_set(err, errno, "run: %s: %s", c->ready, strerror(errno));
	if (pipe2(ep, O_CLOEXEC) < 0)
		return vk_error_set(err, errno, "run: pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int x = errno;
		close(ep[0]);
		close(ep[1]);
		return vk_error_set(err, x, "run: fork: %s", strerror(x));
	}
	if (pid == 0) {
		close(ep[0]);
		server_child(c, o, ep[1], caller);
	}
	close(ep[1]);
	efd = ep[0];

	struct pollfd pf[2] = {{.fd = rfd, .events = POLLIN}, {.fd = efd, .events = POLLIN}};
	int n;
	do
		n = poll(pf, 2, SERVER_START_MS);
	while (n < 0 && errno == EINTR);
	if (n > 0 && (pf[0].revents & POLLIN) && read(rfd, buf, sizeof(buf)) > 0) {
		*server = pid;
		return 0;
	}
	int r;
	if (n == 0) {
		r = vk_error_set(err, ETIMEDOUT, "run: the FUSE server did not mount %s within %d s", c->mnt,
		                 SERVER_START_MS / 1000);
		kill(pid, SIGKILL);
	} else if (n > 0 && (pf[1].revents & (POLLIN | POLLHUP)) && read_all(efd, &se, sizeof(se)) == 1 && se.code) {
		if (err)
			*err = se;
		r = -se.code;
	} else {
		r = vk_error_set(err, EIO, "run: the FUSE server exited before %s was mounted", c->mnt);
		kill(pid, SIGKILL);
	}
	wait_child(pid, &ws);
	return r;
}

/* Unmount the tree and reap the server; SIGTERM, then SIGKILL (its
 * auto_unmount helper then unmounts) when the unmount fails. */
static int stop_server(const struct run_ctx *c, pid_t pid, struct vk_error *err)
{
	struct vk_error ue = {0};
	int ws, r = fakesys_umount(c->mnt, &ue);

	if (r < 0)
		kill(pid, SIGTERM);
	for (int i = 0; i < SERVER_STOP_MS / 10; i++) {
		pid_t w = waitpid(pid, &ws, WNOHANG);
		if (w == pid || (w < 0 && errno == ECHILD))
			return 0;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	wait_child(pid, &ws);
	if (r < 0 && err)
		return vk_error_set(err, -r, "run: the FUSE server was killed after the unmount failed: %s", ue.msg);
	return 0;
}

/* Kill what the command left in its namespace (daemons it started): the
 * namespace, and the FUSE mounts it holds, end with its last process. */
static void kill_namespace(uint64_t dev, uint64_t ino)
{
	if (!ino)
		return;
	for (int round = 0; round < 500; round++) {
		_cleanup_closedir_ DIR *d = opendir("/proc");
		struct dirent *e;
		int found = 0;

		if (!d)
			return;
		while ((e = readdir(d))) {
			char path[300];
			struct stat st;
			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/ns/mnt", e->d_name);
			if (stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
				kill((pid_t)atoi(e->d_name), SIGKILL);
				found++;
			}
		}
		if (!found)
			return;
		sleep_ms(10);
	}
}

/* ---- the command --------------------------------------------------------------- */

static int run_command(const struct run_ctx *c, char *const argv[], const struct fakesys_run_opts *o,
                       const sigset_t *mask, int *status, struct report *ready, struct vk_error *err)
{
	struct sigaction sa = {.sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct sigaction oldsa[VK_ARRAY_SIZE(fwd_signals)];
	struct report rep;
	pid_t caller = getpid();
	sigset_t fwd;
	int rp[2], ws, r = 0;
	bool failed = false;

	if (pipe2(rp, O_CLOEXEC) < 0)
		return vk_error_set(err, errno, "run: pipe: %s", strerror(errno));
	sigemptyset(&sa.sa_mask);
	fwd_sigset(&fwd);
	for (size_t i = 0; i < VK_ARRAY_SIZE(fwd_signals); i++)
		sigaction(fwd_signals[i], &sa, &oldsa[i]);
	pid_t pid = fork();
	if (pid == 0) {
		close(rp[0]);
		command_child(c, argv, o, rp[1], mask, oldsa, caller);
	}
	int fork_errno = errno;
	close(rp[1]);
	if (pid > 0) {
		g_child = pid;
		sigprocmask(SIG_UNBLOCK, &fwd, NULL);
		/* READY before the exec, FAIL instead of it or after a failed exec,
		 * EOF once the exec closed the pipe */
		while (read_all(rp[0], &rep, sizeof(rep)) == 1) {
			if (rep.kind == REP_READY) {
				*ready = rep;
			} else {
				failed = true;
				*status = rep.status;
				if (err)
					*err = rep.e;
				r = -(rep.e.code ? rep.e.code : EIO);
			}
		}
		if (wait_child(pid, &ws) == 0 && !failed)
			*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : ST_SETUP;
		sigprocmask(SIG_BLOCK, &fwd, NULL);
		g_child = 0;
	} else {
		r = vk_error_set(err, fork_errno, "run: fork: %s", strerror(fork_errno));
	}
	close(rp[0]);
	for (size_t i = 0; i < VK_ARRAY_SIZE(fwd_signals); i++)
		sigaction(fwd_signals[i], &oldsa[i], NULL);
	return r;
}

/* ---- the scratch directory ----------------------------------------------------------- */

static int make_workdir(struct run_ctx *c, const struct fakesys_run_opts *o, struct vk_error *err)
{
	const char *tmp = o->tmpdir ? o->tmpdir : getenv("TMPDIR");
	char base[PATH_MAX];

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (!realpath(tmp, base))
		return vk_error_set(err, errno, "run: temporary directory %s: %s", tmp, strerror(errno));
	if ((size_t)snprintf(c->work, sizeof(c->work), "%s/fakesys-run.XXXXXX", base) >= sizeof(c->work))
		return vk_error_set(err, ENAMETOOLONG, "run: temporary directory %s: name too long", base);
	if (!mkdtemp(c->work)) {
		int x = errno;
		c->work[0] = '\0';
		return vk_error_set(err, x, "run: creating a directory in %s: %s", base, strerror(x));
	}
	snprintf(c->mnt, sizeof(c->mnt), "%s/mnt", c->work);
	snprintf(c->stage, sizeof(c->stage), "%s/stage", c->work);
	snprintf(c->ready, sizeof(c->ready), "%s/ready", c->work);
	if (mkdir(c->mnt, 0755) < 0 || mkdir(c->stage, 0755) < 0 || mkfifo(c->ready, 0600) < 0)
		return vk_error_set(err, errno, "run: populating %s: %s", c->work, strerror(errno));
	return 0;
}

static int remove_workdir(const struct run_ctx *c, struct vk_error *err)
{
	if (!c->work[0])
		return 0;
	unlink(c->ready);
	rmdir(c->stage);
	if (rmdir(c->mnt) < 0 && errno != ENOENT)
		return vk_error_set(err, errno, "run: %s is still in use (%s): unmount it with fakesys umount",
		                    c->mnt, strerror(errno));
	if (rmdir(c->work) < 0)
		return vk_error_set(err, errno, "run: removing %s: %s", c->work, strerror(errno));
	return 0;
}

int fakesys_run(struct vtree *t, char *const argv[], const struct fakesys_run_opts *o, int *status,
                struct vk_error *err)
{
	static const struct fakesys_run_opts defaults = {0};
	const struct fakesys_run_opts *opts = o ? o : &defaults;
	struct run_ctx c = {.t = t};
	struct report ready = {0};
	struct vk_error ce = {0};
	struct sigaction dfl = {.sa_handler = SIG_DFL}, oldchld;
	sigset_t fwd, mask;
	pid_t server = 0;
	int st = ST_SETUP, r;

	if (status)
		*status = ST_SETUP;
	if (!t || !argv || !argv[0])
		return vk_error_set(err, EINVAL, "run: no command given");
	/* Until the command runs, a termination signal waits: every step below
	 * is undone before it takes effect (with the caller's disposition). */
	fwd_sigset(&fwd);
	sigprocmask(SIG_BLOCK, &fwd, &mask);
	/* with SIGCHLD ignored, children would be reaped behind our back */
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &oldchld);
	r = make_workdir(&c, opts, err);
	if (r == 0)
		r = start_server(&c, opts, &server, err);
	if (r == 0) {
		r = run_command(&c, argv, opts, &mask, &st, &ready, err);
		kill_namespace(ready.ns_dev, ready.ns_ino);
		int r2 = stop_server(&c, server, r < 0 ? NULL : &ce);
		if (r == 0 && r2 < 0) {
			r = r2;
			if (err)
				*err = ce;
		}
	}
	int r3 = remove_workdir(&c, r < 0 ? NULL : &ce);
	if (r == 0 && r3 < 0) {
		r = r3;
		if (err)
			*err = ce;
	}
	sigaction(SIGCHLD, &oldchld, NULL);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (status)
		*status = st;
	return r;
}
