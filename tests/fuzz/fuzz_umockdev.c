/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: fakesys import-umockdev, the reader of files people
 * attach to bug reports.  The input is a umockdev recording in memory:
 * vk_fakesys_import_umockdev_buffer() lays it out in a temporary directory and
 * records that tree.  Besides the sanitizers, three things are bugs:
 *
 *  - the recorder wrote a scenario it cannot load itself (its own check:
 *    "does not form a valid scenario"), or libyaml's emitter refused it;
 *  - a scenario it returned does not load;
 *  - the temporary directory stayed behind.  TMPDIR is a private directory
 *    made at start, which must be empty after every input.
 */
#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/fakesys_record.h>
#include <vfiokit/host_model.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tmpdir[PATH_MAX];

static void remove_tmpdir(void)
{
	rmdir(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(tmpdir, sizeof(tmpdir), "%s/fuzz-umockdev.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("fuzz_umockdev: mkdtemp");
		abort();
	}
	setenv("TMPDIR", tmpdir, 1);
	atexit(remove_tmpdir);
	return 0;
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		abort();
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vk_error err = {0};
	char *out = NULL, *notes = NULL;
	size_t olen = 0, nlen = 0;
	FILE *o = open_memstream(&out, &olen), *n = open_memstream(&notes, &nlen);

	if (!o || !n)
		abort();
	int k = vk_fakesys_import_umockdev_buffer("fuzz.umockdev", (const char *)data, size, o, n, &err);
	fclose(o);
	fclose(n);
	if (k < 0 && (strstr(err.msg, "does not form a valid scenario") || strstr(err.msg, "emitter"))) {
		fprintf(stderr, "fuzz_umockdev: the recorder wrote what it cannot read: %s\n", err.msg);
		abort();
	}
	if (k == 0) {
		struct vk_host_model *m = NULL;
		if (vk_host_model_load_buffer("imported.yaml", out, olen, &m, &err) < 0) {
			fprintf(stderr, "fuzz_umockdev: the imported scenario does not load: %s\n", err.msg);
			abort();
		}
		vk_host_model_free(m);
	}
	if (entries(tmpdir)) {
		fprintf(stderr, "fuzz_umockdev: the temporary directory stayed in %s\n", tmpdir);
		abort();
	}
	free(out);
	free(notes);
	return 0;
}
