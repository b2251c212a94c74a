#!/usr/bin/env bash
# Sets up and runs the whole test suite: installs packages, builds, and runs
# ctest (unit, rulebook, RFC 6962 vectors, Go interop, integration against a
# real provd, fuzz-corpus replays, the HTML render check) plus smoke runs of
# the crash loop, the load test and provbench. Used by CI (.ci/run) as is.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

bash scripts/install-deps.sh
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
ninja -C "$BUILD" -j2
ctest --test-dir "$BUILD" --output-on-failure -j2 -LE crash
# The Debian package and its systemd units, without installing (the install
# in a fresh Debian root: bash scripts/package-test.sh).
bash scripts/package-check.sh "$BUILD"
# Crash-safety smoke (the full 20-kill proof: ctest --test-dir build -L crash).
"$BUILD/tools/crashloop" --provd "$BUILD/ledger/provd" --data-dir "$(mktemp -d)/crash" --rounds 3 --records 30000
# Disk-fault smoke: ENOSPC/EIO injected with fiu-run under load (the full run: ctest --test-dir build -L faults).
"$BUILD/tools/crashloop" --provd "$BUILD/ledger/provd" --data-dir "$(mktemp -d)/faults" --rounds 0 --fault-rounds 3 --records 80000 --fault-max-ms 1000
# Benchmark smoke: the load path end to end with a small count.
"$BUILD/tools/provbench" --provd "$BUILD/ledger/provd" --prov "$BUILD/client/prov" --data-dir "$(mktemp -d)/bench" --smoke
# The same with three local witnesses cosigning every published head.
"$BUILD/tools/provbench" --provd "$BUILD/ledger/provd" --data-dir "$(mktemp -d)/bench" --smoke \
  --witnesses 3 --provwitness "$BUILD/witness/provwitness"
# Static tiles through nginx smoke (the full run: bash scripts/bench-tiles.sh).
bash scripts/bench-tiles.sh "$BUILD" 3000 2
# Proof benchmark smoke against Go's sumdb/tlog (the full run: bash scripts/bench-proofs.sh).
bash scripts/bench-proofs.sh "$BUILD" 4096
# Scan benchmark smoke (the full run: bash scripts/bench-scan.sh 100).
bash scripts/bench-scan.sh 5 "$BUILD" 3
# Load smoke (the full run: loadtest --clients 32 --seconds 60).
"$BUILD/tools/loadtest" --provd "$BUILD/ledger/provd" --data-dir "$(mktemp -d)/load" --clients 8 --seconds 5 --records 20000
