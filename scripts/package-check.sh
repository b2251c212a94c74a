#!/usr/bin/env bash
# The Debian package without installing it (a few seconds; part of
# scripts/test.sh): `cpack -G DEB` in BUILD, then its file list, control
# fields, conffiles and maintainer scripts checked with dpkg-deb, the man
# pages with gzip, and the systemd units with `systemd-analyze verify` (their
# ExecStart pointed at BUILD's binaries) and `systemd-analyze security`, whose
# exposure must stay at or below 2.0. The installing test:
# scripts/package-test.sh.
# Usage: scripts/package-check.sh [BUILD]   (BUILD has the four binaries and
# man_pages built)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-${BUILD:-build}}
version=$(sed -n 's/^project(provenance_ledger VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
fail() { echo "package-check: FAIL: $*" >&2; exit 1; }

rm -f "$BUILD"/provd_*.deb
(cd "$BUILD" && cpack -G DEB >/dev/null) || fail "cpack -G DEB"
deb="$BUILD/provd_${version}_$(dpkg --print-architecture).deb"
[[ -f "$deb" ]] || fail "no $deb"

contents=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
expected=(
  /usr/bin/provd /usr/bin/prov /usr/bin/provwitness /usr/bin/provmirror /usr/bin/provrecover
  /lib/systemd/system/provd.service /lib/systemd/system/provwitness.service
  /lib/systemd/system/provmirror.service
  /etc/provd/provd.yaml /etc/provwitness/logs.conf /etc/provmirror/provmirror.yaml
  /usr/share/man/man1/provd.1.gz /usr/share/man/man1/prov.1.gz
  /usr/share/man/man1/provwitness.1.gz /usr/share/man/man1/provmirror.1.gz
  /usr/share/man/man1/provrecover.1.gz
  /usr/share/doc/provd/README.md /usr/share/doc/provd/config.md
)
for p in policies/*.yaml; do expected+=("/usr/share/provd/policies/$(basename "$p")"); done
for f in "${expected[@]}"; do
  grep -qxF "$f" <<<"$contents" || fail "$deb lacks $f"
done
# Nothing from the build tree or the test binaries.
if grep -E 'tests?/|_tests$|/tools/|crashloop|provbench' <<<"$contents"; then
  fail "$deb ships test or tool files"
fi

[[ $(dpkg-deb -f "$deb" Package) == provd ]] || fail "Package is not provd"
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "Version is not $version"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 'libgrpc++' libsodium libyaml-cpp; do
  grep -qF "$lib" <<<"$depends" || fail "Depends (from dpkg-shlibdeps) lacks $lib: $depends"
done
conffiles=$(dpkg-deb -I "$deb" conffiles)
for f in /etc/provd/provd.yaml /etc/provwitness/logs.conf /etc/provmirror/provmirror.yaml; do
  grep -qxF "$f" <<<"$conffiles" || fail "$f is not a conffile"
done
ctrl=$(mktemp -d)
trap 'rm -rf "$ctrl"' EXIT
dpkg-deb -e "$deb" "$ctrl"
for s in postinst prerm postrm; do
  [[ -x "$ctrl/$s" ]] || fail "no executable $s"
  sh -n "$ctrl/$s" || fail "$s does not parse"
done

# The files themselves: man pages, the example settings parse as the daemons
# read them (the real binaries refuse any unknown key or bad value).
dpkg-deb -x "$deb" "$ctrl/root"
for m in "$ctrl"/root/usr/share/man/man1/*.1.gz; do
  page=$(zcat "$m") || fail "$m is not gzip"
  grep -q '^\.TH ' <<<"$page" || fail "$m is not a man page"
done
# provd reads the shipped file; a data-dir that was never made then fails
# at the log key (exit 1), after the config was accepted (a refusal is 2).
rc=0
out=$(timeout 30 "$BUILD/ledger/provd" serve --config "$ctrl/root/etc/provd/provd.yaml" \
  --data-dir "$ctrl/no-such-ledger" --listen 127.0.0.1:0 2>&1) || rc=$?
[[ $rc == 1 ]] && grep -q KEY_FILE <<<"$out" || fail "the shipped provd.yaml: exit $rc: $out"
rc=0
out=$(timeout 30 "$BUILD/mirror/provmirror" serve --config "$ctrl/root/etc/provmirror/provmirror.yaml" 2>&1) ||
  rc=$?
grep -q "provmirror.yaml:1: missing required key 'source'" <<<"$out" ||
  fail "the shipped provmirror.yaml should ask for source: $out"

if command -v systemd-analyze >/dev/null; then
  units="$ctrl/units"
  mkdir -p "$units"
  for u in provd provwitness provmirror; do
    sed -e "s|/usr/bin/provd |$PWD/$BUILD/ledger/provd |" \
      -e "s|/usr/bin/provwitness |$PWD/$BUILD/witness/provwitness |" \
      -e "s|/usr/bin/provmirror |$PWD/$BUILD/mirror/provmirror |" \
      "$ctrl/root/lib/systemd/system/$u.service" >"$units/$u.service"
  done
  systemd-analyze verify --man=no "$units"/*.service || fail "systemd-analyze verify"
  for u in provd provwitness provmirror; do
    level=$(systemd-analyze security --offline=yes "$units/$u.service" 2>/dev/null |
      sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    [[ -n "$level" ]] || fail "no exposure level for $u"
    echo "package-check: $u.service exposure $level (systemd-analyze security)"
    awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "$u.service exposure $level > 2.0"
  done
else
  echo "package-check: no systemd-analyze: units not verified" >&2
fi
echo "package-check: $deb ok ($(stat -c %s "$deb") bytes, ${#expected[@]} paths checked)"
