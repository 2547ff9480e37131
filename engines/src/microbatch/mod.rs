//! The micro-batch core shared by `dstream` and `structured-streaming`.

pub(crate) mod batches;
pub(crate) mod engine;
pub(crate) mod model;
pub(crate) mod recovery;
pub(crate) mod speculation;
pub(crate) mod table;
pub(crate) mod tasks;

use ftsim_sim::scenario::SinkMode;
use ftsim_sim::{Guarantee, SimDuration};

pub use engine::MicroBatch;

/// Which recovery model the micro-batch core follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// D-Streams: receivers, lineage, parallel recovery, pipelined batches.
    DStream,
    /// Structured Streaming: offsets WAL, state store versions every batch, restart on failure.
    Structured,
}

/// The settings the micro-batch core runs with, from either engine's configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Recovery model.
    pub mode: Mode,
    /// Batch interval / trigger interval.
    pub batch_interval: SimDuration,
    /// Receiver block interval.
    pub block_interval: SimDuration,
    /// Copies of each block (in memory) before it counts as received.
    pub block_replication: u32,
    /// Launch overhead per task.
    pub task_overhead: SimDuration,
    /// Checkpoint state every this many batches.
    pub checkpoint_every: u64,
    /// Speculative execution.
    pub speculation: bool,
    /// Speculate past this multiple of the median.
    pub speculation_multiplier: f64,
    /// Fraction of a stage that must have finished first.
    pub speculation_quantile: f64,
    /// How often the master looks for stragglers.
    pub speculation_interval: SimDuration,
    /// Delay before a failed query restarts (structured streaming, worker crash).
    pub restart_delay: SimDuration,
    /// Structured streaming: split the source partitions into at least this many map tasks.
    pub min_partitions: u32,
}

/// Guarantees of both micro-batch engines.
pub fn promise(sink: SinkMode) -> Guarantee {
    match sink {
        SinkMode::Append => Guarantee::AtLeastOnce,
        SinkMode::Idempotent | SinkMode::Transactional => Guarantee::ExactlyOnce,
    }
}
