/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The FUSE server of fakesys: serves a sealed vtree through the libfuse
 * low-level API (modelled on libfuse's example/passthrough_ll.c).
 *
 * Inode numbers are the tree's own (the root is 1 == FUSE_ROOT_ID), so every
 * request maps to its node with one array index and no lookup counting is
 * needed: a node lives as long as its tree, and a rebuilt tree keeps the
 * numbers of the paths that survive (vk_vtree_inherit_inos()), never reusing one.
 *
 * Two modes (docs/architecture.md):
 * - fast (default): the tree never changes; the kernel may cache everything
 *   for as long as it likes (entries, negative entries, attributes, symlink
 *   targets, listings, pages) and opens files itself (FUSE_CAP_NO_OPEN_SUPPORT).
 * - live (serve_opens, implied by faults and the access log): every open
 *   reaches the server; faults are injected, operations logged, the control
 *   channel .fakesys/control answers, and writes to sysfs control files act as
 *   the kernel does, changing the tree and invalidating exactly what the
 *   kernel cached of what changed (fuse_lowlevel_notify_inval_*).  The kernel
 *   still caches entries, attributes, link targets, pages and listings; what
 *   a fault or the log must see, and what changed since the mount, is kept
 *   out of its caches (op_open(), op_opendir()).
 *
 * The multi-threaded loop runs handlers concurrently: they hold the tree lock
 * for reading while they use nodes; a rebuild swaps the tree under it for
 * writing, and notifies the kernel after releasing it.
 */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
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
#include "vk_cleanup.h"
#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_tree.h>

#include "serve/server.h"

/* ---- requests --------------------------------------------------------- */

static struct fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Keep @h (the head of a malloc'd per-open allocation, freed by @dtor or,
 * when NULL, by free()) until its release. */
static void open_handle_add(struct fs *fs, struct open_handle *h, void (*dtor)(struct open_handle *))
{
	h->dtor = dtor;
	pthread_mutex_lock(&fs->open_mu);
	h->prev = NULL;
	h->next = fs->open_list;
	if (fs->open_list)
		fs->open_list->prev = h;
	fs->open_list = h;
	pthread_mutex_unlock(&fs->open_mu);
}

/* Release @h (may be NULL): unlink and free it. */
void srv_open_handle_free(struct fs *fs, struct open_handle *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&fs->open_mu);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->open_list = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->open_mu);
	if (h->dtor)
		h->dtor(h);
	else
		free(h);
}

struct vk_vt_node *srv_node_of(struct fs *fs, fuse_ino_t ino)
{
	return vk_vtree_by_ino(fs->cur.t, ino);
}

static bool log_on(struct fs *fs)
{
	return fs->have_log && atomic_load_explicit(&fs->log.on, memory_order_relaxed);
}

/* One request: its operation, the path it touches (computed only when a
 * fault or the log needs it), and what the log records. */
struct rq {
	struct fs *fs;
	fuse_req_t req;
	const char *name;
	unsigned op;
	bool traced;
	uint64_t ino; /* the node concerned, 0 for a name that does not exist */
	char path[PATH_MAX];
	int flags;
	long long off, size;
};

static void rq_begin(struct rq *q, fuse_req_t req, const char *name, unsigned op)
{
	q->fs = req_fs(req);
	q->req = req;
	q->name = name;
	q->op = op;
	q->traced = log_on(q->fs) || fault_table_has(&q->fs->faults, VK_FAKESYS_OP_ALL);
	q->path[0] = '\0';
	q->ino = 0;
	q->flags = -1;
	q->off = q->size = -1;
	pthread_rwlock_rdlock(&q->fs->lock);
}

static void rq_end(struct rq *q)
{
	pthread_rwlock_unlock(&q->fs->lock);
}

/* The path of @n (and its child @child when not NULL) into q->path. */
static void rq_path(struct rq *q, const struct vk_vt_node *n, const char *child)
{
	if (!q->traced)
		return;
	if (child) {
		const struct vk_vt_node *k = vk_vtree_child(n, child);
		q->ino = k ? k->ino : 0;
	} else {
		q->ino = n->ino;
	}
	int len = vk_vtree_path(n, q->path, sizeof(q->path));
	if (len < 0) {
		q->path[0] = '\0';
		return;
	}
	if (child)
		snprintf(q->path + len, sizeof(q->path) - (size_t)len, "%s%s", len ? "/" : "", child);
}

/*
 * Count this access against the faults; returns the errno to fail with or 0
 * (EINTR when the kernel interrupted a delay, serve/delay.c).
 * A delay is served without the tree lock (a mutation may happen meanwhile,
 * which is the point of a delay): node pointers taken before are stale after
 * this call and must be looked up again by inode.
 */
