/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one reader of files vfiokit did not write: the resolver's
 * vk_root_read()/vk_root_open_regular() (in both lookup modes) and the
 * common vk_fileio functions under them.  Every error path: a missing file, a
 * symlink below a directory FD, a FIFO, a directory, a socket, a file larger
 * than the buffer (and the same kept with VK_ROOT_READ_TRUNCATE), a read that
 * fails, an empty buffer, a cap on a pipe.  No FD is left open by any of them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/root.h>

#include "testutil.h"
#include "tree.h"
#include "vk_fileio.h"

static char dir[256];

static void setup(void)
{
	char p[512];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	cr_assert_eq(tree_new(dir, sizeof(dir), true), 0);
	cr_assert_eq(tree_write(dir, "a/attr", "0x10de\n"), 0);
	cr_assert_eq(tree_write(dir, "a/long", "0123456789abcdef\n"), 0);
	cr_assert_eq(tree_symlink(dir, "attr", "a/link"), 0);
	cr_assert_eq(tree_mkdir(dir, "a/dir"), 0);
	snprintf(p, sizeof(p), "%s/a/fifo", dir);
	cr_assert_eq(mkfifo(p, 0644), 0);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(p, sizeof(p), "%s/a/sock", dir);
	cr_assert_lt(strlen(p), sizeof(sa.sun_path), "%s: too long for a socket", p);
	memcpy(sa.sun_path, p, strlen(p) + 1);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
}

static void teardown(void)
{
	vk_rm_rf(dir);
}

TestSuite(read, .init = setup, .fini = teardown, .timeout = 30);

/* vk_root_read() of @rel in both lookup modes, root-relative (@below false) or below a/ (true). */
static ssize_t rd(unsigned mode, bool below, const char *rel, unsigned flags, char *buf, size_t len,
                  struct vk_error *e)
{
	struct vk_root *r;
	int before = vk_fd_count(), dfd = -1;
	ssize_t n;

	vk_error_clear(e);
	cr_assert_eq(vk_root_open(dir, mode, &r, NULL), 0);
	if (below)
		cr_assert_geq(dfd = vk_root_openat(r, "a", O_PATH | O_DIRECTORY), 0);
	n = vk_root_read(r, dfd, rel, flags, buf, len, e);
	if (dfd >= 0)
		close(dfd);
	vk_root_close(r);
	cr_assert_eq(vk_fd_count(), before, "%s: FD leak", rel);
	return n;
}

static const unsigned modes[] = {0, VK_ROOT_NO_OPENAT2};

Test(read, a_regular_file_whole)
{
	char buf[64];
	struct vk_error e;

	for (size_t m = 0; m < 2; m++) {
		cr_assert_eq(rd(modes[m], false, "a/attr", 0, buf, sizeof(buf), &e), 7, "%s", e.msg);
		cr_assert_str_eq(buf, "0x10de\n");
		cr_assert_eq(rd(modes[m], true, "attr", 0, buf, sizeof(buf), &e), 7, "%s", e.msg);
		/* a symlink is followed inside the root when the path is root-relative */
		cr_assert_eq(rd(modes[m], false, "a/link", 0, buf, sizeof(buf), &e), 7, "%s", e.msg);
	}
}

Test(read, what_is_not_a_regular_file_is_refused_without_blocking)
{
	static const struct {
		const char *rel, *type;
	} cases[] = {
		{"a/fifo", "fifo"},
		{"a/dir", "directory"},
		{"a/sock", NULL},
		{"dev/null", NULL},
	};
	char buf[64];
	struct vk_error e;

	for (size_t m = 0; m < 2; m++) {
		for (size_t i = 0; i < VK_ARRAY_SIZE(cases); i++) {
			ssize_t n = rd(modes[m], false, cases[i].rel, 0, buf, sizeof(buf), &e);
			if (!cases[i].type) {
				/* a socket cannot be opened (ENXIO); /dev/null is not in the tree */
				cr_assert(n == -ENXIO || n == -ENOENT, "%s: %zd %s", cases[i].rel, n, e.msg);
				continue;
			}
			cr_assert_eq(n, -EINVAL, "%s: %zd %s", cases[i].rel, n, e.msg);
			char want[128];
			snprintf(want, sizeof(want), "%s: not a regular file (%s)", cases[i].rel, cases[i].type);
			cr_assert(strstr(e.msg, want), "want '%s' in: %s", want, e.msg);
			cr_assert(strstr(e.msg, dir), "the message names the path under the root: %s", e.msg);
			cr_assert_str_eq(buf, "");
		}
		/* below a directory FD: the FIFO, named by its name */
		cr_assert_eq(rd(modes[m], true, "fifo", 0, buf, sizeof(buf), &e), -EINVAL);
		cr_assert_str_eq(e.msg, "fifo: not a regular file (fifo)");
	}
}

