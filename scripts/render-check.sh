#!/usr/bin/env bash
# Renders an HTML delivery report in headless Chromium (Debian's `chromium`)
# and checks what a reader would see: the device rows, verdicts, findings and
# the inline Graphviz SVG with its highlighted path, and that the page loads
# nothing from the network.
#   scripts/render-check.sh REPORT.html            check a report
#   scripts/render-check.sh --sample TESTS_BINARY  check the sample report
#                                                  that report_html_tests writes
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${1:-}" = "--sample" ]; then
  REPORT_OUT="$tmp/report.html" "$2" --gtest_filter='*WritesSampleReport*' >/dev/null
  report="$tmp/report.html"
  expect=(acme-cam/DOME-2024 hikvision/NOVA-2024 REJECTED TRUSTED UNVERIFIED DENIED_LAW
          MISSING_OWNERSHIP_FACTS "Orion Group")
else
  report=$(realpath "$1")
  expect=(TRUSTED REJECTED)
fi
[ -s "$report" ] || { echo "render-check: no report at $report" >&2; exit 1; }
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "render-check: chromium is not installed (scripts/install-deps.sh)" >&2; exit 1; }

# No network: every URL must be an XML namespace name.
if grep -oE "https?://[^\"' <>)]+" "$report" | grep -vE '^http://www\.w3\.org/(2000/svg|1999/xlink)$' >"$tmp/urls"; then
  echo "render-check: the report refers to the network:" >&2
  cat "$tmp/urls" >&2
  exit 1
fi

flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
       --user-data-dir="$tmp/profile" --disable-background-networking)
timeout 90 "$chromium" "${flags[@]}" --dump-dom "file://$report" >"$tmp/dom.html" 2>"$tmp/err" || {
  echo "render-check: chromium failed:" >&2; tail -20 "$tmp/err" >&2; exit 1; }
missing=0
for want in "${expect[@]}" "<svg" "#c62828"; do
  grep -qF -- "$want" "$tmp/dom.html" || { echo "render-check: rendered page lacks '$want'" >&2; missing=1; }
done
[ "$missing" = 0 ] || exit 1
timeout 90 "$chromium" "${flags[@]}" --screenshot="$tmp/report.png" --window-size=1280,2000 \
  "file://$report" >/dev/null 2>"$tmp/err" || {
  echo "render-check: chromium screenshot failed:" >&2; tail -20 "$tmp/err" >&2; exit 1; }
png_bytes=$(stat -c %s "$tmp/report.png" 2>/dev/null || echo 0)
[ "$png_bytes" -gt 20000 ] || { echo "render-check: screenshot is only $png_bytes bytes" >&2; exit 1; }
[ -z "${RENDER_KEEP:-}" ] || cp "$tmp/report.png" "$RENDER_KEEP"
echo "render-check: ok ($(grep -c '<tr>' "$tmp/dom.html") table rows, $(grep -o '<svg' "$tmp/dom.html" | wc -l) graphs, screenshot $png_bytes bytes)"
