//! `dstream`: Spark Streaming's discretized streams (Zaharia et al., SOSP 2013, §3–§5), as a
//! policy on the micro-batch core ([`crate::microbatch`]).
//!
//! Model (the core's batches, tasks, semantics, speculation, worker pool and master restart,
//! plus):
//! - **Receivers**, one per source partition on a worker, cut their partition into a block every
//!   `block_interval`; a block counts as received once it is in the memory of
//!   `block_replication` workers (the copies are fault-tolerance traffic). The master hears of
//!   each received block by a report.
//! - **Batches**: every `batch_interval` the master allocates the received blocks (a contiguous
//!   prefix per partition) to batch n; a map task prefers a node holding a replica of its block.
//!   Batches pipeline: batch n+1's map tasks run while batch n is still reducing. A lineage
//!   recompute never re-runs an output.
//! - **Checkpoints**: every `checkpoint_every` batches each state partition's state is written
//!   asynchronously to durable storage by the first reduce of it to complete; processing does not
//!   wait, and storage holds it once the write completes. Once every partition of batch c is
//!   written, c is the last complete checkpoint, and lineage (record lists) before it is dropped;
//!   the complete checkpoint before it is kept too, older ones are deleted.
//! - **Worker crash** (after detection): the master finds every lost partition (block replicas,
//!   map outputs still needed, state partitions) and recomputes them. A lost state partition is
//!   rebuilt from the last complete checkpoint: its snapshot of the partition, with the operator
//!   applied again to the partition's records of every batch since (fetched from the map
//!   outputs, recomputed from block replicas or the durable log if lost). The chain is split by
//!   key range into as many sub-tasks as the live cores allow per lost partition; each reads its
//!   slice of the checkpoint, fetches the shuffled records of every batch since for its keys,
//!   recomputes, and ships its piece to a host node that assembles the partition (the paper's
//!   parallel recovery: the work is really divided over all cores, so more nodes recover
//!   faster); later batches continue from the rebuilt state. Lost map outputs of those batches
//!   are recomputed too, in parallel across timesteps. New batches go on meanwhile. Receivers on
//!   the dead node restart on a live worker at their last cut offset; a block copy sent to or
//!   from the dead node goes again from a live holder, and a block with no copy left is re-read
//!   from the durable source log by its map task. Recovery starts at once on the survivors; the
//!   spare and the restarted node join the pool as they come. With no worker left, all of this
//!   waits for one to join.
//! - **Master crash**: the master is restarted (`cluster.restart_delay`), reads its metadata
//!   back, learns from the workers which partitions they hold, forgets running attempts, drops
//!   batches whose allocation was never logged (their blocks go back to the pool), and resumes
//!   from the first batch not completed, plus one catch-up batch for the blocks received
//!   meanwhile. Attempts that finished while it was down count as done, and so does a reduce
//!   task whose partition reached a checkpoint. Workers that died meanwhile are handled as worker
//!   crashes once it is back.
//!
//! Incarnations: each receiver is a scope of its own; moving it to a survivor begins a new
//! incarnation, so the kernel drops the ticks of its old place.
//!
//! Promise: exactly-once with transactional and idempotent sinks. With an append sink, a task
//! that wrote its output and died before the master heard of it is run again and writes again
//! (Spark's documented at-least-once output semantics): at-least-once.
//!
//! Simplifications (also in the report; the core's are in [`crate::microbatch`]):
//! - receivers use no core; re-reading a block from the source log costs no storage read;
//! - no speculation of recovery sub-tasks;
//! - batches pipeline by default (the paper's model); `concurrent_jobs = 1` runs one batch's job
//!   at a time as Spark does by default (`spark.streaming.concurrentJobs`), so that a disturbed
//!   system shows growing scheduling delays instead of growing processing times;
//! - `restored` is reported, once per failure, when the last state partition the failure lost is
//!   assembled again (when its failure is handled if it lost none), provided a worker is live;
//!   re-running its lost map tasks and in-flight tasks is part of normal scheduling after that;
//! - a recovery sub-task fetches a proportional share (1/sub-tasks) of each shuffle output of
//!   the batches it replays; its CPU work is the exact record count of its key range; the host
//!   assembles the partition by replaying the whole chain at once (each piece is that state
//!   restricted to its keys).

