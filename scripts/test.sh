#!/usr/bin/env bash
# Sets up and runs the whole test suite: installs packages, builds, and runs
# ctest (unit, rulebook, RFC 6962 vectors, Go interop, integration against a
# real provd) plus a provbench smoke run. Used by CI (.ci/run) as is.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

bash scripts/install-deps.sh
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
ninja -C "$BUILD" -j2
ctest --test-dir "$BUILD" --output-on-failure -j2
# Benchmark smoke: the load path end to end with a small count.
"$BUILD/tools/provbench" --provd "$BUILD/ledger/provd" --prov "$BUILD/client/prov" --data-dir "$(mktemp -d)/bench" --smoke
