#!/usr/bin/env bash
# D-Streams (SOSP'13) §6.2, Fig. 12: the extra delay a worker crash causes against the
# checkpoint interval (every 2, 10 and 30 one-second batches), on 20 workers and on 40 at twice
# the load, the crash coming just before a checkpoint (scenarios/experiments/dstream-checkpoint.toml).
# Charts restore_s (crash to the lost state rebuilt, detection's 1 s included) and the longest
# batch processing time. Writes results/experiments/dstream-checkpoint/.
# Usage: scripts/experiments/dstream-checkpoint.sh
set -euo pipefail
source "$(dirname "$0")/common.bash"
out=results/experiments/dstream-checkpoint

base=(scenarios/experiments/dstream-checkpoint.toml --vary engines.dstream.checkpoint_every=2,10,30)
forty=(--set cluster.nodes=40 --set workload.rate=48000 --set job.parallelism=80)
for metric in restore_s dstream/batches.processing_time_s:max; do
  sweep 20-nodes "$out" "${base[@]}" --metric "$metric"
  sweep 40-nodes "$out" "${base[@]}" "${forty[@]}" --metric "$metric"
done
