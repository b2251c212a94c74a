#!/usr/bin/env bash
# Builds the libFuzzer targets (scripts/asan-build.sh: clang, ASan + UBSan,
# coverage; the same build as scripts/sanitize.sh) and runs
# each for SECONDS (default 600), two at a time, starting from the committed
# seed corpus in tests/fuzz/corpus/TARGET. Prints executions and coverage per
# target; a crash fails the script and leaves the reproducer in
# $FUZZ_DIR/TARGET/crash-*. CI runs it with a short time as a smoke.
# With FUZZ_MERGE=1, inputs that add coverage are merged (-merge=1, minimal)
# into tests/fuzz/corpus/TARGET afterwards, for committing.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(record rules checkpoint proof bundle attestation policy manifest x509 soap)
export ASAN_BUILD=${ASAN_BUILD:-build-asan}
FUZZ_DIR=${FUZZ_DIR:-$(mktemp -d)/fuzz}

bash scripts/asan-build.sh $(printf 'fuzz_%s ' "${TARGETS[@]}")

run() {
  local t=$1 dir=$FUZZ_DIR/$1
  mkdir -p "$dir/corpus"
  cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
  set +e
  "$ASAN_BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1
  local rc=$?
  set -e
  local runs cov ft
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
  cov=$(grep -oE 'cov: [0-9]+' "$dir/log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$dir/log" | tail -1 | cut -d' ' -f2)
  if [ "$rc" != 0 ]; then
    echo "fuzz_$t: FAILED (exit $rc) after ${runs:-?} executions; see $dir/log" >&2
    grep -E "ERROR|SUMMARY|Test unit written" "$dir/log" | head -5 >&2
    return 1
  fi
  printf 'fuzz_%-12s %8s s  %10s executions  cov %5s  ft %6s  corpus %s\n' "$t" "$SECONDS_EACH" \
    "${runs:-?}" "${cov:-?}" "${ft:-?}" "$(ls "$dir/corpus" | wc -l)"
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    "$ASAN_BUILD/tests/fuzz/fuzz_$t" -merge=1 -max_len=65536 -timeout=10 \
      tests/fuzz/corpus/"$t" "$dir/corpus" >"$dir/merge.log" 2>&1
    echo "fuzz_$t: tests/fuzz/corpus/$t now holds $(ls tests/fuzz/corpus/"$t" | wc -l) inputs"
  fi
}

failed=0
pids=()
for t in "${TARGETS[@]}"; do
  run "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] && echo "fuzz: no crashes ($FUZZ_DIR)" || { echo "fuzz: crashes found ($FUZZ_DIR)" >&2; exit 1; }
