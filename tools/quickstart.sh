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
#      firmware and a replayed attestation are rejected); then ONVIF cameras
#      over HTTPS, whose factory certificates chain to the CA their maker
#      registered (a relabelled unit's MAC betrays its real maker; a replaced
#      certificate proves nothing); and commissions the good ones offline
#      from an evidence bundle;
#   6. an auditor checks consistency and replays the whole log;
#   7. trust policies: one delivery judged under the UK sensitive-site policy
#      and under NDAA s.889, with explained findings and an HTML report;
#   8. a short load benchmark;
#   9. years of operation: an online backup, the authority set rotated (gov-a
#      retires), the log key rotated and followed by a client pinning the old.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
W=${QUICKSTART_DIR:-$ROOT/data/quickstart}
BATCH=${QUICKSTART_DEVICES:-200}  # cameras in the manufacturer's batch
LOG=$W/quickstart.log             # everything: install, build, then the story
T0=$SECONDS

step() {
  check_servers
  CURRENT_STEP=$*
  printf '\n\033[1m== %s\033[0m\n' "$*"
}
say() { printf '\033[2m%s\033[0m\n' "$*"; }
# expect RC CMD...: runs CMD, shows its output, and insists on exit code RC.
expect() {
  local want=$1 rc=0
  shift
  "$@" || rc=$?
  if [ "$rc" != "$want" ]; then
    fail "expected exit $want, got $rc from: $*"
  fi
  say "   (exit $rc, as expected)"
}

# --- Failure report -------------------------------------------------------
# Any failure (set -e, a server that died, an unexpected exit code) ends in
# on_exit, which names the step and the command, shows the tail of $LOG and
# of every server's logs, and keeps them all.
CURRENT_STEP="setting up"
FAILED_CMD=""
FAILED_LINE=""
FAIL_MSG=""
LOG_TEED=0
exec 3>&1 4>&2  # the terminal (or whatever we were given), kept for the report
trap 'FAILED_CMD=$BASH_COMMAND FAILED_LINE=$LINENO' ERR
fail() {
  FAIL_MSG=$*
  exit 1
}
tail_file() {  # tail_file FILE N: the last N lines of FILE, indented
  if [ -s "$1" ]; then
    echo "---- $1 (last $2 lines) ----"
    tail -n "$2" "$1" | sed 's/^/  | /'
  else
    echo "---- $1: empty or missing ----"
  fi
}
report_failure() {
  local rc=$1 name
  printf '\n\033[1;31mquickstart: FAILED in step "%s" (exit %s)\033[0m\n' "$CURRENT_STEP" "$rc"
  if [ -n "$FAIL_MSG" ]; then
    echo "  $FAIL_MSG"
  elif [ -n "$FAILED_CMD" ]; then
    echo "  command at line $FAILED_LINE of tools/quickstart.sh: $FAILED_CMD"
  fi
  echo -n "$SERVER_STATES"
  echo "$LOG_TAIL"
  for name in "${SERVERS[@]}"; do
    tail_file "$W/$name.log" 20
    tail_file "$W/$name.out" 5
  done
  echo "Logs (kept): $LOG"
  for name in "${SERVERS[@]}"; do echo "  $W/$name.log  $W/$name.out"; done
}
on_exit() {
  local rc=$? name
  trap - ERR
  set +e
  if ((rc != 0)); then
    sleep 0.2  # let tee catch up
    LOG_TAIL=$(tail_file "$LOG" 40)
    SERVER_STATES=""
    for name in "${SERVERS[@]}"; do
      server_state "$name"
      SERVER_STATES+="  $name: $STATE"$'\n'
    done
    report_failure "$rc" 2>&1 | tee -a "$LOG" >&4
  fi
  stop_servers
  # Let tee write everything out before the shell returns to the prompt.
  if [ "$LOG_TEED" = 1 ]; then
    exec >&- 2>&-
    wait "$TEE_PID" 2>/dev/null
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'FAIL_MSG="interrupted"; exit 130' INT
trap 'FAIL_MSG="terminated (SIGTERM)"; exit 143' TERM
trap 'FAIL_MSG="hung up (SIGHUP)"; exit 129' HUP

# free_port: a TCP port nobody listens on (for provd's tiles, which the
# replaying witness must know before provd starts).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return; }
  done
}

