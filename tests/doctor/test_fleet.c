/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-doctor past one machine: --format=prometheus (every check and fact,
 * against the JSON of the same run and the tree; promtool accepts it; label
 * escaping; repeated checks), --output (atomic: vk_doctor_write_atomic()),
 * the JSON's hostname, kernel and time (and the schema), and the jq
 * aggregation of docs/fleet.md over reports of several hosts. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/doctor.h>
#include <vfiokit/doctor_export.h>

#include "doctorutil.h"
#include "expo.h"
#include "testutil.h"

static char out[262144], errb[65536];
static char offd[1024], def[1024], third[1024], tmp[1024];

static void teardown(void)
{
	char *dirs[] = {offd, def, third, tmp};
	for (size_t i = 0; i < 4; i++)
		if (dirs[i][0])
			vk_rm_rf(dirs[i]);
	offd[0] = def[0] = third[0] = tmp[0] = '\0';
}

TestSuite(fleet, .fini = teardown);

/* scenarios/@name materialized into @dir. */
static void materialize(const char *name, char *dir, size_t len)
{
	char p[1024];
	cr_assert_eq(vk_materialize(vk_scenario_path(name, p, sizeof(p)), dir, len), 0, "%s", name);
}

/* Write @text as @dir/@rel (made with its directories). */
static void put(const char *dir, const char *rel, const char *text)
{
	char p[2048];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	for (char *s = strchr(p + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* The first line of @dir/@rel, "" when there is none. */
static const char *first_line(const char *dir, const char *rel, char *buf, size_t len)
{
	char p[2048];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (vk_read_file(p, buf, len) < 0)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* Devices bound to vfio-pci in a tree, counted here from its driver directory. */
static size_t vfio_bound(const char *dir)
{
	char p[2048];
	size_t n = 0;
	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/vfio-pci", dir);
	DIR *d = opendir(p);
	for (struct dirent *de; d && (de = readdir(d));) {
		unsigned a, b, c, f;
		char end;
		n += sscanf(de->d_name, "%x:%x:%x.%x%c", &a, &b, &c, &f, &end) == 4;
	}
	if (d)
		closedir(d);
	return n;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void parse(const char *text, struct expo *e)
{
	char why[512];
	cr_assert(expo_parse(text, true, e, why, sizeof(why)), "not valid exposition: %s\n%s", why, text);
}

static const char *const st_lower[] = {"pass", "warn", "fail", "skip"};

/* The Prometheus output of a run and the JSON of the same run agree check by
 * check, and the facts agree with the tree. */
static void check_against_json(const char *dir, const char *prom, const char *js, int rc, double t0, double t1)
{
	struct expo e;
	json_error_t je;
	json_t *j = json_loads(js, 0, &je), *c;
	char labels[1024], ver[256], rel[256];
	size_t i, fails = 0;

	cr_assert_not_null(j, "%s", je.text);
	parse(prom, &e);
	for (size_t k = 0; k < e.n_type; k++)
		cr_assert_str_eq(e.kind[k], "gauge", "%s is a %s", e.type[k], e.kind[k]);
	json_t *checks = json_object_get(j, "checks");
	cr_assert_eq(expo_count(&e, "vfiokit_doctor_check_status"), 4 * json_array_size(checks));
	json_array_foreach(checks, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "id"));
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *st = json_string_value(json_object_get(c, "status"));
		json_t *subj = json_object_get(c, "subject");
		for (int s = 0; s < 4; s++) {
			snprintf(labels, sizeof(labels), "check=%s,device=%s,name=%s,status=%s", id,
			         json_is_string(subj) ? json_string_value(subj) : "", name, st_lower[s]);
			const char *v = expo_get(&e, "vfiokit_doctor_check_status", labels);
			cr_assert_not_null(v, "no series {%s}\n%s", labels, prom);
			bool is = !strcasecmp(st, st_lower[s]);
			cr_assert_str_eq(v, is ? "1" : "0", "{%s} = %s for a %s check", labels, v, st);
		}
		fails += !strcmp(st, "FAIL");
	}
	json_t *sum = json_object_get(j, "summary");
	static const char *const key[] = {"pass", "warn", "fail", "skip"};
	for (int s = 0; s < 4; s++) {
		snprintf(labels, sizeof(labels), "status=%s", st_lower[s]);
		const char *v = expo_get(&e, "vfiokit_doctor_checks", labels);
		cr_assert_not_null(v);
		cr_assert_eq(atoll(v), json_integer_value(json_object_get(sum, key[s])), "%s: %s", labels, v);
	}
	cr_assert_eq(rc, fails ? 1 : 0);
	/* the facts: what VD001 says, the tree's vfio-pci directory, the tree's kernel release */
	const json_t *vd001 = json_array_get(checks, 0);
	cr_assert_str_eq(json_string_value(json_object_get(vd001, "id")), "VD001");
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_iommu_enabled", ""),
	                 strcmp(json_string_value(json_object_get(vd001, "status")), "PASS") ? "0" : "1");
	char n[32];
	snprintf(n, sizeof(n), "%zu", vfio_bound(dir));
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_vfio_devices", ""), n);
	cr_assert_eq(dt_run(ver, sizeof(ver), errb, sizeof(errb), "--version", NULL), 0);
	ver[strcspn(ver, "\n")] = '\0';
	snprintf(labels, sizeof(labels), "kernel=%s,version=%s", first_line(dir, "proc/sys/kernel/osrelease", rel, sizeof(rel)),
	         ver + strlen("vfio-doctor (vfiokit) "));
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_info", labels) ?: "(none)", "1", "{%s}\n%s", labels, prom);
	double ts = atof(expo_get(&e, "vfiokit_doctor_last_run_timestamp_seconds", "") ?: "0");
	cr_assert(ts >= t0 - 0.001 && ts <= t1, "timestamp %.3f not within the run [%.3f, %.3f]", ts, t0, t1);
	json_decref(j);
	expo_free(&e);
}

Test(fleet, prometheus_of_a_failing_and_a_healthy_host)
{
	static char prom[262144];
	struct {
		char *dir;
		const char *scen;
		int rc;
	} host[] = {{offd, "doctor-iommu-off.yaml", 1}, {def, "default.yaml", 0}};

	for (size_t h = 0; h < 2; h++) {
		materialize(host[h].scen, host[h].dir, sizeof(offd));
		double t0 = now();
		int rc = dt_run(prom, sizeof(prom), errb, sizeof(errb), "--format=prometheus", "--root", host[h].dir, "--no-qemu",
		                "--memlock", "unlimited", h == 0 ? "0000:01:00.0" : NULL, NULL);
		double t1 = now();
		cr_assert_eq(rc, host[h].rc, "%s: %d %s", host[h].scen, rc, errb);
		int rj = dt_run(out, sizeof(out), errb, sizeof(errb), "--format", "json", "--root", host[h].dir, "--no-qemu",
		                "--memlock", "unlimited", h == 0 ? "0000:01:00.0" : NULL, NULL);
		cr_assert_eq(rj, rc);
		check_against_json(host[h].dir, prom, out, rc, t0, t1);
		cr_assert(strstr(prom, "\nvfiokit_doctor_memlock_limit_bytes +Inf\n"), "%s", prom);
	}
	/* the failing host: the IOMMU check fails, the GPU is on no driver */
	cr_assert(strstr(prom, "vfiokit_doctor_checks{status=\"fail\"} 0\n"), "the healthy host fails nothing: %s", prom);
	dt_run(prom, sizeof(prom), errb, sizeof(errb), "--format=prometheus", "--root", offd, "--no-qemu", "--memlock", "16G",
	       "0000:01:00.0", NULL);
	cr_assert(strstr(prom, "\nvfiokit_doctor_check_status{check=\"VD001\",name=\"platform.iommu\",device=\"\",status=\"fail\"} 1\n"), "%s", prom);
	cr_assert(strstr(prom, "\nvfiokit_doctor_check_status{check=\"VD102\",name=\"device.driver\",device=\"0000:01:00.0\",status=\"fail\"} 1\n"),
	          "%s", prom);
	cr_assert(strstr(prom, "\nvfiokit_doctor_memlock_limit_bytes 17179869184\n"), "%s", prom);
	/* another user's limit cannot be read: no guessed value */
	dt_run(prom, sizeof(prom), errb, sizeof(errb), "--format=prometheus", "--root", offd, "--no-qemu", "--user",
	       geteuid() == 4242 ? "4243" : "4242", NULL);
	cr_assert_null(strstr(prom, "vfiokit_doctor_memlock_limit_bytes"), "%s", prom);
}

/* `promtool check metrics` (Debian's prometheus package) on @file: no error, no lint warning. */
static void promtool_accepts(const char *file)
{
	char cmd[2200];
	snprintf(cmd, sizeof(cmd), "command -v promtool >/dev/null || exit 127; promtool check metrics < '%s'", file);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	int rc = vk_run(argv, out, sizeof(out), errb, sizeof(errb));
	if (rc == 127)
		cr_skip_test("promtool is not installed (apt-get install prometheus)");
	cr_assert_eq(rc, 0, "promtool check metrics %s: %d\n%s%s", file, rc, out, errb);
	cr_assert_str_eq(out, "", "%s", out);
	cr_assert_str_eq(errb, "", "%s", errb);
}

Test(fleet, promtool_accepts_the_output)
{
	char file[1100];

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	materialize("doctor-iommu-off.yaml", offd, sizeof(offd));
	materialize("default.yaml", def, sizeof(def));
	snprintf(file, sizeof(file), "%s/off.prom", tmp);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--format=prometheus", "--output", file, "--root", offd,
	                    "0000:01:00.0", "--no-qemu", NULL),
	             1, "%s", errb);
	promtool_accepts(file);
	snprintf(file, sizeof(file), "%s/default.prom", tmp);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--format=prometheus", "--output", file, "--root", def,
	                    "--no-qemu", "--memlock", "unlimited", NULL),
	             0, "%s", errb);
	promtool_accepts(file);
	/* another host's tree with nothing stated: VD201 and VD301 not checked
	 * (issue #19), a fourth status of every check, and no guessed limit */
	snprintf(file, sizeof(file), "%s/skip.prom", tmp);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--format=prometheus", "--output", file, "--root", def, NULL),
	             0, "%s", errb);
	promtool_accepts(file);
	static char prom[262144], js[262144];
	cr_assert_gt(vk_read_file(file, prom, sizeof(prom)), 0);
	cr_assert(strstr(prom, "\nvfiokit_doctor_checks{status=\"skip\"} 2\n"), "%s", prom);
	cr_assert(strstr(prom, "\nvfiokit_doctor_check_status{check=\"VD301\",name=\"qemu.iommufd\",device=\"\",status=\"skip\"} 1\n"),
	          "%s", prom);
	cr_assert_null(strstr(prom, "vfiokit_doctor_memlock_limit_bytes"), "%s", prom);
	double t0 = now();
	cr_assert_eq(dt_run(prom, sizeof(prom), errb, sizeof(errb), "--format=prometheus", "--root", def, NULL), 0, "%s", errb);
	double t1 = now();
	cr_assert_eq(dt_run(js, sizeof(js), errb, sizeof(errb), "--json", "--root", def, NULL), 0, "%s", errb);
	check_against_json(def, prom, js, 0, t0, t1);
	/* a promtool that can fail: a counter without _total is a lint problem */
	put(tmp, "lint.prom", "# HELP x_requests Requests.\n# TYPE x_requests counter\nx_requests 1\n");
	snprintf(file, sizeof(file), "%s/lint.prom", tmp);
	char cmd[2200];
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", file);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	cr_assert_neq(vk_run(argv, out, sizeof(out), errb, sizeof(errb)), 0, "promtool lints counters");
}

