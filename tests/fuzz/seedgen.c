/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Build-time helper of the fuzz targets: writes the seed corpora.
 *   fuzz-seedgen OUTDIR FILE...
 * A FILE ending in .yaml is copied to OUTDIR/scenario/; one ending in .args to
 * OUTDIR/args/ and, split into words by the project's own .args reader with the
 * leading VAR=value assignments dropped, to OUTDIR/qemu_argv/ as NUL-separated
 * words (the /proc/PID/cmdline form fuzz_qemu_argv reads); one ending in
 * .umockdev (a umockdev-record file) to OUTDIR/umockdev/.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vfiokit/qemu_cmdline.h>

static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	size_t n = 0, cap = 0, r;

	if (!f)
		return -1;
	do {
		if (n == cap) {
			char *nb = realloc(b, cap = cap ? 2 * cap : 65536);
			if (!nb) {
				free(b);
				fclose(f);
				return -1;
			}
			b = nb;
		}
		r = fread(b + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

static int write_file(const char *dir, const char *sub, const char *base, const char *suffix,
                      const char *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s%s", dir, sub, base, suffix);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "fuzz-seedgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int is_assignment(const char *w)
{
	if (!(isalpha((unsigned char)*w) || *w == '_'))
		return 0;
	while (isalnum((unsigned char)*w) || *w == '_')
		w++;
	return *w == '=';
}

static int argv_seed(const char *dir, const char *base, const char *text, size_t len)
{
	char **words = NULL, *out = NULL;
	unsigned *lines = NULL;
	size_t n = 0, k = 0, olen = 0;
	int r = 0;

	if (vk_qc_split_args_text(text, len, &words, &n, &lines, NULL, NULL) < 0)
		return 0; /* not splittable: no argv seed */
	while (k < n && is_assignment(words[k]))
		k++;
	for (size_t i = k; i < n; i++)
		olen += strlen(words[i]) + 1;
	out = malloc(olen + 1);
	if (!out) {
		r = -1;
		goto done;
	}
	olen = 0;
	for (size_t i = k; i < n; i++) {
		size_t l = strlen(words[i]) + 1;
		memcpy(out + olen, words[i], l);
		olen += l;
	}
	if (olen)
		r = write_file(dir, "qemu_argv", base, ".argv", out, olen);
done:
	free(out);
	for (size_t i = 0; i < n; i++)
		free(words[i]);
	free(words);
	free(lines);
	return r;
}

int main(int argc, char **argv)
{
	const char *dir;
	char path[4096];
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: fuzz-seedgen OUTDIR FILE...\n");
		return 2;
	}
	dir = argv[1];
	mkdir(dir, 0755);
	for (const char *const *s = (const char *const[]){"scenario", "args", "qemu_argv", "umockdev", NULL}; *s; s++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *s);
		mkdir(path, 0755);
	}
	for (int i = 2; i < argc; i++) {
		const char *p = argv[i], *slash = strrchr(p, '/');
		const char *base = slash ? slash + 1 : p;
		size_t bl = strlen(base), len;
		char *text;
		/* Files of several folders may share a name: prefix with the index. */
		char name[1024];

		if (read_file(p, &text, &len) < 0) {
			fprintf(stderr, "fuzz-seedgen: %s: %s\n", p, strerror(errno));
			rc = 1;
			continue;
		}
		snprintf(name, sizeof(name), "%03d-%s", i - 1, base);
		if (bl > 5 && strcmp(base + bl - 5, ".yaml") == 0) {
			if (write_file(dir, "scenario", name, "", text, len) < 0)
				rc = 1;
		} else if (bl > 5 && strcmp(base + bl - 5, ".args") == 0) {
			if (write_file(dir, "args", name, "", text, len) < 0 || argv_seed(dir, name, text, len) < 0)
				rc = 1;
		} else if (bl > 9 && strcmp(base + bl - 9, ".umockdev") == 0) {
			if (write_file(dir, "umockdev", name, "", text, len) < 0)
				rc = 1;
		} else {
			fprintf(stderr, "fuzz-seedgen: %s: not .yaml, .args or .umockdev\n", p);
			rc = 1;
		}
		free(text);
	}
	return rc;
}
