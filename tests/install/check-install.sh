#!/bin/sh
# The install as a distribution package and a user of the libraries see it:
# check-install.sh BUILD_DIR SOURCE_DIR
#
# `cmake --install --prefix P` into a temporary prefix other than the one the
# build was configured with, then, against the installed tree only:
#  - the files a package ships are there (programs, libraries, headers, man
#    pages, the docs the man pages name, LICENSE, scenarios, .pc, CMake config);
#  - every library has its SONAME, exports vk_ names only, carries no RPATH;
#  - no installed header defines a macro without the VK_/VFIOKIT_ prefix;
#  - three consumers build and run: a C program with `pkg-config
#    vfiokit-resolver`, one with `pkg-config vfiokit-fakesys`, a C++ program
#    including every public header, and a CMake project with
#    find_package(vfiokit) linking vfiokit::doctor;
#  - the .pc files name P, the prefix given at install time.
set -eu
build=$1
src=$2
prefix=$(mktemp -d "${TMPDIR:-/tmp}/vfiokit-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
fail=0
bad() {
	echo "FAIL: $*" >&2
	fail=1
}

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(cd "$prefix" && ls -d lib* | head -n 1)
libdir=$prefix/$libdir
for f in bin/fakesys bin/vfio-resolve bin/vfio-validate bin/vfio-doctor \
	include/vfiokit/pci_addr.h include/vfiokit/host_model.h include/vfiokit/error.h \
	share/man/man1/fakesys.1 share/man/man1/vfio-resolve.1 share/man/man1/vfio-validate.1 \
	share/man/man1/vfio-doctor.1 \
	share/bash-completion/completions/fakesys share/bash-completion/completions/vfio-resolve \
	share/bash-completion/completions/vfio-validate share/bash-completion/completions/vfio-doctor \
	share/doc/vfiokit/LICENSE share/doc/vfiokit/README.md share/doc/vfiokit/docs/rules.md \
	share/doc/vfiokit/docs/architecture.md share/doc/vfiokit/docs/scenario-format.md \
	share/vfiokit/scenarios/default.yaml; do
	[ -e "$prefix/$f" ] || bad "missing after install: $f"
done
[ ! -e "$prefix/include/vfiokit/cleanup.h" ] || bad "the internal cleanup.h is installed"
for pc in vfiokit vfiokit-resolver vfiokit-fakesys vfiokit-validator vfiokit-doctor; do
	[ -e "$libdir/pkgconfig/$pc.pc" ] || bad "missing after install: $pc.pc"
done
[ -e "$libdir/cmake/vfiokit/vfiokitConfig.cmake" ] || bad "missing after install: vfiokitConfig.cmake"

# The ABI: SONAME, vk_ names only, no RPATH (docs/abi.md).
for part in resolver fakesys validator doctor; do
	so=$libdir/libvfiokit-$part.so
	[ -e "$so" ] || { bad "missing after install: libvfiokit-$part.so"; continue; }
	soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
	[ "$soname" = "libvfiokit-$part.so.0" ] || bad "libvfiokit-$part.so: SONAME '$soname', want libvfiokit-$part.so.0"
	[ -e "$libdir/$soname" ] || bad "libvfiokit-$part.so: no $soname beside it"
	# defined dynamic symbols; the version node (VFIOKIT_0.1, type A) is not a name
	others=$(nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | grep -v '^vk_' || true)
	[ -z "$others" ] || bad "libvfiokit-$part.so exports names without the vk_ prefix: $(echo $others)"
	n=$(nm -D --defined-only "$so" | awk '$2 != "A"' | wc -l)
	[ "$n" -gt 0 ] || bad "libvfiokit-$part.so exports nothing"
	if readelf -d "$so" | grep -Eq 'R(UN)?PATH'; then
		bad "libvfiokit-$part.so carries an RPATH/RUNPATH"
	fi
done

# Installed headers define no macro outside the project's prefixes.
macros=$(grep -ho '^[[:space:]]*#[[:space:]]*define[[:space:]]\+[A-Za-z_][A-Za-z0-9_]*' "$prefix"/include/vfiokit/*.h |
	awk '{ print $NF }' | grep -Ev '^(VK_|VFIOKIT_)' || true)
[ -z "$macros" ] || bad "installed headers define unprefixed macros: $(echo $macros)"
[ $fail -eq 0 ] || exit 1

export PKG_CONFIG_PATH="$libdir/pkgconfig"
export LD_LIBRARY_PATH="$libdir"
pcprefix=$(cd "$(pkg-config --variable=prefix vfiokit-resolver)" && pwd -P)
[ "$pcprefix" = "$(cd "$prefix" && pwd -P)" ] || bad "vfiokit-resolver.pc names prefix $pcprefix, installed in $prefix"

# 1. The resolver alone: no fuse3, libyaml or libudev on its link line.
cat >"$prefix/resolver.c" <<'C'
#include <stdio.h>
#include <vfiokit/pci_addr.h>
int main(int argc, char **argv)
{
	struct vk_pci_addr a;
	struct vk_error e = {0};
	char buf[VK_PCI_ADDR_STRLEN];
	if (argc < 2 || vk_pci_addr_parse(argv[1], &a, &e) < 0)
		return 1;
	puts(vk_pci_addr_format(&a, buf));
	return 0;
}
C
rlibs=$(pkg-config --libs vfiokit-resolver)
case "$rlibs" in *fuse3* | *yaml* | *udev*) bad "pkg-config --libs vfiokit-resolver names fakesys's libraries: $rlibs" ;; esac
cc -Wall -Werror -o "$prefix/resolver" "$prefix/resolver.c" $(pkg-config --cflags vfiokit-resolver) $rlibs
out=$("$prefix/resolver" 0000:01:00.0)
[ "$out" = "0000:01:00.0" ] || bad "the resolver program printed '$out'"

# 2. fakesys through its own .pc (which pulls in the resolver's).
cat >"$prefix/fakesys.c" <<'C'
#include <stdio.h>
#include <vfiokit/host_model.h>
int main(int argc, char **argv)
{
	struct vk_host_model *m;
	struct vk_error e = {0};
	if (vk_host_model_load(argv[1], &m, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	printf("%zu devices\n", m->n_devices);
	vk_host_model_free(m);
	return 0;
}
C
cc -Wall -Werror -o "$prefix/fakesys" "$prefix/fakesys.c" $(pkg-config --cflags --libs vfiokit-fakesys)
out=$("$prefix/fakesys" "$src/scenarios/default.yaml")
[ "$out" = "13 devices" ] || bad "the fakesys program printed '$out'"

# 3. C++: every installed header, together, with the C++ compiler's pedantry.
{
	for h in "$prefix"/include/vfiokit/*.h; do
		echo "#include <vfiokit/$(basename "$h")>"
	done
	echo 'int main() { vk_error e = {}; vk_error_clear(&e); return e.code; }'
} >"$prefix/all.cpp"
c++ -std=c++17 -Wall -Wextra -Werror -pedantic -o "$prefix/allcxx" "$prefix/all.cpp" $(pkg-config --cflags --libs vfiokit)
"$prefix/allcxx" || bad "the C++ program including every header failed"

# 4. CMake: find_package(vfiokit) and an imported target.
mkdir "$prefix/cmakeuser"
cat >"$prefix/cmakeuser/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(vfiokit_user C)
find_package(vfiokit 0.1 REQUIRED)
add_executable(user user.c)
target_link_libraries(user PRIVATE vfiokit::doctor)
CM
cat >"$prefix/cmakeuser/user.c" <<'C'
#include <inttypes.h>
#include <stdio.h>
#include <vfiokit/doctor.h>
int main(void)
{
	uint64_t v = 0;
	if (vk_doctor_parse_size("64M", false, &v) < 0)
		return 1;
	printf("%" PRIu64 "\n", v);
	return 0;
}
C
cmake -S "$prefix/cmakeuser" -B "$prefix/cmakeuser/build" -DCMAKE_PREFIX_PATH="$prefix" >"$prefix/cmake.log" 2>&1 ||
	{ cat "$prefix/cmake.log" >&2; bad "a CMake project cannot find_package(vfiokit)"; exit 1; }
cmake --build "$prefix/cmakeuser/build" >"$prefix/cmake.log" 2>&1 ||
	{ cat "$prefix/cmake.log" >&2; bad "a CMake project cannot build against vfiokit::doctor"; exit 1; }
out=$("$prefix/cmakeuser/build/user")
[ "$out" = 67108864 ] || bad "the CMake user printed '$out' for 64M"

[ $fail -eq 0 ] || exit 1
echo "install: ok ($prefix): 4 libraries with SONAMEs and vk_ names only, 5 .pc files, C, C++ and CMake users"
