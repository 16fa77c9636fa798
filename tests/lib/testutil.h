/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VK_TESTUTIL_H
#define VK_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Source and build directories (from the environment ctest sets, else the
 * values compiled in). */
const char *vk_source_dir(void);
const char *vk_binary_dir(void);

/* "<source>/scenarios/<name>" or "<source>/tests/<part>/data/<name>" into buf. */
const char *vk_scenario_path(const char *name, char *buf, size_t len);
const char *vk_test_data_path(const char *part, const char *name, char *buf, size_t len);

/* Path of a built program, e.g. vk_bin("fakesys/fakesys"). Static buffer per call site not needed:
 * writes into buf. */
const char *vk_bin(const char *rel, char *buf, size_t len);

/* A fresh directory under $TMPDIR (or /tmp); returns 0 or -errno. */
int vk_mkdtemp(char *buf, size_t len);

/* rm -rf of a directory made by vk_mkdtemp (refuses anything outside /tmp-like prefixes). */
int vk_rm_rf(const char *path);

/*
 * Run argv[0] (a path) with argv, wait for it.  stdout/stderr captured into
 * out/errbuf (NUL-terminated, truncated to the sizes) when not NULL.
 * Returns the exit status (0..255), 128+signal when killed, or -errno when it
 * could not be started.
 */
int vk_run(char *const argv[], char *out, size_t outlen, char *errbuf, size_t errlen);

/*
 * vk_run() of the words of @head (NULL-terminated, may be empty) followed by
 * @first and the words of @ap up to a NULL (none when @first is NULL): what a
 * variadic "run this program with these words" helper passes on.  The first
 * word is the program's path.  Returns -E2BIG, running nothing, when there
 * are more than VK_RUN_MAX_WORDS words, -EINVAL when there is none.
 */
#define VK_RUN_MAX_WORDS 127
int vk_vrun(char *out, size_t outlen, char *errbuf, size_t errlen, const char *const head[], const char *first,
            va_list ap);

/* vk_run() of @prog with the words after it, up to a NULL:
 * vk_runv(out, sizeof(out), err, sizeof(err), "/bin/echo", "hi", NULL). */
__attribute__((sentinel)) int vk_runv(char *out, size_t outlen, char *errbuf, size_t errlen, const char *prog, ...);

/*
 * A variant of scenarios/@name: its text with every @from (which must occur)
 * replaced by @to, written as @dir/@out_name; @path receives the file's path.
 * Returns 0, -ENOENT when @from does not occur, or -errno.
 */
int vk_scenario_variant(const char *name, const char *from, const char *to, const char *dir, const char *out_name,
                        char *path, size_t len);

/* Number of open FDs of this process (entries of /proc/self/fd, the one used to read it excluded). */
int vk_fd_count(void);
/* Number of open FDs of process @pid (entries of /proc/PID/fd), or -errno. */
int vk_fd_count_of(int pid);
/* VmRSS of process @pid in KiB (what `top` shows), or -1. */
long vk_rss_kb(int pid);

/* Read a whole small file into buf (NUL-terminated); returns length or -errno. */
long vk_read_file(const char *path, char *buf, size_t len);

/* One write(2) of @s to the existing file @path (a sysfs attribute, the
 * control channel): 0, or -errno of the open or the write. */
int vk_write_attr(const char *path, const char *s);

/* True when the test can mount FUSE here (need-fuse.sh already skips otherwise). */
bool vk_have_fuse(void);

/* `fakesys materialize SCENARIO DIR` into a new temp dir; returns 0 or the exit status. */
int vk_materialize(const char *scenario, char *dir, size_t len);

/* `fakesys mount SCENARIO MNT` on a new temp dir; returns 0 or the exit status. */
int vk_mount(const char *scenario, char *mnt, size_t len);

/* `fakesys umount MNT` and remove the directory. */
int vk_umount(const char *mnt);

/* The entries of @dir but "." and "..", sorted (*n receives the count); NULL
 * with errno on failure.  Free with vk_names_free(). */
char **vk_dir_names(const char *dir, size_t *n);
void vk_names_free(char **v, size_t n);

/*
 * Compare two directory trees recursively: the same names, types, modes,
 * owners (when run as root), link targets and file contents.  Returns 0 when
 * they are identical (*count, when not NULL, receives the entries compared),
 * 1 with the first difference in @why, or -errno when one cannot be read.
 */
int vk_tree_diff(const char *a, const char *b, char *why, size_t len, size_t *count);

/* The ASan build (the tests are built with the library's sanitizer flags). */
#if defined(__SANITIZE_ADDRESS__)
#define VK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VK_ASAN 1
#endif
#endif

#endif
