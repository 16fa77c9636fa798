#!/bin/sh
# Run one of the recipes of docs/recipes.md: run-example.sh pytest|go BUILD_DIR SOURCE_DIR
# with the build's fakesys; exits 77 (skipped) with the reason when the
# language's test tool is not installed (setup.sh installs both).
set -eu
kind=$1
build=$(cd "$2" && pwd -P)
src=$(cd "$3" && pwd -P)
export FAKESYS="$build/fakesys/fakesys"
case "$kind" in
pytest)
	command -v pytest-3 >/dev/null || { echo "SKIP: pytest-3 is not installed (apt-get install python3-pytest)" >&2; exit 77; }
	# nothing written into the source tree
	export PYTHONDONTWRITEBYTECODE=1
	exec pytest-3 -v -p no:cacheprovider "$src/examples/pytest"
	;;
go)
	command -v go >/dev/null || { echo "SKIP: go is not installed (apt-get install golang-go)" >&2; exit 77; }
	# caches in the build tree, no network (the example uses the standard library only)
	export GOCACHE="$build/go-cache" GOPATH="$build/go-path" GOPROXY=off GOFLAGS=-mod=mod
	cd "$src/examples/go"
	exec go test -count=1 -v ./...
	;;
*)
	echo "usage: $0 pytest|go BUILD_DIR SOURCE_DIR" >&2
	exit 2
	;;
esac