# --- Servers --------------------------------------------------------------
# serve NAME CMD...: starts a server as a child of this shell (never in a
# command substitution), in its own session (setsid: no controlling terminal,
# so no SIGHUP or Ctrl-C from it), stdin from /dev/null, stdout to
# $W/NAME.out and stderr to $W/NAME.log (files, never a pipe that could
# close). Waits for its "serving ... on HOST:PORT" line (or, for an ONVIF
# camera, "serving ... on https://HOST:PORT/...", or for a witness "serving on
# HOST:PORT as VKEY"); sets ADDR[NAME] to HOST:PORT.
SERVERS=()
declare -A PID=() ADDR=() COMM=() EXITED=()
serve() {
  local name=$1 pid
  shift
  setsid "$@" </dev/null >"$W/$name.out" 2>"$W/$name.log" 3>&- 4>&- &
  pid=$!
  SERVERS+=("$name")
  PID[$name]=$pid
  COMM[$name]=$(basename "$1")
  echo "$pid $name" >>"$W/pids"
  local deadline=$((SECONDS + 60))
  until grep -q ' serving\( .*\)\{0,1\} on \(https://\)\{0,1\}[0-9.]*:[0-9]*\(/[^ ]*\)\{0,1\}\( as .*\)\{0,1\}$' "$W/$name.out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { server_state "$name"; fail "$name did not start: $STATE"; }
    ((SECONDS < deadline)) || fail "$name did not print its serving line within 60 s"
    sleep 0.05
  done
  ADDR[$name]=$(sed -n 's|.* serving\( .*\)\{0,1\} on \(https://\)\{0,1\}\([0-9.]*:[0-9]*\)\(/[^ ]*\)\{0,1\}\( as .*\)\{0,1\}$|\3|p' "$W/$name.out" | head -n 1)
}
# alive NAME: the server's process still runs (its pid is still our child
# running the same program, not a reused pid).
alive() {
  local pid=${PID[$1]}
  kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${COMM[$1]:0:15}" ]
}
# server_state NAME: sets STATE. Not in a command substitution: only this
# shell can `wait` for its children's exit status.
server_state() {
  local name=$1 rc=0
  if alive "$name"; then
    STATE="running (pid ${PID[$name]}${ADDR[$name]:+, on ${ADDR[$name]}})"
  else
    # The first wait reaps the status; keep it for later calls.
    [ -n "${EXITED[$name]:-}" ] || { wait "${PID[$name]}" 2>/dev/null || EXITED[$name]=$?; }
    rc=${EXITED[$name]:-0}
    if ((rc > 128)); then
      STATE="NOT RUNNING: pid ${PID[$name]} was killed by signal $((rc - 128)) (SIG$(kill -l $((rc - 128)) 2>/dev/null))"
    else
      STATE="NOT RUNNING: pid ${PID[$name]} exited with status $rc"
    fi
  fi
}
check_servers() {  # between steps: every server must still run
  local name
  for name in "${SERVERS[@]}"; do
    alive "$name" || { server_state "$name"; fail "$name is gone (noticed at the end of this step): $STATE"; }
  done
}
running_servers() {
  local name
  for name in "${SERVERS[@]}"; do alive "$name" && echo "$name"; done
  return 0
}
stop_server() {  # stop_server NAME: SIGTERM, wait, and no longer expected to run
  local name=$1 kept=() n
  kill -TERM "${PID[$name]}"
  wait "${PID[$name]}" 2>/dev/null || true
  for n in "${SERVERS[@]}"; do [ "$n" = "$name" ] || kept+=("$n"); done
  SERVERS=("${kept[@]}")
}
stop_servers() {
  local name n
  for name in $(running_servers); do kill -TERM "${PID[$name]}"; done
  for n in $(seq 100); do  # up to 5 s to drain and stop
    [ -z "$(running_servers)" ] && break
    sleep 0.05
  done
  for name in $(running_servers); do kill -KILL "${PID[$name]}"; done
  for name in "${SERVERS[@]}"; do wait "${PID[$name]}" 2>/dev/null; done
  return 0
}

