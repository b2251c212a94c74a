#!/usr/bin/env bash
# Runs Debian's onvif-util (libonvif) against camsim, both inside a fresh
# network namespace: `unshare --net bash onvif_util_netns.sh CAMSIM DEVICE_DIR
# USER PASSWORD_FILE PASSWORD`.
#
# Why a namespace: onvif-util addresses a camera only through WS-Discovery
# (it multicasts a Probe to 239.255.255.250:3702 and takes the first XAddr
# of the ProbeMatch whose host equals its argument), and it turns
# IP_MULTICAST_LOOP off, so a camera on the same host never hears it unless
# the group is routed through lo. In a private namespace that route is ours
# to add, and parallel tests cannot answer each other's probes. libonvif
# speaks plain HTTP only, hence camsim's --onvif-http.
#
# Prints camsim's "serving" lines, then onvif-util's output ("quit" on its
# stdin), then "onvif-util exit N" and "camsim exit N".
set -uo pipefail
camsim=$1 dev=$2 user=$3 password_file=$4 password=$5

ip link set lo up || exit 70
ip route add 224.0.0.0/4 dev lo || exit 70

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$camsim" serve --dir "$dev" --onvif 127.0.0.1:0 --onvif-http 127.0.0.1:0 \
  --user "$user" --password-file "$password_file" \
  --discovery --discovery-interface 127.0.0.1 >"$out" 2>&1 &
pid=$!
for _ in $(seq 200); do
  grep -q '^camsim: serving .* on http://' "$out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
cat "$out"

printf 'quit\n' | timeout 15 "${ONVIF_UTIL:-onvif-util}" -u "$user" -p "$password" 127.0.0.1 2>&1
echo "onvif-util exit $?"

kill -TERM "$pid"
wait "$pid"
echo "camsim exit $?"
