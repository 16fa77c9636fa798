#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The steps of a CI job, the same in every CI (docs/ci.md) and in the container
# recipe (contrib/Dockerfile, whose RUN lines call nothing else):
#
#   ci.sh deps [--check]      install the Debian 12 packages the build needs
#                             (--check: only name the missing ones, exit 1)
#   ci.sh configure DIR       configure a build in DIR (RelWithDebInfo, warnings
#                             as errors, no Criterion suite); a DIR configured
#                             before is left as it is
#   ci.sh build DIR           configure, then build everything DIR holds
#   ci.sh scenarios DIR [fakesys test options...]
#                             run the scenario library (scenarios/*.yaml) with
#                             DIR's fakesys: e.g. --shard 2/3 --junit junit-2.xml
#
# tests/conformance/test_ci.c runs these steps (deps --check, configure into a
# new directory, build and scenarios on the suite's own build) and checks that
# the Dockerfile calls exactly them.
set -eu

# the checkout this script is in (-P: also when reached through a symlink)
src=$(cd -P "$(dirname "$0")/../.." && pwd)
packages="build-essential cmake pkg-config libfuse3-dev fuse3 libyaml-dev libjansson-dev"

die() {
	echo "ci.sh: $*" >&2
	exit 2
}

missing() {
	for p in $packages; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
	done
}

deps() {
	command -v dpkg-query >/dev/null 2>&1 || die "deps: not a Debian system (no dpkg-query)"
	need=$(missing)
	if [ "${1:-}" = --check ]; then
		[ -z "$need" ] && return 0
		echo "ci.sh: missing packages:" $need >&2
		return 1
	fi
	[ $# -eq 0 ] || die "deps: unknown option $1"
	[ -z "$need" ] && return 0
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	# shellcheck disable=SC2086 # one word per package
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $need
}

configure() {
	[ $# -eq 1 ] || die "configure: expects a build directory"
	if [ -f "$1/CMakeCache.txt" ]; then
		# an existing build keeps its options (a developer's, or the test suite's own)
		echo "ci.sh: $1 is configured already; its options are kept" >&2
		return 0
	fi
	cmake -S "$src" -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVFIOKIT_WERROR=ON -DVFIOKIT_BUILD_TESTS=OFF
}

build() {
	[ $# -eq 1 ] || die "build: expects a build directory"
	configure "$1"
	cmake --build "$1" -j "$(nproc)"
}

scenarios() {
	[ $# -ge 1 ] || die "scenarios: expects a build directory"
	dir=$1
	shift
	[ -x "$dir/fakesys/fakesys" ] || die "scenarios: $dir/fakesys/fakesys is not built (ci.sh build $dir)"
	exec "$dir/fakesys/fakesys" test -j "$(nproc)" "$@" "$src/scenarios"
}

[ $# -ge 1 ] || die "usage: ci.sh deps [--check] | configure DIR | build DIR | scenarios DIR [OPTIONS]"
step=$1
shift
case $step in
deps | configure | build | scenarios) "$step" "$@" ;;
*) die "unknown step '$step' (deps, configure, build, scenarios)" ;;
esac