# --- Install and build: progress here, the full output in $LOG -----------
rm -rf "$W" && mkdir -p "$W/keys" "$W/cams"
K=$W/keys
: >"$LOG"
printf '\033[1mquickstart\033[0m: work dir %s\n' "$W"
echo "  full log (install, build, story): $LOG"
# phase LABEL CMD...: runs CMD with its output in $LOG; one line of progress.
phase() {
  local label=$1 t=$SECONDS
  shift
  CURRENT_STEP=$label
  printf '  %s ... ' "$label"
  echo "==== $label: $*" >>"$LOG"
  "$@" >>"$LOG" 2>&1 || { echo "FAILED"; fail "$label failed: $*"; }
  echo "done ($((SECONDS - t)) s)"
}
# ninja_progress: ninja's output to $LOG; "[done/total]" in place on a
# terminal, a line at each quarter otherwise.
ninja_progress() {
  local line tty=0 quarter=0 q
  [ -t 1 ] && tty=1
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$LOG"
    [[ $line =~ ^\[([0-9]+)/([0-9]+)\] ]] || continue
    if ((tty)); then
      printf '\r  building ... [%s/%s] ' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    else
      q=$((4 * BASH_REMATCH[1] / BASH_REMATCH[2]))
      if ((q > quarter && q < 4)); then
        quarter=$q
        printf '  building ... [%s/%s]\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
      fi
    fi
  done
  ((tty)) && printf '\r\033[K'
  return 0
}
build() {
  local t=$SECONDS
  CURRENT_STEP="building"
  echo "==== building: ninja -C $BUILD -j2 provd prov camsim provbench provwitness provmirror" >>"$LOG"
  { ninja -C "$BUILD" -j2 provd prov camsim provbench provwitness provmirror 2>&1 || echo "ninja: FAILED (exit $?)"; } |
    ninja_progress
  if tail -n 1 "$LOG" | grep -q '^ninja: FAILED'; then
    echo "  building ... FAILED"
    fail "the build failed: ninja's full output is in $LOG (its tail below)"
  fi
  if tail -n 1 "$LOG" | grep -q 'no work to do'; then
    echo "  building ... up to date ($((SECONDS - t)) s)"
  else
    echo "  building ... done ($((SECONDS - t)) s, $(grep -c '^\[[0-9]*/[0-9]*\]' "$LOG") steps)"
  fi
}
phase "installing Debian packages (scripts/install-deps.sh)" bash scripts/install-deps.sh
phase "configuring (cmake, RelWithDebInfo: the build the tests use)" \
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
build

# From here on, everything printed also goes to $LOG. tee ignores Ctrl-C so
# that the failure report still reaches the terminal.
exec > >(trap '' INT HUP; exec tee -a "$LOG") 2>&1
TEE_PID=$!
LOG_TEED=1

PROVD=$BUILD/ledger/provd
PROV=$BUILD/client/prov
CAMSIM=$BUILD/tools/camsim

step "Everyone generates Ed25519 keys (private key files are created 0600)"
for k in gov-a gov-b acme-mfr acme-ship orion-mfr dist buyer; do
  "$PROV" key generate --out "$K/$k.key" >/dev/null
  printf '  %-10s %s\n' "$k" "$("$PROV" key show "$K/$k.key")"
done

step "The operator creates the ledger: genesis names two authorities, threshold 2"
"$PROVD" init --data-dir "$W/ledger" --origin quickstart.provenance.example/log \
  --authority "gov-a=$("$PROV" key show "$K/gov-a.key")" \
  --authority "gov-b=$("$PROV" key show "$K/gov-b.key")" --threshold 2 2>"$W/provd-init.log"
say "   everyone pins the log key: $(cat "$W/ledger/log.vkey")"
say "   three independent witnesses cosign every head the log publishes; the third also"
say "   replays the log's static tiles through the rulebook before it cosigns:"
TILES_PORT=$(free_port)
TILES=http://127.0.0.1:$TILES_PORT
for w in w1 w2 w3; do
  "$BUILD/witness/provwitness" init --state-dir "$W/$w" --name "$w.quickstart.example" >/dev/null
done
echo "log $(cat "$W/ledger/log.vkey") $TILES" >"$W/w3.conf"
serve w1 "$BUILD/witness/provwitness" serve --state-dir "$W/w1" --listen 127.0.0.1:0 --log "$(cat "$W/ledger/log.vkey")"
serve w2 "$BUILD/witness/provwitness" serve --state-dir "$W/w2" --listen 127.0.0.1:0 --log "$(cat "$W/ledger/log.vkey")"
serve w3 "$BUILD/witness/provwitness" serve --state-dir "$W/w3" --listen 127.0.0.1:0 --config "$W/w3.conf" --replay
{
  echo "log $(cat "$W/ledger/log.vkey")"
  for w in w1 w2 w3; do echo "witness $w $(cat "$W/$w/witness.vkey") http://${ADDR[$w]}"; done
  echo "group two-of-three 2 w1 w2 w3"
  echo "quorum two-of-three"
} >"$W/witnesses.policy"
sed 's/^/     /' "$W/witnesses.policy" | cut -c1-110
say "   provd publishes the log as static tiles (C2SP tlog-tiles) with the witnesses' cosignatures:"
serve provd "$PROVD" serve --data-dir "$W/ledger" --listen 127.0.0.1:0 --plaintext \
  --tiles-dir "$W/tiles" --http-listen "127.0.0.1:$TILES_PORT" --witness-policy "$W/witnesses.policy"
