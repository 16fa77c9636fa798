/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-doctor: is this host ready to pass PCI devices to a VM with VFIO? */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/doctor.h>
#include <vfiokit/doctor_export.h>
#include <vfiokit/root.h>

#include <cli_common.h>

enum { EXIT_ALL_PASS = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

enum format { FMT_TEXT, FMT_JSON, FMT_PROMETHEUS };

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: vfio-doctor [OPTIONS] [BDF...]\n"
	        "\n"
	        "Check the host for VFIO device assignment: IOMMU, interrupt remapping, modules,\n"
	        "iommufd, cdevs, no-IOMMU mode; for each device (default: all bound to vfio-pci)\n"
	        "its driver, IOMMU group, nodes and their access; the locked-memory limit; QEMU.\n"
	        "\n"
	        "Options:\n"
	        "  --root DIR        the host tree to check (default /; e.g. a fakesys tree)\n"
	        "  --user NAME|UID   the account QEMU runs as: can it open the device nodes?\n"
	        "  --memory SIZE     the VM's memory (16G, 512M), compared with RLIMIT_MEMLOCK\n"
	        "  --memlock SIZE    the QEMU user's RLIMIT_MEMLOCK (default: this process's; 'unlimited')\n"
	        "  --qemu BINARY     the QEMU to ask (default: the first qemu-system-* on PATH)\n"
	        "  --no-qemu         leave the QEMU check out\n"
	        "  --format FORMAT   text (default), json (docs/doctor-schema.json) or prometheus\n"
	        "                    (text exposition for node_exporter's textfile collector)\n"
	        "  --json            the same as --format=json\n"
	        "  --output FILE     write the report to FILE instead of standard output, atomically\n"
	        "                    (a temporary file beside it, renamed over it)\n"
	        "  -v, --verbose     also print the evidence (paths read, values seen; text only)\n"
	        "  --list-checks     print the checks (rule ids) and exit\n"
	        "  -h, --help        this text;  --version\n"
	        "\n"
	        "Colour only on a terminal and never with NO_COLOR set.\n"
	        "Exit status: 0 no check failed (warnings allowed), 1 a check failed, 2 usage error\n"
	        "or the report could not be made or written.  docs/fleet.md: many hosts.\n");
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
		fprintf(stderr, "vfio-doctor: %s %s: not a size (e.g. 16G, 512M, 1048576%s)\n", opt, val,
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
	static const char *const names[] = { [FMT_TEXT] = "text", [FMT_JSON] = "json", [FMT_PROMETHEUS] = "prometheus" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(val, names[i]) == 0) {
			*out = (enum format)i;
			return 0;
		}
	fprintf(stderr, "vfio-doctor: --format %s: expected text, json or prometheus\n", val);
	return -EINVAL;
}

