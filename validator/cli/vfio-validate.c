/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-validate: check a QEMU command line for VFIO/iommufd mistakes. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/qdev_model.h>
#include <vfiokit/qemu_cmdline.h>
#include <vfiokit/root.h>
#include <vfiokit/validator.h>

#include <cli_common.h>

enum { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: vfio-validate [OPTIONS] -- QEMU-ARGS...\n"
	        "       vfio-validate [OPTIONS] --args-file FILE   (libvirt .args; '-' = stdin)\n"
	        "       vfio-validate [OPTIONS] --pid PID [--fds]  (a running QEMU, checked against its own binary)\n"
	        "       vfio-validate --stand-in [OPTIONS] [--report FILE] [--then-exec QEMU] -- [EMULATOR] QEMU-ARGS...\n"
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
	        "  --json              print the report as JSON\n"
	        "  --list-rules        print the rule catalogue\n"
	        "  -h, --help          this text;  --version\n"
	        "\n"
	        "Exit status: 0 no errors, 1 errors found, 2 usage error or unparsable input.\n");
}

static int print_parse_error(bool json, const char *source, const struct qc_pos *pos, const char *msg)
{
	if (json) {
		json_t *o = json_pack("{s:{s:s, s:s}}", "parse_error", "source", source, "message", msg);
		json_t *pe = json_object_get(o, "parse_error");
		json_object_set_new(pe, "argument", pos->argi >= 0 ? json_integer(pos->argi) : json_null());
		json_object_set_new(pe, "column", pos->col ? json_integer((json_int_t)pos->col) : json_null());
		json_object_set_new(pe, "line", pos->line ? json_integer(pos->line) : json_null());
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		json_decref(o);
	}
	fprintf(stderr, "vfio-validate: %s: cannot parse: %s\n", source, msg);
	return EXIT_USAGE;
}

static int main_inner(int argc, char **argv, const struct vk_fd_inventory *inv, const struct vk_error *inv_err);

static void print_rules(void)
{
	size_t n;
	const struct vk_rule *r = vk_rules(&n);
	for (size_t i = 0; i < n; i++)
		printf("%s  %-30s %-7s %s\n", r[i].id, r[i].name, vk_severity_name(r[i].severity), r[i].title);
}

int main(int argc, char **argv)
{
	/* A stand-in judges the FDs it inherited: list them before this process
	 * opens anything of its own (every FD opened later is O_CLOEXEC). */
	struct vk_fd_inventory inv = { 0 };
	struct vk_error inv_err = { 0 };
	int inv_r = vk_fd_inventory_take(0, NULL, &inv, &inv_err);
	int status = main_inner(argc, argv, inv_r < 0 ? NULL : &inv, &inv_err);
	vk_fd_inventory_free(&inv);
	return status;
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

/* The device types a command line uses, at most @max distinct ones (each costs one run of QEMU once). */
static size_t used_types(const struct qc_cmdline *cl, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cl->nopts && n < max; i++) {
		const struct qc_option *o = &cl->opts[i];
		const char *t = o->def && strcmp(o->def->name, "device") == 0 ? qc_option_type(o) : NULL;
		bool seen = false;
		for (size_t k = 0; t && k < n && !seen; k++)
			seen = strcmp(names[k], t) == 0;
		if (t && !seen)
			names[n++] = t;
	}
	return n;
}

/* --qemu BINARY: its capabilities and the device model of the types the command line uses. */
static int load_binary(const char *qemu, unsigned timeout_ms, const char *cache_dir, const struct qc_cmdline *cl,
                       struct qemu_caps *caps, struct qdev_model **model, struct vk_error *err)
{
	const char *names[64];
	size_t n = used_types(cl, names, VK_ARRAY_SIZE(names));
	struct qdev_probe_opts po = { .timeout_ms = timeout_ms, .cache_dir = cache_dir };
	int r = qdev_model_probe(qemu, n, names, &po, model, err);

	if (r < 0)
		return r;
	/* the label names the binary: "qemu-system-x86_64 7.2.22" */
	qemu_caps_from_model(*model, caps);
	const char *base = strrchr(qemu, '/');
	const char *ver = strrchr((*model)->label, ' ');
	snprintf(caps->label, sizeof(caps->label), "%.40s%.20s", base ? base + 1 : qemu, ver ? ver : "");
	return 0;
}