Test(read, open_errors_name_the_path)
{
	char buf[64];
	struct vk_error e;

	for (size_t m = 0; m < 2; m++) {
		cr_assert_eq(rd(modes[m], false, "a/missing", 0, buf, sizeof(buf), &e), -ENOENT);
		cr_assert(strstr(e.msg, "a/missing: No such file or directory (ENOENT)"), "%s", e.msg);
		/* below a directory FD no symlink is followed */
		cr_assert_eq(rd(modes[m], true, "link", 0, buf, sizeof(buf), &e), -ELOOP);
		cr_assert(strstr(e.msg, "link: ") && strstr(e.msg, "(ELOOP)"), "%s", e.msg);
	}
}

Test(read, a_file_larger_than_the_buffer)
{
	char buf[8];
	struct vk_error e;

	for (size_t m = 0; m < 2; m++) {
		cr_assert_eq(rd(modes[m], false, "a/long", 0, buf, sizeof(buf), &e), -EFBIG);
		cr_assert(strstr(e.msg, "a/long: larger than 7 bytes"), "%s", e.msg);
		cr_assert_eq(rd(modes[m], false, "a/long", VK_ROOT_READ_TRUNCATE, buf, sizeof(buf), &e), 7, "%s", e.msg);
		cr_assert_str_eq(buf, "0123456");
		/* exactly full is not too large */
		cr_assert_eq(rd(modes[m], false, "a/attr", 0, buf, sizeof(buf), &e), 7, "%s", e.msg);
		cr_assert_eq(rd(modes[m], false, "a/attr", 0, buf, 0, &e), -EINVAL);
		cr_assert(strstr(e.msg, "no room"), "%s", e.msg);
	}
}

Test(read, a_read_that_fails)
{
	/* /proc/self/mem is a regular file whose read at offset 0 (nothing mapped there) fails with EIO */
	struct vk_root *r;
	struct vk_error e = {0};
	char buf[64];
	int before = vk_fd_count();

	cr_assert_eq(vk_root_open("/proc", 0, &r, NULL), 0);
	cr_assert_eq(vk_root_read(r, -1, "self/mem", 0, buf, sizeof(buf), &e), -EIO);
	cr_assert(strstr(e.msg, "/proc/self/mem: read: ") && strstr(e.msg, "(EIO)"), "%s", e.msg);
	vk_root_close(r);
	cr_assert_eq(vk_fd_count(), before);
}

Test(read, open_regular_hands_out_a_nonblocking_fd)
{
	struct vk_root *r;
	struct vk_error e = {0};

	cr_assert_eq(vk_root_open(dir, 0, &r, NULL), 0);
	int fd = vk_root_open_regular(r, -1, "a/attr", &e);
	cr_assert_geq(fd, 0, "%s", e.msg);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	cr_assert_eq(vk_root_open_regular(r, -1, "a/fifo", &e), -EINVAL);
	vk_root_close(r);
}

/* ---- the common readers under it ---- */

