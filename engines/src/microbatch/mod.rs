//! The micro-batch core shared by `dstream` and `structured-streaming`: a master that cuts the
//! input into batches and runs each as a job of deterministic tasks on the workers' cores. What
//! an engine adds (where input comes from, what a failure costs, what is made durable beyond
//! the master's metadata) is its [`Policy`].
//!
//! Model:
//! - **Batches**: every `batch_interval` the master's batch clock fires and the policy closes a
//!   batch now or later. Closing batch n allocates its input (blocks the policy chooses, a
//!   contiguous range per source partition continuing where batch n−1 ended), logs the
//!   allocation to durable storage (the master's metadata, written at each batch) and, once that
//!   write is done, submits a job: one map task per block (stateless chain × records), a
//!   shuffle, and one reduce task per state partition (`job.parallelism`) computing state
//!   partition (n, r) from (n−1, r) and the shuffled records. Every task pays `task_overhead`.
//!   The policy may add tasks of its own ([`Job`]).
//! - **State** is data (`state`): state partition (n, r) is an [`ftsim_sim::OperatorState`] held
//!   in the memory of the workers that computed it (lost with the node, dropped once (n+1, r) is
//!   done) and, once a write carrying it has completed, in durable storage (a checkpoint or a
//!   state-store version: the policy's). A reduce attempt takes the state of (n−1, r) from where
//!   the master knows it lives when the attempt starts on its worker, applies batch n's records
//!   of r and advances every source partition's watermark to the batch's end offset, so windows
//!   fire by event time; its worker then holds (n, r). Every attempt computes and emits for
//!   itself (reruns and speculative copies included): deterministic tasks give the same values,
//!   and the output guard below keeps them from showing twice.
//! - **Scheduling**: the master tracks free cores itself and places a task on a free core,
//!   preferring locality (the nodes the policy names for a map task, the previous state
//!   partition for a reduce task); remote inputs are fetched over the network (or read back
//!   from durable storage) first. An attempt whose inputs are gone by the time it starts on its
//!   worker (lost after the master launched it) fails at once, a fetch failure, and its task waits
//!   again. Attempts are tracked by a `live` flag: a killed attempt's messages still arrive and
//!   are ignored.
//! - **Output**: a reduce attempt writes its partition's output into sink transaction n, once per
//!   (batch, partition) (staged in the sink for a transactional sink, as Spark recommends, else
//!   guarded by the master's output commit coordinator); the master commits transaction n when
//!   the batch is done and logs the batch's completion. A policy task never re-runs an output.
//! - **Stragglers**: speculative execution (`speculation`): every `speculation_interval`, in each
//!   running stage where `speculation_quantile` of the tasks have finished, a task running longer
//!   than `speculation_multiplier` × the median duration (and at least 100 ms, Spark's minimum)
//!   gets one copy on another node; the first to finish wins and the other is cancelled. No
//!   blacklisting.
//! - **Worker crash**: the master handles each dead worker once, after detection, on its own
//!   clock (a dead master handles nothing): the worker leaves the pool and, as a cluster manager
//!   would, the master asks for a spare and for the failed node's restart; each joins the pool
//!   with all its cores free when it is ready (`pool`). The policy does the rest; with no worker
//!   left, lost work waits for a node to join.
//! - **Master crash**: the master is restarted (`cluster.restart_delay`), handles the workers that
//!   died meanwhile (out of the pool, spares and restarts asked for), reads its metadata back
//!   (once the policy lets it: it may wait for a live worker), learns from the workers which
//!   partitions they hold, drops batches whose allocation was never logged (their input is
//!   allocated again), counts free cores from the live attempts, commits and logs the batches
//!   that finished meanwhile, and resumes; the policy restores its own state around that. The
//!   sink remembers which transactions it committed, so nothing is committed twice.
//! - **Stuck**: the engine states why it cannot finish only when it lacks capacity: the master is
//!   down waiting to come back, or no worker is left.
//!
//! Record ledger: a batch's records are counted read when the batch is allocated, its filtered
//! ones filtered at the same time; a batch's kept records of partition r are counted applied once,
//! when the first reduce of (n, r) completes (reruns, speculative copies and lineage recomputes
//! apply them again, but replay lineage rather than take new input, and are not counted); the
//! kept records of a batch forgotten at a master restart (its allocation never logged) are
//! counted dropped, "allocation lost with the master", since they are read again with a later
//! batch. So a finished run balances (read = filtered + applied + dropped), and a batch whose
//! records are never applied shows as records in flight. No message carries ledger records.
//!
//! Incarnations (see `protocol`): the master's clocks and metadata operations belong to
//! [`Scope::Master`]; a master restart (or a policy's restart of the whole query) ends that
//! incarnation and the kernel drops what the old one left in flight. A policy may name scopes of
//! its own.
//!
//! Simplifications (also in the report):
//! - no delay scheduling (a task goes to any free core if its preferred nodes are busy), no
//!   blacklisting, one speculative copy per task, no speculation of policy tasks;
//! - the sink's staged partitions and committed transaction ids live in the sink (durable); the
//!   append sink's output guard (Spark's output commit coordinator) lives in the master and is
//!   lost with it;
//! - worker re-registration after a master restart is folded into the metadata read;
//! - a batch's records per state partition are the engine's to compute with (they are a pure
//!   function of the source log) while a reduce, a rerun or the policy's lineage may need them;
//!   where they come from (block replicas, the log, shuffle outputs) is modelled by the fetches'
//!   costs. In memory the engine holds each partition's share until every partition applied it
//!   once (a window count's share combined per (window, key), as a map-side partial aggregate
//!   is, `share`), and after that reads the records again from the source log through the
//!   batch's blocks, so its memory does not grow with the lineage;
//! - a state partition moves whole: reading it from a node or from storage copies it at the
//!   instant the attempt starts, while the fetch's bytes take their time on the network or disk.
//!
//! Simulation cost (the simulator's work, not the model's): the master finds work without passes
//! over every task or worker. A scheduling pass visits the pending tasks in priority order but
//! jumps over a batch's reduce tasks while its maps are not all ready and, past the job horizon,
//! over every task but the policy's (`pending`); the freest worker comes from an ordered set
//! (`cores`); a batch counts its ready maps and done reduces, kept by the one setter of a task's
//! status and output (`model::Task::set`); a reduce finds the maps with records of its partition
//! in the batch's shuffle index (`model::Shuffle`); and a reduce advances its state to the
//! batch's watermarks at once, sharing them with every state of the batch instead of copying one
//! per state ([`ftsim_sim::BatchWatermarks`]). So a task launch costs O(log) in tasks and
//! workers; per batch the core pays O(partitions + records) (its watermarks, its shuffle index),
//! and every `speculation_interval` a pass over the running stages. The modelled messages
//! (launches, shuffle fetches merged per source node, status reports) are one kernel event each.
//!
//! Output: `batches.csv`, one row per batch (`table`).

