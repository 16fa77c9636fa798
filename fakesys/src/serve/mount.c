/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* (see serve/server.h for how the server's files divide the work) */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "vk_cleanup.h"
#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_tree.h>

#include "serve/server.h"

/* ---- mounting ----------------------------------------------------------- */

/* libfuse reports through its log function; keep the last message for vk_error. */
static char fuse_last_msg[512];
/* -d: libfuse's trace of every request ("unique: 4, opcode: LOOKUP (1), ...",
 * logged at FUSE_LOG_DEBUG when the session has its debug option) goes to
 * stderr as well. */
static bool fuse_debug;

static void __attribute__((format(printf, 2, 0))) capture_fuse_log(enum fuse_log_level level, const char *fmt,
                                                                   va_list ap)
{
	if (fuse_debug) {
		va_list aq;
		va_copy(aq, ap);
		vfprintf(stderr, fmt, aq);
		va_end(aq);
	}
	if (level > FUSE_LOG_ERR)
		return;
	vsnprintf(fuse_last_msg, sizeof(fuse_last_msg), fmt, ap);
	size_t n = strlen(fuse_last_msg);
	while (n && fuse_last_msg[n - 1] == '\n')
		fuse_last_msg[--n] = '\0';
}

void srv_notifier_stop(struct fs *fs)
{
	if (!fs->notifier_on)
		return;
	pthread_mutex_lock(&fs->nq_mu);
	fs->srv_notifier_stop = true;
	pthread_cond_signal(&fs->nq_cond);
	pthread_mutex_unlock(&fs->nq_mu);
	pthread_join(fs->notifier, NULL);
	fs->notifier_on = false;
}

static void fs_destroy(struct fs *fs)
{
	srv_notifier_stop(fs);
	for (size_t i = 0; i < fs->nq_n; i++) {
		for (size_t k = 0; k < fs->nq[i].n; k++)
			free(fs->nq[i].v[k].name);
		free(fs->nq[i].v);
	}
	free(fs->nq);
	pthread_mutex_destroy(&fs->nq_mu);
	pthread_cond_destroy(&fs->nq_cond);
	srv_snap_free(&fs->cur);
	fault_table_destroy(&fs->faults);
	if (fs->have_log)
		access_log_close(&fs->log);
	for (size_t i = 0; i < fs->n_ovr; i++) {
		free(fs->ovr[i].path);
		free(fs->ovr[i].value);
	}
	free(fs->ovr);
	free(fs->changed);
	free(fs->paged);
	vk_vtree_free(fs->last_after);
	free(fs->last_result);
	while (fs->open_list)
		srv_open_handle_free(fs, fs->open_list);
	pthread_mutex_destroy(&fs->open_mu);
	pthread_rwlock_destroy(&fs->lock);
	pthread_mutex_destroy(&fs->model_mu);
	pthread_mutex_destroy(&fs->ctl_mu);
	srv_delays_destroy(fs);
	memset(fs, 0, sizeof(*fs));
}

/*
 * What a mount whose opens the kernel makes itself cannot serve (see
 * vk_fakesys_mount_opts.kernel_opens): an access log, and a fault or step on
 * an operation that stops reaching the server once the kernel caches it.
 */
static int kernel_opens_refused(const struct vk_fakesys_mount_opts *o, struct vk_error *err)
{
	const unsigned unseen = VK_FAKESYS_OP_OPEN | VK_FAKESYS_OP_READ | VK_FAKESYS_OP_READDIR;

	if (o->log)
		return vk_error_set(err, EINVAL, "mount: the access log needs every open: not with kernel opens");
	for (size_t i = 0; i < o->n_faults + o->n_steps; i++) {
		const struct vk_fakesys_fault *f = i < o->n_faults ? &o->faults[i] : &o->steps[i - o->n_faults];
		if (!(f->ops & unseen))
			continue;
		return vk_error_set(err, EINVAL,
		                    "mount: the %s on %s (line %u) matches opens, reads or listings, which the "
		                    "server does not see with kernel opens",
		                    f->step ? "step" : "fault", f->path, f->line);
	}
	return 0;
}

bool vk_fakesys_mount_is_live(const struct vk_fakesys_mount_opts *o)
{
	return o && (o->serve_opens || o->log || o->n_faults || o->n_steps);
}

static int fs_init(struct fs *fs, struct vtree *t, const struct vk_fakesys_mount_opts *o, struct vk_error *err)
{
	int r;

	memset(fs, 0, sizeof(*fs));
	pthread_rwlock_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->model_mu, NULL);
	pthread_mutex_init(&fs->ctl_mu, NULL);
	pthread_mutex_init(&fs->open_mu, NULL);
	pthread_mutex_init(&fs->nq_mu, NULL);
	pthread_cond_init(&fs->nq_cond, NULL);
	if (srv_delays_init(fs) < 0)
		return vk_error_set(err, ENOMEM, "mount: out of memory");
	fault_table_init(&fs->faults);
	fs->live = vk_fakesys_mount_is_live(o);
	/* a server that is not live never changes the tree: no model to keep */
	fs->model = fs->live ? o->model : NULL;
	fs->owner = geteuid();
	fs->owner_gid = getegid();
	fs->log_lookups = o->log && o->log_lookups;
	fs->kernel_opens = o->kernel_opens;
	if (fs->kernel_opens && (r = kernel_opens_refused(o, err)) < 0)
		return r;
	clock_gettime(CLOCK_REALTIME, &fs->mounted);
	if (srv_snap_make(&fs->cur, t, false) < 0 || srv_paged_reserve(fs, vk_vtree_max_ino(t)) < 0)
		return vk_error_set(err, ENOMEM, "mount: out of memory");
	for (size_t i = 0; i < o->n_faults; i++)
		if (fault_table_add(&fs->faults, &o->faults[i]) < 0)
			return vk_error_set(err, ENOMEM, "mount: out of memory");
	for (size_t i = 0; i < o->n_steps; i++)
		if (fault_table_add(&fs->faults, &o->steps[i]) < 0)
			return vk_error_set(err, ENOMEM, "mount: out of memory");
	fault_table_expand(&fs->faults, srv_expand_pattern, t);
	if (o->log) {
		r = access_log_open(&fs->log, o->log);
		if (r < 0)
			return vk_error_set(err, r, "access log %s: %s", o->log,
			                    r == -EINVAL ? "not a regular file" : strerror(-r));
		fs->have_log = true;
	}
	return 0;
}

