/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The FUSE server of fakesys: serves a sealed vtree through the libfuse
 * low-level API (modelled on libfuse's example/passthrough_ll.c).
 *
 * Inode numbers are the tree's own (the root is 1 == FUSE_ROOT_ID), so every
 * request maps to its node with one array index and no lookup counting is
 * needed: a node lives as long as its tree, and a rebuilt tree keeps the
 * numbers of the paths that survive (vtree_inherit_inos()), never reusing one.
 *
 * Two modes (docs/architecture.md):
 * - fast (default): the tree never changes; the kernel may cache everything
 *   for as long as it likes (entries, negative entries, attributes, symlink
 *   targets, listings, pages) and opens files itself (FUSE_CAP_NO_OPEN_SUPPORT).
 * - live (serve_opens, implied by faults and the access log): every open
 *   reaches the server; faults are injected, operations logged, the control
 *   channel .fakesys/control answers, and writes to sysfs control files act as
 *   the kernel does, rebuilding the tree and invalidating the kernel's caches
 *   (fuse_lowlevel_notify_inval_*).
 *
 * The multi-threaded loop runs handlers concurrently: they hold the tree lock
 * for reading while they use nodes; a rebuild swaps the tree under it for
 * writing, and notifies the kernel after releasing it.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

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

#include <vfiokit/cleanup.h>
#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_tree.h>

#include "live/live.h"

extern char **environ;

/* The tree does not change behind the kernel's back: let it cache for a year. */
#define CACHE_TIMEOUT (365.0 * 24 * 3600)

/* The control channel: a directory and a file outside the tree, with inode
 * numbers no tree reaches. */
#define CTL_DIR_NAME ".fakesys"
#define CTL_FILE_NAME "control"
#define CTL_DIR_INO (UINT64_MAX - 1)
#define CTL_FILE_INO (UINT64_MAX - 2)

/* One served tree with its per-inode link counts. */
struct snap {
	struct vtree *t;
	uint32_t *nlink; /* by inode - 1: 2 + subdirectories for a directory, else 1 */
	bool owned;      /* freed by the server (trees it built) */
};

/* A change to the model or the tree, for the control channel's "chmod" and
 * "set": re-applied to every rebuilt tree. */
struct override {
	char *path;
	bool is_mode;
	uint32_t mode;
	char *value;
	size_t len;
};

/* The head of every per-open allocation (fi->fh) of a listing or a file. */
struct open_handle {
	struct open_handle *prev, *next;
};

struct fs {
	pthread_rwlock_t lock; /* readers: requests using nodes; writer: the swap */
	struct snap cur;
	struct timespec mounted; /* every timestamp of the tree */
	bool live;
	bool log_lookups; /* zero timeouts: every lookup reaches the server (and the log) */
	struct fault_table faults;
	struct access_log log;
	bool have_log;
	struct host_model *model; /* NULL: no kernel-like mutations */
	pthread_mutex_t model_mu; /* serialises mutations and rebuilds */
	struct override *ovr;
	size_t n_ovr;
	struct fuse_session *se;
	pthread_mutex_t ctl_mu;
	/* Per-open snapshots not released yet: freed at the end if the kernel
	 * never sends their release (clients killed, a lazy unmount). */
	pthread_mutex_t open_mu;
	struct open_handle *open_list;
	char *last_result; /* of the last control command, for a reader with none of its own */
	/* Invalidations a step made inside a request: sent by a thread of their
	 * own, since the request may hold a directory lock the kernel needs. */
	pthread_t notifier;
	bool notifier_on, notifier_stop;
	pthread_mutex_t nq_mu;
	pthread_cond_t nq_cond;
	struct invals *nq; /* queued batches */
	size_t nq_n, nq_cap;
	uid_t owner;
	gid_t owner_gid;
};

/* Per open of the control file: the result of the commands written through it. */
struct ctl_fh {
	char *result;
	bool have;
};

/* ---- trees ---------------------------------------------------------------- */

static void snap_free(struct snap *s)
{
	if (s->owned)
		vtree_free(s->t);
	free(s->nlink);
	memset(s, 0, sizeof(*s));
}

static int snap_make(struct snap *s, struct vtree *t, bool owned)
{
	uint64_t max = vtree_max_ino(t);

	memset(s, 0, sizeof(*s));
	s->nlink = malloc((max ? max : 1) * sizeof(*s->nlink));
	if (!s->nlink)
		return -ENOMEM;
	for (uint64_t i = 0; i < max; i++) {
		struct vt_node *n = vtree_by_ino(t, i + 1);
		s->nlink[i] = n && n->type == VT_DIR ? 2 : 1;
	}
	for (uint64_t i = 0; i < max; i++) {
		struct vt_node *n = vtree_by_ino(t, i + 1);
		if (n && n->type == VT_DIR && n->parent != n)
			s->nlink[n->parent->ino - 1]++;
	}
	s->t = t;
	s->owned = owned;
	return 0;
}

/* ---- requests --------------------------------------------------------- */

static struct fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Keep @h (the head of a malloc'd per-open snapshot) until its release. */
static void open_handle_add(struct fs *fs, struct open_handle *h)
{
	pthread_mutex_lock(&fs->open_mu);
	h->prev = NULL;
	h->next = fs->open_list;
	if (fs->open_list)
		fs->open_list->prev = h;
	fs->open_list = h;
	pthread_mutex_unlock(&fs->open_mu);
}

/* Release @h (may be NULL): unlink and free it. */
static void open_handle_free(struct fs *fs, struct open_handle *h)
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
	free(h);
}

static struct vt_node *node_of(struct fs *fs, fuse_ino_t ino)
{
	return vtree_by_ino(fs->cur.t, ino);
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
	q->traced = log_on(q->fs) || fault_table_has(&q->fs->faults, FAKESYS_OP_ALL);
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
static void rq_path(struct rq *q, const struct vt_node *n, const char *child)
{
	if (!q->traced)
		return;
	if (child) {
		const struct vt_node *k = vtree_child(n, child);
		q->ino = k ? k->ino : 0;
	} else {
		q->ino = n->ino;
	}
	int len = vtree_path(n, q->path, sizeof(q->path));
	if (len < 0) {
		q->path[0] = '\0';
		return;
	}
	if (child)
		snprintf(q->path + len, sizeof(q->path) - (size_t)len, "%s%s", len ? "/" : "", child);
}

static void run_step(struct fs *fs, char *cmds);

/*
 * Count this access against the faults; returns the errno to fail with or 0.
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
		run_step(q->fs, step);
		free(step);
		pthread_rwlock_rdlock(&q->fs->lock);
	}
	if (delay) {
		pthread_rwlock_unlock(&q->fs->lock);
		struct timespec ts = {.tv_sec = delay / 1000, .tv_nsec = (long)(delay % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		pthread_rwlock_rdlock(&q->fs->lock);
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
static struct vt_node *rq_fault_node(struct rq *q, fuse_ino_t ino, int gone)
{
	int err = rq_fault(q);
	struct vt_node *n;

	if (err) {
		rq_fail(q, err);
		return NULL;
	}
	n = node_of(q->fs, ino);
	if (!n)
		rq_fail(q, gone);
	return n;
}

static double entry_timeout(struct fs *fs)
{
	/* A faulted lookup/getattr must reach the server every time, and so must
	 * every lookup the log is asked to see. */
	if (fs->log_lookups || fault_table_has(&fs->faults, FAKESYS_OP_GETATTR))
		return 0;
	return CACHE_TIMEOUT;
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
	st->st_nlink = fs->cur.nlink[n->ino - 1];
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
static bool is_standin(const struct vt_node *n)
{
	size_t k = sizeof(VK_STANDIN_MAGIC) - 1;
	return n->type == VT_FILE && n->u.file.len > k && !memcmp(n->u.file.data, VK_STANDIN_MAGIC, k);
}

/* ---- kernel-like writes (the live tree) ------------------------------------ */

enum wkind { W_NONE, W_BIND, W_UNBIND, W_NEW_ID, W_OVERRIDE, W_PROBE, W_REMOVE, W_NUMVFS };

/* Which sysfs control file @n is; @arg receives the driver name or the
 * device address it concerns.  Works on the node's names, so no path is needed. */
static enum wkind write_kind(const struct vt_node *n, char *arg, size_t len)
{
	const struct vt_node *p = n->parent, *pp = p->parent, *ppp = pp->parent;
	const char *name = n->name;

	if (n->type != VT_FILE)
		return W_NONE;
	/* sys/bus/pci/drivers/<drv>/{bind,unbind,new_id} */
	if (!strcmp(pp->name, "drivers") && !strcmp(ppp->name, "pci") && !strcmp(ppp->parent->name, "bus")) {
		snprintf(arg, len, "%s", p->name);
		return !strcmp(name, "bind") ? W_BIND : !strcmp(name, "unbind") ? W_UNBIND
		     : !strcmp(name, "new_id") ? W_NEW_ID : W_NONE;
	}
	/* sys/bus/pci/drivers_probe */
	if (!strcmp(name, "drivers_probe") && !strcmp(p->name, "pci") && !strcmp(pp->name, "bus"))
		return W_PROBE;
	/* sys/devices/.../<BDF>/{driver_override,remove,sriov_numvfs} */
	struct pci_addr a;
	if (pci_addr_parse(p->name, &a, NULL) < 0)
		return W_NONE;
	snprintf(arg, len, "%s", p->name);
	return !strcmp(name, "driver_override") ? W_OVERRIDE : !strcmp(name, "remove") ? W_REMOVE
	     : !strcmp(name, "sriov_numvfs") ? W_NUMVFS : W_NONE;
}

/* May @n be opened for writing?  Stand-ins (their writes fail like a VFIO
 * device's) and, with a model, the kernel-like control files. */
static bool open_writable(struct fs *fs, const struct vt_node *n)
{
	char arg[NAME_MAX + 1];

	return is_standin(n) || (fs->model && write_kind(n, arg, sizeof(arg)) != W_NONE);
}

/* ---- what a fault's pattern names through symlinks ------------------------- */

struct inovec {
	uint64_t *v;
	size_t n, cap;
	bool oom;
};

static void inovec_push(struct inovec *iv, uint64_t ino)
{
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? iv->cap * 2 : 16;
		uint64_t *v = realloc(iv->v, cap * sizeof(*v));
		if (!v) {
			iv->oom = true;
			return;
		}
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n++] = ino;
}

#define MAX_LINK_DEPTH 40 /* the kernel's MAXSYMLINKS */

static struct vt_node *resolve_link(struct vtree *t, const struct vt_node *link, int depth);

/* The node at @rel from directory @dir, following every symlink (the last too). */
static struct vt_node *walk_from(struct vtree *t, struct vt_node *dir, const char *rel, int depth)
{
	struct vt_node *cur = dir;
	char comp[NAME_MAX + 1];

	for (const char *p = rel; cur && *p;) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		p = *end ? end + 1 : end;
		if (!len)
			continue;
		if (len > NAME_MAX)
			return NULL;
		memcpy(comp, end - len, len);
		comp[len] = '\0';
		if (cur->type == VT_LINK && !(cur = resolve_link(t, cur, depth + 1)))
			return NULL;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			cur = cur->parent;
			continue;
		}
		if (cur->type != VT_DIR)
			return NULL;
		cur = vtree_child(cur, comp);
	}
	if (cur && cur->type == VT_LINK)
		cur = resolve_link(t, cur, depth + 1);
	return cur;
}

