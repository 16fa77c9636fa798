/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-doctor: is this host ready to pass PCI devices to a VM with VFIO? */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/cleanup.h>
#include <vfiokit/doctor.h>
#include <vfiokit/root.h>

#include <cli_common.h>

enum { EXIT_ALL_PASS = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

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
	        "  --json            print every check as JSON (docs/doctor-schema.json)\n"
	        "  -v, --verbose     also print the evidence (paths read, values seen)\n"
	        "  --list-checks     print the checks (rule ids) and exit\n"
	        "  -h, --help        this text;  --version\n"
	        "\n"
	        "Colour only on a terminal and never with NO_COLOR set.\n"
	        "Exit status: 0 no check failed (warnings allowed), 1 a check failed, 2 usage error.\n");
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

static char *extra_json(const char *rootdir, const struct vk_doctor_user *user, const struct vk_doctor_options *o)
{
	json_t *x = json_object();
	char *s;

	json_object_set_new(x, "version", json_string(VFIOKIT_VERSION));
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

int main(int argc, char **argv)
{
	enum { O_ROOT = 256, O_USER, O_MEMORY, O_MEMLOCK, O_QEMU, O_NOQEMU, O_JSON, O_LIST, O_VERSION };
	static const struct option lopts[] = {
		{ "root", required_argument, NULL, O_ROOT },
		{ "user", required_argument, NULL, O_USER },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "memlock", required_argument, NULL, O_MEMLOCK },
		{ "qemu", required_argument, NULL, O_QEMU },
		{ "no-qemu", no_argument, NULL, O_NOQEMU },
		{ "json", no_argument, NULL, O_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "list-checks", no_argument, NULL, O_LIST },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_free_ struct pci_addr *devs = NULL;
	_cleanup_free_ char *extra = NULL, *js = NULL;
	struct vk_doctor_options o = { 0 };
	struct vk_doctor_user user = { 0 };
	struct vk_doctor_report rep = { 0 };
	struct vk_error err = { 0 };
	struct vk_root *root = NULL;
	const char *rootdir = "/", *username = NULL;
	bool json = false, verbose = false;
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
		case 'v': verbose = true; break;
		case O_LIST: list_checks(); return EXIT_ALL_PASS;
		case O_VERSION: printf("vfio-doctor %s\n", VFIOKIT_VERSION); return EXIT_ALL_PASS;
		case 'h': usage(stdout); return EXIT_ALL_PASS;
		default: usage(stderr); return EXIT_USAGE;
		}
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
	if (vk_doctor_run(&o, &rep, &err) < 0) {
		fprintf(stderr, "vfio-doctor: %s\n", err.msg);
		goto out;
	}
	if (json) {
		extra = extra_json(rootdir, o.user, &o);
		js = vk_doctor_json(&rep, extra);
		if (!js) {
			fprintf(stderr, "vfio-doctor: out of memory\n");
			goto out;
		}
		printf("%s\n", js);
	} else {
		vk_doctor_print(&rep, stdout, want_color(stdout));
		if (verbose)
			for (size_t i = 0; i < rep.n; i++)
				for (size_t k = 0; k < rep.checks[i].n_evidence; k++)
					printf("evidence %s %s: %s\n", rep.checks[i].rule->id,
					       rep.checks[i].subject ? rep.checks[i].subject : "-", rep.checks[i].evidence[k]);
		printf("%zu passed, %zu warning%s, %zu failed\n", vk_doctor_count(&rep, VK_DOCTOR_PASS),
		       vk_doctor_count(&rep, VK_DOCTOR_WARN), vk_doctor_count(&rep, VK_DOCTOR_WARN) == 1 ? "" : "s",
		       vk_doctor_count(&rep, VK_DOCTOR_FAIL));
	}
	if (fflush(stdout) != 0) {
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
