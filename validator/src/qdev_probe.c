/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device model of a QEMU binary, asked with `-device help` and
 * `-device TYPE,help`, and the per-binary cache of its answers.
 *
 * Cache file: <dir>/qdev-<hash of the path>.txt, keyed by the binary's path,
 * size and mtime (nanoseconds) and holding its version:
 *     vfiokit-qdev-cache 1
 *     path /usr/bin/qemu-system-x86_64
 *     size 19327112
 *     mtime 1700000000.123456789
 *     @version            each text: its lines, each prefixed with '|',
 *     |QEMU emulator ...  closed by @end
 *     @end
 *     @list ... @end      -device help
 *     @object ... @end    -object iommufd,help
 *     @help vfio-pci ...  -device vfio-pci,help
 * A file that does not match (another binary at that path, a rebuilt one)
 * or cannot be read is ignored and rewritten; a cache that cannot be written
 * is not an error (the answers are then asked again next time).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/qdev_model.h>

#include "vk_fileio.h"

struct answers {
	char *version;
	char *list;
	char *object;
	char **names;
	char **helps;
	size_t n, cap;
	bool dirty;
};

static void answers_free(struct answers *a)
{
	free(a->version);
	free(a->list);
	free(a->object);
	for (size_t i = 0; i < a->n; i++) {
		free(a->names[i]);
		free(a->helps[i]);
	}
	free(a->names);
	free(a->helps);
	memset(a, 0, sizeof(*a));
}

static ssize_t answers_find(const struct answers *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->names[i], name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Takes @name and @help. */
static int answers_add(struct answers *a, char *name, char *help)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 16;
		char **nn = realloc(a->names, nc * sizeof(char *));
		if (nn)
			a->names = nn;
		char **nh = nn ? realloc(a->helps, nc * sizeof(char *)) : NULL;
		if (nh)
			a->helps = nh;
		if (!nn || !nh) {
			free(name);
			free(help);
			return -ENOMEM;
		}
		a->cap = nc;
	}
	a->names[a->n] = name;
	a->helps[a->n++] = help;
	return 0;
}

