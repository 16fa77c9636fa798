/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys run: a command in private mount and PID namespaces whose /sys,
 * /dev and /proc show the fake host (docs/architecture.md, "fakesys run").
 *
 * The processes, each the child of the one before, but for the guard:
 *   the caller   makes a scratch directory, starts the guard, runs the
 *                namespace child, forwards signals, cleans up on every path;
 *   the guard    (ns_guard.c) the FUSE server's parent: reaps it, and ends it
 *                if the caller dies however it dies;
 *   the server   serves the tree with FUSE on scratch/mnt;
 *   ns child     enters new mount and PID namespaces (and a user namespace
 *                when not root), builds the new /sys and /dev (ns_overlay.c),
 *                forks the init and waits for it; its status is the command's;
 *   init         PID 1 of the new PID namespace: mounts its /proc, forks the
 *                command, forwards signals to it, reaps, and exits with the
 *                command's status.  When it exits, the kernel kills every
 *                other process of the namespace (pid_namespaces(7)): nothing
 *                the command started outlives it;
 *   the command  execs, without CAP_SYS_ADMIN: it cannot undo its mounts.
 *
 * Every process of the namespace side gets SIGKILL when its parent dies
 * (PR_SET_PDEATHSIG): a SIGKILLed caller takes the namespace with it, and
 * the guard ends the server.  The host's mount of the tree is detached as
 * soon as the namespace holds its own copy of it, so that no mount of the
 * tree outlives the namespace in the host, whatever ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/fakesys_run.h>

#include "ns_run_internal.h"
#include "seccomp_notify.h"

/* Exit statuses as env(1) and chroot(1) use them. */
enum { ST_SETUP = 125,
       ST_NOEXEC = 126,
       ST_NOTFOUND = 127 };

/* What the namespace side tells the caller through a CLOEXEC pipe. */
struct report {
	enum {
		REP_PRIVATE = 1, /* the namespace holds its own copy of the tree's mount */
		REP_INIT,        /* the init runs: forward signals to @pid */
		REP_FAIL,        /* instead of the exec, or after a failed one */
	} kind;
	int status; /* REP_FAIL: 125, 126 or 127 */
	pid_t pid;  /* REP_INIT: the init, in the caller's PID namespace */
	struct vk_error e;
};

/* ---- signals --------------------------------------------------------------- */

/* Where forward_signal() sends: in the caller the init, in the init the command. */
static volatile sig_atomic_t g_child;
/* In the caller: the FUSE server, continued on a termination signal. */
static volatile sig_atomic_t g_server;

/* The VFIO emulation (seccomp_notify.h): the caller's supervisor, and the
 * socket its listener comes back on (inherited by the init, which sends it). */
static struct vk_supervisor *g_sup;
static int g_sup_fd = -1;

/* Forward a signal sent to us by a process (kill, sigqueue, tgkill: si_code
 * <= 0) to g_child; one from the terminal (SI_KERNEL) reached the whole
 * foreground process group, the command included, and is not sent twice. */
static void forward_signal(int sig, siginfo_t *si, void *uc)
{
	pid_t c = (pid_t)g_child, s = (pid_t)g_server;

	(void)uc;
	if (c > 0 && si && si->si_code <= 0)
		kill(c, sig);
	/* a stopped server would keep the command from ending: a command
	 * process waiting for a request the server has read cannot be
	 * interrupted (request_wait_answer() in fs/fuse/dev.c) */
	if (s > 0)
		kill(s, SIGCONT);
}

static void install_forwarding(struct sigaction old[])
{
	struct sigaction sa = {.sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART};

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < VK_ARRAY_SIZE(run_fwd_signals); i++)
		sigaction(run_fwd_signals[i], &sa, old ? &old[i] : NULL);
}

/* ---- small helpers ------------------------------------------------------------ */

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
static int read_exact(int fd, void *buf, size_t len)
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