static int rq_fault(struct rq *q)
{
	uint32_t delay = 0;

	if (!q->traced || !fault_table_has(&q->fs->faults, q->op))
		return 0;
	char *step = NULL;
	int e = fault_table_check(&q->fs->faults, q->op, q->path, q->ino, &delay, &step);
	if (step) {
		/* a step runs before this access is answered, on the new tree */
		pthread_rwlock_unlock(&q->fs->lock);
		srv_run_step(q->fs, step);
		free(step);
		pthread_rwlock_rdlock(&q->fs->lock);
	}
	if (delay) {
		pthread_rwlock_unlock(&q->fs->lock);
		int r = srv_delay(q->fs, q->req, delay);
		pthread_rwlock_rdlock(&q->fs->lock);
		if (r < 0)
			return -r; /* interrupted: the client is gone or has a signal */
	}
	return e;
}

static void rq_log(struct rq *q, int e)
{
	if (!log_on(q->fs))
		return;
	const struct fuse_ctx *c = fuse_req_ctx(q->req);
	access_log_write(&q->fs->log, c ? c->pid : 0, c ? c->uid : 0, q->name, q->path, q->flags, e, q->off, q->size);
}

/* Fail the request with @e (logged). */
static void rq_fail(struct rq *q, int e)
{
	rq_log(q, e);
	fuse_reply_err(q->req, e);
	rq_end(q);
}

/*
 * Count this access against the faults, then find @ino again: a fault's step
 * or delay runs without the tree lock, so the tree may have been swapped in
 * the meantime.  Returns the node, or NULL after replying with the fault's
 * errno or with @gone (the node went away).
 */
static struct vk_vt_node *rq_fault_node(struct rq *q, fuse_ino_t ino, int gone)
{
	int err = rq_fault(q);
	struct vk_vt_node *n;

	if (err) {
		rq_fail(q, err);
		return NULL;
	}
	n = srv_node_of(q->fs, ino);
	if (!n)
		rq_fail(q, gone);
	return n;
}

/*
 * A live mount with steps keeps no link targets, pages or listings in the
 * kernel: a step runs inside the request that fires it, where its
 * invalidations cannot be sent (the kernel may hold the locks they need until
 * the reply: fs/fuse/dir.c fuse_reverse_inval_entry() takes the parent's
 * inode lock), so they go out after the reply, from the notifier thread; a
 * reader that comes next (the race a step stages: the device unbound under
 * the open) must not be answered from the caches in between.
 */
static bool live_uncached(struct fs *fs)
{
	return fs->live && fault_table_has_steps(&fs->faults);
}

static double entry_timeout(struct fs *fs)
{
	/* A faulted lookup/getattr must reach the server every time, and so must
	 * every lookup the log is asked to see. */
	if (fs->log_lookups || fault_table_has(&fs->faults, VK_FAKESYS_OP_GETATTR))
		return 0;
	return CACHE_TIMEOUT;
}

static mode_t type_bits(const struct vk_vt_node *n)
{
	switch (n->type) {
	case VK_VT_DIR:
		return S_IFDIR;
	case VK_VT_LINK:
		return S_IFLNK;
	default:
		return S_IFREG;
	}
}

/* The size the kernel's filesystem reports (vt_node_size()), but a link's
 * target length where the kernel's FUSE client would cut the target there. */
static off_t node_size(struct fs *fs, const struct vk_vt_node *n)
{
	if (n->type == VK_VT_LINK && !fs->links_size_zero)
		return (off_t)strlen(n->u.link.target);
	return (off_t)vk_vt_node_size(n);
}

static void fill_stat(struct fs *fs, const struct vk_vt_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = type_bits(n) | (n->mode & 07777);
	st->st_nlink = fs->cur.nlink[n->ino - 1];
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	/* sysfs's sizes: 4096 for an attribute, a binary attribute's size, 0 for
	 * directories and links (fs/kernfs/inode.c kernfs_init_inode()); a read
	 * still ends at the content's end, as a show() fills less than a page */
	bool paged = n->type == VK_VT_FILE && (fs->kernel_opens || srv_node_paged(fs, n->ino));
	st->st_size = paged ? (off_t)n->u.file.len : node_size(fs, n);
	st->st_blksize = 4096;
	/* kernfs and procfs inodes have no blocks */
	st->st_blocks = (n->kern & VK_VT_K_SIZE_MASK) == VK_VT_SIZE_CONTENT ? (st->st_size + 511) / 512 : 0;
	st->st_atim = st->st_mtim = st->st_ctim = fs->mounted;
	if (fs->kernel_opens)
		srv_changed_mtime(fs, n->ino, &st->st_mtim);
}

static void fill_entry(struct fs *fs, const struct vk_vt_node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->ino;
	e->attr_timeout = e->entry_timeout = entry_timeout(fs);
	fill_stat(fs, n, &e->attr);
}

