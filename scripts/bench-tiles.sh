#!/usr/bin/env bash
# Static tiles under load: a ledger of RECORDS device records (provbench),
# published by `provd serve --tiles-dir`, served by nginx with
# docs/nginx-tiles.conf, and `wrk` fetching a random mix of every tile and
# entry bundle for SECONDS. Prints wrk's report and the requests/s (target:
# at least 20,000/s on a 2-core machine; docs/tiles.md).
#
#   bash scripts/bench-tiles.sh [BUILD_DIR=build] [RECORDS=100000] [SECONDS=10]
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
RECORDS=${2:-100000}
SECS=${3:-10}
NGINX=${NGINX:-/usr/sbin/nginx}
W=$(mktemp -d /tmp/bench-tiles-XXXXXX)
chmod 755 "$W"  # nginx's workers (www-data when started as root) read the tiles
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

echo "== ledger of $RECORDS records (provbench)"
"$BUILD/tools/provbench" --provd "$BUILD/ledger/provd" --data-dir "$W/data" \
  --records "$RECORDS" --proofs 100 > "$W/provbench.log" 2>&1 ||
  { cat "$W/provbench.log"; exit 1; }

echo "== publishing tiles (provd serve --tiles-dir)"
start=$(date +%s.%N)
"$BUILD/ledger/provd" serve --data-dir "$W/data" --listen 127.0.0.1:0 --plaintext \
  --tiles-dir "$W/tiles" > "$W/provd.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do
  size=$(sed -n 's/.*(size \([0-9]*\)).*/\1/p' "$W/provd.log" | head -1)
  [[ -n "$size" && -f "$W/tiles/checkpoint" && "$(sed -n 2p "$W/tiles/checkpoint")" == "$size" ]] && break
  sleep 0.1
done
[[ "$(sed -n 2p "$W/tiles/checkpoint" 2>/dev/null)" == "$size" ]] ||
  { echo "tiles were not published"; cat "$W/provd.log"; exit 1; }
end=$(date +%s.%N)
files=$(find "$W/tiles/tile" -type f | wc -l)
echo "published size $size: $files files, $(du -sh "$W/tiles" | cut -f1), in $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

echo "== nginx + wrk for ${SECS}s"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$W/nginx"
sed -e "s|@TILES_DIR@|$W/tiles|g; s|@LISTEN@|127.0.0.1:$port|g; s|@RUN_DIR@|$W/nginx|g" \
  "$SRC/docs/nginx-tiles.conf" > "$W/nginx/nginx.conf"
"$NGINX" -p "$W/nginx" -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/checkpoint" && break; sleep 0.05; done

(cd "$W/tiles" && find tile -type f | sed 's|^|/|') > "$W/paths.txt"
cat > "$W/mix.lua" <<'LUA'
-- Every tile and entry bundle of the log, fetched in random order.
local paths = {}
for line in io.lines(os.getenv("TILE_PATHS")) do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
LUA
bundles=$(grep -c '^/tile/entries/' "$W/paths.txt" || true)
echo "$(wc -l < "$W/paths.txt") paths ($bundles bundles), $(nproc) cores"
TILE_PATHS="$W/paths.txt" wrk -t2 -c64 -d"${SECS}s" --latency -s "$W/mix.lua" \
  "http://127.0.0.1:$port" | tee "$W/wrk.txt"
rps=$(sed -n 's/^Requests\/sec: *//p' "$W/wrk.txt")
echo "tiles: $rps requests/s (target >= 20000)"
