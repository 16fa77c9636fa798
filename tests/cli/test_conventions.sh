#!/bin/bash
# The conventions of fakesys, vfio-resolve, vfio-validate and vfio-doctor
# (issue #19): --help everywhere (each fakesys command too), one version line
# for -V and --version, usage errors that say where help is, -q, --color,
# fakesys show in the locale's charset, vfio-doctor in 80 columns with -v's
# evidence under its check, vfio-resolve's JSON also on failure.
# Usage: test_conventions.sh BUILD_DIR SOURCE_DIR VERSION
. "$(dirname "$0")/lib.sh"
tree

# ---- --help, -V/--version, usage errors: all four alike ----
for t in fakesys vfio-resolve vfio-validate vfio-doctor; do
	case $t in
	fakesys) bin=$FAKESYS ;; vfio-resolve) bin=$RESOLVE ;; vfio-validate) bin=$VALIDATE ;; vfio-doctor) bin=$DOCTOR ;;
	esac
	for h in -h --help; do
		run help "$bin" $h
		expect_rc 0 "$t $h" help
		has help.out "Usage: $t"
		has help.out "Exit status: 0"
		has help.out "-V, --version"
		empty help.err
	done
	for v in -V --version; do
		run ver "$bin" $v
		expect_rc 0 "$t $v" ver
		[ "$(cat "$W/ver.out")" = "$t (vfiokit) $VERSION" ] || fail "$t $v prints '$(cat "$W/ver.out")'"
	done
	run bad "$bin" --no-such-option
	expect_rc 2 "$t --no-such-option" bad
	empty bad.out
	has bad.err "$t: "
	has bad.err "--no-such-option"
	has bad.err "Try '$t --help'."
	[ "$(wc -l <"$W/bad.err")" = 2 ] || fail "$t --no-such-option: not one message and one hint: $(cat "$W/bad.err")"
	# an option without its value: one message too (not getopt's and ours)
	[ $t = fakesys ] && miss=(mount --pidfile) || miss=(--root)
	run miss "$bin" "${miss[@]}"
	expect_rc 2 "$t ${miss[*]}" miss
	[ "$(wc -l <"$W/miss.err")" = 2 ] || fail "$t ${miss[*]}: not one message and one hint: $(cat "$W/miss.err")"
done
grep -q -- "-q, --quiet" <("$RESOLVE" --help) || fail "vfio-resolve --help has no -q"
for t in "$VALIDATE" "$DOCTOR"; do
	"$t" --help | grep -q -- "--color\[=WHEN\]" || fail "$t --help has no --color"
	"$t" --help | grep -q -- "-q, --quiet" || fail "$t --help has no -q"
done

# ---- fakesys: every command has --help, never taken for a file name ----
for c in materialize mount umount show run record import-umockdev test; do
	run chelp "$FAKESYS" $c --help
	expect_rc 0 "fakesys $c --help" chelp
	has chelp.out "Usage: fakesys $c "
	has chelp.out "-h, --help"
	has chelp.out "Exit status:"
	empty chelp.err
	run chelp2 "$FAKESYS" help $c
	cmp -s "$W/chelp.out" "$W/chelp2.out" || fail "fakesys help $c differs from fakesys $c --help"
	run chh "$FAKESYS" $c -h
	cmp -s "$W/chelp.out" "$W/chh.out" || fail "fakesys $c -h differs from --help"
	"$FAKESYS" --help | grep -q "^  $c " || fail "fakesys --help does not list $c"
done
# the help of a command whose options come after an argument
run rhelp "$FAKESYS" record --redact --help
has rhelp.out "Usage: fakesys record"
# a file really named --help is still reachable
cp "$S/scenarios/default.yaml" "$W/--help"
(cd "$W" && "$FAKESYS" show -- --help) >"$W/showfile.out" 2>&1 || fail "fakesys show -- --help: $(cat "$W/showfile.out")"
grep -q "^host default" "$W/showfile.out" || fail "fakesys show -- --help did not show the file"
# fakesys run passes --help on to CMD
run runhelp "$FAKESYS" run --help
has runhelp.out "Usage: fakesys run"
for c in materialize mount umount show run record import-umockdev; do
	run cbad "$FAKESYS" $c --bogus
	expect_rc 2 "fakesys $c --bogus" cbad
	has cbad.err "fakesys $c: unknown or incomplete option '--bogus'"
	has cbad.err "Try 'fakesys $c --help'."
done
# test and check parse their options in conformance/: the same form
for c in test check; do
	run cbad "$FAKESYS" $c --bogus
	expect_rc 2 "fakesys $c --bogus" cbad
	has cbad.err "Try 'fakesys $c --help'."
done
run nocmd "$FAKESYS"
expect_rc 2 "fakesys without a command" nocmd
has nocmd.err "Try 'fakesys --help'."
run unk "$FAKESYS" frobnicate
expect_rc 2 "fakesys frobnicate" unk
has unk.err "unknown command 'frobnicate'"