static struct vt_node *resolve_link(struct vtree *t, const struct vt_node *link, int depth)
{
	const char *target = link->u.link.target;

	if (depth > MAX_LINK_DEPTH)
		return NULL;
	if (target[0] == '/')
		return walk_from(t, vtree_root(t), target + 1, depth);
	return walk_from(t, link->parent, target, depth);
}

/* The nodes @pat (relative to directory @dir) names, directory links followed. */
static void expand_at(struct vtree *t, struct vt_node *dir, const char *pat, struct inovec *out)
{
	char comp[NAME_MAX + 1];

	if (dir->type == VT_LINK)
		dir = resolve_link(t, dir, 0);
	if (!dir || dir->type != VT_DIR)
		return;
	while (*pat == '/')
		pat++;
	const char *end = strchrnul(pat, '/');
	size_t len = (size_t)(end - pat);
	if (!len || len > NAME_MAX)
		return;
	memcpy(comp, pat, len);
	comp[len] = '\0';
	const char *rest = *end ? end + 1 : NULL;
	bool last = !rest || !*rest;
	if (!strpbrk(comp, "*?[\\")) {
		struct vt_node *k = vtree_child(dir, comp);
		if (k && last)
			inovec_push(out, k->ino);
		else if (k)
			expand_at(t, k, rest, out);
		return;
	}
	for (uint32_t i = 0; i < dir->u.dir.n; i++) {
		struct vt_node *k = dir->u.dir.kids[i];
		if (fnmatch(comp, k->name, 0))
			continue;
		if (last)
			inovec_push(out, k->ino);
		else
			expand_at(t, k, rest, out);
	}
}