static int wait_child(pid_t pid, int *ws)
{
	while (waitpid(pid, ws, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* A wait status as a shell reports it. */
static int shell_status(int ws)
{
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws)
	                                                         : ST_SETUP;
}

static __attribute__((noreturn)) void fail_with(int rep_fd, struct report *rep, int status)
{
	rep->kind = REP_FAIL;
	rep->status = status;
	write_all(rep_fd, rep, sizeof(*rep));
	_exit(status);
}

/* ---- the namespaces ---------------------------------------------------------- */

static int enter_namespaces(const struct vk_fakesys_run_opts *o, struct vk_error *err)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	bool done = false;
	char map[64];
	int r;

	if (uid == 0 && !o->userns) {
		if (unshare(CLONE_NEWNS | CLONE_NEWPID) == 0)
			done = true;
		else if (errno != EPERM)
			return vk_error_set(err, errno, "run: unshare(CLONE_NEWNS|CLONE_NEWPID): %s", strerror(errno));
	}
	if (!done) {
		/* the PID namespace is then owned by the new user namespace, so
		 * that the init may mount its /proc */
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0)
			return vk_error_set(err, errno,
			                    "run: cannot create a user, mount and PID namespace: %s (unprivileged user "
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

/*
 * The command must not undo what it was given: unmounting the new /sys would
 * uncover the real one, a read-write remount would make the real entries in
 * it writable.  Both need CAP_SYS_ADMIN in the user namespace owning the
 * mount namespace (may_mount() in fs/namespace.c), so it goes from the
 * bounding set (no exec of a set-uid root or file-capability program gets it
 * back) and from the init's own sets (a root command could ptrace the init).
 * A user namespace the command creates has CAP_SYS_ADMIN again, but only over
 * locked copies of these mounts: it can neither unmount them nor clear their
 * read-only flag (mount_namespaces(7), "Restrictions on mount namespaces").
 */
static int drop_cap_sys_admin(struct vk_error *err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	const uint32_t bit = CAP_TO_MASK(CAP_SYS_ADMIN);
	const int idx = CAP_TO_INDEX(CAP_SYS_ADMIN);

	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) < 0)
		return vk_error_set(err, errno, "run: dropping CAP_SYS_ADMIN from the bounding set: %s", strerror(errno));
	if (syscall(SYS_capget, &h, d) < 0)
		return vk_error_set(err, errno, "run: capget: %s", strerror(errno));
	d[idx].effective &= ~bit;
	d[idx].permitted &= ~bit;
	d[idx].inheritable &= ~bit;
	if (syscall(SYS_capset, &h, d) < 0)
		return vk_error_set(err, errno, "run: dropping CAP_SYS_ADMIN: %s", strerror(errno));
	/* an ambient capability needs a permitted and inheritable one: gone too */
	return 0;
}

/* ---- the command ------------------------------------------------------------------ */

/* The command's process, forked by the init: the caller's signal state, the
 * FUSE mount's path for the live mode's control channel, then exec. */
static __attribute__((noreturn)) void exec_command(const struct run_ctx *c, char *const argv[], int rep_fd,
                                                   const sigset_t *mask, const struct sigaction *oldsa)
{
	struct report rep = {0};

	for (size_t i = 0; i < VK_ARRAY_SIZE(run_fwd_signals); i++)
		sigaction(run_fwd_signals[i], &oldsa[i], NULL);
	setenv("FAKESYS_MOUNT", c->mnt, 1);
	/* sd-device (libudev, udevadm) takes a device only when its syspath is on
	 * a sysfs (statfs magic, src/libsystemd/sd-device/sd-device.c); the fake
	 * devices are on FUSE.  This is systemd's switch for that check. */
	setenv("SYSTEMD_DEVICE_VERIFY_SYSFS", "0", 1);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(argv[0], argv);
	int x = errno;
	vk_error_set(&rep.e, x, "run: %s: %s", argv[0], strerror(x));
	fail_with(rep_fd, &rep, x == ENOENT ? ST_NOTFOUND : ST_NOEXEC);
}

/*
 * PID 1 of the new PID namespace.  @alive is the read end of a pipe the
 * namespace child writes one byte to once it knows the init: if the child
 * died before (and the parent-death signal with it), the read sees EOF.
 */
static __attribute__((noreturn)) void init_main(const struct run_ctx *c, char *const argv[], int rep_fd, int alive,
                                                const sigset_t *mask, const struct sigaction *oldsa)
{
	struct report rep = {0};
	char b;
	int ws;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(alive, &b, 1) != 1)
		_exit(ST_SETUP);
	close(alive);
	if (run_build_proc(c, &rep.e) < 0)
		fail_with(rep_fd, &rep, ST_SETUP);
	/* the filter while CAP_SYS_ADMIN allows it without no_new_privs; the
	 * command inherits it */
	if (g_sup_fd >= 0)
		vk_supervisor_child(g_sup_fd, c->static_tree ? c->mnt : NULL);
	if (drop_cap_sys_admin(&rep.e) < 0)
		fail_with(rep_fd, &rep, ST_SETUP);
	/* the forwarded signals stay blocked (since the caller's setup) until
	 * the command is known, so that none is lost */
	pid_t cmd = fork();
	if (cmd < 0) {
		vk_error_set(&rep.e, errno, "run: fork: %s", strerror(errno));
		fail_with(rep_fd, &rep, ST_SETUP);
	}
	if (cmd == 0)
		exec_command(c, argv, rep_fd, mask, oldsa);
	close(rep_fd);
	g_child = cmd;
	install_forwarding(NULL);
	sigset_t fwd;
	run_fwd_sigset(&fwd);
	sigprocmask(SIG_UNBLOCK, &fwd, NULL);
	/* as init, reap everything orphaned in the namespace until the command
	 * ends; exiting then kills the rest (zap_pid_ns_processes()) */
	for (;;) {
		pid_t w = waitpid(-1, &ws, 0);
		if (w == cmd)
			_exit(shell_status(ws));
		if (w < 0 && errno != EINTR)
			_exit(ST_SETUP);
	}
}

