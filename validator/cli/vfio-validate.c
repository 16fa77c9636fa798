/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-validate: check a QEMU command line for VFIO/iommufd mistakes.  Shaped
 * as systemd's tools are: help(), parse_argv() into arg_*, then run() by
 * phase: parse the command line, load QEMU's capabilities, check (command
 * line, host, FDs), report, and with --stand-in --then-exec exec QEMU.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vk_cleanup.h"
#include <vfiokit/qdev_model.h>
#include <vfiokit/qemu_cmdline.h>
#include <vfiokit/root.h>
#include <vfiokit/validator.h>

#include <cli_common.h>
#include <cli_json.h>

#define PROG "vfio-validate"

static const char *arg_qemu_version, *arg_qemu, *arg_root, *arg_args_file, *arg_report, *arg_then_exec,
	*arg_cache_dir;
static unsigned arg_qemu_timeout_ms; /* 0: the probe's default */
static bool arg_json, arg_standin, arg_fds, arg_quiet;
static enum vk_color arg_color = VK_COLOR_AUTO;
static long arg_pid;
static char **arg_qemu_argv; /* -- QEMU-ARGS... */
static size_t arg_qemu_argc;

/* What run() works on, phase by phase. */
struct validation {
	const struct vk_fd_inventory *inv; /* the FDs inherited, for --stand-in */
	struct vk_qc_cmdline *cl;
	struct vk_qemu_caps caps;
	struct vk_qdev_model *model; /* learnt from --qemu or --pid's binary, else NULL (a table) */
	struct vk_report rep;
	struct vk_root *root;
	char source[64]; /* "arguments", "pid 123" or the .args file */
};

static int help(void)
{
	printf("Usage: " PROG " [OPTIONS] -- QEMU-ARGS...\n"
	       "       " PROG " [OPTIONS] --args-file FILE   (libvirt .args; '-' = stdin)\n"
	       "       " PROG " [OPTIONS] --pid PID [--fds]  (a running QEMU, checked against its own binary)\n"
	       "       " PROG " --stand-in [OPTIONS] [--report FILE] [--then-exec QEMU] -- [EMULATOR] QEMU-ARGS...\n"
	       "\n"
	       "Options:\n"
	       "  --qemu-version X.Y  check against the built-in table for that QEMU (default: newest)\n"
	       "  --qemu BINARY       ask that QEMU binary what it supports and its device model\n"
	       "                      (-device help, -device TYPE,help; cached per binary)\n"
	       "  --qemu-timeout MS   give up on a binary that has not answered in MS ms (default 10000)\n"
	       "  --cache-dir DIR     where the device-model cache lives ('' = none; default\n"
	       "                      $VFIOKIT_CACHE_DIR, $XDG_CACHE_HOME/vfiokit, ~/.cache/vfiokit)\n"
	       "  --root DIR          also check the host (tree under DIR, e.g. / or a fakesys tree)\n"
	       "  --fds               with --pid: check the process' live FDs (VV2xx)\n"
	       "  --stand-in          run in QEMU's place: check these arguments and the inherited FDs,\n"
	       "                      report on stderr, exit 0/1\n"
	       "  --report FILE       with --stand-in: write the report to FILE\n"
	       "  --then-exec QEMU    with --stand-in: exec QEMU with the arguments when there is no error\n"
	       "  --json              print the report as JSON, also on failure\n"
	       "                      (docs/schemas/vfio-validate.schema.json)\n"
	       "  --color[=WHEN]      colour the severities: auto (default: on a terminal, not with\n"
	       "                      NO_COLOR set or TERM=dumb), always or never\n"
	       "  -q, --quiet         print errors and warnings only: no info findings and no\n"
	       "                      \"no findings\" line (text; JSON is complete)\n"
	       "  --list-rules        print the rule catalogue\n"
	       "  -h, --help          show this help\n"
	       "  -V, --version       show the version\n"
	       "\n"
	       "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error,\n"
	       "unparsable input, or a check that could not be made.  See vfio-validate(1).\n");
	return 0;
}

