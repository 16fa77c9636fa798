/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys record: notes, and reading a recorded tree.
 *
 * Safety: every path of the recorded tree is opened through struct vk_root
 * (symlinks resolved inside the root), attributes with no symlink followed,
 * always O_NONBLOCK (a FIFO planted as an attribute cannot block us), and only
 * regular files are read, with a cap.  Device nodes are only stat'ed (O_PATH),
 * never opened.  Everything skipped becomes a note: stderr and YAML comments.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_cleanup.h"

#include "record.h"

/* Appends @s (taken; freed on failure); the array grows by doubling. */
int strv_push(char ***v, size_t *n, char *s)
{
	if (!s)
		return -ENOMEM;
	if ((*n & (*n - 1)) == 0) { /* 0, 1, 2, 4, ...: full */
		char **nv = realloc(*v, (*n ? 2 * *n : 1) * sizeof(**v));
		if (!nv) {
			free(s);
			return -ENOMEM;
		}
		*v = nv;
	}
	(*v)[(*n)++] = s;
	return 0;
}

/* Length of the UTF-8 character at @p (1..4) and its value in *@cp, or 0 when
 * it is not one (overlong forms, surrogates and values above U+10FFFF
 * included: libyaml's reader refuses them). */
static size_t utf8_char(const unsigned char *p, uint32_t *cp)
{
	unsigned c = p[0];
	size_t n;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, v = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) || (n == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	*cp = v;
	return n;
}

bool utf8_valid(const char *s)
{
	uint32_t cp;

	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_char(p, &cp);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

/* What a YAML comment cannot hold: controls, which libyaml's reader refuses
 * (C1 and U+FFFE/U+FFFF too), and its line breaks besides \n and \r (NEL,
 * U+2028, U+2029), which would end the comment there. */
static bool comment_unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 || c == 0xfeff || c == 0xfffe ||
	       c == 0xffff;
}

char *text_line(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(4 * len + 1), *o = out;
	uint32_t cp;

	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_char(p, &cp);
		if (n && comment_unsafe(cp)) {
			*o++ = '?';
		} else if (n) {
			memcpy(o, p, n);
			o += n;
		} else {
			static const char hex[] = "0123456789abcdef";
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
			n = 1;
		}
		p += n;
	}
	*o = '\0';
	return out;
}

void notes_add(struct notes *nt, const char *fmt, ...)
{
	char *raw = NULL;
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(&raw, fmt, ap);
	va_end(ap);
	if (n < 0) {
		nt->oom = true;
		return;
	}
	char *s = text_line(raw);
	free(raw);
	if (!s) {
		nt->oom = true;
		return;
	}
	if (nt->f)
		fprintf(nt->f, "fakesys: %s: %s\n", nt->who ? nt->who : "record", s);
	if (nt->n >= MAX_NOTES) {
		nt->dropped++;
		free(s);
		return;
	}
	if (strv_push(&nt->v, &nt->n, s) < 0)
		nt->oom = true;
}

void notes_free(struct notes *nt)
{
	vk_strv_free(nt->v, nt->n);
	nt->v = NULL;
	nt->n = 0;
}

const char *shown(struct rec *r, const char *rel, char *buf, size_t len)
{
	return vk_root_path(r->root, rel, buf, len);
}

/*
 * Read a regular file: @dirfd < 0 means @rel is relative to the root
 * (symlinks followed inside it), else @rel is below @dirfd with no symlink.
 * Returns 0 with a NUL-terminated malloc'd buffer, -ENOENT quietly, other
 * errors with a note.  With @truncate, a longer file gives its first @cap bytes.
 */
