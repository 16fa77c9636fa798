/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-doctor: is this host ready to pass PCI devices to a VM with VFIO? */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/doctor.h>
#include <vfiokit/doctor_export.h>
#include <vfiokit/root.h>

#include <cli_common.h>
#include <cli_json.h>

#define PROG "vfio-doctor"

enum format { FMT_TEXT,
	      FMT_JSON,
	      FMT_PROMETHEUS };

static const char *arg_root = "/", *arg_user, *arg_output;
static enum format arg_format = FMT_TEXT;
static enum vk_color arg_color = VK_COLOR_AUTO;
static bool arg_verbose, arg_quiet;
static struct vk_doctor_options arg_opts;
static struct vk_pci_addr *arg_devices;

static int help(void)
{
	printf("Usage: " PROG " [OPTIONS] [BDF...]\n"
	       "\n"
	       "Check the host for VFIO device assignment: IOMMU, interrupt remapping, modules,\n"
	       "iommufd, cdevs, no-IOMMU mode; for each device (default: all bound to vfio-pci)\n"
	       "its driver, IOMMU group, nodes and their access; the locked-memory limit; QEMU.\n"
	       "\n"
	       "Options:\n"
	       "  --root DIR        the host tree to check (default /; e.g. a fakesys tree);\n"
	       "                    for another host's tree the QEMU and memlock checks are\n"
	       "                    SKIP (not checked) unless --qemu / --memlock give them\n"
	       "  --user NAME|UID   the account QEMU runs as: can it open the device nodes?\n"
	       "  --memory SIZE     the VM's memory (16G, 512M), compared with RLIMIT_MEMLOCK\n"
	       "  --memlock SIZE    the QEMU user's RLIMIT_MEMLOCK (default: this process's; 'unlimited')\n"
	       "  --qemu BINARY     the QEMU to ask (default: the first qemu-system-* on PATH)\n"
	       "  --no-qemu         leave the QEMU check out\n"
	       "  --format FORMAT   text (default), json (docs/schemas/vfio-doctor.schema.json)\n"
	       "                    or prometheus (node_exporter's textfile collector)\n"
	       "  --json            the same as --format=json; JSON also on failure\n"
	       "  --output FILE     write the report to FILE instead of standard output, atomically\n"
	       "                    (a temporary file beside it, renamed over it)\n"
	       "  -v, --verbose     also print each check's evidence (paths read, values seen)\n"
	       "                    under it (text only)\n"
	       "  -q, --quiet       print only the checks that did not pass, and no summary\n"
	       "                    line (text only)\n"
	       "  --color[=WHEN]    colour the statuses: auto (default: on a terminal, not with\n"
	       "                    NO_COLOR set or TERM=dumb), always or never\n"
	       "  --list-checks     print the checks (rule ids) and exit\n"
	       "  -h, --help        show this help\n"
	       "  -V, --version     show the version\n"
	       "\n"
	       "Exit status: 0 no check failed (warnings and checks not made allowed), 1 a check\n"
	       "failed, 2 usage error or the report could not be made or written.\n"
	       "See vfio-doctor(1); docs/fleet.md: many hosts.\n");
	return 0;
}

static void list_checks(void)
{
	size_t n;
	const struct vk_rule *r = vk_rules(&n);
	for (size_t i = 0; i < n; i++)
		if (strncmp(r[i].id, "VD", 2) == 0)
			printf("%s  %-29s %-8s Checking %s\n", r[i].id, r[i].name, vk_doctor_category(&r[i]), r[i].title);
}

static int size_arg(const char *opt, const char *val, bool unlimited, uint64_t *out)
{
	if (vk_doctor_parse_size(val, unlimited, out) < 0 || (!unlimited && *out == 0)) {
		vk_cli_usage_error(PROG, "%s %s: not a size (e.g. 16G, 512M, 1048576%s)", opt, val,
		                   unlimited ? ", unlimited" : "");
		return -EINVAL;
	}
	return 0;
}

/* A JSON string, or null for "" (a tree without the file); NULL only for
 * bytes that are not UTF-8, which vk_doctor_json() never gets from here. */
static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