pub(crate) mod checkpoint;
pub(crate) mod lineage;
pub(crate) mod master;
pub(crate) mod policy;
pub(crate) mod receivers;
pub(crate) mod recovery;
pub(crate) mod replicas;

use crate::microbatch::{BlockId, MicroBatch, Settings, TaskConfig, promise};
use crate::spec::EngineSpec;
use ftsim_sim::config::{at_least, within};
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, NodeId, Scenario, SimDuration, engine_config};
use lineage::Recovery;
use receivers::Receiver;
use replicas::Receipt;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub use policy::{DsMsg, DsTag};

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
        /// Batches whose jobs may run at once, oldest first (spark.streaming.concurrentJobs,
        /// whose default is 1); 0: no limit, batches pipeline.
        pub concurrent_jobs: u32 = 0 => within(0, 1_000);
        #[flatten]
        /// The core's task parameters: overhead and speculation.
        pub tasks: TaskConfig;
    }
}

/// The `dstream` engine: the D-Streams policy's state on the micro-batch core.
pub struct DStream {
    cfg: Config,
    /// One receiver per source partition.
    receivers: Vec<Receiver>,
    /// How far each block has got towards being received, by block id (every block is cut by a
    /// receiver).
    receipts: Vec<Receipt>,
    /// Blocks not yet allocated, per source partition, in offset order.
    unallocated: Vec<VecDeque<BlockId>>,
    recoveries: Vec<Recovery>,
    /// Per state partition, the failed nodes whose loss of it waits for a recovery to start.
    lost_by: BTreeMap<u32, BTreeSet<NodeId>>,
    /// Failed nodes not yet reported restored, with how many of their failures wait.
    unrestored: BTreeMap<NodeId, u32>,
    /// Storage side: checkpoint partitions written per batch (from the last complete one on),
    /// the last complete checkpoint and the one before it.
    ckpt_written: BTreeMap<u64, u32>,
    last_ckpt: u64,
    prev_ckpt: u64,
    /// Every batch up to this one has had its record lists dropped.
    trimmed: u64,
}

impl DStream {
    /// A fresh policy for `sc`: receiver p starts on worker p mod workers.
    fn new(sc: &Scenario, cfg: &Config) -> DStream {
        let workers: Vec<_> = sc.cluster.workers().collect();
        let parts = sc.workload.partitions;
        DStream {
            cfg: cfg.clone(),
            receivers: (0..parts)
                .map(|p| Receiver {
                    node: workers[p as usize % workers.len()],
                    next: 0,
                    epoch: 0,
                    lost: false,
                })
                .collect(),
            receipts: Vec::new(),
            unallocated: (0..parts).map(|_| VecDeque::new()).collect(),
            recoveries: Vec::new(),
            lost_by: BTreeMap::new(),
            unrestored: BTreeMap::new(),
            ckpt_written: BTreeMap::new(),
            last_ckpt: 0,
            prev_ckpt: 0,
            trimmed: 0,
        }
    }
}

impl EngineSpec for DStream {
    const NAME: &'static str = "dstream";
    const SUMMARY: &'static str =
        "D-Streams: micro-batches of deterministic tasks, lineage, parallel recovery, speculation";
    type Config = Config;
    type Engine = MicroBatch<DStream>;

    fn promise(_cfg: &Config, _kind: JobKind, sink: SinkMode) -> Guarantee {
        promise(sink)
    }

    fn build(sc: &Scenario, cfg: &Config) -> MicroBatch<DStream> {
        let settings = Settings {
            batch_interval: cfg.batch_interval,
            tasks: cfg.tasks.clone(),
            concurrent_jobs: cfg.concurrent_jobs,
        };
        MicroBatch::new(sc, settings, DStream::new(sc, cfg))
    }
}