# ---- -q ----
# vfio-resolve: nothing on stdout, the same exit status
run r "$RESOLVE" --root "$W/tree" 0000:01:00.0
expect_rc 0 "vfio-resolve" r
has r.out "vfio_cdev"
run rq "$RESOLVE" -q --root "$W/tree" 0000:01:00.0
expect_rc 0 "vfio-resolve -q" rq
empty rq.out
run rq1 "$RESOLVE" --quiet --root "$W/tree" 0000:00:00.0
expect_rc 1 "vfio-resolve -q, a device not on vfio-pci" rq1
empty rq1.out
run rqo "$RESOLVE" -q --open --root "$W/tree" 0000:00:00.0
expect_rc 1 "vfio-resolve -q --open" rqo
empty rqo.out
has rqo.err "not bound to any driver"
# vfio-validate: no info findings, no "no findings" line; errors stay
run v "$VALIDATE" -- qemu-system-x86_64 -device vfio-pci,host=06:00.0
has v.out "no findings"
run vq "$VALIDATE" -q -- qemu-system-x86_64 -device vfio-pci,host=06:00.0
expect_rc 0 "vfio-validate -q" vq
empty vq.out
run ve "$VALIDATE" -q -- -device vfio-pci,fd=22
expect_rc 1 "vfio-validate -q with an error" ve
has ve.out "VV005"
# info findings go, warnings and errors stay: a line with one of each
qargs=(-- qemu-system-x86_64 -object iommufd,id=unused0
       -device vfio-pci,host=0000:01:00.0,sysfsdev=/sys/bus/pci/devices/0000:01:00.0 -device vfio-pci,host=02:00.0,fd=21)
run vi "$VALIDATE" "${qargs[@]}"
run viq "$VALIDATE" -q "${qargs[@]}"
expect_rc 1 "vfio-validate -q, an error among them" viq
has vi.out "info    VV017"
hasnt viq.out "VV017"
has viq.out "warning VV002"
has viq.out "error   VV005"
[ "$(grep -c '^[a-z]' "$W/viq.out")" = 2 ] || fail "vfio-validate -q: want 2 findings: $(cat "$W/viq.out")"
# the JSON is complete with -q
run vij "$VALIDATE" -q --json "${qargs[@]}"
has vij.out '"id": "VV017"'
# vfio-doctor: only what did not pass, no summary
"$FAKESYS" materialize "$S/scenarios/doctor-intremap-off-intel.yaml" "$W/ir" || fail "materialize ir"
run dq "$DOCTOR" -q --root "$W/ir" --no-qemu --memlock unlimited
expect_rc 0 "vfio-doctor -q (warnings only)" dq
has dq.out ": WARN"
hasnt dq.out ": PASS"
hasnt dq.out "passed,"
run dqc "$DOCTOR" -q --root "$W/tree" --no-qemu --memlock unlimited
expect_rc 0 "vfio-doctor -q, all pass" dqc
empty dqc.out
# fakesys: no notes on stderr, the same scenario
run rec "$FAKESYS" record --root "$W/tree" --redact
has rec.err "left out (--redact)"
run recq "$FAKESYS" -q record --root "$W/tree" --redact
expect_rc 0 "fakesys -q record" recq
empty recq.err
cmp -s "$W/rec.out" "$W/recq.out" || fail "fakesys -q record wrote another scenario"
run recq2 "$FAKESYS" record -q --root "$W/tree" --redact
empty recq2.err

# ---- --color=WHEN ----
for t in "$VALIDATE" "$DOCTOR"; do
	if [ "$t" = "$VALIDATE" ]; then args=(-- -device vfio-pci,fd=22); else args=(--root "$W/ir" --no-qemu --memlock unlimited); fi
	run c0 "$t" "${args[@]}"
	grep -q $'\033\[' "$W/c0.out" && fail "$t colours a pipe"
	run c1 "$t" --color=always "${args[@]}"
	grep -q $'\033\[' "$W/c1.out" || fail "$t --color=always: no colour"
	run c2 "$t" --color=never "${args[@]}"
	grep -q $'\033\[' "$W/c2.out" && fail "$t --color=never: colour"
	run c3 "$t" --color=auto "${args[@]}"
	grep -q $'\033\[' "$W/c3.out" && fail "$t --color=auto on a pipe: colour"
	run c4 "$t" --color=sometimes "${args[@]}"
	expect_rc 2 "$t --color=sometimes" c4
	has c4.err "expected auto, always or never"
	# --color=always wins over NO_COLOR and TERM=dumb (it is asked for)
	NO_COLOR=1 TERM=dumb "$t" --color=always "${args[@]}" 2>/dev/null | grep -q $'\033\[' ||
		fail "$t --color=always with NO_COLOR: no colour"
done

