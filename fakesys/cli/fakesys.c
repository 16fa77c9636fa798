/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fakesys: serve a scenario (a fake Linux host) as a directory tree.  A thin
 * front end: parsing, rendering, materializing and mounting are the library's.
 * Shaped as systemctl is: help(), parse_argv() for the options before the
 * command, run() dispatching to one function per command (a "verb"), each
 * with its own --help.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vk_cleanup.h"
#include <vfiokit/fakesys_record.h>
#include <vfiokit/fakesys_run.h>
#include <vfiokit/fakesys_scenario.h>
#include <vfiokit/fakesys_serve.h>
#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include <cli_common.h>

#include "runner.h"

#define PROG "fakesys"

static bool arg_quiet;

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis; /* after "fakesys NAME " */
	const char *summary;  /* one or two lines for the command list */
	const char *options;  /* its --help, after the synopsis; NULL: none but -h */
	const char *exit;     /* its exit statuses */
};

static const char exit_common[] = "Exit status: 0 success, 1 failure, 2 usage error.";

static const char materialize_summary[] = "write the tree as a plain directory DIR (DIR must not exist or be empty)";
static const char mount_summary[] = "mount the tree read-only with FUSE on an empty directory; returns once the\n"
				    "mount is ready";
static const char mount_options[] =
	"  -f, --foreground     serve in the foreground until unmounted or signalled\n"
	"  --pidfile FILE       write the server's PID to FILE\n"
	"  --serve-opens        send every open() to the server (slower; the default lets\n"
	"                       the kernel open and cache files); the live mode: faults,\n"
	"                       .fakesys/control, and kernel-like writes (bind, unbind,\n"
	"                       remove...)\n"
	"  --live               the same as --serve-opens\n"
	"  --log FILE           append one JSON line per operation to FILE (implies\n"
	"                       --serve-opens)\n"
	"  --log-lookups        with --log: no kernel caching of lookups and attributes,\n"
	"                       so that the log sees every one\n"
	"  -d, --debug          log every FUSE request on stderr (needs -f)\n"
	"  --read-only          a read-only superblock: the kernel's caches survive reads\n"
	"                       (a second walk costs no round trip), but no file, not\n"
	"                       even a /dev stand-in, can be opened for writing\n"
	"  --kernel-opens       the kernel opens files itself, even as root, and reads\n"
	"                       stay in its caches until a write changes them (no round\n"
	"                       trip per open); gives up config space by reader and,\n"
	"                       with --live, the log, faults and steps on open, read or\n"
	"                       readdir, and reading .fakesys/control (write-only)\n";
static const char umount_summary[] = "unmount a fakesys mount and wait for its server";
static const char umount_options[] =
	"  --timeout SEC        while in use, retry for SEC seconds (default 5), then fail\n"
	"                       naming the processes that use it\n"
	"  --lazy               detach it now even while in use; its server serves on\n"
	"                       until the last user closes\n"
	"  -q, --quiet          no note on stderr about a lazy unmount's server still\n"
	"                       serving\n";
static const char show_summary[] = "print the host described by SCENARIO (box drawing in UTF-8, ASCII when the\n"
				   "locale's charset is not UTF-8)";
static const char run_summary[] = "run CMD in a private mount namespace where the scenario is overlaid on /sys,\n"
				  "/dev and /proc/cmdline; exits with CMD's status";
static const char run_options[] =
	"  --live, --serve-opens  kernel-like writes to sysfs (as mount --live)\n"
	"  --userns             use a user namespace even as root\n"
	"  --fuse               serve by FUSE even a host nothing needs the server for\n"
	"                       (default: a tmpfs copy): config per reader, kernfs's\n"
	"                       listing order, sysfs's sizes, as a kernel gives them\n"
	"  --tmpdir DIR         where the scratch mountpoint goes (default $TMPDIR)\n"
	"  --no-emulation       no emulated VFIO/iommufd behind the fake nodes (on by\n"
	"                       default when a device is on vfio-pci: CMD's VFIO ioctls\n"
	"                       then fail with ENOTTY)\n"
	"  --log FILE           append a JSON line per access to FILE (as mount --log),\n"
	"                       and per emulated VFIO ioctl (op ioctl)\n";
