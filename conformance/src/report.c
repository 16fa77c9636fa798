/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `fakesys test`: the reports.  One line per scenario as it finishes (with the
 * diff of a failure), then TAP version 13 on stdout (--tap) and JUnit XML
 * (--junit FILE).
 *
 * The JUnit XML keeps to what the strictest common consumer accepts, the
 * Jenkins xUnit plugin's junit-10.xsd (tests/conformance/junit.xsd is that
 * shape): no `file` attribute on a testcase (the path goes in its
 * system-out), no `skipped` attribute on testsuites (testsuite has one), and
 * UTF-8 text only.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "vk_utf8.h"

/* The word of a status on its line; anything but a known outcome is an error. */
static const char *st_word(int status)
{
	switch (status) {
	case ST_OK:
		return "ok";
	case ST_FAIL:
		return "FAIL";
	case ST_SKIP:
		return "skip";
	default:
		return "ERROR";
	}
}

void runner_report_count(const struct scen *v, size_t n, size_t cnt[ST_COUNT])
{
	memset(cnt, 0, ST_COUNT * sizeof(*cnt));
	for (size_t i = 0; i < n; i++)
		cnt[runner_status_is_error(v[i].res.status) ? ST_ERROR : v[i].res.status]++;
}

void runner_report_line(FILE *f, const struct scen *s)
{
	const struct result *r = &s->res;

	fprintf(f, "%-5s %s (%s, %.2f s)%s%s\n", st_word(r->status), s->name, r->mode ? r->mode : "?", s->secs,
	        r->note && *r->note ? ": " : "", r->note ? r->note : "");
	if (r->status == ST_FAIL && r->diff && *r->diff) {
		/* the diff, indented */
		for (const char *p = r->diff; *p;) {
			const char *nl = strchrnul(p, '\n');
			fprintf(f, "      %.*s\n", (int)(nl - p), p);
			p = *nl ? nl + 1 : nl;
		}
	}
}

/* Length of the UTF-8 sequence at @s of a character XML 1.0 allows (its Char
 * production: no surrogates, no U+FFFE/U+FFFF; the C0 controls are the
 * caller's), 0 when there is none: a parser refuses the whole document for
 * one bad byte, and a scenario's file name or a tool's message may carry one. */
static size_t xml_char_len(const unsigned char *s)
{
	unsigned cp;
	size_t n = vk_utf8_char_len(s, &cp);

	return n && cp != 0xfffe && cp != 0xffff ? n : 0;
}

static void xml_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p;) {
		size_t n = xml_char_len(p);
		if (n == 0 || (*p < 0x20 && *p != '\n' && *p != '\t'))
			fputc('?', f);
		else if (*p == '&')
			fputs("&amp;", f);
		else if (*p == '<')
			fputs("&lt;", f);
		else if (*p == '>')
			fputs("&gt;", f);
		else if (*p == '"')
			fputs("&quot;", f);
		else
			fwrite(p, 1, n, f);
		p += n ? n : 1;
	}
}

int runner_report_junit(const char *file, const struct scen *v, size_t n, double total)
{
	size_t cnt[ST_COUNT];
	FILE *f = fopen(file, "we");

	if (!f) {
		fprintf(stderr, "fakesys: %s: %s\n", file, strerror(errno));
		return -errno;
	}
	runner_report_count(v, n, cnt);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"fakesys test\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", n,
	        cnt[ST_FAIL], cnt[ST_ERROR], total);
	fprintf(f, "  <testsuite name=\"scenarios\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
	           "time=\"%.3f\">\n",
	        n, cnt[ST_FAIL], cnt[ST_ERROR], cnt[ST_SKIP], total);
	for (size_t i = 0; i < n; i++) {
		const struct scen *s = &v[i];
		fputs("    <testcase classname=\"scenarios\" name=\"", f);
		xml_escape(f, s->name);
		fprintf(f, "\" time=\"%.3f\">\n", s->secs);
		if (s->res.status == ST_FAIL || runner_status_is_error(s->res.status)) {
			fprintf(f, "      <%s message=\"", s->res.status == ST_FAIL ? "failure" : "error");
			xml_escape(f, s->res.note);
			fprintf(f, "\" type=\"%s\">", s->res.status == ST_FAIL ? "expectation" : "error");
			xml_escape(f, s->res.diff);
			fprintf(f, "</%s>\n", s->res.status == ST_FAIL ? "failure" : "error");
		} else if (s->res.status == ST_SKIP) {
			fputs("      <skipped message=\"", f);
			xml_escape(f, s->res.note);
			fputs("\"/>\n", f);
		}
		fputs("      <system-out>file: ", f);
		xml_escape(f, s->path);
		fputs("\nmode: ", f);
		xml_escape(f, s->res.mode);
		fputs("</system-out>\n    </testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	/* a write that failed (a full disk) sets the error flag; fclose() flushes the rest */
	bool bad = ferror(f);
	int err = errno;
	if (fclose(f) != 0) {
		bad = true;
		err = errno;
	}
	if (bad) {
		fprintf(stderr, "fakesys: test: %s: writing the JUnit report: %s\n", file, strerror(err ? err : EIO));
		return -EIO;
	}
	return 0;
}

/* A YAML double-quoted scalar. */
static void yaml_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void runner_report_tap(FILE *f, const struct scen *v, size_t n)
{
	fprintf(f, "TAP version 13\n1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		const struct scen *s = &v[i];
		bool ok = s->res.status == ST_OK || s->res.status == ST_SKIP;
		fprintf(f, "%s %zu - %s", ok ? "ok" : "not ok", i + 1, s->name);
		if (s->res.status == ST_SKIP)
			fprintf(f, " # SKIP %s", s->res.note);
		fputc('\n', f);
		if (ok)
			continue;
		fputs("  ---\n  file: ", f);
		yaml_quote(f, s->path);
		fputs("\n  mode: ", f);
		yaml_quote(f, s->res.mode);
		fputs("\n  message: ", f);
		yaml_quote(f, s->res.note);
		fprintf(f, "\n  duration_ms: %.0f\n", s->secs * 1000);
		if (s->res.diff && *s->res.diff) {
			fputs("  diff: |\n", f);
			for (const char *p = s->res.diff; *p;) {
				const char *nl = strchrnul(p, '\n');
				fprintf(f, "    %.*s\n", (int)(nl - p), p);
				p = *nl ? nl + 1 : nl;
			}
		}
		fputs("  ...\n", f);
	}
}