LEDGER=${ADDR[provd]}
echo "  provd serving on $LEDGER (RocksDB in $W/ledger/db), tiles on $TILES"
# Everything here runs on loopback, where plaintext must be asked for
# (README "Transport security" runs provd with TLS and client certificates).
export PROV_SERVER=$LEDGER PROV_VKEY=$W/ledger/log.vkey PROV_STATE_DIR=$W/trust PROV_PLAINTEXT=1
"$PROV" log checkpoint >"$W/first.note" 2>"$W/first.note.log"
AUTH=(--key "$K/gov-a.key" --key "$K/gov-b.key")

step "1. Authority: vet organisations and their owners"
say "   gov-a signs, gov-b co-signs, then it is submitted (2-of-2):"
"$PROV" authority org --id acme-cam --name "Acme Camera Ltd" --country GB \
  --key "$K/gov-a.key" --out "$W/acme.rec"
"$PROV" record cosign --in "$W/acme.rec" --key "$K/gov-b.key"
"$PROV" submit "$W/acme.rec"
say "   laws are registered before an organisation or a policy may name them:"
"$PROV" authority law --code CN-NIL-2017 --name "PRC National Intelligence Law (2017)" \
  --jurisdiction CN --source "https://www.npc.gov.cn/ (Order No. 69, 27 June 2017)" "${AUTH[@]}"
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
serve cam-good "$CAMSIM" serve --dir "$(cam 1)" --plaintext
GOOD=${ADDR[cam-good]}
serve cam-clone "$CAMSIM" serve --dir "$(cam 2)" --plaintext --fault cloned-key
CLONE=${ADDR[cam-clone]}
serve cam-tamper "$CAMSIM" serve --dir "$(cam 3)" --plaintext --fault tampered-firmware
TAMPER=${ADDR[cam-tamper]}
serve cam-replay "$CAMSIM" serve --dir "$(cam 4)" --plaintext --fault replay
REPLAY=${ADDR[cam-replay]}
serve cam-unreg "$CAMSIM" serve --dir "$(cam 5)" --plaintext --fault unregistered
UNREG=${ADDR[cam-unreg]}
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

step "5. Real cameras: Acme's factory certificates, what its firmware shows, its MAC block"
say "   Acme's device-identity CA (IEEE 802.1AR style: a root and an intermediate, P-256):"
"$CAMSIM" make-ca --dir "$W/acme-devid" --name "Acme Device Identity" >"$W/acme-devid.json"
sed -n 's/^ *"subject": *"\(.*\)",$/  \1/p' "$W/acme-devid.json"
"$PROV" manufacturer identity-ca --org acme-cam --ca-id acme-devid --cert "$W/acme-devid/root.pem" \
  --cert "$W/acme-devid/intermediate.pem" --serial-from subject-serial-number \
  --algorithm "ECDSA P-256" --key "$K/acme-mfr.key"
say "   a product line whose firmware shows \"ACME\" / \"AC-200\" over ONVIF, and its firmware:"
"$PROV" manufacturer model --org acme-cam --model-id AC-200 --name "Acme Bullet 200" \
  --shown-manufacturer ACME --shown-model AC-200 --key "$K/acme-mfr.key"
FIRMWARE2=$W/cams/ac200-firmware-2.1.0.bin
(yes "Acme Bullet 200 firmware 2.1.0" || true) | head -c 65536 >"$FIRMWARE2"
"$PROV" manufacturer firmware --org acme-cam --model-id AC-200 --version 2.1.0 \
  --image "$FIRMWARE2" --key "$K/acme-mfr.key"
