#!/usr/bin/env bash
# Opens a run's report.html, and a sweep's, in headless Chromium and fails unless the page loads without console
# messages (errors, uncaught exceptions: the page logs nothing when it works) and every chart is
# shown: the page's own script counts the charts laid out with a non-zero size and content into
# <body data-charts-shown>, which must equal <body data-charts> and the number of .svg files the
# run wrote (a sweep: the sweep's own charts, beside runs/).
# Usage: scripts/test-report.sh [OUTPUT_DIR]
#   without OUTPUT_DIR: runs a shortened scenarios/crash.toml (four engines, one crash) and a
#   small sweep of it into a temporary directory and checks both reports; with it: checks
#   OUTPUT_DIR/report.html.
# Installs Debian's chromium (apt-get, with sudo when not root) if /usr/bin/chromium is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=/usr/bin/chromium
if [ ! -x "$chromium" ]; then
  echo "== installing chromium"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q chromium >/dev/null; then
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" apt-get install -y -q chromium >/dev/null
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/profile"

# Checks DIR/report.html; prints one line, returns non-zero on a failure.
check() {
  local out=$1 page="$1/report.html" svgs status=0 fail=0 body declared shown
  [ -f "$page" ] || { echo "FAIL: no $page"; return 1; }
  if [ -f "$out/sweep.toml" ]; then
    svgs=$(find "$out" -maxdepth 1 -name '*.svg' | wc -l)
  else
    svgs=$(find "$out" -name '*.svg' | wc -l)
  fi
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
    --dump-dom "file://$page" >"$work/dom.html" 2>"$work/chromium.log" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "FAIL: chromium exited with $status"
    tail -20 "$work/chromium.log"
    return 1
  fi
  if sed 's#xmlns="http://www.w3.org/2000/svg"##g' "$page" | grep -Eo '.{0,40}https?://.{0,40}'; then
    echo "FAIL: $page refers to something outside it (above)"
    fail=1
  fi
  # Every console message is reported as INFO:CONSOLE whatever its level; the page logs none.
  if grep -E ':CONSOLE|Uncaught' "$work/chromium.log"; then
    echo "FAIL: $page wrote to the console (above)"
    fail=1
  fi
  body=$(grep -o '<body[^>]*>' "$work/dom.html" | head -1 || true)
  declared=$(sed -n 's/.* data-charts="\([0-9]*\)".*/\1/p' <<<"$body")
  shown=$(sed -n 's/.* data-charts-shown="\([0-9]*\)".*/\1/p' <<<"$body")
  if [ -z "$shown" ]; then
    echo "FAIL: the check in $page did not run (no data-charts-shown on <body>: $body)"
    fail=1
  elif [ "$declared" != "$svgs" ] || [ "$shown" != "$svgs" ]; then
    echo "FAIL: $svgs charts in $out, the page declares ${declared:-none} and shows $shown"
    fail=1
  fi
  [ "$fail" -eq 0 ] || return 1
  echo "ok: $page shows all $shown charts, no console messages"
}

if [ $# -ge 1 ]; then
  check "$(cd "$1" && pwd)"
  exit
fi
short=(--set run.duration=20s --set faults.0.at=10s --set workload.rate=5000)
cargo run --release --locked --quiet -- run scenarios/crash.toml --quiet --out "$work/crash" "${short[@]}" >/dev/null
check "$work/crash"
cargo run --release --locked --quiet -- sweep scenarios/crash.toml --quiet --out "$work/sweep" "${short[@]}" \
  --vary cluster.detection_delay=1s,3s --engine none --engine flink-abs >/dev/null
check "$work/sweep"