static const char *cache_dir(const struct vk_qdev_probe_opts *o, char *buf, size_t len)
{
	const char *e;

	if (o && o->cache_dir)
		return o->cache_dir[0] ? o->cache_dir : NULL;
	if ((e = getenv("VFIOKIT_CACHE_DIR")) && *e)
		return e;
	if ((e = getenv("XDG_CACHE_HOME")) && *e)
		snprintf(buf, len, "%s/vfiokit", e);
	else if ((e = getenv("HOME")) && *e)
		snprintf(buf, len, "%s/.cache/vfiokit", e);
	else
		return NULL;
	return buf;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static char *cache_path(const char *dir, const char *binary)
{
	char *p = NULL;

	if (asprintf(&p, "%s/qdev-%016llx.txt", dir, (unsigned long long)fnv1a(binary)) < 0)
		return NULL;
	return p;
}

static void header(char *buf, size_t len, const char *binary, const struct stat *st)
{
	snprintf(buf, len, "vfiokit-qdev-cache 1\npath %s\nsize %lld\nmtime %lld.%09ld\n", binary,
	         (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

/* The text of a section starting after its "@..." line; *@next receives where the next one starts. */
static char *section_text(const char *p, const char **next)
{
	size_t cap = 256, n = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	while (*p == '|') {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (n + l + 1 > cap) {
			while (n + l + 1 > cap)
				cap *= 2;
			char *q = realloc(out, cap);
			if (!q) {
				free(out);
				return NULL;
			}
			out = q;
		}
		memcpy(out + n, p + 1, l - 1);
		n += l - 1;
		out[n++] = '\n';
		p += l + (e ? 1 : 0);
	}
	out[n] = '\0';
	if (strncmp(p, "@end\n", 5) != 0) {
		free(out);
		return NULL;
	}
	*next = p + 5;
	return out;
}

/* Load the answers a matching cache file holds; any mismatch or damage: nothing. */
static void cache_load(const char *path, const char *want_header, struct answers *a)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (vk_read_path_alloc(path, 0, 4u << 20, &text, &len, NULL) < 0 || strlen(text) != len)
		return;
	if (strncmp(text, want_header, strlen(want_header)) != 0)
		return;
	for (const char *p = text + strlen(want_header); *p;) {
		const char *nl = strchr(p, '\n');
		char *body;
		if (!nl || p[0] != '@')
			goto bad;
		_cleanup_free_ char *tag = strndup(p, (size_t)(nl - p));
		if (!tag || !(body = section_text(nl + 1, &p)))
			goto bad;
		if (strcmp(tag, "@version") == 0 && !a->version)
			a->version = body;
		else if (strcmp(tag, "@list") == 0 && !a->list)
			a->list = body;
		else if (strcmp(tag, "@object") == 0 && !a->object)
			a->object = body;
		else if (strncmp(tag, "@help ", 6) == 0 && answers_find(a, tag + 6) < 0) {
			char *name = strdup(tag + 6);
			if (!name || answers_add(a, name, body) < 0) {
				free(name == NULL ? body : NULL);
				goto bad;
			}
		} else {
			free(body);
			goto bad;
		}
	}
	if (a->version && a->list && a->object)
		return;
bad:
	answers_free(a);
}

static void put_section(FILE *f, const char *tag, const char *name, const char *text)
{
	fprintf(f, "@%s%s%s\n", tag, name ? " " : "", name ? name : "");
	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		fprintf(f, "|%.*s\n", (int)n, l);
		l += n + (e ? 1 : 0);
	}
	fputs("@end\n", f);
}

/* Write atomically (a temporary file renamed over the old one); failures are ignored. */
static void cache_store(const char *dir, const char *path, const char *hdr, const struct answers *a)
{
	char tmp[PATH_MAX];
	int fd;
	FILE *f;

	/* the directory and its parent (~/.cache) as mkdir -p would, private to the user */
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *sl = strrchr(parent, '/');
	if (sl && sl != parent) {
		*sl = '\0';
		mkdir(parent, 0700);
	}
	mkdir(dir, 0700);
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return;
	}
	fputs(hdr, f);
	put_section(f, "version", NULL, a->version);
	put_section(f, "list", NULL, a->list);
	put_section(f, "object", NULL, a->object);
	for (size_t i = 0; i < a->n; i++)
		put_section(f, "help", a->names[i], a->helps[i]);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
}

/* What QEMU accepts as a device name to ask about (qdev type names; no option syntax). */
static bool askable(const char *name)
{
	if (!*name || strcmp(name, "help") == 0 || strlen(name) > 128)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return false;
	return true;
}

/* Run one question; a timeout or a failure to run is an error. */
static int ask(const char *binary, const char *a1, const char *a2, unsigned timeout_ms, char **out,
               struct vk_error *err)
{
	char *argv[] = {(char *)binary, (char *)a1, (char *)a2, NULL};
	int r = vk_run_capture(argv, timeout_ms, out, NULL);

	if (r == -ETIMEDOUT)
		return vk_error_set(err, ETIMEDOUT, "%s: no answer to '%s%s%s' within %u ms (killed): is it a QEMU binary?",
		                    binary, a1, a2 ? " " : "", a2 ? a2 : "", timeout_ms ? timeout_ms : 10000);
	if (r < 0)
		return vk_error_set(err, -r, "%s: cannot run: %s", binary, strerror(-r));
	return 0;
}

/* Ask the binary what the cache does not hold.  Returns 0 or -errno. */
static int ask_missing(const char *binary, size_t nnames, const char *const *names, unsigned timeout_ms,
                       struct answers *a, struct vk_error *err)
{
	int r;

	if (!a->version) {
		if ((r = ask(binary, "-version", NULL, timeout_ms, &a->version, err)) < 0)
			return r;
		if (!strstr(a->version, "QEMU emulator version "))
			return vk_error_set(err, ENOEXEC, "%s: not a QEMU system emulator (-version prints no \"QEMU emulator version\")",
			                    binary);
		a->dirty = true;
	}
	if (!a->list) {
		if ((r = ask(binary, "-device", "help", timeout_ms, &a->list, err)) < 0)
			return r;
		a->dirty = true;
	}
	if (!a->object) {
		if ((r = ask(binary, "-object", "iommufd,help", timeout_ms, &a->object, err)) < 0)
			return r;
		a->dirty = true;
	}
	for (size_t i = 0; i <= nnames; i++) {
		const char *nm = i < nnames ? names[i] : "vfio-pci"; /* always: the capabilities rest on it */
		char q[160], *help = NULL, *name;
		if (!askable(nm) || answers_find(a, nm) >= 0)
			continue;
		snprintf(q, sizeof(q), "%s,help", nm);
		if ((r = ask(binary, "-device", q, timeout_ms, &help, err)) < 0)
			return r;
		if (!(name = strdup(nm)) || answers_add(a, name, help) < 0) {
			free(name ? NULL : help);
			return vk_error_set(err, ENOMEM, "out of memory");
		}
		a->dirty = true;
	}
	return 0;
}

int vk_qdev_model_probe(const char *binary, size_t nnames, const char *const *names,
                        const struct vk_qdev_probe_opts *opts, struct vk_qdev_model **out, struct vk_error *err)
{
	struct answers a = {0};
	struct stat st;
	char dirbuf[PATH_MAX], hdr[PATH_MAX + 128];
	const char *dir = cache_dir(opts, dirbuf, sizeof(dirbuf));
	_cleanup_free_ char *path = NULL;
	unsigned timeout_ms = opts ? opts->timeout_ms : 0;
	int r;

	*out = NULL;
	if (opts && opts->cache_hit)
		*opts->cache_hit = false;
	if (stat(binary, &st) < 0)
		return vk_error_set(err, errno, "%s: cannot run: %s", binary, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vk_error_set(err, EACCES, "%s: cannot run: not a regular file", binary);
	header(hdr, sizeof(hdr), binary, &st);
	if (dir && (path = cache_path(dir, binary)))
		cache_load(path, hdr, &a);
	r = ask_missing(binary, nnames, names, timeout_ms, &a, err);
	if (r < 0)
		goto out;
	if (a.dirty && path)
		cache_store(dir, path, hdr, &a);
	if (opts && opts->cache_hit)
		*opts->cache_hit = !a.dirty;
	r = vk_qdev_model_from_help(a.version, a.list, a.n, (const char *const *)a.names, (const char *const *)a.helps, a.object,
	                            out, err);
	if (r == 0) {
		const char *p = strstr(a.version, "version ");
		const char *base = strrchr(binary, '/');
		base = base ? base + 1 : binary;
		snprintf((*out)->label, sizeof((*out)->label), "%s %.*s", binary, (int)strcspn(p + 8, " \n"), p + 8);
		if (strncmp(base, "qemu-system-", 12) == 0)
			snprintf((*out)->target, sizeof((*out)->target), "%s", base + 12);
	}
out:
	answers_free(&a);
	return r;
}
