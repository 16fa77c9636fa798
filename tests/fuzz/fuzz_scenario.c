/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the scenario parser.  The input is a scenario (YAML) in
 * memory: vk_host_model_load_buffer(), then vk_host_tree_build() on a model that
 * loaded, then everything freed.  Nothing touches the filesystem.
 */
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>
#include <vfiokit/vtree.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vk_host_model *m = NULL;
	struct vtree *t = NULL;
	struct vk_error err = {0};

	if (vk_host_model_load_buffer("fuzz.yaml", (const char *)data, size, &m, &err) < 0)
		return 0;
	vk_host_model_assign_group_minors(m);
	if (vk_host_tree_build(m, &t, &err) == 0)
		vk_vtree_free(t);
	vk_host_model_free(m);
	return 0;
}
