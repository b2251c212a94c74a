#!/usr/bin/env bash
# The main job: installs what it needs, builds, starts provd on its embedded
# RocksDB and real camsim cameras, and runs the whole story with `prov`:
#   1. authorities vet organisations and enrol keys (2-of-2 co-signing);
#   2. a manufacturer registers a component, a model, firmware and a batch of
#      cameras (bulk CSV import over SubmitStream);
#   3. a distributor receives the shipment and delivers it to a buyer, except
#      one unit diverted to another buyer;
#   4. procurement checks the delivery manifest (an unregistered unit and the
#      diverted one are flagged);
#   5. an installer scans cameras on the ladder (a cloned camera, tampered
#      firmware and a replayed attestation are rejected) and commissions the
#      good ones offline from an evidence bundle;
#   6. an auditor checks consistency and replays the whole log;
#   7. trust policies: one delivery judged under the UK sensitive-site policy
#      and under NDAA s.889, with explained findings and an HTML report;
#   8. a short load benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
W=${QUICKSTART_DIR:-$ROOT/data/quickstart}
BATCH=${QUICKSTART_DEVICES:-200}  # cameras in the manufacturer's batch

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '\033[2m%s\033[0m\n' "$*"; }
# expect RC CMD...: runs CMD, shows its output, and insists on exit code RC.
expect() {
  local want=$1
  shift
  set +e
  "$@"
  local rc=$?
  set -e
  if [ "$rc" != "$want" ]; then
    echo "quickstart: expected exit $want, got $rc from: $*" >&2
    exit 1
  fi
  say "   (exit $rc, as expected)"
}

step "Installing Debian packages (idempotent)"
bash scripts/install-deps.sh
step "Building (RelWithDebInfo, the same build the tests use)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD" -j2 provd prov camsim provbench