/* Validate @mountpoint and write its real path into @real. */
static int check_mountpoint(const char *mountpoint, char *real, struct vk_error *err)
{
	struct stat st;

	if (!realpath(mountpoint, real))
		return vk_error_set(err, errno, "mount %s: %s", mountpoint, strerror(errno));
	if (vk_fakesys_path_forbidden(real))
		return vk_error_set(err, EPERM,
		                    "mount %s: refusing to mount on %s: fakesys never mounts on /, /sys, /dev, /proc "
		                    "or below them; give an empty scratch directory",
		                    mountpoint, real);
	if (stat(real, &st) < 0)
		return vk_error_set(err, errno, "mount %s: %s", mountpoint, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return vk_error_set(err, ENOTDIR, "mount %s: not a directory", mountpoint);
	_cleanup_closedir_ DIR *d = opendir(real);
	if (!d)
		return vk_error_set(err, errno, "mount %s: %s", mountpoint, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			return vk_error_set(err, ENOTEMPTY, "mount %s: mountpoint is not empty", mountpoint);
	return 0;
}

static int write_pidfile(const char *path, struct vk_error *err)
{
	/* A blocking open on purpose: fakesys run hands its server a FIFO here and
	 * reads it once the mount is up.  A user's --pidfile is checked by the CLI
	 * (a regular file or nothing), before anything is mounted. */
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return vk_error_set(err, errno ? errno : EIO, "pidfile %s: %s", path, strerror(errno ? errno : EIO));
	return 0;
}

struct server {
	struct fs fs;
	struct fuse_session *se;
	bool signals;
	bool mounted;
};

static void server_close(struct server *s)
{
	srv_notifier_stop(&s->fs); /* it sends through the session */
	srv_delays_stop(&s->fs);
	if (s->signals)
		srv_signals_remove(&s->fs);
	if (s->mounted)
		fuse_session_unmount(s->se);
	if (s->se)
		fuse_session_destroy(s->se);
	fs_destroy(&s->fs);
	memset(s, 0, sizeof(*s));
}

/* Create the session and mount it at @real (an absolute checked path). */
static int server_open(struct server *s, struct vtree *t, const char *real, const struct vk_fakesys_mount_opts *o,
                       struct vk_error *err)
{
	char opts[256];
	int r = fs_init(&s->fs, t, o, err);

	if (r < 0)
		goto fail;
	if (o->read_only && s->fs.live) {
		r = vk_error_set(err, EINVAL,
		                 "mount %s: a read-only mount cannot be live (--live, --log, faults or steps need writes)",
		                 real);
		goto fail;
	}
	/* ro: see fakesys_mount_opts.read_only (why a reader wants it) */
	snprintf(opts, sizeof(opts), "fsname=fakesys:%d,subtype=fakesys,default_permissions,auto_unmount%s%s",
	         (int)getpid(), geteuid() == 0 ? ",allow_other" : "", o->read_only ? ",ro" : "");
	char *argv[] = {"fakesys", "-o", opts, o->debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 4 : 3, argv);

	fuse_last_msg[0] = '\0';
	fuse_debug = o->debug;
	fuse_set_log_func(capture_fuse_log);
	s->se = fuse_session_new(&args, &srv_fs_ops, sizeof(srv_fs_ops), &s->fs);
	fuse_opt_free_args(&args);
	s->fs.se = s->se;
	if (!s->se) {
		r = vk_error_set(err, EIO, "mount %s: cannot start a FUSE session: %s", real,
		                 fuse_last_msg[0] ? fuse_last_msg : "unknown libfuse error");
		goto fail;
	}
	if ((r = srv_signals_install(&s->fs, s->se)) < 0) {
		r = vk_error_set(err, -r, "mount %s: cannot install signal handlers: %s", real, strerror(-r));
		goto fail;
	}
	s->signals = true;
	if (fuse_session_mount(s->se, real) < 0) {
		r = vk_error_set(err, EIO, "mount %s: %s", real,
		                 fuse_last_msg[0] ? fuse_last_msg : "the FUSE mount failed (is /dev/fuse usable?)");
		goto fail;
	}
	s->mounted = true;
	if ((r = srv_signals_start(&s->fs)) < 0) {
		r = vk_error_set(err, -r, "mount %s: cannot start the signal thread: %s", real, strerror(-r));
		goto fail;
	}
	/* Every live mount: an invalidation a handler sends while the kernel
	 * holds a page lock for its request (a step, a readlink fault added at
	 * run time, a write through the page cache with kernel opens) must go
	 * out from another thread, after the reply. */
	if (s->fs.live) {
		if (pthread_create(&s->fs.notifier, NULL, srv_notifier_main, &s->fs) != 0) {
			r = vk_error_set(err, EAGAIN, "mount %s: cannot start the notifier thread", real);
			goto fail;
		}
		s->fs.notifier_on = true;
	}
	return 0;
fail:
	server_close(s);
	return r;
}

static int server_loop(struct server *s)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();

	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_idle_threads(cfg, 4);
	int r = fuse_session_loop_mt(s->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return r;
}

/*
 * The stale-mount watchdog of a daemon.  auto_unmount's fusermount3 helper
 * unmounts a dead server's mount only when open() of the mountpoint fails
 * with ENOTCONN; in the fast mode (FUSE_CAP_NO_OPENDIR_SUPPORT) that open
 * never reaches the server and succeeds, so a SIGKILLed daemon would leave a
 * stale mount.  This child holds only the read end of a pipe whose write end
 * the daemon keeps: at EOF (the daemon ended, however) it detaches the mount
 * at @real if it is still this daemon's (source fakesys:<pid>).  Forked after
 * threads may exist: raw system calls only.
 */
static void watchdog_start(const char *real)
{
	int p[2];
	pid_t server = getpid();

	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid_t w = fork();
	if (w != 0) {
		close(p[0]); /* the daemon keeps p[1] open until it ends */
		return;
	}
	/* no /dev/fuse or other FD of the daemon: the connection must die with it */
	if (p[0] != 3 && dup3(p[0], 3, O_CLOEXEC) < 0)
		_exit(0);
	close_range(4, ~0U, 0);
	struct sigaction sa = {.sa_handler = SIG_DFL};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	char c;
	while (read(3, &c, 1) < 0 && errno == EINTR)
		;
	/* " <real> " ... " - fuse.fakesys fakesys:<server> " on one mountinfo line */
	static char buf[1 << 18];
	char want[PATH_MAX + 4], src[64];
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, r;
	if (fd < 0)
		_exit(0);
	while (n < (ssize_t)sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), " %s ", real);
	snprintf(src, sizeof(src), " - fuse.fakesys fakesys:%d ", (int)server);
	bool ours = false;
	for (char *line = buf; line && *line && !ours;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *m = strstr(line, want);
		ours = m && strstr(m, src);
		line = nl ? nl + 1 : NULL;
	}
	if (!ours)
		_exit(0);
	if (geteuid() == 0 && umount2(real, MNT_DETACH) == 0)
		_exit(0);
	char *argv[] = {"fusermount3", "-u", "-z", "-q", "--", (char *)real, NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	execve("/usr/bin/fusermount3", argv, envp);
	execve("/bin/fusermount3", argv, envp);
	_exit(0);
}

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/*
 * A daemon ends with _exit(), which skips LeakSanitizer's check at exit: in a
 * sanitizer build, run it here (its report goes to the daemon's stderr, see
 * FAKESYS_DAEMON_STDERR).  LeakSanitizer reports only what nothing reachable
 * points to, and the caller's frames below daemon_main() still hold the model
 * and the tree (fakesys mount's locals): so everything is freed first, or
 * whatever the live mode lost out of the model (issue #14.4: a removed
 * device's resources, still pointed to from the model's device array) would
 * pass as reachable.
 */
static void daemon_leak_check(void)
{
#ifdef HAVE_LSAN
	__lsan_do_recoverable_leak_check();
#endif
}

static int mount_foreground(struct vtree *t, const char *real, const struct vk_fakesys_mount_opts *o,
                            struct vk_error *err)
{
	struct server s = {0};
	int r = server_open(&s, t, real, o, err);

	if (r < 0)
		return r;
	if (o->pidfile && (r = write_pidfile(o->pidfile, err)) < 0) {
		server_close(&s);
		return r;
	}
	r = server_loop(&s);
	server_close(&s);
	if (o->pidfile)
		unlink(o->pidfile);
	if (r < 0)
		return vk_error_set(err, r, "serving %s: %s", real, strerror(-r));
	return 0;
}

/* The daemon's half: mount, report through @report_fd, serve, end. */
static __attribute__((noreturn)) void daemon_main(struct vtree *t, const char *real,
                                                  const struct vk_fakesys_mount_opts *o, int report_fd)
{
	struct vk_error e = {0};
	struct server s = {0};
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* The daemon is ours: two malloc arenas for all worker threads keep a
	 * long-running live mount's memory flat (with malloc_trim after each
	 * rebuild) instead of one arena per thread each holding freed trees. */
	mallopt(M_ARENA_MAX, 2);

	/* Before mounting: the fusermount3 helper that auto_unmount leaves
	 * running inherits our stdio, and must not hold the caller's pipes. */
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		/* For sanitizer builds: where the daemon's own reports go. */
		const char *dbg = getenv("FAKESYS_DAEMON_STDERR");
		int dfd = dbg ? open(dbg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
		if (dfd >= 0) {
			dup2(dfd, 2);
			close(dfd);
		}
		close(devnull);
	}
	/* The daemon's copy (fork) of a model no server that is not live reads:
	 * gone before serving, and with it every freed page it inherited (the
	 * caller's parse) handed back, since its RSS is the mount's cost. */
	struct vk_host_model *model = o->model;
	if (model && !vk_fakesys_mount_is_live(o)) {
		vk_host_model_free(model);
		model = NULL;
	}
	malloc_trim(0);
	int r = server_open(&s, t, real, o, &e);
	if (r == 0 && o->pidfile && (r = write_pidfile(o->pidfile, &e)) < 0)
		server_close(&s);
	if (chdir("/") < 0) { /* not keep the caller's directory busy */
	}
	if (write(report_fd, &e, sizeof(e)) != (ssize_t)sizeof(e) && r == 0) {
		/* the caller is gone; serve anyway, it asked for a daemon */
	}
	close(report_fd);
	if (r < 0)
		_exit(1);
	watchdog_start(real);
	server_loop(&s);
	server_close(&s);
	if (o->pidfile)
		unlink(o->pidfile);
	/* the daemon's copies (fork): nothing returns to the caller's frames */
	vk_host_model_free(model);
	vk_vtree_free(t);
	daemon_leak_check();
	_exit(0);
}

static int mount_background(struct vtree *t, const char *real, const struct vk_fakesys_mount_opts *o,
                            struct vk_error *err)
{
	int p[2];
	struct vk_error e = {0};

	if (pipe2(p, O_CLOEXEC) < 0)
		return vk_error_set(err, errno, "mount %s: pipe: %s", real, strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int x = errno;
		close(p[0]);
		close(p[1]);
		return vk_error_set(err, x, "mount %s: fork: %s", real, strerror(x));
	}
	if (pid == 0) {
		/* Double fork: the daemon is nobody's child, so no caller has to
		 * reap it, and it leaves the caller's session. */
		close(p[0]);
		setsid();
		pid_t d = fork();
		if (d == 0)
			daemon_main(t, real, o, p[1]);
		_exit(d < 0 ? 1 : 0);
	}
	close(p[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ssize_t n;
	do
		n = read(p[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n != (ssize_t)sizeof(e))
		return vk_error_set(err, EIO, "mount %s: the server exited before the mount was ready", real);
	if (e.code) {
		if (err)
			*err = e;
		return -e.code;
	}
	return 0;
}

int vk_fakesys_mount(struct vtree *t, const char *mountpoint, const struct vk_fakesys_mount_opts *o,
                     struct vk_error *err)
{
	static const struct vk_fakesys_mount_opts defaults = {0};
	char real[PATH_MAX], pidfile[PATH_MAX], logfile[PATH_MAX];
	struct vk_fakesys_mount_opts opts = o ? *o : defaults;
	int r = check_mountpoint(mountpoint, real, err);

	if (r < 0)
		return r;
	/* a step's commands (unbind, write ...) act on the model */
	if (opts.n_steps && !opts.model)
		return vk_error_set(err, EINVAL, "mount %s: steps need the host model they change (mount options' model)",
		                    real);
	/* the daemon changes to /, so a relative pidfile must be made absolute */
	if (opts.log && opts.log[0] != '/') {
		if (!realpath(".", logfile) || strlen(logfile) + strlen(opts.log) + 2 > sizeof(logfile))
			return vk_error_set(err, ENAMETOOLONG, "log %s: cannot make it absolute", opts.log);
		strcat(strcat(logfile, "/"), opts.log);
		opts.log = logfile;
	}
	if (opts.pidfile && opts.pidfile[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(pidfile, sizeof(pidfile), "%s/%s", cwd, opts.pidfile) >= (int)sizeof(pidfile))
			return vk_error_set(err, ENAMETOOLONG, "pidfile %s: cannot make it absolute", opts.pidfile);
		opts.pidfile = pidfile;
	}
	/* refused before anything is mounted: a FIFO there would block, and a
	 * mount made first would stay behind */
	if (opts.log && output_file_check(opts.log) < 0)
		return vk_error_set(err, EINVAL, "access log %s: not a regular file", opts.log);
	if (opts.foreground)
		return mount_foreground(t, real, &opts, err);
	return mount_background(t, real, &opts, err);
}