static void print_rules(void)
{
	size_t n;
	const struct vk_rule *r = vk_rules(&n);
	for (size_t i = 0; i < n; i++)
		printf("%s  %-30s %-7s %s\n", r[i].id, r[i].name, vk_severity_name(r[i].severity), r[i].title);
}

/* The long options without a short one. */
enum { O_QV = 256,
       O_QEMU,
       O_ROOT,
       O_JSON,
       O_ARGS,
       O_PID,
       O_STANDIN,
       O_REPORT,
       O_EXEC,
       O_FDS,
       O_LIST,
       O_COLOR,
       O_TIMEOUT,
       O_CACHE };

/* Option @c of getopt_long(): 1 to go on, 0 (--help, --version,
 * --list-rules) or -EINVAL (a usage error, said) to stop. */
static int parse_option(int c, char *argv[])
{
	char *end;

	switch (c) {
	case O_QV:
		arg_qemu_version = optarg;
		return 1;
	case O_QEMU:
		arg_qemu = optarg;
		return 1;
	case O_CACHE:
		arg_cache_dir = optarg;
		return 1;
	case O_TIMEOUT: {
		unsigned long v = strtoul(optarg, &end, 10);
		if (*end || !*optarg || v == 0 || v > 3600000)
			return vk_cli_usage_error(PROG, "--qemu-timeout %s: not a number of milliseconds (1..3600000)",
			                          optarg),
			       -EINVAL;
		arg_qemu_timeout_ms = (unsigned)v;
		return 1;
	}
	case O_ROOT:
		arg_root = optarg;
		return 1;
	case O_JSON:
		arg_json = true;
		return 1;
	case O_ARGS:
		arg_args_file = optarg;
		return 1;
	case O_PID:
		arg_pid = strtol(optarg, &end, 10);
		if (*end || arg_pid <= 0)
			return vk_cli_usage_error(PROG, "--pid %s: not a process id", optarg), -EINVAL;
		return 1;
	case O_STANDIN:
		arg_standin = true;
		return 1;
	case O_REPORT:
		arg_report = optarg;
		return 1;
	case O_EXEC:
		arg_then_exec = optarg;
		return 1;
	case O_FDS:
		arg_fds = true;
		return 1;
	case O_LIST:
		print_rules();
		return 0;
	case O_COLOR:
		if (vk_cli_parse_color(optarg, &arg_color) < 0)
			return vk_cli_usage_error(PROG, "--color=%s: expected auto, always or never", optarg), -EINVAL;
		return 1;
	case 'q':
		arg_quiet = true;
		return 1;
	case 'V':
		return vk_cli_version(PROG);
	case 'h':
		return help();
	default:
		return vk_cli_usage_error(PROG, "unknown or incomplete option '%s'", argv[optind - 1]), -EINVAL;
	}
}

/* The input sources and options that go together. */
static int check_sources(void)
{
	int nsrc = (arg_args_file != NULL) + (arg_pid != 0) + (arg_qemu_argc > 0);
	if (nsrc != 1 || (arg_qemu_version && arg_qemu) || ((arg_report || arg_then_exec) && !arg_standin) ||
	    (arg_standin && (arg_pid || arg_args_file)) || (arg_fds && !arg_pid))
		return vk_cli_usage_error(PROG, "give exactly one of --args-file, --pid or -- ARGS (--report/--then-exec "
		                                "only with --stand-in and -- ARGS, --fds only with --pid)"),
		       -EINVAL;
	return 1;
}

