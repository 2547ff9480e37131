#!/usr/bin/env bash
# Storm: (1) tracking on against off: engines.storm-acking.ackers = 0 or per-worker on a run
# without failures, charting messages, ft_messages, bytes, CPU (busy_core_s), throughput and
# p99; (2) recovery against engines.storm-acking.message_timeout (5 s to 60 s), for a crash whose
# lost tuples fail after one timeout (58 s) and one whose last lost tuples fail after two
# (59 s), charting recovery_s and restore_s. Writes results/experiments/storm/.
# Usage: scripts/experiments/storm.sh
set -euo pipefail
source "$(dirname "$0")/common.bash"
out=results/experiments/storm

overhead=(scenarios/experiments/storm-acking-overhead.toml
  --vary engines.storm-acking.ackers=0,per-worker --seeds 3)
for metric in messages ft_messages bytes busy_core_s throughput_rps latency_p99_ms; do
  sweep acking "$out" "${overhead[@]}" --metric "$metric"
done

timeout=(scenarios/experiments/storm-acking-timeout.toml
  --vary engines.storm-acking.message_timeout=5s,10s,20s,30s,60s
  --vary faults.0.at=58s,59s)
for metric in recovery_s restore_s; do
  sweep message-timeout "$out" "${timeout[@]}" --metric "$metric"
done
