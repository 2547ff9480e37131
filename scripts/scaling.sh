#!/usr/bin/env bash
# Node scaling: wall seconds of `ftsim run scenarios/scaling.toml --engine E --set cluster.nodes=N`
# (the same 3 million records on N nodes; partitions and stateful tasks follow the node count),
# one engine per process, with the kernel events and messages of each run. Prints the table the
# README's performance section shows. A run past the time limit is stopped and shown as "> LIMIT".
# Usage: scripts/scaling.sh [nodes ...]   (default: 20 200 1000; FTSIM_ENGINES, FTSIM_LIMIT_S)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
nodes=("$@")
[ ${#nodes[@]} -eq 0 ] && nodes=(20 200 1000)
read -r -a engines <<< "${FTSIM_ENGINES:-none upstream-backup passive-standby active-standby storm-acking flink-abs dstream structured-streaming}"
limit=${FTSIM_LIMIT_S:-300}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| engine | nodes | wall s | kernel events | messages |"
echo "|---|---|---|---|---|"
for e in "${engines[@]}"; do
  for n in "${nodes[@]}"; do
    out="$tmp/$e-$n"
    start=$(date +%s.%N)
    if timeout "$limit" ./target/release/ftsim run scenarios/scaling.toml --engine "$e" \
      --set "cluster.nodes=$n" --quiet --out "$out" >/dev/null 2>&1; then
      end=$(date +%s.%N)
      read -r events messages < <(python3 - "$out/summary.csv" <<'PY'
import csv, sys
row = next(csv.DictReader(open(sys.argv[1])))
print(row["sim_events"], row["messages"])
PY
)
      printf "| %s | %s | %.1f | %s | %s |\n" "$e" "$n" "$(echo "$end - $start" | bc)" "$events" "$messages"
    else
      printf "| %s | %s | > %s | | |\n" "$e" "$n" "$limit"
    fi
  done
done