static const char run_exit[] = "Exit status: CMD's status (128+N when killed by signal N), 125 when fakesys\n"
			       "fails, 126/127 when CMD cannot be run, 2 usage error.";
static const char record_summary[] = "write a scenario of the host under DIR (default /): all PCI devices, or the\n"
				     "named ones with their parents and IOMMU group peers";
static const char record_options[] =
	"  --root DIR           the host tree to record (default /)\n"
	"  -o, --output FILE    write the scenario to FILE (only once it is complete)\n"
	"                       instead of standard output\n"
	"  --redact             leave out labels and cmdline parameters unrelated to\n"
	"                       IOMMU/VFIO\n"
	"  -q, --quiet          no notes on stderr about what was skipped or approximated\n"
	"                       (the scenario keeps them as YAML comments)\n";
static const char import_summary[] = "convert a umockdev-record file to a scenario";
static const char import_options[] =
	"  -o, --output FILE    write the scenario to FILE instead of standard output\n"
	"  -q, --quiet          no notes on stderr about what could not be carried over\n";
static const char test_summary[] = "run the resolver, vfio-doctor and vfio-validate against each scenario (every\n"
				   "*.yaml of a DIR) and compare with its expect: block";
static const char test_options[] =
	"  -j, --jobs N         scenarios run at once (default: the CPU count)\n"
	"  --junit FILE         also write a JUnit XML report to FILE\n"
	"  --tap                write TAP version 13 on stdout (lines on stderr)\n"
	"  --fuse, --plain      serve by FUSE or as a plain tree (default: FUSE when\n"
	"                       /dev/fuse is usable, else plain)\n"
	"  --timeout SEC        per scenario (default 120)\n"
	"  --skipped-exit N     exit N when every scenario was skipped\n"
	"  --shard K/N          run only the K-th of N disjoint shares (CI matrices;\n"
	"                       docs/ci.md)\n"
	"  --list               print the scenarios it would run, one per line\n"
	"  -q, --quiet          no line for a scenario that passed or was skipped\n";
static const char test_exit[] = "One line per scenario, a diff for each failure.\n"
				"Exit status: 0 all passed, 1 one failed, 2 usage error.";
static const char check_summary[] = "load each scenario (every *.yaml of a DIR) as test does, without serving it:\n"
				    "every error as file:line:column";
static const char check_exit[] = "Exit status: 0 all are valid, 1 one is not, 2 usage error.";

static int cmd_materialize(int argc, char **argv);
static int cmd_mount(int argc, char **argv);
static int cmd_umount(int argc, char **argv);
static int cmd_show(int argc, char **argv);
static int cmd_run(int argc, char **argv);
static int cmd_record(int argc, char **argv);
static int cmd_import_umockdev(int argc, char **argv);
static int cmd_test(int argc, char **argv);
static int cmd_check(int argc, char **argv);

static const struct verb verbs[] = {
	{"materialize", cmd_materialize, "SCENARIO DIR", materialize_summary, NULL, exit_common},
	{"mount", cmd_mount, "[OPTIONS] SCENARIO MOUNTPOINT", mount_summary, mount_options, exit_common},
	{"umount", cmd_umount, "[--timeout SEC] [--lazy] MOUNTPOINT", umount_summary, umount_options, exit_common},
	{"show", cmd_show, "SCENARIO", show_summary, NULL, exit_common},
	{"run", cmd_run, "[OPTIONS] SCENARIO [--] CMD [ARGS...]", run_summary, run_options, run_exit},
	{"record", cmd_record, "[--root DIR] [--output FILE] [--redact] [BDF...]", record_summary, record_options,
         exit_common},
	{"import-umockdev", cmd_import_umockdev, "FILE [--output FILE]", import_summary, import_options, exit_common},
	{"test", cmd_test, "[OPTIONS] SCENARIO|DIR...", test_summary, test_options, test_exit},
	{"check", cmd_check, "SCENARIO|DIR...", check_summary, NULL, check_exit},
};