static int cmp_ino(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* fault_expand_fn on the tree @ctx. */
static int expand_pattern(void *ctx, const char *pattern, uint64_t **inos, size_t *n)
{
	struct vtree *t = ctx;
	struct inovec iv = {0};

	expand_at(t, vtree_root(t), pattern, &iv);
	if (iv.oom) {
		free(iv.v);
		return -ENOMEM;
	}
	if (iv.n)
		qsort(iv.v, iv.n, sizeof(*iv.v), cmp_ino);
	size_t w = 0;
	for (size_t i = 0; i < iv.n; i++)
		if (!w || iv.v[w - 1] != iv.v[i])
			iv.v[w++] = iv.v[i];
	*inos = iv.v;
	*n = w;
	return 0;
}

/* ---- invalidating the kernel's caches ----------------------------------- */

struct inval {
	uint64_t parent, ino;
	char *name; /* NULL: the inode @ino (attributes, pages, listing) */
};

struct invals {
	struct inval *v;
	size_t n, cap;
	bool oom;
};

static void invals_add(struct invals *iv, uint64_t parent, const char *name, uint64_t ino)
{
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? iv->cap * 2 : 32;
		struct inval *v = realloc(iv->v, cap * sizeof(*v));
		if (!v) {
			iv->oom = true;
			return;
		}
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n] = (struct inval){.parent = parent, .ino = ino, .name = name ? strdup(name) : NULL};
	if (name && !iv->v[iv->n].name) {
		iv->oom = true;
		return;
	}
	iv->n++;
}

/* Set while a step runs inside a request (see struct fs, notifier). */
static __thread bool invals_deferred;

static void invals_send_now(struct fs *fs, struct invals *iv);

static void *notifier_main(void *arg)
{
	struct fs *fs = arg;

	pthread_mutex_lock(&fs->nq_mu);
	for (;;) {
		while (!fs->nq_n && !fs->notifier_stop)
			pthread_cond_wait(&fs->nq_cond, &fs->nq_mu);
		if (!fs->nq_n && fs->notifier_stop)
			break;
		struct invals batch = fs->nq[0];
		memmove(fs->nq, fs->nq + 1, (fs->nq_n - 1) * sizeof(*fs->nq));
		fs->nq_n--;
		pthread_mutex_unlock(&fs->nq_mu);
		invals_send_now(fs, &batch);
		pthread_mutex_lock(&fs->nq_mu);
	}
	pthread_mutex_unlock(&fs->nq_mu);
	return NULL;
}

/* Send them (without the tree lock: the kernel may need answers meanwhile);
 * ENOENT means "nothing cached", which is fine.  Inside a step they are
 * queued for the notifier thread instead. */
static void invals_send(struct fs *fs, struct invals *iv)
{
	if (invals_deferred && fs->notifier_on) {
		pthread_mutex_lock(&fs->nq_mu);
		if (fs->nq_n == fs->nq_cap) {
			size_t cap = fs->nq_cap ? fs->nq_cap * 2 : 8;
			struct invals *v = realloc(fs->nq, cap * sizeof(*v));
			if (v) {
				fs->nq = v;
				fs->nq_cap = cap;
			}
		}
		if (fs->nq_n < fs->nq_cap) {
			fs->nq[fs->nq_n++] = *iv;
			memset(iv, 0, sizeof(*iv));
			pthread_cond_signal(&fs->nq_cond);
			pthread_mutex_unlock(&fs->nq_mu);
			return;
		}
		pthread_mutex_unlock(&fs->nq_mu);
		/* out of memory: the kernel keeps what it cached */
		for (size_t i = 0; i < iv->n; i++)
			free(iv->v[i].name);
		free(iv->v);
		memset(iv, 0, sizeof(*iv));
		return;
	}
	invals_send_now(fs, iv);
}

static void invals_send_now(struct fs *fs, struct invals *iv)
{
	for (size_t i = 0; i < iv->n; i++) {
		struct inval *x = &iv->v[i];
		if (fs->se && x->name)
			fuse_lowlevel_notify_inval_entry(fs->se, x->parent, x->name, strlen(x->name));
		else if (fs->se)
			fuse_lowlevel_notify_inval_inode(fs->se, x->ino, 0, 0);
		free(x->name);
	}
	free(iv->v);
	memset(iv, 0, sizeof(*iv));
}

static void on_change(void *ctx, enum vt_change what, uint64_t parent, const char *name, uint64_t ino)
{
	struct invals *iv = ctx;

	if (what == VT_CHANGED)
		invals_add(iv, 0, NULL, ino);
	else
		invals_add(iv, parent, name, ino);
}

/* Drop what the kernel caches of every node matching @pattern (a new fault
 * must see the next access). */
static void invalidate_matching(struct fs *fs, const char *pattern)
{
	struct invals iv = {0};
	char path[PATH_MAX];

	uint64_t *named = NULL;
	size_t n_named = 0;

	pthread_rwlock_rdlock(&fs->lock);
	if (expand_pattern(fs->cur.t, pattern, &named, &n_named) < 0)
		n_named = 0;
	for (uint64_t ino = 1; ino <= vtree_max_ino(fs->cur.t); ino++) {
		struct vt_node *n = vtree_by_ino(fs->cur.t, ino);
		if (!n)
			continue;
		if (!(n_named && bsearch(&ino, named, n_named, sizeof(ino), cmp_ino)) &&
		    (vtree_path(n, path, sizeof(path)) < 0 || fnmatch(pattern, path, FNM_PATHNAME)))
			continue;
		if (n->parent != n)
			invals_add(&iv, n->parent->ino, n->name, n->ino);
		invals_add(&iv, 0, NULL, n->ino);
	}
	pthread_rwlock_unlock(&fs->lock);
	free(named);
	invals_send(fs, &iv);
}

/* ---- rebuilding after a change -------------------------------------------- */

