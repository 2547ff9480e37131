#!/usr/bin/env bash
# Regenerates results/: runs every scenario in scenarios/ with its own engines, seed and
# parameters, writing results/<scenario>/ (summary.csv, per-engine CSVs, charts).
# Usage: scripts/regenerate.sh [scenario-name ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in scenarios/*.toml; do names+=("$(basename "$f" .toml)"); done
fi
for n in "${names[@]}"; do
  echo "== $n"
  ./target/release/ftsim run "scenarios/$n.toml" --quiet --out "results/$n"
done
