#!/usr/bin/env bash
# Installs the Debian package in a fresh Debian 12 root and runs it there
# (its own command, not part of scripts/test.sh: debootstrap downloads a
# base system; cached, a rerun takes a minute or two). As root:
#   bash scripts/package-test.sh
# Steps: build the four binaries and the man pages, `cpack -G DEB` and
# scripts/package-check.sh; `debootstrap --variant=minbase bookworm` from a
# cached tarball; `apt-get install ./provd_*.deb` in the root (Depends
# resolved from the mirror); then in the root: the files and units where
# they belong, the conffiles registered, every binary's --help (its shared
# libraries resolved), `systemd-analyze verify` and `security` of the
# installed units, a refused config file, `provd init` and `provd serve
# --config /etc/provd/provd.yaml` answering a real `prov log checkpoint`,
# and `apt-get remove` / `purge` keeping and removing what they should.
#
# Environment: BUILD (build dir, default build), DEBIAN_MIRROR (default
# http://deb.debian.org/debian), PROV_PACKAGE_CACHE (default
# ~/.cache/prov-package-test: the debootstrap tarball and apt's .debs),
# KEEP_ROOT=1 to leave the root for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
CACHE=${PROV_PACKAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prov-package-test}
start=$(date +%s)
step() { echo "package-test: [$(($(date +%s) - start)) s] $*"; }
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || fail "run as root (debootstrap, chroot, mount)"

