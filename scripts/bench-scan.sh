#!/usr/bin/env bash
# Scan benchmark (issue 12's targets): one `prov scan --onvif` of a camsim
# camera over HTTPS (TLS handshake, three SOAP calls, two evidence requests,
# verdict) as the installer runs it, and N cameras at once with --targets.
#
#   bash scripts/bench-scan.sh [N=100] [BUILD_DIR=build] [REPEAT=20]
#
# Starts provd and N camsim cameras on loopback in a temporary directory,
# prints the figures, stops everything. Targets: one scan < 300 ms, 100
# cameras < 10 s. CI runs it with N=5 as a smoke (scripts/test.sh).
set -euo pipefail

N=${1:-100}
BUILD=$(cd "${2:-build}" && pwd)
REPEAT=${3:-20}
PROV=$BUILD/client/prov
PROVD=$BUILD/ledger/provd
CAMSIM=$BUILD/tools/camsim
W=$(mktemp -d /tmp/bench-scan-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

# start NAME CMD...: runs a server, waits for its "serving ... on" line,
# sets ADDR to its HOST:PORT.
start() {
  local name=$1
  shift
  "$@" </dev/null >"$W/$name.out" 2>"$W/$name.log" &
  PIDS+=($!)
  for _ in $(seq 600); do
    ADDR=$(sed -n 's|.* serving .* on \(https://\)\{0,1\}\([0-9.]*:[0-9]*\).*|\2|p' "$W/$name.out" | head -n 1)
    [ -n "$ADDR" ] && return 0
    sleep 0.05
  done
  echo "bench-scan: $name did not start" >&2
  cat "$W/$name.log" >&2
  exit 1
}
ms() { echo $(($(date +%s%N) / 1000000)); }

K=$W/keys
mkdir -p "$K"
for k in gov acme; do "$PROV" key generate --out "$K/$k.key" >/dev/null; done
"$PROVD" init --data-dir "$W/ledger" --origin bench.scan.example/log \
  --authority "gov=$("$PROV" key show "$K/gov.key")" --threshold 1 >"$W/init.log" 2>&1
start provd "$PROVD" serve --data-dir "$W/ledger" --listen 127.0.0.1:0 --plaintext
export PROV_SERVER=$ADDR PROV_VKEY=$W/ledger/log.vkey PROV_STATE_DIR=$W/trust PROV_PLAINTEXT=1
q() { "$@" >/dev/null 2>>"$W/setup.log"; }
q "$PROV" authority org --id acme --name "Acme Cameras Ltd" --country GB --key "$K/gov.key"
q "$PROV" authority org --id buyer --name "Buyer" --country GB --key "$K/gov.key"
q "$PROV" authority enroll --key-file "$K/acme.key" --org acme --role manufacturer,custodian \
  --key "$K/gov.key"
q "$PROV" authority mac-block --org acme --prefix ACDE48 --source bench --key "$K/gov.key"
q "$PROV" manufacturer model --org acme --model-id CAM --name "Cam 100" --shown-manufacturer ACME \
  --shown-model "Cam 100" --key "$K/acme.key"
head -c 4096 /dev/zero >"$W/fw.bin"
q "$PROV" manufacturer firmware --org acme --model-id CAM --version 1.0 --image "$W/fw.bin" \
  --key "$K/acme.key"
q "$CAMSIM" make-ca --dir "$W/ca" --name "Acme Device ID"
q "$PROV" manufacturer identity-ca --org acme --ca-id acme-devid --cert "$W/ca/root.pem" \
  --cert "$W/ca/intermediate.pem" --serial-from subject-serial-number --algorithm "ECDSA P-256" \
  --key "$K/acme.key"
echo admin-pw >"$W/password"
: >"$W/serials"
: >"$W/targets"
for i in $(seq "$N"); do
  serial=$(printf 'ACME-%05d' "$i")
  q "$CAMSIM" provision --dir "$W/cam$i" --manufacturer-org acme --manufacturer-name ACME \
    --serial "$serial" --model-id CAM --model-name "Cam 100" --firmware-version 1.0 \
    --firmware-image "$W/fw.bin" --identity-ca "$W/ca" \
    --mac "$(printf 'AC:DE:48:%02X:%02X:%02X' $((i / 65536 % 256)) $((i / 256 % 256)) $((i % 256)))"
  q "$PROV" manufacturer device --org acme --serial "$serial" --model-id CAM \
    --identity-ca acme-devid --manufactured 2026-01-01 --key "$K/acme.key"
  echo "$serial" >>"$W/serials"
done
q "$PROV" transfer --manufacturer acme --serials-file "$W/serials" --from acme --to buyer \
  --key "$K/acme.key"
for i in $(seq "$N"); do
  start "cam$i" "$CAMSIM" serve --dir "$W/cam$i" --onvif 127.0.0.1:0 --user admin \
    --password-file "$W/password"
  echo "$ADDR" >>"$W/targets"
done
first=$(head -n 1 "$W/targets")
SCAN=(scan --user admin --password-file "$W/password" --buyer buyer)

# One camera, REPEAT times: the whole prov process, and the camera's part.
"$PROV" "${SCAN[@]}" --onvif "$first" >/dev/null  # warm: trust store, page cache
times=()
for _ in $(seq "$REPEAT"); do
  t0=$(ms)
  rc=0
  "$PROV" --json "${SCAN[@]}" --onvif "$first" >"$W/one.json" || rc=$?
  times+=($(($(ms) - t0)))
  [ "$rc" = 0 ] || { echo "bench-scan: scan of $first gave exit $rc" >&2; cat "$W/one.json" >&2; exit 1; }
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
camera_ms=$(sed -n 's/.*"elapsed_ms":\([0-9.]*\).*/\1/p' "$W/one.json")
echo "one scan (prov scan --onvif, whole process, $REPEAT runs): median ${sorted[$((REPEAT / 2))]} ms, max ${sorted[$((REPEAT - 1))]} ms (target < 300 ms); TLS + 3 SOAP calls: ${camera_ms%.*} ms"

# N cameras at once.
t0=$(ms)
rc=0
"$PROV" --json "${SCAN[@]}" --targets "$W/targets" --jobs 16 >"$W/all.json" || rc=$?
wall=$(($(ms) - t0))
trusted=$(grep -o '"trusted":[0-9]*' "$W/all.json" | tail -n 1 | cut -d: -f2)
echo "$N cameras (prov scan --targets, --jobs 16): ${wall} ms wall, ${trusted:-0} of $N TRUSTED, exit $rc (target for 100: < 10 s)"
[ "$rc" = 0 ] && [ "${trusted:-0}" = "$N" ] || { echo "bench-scan: not every camera was TRUSTED" >&2; exit 1; }
