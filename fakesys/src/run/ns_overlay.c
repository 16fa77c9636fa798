/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys run: the new /sys and /dev, built inside the command's mount
 * namespace (docs/architecture.md, "fakesys run").
 *
 * The new /sys (and /dev, and /run) is a tmpfs holding, per entry, either a
 * bind mount of the real entry (kept), a bind mount of the fake entry
 * (modelled), a copy of a symlink, or, where both have a directory the
 * scenario only partly models (sys/class, sys/module, run/udev/data, ...), a
 * tmpfs directory built the same way one level down.
 *
 * A real link into the real PCI hierarchy (sys/devices/pci*: class/net/eth0,
 * block/sda, bus/virtio/devices/virtio2, dev/char/M:N...) is left out: that
 * hierarchy is the scenario's now, where it would dangle or, worse, name a
 * fake device.  The directories that hold such links (link_dir()) are
 * therefore built entry by entry when they have one, not bound whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include "vk_strv.h"
#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>

#include "ns_run_internal.h"
#include "tree/owned.h"

/* ---- what the scenario models ---------------------------------------------------- */

/* Whether the real entry at @rel ("sys/bus/pci") is replaced by the fake tree
 * (the tree's builders say which subtrees are theirs: tree/owned.c). */
static bool modelled(const struct run_ctx *c, const char *rel)
{
	return tree_owns(c->t, rel);
}

/* ---- real links into the real PCI hierarchy ------------------------------------------ */

/* The directories of sysfs that hold links to devices (class devices, a bus's
 * devices and its drivers' bound devices, device numbers, block devices),
 * and those on the way to them. */
static bool link_dir(const char *rel)
{
	static const char *const pats[] = {
		"sys/class/*",
		"sys/bus/*",
		"sys/bus/*/devices",
		"sys/bus/*/drivers",
		"sys/bus/*/drivers/*",
		"sys/dev",
		"sys/dev/*",
		"sys/block",
	};

	for (size_t i = 0; i < VK_ARRAY_SIZE(pats); i++)
		if (fnmatch(pats[i], rel, FNM_PATHNAME) == 0)
			return true;
	return false;
}

/* Whether the link /@rel points into sys/devices/pci*: its target resolved
 * against its directory, lexically (sysfs links are relative and have no
 * links on their way). */
static bool into_pci(const char *rel)
{
	char src[PATH_MAX], target[PATH_MAX], path[2 * PATH_MAX];
	const char *comp[PATH_MAX / 2];
	size_t n = 0;
	ssize_t len;

	if ((size_t)snprintf(src, sizeof(src), "/%s", rel) >= sizeof(src) ||
	    (len = readlink(src, target, sizeof(target) - 1)) < 0)
		return false;
	target[len] = '\0';
	if (target[0] == '/')
		snprintf(path, sizeof(path), "%s", target + 1);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(strrchr(rel, '/') ? strrchr(rel, '/') - rel : 0), rel,
		         target);
	for (char *save = NULL, *t = strtok_r(path, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			n -= n > 0;
			continue;
		}
		if (n == VK_ARRAY_SIZE(comp))
			return false;
		comp[n++] = t;
	}
	return n >= 3 && !strcmp(comp[0], "sys") && !strcmp(comp[1], "devices") && !strncmp(comp[2], "pci", 3);
}

/* Whether the real link directory /@rel, or one below it that is one too,
 * holds a link into the real PCI hierarchy: then it is built entry by entry. */
static bool leaks(const char *rel, unsigned depth)
{
	char path[PATH_MAX], crel[PATH_MAX];
	struct dirent *e;
	bool found = false;

	if ((size_t)snprintf(path, sizeof(path), "/%s", rel) >= sizeof(path) || depth > 4)
		return false;
	_cleanup_closedir_ DIR *d = opendir(path);
	while (d && !found && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (size_t)snprintf(crel, sizeof(crel), "%s/%s", rel, e->d_name) >= sizeof(crel))
			continue;
		if (e->d_type == DT_LNK)
			found = into_pci(crel);
		else if (e->d_type == DT_DIR && link_dir(crel))
			found = leaks(crel, depth + 1);
	}
	return found;
}

/* ---- a static tree: a tmpfs copy instead of a server ------------------------------------- */

/* The ranges of a /proc/self/{uid,gid}_map ("inside outside count" lines;
 * the kernel allows 340). */
struct idmap {
	unsigned long first[340], count[340];
	size_t n;
};