static int parse_argv(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{"qemu-version", required_argument, NULL, O_QV},
		{"qemu", required_argument, NULL, O_QEMU},
		{"qemu-timeout", required_argument, NULL, O_TIMEOUT},
		{"cache-dir", required_argument, NULL, O_CACHE},
		{"root", required_argument, NULL, O_ROOT},
		{"json", no_argument, NULL, O_JSON},
		{"args-file", required_argument, NULL, O_ARGS},
		{"pid", required_argument, NULL, O_PID},
		{"stand-in", no_argument, NULL, O_STANDIN},
		{"report", required_argument, NULL, O_REPORT},
		{"then-exec", required_argument, NULL, O_EXEC},
		{"fds", no_argument, NULL, O_FDS},
		{"list-rules", no_argument, NULL, O_LIST},
		{"color", optional_argument, NULL, O_COLOR},
		{"quiet", no_argument, NULL, 'q'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c, r;

	opterr = 0; /* the message is ours, with where to find help */
	while ((c = getopt_long(argc, argv, "+qhV", lopts, NULL)) != -1)
		if ((r = parse_option(c, argv)) <= 0)
			return r;
	arg_qemu_argv = argv + optind;
	arg_qemu_argc = (size_t)(argc - optind);
	return check_sources();
}

/* A failure after the options were taken: on stderr, and as the envelope with
 * --json (@e may carry details of a parse error).  Returns exit status 2. */
static int fail(json_t *details, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(json_t *details, const char *fmt, ...)
{
	char msg[sizeof(((struct vk_error *)0)->msg) + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", msg);
	if (arg_json) {
		json_t *j = vk_cli_json_envelope(PROG, VK_EXIT_USAGE, NULL);
		if (j) {
			json_t *e = vk_cli_json_set_error(j, msg);
			if (details)
				json_object_update(e, details);
			vk_cli_json_print(j, arg_standin ? stderr : stdout);
			json_decref(j);
		}
	}
	json_decref(details);
	return VK_EXIT_USAGE;
}

/* Phase 1: the command line from --args-file, --pid or the arguments. */
static int parse_input(struct validation *v)
{
	struct vk_error err = {0};
	struct vk_qc_pos pos = {-1, 0, 0};
	int r;

	if (arg_args_file) {
		snprintf(v->source, sizeof(v->source), "%s", arg_args_file);
		r = vk_qc_parse_args_file(arg_args_file, &v->cl, &pos, &err);
	} else if (arg_pid) {
		snprintf(v->source, sizeof(v->source), "pid %ld", arg_pid);
		r = vk_qc_parse_pid(NULL, (pid_t)arg_pid, &v->cl, &pos, &err);
	} else {
		snprintf(v->source, sizeof(v->source), "arguments");
		r = vk_qc_parse_argv(arg_qemu_argc, arg_qemu_argv, NULL, VK_QC_ARGV_DETECT_PROGRAM, &v->cl, &pos, &err);
	}
	if (r >= 0)
		return 0;
	/* malformed, or past an input limit (docs/rules.md): both are the input's fault */
	if (r != -EINVAL && r != -E2BIG)
		return fail(NULL, "%s", err.msg);
	json_t *d = json_pack("{s:s, s:s}", "kind", "parse_error", "source", v->source);
	if (d) {
		json_object_set_new(d, "argument", pos.argi >= 0 ? json_integer(pos.argi) : json_null());
		json_object_set_new(d, "column", pos.col ? json_integer((json_int_t)pos.col) : json_null());
		json_object_set_new(d, "line", pos.line ? json_integer(pos.line) : json_null());
	}
	return fail(d, "%s: cannot parse: %s", v->source, err.msg);
}

/* The binary of process @pid: its path when that file is still there, else /proc/PID/exe itself. */
static int pid_binary(pid_t pid, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* an upgraded (deleted) binary is still reachable through the link */
	if (buf[0] != '/' || strstr(buf, " (deleted)") || access(buf, X_OK) != 0)
		snprintf(buf, len, "%s", link);
	return 0;
}

/* A QEMU binary's capabilities and the device model of the types the command line uses. */
static int load_binary(struct validation *v, const char *qemu, struct vk_error *err)
{
	const char *names[64];
	size_t n = vk_qc_device_types(v->cl, names, VK_ARRAY_SIZE(names)); /* each costs one run of QEMU, once */
	struct vk_qdev_probe_opts po = {.timeout_ms = arg_qemu_timeout_ms, .cache_dir = arg_cache_dir};
	int r = vk_qdev_model_probe(qemu, n, names, &po, &v->model, err);

	if (r < 0)
		return r;
	vk_qemu_caps_from_model(v->model, &v->caps);
	/* the label names the binary: "qemu-system-x86_64 7.2.22" */
	const char *base = strrchr(qemu, '/');
	const char *ver = strrchr(v->model->label, ' ');
	snprintf(v->caps.label, sizeof(v->caps.label), "%.40s%.20s", base ? base + 1 : qemu, ver ? ver : "");
	return 0;
}

/* Phase 2: what that QEMU supports: --qemu's binary, --pid's own binary (unless
 * a version or a binary is named), else the built-in table. */
static int load_caps(struct validation *v)
{
	struct vk_error err = {0};
	char exe[4096];
	int r = -ENOENT;

	if (arg_pid && !arg_qemu && !arg_qemu_version && pid_binary((pid_t)arg_pid, exe, sizeof(exe)) == 0) {
		r = load_binary(v, exe, &err);
		/* a process that is not a QEMU we can ask (a wrapper, a test's stand-in) */
		if (r < 0)
			fprintf(stderr, PROG ": pid %ld: %s; checking against the built-in table instead\n", arg_pid,
			        err.msg);
	}
	if (r < 0) {
		vk_error_clear(&err);
		r = arg_qemu ? load_binary(v, arg_qemu, &err) : vk_qemu_caps_builtin(arg_qemu_version, &v->caps, &err);
	}
	return r < 0 ? fail(NULL, "%s", err.msg) : 0;
}

/* Phase 3: the rules: command line, host (--root), FDs (--stand-in, --fds). */
static int check(struct validation *v)
{
	struct vk_error err = {0};
	int r = vk_check_cmdline(v->cl, &v->caps, &v->rep, &err);

	if (r < 0)
		return fail(NULL, "%s", err.msg[0] ? err.msg : strerror(-r));
	if (arg_root || arg_standin || arg_fds) {
		if (vk_root_open(arg_root ? arg_root : "/", 0, &v->root, &err) < 0)
			return fail(NULL, "--root %s: %s", arg_root ? arg_root : "/", err.msg);
	}
	if (arg_root && vk_check_host(v->cl, v->root, &v->rep, &err) < 0)
		return fail(NULL, "host checks: %s", err.msg);
	if (arg_standin || arg_fds) {
		r = arg_standin ? vk_check_fd_inventory(v->cl, v->inv, v->root, &v->rep, &err)
		                : vk_check_fds(v->cl, (pid_t)arg_pid, NULL, v->root, &v->rep, &err);
		if (r < 0)
			return fail(NULL, "FD checks: %s", err.msg);
	}
	return 0;
}

/* The report as the envelope's members; NULL when out of memory. */
static json_t *report_json(const struct validation *v, int status)
{
	char extra[256];

	snprintf(extra, sizeof(extra), "{\"qemu\":\"%s\"}", v->caps.label);
	_cleanup_free_ char *s = vk_report_json(&v->rep, extra);
	json_t *rep = s ? json_loads(s, 0, NULL) : NULL, *j = vk_cli_json_envelope(PROG, status, NULL);

	if (!rep || !j) {
		json_decref(rep);
		json_decref(j);
		return NULL;
	}
	json_object_update(j, rep);
	json_decref(rep);
	return j;
}

/* -q: the errors and warnings, not the infos (a view: the findings stay the report's). */
static int print_text(const struct validation *v, FILE *f, bool color)
{
	struct vk_report view = {0};
	int r;

	if (!arg_quiet)
		return vk_report_print(&v->rep, f, color);
	view.findings = calloc(v->rep.n ? v->rep.n : 1, sizeof(*view.findings));
	if (!view.findings)
		return -ENOMEM;
	for (size_t i = 0; i < v->rep.n; i++)
		if (v->rep.findings[i].severity != VK_SEV_INFO)
			view.findings[view.n++] = v->rep.findings[i];
	view.cap = view.n;
	r = vk_report_print(&view, f, color);
	free(view.findings);
	return r;
}

/* Phase 4: the report, on stdout (stderr for a stand-in) or --report FILE. */
static int report(const struct validation *v, int status)
{
	_cleanup_fclose_ FILE *rf = NULL;
	FILE *outf = arg_standin ? stderr : stdout;

	if (arg_report) {
		rf = fopen(arg_report, "we");
		if (!rf)
			return fail(NULL, "--report %s: %s", arg_report, strerror(errno));
		outf = rf;
	}
	if (arg_json) {
		json_t *j = report_json(v, status);
		int r = j ? vk_cli_json_print(j, outf) : -1;
		json_decref(j);
		if (r < 0)
			return fail(NULL, "%s", "out of memory");
		return 0;
	}
	if (print_text(v, outf, !rf && vk_cli_use_color(arg_color, outf)) == -ENOMEM)
		return fail(NULL, "%s", "out of memory");
	if (!v->rep.n && !arg_quiet && (!arg_standin || arg_report))
		fprintf(outf, "%s: no findings (checked against %s)\n", v->source, v->caps.label);
	return 0;
}

/* Phase 5, --then-exec: the real QEMU with our own arguments (argv[0] replaced).
 * Returns only on failure. */
static int then_exec(struct validation *v)
{
	size_t skip = v->cl->has_program ? 1 : 0, n = v->cl->argc - skip;
	char **nargv = calloc(n + 2, sizeof(char *));

	if (!nargv)
		return fail(NULL, "%s", "out of memory");
	nargv[0] = (char *)arg_then_exec;
	for (size_t i = 0; i < n; i++)
		nargv[i + 1] = v->cl->argv[i + skip];
	vk_root_close(v->root);
	v->root = NULL;
	fflush(NULL);
	/* Our own FDs are all close-on-exec; the inherited ones pass on unchanged. */
	execv(arg_then_exec, nargv);
	fprintf(stderr, PROG ": --then-exec %s: %s\n", arg_then_exec, strerror(errno));
	free(nargv);
	return VK_EXIT_USAGE;
}

static int run(int argc, char *argv[], const struct vk_fd_inventory *inv, const struct vk_error *inv_err)
{
	struct validation v = {.inv = inv};
	int r = parse_argv(argc, argv), status;

	if (r <= 0)
		return vk_cli_parse_exit(r);
	if (arg_standin && !inv)
		return fail(NULL, "--stand-in: cannot list the inherited FDs: %s", inv_err->msg);
	status = parse_input(&v);
	if (!status)
		status = load_caps(&v);
	if (!status)
		status = check(&v);
	if (!status) {
		int verdict = vk_report_count(&v.rep, VK_SEV_ERROR) ? VK_EXIT_FAIL : VK_EXIT_OK;
		status = report(&v, verdict);
		if (!status)
			status = verdict;
	}
	if (status == VK_EXIT_FAIL && arg_then_exec)
		fprintf(stderr, PROG ": not starting %s: the command line has errors\n", arg_then_exec);
	else if (status == VK_EXIT_OK && arg_then_exec)
		status = then_exec(&v);
	vk_root_close(v.root);
	vk_report_clear(&v.rep);
	vk_qc_cmdline_free(v.cl);
	vk_qdev_model_free(v.model);
	return status;
}

int main(int argc, char *argv[])
{
	/* A stand-in judges the FDs it inherited: list them before this process
	 * opens anything of its own (every FD opened later is O_CLOEXEC). */
	struct vk_fd_inventory inv = {0};
	struct vk_error inv_err = {0};
	int inv_r = vk_fd_inventory_take(0, NULL, &inv, &inv_err);
	int status = run(argc, argv, inv_r < 0 ? NULL : &inv, &inv_err);

	vk_fd_inventory_free(&inv);
	return status;
}
