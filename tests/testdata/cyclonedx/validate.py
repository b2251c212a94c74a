#!/usr/bin/python3
"""Validates CycloneDX 1.6 JSON files against the official schema vendored
beside this script, with Debian's python3-jsonschema (Draft 7): a validator
this project did not write. Prints each error with its JSON path; exit 0 when
every file is valid, 1 when one is not, 2 on a usage or load error.

  /usr/bin/python3 tests/testdata/cyclonedx/validate.py bom.json...
"""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = "http://cyclonedx.org/schema/"


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def validator():
    bom = load("bom-1.6.SNAPSHOT.schema.json")
    store = {}
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        schema = load(name)
        store[BASE + name] = schema  # how bom-1.6 refers to it here
        store[schema["$id"]] = schema  # its own id
    jsonschema.Draft7Validator.check_schema(bom)
    resolver = jsonschema.RefResolver.from_schema(bom, store=store)
    return jsonschema.Draft7Validator(
        bom, resolver=resolver, format_checker=jsonschema.FormatChecker())


def main(files):
    if not files:
        print("usage: validate.py BOM.json...", file=sys.stderr)
        return 2
    v = validator()
    rc = 0
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{path}: cannot read: {e}", file=sys.stderr)
            return 2
        errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            where = "/" + "/".join(str(p) for p in e.absolute_path)
            print(f"{path}: {where}: {e.message}")
        if errors:
            rc = 1
        else:
            print(f"{path}: valid CycloneDX 1.6")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