bash scripts/install-deps.sh
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD" -j2 provd prov provwitness provmirror provrecover man_pages >/dev/null
bash scripts/package-check.sh "$BUILD"
version=$(sed -n 's/^project(provenance_ledger VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb="$BUILD/provd_${version}_$(dpkg --print-architecture).deb"
command -v lintian >/dev/null || apt-get install -y -qq --no-install-recommends lintian >/dev/null
if command -v lintian >/dev/null; then
  step "lintian (reported, not enforced)"
  lintian --tag-display-limit 0 "$deb" | sed 's/^/  /' || true
fi

ROOT=$(mktemp -d /tmp/prov-package-root.XXXXXX)
serve_pid=
cleanup() {
  [[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null || true
  for m in var/cache/apt/archives dev/pts dev proc; do
    mountpoint -q "$ROOT/$m" && umount -l "$ROOT/$m" || true
  done
  if [[ "${KEEP_ROOT:-0}" == 1 ]]; then
    echo "package-test: root kept at $ROOT"
  else
    rm -rf --one-file-system "$ROOT"
  fi
}
trap cleanup EXIT

mkdir -p "$CACHE/archives/partial"
tarball="$CACHE/$SUITE-minbase.tgz"
if [[ ! -s "$tarball" ]]; then
  step "debootstrap --make-tarball (first run only)"
  work=$(mktemp -d /tmp/prov-debootstrap.XXXXXX)
  debootstrap --variant=minbase --make-tarball="$tarball.part" "$SUITE" "$work" "$MIRROR" >/dev/null
  rm -rf "$work"
  mv "$tarball.part" "$tarball"
fi
step "debootstrap --unpack-tarball $tarball"
debootstrap --variant=minbase --unpack-tarball="$tarball" "$SUITE" "$ROOT" "$MIRROR" >/dev/null

mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts"
mount --bind "$CACHE/archives" "$ROOT/var/cache/apt/archives"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
in_root() {
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}
# apt's downloads land in the bind-mounted cache, which _apt cannot write.
apt_get() { in_root apt-get -o APT::Sandbox::User=root "$@"; }
cp "$deb" "$ROOT/tmp/"
pkg="/tmp/$(basename "$deb")"

step "apt-get install $pkg (dependencies from $MIRROR)"
apt_get update -qq
apt_get install -y -qq --no-install-recommends "$pkg" >/dev/null
[[ $(in_root dpkg-query -W -f='${Status} ${Version}' provd) == "install ok installed $version" ]] ||
  fail "provd is not installed"

step "files and units where they belong"
for f in /usr/bin/provd /usr/bin/prov /usr/bin/provwitness /usr/bin/provmirror /usr/bin/provrecover \
  /lib/systemd/system/provd.service /lib/systemd/system/provwitness.service \
  /lib/systemd/system/provmirror.service /etc/provd/provd.yaml /etc/provwitness/logs.conf \
  /etc/provmirror/provmirror.yaml /usr/share/man/man1/provd.1.gz /usr/share/man/man1/prov.1.gz \
  /usr/share/man/man1/provwitness.1.gz /usr/share/man/man1/provmirror.1.gz \
  /usr/share/man/man1/provrecover.1.gz /usr/share/doc/provd/README.md /usr/share/doc/provd/config.md; do
  [[ -f "$ROOT$f" ]] || fail "$f is not installed"
done
for p in policies/*.yaml; do
  cmp -s "$p" "$ROOT/usr/share/provd/policies/$(basename "$p")" ||
    fail "policy $(basename "$p") is not installed as shipped"
done
conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' provd)
for f in /etc/provd/provd.yaml /etc/provwitness/logs.conf /etc/provmirror/provmirror.yaml; do
  grep -q "^ $f [0-9a-f]\{32\}" <<<"$conffiles" || fail "$f is not a registered conffile"
done

step "every binary runs (shared libraries resolved)"
for b in provd prov provwitness provmirror provrecover; do
  in_root "$b" --help >/dev/null || fail "$b --help"
  [[ $(in_root "$b" --version) == "$b $version" ]] || fail "$b --version"
  libs=$(in_root ldd "/usr/bin/$b") || fail "ldd $b"
  ! grep "not found" <<<"$libs" || fail "$b: a library is missing"
done

step "systemd-analyze verify and security of the installed units"
apt_get install -y -qq --no-install-recommends systemd >/dev/null
in_root systemd-analyze verify --man=no /lib/systemd/system/provd.service \
  /lib/systemd/system/provwitness.service /lib/systemd/system/provmirror.service ||
  fail "systemd-analyze verify in the root"
for u in provd provwitness provmirror; do
  level=$(in_root systemd-analyze security --offline=yes "/lib/systemd/system/$u.service" |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  echo "  $u.service: exposure $level"
done

step "a refused config file changes nothing"
printf 'data-dir: /var/lib/provd\nplaintxt: true\n' >"$ROOT/tmp/bad.yaml"
rc=0
out=$(in_root provd serve --config /tmp/bad.yaml 2>&1) || rc=$?
[[ $rc == 2 ]] || fail "bad config: exit $rc, not 2: $out"
grep -qF "/tmp/bad.yaml:2: unknown key 'plaintxt' for \`provd serve\` (did you mean 'plaintext'?)" \
  <<<"$out" || fail "bad config message: $out"
[[ ! -e "$ROOT/var/lib/provd" ]] || fail "a refused config created /var/lib/provd"

step "provd init, then provd serve --config /etc/provd/provd.yaml answers prov"
in_root prov key generate --out /root/authority.key >/dev/null
pub=$(in_root prov key show /root/authority.key)
in_root provd init --data-dir /var/lib/provd --origin package-test.example/log \
  --authority "authority=$pub" >/dev/null
# The shipped file as it is; only the port differs (a flag wins over it).
chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
  /usr/bin/provd serve --config /etc/provd/provd.yaml --listen 127.0.0.1:0 \
  >"$ROOT/tmp/serve.log" 2>&1 &
serve_pid=$!
target=
for _ in $(seq 1 300); do
  target=$(sed -n 's/.*provd: serving .* on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$ROOT/tmp/serve.log")
  [[ -n "$target" ]] && break
  kill -0 "$serve_pid" 2>/dev/null || fail "provd serve exited: $(cat "$ROOT/tmp/serve.log")"
  sleep 0.1
done
[[ -n "$target" ]] || fail "provd serve did not start: $(cat "$ROOT/tmp/serve.log")"
out=$(in_root prov --server "$target" --plaintext --vkey /var/lib/provd/log.vkey log checkpoint) ||
  fail "prov log checkpoint: $out"
echo "$out" | sed 's/^/  /'
grep -q "package-test.example/log" <<<"$out" || fail "the checkpoint is not this log's: $out"
kill -TERM "$serve_pid"
rc=0
wait "$serve_pid" || rc=$?
serve_pid=
[[ $rc == 0 ]] || fail "provd serve exited $rc on SIGTERM: $(cat "$ROOT/tmp/serve.log")"

step "apt-get remove keeps the conffiles and the ledger"
apt_get remove -y -qq provd >/dev/null
[[ ! -e "$ROOT/usr/bin/provd" && ! -e "$ROOT/lib/systemd/system/provd.service" ]] ||
  fail "remove left the binaries or units"
[[ -f "$ROOT/etc/provd/provd.yaml" ]] || fail "remove deleted the conffile"
[[ $(in_root dpkg-query -W -f='${Status}' provd) == "deinstall ok config-files" ]] ||
  fail "provd is not in config-files state after remove"
[[ -f "$ROOT/var/lib/provd/log.vkey" ]] || fail "remove deleted the ledger"

step "apt-get purge removes /etc but never the ledger"
apt_get purge -y -qq provd >/dev/null
[[ ! -e "$ROOT/etc/provd" && ! -e "$ROOT/etc/provwitness" && ! -e "$ROOT/etc/provmirror" ]] ||
  fail "purge left /etc files"
status=$(in_root dpkg-query -W -f='${Status}' provd 2>/dev/null || true)
[[ -z "$status" || "$status" == "unknown ok not-installed" ]] ||
  fail "provd still known to dpkg after purge: $status"
[[ -f "$ROOT/var/lib/provd/log.vkey" ]] || fail "purge deleted the ledger"

step "passed ($(stat -c %s "$deb") bytes package)"
