/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys: serve a scenario (a fake Linux host) as a directory tree.  A thin
 * front end: parsing, rendering, materializing and mounting are the library's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vfiokit/fakesys_record.h>
#include <vfiokit/fakesys_run.h>
#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "runner.h"

#ifndef VFIOKIT_VERSION
#define VFIOKIT_VERSION "0.1.0"
#endif

enum { EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fputs("Usage: fakesys COMMAND [OPTIONS] ARGS...\n"
	      "Serve a scenario (a fake Linux host: PCI devices, IOMMU groups, VFIO nodes)\n"
	      "as the /sys and /dev trees real tools read.\n"
	      "\n"
	      "Commands:\n"
	      "  materialize SCENARIO DIR     write the tree as a plain directory DIR\n"
	      "                               (DIR must not exist or be empty)\n"
	      "  mount [-f] [--pidfile FILE] [--serve-opens] [--log FILE [--log-lookups]]\n"
	      "        [--read-only] SCENARIO MOUNTPOINT\n"
	      "                               mount the tree read-only with FUSE on an empty\n"
	      "                               directory; returns once the mount is ready\n"
	      "      -f, --foreground         serve in the foreground until unmounted or signalled\n"
	      "      --pidfile FILE           write the server's PID to FILE\n"
	      "      --serve-opens            send every open() to the server (slower; the\n"
	      "                               default lets the kernel open and cache files);\n"
	      "                               the live mode: faults, .fakesys/control, and\n"
	      "                               kernel-like writes (bind, unbind, remove...)\n"
	      "      --live                   the same as --serve-opens\n"
	      "      --log FILE               append one JSON line per operation to FILE\n"
	      "                               (implies --serve-opens)\n"
	      "      --log-lookups            with --log: no kernel caching of lookups and\n"
	      "                               attributes, so that the log sees every one\n"
	      "      -d, --debug              log every FUSE request on stderr (needs -f)\n"
	      "      --read-only              a read-only superblock: the kernel's caches\n"
	      "                               survive reads (a second walk costs no round\n"
	      "                               trip), but no file, not even a /dev stand-in,\n"
	      "                               can be opened for writing\n"
	      "  umount [--timeout SEC] [--lazy] MOUNTPOINT\n"
	      "                               unmount a fakesys mount and wait for its server\n"
	      "      --timeout SEC            while in use, retry for SEC seconds (default 5),\n"
	      "                               then fail naming the processes that use it\n"
	      "      --lazy                   detach it now even while in use; its server\n"
	      "                               serves on until the last user closes\n"
	      "  show SCENARIO                print the host described by SCENARIO\n"
	      "  run [--live] [--userns] [--tmpdir DIR] [--no-emulation] [--log FILE] SCENARIO [--] CMD [ARGS...]\n"
	      "                               run CMD in a private mount namespace where the\n"
	      "                               scenario is overlaid on /sys, /dev and\n"
	      "                               /proc/cmdline; exits with CMD's status (128+N\n"
	      "                               when killed by signal N, 125 when fakesys fails,\n"
	      "                               126/127 when CMD cannot be run)\n"
	      "      --live                   kernel-like writes to sysfs (as mount --live)\n"
	      "      --userns                 use a user namespace even as root\n"
	      "      --tmpdir DIR             where the scratch mountpoint goes (default $TMPDIR)\n"
	      "      --no-emulation           no emulated VFIO/iommufd behind the fake nodes (on\n"
	      "                               by default when a device is on vfio-pci: CMD's\n"
	      "                               VFIO ioctls then fail with ENOTTY)\n"
	      "      --log FILE               append a JSON line per access to FILE (as mount\n"
	      "                               --log), and per emulated VFIO ioctl (op ioctl)\n"
	      "  record [--root DIR] [--output FILE] [--redact] [BDF...]\n"
	      "                               write a scenario of the host under DIR (default /):\n"
	      "                               all PCI devices, or the named ones with their parents\n"
	      "                               and IOMMU group peers; --redact leaves out labels and\n"
	      "                               cmdline parameters unrelated to IOMMU/VFIO\n"
	      "  import-umockdev FILE [--output FILE]\n"
	      "                               convert a umockdev-record file to a scenario\n"
	      "  test [-j N] [--junit FILE] [--tap] [--fuse|--plain] [--timeout SEC]\n"
	      "       SCENARIO|DIR...\n"
	      "                               run the resolver, vfio-doctor and vfio-validate\n"
	      "                               against each scenario (every *.yaml of a DIR) and\n"
	      "                               compare with its expect: block; one line per\n"
	      "                               scenario, a diff for each failure; exit 0 when\n"
	      "                               all pass, 1 when one fails\n"
	      "      -j, --jobs N             scenarios run at once (default: the CPU count)\n"
	      "      --junit FILE             also write a JUnit XML report to FILE\n"
	      "      --tap                    write TAP version 13 on stdout (lines on stderr)\n"
	      "      --fuse, --plain          serve by FUSE or as a plain tree (default: FUSE\n"
	      "                               when /dev/fuse is usable, else plain)\n"
	      "      --timeout SEC            per scenario (default 120)\n"
	      "      --shard K/N              run only the K-th of N disjoint shares (CI\n"
	      "                               matrices; docs/ci.md)\n"
	      "      --list                   print the scenarios it would run, one per line\n"
	      "\n"
	      "  -h, --help                   show this help\n"
	      "  -V, --version                show the version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 usage error.  See fakesys(1).\n",
	      f);
}

