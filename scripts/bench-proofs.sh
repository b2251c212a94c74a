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
"$W/tlog_peer" "$LEAVES" "$proofs"
if [ "$LEAVES" = 1048576 ]; then
  "$BUILD/tools/microbench" --benchmark_filter='InclusionProof/1048576' --benchmark_min_time=1
else
  "$BUILD/tools/microbench" --benchmark_filter='InclusionProof/1024$' --benchmark_min_time=0.05
fi
