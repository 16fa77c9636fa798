/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scenario loader under inputs whose cost could grow faster than their
 * size: YAML bombs (deep nesting, long lists, alias expansion, directives),
 * lists of hundreds of thousands of entries, large groups and parent chains,
 * a FIFO given as the scenario.  Each load runs in a child killed after
 * LIMIT_S seconds (generous: a hang is the failure, not a slow second) and
 * its time is printed; each must end with the documented error or load.
 * Two tests read tens of MiB on purpose (the limits are reached or must
 * hold): they get CAPACITY_S, since libyaml alone reads about 10-15 MiB/s.
 * The expect: block is the conformance runner's: its long lists are loaded
 * through the runner's loader (conformance/src/expect.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfiokit/fakesys_scenario.h>
#include <vfiokit/host_model.h>

#include "expect.h"
#include "testutil.h"

/* The host of scenario @s, taken out of it. */
#define TAKE_HOST(s) \
	({ \
		struct vk_host_model *h_ = (s)->host; \
		(s)->host = NULL; \
		h_; \
	})

#define LIMIT_S 20
#define CAPACITY_S 120

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What a bounded load reports back. */
struct outcome {
	bool finished;
	int rc;
	double secs;
	char msg[1024];
	/* filled by @check in the child, for a model that loaded */
	char facts[256];
};

typedef void (*check_fn)(const struct vk_host_model *m, char *facts, size_t len);

struct job {
	const char *yaml; /* a buffer to load, or */
	size_t len;
	const char *path;  /* a file to load, or */
	char *const *argv; /* a program to run (its stderr is the message) */
	check_fn check;
	int limit_s;      /* 0: LIMIT_S */
	bool with_expect; /* through the conformance runner's loader, which parses expect: */
};

/* @j's buffer through the runner's loader (expect: parsed), its host into *@m. */
static int load_with_expect(const struct job *j, struct vk_host_model **m, struct vk_error *e)
{
	struct vk_fakesys_scenario *s = NULL;
	struct vk_fakesys_expect *x = NULL;
	int r = runner_scenario_load_buffer("t.yaml", j->yaml, j->len, &s, &x, e);

	if (r == 0)
		*m = TAKE_HOST(s);
	vk_fakesys_expect_free(x);
	vk_fakesys_scenario_free(s);
	return r;
}

static void child(const struct job *j, int fd, double t0)
{
	struct outcome o = {.finished = true};
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	if (j->argv) {
		o.rc = vk_run(j->argv, NULL, 0, o.msg, sizeof(o.msg));
	} else {
		o.rc = j->path          ? vk_host_model_load(j->path, &m, &e)
		       : j->with_expect ? load_with_expect(j, &m, &e)
		                        : vk_host_model_load_buffer("t.yaml", j->yaml, j->len, &m, &e);
		snprintf(o.msg, sizeof(o.msg), "%s", e.msg);
		if (o.rc == 0 && j->check)
			j->check(m, o.facts, sizeof(o.facts));
		vk_host_model_free(m);
	}
	o.secs = now() - t0;
	if (write(fd, &o, sizeof(o)) != sizeof(o))
		_exit(1);
	_exit(0);
}

/* Run @j in a child (its own process group, killed whole after its time limit). */
static struct outcome bounded(const char *what, const struct job *j)
{
	struct outcome o = {0};
	int p[2], limit = j->limit_s ? j->limit_s : LIMIT_S;
	double t0 = now();

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		close(p[0]);
		child(j, p[1], t0);
	}
	setpgid(pid, pid);
	close(p[1]);
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	int r;
	do
		r = poll(&pfd, 1, limit * 1000);
	while (r < 0 && errno == EINTR);
	if (r != 1 || read(p[0], &o, sizeof(o)) != (ssize_t)sizeof(o)) {
		kill(-pid, SIGKILL);
		o = (struct outcome){.secs = now() - t0};
	}
	kill(-pid, SIGKILL); /* anything the child left behind */
	waitpid(pid, NULL, 0);
	close(p[0]);
	fprintf(stderr, "%s: %s after %.3f s%s%s\n", what, o.finished ? (o.rc ? "refused" : "loaded") : "KILLED",
	        o.secs, o.finished && o.rc ? ": " : "", o.finished && o.rc ? o.msg : "");
	cr_assert(o.finished, "%s: still running after %d s", what, limit);
	return o;
}