static int help(void)
{
	printf("Usage: " PROG " [OPTIONS] COMMAND [COMMAND OPTIONS] ARGS...\n"
	       "Serve a scenario (a fake Linux host: PCI devices, IOMMU groups, VFIO nodes)\n"
	       "as the /sys and /dev trees real tools read.\n"
	       "\n"
	       "Commands:\n");
	for (size_t i = 0; i < VK_ARRAY_SIZE(verbs); i++) {
		const char *l = verbs[i].summary;
		printf("  %s %s\n", verbs[i].name, verbs[i].synopsis);
		while (*l) {
			size_t n = strcspn(l, "\n");
			printf("      %.*s\n", (int)n, l);
			l += n + (l[n] == '\n');
		}
	}
	printf("\n"
	       "Options:\n"
	       "  -q, --quiet          no notes on stderr (umount, record, import-umockdev)\n"
	       "  -h, --help           show this help ('" PROG " COMMAND --help': a command's)\n"
	       "  -V, --version        show the version\n"
	       "\n"
	       "Exit status: 0 success, 1 failure, 2 usage error; run: CMD's status, 125-127\n"
	       "when CMD cannot be started; test: 1 when a scenario failed.  See fakesys(1).\n");
	return 0;
}

/* "fakesys NAME --help": the command's synopsis, what it does, its options. */
static int verb_help(const char *name)
{
	for (size_t i = 0; i < VK_ARRAY_SIZE(verbs); i++) {
		const struct verb *v = &verbs[i];
		if (strcmp(v->name, name) != 0)
			continue;
		/* the summary as a sentence: capital first, full stop last */
		printf("Usage: " PROG " %s %s\n%c%s.\n\nOptions:\n%s"
		       "  -h, --help           show this help\n\n%s  See fakesys(1).\n",
		       v->name, v->synopsis, toupper((unsigned char)v->summary[0]), v->summary + 1,
		       v->options ? v->options : "", v->exit);
		return 0;
	}
	return -1;
}

/* A usage error of command @verb: "Try 'fakesys VERB --help'." */
#define verb_usage_error(verb, ...) vk_cli_usage_error(PROG " " verb, __VA_ARGS__)

/* getopt found an option @verb does not know, or one without its value. */
static int verb_bad_option(const char *verb, char **argv)
{
	char what[64];

	snprintf(what, sizeof(what), PROG " %s", verb);
	return vk_cli_usage_error(what, "unknown or incomplete option '%s'", argv[optind - 1]);
}

/* The options of a command that has none but --help: 1 to go on (optind at
 * the first argument), 0 after the help, or VK_EXIT_USAGE. */
static int verb_help_only(const char *verb, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == 'h')
			return verb_help(verb);
		return verb_bad_option(verb, argv);
	}
	return 1;
}

static int fail(const struct vk_error *e)
{
	fprintf(stderr, PROG ": %s\n", e->msg[0] ? e->msg : strerror(e->code ? e->code : EIO));
	return VK_EXIT_FAIL;
}

/* Scenario file -> sealed tree; NULL with @e filled on failure. */
static struct vtree *load_tree(const char *scenario, struct vk_error *e)
{
	struct vk_host_model *m = NULL;
	struct vtree *t = NULL;

	if (vk_host_model_load(scenario, &m, e) < 0)
		return NULL;
	if (vk_host_tree_build(m, &t, e) < 0)
		t = NULL;
	vk_host_model_free(m);
	return t;
}