/* A report and facts with every kind of awkward text, in-process. */
Test(fleet, label_values_are_escaped_and_series_never_repeat)
{
	struct vk_doctor_report rep = {0};
	struct vk_doctor_host h = {.iommu = -1, .iommufd = 0, .cdev = -1, .vfio_devices = 3, .memlock_known = false, .time = {1700000000, 5000000}};
	static const char subj[] = "0000:01:00.0\"} 1\nevil 1\\ \xff \xc3\xa9 \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80";
	/* \" and \\ and \n escaped; \xff, a bad continuation, a surrogate and
	 * past U+10FFFF replaced; U+00E9 kept */
	static const char want[] = "device=\"0000:01:00.0\\\"} 1\\nevil 1\\\\ ? \xc3\xa9 ?( ??? ????\"";

	cr_assert_eq(vk_doctor_add(&rep, "VD101", VK_DOCTOR_FAIL, subj, NULL, "x"), 0);
	cr_assert_eq(vk_doctor_add(&rep, "VD101", VK_DOCTOR_PASS, "0000:02:00.0", NULL, "y"), 0);
	cr_assert_eq(vk_doctor_add(&rep, "VD101", VK_DOCTOR_PASS, subj, NULL, "the same device named twice"), 0);
	cr_assert_eq(vk_doctor_add(&rep, "VD007", VK_DOCTOR_WARN, NULL, NULL, "z"), 0);
	cr_assert_eq(vk_doctor_add(&rep, "VD007", VK_DOCTOR_PASS, NULL, NULL, "again"), 0);
	snprintf(h.kernel, sizeof(h.kernel), "6.8\"x\\y\nz");
	char *p = vk_doctor_prometheus(&rep, &h, "0.1.0");
	cr_assert_not_null(p);
	cr_assert(strstr(p, want), "%s", p);
	cr_assert(strstr(p, "vfiokit_doctor_info{version=\"0.1.0\",kernel=\"6.8\\\"x\\\\y\\nz\"} 1\n"), "%s", p);
	/* the first of a repeated check counts, once */
	struct expo e;
	parse(p, &e);
	cr_assert_eq(expo_count(&e, "vfiokit_doctor_check_status"), 3 * 4, "%s", p);
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_check_status", "check=VD007,device=,name=platform.noiommu,status=warn"), "1");
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_checks", "status=pass"), "1");
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_checks", "status=warn"), "1");
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_checks", "status=fail"), "1");
	/* unknown facts are left out, known ones kept */
	cr_assert_eq(expo_count(&e, "vfiokit_doctor_iommu_enabled"), 0);
	cr_assert_eq(expo_count(&e, "vfiokit_doctor_vfio_device_cdev_supported"), 0);
	cr_assert_eq(expo_count(&e, "vfiokit_doctor_memlock_limit_bytes"), 0);
	cr_assert_null(strstr(p, "# HELP vfiokit_doctor_iommu_enabled"), "no family without samples");
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_iommufd_supported", ""), "0");
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_vfio_devices", ""), "3");
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_last_run_timestamp_seconds", ""), "1700000000.005");
	expo_free(&e);
	/* and the real parser takes it */
	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	put(tmp, "esc.prom", p);
	char file[1100];
	snprintf(file, sizeof(file), "%s/esc.prom", tmp);
	promtool_accepts(file);
	free(p);
	/* no kernel release: no kernel label; an empty report is still valid */
	h.kernel[0] = '\0';
	vk_doctor_report_clear(&rep);
	p = vk_doctor_prometheus(&rep, &h, "0.1.0");
	cr_assert_not_null(p);
	cr_assert(strstr(p, "\nvfiokit_doctor_info{version=\"0.1.0\"} 1\n"), "%s", p);
	cr_assert(strstr(p, "\nvfiokit_doctor_checks{status=\"fail\"} 0\n"), "%s", p);
	parse(p, &e);
	expo_free(&e);
	free(p);
}

