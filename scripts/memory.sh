#!/usr/bin/env bash
# Peak memory (maximum resident set size) and wall time of each engine on the reference and the
# paper-scale scenarios, one engine per process, measured with /usr/bin/time -v. Prints the
# table that the README's performance section shows.
# Usage: scripts/memory.sh [scenario ...]   (default: reference paper-scale)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(reference paper-scale)
engines=(none upstream-backup passive-standby active-standby storm-acking flink-abs dstream structured-streaming)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| scenario | engine | records | wall s | records / s | peak MB | verdict |"
echo "|---|---|---|---|---|---|---|"
for s in "${scenarios[@]}"; do
  for e in "${engines[@]}"; do
    out="$tmp/$s-$e"
    /usr/bin/time -v ./target/release/ftsim run "scenarios/$s.toml" --engine "$e" --quiet --out "$out" \
      >/dev/null 2>"$tmp/time" || true
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time")
    secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    read -r records verdict < <(python3 - "$out/summary.csv" <<'PY'
import csv, sys
try:
    row = next(csv.DictReader(open(sys.argv[1])))
    print(row["records_in"], row["verdict"])
except Exception:
    print("0 failed")
PY
)
    rate=$(awk -v n="$records" -v s="$secs" 'BEGIN { printf "%.1f M", (s > 0 ? n / s / 1e6 : 0) }')
    printf "| %s | %s | %s | %.1f | %s | %d | %s |\n" "$s" "$e" "$records" "$secs" "$rate" $((rss_kb / 1024)) "$verdict"
  done
done
