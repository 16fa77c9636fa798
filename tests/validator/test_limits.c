/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parser's input limits (docs/rules.md, "Input limits"; issue #22): past
 * VK_QC_MAX_TEXT bytes, VK_QC_MAX_ARGS words or VK_QC_MAX_PROPS properties every entry
 * point refuses the input with -E2BIG and a message naming the limit; just
 * below them it parses.  Large inputs parse to the right properties (",,"
 * escapes across a long list, the last of many values).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vfiokit/qemu_cmdline.h>

#include "testutil.h"

/* "a=b,a=b,...": @n properties in one key=value list (malloc'd). */
static char *props_list(size_t n, const char *head)
{
	size_t hl = strlen(head), len = hl + n * 4;
	char *s = malloc(len + 1), *p = s;

	cr_assert_not_null(s);
	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, i ? ",a=b" : "a=b,", 4);
		p += 4;
	}
	/* the first element was "a=b," and the rest ",a=b": drop the doubled comma */
	if (n) {
		memmove(s + hl + 3, s + hl + 4, len - hl - 4);
		len--;
	}
	s[len] = '\0';
	return s;
}

Test(limits, props_at_and_past_the_limit)
{
	struct vk_qc_prop *p;
	size_t n, col = 0;
	struct vk_error e = {0};
	char *s = props_list(VK_QC_MAX_PROPS, "");

	cr_assert_eq(vk_qc_parse_props(s, VK_QC_SYN_OPTS, NULL, &p, &n, &col, &e), 0, "%s", e.msg);
	cr_assert_eq(n, VK_QC_MAX_PROPS);
	cr_assert_str_eq(p[n - 1].key, "a");
	cr_assert_str_eq(p[n - 1].value, "b");
	vk_qc_props_free(p, n);
	free(s);

	s = props_list(VK_QC_MAX_PROPS + 1, "");
	cr_assert_eq(vk_qc_parse_props(s, VK_QC_SYN_OPTS, NULL, &p, &n, &col, &e), -E2BIG);
	cr_assert_null(p);
	cr_assert_eq(n, 0);
	cr_assert(strstr(e.msg, "1000000 properties") && strstr(e.msg, "docs/rules.md"), "%s", e.msg);
	cr_assert_gt(col, 3000000, "the column of the first property past the limit: %zu", col);
	free(s);
}

Test(limits, many_escaped_values_parse_linearly_and_right)
{
	/* 200,000 values each with ",," inside: was one allocation of the rest of the argument per value */
	size_t n = 200000;
	char *s = malloc(n * 10 + 16), *w = s;
	struct vk_qc_prop *p;
	size_t np, col;
	struct vk_error e = {0};

	w += sprintf(w, "vfio-pci");
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, ",k=x,,y");
	cr_assert_eq(vk_qc_parse_props(s, VK_QC_SYN_OPTS, "driver", &p, &np, &col, &e), 0, "%s", e.msg);
	cr_assert_eq(np, n + 1);
	cr_assert(p[0].implied);
	cr_assert_str_eq(p[n].value, "x,y");
	cr_assert_eq(p[n].col, 8 + (n - 1) * 7 + 2);
	vk_qc_props_free(p, np);
	free(s);
}

Test(limits, json_members_past_the_limit)
{
	size_t n = VK_QC_MAX_PROPS + 1;
	char *s = malloc(n * 16 + 16), *w = s;
	struct vk_qc_prop *p;
	size_t np, col = 0;
	struct vk_error e = {0};

	*w++ = '{';
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "%s\"k%zu\":1", i ? "," : "", i);
	strcpy(w, "}");
	cr_assert_eq(vk_qc_parse_json_props(s, &p, &np, &col, &e), -E2BIG);
	cr_assert(strstr(e.msg, "1000000 properties"), "%s", e.msg);
	free(s);
}

Test(limits, props_of_the_whole_command_line)
{
	/* two options of 600,000 properties each: each below the limit, together above it */
	char *a = props_list(600000, "e1000,");
	char *argv[] = {(char *)"qemu", (char *)"-device", a, (char *)"-device", a, NULL};
	struct vk_qc_cmdline *c = NULL;
	struct vk_qc_pos pos;
	struct vk_error e = {0};

	cr_assert_eq(vk_qc_parse_argv(5, argv, NULL, VK_QC_ARGV_HAS_PROGRAM, &c, &pos, &e), -E2BIG);
	cr_assert_null(c);
	cr_assert_eq(pos.argi, 4, "the second list is where the limit is passed: %ld", pos.argi);
	cr_assert(strstr(e.msg, "argument 4 (of -device)") && strstr(e.msg, "properties in the command line"), "%s",
	          e.msg);
	cr_assert_eq(vk_qc_parse_argv(3, argv, NULL, VK_QC_ARGV_HAS_PROGRAM, &c, &pos, &e), 0, "%s", e.msg);
	cr_assert_eq(c->opts[0].nprops, 600001);
	vk_qc_cmdline_free(c);
	free(a);
}

