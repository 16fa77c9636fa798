/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unmounting a fakesys mount (vk_fakesys_umount()): find the mount, make sure
 * the server it names is its server before anything is sent to it, tell it an
 * unmount is coming (its delays end), unmount — waiting a bounded time while
 * the mount is in use, then naming who uses it — or detach it lazily, and
 * wait for the server to exit on a pidfd instead of polling (issue #17).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "vk_cleanup.h"
#include <vfiokit/fakesys_serve.h>

#include "serve/server.h"

/* What /proc/self/mountinfo says of the topmost mount at a path. */
struct mnt_info {
	char real[PATH_MAX];
	char fstype[64];
	char source[256];
	long user_id; /* FUSE's user_id= super option: the uid that mounted it; -1 unknown */
};

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_mountinfo(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* The user_id=N of a FUSE mount's super options, or -1. */
static long super_user_id(const char *opts)
{
	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (!strncmp(p, "user_id=", 8)) {
			char *end;
			long v = strtol(p + 8, &end, 10);
			return end > p + 8 && (*end == ',' || !*end) && v >= 0 ? v : -1;
		}
	}
	return -1;
}

/*
 * Find the topmost mount at mi->real in /proc/self/mountinfo (fields: id,
 * parent, dev, root, mount point, options, optional fields, "-", fstype,
 * source, super options).  Returns 1 with @mi filled, 0 when nothing is
 * mounted there, or -errno.
 */
static int find_mount(struct mnt_info *mi)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *fields[5], *tok;
		int i;
		for (i = 0; i < 5; i++)
			if (!(fields[i] = strtok_r(i ? NULL : line, " \n", &save)))
				break;
		if (i < 5)
			continue;
		unescape_mountinfo(fields[4]);
		if (strcmp(fields[4], mi->real))
			continue;
		while ((tok = strtok_r(NULL, " \n", &save)) && strcmp(tok, "-"))
			;
		char *type = strtok_r(NULL, " \n", &save);
		char *src = strtok_r(NULL, " \n", &save);
		char *sopts = strtok_r(NULL, " \n", &save);
		if (!type || !src)
			continue;
		snprintf(mi->fstype, sizeof(mi->fstype), "%s", type);
		snprintf(mi->source, sizeof(mi->source), "%s", src);
		mi->user_id = super_user_id(sopts);
		found = 1; /* keep going: the last one is on top */
	}
	return found;
}

/* The real path of a mountpoint without entering it (a dead server answers
 * ENOTCONN): realpath of the parent plus the last component. */