static struct outcome load_text(const char *what, const char *yaml, size_t len, check_fn check)
{
	return bounded(what, &(struct job){.yaml = yaml, .len = len, .check = check});
}

/* A growing text, for the generators. */
struct text {
	char *buf;
	size_t len;
	FILE *f;
};

static void text_open(struct text *t)
{
	*t = (struct text){0};
	t->f = open_memstream(&t->buf, &t->len);
	cr_assert_not_null(t->f);
}

static void text_close(struct text *t)
{
	cr_assert_eq(fclose(t->f), 0);
	t->f = NULL;
}

static void repeat(struct text *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fputs(s, t->f);
}

static void expect_refused(const struct outcome *o, const char *where, const char *phrase)
{
	cr_assert_eq(o->rc, -EINVAL, "rc %d: %s", o->rc, o->msg);
	cr_assert(!strncmp(o->msg, where, strlen(where)) && o->msg[strlen(where)] == ':',
	          "message '%s' does not start with '%s:'", o->msg, where);
	cr_assert(strstr(o->msg, phrase), "message '%s' lacks '%s'", o->msg, phrase);
	cr_assert(strstr(o->msg, "Limits") || !strstr(phrase, "Limits"), "%s", o->msg);
}

/* ---- nesting ---- */

Test(yaml_limits, deep_flow_lists_are_refused_at_the_depth_limit)
{
	struct text t;

	text_open(&t);
	fputs("version: 1\nx: ", t.f);
	repeat(&t, "[", 100000);
	repeat(&t, "]", 100000);
	fputs("\n", t.f);
	text_close(&t);
	struct outcome o = load_text("100,000 '['", t.buf, t.len, NULL);
	/* the root mapping is level 1, so the 64th '[' (column 4 + 63) is one too deep */
	expect_refused(&o, "t.yaml:2:67", "lists and mappings nested deeper than 64 levels");
	free(t.buf);
}

Test(yaml_limits, deep_flow_mappings_are_refused_at_the_depth_limit)
{
	struct text t;

	text_open(&t);
	fputs("version: 1\nx: ", t.f);
	repeat(&t, "{a: ", 100000);
	fputs("b", t.f);
	repeat(&t, "}", 100000);
	fputs("\n", t.f);
	text_close(&t);
	struct outcome o = load_text("100,000 '{a: '", t.buf, t.len, NULL);
	expect_refused(&o, "t.yaml:2:256", "nested deeper than 64 levels");
	free(t.buf);
}

Test(yaml_limits, deep_block_lists_are_refused_at_the_depth_limit)
{
	struct text t;

	text_open(&t);
	fputs("version: 1\nx:\n", t.f);
	repeat(&t, "- ", 100000);
	fputs("a\n", t.f);
	text_close(&t);
	struct outcome o = load_text("100,000 '- '", t.buf, t.len, NULL);
	expect_refused(&o, "t.yaml:3:127", "nested deeper than 64 levels");
	free(t.buf);
}

Test(yaml_limits, the_nesting_a_scenario_uses_is_far_below_the_limit)
{
	/* the deepest a scenario goes: root, devices, a device, resources, a line */
	static const char yaml[] = "version: 1\ndevices:\n  - {address: 0000:00:01.0, vendor: 1, device: 2, "
				   "resources: [[0x1000, 0x1fff, 0x200]]}\n";
	struct outcome o = load_text("depth 5", yaml, strlen(yaml), NULL);

	cr_assert_eq(o.rc, 0, "%s", o.msg);
}

/* ---- lengths ---- */

Test(yaml_limits, a_list_past_the_entry_limit_is_refused_there)
{
	struct text t;

	text_open(&t);
	fputs("version: 1\nx: [", t.f);
	repeat(&t, "a,", 2000000);
	fputs("a]\n", t.f);
	text_close(&t);
	struct outcome o = load_text("a list of 2,000,001 entries", t.buf, t.len, NULL);
	/* entry 1,048,577 starts at column 5 + 2 * 1,048,576 */
	expect_refused(&o, "t.yaml:2:2097157", "more than 1048576 entries in the list that starts at line 2");
	free(t.buf);
}

