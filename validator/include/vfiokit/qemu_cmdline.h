/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_QEMU_CMDLINE_H
#define VFIOKIT_QEMU_CMDLINE_H

/*
 * A QEMU command line, parsed the way QEMU parses it.
 *
 * The option table (which options take an argument) follows QEMU's
 * qemu-options.hx (DEF(name, HAS_ARG|0, ...)); see docs/rules.md.  An option
 * may be spelled -opt or --opt.  A word that does not start with '-' is a
 * disk image (QEMU's -hda shorthand).
 *
 * The arguments of -device, -object, -netdev, -blockdev, -audiodev, -chardev,
 * -add-fd and a few more are split into properties: key=value lists with ','
 * doubled inside values and an implied first key (driver, qom-type, type,
 * backend ...), or, for the options QEMU lets take one, a JSON object.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <vfiokit/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Input limits (docs/rules.md, "Input limits").  Each is far above what a real
 * QEMU command line can hold (the kernel caps argv + envp at 6 MiB, fs/exec.c
 * bprm_stack_limits(), and one argument at 128 KiB, MAX_ARG_STRLEN); past one
 * the parsers refuse the input with -E2BIG and a message naming the limit,
 * before building anything that size.  Below them parsing is linear in the
 * size of the input, in time and memory.
 */
#define VK_QC_MAX_TEXT (16u << 20) /* bytes: an .args file, stdin, /proc/PID/cmdline, all of argv */
#define VK_QC_MAX_ARGS 1000000u    /* words of a command line */
#define VK_QC_MAX_PROPS 1000000u   /* properties of one command line (and so of one option) */

/* Where a parse error (or a finding) is: argument index, column, file line. */
struct vk_qc_pos {
	long argi;     /* index into qc_cmdline.argv (0 = program), -1 when unknown */
	size_t col;    /* 1-based column inside that argument (or that file line), 0 when unknown */
	unsigned line; /* 1-based line of an .args file, 0 for plain argv */
};

/* The JSON type a property value had (key=value values are always strings). */
enum vk_qc_vkind {
	VK_QC_V_STRING = 0,
	VK_QC_V_NUMBER,
	VK_QC_V_BOOL,
	VK_QC_V_NULL,
	VK_QC_V_COMPOUND, /* object or array (JSON text kept in value) */
};

struct vk_qc_prop {
	char *key;
	char *value; /* unescaped; numbers/bools in their JSON spelling */
	enum vk_qc_vkind kind;
	bool implied; /* the key was implied (first element without '=') */
	bool flag;    /* "key" alone in a QemuOpts list (means key=on) */
	size_t col;   /* 1-based column of the element inside the argument */
};

/* How an option's argument is split into properties. */
enum vk_qc_syntax {
	VK_QC_SYN_NONE = 0, /* the argument is kept whole */
	VK_QC_SYN_OPTS,     /* QemuOpts: key=value list, "key" alone = key=on */
	VK_QC_SYN_KEYVAL,   /* keyval (util/keyval.c): every element needs '=' but the implied one */
};

/* One row of the option table. */
struct vk_qc_optdef {
	const char *name; /* without the dash */
	bool has_arg;
	enum vk_qc_syntax syntax;
	const char *implied_key; /* key of a first element without '=' (NULL: none) */
	unsigned json_since;     /* QEMU version (major*100+minor) from which '{' JSON is accepted, 0: never */
};

struct vk_qc_option {
	const struct vk_qc_optdef *def; /* NULL for an unknown option or an image */
	char *name;                     /* as written, without dashes ("" for an image) */
	char *arg;                      /* the argument, NULL for options without one */
	long argi;                      /* index of the option word in argv */
	unsigned line;                  /* line of the option word in an .args file, 0 otherwise */
	bool is_image;                  /* a positional word (QEMU: -hda) */
	bool json;                      /* arg was JSON */
	struct vk_qc_prop *props;       /* when the syntax is parsed */
	size_t nprops;
};

struct vk_qc_cmdline {
	char **env; /* leading VAR=value assignments of an .args file */
	size_t nenv;
	char **argv; /* argv[0] is the program when has_program, NULL-terminated */
	size_t argc;
	unsigned *lines; /* line of each argv word (all 0 for plain argv) */
	bool has_program;
	struct vk_qc_option *opts;
	size_t nopts;
};

enum {
	/* argv[0] is the QEMU program (a /proc/PID/cmdline, an .args file). */
	VK_QC_ARGV_HAS_PROGRAM = 1u << 0,
	/* argv[0] is the program when it does not start with '-'. */
	VK_QC_ARGV_DETECT_PROGRAM = 1u << 1,
};

/**
 * vk_qc_option_lookup() - the table row of an option.
 * @name: without leading dashes ("device").
 * Returns the row, or NULL when QEMU has no such option.
 */
const struct vk_qc_optdef *vk_qc_option_lookup(const char *name);

/**
 * vk_qc_parse_argv() - parse a QEMU argument vector.
 * @argc, @argv: the words; copied.
 * @lines:       line of each word in a file (may be NULL).
 * @flags:       QC_ARGV_* flags.
 * @out:         receives the command line; free with vk_qc_cmdline_free().
 * @pos:         receives the place of a parse error (may be NULL).
 * @err:         receives the message, which also names the place.
 *
 * Returns 0; -EINVAL for a malformed line (an option missing its argument, a
 * broken key=value list, invalid JSON); -E2BIG past an input limit (QC_MAX_*);
 * -ENOMEM.
 * An unknown option is not an error here (the rules report it).
 */