static int mountpoint_path(const char *mp, char *real)
{
	char tmp[PATH_MAX], parent[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", mp) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	size_t n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	char *slash = strrchr(tmp, '/');
	const char *base = slash ? slash + 1 : tmp;
	if (!slash) {
		if (!realpath(".", parent))
			return -errno;
	} else {
		*slash = '\0';
		if (!realpath(slash == tmp ? "/" : tmp, parent))
			return -errno;
	}
	if (!strcmp(base, ".") || !strcmp(base, "..") || !*base)
		return realpath(mp, real) ? 0 : -errno;
	if (snprintf(real, PATH_MAX, "%s/%s", strcmp(parent, "/") ? parent : "", base) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* The fakesys mount at @mp into @mi: 0, or -errno (EINVAL: not one). */
static int lookup_fakesys_mount(const char *mp, struct mnt_info *mi, struct vk_error *err)
{
	int r = mountpoint_path(mp, mi->real);

	if (r < 0)
		return vk_error_set(err, r, "umount %s: %s", mp, strerror(-r));
	r = find_mount(mi);
	if (r < 0)
		return vk_error_set(err, r, "umount %s: reading /proc/self/mountinfo: %s", mp, strerror(-r));
	if (r == 0)
		return vk_error_set(err, EINVAL, "umount %s: nothing is mounted there", mp);
	if (strcmp(mi->fstype, "fuse.fakesys"))
		return vk_error_set(err, EINVAL, "umount %s: not a fakesys mount (it is %s); refusing to unmount it", mp,
		                    mi->fstype);
	return 0;
}

/* ---- the server, verified ------------------------------------------------- */

/*
 * The server a mount names in its source ("fakesys:<pid>") is anyone's word:
 * any user may make a FUSE mount of type fuse.fakesys with any source.  So
 * before root signals or waits on that PID, it must be the mount's server:
 * alive, running as the uid that made the mount (FUSE's user_id=, which the
 * kernel and fusermount3 set from the mounter), and holding /dev/fuse open.
 * A PID that passes can only be a FUSE server of the same user, who could
 * signal it anyway.  With a pidfd the process checked is the one signalled
 * and waited on, even if the PID is reused meanwhile.
 */
struct server_ref {
	pid_t pid;
	int pidfd; /* -1: the kernel has no pidfd_open() (before 5.3) */
	bool verified;
	char why[200]; /* when not verified */
};

/* The real uid of @pid from /proc/PID/status, or -1. */
static long proc_uid(pid_t pid)
{
	char path[64], line[256];
	long uid = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid: %ld", &uid) == 1)
			break;
	return uid;
}

/* Whether @pid has /dev/fuse open. */
static bool holds_dev_fuse(pid_t pid)
{
	char dir[64], path[64 + 256], target[64];

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n == 9 && !memcmp(target, "/dev/fuse", 9))
			return true;
	}
	return false;
}

static void server_verify(const struct mnt_info *mi, struct server_ref *s)
{
	char *end;
	long pid = strncmp(mi->source, "fakesys:", 8) ? 0 : strtol(mi->source + 8, &end, 10);

	*s = (struct server_ref){.pidfd = -1};
	if (pid <= 0 || pid > INT_MAX || *end) {
		snprintf(s->why, sizeof(s->why), "its source '%.64s' names no server", mi->source);
		return;
	}
	s->pid = (pid_t)pid;
	s->pidfd = pidfd_open(s->pid, 0);
	if (s->pidfd < 0 && errno != ENOSYS) {
		snprintf(s->why, sizeof(s->why), "its server (pid %ld) is gone", pid);
		return;
	}
	long uid = proc_uid(s->pid);
	if (mi->user_id < 0 || uid != mi->user_id) {
		snprintf(s->why, sizeof(s->why), "pid %ld runs as uid %ld, the mount was made by uid %ld", pid, uid,
		         mi->user_id);
		return;
	}
	if (!holds_dev_fuse(s->pid)) {
		snprintf(s->why, sizeof(s->why), "pid %ld holds no /dev/fuse: not a FUSE server", pid);
		return;
	}
	/* the process just read from /proc is still the one of the pidfd */
	if (s->pidfd >= 0 && pidfd_send_signal(s->pidfd, 0, NULL, 0) < 0) {
		snprintf(s->why, sizeof(s->why), "its server (pid %ld) exited meanwhile", pid);
		return;
	}
	s->verified = true;
}

static void server_release(struct server_ref *s)
{
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
}

static void server_signal(struct server_ref *s, int sig)
{
	if (!s->verified)
		return;
	if (s->pidfd >= 0)
		pidfd_send_signal(s->pidfd, sig, NULL, 0);
	else
		kill(s->pid, sig);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Alive and not a zombie (a container's init may be slow to reap). */
static bool process_alive(pid_t pid)
{
	char path[64], buf[512];

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	char *paren = strrchr(buf, ')');
	return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

/* Wait up to @ms for the verified server to exit: true when it did.  A pidfd
 * turns readable when its process exits (zombie or reaped), so no polling. */
static bool server_wait(struct server_ref *s, int ms)
{
	long long end = now_ms() + (ms > 0 ? ms : 0);

	if (!s->verified)
		return false;
	if (s->pidfd >= 0) {
		for (;;) {
			struct pollfd p = {.fd = s->pidfd, .events = POLLIN};
			long long left = end - now_ms();
			int n = poll(&p, 1, left > 0 ? (int)left : 0);
			if (n > 0)
				return true;
			if (n == 0 || errno != EINTR)
				return false;
		}
	}
	/* no pidfd: back off from 1 ms to 50 ms */
	for (int step = 1;; step = step < 50 ? step * 2 : 50) {
		if (!process_alive(s->pid))
			return true;
		long long left = end - now_ms();
		if (left <= 0)
			return false;
		poll(NULL, 0, (int)(left < step ? left : step));
	}
}

/* ---- who uses the mount ---------------------------------------------------- */

/* Whether the link at @path points under @real. */
static bool link_under(const char *path, const char *real)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	size_t len = strlen(real);

	if (n <= 0)
		return false;
	target[n] = '\0';
	return !strncmp(target, real, len) && (target[len] == '\0' || target[len] == '/');
}

/* What of process @pid is under @real: "cwd", "root", "fd N", "mmap", or NULL. */
static const char *process_use(const char *pid, const char *real, char *what, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/proc/%s/cwd", pid);
	if (link_under(path, real))
		return "cwd";
	snprintf(path, sizeof(path), "/proc/%s/root", pid);
	if (link_under(path, real))
		return "root";
	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	_cleanup_closedir_ DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd/%s", pid, e->d_name);
		if (link_under(path, real)) {
			snprintf(what, len, "fd %.16s", e->d_name);
			return what;
		}
	}
	/* a mapped file: the path is the last field of a maps line */
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, rl = strlen(real);
	while (f && getline(&line, &cap, f) > 0) {
		char *p = strchr(line, '/');
		if (p && !strncmp(p, real, rl) && (p[rl] == '/' || p[rl] == '\n'))
			return "mmap";
	}
	return NULL;
}

/* "PID (comm): what" of every process (but this one) using something under
 * @real, comma-separated into @out; "" when none was found (a process
 * between two system calls in the mount holds it without any of these). */
static void find_holders(const char *real, char *out, size_t len)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *e;
	size_t w = 0, shown = 0, more = 0;
	char self[16];

	out[0] = '\0';
	snprintf(self, sizeof(self), "%d", (int)getpid());
	while (d && (e = readdir(d))) {
		char what[64], comm[64] = "?", path[64 + 256];
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || !strcmp(e->d_name, self))
			continue;
		const char *use = process_use(e->d_name, real, what, sizeof(what));
		if (!use)
			continue;
		if (shown == 8) {
			more++;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		if (f && fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		int n = snprintf(out + w, len - w, "%s%s (%s): %s", shown ? ", " : "", e->d_name, comm, use);
		if (n < 0 || (size_t)n >= len - w)
			break;
		w += (size_t)n;
		shown++;
	}
	if (more && w < len)
		snprintf(out + w, len - w, " and %zu more", more);
}

/* ---- unmounting ------------------------------------------------------------ */

/* fusermount3 -u [-z] @real; its message goes to @msg.  Returns 0, -EBUSY,
 * -EPERM (not the mounter's), or -EIO. */
static int run_fusermount(const char *real, bool lazy, char *msg, size_t len)
{
	char *argv_lazy[] = {"fusermount3", "-u", "-z", "--", (char *)real, NULL};
	char *argv_now[] = {"fusermount3", "-u", "--", (char *)real, NULL};
	char **argv = lazy ? argv_lazy : argv_now;
	posix_spawn_file_actions_t fa;
	int p[2], status;
	pid_t pid;

	msg[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	int r = posix_spawnp(&pid, "fusermount3", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r) {
		close(p[0]);
		snprintf(msg, len, "cannot run fusermount3: %s", strerror(r));
		return -r;
	}
	size_t n = 0;
	ssize_t k;
	while (n < len - 1 && ((k = read(p[0], msg + n, len - 1 - n)) > 0 || (k < 0 && errno == EINTR)))
		n += k > 0 ? (size_t)k : 0;
	msg[n] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (strstr(msg, "Device or resource busy"))
		return -EBUSY;
	if (strstr(msg, "not permitted") || strstr(msg, "ermission denied") || strstr(msg, "not found in"))
		return -EPERM;
	return -EIO;
}

/* One attempt: 0, -EBUSY, or another -errno with the reason in @err. */
static int unmount_once(const char *mp, const struct mnt_info *mi, bool lazy, struct vk_error *err)
{
	if (geteuid() == 0) {
		if (umount2(mi->real, UMOUNT_NOFOLLOW | (lazy ? MNT_DETACH : 0)) == 0)
			return 0;
		return errno == EBUSY ? -EBUSY : vk_error_set(err, errno, "umount %s: %s", mp, strerror(errno));
	}
	char msg[512];
	int r = run_fusermount(mi->real, lazy, msg, sizeof(msg));
	if (r == 0 || r == -EBUSY)
		return r;
	if (r == -EPERM)
		return vk_error_set(err, EPERM, "umount %s: not permitted: the mount was made by uid %ld, not %d (%s)", mp,
		                    mi->user_id, (int)getuid(), msg[0] ? msg : "fusermount3 refused");
	return vk_error_set(err, -r, "umount %s: fusermount3 -u failed: %s", mp, msg[0] ? msg : strerror(-r));
}

/* Unmount, retrying while busy until @deadline (backing off 2 ms to 100 ms). */
static int unmount_waiting(const char *mp, const struct mnt_info *mi, long long deadline, struct vk_error *err)
{
	for (int step = 2;; step = step < 100 ? step * 2 : 100) {
		int r = unmount_once(mp, mi, false, err);
		if (r != -EBUSY)
			return r;
		long long left = deadline - now_ms();
		if (left <= 0)
			return r;
		poll(NULL, 0, (int)(left < step ? left : step));
	}
}

int vk_fakesys_umount_with(const char *mountpoint, const struct vk_fakesys_umount_opts *o, struct vk_error *err)
{
	int timeout = !o || !o->timeout_ms ? VK_FAKESYS_UMOUNT_TIMEOUT_MS : o->timeout_ms < 0 ? 0
	                                                                                      : o->timeout_ms;
	bool lazy = o && o->lazy;
	struct mnt_info mi = {.user_id = -1};
	struct server_ref s;
	char holders[1024] = "";
	int r = lookup_fakesys_mount(mountpoint, &mi, err);

	if (r < 0)
		return r;
	if (geteuid() != 0 && mi.user_id >= 0 && mi.user_id != (long)getuid())
		return vk_error_set(err, EPERM,
		                    "umount %s: not permitted: the mount was made by uid %ld (only that user or root may "
		                    "unmount it)",
		                    mountpoint, mi.user_id);
	server_verify(&mi, &s);
	if (s.verified && s.pid == getpid())
		s.verified = false; /* served by this very process: nothing to tell or wait for */
	/* an unmount is coming: the server ends the delays it serves (a client
	 * waiting in one would keep the mount busy) and delays nothing more */
	server_signal(&s, SIGUSR1);
	if (lazy) {
		find_holders(mi.real, holders, sizeof(holders)); /* their paths change once detached */
		r = unmount_once(mountpoint, &mi, true, err);
	} else {
		r = unmount_waiting(mountpoint, &mi, now_ms() + timeout, err);
		if (r == -EBUSY) {
			find_holders(mi.real, holders, sizeof(holders));
			r = vk_error_set(err, EBUSY, "umount %s: still in use after %d ms%s%s; close what uses it, or "
			                             "detach it now with --lazy",
			                 mountpoint, timeout, holders[0] ? " by " : "", holders);
		}
	}
	if (r < 0 || !s.verified) {
		server_release(&s);
		return r;
	}
	bool gone = server_wait(&s, timeout);
	server_release(&s);
	if (gone)
		return 0;
	if (lazy) { /* not an error: what --lazy is for */
		if (err) {
			err->code = 0;
			/* cut to the message's room; the holders are the part that may not fit */
			int k = snprintf(err->msg, sizeof(err->msg),
			                 "umount %s: detached; its server (pid %d) serves on until the last user closes",
			                 mountpoint, (int)s.pid);
			if (holders[0] && k > 0 && (size_t)k + 3 < sizeof(err->msg)) {
				size_t room = sizeof(err->msg) - (size_t)k;
				int keep = (int)(room - 3);
				memcpy(err->msg + k, ": ", 2);
				memcpy(err->msg + k + 2, holders, strnlen(holders, (size_t)keep));
				err->msg[k + 2 + (int)strnlen(holders, (size_t)keep)] = '\0';
			}
		}
		return 1;
	}
	return vk_error_set(err, ETIMEDOUT, "umount %s: unmounted, but the server (pid %d) did not exit within %d ms",
	                    mountpoint, (int)s.pid, timeout);
}

int vk_fakesys_umount(const char *mountpoint, struct vk_error *err)
{
	return vk_fakesys_umount_with(mountpoint, NULL, err);
}

int vk_fakesys_mount_pid(const char *mountpoint)
{
	struct mnt_info mi = {.user_id = -1};
	struct server_ref s;
	int r = lookup_fakesys_mount(mountpoint, &mi, NULL);

	if (r < 0)
		return r;
	server_verify(&mi, &s);
	server_release(&s);
	return s.verified ? (int)s.pid : 0;
}