static int idmap_read(const char *path, struct idmap *m)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	unsigned long in, out, count;

	m->n = 0;
	if (!f)
		return -errno;
	while (m->n < VK_ARRAY_SIZE(m->first) && fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3) {
		m->first[m->n] = in;
		m->count[m->n++] = count;
	}
	return 0;
}

static bool idmap_has(const struct idmap *m, uint32_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (id >= m->first[i] && id - m->first[i] < m->count[i])
			return true;
	return false;
}

/*
 * A tree nothing needs a server for is cheapest as a tmpfs copy: the kernel
 * then answers every lookup, stat and read itself, with no FUSE round trip
 * and no cache to fill.  The server is needed by the live mode (writes,
 * faults, steps, the control channel: o->serve_opens, o->model, o->faults,
 * o->steps) and the access log.  The copy must hold the tree's owners: only without a user
 * namespace of our own (an unprivileged one maps the caller alone, and a
 * tmpfs cannot hold an unmapped owner, where FUSE shows it as the overflow
 * id), and only when this namespace maps every uid and gid the tree has.
 */
bool run_static_wanted(const struct run_ctx *c, const struct vk_fakesys_run_opts *o)
{
	struct idmap u, g;

	if (o->serve_opens || o->model || o->n_faults || o->n_steps || o->log || o->userns || o->fuse || geteuid() != 0)
		return false;
	if (idmap_read("/proc/self/uid_map", &u) < 0 || idmap_read("/proc/self/gid_map", &g) < 0)
		return false;
	for (uint64_t i = 1, max = vk_vtree_max_ino(c->t); i <= max; i++) {
		const struct vk_vt_node *n = vk_vtree_by_ino(c->t, i);
		if (n && (!idmap_has(&u, n->uid) || !idmap_has(&g, n->gid)))
			return false;
	}
	return true;
}

int run_build_static_tree(const struct run_ctx *c, struct vk_error *err)
{
	/* the namespace's own: the kernel frees it with the namespace's last
	 * process, so nothing of it can be left behind in the host */
	if (mount("fakesys", c->mnt, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
		return vk_error_set(err, errno, "run: mounting a tmpfs on %s: %s", c->mnt, strerror(errno));
	return vk_fakesys_materialize(c->t, c->mnt, err);
}

/* ---- building the new /sys and /dev (in the command child, in the namespace) ----- */

static int bind_mount(const char *src, const char *dst, bool read_only, struct vk_error *err)
{
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vk_error_set(err, errno, "run: bind mount %s on %s: %s", src, dst, strerror(errno));
	if (read_only) {
		struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
		if (mount_setattr(AT_FDCWD, dst, AT_RECURSIVE, &a, sizeof(a)) < 0)
			return vk_error_set(err, errno, "run: making %s (the real %s) read-only: %s", dst, src,
			                    strerror(errno));
	}
	return 0;
}

/* An empty file to mount a non-directory on. */
static int make_placeholder(const char *dst, mode_t mode, struct vk_error *err)
{
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);

	if (fd < 0)
		return vk_error_set(err, errno, "run: creating %s: %s", dst, strerror(errno));
	close(fd);
	return 0;
}

static int make_dir(const char *dst, mode_t mode, struct vk_error *err)
{
	if (mkdir(dst, mode & 07777) < 0)
		return vk_error_set(err, errno, "run: mkdir %s: %s", dst, strerror(errno));
	return 0;
}

/* A copy of the small regular file @src at @dst, with @mode. */
static int copy_file(const char *src, const char *dst, mode_t mode, struct vk_error *err)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	char buf[65536];
	ssize_t n;

	if (in < 0) /* gone meanwhile, or not ours to read: leave it out */
		return errno == ENOENT || errno == EACCES ? 0 : vk_error_set(err, errno, "run: %s: %s", src, strerror(errno));
	if ((n = read(in, buf, sizeof(buf))) < 0)
		return vk_error_set(err, errno, "run: reading %s: %s", src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (out < 0 || write(out, buf, (size_t)n) != n)
		return vk_error_set(err, errno ? errno : EIO, "run: writing %s: %s", dst, strerror(errno ? errno : EIO));
	return 0;
}

/* Keep the real entry /@rel at @dst (read-only under /sys). */
static int place_real(const char *rel, const char *dst, struct vk_error *err)
{
	char src[PATH_MAX], target[PATH_MAX];
	struct stat st;
	bool ro = !strncmp(rel, "sys/", 4);
	int r;

	if ((size_t)snprintf(src, sizeof(src), "/%s", rel) >= sizeof(src))
		return vk_error_set(err, ENAMETOOLONG, "run: path too long: /%s", rel);
	if (lstat(src, &st) < 0) /* gone meanwhile, or not ours to see: leave it out */
		return errno == ENOENT || errno == EACCES || errno == EPERM
		               ? 0
		               : vk_error_set(err, errno, "run: %s: %s", src, strerror(errno));
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(src, target, sizeof(target) - 1);
		if (n < 0)
			return vk_error_set(err, errno, "run: readlink %s: %s", src, strerror(errno));
		target[n] = '\0';
		if (symlink(target, dst) < 0)
			return vk_error_set(err, errno, "run: symlink %s: %s", dst, strerror(errno));
		return 0;
	}
	/* udev's database entries: copies, not mounts (a host has hundreds, and
	 * udevd replaces a changed one by a rename, which a mount would not see) */
	if (S_ISREG(st.st_mode) && !strncmp(rel, "run/udev/data/", 14) && st.st_size <= 65536)
		return copy_file(src, dst, st.st_mode, err);
	r = S_ISDIR(st.st_mode) ? make_dir(dst, 0755, err) : make_placeholder(dst, 0644, err);
	return r < 0 ? r : bind_mount(src, dst, ro, err);
}