Test(yaml_limits, a_mapping_past_the_entry_limit_is_refused_there)
{
	struct text t;

	text_open(&t);
	fputs("version: 1\nkernel:\n  modules:\n    - name: m\n      parameters: {", t.f);
	for (unsigned i = 0; i < 1100000; i++)
		fprintf(t.f, "p%u: 1, ", i);
	fputs("}\n", t.f);
	text_close(&t);
	struct outcome o = load_text("a mapping of 1,100,000 pairs", t.buf, t.len, NULL);
	cr_assert_eq(o.rc, -EINVAL, "%s", o.msg);
	cr_assert(strstr(o.msg, "more than 1048576 entries in the mapping that starts at line 5"), "%s", o.msg);
	free(t.buf);
}

Test(yaml_limits, more_nodes_than_the_limit_are_refused)
{
	struct text t;

	/* 8,400 lists of 1,000: past 8 Mi nodes without an alias or a long list */
	text_open(&t);
	fputs("version: 1\nx:\n", t.f);
	for (unsigned i = 0; i < 8400; i++) {
		fputs("  - [", t.f);
		repeat(&t, "a,", 999);
		fputs("a]\n", t.f);
	}
	text_close(&t);
	struct outcome o = bounded("8,400,000 scalars", &(struct job){.yaml = t.buf, .len = t.len, .limit_s = CAPACITY_S});
	cr_assert_eq(o.rc, -EINVAL, "%s", o.msg);
	cr_assert(strstr(o.msg, "more than 8388608 nodes"), "%s", o.msg);
	cr_assert(!strncmp(o.msg, "t.yaml:", 7), "%s", o.msg);
	free(t.buf);
}

/* ---- aliases ---- */

Test(yaml_limits, billion_laughs_is_refused_at_the_alias_that_crosses_the_node_limit)
{
	struct text t;

	/* a0 is 11 nodes, each a<k> 10 copies of a<k-1>: a9 would be 10^9 nodes */
	text_open(&t);
	fputs("version: 1\nlol:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n", t.f);
	for (int k = 1; k < 10; k++) {
		fprintf(t.f, "  a%d: &a%d [", k, k);
		for (int i = 0; i < 10; i++)
			fprintf(t.f, "%s*a%d", i ? ", " : "", k - 1);
		fputs("]\n", t.f);
	}
	text_close(&t);
	struct outcome o = load_text("billion laughs", t.buf, t.len, NULL);
	cr_assert_eq(o.rc, -EINVAL, "%s", o.msg);
	cr_assert(strstr(o.msg, "an alias counts as a copy of what it names"), "%s", o.msg);
	/* a5 (1,111,111 nodes) is the first whose copies pass 8 Mi: its 7th alias */
	cr_assert(!strncmp(o.msg, "t.yaml:9:", 9) && strstr(o.msg, "alias *a5 repeats 1111111 nodes"), "%s", o.msg);
	free(t.buf);
}

Test(yaml_limits, aliases_of_a_long_text_count_its_bytes)
{
	struct text t;

	/* 1 MiB of text repeated 300 times is 300 MiB of labels: past the byte limit */
	text_open(&t);
	fputs("version: 1\nx:\n  - &big ", t.f);
	repeat(&t, "abcdefghijklmnop", 65536);
	fputs("\n", t.f);
	repeat(&t, "  - *big\n", 300);
	text_close(&t);
	struct outcome o = load_text("300 aliases of 1 MiB", t.buf, t.len, NULL);
	cr_assert_eq(o.rc, -EINVAL, "%s", o.msg);
	cr_assert(strstr(o.msg, "alias *big repeats 1048576 bytes of text") && strstr(o.msg, "256 MiB"), "%s", o.msg);
	free(t.buf);
}

static void facts_ids(const struct vk_host_model *m, char *facts, size_t len)
{
	snprintf(facts, len, "%zu %04x:%04x %04x:%04x", m->n_devices, m->devices[0].vendor, m->devices[0].device,
	         m->devices[1].vendor, m->devices[1].device);
}

