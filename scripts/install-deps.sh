#!/usr/bin/env bash
# Installs the Debian 12 packages this project builds, tests and runs with,
# and the npm packages of tests/interop/onvif-node (`npm ci`: exactly its
# package-lock.json). Idempotent: packages already present are skipped.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev libgrpc-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  librocksdb-dev libsodium-dev libssl-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libcsv-dev libspdlog-dev libfmt-dev libcpp-httplib-dev
  golang-go golang-golang-x-mod-dev xxd procps
  libyaml-cpp-dev graphviz chromium fonts-dejavu-core iso-codes ieee-data libhttp-parser-dev
  clang libclang-rt-14-dev
  python3-jsonschema python3-prometheus-client
  prometheus-cpp-dev
  curl
  onvif-tools iproute2 util-linux
  nginx-light wrk
  help2man systemd dpkg-dev debootstrap
  fiu-utils
)
# Node.js for the npm onvif interop test. A node that is already there (e.g.
# NodeSource's nodejs, which bundles npm and conflicts with Debian's npm
# package) is used as it is.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The npm onvif client the ONVIF interop tests drive, unless node_modules is
# already what the lock file says (npm records it in .package-lock.json).
onvif_node="$(dirname "$0")/../tests/interop/onvif-node"
installed="$onvif_node/node_modules/.package-lock.json"
if [[ ! -f "$installed" || "$onvif_node/package-lock.json" -nt "$installed" ||
      "$onvif_node/package.json" -nt "$installed" ]]; then
  npm ci --prefix "$onvif_node" --no-audit --no-fund --loglevel=error
fi
