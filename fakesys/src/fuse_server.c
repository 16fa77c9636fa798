/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The FUSE server of fakesys: serves a sealed vtree read-only through the
 * libfuse low-level API (modelled on libfuse's example/passthrough_ll.c).
 *
 * Inode numbers are the tree's own (the root is 1 == FUSE_ROOT_ID), so every
 * request maps to its node with one array index and no lookup counting is
 * needed: nodes live as long as the tree.  While the tree is immutable the
 * kernel may cache everything for as long as it likes: entries, negative
 * entries, attributes, symlink targets, directory listings and file pages.
 * A later mutable tree will shorten the timeouts or invalidate entries
 * (fuse_lowlevel_notify_inval_*) instead.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

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
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/fakesys_serve.h>

extern char **environ;

/* The tree never changes while mounted: let the kernel cache for a year. */
#define CACHE_TIMEOUT (365.0 * 24 * 3600)

struct fs {
	struct vtree *t;
	uint32_t *nlink;          /* by inode: 2 + subdirectories for a directory, else 1 */
	size_t n;                 /* nodes */
	struct timespec mounted;  /* every timestamp of the tree */
	bool serve_opens;
};

/* ---- requests --------------------------------------------------------- */

static struct fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct vt_node *node_of(struct fs *fs, fuse_ino_t ino)
{
	return vtree_by_ino(fs->t, ino);
}

static mode_t type_bits(const struct vt_node *n)
{
	switch (n->type) {
	case VT_DIR:
		return S_IFDIR;
	case VT_LINK:
		return S_IFLNK;
	default:
		return S_IFREG;
	}
}

static off_t node_size(const struct vt_node *n)
{
	switch (n->type) {
	case VT_FILE:
		return (off_t)n->u.file.len;
	case VT_LINK:
		return (off_t)strlen(n->u.link.target);
	default:
		return 4096;
	}
}

static void fill_stat(struct fs *fs, const struct vt_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = type_bits(n) | (n->mode & 07777);
	st->st_nlink = fs->nlink[n->ino - 1];
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	/* The true length, not sysfs's 4096: readers that trust st_size read all. */
	st->st_size = node_size(n);
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_atim = st->st_mtim = st->st_ctim = fs->mounted;
}

static void fill_entry(struct fs *fs, const struct vt_node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->ino;
	e->attr_timeout = CACHE_TIMEOUT;
	e->entry_timeout = CACHE_TIMEOUT;
	fill_stat(fs, n, &e->attr);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* The fast mode: the kernel opens files and directories itself after the
	 * first ENOSYS and keeps their page cache and listings. */
	if (!fs->serve_opens && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT))
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
	else
		conn->want &= ~FUSE_CAP_NO_OPEN_SUPPORT;
	if (!fs->serve_opens && (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT))
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
	else
		conn->want &= ~FUSE_CAP_NO_OPENDIR_SUPPORT;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct vt_node *dir = node_of(fs, parent);
	struct fuse_entry_param e;

	if (!dir)
		return (void)fuse_reply_err(req, ENOENT);
	if (dir->type != VT_DIR)
		return (void)fuse_reply_err(req, ENOTDIR);
	struct vt_node *n = vtree_child(dir, name);
	if (!n) {
		/* a negative entry the kernel may cache (ino 0): probes of absent
		 * attributes, common in lspci and udev, cost one round trip */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = CACHE_TIMEOUT;
		return (void)fuse_reply_entry(req, &e);
	}
	fill_entry(fs, n, &e);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct vt_node *n = node_of(fs, ino);
	struct stat st;

	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	fill_stat(fs, n, &st);
	fuse_reply_attr(req, &st, CACHE_TIMEOUT);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct vt_node *n = node_of(req_fs(req), ino);

	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (n->type != VT_LINK)
		return (void)fuse_reply_err(req, EINVAL);
	fuse_reply_readlink(req, n->u.link.target);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct vt_node *n = node_of(fs, ino);

	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (n->type != VT_DIR)
		return (void)fuse_reply_err(req, ENOTDIR);
	if (!fs->serve_opens)
		return (void)fuse_reply_err(req, ENOSYS); /* see op_init */
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/*
 * Entries at offset i: 0 ".", 1 "..", 2.. the sorted children; the offset
 * handed back with each entry is that of the next one.
 */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct fs *fs = req_fs(req);
	struct vt_node *dir = node_of(fs, ino);

	if (!dir)
		return (void)fuse_reply_err(req, ENOENT);
	if (dir->type != VT_DIR)
		return (void)fuse_reply_err(req, ENOTDIR);
	_cleanup_free_ char *buf = malloc(size);
	if (!buf)
		return (void)fuse_reply_err(req, ENOMEM);

	size_t pos = 0, total = (size_t)dir->u.dir.n + 2;
	for (size_t i = off < 0 ? 0 : (size_t)off; i < total; i++) {
		const struct vt_node *k = i == 0 ? dir : i == 1 ? dir->parent : dir->u.dir.kids[i - 2];
		const char *name = i == 0 ? "." : i == 1 ? ".." : k->name;
		size_t len;

		if (plus) {
			struct fuse_entry_param e;
			fill_entry(fs, k, &e);
			len = fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e, (off_t)i + 1);
		} else {
			struct stat st = {.st_ino = k->ino, .st_mode = type_bits(k)};
			len = fuse_add_direntry(req, buf + pos, size - pos, name, &st, (off_t)i + 1);
		}
		if (len > size - pos)
			break;
		pos += len;
	}
	fuse_reply_buf(req, buf, pos);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, true);
}