Test(yaml_limits, aliases_within_the_limits_mean_their_anchor)
{
	static const char yaml[] = "version: 1\ndevices:\n"
				   "  - {address: 0000:00:01.0, vendor: &v 0x10de, device: &d 0x2204}\n"
				   "  - {address: 0000:00:02.0, vendor: *v, device: *d}\n";
	struct outcome o = load_text("two aliases", yaml, strlen(yaml), facts_ids);

	cr_assert_eq(o.rc, 0, "%s", o.msg);
	cr_assert_str_eq(o.facts, "2 10de:2204 10de:2204");
}

struct alias_case {
	const char *yaml, *where, *msg;
};

Test(yaml_limits, bad_aliases_and_anchors)
{
	static const struct alias_case cases[] = {
		{"version: 1\nname: *nowhere\n", "t.yaml:2:7", "YAML syntax error: found undefined alias *nowhere"},
		/* an anchor names its node once the node is complete: no cycles */
		{"version: 1\nx: &a [1, *a]\n", "t.yaml:2:11", "found undefined alias *a"},
		{"version: 1\nx: &a 1\ny: &a 2\n", "t.yaml:3:4", "found duplicate anchor &a (first at line 2)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct outcome o = load_text(cases[i].yaml, cases[i].yaml, strlen(cases[i].yaml), NULL);
		expect_refused(&o, cases[i].where, cases[i].msg);
	}
}

/* ---- directives, bytes ---- */

Test(yaml_limits, many_directives_are_refused_before_libyaml_reads_them)
{
	struct text t;

	/* libyaml compares each %TAG with all before it: 100,000 of them took seconds */
	text_open(&t);
	for (unsigned i = 0; i < 100000; i++)
		fprintf(t.f, "%%TAG !t%u! tag:example.com,2000:%u:\n", i, i);
	fputs("---\nversion: 1\n", t.f);
	text_close(&t);
	struct outcome o = load_text("100,000 %TAG directives", t.buf, t.len, NULL);
	expect_refused(&o, "t.yaml:17:1", "more than 16 YAML directives");
	free(t.buf);

	static const char one[] = "%YAML 1.1\n%TAG !e! tag:example.com,2000:\n---\nversion: 1\n";
	o = load_text("two directives", one, strlen(one), NULL);
	cr_assert_eq(o.rc, 0, "%s", o.msg);
}

Test(yaml_limits, a_text_past_the_byte_limit_is_refused_unread)
{
	char dir[4096], path[4200];
	size_t len = (256u << 20) + 1;
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	/* not touched, so it costs no memory: the length alone must refuse it */
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(p, MAP_FAILED);
	cr_assert_eq(vk_host_model_load_buffer("big.yaml", p, len, &m, &e), -EFBIG);
	cr_assert(strstr(e.msg, "big.yaml: 268435457 bytes is larger than a scenario may be (256 MiB)"), "%s", e.msg);
	munmap(p, len);

	/* a sparse file of the same size */
	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)len), 0);
	close(fd);
	cr_assert_eq(vk_host_model_load(path, &m, &e), -EFBIG);
	cr_assert(strstr(e.msg, "268435457 bytes is larger than a scenario may be (256 MiB)") && strstr(e.msg, path),
	          "%s", e.msg);
	cr_assert_null(m);
	vk_rm_rf(dir);
}

/* ---- what the scenario path names ---- */