/*
 * The caller's child: enters the namespaces, builds the new /sys and /dev,
 * forks the init and exits with its status.  The forwarded signals stay
 * blocked here: the caller sends them to the init.
 */
static __attribute__((noreturn)) void ns_child(const struct run_ctx *c, char *const argv[],
                                               const struct vk_fakesys_run_opts *o, int rep_fd, const sigset_t *mask,
                                               const struct sigaction *oldsa, pid_t caller)
{
	struct report rep = {0};
	int alive[2], ws;
	mode_t um;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != caller)
		_exit(ST_SETUP);
	um = umask(0);
	if (enter_namespaces(o, &rep.e) < 0)
		fail_with(rep_fd, &rep, ST_SETUP);
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* again: new credentials clear it */
	rep.kind = REP_PRIVATE;
	write_all(rep_fd, &rep, sizeof(rep));
	if (run_build_overlay(c, &rep.e) < 0)
		fail_with(rep_fd, &rep, ST_SETUP);
	umask(um);
	if (pipe2(alive, O_CLOEXEC) < 0) {
		vk_error_set(&rep.e, errno, "run: pipe: %s", strerror(errno));
		fail_with(rep_fd, &rep, ST_SETUP);
	}
	pid_t init = fork();
	if (init < 0) {
		vk_error_set(&rep.e, errno, "run: fork: %s", strerror(errno));
		fail_with(rep_fd, &rep, ST_SETUP);
	}
	if (init == 0) {
		close(alive[1]);
		init_main(c, argv, rep_fd, alive[0], mask, oldsa);
	}
	close(alive[0]);
	rep.kind = REP_INIT;
	rep.pid = init;
	write_all(rep_fd, &rep, sizeof(rep));
	close(rep_fd);
	write_all(alive[1], "", 1);
	close(alive[1]);
	if (wait_child(init, &ws) < 0)
		_exit(ST_SETUP);
	_exit(shell_status(ws));
}

/* Run the namespace child; forward signals to its init while the command runs. */
static int run_command(const struct run_ctx *c, char *const argv[], const struct vk_fakesys_run_opts *o,
                       const sigset_t *mask, int *status, struct run_guard *g, struct vk_error *err)
{
	struct sigaction oldsa[VK_ARRAY_SIZE(run_fwd_signals)];
	struct report rep;
	pid_t caller = getpid();
	sigset_t fwd;
	int rp[2], ws, r = 0;
	bool failed = false;

	if (pipe2(rp, O_CLOEXEC) < 0)
		return vk_error_set(err, errno, "run: pipe: %s", strerror(errno));
	run_fwd_sigset(&fwd);
	install_forwarding(oldsa);
	pid_t pid = fork();
	if (pid == 0) {
		close(rp[0]);
		ns_child(c, argv, o, rp[1], mask, oldsa, caller);
	}
	int fork_errno = errno;
	close(rp[1]);
	if (g_sup_fd >= 0) {
		close(g_sup_fd);
		g_sup_fd = -1;
		if (pid < 0 || vk_supervisor_start(g_sup, NULL) < 0) {
			vk_supervisor_stop(g_sup);
			g_sup = NULL;
		}
	}
	if (pid > 0) {
		/* EOF once the exec closed the pipe and the others let go of it */
		while (read_exact(rp[0], &rep, sizeof(rep)) == 1) {
			if (rep.kind == REP_PRIVATE) {
				/* the namespace serves from its own copy: no mount of
				 * the tree is left in the host whatever ends (the guard
				 * tries again, and reports, if this fails) */
				if (!c->static_tree)
					run_detach_tree(c->mnt, g->server, NULL);
			} else if (rep.kind == REP_INIT) {
				g_child = rep.pid;
				g_server = g->server;
				sigprocmask(SIG_UNBLOCK, &fwd, NULL);
			} else {
				failed = true;
				*status = rep.status;
				if (err)
					*err = rep.e;
				r = -(rep.e.code ? rep.e.code : EIO);
			}
		}
		if (wait_child(pid, &ws) == 0 && !failed)
			*status = shell_status(ws);
		sigprocmask(SIG_BLOCK, &fwd, NULL);
		g_child = 0;
		g_server = 0;
	} else {
		r = vk_error_set(err, fork_errno, "run: fork: %s", strerror(fork_errno));
	}
	close(rp[0]);
	for (size_t i = 0; i < VK_ARRAY_SIZE(run_fwd_signals); i++)
		sigaction(run_fwd_signals[i], &oldsa[i], NULL);
	return r;
}

