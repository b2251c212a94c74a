#!/usr/bin/env python3
"""Checks a log file of JSON lines with python3's json module: every line
that is not one of provd's "provd: ..." announcements on stdout must be a
JSON object with string fields time, level and message. Prints the
messages as a JSON array (ASCII-escaped); exits 1 naming the first bad line.
Usage: json_lines.py FILE"""
import json
import sys


def main():
    messages = []
    with open(sys.argv[1], "rb") as f:
        for n, raw in enumerate(f, 1):
            line = raw.decode("utf-8")  # a line that is not UTF-8 fails here
            if line.startswith("provd: "):
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                print("line %d is not JSON (%s): %r" % (n, e, line), file=sys.stderr)
                return 1
            if not isinstance(obj, dict) or not all(
                    isinstance(obj.get(k), str) for k in ("time", "level", "message")):
                print("line %d lacks time/level/message: %r" % (n, line), file=sys.stderr)
                return 1
            messages.append(obj["message"])
    json.dump(messages, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
