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
int scenario_parse_faults(struct yreader *y, const struct ynode *v, struct fakesys_fault **list, size_t *count);
/* The steps: list (faults.c) into *@list (the previous one freed). */
int scenario_parse_steps(struct yreader *y, const struct ynode *v, struct fakesys_fault **list, size_t *count);
/* The expect: block (expect.c) into *@out (the previous one freed). */
int scenario_parse_expect(struct yreader *y, const struct ynode *v, struct fakesys_expect **out);

#endif