# ---- fakesys show: UTF-8 boxes only in a UTF-8 locale ----
LC_ALL=C "$FAKESYS" show "$S/scenarios/default.yaml" >"$W/show.c" || fail "fakesys show under LC_ALL=C"
LC_ALL=C grep -q $'[\x80-\xff]' "$W/show.c" && fail "fakesys show under LC_ALL=C printed non-ASCII bytes: $(LC_ALL=C grep -n $'[\x80-\xff]' "$W/show.c" | head -3)"
grep -q '^|- 0000:00:00.0' "$W/show.c" || fail "no ASCII tree under LC_ALL=C: $(head -12 "$W/show.c")"
grep -q '^`- ' "$W/show.c" || fail "no ASCII corner under LC_ALL=C"
LANG=C LC_ALL= LC_CTYPE= "$FAKESYS" show "$S/scenarios/default.yaml" | LC_ALL=C grep -q $'[\x80-\xff]' &&
	fail "fakesys show under LANG=C printed non-ASCII bytes"
utf8=$(locale -a 2>/dev/null | grep -i -m1 -E '^(C\.utf-?8|en_US\.utf-?8)$')
if [ -n "$utf8" ]; then
	LC_ALL=$utf8 "$FAKESYS" show "$S/scenarios/default.yaml" >"$W/show.u" || fail "fakesys show under $utf8"
	grep -q '^├─ 0000:00:00.0' "$W/show.u" || fail "no UTF-8 tree under LC_ALL=$utf8: $(head -12 "$W/show.u")"
	# the same tree, drawn with other characters
	[ "$(wc -l <"$W/show.u")" = "$(wc -l <"$W/show.c")" ] || fail "the ASCII and UTF-8 trees differ in lines"
	sed -e 's/├─/|-/g; s/└─/`-/g; s/│/|/g' "$W/show.u" | cmp -s - "$W/show.c" || fail "the ASCII tree is not the UTF-8 one redrawn"
else
	echo "note: no UTF-8 locale on this machine (locale -a): only the ASCII drawing was checked" >&2
fi

# ---- vfio-doctor: 80 columns, the status at 77-80, evidence under its check ----
for root in tree ir; do
	"$DOCTOR" -v --root "$W/$root" --no-qemu --memlock unlimited --memory 1G >"$W/d.out" 2>"$W/d.err"
	# every line fits, but for one word that cannot be broken (a long path)
	awk 'length($0) > 80 && !/^ +(evidence: )?[^ ]+$/ { print "line " NR " has " length($0) " columns: " $0; bad = 1 } END { exit bad }' \
		"$W/d.out" || fail "vfio-doctor -v on $root: lines past 80 columns"
	awk '/: (PASS|WARN|FAIL)$/ { if (length($0) != 80 || index($0, ": PASS") + index($0, ": WARN") + index($0, ": FAIL") != 75) { print NR ": " $0; bad = 1 } n++ }
	     END { exit bad || n < 5 }' "$W/d.out" || fail "vfio-doctor on $root: a status line not ending at column 80"
	# each check's evidence comes before the next check's line, none at the end
	awk '/: (PASS|WARN|FAIL)$/ { check++; ev = 0 } /^ +evidence: / { if (!check) bad = 1; seen[check] = 1 }
	     /passed, / { summary = NR } /^ +evidence: / && summary { bad = 1 }
	     END { for (i = 1; i <= check; i++) if (!seen[i]) { print "check " i " has no evidence"; bad = 1 } exit bad }' \
		"$W/d.out" || fail "vfio-doctor -v on $root: evidence not under each check"
done
awk '/Checking for an IOMMU/ { c = 1; next } c && /: (PASS|WARN|FAIL)$/ { exit 1 } c && /evidence: .*sys\/kernel\/iommu_groups$/ { found = 1; exit 0 }
     END { exit !found }' "$W/d.out" || fail "VD001's evidence is not under VD001: $(head -20 "$W/d.out")"
grep -q "^evidence " "$W/d.out" && fail "the old evidence lines at the end are still printed"

# ---- vfio-resolve --json: JSON on failure too ----
run jo "$RESOLVE" --json --open --root "$W/tree" 0000:01:00.0 0000:00:00.0
expect_rc 1 "vfio-resolve --json --open, one device not on vfio-pci" jo
has jo.out '"ok": false'
has jo.out '"message": "0000:00:00.0: not bound to any driver'
has jo.err "not bound to any driver"
run ja "$RESOLVE" --json --argv --root "$W/tree" 0000:00:00.0
expect_rc 1 "vfio-resolve --json --argv, failing" ja
has ja.out '"argv": []'
run jr "$RESOLVE" --json --root "$W/no-such-root" 0000:01:00.0
expect_rc 1 "vfio-resolve --json, a missing root" jr
has jr.out '"error": {'
run jd "$DOCTOR" --json --root "$W/no-such-root"
expect_rc 2 "vfio-doctor --json, a missing root" jd
has jd.out '"error": {'

finish