static int apply_overrides(struct fs *fs, struct vtree *t, struct vk_error *err)
{
	for (size_t i = 0; i < fs->n_ovr; i++) {
		struct override *o = &fs->ovr[i];
		struct vt_node *n = vtree_lookup(t, o->path);
		if (!n)
			continue; /* the path went away; the override waits for it */
		if (o->is_mode)
			n->mode = o->mode;
		else if (vtree_set_file(t, n, o->value, o->len) < 0)
			return vk_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/*
 * Build the tree of the (changed) model, carry the inode numbers over, swap it
 * in and tell the kernel what changed.  Called with model_mu held.
 */
static int fs_rebuild(struct fs *fs, struct vk_error *err)
{
	struct vtree *t = NULL;
	struct snap s;
	struct invals iv = {0};
	int r;

	if (fs->model) {
		r = host_tree_build(fs->model, &t, err);
		if (r < 0)
			return r;
	} else {
		return vk_error_set(err, EROFS, "this mount has no host model to change");
	}
	if ((r = apply_overrides(fs, t, err)) < 0 || (r = vtree_inherit_inos(t, fs->cur.t, on_change, &iv)) < 0 ||
	    (r = snap_make(&s, t, true)) < 0) {
		vtree_free(t);
		for (size_t i = 0; i < iv.n; i++)
			free(iv.v[i].name);
		free(iv.v);
		return vk_error_set(err, r, "rebuilding the tree: %s", strerror(-r));
	}
	fault_table_expand(&fs->faults, expand_pattern, t);
	pthread_rwlock_wrlock(&fs->lock);
	struct snap old = fs->cur;
	fs->cur = s;
	pthread_rwlock_unlock(&fs->lock);
	snap_free(&old);
	/* each rebuild frees a whole tree; hand the pages back instead of letting
	 * the worker threads' malloc arenas keep them (RSS stays flat under load) */
	malloc_trim(0);
	if (iv.oom) /* could not note every change: drop everything the kernel has */
		invalidate_matching(fs, "*");
	invals_send(fs, &iv);
	return 0;
}

/*
 * A kernel-like write to the control file @ino, with model_mu held: returns 0
 * or -errno.  A client's write(2) and the control channel's "write" both end
 * here, so that they change the host the same way.
 */
static int live_write_locked(struct fs *fs, fuse_ino_t ino, const char *buf, size_t size, struct vk_error *err)
{
	char arg[NAME_MAX + 1] = "";
	enum wkind k;
	struct pci_addr a;
	int r;

	pthread_rwlock_rdlock(&fs->lock);
	struct vt_node *n = node_of(fs, ino);
	k = n ? write_kind(n, arg, sizeof(arg)) : W_NONE;
	pthread_rwlock_unlock(&fs->lock);
	if (!n)
		return vk_error_set(err, ENODEV, "the file went away");
	if (k == W_OVERRIDE || k == W_REMOVE || k == W_NUMVFS)
		pci_addr_parse(arg, &a, NULL);
	switch (k) {
	case W_BIND:
		r = live_bind(fs->model, arg, buf, size, err);
		break;
	case W_UNBIND:
		r = live_unbind(fs->model, arg, buf, size, err);
		break;
	case W_NEW_ID:
		r = live_new_id(fs->model, arg, buf, size, err);
		break;
	case W_PROBE:
		r = live_drivers_probe(fs->model, buf, size, err);
		break;
	case W_OVERRIDE:
		r = live_driver_override(fs->model, &a, buf, size, err);
		break;
	case W_REMOVE:
		r = live_remove(fs->model, &a, buf, size, err);
		break;
	case W_NUMVFS:
		r = live_sriov_numvfs(fs->model, &a, buf, size, err);
		break;
	default:
		r = vk_error_set(err, EROFS, "not a control file");
		break;
	}
	if (r == 0)
		r = fs_rebuild(fs, err);
	else if (r > 0)
		r = 0;
	return r;
}

/* A client's write(2) of the control file @ino: returns 0 or -errno. */
static int live_write(struct fs *fs, fuse_ino_t ino, const char *buf, size_t size, struct vk_error *err)
{
	pthread_mutex_lock(&fs->model_mu);
	int r = live_write_locked(fs, ino, buf, size, err);
	pthread_mutex_unlock(&fs->model_mu);
	return r;
}

/* ---- the control channel ---------------------------------------------------- */

static int ctl_fault(struct fs *fs, char *args, FILE *out, struct vk_error *err)
{
	char *save = NULL, *verb = strtok_r(args, " \t", &save);
	char *rest = save;

	if (verb && !strcmp(verb, "add")) {
		struct fakesys_fault f;
		int r = fakesys_fault_parse(rest ? rest : "", &f, err);
		if (r < 0)
			return r;
		r = fault_table_add(&fs->faults, &f);
		if (r == 0) {
			pthread_rwlock_rdlock(&fs->lock);
			fault_table_expand(&fs->faults, expand_pattern, fs->cur.t);
			pthread_rwlock_unlock(&fs->lock);
			invalidate_matching(fs, f.path);
		}
		free(f.path);
		if (r < 0)
			return vk_error_set(err, r, "out of memory");
		fprintf(out, "ok\n");
		return 0;
	}
	if (verb && !strcmp(verb, "clear")) {
		char *path = strtok_r(NULL, " \t", &save);
		if (path && *path == '/')
			path++;
		size_t n = fault_table_clear(&fs->faults, path);
		if (path)
			invalidate_matching(fs, path);
		fprintf(out, "ok %zu cleared\n", n);
		return 0;
	}
	if (verb && !strcmp(verb, "list")) {
		_cleanup_free_ char *l = fault_table_list(&fs->faults);
		fputs(l ? l : "", out);
		return 0;
	}
	return vk_error_set(err, EINVAL, "fault: expected 'fault add PATH OP ERRNO [nth=N] [times=N] [delay=MS]', "
	                                 "'fault clear [PATH]' or 'fault list'");
}

static int ctl_addr(const char *s, struct pci_addr *a, struct vk_error *err)
{
	if (!s || pci_addr_parse(s, a, NULL) < 0)
		return vk_error_set(err, EINVAL, "'%s' is not a PCI address (DDDD:BB:SS.F)", s ? s : "");
	return 0;
}

static int add_override(struct fs *fs, const char *path, bool is_mode, uint32_t mode, const char *value)
{
	struct override *v = realloc(fs->ovr, (fs->n_ovr + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	fs->ovr = v;
	struct override *o = &fs->ovr[fs->n_ovr];
	*o = (struct override){.is_mode = is_mode, .mode = mode};
	o->path = strdup(path);
	if (value) {
		o->len = strlen(value) + 1;
		o->value = malloc(o->len);
		if (o->value) {
			memcpy(o->value, value, o->len - 1);
			o->value[o->len - 1] = '\n';
		}
	}
	if (!o->path || (value && !o->value)) {
		free(o->path);
		free(o->value);
		return -ENOMEM;
	}
	fs->n_ovr++;
	return 0;
}

/* "chmod PATH MODE" and "set PATH VALUE": change a node of the tree. */
static int ctl_node(struct fs *fs, bool chmod, char *args, struct vk_error *err)
{
	char *save = NULL, *path = strtok_r(args, " \t", &save);
	char *rest = save;
	uint32_t mode = 0;

	if (!path || !rest || !*rest)
		return vk_error_set(err, EINVAL, chmod ? "chmod: expected PATH MODE (octal)" : "set: expected PATH VALUE");
	while (*path == '/')
		path++;
	if (chmod) {
		char *end;
		unsigned long m = strtoul(rest, &end, 8);
		if (*end || m > 07777)
			return vk_error_set(err, EINVAL, "chmod: '%s' is not an octal mode", rest);
		mode = (uint32_t)m;
	}
	/* symlinks followed, as chmod(2) and write(2) do; kept by the real path */
	char real[PATH_MAX];
	pthread_rwlock_rdlock(&fs->lock);
	struct vt_node *n = walk_from(fs->cur.t, vtree_root(fs->cur.t), path, 0);
	bool ok = n && (chmod || n->type == VT_FILE) && vtree_path(n, real, sizeof(real)) >= 0;
	pthread_rwlock_unlock(&fs->lock);
	if (!ok)
		return vk_error_set(err, n ? EINVAL : ENOENT, "%s: %s", path, n ? "not a regular file" : "no such path");
	if (add_override(fs, real, chmod, mode, chmod ? NULL : rest) < 0)
		return vk_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* The files "write" (and a client's write(2)) acts on; see write_kind(). */
#define CTL_WRITE_FILES "bind, unbind, new_id, driver_override, drivers_probe, remove, sriov_numvfs"

/*
 * "write PATH VALUE": what `echo VALUE > PATH` does to a kernel-like control
 * file, through the same code as a client's write(2) of it.  Called with
 * model_mu held, so the tree cannot change between finding the file and
 * writing it.  The command is not an access of the file: no fault counts it
 * and no step fires on it (a step's write would run a step inside a step).
 */
static int ctl_sysfs_write(struct fs *fs, char *args, struct vk_error *err)
{
	char *save = NULL, *path = strtok_r(args, " \t", &save);
	const char *value = save ? save + strspn(save, " \t") : "";
	char arg[NAME_MAX + 1];

	if (!path || !*value)
		return vk_error_set(err, EINVAL, "write: expected PATH VALUE (written as echo VALUE > PATH would)");
	while (*path == '/')
		path++;
	/* symlinks followed, as the open(2) before a write(2) does */
	pthread_rwlock_rdlock(&fs->lock);
	struct vt_node *n = walk_from(fs->cur.t, vtree_root(fs->cur.t), path, 0);
	fuse_ino_t ino = n ? n->ino : 0;
	bool control = n && write_kind(n, arg, sizeof(arg)) != W_NONE;
	pthread_rwlock_unlock(&fs->lock);
	if (!n)
		return vk_error_set(err, ENOENT, "%s: no such path", path);
	if (!control)
		return vk_error_set(err, EINVAL, "%s: not a sysfs control file (" CTL_WRITE_FILES ")", path);
	/* the bytes echo writes: VALUE and a newline */
	size_t len = strlen(value);
	_cleanup_free_ char *buf = malloc(len + 1);
	if (!buf)
		return vk_error_set(err, ENOMEM, "out of memory");
	memcpy(buf, value, len);
	buf[len] = '\n';
	return live_write_locked(fs, ino, buf, len + 1, err);
}

/* "bind", "unbind", "remove": the control-channel forms, by address. */
static int ctl_device(struct fs *fs, const char *cmd, char *args, struct vk_error *err)
{
	char *save = NULL, *bdf = strtok_r(args, " \t", &save);
	char *drv = strtok_r(NULL, " \t", &save);
	struct pci_addr a;
	int r = ctl_addr(bdf, &a, err);

	if (r < 0)
		return r;
	if (!strcmp(cmd, "bind"))
		return drv ? live_force_bind(fs->model, &a, drv, err)
		           : vk_error_set(err, EINVAL, "bind: expected BDF DRIVER");
	if (!strcmp(cmd, "unbind"))
		return live_force_unbind(fs->model, &a, err);
	return live_remove(fs->model, &a, "1", 1, err);
}

/* A command that changes the host, with model_mu held: 0 or -errno. */
static int ctl_change(struct fs *fs, const char *cmd, char *args, struct vk_error *err)
{
	int r;

	if (!strcmp(cmd, "write"))
		return ctl_sysfs_write(fs, args, err); /* rebuilds itself, as a client's write does */
	if (!strcmp(cmd, "chmod") || !strcmp(cmd, "set"))
		r = ctl_node(fs, !strcmp(cmd, "chmod"), args, err);
	else
		r = ctl_device(fs, cmd, args, err);
	return r == 0 ? fs_rebuild(fs, err) : r < 0 ? r : 0;
}

static bool is_change_verb(const char *cmd)
{
	static const char *const verbs[] = {"bind", "unbind", "remove", "chmod", "set", "write"};

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(cmd, verbs[i]))
			return true;
	return false;
}

/* Run one command line; its answer goes to @out.  Returns 0 or -errno. */
static int ctl_exec(struct fs *fs, char *line, FILE *out, struct vk_error *err)
{
	char *save = NULL, *cmd = strtok_r(line, " \t", &save);
	char *args = save ? save : (char *)"";
	int r;

	while (*args == ' ' || *args == '\t')
		args++;
	if (!cmd)
		return 0;
	if (!strcmp(cmd, "fault"))
		return ctl_fault(fs, args, out, err);
	if (!strcmp(cmd, "log")) {
		if (!fs->have_log)
			return vk_error_set(err, EINVAL, "log: this mount has no log (mount with --log FILE)");
		if (strcmp(args, "on") && strcmp(args, "off"))
			return vk_error_set(err, EINVAL, "log: expected 'log on' or 'log off'");
		atomic_store(&fs->log.on, !strcmp(args, "on"));
		fprintf(out, "ok\n");
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		fputs("fault add PATH OP ERRNO [nth=N] [times=N] [delay=MS]\nfault clear [PATH]\nfault list\n"
		      "log on|off\nbind BDF DRIVER\nunbind BDF\nremove BDF\nchmod PATH MODE\nset PATH VALUE\n"
		      "write PATH VALUE\n",
		      out);
		return 0;
	}
	if (!is_change_verb(cmd))
		return vk_error_set(err, EINVAL, "unknown command '%s' (try 'help')", cmd);
	if (!fs->model)
		return vk_error_set(err, EROFS, "%s: this mount has no host model to change", cmd);
	/* serialised with the sysfs writes; "write" ends in live_write_locked(),
	 * which expects this lock held rather than taking it again */
	pthread_mutex_lock(&fs->model_mu);
	r = ctl_change(fs, cmd, args, err);
	pthread_mutex_unlock(&fs->model_mu);
	if (r >= 0)
		fprintf(out, "ok\n");
	return r < 0 ? r : 0;
}

/* Run every line of @buf; the answers (or "error: ...") become the result. */
static int ctl_write(struct fs *fs, struct ctl_fh *h, const char *buf, size_t size)
{
	_cleanup_free_ char *text = strndup(buf, size);
	char *res = NULL, *save = NULL;
	size_t len = 0;
	int r = 0;

	if (!text)
		return -ENOMEM;
	FILE *out = open_memstream(&res, &len);
	if (!out)
		return -ENOMEM;
	for (char *line = strtok_r(text, "\n", &save); line && r == 0; line = strtok_r(NULL, "\n", &save)) {
		struct vk_error e = {0};
		r = ctl_exec(fs, line, out, &e);
		if (r < 0)
			fprintf(out, "error: %s\n", e.msg[0] ? e.msg : strerror(-r));
	}
	fclose(out);
	pthread_mutex_lock(&fs->ctl_mu);
	free(h->result);
	h->result = res;
	h->have = true;
	free(fs->last_result);
	fs->last_result = res ? strdup(res) : NULL;
	pthread_mutex_unlock(&fs->ctl_mu);
	return r;
}

/* Run a step's commands (one per line); the answers become the control
 * channel's last result. */
static void run_step(struct fs *fs, char *cmds)
{
	char *res = NULL, *save = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&res, &len);

	if (!out)
		return;
	invals_deferred = true;
	for (char *line = strtok_r(cmds, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct vk_error e = {0};
		fprintf(out, "step: %s\n", line);
		int r = ctl_exec(fs, line, out, &e);
		if (r < 0)
			fprintf(out, "error: %s\n", e.msg[0] ? e.msg : strerror(-r));
	}
	invals_deferred = false;
	fclose(out);
	pthread_mutex_lock(&fs->ctl_mu);
	free(fs->last_result);
	fs->last_result = res;
	pthread_mutex_unlock(&fs->ctl_mu);
}

/* ---- operations ---------------------------------------------------------- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	/* Symlink targets in the page cache: only while the tree never changes. */
	if (!fs->live && (conn->capable & FUSE_CAP_CACHE_SYMLINKS))
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* The fast mode: the kernel opens files and directories itself after the
	 * first ENOSYS and keeps their page cache and listings. */
	if (!fs->live && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT))
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
	else
		conn->want &= ~FUSE_CAP_NO_OPEN_SUPPORT;
	if (!fs->live && (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT))
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
	else
		conn->want &= ~FUSE_CAP_NO_OPENDIR_SUPPORT;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rq q;
	struct fuse_entry_param e;

	rq_begin(&q, req, "lookup", FAKESYS_OP_GETATTR);
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
	struct vt_node *dir = node_of(fs, parent);
	if (!dir)
		return rq_fail(&q, ENOENT);
	if (dir->type != VT_DIR)
		return rq_fail(&q, ENOTDIR);
	rq_path(&q, dir, name);
	if (!(dir = rq_fault_node(&q, parent, ENOENT)))
		return;
	struct vt_node *n = vtree_child(dir, name);
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

	rq_begin(&q, req, "getattr", FAKESYS_OP_GETATTR);
	if (is_ctl(ino)) {
		fill_ctl_stat(q.fs, ino, &st);
		fuse_reply_attr(req, &st, 0);
		return rq_end(&q);
	}
	struct vt_node *n = node_of(q.fs, ino);
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

	rq_begin(&q, req, "readlink", FAKESYS_OP_READLINK);
	struct vt_node *n = node_of(q.fs, ino);
	if (!n)
		return rq_fail(&q, is_ctl(ino) ? EINVAL : ENOENT);
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENOENT)))
		return;
	if (n->type != VT_LINK)
		return rq_fail(&q, EINVAL);
	rq_log(&q, 0);
	fuse_reply_readlink(req, n->u.link.target);
	rq_end(&q);
}