static int cmd_materialize(int argc, char **argv)
{
	struct vk_error e = {0};
	int r = verb_help_only("materialize", argc, argv);

	if (r != 1)
		return r;
	if (argc - optind != 2)
		return verb_usage_error("materialize", "expects SCENARIO DIR");
	struct vtree *t = load_tree(argv[optind], &e);
	if (!t)
		return fail(&e);
	r = vk_fakesys_materialize(t, argv[optind + 1], &e);
	vk_vtree_free(t);
	return r < 0 ? fail(&e) : VK_EXIT_OK;
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
		{"help", no_argument, NULL, 'h'},
		{"read-only", no_argument, NULL, 'r'},
		{"kernel-opens", no_argument, NULL, 'k'},
		{0},
	};
	struct vk_fakesys_mount_opts o = {0};
	struct vk_error e = {0};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+fdh", longopts, NULL)) != -1) {
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
		case 'h':
			return verb_help("mount");
		case 'r':
			o.read_only = true;
			break;
		case 'k':
			o.kernel_opens = true;
			break;
		default:
			return verb_bad_option("mount", argv);
		}
	}
	if (argc - optind != 2)
		return verb_usage_error("mount", "expects SCENARIO MOUNTPOINT");
	if (o.log_lookups && !o.log)
		return verb_usage_error("mount", "--log-lookups needs --log FILE");
	if (o.kernel_opens && o.log)
		return verb_usage_error("mount", "--kernel-opens and --log exclude each other (the log needs every open)");
	if (o.debug && !o.foreground)
		return verb_usage_error("mount", "-d needs -f (a daemon's stderr goes nowhere)");
	/* a FIFO (or a link) as the PID file would block the server's open for
	 * good: refused before anything is mounted */
	struct stat pst;
	if (o.pidfile && lstat(o.pidfile, &pst) == 0 && !S_ISREG(pst.st_mode)) {
		fprintf(stderr, PROG ": pidfile %s: not a regular file\n", o.pidfile);
		return VK_EXIT_FAIL;
	}
	struct vk_fakesys_scenario *sc = NULL;
	struct vtree *t = NULL;
	if (vk_fakesys_scenario_load(argv[optind], &sc, &e) < 0)
		return fail(&e);
	if (vk_host_tree_build(sc->host, &t, &e) < 0) {
		vk_fakesys_scenario_free(sc);
		return fail(&e);
	}
	/* The wrapper goes before the daemon is forked: the daemon frees the
	 * model it was given, and nothing of its own should stay behind only in
	 * this function's frame (its leak check, in the sanitizer build). */
	struct vk_fakesys_fault *faults = sc->faults, *steps = sc->steps;
	o.faults = faults;
	o.n_faults = sc->n_faults;
	o.steps = steps;
	o.n_steps = sc->n_steps;
	/* The live mode changes the model and rebuilds the tree; any other mount
	 * never reads it, and the daemon would inherit its pages. */
	o.model = sc->host;
	if (!vk_fakesys_mount_is_live(&o)) {
		vk_host_model_free(o.model);
		o.model = NULL;
		malloc_trim(0);
	}
	free(sc);
	int r = vk_fakesys_mount(t, argv[optind + 1], &o, &e);
	vk_vtree_free(t);
	vk_host_model_free(o.model);
	vk_fakesys_faults_free(faults, o.n_faults);
	vk_fakesys_faults_free(steps, o.n_steps);
	return r < 0 ? fail(&e) : VK_EXIT_OK;
}

static int cmd_umount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"timeout", required_argument, NULL, 't'},
		{"lazy", no_argument, NULL, 'l'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct vk_fakesys_umount_opts o = {0};
	struct vk_error e = {0};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+qh", longopts, NULL)) != -1) {
		char *end;
		double sec;
		switch (c) {
		case 't':
			errno = 0;
			sec = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(sec >= 0 && sec <= 3600))
				return verb_usage_error("umount", "--timeout '%s': expected seconds from 0 to 3600", optarg);
			o.timeout_ms = sec > 0 ? (int)(sec * 1000 + 0.5) : -1;
			if (!o.timeout_ms)
				o.timeout_ms = 1;
			break;
		case 'l':
			o.lazy = true;
			break;
		case 'q':
			arg_quiet = true;
			break;
		case 'h':
			return verb_help("umount");
		default:
			return verb_bad_option("umount", argv);
		}
	}
	if (argc - optind != 1)
		return verb_usage_error("umount", "expects MOUNTPOINT");
	int r = vk_fakesys_umount_with(argv[optind], &o, &e);
	if (r < 0)
		return fail(&e);
	if (r > 0 && !arg_quiet)
		fprintf(stderr, PROG ": %s\n", e.msg);
	return VK_EXIT_OK;
}

