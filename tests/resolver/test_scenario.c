/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scenario tests on plain trees written by `fakesys materialize`. */
#include "testutil.h"

#define SUITE scenario_plain
#define SERVE(sc, dir, len) vk_materialize(sc, dir, len)
#define UNSERVE(dir) vk_rm_rf(dir)

#include "scenario_cases.h"
