#!/usr/bin/env bash
# Inclusion proofs at 1M leaves, side by side (issue 13's target: at least
# 2x the proofs/s of Go's sumdb/tlog proving from memory): Go's tile code
# (tools/tlog_peer, built in GOPATH mode against Debian's
# golang-golang-x-mod-dev) and our microbench proving from the tile store
# a provd uses.
#
#   bash scripts/bench-proofs.sh [BUILD_DIR=build] [LEAVES=1048576]
#
# CI runs it with 4096 leaves as a smoke (scripts/test.sh).
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
LEAVES=${2:-1048576}
W=$(mktemp -d /tmp/bench-proofs-XXXXXX)
trap 'rm -rf "$W"' EXIT
GO111MODULE=off GOPATH=${PROV_GOPATH:-/usr/share/gocode} GOCACHE=$W/gocache GOFLAGS= \
  go build -o "$W/tlog_peer" "$(dirname "$0")/../tools/tlog_peer/main.go"
proofs=$((LEAVES < 200000 ? 20000 : 200000))
go_line=$("$W/tlog_peer" "$LEAVES" "$proofs")
echo "$go_line"
if [ "$LEAVES" = 1048576 ]; then
  filter='InclusionProof/1048576'
  time=1
else
  filter='InclusionProof/1024$'
  time=0.05
fi
"$BUILD/tools/microbench" --benchmark_filter="$filter" --benchmark_min_time=$time \
  --benchmark_format=json --benchmark_out="$W/ours.json" --benchmark_out_format=json >/dev/null
python3 - "$W/ours.json" "$go_line" <<'PY'
import json, re, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
go_us = float(re.search(r"([0-9.]+) us each", sys.argv[2]).group(1))
for r in runs:
    ns = r["cpu_time"] if r["time_unit"] == "ns" else r["cpu_time"] * 1000
    print(f"ours {r['name']}: {1e9 / ns:,.0f} proofs/s, {ns / 1000:.2f} us each "
          f"({go_us * 1000 / ns:.1f}x Go's proofs/s)")
PY
