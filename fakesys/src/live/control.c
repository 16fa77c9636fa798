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

/* ---- kernel-like writes (the live tree) ------------------------------------ */

/* Which sysfs control file @n is, as the tree declared it (enum vk_host_store);
 * @arg receives the name of its directory: the driver (bind, unbind, new_id)
 * or the device address (driver_override, remove, sriov_numvfs). */
static enum vk_host_store write_kind(const struct vk_vt_node *n, char *arg, size_t len)
{
	if (n->type != VK_VT_FILE || n->store == VK_HOST_STORE_NONE)
		return VK_HOST_STORE_NONE;
	snprintf(arg, len, "%s", n->parent->name);
	return (enum vk_host_store)n->store;
}

/* May @n be opened for writing?  Stand-ins (their writes fail like a VFIO
 * device's) and, with a model, the kernel-like control files. */
bool srv_open_writable(struct fs *fs, const struct vk_vt_node *n)
{
	char arg[NAME_MAX + 1];

	return srv_is_standin(n) || (fs->model && write_kind(n, arg, sizeof(arg)) != VK_HOST_STORE_NONE);
}

/* ---- rebuilding after a change -------------------------------------------- */

static int apply_overrides(struct fs *fs, struct vtree *t, struct vk_error *err)
{
	for (size_t i = 0; i < fs->n_ovr; i++) {
		struct override *o = &fs->ovr[i];
		struct vk_vt_node *n = vk_vtree_lookup(t, o->path);
		if (!n)
			continue; /* the path went away; the override waits for it */
		if (o->is_mode)
			n->mode = o->mode;
		else if (vk_vtree_set_file(t, n, o->value, o->len) < 0)
			return vk_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* vk_vtree_inherit_inos() compares each node with its old self through its
 * parent, which the root has not: a "chmod /" must invalidate it here. */
static int note_root_change(struct vtree *t, struct vtree *old, struct invals *iv)
{
	const struct vk_vt_node *a = vk_vtree_root(t), *b = vk_vtree_root(old);

	if (a->mode != b->mode || a->uid != b->uid || a->gid != b->gid)
		srv_on_change(iv, VK_VT_CHANGED, FUSE_ROOT_ID, NULL, FUSE_ROOT_ID);
	return iv->oom ? -ENOMEM : 0;
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
		r = vk_host_tree_build(fs->model, &t, err);
		if (r < 0)
			return r;
	} else {
		return vk_error_set(err, EROFS, "this mount has no host model to change");
	}
	if ((r = apply_overrides(fs, t, err)) < 0 || (r = vk_vtree_inherit_inos(t, fs->cur.t, srv_on_change, &iv)) < 0 ||
	    (r = note_root_change(t, fs->cur.t, &iv)) < 0 || (r = srv_snap_make(&s, t, true)) < 0) {
		vk_vtree_free(t);
		for (size_t i = 0; i < iv.n; i++)
			free(iv.v[i].name);
		free(iv.v);
		return vk_error_set(err, r, "rebuilding the tree: %s", strerror(-r));
	}
	fault_table_expand(&fs->faults, srv_expand_pattern, t);
	pthread_rwlock_wrlock(&fs->lock);
	struct snap old = fs->cur;
	fs->cur = s;
	/* out of memory: the changed nodes cannot be told apart any more, so
	 * none is cached again (every open goes around the caches) */
	if (srv_mark_changed(fs, &iv) < 0 || iv.oom)
		fs->live_nocache = true;
	(void)srv_paged_reserve(fs, vk_vtree_max_ino(t)); /* no room: new files go around the cache */
	pthread_rwlock_unlock(&fs->lock);
	srv_snap_free(&old);
	fs->inplace_bytes = 0;
	fs->gen++;
	vk_vtree_free(fs->last_after);
	fs->last_after = NULL;
	/* each rebuild frees a whole tree; hand the pages back instead of letting
	 * the worker threads' malloc arenas keep them (RSS stays flat under load) */
	malloc_trim(0);
	if (iv.oom) /* could not note every change: drop everything the kernel has */
		srv_invalidate_matching(fs, "*");
	srv_invals_send(fs, &iv);
	return 0;
}

static void vtree_freep(struct vtree **t)
{
	vk_vtree_free(*t);
}

/* The tree of the devices a write to @seed can touch (live/inplace.c), or NULL. */
static struct vtree *small_tree(const struct vk_host_model *m, const struct vk_pci_addr *seeds, size_t n)
{
	struct vk_host_model *s = live_submodel(m, seeds, n);
	struct vtree *t = NULL;
	struct vk_error e = {0};

	if (s && vk_host_tree_build(s, &t, &e) < 0)
		t = NULL;
	live_submodel_free(s);
	return t;
}

/* FAKESYS_LIVE_CHECK: is the tree changed in place the tree a rebuild gives?
 * 0, or -EIO naming the first difference. */
static int check_in_place(struct fs *fs, struct vk_error *err)
{
	struct vtree *t = NULL;
	char where[PATH_MAX] = "";

	int r = vk_host_tree_build(fs->model, &t, err);
	if (r == 0 && (r = apply_overrides(fs, t, err)) == 0 && !live_trees_equal(fs->cur.t, t, where, sizeof(where)))
		r = vk_error_set(err, EIO, "FAKESYS_LIVE_CHECK: the tree changed in place differs from a rebuild at /%s",
		                 where);
	vk_vtree_free(t);
	return r;
}

/*
 * Make the change of a write to device @seed in place, from @before (the
 * small tree of @seed before the write) and the small tree after it: 0, or
 * -EAGAIN when it cannot be (the caller rebuilds the whole tree).  Called
 * with model_mu held.
 */
static int fs_update_in_place(struct fs *fs, struct vtree *before, const struct vk_pci_addr *seed,
                              const struct vk_pci_addr *related, long n_related)
{
	struct invals iv = {0};

	live_refused_at[0] = '\0'; /* FAKESYS_LIVE_CHECK's report is of this write */
	/* replaced contents stay in the arena: a rebuild now and then hands them back */
	if (!before || fs->inplace_bytes > (vk_vtree_bytes(fs->cur.t) / 4 > (1u << 20) ? vk_vtree_bytes(fs->cur.t) / 4
	                                                                               : (1u << 20)))
		return -EAGAIN;
	/* a device removed: the tree of what is left of those it touched */
	bool gone = !vk_host_model_find(fs->model, seed);
	size_t left = 0; /* of them, still there: none, a host of no device */
	for (long i = 0; gone && i < n_related; i++)
		left += vk_host_model_find(fs->model, &related[i]) != NULL;
	struct vtree *after = !gone           ? small_tree(fs->model, seed, 1)
	                      : n_related > 0 ? small_tree(fs->model, related, left ? (size_t)n_related : 0)
	                                      : NULL;
	/* checked first, with the tree unchanged (only model_mu's holder changes it) */
	int r = after ? live_apply_diff(fs->cur.t, before, after, false, NULL, NULL) : -EAGAIN;
	uint64_t max = vk_vtree_max_ino(fs->cur.t);
	bool applied = false;
	if (r == 0) {
		pthread_rwlock_wrlock(&fs->lock); /* readers use the link counts */
		/* the link counts of the nodes it may add: at most the small tree's */
		applied = srv_snap_reserve(&fs->cur, max + vk_vtree_size(after)) == 0;
		r = applied ? live_apply_diff(fs->cur.t, before, after, true, &iv, &fs->inplace_bytes) : -EAGAIN;
		srv_snap_refresh(&fs->cur, max, &iv);
		if (srv_mark_changed(fs, &iv) < 0 || iv.oom)
			fs->live_nocache = true;
		(void)srv_paged_reserve(fs, vk_vtree_max_ino(fs->cur.t)); /* no room: new files go around the cache */
		pthread_rwlock_unlock(&fs->lock);
		/* a fault's pattern may name a node that came or went */
		pthread_rwlock_rdlock(&fs->lock);
		fault_table_expand(&fs->faults, srv_expand_pattern, fs->cur.t);
		pthread_rwlock_unlock(&fs->lock);
	}
	if (r == 0) { /* the next write to this device starts from it */
		vk_vtree_free(fs->last_after);
		fs->last_after = after;
		fs->last_seed = *seed;
		fs->last_gen = ++fs->gen;
	} else {
		vk_vtree_free(after);
	}
	/* what changed is told to the kernel even when a failure (out of
	 * memory) stopped the change half-way, since the rebuild that follows
	 * then starts from the half-changed tree */
	if (applied && iv.oom)
		srv_invalidate_matching(fs, "*");
	srv_invals_send(fs, &iv);
	return r < 0 ? -EAGAIN : 0;
}

/* The device a write of kind @k names (its directory @arg, or the address
 * written in @buf), into @a: false when it names none. */
static bool write_seed(enum vk_host_store k, const char *arg, const char *buf, struct vk_pci_addr *a)
{
	char s[64];

	switch (k) {
	case VK_HOST_STORE_OVERRIDE:
	case VK_HOST_STORE_REMOVE:
	case VK_HOST_STORE_NUMVFS:
		return vk_pci_addr_parse(arg, a, NULL) == 0;
	case VK_HOST_STORE_BIND:
	case VK_HOST_STORE_UNBIND:
	case VK_HOST_STORE_PROBE:
		snprintf(s, sizeof(s), "%.*s", (int)strcspn(buf, "\n"), buf);
		return vk_pci_addr_parse(s, a, NULL) == 0;
	default:
		return false; /* new_id, remove_id: any device may change */
	}
}

/*
 * A kernel-like write to the control file @ino, with model_mu held: returns
 * how many bytes it took, or -errno.  A client's write(2) and the control
 * channel's "write" both end here, so that they change the host the same way.
 *
 * What reaches a store is what kernfs hands it (fs/kernfs/file.c
 * kernfs_fop_write_iter(), fs/sysfs/file.c sysfs_kf_write()): an empty write
 * does nothing and succeeds; of a longer one the first PAGE_SIZE bytes, with
 * a NUL after them, so the store sees a C string that ends at the first NUL
 * written; the write then returns that shorter count.
 */
static long live_write_locked(struct fs *fs, fuse_ino_t ino, const char *data, size_t size, struct vk_error *err)
{
	char arg[NAME_MAX + 1] = "";
	enum vk_host_store k;
	struct vk_pci_addr a;
	char buf[SYSFS_PAGE_SIZE + 1];
	int r;

	if (size > SYSFS_PAGE_SIZE)
		size = SYSFS_PAGE_SIZE;
	memcpy(buf, data, size);
	buf[size] = '\0';

	pthread_rwlock_rdlock(&fs->lock);
	struct vk_vt_node *n = srv_node_of(fs, ino);
	k = n ? write_kind(n, arg, sizeof(arg)) : VK_HOST_STORE_NONE;
	pthread_rwlock_unlock(&fs->lock);
	if (!n)
		return vk_error_set(err, ENODEV, "the file went away");
	if (!size && k != VK_HOST_STORE_NONE)
		return 0;
	if (k == VK_HOST_STORE_OVERRIDE || k == VK_HOST_STORE_REMOVE || k == VK_HOST_STORE_NUMVFS)
		vk_pci_addr_parse(arg, &a, NULL);
	/* the tree of the devices the write can touch, as it is before it */
	struct vk_pci_addr seed;
	bool seeded = write_seed(k, arg, buf, &seed);
	bool again = seeded && fs->last_after && fs->last_gen == fs->gen && vk_pci_addr_equal(&seed, &fs->last_seed);
	_cleanup_(vtree_freep) struct vtree *before = again    ? TAKE_PTR(fs->last_after)
	                                              : seeded ? small_tree(fs->model, &seed, 1)
	                                                       : NULL;
	/* what a removal touches, named before the device goes */
	_cleanup_free_ struct vk_pci_addr *related = NULL;
	long n_related = seeded && k == VK_HOST_STORE_REMOVE ? live_related(fs->model, &seed, &related) : -1;
	switch (k) {
	case VK_HOST_STORE_BIND:
		r = live_bind(fs->model, arg, buf, size, err);
		break;
	case VK_HOST_STORE_UNBIND:
		r = live_unbind(fs->model, arg, buf, size, err);
		break;
	case VK_HOST_STORE_NEW_ID:
		r = live_new_id(fs->model, arg, buf, size, err);
		break;
	case VK_HOST_STORE_REMOVE_ID:
		r = live_remove_id(fs->model, arg, buf, size, err);
		break;
	case VK_HOST_STORE_PROBE:
		r = live_drivers_probe(fs->model, buf, size, err);
		break;
	case VK_HOST_STORE_OVERRIDE:
		r = live_driver_override(fs->model, &a, buf, size, err);
		break;
	case VK_HOST_STORE_REMOVE:
		r = live_remove(fs->model, &a, buf, size, err);
		break;
	case VK_HOST_STORE_NUMVFS:
		r = live_sriov_numvfs(fs->model, &a, buf, size, err);
		break;
	default:
		r = vk_error_set(err, EROFS, "not a control file");
		break;
	}
	if (r == 0 && fs_update_in_place(fs, before, &seed, related, n_related) == 0) {
		if (getenv("FAKESYS_LIVE_CHECK") && (r = check_in_place(fs, err)) < 0) {
			fprintf(stderr, "fakesys: %s\n", err->msg);
			fs_rebuild(fs, &(struct vk_error){0}); /* the tree a rebuild gives, and the error */
		}
	} else if (r == 0) {
		if (getenv("FAKESYS_LIVE_CHECK") && live_refused_at[0])
			fprintf(stderr, "fakesys: FAKESYS_LIVE_CHECK: rebuilt: /%s differs\n", live_refused_at);
		else if (getenv("FAKESYS_LIVE_CHECK"))
			fprintf(stderr, "fakesys: FAKESYS_LIVE_CHECK: rebuilt: no change in place for this write\n");
		r = fs_rebuild(fs, err);
	}
	return r < 0 ? r : (long)size;
}

/* A client's write(2) of the control file @ino: returns the bytes taken or -errno. */
long srv_live_write(struct fs *fs, fuse_ino_t ino, const char *buf, size_t size, struct vk_error *err)
{
	pthread_mutex_lock(&fs->model_mu);
	long r = live_write_locked(fs, ino, buf, size, err);
	pthread_mutex_unlock(&fs->model_mu);
	return r;
}

/* ---- the control channel ---------------------------------------------------- */

/*
 * Split @args into at least @min and at most @max words (into @w); too few or
 * too many is -EINVAL naming @usage, so that a stray word is never ignored.
 */
static int ctl_words(char *args, char **w, size_t min, size_t max, const char *usage, struct vk_error *err)
{
	char *save = NULL;
	size_t n = 0;

	for (char *t = strtok_r(args, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return vk_error_set(err, EINVAL, "unexpected '%.64s'%s: expected '%s'", t, strlen(t) > 64 ? "..." : "",
			                    usage);
		w[n++] = t;
	}
	if (n < min)
		return vk_error_set(err, EINVAL, "expected '%s'", usage);
	for (size_t i = n; i < max; i++)
		w[i] = NULL;
	return (int)n;
}

/* A "fault clear" ends the delays in progress (delay.c). */
static int ctl_fault(struct fs *fs, char *args, FILE *out, struct vk_error *err)
{
	char *save = NULL, *verb = strtok_r(args, " \t", &save);
	char *rest = save, *w[1];

	if (verb && !strcmp(verb, "add")) {
		struct vk_fakesys_fault f;
		int r = vk_fakesys_fault_parse(rest ? rest : "", &f, err);
		if (r < 0)
			return r;
		if (fs->kernel_opens && (f.ops & (VK_FAKESYS_OP_OPEN | VK_FAKESYS_OP_READ | VK_FAKESYS_OP_READDIR))) {
			free(f.path);
			return vk_error_set(err, EINVAL,
			                    "fault add: opens, reads and listings do not reach the server of a mount "
			                    "with kernel opens");
		}
		r = fault_table_add(&fs->faults, &f);
		if (r == 0) {
			pthread_rwlock_rdlock(&fs->lock);
			fault_table_expand(&fs->faults, srv_expand_pattern, fs->cur.t);
			pthread_rwlock_unlock(&fs->lock);
			srv_invalidate_matching(fs, f.path);
		}
		free(f.path);
		if (r < 0)
			return vk_error_set(err, r, "out of memory");
		fprintf(out, "ok\n");
		return 0;
	}
	if (verb && !strcmp(verb, "clear")) {
		int r = ctl_words(rest ? rest : (char *)"", w, 0, 1, "fault clear [PATH]", err);
		if (r < 0)
			return r;
		char *path = w[0];
		if (path && *path == '/')
			path++;
		size_t n = fault_table_clear(&fs->faults, path);
		if (n)
			srv_delays_wake(fs);
		if (path)
			srv_invalidate_matching(fs, path);
		fprintf(out, "ok %zu cleared\n", n);
		return 0;
	}
	if (verb && !strcmp(verb, "list")) {
		int r = ctl_words(rest ? rest : (char *)"", w, 0, 0, "fault list", err);
		if (r < 0)
			return r;
		_cleanup_free_ char *l = fault_table_list(&fs->faults);
		fputs(l ? l : "", out);
		return 0;
	}
	return vk_error_set(err, EINVAL, "fault: expected 'fault add PATH OP ERRNO [nth=N] [times=N] [delay=MS]', "
	                                 "'fault clear [PATH]' or 'fault list'");
}

static int ctl_addr(const char *s, struct vk_pci_addr *a, struct vk_error *err)
{
	if (!s || vk_pci_addr_parse(s, a, NULL) < 0)
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
	char *rest = save, *w[1];
	uint32_t mode = 0;

	if (!path || !rest || !*rest)
		return vk_error_set(err, EINVAL, chmod ? "chmod: expected PATH MODE (octal)" : "set: expected PATH VALUE");
	while (*path == '/')
		path++;
	if (chmod) {
		int r = ctl_words(rest, w, 1, 1, "chmod PATH MODE", err);
		if (r < 0)
			return r;
		size_t digits = strspn(w[0], "01234567");
		if (w[0][digits] || digits > 5 || strtoul(w[0], NULL, 8) > 07777)
			return vk_error_set(err, EINVAL, "chmod: '%.64s' is not an octal mode (0 to 7777)", w[0]);
		mode = (uint32_t)strtoul(w[0], NULL, 8);
	}
	/* symlinks followed, as chmod(2) and write(2) do; kept by the real path */
	char real[PATH_MAX];
	pthread_rwlock_rdlock(&fs->lock);
	struct vk_vt_node *n = srv_walk_from(fs->cur.t, vk_vtree_root(fs->cur.t), path, 0);
	bool ok = n && (chmod || n->type == VK_VT_FILE) && vk_vtree_path(n, real, sizeof(real)) >= 0;
	pthread_rwlock_unlock(&fs->lock);
	if (!ok)
		return vk_error_set(err, n ? EINVAL : ENOENT, "%s: %s", path, n ? "not a regular file" : "no such path");
	if (add_override(fs, real, chmod, mode, chmod ? NULL : rest) < 0)
		return vk_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* The files "write" (and a client's write(2)) acts on; see write_kind(). */
#define CTL_WRITE_FILES "bind, unbind, new_id, remove_id, driver_override, drivers_probe, remove, sriov_numvfs"

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
	struct vk_vt_node *n = srv_walk_from(fs->cur.t, vk_vtree_root(fs->cur.t), path, 0);
	fuse_ino_t ino = n ? n->ino : 0;
	bool control = n && write_kind(n, arg, sizeof(arg)) != VK_HOST_STORE_NONE;
	pthread_rwlock_unlock(&fs->lock);
	if (!n)
		return vk_error_set(err, ENOENT, "%s: no such path", path);
	if (!control)
		return vk_error_set(err, EINVAL, "%s: not a sysfs control file (" CTL_WRITE_FILES ")", path);
	/* the bytes echo writes: VALUE and a newline, again from where a short
	 * write (a store takes one page at most) stopped, as stdio does */
	size_t len = strlen(value);
	_cleanup_free_ char *buf = malloc(len + 1);
	if (!buf)
		return vk_error_set(err, ENOMEM, "out of memory");
	memcpy(buf, value, len);
	buf[len] = '\n';
	for (size_t done = 0; done < len + 1;) {
		long r = live_write_locked(fs, ino, buf + done, len + 1 - done, err);
		if (r < 0)
			return (int)r;
		done += (size_t)r;
	}
	return 0;
}

/* "bind", "unbind", "remove": the control-channel forms, by address. */
static int ctl_device(struct fs *fs, const char *cmd, char *args, struct vk_error *err)
{
	bool bind = !strcmp(cmd, "bind");
	char *w[2];
	struct vk_pci_addr a;
	int r = ctl_words(args, w, bind ? 2 : 1, bind ? 2 : 1,
	                  bind ? "bind BDF DRIVER" : !strcmp(cmd, "unbind") ? "unbind BDF"
	                                                                    : "remove BDF",
	                  err);

	if (r < 0 || (r = ctl_addr(w[0], &a, err)) < 0)
		return r;
	if (bind)
		return live_force_bind(fs->model, &a, w[1], err);
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
	return r == 0 ? fs_rebuild(fs, err) : r < 0 ? r
	                                            : 0;
}

static bool is_change_verb(const char *cmd)
{
	static const char *const verbs[] = {"bind", "unbind", "remove", "chmod", "set", "write"};

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(cmd, verbs[i]))
			return true;
	return false;
}

/*
 * "ioctl PATH PID UID NAME": the VFIO emulation of `fakesys run`
 * (run/seccomp_notify.c) reports an ioctl of process PID (user UID) on the
 * node PATH before answering it.  It is counted against the faults of op
 * "ioctl" (a step runs, a delay is served here) and logged; the answer is
 * "ok", or "fault ERRNO NAME" for the errno the ioctl is to fail with.  The
 * errno is in the text rather than the write's result: a FUSE reply cannot
 * carry an errno of 512 or more (fs/fuse/dev.c fuse_dev_do_write()).
 */
static int ctl_ioctl(struct fs *fs, char *args, FILE *out, struct vk_error *err)
{
	char *w[4], *end;
	uint32_t delay = 0;
	char *step = NULL;
	int r = ctl_words(args, w, 4, 4, "ioctl PATH PID UID NAME", err);

	if (r < 0)
		return r;
	long pid = strtol(w[1], &end, 10);
	unsigned long uid = *end ? 0 : strtoul(w[2], &end, 10);
	if (*end || pid < 0 || pid > INT_MAX || uid > UINT32_MAX || w[1][0] == '-' || w[2][0] == '-')
		return vk_error_set(err, EINVAL, "ioctl: PID and UID are decimal numbers ('%.32s', '%.32s')", w[1], w[2]);
	char *path = w[0] + strspn(w[0], "/");
	/* symlinks followed: a device FD is reported as sys/bus/pci/devices/BDF */
	pthread_rwlock_rdlock(&fs->lock);
	struct vk_vt_node *n = srv_walk_from(fs->cur.t, vk_vtree_root(fs->cur.t), path, 0);
	uint64_t ino = n ? n->ino : 0;
	pthread_rwlock_unlock(&fs->lock);
	int e = fault_table_has(&fs->faults, VK_FAKESYS_OP_IOCTL)
	                ? fault_table_check(&fs->faults, VK_FAKESYS_OP_IOCTL, path, ino, &delay, &step)
	                : 0;
	if (step) {
		srv_run_step(fs, step); /* before the ioctl is answered, as for a FUSE request */
		free(step);
	}
	if (delay) /* ended early by "fault clear" or the unmount, as a request's delay */
		srv_delay(fs, NULL, delay);
	if (fs->have_log)
		access_log_ioctl(&fs->log, (int)pid, (unsigned)uid, path, w[3], e);
	if (e) {
		const char *en = strerrorname_np(e);
		fprintf(out, "fault %d %s\n", e, en ? en : "?");
	} else {
		fprintf(out, "ok\n");
	}
	return 0;
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
	if (!strcmp(cmd, "ioctl"))
		return ctl_ioctl(fs, args, out, err);
	if (!strcmp(cmd, "log")) {
		if (!fs->have_log)
			return vk_error_set(err, EINVAL, "log: this mount has no log (mount with --log FILE)");
		char *w[1];
		r = ctl_words(args, w, 1, 1, "log on|off", err);
		if (r < 0)
			return r;
		if (strcmp(w[0], "on") && strcmp(w[0], "off"))
			return vk_error_set(err, EINVAL, "log: expected 'log on' or 'log off'");
		atomic_store(&fs->log.on, !strcmp(w[0], "on"));
		fprintf(out, "ok\n");
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		char *w[1];
		if ((r = ctl_words(args, w, 0, 0, "help", err)) < 0)
			return r;
		fputs("fault add PATH OP ERRNO [nth=N] [times=N] [delay=MS]\nfault clear [PATH]\nfault list\n"
		      "log on|off\nbind BDF DRIVER\nunbind BDF\nremove BDF\nchmod PATH MODE\nset PATH VALUE\n"
		      "write PATH VALUE\nioctl PATH PID UID NAME\n",
		      out);
		return 0;
	}
	if (!is_change_verb(cmd))
		return vk_error_set(err, EINVAL, "unknown command '%.64s' (try 'help')", cmd);
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
int srv_ctl_write(struct fs *fs, struct ctl_fh *h, const char *buf, size_t size)
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
	/* a NUL would cut a command short, and what follows it would be lost
	 * unseen: nothing of such a write runs */
	if (memchr(buf, '\0', size)) {
		r = -EINVAL;
		fprintf(out, "error: the command text contains a NUL byte (at %zu); nothing was run\n",
		        (size_t)((const char *)memchr(buf, '\0', size) - buf));
	}
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
	/* the emulation's reports are not what a reader of its own commands wants */
	if (size < 6 || memcmp(buf, "ioctl ", 6) != 0) {
		free(fs->last_result);
		fs->last_result = res ? strdup(res) : NULL;
	}
	pthread_mutex_unlock(&fs->ctl_mu);
	return r;
}

/* Run a step's commands (one per line); the answers become the control
 * channel's last result. */
void srv_run_step(struct fs *fs, char *cmds)
{
	char *res = NULL, *save = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&res, &len);

	if (!out)
		return;
	bool was = srv_invals_deferred;
	srv_invals_deferred = true;
	for (char *line = strtok_r(cmds, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct vk_error e = {0};
		fprintf(out, "step: %s\n", line);
		int r = ctl_exec(fs, line, out, &e);
		if (r < 0)
			fprintf(out, "error: %s\n", e.msg[0] ? e.msg : strerror(-r));
	}
	srv_invals_deferred = was;
	fclose(out);
	pthread_mutex_lock(&fs->ctl_mu);
	free(fs->last_result);
	fs->last_result = res;
	pthread_mutex_unlock(&fs->ctl_mu);
}