static void op_release_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct vt_node *n = node_of(fs, ino);

	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (n->type == VT_DIR)
		return (void)fuse_reply_err(req, EISDIR);
	if (!fs->serve_opens)
		return (void)fuse_reply_err(req, ENOSYS); /* see op_init */
	/* Read-only for now; kernel-like writes to control files come later. */
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return (void)fuse_reply_err(req, EROFS);
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct vt_node *n = node_of(req_fs(req), ino);

	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (n->type != VT_FILE)
		return (void)fuse_reply_err(req, EISDIR);
	size_t len = n->u.file.len;
	if (off < 0 || (size_t)off >= len)
		return (void)fuse_reply_buf(req, NULL, 0);
	size_t take = len - (size_t)off < size ? len - (size_t)off : size;
	fuse_reply_buf(req, (const char *)n->u.file.data + off, take);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = req_fs(req);
	struct statvfs sv = {
		.f_bsize = 4096,
		.f_frsize = 4096,
		.f_blocks = (vtree_bytes(fs->t) + 4095) / 4096,
		.f_files = fs->n,
		.f_namemax = NAME_MAX,
		.f_flag = ST_NOSUID | ST_NODEV,
	};
	fuse_reply_statfs(req, &sv);
}

/* ---- changes: refused while the tree is read-only ---------------------- */

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fuse_reply_err(req, EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
	fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	fuse_reply_err(req, EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                        int flags)
{
	fuse_reply_err(req, EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

/* getxattr/listxattr/access/flush stay unset: libfuse answers ENOSYS, which
 * the kernel remembers, so they cost one round trip per mount. */
static const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_release_ok,
	.open = op_open,
	.read = op_read,
	.release = op_release_ok,
	.statfs = op_statfs,
	.write = op_write,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
};

/* ---- mounting ----------------------------------------------------------- */

/* libfuse reports through its log function; keep the last message for vk_error. */
static char fuse_last_msg[512];

static void capture_fuse_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	if (level > FUSE_LOG_ERR)
		return;
	vsnprintf(fuse_last_msg, sizeof(fuse_last_msg), fmt, ap);
	size_t n = strlen(fuse_last_msg);
	while (n && fuse_last_msg[n - 1] == '\n')
		fuse_last_msg[--n] = '\0';
}

static int fs_init(struct fs *fs, struct vtree *t, const struct fakesys_mount_opts *o, struct vk_error *err)
{
	memset(fs, 0, sizeof(*fs));
	fs->t = t;
	fs->n = vtree_size(t);
	fs->serve_opens = o->serve_opens;
	clock_gettime(CLOCK_REALTIME, &fs->mounted);
	fs->nlink = malloc(fs->n * sizeof(*fs->nlink));
	if (!fs->nlink)
		return vk_error_set(err, ENOMEM, "mount: out of memory");
	for (size_t i = 0; i < fs->n; i++) {
		struct vt_node *n = vtree_by_ino(t, i + 1);
		fs->nlink[i] = n && n->type == VT_DIR ? 2 : 1;
	}
	for (size_t i = 0; i < fs->n; i++) {
		struct vt_node *n = vtree_by_ino(t, i + 1);
		if (n && n->type == VT_DIR && n->parent != n)
			fs->nlink[n->parent->ino - 1]++;
	}
	return 0;
}

/* Validate @mountpoint and write its real path into @real. */
static int check_mountpoint(const char *mountpoint, char *real, struct vk_error *err)
{
	struct stat st;

	if (!realpath(mountpoint, real))
		return vk_error_set(err, errno, "mount %s: %s", mountpoint, strerror(errno));
	if (fakesys_path_forbidden(real))
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
	if (s->signals)
		fuse_remove_signal_handlers(s->se);
	if (s->mounted)
		fuse_session_unmount(s->se);
	if (s->se)
		fuse_session_destroy(s->se);
	free(s->fs.nlink);
	memset(s, 0, sizeof(*s));
}

/* Create the session and mount it at @real (an absolute checked path). */
static int server_open(struct server *s, struct vtree *t, const char *real, const struct fakesys_mount_opts *o,
                       struct vk_error *err)
{
	char opts[256];
	int r = fs_init(&s->fs, t, o, err);

	if (r < 0)
		return r;
	snprintf(opts, sizeof(opts), "fsname=fakesys:%d,subtype=fakesys,default_permissions,auto_unmount%s",
	         (int)getpid(), geteuid() == 0 ? ",allow_other" : "");
	char *argv[] = {"fakesys", "-o", opts, o->debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 4 : 3, argv);

	fuse_last_msg[0] = '\0';
	fuse_set_log_func(capture_fuse_log);
	s->se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &s->fs);
	fuse_opt_free_args(&args);
	if (!s->se) {
		r = vk_error_set(err, EIO, "mount %s: cannot start a FUSE session: %s", real,
		                 fuse_last_msg[0] ? fuse_last_msg : "unknown libfuse error");
		goto fail;
	}
	if (fuse_set_signal_handlers(s->se) < 0) {
		r = vk_error_set(err, EIO, "mount %s: cannot install signal handlers", real);
		goto fail;
	}
	s->signals = true;
	if (fuse_session_mount(s->se, real) < 0) {
		r = vk_error_set(err, EIO, "mount %s: %s", real,
		                 fuse_last_msg[0] ? fuse_last_msg : "the FUSE mount failed (is /dev/fuse usable?)");
		goto fail;
	}
	s->mounted = true;
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

static int mount_foreground(struct vtree *t, const char *real, const struct fakesys_mount_opts *o,
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
                                                  const struct fakesys_mount_opts *o, int report_fd)
{
	struct vk_error e = {0};
	struct server s = {0};
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* Before mounting: the fusermount3 helper that auto_unmount leaves
	 * running inherits our stdio, and must not hold the caller's pipes. */
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(devnull);
	}
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
	server_loop(&s);
	server_close(&s);
	if (o->pidfile)
		unlink(o->pidfile);
	_exit(0);
}

