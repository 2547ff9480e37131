#!/usr/bin/env bash
# The headline comparison: every engine on one crash at equal hardware
# (scenarios/experiments/headline.toml), into results/experiments/headline/: summary.csv,
# cost_recovery.png (cost while running against recovery time, the guarantee met as the marker)
# and report.html. About 40 s on two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked --quiet
./target/release/ftsim run scenarios/experiments/headline.toml --quiet --out results/experiments/headline