/* The names in @dir, joined by spaces. */
static const char *listing(const char *dir, char *buf, size_t len)
{
	size_t n, off = 0;
	char **v = vk_dir_names(dir, &n);
	cr_assert_not_null(v);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s", i ? " " : "", v[i]);
	vk_names_free(v, n);
	return buf;
}

Test(fleet, write_atomic)
{
	char p[1100], q[1100], l[4096], buf[256];
	struct vk_error err = {0};
	struct stat st;
	int fds = vk_fd_count();
	mode_t old = umask(077); /* the file is for another user whatever the umask */

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(p, sizeof(p), "%s/a.prom", tmp);
	cr_assert_eq(vk_doctor_write_atomic(p, "x\n", 2, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644, "%o", st.st_mode & 07777);
	cr_assert_str_eq(listing(tmp, l, sizeof(l)), "a.prom");
	/* replaced, never rewritten: a reader of the old file keeps the old content */
	int rfd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(rfd, 0);
	cr_assert_eq(vk_doctor_write_atomic(p, "yy\n", 3, &err), 0, "%s", err.msg);
	cr_assert_eq(read(rfd, buf, sizeof(buf)), 2);
	close(rfd);
	cr_assert_eq(vk_read_file(p, buf, sizeof(buf)), 3);
	cr_assert_str_eq(buf, "yy\n");
	cr_assert_str_eq(listing(tmp, l, sizeof(l)), "a.prom");
	/* a symlink is replaced by the file, its target untouched */
	put(tmp, "target", "keep\n");
	snprintf(q, sizeof(q), "%s/link.prom", tmp);
	cr_assert_eq(symlink("target", q), 0);
	cr_assert_eq(vk_doctor_write_atomic(q, "new\n", 4, &err), 0, "%s", err.msg);
	cr_assert_eq(lstat(q, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_str_eq(first_line(tmp, "target", buf, sizeof(buf)), "keep");
	/* a name without a directory: the current one */
	char cwd[4096];
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(tmp), 0);
	int r = vk_doctor_write_atomic("rel.prom", "r\n", 2, &err);
	cr_assert_eq(chdir(cwd), 0);
	cr_assert_eq(r, 0, "%s", err.msg);
	cr_assert_str_eq(first_line(tmp, "rel.prom", buf, sizeof(buf)), "r");
	/* errors: nothing left behind, the message names the path */
	snprintf(q, sizeof(q), "%s/missing/x.prom", tmp);
	cr_assert_eq(vk_doctor_write_atomic(q, "z", 1, &err), -ENOENT);
	cr_assert(strstr(err.msg, q) && strstr(err.msg, "cannot create a temporary file"), "%s", err.msg);
	snprintf(q, sizeof(q), "%s/sub", tmp);
	cr_assert_eq(mkdir(q, 0755), 0);
	cr_assert_eq(vk_doctor_write_atomic(q, "z", 1, &err), -EISDIR);
	cr_assert(strstr(err.msg, "rename of the temporary file"), "%s", err.msg);
	snprintf(q, sizeof(q), "%s/sub/", tmp);
	cr_assert_eq(vk_doctor_write_atomic(q, "z", 1, &err), -EISDIR);
	cr_assert(strstr(err.msg, "names a directory"), "%s", err.msg);
	snprintf(q, sizeof(q), "%s/a.prom/x", tmp);
	cr_assert_eq(vk_doctor_write_atomic(q, "z", 1, &err), -ENOTDIR);
	cr_assert_str_eq(listing(tmp, l, sizeof(l)), "a.prom link.prom rel.prom sub target");
	cr_assert_str_eq(first_line(tmp, "a.prom", buf, sizeof(buf)), "yy");
	umask(old);
	cr_assert_eq(vk_fd_count(), fds, "an FD left open");
}

Test(fleet, output_option_and_usage)
{
	char f[1100], l[4096];
	static char direct[262144], filed[262144];

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	materialize("doctor-iommu-off.yaml", offd, sizeof(offd));
	snprintf(f, sizeof(f), "%s/vfio-doctor.prom", tmp);
	/* the file holds what stdout would, but for the time of the run */
	cr_assert_eq(dt_run(direct, sizeof(direct), errb, sizeof(errb), "--format=prometheus", "--root", offd, "--no-qemu", NULL), 1);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--format=prometheus", "--output", f, "--root", offd,
	                    "--no-qemu", NULL),
	             1, "%s", errb);
	cr_assert_str_eq(out, "", "nothing on stdout with --output");
	cr_assert_geq(vk_read_file(f, filed, sizeof(filed)), 0);
	*strstr(direct, "\nvfiokit_doctor_last_run_timestamp_seconds ") = '\0';
	*strstr(filed, "\nvfiokit_doctor_last_run_timestamp_seconds ") = '\0';
	cr_assert_str_eq(filed, direct);
	/* JSON and text too; no colour in a file */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--json", "--output", f, "--root", offd, "--no-qemu", NULL), 1);
	cr_assert_geq(vk_read_file(f, filed, sizeof(filed)), 0);
	json_t *j = json_loads(filed, 0, NULL);
	cr_assert_not_null(j, "%s", filed);
	json_decref(j);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--output", f, "--root", offd, "--no-qemu", NULL), 1);
	cr_assert_geq(vk_read_file(f, filed, sizeof(filed)), 0);
	cr_assert(strstr(filed, "Checking for an IOMMU") && strstr(filed, " failed, 1 not checked\n") && !strchr(filed, '\033'), "%s", filed);
	/* a run that fails leaves the last file as it was */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--format=prometheus", "--output", f, "--root",
	                    "/nonexistent-vfiokit-root", NULL),
	             2);
	cr_assert_geq(vk_read_file(f, direct, sizeof(direct)), 0);
	cr_assert_str_eq(direct, filed);
	cr_assert_str_eq(listing(tmp, l, sizeof(l)), "vfio-doctor.prom");
	/* a file that cannot be written */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--format=prometheus", "--output",
	                    "/nonexistent-vfiokit-dir/x.prom", "--root", offd, "--no-qemu", NULL),
	             2);
	cr_assert(strstr(errb, "vfio-doctor: --output /nonexistent-vfiokit-dir/x.prom: cannot create a temporary file"), "%s", errb);
	/* usage */
	static const struct {
		const char *a, *b, *msg;
	} bad[] = {
		{"--format=xml", NULL, "expected text, json or prometheus"},
		{"--json", "--format=prometheus", "--json and --format=prometheus exclude each other"},
		{"--format=json", "--format=text", "--format given twice"},
		{"--output=", NULL, "--output: empty file name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--root", offd, "--no-qemu", bad[i].a, bad[i].b, NULL), 2,
		             "%s %s", bad[i].a, bad[i].b ? bad[i].b : "");
		cr_assert(strstr(errb, bad[i].msg), "%s: %s", bad[i].a, errb);
	}
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--root", offd, "--no-qemu", "--json", "--format=json", NULL), 1,
	             "the same format twice is fine: %s", errb);
}

