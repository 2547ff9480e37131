#!/usr/bin/env bash
# Flink: (1) aligned against unaligned checkpoints as backpressure grows: the straggler's slowdown
# (1 = none, to 30×) × engines.flink-abs.mode, charting per run the checkpoints' duration and
# alignment (mean and largest) and their state and in-flight bytes from flink-abs/checkpoints.csv;
# (2) the checkpoint-interval trade: recovery_s and checkpoint_bytes against
# engines.flink-abs.checkpoint_interval, for a crash just before a checkpoint (59.99 s: the
# worst case, a whole interval to replay) and just after one (60.5 s). Each further --metric
# reruns the same sweep, which reuses its runs. Writes results/experiments/flink/.
# Usage: scripts/experiments/flink.sh
set -euo pipefail
source "$(dirname "$0")/common.bash"
out=results/experiments/flink

levels=(scenarios/experiments/flink-backpressure-levels.toml
  --vary faults.0.slowdown=1.0,2.0,3.0,5.0,10.0,20.0,30.0
  --vary engines.flink-abs.mode=aligned,unaligned --seeds 3)
for metric in duration_s:max duration_s alignment_s:max inflight_bytes:max inflight_bytes state_bytes; do
  sweep backpressure "$out" "${levels[@]}" --metric "flink-abs/checkpoints.$metric"
done

interval=(scenarios/experiments/flink-checkpoint-interval.toml
  --vary engines.flink-abs.checkpoint_interval=1s,2s,5s,10s,30s
  --vary faults.0.at=59.99s,60.5s --seeds 3)
for metric in recovery_s checkpoint_bytes; do
  sweep checkpoint-interval "$out" "${interval[@]}" --metric "$metric"
done
