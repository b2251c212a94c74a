#!/usr/bin/env bash
# The one sanitizer build, shared by scripts/sanitize.sh and scripts/fuzz.sh:
# clang, ASan + UBSan on everything, libFuzzer coverage instrumentation and
# the fuzz targets (PROV_FUZZ), -O1 with line tables for readable reports.
# Builds TARGET... (default: everything) in $ASAN_BUILD (default build-asan).
#   bash scripts/asan-build.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
ASAN_BUILD=${ASAN_BUILD:-build-asan}
bash scripts/install-deps.sh
CXX=clang++ CC=clang cmake -S . -B "$ASAN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DPROV_FUZZ=ON >/dev/null
ninja -C "$ASAN_BUILD" -j2 "$@"
