#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Merge the JUnit XML reports of several `fakesys test --shard K/N` jobs.

    junit-merge.py OUT.xml SHARD1.xml SHARD2.xml ...

Every <testsuite> of the inputs with the same name becomes one (the shards of
`fakesys test` each write one suite, "scenarios"), its testcases in the order
of the inputs; the counts (tests, failures, errors, skipped) are recounted
from the testcases, not trusted from the inputs, and a suite's time is the
sum of the shards' times (the work done, not the wall-clock time of parallel
jobs).  The output keeps to the Jenkins xUnit junit-10 shape
(tests/conformance/junit.xsd): no `skipped` on <testsuites>, no `file` on a
testcase.

A testcase (classname and name) that appears in two inputs is an error: the
shards of one run are disjoint, so it means two runs' files were mixed, or a
shard was run twice.  Exit status 0, 1 for such an error or an input that is
not JUnit, 2 for a usage error.  Only the Python standard library is used.
"""
import os
import sys
import tempfile
import xml.etree.ElementTree as ET


def suites_of(path):
    root = ET.parse(path).getroot()
    if root.tag == "testsuite":
        return [root]
    if root.tag == "testsuites":
        return root.findall("testsuite")
    raise ValueError(f"{path}: the root element is <{root.tag}>, not <testsuites> or <testsuite>")


def seconds(text, what):
    try:
        value = float(text or 0)
    except ValueError:
        raise ValueError(f"{what}: time {text!r} is not a number of seconds")
    if value < 0:
        raise ValueError(f"{what}: time {text!r} is negative")
    return value


def merge(paths):
    merged = {}  # suite name -> (element, [time])
    seen = {}  # (suite, classname, name) -> input path
    for path in paths:
        for suite in suites_of(path):
            name = suite.get("name")
            if name is None:
                raise ValueError(f"{path}: a <testsuite> without a name")
            if name not in merged:
                merged[name] = (ET.Element("testsuite", {"name": name}), [0.0])
            out, time = merged[name]
            time[0] += seconds(suite.get("time"), f"{path}: testsuite {name}")
            for child in suite:
                if child.tag == "testcase":
                    key = (name, child.get("classname", ""), child.get("name"))
                    if key in seen:
                        raise ValueError(f"{path}: testcase {key[2]!r} of suite {name!r} is also in {seen[key]}: "
                                         "shards of one run are disjoint")
                    seen[key] = path
                    child.attrib.pop("file", None)  # junit-10 has no file attribute on a testcase
                    out.append(child)
                elif child.tag in ("properties", "system-out", "system-err"):
                    out.append(child)
                else:
                    raise ValueError(f"{path}: <{child.tag}> in testsuite {name!r} is not JUnit")
    root = ET.Element("testsuites", {"name": "fakesys test"})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for out, time in merged.values():
        cases = out.findall("testcase")
        count = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        for key, value in count.items():
            out.set(key, str(value))
            if key in totals:
                totals[key] += value
        out.set("time", f"{time[0]:.3f}")
        total_time += time[0]
        root.append(out)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    return ET.ElementTree(root)


def main(argv):
    if len(argv) < 3 or argv[1].startswith("-"):
        print(f"usage: {os.path.basename(argv[0])} OUT.xml IN.xml...", file=sys.stderr)
        return 2
    out, inputs = argv[1], argv[2:]
    try:
        tree = merge(inputs)
    except (ET.ParseError, OSError, ValueError) as e:
        print(f"junit-merge: {e}", file=sys.stderr)
        return 1
    if hasattr(ET, "indent"):  # Python 3.9 and later
        ET.indent(tree)
    # beside the output, then renamed: a reader never sees half a report
    fd, tmp = tempfile.mkstemp(prefix=".junit-merge.", dir=os.path.dirname(os.path.abspath(out)))
    try:
        with os.fdopen(fd, "wb") as f:
            tree.write(f, encoding="UTF-8", xml_declaration=True)
            f.write(b"\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except OSError as e:
        os.unlink(tmp)
        print(f"junit-merge: {out}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