/* The control channel's nodes. */
static bool is_ctl(fuse_ino_t ino)
{
	return ino == CTL_DIR_INO || ino == CTL_FILE_INO;
}

static void fill_ctl_stat(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = ino == CTL_DIR_INO ? S_IFDIR | 0755 : S_IFREG | 0600;
	st->st_nlink = ino == CTL_DIR_INO ? 2 : 1;
	st->st_uid = fs->owner;
	st->st_gid = fs->owner_gid;
	st->st_size = ino == CTL_DIR_INO ? 4096 : 0;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = fs->mounted;
}

static void fill_ctl_entry(struct fs *fs, fuse_ino_t ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->attr_timeout = 0;
	e->entry_timeout = CACHE_TIMEOUT;
	fill_ctl_stat(fs, ino, &e->attr);
}

/* A stand-in device node (dev/...): opened read-write like the real one. */
bool srv_is_standin(const struct vk_vt_node *n)
{
	size_t k = sizeof(VK_STANDIN_MAGIC) - 1;
	/* stored whole: a file whose stored bytes are fewer has a tail and is not one */
	return n->type == VK_VT_FILE && n->u.file.stored > k && !memcmp(n->u.file.data, VK_STANDIN_MAGIC, k);
}

/* ---- operations ---------------------------------------------------------- */

/* Does the kernel open files itself (the fast mode, or a live mount with
 * kernel opens)?  Then no open reaches the server after the first. */
static bool kernel_opens(const struct fs *fs)
{
	return !fs->live || fs->kernel_opens;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	/*
	 * A reader other than root and the server's own user (who serves the
	 * fake host and is taken as its administrator) gets what the kernel
	 * gives an opener without CAP_SYS_ADMIN of a config file.  Only a mount
	 * of root's has such readers (allow_other, serve/mount.c); they make
	 * every open a request, so that the server sees who opens.
	 */
	fs->per_reader = fs->owner == 0 && !fs->kernel_opens && srv_tree_per_reader(fs->cur.t);
	/*
	 * Symlink targets in the page cache (fs/fuse/dir.c fuse_get_link():
	 * page_get_link_raw() when fc->cache_symlinks, for every link of the
	 * connection).  A live tree's links change only through writes the
	 * server sees, which invalidate them (the kernel then reads the new
	 * target); but a log must see every readlink, and so must a readlink
	 * fault of the scenario, so neither mount caches them.  A readlink
	 * fault added later is served by invalidating its links after each
	 * readlink (op_readlink()).
	 */
	bool cache_links = (!fs->live || (!fs->have_log && !fs->log_lookups && !live_uncached(fs) &&
	                                  !fault_table_has(&fs->faults, VK_FAKESYS_OP_READLINK))) &&
	                   (conn->capable & FUSE_CAP_CACHE_SYMLINKS);
	fs->cache_links = cache_links;
	if (cache_links)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* see fill_stat(): how kernel opens see a write at once */
	if (fs->kernel_opens)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	fs->links_size_zero = !cache_links || srv_kernel_keeps_cached_link_targets();
	/* The fast mode and kernel opens: the kernel opens files and directories
	 * itself after the first ENOSYS and keeps their page cache and listings. */
	if (kernel_opens(fs) && !fs->per_reader && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT))
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
	else
		conn->want &= ~FUSE_CAP_NO_OPEN_SUPPORT;
	if (kernel_opens(fs) && (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT))
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
	else
		conn->want &= ~FUSE_CAP_NO_OPENDIR_SUPPORT;
}