static int mount_background(struct vtree *t, const char *real, const struct fakesys_mount_opts *o,
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

int fakesys_mount(struct vtree *t, const char *mountpoint, const struct fakesys_mount_opts *o,
                  struct vk_error *err)
{
	static const struct fakesys_mount_opts defaults = {0};
	char real[PATH_MAX], pidfile[PATH_MAX];
	struct fakesys_mount_opts opts = o ? *o : defaults;
	int r = check_mountpoint(mountpoint, real, err);

	if (r < 0)
		return r;
	/* the daemon changes to /, so a relative pidfile must be made absolute */
	if (opts.pidfile && opts.pidfile[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(pidfile, sizeof(pidfile), "%s/%s", cwd, opts.pidfile) >= (int)sizeof(pidfile))
			return vk_error_set(err, ENAMETOOLONG, "pidfile %s: cannot make it absolute", opts.pidfile);
		opts.pidfile = pidfile;
	}
	if (opts.foreground)
		return mount_foreground(t, real, &opts, err);
	return mount_background(t, real, &opts, err);
}

/* ---- unmounting --------------------------------------------------------- */

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

/*
 * Find the topmost mount at @real in /proc/self/mountinfo.  Returns 1 with
 * its fstype and source, 0 when nothing is mounted there, or -errno.
 */
static int find_mount(const char *real, char *fstype, size_t flen, char *source, size_t slen)
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
		if (strcmp(fields[4], real))
			continue;
		/* skip optional fields up to the "-" separator */
		while ((tok = strtok_r(NULL, " \n", &save)) && strcmp(tok, "-"))
			;
		char *type = strtok_r(NULL, " \n", &save);
		char *src = strtok_r(NULL, " \n", &save);
		if (!type || !src)
			continue;
		snprintf(fstype, flen, "%s", type);
		snprintf(source, slen, "%s", src);
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
	if (!strcmp(base, ".") || !strcmp(base, "..") || !*base) {
		return realpath(mp, real) ? 0 : -errno;
	}
	if (snprintf(real, PATH_MAX, "%s/%s", strcmp(parent, "/") ? parent : "", base) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* 1 with *pid set when @mp is a fakesys mount, else -errno (EINVAL: not one). */
static int lookup_fakesys_mount(const char *mp, char *real, pid_t *pid, struct vk_error *err)
{
	char fstype[64], source[256];
	int r = mountpoint_path(mp, real);

	if (r < 0)
		return vk_error_set(err, r, "umount %s: %s", mp, strerror(-r));
	r = find_mount(real, fstype, sizeof(fstype), source, sizeof(source));
	if (r < 0)
		return vk_error_set(err, r, "umount %s: reading /proc/self/mountinfo: %s", mp, strerror(-r));
	if (r == 0)
		return vk_error_set(err, EINVAL, "umount %s: nothing is mounted there", mp);
	if (strcmp(fstype, "fuse.fakesys"))
		return vk_error_set(err, EINVAL, "umount %s: not a fakesys mount (it is %s); refusing to unmount it", mp,
		                    fstype);
	*pid = 0;
	if (!strncmp(source, "fakesys:", 8))
		*pid = (pid_t)strtol(source + 8, NULL, 10);
	return 1;
}

int fakesys_mount_pid(const char *mountpoint)
{
	char real[PATH_MAX];
	pid_t pid;
	int r = lookup_fakesys_mount(mountpoint, real, &pid, NULL);

	return r < 0 ? r : (int)pid;
}

static int run_fusermount_u(const char *real, struct vk_error *err)
{
	char *argv[] = {"fusermount3", "-u", "--", (char *)real, NULL};
	pid_t pid;
	int status, r = posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ);

	if (r)
		return vk_error_set(err, r, "umount %s: cannot run fusermount3: %s", real, strerror(r));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vk_error_set(err, errno, "umount %s: waitpid: %s", real, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return vk_error_set(err, EBUSY, "umount %s: fusermount3 -u failed (is the mount in use?)", real);
	return 0;
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

int fakesys_umount(const char *mountpoint, struct vk_error *err)
{
	char real[PATH_MAX];
	pid_t pid = 0;
	int r = lookup_fakesys_mount(mountpoint, real, &pid, err);

	if (r < 0)
		return r;
	if (geteuid() == 0) {
		if (umount2(real, UMOUNT_NOFOLLOW) < 0)
			return vk_error_set(err, errno, "umount %s: %s%s", mountpoint, strerror(errno),
			                    errno == EBUSY ? " (a process uses the mount)" : "");
	} else if ((r = run_fusermount_u(real, err)) < 0) {
		return r;
	}
	if (pid <= 0 || pid == getpid())
		return 0;
	/* The server sees ENODEV on /dev/fuse and exits; wait for it (5 s). */
	for (int i = 0; i < 500; i++) {
		if (!process_alive(pid))
			return 0;
		poll(NULL, 0, 10);
	}
	return vk_error_set(err, ETIMEDOUT, "umount %s: unmounted, but the server (pid %d) did not exit within 5 s",
	                    mountpoint, (int)pid);
}
