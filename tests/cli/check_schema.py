#!/usr/bin/python3 -I
# SPDX-License-Identifier: LGPL-2.1-or-later
"""check_schema.py SCHEMA_DIR FILE...: each FILE is one --json output; it must
satisfy docs/schemas/envelope.schema.json and the schema of the tool it names
(docs/schemas/<tool>.schema.json), both checked as JSON Schema 2020-12 first.
FILE=!PATH: the document must NOT satisfy them (the checker's own test).
Exit 0, 1 with what failed, 77 without python3-jsonschema."""
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema is not installed (apt-get install python3-jsonschema)", file=sys.stderr)
    sys.exit(77)

V = jsonschema.Draft202012Validator


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main():
    sdir = sys.argv[1]
    envelope = load(os.path.join(sdir, "envelope.schema.json"))
    V.check_schema(envelope)
    schemas = {}
    for name in ("vfio-resolve", "vfio-validate", "vfio-doctor"):
        s = load(os.path.join(sdir, name + ".schema.json"))
        V.check_schema(s)
        schemas[name] = s
    bad = 0
    for arg in sys.argv[2:]:
        negative = arg.startswith("!")
        path = arg[1:] if negative else arg
        doc = load(path)
        errors = list(V(envelope).iter_errors(doc))
        tool = doc.get("tool") if isinstance(doc, dict) else None
        if tool in schemas:
            errors += list(V(schemas[tool]).iter_errors(doc))
        else:
            errors.append("no schema for tool %r" % (tool,))
        if negative and not errors:
            print("%s: satisfies the schemas, but must not" % path)
            bad += 1
        elif not negative and errors:
            for e in errors[:5]:
                print("%s: %s" % (path, getattr(e, "message", e)))
            bad += 1
    print("%d documents checked, %d wrong" % (len(sys.argv) - 2, bad))
    return 1 if bad else 0


sys.exit(main())