static int fail(const struct vk_error *e)
{
	fprintf(stderr, "fakesys: %s\n", e->msg[0] ? e->msg : strerror(e->code ? e->code : EIO));
	return EXIT_FAILURE;
}

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("fakesys: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'fakesys --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Scenario file -> sealed tree; NULL with @e filled on failure. */
static struct vtree *load_tree(const char *scenario, struct vk_error *e)
{
	struct host_model *m = NULL;
	struct vtree *t = NULL;

	if (host_model_load(scenario, &m, e) < 0)
		return NULL;
	if (host_tree_build(m, &t, e) < 0)
		t = NULL;
	host_model_free(m);
	return t;
}

static int cmd_materialize(int argc, char **argv)
{
	struct vk_error e = {0};

	if (argc != 3)
		return usage_error("%s: expects SCENARIO DIR", "materialize");
	struct vtree *t = load_tree(argv[1], &e);
	if (!t)
		return fail(&e);
	int r = fakesys_materialize(t, argv[2], &e);
	vtree_free(t);
	return r < 0 ? fail(&e) : EXIT_SUCCESS;
}

static int cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{"pidfile", required_argument, NULL, 'p'},
		{"serve-opens", no_argument, NULL, 'o'},
		{"live", no_argument, NULL, 'o'},
		{"log", required_argument, NULL, 'l'},
		{"log-lookups", no_argument, NULL, 'L'},
		{"debug", no_argument, NULL, 'd'},
		{"read-only", no_argument, NULL, 'r'},
		{0},
	};
	struct fakesys_mount_opts o = {0};
	struct vk_error e = {0};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+fd", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.foreground = true;
			break;
		case 'p':
			o.pidfile = optarg;
			break;
		case 'o':
			o.serve_opens = true;
			break;
		case 'l':
			o.log = optarg;
			break;
		case 'L':
			o.log_lookups = true;
			break;
		case 'd':
			o.debug = true;
			break;
		case 'r':
			o.read_only = true;
			break;
		default:
			return usage_error("%s: unknown option", "mount");
		}
	}
	if (argc - optind != 2)
		return usage_error("%s: expects SCENARIO MOUNTPOINT", "mount");
	if (o.log_lookups && !o.log)
		return usage_error("%s: --log-lookups needs --log FILE", "mount");
	if (o.debug && !o.foreground)
		return usage_error("%s: -d needs -f (a daemon's stderr goes nowhere)", "mount");
	/* a FIFO (or a link) as the PID file would block the server's open for
	 * good: refused before anything is mounted */
	struct stat pst;
	if (o.pidfile && lstat(o.pidfile, &pst) == 0 && !S_ISREG(pst.st_mode)) {
		fprintf(stderr, "fakesys: pidfile %s: not a regular file\n", o.pidfile);
		return EXIT_FAILURE;
	}
	/* The model stays: the live mode changes it and rebuilds the tree. */
	struct host_model *m = NULL;
	struct vtree *t = NULL;
	if (host_model_load(argv[optind], &m, &e) < 0)
		return fail(&e);
	if (host_tree_build(m, &t, &e) < 0) {
		host_model_free(m);
		return fail(&e);
	}
	o.model = m;
	int r = fakesys_mount(t, argv[optind + 1], &o, &e);
	vtree_free(t);
	host_model_free(m);
	return r < 0 ? fail(&e) : EXIT_SUCCESS;
}