/*
 * run and test serve a root's host: as an ordinary user they become root of a
 * user namespace of their own first (vk_fakesys_userns_enter(),
 * docs/architecture.md "Running unprivileged").  0, or EXIT_FAILURE after the
 * message.
 */
static int enter_userns(void)
{
	struct vk_error e = {0};
	bool subids;

	if (vk_fakesys_userns_enter(&subids, &e) < 0) {
		fail(&e);
		return EXIT_FAILURE;
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"userns", no_argument, NULL, 'u'},
		{"fuse", no_argument, NULL, 'F'},
		{"serve-opens", no_argument, NULL, 'o'},
		{"live", no_argument, NULL, 'o'},
		{"tmpdir", required_argument, NULL, 't'},
		{"no-emulation", no_argument, NULL, 'E'},
		{"log", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct vk_fakesys_run_opts o = {0};
	struct vk_error e = {0};
	int c, status = 125;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			o.fuse = true;
			break;
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
		case 'h':
			return verb_help("run");
		default:
			return verb_bad_option("run", argv);
		}
	}
	if (argc - optind < 1)
		return verb_usage_error("run", "expects SCENARIO [--] CMD [ARGS...]");
	const char *scen = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return verb_usage_error("run", "expects SCENARIO [--] CMD [ARGS...]");
	int ur = enter_userns();
	if (ur)
		return 125;
	/* the model too: the live mode changes it and rebuilds the tree */
	struct vk_fakesys_scenario *sc = NULL;
	struct vtree *t = NULL;
	if (vk_fakesys_scenario_load(scen, &sc, &e) < 0 || vk_host_tree_build(sc->host, &t, &e) < 0) {
		vk_fakesys_scenario_free(sc);
		fail(&e);
		return 125;
	}
	/* faults and steps need the server, as with fakesys mount (the live
	 * mode); without them the model is never read again, and the server
	 * forked below would inherit its pages */
	if (o.serve_opens || sc->n_faults || sc->n_steps) {
		o.model = sc->host;
	} else {
		vk_host_model_free(sc->host);
		sc->host = NULL;
		malloc_trim(0);
	}
	o.faults = sc->faults;
	o.n_faults = sc->n_faults;
	o.steps = sc->steps;
	o.n_steps = sc->n_steps;
	int r = vk_fakesys_run(t, argv + optind, &o, &status, &e);
	vk_vtree_free(t);
	vk_fakesys_scenario_free(sc);
	if (r < 0)
		fail(&e);
	return status;
}

static int cmd_show(int argc, char **argv)
{
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};
	int r = verb_help_only("show", argc, argv);

	if (r != 1)
		return r;
	if (argc - optind != 1)
		return verb_usage_error("show", "expects SCENARIO");
	if (vk_host_model_load(argv[optind], &m, &e) < 0)
		return fail(&e);
	/* box drawing only where the locale can show it (LC_ALL=C: ASCII) */
	vk_host_model_show_with(m, stdout, vk_cli_locale_is_utf8() ? 0 : VK_HOST_SHOW_ASCII);
	vk_host_model_free(m);
	return fflush(stdout) == 0 ? VK_EXIT_OK : VK_EXIT_FAIL;
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
		fprintf(stderr, PROG ": %s: %s\n", output, strerror(errno));
		free(buf);
		return VK_EXIT_FAIL;
	}
	bool ok = fwrite(buf, 1, len, f) == len;
	ok = (f == stdout ? fflush(f) : fclose(f)) == 0 && ok;
	free(buf);
	return ok ? VK_EXIT_OK : VK_EXIT_FAIL;
}

static int do_record(void *ctx, FILE *f, struct vk_error *e)
{
	return vk_fakesys_record(ctx, f, arg_quiet ? NULL : stderr, e);
}

