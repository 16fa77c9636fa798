/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which parts of a host the scenario owns: the subtrees vk_host_tree_build()
 * and its parts (tree_parts.h) make whole, so that what the real host has
 * there is replaced, never merged (fakesys run's overlay, run/ns_overlay.c).
 * Declared next to the builders so that a new subtree is owned where it is
 * built.
 */
#ifndef VFIOKIT_TREE_OWNED_H
#define VFIOKIT_TREE_OWNED_H

#include <stdbool.h>

#include <vfiokit/vtree.h>

/*
 * Whether the entry at @rel ("sys/bus/pci", no leading '/') is the scenario's
 * for the tree @t built from it: the real host's entry is then hidden (when
 * @t has none) or replaced (when it has one).  Everything else @t has is
 * added to the real directory beside the host's own entries.
 */
bool tree_owns(struct vtree *t, const char *rel);

#endif