pub(crate) mod batches;
pub(crate) mod cores;
pub(crate) mod engine;
pub(crate) mod inputs;
pub(crate) mod master;
pub(crate) mod model;
pub(crate) mod pending;
pub(crate) mod policy;
pub(crate) mod pool;
pub(crate) mod protocol;
pub(crate) mod schedule;
pub(crate) mod share;
pub(crate) mod speculation;
pub(crate) mod state;
pub(crate) mod table;
pub(crate) mod worker;

use ftsim_sim::config::{at_least, within};
use ftsim_sim::scenario::SinkMode;
use ftsim_sim::{Guarantee, SimDuration, engine_config};

pub use engine::MicroBatch;
pub use inputs::Inputs;
pub use model::{AttemptId, Batch, BlockId, Input, TaskId};
pub(crate) use model::{Kind, Loc, Status};
pub use policy::{Cx, Job, Policy, Reduced};
pub use protocol::{Clock, Msg, Scope, Tag};
pub use state::States;

engine_config! {
    /// The parameters of the core's tasks, shared by every micro-batch engine's table.
    pub struct TaskConfig {
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

/// The settings the micro-batch core runs with, from either engine's configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Batch interval / trigger interval.
    pub batch_interval: SimDuration,
    /// The tasks' parameters.
    pub tasks: TaskConfig,
    /// How many batches' jobs may run at once (the oldest unfinished ones); 0: no limit, a
    /// batch's tasks launch as soon as their inputs and a free core allow.
    pub concurrent_jobs: u32,
}

/// Guarantees of both micro-batch engines: a task that wrote its output and died before the
/// master heard of it runs again and writes again, which only an append sink shows.
pub fn promise(sink: SinkMode) -> Guarantee {
    match sink {
        SinkMode::Append => Guarantee::AtLeastOnce,
        SinkMode::Idempotent | SinkMode::Transactional => Guarantee::ExactlyOnce,
    }
}
