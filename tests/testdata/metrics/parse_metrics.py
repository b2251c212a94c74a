#!/usr/bin/env python3
"""Parses a Prometheus text exposition with the official client's parser
(Debian python3-prometheus-client) and prints its samples as JSON:
{"families": {name: type}, "samples": [[name, {labels}, value], ...]}.
Exits 1 (with the parser's error) if the text does not parse.
Usage: parse_metrics.py FILE"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    families, samples = {}, []
    try:
        for family in text_string_to_metric_families(text):
            if family.name in families:
                raise ValueError("family listed twice: " + family.name)
            families[family.name] = family.type
            for s in family.samples:
                v = s.value
                if math.isinf(v):
                    v = "+Inf" if v > 0 else "-Inf"
                samples.append([s.name, dict(s.labels), v])
    except Exception as e:  # the parser's ValueError and friends
        print("unparsable exposition: %r" % (e,), file=sys.stderr)
        return 1
    json.dump({"families": families, "samples": samples}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
