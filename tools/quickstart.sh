#!/usr/bin/env bash
# The main job: installs what it needs, builds, starts provd on its embedded
# RocksDB and runs a real workflow against it with the `prov` client:
# authorities vet organisations and enrol keys (2-of-2 co-signing), a
# manufacturer registers a component, a model, firmware and devices, custody
# moves to a distributor, bad submissions are refused, and an auditor checks
# consistency and replays the whole log. Ends with a short load benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
W=${QUICKSTART_DIR:-$ROOT/data/quickstart}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Installing Debian packages (idempotent)"
bash scripts/install-deps.sh
step "Building (RelWithDebInfo, the same build the tests use)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD" -j2 provd prov provbench

PROVD=$BUILD/ledger/provd
PROV=$BUILD/client/prov
rm -rf "$W" && mkdir -p "$W/records"
R=$W/records

step "Authorities and organisations generate their Ed25519 keys (files are 0600)"
for k in gov-a gov-b acme dist; do
  "$PROV" key generate --out "$W/$k.key" >/dev/null
  printf '  %-6s public key %s\n' "$k" "$("$PROV" key show "$W/$k.key")"
done
b64() { "$PROV" key show --base64 "$W/$1.key"; }

step "provd init: a new log, genesis with two authority keys, threshold 2"
"$PROVD" init --data-dir "$W/ledger" --origin quickstart.provenance.example/log \
  --authority "gov-a=$("$PROV" key show "$W/gov-a.key")" \
  --authority "gov-b=$("$PROV" key show "$W/gov-b.key")" --threshold 2 2>/dev/null
echo "  pinned log key: $(cat "$W/ledger/log.vkey")"

step "provd serve on loopback"
"$PROVD" serve --data-dir "$W/ledger" --listen 127.0.0.1:0 >"$W/provd.out" 2>"$W/provd.log" &
PROVD_PID=$!
trap 'kill -TERM $PROVD_PID 2>/dev/null || true; wait $PROVD_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q serving "$W/provd.out" 2>/dev/null && break; sleep 0.1; done
cat "$W/provd.out"
PORT=$(sed -n 's/.*on 127.0.0.1:\([0-9]*\)$/\1/p' "$W/provd.out")
export PROV_SERVER=127.0.0.1:$PORT PROV_VKEY=$W/ledger/log.vkey PROV_STATE_DIR=$W/trust

"$PROV" log checkpoint >"$W/first.note"
NOW=$(date +%s)

# authority NAME JSON: sign by gov-a, co-sign by gov-b, submit.
authority() {
  echo "$2" >"$R/$1.json"
  "$PROV" record sign --json "$R/$1.json" --key "$W/gov-a.key" --out "$R/$1.rec" 2>/dev/null
  "$PROV" record cosign --in "$R/$1.rec" --key "$W/gov-b.key" 2>/dev/null
  "$PROV" submit "$R/$1.rec"
}
# signed NAME KEY JSON: sign with one org key and submit.
signed() {
  echo "$3" >"$R/$1.json"
  "$PROV" record sign --json "$R/$1.json" --key "$W/$2.key" --out "$R/$1.rec" 2>/dev/null
  "$PROV" submit "$R/$1.rec"
}
# expect_reject NAME: the submission must be refused with exit code 1.
expect_reject() {
  set +e
  "$PROV" submit "$R/$1.rec"
  rc=$?
  set -e
  [ "$rc" = 1 ] || { echo "expected a rejection (exit 1), got $rc"; exit 1; }
  echo "  -> refused as expected (exit 1); nothing was appended"
}

step "Authority: vet organisations (co-signed by both authority keys)"
authority org-acme '{"issued_at":'$NOW',"organization":{"org_id":"acme-cam","legal_name":"Acme Camera Ltd","country":"GB"}}'
authority org-orion '{"issued_at":'$NOW',"organization":{"org_id":"orion-micro","legal_name":"Orion Microelectronics Co","country":"CN","laws":["CN-NIL-2017"]}}'
authority org-dist '{"issued_at":'$NOW',"organization":{"org_id":"dist-co","legal_name":"Distribution Co","country":"GB"}}'
authority org-buyer '{"issued_at":'$NOW',"organization":{"org_id":"buyer-gov","legal_name":"A Government Department","country":"GB"}}'
authority own-orion '{"issued_at":'$NOW',"ownership":{"owner_org":"dist-co","owned_org":"acme-cam","stake_bp":1000,"valid_from":1577836800}}'

step "Authority: enrol the manufacturer's and the distributor's keys"
authority key-acme '{"issued_at":'$NOW',"key_enrollment":{"public_key":"'"$(b64 acme)"'","org_id":"acme-cam","roles":["ROLE_MANUFACTURER","ROLE_CUSTODIAN"]}}'
authority key-dist '{"issued_at":'$NOW',"key_enrollment":{"public_key":"'"$(b64 dist)"'","org_id":"dist-co","roles":["ROLE_CUSTODIAN"]}}'

