//! `dstream`: Spark Streaming's discretized streams (Zaharia et al., SOSP 2013, §3–§5), and the
//! micro-batch core that `structured-streaming` shares.
//!
//! Model:
//! - **Receivers**, one per source partition on a worker, cut their partition into a block every
//!   `block_interval`; a block counts as received once it is in the memory of
//!   `block_replication` workers (the copies are fault-tolerance traffic). The master hears of
//!   each received block by a report.
//! - **Batches**: every `batch_interval` the master allocates the received blocks (a contiguous
//!   prefix per partition) to batch n, logs the allocation to durable storage (its metadata,
//!   written at each batch) and, once that write is done, submits a job: one map task per block
//!   (stateless chain × records), a shuffle, and one reduce task per state partition
//!   (`job.parallelism`) computing state RDD partition (n, r) from (n−1, r) and the shuffled
//!   records. Every task pays `task_overhead`. The master tracks free cores itself and places a
//!   task on a free core, preferring locality (a block replica, the previous state partition);
//!   remote inputs are fetched over the network first. Batches pipeline: batch n+1's map tasks
//!   run while batch n is still reducing.
//! - **Semantics** are the job's: each reduce applies its records with [`ftsim_sim::OperatorState`]
//!   and then advances every source partition's watermark to the batch's end offset, so windows
//!   fire by event time. A reduce task writes its partition's output into sink transaction n
//!   (staged per (batch, partition), as Spark recommends: a rerun overwrites the same staged
//!   partition); the master commits transaction n when the batch is done. A lineage recompute
//!   never re-runs an output.
//! - **Checkpoints**: every `checkpoint_every` batches each state partition is written
//!   asynchronously to durable storage; processing does not wait. Once every partition of batch
//!   c is written, lineage before c is dropped.
//! - **Worker crash** (after detection): the master finds every lost partition (block replicas,
//!   map outputs still needed, state partitions) and recomputes them. A lost state partition's
//!   chain since the last complete checkpoint is split by key range into as many sub-tasks as the
//!   surviving cores allow per lost partition; each reads its slice of the checkpoint, fetches the
//!   shuffled records of every batch since then for its keys, recomputes, and ships its piece to
//!   a host node that assembles the partition (the paper's parallel recovery: the work is really
//!   divided over all cores, so more nodes recover faster). Lost map outputs of those batches
//!   are recomputed too, in parallel across timesteps, from block replicas. New batches go on
//!   meanwhile. Receivers on the dead node restart on a survivor at their last cut offset. No
//!   spare is used: the work is redistributed over the survivors, as in the paper.
//! - **Stragglers**: speculative execution (`speculation`): every `speculation_interval`, in each
//!   running stage where `speculation_quantile` of the tasks have finished, a task running longer
//!   than `speculation_multiplier` × the median duration (and at least 100 ms, Spark's minimum)
//!   gets one copy on another node; the first to finish wins and the other is cancelled. No
//!   blacklisting.
//! - **Master crash**: the master is restarted (`cluster.restart_delay`), reads its metadata
//!   back, learns from the workers which partitions they hold, forgets running attempts, drops
//!   batches whose allocation was never logged (their blocks go back to the pool), and resumes
//!   from the first batch not completed, plus one catch-up batch for the blocks received
//!   meanwhile. The sink remembers which transactions it committed, so nothing is committed twice.
//!
//! Promise: exactly-once with transactional and idempotent sinks. With an append sink, a task
//! that wrote its output and died before the master heard of it is run again and writes again
//! (Spark's documented at-least-once output semantics): at-least-once.
//!
//! Simplifications (also in the report):
//! - receivers use no core; a block whose replicas are all lost is re-read from the durable
//!   source log by its map task (our sources are replayable);
//! - no delay scheduling (a task goes to any free core if its preferred nodes are busy), no
//!   blacklisting, one speculative copy per task, no speculation of recovery sub-tasks;
//! - the sink's staged partitions and committed transaction ids live in the sink (durable); the
//!   append sink's output guard (Spark's output commit coordinator) lives in the master and is
//!   lost with it;
//! - worker re-registration after a master restart is folded into the metadata read;
//! - outputs and record lists of a batch are kept by the engine as the deterministic result of
//!   its first computation; a recompute costs time but recomputes the same values;
//! - batches pipeline (the paper's model) instead of Spark's default of one job at a time
//!   (`spark.streaming.concurrentJobs = 1`), so an overloaded or disturbed system shows longer
//!   processing times rather than growing scheduling delays;
//! - `restored` is reported when the last lost state partition is assembled again (at detection
//!   if the dead node held none); re-running its lost map tasks and in-flight tasks is part of
//!   normal scheduling after that;
//! - a recovery sub-task fetches a proportional share (1/sub-tasks) of each shuffle output of
//!   the batches it replays; its CPU work is the exact record count of its key range.

