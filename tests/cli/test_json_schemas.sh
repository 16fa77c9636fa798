#!/bin/bash
# Every --json output of vfio-resolve, vfio-validate and vfio-doctor - on
# success, on "no" (exit 1) and on failure (exit 2, a missing root, an
# unparsable command line) - satisfies the one envelope
# (docs/schemas/envelope.schema.json) and its tool's schema; documents that
# break them are refused (the checker can fail).  Python's jsonschema
# (Debian python3-jsonschema, setup.sh installs it) does the checking.
# Usage: test_json_schemas.sh BUILD_DIR SOURCE_DIR VERSION
. "$(dirname "$0")/lib.sh"
tree
"$FAKESYS" materialize "$S/scenarios/doctor-iommu-off.yaml" "$W/off" || exit 1
PY=/usr/bin/python3
[ -x $PY ] || { echo "SKIP: no /usr/bin/python3" >&2; exit 77; }

n=0
# json NAME WANT_STATUS CMD...: run CMD, keep its standard output as $W/j/NAME.json
mkdir "$W/j"
json() {
	local name=$1 want=$2
	shift 2
	"$@" >"$W/j/$name.json" 2>"$W/j/$name.err"
	local rc=$?
	[ "$rc" = "$want" ] || fail "$name: exit $rc, want $want: $(head -c 400 "$W/j/$name.err")"
	$PY -c 'import json,sys; json.load(open(sys.argv[1]))' "$W/j/$name.json" 2>/dev/null ||
		fail "$name: not one JSON document: $(head -c 400 "$W/j/$name.json")"
	# the envelope's exit is the real one
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d.get("exit")==int(sys.argv[2]) and d.get("ok")==(sys.argv[2]=="0") else 1)' \
		"$W/j/$name.json" "$rc" 2>/dev/null || fail "$name: exit/ok in the JSON do not say $rc"
	n=$((n + 1))
}

json resolve-facts 0 "$RESOLVE" --json --root "$W/tree" 0000:01:00.0
json resolve-facts-no 1 "$RESOLVE" --json --root "$W/tree" 0000:01:00.0 0000:00:00.0 0000:7f:1f.7
json resolve-open 0 "$RESOLVE" --json --open --root "$W/tree" 0000:01:00.0
json resolve-open-legacy 0 "$RESOLVE" --json --open --legacy --root "$W/tree" 0000:01:00.0
json resolve-open-fail 1 "$RESOLVE" --json --open --root "$W/tree" 0000:01:00.0 0000:00:00.0
json resolve-argv 0 "$RESOLVE" --json --argv --root "$W/tree" 0000:01:00.0
json resolve-argv-fail 1 "$RESOLVE" --json --argv --root "$W/tree" 0000:00:00.0
json resolve-noroot 1 "$RESOLVE" --json --root "$W/none" 0000:01:00.0
json validate-clean 0 "$VALIDATE" --json -- qemu-system-x86_64 -device vfio-pci,host=06:00.0
json validate-errors 1 "$VALIDATE" --json -- qemu-system-x86_64 -object iommufd,id=u0 \
	-device vfio-pci,host=0000:01:00.0,sysfsdev=/sys/bus/pci/devices/0000:01:00.0 -device vfio-pci,host=02:00.0,fd=21
json validate-host 1 "$VALIDATE" --json --root "$W/tree" -- qemu-system-x86_64 -device vfio-pci,host=0000:00:00.0
json validate-parse 2 "$VALIDATE" --json -- -device '{"driver":'
json validate-noroot 2 "$VALIDATE" --json --root "$W/none" -- qemu-system-x86_64 -device vfio-pci,host=06:00.0
json doctor-pass 0 "$DOCTOR" --json --root "$W/tree" --no-qemu --memlock unlimited
json doctor-fail 1 "$DOCTOR" --json --root "$W/off" --no-qemu --memlock 64M --memory 16G
json doctor-noroot 2 "$DOCTOR" --json --root "$W/none"
# the stand-in writes its JSON report on stderr
"$VALIDATE" --stand-in --json -- qemu-system-x86_64 -device vfio-pci,host=06:00.0 2>"$W/j/validate-standin.json" >/dev/null
n=$((n + 1))

# documents that must be refused: the envelope broken in each of its ways
mk() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); $2; json.dump(d, open(sys.argv[2], 'w'))" \
	"$W/j/$1.json" "$W/j/bad-$3.json"; }
mk doctor-pass 'del d["ok"]' no-ok
mk doctor-pass 'd["ok"]=False' ok-lies
mk validate-clean 'd["exit"]=1' exit-lies
mk resolve-facts 'd["tool"]="vfio-frob"' tool
mk resolve-facts 'd["error"]="x"' error-string
mk validate-errors 'd["findings"][0]["severity"]="fatal"' severity
mk doctor-fail 'd.pop("checks")' no-checks
mk resolve-facts 'd["devices"][0]["state"]="fine"' state
mk doctor-noroot 'd["exit"]=0; d["ok"]=True' error-with-exit-0
negatives=()
for f in "$W"/j/bad-*.json; do
	negatives+=("!$f")
done

files=()
for f in "$W"/j/*.json; do
	case $f in */bad-*) ;; *) files+=("$f") ;; esac
done
[ "${#files[@]}" = "$n" ] || fail "$n outputs made, ${#files[@]} found"
$PY -I "$S/tests/cli/check_schema.py" "$S/docs/schemas" "${files[@]}" "${negatives[@]}" >"$W/check.out" 2>&1
rc=$?
[ $rc = 77 ] && { cat "$W/check.out" >&2; exit 77; }
[ $rc = 0 ] || fail "schema check: $(cat "$W/check.out")"
tail -1 "$W/check.out"

# the one envelope: the same five members first, in the same order, in every output
for f in "${files[@]}"; do
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if list(d)[:5]==["tool","version","ok","exit","error"] else 1)' "$f" ||
		fail "$f: the envelope's members do not come first"
done
finish
