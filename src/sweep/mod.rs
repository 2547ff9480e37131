//! Parameter sweeps: `ftsim sweep` runs a scenario over the cartesian product of varied values
//! × seeds, in parallel across runs, each run's output in its own directory under `runs/`, and
//! sums them up in `sweep.csv` and a chart; `--shard I/N` runs a deterministic part of it and
//! `ftsim merge` combines the parts.
//!
//! - [`spec`]: the `--vary` and `--shard` flags;
//! - [`plan`]: every point loaded and checked before anything runs;
//! - [`manifest`]: `sweep.toml`, what the sweep is and which shard a directory holds;
//! - [`point`]: `point.toml`, which run a run directory holds;
//! - [`runs`]: reading a complete run directory;
//! - [`execute`]: the thread pool;
//! - [`table`], [`metric`], [`chart`], [`report`]: sweep.csv, the chart and the exit status;
//! - [`command`] and [`mod@merge`]: the two commands.

pub mod chart;
pub mod command;
pub mod error;
pub mod execute;
pub mod files;
pub mod manifest;
pub mod merge;
pub mod metric;
pub mod page;
pub mod plan;
pub mod point;
pub mod report;
pub mod runs;
pub mod spec;
pub mod table;

pub use command::{SweepArgs, sweep};
pub use error::SweepError;
pub use merge::merge;
