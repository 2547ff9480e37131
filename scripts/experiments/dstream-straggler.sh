#!/usr/bin/env bash
# D-Streams (SOSP'13) §6.3, Fig. 13: batch processing time with no straggler, with a 6× straggler,
# and with the straggler and speculation (scenarios/experiments/dstream-straggler.toml: one
# batch's job at a time, as in Spark). Charts the mean processing time and the longest
# scheduling delay. Writes results/experiments/dstream-straggler/.
# Usage: scripts/experiments/dstream-straggler.sh
set -euo pipefail
source "$(dirname "$0")/common.bash"
out=results/experiments/dstream-straggler

base=(scenarios/experiments/dstream-straggler.toml --vary faults.0.slowdown=1.0,6.0
  --vary engines.dstream.speculation=false,true)
for metric in dstream/batches.processing_time_s dstream/batches.scheduling_delay_s:max; do
  sweep fig13 "$out" "${base[@]}" --metric "$metric"
done