/* How many bytes of file @n the opener of @req reads (see op_init()). */
static size_t reader_len(struct fs *fs, fuse_req_t req, const struct vk_vt_node *n)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);

	if (c && (c->uid == 0 || c->uid == fs->owner))
		return n->u.file.len;
	return vk_vt_node_unpriv_len(n);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rq q;
	struct fuse_entry_param e;

	rq_begin(&q, req, "lookup", VK_FAKESYS_OP_GETATTR);
	struct fs *fs = q.fs;
	if (parent == CTL_DIR_INO || (parent == FUSE_ROOT_ID && fs->live && !strcmp(name, CTL_DIR_NAME))) {
		snprintf(q.path, sizeof(q.path), "%s%s%s", CTL_DIR_NAME, parent == CTL_DIR_INO ? "/" : "",
		         parent == CTL_DIR_INO ? name : "");
		if (parent == CTL_DIR_INO && strcmp(name, CTL_FILE_NAME))
			return rq_fail(&q, ENOENT);
		fill_ctl_entry(fs, parent == CTL_DIR_INO ? CTL_FILE_INO : CTL_DIR_INO, &e);
		rq_log(&q, 0);
		fuse_reply_entry(req, &e);
		return rq_end(&q);
	}
	struct vk_vt_node *dir = srv_node_of(fs, parent);
	if (!dir)
		return rq_fail(&q, ENOENT);
	if (dir->type != VK_VT_DIR)
		return rq_fail(&q, ENOTDIR);
	rq_path(&q, dir, name);
	if (!(dir = rq_fault_node(&q, parent, ENOENT)))
		return;
	struct vk_vt_node *n = vk_vtree_child(dir, name);
	if (!n) {
		/* a negative entry the kernel may cache (ino 0): probes of absent
		 * attributes, common in lspci and udev, cost one round trip */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = entry_timeout(fs);
		rq_log(&q, ENOENT);
		fuse_reply_entry(req, &e);
		return rq_end(&q);
	}
	fill_entry(fs, n, &e);
	rq_log(&q, 0);
	fuse_reply_entry(req, &e);
	rq_end(&q);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rq q;
	struct stat st;

	rq_begin(&q, req, "getattr", VK_FAKESYS_OP_GETATTR);
	if (is_ctl(ino)) {
		fill_ctl_stat(q.fs, ino, &st);
		fuse_reply_attr(req, &st, 0);
		return rq_end(&q);
	}
	struct vk_vt_node *n = srv_node_of(q.fs, ino);
	if (!n)
		return rq_fail(&q, ENOENT);
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENOENT)))
		return;
	fill_stat(q.fs, n, &st);
	rq_log(&q, 0);
	fuse_reply_attr(req, &st, entry_timeout(q.fs));
	rq_end(&q);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct rq q;

	rq_begin(&q, req, "readlink", VK_FAKESYS_OP_READLINK);
	struct vk_vt_node *n = srv_node_of(q.fs, ino);
	if (!n)
		return rq_fail(&q, is_ctl(ino) ? EINVAL : ENOENT);
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENOENT)))
		return;
	if (n->type != VK_VT_LINK)
		return rq_fail(&q, EINVAL);
	rq_log(&q, 0);
	fuse_reply_readlink(req, n->u.link.target);
	/* a readlink fault added after the mount on a mount that caches link
	 * targets: the next readlink must reach the server again.  Queued to
	 * the notifier: the kernel holds the link's page locked until this
	 * reply is in (fs/fuse/dir.c fuse_readlink_folio()). */
	bool again = q.fs->live && q.fs->cache_links && q.traced &&
	             fault_table_matches(&q.fs->faults, VK_FAKESYS_OP_READLINK, q.path, q.ino);
	rq_end(&q);
	if (again) {
		struct invals iv = {0};
		srv_on_change(&iv, VK_VT_CHANGED, 0, NULL, ino);
		bool was = srv_invals_deferred;
		srv_invals_deferred = true;
		srv_invals_send(q.fs, &iv);
		srv_invals_deferred = was;
	}
}

/* A directory's listing as it was at opendir: names and inode numbers. */
struct dir_snap {
	struct open_handle h; /* first: freed through it */
	size_t n;
	struct dir_snap_ent {
		uint64_t ino;
		uint8_t type;
		const char *name; /* into names[] below */
	} * e;
	char names[];
};

static struct dir_snap *dir_snap_take(const struct vk_vt_node *dir)
{
	size_t bytes = 0;

	for (uint32_t i = 0; i < dir->u.dir.n; i++)
		bytes += strlen(dir->u.dir.kids[i]->name) + 1;
	struct dir_snap *s = malloc(sizeof(*s) + bytes + dir->u.dir.n * sizeof(*s->e) + _Alignof(struct dir_snap_ent));
	if (!s)
		return NULL;
	char *p = s->names;
	uintptr_t ents = ((uintptr_t)(s->names + bytes) + _Alignof(struct dir_snap_ent) - 1) &
	                 ~(uintptr_t)(_Alignof(struct dir_snap_ent) - 1);
	s->e = (struct dir_snap_ent *)ents;
	s->n = dir->u.dir.n;
	for (uint32_t i = 0; i < dir->u.dir.n; i++) {
		const struct vk_vt_node *k = dir->u.dir.kids[i];
		size_t l = strlen(k->name) + 1;
		memcpy(p, k->name, l);
		s->e[i] = (struct dir_snap_ent){.ino = k->ino, .type = k->type, .name = p};
		p += l;
	}
	return s;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rq q;

