/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIOKIT_FAKESYS_SCENARIO_H
#define VFIOKIT_FAKESYS_SCENARIO_H

#include <stddef.h>

#include <vfiokit/error.h>
#include <vfiokit/fakesys_live.h>
#include <vfiokit/host_model.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A scenario file as fakesys reads it: the host (<vfiokit/host_model.h>) and
 * what a live mount does to it, its faults: and steps: (served by
 * vk_fakesys_mount(), vk_fakesys_run(): their options' faults and steps).  The
 * expect: block is not fakesys's: the conformance runner (`fakesys test`)
 * parses it; this loader skips it.
 */
struct vk_fakesys_scenario {
	struct vk_host_model *host;
	struct vk_fakesys_fault *faults; /* the scenario's faults: */
	size_t n_faults;
	struct vk_fakesys_fault *steps; /* the scenario's steps: (fakesys_fault.step set) */
	size_t n_steps;
};

/**
 * vk_fakesys_scenario_load() - read, validate and complete a scenario file.
 * @path: YAML scenario (format version 1, docs/scenario-format.md).
 * @out:  receives a scenario to free with vk_fakesys_scenario_free().
 * @err:  receives "file:line:column: key: what was expected; how to fix".
 *
 * Returns 0, or a negative errno as vk_host_model_load() does.
 */
int vk_fakesys_scenario_load(const char *path, struct vk_fakesys_scenario **out, struct vk_error *err);

/* As vk_fakesys_scenario_load(), from a buffer; @name is used in messages. */
int vk_fakesys_scenario_load_buffer(const char *name, const char *buf, size_t len, struct vk_fakesys_scenario **out,
                                    struct vk_error *err);

/* Free @s and all it holds (its host too); NULL is allowed. */
void vk_fakesys_scenario_free(struct vk_fakesys_scenario *s);

#ifdef __cplusplus
}
#endif

#endif