/* The members of the report beside the checks: what was asked, and the host
 * name, kernel and time that let a report gathered from many hosts stand alone. */
static char *extra_json(const char *rootdir, const struct vk_doctor_user *user, const struct vk_doctor_options *o,
                        const struct vk_doctor_host *h)
{
	json_t *x = json_object();
	char *s, when[64];

	json_object_set_new(x, "version", json_string(VFIOKIT_VERSION));
	json_object_set_new(x, "hostname", str_or_null(h->hostname));
	json_object_set_new(x, "kernel", str_or_null(h->kernel));
	json_object_set_new(x, "time", json_string(vk_doctor_rfc3339(&h->time, when, sizeof(when))));
	json_object_set_new(x, "root", json_string(rootdir));
	if (user) {
		json_t *u = json_pack("{s:I}", "uid", (json_int_t)user->uid);
		json_object_set_new(u, "name", user->name[0] ? json_string(user->name) : json_null());
		json_object_set_new(x, "user", u);
	} else {
		json_object_set_new(x, "user", json_null());
	}
	json_object_set_new(x, "memory", o->memory ? json_integer((json_int_t)o->memory) : json_null());
	if (!o->memlock_given)
		json_object_set_new(x, "memlock", json_null());
	else if (o->memlock == VK_DOCTOR_UNLIMITED)
		json_object_set_new(x, "memlock", json_string("unlimited"));
	else
		json_object_set_new(x, "memlock", json_integer((json_int_t)o->memlock));
	s = json_dumps(x, 0);
	json_decref(x);
	return s;
}

static int format_arg(const char *val, enum format *out)
{
	static const char *const names[] = {[FMT_TEXT] = "text", [FMT_JSON] = "json", [FMT_PROMETHEUS] = "prometheus"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(val, names[i]) == 0) {
			*out = (enum format)i;
			return 0;
		}
	vk_cli_usage_error(PROG, "--format %s: expected text, json or prometheus", val);
	return -EINVAL;
}

