#!/usr/bin/env bash
# Installs the Debian 12 packages this project builds, tests and runs with.
# Idempotent: packages already present are skipped by apt.
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
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