pub(crate) mod batches;
pub(crate) mod engine;
pub(crate) mod model;
pub(crate) mod recovery;
pub(crate) mod speculation;
pub(crate) mod table;
pub(crate) mod tasks;

use crate::registry::{EngineInfo, RunCtx};
use ftsim_sim::scenario::{JobKind, ParamKind, ParamSpec, ParamValue, Params, SinkMode};
use ftsim_sim::{Guarantee, RunReport, SimDuration};

pub use engine::MicroBatch;

/// The engine's name.
pub const NAME: &str = "dstream";

/// Which recovery model the micro-batch core follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// D-Streams: receivers, lineage, parallel recovery, pipelined batches.
    DStream,
    /// Structured Streaming: offsets WAL, state store versions every batch, restart on failure.
    Structured,
}

/// Checked engine parameters.
#[derive(Clone, Debug)]
pub struct Config {
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

impl Config {
    /// Reads the checked parameters of `mode`'s engine.
    pub fn new(mode: Mode, p: &Params) -> Config {
        let dstream = mode == Mode::DStream;
        Config {
            mode,
            batch_interval: p.duration(if dstream { "batch_interval" } else { "trigger_interval" }),
            block_interval: if dstream {
                p.duration("block_interval")
            } else {
                SimDuration::from_millis(200)
            },
            block_replication: if dstream {
                p.int("block_replication").max(1) as u32
            } else {
                1
            },
            task_overhead: p.duration("task_overhead"),
            checkpoint_every: if dstream {
                p.int("checkpoint_every").max(1) as u64
            } else {
                1
            },
            speculation: p.bool("speculation"),
            speculation_multiplier: p.float("speculation_multiplier"),
            speculation_quantile: p.float("speculation_quantile"),
            speculation_interval: p.duration("speculation_interval"),
            restart_delay: if dstream {
                SimDuration::ZERO
            } else {
                p.duration("restart_delay")
            },
            min_partitions: if dstream {
                0
            } else {
                p.int("min_partitions").max(0) as u32
            },
        }
    }
}

fn dur(name: &'static str, min_ms: u64, default: SimDuration, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Duration {
            min: SimDuration::from_millis(min_ms),
        },
        default: ParamValue::Duration(default),
        doc,
    }
}

/// Parameters every micro-batch engine shares (overhead, speculation).
pub fn common_params() -> Vec<ParamSpec> {
    vec![
        dur(
            "task_overhead",
            0,
            SimDuration::from_millis(5),
            "launch overhead added to every task's work",
        ),
        ParamSpec {
            name: "speculation",
            kind: ParamKind::Bool,
            default: ParamValue::Bool(true),
            doc: "launch backup copies of slow tasks (spark.speculation)",
        },
        ParamSpec {
            name: "speculation_multiplier",
            kind: ParamKind::Float { min: 1.0, max: 100.0 },
            default: ParamValue::Float(1.4),
            doc: "a task slower than this × its stage's median gets a copy",
        },
        ParamSpec {
            name: "speculation_quantile",
            kind: ParamKind::Float { min: 0.0, max: 1.0 },
            default: ParamValue::Float(0.75),
            doc: "fraction of a stage's tasks that must finish before speculating",
        },
        dur(
            "speculation_interval",
            1,
            SimDuration::from_millis(100),
            "how often the master looks for slow tasks",
        ),
    ]
}

fn params() -> Vec<ParamSpec> {
    let mut v = vec![
        dur(
            "batch_interval",
            10,
            SimDuration::from_secs(1),
            "a batch closes every interval",
        ),
        dur(
            "block_interval",
            1,
            SimDuration::from_millis(200),
            "receivers cut a block every interval (spark.streaming.blockInterval)",
        ),
        ParamSpec {
            name: "block_replication",
            kind: ParamKind::Int { min: 1, max: 8 },
            default: ParamValue::Int(2),
            doc: "in-memory copies of a block before it counts as received",
        },
        ParamSpec {
            name: "checkpoint_every",
            kind: ParamKind::Int { min: 1, max: 100_000 },
            default: ParamValue::Int(10),
            doc: "checkpoint the state RDD every this many batches",
        },
    ];
    v.extend(common_params());
    v
}

/// Guarantees of both micro-batch engines.
pub fn promise(_kind: JobKind, sink: SinkMode, _params: &Params) -> Guarantee {
    match sink {
        SinkMode::Append => Guarantee::AtLeastOnce,
        SinkMode::Idempotent | SinkMode::Transactional => Guarantee::ExactlyOnce,
    }
}

fn run(cx: RunCtx<'_>) -> RunReport {
    let mut engine = MicroBatch::new(cx.sc, Config::new(Mode::DStream, cx.params));
    cx.simulate(&mut engine)
}

/// Registry entry.
pub fn info() -> EngineInfo {
    EngineInfo {
        name: NAME,
        summary: "D-Streams: micro-batches of deterministic tasks, lineage, parallel recovery, speculation",
        params: params(),
        promise,
        promise_param: None,
        run,
    }
}