/* The human report (the checks, -v their evidence under each, the summary) as a string. */
static char *render_text(const struct vk_doctor_report *rep, bool color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	unsigned flags = (color ? VK_DOCTOR_PRINT_COLOR : 0) | (arg_verbose ? VK_DOCTOR_PRINT_EVIDENCE : 0) |
	                 (arg_quiet ? VK_DOCTOR_PRINT_PROBLEMS : 0);

	if (!f)
		return NULL;
	vk_doctor_print_with(rep, f, flags);
	if (!arg_quiet)
		fprintf(f, "%zu passed, %zu warning%s, %zu failed, %zu not checked\n", vk_doctor_count(rep, VK_DOCTOR_PASS),
		        vk_doctor_count(rep, VK_DOCTOR_WARN), vk_doctor_count(rep, VK_DOCTOR_WARN) == 1 ? "" : "s",
		        vk_doctor_count(rep, VK_DOCTOR_FAIL), vk_doctor_count(rep, VK_DOCTOR_SKIP));
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The JSON report: the envelope (docs/schemas/README.md), then the doctor's members. */
static char *render_json(const struct vk_doctor_report *rep, const struct vk_doctor_host *h, int status)
{
	_cleanup_free_ char *extra = extra_json(arg_root, arg_opts.user, &arg_opts, h);
	_cleanup_free_ char *js = extra ? vk_doctor_json(rep, extra) : NULL;
	json_t *j = vk_cli_json_envelope(PROG, status, NULL), *d = js ? json_loads(js, 0, NULL) : NULL;
	char *out = NULL;

	if (j && d && json_object_update(j, d) == 0)
		out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	json_decref(d);
	if (out) {
		char *nl = NULL;
		if (asprintf(&nl, "%s\n", out) < 0)
			nl = NULL;
		free(out);
		out = nl;
	}
	return out;
}

/* The report in --format, or NULL with the reason printed. */
static char *render(const struct vk_doctor_report *rep, struct vk_doctor_host *h, int status)
{
	struct vk_error err = {0};
	char *out = NULL;

	if (arg_format == FMT_TEXT) {
		out = render_text(rep, !arg_output && vk_cli_use_color(arg_color, stdout));
	} else if (vk_doctor_host_read(&arg_opts, rep, h, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return NULL;
	} else if (arg_format == FMT_PROMETHEUS) {
		out = vk_doctor_prometheus(rep, h, VFIOKIT_VERSION);
	} else {
		out = render_json(rep, h, status);
	}
	if (!out)
		fprintf(stderr, PROG ": out of memory\n");
	return out;
}

/* The checks could not be run: why, on stderr, and with --json as the envelope
 * on standard output (not into --output: the last report there stays). */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	char msg[sizeof(((struct vk_error *)0)->msg) + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", msg);
	if (arg_format == FMT_JSON && !arg_output) {
		json_t *j = vk_cli_json_envelope(PROG, VK_EXIT_USAGE, msg);
		vk_cli_json_print(j, stdout);
		json_decref(j);
	}
	return VK_EXIT_USAGE;
}

/* The PCI addresses after the options; 1, or -EINVAL. */
static int parse_devices(int argc, char *argv[])
{
	struct vk_error err = {0};

	if (optind >= argc)
		return 1;
	arg_devices = calloc((size_t)(argc - optind), sizeof(*arg_devices));
	if (!arg_devices)
		return fprintf(stderr, PROG ": out of memory\n"), -ENOMEM;
	for (int i = optind; i < argc; i++) {
		if (vk_pci_addr_parse(argv[i], &arg_devices[arg_opts.n_devices], &err) < 0)
			return vk_cli_usage_error(PROG, "%s: %s", argv[i], err.msg), -EINVAL;
		arg_opts.n_devices++;
	}
	arg_opts.devices = arg_devices;
	return 1;
}

/* The long options without a short one. */
enum { O_ROOT = 256,
       O_USER,
       O_MEMORY,
       O_MEMLOCK,
       O_QEMU,
       O_NOQEMU,
       O_JSON,
       O_FORMAT,
       O_OUTPUT,
       O_LIST,
       O_COLOR };

/* What the options said that is settled once all are read. */
struct opt_state {
	bool json, format_given;
};

/* Option @c of getopt_long(): 1 to go on, 0 (--help, --version,
 * --list-checks) or -EINVAL (a usage error, said) to stop. */
static int parse_option(int c, char *argv[], struct opt_state *st)
{
	enum format fmt;

	switch (c) {
	case O_ROOT:
		arg_root = optarg;
		return 1;
	case O_USER:
		arg_user = optarg;
		return 1;
	case O_MEMORY:
		if (size_arg("--memory", optarg, false, &arg_opts.memory) < 0)
			return -EINVAL;
		return 1;
	case O_MEMLOCK:
		if (size_arg("--memlock", optarg, true, &arg_opts.memlock) < 0)
			return -EINVAL;
		arg_opts.memlock_given = true;
		return 1;
	case O_QEMU:
		arg_opts.qemu = optarg;
		return 1;
	case O_NOQEMU:
		arg_opts.skip_qemu = true;
		return 1;
	case O_JSON:
		st->json = true;
		return 1;
	case O_FORMAT:
		if (format_arg(optarg, &fmt) < 0)
			return -EINVAL;
		if (st->format_given && fmt != arg_format)
			return vk_cli_usage_error(PROG, "--format given twice with different formats"), -EINVAL;
		arg_format = fmt;
		st->format_given = true;
		return 1;
	case O_OUTPUT:
		if (!*optarg)
			return vk_cli_usage_error(PROG, "--output: empty file name"), -EINVAL;
		arg_output = optarg;
		return 1;
	case O_COLOR:
		if (vk_cli_parse_color(optarg, &arg_color) < 0)
			return vk_cli_usage_error(PROG, "--color=%s: expected auto, always or never", optarg), -EINVAL;
		return 1;
	case 'v':
		arg_verbose = true;
		return 1;
	case 'q':
		arg_quiet = true;
		return 1;
	case O_LIST:
		list_checks();
		return 0;
	case 'V':
		return vk_cli_version(PROG);
	case 'h':
		return help();
	default:
		return vk_cli_usage_error(PROG, "unknown or incomplete option '%s'", argv[optind - 1]), -EINVAL;
	}
}

/* The options that exclude each other; --json as --format=json. */
static int check_options(const struct opt_state *st)
{
	if (st->json && st->format_given && arg_format != FMT_JSON)
		return vk_cli_usage_error(PROG, "--json and --format=%s exclude each other",
		                          arg_format == FMT_TEXT ? "text" : "prometheus"),
		       -EINVAL;
	if (st->json)
		arg_format = FMT_JSON;
	if (arg_opts.qemu && arg_opts.skip_qemu)
		return vk_cli_usage_error(PROG, "--qemu and --no-qemu exclude each other"), -EINVAL;
	return 1;
}

static int parse_argv(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{"root", required_argument, NULL, O_ROOT},
		{"user", required_argument, NULL, O_USER},
		{"memory", required_argument, NULL, O_MEMORY},
		{"memlock", required_argument, NULL, O_MEMLOCK},
		{"qemu", required_argument, NULL, O_QEMU},
		{"no-qemu", no_argument, NULL, O_NOQEMU},
		{"json", no_argument, NULL, O_JSON},
		{"format", required_argument, NULL, O_FORMAT},
		{"output", required_argument, NULL, O_OUTPUT},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"color", optional_argument, NULL, O_COLOR},
		{"list-checks", no_argument, NULL, O_LIST},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct opt_state st = {0};
	int c, r;

	opterr = 0; /* the message is ours, with where to find help */
	while ((c = getopt_long(argc, argv, "hvqV", lopts, NULL)) != -1)
		if ((r = parse_option(c, argv, &st)) <= 0)
			return r;
	if ((r = check_options(&st)) <= 0)
		return r;
	return parse_devices(argc, argv);
}

/* The report to --output (atomically) or standard output. */
static int write_report(const char *text)
{
	struct vk_error err = {0};

	if (arg_output) {
		if (vk_doctor_write_atomic(arg_output, text, strlen(text), &err) < 0) {
			fprintf(stderr, PROG ": --output %s\n", err.msg);
			return VK_EXIT_USAGE;
		}
	} else if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, PROG ": writing the report: %s\n", strerror(errno));
		return VK_EXIT_USAGE;
	}
	return 0;
}

