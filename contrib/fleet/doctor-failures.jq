# SPDX-License-Identifier: LGPL-2.1-or-later
# Which hosts fail which check, from the reports of many hosts
# (`vfio-doctor --json`, one file per host; docs/fleet.md):
#
#   jq -r -s -f contrib/fleet/doctor-failures.jq results/*.json
#
# One line per failing check, by rule id: the id, the rule's name, and where
# it fails, "host" or "host (device)" for a device check, sorted.  A report
# without a host name (a fake tree checked with --root) is named by its root.
[ .[]
  | (.hostname // .root) as $host
  | .checks[]
  | select(.status == "FAIL")
  | {id, name, where: (if .subject then "\($host) (\(.subject))" else $host end)} ]
| group_by(.id)[]
| "\(.[0].id) \(.[0].name): \(map(.where) | unique | join(", "))"