say "   four cameras, each a certificate under that CA and a MAC in Acme's block; 1-3"
say "   registered as covered by the CA, 4 with its certificate pinned:"
for i in 1 2 3 4; do
  "$CAMSIM" provision --dir "$W/cams/ac200-$i" --manufacturer-org acme-cam --manufacturer-name ACME \
    --serial "AC200-000$i" --model-id AC-200 --model-name AC-200 --firmware-version 2.1.0 \
    --firmware-image "$FIRMWARE2" --identity-ca "$W/acme-devid" --mac "AC:DE:48:20:00:0$i" >/dev/null
  if ((i < 4)); then id=(--identity-ca acme-devid); else id=(--identity-cert "$W/cams/ac200-$i/identity.pem"); fi
  "$PROV" manufacturer device --org acme-cam --serial "AC200-000$i" --model-id AC-200 "${id[@]}" \
    --manufactured 2026-11-16 --key "$K/acme-mfr.key"
done
AC200=(--serial AC200-0001 --serial AC200-0002 --serial AC200-0003 --serial AC200-0004)
"$PROV" transfer --manufacturer acme-cam "${AC200[@]}" --from acme-cam --to dist-co \
  --reference PO-2026-0051 --key "$K/acme-ship.key"
"$PROV" transfer --manufacturer acme-cam "${AC200[@]}" --from dist-co --to buyer-gov \
  --reference PO-GOV-9 --key "$K/dist.key"
say "   the authorities vet MAC blocks, each shown against IEEE's registry (ieee-data) first:"
say "   Acme's, and a real Dahua MA-L lent to the story's CN maker (subject to CN-NIL-2017):"
"$PROV" authority mac-block --org acme-cam --prefix AC:DE:48 --ieee \
  --source "the story's (IEEE lists it as Private)" "${AUTH[@]}"
"$PROV" authority mac-block --org orion-micro --prefix 3C:EF:8C --ieee \
  --source "IEEE MA-L (Zhejiang Dahua's, lent to the story's fictional maker)" "${AUTH[@]}"

step "5. Installer on the ladder, ONVIF over HTTPS: the handshake proves the factory identity"
(umask 077 && echo "s3cret-$RANDOM" >"$W/cams/onvif-password")
ONVIF_USER=(--user admin --password-file "$W/cams/onvif-password")
serve onvif-good "$CAMSIM" serve --dir "$W/cams/ac200-1" --onvif 127.0.0.1:0 "${ONVIF_USER[@]}"
serve onvif-relabel "$CAMSIM" serve --dir "$W/cams/ac200-2" --onvif 127.0.0.1:0 "${ONVIF_USER[@]}" \
  --fault foreign-mac --fault-mac 3C:EF:8C:12:34:56
serve onvif-replaced "$CAMSIM" serve --dir "$W/cams/ac200-3" --onvif 127.0.0.1:0 "${ONVIF_USER[@]}" \
  --fault replaced-certificate