/* "2025-01-31T12:00:00Z" into seconds; -1 when it is not that shape. */
static double rfc3339(const char *s)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	return end && !*end && strlen(s) == 20 ? (double)timegm(&tm) : -1;
}

/* Validate @text against docs/schemas/vfio-doctor.schema.json with Debian's python3-jsonschema. */
static void schema_valid(const char *text)
{
	char path[1100], schema[1100];
	snprintf(path, sizeof(path), "%s/r.json", tmp);
	put(tmp, "r.json", text);
	snprintf(schema, sizeof(schema), "%s/docs/schemas/vfio-doctor.schema.json", vk_source_dir());
	static const char py[] = "import json,sys\n"
				 "try:\n import jsonschema\nexcept ImportError:\n sys.exit(77)\n"
				 "s=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2]))\n"
				 "jsonschema.Draft202012Validator.check_schema(s)\n"
				 "jsonschema.Draft202012Validator(s).validate(d)\n";
	char *argv[] = {"/usr/bin/python3", "-I", "-c", (char *)py, schema, path, NULL};
	int rc = vk_run(argv, out, sizeof(out), errb, sizeof(errb));
	if (rc == 77 || rc == 127 || rc < 0)
		cr_skip_test("python3-jsonschema is not installed for /usr/bin/python3 (apt-get install python3-jsonschema)");
	cr_assert_eq(rc, 0, "schema: %s%s\n%s", out, errb, text);
}