/* A directory's listing as it was at opendir: names and inode numbers. */
struct dir_snap {
	struct open_handle h; /* first: freed through it */
	size_t n;
	struct dir_snap_ent {
		uint64_t ino;
		uint8_t type;
		const char *name; /* into names[] below */
	} *e;
	char names[];
};

static struct dir_snap *dir_snap_take(const struct vt_node *dir)
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
		const struct vt_node *k = dir->u.dir.kids[i];
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

	rq_begin(&q, req, "opendir", FAKESYS_OP_OPEN);
	q.flags = fi->flags;
	if (!q.fs->live) {
		rq_end(&q);
		return (void)fuse_reply_err(req, ENOSYS); /* see op_init */
	}
	if (ino == CTL_DIR_INO) {
		snprintf(q.path, sizeof(q.path), CTL_DIR_NAME);
		rq_log(&q, 0);
		fuse_reply_open(req, fi);
		return rq_end(&q);
	}
	struct vt_node *n = node_of(q.fs, ino);
	if (!n)
		return rq_fail(&q, ino == CTL_FILE_INO ? ENOTDIR : ENOENT);
	if (n->type != VT_DIR)
		return rq_fail(&q, ENOTDIR);
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENOENT)))
		return;
	/* Listings reach the server when the log or a readdir fault wants them. */
	/* (a tree that can change lists from per-open snapshots, below, which the
	 * kernel's readdir cache would splice together across opens) */
	bool cache = !log_on(q.fs) && !q.fs->model &&
	             !fault_table_matches(&q.fs->faults, FAKESYS_OP_READDIR, q.path, q.ino);
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
		open_handle_add(q.fs, &snap->h);
	}
	rq_log(&q, 0);
	if (fuse_reply_open(req, fi) != 0)
		open_handle_free(q.fs, (struct open_handle *)(uintptr_t)fi->fh);
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

	rq_begin(&q, req, "readdir", FAKESYS_OP_READDIR);
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
					struct vt_node *root = node_of(fs, FUSE_ROOT_ID);
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
	struct vt_node *dir = node_of(fs, ino);
	if (!dir)
		return rq_fail(&q, ENOENT);
	if (dir->type != VT_DIR)
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
		const struct vt_node *k = i == 0 ? dir : i == 1 ? dir->parent : snap ? NULL : dir->u.dir.kids[i - 2];
		const char *name = i == 0 ? "." : i == 1 ? ".." : snap ? snap->e[i - 2].name : k->name;
		size_t len;

		/* from a snapshot: the node as it is now, when it still exists */
		if (!k && (k = node_of(fs, snap->e[i - 2].ino)) && strcmp(k->name, name))
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
	open_handle_free(req_fs(req), (struct open_handle *)(uintptr_t)fi->fh); /* a dir_snap, or 0 */
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

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != CTL_FILE_INO) {
		open_handle_free(req_fs(req), (struct open_handle *)(uintptr_t)fi->fh); /* a file_snap, or 0 */
	} else if (fi->fh) {
		struct fs *fs = req_fs(req);
		struct ctl_fh *h = (struct ctl_fh *)(uintptr_t)fi->fh;
		/* the kernel may send the release as soon as a read's reply is
		 * written, before op_read is done with the buffer */
		pthread_mutex_lock(&fs->ctl_mu);
		free(h->result);
		free(h);
		pthread_mutex_unlock(&fs->ctl_mu);
	}
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rq q;
	bool wr = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);

	rq_begin(&q, req, "open", FAKESYS_OP_OPEN);
	q.flags = fi->flags;
	if (ino == CTL_FILE_INO) {
		snprintf(q.path, sizeof(q.path), "%s/%s", CTL_DIR_NAME, CTL_FILE_NAME);
		struct ctl_fh *h = calloc(1, sizeof(*h));
		if (!h)
			return rq_fail(&q, ENOMEM);
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		fi->keep_cache = 0;
		rq_log(&q, 0);
		if (fuse_reply_open(req, fi) != 0)
			free(h);
		return rq_end(&q);
	}
	struct vt_node *n = node_of(q.fs, ino);
	if (!n)
		return rq_fail(&q, ino == CTL_DIR_INO ? EISDIR : ENOENT);
	if (n->type == VT_DIR)
		return rq_fail(&q, EISDIR);
	if (!q.fs->live) {
		rq_end(&q);
		return (void)fuse_reply_err(req, ENOSYS); /* see op_init */
	}
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENOENT)))
		return;
	if (wr && !open_writable(q.fs, n))
		return rq_fail(&q, EROFS);
	/* Every read reaches the server when a read fault may hit this file, when
	 * the tree can change under it (a page cache filled before a change would
	 * hand out a torn mix of old bytes and the new size, which sysfs never
	 * does: one read returns one whole value), and writes of control files
	 * never go through the page cache. */
	fi->direct_io = wr || q.fs->model || fault_table_matches(&q.fs->faults, FAKESYS_OP_READ, q.path, q.ino);
	fi->keep_cache = !fi->direct_io && !log_on(q.fs);
	if (q.fs->model && n->type == VT_FILE) {
		struct file_snap *fs_ = malloc(sizeof(*fs_) + n->u.file.len);
		if (!fs_)
			return rq_fail(&q, ENOMEM);
		fs_->len = n->u.file.len;
		memcpy(fs_->data, n->u.file.data, n->u.file.len);
		fi->fh = (uintptr_t)fs_;
		open_handle_add(q.fs, &fs_->h);
	}
	rq_log(&q, 0);
	if (fuse_reply_open(req, fi) != 0)
		open_handle_free(q.fs, (struct open_handle *)(uintptr_t)fi->fh);
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

	rq_begin(&q, req, "read", FAKESYS_OP_READ);
	q.off = off;
	q.size = (long long)size;
	if (ino == CTL_FILE_INO) {
		struct fs *fs = q.fs;
		struct ctl_fh *h = (struct ctl_fh *)(uintptr_t)fi->fh;
		snprintf(q.path, sizeof(q.path), "%s/%s", CTL_DIR_NAME, CTL_FILE_NAME);
		rq_log(&q, 0);
		pthread_mutex_lock(&fs->ctl_mu);
		reply_text(req, h && h->have ? h->result : fs->last_result, size, off);
		pthread_mutex_unlock(&fs->ctl_mu);
		return rq_end(&q);
	}
	struct vt_node *n = node_of(q.fs, ino);
	if (!n)
		return rq_fail(&q, ENOENT);
	if (n->type != VT_FILE)
		return rq_fail(&q, EISDIR);
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENODEV))) /* removed while open: as sysfs answers */
		return;
	rq_log(&q, 0);
	const struct file_snap *snap = (const struct file_snap *)(uintptr_t)fi->fh;
	size_t len = snap ? snap->len : n->u.file.len;
	const uint8_t *data = snap ? snap->data : n->u.file.data;
	size_t cnt = off < 0 || (size_t)off >= len ? 0 : len - (size_t)off < size ? len - (size_t)off : size;
	if (snap && cnt) {
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

	rq_begin(&q, req, "write", FAKESYS_OP_WRITE);
	q.off = off;
	q.size = (long long)size;
	struct fs *fs = q.fs;
	if (ino == CTL_FILE_INO) {
		snprintf(q.path, sizeof(q.path), "%s/%s", CTL_DIR_NAME, CTL_FILE_NAME);
		rq_log(&q, 0);
		rq_end(&q); /* commands take the locks they need */
		r = fi->fh ? ctl_write(fs, (struct ctl_fh *)(uintptr_t)fi->fh, buf, size) : -EBADF;
		if (r < 0)
			return (void)fuse_reply_err(req, -r);
		return (void)fuse_reply_write(req, size);
	}
	struct vt_node *n = node_of(fs, ino);
	if (!n)
		return rq_fail(&q, ENODEV);
	rq_path(&q, n, NULL);
	if (!(n = rq_fault_node(&q, ino, ENODEV)))
		return;
	if (!fs->live || !open_writable(fs, n))
		return rq_fail(&q, EROFS);
	if (is_standin(n))
		return rq_fail(&q, EINVAL); /* nothing behind the file, as a VFIO device without a region */
	rq_end(&q); /* the mutation swaps the tree: not under our read lock */
	r = live_write(fs, ino, buf, size, &e);
	pthread_rwlock_rdlock(&fs->lock);
	rq_log(&q, r < 0 ? -r : 0);
	pthread_rwlock_unlock(&fs->lock);
	if (r < 0)
		return (void)fuse_reply_err(req, -r);
	fuse_reply_write(req, size);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = req_fs(req);
	pthread_rwlock_rdlock(&fs->lock);
	struct statvfs sv = {
		.f_bsize = 4096,
		.f_frsize = 4096,
		.f_blocks = (vtree_bytes(fs->cur.t) + 4095) / 4096,
		.f_files = vtree_size(fs->cur.t),
		.f_namemax = NAME_MAX,
		.f_flag = ST_NOSUID | ST_NODEV,
	};
	pthread_rwlock_unlock(&fs->lock);
	fuse_reply_statfs(req, &sv);
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
	struct vt_node *n = node_of(fs, ino);
	if (!n || !open_writable(fs, n)) {
		pthread_rwlock_unlock(&fs->lock);
		return (void)fuse_reply_err(req, n ? EROFS : ENOENT);
	}
	fill_stat(fs, n, &st);
	pthread_rwlock_unlock(&fs->lock);
	fuse_reply_attr(req, &st, 0);
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
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
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

static void __attribute__((format(printf, 2, 0))) capture_fuse_log(enum fuse_log_level level, const char *fmt,
                                                                    va_list ap)
{
	if (level > FUSE_LOG_ERR)
		return;
	vsnprintf(fuse_last_msg, sizeof(fuse_last_msg), fmt, ap);
	size_t n = strlen(fuse_last_msg);
	while (n && fuse_last_msg[n - 1] == '\n')
		fuse_last_msg[--n] = '\0';
}

static void notifier_stop(struct fs *fs)
{
	if (!fs->notifier_on)
		return;
	pthread_mutex_lock(&fs->nq_mu);
	fs->notifier_stop = true;
	pthread_cond_signal(&fs->nq_cond);
	pthread_mutex_unlock(&fs->nq_mu);
	pthread_join(fs->notifier, NULL);
	fs->notifier_on = false;
}

static void fs_destroy(struct fs *fs)
{
	notifier_stop(fs);
	for (size_t i = 0; i < fs->nq_n; i++) {
		for (size_t k = 0; k < fs->nq[i].n; k++)
			free(fs->nq[i].v[k].name);
		free(fs->nq[i].v);
	}
	free(fs->nq);
	pthread_mutex_destroy(&fs->nq_mu);
	pthread_cond_destroy(&fs->nq_cond);
	snap_free(&fs->cur);
	fault_table_destroy(&fs->faults);
	if (fs->have_log)
		access_log_close(&fs->log);
	for (size_t i = 0; i < fs->n_ovr; i++) {
		free(fs->ovr[i].path);
		free(fs->ovr[i].value);
	}
	free(fs->ovr);
	free(fs->last_result);
	while (fs->open_list)
		open_handle_free(fs, fs->open_list);
	pthread_mutex_destroy(&fs->open_mu);
	pthread_rwlock_destroy(&fs->lock);
	pthread_mutex_destroy(&fs->model_mu);
	pthread_mutex_destroy(&fs->ctl_mu);
	memset(fs, 0, sizeof(*fs));
}

static int fs_init(struct fs *fs, struct vtree *t, const struct fakesys_mount_opts *o, struct vk_error *err)
{
	memset(fs, 0, sizeof(*fs));
	pthread_rwlock_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->model_mu, NULL);
	pthread_mutex_init(&fs->ctl_mu, NULL);
	pthread_mutex_init(&fs->open_mu, NULL);
	pthread_mutex_init(&fs->nq_mu, NULL);
	pthread_cond_init(&fs->nq_cond, NULL);
	fault_table_init(&fs->faults);
	fs->model = o->model;
	fs->owner = geteuid();
	fs->owner_gid = getegid();
	fs->live = o->serve_opens || o->log || (o->model && (o->model->n_faults || o->model->n_steps));
	fs->log_lookups = o->log && o->log_lookups;
	clock_gettime(CLOCK_REALTIME, &fs->mounted);
	if (snap_make(&fs->cur, t, false) < 0)
		return vk_error_set(err, ENOMEM, "mount: out of memory");
	for (size_t i = 0; o->model && i < o->model->n_faults; i++)
		if (fault_table_add(&fs->faults, &o->model->faults[i]) < 0)
			return vk_error_set(err, ENOMEM, "mount: out of memory");
	for (size_t i = 0; o->model && i < o->model->n_steps; i++)
		if (fault_table_add(&fs->faults, &o->model->steps[i]) < 0)
			return vk_error_set(err, ENOMEM, "mount: out of memory");
	fault_table_expand(&fs->faults, expand_pattern, t);
	if (o->log) {
		int r = access_log_open(&fs->log, o->log);
		if (r < 0)
			return vk_error_set(err, r, "access log %s: %s", o->log, strerror(-r));
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
	notifier_stop(&s->fs); /* it sends through the session */
	if (s->signals)
		fuse_remove_signal_handlers(s->se);
	if (s->mounted)
		fuse_session_unmount(s->se);
	if (s->se)
		fuse_session_destroy(s->se);
	fs_destroy(&s->fs);
	memset(s, 0, sizeof(*s));
}

/* Create the session and mount it at @real (an absolute checked path). */
static int server_open(struct server *s, struct vtree *t, const char *real, const struct fakesys_mount_opts *o,
                       struct vk_error *err)
{
	char opts[256];
	int r = fs_init(&s->fs, t, o, err);

	if (r < 0)
		goto fail;
	snprintf(opts, sizeof(opts), "fsname=fakesys:%d,subtype=fakesys,default_permissions,auto_unmount%s",
	         (int)getpid(), geteuid() == 0 ? ",allow_other" : "");
	char *argv[] = {"fakesys", "-o", opts, o->debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 4 : 3, argv);

	fuse_last_msg[0] = '\0';
	fuse_set_log_func(capture_fuse_log);
	s->se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &s->fs);
	fuse_opt_free_args(&args);
	s->fs.se = s->se;
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
	if (o->model && o->model->n_steps) {
		if (pthread_create(&s->fs.notifier, NULL, notifier_main, &s->fs) != 0) {
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

/* A daemon ends with _exit(), which skips LeakSanitizer's check at exit: in a
 * sanitizer build, run it here (its report goes to the daemon's stderr, see
 * FAKESYS_DAEMON_STDERR). */
static void daemon_leak_check(void)
{
#ifdef HAVE_LSAN
	__lsan_do_recoverable_leak_check();
#endif
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
	daemon_leak_check();
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
	char real[PATH_MAX], pidfile[PATH_MAX], logfile[PATH_MAX];
	struct fakesys_mount_opts opts = o ? *o : defaults;
	int r = check_mountpoint(mountpoint, real, err);

	if (r < 0)
		return r;
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
		/* EBUSY right after the last files were closed is often transient
		 * (their final release still in flight): retry for a bounded 2 s,
		 * never falling back to a lazy detach the caller did not ask for */
		int tries = 0;
		while ((r = umount2(real, UMOUNT_NOFOLLOW)) < 0 && errno == EBUSY && ++tries < 40)
			usleep(50 * 1000);
		if (r < 0)
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