	rq_begin(&q, req, "opendir", VK_FAKESYS_OP_OPEN);
	q.flags = fi->flags;
	if (kernel_opens(q.fs)) {
		rq_end(&q);
		return (void)fuse_reply_err(req, ENOSYS); /* see op_init */
	}
	if (ino == CTL_DIR_INO) {
		snprintf(q.path, sizeof(q.path), CTL_DIR_NAME);
		rq_log(&q, 0);
		fuse_reply_open(req, fi);
		return rq_end(&q);
	}
	struct vk_vt_node *n = srv_node_of(q.fs, ino);
	if (!n)
		return rq_fail(&q, ino == CTL_FILE_INO ? ENOTDIR : ENOENT);
	if (n->type != VK_VT_DIR)
		return rq_fail(&q, ENOTDIR);
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENOENT)))
		return;
	/*
	 * Listings reach the server when the log or a readdir fault wants them,
	 * and once the directory's listing has changed: an opendir before the
	 * change lists from its own snapshot (below) and may fill the kernel's
	 * readdir cache with the old names after the invalidation; an open
	 * without FOPEN_CACHE_DIR neither reads that cache nor keeps it
	 * (fs/fuse/readdir.c fuse_readdir(), fs/fuse/dir.c fuse_dir_open()).
	 * Until then the kernel keeps the listing, dropped by the invalidation
	 * of the directory a change sends.
	 */
	bool cache = !log_on(q.fs) && !live_uncached(q.fs) && !srv_node_changed(q.fs, ino) &&
	             !fault_table_matches(&q.fs->faults, VK_FAKESYS_OP_READDIR, q.path, q.ino);
	fi->cache_readdir = cache;
	fi->keep_cache = cache;
	/* A tree that can change lists from a copy taken now: offsets are indices,
	 * and a change between two readdir calls must not repeat or skip names
	 * (real sysfs resumes by name hash; a frozen listing is as good). */
	if (q.fs->model) {
		struct dir_snap *snap = dir_snap_take(n);
		if (!snap)
			return rq_fail(&q, ENOMEM);
		fi->fh = (uintptr_t)snap;
		open_handle_add(q.fs, &snap->h, NULL);
	}
	rq_log(&q, 0);
	if (fuse_reply_open(req, fi) != 0)
		srv_open_handle_free(q.fs, (struct open_handle *)(uintptr_t)fi->fh);
	rq_end(&q);
}

/*
 * Entries at offset i: 0 ".", 1 "..", 2.. the sorted children; the offset
 * handed back with each entry is that of the next one.
 */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus,
                       const struct dir_snap *snap)
{
	struct rq q;

	rq_begin(&q, req, "readdir", VK_FAKESYS_OP_READDIR);
	q.off = off;
	q.size = (long long)size;
	struct fs *fs = q.fs;
	_cleanup_free_ char *buf = malloc(size);
	if (!buf)
		return rq_fail(&q, ENOMEM);
	if (ino == CTL_DIR_INO) {
		static const char *const names[] = {".", "..", CTL_FILE_NAME};
		static const fuse_ino_t inos[] = {CTL_DIR_INO, FUSE_ROOT_ID, CTL_FILE_INO};
		size_t pos = 0;
		snprintf(q.path, sizeof(q.path), CTL_DIR_NAME);
		for (size_t i = off < 0 ? 0 : (size_t)off; i < 3; i++) {
			struct stat st = {.st_ino = inos[i], .st_mode = i == 2 ? S_IFREG : S_IFDIR};
			struct fuse_entry_param e;
			size_t len;
			if (plus) {
				fill_ctl_entry(fs, i == 2 ? CTL_FILE_INO : CTL_DIR_INO, &e);
				if (i == 1) {
					struct vk_vt_node *root = srv_node_of(fs, FUSE_ROOT_ID);
					fill_entry(fs, root, &e);
				}
				len = fuse_add_direntry_plus(req, buf + pos, size - pos, names[i], &e, (off_t)i + 1);
			} else {
				len = fuse_add_direntry(req, buf + pos, size - pos, names[i], &st, (off_t)i + 1);
			}
			if (len > size - pos)
				break;
			pos += len;
		}
		rq_log(&q, 0);
		fuse_reply_buf(req, buf, pos);
		return rq_end(&q);
	}
	struct vk_vt_node *dir = srv_node_of(fs, ino);
	if (!dir)
		return rq_fail(&q, ENOENT);
	if (dir->type != VK_VT_DIR)
		return rq_fail(&q, ENOTDIR);
	rq_path(&q, dir, NULL);
	/* A listing is one access however many requests it takes: count the
	 * one that starts it. */
	if (off == 0) {
		if (!(dir = rq_fault_node(&q, ino, ENOENT)))
			return;
	}

	size_t pos = 0, total = (snap ? snap->n : (size_t)dir->u.dir.n) + 2;
	for (size_t i = off < 0 ? 0 : (size_t)off; i < total; i++) {
		const struct vk_vt_node *k = i == 0 ? dir : i == 1 ? dir->parent
		                                    : snap         ? NULL
		                                                   : dir->u.dir.kids[i - 2];
		const char *name = i == 0 ? "." : i == 1 ? ".."
		                          : snap         ? snap->e[i - 2].name
		                                         : k->name;
		size_t len;

		/* from a snapshot: the node as it is now, when it still exists */
		if (!k && (k = srv_node_of(fs, snap->e[i - 2].ino)) && strcmp(k->name, name))
			k = NULL;
		if (plus && k) {
			struct fuse_entry_param e;
			fill_entry(fs, k, &e);
			len = fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e, (off_t)i + 1);
		} else if (plus) { /* gone since opendir: a name without attributes */
			struct fuse_entry_param e = {.ino = 0};
			len = fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e, (off_t)i + 1);
		} else {
			struct stat st = {.st_ino = k ? k->ino : snap->e[i - 2].ino,
			                  .st_mode = k ? type_bits(k) : 0};
			len = fuse_add_direntry(req, buf + pos, size - pos, name, &st, (off_t)i + 1);
		}
		if (len > size - pos)
			break;
		pos += len;
	}
	rq_log(&q, 0);
	fuse_reply_buf(req, buf, pos);
	rq_end(&q);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, false, (const struct dir_snap *)(uintptr_t)fi->fh);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, true, (const struct dir_snap *)(uintptr_t)fi->fh);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	srv_open_handle_free(req_fs(req), (struct open_handle *)(uintptr_t)fi->fh); /* a dir_snap, or 0 */
	fuse_reply_err(req, 0);
}

