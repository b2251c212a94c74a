#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (scripts/asan-build.sh: clang, the CMake option PROV_SANITIZE via
# PROV_FUZZ). Any ASan report or UB (halt_on_error) fails the test that hit
# it. CI runs this after scripts/test.sh, and then scripts/fuzz.sh reuses the
# same build.
set -euo pipefail
cd "$(dirname "$0")/.."
export ASAN_BUILD=${ASAN_BUILD:-build-asan}

bash scripts/asan-build.sh
# LeakSanitizer is on too: every test binary and every provd, prov and
# camsim they start must exit without a leak.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir "$ASAN_BUILD" --output-on-failure -j2 -LE 'crash|render'
"$ASAN_BUILD/tools/crashloop" --provd "$ASAN_BUILD/ledger/provd" --data-dir "$(mktemp -d)/crash" --rounds 2 --records 10000
echo "sanitize: the test suite passes under ASan + UBSan"
