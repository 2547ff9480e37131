//! `active-standby`: every stateful task has a replica on another node that receives the same
//! input and processes it; only the primary's outputs reach the sink, and on the primary's
//! failure the replica takes over at once (Hwang et al., "High-Availability Algorithms for
//! Distributed Stream Processing", ICDE 2005; the process pairs of Borealis and Flux).
//!
//! Model, on the pipelined core:
//! - **placement**: each key group has a primary task (the one its `route` names) and a replica
//!   task added with `Core::add_task` (ids past `job.parallelism`). With a standby node per
//!   worker (`cluster.spares >= cluster.nodes`) the engine asks for one spare per worker that runs
//!   a primary at the start, and that spare holds the replicas of the worker's key groups once it
//!   is ready (`spare_start` later; until then those groups have no replica): standby nodes cost
//!   node time like workers. With fewer spares, replicas go to the next live worker in id order
//!   (co-located with other groups' primaries), and spares are left for failures;
//! - **input order**: a source sends a replica a copy of every batch it ships to the primary, in
//!   the same step and counted as fault-tolerance traffic (and as records read again); each
//!   channel is FIFO, so a replica applies each channel's batches in the primary's order. The
//!   order *across* channels can differ between the two; no order is agreed for it, because the
//!   job's values do not depend on it (a running count's values for a key are 1..n in any
//!   order; a window fires when every partition's watermark passed it). That is where the model
//!   simplifies Borealis, whose primary sends its replica the order in which it interleaved its
//!   inputs;
//! - **outputs**: the primary emits at once; the replica holds its outputs in a buffer until its
//!   primary tells it (every `ack_interval`, a message listing the largest value it showed per
//!   key, or its fired-window frontier) that they are visible, and drops them then. Outputs are
//!   compared by value, so the cross-channel order does not matter: what the primary showed is a
//!   prefix of each key's values, or every window up to a frontier. The buffer holds what the
//!   replica made since the last acknowledgement that covers it: an `ack_interval` of outputs
//!   plus however far the replica runs ahead of its primary;
//! - **takeover**: when a primary's failure is detected, its replica serves the key group at
//!   once (`route` points at it) and shows every output it holds, so nothing the primary had not
//!   acknowledged is lost; some of them may have been shown already (a repeat). Outputs already
//!   known visible are never shown again by that task;
//! - **rebuild**: a replica lost with its node, or the primary's task slot after a takeover, is
//!   placed again by the core (on a spare, or round-robin over the survivors; moved off its
//!   primary's node to the next worker, or left idle and fed nothing until another node is live)
//!   and rebuilt in the background: held, sent a copy of the
//!   primary's state over the network (fault-tolerance bytes), and fed by the sources from the
//!   moment the copy is taken. When the copy lands, the task takes it and reads from the durable
//!   source log what lies between the copy's offsets and what the sources have read
//!   (`Core::scan`), ahead of the batches queued meanwhile; those overlap the log read and are
//!   deduped by the `seen` offsets, so nothing is lost or applied twice;
//! - **both copies lost** (a primary and its replica together, or a replica still being built):
//!   the key group is rebuilt from the durable source log (`Core::scan` from offset 0), the
//!   backup of last resort, on the first of its slots that gets a home, and shows its outputs
//!   again;
//! - **lock-step** (`lock_step = true`): after applying a batch with records, a primary is held
//!   until its replica reports (a message with its `seen` offsets after every batch it applies)
//!   that it has applied that channel up to the same offset; a straggling replica slows its
//!   primary. A replica just built runs loose until it has applied the source log it read past
//!   its copy, then reports and the pair runs in step. Loose (the default) lets the replica drift
//!   behind or ahead; `replica_lag.csv` has the largest lag over time;
//! - `restored` is reported for a failure once every key group it hit runs again (at detection
//!   for a takeover, when the rebuilt task starts for a group rebuilt from the log) and the
//!   sources it lost read again; a lost source resumes where it stopped, since whatever it
//!   shipped reached the replica or lies in the log;
//! - tables: `replicas.csv` (per key group: takeovers, replica builds, rebuilds from the log,
//!   largest lag in source records, most outputs held) and `replica_lag.csv` (over time);
//!   events.csv has `standby-ready`, `takeover`, `replica-built` and `rebuilt-from-log` lines.
//!
//! Promise: every record is applied exactly once to the state that serves its key group (the
//! replica's copies are deduped by offset like a replay), and no output is lost: an output is
//! dropped from a replica's buffer only once it is known visible. After a takeover the replica
//! shows the outputs its primary may have shown but not acknowledged, and a group rebuilt from
//! the log shows its outputs again: repeats with the same ids and values. An idempotent sink
//! collapses them: exactly-once; `append` and `transactional` (no commit protocol: emissions
//! show at once) show them twice: at-least-once.
//!
//! Simplifications: a replica's buffer, its acknowledgements and the copy of a state cost no
//! CPU; reading the gap from the source log costs no time but the records' apply cost; bare
//! watermark messages to replicas count as data traffic; lag is measured in source offsets, not
//! time.

mod pair;
mod policy;

pub use policy::ActiveStandby;

use crate::pipeline::rebuild::replay_promise;
use crate::pipeline::{Pipeline, SourceConfig};
use crate::spec::EngineSpec;
use ftsim_sim::config::at_least;
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, Scenario, SimDuration, engine_config};

engine_config! {
    /// `[engines.active-standby]`.
    pub struct Config {
        /// How often a primary tells its replica which outputs are visible (the replica then drops them from its buffer).
        pub ack_interval: SimDuration = SimDuration::from_millis(100) => at_least(SimDuration::from_millis(1));
        /// Lock-step: a primary applies its next batch only once its replica has applied the last one, so a straggling replica slows it (false: loose, the replica may drift).
        pub lock_step: bool = false;
        #[flatten]
        /// How sources read.
        pub sources: SourceConfig;
    }
}

impl EngineSpec for ActiveStandby {
    const NAME: &'static str = "active-standby";
    const SUMMARY: &'static str = "every task has a replica fed the same input; on a failure the replica takes over at once and a new one is built from a copy of the state";
    type Config = Config;
    type Engine = Pipeline<ActiveStandby>;

    fn promise(_cfg: &Config, _kind: JobKind, sink: SinkMode) -> Guarantee {
        // As a precise replay's: nothing lost, unacknowledged outputs shown again.
        replay_promise(sink)
    }

    fn build(sc: &Scenario, cfg: &Config) -> Self::Engine {
        let s = &cfg.sources;
        Pipeline::new(sc, s.read(sc), s.watermark_interval, ActiveStandby::new(sc, cfg))
    }
}