Test(fleet, json_names_its_host_kernel_and_time)
{
	static char js[262144];
	char buf[256];
	json_t *j;

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	materialize("doctor-iommu-off.yaml", offd, sizeof(offd));
	/* a fakesys tree has no hostname: null; its own kernel release */
	double t0 = now();
	cr_assert_eq(dt_run(js, sizeof(js), errb, sizeof(errb), "--json", "--root", offd, "--no-qemu", NULL), 1);
	double t1 = now();
	j = json_loads(js, 0, NULL);
	cr_assert_not_null(j);
	cr_assert(json_is_null(json_object_get(j, "hostname")), "%s", js);
	cr_assert_str_eq(json_string_value(json_object_get(j, "kernel")), first_line(offd, "proc/sys/kernel/osrelease", buf, sizeof(buf)));
	double t = rfc3339(json_string_value(json_object_get(j, "time")));
	cr_assert(t >= (double)(long long)t0 && t <= t1, "time %s not within the run", json_string_value(json_object_get(j, "time")));
	json_decref(j);
	schema_valid(js);
	/* a tree with a host name: its first line; one without a release: null */
	put(offd, "proc/sys/kernel/hostname", "hv-07\nsecond line\n");
	char rel[1100];
	snprintf(rel, sizeof(rel), "%s/proc/sys/kernel/osrelease", offd);
	cr_assert_eq(unlink(rel), 0);
	cr_assert_eq(dt_run(js, sizeof(js), errb, sizeof(errb), "--json", "--root", offd, "--no-qemu", NULL), 1);
	j = json_loads(js, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(j, "hostname")), "hv-07");
	cr_assert(json_is_null(json_object_get(j, "kernel")), "%s", js);
	json_decref(j);
	schema_valid(js);
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--format=prometheus", "--root", offd, "--no-qemu", NULL), 1);
	cr_assert(strstr(out, "\nvfiokit_doctor_info{version=\"") && strstr(strstr(out, "\nvfiokit_doctor_info{"), "\"} 1\n") &&
	                  !strstr(out, "kernel=\""),
	          "%s", out);
	/* the real host: its name and release */
	struct utsname u;
	char host[256];
	cr_assert_eq(uname(&u), 0);
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	int rc = dt_run(js, sizeof(js), errb, sizeof(errb), "--json", "--no-qemu", NULL);
	cr_assert(rc == 0 || rc == 1, "%s", errb);
	j = json_loads(js, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(j, "hostname")), host);
	cr_assert_str_eq(json_string_value(json_object_get(j, "kernel")), u.release);
	json_decref(j);
	schema_valid(js);
}