/* Put the fake tree's entry @n (at @rel in the tree) at @dst. */
static int place_fake(const struct run_ctx *c, const struct vk_vt_node *n, const char *rel, const char *dst,
                      struct vk_error *err)
{
	char src[PATH_MAX];
	int r = join(src, sizeof(src), c->mnt, rel, err);

	if (r < 0)
		return r;
	switch (n->type) {
	case VK_VT_LINK:
		if (symlink(n->u.link.target, dst) < 0)
			return vk_error_set(err, errno, "run: symlink %s: %s", dst, strerror(errno));
		return 0;
	case VK_VT_DIR:
		r = make_dir(dst, 0755, err);
		break;
	default:
		r = make_placeholder(dst, 0644, err);
		break;
	}
	/* A static tree is read-only but for dev/: a stand-in is opened
	 * read-write like the node it stands for, and a read-only mount refuses
	 * that (EROFS) for a regular file.  A served tree answers for itself. */
	return r < 0 ? r : bind_mount(src, dst, c->static_tree && strncmp(rel, "dev/", 4) != 0, err);
}

static void free_names(char ***names)
{
	if (*names)
		for (char **p = *names; *p; p++)
			free(*p);
	free(*names);
}

/* The names in the real directory @path (sorted, NULL-terminated); an absent
 * or unreadable directory gives none. */
static int list_real(const char *path, char ***out, struct vk_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	char **v = calloc(1, sizeof(*v));
	size_t n = 0, cap = 1;
	struct dirent *e;

	if (!v)
		return vk_error_set(err, ENOMEM, "run: out of memory");
	*out = v;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n + 1 >= cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv)
				return vk_error_set(err, ENOMEM, "run: out of memory");
			*out = v = nv;
		}
		if (!(v[n] = strdup(e->d_name)))
			return vk_error_set(err, ENOMEM, "run: out of memory");
		v[++n] = NULL;
	}
	qsort(v, n, sizeof(*v), vk_strptr_cmp);
	return 0;
}

static int merge_dir(const struct run_ctx *c, const char *rel, const char *dst, struct vk_error *err);

/* The real directory /@rel (which the tree lacks) at @dst, built entry by
 * entry with the real one's mode, so that its links into the PCI hierarchy
 * can be left out. */