serve onvif-pinned "$CAMSIM" serve --dir "$W/cams/ac200-4" --onvif 127.0.0.1:0 "${ONVIF_USER[@]}"
# scan_onvif CAM RC PATTERN... [-- ARGS...]: the installer's `prov scan --onvif` of camera CAM
# under the UK sensitive-site policy; shows its output (kept in $W/scan-CAM.txt), insists on
# exit RC and on a line matching each PATTERN (grep -E: the verdict and the finding codes).
scan_onvif() {
  local addr=${ADDR[$1]} want=$2 rc=0 out=$W/scan-$1.txt p patterns=()
  shift 2
  while (($#)) && [ "$1" != "--" ]; do patterns+=("$1") && shift; done
  (($#)) && shift
  "$PROV" scan --onvif "$addr" "${ONVIF_USER[@]}" --buyer buyer-gov \
    --policy policies/uk-sensitive-site.yaml "$@" >"$out" 2>&1 || rc=$?
  sed 's/^/  /' "$out"
  [ "$rc" = "$want" ] || fail "expected exit $want, got $rc from: prov scan --onvif $addr $*"
  for p in "${patterns[@]}"; do
    grep -Eq "$p" "$out" || fail "prov scan --onvif $addr: no line matching \"$p\" (output: $out)"
  done
  say "   (exit $rc, as expected)"
}
say "   a genuine AC-200: look for IDENTITY_PROVEN (by acme-devid), CLAIMS_MATCH, MAC_VENDOR:"
scan_onvif onvif-good 0 '^acme-cam/AC200-0001: TRUSTED$' 'IDENTITY_PROVEN.*acme-devid' CLAIMS_MATCH 'MAC_VENDOR\b'
say "   a relabelled unit, its MAC in the Dahua block vetted for orion-micro: look for"
say "   MAC_VENDOR_MISMATCH, and DENIED_LAW judging it as orion-micro's:"
scan_onvif onvif-relabel 1 '^acme-cam/AC200-0002: REJECTED$' MAC_VENDOR_MISMATCH 'DENIED_LAW.*orion-micro'
say "   a unit whose certificate an integrator replaced: IDENTITY_UNPROVEN, so never TRUSTED:"
scan_onvif onvif-replaced 2 '^acme-cam/AC200-0003: UNVERIFIED$' IDENTITY_UNPROVEN -- --manufacturer acme-cam
say "   the unit registered with its certificate pinned: IDENTITY_PROVEN by the key alone:"
scan_onvif onvif-pinned 0 '^acme-cam/AC200-0004: TRUSTED$' 'IDENTITY_PROVEN.*pinned'

step "5. Sensitive site: commission offline from an evidence bundle"
"$PROV" bundle export --custodian buyer-gov --out "$W/site.bundle"
say "   no ledger connection from here on (--server points nowhere):"
expect 0 "$PROV" --server 127.0.0.1:1 scan --device "$GOOD" --buyer buyer-gov --bundle "$W/site.bundle"
expect 0 "$PROV" --server 127.0.0.1:1 check --manufacturer acme-cam --serial "AC100-$(printf "%0${#BATCH}d" 9)" \
  --buyer buyer-gov --bundle "$W/site.bundle"
say "   a camera the bundle does not hold is UNVERIFIED, not \"unregistered\":"
expect 2 "$PROV" --server 127.0.0.1:1 check --manufacturer acme-cam --serial "$DIVERTED" \
  --buyer buyer-gov --bundle "$W/site.bundle"
say "   a bundle with one byte changed is refused (exit 3: a security failure):"
cp "$W/site.bundle" "$W/tampered.bundle"
printf '\x01' | dd of="$W/tampered.bundle" bs=1 seek=300 conv=notrunc status=none
expect 3 "$PROV" --server 127.0.0.1:1 check --manufacturer acme-cam --serial "AC100-$(printf "%0${#BATCH}d" 9)" \
  --bundle "$W/tampered.bundle"

step "6. Auditor: the log only grew since the first checkpoint; a full replay"
"$PROV" log consistency --from-note "$W/first.note"
"$PROV" audit
say "   the same from the static tiles alone, under the 2-of-3 witness policy:"
"$PROV" --tiles-url "$TILES" --witness-policy "$W/witnesses.policy" log checkpoint | tail -n 4
"$PROV" --tiles-url "$TILES" --witness-policy "$W/witnesses.policy" audit
say "   a check from the static files alone: the camera's whole history proven"
say "   complete by the index tiles (docs/index.md), no provd involved:"
expect 0 "$PROV" --tiles-url "$TILES" --witness-policy "$W/witnesses.policy" check --manufacturer acme-cam \
  --serial "AC100-$(printf "%0${#BATCH}d" 9)" --buyer buyer-gov
say "   a verifying mirror copies the log, checking every head, tile and record on the way:"
"$BUILD/mirror/provmirror" sync --once --source "$TILES" --vkey "$W/ledger/log.vkey" \
  --data-dir "$W/mirror" --tiles-dir "$W/mirror-tiles"
say "   an offline proof (C2SP tlog-proof) of entry 5, cosigned, verified with no server:"
"$PROV" --witness-policy "$W/witnesses.policy" log proof --index 5 --format tlog-proof \
  --out "$W/entry5.tlog-proof"
expect 0 "$PROV" --server 127.0.0.1:1 --witness-policy "$W/witnesses.policy" log verify-proof "$W/entry5.tlog-proof"
say "   a head without its quorum is not trusted (a policy naming one more, absent witness):"
{ grep -v '^group\|^quorum' "$W/witnesses.policy"
  echo "witness w4 $("$BUILD/witness/provwitness" init --state-dir "$W/w4" --name w4.quickstart.example | head -n 1)"
  echo "group all-four all w1 w2 w3 w4"
  echo "quorum all-four"; } >"$W/strict.policy"
expect 2 "$PROV" --tiles-url "$TILES" --witness-policy "$W/strict.policy" --state-dir "$W/trust-strict" log checkpoint

step "7. Trust policies: who really made it, what is inside, who owned them and when"
say "   demo facts (fictional companies, real structures; see tools/demo_policy.sh):"
PROV=$PROV K=$K W=$W bash tools/demo_policy.sh
say "   the same delivery under the UK sensitive-site policy (PRC National Intelligence Law):"
expect 1 "$PROV" delivery check "$W/policy-manifest.csv" --buyer buyer-gov \
  --policy policies/uk-sensitive-site.yaml --html "$W/delivery-uk.html"
say "   ... and under NDAA s.889 (Huawei, ZTE outright; Hytera, Hikvision, Dahua for public safety,"
say "   government facilities, critical infrastructure and national security; subsidiaries and affiliates),"
say "   for cameras going on a government site:"
expect 1 "$PROV" delivery check "$W/policy-manifest.csv" --buyer buyer-gov \
  --policy policies/ndaa-889.yaml --purpose government-facility-security --html "$W/delivery-ndaa.html"
say "   without --purpose the Hikvision-made unit cannot be judged (UNVERIFIED PURPOSE_NEEDED), and"
say "   for a shop it is out of s.889's scope (a pass that names the limit):"
expect 2 "$PROV" check --manufacturer hikvision --serial NOVA-2024 --buyer buyer-gov \
  --policy policies/ndaa-889.yaml
expect 0 "$PROV" check --manufacturer hikvision --serial NOVA-2024 --buyer buyer-gov \
  --policy policies/ndaa-889.yaml --purpose commercial
say "   one camera, explained (a clean maker; its image sensor's maker was owned by a state"
say "   group until 2023, so a unit made in 2022 is tainted and one made in 2024 is not):"
expect 1 "$PROV" check --manufacturer acme-cam --serial CLEAN-2022 --buyer buyer-gov \
  --policy policies/uk-sensitive-site.yaml
expect 0 "$PROV" check --manufacturer acme-cam --serial CLEAN-2024 --buyer buyer-gov \
  --policy policies/uk-sensitive-site.yaml
say "   an affiliate, explained (the state group holding 40 % of this maker also holds 41 % of Hikvision):"
expect 1 "$PROV" check --manufacturer lumen-vision --serial LV-2024 --buyer buyer-gov \
  --policy policies/ndaa-889.yaml --purpose public-safety
say "   a policy with a typo (CN-NIL2017) is refused, never silently passes everything:"
sed 's/CN-NIL-2017/CN-NIL2017/g' policies/uk-sensitive-site.yaml >"$W/typo-policy.yaml"
expect 64 "$PROV" check --manufacturer acme-cam --serial CLEAN-2024 --buyer buyer-gov \
  --policy "$W/typo-policy.yaml"
say "   the HTML reports render in headless Chromium:"
bash scripts/render-check.sh "$W/delivery-uk.html"
bash scripts/render-check.sh "$W/delivery-ndaa.html"
echo "  open $W/delivery-uk.html and $W/delivery-ndaa.html in a browser"

step "7. Real facts: the starter registry of sourced public facts (data/registry/starter.yaml)"
say "   a dry run shows what would be logged (nothing is ever logged from a file that fails it):"
"$PROV" authority import data/registry/starter.yaml --dry-run "${AUTH[@]}" | tail -n 4
"$PROV" authority import data/registry/starter.yaml "${AUTH[@]}" | tail -n 2
say "   importing it again logs nothing:"
"$PROV" authority import data/registry/starter.yaml "${AUTH[@]}" | tail -n 1
say "   Lorex units: FLIR's until Feb 2018, Dahua's until Nov 2022, then Taiwan's Skywatch:"
"$PROV" key generate --out "$K/lorex.key" >/dev/null 2>&1
"$PROV" authority enroll --key-file "$K/lorex.key" --org lorex --role manufacturer,custodian "${AUTH[@]}"
"$PROV" manufacturer model --org lorex --model-id LNR-1 --key "$K/lorex.key"
for made in 2015-06-01 2020-06-01 2024-06-01; do
  "$PROV" key generate --out "$K/lorex-$made.key" >/dev/null 2>&1
  "$PROV" manufacturer device --org lorex --serial "LOREX-${made%%-*}" --model-id LNR-1 \
    --device-key "$("$PROV" key show "$K/lorex-$made.key")" --manufactured "$made" --key "$K/lorex.key"
  "$PROV" transfer --manufacturer lorex --serial "LOREX-${made%%-*}" --from lorex --to buyer-gov \
    --key "$K/lorex.key"
done
say "   under NDAA s.889 for a public-safety site, the unit made while Dahua owned Lorex is rejected:"
expect 0 "$PROV" check --manufacturer lorex --serial LOREX-2015 --buyer buyer-gov \
  --policy policies/ndaa-889.yaml --purpose public-safety
expect 1 "$PROV" check --manufacturer lorex --serial LOREX-2020 --buyer buyer-gov \
  --policy policies/ndaa-889.yaml --purpose public-safety
expect 0 "$PROV" check --manufacturer lorex --serial LOREX-2024 --buyer buyer-gov \
  --policy policies/ndaa-889.yaml --purpose public-safety

step "8. Load: provbench streams pre-signed device records into a fresh ledger"
"$BUILD/tools/provbench" --provd "$PROVD" --prov "$PROV" --data-dir "$W/bench" --records "${QUICKSTART_BENCH_RECORDS:-20000}"

step "9. Years of operation: an online backup, a new authority set, a new log key"
say "   an online, consistent backup of the running ledger (a RocksDB checkpoint taken by provd):"
"$PROVD" backup --data-dir "$W/ledger" --to "$W/backup"
say "   gov-a retires and gov-c joins: signed by the current threshold and by gov-c itself:"
"$PROV" key generate --out "$K/gov-c.key" >/dev/null
"$PROV" authority rotate --authority "gov-b=$("$PROV" key show "$K/gov-b.key")" \
  --authority "gov-c=$("$PROV" key show "$K/gov-c.key")" --threshold 2 --reason "gov-a retires" \
  "${AUTH[@]}" --key "$K/gov-c.key"
"$PROV" authority show
say "   gov-a signs nothing more; the new set does, and verifiers follow it from the genesis:"
expect 1 "$PROV" authority org --id late-co --name "Late Co" --country GB "${AUTH[@]}"
AUTH=(--key "$K/gov-b.key" --key "$K/gov-c.key")
"$PROV" authority org --id late-co --name "Late Co" --country GB "${AUTH[@]}"
expect 0 "$PROV" check --manufacturer lorex --serial LOREX-2024 --buyer buyer-gov \
  --policy policies/ndaa-889.yaml --purpose public-safety
say "   the log key: the next one prepared while provd serves (for the witnesses), then rotated"
say "   with provd stopped; a client that pinned the old key follows the rotation, which the old"
say "   key signed and the log holds:"
cp "$W/ledger/log.vkey" "$W/old.vkey"
"$PROVD" rotate-log-key --prepare --data-dir "$W/ledger" 2>/dev/null
stop_server provd
"$PROVD" rotate-log-key --data-dir "$W/ledger"
serve provd-rotated "$PROVD" serve --data-dir "$W/ledger" --listen 127.0.0.1:0 --plaintext
LEDGER=${ADDR[provd-rotated]}
export PROV_SERVER=$LEDGER PROV_VKEY=$W/old.vkey
"$PROV" log checkpoint
expect 0 "$PROV" check --manufacturer lorex --serial LOREX-2024 --buyer buyer-gov \
  --policy policies/ndaa-889.yaml --purpose public-safety
"$PROV" audit | grep -E "^audit:|authority set|log key rotation"

step "Done in $((SECONDS - T0)) s. Everything is in $W (the log: $LOG)"
stop_servers
# Next steps: paths relative to the repository when they are inside it.
rel() { case $1 in "$ROOT"/*) echo "${1#"$ROOT"/}" ;; *) echo "$1" ;; esac; }
cat <<EOF

Next steps: the servers are stopped (this run's provd served on $LEDGER).
To keep exploring this ledger by hand, from $ROOT:
  $(rel "$PROVD") serve --data-dir $(rel "$W/ledger") --listen 127.0.0.1:7400 --plaintext &
  export PROV_SERVER=127.0.0.1:7400 PROV_VKEY=$W/ledger/log.vkey \\
    PROV_STATE_DIR=$W/trust PROV_PLAINTEXT=1
and try:
  $(rel "$PROV") log checkpoint
  $(rel "$PROV") check --manufacturer acme-cam --serial AC100-$(printf "%0${#BATCH}d" 1) --buyer buyer-gov
  $(rel "$PROV") delivery check $(rel "$W/policy-manifest.csv") --buyer buyer-gov --policy policies/uk-sensitive-site.yaml
EOF