int read_file(struct rec *r, int dirfd, const char *rel, const char *what, size_t cap, bool truncate, char **out,
              size_t *len)
{
	char p[PATH_MAX];
	struct stat st;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;

	*out = NULL;
	if (len)
		*len = 0;
	if (dirfd < 0)
		fd = vk_root_openat(r->root, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	else
		fd = vk_root_openat_nofollow(r->root, dirfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (fd != -ENOENT)
			note(r, "skipped %s: %s", what ? what : shown(r, rel, p, sizeof(p)), strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		note(r, "skipped %s: not a regular file", what ? what : shown(r, rel, p, sizeof(p)));
		return -EINVAL;
	}
	buf = malloc(cap + 2);
	if (!buf)
		return -ENOMEM;
	while (n < cap + 1) {
		ssize_t k = read(fd, buf + n, cap + 1 - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			note(r, "skipped %s: read: %s", what ? what : shown(r, rel, p, sizeof(p)), strerror(e));
			return -e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > cap) {
		if (!truncate) {
			note(r, "skipped %s: larger than %zu bytes", what ? what : shown(r, rel, p, sizeof(p)), cap);
			return -EFBIG;
		}
		note(r, "%s: longer than %zu bytes; kept the first %zu", what ? what : shown(r, rel, p, sizeof(p)),
		     cap, cap);
		n = cap;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = TAKE_PTR(buf);
	return 0;
}

/* A text attribute without its trailing newline; NUL bytes make it unusable. */
int read_text(struct rec *r, int dirfd, const char *rel, const char *what, char **out)
{
	size_t n;
	int k = read_file(r, dirfd, rel, what, ATTR_CAP, false, out, &n);
	if (k < 0)
		return k;
	if (strlen(*out) != n) {
		char p[PATH_MAX];
		note(r, "skipped %s: contains a NUL byte", what ? what : shown(r, rel, p, sizeof(p)));
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	if (n && (*out)[n - 1] == '\n')
		(*out)[n - 1] = '\0';
	return 0;
}

bool parse_u64(const char *s, int base, uint64_t *v)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long long x = strtoull(s, &end, base);
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

bool parse_i64(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	long long x = strtoll(s, &end, 0);
	if (errno || end == s || *end)
		return false;
	*v = x;
	return true;
}

/* A number attribute of a device (base 0: "0x10de" or "12"). */
bool read_num(struct rec *r, int dirfd, const char *bdf, const char *name, uint64_t max, uint64_t *v)
{
	_cleanup_free_ char *s = NULL;
	char what[256];

	snprintf(what, sizeof(what), "%s/%s", bdf, name);
	if (read_text(r, dirfd, name, what, &s) < 0)
		return false;
	if (!parse_u64(s, 0, v) || *v > max) {
		note(r, "skipped %s: '%.40s' is not a number in 0..%#llx", what, s, (unsigned long long)max);
		return false;
	}
	return true;
}

/* Target of the symlink @name in @dirfd (never followed), NUL-terminated. */
int read_link(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n = readlinkat(dirfd, name, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of a directory (no "." / ".."); -ENOENT quietly. */
int list_dir(struct rec *r, int dirfd, const char *rel, char ***names, size_t *n)
{
	char p[PATH_MAX];
	int fd;

	*names = NULL;
	*n = 0;
	if (dirfd < 0)
		fd = vk_root_openat(r->root, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	else
		fd = vk_root_openat_nofollow(r->root, dirfd, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	if (fd < 0) {
		if (fd != -ENOENT)
			note(r, "skipped directory %s: %s", shown(r, rel, p, sizeof(p)), strerror(-fd));
		return fd;
	}
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n >= MAX_ENTRIES) {
			note(r, "%s: more than %u entries; read the first %u", shown(r, rel, p, sizeof(p)),
			     MAX_ENTRIES, MAX_ENTRIES);
			break;
		}
		if (strv_push(names, n, strdup(de->d_name)) < 0) {
			vk_strv_free(*names, *n);
			*names = NULL;
			*n = 0;
			return -ENOMEM;
		}
		errno = 0;
	}
	if (!de && errno)
		note(r, "%s: listing failed: %s", shown(r, rel, p, sizeof(p)), strerror(errno));
	if (*n)
		qsort(*names, *n, sizeof(char *), cmp_strp);
	return 0;
}

/* stat() of a /dev node (O_PATH: never opened). */
void stat_node(struct rec *r, const char *rel, struct rnode *out)
{
	struct stat st;
	_cleanup_close_ int fd = vk_root_openat(r->root, rel, O_PATH);

	out->known = true;
	out->present = false;
	if (fd < 0) {
		if (fd != -ENOENT) {
			char p[PATH_MAX];
			note(r, "%s: %s; recorded as absent", shown(r, rel, p, sizeof(p)), strerror(-fd));
		}
		return;
	}
	if (fstat(fd, &st) < 0)
		return;
	out->present = true;
	out->uid = st.st_uid;
	out->gid = st.st_gid;
	out->mode = st.st_mode & 07777;
}

bool exists(struct rec *r, const char *rel)
{
	_cleanup_close_ int fd = vk_root_openat(r->root, rel, O_PATH);
	return fd >= 0;
}

/* A file name fakesys accepts (docs/scenario-format.md, "name"; want_name()
 * in scenario.c): UTF-8, no space, control character or '/'. */
bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 255 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '/')
			return false;
	return utf8_valid(s);
}

/* One line of UTF-8 text (tabs allowed). */
bool text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 && *p != '\t')
			return false;
	return utf8_valid(s);
}