/* Whether @dir is another host's tree rather than this machine's "/": the
 * fact vk_doctor_options.other_host carries (a path that cannot be resolved
 * was refused by vk_root_open() already). */
static bool is_other_host(const char *dir)
{
	_cleanup_free_ char *real = realpath(dir, NULL);

	return !real || strcmp(real, "/") != 0;
}

static int run(int argc, char *argv[])
{
	_cleanup_free_ char *text = NULL;
	struct vk_doctor_user user = {0};
	struct vk_doctor_report rep = {0};
	struct vk_doctor_host host = {0};
	struct vk_error err = {0};
	struct vk_root *root = NULL;
	int r = parse_argv(argc, argv), status;

	if (r <= 0)
		return vk_cli_parse_exit(r);
	if (arg_user) {
		if (vk_doctor_user_resolve(arg_user, &user, &err) < 0)
			return vk_cli_usage_error(PROG, "%s", err.msg);
		arg_opts.user = &user;
	}
	if (vk_root_open(arg_root, 0, &root, &err) < 0) {
		status = fail("--root %s: %s", arg_root, err.msg);
		goto out;
	}
	arg_opts.root = root;
	arg_opts.other_host = is_other_host(arg_root);
	/* the time the run started: what a collector compares with its own clock */
	clock_gettime(CLOCK_REALTIME, &host.time);
	if (vk_doctor_run(&arg_opts, &rep, &err) < 0) {
		status = fail("%s", err.msg);
		goto out;
	}
	status = vk_doctor_count(&rep, VK_DOCTOR_FAIL) ? VK_EXIT_FAIL : VK_EXIT_OK;
	text = render(&rep, &host, status);
	r = text ? write_report(text) : VK_EXIT_USAGE;
	if (r)
		status = r;
out:
	vk_doctor_report_clear(&rep);
	vk_doctor_user_free(&user);
	vk_root_close(root);
	return status;
}

int main(int argc, char *argv[])
{
	int r = run(argc, argv);

	free(arg_devices);
	return r;
}
