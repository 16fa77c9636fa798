/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys run` and `fakesys test` as an ordinary user: the caller becomes
 * root of a user namespace of its own (with a mount namespace it owns), as
 * `unshare --user --map-root-user --map-auto` makes it.  A scenario models a
 * root's host: root-owned 0600 device nodes, users such as qemu (uid 107)
 * that a scenario's client runs as; the FUSE mount needs CAP_SYS_ADMIN over
 * the mount namespace (FUSE is FS_USERNS_MOUNT since 4.18).  The subordinate
 * ids of /etc/subuid and /etc/subgid are mapped above 0 through the set-uid
 * helpers newuidmap(1)/newgidmap(1) (shadow-utils; the kernel lets an
 * unprivileged process map only its own id, user_namespaces(7)), so uid 107
 * exists; without them only the caller's own ids are mapped (as 0).
 * Nothing outside the namespace changes: the caller gains no privilege over
 * anything the real host has (docs/architecture.md, "Running unprivileged").
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/fakesys_run.h>

extern char **environ;

/* The caller's range in /etc/subuid or /etc/subgid ("name:start:count" or
 * "id:start:count"; the first matching line, as newuidmap takes any). */
static bool subid_range(const char *file, const char *name, unsigned long id, unsigned long *start,
                        unsigned long *count)
{
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	char line[512], who[256];

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255[^:]:%lu:%lu", who, start, count) != 3 || !*count)
			continue;
		char *end;
		unsigned long n = strtoul(who, &end, 10);
		if ((name && !strcmp(who, name)) || (!*end && end != who && n == id))
			return true;
	}
	return false;
}

static int write_file(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(s);

	if (fd < 0)
		return -errno;
	return write(fd, s, n) == (ssize_t)n ? 0 : -errno;
}

/* Run newuidmap/newgidmap PROG PID 0 ID 1 1 START COUNT; true when it did. */
static bool run_map_helper(const char *prog, pid_t pid, unsigned long id, unsigned long start, unsigned long count)
{
	char a[5][24];
	char *argv[] = {(char *)prog, a[0], "0", a[1], "1", "1", a[2], a[3], NULL};
	pid_t p;
	int ws;

	snprintf(a[0], sizeof(a[0]), "%d", (int)pid);
	snprintf(a[1], sizeof(a[1]), "%lu", id);
	snprintf(a[2], sizeof(a[2]), "%lu", start);
	snprintf(a[3], sizeof(a[3]), "%lu", count);
	if (posix_spawnp(&p, prog, NULL, NULL, argv, environ) != 0)
		return false;
	while (waitpid(p, &ws, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

/*
 * A helper process that maps the caller's new namespace with the subordinate
 * ids: it must run outside the namespace (a set-uid program exec'd inside
 * would not get its owner's privilege, as root is not mapped there), so it is
 * forked before unshare() and told to start through a pipe.  Exits 0 when both
 * maps were written.
 */
static pid_t start_mapper(int *go, uid_t uid, gid_t gid)
{
	struct passwd pw, *pp = NULL;
	char buf[4096];
	unsigned long us, uc, gs, gc;
	int p[2];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pp) != 0)
		pp = NULL;
	if (!subid_range("/etc/subuid", pp ? pp->pw_name : NULL, uid, &us, &uc) ||
	    !subid_range("/etc/subgid", pp ? pp->pw_name : NULL, gid, &gs, &gc))
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return 0;
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return 0;
	}
	if (pid == 0) {
		char c;
		close(p[1]);
		ssize_t n = read(p[0], &c, 1);
		close(p[0]);
		if (n != 1)
			_exit(1);
		_exit(run_map_helper("newuidmap", parent, uid, us, uc) && run_map_helper("newgidmap", parent, gid, gs, gc)
		              ? 0
		              : 1);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

int vk_fakesys_userns_enter(bool *subids, struct vk_error *err)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int go = -1, ws = 0, r;

	*subids = false;
	if (uid == 0)
		return 0;
	pid_t mapper = start_mapper(&go, uid, gid);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		r = -errno;
		if (mapper > 0) {
			close(go);
			waitpid(mapper, NULL, 0);
		}
		return vk_error_set(err, -r,
		                    "cannot enter a user namespace as uid %u: %s (unprivileged user namespaces may be off: "
		                    "sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, "
		                    "kernel.apparmor_restrict_unprivileged_userns; or run as root)",
		                    (unsigned)uid, strerror(-r));
	}
	if (mapper > 0) {
		if (write(go, "g", 1) != 1)
			kill(mapper, SIGKILL);
		close(go);
		while (waitpid(mapper, &ws, 0) < 0 && errno == EINTR)
			;
		*subids = WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
	}
	if (!*subids) {
		/* only the own ids; a helper that failed half-way wrote none we keep:
		 * a map is written once, so a written uid_map is left as it is */
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
		if ((r = write_file("/proc/self/uid_map", map)) < 0 && r != -EPERM)
			return vk_error_set(err, -r, "writing /proc/self/uid_map: %s", strerror(-r));
		if ((r = write_file("/proc/self/setgroups", "deny")) < 0 && r != -ENOENT && r != -EPERM)
			return vk_error_set(err, -r, "writing /proc/self/setgroups: %s", strerror(-r));
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
		if ((r = write_file("/proc/self/gid_map", map)) < 0)
			return vk_error_set(err, -r, "writing /proc/self/gid_map: %s", strerror(-r));
	}
	if (geteuid() != 0)
		return vk_error_set(err, EPERM, "the user namespace's map does not make uid %u its root", (unsigned)uid);
	/* the mounts made here must not propagate into the caller's namespace */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) /* a type: valgrind checks it */
		return vk_error_set(err, errno, "making / private in the user namespace: %s", strerror(errno));
	return 1;
}