/* The human report (what vk_doctor_print() writes, the evidence, the summary) as a string. */
static char *render_text(const struct vk_doctor_report *rep, bool verbose, bool color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	vk_doctor_print(rep, f, color);
	if (verbose)
		for (size_t i = 0; i < rep->n; i++)
			for (size_t k = 0; k < rep->checks[i].n_evidence; k++)
				fprintf(f, "evidence %s %s: %s\n", rep->checks[i].rule->id,
				        rep->checks[i].subject ? rep->checks[i].subject : "-", rep->checks[i].evidence[k]);
	fprintf(f, "%zu passed, %zu warning%s, %zu failed\n", vk_doctor_count(rep, VK_DOCTOR_PASS),
	        vk_doctor_count(rep, VK_DOCTOR_WARN), vk_doctor_count(rep, VK_DOCTOR_WARN) == 1 ? "" : "s",
	        vk_doctor_count(rep, VK_DOCTOR_FAIL));
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The report in @fmt, or NULL with the reason printed. */
static char *render(enum format fmt, const char *rootdir, const struct vk_doctor_options *o,
                    const struct vk_doctor_report *rep, struct vk_doctor_host *h, bool verbose, bool color)
{
	_cleanup_free_ char *extra = NULL, *js = NULL;
	struct vk_error err = { 0 };
	char *out = NULL;

	if (fmt == FMT_TEXT) {
		out = render_text(rep, verbose, color);
	} else if (vk_doctor_host_read(o, rep, h, &err) < 0) {
		fprintf(stderr, "vfio-doctor: %s\n", err.msg);
		return NULL;
	} else if (fmt == FMT_PROMETHEUS) {
		out = vk_doctor_prometheus(rep, h, VFIOKIT_VERSION);
	} else {
		extra = extra_json(rootdir, o->user, o, h);
		js = extra ? vk_doctor_json(rep, extra) : NULL;
		if (js && asprintf(&out, "%s\n", js) < 0)
			out = NULL;
	}
	if (!out)
		fprintf(stderr, "vfio-doctor: out of memory\n");
	return out;
}

int main(int argc, char **argv)
{
	enum { O_ROOT = 256, O_USER, O_MEMORY, O_MEMLOCK, O_QEMU, O_NOQEMU, O_JSON, O_FORMAT, O_OUTPUT, O_LIST,
	       O_VERSION };
	static const struct option lopts[] = {
		{ "root", required_argument, NULL, O_ROOT },
		{ "user", required_argument, NULL, O_USER },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "memlock", required_argument, NULL, O_MEMLOCK },
		{ "qemu", required_argument, NULL, O_QEMU },
		{ "no-qemu", no_argument, NULL, O_NOQEMU },
		{ "json", no_argument, NULL, O_JSON },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "list-checks", no_argument, NULL, O_LIST },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_free_ struct pci_addr *devs = NULL;
	_cleanup_free_ char *text = NULL;
	struct vk_doctor_options o = { 0 };
	struct vk_doctor_user user = { 0 };
	struct vk_doctor_report rep = { 0 };
	struct vk_doctor_host host = { 0 };
	struct vk_error err = { 0 };
	struct vk_root *root = NULL;
	const char *rootdir = "/", *username = NULL, *output = NULL;
	enum format fmt = FMT_TEXT, fmt_arg;
	bool verbose = false, json = false, format_given = false;
	int c, status = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "hv", lopts, NULL)) != -1) {
		switch (c) {
		case O_ROOT: rootdir = optarg; break;
		case O_USER: username = optarg; break;
		case O_MEMORY:
			if (size_arg("--memory", optarg, false, &o.memory) < 0)
				return EXIT_USAGE;
			break;
		case O_MEMLOCK:
			if (size_arg("--memlock", optarg, true, &o.memlock) < 0)
				return EXIT_USAGE;
			o.memlock_given = true;
			break;
		case O_QEMU: o.qemu = optarg; break;
		case O_NOQEMU: o.skip_qemu = true; break;
		case O_JSON: json = true; break;
		case O_FORMAT:
			if (format_arg(optarg, &fmt_arg) < 0)
				return EXIT_USAGE;
			if (format_given && fmt_arg != fmt) {
				fprintf(stderr, "vfio-doctor: --format given twice with different formats\n");
				return EXIT_USAGE;
			}
			fmt = fmt_arg;
			format_given = true;
			break;
		case O_OUTPUT:
			if (!*optarg) {
				fprintf(stderr, "vfio-doctor: --output: empty file name\n");
				return EXIT_USAGE;
			}
			output = optarg;
			break;
		case 'v': verbose = true; break;
		case O_LIST: list_checks(); return EXIT_ALL_PASS;
		case O_VERSION: printf("vfio-doctor %s\n", VFIOKIT_VERSION); return EXIT_ALL_PASS;
		case 'h': usage(stdout); return EXIT_ALL_PASS;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (json) {
		if (format_given && fmt != FMT_JSON) {
			fprintf(stderr, "vfio-doctor: --json and --format=%s exclude each other\n",
			        fmt == FMT_TEXT ? "text" : "prometheus");
			return EXIT_USAGE;
		}
		fmt = FMT_JSON;
	}
	if (o.qemu && o.skip_qemu) {
		fprintf(stderr, "vfio-doctor: --qemu and --no-qemu exclude each other\n");
		return EXIT_USAGE;
	}
	if (optind < argc) {
		devs = calloc((size_t)(argc - optind), sizeof(*devs));
		if (!devs)
			return EXIT_USAGE;
		for (int i = optind; i < argc; i++) {
			if (pci_addr_parse(argv[i], &devs[o.n_devices], &err) < 0) {
				fprintf(stderr, "vfio-doctor: %s: %s\n", argv[i], err.msg);
				return EXIT_USAGE;
			}
			o.n_devices++;
		}
		o.devices = devs;
	}
	if (username) {
		if (vk_doctor_user_resolve(username, &user, &err) < 0) {
			fprintf(stderr, "vfio-doctor: %s\n", err.msg);
			return EXIT_USAGE;
		}
		o.user = &user;
	}
	if (vk_root_open(rootdir, 0, &root, &err) < 0) {
		fprintf(stderr, "vfio-doctor: --root %s: %s\n", rootdir, err.msg);
		goto out;
	}
	o.root = root;
	/* the time the run started: what a collector compares with its own clock */
	clock_gettime(CLOCK_REALTIME, &host.time);
	if (vk_doctor_run(&o, &rep, &err) < 0) {
		fprintf(stderr, "vfio-doctor: %s\n", err.msg);
		goto out;
	}
	text = render(fmt, rootdir, &o, &rep, &host, verbose, !output && want_color(stdout));
	if (!text)
		goto out;
	if (output) {
		if (vk_doctor_write_atomic(output, text, strlen(text), &err) < 0) {
			fprintf(stderr, "vfio-doctor: --output %s\n", err.msg);
			goto out;
		}
	} else if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "vfio-doctor: writing the report: %s\n", strerror(errno));
		goto out;
	}
	status = vk_doctor_count(&rep, VK_DOCTOR_FAIL) ? EXIT_FAIL : EXIT_ALL_PASS;
out:
	vk_doctor_report_clear(&rep);
	vk_doctor_user_free(&user);
	vk_root_close(root);
	return status;
}