Test(read, fileio_fd_alloc_caps_a_pipe)
{
	int p[2];
	char *out;
	size_t len;

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	cr_assert_eq(vk_read_fd_alloc(p[0], 9, &out, &len), -EFBIG);
	cr_assert_null(out);
	close(p[0]);

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	cr_assert_eq(vk_read_fd_alloc(p[0], 10, &out, &len), 0);
	cr_assert_eq(len, 10);
	cr_assert_str_eq(out, "0123456789");
	free(out);
	close(p[0]);

	/* growing past the first chunk: 100,000 bytes through a pipe */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char chunk[1000];
		memset(chunk, 'x', sizeof(chunk));
		for (int i = 0; i < 100; i++)
			if (write(p[1], chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(vk_read_fd_alloc(p[0], 1 << 20, &out, &len), 0);
	cr_assert_eq(len, 100000);
	cr_assert_eq(strlen(out), 100000);
	free(out);
	close(p[0]);
	waitpid(pid, NULL, 0);

	/* a read error: a directory FD */
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_eq(vk_read_fd_alloc(d, 100, &out, &len), -EISDIR);
	cr_assert_eq(vk_read_fd(d, (char[8]){0}, 8, 0), -EISDIR);
	close(d);
	cr_assert_eq(vk_read_fd(0, (char[1]){0}, 0, 0), -EINVAL);
}

Test(read, fileio_paths)
{
	char p[512], buf[64], *out;
	size_t len;
	struct vk_error e = {0};
	int before = vk_fd_count();

	snprintf(p, sizeof(p), "%s/a/attr", dir);
	cr_assert_eq(vk_read_path(p, 0, buf, sizeof(buf), &e), 7, "%s", e.msg);
	cr_assert_eq(vk_read_path(p, 0, buf, 4, &e), -EFBIG);
	cr_assert(strstr(e.msg, "larger than 3 bytes"), "%s", e.msg);
	cr_assert_eq(vk_read_path(p, VK_READ_TRUNCATE, buf, 4, &e), 3);
	cr_assert_eq(vk_read_path_alloc(p, 0, 100, &out, &len, &e), 0, "%s", e.msg);
	cr_assert_eq(len, 7);
	free(out);
	cr_assert_eq(vk_read_path_alloc(p, 0, 3, &out, &len, &e), -EFBIG);
	cr_assert(strstr(e.msg, "larger than 3 bytes"), "%s", e.msg);

	snprintf(p, sizeof(p), "%s/a/fifo", dir);
	cr_assert_eq(vk_read_path(p, 0, buf, sizeof(buf), &e), -EINVAL);
	cr_assert(strstr(e.msg, "not a regular file (fifo)"), "%s", e.msg);
	cr_assert_eq(vk_read_path_alloc(p, 0, 100, &out, &len, &e), -EINVAL);
	snprintf(p, sizeof(p), "%s/a/dir", dir);
	cr_assert_eq(vk_read_path_alloc(p, VK_READ_ANY_TYPE, 100, &out, &len, &e), -EISDIR);
	cr_assert(strstr(e.msg, "a/dir: read: "), "%s", e.msg);
	cr_assert_eq(vk_read_path(p, 0, buf, sizeof(buf), &e), -EINVAL);
	cr_assert(strstr(e.msg, "not a regular file (directory)"), "%s", e.msg);
	snprintf(p, sizeof(p), "%s/a/missing", dir);
	cr_assert_eq(vk_read_path(p, 0, buf, sizeof(buf), &e), -ENOENT);
	cr_assert_eq(vk_read_path_alloc(p, VK_READ_ANY_TYPE, 100, &out, &len, &e), -ENOENT);
	cr_assert(strstr(e.msg, "a/missing: No such file"), "%s", e.msg);
	/* a read error on a regular file */
	cr_assert_eq(vk_read_path("/proc/self/mem", 0, buf, sizeof(buf), &e), -EIO);
	cr_assert(strstr(e.msg, "/proc/self/mem: read: "), "%s", e.msg);
	cr_assert_eq(vk_fd_count(), before);

	static const struct {
		mode_t m;
		const char *name;
	} types[] = {
		{S_IFREG, "regular file"},
		{S_IFDIR, "directory"},
		{S_IFIFO, "fifo"},
		{S_IFSOCK, "socket"},
		{S_IFCHR, "character device"},
		{S_IFBLK, "block device"},
		{S_IFLNK, "symlink"},
		{0, "unknown type"},
	};
	for (size_t i = 0; i < VK_ARRAY_SIZE(types); i++)
		cr_assert_str_eq(vk_file_type_name(types[i].m | 0644), types[i].name);
}