/* ---- the scratch directory ----------------------------------------------------------- */

static int make_workdir(struct run_ctx *c, const struct vk_fakesys_run_opts *o, struct vk_error *err)
{
	const char *tmp = o->tmpdir ? o->tmpdir : getenv("TMPDIR");
	char base[PATH_MAX];

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (!realpath(tmp, base))
		return vk_error_set(err, errno, "run: temporary directory %s: %s", tmp, strerror(errno));
	if ((size_t)snprintf(c->work, sizeof(c->work), "%s/fakesys-run.XXXXXX", base) >= sizeof(c->work))
		return vk_error_set(err, ENAMETOOLONG, "run: temporary directory %s: name too long", base);
	/* mkdtemp: a fresh directory of mode 0700, so that nobody else can
	 * put anything where mnt, stage and ready are made */
	if (!mkdtemp(c->work)) {
		int x = errno;
		c->work[0] = '\0';
		return vk_error_set(err, x, "run: creating a directory in %s: %s", base, strerror(x));
	}
	snprintf(c->mnt, sizeof(c->mnt), "%s/mnt", c->work);
	snprintf(c->stage, sizeof(c->stage), "%s/stage", c->work);
	snprintf(c->ready, sizeof(c->ready), "%s/ready", c->work);
	if (mkdir(c->mnt, 0755) < 0 || mkdir(c->stage, 0755) < 0 || mkfifo(c->ready, 0600) < 0) {
		int r = vk_error_set(err, errno, "run: populating %s: %s", c->work, strerror(errno));
		run_remove_workdir(c, NULL);
		return r;
	}
	return 0;
}

int run_remove_workdir(const struct run_ctx *c, struct vk_error *err)
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

int vk_fakesys_run(struct vtree *t, char *const argv[], const struct vk_fakesys_run_opts *o, int *status,
                   struct vk_error *err)
{
	static const struct vk_fakesys_run_opts defaults = {0};
	const struct vk_fakesys_run_opts *opts = o ? o : &defaults;
	struct run_ctx c = {.t = t};
	struct run_guard guard = {0};
	struct vk_error ce = {0};
	struct sigaction dfl = {.sa_handler = SIG_DFL}, oldchld;
	sigset_t fwd, mask;
	int st = ST_SETUP, r;

	if (status)
		*status = ST_SETUP;
	if (!t || !argv || !argv[0])
		return vk_error_set(err, EINVAL, "run: no command given");
	/* Until the command runs, a termination signal waits: every step below
	 * is undone before it takes effect (with the caller's disposition). */
	run_fwd_sigset(&fwd);
	sigprocmask(SIG_BLOCK, &fwd, &mask);
	/* with SIGCHLD ignored, children would be reaped behind our back */
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &oldchld);
	c.static_tree = run_static_wanted(&c, opts);
	r = make_workdir(&c, opts, err);
	/* (a static tree needs no server: the guard only cleans up after a
	 * killed caller; the namespace makes its own copy of the tree) */
	if (r == 0)
		r = run_guard_start(&c, opts, &guard, err);
	if (r == 0 && !opts->no_emulation && vk_emulation_wanted(t) &&
	    vk_supervisor_prepare(c.static_tree ? NULL : c.mnt, &g_sup, &g_sup_fd, &ce) < 0)
		fprintf(stderr, "fakesys run: VFIO emulation is off: %s\n", ce.msg);
	if (r == 0) {
		r = run_command(&c, argv, opts, &mask, &st, &guard, err);
		vk_supervisor_stop(g_sup);
		g_sup = NULL;
		/* the namespace is gone with its last process: the server ends */
		int r2 = run_guard_stop(&c, &guard, r < 0 ? NULL : &ce);
		if (r == 0 && r2 < 0) {
			r = r2;
			if (err)
				*err = ce;
		}
	}
	int r3 = run_remove_workdir(&c, r < 0 ? NULL : &ce);
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