static int merge_real_dir(const struct run_ctx *c, const char *rel, const char *dst, struct vk_error *err)
{
	char real[PATH_MAX];
	struct stat st;
	int r;

	if ((size_t)snprintf(real, sizeof(real), "/%s", rel) >= sizeof(real))
		return vk_error_set(err, ENAMETOOLONG, "run: path too long: /%s", rel);
	if (lstat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return place_real(rel, dst, err); /* changed meanwhile: as any other entry */
	if ((r = make_dir(dst, 0755, err)) < 0 || (r = merge_dir(c, rel, dst, err)) < 0)
		return r;
	if (chmod(dst, st.st_mode & 07777) < 0)
		return vk_error_set(err, errno, "run: chmod %s: %s", dst, strerror(errno));
	return 0;
}

/*
 * Fill the (empty, tmpfs) directory @dst with the merge of the real /@rel and
 * the fake tree's @rel: real entries the scenario does not model, then every
 * fake entry; a directory both have and the scenario does not wholly model is
 * merged one level down.
 */
static int merge_dir(const struct run_ctx *c, const char *rel, const char *dst, struct vk_error *err)
{
	char real[PATH_MAX], crel[PATH_MAX], cdst[PATH_MAX];
	__attribute__((cleanup(free_names))) char **names = NULL;
	const struct vk_vt_node *fdir = vk_vtree_lookup(c->t, rel);
	struct stat st;
	int r;

	if (fdir && fdir->type != VK_VT_DIR)
		fdir = NULL;
	if ((size_t)snprintf(real, sizeof(real), "/%s", rel) >= sizeof(real))
		return vk_error_set(err, ENAMETOOLONG, "run: path too long: /%s", rel);
	if ((r = list_real(real, &names, err)) < 0)
		return r;
	for (char **p = names; *p; p++) {
		if (fdir && vk_vtree_child(fdir, *p))
			continue; /* below, with the fake entries */
		if ((r = join(crel, sizeof(crel), rel, *p, err)) < 0 || (r = join(cdst, sizeof(cdst), dst, *p, err)) < 0)
			return r;
		if (modelled(c, crel))
			continue;
		if (!strncmp(crel, "sys/", 4) && into_pci(crel))
			continue; /* a link into the real PCI hierarchy: the scenario's now */
		if (!strncmp(crel, "sys/", 4) && link_dir(crel) && leaks(crel, 0)) {
			if ((r = merge_real_dir(c, crel, cdst, err)) < 0)
				return r;
			continue;
		}
		if ((r = place_real(crel, cdst, err)) < 0)
			return r;
	}
	for (uint32_t i = 0; fdir && i < fdir->u.dir.n; i++) {
		const struct vk_vt_node *k = fdir->u.dir.kids[i];
		if ((r = join(crel, sizeof(crel), rel, k->name, err)) < 0 ||
		    (r = join(cdst, sizeof(cdst), dst, k->name, err)) < 0)
			return r;
		char rpath[PATH_MAX];
		if ((size_t)snprintf(rpath, sizeof(rpath), "/%s", crel) >= sizeof(rpath))
			return vk_error_set(err, ENAMETOOLONG, "run: path too long: /%s", crel);
		if (k->type == VK_VT_DIR && !modelled(c, crel) && lstat(rpath, &st) == 0 && S_ISDIR(st.st_mode)) {
			if ((r = make_dir(cdst, 0755, err)) < 0 || (r = merge_dir(c, crel, cdst, err)) < 0)
				return r;
			if (chmod(cdst, st.st_mode & 07777) < 0)
				return vk_error_set(err, errno, "run: chmod %s: %s", cdst, strerror(errno));
		} else if ((r = place_fake(c, k, crel, cdst, err)) < 0) {
			return r;
		}
	}
	return 0;
}

/* Bind every file of the fake proc/ over the real one that exists (nothing
 * can be created in /proc): /proc/cmdline, /proc/cpuinfo,
 * /proc/sys/kernel/osrelease; and the directory proc/bus/pci over the real
 * one, whose bus directories and devices are the host's. */
static int bind_proc(const struct run_ctx *c, const struct vk_vt_node *n, const char *rel, struct vk_error *err)
{
	char src[PATH_MAX], dst[PATH_MAX], crel[PATH_MAX];
	struct stat st;
	int r;

	if (n->type == VK_VT_DIR && !strcmp(rel, "proc/bus/pci")) {
		/* a host without PCI has no /proc/bus/pci to mount on */
		if (lstat("/proc/bus/pci", &st) < 0 || !S_ISDIR(st.st_mode))
			return 0;
		if ((r = join(src, sizeof(src), c->mnt, rel, err)) < 0)
			return r;
		return bind_mount(src, "/proc/bus/pci", c->static_tree, err);
	}
	if (n->type == VK_VT_DIR) {
		for (uint32_t i = 0; i < n->u.dir.n; i++) {
			if ((r = join(crel, sizeof(crel), rel, n->u.dir.kids[i]->name, err)) < 0 ||
			    (r = bind_proc(c, n->u.dir.kids[i], crel, err)) < 0)
				return r;
		}
		return 0;
	}
	if (n->type != VK_VT_FILE)
		return 0;
	if ((r = join(src, sizeof(src), c->mnt, rel, err)) < 0)
		return r;
	if ((size_t)snprintf(dst, sizeof(dst), "/%s", rel) >= sizeof(dst))
		return vk_error_set(err, ENAMETOOLONG, "run: path too long: /%s", rel);
	if (lstat(dst, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return bind_mount(src, dst, c->static_tree, err);
}

static int build_top(const struct run_ctx *c, const char *top, struct vk_error *err)
{
	char dst[PATH_MAX], real[32];
	struct stat st;
	int r;

	snprintf(real, sizeof(real), "/%s", top);
	if (stat(real, &st) < 0)
		return vk_error_set(err, errno, "run: %s: %s", real, strerror(errno));
	if ((r = join(dst, sizeof(dst), c->stage, top, err)) < 0 || (r = make_dir(dst, 0755, err)) < 0 ||
	    (r = merge_dir(c, top, dst, err)) < 0)
		return r;
	if (chmod(dst, st.st_mode & 07777) < 0)
		return vk_error_set(err, errno, "run: chmod %s: %s", dst, strerror(errno));
	if (mount(dst, real, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vk_error_set(err, errno, "run: bind mount %s on %s: %s", dst, real, strerror(errno));
	return 0;
}

int run_build_overlay(const struct run_ctx *c, struct vk_error *err)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	int r;

	if (c->static_tree && (r = run_build_static_tree(c, err)) < 0)
		return r;
	if (mount("tmpfs", c->stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return vk_error_set(err, errno, "run: mounting a tmpfs on %s: %s", c->stage, strerror(errno));
	if ((r = build_top(c, "sys", err)) < 0 || (r = build_top(c, "dev", err)) < 0)
		return r;
	/* /run for udev's database (run/udev/data): the host's entries but those
	 * of PCI devices, plus the scenario's devices' */
	if (vk_vtree_lookup(c->t, "run") && access("/run", F_OK) == 0 && (r = build_top(c, "run", err)) < 0)
		return r;
	/* the new /sys's own directories: read-only like sysfs (not recursive:
	 * the fake tree's parts answer for themselves) */
	if (mount_setattr(AT_FDCWD, "/sys", 0, &ro, sizeof(ro)) < 0)
		return vk_error_set(err, errno, "run: making the new /sys read-only: %s", strerror(errno));
	if (umount2(c->stage, MNT_DETACH) < 0)
		return vk_error_set(err, errno, "run: umount %s: %s", c->stage, strerror(errno));
	/* the static tree's own mount (FAKESYS_MOUNT) read-only too: its binds
	 * are mounts of their own, which keep their flags */
	if (c->static_tree && mount_setattr(AT_FDCWD, c->mnt, 0, &ro, sizeof(ro)) < 0)
		return vk_error_set(err, errno, "run: making %s read-only: %s", c->mnt, strerror(errno));
	return 0;
}

/*
 * The parts of /proc that change the host, not a process: kernel tunables,
 * SysRq, IRQ affinities, PCI config through /proc/bus/pci.  The command may
 * run as uid 0, which their permission checks accept (sysctl's test_perm()
 * compares the euid with GLOBAL_ROOT_UID, SysRq's write checks nothing):
 * read-only, as container runtimes make them (moby's default ReadonlyPaths).
 */
static const char *const proc_read_only[] = {"bus", "fs", "irq", "sys", "sysrq-trigger"};

int run_build_proc(const struct run_ctx *c, struct vk_error *err)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	const struct vk_vt_node *proc = vk_vtree_lookup(c->t, "proc");
	char path[64];
	int r;

	/*
	 * The PID namespace's own procfs (as `unshare --pid --mount-proc`), so
	 * that PIDs read in /proc are the command's, and no host process, nor
	 * its /proc/PID/root into the host's mounts, is in sight.  First, while
	 * the inherited /proc is still fully visible: in a user namespace the
	 * kernel refuses a new procfs otherwise (mount_too_revealing() in
	 * fs/namespace.c), which is also why this fails in containers that mask
	 * parts of /proc.
	 */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return vk_error_set(err, errno,
		                    "run: mounting a /proc for the command's PID namespace: %s (the kernel refuses it "
		                    "in a user namespace when parts of the inherited /proc are masked, as in some "
		                    "containers)",
		                    strerror(errno));
	if (proc && (r = bind_proc(c, proc, "proc", err)) < 0)
		return r;
	for (size_t i = 0; i < VK_ARRAY_SIZE(proc_read_only); i++) {
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%s", proc_read_only[i]);
		if (lstat(path, &st) < 0)
			continue; /* not on this kernel */
		if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &ro, sizeof(ro)) < 0)
			return vk_error_set(err, errno, "run: making %s read-only: %s", path, strerror(errno));
	}
	return 0;
}
