/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers of the scenario's sections that live in files of their own; the
 * top-level parser (scenario.c) calls them.  They read through the YAML
 * toolkit (yaml_read.h) and call nothing back.
 */
#ifndef VFIOKIT_SECTIONS_H
#define VFIOKIT_SECTIONS_H

#include <stddef.h>

#include <vfiokit/fakesys_live.h>
#include <vfiokit/host_model.h>

#include "model/yaml_read.h"

/* The faults: list (faults.c) into *@list (the previous one freed). */
int scenario_parse_faults(struct yreader *y, const struct ynode *v, struct vk_fakesys_fault **list, size_t *count);
/* The steps: list (faults.c) into *@list (the previous one freed). */
int scenario_parse_steps(struct yreader *y, const struct ynode *v, struct vk_fakesys_fault **list, size_t *count);

/* platform.c: the keys of cpu: beyond vendor and hypervisor (count, nodes,
 * model_name, flags; 1 for a key it does not know), the firmware: mapping,
 * and a device's net: list. */
int platform_cpu_key(struct yreader *y, const char *key, const struct ynode *v, struct vk_host_model *m);
int platform_parse_firmware(struct yreader *y, const struct ynode *v);
int platform_parse_net(struct yreader *y, const struct ynode *v, struct vk_host_device *d);

#endif