Test(limits, argv_words_and_bytes)
{
	size_t n = VK_QC_MAX_ARGS + 1;
	char **argv = calloc(n + 1, sizeof(char *));
	struct vk_qc_cmdline *c = NULL;
	struct vk_qc_pos pos;
	struct vk_error e = {0};

	for (size_t i = 0; i < n; i++)
		argv[i] = (char *)"-S";
	cr_assert_eq(vk_qc_parse_argv(n, argv, NULL, 0, &c, &pos, &e), -E2BIG);
	cr_assert(strstr(e.msg, "1000001 arguments") && strstr(e.msg, "1000000"), "%s", e.msg);
	cr_assert_eq(vk_qc_parse_argv(n - 1, argv, NULL, 0, &c, &pos, &e), 0, "%s", e.msg);
	cr_assert_eq(c->nopts, VK_QC_MAX_ARGS);
	vk_qc_cmdline_free(c);

	/* words of 1 MiB with their NUL: 16 of them are exactly the limit, the 17th passes it */
	char *big = malloc(1 << 20);
	memset(big, 'x', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	for (size_t i = 0; i < 17; i++)
		argv[i] = big;
	cr_assert_eq(vk_qc_parse_argv(17, argv, NULL, 0, &c, &pos, &e), -E2BIG);
	cr_assert_eq(pos.argi, 16);
	cr_assert(strstr(e.msg, "16777216 bytes"), "%s", e.msg);
	cr_assert_eq(vk_qc_parse_argv(16, argv, NULL, 0, &c, &pos, &e), 0, "%s", e.msg);
	vk_qc_cmdline_free(c);
	free(big);
	free(argv);
}

Test(limits, args_text_bytes_and_words)
{
	char **w;
	size_t n;
	unsigned *lines;
	struct vk_qc_pos pos;
	struct vk_error e = {0};
	size_t len = VK_QC_MAX_TEXT + 1;
	char *t = malloc(len);

	memset(t, ' ', len);
	cr_assert_eq(vk_qc_split_args_text(t, len, &w, &n, &lines, &pos, &e), -E2BIG);
	cr_assert(strstr(e.msg, "16777217 bytes"), "%s", e.msg);
	free(t);

	/* "x " * (VK_QC_MAX_ARGS + 1): refused at the word past the limit */
	len = 2 * (VK_QC_MAX_ARGS + 1);
	t = malloc(len);
	for (size_t i = 0; i < len; i += 2) {
		t[i] = 'x';
		t[i + 1] = i % 64 == 62 ? '\n' : ' ';
	}
	cr_assert_eq(vk_qc_split_args_text(t, len, &w, &n, &lines, &pos, &e), -E2BIG);
	cr_assert(strstr(e.msg, "more than 1000000 words"), "%s", e.msg);
	cr_assert_gt(pos.line, 1);
	cr_assert_eq(vk_qc_split_args_text(t, len - 2, &w, &n, &lines, &pos, &e), 0, "%s", e.msg);
	cr_assert_eq(n, VK_QC_MAX_ARGS);
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
	free(lines);
	free(t);
}

static char tmp[4096];

static void rm_tmp(void)
{
	if (tmp[0])
		vk_rm_rf(tmp);
}

/* A fake /proc with one process, 4242, whose cmdline is @len bytes of @fill (or a FIFO when @fifo). */
static void fake_proc(size_t len, char fill, bool fifo)
{
	char p[4200];

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(p, sizeof(p), "%s/4242", tmp);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/4242/cmdline", tmp);
	if (fifo) {
		cr_assert_eq(mkfifo(p, 0644), 0);
		return;
	}
	FILE *f = fopen(p, "we");
	cr_assert_not_null(f);
	for (size_t i = 0; i < len; i++)
		fputc(fill == '0' ? (i % 2 ? '\0' : 'x') : fill, f);
	cr_assert_eq(fclose(f), 0);
}

TestSuite(limits_pid, .fini = rm_tmp);

Test(limits_pid, cmdline_past_the_byte_limit)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_error e = {0};

	fake_proc(VK_QC_MAX_TEXT + 1, 'x', false);
	cr_assert_eq(vk_qc_parse_pid(tmp, 4242, &c, NULL, &e), -E2BIG);
	cr_assert(strstr(e.msg, "4242/cmdline") && strstr(e.msg, "16777216 bytes"), "%s", e.msg);
}

Test(limits_pid, cmdline_past_the_word_limit)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_error e = {0};

	fake_proc(2 * (VK_QC_MAX_ARGS + 1), '0', false); /* "x\0x\0...": VK_QC_MAX_ARGS + 1 words */
	cr_assert_eq(vk_qc_parse_pid(tmp, 4242, &c, NULL, &e), -E2BIG);
	cr_assert(strstr(e.msg, "1000001 arguments"), "%s", e.msg);
}

Test(limits_pid, cmdline_that_is_a_fifo_is_refused_without_blocking)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_error e = {0};

	fake_proc(0, 0, true);
	cr_assert_eq(vk_qc_parse_pid(tmp, 4242, &c, NULL, &e), -EINVAL);
	cr_assert(strstr(e.msg, "not a regular file (fifo)"), "%s", e.msg);
}

Test(limits_pid, args_file_past_the_byte_limit)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_error e = {0};
	char p[4200];

	fake_proc(VK_QC_MAX_TEXT + 1, ' ', false);
	snprintf(p, sizeof(p), "%s/4242/cmdline", tmp);
	cr_assert_eq(vk_qc_parse_args_file(p, &c, NULL, &e), -E2BIG);
	cr_assert(strstr(e.msg, "16777216 bytes"), "%s", e.msg);
}
