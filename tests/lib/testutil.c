/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

const char *vk_source_dir(void)
{
	const char *s = getenv("VK_SOURCE_DIR");
	return s && *s ? s : VK_SOURCE_DIR;
}

const char *vk_binary_dir(void)
{
	const char *s = getenv("VK_BINARY_DIR");
	return s && *s ? s : VK_BINARY_DIR;
}

const char *vk_scenario_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/scenarios/%s", vk_source_dir(), name);
	return buf;
}

const char *vk_test_data_path(const char *part, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/tests/%s/data/%s", vk_source_dir(), part, name);
	return buf;
}

const char *vk_bin(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", vk_binary_dir(), rel);
	return buf;
}

int vk_mkdtemp(char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(buf, len, "%s/vfiokit-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(buf) ? 0 : -errno;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	/* a device bound over a file (tests/resolver/tree.c in a user namespace) */
	if (unlink(path) < 0 && (errno != EBUSY || umount2(path, MNT_DETACH) < 0 || unlink(path) < 0))
		return -1;
	return 0;
}

int vk_rm_rf(const char *path)
{
	/* Guard against a bug turning this loose on the real tree. */
	if (!strstr(path, "vfiokit-"))
		return -EPERM;
	return nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

/* Drain two pipes into two buffers until both close. */
static void drain(int ofd, char *out, size_t outlen, int efd, char *err, size_t errlen)
{
	size_t on = 0, en = 0;
	struct pollfd p[2] = {{.fd = ofd, .events = POLLIN}, {.fd = efd, .events = POLLIN}};
	char scratch[4096];

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = read(p[i].fd, scratch, sizeof(scratch));
			if (r <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				continue;
			}
			char *b = i ? err : out;
			size_t *n = i ? &en : &on;
			size_t cap = i ? errlen : outlen;
			if (b && cap > 1) {
				size_t room = cap - 1 - *n;
				size_t take = (size_t)r < room ? (size_t)r : room;
				memcpy(b + *n, scratch, take);
				*n += take;
				b[*n] = '\0';
			}
		}
	}
}

