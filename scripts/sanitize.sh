#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (CMake option PROV_SANITIZE). Any ASan report or UB (halt_on_error) fails
# the test that hit it. CI runs this after scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-asan}

bash scripts/install-deps.sh
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROV_SANITIZE=ON >/dev/null
ninja -C "$BUILD" -j2
# Leak checking is off: gRPC and protobuf keep process-lifetime singletons
# that LeakSanitizer reports at exit. Everything else is on.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir "$BUILD" --output-on-failure -j2 -LE 'crash|render'
"$BUILD/tools/crashloop" --provd "$BUILD/ledger/provd" --data-dir "$(mktemp -d)/crash" --rounds 2 --records 10000
echo "sanitize: the test suite passes under ASan + UBSan"