static int cmd_umount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"timeout", required_argument, NULL, 't'},
		{"lazy", no_argument, NULL, 'l'},
		{0},
	};
	struct fakesys_umount_opts o = {0};
	struct vk_error e = {0};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		char *end;
		double sec;
		switch (c) {
		case 't':
			errno = 0;
			sec = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(sec >= 0 && sec <= 3600))
				return usage_error("%s: --timeout '%s': expected seconds from 0 to 3600", "umount", optarg);
			o.timeout_ms = sec > 0 ? (int)(sec * 1000 + 0.5) : -1;
			if (!o.timeout_ms)
				o.timeout_ms = 1;
			break;
		case 'l':
			o.lazy = true;
			break;
		default:
			return usage_error("%s: unknown option", "umount");
		}
	}
	if (argc - optind != 1)
		return usage_error("%s: expects MOUNTPOINT", "umount");
	int r = fakesys_umount_with(argv[optind], &o, &e);
	if (r < 0)
		return fail(&e);
	if (r > 0)
		fprintf(stderr, "fakesys: %s\n", e.msg);
	return EXIT_SUCCESS;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"userns", no_argument, NULL, 'u'},
		{"serve-opens", no_argument, NULL, 'o'},
		{"live", no_argument, NULL, 'o'},
		{"tmpdir", required_argument, NULL, 't'},
		{"no-emulation", no_argument, NULL, 'E'},
		{"log", required_argument, NULL, 'l'},
		{0},
	};
	struct fakesys_run_opts o = {0};
	struct vk_error e = {0};
	int c, status = 125;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			o.userns = true;
			break;
		case 'o':
			o.serve_opens = true;
			break;
		case 't':
			o.tmpdir = optarg;
			break;
		case 'E':
			o.no_emulation = true;
			break;
		case 'l':
			o.log = optarg;
			break;
		default:
			return usage_error("%s: unknown option", "run");
		}
	}
	if (argc - optind < 1)
		return usage_error("%s: expects SCENARIO [--] CMD [ARGS...]", "run");
	const char *scen = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return usage_error("%s: expects SCENARIO [--] CMD [ARGS...]", "run");
	/* the model too: the live mode changes it and rebuilds the tree */
	struct host_model *m = NULL;
	struct vtree *t = NULL;
	if (host_model_load(scen, &m, &e) < 0 || host_tree_build(m, &t, &e) < 0) {
		host_model_free(m);
		fail(&e);
		return 125;
	}
	/* faults and steps need the server, as with fakesys mount (the live mode) */
	if (o.serve_opens || m->n_faults || m->n_steps)
		o.model = m;
	int r = fakesys_run(t, argv + optind, &o, &status, &e);
	vtree_free(t);
	host_model_free(m);
	if (r < 0)
		fail(&e);
	return status;
}

static int cmd_show(int argc, char **argv)
{
	struct host_model *m = NULL;
	struct vk_error e = {0};

	if (argc != 2)
		return usage_error("%s: expects SCENARIO", "show");
	if (host_model_load(argv[1], &m, &e) < 0)
		return fail(&e);
	host_model_show(m, stdout);
	host_model_free(m);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* --output FILE or stdout; the file is written only when the scenario is complete. */
static int write_scenario(const char *output, int (*fn)(void *, FILE *, struct vk_error *), void *ctx)
{
	struct vk_error e = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return fail(&(struct vk_error){.code = ENOMEM});
	int r = fn(ctx, m, &e);
	fclose(m);
	if (r < 0) {
		free(buf);
		return fail(&e);
	}
	FILE *f = output ? fopen(output, "w") : stdout;
	if (!f) {
		fprintf(stderr, "fakesys: %s: %s\n", output, strerror(errno));
		free(buf);
		return EXIT_FAILURE;
	}
	bool ok = fwrite(buf, 1, len, f) == len;
	ok = (f == stdout ? fflush(f) : fclose(f)) == 0 && ok;
	free(buf);
	return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int do_record(void *ctx, FILE *f, struct vk_error *e)
{
	return fakesys_record(ctx, f, stderr, e);
}

static int do_import(void *ctx, FILE *f, struct vk_error *e)
{
	return fakesys_import_umockdev(ctx, f, stderr, e);
}

static int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"root", required_argument, NULL, 'r'},
		{"output", required_argument, NULL, 'o'},
		{"redact", no_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	struct fakesys_record_opts o = {0};
	const char *output = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		if (c == 'r')
			o.root = optarg;
		else if (c == 'o')
			output = optarg;
		else if (c == 'R')
			o.redact = true;
		else
			return usage_error("%s: unknown option", "record");
	}
	o.bdfs = (const char *const *)argv + optind;
	o.n_bdfs = (size_t)(argc - optind);
	return write_scenario(output, do_record, &o);
}

static int cmd_import_umockdev(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	const char *output = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		if (c == 'o')
			output = optarg;
		else
			return usage_error("%s: unknown option", "import-umockdev");
	}
	if (argc - optind != 1)
		return usage_error("%s: expects FILE", "import-umockdev");
	return write_scenario(output, do_import, argv[optind]);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"materialize", cmd_materialize},
		{"mount", cmd_mount},
		{"umount", cmd_umount},
		{"show", cmd_show},
		{"run", cmd_run},
		{"record", cmd_record},
		{"import-umockdev", cmd_import_umockdev},
		{"test", fakesys_cmd_test},
	};

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("fakesys (vfiokit) %s\n", VFIOKIT_VERSION);
		return EXIT_SUCCESS;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[1]);
}
