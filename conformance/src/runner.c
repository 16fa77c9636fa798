/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test`: run the real resolver, vfio-doctor checks and vfio-validate
 * rules against each scenario's host and compare with its expect: block.
 *
 * This file is the command: its options, the scenarios it collects, the
 * summary and the exit status.  The phases live beside it, each calling only
 * downwards: schedule.c (children, waiting, cleanup) -> serve.c (one scenario:
 * load, mount or plain tree) -> client.c (user:), checks.c (resolver, doctor,
 * validator), set_phase.c (set:, argv: resolver) -> access.c (access:) ->
 * diff.c (the entries of a failure); result.c is the file a child hands its
 * result over in, report.c the text, TAP and JUnit output.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vk_cleanup.h"

#include "report.h"
#include "runner.h"
#include "schedule.h"
#include "serve.h"
#include "util.h"

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static int add_scen(struct scen **v, size_t *n, const char *path)
{
	struct scen *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	struct scen *s = &nv[*n];
	*s = (struct scen){0};
	s->path = strdup(path);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	s->name = has_suffix(base, ".yaml") ? strndup(base, strlen(base) - 5) : strdup(base);
	if (!s->path || !s->name) {
		free(s->path);
		free(s->name);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

static int str_sort(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A scenario file, or every *.yaml of a directory (sorted, not recursive). */
int runner_collect(const char *arg, struct scen **v, size_t *n)
{
	struct stat st;

	if (stat(arg, &st) < 0) {
		fprintf(stderr, "fakesys: test: %s: %s\n", arg, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode))
		return add_scen(v, n, arg);
	_cleanup_closedir_ DIR *d = opendir(arg);
	if (!d) {
		fprintf(stderr, "fakesys: test: %s: %s\n", arg, strerror(errno));
		return -errno;
	}
	char **names = NULL;
	size_t k = 0;
	int r = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".yaml"))
			continue;
		char **nn = realloc(names, (k + 1) * sizeof(*names));
		if (!nn) {
			r = -ENOMEM;
			break;
		}
		names = nn;
		if (asprintf(&names[k], "%s%s%s", arg, has_suffix(arg, "/") ? "" : "/", de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		k++;
	}
	if (names)
		qsort(names, k, sizeof(*names), str_sort);
	for (size_t i = 0; i < k; i++) {
		if (r == 0)
			r = add_scen(v, n, names[i]);
		free(names[i]);
	}
	free(names);
	if (r == 0 && k == 0)
		fprintf(stderr, "fakesys: test: %s: no *.yaml scenarios in this directory\n", arg);
	return r;
}

/* @s is a decimal number in min..max, stored in *@out. */
static bool long_in(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int usage_err(const char *msg)
{
	fprintf(stderr, "fakesys test: %s\nTry 'fakesys test --help'.\n", msg);
	return 2;
}

/* The options of `fakesys test`. */
struct test_opts {
	const char *junit;
	bool tap;
	bool list;
	long shard, shards; /* --shard K/N: 1 <= shard <= shards; 0/0 without */
	int skipped_exit;
	struct sched_opts sched;
};

/* "K/N" with 1 <= K <= N <= SHARDS_MAX into *@k, *@n. */
#define SHARDS_MAX 100000
static bool shard_arg(const char *s, long *k, long *n)
{
	const char *slash = strchr(s, '/');
	char kbuf[16];

	if (!slash || (size_t)(slash - s) >= sizeof(kbuf))
		return false;
	snprintf(kbuf, sizeof(kbuf), "%.*s", (int)(slash - s), s);
	return long_in(kbuf, 1, SHARDS_MAX, k) && long_in(slash + 1, 1, SHARDS_MAX, n) && *k <= *n;
}

/* Parse the options into @o.  Returns 0, or 2 (a usage error, printed). */
static int parse_argv(int argc, char **argv, struct test_opts *o)
{
	static const struct option longopts[] = {
		{"jobs", required_argument, NULL, 'j'},
		{"junit", required_argument, NULL, 'J'},
		{"tap", no_argument, NULL, 'T'},
		{"fuse", no_argument, NULL, 'F'},
		{"plain", no_argument, NULL, 'P'},
		{"timeout", required_argument, NULL, 't'},
		{"skipped-exit", required_argument, NULL, 'S'},
		{"list", no_argument, NULL, 'L'},
		{"shard", required_argument, NULL, 'H'},
		{"quiet", no_argument, NULL, 'q'},
		{0},
	};
	long num;
	int c;

	*o = (struct test_opts){.sched = {.jobs = sysconf(_SC_NPROCESSORS_ONLN), .mode = MODE_AUTO, .timeout = 120}};
	optind = 1;
	while ((c = getopt_long(argc, argv, "j:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (!long_in(optarg, 1, 1024, &o->sched.jobs))
				return usage_err("-j expects a number 1..1024");
			break;
		case 'J':
			o->junit = optarg;
			break;
		case 'T':
			o->tap = true;
			break;
		case 'F':
			o->sched.mode = MODE_FUSE;
			break;
		case 'P':
			o->sched.mode = MODE_PLAIN;
			break;
		case 't':
			if (!long_in(optarg, 1, 86400, &num))
				return usage_err("--timeout expects seconds 1..86400");
			o->sched.timeout = (unsigned)num;
			break;
		case 'S':
			if (!long_in(optarg, 0, 255, &num))
				return usage_err("--skipped-exit expects an exit status 0..255");
			o->skipped_exit = (int)num;
			break;
		case 'L':
			o->list = true;
			break;
		case 'q':
			o->sched.quiet = true;
			break;
		case 'H':
			if (!shard_arg(optarg, &o->shard, &o->shards))
				return usage_err("--shard expects K/N, the K-th of N shards: 1 <= K <= N <= 100000 (e.g. 2/3)");
			break;
		default:
			return usage_err("unknown option");
		}
	}
	if (optind >= argc)
		return usage_err("expects SCENARIO or DIR arguments");
	if (o->sched.jobs < 1)
		o->sched.jobs = 1;
	o->sched.out = o->tap ? stderr : stdout;
	return 0;
}

/* The directory the scenarios' own directories go in, into @base.  Returns 0
 * or 1 (printed). */
static int make_base(char *base, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(base, len, "%s/fakesys-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		fprintf(stderr, "fakesys: test: cannot create a temporary directory %s: %s\n", base, strerror(errno));
		return 1;
	}
	/* searchable, not listable: a scenario's client may run as another user (expect: user:) */
	chmod(base, 0711);
	return 0;
}

/* The summary line, the TAP and JUnit reports; returns the exit status. */
static int report(const struct test_opts *o, const struct scen *v, size_t n, double total)
{
	size_t cnt[ST_COUNT];
	int rc = 0;

	runner_report_count(v, n, cnt);
	fprintf(o->sched.out, "%zu scenario%s: %zu passed, %zu failed, %zu errors, %zu skipped (%.2f s)\n", n,
	        n == 1 ? "" : "s", cnt[ST_OK], cnt[ST_FAIL], cnt[ST_ERROR], cnt[ST_SKIP], total);
	if (o->tap)
		runner_report_tap(stdout, v, n);
	if (o->junit && runner_report_junit(o->junit, v, n, total) < 0)
		rc = 1;
	if (cnt[ST_FAIL] || cnt[ST_ERROR])
		rc = 1;
	else if (rc == 0 && cnt[ST_SKIP] && !cnt[ST_OK])
		rc = o->skipped_exit; /* e.g. 77 for ctest's SKIP_RETURN_CODE: nothing ran */
	return rc;
}

/* The base name of a scenario's file ("default.yaml"). */
static const char *file_name(const struct scen *s)
{
	const char *b = strrchr(s->path, '/');
	return b ? b + 1 : s->path;
}

/* Order of the shard assignment: file name, then path, then position, all
 * compared byte by byte (strcmp, not the locale), so that every machine given
 * the same scenarios, in whatever order and from whatever directory, splits
 * them the same way. */
static int shard_cmp(const void *a, const void *b, void *arg)
{
	const struct scen *v = arg;
	size_t i = *(const size_t *)a, k = *(const size_t *)b;
	int c = strcmp(file_name(&v[i]), file_name(&v[k]));

	if (!c)
		c = strcmp(v[i].path, v[k].path);
	return c ? c : (i > k) - (i < k);
}

/*
 * Keep the scenarios of shard @k of @shards (--shard K/N) in @v, in their
 * order: the one at position p of the sorted order (shard_cmp) is in shard
 * p mod N + 1.  The N shards are disjoint, together they are all, and their
 * sizes differ by one at most.  Returns 0 or -ENOMEM.
 */
static int shard_select(struct scen *v, size_t *n, long k, long shards)
{
	_cleanup_free_ size_t *order = malloc((*n ? *n : 1) * sizeof(*order));
	_cleanup_free_ bool *keep = calloc(*n ? *n : 1, sizeof(*keep));
	size_t m = 0;

	if (!order || !keep)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++)
		order[i] = i;
	qsort_r(order, *n, sizeof(*order), shard_cmp, v);
	for (size_t p = 0; p < *n; p++)
		keep[order[p]] = (long)(p % (size_t)shards) + 1 == k;
	for (size_t i = 0; i < *n; i++) {
		if (keep[i]) {
			v[m++] = v[i];
		} else {
			free(v[i].path);
			free(v[i].name);
		}
	}
	*n = m;
	return 0;
}

void runner_scens_free(struct scen *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].name);
		runner_result_clear(&v[i].res);
	}
	free(v);
}

int fakesys_cmd_test(int argc, char **argv)
{
	struct test_opts o;
	struct scen *v = NULL;
	size_t n = 0;
	char base[4000];
	struct timespec t0;

	int rc = parse_argv(argc, argv, &o);
	if (rc)
		return rc;
	for (int i = optind; i < argc && rc == 0; i++)
		if (runner_collect(argv[i], &v, &n) < 0)
			rc = 2;
	if (rc == 0 && n == 0)
		rc = usage_err("no scenarios to run");
	/* a shard may be empty (more shards than scenarios): a run of nothing, not an error */
	if (rc == 0 && o.shards && shard_select(v, &n, o.shard, o.shards) < 0) {
		fprintf(stderr, "fakesys: test: out of memory\n");
		rc = 1;
	}
	if (rc == 0 && o.list) {
		for (size_t i = 0; i < n && rc == 0; i++)
			if (strchr(v[i].path, '\n'))
				rc = usage_err("--list prints one scenario per line: a file name with a newline cannot be listed");
		for (size_t i = 0; i < n && rc == 0; i++)
			printf("%s\n", v[i].path);
		runner_scens_free(v, n);
		if (rc)
			return rc;
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "fakesys: test: writing the list to standard output: %s\n", strerror(errno));
			return 1;
		}
		return 0;
	}
	if (rc == 0)
		rc = make_base(base, sizeof(base));
	if (rc) {
		runner_scens_free(v, n);
		return rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	runner_schedule(v, n, base, &o.sched);
	rmdir(base);
	rc = report(&o, v, n, runner_since(&t0));
	runner_scens_free(v, n);
	/* a report that could not be written is no report: a write that failed
	 * earlier left the error flag, fflush() writes the rest */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "fakesys: test: writing the report to standard output: %s\n", strerror(errno));
		rc = 1;
	}
	return rc;
}