static int where_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* What contrib/fleet/doctor-failures.jq must print for @files, computed here:
 * per failing rule id (sorted), "ID NAME: where, where" with where "host" or
 * "host (device)", sorted and unique. */
static void expected_failures(char **files, size_t n, char *buf, size_t len)
{
	struct {
		char id[8], name[64], where[16][256];
		size_t n;
	} f[32];
	size_t nf = 0, off = 0;

	for (size_t i = 0; i < n; i++) {
		json_t *j = json_load_file(files[i], 0, NULL), *c;
		size_t k;
		cr_assert_not_null(j);
		json_t *hn = json_object_get(j, "hostname");
		const char *host = json_is_string(hn) ? json_string_value(hn) : json_string_value(json_object_get(j, "root"));
		json_array_foreach(json_object_get(j, "checks"), k, c)
		{
			if (strcmp(json_string_value(json_object_get(c, "status")), "FAIL"))
				continue;
			const char *id = json_string_value(json_object_get(c, "id"));
			size_t x = 0;
			while (x < nf && strcmp(f[x].id, id))
				x++;
			if (x == nf) {
				cr_assert_lt(nf, 32);
				snprintf(f[nf].id, sizeof(f[nf].id), "%s", id);
				snprintf(f[nf].name, sizeof(f[nf].name), "%s", json_string_value(json_object_get(c, "name")));
				f[nf++].n = 0;
			}
			json_t *s = json_object_get(c, "subject");
			char w[256];
			if (json_is_string(s))
				snprintf(w, sizeof(w), "%s (%s)", host, json_string_value(s));
			else
				snprintf(w, sizeof(w), "%s", host);
			bool dup = false;
			for (size_t y = 0; y < f[x].n; y++)
				dup |= !strcmp(f[x].where[y], w);
			if (!dup) {
				cr_assert_lt(f[x].n, 16);
				snprintf(f[x].where[f[x].n++], 256, "%s", w);
			}
		}
		json_decref(j);
	}
	for (size_t a = 0; a < nf; a++) /* by id, then each list sorted */
		for (size_t b = a + 1; b < nf; b++)
			if (strcmp(f[b].id, f[a].id) < 0) {
				__typeof__(f[0]) t = f[a];
				f[a] = f[b];
				f[b] = t;
			}
	buf[0] = '\0';
	for (size_t a = 0; a < nf; a++) {
		qsort(f[a].where, f[a].n, sizeof(f[a].where[0]), where_cmp);
		off += (size_t)snprintf(buf + off, len - off, "%s %s: ", f[a].id, f[a].name);
		for (size_t y = 0; y < f[a].n; y++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", y ? ", " : "", f[a].where[y]);
		off += (size_t)snprintf(buf + off, len - off, "\n");
	}
}

Test(fleet, jq_recipe_names_the_hosts_failing_each_check)
{
	char files[3][1100], *fv[3], jq[1100];
	static char expect[65536], js[262144];

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	materialize("doctor-iommu-off.yaml", offd, sizeof(offd));
	materialize("default.yaml", def, sizeof(def));
	put(offd, "proc/sys/kernel/hostname", "hv-a\n");
	put(def, "proc/sys/kernel/hostname", "hv-b\n");
	/* the same VM size everywhere: 1 GiB of memlock is too little for 64 GiB */
	const char *roots[3] = {offd, def, NULL};
	materialize("default.yaml", third, sizeof(third)); /* no host name: named by its root */
	roots[2] = third;
	for (int i = 0; i < 3; i++) {
		int rc = dt_run(js, sizeof(js), errb, sizeof(errb), "--json", "--root", roots[i], "--no-qemu", "--memory", "64G",
		                "--memlock", "1G", i == 0 ? "0000:01:00.0" : NULL, NULL);
		cr_assert_eq(rc, 1, "%s", errb);
		snprintf(files[i], sizeof(files[i]), "%s/host-%d.json", tmp, i);
		char name[32];
		snprintf(name, sizeof(name), "host-%d.json", i);
		put(tmp, name, js);
		fv[i] = files[i];
	}
	expected_failures(fv, 3, expect, sizeof(expect));
	cr_assert(strstr(expect, "VD001 platform.iommu: hv-a\n"), "%s", expect);
	cr_assert(strstr(expect, "VD102 device.driver: hv-a (0000:01:00.0)\n"), "%s", expect);
	char vd201[2200];
	snprintf(vd201, sizeof(vd201), "VD201 limits.memlock: %s, hv-a, hv-b\n", third);
	cr_assert(strstr(expect, vd201), "%s", expect);
	snprintf(jq, sizeof(jq), "%s/contrib/fleet/doctor-failures.jq", vk_source_dir());
	char *argv[] = {"/usr/bin/env", "jq", "-r", "-s", "-f", jq, files[0], files[1], files[2], NULL};
	int rc = vk_run(argv, out, sizeof(out), errb, sizeof(errb));
	if (rc == 127)
		cr_skip_test("jq is not installed (apt-get install jq)");
	cr_assert_eq(rc, 0, "%s", errb);
	cr_assert_str_eq(out, expect);
}