step "Manufacturer: component, device model with its bill of materials, firmware, devices"
# Orion's component is registered by Acme here only because Orion has no key
# in this demo; the rulebook insists the maker signs, so we enrol one first.
"$PROV" key generate --out "$W/orion.key" >/dev/null
authority key-orion '{"issued_at":'$NOW',"key_enrollment":{"public_key":"'"$(b64 orion)"'","org_id":"orion-micro","roles":["ROLE_MANUFACTURER"]}}'
signed comp-soc orion '{"issued_at":'$NOW',"component":{"maker_org":"orion-micro","part_number":"SC-3","kind":"COMPONENT_KIND_SOC","country_of_origin":"CN"}}'
signed model acme '{"issued_at":'$NOW',"device_model":{"manufacturer_org":"acme-cam","model_id":"AC-100","brand_org":"acme-cam","name":"Acme Dome 100","bom":[{"component":{"maker_org":"orion-micro","part_number":"SC-3"},"quantity":1,"function":"image signal processor","assembly_test_location":"CN"}]}}'
signed fw acme '{"issued_at":'$NOW',"firmware_release":{"manufacturer_org":"acme-cam","model_id":"AC-100","version":"1.0.0","sha256":"'"$(printf 'firmware image 1.0.0' | sha256sum | cut -d' ' -f1 | xxd -r -p | base64)"'"}}'
for i in 1 2 3; do
  "$PROV" key generate --out "$W/device-$i.key" >/dev/null
  signed "dev-$i" acme '{"issued_at":'$NOW',"device":{"manufacturer_org":"acme-cam","serial":"AC100-000'$i'","model_id":"AC-100","device_public_key":"'"$(b64 device-$i)"'","manufactured_at":'$NOW',"assembly_country":"VN"}}'
done

step "Custody: Acme ships two cameras to the distributor, which sells one on"
signed xfer-1 acme '{"issued_at":'$NOW',"transfer":{"manufacturer_org":"acme-cam","serials":["AC100-0001","AC100-0002"],"from_org":"acme-cam","to_org":"dist-co","reference":"PO-2026-0042"}}'
signed xfer-2 dist '{"issued_at":'$NOW',"transfer":{"manufacturer_org":"acme-cam","serials":["AC100-0001"],"from_org":"dist-co","to_org":"buyer-gov","reference":"PO-GOV-7"}}'

step "Bad submissions are refused with a reason, and nothing is appended"
echo "* a second registration of serial AC100-0001:"
echo '{"issued_at":'$((NOW + 1))',"device":{"manufacturer_org":"acme-cam","serial":"AC100-0001","model_id":"AC-100","device_public_key":"'"$(b64 device-2)"'","manufactured_at":'$NOW'}}' >"$R/dup.json"
"$PROV" record sign --json "$R/dup.json" --key "$W/acme.key" --out "$R/dup.rec" 2>/dev/null
expect_reject dup
echo "* the distributor tries to transfer AC100-0003, which Acme still holds:"
echo '{"issued_at":'$NOW',"transfer":{"manufacturer_org":"acme-cam","serials":["AC100-0003"],"from_org":"dist-co","to_org":"buyer-gov"}}' >"$R/steal.json"
"$PROV" record sign --json "$R/steal.json" --key "$W/dist.key" --out "$R/steal.rec" 2>/dev/null
expect_reject steal
echo "* an organisation record signed by only one of the two authorities:"
echo '{"issued_at":'$NOW',"organization":{"org_id":"shell-co","legal_name":"Shell Co","country":"GB"}}' >"$R/one.json"
"$PROV" record sign --json "$R/one.json" --key "$W/gov-a.key" --out "$R/one.rec" 2>/dev/null
expect_reject one

step "Auditor: the log only grew (consistency with the first checkpoint), and a full replay"
"$PROV" log consistency --from-note "$W/first.note"
"$PROV" audit
echo "* entry #15 (the first transfer), proven included:"
"$PROV" log proof --index 15

step "Restart: provd reopens its RocksDB, checks the tree against its checkpoint, serves on"
kill -TERM $PROVD_PID && wait $PROVD_PID || true
"$PROVD" serve --data-dir "$W/ledger" --listen "127.0.0.1:$PORT" >"$W/provd.out" 2>>"$W/provd.log" &
PROVD_PID=$!
for _ in $(seq 100); do grep -q serving "$W/provd.out" 2>/dev/null && break; sleep 0.1; done
cat "$W/provd.out"
"$PROV" log checkpoint

step "Load: provbench streams pre-signed device records into a fresh ledger"
"$BUILD/tools/provbench" --provd "$PROVD" --data-dir "$W/bench" --records "${QUICKSTART_BENCH_RECORDS:-20000}"

step "Done. Data is in $W"
