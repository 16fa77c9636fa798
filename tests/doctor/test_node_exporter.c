/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-doctor --format=prometheus --output into the textfile directory of
 * Debian's real prometheus-node-exporter, on 127.0.0.1 and a free port, with
 * only the textfile collector: a failing host's file, then a healthy host's
 * written over it, each scraped from /metrics over loopback; the exporter is
 * stopped on every path (the suite's fini, and PR_SET_PDEATHSIG if this
 * process dies). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "doctorutil.h"
#include "expo.h"
#include "testutil.h"

static char tmp[1024], offd[1024], def[1024];
static pid_t exporter = -1;
static char out[262144], errb[65536];
static char page[1 << 20];

/* Stop the exporter: SIGTERM, then SIGKILL after 5 s; always reaped. */
static void stop_exporter(void)
{
	if (exporter <= 0)
		return;
	kill(exporter, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(exporter, NULL, WNOHANG) == exporter) {
			exporter = -1;
			return;
		}
		usleep(10000);
	}
	kill(exporter, SIGKILL);
	waitpid(exporter, NULL, 0);
	exporter = -1;
}

static void teardown(void)
{
	stop_exporter();
	char *dirs[] = {tmp, offd, def};
	for (size_t i = 0; i < 3; i++)
		if (dirs[i][0])
			vk_rm_rf(dirs[i]);
	tmp[0] = offd[0] = def[0] = '\0';
}

TestSuite(node_exporter, .fini = teardown);

static const char *exporter_bin(void)
{
	static const char *const cands[] = {"/usr/bin/prometheus-node-exporter", "/usr/local/bin/node_exporter",
	                                    "/usr/bin/node_exporter"};
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

/* A port nobody listens on now (the kernel's choice for port 0). */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(s, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

/* GET /metrics from 127.0.0.1:@port into page (the body); the HTTP status, or
 * -errno when there is no answer (yet). */
static int scrape(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n";
	static char resp[sizeof(page)];
	size_t off = 0;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = 0;

	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 || write(s, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		int e = errno;
		close(s);
		return -e;
	}
	for (;;) {
		struct pollfd p = {s, POLLIN, 0};
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t n = read(s, resp + off, sizeof(resp) - 1 - off);
		if (n <= 0)
			break;
		off += (size_t)n;
		if (off + 1 >= sizeof(resp))
			break;
	}
	close(s);
	resp[off] = '\0';
	const char *body = strstr(resp, "\r\n\r\n");
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || !body)
		return -EPROTO;
	snprintf(page, sizeof(page), "%s", body + 4);
	return status;
}

/* Start the exporter on a free port with the textfile collector on @dir only;
 * returns the port once /metrics answers. */
static int start_exporter(const char *bin, const char *dir, const char *log)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		int port = free_port();
		char listen[64], textdir[1200];
		snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", port);
		snprintf(textdir, sizeof(textdir), "--collector.textfile.directory=%s", dir);
		pid_t ppid = getpid();
		exporter = fork();
		cr_assert_geq(exporter, 0);
		if (exporter == 0) {
			/* never outlive the test, whatever kills it */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != ppid)
				_exit(127);
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execl(bin, bin, listen, "--collector.disable-defaults", "--collector.textfile", textdir,
			      "--web.disable-exporter-metrics", (char *)NULL);
			_exit(127);
		}
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			if (scrape(port) == 200)
				return port;
			if (waitpid(exporter, NULL, WNOHANG) == exporter) {
				exporter = -1;
				break; /* the port was taken meanwhile: another one */
			}
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 20) {
				char l[4096] = "";
				vk_read_file(log, l, sizeof(l));
				cr_assert_fail("the exporter did not answer on port %d within 20 s: %s", port, l);
			}
			usleep(50000);
		}
	}
	char l[4096] = "";
	vk_read_file(log, l, sizeof(l));
	cr_assert_fail("the exporter exited five times: %s", l);
	return -1;
}

/* The scraped page, parsed; the textfile collector read every file. */
static void scrape_parsed(int port, struct expo *e)
{
	char why[512];
	cr_assert_eq(scrape(port), 200);
	cr_assert(expo_parse(page, true, e, why, sizeof(why)), "the exporter's page: %s\n%s", why, page);
	cr_assert_str_eq(expo_get(e, "node_textfile_scrape_error", "") ?: "(none)", "0", "%s", page);
}

