/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test`: one scenario, in the child process that runs it.  The
 * scenario is loaded, served (a FUSE mount in its temporary directory, else a
 * plain tree written there), its expectations are checked in the order the
 * scenario relies on, and the result goes to a file for the parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>
#include <vfiokit/vtree.h>
#include <vfiokit/root.h>
#include <vfiokit/validator.h>

#include "checks.h"
#include "precheck.h"
#include "client.h"
#include "result.h"
#include "serve.h"
#include "set_phase.h"
#include "util.h"

/* Where and how a scenario is served. */
struct served {
	char tree[4300]; /* the mount point or the plain tree */
	char log[4300];  /* the access log (used with expect: access:) */
	char mode[1200]; /* as the result line shows it */
	bool mounted;
};

static bool fuse_usable(void)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Whether @id is mapped in this process's user namespace (@map:
 * /proc/self/uid_map or gid_map: "inside outside count" lines). */
static bool runner_id_mapped(const char *map, unsigned long id)
{
	FILE *f = fopen(map, "re");
	unsigned long in, outside, count;
	bool found = false;

	if (!f)
		return true; /* no user namespaces here: every id is the host's */
	while (!found && fscanf(f, "%lu %lu %lu", &in, &outside, &count) == 3)
		found = id >= in && id - in < count;
	fclose(f);
	return found;
}

/* The first node of @n's subtree whose owner or group is not mapped here. */
static const struct vk_vt_node *unmapped_owner(const struct vk_vt_node *n)
{
	if (!runner_id_mapped("/proc/self/uid_map", n->uid) || !runner_id_mapped("/proc/self/gid_map", n->gid))
		return n;
	if (n->type != VK_VT_DIR)
		return NULL;
	for (uint32_t i = 0; i < n->u.dir.n; i++) {
		const struct vk_vt_node *u = unmapped_owner(n->u.dir.kids[i]);
		if (u)
			return u;
	}
	return NULL;
}

/*
 * In a user namespace that maps only some ids (an ordinary user's fakesys
 * without subordinate ids), a node owned by an unmapped id is shown as the
 * overflow id 65534, and root there has no CAP_DAC_OVERRIDE over it
 * (capable_wrt_inode_uidgid()): the scenario would not mean what it says.
 * Returns ST_OK, or ST_SKIP with @note.
 */
static int owners_mapped(const struct vtree *t, char *note, size_t len)
{
	const struct vk_vt_node *n = unmapped_owner(vk_vtree_root((struct vtree *)t));

	if (!n)
		return ST_OK;
	snprintf(note, len,
	         "the node %s is owned by %u:%u, which is not mapped in this user namespace (an ordinary user's fakesys "
	         "maps its subordinate ids of /etc/subuid and /etc/subgid, with newuidmap(1), where it has them)",
	         n->name, n->uid, n->gid);
	return ST_SKIP;
}

/* Why this scenario cannot run here ("" when it can): requires:, user:. */
static void skip_reason(const struct vk_fakesys_expect *x, char *buf, size_t len)
{
	char path[4096];

	*buf = '\0';
	for (size_t i = 0; i < x->n_requires; i++)
		if (runner_find_program(x->requires[i], path, sizeof(path)) < 0) {
			snprintf(buf, len, "requires %s, which is not on PATH", x->requires[i]);
			return;
		}
	if (x->has_user && geteuid() != 0 && geteuid() != x->user_uid)
		snprintf(buf, len, "user: running as uid %u needs root (this is uid %u)", x->user_uid, (unsigned)geteuid());
	else if (x->has_user && (!runner_id_mapped("/proc/self/uid_map", x->user_uid) ||
	                         !runner_id_mapped("/proc/self/gid_map", x->user_gid)))
		snprintf(buf, len,
		         "user: uid %u or gid %u is not mapped in this user namespace (an ordinary user's fakesys maps its "
		         "subordinate ids of /etc/subuid and /etc/subgid, with newuidmap(1), where it has them)",
		         x->user_uid, x->user_gid);
}

/* Load @path into *@sc and its expectations into *@x: ST_OK when they can be
 * checked here, else ST_ERROR or ST_SKIP with the reason in @note. */
static int load(const char *path, struct vk_fakesys_scenario **sc, struct vk_fakesys_expect **x, char *note, size_t len)
{
	struct vk_error e = {0};

	if (runner_scenario_load(path, sc, x, &e) < 0) {
		snprintf(note, len, "%s", e.msg);
		return ST_ERROR;
	}
	if (!*x) {
		snprintf(note, len, "%s: no expect: block; nothing to check (docs/scenario-format.md, expect:)", path);
		return ST_ERROR;
	}
	if (runner_precheck(path, *x, note, len) < 0)
		return ST_ERROR;
	skip_reason(*x, note, len);
	return note[0] ? ST_SKIP : ST_OK;
}

/* Try a FUSE mount of @t on @dir/mnt: ST_OK mounted or not (@s->mode says
 * which), ST_ERROR with @note when --fuse was asked for and it failed. */
static int try_mount(const struct run_ctx *c, struct vtree *t, const char *dir, int mode, struct served *s,
                     char *note, size_t len)
{
	struct vk_error e = {0};
	struct vk_fakesys_mount_opts o = {.model = c->sc->host,
	                                  .faults = c->sc->faults,
	                                  .n_faults = c->sc->n_faults,
	                                  .steps = c->sc->steps,
	                                  .n_steps = c->sc->n_steps,
	                                  .log = c->x->n_access ? s->log : NULL};

	snprintf(s->tree, sizeof(s->tree), "%s/mnt", dir);
	if (mkdir(s->tree, 0755) < 0 || vk_fakesys_mount(t, s->tree, &o, &e) < 0) {
		if (mode == MODE_FUSE) {
			snprintf(note, len, "FUSE mount failed: %s", e.msg[0] ? e.msg : strerror(errno));
			return ST_ERROR;
		}
		snprintf(s->mode, sizeof(s->mode), "plain (FUSE mount failed: %s)", e.msg[0] ? e.msg : strerror(errno));
		return ST_OK;
	}
	s->mounted = true;
	snprintf(s->mode, sizeof(s->mode), "fuse");
	return ST_OK;
}

/* Serve @t under @dir: a FUSE mount, else a plain tree.  ST_OK, or ST_ERROR
 * or ST_SKIP with @note. */
static int serve(const struct run_ctx *c, struct vtree *t, const char *dir, int mode, struct served *s, char *note,
                 size_t len)
{
	struct vk_error e = {0};

	snprintf(s->log, sizeof(s->log), "%s/access.log", dir);
	if (mode != MODE_PLAIN && (mode == MODE_FUSE || fuse_usable())) {
		int st = try_mount(c, t, dir, mode, s, note, len);
		if (st != ST_OK)
			return st;
	} else {
		snprintf(s->mode, sizeof(s->mode), mode == MODE_PLAIN ? "plain" : "plain (/dev/fuse not usable)");
	}
	if (s->mounted)
		return ST_OK;
	if (c->sc->n_faults || c->sc->n_steps || c->x->n_access) {
		snprintf(note, len, "%s need a FUSE mount", c->x->n_access ? "access-log expectations" : "faults and steps");
		return ST_SKIP;
	}
	snprintf(s->tree, sizeof(s->tree), "%s/tree", dir);
	if (vk_fakesys_materialize(t, s->tree, &e) < 0) {
		snprintf(note, len, "%s", e.msg);
		return ST_ERROR;
	}
	return ST_OK;
}

/* The expectations, in the order of the phases: a scenario relies on it,
 * since steps fire on accesses.  Each expectation not met is an entry of @d. */
static void check(struct run_ctx *c, const struct vk_root *root, const struct served *s, struct diff *d)
{
	c->root = root;
	c->log = s->mounted && c->x->n_access ? s->log : NULL;

	runner_run_client(c, runner_check_resolver, d);
	runner_check_doctor(c, d);
	runner_run_client(c, runner_set_phase, d);
}

int runner_serve_one(const char *path, const char *dir, int mode, unsigned timeout, const char *result)
{
	struct vk_fakesys_scenario *sc = NULL;
	struct vk_fakesys_expect *x = NULL;
	struct vtree *t = NULL;
	struct vk_root *root = NULL;
	struct vk_error e = {0};
	struct diff d = {0};
	struct served s = {.mode = "-"};
	char note[1200] = "";

	d.f = open_memstream(&d.buf, &d.len);
	if (!d.f)
		return -ENOMEM;
	int st = load(path, &sc, &x, note, sizeof(note));
	struct run_ctx c = {.sc = sc, .m = sc ? sc->host : NULL, .x = x, .timeout = timeout};
	if (st == ST_OK && vk_host_tree_build(sc->host, &t, &e) < 0) {
		st = ST_ERROR;
		snprintf(note, sizeof(note), "%s", e.msg);
	}
	if (st == ST_OK)
		st = owners_mapped(t, note, sizeof(note));
	if (st == ST_OK)
		st = serve(&c, t, dir, mode, &s, note, sizeof(note));
	if (st == ST_OK && vk_root_open(s.tree, 0, &root, &e) < 0) {
		st = ST_ERROR;
		snprintf(note, sizeof(note), "%s", e.msg);
	}
	if (st == ST_OK) {
		check(&c, root, &s, &d);
		if (d.n) {
			st = ST_FAIL;
			snprintf(note, sizeof(note), "%u expectation%s not met", d.n, d.n == 1 ? "" : "s");
		}
	}
	vk_root_close(root);
	if (s.mounted && vk_fakesys_umount(s.tree, &e) < 0 && st == ST_OK) {
		st = ST_ERROR;
		snprintf(note, sizeof(note), "unmounting: %s", e.msg);
	}
	vk_vtree_free(t);
	vk_fakesys_expect_free(x);
	vk_fakesys_scenario_free(sc);
	fclose(d.f);
	int r = runner_result_write(result, st, s.mode, note, d.buf);
	free(d.buf);
	return r;
}
