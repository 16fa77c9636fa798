/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the .args reader (the shell-quoted text libvirt writes).
 * The input is the file's text in memory: vk_qc_split_args_text(), then
 * vk_qc_parse_args_text(); everything freed.  Nothing touches the filesystem.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <vfiokit/qemu_cmdline.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct vk_qc_cmdline *c = NULL;
	struct vk_qc_pos pos;
	struct vk_error err = {0};
	char **words = NULL;
	unsigned *lines = NULL;
	size_t n = 0;

	if (vk_qc_split_args_text(text, size, &words, &n, &lines, &pos, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			free(words[i]);
		free(words);
		free(lines);
	}
	if (vk_qc_parse_args_text(text, size, &c, &pos, &err) == 0) {
		for (size_t i = 0; i < c->nopts; i++)
			(void)vk_qc_option_type(&c->opts[i]);
		vk_qc_cmdline_free(c);
	}
	return 0;
}