int vk_run(char *const argv[], char *out, size_t outlen, char *errbuf, size_t errlen)
{
	int op[2], ep[2], status;
	pid_t pid;
	posix_spawn_file_actions_t fa;

	if (out && outlen)
		out[0] = '\0';
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (pipe2(op, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		int e = errno;
		close(op[0]);
		close(op[1]);
		return -e;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, op[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(op[1]);
	close(ep[1]);
	if (rc != 0) {
		close(op[0]);
		close(ep[0]);
		return -rc;
	}
	drain(op[0], out, outlen, ep[0], errbuf, errlen);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int vk_vrun(char *out, size_t outlen, char *errbuf, size_t errlen, const char *const head[], const char *first,
            va_list ap)
{
	char *argv[VK_RUN_MAX_WORDS + 1];
	size_t n = 0;

	for (; *head; head++) {
		if (n == VK_RUN_MAX_WORDS)
			return -E2BIG;
		argv[n++] = (char *)*head;
	}
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		if (n == VK_RUN_MAX_WORDS)
			return -E2BIG;
		argv[n++] = (char *)a;
	}
	if (n == 0)
		return -EINVAL;
	argv[n] = NULL;
	return vk_run(argv, out, outlen, errbuf, errlen);
}

int vk_runv(char *out, size_t outlen, char *errbuf, size_t errlen, const char *prog, ...)
{
	static const char *const none[] = {NULL};
	va_list ap;

	va_start(ap, prog);
	int rc = vk_vrun(out, outlen, errbuf, errlen, none, prog, ap);
	va_end(ap);
	return rc;
}

/* Entries of @dir but "." and "..", or -errno. */
static int count_fds(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int vk_fd_count(void)
{
	int n = count_fds("/proc/self/fd");
	return n < 0 ? n : n - 1; /* the directory's own FD */
}

long vk_rss_kb(int pid)
{
	char path[64], buf[4096];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (vk_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	char *p = strstr(buf, "VmRSS:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

int vk_fd_count_of(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	return count_fds(path);
}

long vk_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -errno;
	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, len - 1 - n);
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(fd);
	return (long)n;
}

int vk_write_attr(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, s, strlen(s));
	int r = w < 0 ? -errno : 0;
	close(fd);
	return r;
}

bool vk_have_fuse(void)
{
	return access("/dev/fuse", R_OK | W_OK) == 0;
}

int vk_materialize(const char *scenario, char *dir, size_t len)
{
	char bin[4096], err[4096];
	int rc = vk_mkdtemp(dir, len);

	if (rc < 0)
		return rc;
	/* materialize wants to create its target itself */
	rmdir(dir);
	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	char *argv[] = {bin, "materialize", (char *)scenario, dir, NULL};
	rc = vk_run(argv, NULL, 0, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "fakesys materialize %s failed (%d): %s\n", scenario, rc, err);
	return rc;
}

int vk_mount(const char *scenario, char *mnt, size_t len)
{
	char bin[4096], err[4096];
	int rc = vk_mkdtemp(mnt, len);

	if (rc < 0)
		return rc;
	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	char *argv[] = {bin, "mount", (char *)scenario, mnt, NULL};
	rc = vk_run(argv, NULL, 0, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "fakesys mount %s failed (%d): %s\n", scenario, rc, err);
		rmdir(mnt);
	}
	return rc;
}

int vk_umount(const char *mnt)
{
	char bin[4096], err[4096];

	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	char *argv[] = {bin, "umount", (char *)mnt, NULL};
	int rc = vk_run(argv, NULL, 0, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "fakesys umount %s failed (%d): %s\n", mnt, rc, err);
	rmdir(mnt);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void vk_names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char **vk_dir_names(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	struct dirent *de;

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char **nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv || !(nv[*n] = strdup(de->d_name))) {
			vk_names_free(nv ? nv : v, *n);
			closedir(d);
			errno = ENOMEM;
			return NULL;
		}
		v = nv;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_names);
	return v ? v : calloc(1, sizeof(*v));
}

/* The contents of @a and @b, read to EOF (at most @size bytes: the larger
 * st_size; a served sysfs attribute reports 4096 for a shorter content). */
static int diff_files(const char *a, const char *b, off_t size, char *why, size_t len)
{
	char *ca = malloc((size_t)size + 1), *cb = malloc((size_t)size + 1);
	long ra = ca ? vk_read_file(a, ca, (size_t)size + 1) : -ENOMEM;
	long rb = cb ? vk_read_file(b, cb, (size_t)size + 1) : -ENOMEM;
	int r = 0;

	if (ra < 0 || rb < 0)
		r = ra < 0 ? (int)ra : (int)rb;
	else if (ra != rb || ra > (long)size || memcmp(ca, cb, (size_t)ra))
		r = 1, snprintf(why, len, "%s: content differs (%ld vs %ld bytes, st_size %lld)", a, ra, rb,
		                (long long)size);
	free(ca);
	free(cb);
	return r;
}

int vk_tree_diff(const char *a, const char *b, char *why, size_t len, size_t *count)
{
	struct stat sa, sb;
	int r = 0;

	if (lstat(a, &sa) < 0 || lstat(b, &sb) < 0) {
		snprintf(why, len, "%s or %s: %s", a, b, strerror(errno));
		return 1;
	}
	if (count)
		(*count)++;
	if (sa.st_mode != sb.st_mode)
		return snprintf(why, len, "%s: mode %o vs %o", a, sa.st_mode, sb.st_mode), 1;
	if (geteuid() == 0 && (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid))
		return snprintf(why, len, "%s: owner %u:%u vs %u:%u", a, sa.st_uid, sa.st_gid, sb.st_uid, sb.st_gid), 1;
	if (S_ISLNK(sa.st_mode)) {
		char ta[4096] = "", tb[4096] = "";
		if (readlink(a, ta, sizeof(ta) - 1) < 0 || readlink(b, tb, sizeof(tb) - 1) < 0)
			return -errno;
		if (strcmp(ta, tb))
			return snprintf(why, len, "%s: link target %s vs %s", a, ta, tb), 1;
	} else if (S_ISREG(sa.st_mode)) {
		/* sizes may differ: a served tree reports the kernel's (test_fuse_mount) */
		if (geteuid() == 0 || (sa.st_mode & S_IRUSR))
			return diff_files(a, b, sa.st_size > sb.st_size ? sa.st_size : sb.st_size, why, len);
	} else if (S_ISDIR(sa.st_mode)) {
		size_t na, nb;
		char **va = vk_dir_names(a, &na), **vb = vk_dir_names(b, &nb);
		if (!va || !vb) {
			r = -errno;
			goto out;
		}
		for (size_t i = 0; !r && (i < na || i < nb); i++) {
			if (i >= na || i >= nb || strcmp(va[i], vb[i])) {
				snprintf(why, len, "%s: entries differ at %s / %s", a, i < na ? va[i] : "(none)",
				         i < nb ? vb[i] : "(none)");
				r = 1;
				break;
			}
			char pa[4096], pb[4096];
			snprintf(pa, sizeof(pa), "%s/%s", a, va[i]);
			snprintf(pb, sizeof(pb), "%s/%s", b, vb[i]);
			r = vk_tree_diff(pa, pb, why, len, count);
		}
out:
		if (va)
			vk_names_free(va, na);
		if (vb)
			vk_names_free(vb, nb);
	}
	return r;
}

int vk_scenario_variant(const char *name, const char *from, const char *to, const char *dir, const char *out_name,
                        char *path, size_t len)
{
	char src[4096];
	static char buf[256 * 1024];
	long n = vk_read_file(vk_scenario_path(name, src, sizeof(src)), buf, sizeof(buf));
	size_t k = strlen(from);

	if (n < 0)
		return (int)n;
	if (!k || !strstr(buf, from))
		return -ENOENT;
	snprintf(path, len, "%s/%s", dir, out_name);
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	for (const char *p = buf, *q; *p; p = q + k) {
		q = strstr(p, from);
		if (!q) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(q - p), f);
		fputs(to, f);
	}
	return fclose(f) == 0 ? 0 : -errno;
}
