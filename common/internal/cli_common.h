/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the four command-line programs (fakesys, vfio-resolve, vfio-validate,
 * vfio-doctor) share: exit statuses, usage errors, the version line, colour
 * and the locale's charset.  Header-only and never installed; each program
 * has the shape of systemd's tools (help(), parse_argv(), run()) around it.
 */
#ifndef VFIOKIT_CLI_COMMON_H
#define VFIOKIT_CLI_COMMON_H

#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef VFIOKIT_VERSION
#define VFIOKIT_VERSION "0"
#endif

/*
 * The exit statuses every tool documents the same way: 0 success (no errors,
 * all checks passed), 1 the answer is "no" (a device failed, errors found, a
 * check failed, a scenario failed), 2 usage error or a run that could not be
 * made.  fakesys run and vfio-resolve --exec pass their program's status on
 * and use 125-127 as env(1) and chroot(1) do.
 */
enum {
	VK_EXIT_OK = 0,
	VK_EXIT_FAIL = 1,
	VK_EXIT_USAGE = 2,
};

/*
 * parse_argv() returns 1 to go on with run(), 0 when it is done (--help,
 * --version: exit 0), or -EINVAL after it printed a usage error (exit 2),
 * as systemd's tools do (with our status for usage errors).
 */
static inline int vk_cli_parse_exit(int r)
{
	return r == 0 ? VK_EXIT_OK : VK_EXIT_USAGE;
}

/* "NAME (vfiokit) X.Y.Z": the one version line of every tool. */
static inline int vk_cli_version(const char *prog)
{
	printf("%s (vfiokit) %s\n", prog, VFIOKIT_VERSION);
	return VK_EXIT_OK;
}

/* "PROG: message" and "Try 'PROG --help'." on stderr; returns VK_EXIT_USAGE.
 * @help_prog names what to ask for help ("fakesys show"). */
static inline int __attribute__((format(printf, 2, 3))) vk_cli_usage_error(const char *help_prog, const char *fmt,
                                                                           ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", help_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", help_prog);
	return VK_EXIT_USAGE;
}

/* --color=WHEN */
enum vk_color {
	VK_COLOR_AUTO,
	VK_COLOR_ALWAYS,
	VK_COLOR_NEVER,
};

/* --color[=WHEN]: auto, always or never (and GNU ls's aliases); a bare
 * --color (@arg NULL) is always, as in ls(1).  -1 for anything else. */
static inline int vk_cli_parse_color(const char *arg, enum vk_color *out)
{
	if (!arg || !strcmp(arg, "always") || !strcmp(arg, "yes") || !strcmp(arg, "force"))
		*out = VK_COLOR_ALWAYS;
	else if (!strcmp(arg, "auto") || !strcmp(arg, "tty") || !strcmp(arg, "if-tty"))
		*out = VK_COLOR_AUTO;
	else if (!strcmp(arg, "never") || !strcmp(arg, "no") || !strcmp(arg, "none"))
		*out = VK_COLOR_NEVER;
	else
		return -1;
	return 0;
}

/*
 * Whether to colour what goes to @f.  auto: only on a terminal, never with
 * NO_COLOR set to anything non-empty (no-color.org), and never when TERM is
 * unset or "dumb" (a terminal without escape sequences; systemd's
 * terminal-util.c getenv_terminal_is_dumb() decides the same way).
 */
static inline bool vk_cli_use_color(enum vk_color when, FILE *f)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (when != VK_COLOR_AUTO)
		return when == VK_COLOR_ALWAYS;
	if (nc && *nc)
		return false;
	if (!term || !strcmp(term, "dumb"))
		return false;
	return isatty(fileno(f)) == 1;
}

/*
 * Whether the user's locale can show UTF-8 (box drawing): LC_CTYPE from the
 * environment, then its charset, as nl_langinfo(3) says ("UTF-8" in glibc;
 * "ANSI_X3.4-1968" under LC_ALL=C).  Sets LC_CTYPE only; the program's
 * numbers and messages stay in the C locale.
 */
static inline bool vk_cli_locale_is_utf8(void)
{
	const char *cs;

	if (!setlocale(LC_CTYPE, ""))
		return false;
	cs = nl_langinfo(CODESET);
	return cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
}

#endif