int vk_qc_parse_argv(size_t argc, char *const argv[], const unsigned *lines, unsigned flags,
                     struct vk_qc_cmdline **out, struct vk_qc_pos *pos, struct vk_error *err);

/**
 * vk_qc_split_args_text() - split the text of a libvirt-style .args file into words.
 * @text, @len: the file contents (need not be NUL-terminated).
 * @words:      receives a NULL-terminated malloc'd vector of malloc'd words.
 * @nwords:     receives the count.
 * @lines:      receives the 1-based line of each word (malloc'd).
 * @pos:        the line and column of a syntax error (may be NULL).
 * @err:        the message.
 *
 * Shell rules as libvirt writes them: words separated by blanks and newlines,
 * backslash-newline joins lines, 'single' and "double" quotes, backslash
 * escapes outside single quotes, '#' comments at the start of a word.
 *
 * Returns 0, -EINVAL (unterminated quote, backslash at end of input, NUL byte),
 * -E2BIG (more than VK_QC_MAX_TEXT bytes or VK_QC_MAX_ARGS words), -ENOMEM.
 */
int vk_qc_split_args_text(const char *text, size_t len, char ***words, size_t *nwords,
                          unsigned **lines, struct vk_qc_pos *pos, struct vk_error *err);

/**
 * vk_qc_parse_args_text() - parse the text of an .args file: leading VAR=value
 *                        assignments, the program, its arguments.
 * Returns as vk_qc_parse_argv(); positions carry the file line.
 */
int vk_qc_parse_args_text(const char *text, size_t len, struct vk_qc_cmdline **out,
                          struct vk_qc_pos *pos, struct vk_error *err);

/**
 * vk_qc_parse_args_file() - read and parse an .args file; "-" reads stdin.
 * A pipe or FIFO is read too (--args-file <(...)), to at most VK_QC_MAX_TEXT bytes.
 * Returns as vk_qc_parse_args_text(), -E2BIG for a longer input, or -errno when
 * the file cannot be read.
 */
int vk_qc_parse_args_file(const char *path, struct vk_qc_cmdline **out, struct vk_qc_pos *pos,
                          struct vk_error *err);

/**
 * vk_qc_parse_pid() - parse the command line of a running process
 *                  (/proc/PID/cmdline under @proc, NULL for "/proc").
 * Returns as vk_qc_parse_argv(), or -ESRCH/-EACCES/-errno when it cannot be read,
 * -EINVAL for an empty command line (a kernel thread, a zombie) or a file that
 * is not a regular file, -E2BIG past VK_QC_MAX_TEXT.
 */
int vk_qc_parse_pid(const char *proc, pid_t pid, struct vk_qc_cmdline **out, struct vk_qc_pos *pos,
                    struct vk_error *err);

/**
 * vk_qc_parse_props() - split one option argument into properties.
 * @arg:         the argument.
 * @syntax:      VK_QC_SYN_OPTS or VK_QC_SYN_KEYVAL.
 * @implied_key: key of a first element without '=' (may be NULL).
 * @props, @n:   receive the properties (free with vk_qc_props_free()).
 * @col:         receives the 1-based column of an error.
 * @err:         the message.
 *
 * ",," inside a value (or an implied value) stands for one ','.
 * Linear in the length of @arg.
 * Returns 0, -EINVAL (empty key, element without '=' where keyval needs one),
 * -E2BIG (more than VK_QC_MAX_PROPS properties), -ENOMEM.
 */
int vk_qc_parse_props(const char *arg, enum vk_qc_syntax syntax, const char *implied_key,
                      struct vk_qc_prop **props, size_t *n, size_t *col, struct vk_error *err);

/**
 * vk_qc_parse_json_props() - split a JSON object argument into properties.
 * Nested objects and arrays are kept as compact JSON text (VK_QC_V_COMPOUND).
 * Returns 0, -EINVAL (not JSON, not an object; @col receives the place),
 * -E2BIG (more than VK_QC_MAX_PROPS members), -ENOMEM.
 */
int vk_qc_parse_json_props(const char *arg, struct vk_qc_prop **props, size_t *n, size_t *col,
                           struct vk_error *err);

/* Free an array from vk_qc_parse_props()/vk_qc_parse_json_props(). */
void vk_qc_props_free(struct vk_qc_prop *props, size_t n);

/* The last property named @key of @o (QEMU: the last one wins), or NULL. */
const struct vk_qc_prop *vk_qc_option_prop(const struct vk_qc_option *o, const char *key);

/* Its value, or NULL. */
const char *vk_qc_option_get(const struct vk_qc_option *o, const char *key);

/* The driver of a -device, the qom-type of an -object, ... (the implied key's value), or NULL. */
const char *vk_qc_option_type(const struct vk_qc_option *o);

/* The distinct device types the -device options of @c name, in order, at most
 * @max of them into @names (pointers into @c); returns how many. */
size_t vk_qc_device_types(const struct vk_qc_cmdline *c, const char **names, size_t max);

/* Free a command line; NULL is allowed. */
void vk_qc_cmdline_free(struct vk_qc_cmdline *c);

#ifdef __cplusplus
}
#endif

#endif
