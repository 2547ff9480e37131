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
//! - **Scheduling**: the master tracks free cores itself and places a task on a free core,
//!   preferring locality (the nodes the policy names for a map task, the previous state
//!   partition for a reduce task); remote inputs are fetched over the network (or read back
//!   from durable storage) first. Attempts are tracked by a `live` flag: a killed attempt's
//!   messages still arrive and are ignored.
//! - **Semantics** are the job's: each reduce applies its records with [`ftsim_sim::OperatorState`]
//!   and then advances every source partition's watermark to the batch's end offset, so windows
//!   fire by event time. A reduce task writes its partition's output into sink transaction n
//!   (staged per (batch, partition), as Spark recommends: a rerun overwrites the same staged
//!   partition); the master commits transaction n when the batch is done and logs the batch's
//!   completion. A policy task never re-runs an output.
//! - **Stragglers**: speculative execution (`speculation`): every `speculation_interval`, in each
//!   running stage where `speculation_quantile` of the tasks have finished, a task running longer
//!   than `speculation_multiplier` × the median duration (and at least 100 ms, Spark's minimum)
//!   gets one copy on another node; the first to finish wins and the other is cancelled. No
//!   blacklisting.
//! - **Worker crash**: the master handles each dead worker once, after detection, on its own
//!   clock (a dead master handles nothing); the worker leaves its view and the policy does the
//!   rest.
//! - **Master crash**: the master is restarted (`cluster.restart_delay`), reads its metadata
//!   back, learns from the workers which partitions they hold, drops batches whose allocation was
//!   never logged (their input is allocated again), counts free cores from the live attempts,
//!   commits and logs the batches that finished meanwhile, and resumes; the policy restores its
//!   own state around that. The sink remembers which transactions it committed, so nothing is
//!   committed twice.
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
//! - outputs and record lists of a batch are kept by the engine as the deterministic result of
//!   its first computation; a recompute costs time but recomputes the same values.
//!
//! Output: `batches.csv`, one row per batch (`table`).

pub(crate) mod batches;
pub(crate) mod engine;
pub(crate) mod inputs;
pub(crate) mod master;
pub(crate) mod model;
pub(crate) mod policy;
pub(crate) mod pool;
pub(crate) mod protocol;
pub(crate) mod schedule;
pub(crate) mod speculation;
pub(crate) mod state;
pub(crate) mod table;
pub(crate) mod worker;

use ftsim_sim::config::{at_least, within};
use ftsim_sim::scenario::SinkMode;
use ftsim_sim::{Guarantee, SimDuration, engine_config};

pub use engine::MicroBatch;
pub use inputs::Inputs;
pub use model::{AttemptId, Batch, BlockId, TaskId};
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
}

/// Guarantees of both micro-batch engines: a task that wrote its output and died before the
/// master heard of it runs again and writes again, which only an append sink shows.
pub fn promise(sink: SinkMode) -> Guarantee {
    match sink {
        SinkMode::Append => Guarantee::AtLeastOnce,
        SinkMode::Idempotent | SinkMode::Transactional => Guarantee::ExactlyOnce,
    }
}