static int main_inner(int argc, char **argv, const struct vk_fd_inventory *inv, const struct vk_error *inv_err)
{
	_cleanup_fclose_ FILE *rf = NULL; /* before any goto out: the cleanup must see it initialised */
	enum { O_QV = 256, O_QEMU, O_ROOT, O_JSON, O_ARGS, O_PID, O_STANDIN, O_REPORT, O_EXEC, O_FDS, O_LIST,
	       O_VERSION, O_TIMEOUT, O_CACHE };
	static const struct option lopts[] = {
		{ "qemu-version", required_argument, NULL, O_QV },
		{ "qemu", required_argument, NULL, O_QEMU },
		{ "qemu-timeout", required_argument, NULL, O_TIMEOUT },
		{ "cache-dir", required_argument, NULL, O_CACHE },
		{ "root", required_argument, NULL, O_ROOT },
		{ "json", no_argument, NULL, O_JSON },
		{ "args-file", required_argument, NULL, O_ARGS },
		{ "pid", required_argument, NULL, O_PID },
		{ "stand-in", no_argument, NULL, O_STANDIN },
		{ "report", required_argument, NULL, O_REPORT },
		{ "then-exec", required_argument, NULL, O_EXEC },
		{ "fds", no_argument, NULL, O_FDS },
		{ "list-rules", no_argument, NULL, O_LIST },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *qv = NULL, *qemu = NULL, *rootdir = NULL, *argsfile = NULL, *report_path = NULL,
	           *then_exec = NULL, *cache_dir = NULL;
	unsigned timeout_ms = 0;
	bool json = false, standin = false, fds = false;
	long pid = 0;
	int c;

	while ((c = getopt_long(argc, argv, "+h", lopts, NULL)) != -1) {
		switch (c) {
		case O_QV: qv = optarg; break;
		case O_QEMU: qemu = optarg; break;
		case O_CACHE: cache_dir = optarg; break;
		case O_TIMEOUT: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v == 0 || v > 3600000) {
				fprintf(stderr, "vfio-validate: --qemu-timeout %s: not a number of milliseconds (1..3600000)\n", optarg);
				return EXIT_USAGE;
			}
			timeout_ms = (unsigned)v;
			break;
		}
		case O_ROOT: rootdir = optarg; break;
		case O_JSON: json = true; break;
		case O_ARGS: argsfile = optarg; break;
		case O_PID: {
			char *end;
			pid = strtol(optarg, &end, 10);
			if (*end || pid <= 0) {
				fprintf(stderr, "vfio-validate: --pid %s: not a process id\n", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case O_STANDIN: standin = true; break;
		case O_REPORT: report_path = optarg; break;
		case O_EXEC: then_exec = optarg; break;
		case O_FDS: fds = true; break;
		case O_LIST: print_rules(); return EXIT_CLEAN;
		case O_VERSION: printf("vfio-validate %s\n", VFIOKIT_VERSION); return EXIT_CLEAN;
		case 'h': usage(stdout); return EXIT_CLEAN;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	int nsrc = (argsfile != NULL) + (pid != 0) + (optind < argc);
	if (nsrc != 1 || (qv && qemu) || ((report_path || then_exec) && !standin) || (standin && (pid || argsfile)) ||
	    (fds && !pid)) {
		fprintf(stderr, "vfio-validate: give exactly one of --args-file, --pid or -- ARGS "
		                "(--report/--then-exec only with --stand-in and -- ARGS, --fds only with --pid)\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (standin && !inv) {
		fprintf(stderr, "vfio-validate: --stand-in: cannot list the inherited FDs: %s\n", inv_err->msg);
		return EXIT_USAGE;
	}

	struct vk_error err = { 0 };
	struct qc_pos pos = { -1, 0, 0 };
	struct qc_cmdline *cl = NULL;
	char source[64];
	int r;

	if (argsfile) {
		snprintf(source, sizeof(source), "%s", argsfile);
		r = qc_parse_args_file(argsfile, &cl, &pos, &err);
	} else if (pid) {
		snprintf(source, sizeof(source), "pid %ld", pid);
		r = qc_parse_pid(NULL, (pid_t)pid, &cl, &pos, &err);
	} else {
		snprintf(source, sizeof(source), "arguments");
		r = qc_parse_argv((size_t)(argc - optind), argv + optind, NULL, QC_ARGV_DETECT_PROGRAM, &cl, &pos,
		                  &err);
	}
	if (r < 0) {
		/* malformed, or past an input limit (docs/rules.md): both are the input's fault */
		if (r == -EINVAL || r == -E2BIG)
			return print_parse_error(json, source, &pos, err.msg);
		fprintf(stderr, "vfio-validate: %s\n", err.msg);
		return EXIT_USAGE;
	}

	/* --pid: the process' own binary, unless a version or a binary is named */
	char exe[4096];
	struct qemu_caps caps;
	struct qdev_model *model = NULL;
	r = -ENOENT;
	if (pid && !qemu && !qv && pid_binary((pid_t)pid, exe, sizeof(exe)) == 0) {
		r = load_binary(exe, timeout_ms, cache_dir, cl, &caps, &model, &err);
		/* a process that is not a QEMU we can ask (a wrapper, a test's stand-in) */
		if (r < 0)
			fprintf(stderr, "vfio-validate: pid %ld: %s; checking against the built-in table instead\n", pid,
			        err.msg);
	}
	if (r < 0)
		r = qemu ? load_binary(qemu, timeout_ms, cache_dir, cl, &caps, &model, &err)
		         : qemu_caps_builtin(qv, &caps, &err);
	if (r < 0) {
		fprintf(stderr, "vfio-validate: %s\n", err.msg);
		qc_cmdline_free(cl);
		return EXIT_USAGE;
	}

	struct vk_report rep = { 0 };
	struct vk_root *root = NULL;
	int status = EXIT_USAGE;
	FILE *outf = standin ? stderr : stdout;

	r = vk_check_cmdline(cl, &caps, &rep, &err);
	if (r < 0) {
		fprintf(stderr, "vfio-validate: %s\n", err.msg[0] ? err.msg : strerror(-r));
		goto out;
	}
	if (rootdir || standin || fds) {
		r = vk_root_open(rootdir ? rootdir : "/", 0, &root, &err);
		if (r < 0) {
			fprintf(stderr, "vfio-validate: --root %s: %s\n", rootdir ? rootdir : "/", err.msg);
			goto out;
		}
	}
	if (rootdir) {
		r = vk_check_host(cl, root, &rep, &err);
		if (r < 0) {
			fprintf(stderr, "vfio-validate: host checks: %s\n", err.msg);
			goto out;
		}
	}
	if (standin || fds) {
		r = standin ? vk_check_fd_inventory(cl, inv, root, &rep, &err)
		            : vk_check_fds(cl, (pid_t)pid, NULL, root, &rep, &err);
		if (r < 0) {
			fprintf(stderr, "vfio-validate: FD checks: %s\n", err.msg);
			goto out;
		}
	}

	if (report_path) {
		rf = fopen(report_path, "we");
		if (!rf) {
			fprintf(stderr, "vfio-validate: --report %s: %s\n", report_path, strerror(errno));
			goto out;
		}
		outf = rf;
	}
	if (json) {
		char extra[256];
		snprintf(extra, sizeof(extra), "{\"qemu\":\"%s\"}", caps.label);
		char *s = vk_report_json(&rep, extra);
		if (!s) {
			fprintf(stderr, "vfio-validate: out of memory\n");
			goto out;
		}
		fprintf(outf, "%s\n", s);
		free(s);
	} else {
		vk_report_print(&rep, outf, !rf && want_color(outf));
		if (!rep.n && (!standin || report_path))
			fprintf(outf, "%s: no findings (checked against %s)\n", source, caps.label);
	}
	if (rf) {
		fclose(rf);
		rf = NULL;
	}
	status = vk_report_count(&rep, VK_SEV_ERROR) ? EXIT_FINDINGS : EXIT_CLEAN;
	if (standin && then_exec) {
		if (status != EXIT_CLEAN) {
			fprintf(stderr, "vfio-validate: not starting %s: the command line has errors\n", then_exec);
			goto out;
		}
		/* Exec the real QEMU with our own arguments (argv[0] replaced). */
		size_t n = cl->argc - (cl->has_program ? 1 : 0);
		char **nargv = calloc(n + 2, sizeof(char *));
		if (!nargv)
			goto out;
		nargv[0] = (char *)then_exec;
		for (size_t i = 0; i < n; i++)
			nargv[i + 1] = cl->argv[i + (cl->has_program ? 1 : 0)];
		vk_root_close(root);
		root = NULL;
		fflush(NULL);
		/* Our own FDs are all close-on-exec; the inherited ones pass on unchanged. */
		execv(then_exec, nargv);
		fprintf(stderr, "vfio-validate: --then-exec %s: %s\n", then_exec, strerror(errno));
		free(nargv);
		status = EXIT_USAGE;
	}
out:
	vk_root_close(root);
	vk_report_clear(&rep);
	qc_cmdline_free(cl);
	qdev_model_free(model);
	return status;
}