/* A file's bytes as they were at open: what one open of a sysfs attribute
 * reads, however many read() calls it takes (seq_file fills its buffer once),
 * even when the tree changes in between. */
struct file_snap {
	struct open_handle h; /* first: freed through it */
	size_t len;
	uint8_t data[];
};

static void ctl_fh_free(struct open_handle *oh)
{
	struct ctl_fh *h = (struct ctl_fh *)oh;

	free(h->result);
	free(h);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != CTL_FILE_INO) {
		srv_open_handle_free(req_fs(req), (struct open_handle *)(uintptr_t)fi->fh); /* a file_snap, or 0 */
	} else if (fi->fh) {
		struct fs *fs = req_fs(req);
		/* the kernel may send the release as soon as a read's reply is
		 * written, before op_read is done with the buffer */
		pthread_mutex_lock(&fs->ctl_mu);
		srv_open_handle_free(fs, (struct open_handle *)(uintptr_t)fi->fh);
		pthread_mutex_unlock(&fs->ctl_mu);
	}
	fuse_reply_err(req, 0);
}

/* The first @len bytes of @n, as this open reads them (fi->fh). */
static int open_snap(struct rq *q, const struct vk_vt_node *n, size_t len, struct fuse_file_info *fi)
{
	struct file_snap *s = malloc(sizeof(*s) + len);

	if (!s)
		return -ENOMEM;
	s->len = len;
	vk_vt_file_read(n, 0, s->data, len);
	fi->fh = (uintptr_t)s;
	open_handle_add(q->fs, &s->h, NULL);
	return 0;
}

/*
 * An open in the fast mode (the tree never changes): kept in the page cache
 * across opens as the kernel's own opens would be, but for a file some reader
 * gets less of (pci_read_config()): direct I/O, so that neither reader is
 * served the other's bytes from the cache, and this reader's part.
 */
