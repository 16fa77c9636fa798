/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the QEMU command-line parser, argv form.  The input is
 * split at NUL bytes into words, as /proc/PID/cmdline is (a trailing NUL ends
 * the last word), and parsed with vk_qc_parse_argv(VK_QC_ARGV_DETECT_PROGRAM); the
 * result's accessors are walked, then everything is freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/qemu_cmdline.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_qc_pos pos;
	struct vk_error err = {0};
	char *text, **argv;
	size_t argc = 0;

	/* A copy that ends in NUL, so that every word is a C string. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	size_t len = size && text[size - 1] == '\0' ? size : size + 1;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0')
			argc++;
	if (size == 0)
		argc = 0; /* an empty input: no words at all */
	argv = calloc(argc + 1, sizeof(char *));
	if (!argv) {
		free(text);
		return 0;
	}
	for (size_t i = 0, k = 0; k < argc; k++) {
		argv[k] = text + i;
		i += strlen(text + i) + 1;
	}

	if (vk_qc_parse_argv(argc, argv, NULL, VK_QC_ARGV_DETECT_PROGRAM, &c, &pos, &err) == 0) {
		for (size_t i = 0; i < c->nopts; i++) {
			const struct vk_qc_option *o = &c->opts[i];
			(void)vk_qc_option_type(o);
			for (size_t j = 0; j < o->nprops; j++)
				(void)vk_qc_option_prop(o, o->props[j].key);
		}
		vk_qc_cmdline_free(c);
	}
	free(argv);
	free(text);
	return 0;
}
