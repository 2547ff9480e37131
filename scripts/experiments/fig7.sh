#!/usr/bin/env bash
# D-Streams (SOSP'13) Fig. 7: recovery time against the load before a failure, upstream backup
# against parallel recovery on N = 5, 10 and 20 nodes, with a checkpoint one minute old
# (scenarios/experiments/fig7-*.toml). The load λ is the fraction of the cluster's CPU the input
# uses: one core per node at 2 ms a record is 500 records/s per node, so the rate for load λ on N
# nodes is λ × 500 × N: one sweep of the rate per engine and N. The crashed worker is the one
# whose share of the keys is closest to 1/N (keys are hashed to tasks), so that its load is λ.
# examples/fig7.rs draws the runs beside the paper's model into results/experiments/fig7/.
# Usage: scripts/experiments/fig7.sh
set -euo pipefail
source "$(dirname "$0")/common.bash"
out=results/experiments/fig7
per_node=500
loads="0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 0.95"
declare -A crash=([5]=0 [10]=5 [20]=11)
args=()
for n in 5 10 20; do
  rates=$(for l in $loads; do awk -v l="$l" -v n="$n" -v c="$per_node" 'BEGIN { printf "%d\n", l * n * c + 0.5 }'; done | paste -sd, -)
  for engine in upstream-backup dstream; do
    name="$engine-n$n"
    sweep "$name" "$out" "scenarios/experiments/fig7-$engine.toml" \
      --set cluster.nodes="$n" --set faults.0.crash="${crash[$n]}" --vary workload.rate="$rates"
    args+=("$n=$scratch/$name")
  done
done
cargo run --release --quiet --example fig7 -- --per-node "$per_node" --out "$out" "${args[@]}"
