//! `structured-streaming`: Spark Structured Streaming's micro-batch recovery model, as a policy
//! on the micro-batch core ([`crate::microbatch`]).
//!
//! Model:
//! - every `trigger_interval` the driver takes the source offsets available now (no receivers:
//!   map tasks read their partition range straight from the durable log, split into at least
//!   `min_partitions` tasks as the Kafka source's option does), writes them to the
//!   offsets write-ahead log in durable storage, and runs the batch only once that write is
//!   done; batches run one at a time (a trigger that comes while a batch runs starts the next
//!   batch as soon as it ends);
//! - each reduce task commits its state-store version of the batch to durable storage (the write
//!   costs the keys that batch changed × `state_bytes_per_key`; the version is the partition's
//!   state after the batch) and finishes only once the write has completed; after the batch the
//!   driver commits the sink transaction and writes the commit log;
//! - on a worker or driver crash, after detection the whole query restarts: workers' memory is
//!   gone; the failed worker leaves the pool, and a spare and its restart are asked for (each
//!   joins the pool when ready); after `restart_delay` (worker crash) or the driver's restart
//!   (`cluster.restart_delay`) the driver reads its logs, once a live worker is in the pool, and
//!   re-runs every batch after the last one in the commit log from the logged offsets, emitting
//!   from the recomputed state; each state partition is read back from its last durable version
//!   at or before that batch (the full state size) by the first task that needs it. No lineage,
//!   no parallel recompute.
//!
//! Invariants: at most one batch is in flight (every earlier batch's completion is durable
//! before the next one is cut); while the query is down the driver schedules nothing and the
//! run cannot finish; a query restart ends the driver's incarnation, so nothing the failed query
//! issued for the driver (clocks, log writes, a pending restart) reaches the engine; `restored`
//! is reported for every failure the restart answers (workers lost while the driver was down
//! included) when the query runs again, on at least one live worker.
//!
//! Promise: exactly-once with transactional (the sink keeps batch ids) and idempotent sinks;
//! at-least-once with an append sink (a re-run batch writes again).
//!
//! Simplifications: real Spark survives an executor loss by retrying its tasks and reloading
//! state stores elsewhere; here any crash restarts the query. Speculation works as in `dstream`.
//! A state-store version is read as the newest durable one at or before the one asked for.

pub(crate) mod policy;
pub(crate) mod query;
pub(crate) mod store;

use crate::microbatch::{MicroBatch, Settings, TaskConfig, promise};
use crate::spec::EngineSpec;
use ftsim_sim::config::{at_least, within};
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, Scenario, SimDuration, engine_config};

pub use policy::SsTag;

engine_config! {
    /// `[engines.structured-streaming]`.
    pub struct Config {
        /// A micro-batch starts every interval (processing-time trigger).
        pub trigger_interval: SimDuration = SimDuration::from_secs(1) => at_least(SimDuration::from_millis(10));
        /// After a worker crash is detected, time until the failed query is running again.
        pub restart_delay: SimDuration = SimDuration::from_secs(5);
        /// Kafka source minPartitions: split the offset ranges into at least this many map tasks (0: one per partition).
        pub min_partitions: u32 = 0 => within(0, 1_000_000);
        #[flatten]
        /// The core's task parameters: overhead and speculation.
        pub tasks: TaskConfig;
    }
}

/// The `structured-streaming` engine: its policy's state on the micro-batch core.
pub struct StructuredStreaming {
    cfg: Config,
    /// A trigger came while a batch was running.
    trigger_due: bool,
    /// The query is down until it restarts.
    query_down: bool,
}

impl EngineSpec for StructuredStreaming {
    const NAME: &'static str = "structured-streaming";
    const SUMMARY: &'static str =
        "Structured Streaming: offsets WAL, state store versions every batch, restart on failure";
    type Config = Config;
    type Engine = MicroBatch<StructuredStreaming>;

    fn promise(_cfg: &Config, _kind: JobKind, sink: SinkMode) -> Guarantee {
        promise(sink)
    }

    fn build(sc: &Scenario, cfg: &Config) -> MicroBatch<StructuredStreaming> {
        let settings = Settings {
            batch_interval: cfg.trigger_interval,
            tasks: cfg.tasks.clone(),
            // The policy itself runs one batch at a time.
            concurrent_jobs: 0,
        };
        let policy = StructuredStreaming {
            cfg: cfg.clone(),
            trigger_due: false,
            query_down: false,
        };
        MicroBatch::new(sc, settings, policy)
    }
}
