//! The mistakes a sweep or a merge refuses before it writes anything. Each is one line saying
//! what is wrong and what is allowed; the CLI exits with code 2.

use ftsim_sim::ScenarioError;
use std::path::PathBuf;

/// Why a sweep or a merge was refused.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A varied value the scenario does not accept (the path names no field, or the value is
    /// wrong for it).
    #[error("--vary {vary}: {message}")]
    Vary {
        /// The `--vary` argument.
        vary: String,
        /// The loader's message about the value.
        message: String,
    },
    /// The same path varied twice.
    #[error("--vary {path}: the path is varied twice; give all its values in one --vary")]
    VariedTwice {
        /// The path.
        path: String,
    },
    /// A point whose combination of values the scenario does not accept.
    #[error("point {point} ({values}): {reason}")]
    Point {
        /// The point's index.
        point: usize,
        /// Its values, `path=value, ...`.
        values: String,
        /// What the loader said.
        reason: Box<ScenarioError>,
    },
    /// The seeds of a point would pass the largest seed.
    #[error("--seeds {seeds}: point {point} starts at run.seed {base}, so its seeds would pass {max}", max = u64::MAX)]
    SeedRange {
        /// `--seeds`.
        seeds: u64,
        /// The point.
        point: usize,
        /// Its run.seed.
        base: u64,
    },
    /// More runs than a sweep may have.
    #[error("the sweep has {runs} runs (points × seeds): at most {max} are allowed; vary fewer values")]
    TooManyRuns {
        /// The runs asked for (saturated).
        runs: u128,
        /// The limit.
        max: usize,
    },
    /// `--out` (or a merge's DIR) refused by the output rules.
    #[error("{flag} {}: {reason}", path.display())]
    OutDir {
        /// `--out`, or `merge` for a shard directory.
        flag: &'static str,
        /// The path as given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A merge input that is not a sweep directory, or whose sweep.toml cannot be read.
    #[error("{}: {reason}", dir.display())]
    NotASweep {
        /// The directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Two merge inputs from different sweeps.
    #[error("{} and {} are not shards of the same sweep: their {what} differ ({a} vs {b})", first.display(), second.display())]
    DifferentSweeps {
        /// The first directory.
        first: PathBuf,
        /// The other.
        second: PathBuf,
        /// What differs.
        what: &'static str,
        /// Its value in the first.
        a: String,
        /// Its value in the other.
        b: String,
    },
    /// Two merge inputs holding the same run.
    #[error("{first} and {second} both hold run {run} ({what}); give each shard once")]
    Overlap {
        /// The first directory and its shard.
        first: String,
        /// The other and its shard.
        second: String,
        /// The run's index.
        run: usize,
        /// The run: point, values and seed.
        what: String,
    },
    /// `--metric ENGINE/TABLE.COLUMN` naming an engine the sweep does not run, or a table or
    /// column that engine does not write.
    #[error("--metric {metric}: {message}")]
    Metric {
        /// The `--metric` argument.
        metric: String,
        /// What is wrong, with what exists.
        message: String,
    },
    /// Runs no merge input holds complete.
    #[error("{count} run(s) missing: {list}")]
    Missing {
        /// How many.
        count: usize,
        /// Which, with where they were expected.
        list: String,
    },
}
