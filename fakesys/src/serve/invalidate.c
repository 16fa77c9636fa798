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

static struct vk_vt_node *resolve_link(struct vtree *t, const struct vk_vt_node *link, int depth);

/* The node at @rel from directory @dir, following every symlink (the last too). */
struct vk_vt_node *srv_walk_from(struct vtree *t, struct vk_vt_node *dir, const char *rel, int depth)
{
	struct vk_vt_node *cur = dir;
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
		if (cur->type == VK_VT_LINK && !(cur = resolve_link(t, cur, depth + 1)))
			return NULL;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			cur = cur->parent;
			continue;
		}
		if (cur->type != VK_VT_DIR)
			return NULL;
		cur = vk_vtree_child(cur, comp);
	}
	if (cur && cur->type == VK_VT_LINK)
		cur = resolve_link(t, cur, depth + 1);
	return cur;
}

static struct vk_vt_node *resolve_link(struct vtree *t, const struct vk_vt_node *link, int depth)
{
	const char *target = link->u.link.target;

	if (depth > MAX_LINK_DEPTH)
		return NULL;
	if (target[0] == '/')
		return srv_walk_from(t, vk_vtree_root(t), target + 1, depth);
	return srv_walk_from(t, link->parent, target, depth);
}

/* The nodes @pat (relative to directory @dir) names, directory links followed. */
static void expand_at(struct vtree *t, struct vk_vt_node *dir, const char *pat, struct inovec *out)
{
	char comp[NAME_MAX + 1];

	if (dir->type == VK_VT_LINK)
		dir = resolve_link(t, dir, 0);
	if (!dir || dir->type != VK_VT_DIR)
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
		struct vk_vt_node *k = vk_vtree_child(dir, comp);
		if (k && last)
			inovec_push(out, k->ino);
		else if (k)
			expand_at(t, k, rest, out);
		return;
	}
	for (uint32_t i = 0; i < dir->u.dir.n; i++) {
		struct vk_vt_node *k = dir->u.dir.kids[i];
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
int srv_expand_pattern(void *ctx, const char *pattern, uint64_t **inos, size_t *n)
{
	struct vtree *t = ctx;
	struct inovec iv = {0};

	expand_at(t, vk_vtree_root(t), pattern, &iv);
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
__thread bool srv_invals_deferred;
__thread uint64_t srv_pages_locked;

static void invals_send_now(struct fs *fs, struct invals *iv);

void *srv_notifier_main(void *arg)
{
	struct fs *fs = arg;
	sigset_t all;

	/* signals go to the loop's threads, where they end its waits */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&fs->nq_mu);
	for (;;) {
		while (!fs->nq_n && !fs->srv_notifier_stop)
			pthread_cond_wait(&fs->nq_cond, &fs->nq_mu);
		if (!fs->nq_n && fs->srv_notifier_stop)
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

static void invals_queue(struct fs *fs, struct invals *iv);

/*
 * Send them (without the tree lock: the kernel may need answers meanwhile);
 * ENOENT means "nothing cached", which is fine.  Inside a step they are
 * queued for the notifier thread instead; so is the page invalidation of
 * srv_pages_locked, whose attributes go now: the next read then asks for
 * its size, and a size other than the kernel's drops the pages too
 * (fs/fuse/inode.c fuse_change_attributes()), before the notifier comes.
 */
void srv_invals_send(struct fs *fs, struct invals *iv)
{
	if (srv_invals_deferred && fs->notifier_on)
		return invals_queue(fs, iv);
	if (srv_pages_locked && fs->notifier_on) {
		struct invals later = {0};
		for (size_t i = 0; i < iv->n; i++) {
			if (iv->v[i].name || iv->v[i].ino != srv_pages_locked)
				continue;
			if (fs->se)
				fuse_lowlevel_notify_inval_inode(fs->se, srv_pages_locked, -1, 0);
			srv_on_change(&later, VK_VT_CHANGED, 0, NULL, srv_pages_locked);
			iv->v[i].ino = 0; /* FUSE_ROOT_ID is 1: no inode is 0 */
		}
		invals_queue(fs, &later);
	}
	invals_send_now(fs, iv);
}

/* Queue @iv for the notifier thread (it takes @iv's contents). */
static void invals_queue(struct fs *fs, struct invals *iv)
{
	if (!iv->n) {
		free(iv->v);
		memset(iv, 0, sizeof(*iv));
		return;
	}
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
}

static void invals_send_now(struct fs *fs, struct invals *iv)
{
	for (size_t i = 0; i < iv->n; i++) {
		struct inval *x = &iv->v[i];
		if (fs->se && x->name)
			fuse_lowlevel_notify_inval_entry(fs->se, x->parent, x->name, strlen(x->name));
		else if (fs->se && x->ino)
			fuse_lowlevel_notify_inval_inode(fs->se, x->ino, 0, 0);
		free(x->name);
	}
	free(iv->v);
	memset(iv, 0, sizeof(*iv));
}

void srv_on_change(void *ctx, enum vk_vt_change what, uint64_t parent, const char *name, uint64_t ino)
{
	struct invals *iv = ctx;

	if (what == VK_VT_CHANGED)
		invals_add(iv, 0, NULL, ino);
	else
		invals_add(iv, parent, name, ino);
}

/* Drop what the kernel caches of every node matching @pattern (a new fault
 * must see the next access). */
void srv_invalidate_matching(struct fs *fs, const char *pattern)
{
	struct invals iv = {0};
	char path[PATH_MAX];

	uint64_t *named = NULL;
	size_t n_named = 0;

	pthread_rwlock_rdlock(&fs->lock);
	if (srv_expand_pattern(fs->cur.t, pattern, &named, &n_named) < 0)
		n_named = 0;
	for (uint64_t ino = 1; ino <= vk_vtree_max_ino(fs->cur.t); ino++) {
		struct vk_vt_node *n = vk_vtree_by_ino(fs->cur.t, ino);
		if (!n)
			continue;
		if (!(n_named && bsearch(&ino, named, n_named, sizeof(ino), cmp_ino)) &&
		    (vk_vtree_path(n, path, sizeof(path)) < 0 || fnmatch(pattern, path, FNM_PATHNAME)))
			continue;
		if (n->parent != n)
			invals_add(&iv, n->parent->ino, n->name, n->ino);
		invals_add(&iv, 0, NULL, n->ino);
	}
	pthread_rwlock_unlock(&fs->lock);
	free(named);
	srv_invals_send(fs, &iv);
}
