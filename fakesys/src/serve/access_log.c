/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The access log of a FUSE mount: one JSON object per line and operation. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "live/live.h"

int output_file_check(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return S_ISREG(st.st_mode) ? 0 : -EINVAL;
}

int output_file_open(const char *path, int flags)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO with no reader fails with ENXIO instead of blocking
	 * the open; one with a reader opens, and fstat() refuses it */
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | flags, 0644);

	if (fd < 0)
		return errno == ENXIO ? -EINVAL : -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno;
		close(fd);
		return S_ISREG(st.st_mode) ? -e : -EINVAL;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int access_log_open(struct access_log *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	int fd = output_file_open(path, O_APPEND);
	if (fd < 0)
		return fd;
	l->f = fdopen(fd, "a");
	if (!l->f) {
		int e = errno;
		close(fd);
		return -e;
	}
	atomic_store(&l->on, true);
	return 0;
}

void access_log_close(struct access_log *l)
{
	if (l->f)
		fclose(l->f);
	l->f = NULL;
	atomic_store(&l->on, false);
	pthread_mutex_destroy(&l->mu);
}

/* "O_RDWR|O_NONBLOCK|..." for the flags the kernel passes with an open. */
static void flag_names(int flags, char *buf, size_t len)
{
	static const struct {
		int bit;
		const char *name;
	} bits[] = {
		{O_APPEND, "O_APPEND"},
		{O_NONBLOCK, "O_NONBLOCK"},
		{O_SYNC, "O_SYNC"},
		{O_DIRECT, "O_DIRECT"},
		{O_DIRECTORY, "O_DIRECTORY"},
		{O_NOFOLLOW, "O_NOFOLLOW"},
		{O_NOATIME, "O_NOATIME"},
		{O_CLOEXEC, "O_CLOEXEC"},
		{O_TRUNC, "O_TRUNC"},
		{O_PATH, "O_PATH"},
	};
	int acc = flags & O_ACCMODE;
	size_t pos = (size_t)snprintf(buf, len, "%s",
	                              acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY"
	                                                     : acc == O_RDWR         ? "O_RDWR"
	                                                                             : "O_ACC3");
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]) && pos < len; i++)
		if ((flags & bits[i].bit) == bits[i].bit)
			pos += (size_t)snprintf(buf + pos, len - pos, "|%s", bits[i].name);
}

static void log_line(struct access_log *l, json_t *o, int err);

void access_log_ioctl(struct access_log *l, int pid, unsigned uid, const char *path, const char *name, int err)
{
	struct timespec ts;

	if (!atomic_load_explicit(&l->on, memory_order_relaxed) || !l->f)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_t *o = json_object();
	if (!o)
		return;
	json_object_set_new(o, "time", json_real((double)ts.tv_sec + (double)ts.tv_nsec / 1e9));
	json_object_set_new(o, "pid", json_integer(pid));
	json_object_set_new(o, "uid", json_integer(uid));
	json_object_set_new(o, "op", json_string("ioctl"));
	json_object_set_new(o, "path", json_string(path));
	json_object_set_new(o, "ioctl", json_string(name));
	log_line(l, o, err);
}

void access_log_write(struct access_log *l, int pid, unsigned uid, const char *op, const char *path, int flags,
                      int err, long long off, long long size)
{
	struct timespec ts;
	char fl[256];

	if (!atomic_load_explicit(&l->on, memory_order_relaxed) || !l->f)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_t *o = json_object();
	if (!o)
		return;
	json_object_set_new(o, "time", json_real((double)ts.tv_sec + (double)ts.tv_nsec / 1e9));
	json_object_set_new(o, "pid", json_integer(pid));
	json_object_set_new(o, "uid", json_integer(uid));
	json_object_set_new(o, "op", json_string(op));
	json_object_set_new(o, "path", json_string(path));
	if (flags >= 0) {
		flag_names(flags, fl, sizeof(fl));
		json_object_set_new(o, "flags", json_string(fl));
	}
	if (off >= 0)
		json_object_set_new(o, "offset", json_integer(off));
	if (size >= 0)
		json_object_set_new(o, "size", json_integer(size));
	log_line(l, o, err);
}

/* errno and seq, then the line; takes @o */
static void log_line(struct access_log *l, json_t *o, int err)
{
	const char *en = err ? strerrorname_np(err) : NULL;
	json_object_set_new(o, "errno", err ? (en ? json_string(en) : json_integer(err)) : json_null());
	pthread_mutex_lock(&l->mu);
	json_object_set_new(o, "seq", json_integer((json_int_t)++l->seq));
	char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line) {
		fputs(line, l->f);
		fputc('\n', l->f);
		fflush(l->f);
		free(line);
	}
	pthread_mutex_unlock(&l->mu);
	json_decref(o);
}
