/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory per device stays flat from 500 to 2,000 devices (issue 17): today
 * ~5 KiB of tree and ~9.5 KiB of malloc per device at both sizes, within
 * 10%.  Something kept per device pair fails the 1.25x bound from 1.2 bytes a
 * pair up (one pointer per pair: 2x).  Nothing is timed: the tree's arena and malloc's count of bytes
 * in use are the same on every run for the same host.  The time side of
 * "linear" is tests/bench/bench_fakesys's scale table.
 */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdio.h>

#include <vfiokit/host_model.h>
#include <vfiokit/host_tree.h>

#include "../bench/bench_host.h"
#include "testutil.h"

struct cost {
	double tree;   /* vk_vtree_bytes() per device */
	double malloc; /* malloc's bytes in use per device, load and build; 0 when unknown */
};

static struct cost cost_of(unsigned n)
{
	char tmp[256], yaml[512];
	struct vk_host_model *m = NULL;
	struct vtree *t = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(yaml, sizeof(yaml), "%s/host.yaml", tmp);
	cr_assert_eq(bench_write_host(yaml, n), 0);
	size_t before = mallinfo2().uordblks;
	cr_assert_eq(vk_host_model_load(yaml, &m, &e), 0, "%s", e.msg);
	cr_assert_eq(vk_host_tree_build(m, &t, &e), 0, "%s", e.msg);
	size_t after = mallinfo2().uordblks;
	struct cost c = {(double)vk_vtree_bytes(t) / n, before && after > before ? (double)(after - before) / n : 0};
	vk_vtree_free(t);
	vk_host_model_free(m);
	vk_rm_rf(tmp);
	return c;
}

Test(scale, memory_per_device_is_flat)
{
	struct cost small = cost_of(500), big = cost_of(2000);

	cr_log_info("tree: %.0f B/device at 500, %.0f at 2,000; malloc: %.0f, %.0f", small.tree, big.tree, small.malloc,
	            big.malloc);
	cr_assert_gt(small.tree, 0);
	cr_assert_leq(big.tree, 1.25 * small.tree, "tree bytes per device: %.0f at 2,000, %.0f at 500", big.tree,
	              small.tree);
	/* a sanitizer's malloc keeps no such count (0): the tree's figure above stands alone */
	if (small.malloc > 0 && big.malloc > 0)
		cr_assert_leq(big.malloc, 1.25 * small.malloc, "malloc bytes per device: %.0f at 2,000, %.0f at 500",
		              big.malloc, small.malloc);
}