Test(yaml_limits, a_fifo_is_refused_without_waiting_for_a_writer)
{
	char dir[4096], fifo[4200], bin[4096], want[4300];

	cr_assert_eq(vk_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(fifo, sizeof(fifo), "%s/scenario.yaml", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	snprintf(want, sizeof(want), "%s: not a regular file (a FIFO)", fifo);

	int before = vk_fd_count();
	struct outcome o = bounded("host_model_load(FIFO)", &(struct job){.path = fifo});
	cr_assert_eq(o.rc, -EINVAL, "%s", o.msg);
	cr_assert(strstr(o.msg, want), "'%s' lacks '%s'", o.msg, want);
	cr_assert_eq(vk_fd_count(), before);

	/* the CLI's commands that read a scenario */
	vk_bin("fakesys/fakesys", bin, sizeof(bin));
	for (const char *const *cmd = (const char *const[]){"show", "materialize", NULL}; *cmd; cmd++) {
		char target[4300];
		snprintf(target, sizeof(target), "%s/out", dir);
		char *argv[] = {bin, (char *)*cmd, fifo, target, NULL};
		if (!strcmp(*cmd, "show"))
			argv[3] = NULL;
		o = bounded(*cmd, &(struct job){.argv = argv});
		cr_assert_eq(o.rc, 1, "fakesys %s: status %d: %s", *cmd, o.rc, o.msg);
		cr_assert(strstr(o.msg, want), "fakesys %s: '%s' lacks '%s'", *cmd, o.msg, want);
	}
	vk_rm_rf(dir);
}

Test(yaml_limits, other_files_that_are_not_regular_are_named)
{
	struct vk_host_model *m = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_host_model_load("/dev/null", &m, &e), -EINVAL);
	cr_assert(strstr(e.msg, "/dev/null: not a regular file (a character device)"), "%s", e.msg);
	cr_assert_eq(vk_host_model_load("/tmp", &m, &e), -EINVAL);
	cr_assert(strstr(e.msg, "/tmp: not a regular file (a directory)"), "%s", e.msg);
}

/* ---- long lists: every check over a list is O(n log n) ---- */

static void facts_counts(const struct vk_host_model *m, char *facts, size_t len)
{
	size_t params = 0;

	for (size_t i = 0; i < m->n_modules; i++)
		params += m->modules[i].n_params;
	snprintf(facts, len, "modules %zu params %zu drivers %zu", m->n_modules, params, m->n_drivers);
}

Test(yaml_limits, three_hundred_thousand_modules_drivers_and_parameters)
{
	struct text t;

	text_open(&t);
	fputs("version: 1\nkernel:\n  modules:\n    - name: vfio\n      parameters:\n", t.f);
	for (unsigned i = 0; i < 300000; i++)
		fprintf(t.f, "        p%u: %u\n", i, i);
	for (unsigned i = 0; i < 300000; i++)
		fprintf(t.f, "    - m%u\n", i);
	fputs("  drivers:\n", t.f);
	for (unsigned i = 0; i < 300000; i++)
		fprintf(t.f, "    - d%u\n", 299999 - i);
	fputs("    - d7\n", t.f); /* a repeat is dropped, not an error */
	text_close(&t);
	struct outcome o = load_text("300,000 modules, parameters and drivers", t.buf, t.len, facts_counts);
	cr_assert_eq(o.rc, 0, "%s", o.msg);
	/* the drivers: the 300,000 declared, and pcieport (vfio-pci needs a vfio_pci module) */
	cr_assert_str_eq(o.facts, "modules 300001 params 300000 drivers 300001");
	free(t.buf);

	/* a repeat at the very end is still found, and named where it is */
	text_open(&t);
	fputs("version: 1\nkernel:\n  modules:\n", t.f);
	for (unsigned i = 0; i < 300000; i++)
		fprintf(t.f, "    - m%u\n", i);
	fputs("    - m123456\n", t.f);
	text_close(&t);
	o = load_text("300,001 modules, one twice", t.buf, t.len, NULL);
	expect_refused(&o, "t.yaml:300004:7", "module 'm123456' is listed twice");
	free(t.buf);

	text_open(&t);
	fputs("version: 1\nkernel:\n  modules:\n    - name: vfio\n      parameters:\n", t.f);
	for (unsigned i = 0; i < 300000; i++)
		fprintf(t.f, "        p%u: 1\n", i);
	fputs("        p299999: 2\n", t.f);
	text_close(&t);
	o = load_text("300,001 parameters, one twice", t.buf, t.len, NULL);
	expect_refused(&o, "t.yaml:300006:9", "'p299999' given twice");
	free(t.buf);
}

Test(yaml_limits, the_first_of_many_unknown_keys_is_reported)
{
	struct text t;

	text_open(&t);
	fputs("version: 1\n", t.f);
	for (unsigned i = 0; i < 100000; i++)
		fprintf(t.f, "k%u: %u\n", i, i);
	text_close(&t);
	struct outcome o = load_text("100,000 unknown keys", t.buf, t.len, NULL);
	expect_refused(&o, "t.yaml:2:1", "k0: unknown key in the scenario");
	free(t.buf);
}

Test(yaml_limits, long_expect_lists)
{
	struct text t;

	text_open(&t);
	fputs("version: 1\nexpect:\n  validate:\n    findings: [", t.f);
	for (unsigned i = 0; i < 200000; i++)
		fprintf(t.f, "VV%03u, ", i % 1000);
	fputs("VV001]\n  doctor:\n", t.f);
	for (unsigned i = 0; i < 100000; i++)
		fprintf(t.f, "    VD101@%04x:%02x:%02x.%u: PASS\n", i >> 13, (i >> 5) & 0xff, (i >> 3) & 0x1f, i & 7);
	fputs("    VD101@0:00:00.0: WARN\n", t.f);
	text_close(&t);
	struct outcome o = bounded("200,000 findings, 100,001 doctor checks",
	                           &(struct job){.yaml = t.buf, .len = t.len, .with_expect = true});
	/* 0:00:00.0 is 0000:00:00.0, the first one */
	expect_refused(&o, "t.yaml:100006:5", "'VD101@0:00:00.0' given twice");
	free(t.buf);
}

/* ---- large groups and long parent chains ---- */

static void facts_minors(const struct vk_host_model *m, char *facts, size_t len)
{
	bool *seen = calloc(m->n_groups + 1, 1);
	size_t held = 0, distinct = 0;

	for (size_t g = 0; seen && g < m->n_groups; g++) {
		int64_t k = m->groups[g].vfio_minor;
		if (k < 0)
			continue;
		held++;
		if (k < (int64_t)m->n_groups && !seen[k]) {
			seen[k] = true;
			distinct++;
		}
	}
	free(seen);
	snprintf(facts, len, "groups %zu held %zu distinct %zu", m->n_groups, held, distinct);
}

Test(yaml_limits, twenty_thousand_vfio_pci_devices_get_their_group_minors)
{
	struct text t;

	text_open(&t);
	fputs("version: 1\nkernel: {iommu: intel, vfio_device_cdev: true}\ndevices:\n", t.f);
	for (unsigned i = 0; i < 20000; i++)
		fprintf(t.f, "  - {address: %04x:%02x:%02x.%u, vendor: 0x10de, device: 0x2204, driver: vfio-pci}\n",
		        i >> 13, (i >> 5) & 0xff, (i >> 3) & 0x1f, i & 7);
	text_close(&t);
	struct outcome o = load_text("20,000 vfio-pci devices", t.buf, t.len, facts_minors);
	cr_assert_eq(o.rc, 0, "%s", o.msg);
	cr_assert_str_eq(o.facts, "groups 20000 held 20000 distinct 20000");
	free(t.buf);
}

static void facts_chain(const struct vk_host_model *m, char *facts, size_t len)
{
	int numa_bad = 0;

	for (size_t i = 0; i < m->n_devices; i++)
		numa_bad += m->devices[i].numa_node != 3;
	snprintf(facts, len, "groups %zu members %zu numa_bad %d", m->n_groups, m->n_groups ? m->groups[0].n_members : 0,
	         numa_bad);
}

/*
 * 30,000 devices, each behind the next one in a PCI domain of its own (as
 * behind a VMD), all in one group (a bridge and what is behind it may share):
 * parents sort after their children, so the NUMA node given at the top must
 * travel down the whole chain; before, the chain was walked for every device
 * and every pair of the group.
 */
static void chain_scenario(struct text *t, unsigned n, bool stranger)
{
	text_open(t);
	fputs("version: 1\nkernel: {iommu: intel}\ndevices:\n", t->f);
	if (stranger)
		fputs("  - {address: 0000:80:00.0, vendor: 1, device: 2, iommu_group: 5}\n", t->f);
	for (unsigned i = 1; i <= n; i++) {
		fprintf(t->f, "  - {address: %04x:00:00.0, vendor: 1, device: 2, class: 0x060400, iommu_group: 5", i);
		if (i < n)
			fprintf(t->f, ", parent: %04x:00:00.0}\n", i + 1);
		else
			fputs(", numa_node: 3}\n", t->f);
	}
	text_close(t);
}

Test(yaml_limits, a_long_parent_chain_in_one_group)
{
	struct text t;

	chain_scenario(&t, 30000, false);
	struct outcome o = load_text("a chain of 30,000 in one group", t.buf, t.len, facts_chain);
	cr_assert_eq(o.rc, 0, "%s", o.msg);
	cr_assert_str_eq(o.facts, "groups 1 members 30000 numa_bad 0");
	free(t.buf);

	/* one device that shares nothing with the chain: named with the first member it meets */
	chain_scenario(&t, 30000, true);
	o = load_text("a chain of 30,000 and a stranger in one group", t.buf, t.len, NULL);
	expect_refused(&o, "t.yaml:5:81", "group 5 holds 0000:80:00.0 and 0001:00:00.0, which share no slot");
	free(t.buf);

	/* a loop at the end of a long chain */
	text_open(&t);
	fputs("version: 1\ndevices:\n", t.f);
	for (unsigned i = 1; i <= 30000; i++)
		fprintf(t.f, "  - {address: %04x:00:00.0, vendor: 1, device: 2, parent: %04x:00:00.0}\n", i,
		        i < 30000 ? i + 1 : 29000);
	text_close(&t);
	o = load_text("a chain of 30,000 ending in a loop", t.buf, t.len, NULL);
	expect_refused(&o, "t.yaml:3:59", "the parent chain of 0001:00:00.0 loops back on itself");
	free(t.buf);
}

/*
 * The size the project targets: 50,000 devices with every device key written
 * out (17 resource lines each, the most the resource file has) stays inside
 * the limits.
 */
static void facts_devices(const struct vk_host_model *m, char *facts, size_t len)
{
	snprintf(facts, len, "devices %zu groups %zu resources %zu", m->n_devices, m->n_groups,
	         m->n_devices ? m->devices[m->n_devices - 1].n_resources : 0);
}

Test(yaml_limits, fifty_thousand_devices_with_every_key_fit_the_limits)
{
	static const char *const drivers[] = {"i40e", "nvme", "vfio-pci", "xhci_hcd"};
	struct text t;
	unsigned made = 0;

	text_open(&t);
	fputs("version: 1\nkernel: {iommu: intel, vfio_device_cdev: true, iommufd: true}\ndevices:\n", t.f);
	for (unsigned dom = 0; made < 50000; dom++) {
		for (unsigned port = 0; port < 248 && made < 50000; port++, made++) {
			unsigned slot = 1 + port / 8, fn = port % 8, bus = port + 1;
			fprintf(t.f, "  - {address: %04x:00:%02x.%x, vendor: 0x8086, device: 0x2030, class: 0x060400, "
			             "driver: pcieport, iommu_group: %u, numa_node: %u}\n",
			        dom, slot, fn, made, dom % 2);
			for (unsigned ef = 0; ef < 8 && made + 1 < 50000; ef++) {
				const char *drv = drivers[(port + ef) % 4];
				made++;
				fprintf(t.f,
				        "  - address: %04x:%02x:00.%x\n    parent: %04x:00:%02x.%x\n    vendor: 0x8086\n"
				        "    device: 0x1572\n    subsystem_vendor: 0x8086\n    subsystem_device: 0x0001\n"
				        "    class: 0x020000\n    revision: 0x02\n    driver: %s\n    driver_override: %s\n"
				        "    label: \"slot %u function %u\"\n    iommu_group: %u\n    numa_node: %u\n"
				        "    irq: %u\n",
				        dom, bus, ef, dom, slot, fn, drv, drv, port, ef, made, dom % 2, 16 + made % 200);
				if (!strcmp(drv, "vfio-pci"))
					fprintf(t.f, "    vfio_cdev: %u\n    vfio_node: {owner: 107, group: 107, mode: \"0660\", "
					             "present: true}\n",
					        made);
				fputs("    resources:\n", t.f);
				for (unsigned r = 0; r < 17; r++)
					fprintf(t.f, "      - [0x%llx, 0x%llx, 0x40200]\n", 0x380000000000ull + ((unsigned long long)made << 24) + (r << 16),
					        0x380000000000ull + ((unsigned long long)made << 24) + (r << 16) + 0xffff);
			}
		}
	}
	text_close(&t);
	fprintf(stderr, "50,000 devices: %.1f MiB of YAML\n", (double)t.len / (1 << 20));
	struct outcome o = bounded("50,000 devices with every key",
	                           &(struct job){.yaml = t.buf, .len = t.len, .check = facts_devices, .limit_s = CAPACITY_S});
	cr_assert_eq(o.rc, 0, "%s", o.msg);
	cr_assert_str_eq(o.facts, "devices 50000 groups 50000 resources 17");
	free(t.buf);
}
