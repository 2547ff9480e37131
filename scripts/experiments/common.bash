# Shared by the experiment scripts (sourced, not run; not named *.sh, so that
# scripts/reproduce-all does not take it for an experiment): builds ftsim once and runs sweeps
# whose run outputs stay in a scratch directory, so that results/experiments/ keeps only each
# sweep's sweep.csv, sweep.toml and charts. A second run of a script reuses the scratch sweeps' complete
# runs (ftsim sweep resumes), so only what changed is simulated again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked --quiet
ftsim="$target/release/ftsim"
scratch="${FTSIM_EXPERIMENTS_SCRATCH:-$target/experiments}"

# sweep NAME DEST ARGS...: `ftsim sweep ARGS... --out $scratch/NAME`, then sweep.csv, sweep.toml
# and the charts copied into DEST/NAME. Exit status 3 (a run did not finish: expected where a
# model does not recover) and 1 (a broken promise: the chart marks it) are reported, not fatal.
sweep() {
  local name=$1 dest=$2
  shift 2
  local status=0
  "$ftsim" sweep "$@" --quiet --out "$scratch/$name" || status=$?
  case $status in
    0) ;;
    1) echo "note: $name: an engine broke its promise (marked on the chart)" ;;
    3) echo "note: $name: a run did not finish within run.drain" ;;
    *) echo "error: $name: ftsim sweep exited with $status" >&2; exit "$status" ;;
  esac
  publish "$name" "$dest"
}

# publish NAME DEST: copies the scratch sweep's table, manifest and charts into DEST/NAME (its
# charts of earlier metrics kept).
publish() {
  local name=$1 dest=$2
  mkdir -p "$dest/$name"
  cp "$scratch/$name"/sweep.csv "$scratch/$name"/sweep.toml "$dest/$name/"
  cp "$scratch/$name"/sweep_*.png "$scratch/$name"/sweep_*.svg "$dest/$name/"
}