static void open_fast(struct rq *q, const struct vk_vt_node *n, struct fuse_file_info *fi)
{
	size_t len = reader_len(q->fs, q->req, n);

	bool wr = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);

	/* a write fails in op_write(), as when the kernel opened the file itself */
	fi->keep_cache = !wr && vk_vt_node_unpriv_len(n) == n->u.file.len;
	fi->direct_io = !fi->keep_cache;
	if (len < n->u.file.len && open_snap(q, n, len, fi) < 0)
		return rq_fail(q, ENOMEM);
	if (fuse_reply_open(q->req, fi) != 0)
		srv_open_handle_free(q->fs, (struct open_handle *)(uintptr_t)fi->fh);
	rq_end(q);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rq q;
	bool wr = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);

	rq_begin(&q, req, "open", VK_FAKESYS_OP_OPEN);
	q.flags = fi->flags;
	/* the control file too: its results are then not read (op_read()) */
	if (kernel_opens(q.fs) && !q.fs->per_reader) {
		rq_end(&q);
		return (void)fuse_reply_err(req, ENOSYS); /* see op_init */
	}
	if (ino == CTL_FILE_INO) {
		snprintf(q.path, sizeof(q.path), "%s/%s", CTL_DIR_NAME, CTL_FILE_NAME);
		struct ctl_fh *h = calloc(1, sizeof(*h));
		if (!h)
			return rq_fail(&q, ENOMEM);
		/* kept on the open list like the snapshots: a release the kernel
		 * never sends (a killed client, the server ending first) leaks nothing */
		open_handle_add(q.fs, &h->h, ctl_fh_free);
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		fi->keep_cache = 0;
		rq_log(&q, 0);
		if (fuse_reply_open(req, fi) != 0)
			srv_open_handle_free(q.fs, &h->h);
		return rq_end(&q);
	}
	struct vk_vt_node *n = srv_node_of(q.fs, ino);
	if (!n)
		return rq_fail(&q, ino == CTL_DIR_INO ? EISDIR : ENOENT);
	if (n->type == VK_VT_DIR)
		return rq_fail(&q, EISDIR);
	if (!q.fs->live) /* the fast mode, for a reader that may get less (op_init()) */
		return open_fast(&q, n, fi);
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENOENT)))
		return;
	if (wr && !srv_open_writable(q.fs, n))
		return rq_fail(&q, EROFS);
	/*
	 * The page cache is kept between opens (the kernel reads a file once
	 * until a change invalidates it), but every read reaches the server
	 * when a read fault may hit this file, when the file changed since
	 * the mount, for a file some reader gets less of, and for writes of
	 * control files.  Every open reads its snapshot (below), one whole
	 * value however many reads it takes, as a seq_file show() gives: so an
	 * open taken before a change may refill the page cache with the old
	 * bytes after the invalidation; those pages serve only such opens,
	 * since every later open of a changed file uses direct I/O.
	 */
	size_t len = n->type == VK_VT_FILE ? reader_len(q.fs, req, n) : 0;
	fi->direct_io = wr || live_uncached(q.fs) || srv_node_changed(q.fs, ino) ||
	                (n->type == VK_VT_FILE && vk_vt_node_unpriv_len(n) < n->u.file.len) ||
	                fault_table_matches(&q.fs->faults, VK_FAKESYS_OP_READ, q.path, q.ino);
	if (!fi->direct_io && n->type == VK_VT_FILE && !srv_node_set_paged(q.fs, ino))
		fi->direct_io = 1;
	/* with the log on, each open reads at least once (the log sees it) */
	fi->keep_cache = !fi->direct_io && !log_on(q.fs);
	if (n->type == VK_VT_FILE && (q.fs->model || len < n->u.file.len) && open_snap(&q, n, len, fi) < 0)
		return rq_fail(&q, ENOMEM);
	rq_log(&q, 0);
	if (fuse_reply_open(req, fi) != 0)
		srv_open_handle_free(q.fs, (struct open_handle *)(uintptr_t)fi->fh);
	rq_end(&q);
}

