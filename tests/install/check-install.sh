#!/bin/sh
# Install the build into a temporary prefix and check that what a user of the
# libraries needs is there: binaries, shared libraries, public headers, the
# pkg-config file (by compiling and running a program against it), man pages.
set -eu
build=$1
src=$2
prefix=$(mktemp -d /tmp/vfiokit-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib* | head -n 1)
fail=0
for f in bin/fakesys bin/vfio-resolve include/vfiokit/pci_addr.h include/vfiokit/host_model.h \
         include/vfiokit/error.h share/man/man1/fakesys.1 share/man/man1/vfio-resolve.1 \
         share/vfiokit/scenarios/default.yaml share/bash-completion/completions/fakesys \
         share/bash-completion/completions/vfio-resolve share/bash-completion/completions/vfio-validate \
         share/bash-completion/completions/vfio-doctor share/man/man1/vfio-validate.1 share/man/man1/vfio-doctor.1; do
	[ -e "$prefix/$f" ] || { echo "missing after install: $f"; fail=1; }
done
pc=$(find "$prefix" -name vfiokit.pc | head -n 1)
[ -n "$pc" ] || { echo "missing after install: vfiokit.pc"; exit 1; }
[ $fail -eq 0 ] || exit 1

cat >"$prefix/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <vfiokit/pci_addr.h>
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
# the .pc names the configured prefix; point it at the temporary one
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$prefix" --cflags --libs vfiokit)
cc -o "$prefix/use" "$prefix/use.c" $flags
out=$(LD_LIBRARY_PATH="$libdir" "$prefix/use" "$src/scenarios/default.yaml")
[ "$out" = "13 devices" ] || { echo "program built against the installed vfiokit printed '$out'"; exit 1; }
echo "install: ok ($prefix)"