static const char *check(const struct expo *e, const char *id, const char *name, const char *dev, const char *status)
{
	char labels[512];
	snprintf(labels, sizeof(labels), "check=%s,device=%s,name=%s,status=%s", id, dev ? dev : "", name, status);
	return expo_get(e, "vfiokit_doctor_check_status", labels) ?: "(none)";
}

Test(node_exporter, textfile_collector_serves_the_doctors_checks)
{
	const char *bin = exporter_bin();
	char dir[1100], log[1100], prom[1200], mtime[1300], p[1024];
	struct expo e;

	if (!bin)
		cr_skip_test("prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter)");
	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(dir, sizeof(dir), "%s/textfile", tmp);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(log, sizeof(log), "%s/exporter.log", tmp);
	snprintf(prom, sizeof(prom), "%s/vfio-doctor.prom", dir);
	cr_assert_eq(vk_materialize(vk_scenario_path("doctor-iommu-off.yaml", p, sizeof(p)), offd, sizeof(offd)), 0);
	cr_assert_eq(vk_materialize(vk_scenario_path("default.yaml", p, sizeof(p)), def, sizeof(def)), 0);

	int port = start_exporter(bin, dir, log);
	/* nothing written yet: no vfiokit metric */
	scrape_parsed(port, &e);
	cr_assert_eq(expo_count(&e, "vfiokit_doctor_check_status"), 0);
	expo_free(&e);

	/* the failing host */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--format=prometheus", "--output", prom, "--root", offd,
	                    "--no-qemu", "--memlock", "unlimited", "0000:01:00.0", NULL),
	             1, "%s", errb);
	scrape_parsed(port, &e);
	cr_assert_str_eq(check(&e, "VD001", "platform.iommu", NULL, "fail"), "1", "%s", page);
	cr_assert_str_eq(check(&e, "VD001", "platform.iommu", NULL, "pass"), "0");
	cr_assert_str_eq(check(&e, "VD102", "device.driver", "0000:01:00.0", "fail"), "1", "%s", page);
	cr_assert_str_eq(check(&e, "VD103", "device.iommu-group", "0000:01:00.0", "fail"), "1", "%s", page);
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_iommu_enabled", "") ?: "(none)", "0");
	cr_assert_neq(strcmp(expo_get(&e, "vfiokit_doctor_checks", "status=fail") ?: "0", "0"), 0);
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_memlock_limit_bytes", "") ?: "(none)", "+Inf");
	snprintf(mtime, sizeof(mtime), "file=%s", prom);
	if (!expo_get(&e, "node_textfile_mtime_seconds", mtime)) /* node_exporter >= 1.6 names the file alone */
		snprintf(mtime, sizeof(mtime), "file=vfio-doctor.prom");
	cr_assert_not_null(expo_get(&e, "node_textfile_mtime_seconds", mtime), "%s", page);
	size_t failing = expo_count(&e, "vfiokit_doctor_check_status");
	cr_assert_gt(failing, 0);
	expo_free(&e);

	/* the healthy host, written over it: the next scrape has only its checks */
	cr_assert_eq(dt_run(out, sizeof(out), errb, sizeof(errb), "--format=prometheus", "--output", prom, "--root", def,
	                    "--no-qemu", "--memlock", "unlimited", NULL),
	             0, "%s", errb);
	scrape_parsed(port, &e);
	cr_assert_str_eq(check(&e, "VD001", "platform.iommu", NULL, "pass"), "1", "%s", page);
	cr_assert_str_eq(check(&e, "VD001", "platform.iommu", NULL, "fail"), "0");
	cr_assert_str_eq(check(&e, "VD102", "device.driver", "0000:01:00.0", "pass"), "1", "%s", page);
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_checks", "status=fail") ?: "(none)", "0");
	for (size_t i = 0; i < e.n; i++)
		cr_assert(strcmp(e.s[i].name, "vfiokit_doctor_check_status") || !strstr(e.s[i].labels, "status=fail") ||
		                  !strcmp(e.s[i].value, "0"),
		          "a failing check on the healthy host: {%s}", e.s[i].labels);
	cr_assert_str_eq(expo_get(&e, "vfiokit_doctor_iommu_enabled", "") ?: "(none)", "1");
	cr_assert_not_null(expo_get(&e, "vfiokit_doctor_last_run_timestamp_seconds", ""));
	expo_free(&e);
	/* the exporter's own collectors stayed off: nothing of this machine */
	cr_assert_null(strstr(page, "node_cpu_seconds_total"), "only the textfile collector");

	stop_exporter();
	cr_assert_lt(scrape(port), 0, "the exporter is gone");
}