static void reply_text(fuse_req_t req, const char *s, size_t size, off_t off)
{
	size_t len = s ? strlen(s) : 0;
	if (off < 0 || (size_t)off >= len)
		return (void)fuse_reply_buf(req, NULL, 0);
	size_t take = len - (size_t)off < size ? len - (size_t)off : size;
	fuse_reply_buf(req, s + off, take);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct rq q;

	rq_begin(&q, req, "read", VK_FAKESYS_OP_READ);
	q.off = off;
	q.size = (long long)size;
	if (ino == CTL_FILE_INO) {
		struct fs *fs = q.fs;
		struct ctl_fh *h = (struct ctl_fh *)(uintptr_t)fi->fh;
		snprintf(q.path, sizeof(q.path), "%s/%s", CTL_DIR_NAME, CTL_FILE_NAME);
		/* With kernel opens a reader has no handle of its own: the kernel
		 * would keep one answer in its page cache for every later reader.
		 * Commands still run (their write fails as they do), unread. */
		if (fs->kernel_opens)
			return rq_fail(&q, EOPNOTSUPP);
		rq_log(&q, 0);
		pthread_mutex_lock(&fs->ctl_mu);
		reply_text(req, h && h->have ? h->result : fs->last_result, size, off);
		pthread_mutex_unlock(&fs->ctl_mu);
		return rq_end(&q);
	}
	struct vk_vt_node *n = srv_node_of(q.fs, ino);
	if (!n)
		return rq_fail(&q, ENOENT);
	if (n->type != VK_VT_FILE)
		return rq_fail(&q, EISDIR);
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENODEV))) /* removed while open: as sysfs answers */
		return;
	rq_log(&q, 0);
	const struct file_snap *snap = (const struct file_snap *)(uintptr_t)fi->fh;
	size_t len = snap ? snap->len : n->u.file.len;
	const uint8_t *data = snap ? snap->data : n->u.file.data;
	size_t cnt = off < 0 || (size_t)off >= len ? 0 : len - (size_t)off < size ? len - (size_t)off
	                                                                          : size;
	if (!snap && (size_t)off + cnt > n->u.file.stored) {
		/* past the stored bytes of a file with a zero tail (config space) */
		_cleanup_free_ char *copy = malloc(cnt ? cnt : 1);
		if (!copy)
			return rq_fail(&q, ENOMEM);
		fuse_reply_buf(req, copy, vk_vt_file_read(n, (uint64_t)off, copy, cnt));
	} else if (snap && cnt) {
		/* the reader may close (and the release free the snapshot) as soon
		 * as the kernel has the reply, while writev() is still returning */
		_cleanup_free_ char *copy = malloc(cnt);
		if (!copy)
			return rq_fail(&q, ENOMEM);
		memcpy(copy, data + off, cnt);
		fuse_reply_buf(req, copy, cnt);
	} else {
		fuse_reply_buf(req, cnt ? (const char *)data + off : NULL, cnt);
	}
	rq_end(&q);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
	struct rq q;
	struct vk_error e = {0};
	int r;

	rq_begin(&q, req, "write", VK_FAKESYS_OP_WRITE);
	q.off = off;
	q.size = (long long)size;
	struct fs *fs = q.fs;
	if (ino == CTL_FILE_INO) {
		snprintf(q.path, sizeof(q.path), "%s/%s", CTL_DIR_NAME, CTL_FILE_NAME);
		rq_log(&q, 0);
		rq_end(&q); /* commands take the locks they need */
		if (fi->fh) {
			r = srv_ctl_write(fs, (struct ctl_fh *)(uintptr_t)fi->fh, buf, size);
		} else if (fs->kernel_opens) { /* write-only: see op_read() */
			struct ctl_fh once = {0};
			srv_pages_locked = CTL_FILE_INO;
			r = srv_ctl_write(fs, &once, buf, size);
			srv_pages_locked = 0;
			free(once.result);
		} else {
			r = -EBADF;
		}
		if (r < 0)
			return (void)fuse_reply_err(req, -r);
		return (void)fuse_reply_write(req, size);
	}
	struct vk_vt_node *n = srv_node_of(fs, ino);
	if (!n)
		return rq_fail(&q, ENODEV);
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENODEV)))
		return;
	if (!fs->live || !srv_open_writable(fs, n))
		return rq_fail(&q, EROFS);
	if (srv_is_standin(n))
		return rq_fail(&q, EINVAL); /* nothing behind the file, as a VFIO device without a region */
	rq_end(&q);                         /* the mutation swaps the tree: not under our read lock */
	/* With kernel opens the write came through the page cache, whose page
	 * the kernel keeps locked until this reply is in (srv_invals_send()). */
	srv_pages_locked = fs->kernel_opens ? ino : 0;
	long taken = srv_live_write(fs, ino, buf, size, &e);
	srv_pages_locked = 0;
	pthread_rwlock_rdlock(&fs->lock);
	rq_log(&q, taken < 0 ? (int)-taken : 0);
	pthread_rwlock_unlock(&fs->lock);
	if (taken < 0)
		return (void)fuse_reply_err(req, (int)-taken);
	fuse_reply_write(req, (size_t)taken); /* at most a page, as sysfs takes */
}

/* ---- changes: refused, but for truncating a writable file (sysfs ignores it) */

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct stat st;
	const int harmless = FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME |
	                     FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW;

	if ((to_set & ~harmless) || !(to_set & FUSE_SET_ATTR_SIZE) || attr->st_size != 0 || !fs->live)
		return (void)fuse_reply_err(req, EROFS);
	if (ino == CTL_FILE_INO) {
		fill_ctl_stat(fs, ino, &st);
		return (void)fuse_reply_attr(req, &st, 0);
	}
	pthread_rwlock_rdlock(&fs->lock);
	struct vk_vt_node *n = srv_node_of(fs, ino);
	if (!n || !srv_open_writable(fs, n)) {
		pthread_rwlock_unlock(&fs->lock);
		return (void)fuse_reply_err(req, n ? EROFS : ENOENT);
	}
	fill_stat(fs, n, &st);
	pthread_rwlock_unlock(&fs->lock);
	fuse_reply_attr(req, &st, 0);
}

/* getxattr/listxattr/access/flush stay unset: libfuse answers ENOSYS, which
 * the kernel remembers, so they cost one round trip per mount. */
const struct fuse_lowlevel_ops srv_fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = srv_statfs,
	.write = op_write,
	.setattr = op_setattr,
	.mknod = srv_mknod,
	.mkdir = srv_mkdir,
	.unlink = srv_unlink,
	.rmdir = srv_unlink,
	.symlink = srv_symlink,
	.rename = srv_rename,
	.link = srv_link,
	.create = srv_create,
	.setxattr = srv_setxattr,
	.removexattr = srv_removexattr,
	.fallocate = srv_fallocate,
};