PROVD=$BUILD/ledger/provd
PROV=$BUILD/client/prov
CAMSIM=$BUILD/tools/camsim
rm -rf "$W" && mkdir -p "$W/keys" "$W/cams"
K=$W/keys
# Servers are started in command substitutions (subshells), so their pids go
# to a file for the cleanup.
cleanup() {
  [ -f "$W/pids" ] && kill -TERM $(cat "$W/pids") 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

# serve NAME CMD...: starts a server, waits for its "serving ... on HOST:PORT" line.
serve() {
  local name=$1
  shift
  "$@" >"$W/$name.out" 2>"$W/$name.log" &
  echo $! >>"$W/pids"
  for _ in $(seq 200); do grep -q serving "$W/$name.out" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/.* on \([0-9.]*:[0-9]*\)$/\1/p' "$W/$name.out"
}

step "Everyone generates Ed25519 keys (private key files are created 0600)"
for k in gov-a gov-b acme-mfr acme-ship orion-mfr dist buyer; do
  "$PROV" key generate --out "$K/$k.key" >/dev/null
  printf '  %-10s %s\n' "$k" "$("$PROV" key show "$K/$k.key")"
done

step "The operator creates the ledger: genesis names two authorities, threshold 2"
"$PROVD" init --data-dir "$W/ledger" --origin quickstart.provenance.example/log \
  --authority "gov-a=$("$PROV" key show "$K/gov-a.key")" \
  --authority "gov-b=$("$PROV" key show "$K/gov-b.key")" --threshold 2 2>/dev/null
say "   everyone pins the log key: $(cat "$W/ledger/log.vkey")"
LEDGER=$(serve provd "$PROVD" serve --data-dir "$W/ledger" --listen 127.0.0.1:0 --plaintext)
echo "  provd serving on $LEDGER (RocksDB in $W/ledger/db)"
# Everything here runs on loopback, where plaintext must be asked for
# (README "Transport security" runs provd with TLS and client certificates).
export PROV_SERVER=$LEDGER PROV_VKEY=$W/ledger/log.vkey PROV_STATE_DIR=$W/trust PROV_PLAINTEXT=1
"$PROV" log checkpoint >"$W/first.note" 2>/dev/null
AUTH=(--key "$K/gov-a.key" --key "$K/gov-b.key")

step "1. Authority: vet organisations and their owners"
say "   gov-a signs, gov-b co-signs, then it is submitted (2-of-2):"
"$PROV" authority org --id acme-cam --name "Acme Camera Ltd" --country GB \
  --key "$K/gov-a.key" --out "$W/acme.rec"
"$PROV" record cosign --in "$W/acme.rec" --key "$K/gov-b.key"
"$PROV" submit "$W/acme.rec"
"$PROV" authority org --id orion-micro --name "Orion Microelectronics Co" --country CN \
  --law CN-NIL-2017 "${AUTH[@]}"
"$PROV" authority org --id dist-co --name "Distribution Co" --country GB "${AUTH[@]}"
"$PROV" authority org --id buyer-gov --name "A Government Department" --country GB "${AUTH[@]}"
"$PROV" authority org --id other-buyer --name "Another Buyer Ltd" --country GB "${AUTH[@]}"
"$PROV" authority ownership --owner dist-co --owned acme-cam --stake-bp 1000 --from 2020-01-01 \
  "${AUTH[@]}"
say "   a record with only one authority signature is refused:"
expect 1 "$PROV" authority org --id shell-co --name "Shell Co" --country GB --key "$K/gov-a.key"

step "1. Authority: enrol the organisations' keys with their roles"
"$PROV" authority enroll --key-file "$K/acme-mfr.key" --org acme-cam --role manufacturer "${AUTH[@]}"
"$PROV" authority enroll --key-file "$K/acme-ship.key" --org acme-cam --role custodian "${AUTH[@]}"
"$PROV" authority enroll --key-file "$K/orion-mfr.key" --org orion-micro --role manufacturer "${AUTH[@]}"
"$PROV" authority enroll --key-file "$K/dist.key" --org dist-co --role custodian "${AUTH[@]}"
"$PROV" authority enroll --key-file "$K/buyer.key" --org buyer-gov --role custodian "${AUTH[@]}"

step "2. Manufacturer: component (signed by its maker), model with bill of materials, firmware"
"$PROV" manufacturer component --org orion-micro --part SC-3 --kind soc --country CN \
  --key "$K/orion-mfr.key"
"$PROV" manufacturer model --org acme-cam --model-id AC-100 --name "Acme Dome 100" \
  --component "orion-micro/SC-3,function=image signal processor,location=CN" --key "$K/acme-mfr.key"

say "   the factory provisions $BATCH cameras (camsim makes each device key, 0600):"
FIRMWARE=$W/cams/firmware-1.0.0.bin
(yes "Acme Dome 100 firmware 1.0.0" || true) | head -c 65536 >"$FIRMWARE"
echo "serial,model,device_public_key,manufactured,assembly_country" >"$W/batch.csv"
for i in $(seq -w 1 "$BATCH"); do
  "$CAMSIM" provision --dir "$W/cams/$i" --manufacturer-org acme-cam --manufacturer-name "Acme" \
    --serial "AC100-$i" --model-id AC-100 --model-name "Acme Dome 100" \
    --firmware-version 1.0.0 --firmware-image "$FIRMWARE" >/dev/null
  pub=$(sed -n 's/.*"device_public_key": *"\([0-9a-f]*\)".*/\1/p' "$W/cams/$i/device.json")
  echo "AC100-$i,AC-100,$pub,2026-10-0$((10#$i % 9 + 1)),VN" >>"$W/batch.csv"
done
# One malformed row, to show that a bad row is reported and the rest lands.
echo "AC100-BAD,AC-100,not-hex,2026-10-01,VN" >>"$W/batch.csv"
"$PROV" manufacturer firmware --org acme-cam --model-id AC-100 --version 1.0.0 --image "$FIRMWARE" \
  --key "$K/acme-mfr.key"
say "   bulk import over SubmitStream ($BATCH rows + 1 malformed):"
expect 1 "$PROV" manufacturer import --org acme-cam --csv "$W/batch.csv" --key "$K/acme-mfr.key"

step "3. Custody: Acme ships the batch to the distributor, which delivers to the buyer"
seq -w 1 "$BATCH" | sed 's/^/AC100-/' >"$W/all.txt"
"$PROV" transfer --manufacturer acme-cam --serials-file "$W/all.txt" --from acme-cam --to dist-co \
  --reference PO-2026-0042 --key "$K/acme-ship.key"
DIVERTED=AC100-$(printf "%0${#BATCH}d" 7)
grep -v "^$DIVERTED\$" "$W/all.txt" >"$W/delivered.txt"
"$PROV" transfer --manufacturer acme-cam --serials-file "$W/delivered.txt" --from dist-co \
  --to buyer-gov --reference PO-GOV-7 --key "$K/dist.key"
say "   one unit ($DIVERTED) is diverted to another buyer:"
"$PROV" transfer --manufacturer acme-cam --serial "$DIVERTED" --from dist-co --to other-buyer \
  --reference PO-OTHER-1 --key "$K/dist.key"
say "   and nobody but the custodian can move a camera:"
expect 1 "$PROV" transfer --manufacturer acme-cam --serial "$DIVERTED" --from dist-co --to buyer-gov \
  --key "$K/dist.key"

step "4. Procurement at the loading dock: check the delivery manifest"
{
  echo "manufacturer,serial,model"
  sed 's/^/acme-cam,/; s/$/,AC-100/' "$W/all.txt"
  echo "acme-cam,AC100-FAKE,AC-100"
} >"$W/manifest.csv"
say "   the manifest lists all $BATCH units plus one the ledger has never seen:"
expect 1 "$PROV" delivery check "$W/manifest.csv" --buyer buyer-gov --supplier dist-co

step "5. Installer on the ladder: scan cameras (fresh nonce, signed attestation)"
cam() { printf '%s/cams/%0*d' "$W" "${#BATCH}" "$1"; }
GOOD=$(serve cam-good "$CAMSIM" serve --dir "$(cam 1)" --plaintext)
CLONE=$(serve cam-clone "$CAMSIM" serve --dir "$(cam 2)" --plaintext --fault cloned-key)
TAMPER=$(serve cam-tamper "$CAMSIM" serve --dir "$(cam 3)" --plaintext --fault tampered-firmware)
REPLAY=$(serve cam-replay "$CAMSIM" serve --dir "$(cam 4)" --plaintext --fault replay)
UNREG=$(serve cam-unreg "$CAMSIM" serve --dir "$(cam 5)" --plaintext --fault unregistered)
say "   a genuine camera:"
expect 0 "$PROV" scan --device "$GOOD" --buyer buyer-gov
say "   a clone of camera 2 (same serial, a different key):"
expect 1 "$PROV" scan --device "$CLONE" --buyer buyer-gov
say "   camera 3 running tampered firmware:"
expect 1 "$PROV" scan --device "$TAMPER" --buyer buyer-gov
say "   camera 4 replaying an old attestation:"
expect 1 "$PROV" scan --device "$REPLAY" --buyer buyer-gov
say "   a camera whose serial was never registered:"
expect 1 "$PROV" scan --device "$UNREG" --buyer buyer-gov

step "5. Sensitive site: commission offline from an evidence bundle"
"$PROV" bundle export --custodian buyer-gov --out "$W/site.bundle"
say "   no ledger connection from here on (--server points nowhere):"
expect 0 "$PROV" --server 127.0.0.1:1 scan --device "$GOOD" --buyer buyer-gov --bundle "$W/site.bundle"
expect 0 "$PROV" --server 127.0.0.1:1 check --manufacturer acme-cam --serial "AC100-$(printf "%0${#BATCH}d" 9)" \
  --buyer buyer-gov --bundle "$W/site.bundle"
say "   a bundle with one byte changed is refused:"
cp "$W/site.bundle" "$W/tampered.bundle"
printf '\x01' | dd of="$W/tampered.bundle" bs=1 seek=300 conv=notrunc status=none
expect 2 "$PROV" --server 127.0.0.1:1 check --manufacturer acme-cam --serial "AC100-$(printf "%0${#BATCH}d" 9)" \
  --bundle "$W/tampered.bundle"

step "6. Auditor: the log only grew since the first checkpoint; a full replay"
"$PROV" log consistency --from-note "$W/first.note"
"$PROV" audit

step "7. Trust policies: who really made it, what is inside, who owned them and when"
say "   demo facts (fictional companies, real structures; see tools/demo_policy.sh):"
PROV=$PROV K=$K W=$W bash tools/demo_policy.sh
say "   the same delivery under the UK sensitive-site policy (PRC National Intelligence Law):"
expect 1 "$PROV" delivery check "$W/policy-manifest.csv" --buyer buyer-gov \
  --policy policies/uk-sensitive-site.yaml --html "$W/delivery-uk.html"
say "   ... and under NDAA s.889 (Huawei, ZTE, Hytera, Hikvision, Dahua, their subsidiaries and affiliates):"
expect 1 "$PROV" delivery check "$W/policy-manifest.csv" --buyer buyer-gov \
  --policy policies/ndaa-889.yaml --html "$W/delivery-ndaa.html"
say "   one camera, explained (a clean maker; its image sensor's maker was owned by a state"
say "   group until 2023, so a unit made in 2022 is tainted and one made in 2024 is not):"
expect 1 "$PROV" check --manufacturer acme-cam --serial CLEAN-2022 --buyer buyer-gov \
  --policy policies/uk-sensitive-site.yaml
expect 0 "$PROV" check --manufacturer acme-cam --serial CLEAN-2024 --buyer buyer-gov \
  --policy policies/uk-sensitive-site.yaml
say "   an affiliate, explained (the state group holding 40 % of this maker also holds 41 % of Hikvision):"
expect 1 "$PROV" check --manufacturer lumen-vision --serial LV-2024 --buyer buyer-gov \
  --policy policies/ndaa-889.yaml
say "   the HTML reports render in headless Chromium:"
bash scripts/render-check.sh "$W/delivery-uk.html"
bash scripts/render-check.sh "$W/delivery-ndaa.html"
echo "  open $W/delivery-uk.html and $W/delivery-ndaa.html in a browser"

step "8. Load: provbench streams pre-signed device records into a fresh ledger"
"$BUILD/tools/provbench" --provd "$PROVD" --prov "$PROV" --data-dir "$W/bench" --records "${QUICKSTART_BENCH_RECORDS:-20000}"

step "Done. Everything is in $W"
