/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers on the host model for the scenario parsers and checks (model.c).
 * They know nothing of YAML, and call nothing of the parsers.
 */
#ifndef VFIOKIT_MODEL_INTERNAL_H
#define VFIOKIT_MODEL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <vfiokit/host_model.h>

#include "vk_scenario_section.h"

/* Free what device @d owns and zero it (not @d itself): the one destructor of
 * a device, for vk_host_model_free() and for the live mode's remove. */
void host_device_clear(struct vk_host_device *d);

/* The index of driver @name in m->drivers, SIZE_MAX when it is not there. */
size_t model_driver_index(const struct vk_host_model *m, const char *name);
/* The devices bound to each driver m->drivers[k], in address order: first[k]
 * (n_drivers entries), then next[i] after device i (n_devices entries);
 * n_devices ends a list.  One pass over the devices. */
void model_driver_devices(const struct vk_host_model *m, size_t *first, size_t *next);
/* Whether @name is a driver fakesys knows or the scenario declared (m->drivers). */
bool model_driver_known(const struct vk_host_model *m, const char *name);
/* The drivers' IDs as the scenario binds devices (host_model.native_ids); -ENOMEM. */
int host_model_note_native_ids(struct vk_host_model *m);

/* Add @name to m->drivers, which stays sorted and unique; -ENOMEM. */
int model_add_driver(struct vk_host_model *m, const char *name);
/* Sort m->drivers and drop repeats (after a list was appended as given). */
void model_sort_drivers(struct vk_host_model *m);

/* The set of strings (struct name_set, vk_scenario_section.h, where it is
 * exported as vk__name_set_* for the section parsers outside the library). */
/* 1 when added, 0 when already there, -ENOMEM. */
int name_set_add(struct name_set *s, const char *name);
bool name_set_has(const struct name_set *s, const char *name);
void name_set_free(struct name_set *s);

#endif