static int do_import(void *ctx, FILE *f, struct vk_error *e)
{
	return vk_fakesys_import_umockdev(ctx, f, arg_quiet ? NULL : stderr, e);
}

static int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"root", required_argument, NULL, 'r'},
		{"output", required_argument, NULL, 'o'},
		{"redact", no_argument, NULL, 'R'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct vk_fakesys_record_opts o = {0};
	const char *output = NULL;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
		if (c == 'r')
			o.root = optarg;
		else if (c == 'o')
			output = optarg;
		else if (c == 'R')
			o.redact = true;
		else if (c == 'q')
			arg_quiet = true;
		else if (c == 'h')
			return verb_help("record");
		else
			return verb_bad_option("record", argv);
	}
	o.bdfs = (const char *const *)argv + optind;
	o.n_bdfs = (size_t)(argc - optind);
	return write_scenario(output, do_record, &o);
}

static int cmd_import_umockdev(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *output = NULL;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
		if (c == 'o')
			output = optarg;
		else if (c == 'q')
			arg_quiet = true;
		else if (c == 'h')
			return verb_help("import-umockdev");
		else
			return verb_bad_option("import-umockdev", argv);
	}
	if (argc - optind != 1)
		return verb_usage_error("import-umockdev", "expects FILE");
	return write_scenario(output, do_import, argv[optind]);
}

/*
 * `fakesys test` is the conformance runner's (conformance/src/runner.c), which
 * parses its own options; its --help is answered here.  Options and scenario
 * paths mix (getopt permutes them), so any "-h" or "--help" before "--" asks
 * for it (a scenario so named is ./--help).
 */
static int cmd_test(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return verb_help("test");
	int r = enter_userns();
	return r ? r : fakesys_cmd_test(argc, argv);
}

/* `fakesys check` is the conformance runner's too (conformance/src/precheck.c). */
static int cmd_check(int argc, char **argv)
{
	int r = verb_help_only("check", argc, argv);

	if (r != 1)
		return r;
	if (optind >= argc)
		return verb_usage_error("check", "expects SCENARIO|DIR...");
	return fakesys_cmd_check(argc, argv);
}

/*
 * The options before COMMAND; 1 with optind at COMMAND, 0 (--help, --version),
 * -EINVAL.  By hand, not getopt: glibc's getopt takes its ordering ("+", or
 * permuting) from the first call of a process only, and each command's own
 * getopt must be that first call (record and test permute, run must not).
 */
static int parse_argv(int argc, char *argv[])
{
	for (optind = 1; optind < argc && argv[optind][0] == '-'; optind++) {
		const char *a = argv[optind];
		if (!strcmp(a, "--")) {
			optind++;
			break;
		}
		if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			arg_quiet = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return help();
		else if (!strcmp(a, "-V") || !strcmp(a, "--version"))
			return vk_cli_version(PROG);
		else
			return vk_cli_usage_error(PROG, "unknown option '%s'", a), -EINVAL;
	}
	if (optind >= argc)
		return vk_cli_usage_error(PROG, "no command given (%s)",
		                          "materialize, mount, umount, show, run, record, import-umockdev, test, check"),
		       -EINVAL;
	return 1;
}

static int run(int argc, char *argv[])
{
	int r = parse_argv(argc, argv);

	if (r <= 0)
		return vk_cli_parse_exit(r);
	argc -= optind;
	argv += optind;
	optind = 1;                   /* each command's getopt starts afresh, as the process's first */
	if (!strcmp(argv[0], "help")) /* "fakesys help [COMMAND]", as git and systemctl have it */
		return argc > 1 && verb_help(argv[1]) == 0 ? VK_EXIT_OK : help();
	for (size_t i = 0; i < VK_ARRAY_SIZE(verbs); i++)
		if (!strcmp(argv[0], verbs[i].name))
			return verbs[i].fn(argc, argv);
	return vk_cli_usage_error(PROG, "unknown command '%s'", argv[0]);
}

int main(int argc, char *argv[])
{
	return run(argc, argv);
}
