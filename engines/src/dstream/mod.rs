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

use crate::microbatch::{MicroBatch, Mode, Settings, promise};
use crate::spec::EngineSpec;
use ftsim_sim::config::{at_least, within};
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, Scenario, SimDuration, engine_config};

engine_config! {
    /// `[engines.dstream]`.
    pub struct Config {
        /// A batch closes every interval.
        pub batch_interval: SimDuration = SimDuration::from_secs(1) => at_least(SimDuration::from_millis(10));
        /// Receivers cut a block every interval (spark.streaming.blockInterval).
        pub block_interval: SimDuration = SimDuration::from_millis(200) => at_least(SimDuration::from_millis(1));
        /// In-memory copies of a block before it counts as received.
        pub block_replication: u32 = 2 => within(1, 8);
        /// Checkpoint the state RDD every this many batches.
        pub checkpoint_every: u64 = 10 => within(1, 100_000);
        /// Launch overhead added to every task's work.
        pub task_overhead: SimDuration = SimDuration::from_millis(5);
        /// Launch backup copies of slow tasks (spark.speculation).
        pub speculation: bool = true;
        /// A task slower than this × its stage's median gets a copy.
        pub speculation_multiplier: f64 = 1.4 => within(1.0, 100.0);
        /// Fraction of a stage's tasks that must finish before speculating.
        pub speculation_quantile: f64 = 0.75 => within(0.0, 1.0);
        /// How often the master looks for slow tasks.
        pub speculation_interval: SimDuration = SimDuration::from_millis(100) => at_least(SimDuration::from_millis(1));
    }
}

/// The marker type of the `dstream` engine.
pub struct DStream;

impl EngineSpec for DStream {
    const NAME: &'static str = "dstream";
    const SUMMARY: &'static str =
        "D-Streams: micro-batches of deterministic tasks, lineage, parallel recovery, speculation";
    type Config = Config;
    type Engine = MicroBatch;

    fn promise(_cfg: &Config, _kind: JobKind, sink: SinkMode) -> Guarantee {
        promise(sink)
    }

    fn build(sc: &Scenario, cfg: &Config) -> MicroBatch {
        let settings = Settings {
            mode: Mode::DStream,
            batch_interval: cfg.batch_interval,
            block_interval: cfg.block_interval,
            block_replication: cfg.block_replication,
            task_overhead: cfg.task_overhead,
            checkpoint_every: cfg.checkpoint_every,
            speculation: cfg.speculation,
            speculation_multiplier: cfg.speculation_multiplier,
            speculation_quantile: cfg.speculation_quantile,
            speculation_interval: cfg.speculation_interval,
            restart_delay: SimDuration::ZERO,
            min_partitions: 0,
        };
        MicroBatch::new(sc, settings)
    }
}
