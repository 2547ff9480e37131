//! `upstream-backup`: record-at-a-time processing where upstreams keep what they sent until the
//! downstream no longer needs it, and a failed task is rebuilt on one standby by replaying those
//! logs (Hwang et al., "High-Availability Algorithms for Distributed Stream Processing", ICDE
//! 2005; the model D-Streams §5.1 compares against).
//!
//! Model, on the pipelined core:
//! - every source keeps, per key group, an output log of the batches it shipped
//!   ([`OutputLog`](crate::pipeline::OutputLog)); batches carry the source offset they cover, and a
//!   task drops a record it already applied, so a replay is precise;
//! - downstream tasks acknowledge what they no longer need and the upstream trims its log: for a
//!   window count, every `ack_interval` a task tells each source up to when its windows have
//!   fired (a batch whose records count only in fired windows is dropped); for a running count,
//!   whose state depends on the whole history, nothing can go before the task's last state
//!   checkpoint: every `checkpoint_interval` (0: never, and the log grows for ever) a task writes
//!   its state to durable storage and, once it is durable, acknowledges the offsets it covers;
//! - on a failure, after detection, one spare takes every task of the failed node (with no spare
//!   left, the survivors do, round-robin); each task reads its last checkpoint (if any), and
//!   every upstream replays its log to it, in order, while new input keeps arriving: the
//!   standby works through the replay and the new input at its own speed, so the time to catch
//!   up grows with the load λ of its cores and the length of the log (about log·λ/(1−λ), and
//!   never if λ ≥ 1); a failed source starts again on the standby from where the oldest of its
//!   logs began, and tasks drop what they already had;
//! - `restored` is reported once every moved task has its state back and the replay is under
//!   way; `recoveries.csv` has, per recovered task, when it was placed, how many records were
//!   replayed to it and when it had caught up (applied the whole replay with nothing queued);
//!   `log.csv` has the records held in all logs over time;
//! - a straggler can only be handled as a failure: with `slowness_threshold` set, a node whose
//!   task has had a batch waiting longer than that is given up (its tasks move to a spare as
//!   after a crash; the node keeps running, unused); a task working through a replay is behind
//!   by design and is never given up for it.
//!
//! Promise: the recovery rebuilds every task's state exactly (checkpoint plus replay, no record
//! twice), so the outputs are right; but outputs the failed task had already emitted since its
//! last acknowledgement are emitted again. A sink that upserts by output id collapses them:
//! exactly-once with `idempotent`; `append` and `transactional` (there is no commit protocol:
//! emissions show at once) show them twice: at-least-once.
//!
//! Simplifications: logs live in the source tasks' memory with no cost but their size; acks and
//! replays are fault-tolerance traffic; the acks a task sends every source at once travel as one
//! ack round ([`crate::pipeline::acks`]: counted one message and 64 bytes per source, on the
//! sender's NIC for as long, arriving one latency after they were sent); a checkpoint is written asynchronously, without pausing
//! the task; the standby replays from every upstream at once (each channel in order), which is
//! "serially" per channel.

mod policy;

pub use policy::UpstreamBackup;

use crate::pipeline::rebuild::replay_promise;
use crate::pipeline::{Pipeline, SourceConfig};
use crate::spec::EngineSpec;
use ftsim_sim::config::at_least;
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, Scenario, SimDuration, engine_config};

engine_config! {
    /// `[engines.upstream-backup]`.
    pub struct Config {
        /// Each task writes its state to durable storage this often, and upstreams trim their logs to it (0 = never: a running count's logs then grow for ever).
        pub checkpoint_interval: SimDuration = SimDuration::from_secs(10);
        /// How often a task tells its upstreams up to when its windows have fired (window counts).
        pub ack_interval: SimDuration = SimDuration::from_millis(200) => at_least(SimDuration::from_millis(1));
        /// Give up a node whose task has had a batch waiting this long, as if it had failed (0 = never).
        pub slowness_threshold: SimDuration = SimDuration::ZERO;
        #[flatten]
        /// How sources read.
        pub sources: SourceConfig;
    }
}

impl EngineSpec for UpstreamBackup {
    const NAME: &'static str = "upstream-backup";
    const SUMMARY: &'static str = "upstreams log what they send until acknowledged; a failed task is rebuilt on one standby from its checkpoint and the replayed logs";
    type Config = Config;
    type Engine = Pipeline<UpstreamBackup>;

    fn promise(_cfg: &Config, _kind: JobKind, sink: SinkMode) -> Guarantee {
        replay_promise(sink)
    }

    fn build(sc: &Scenario, cfg: &Config) -> Self::Engine {
        let s = &cfg.sources;
        Pipeline::new(sc, s.read(sc), s.watermark_interval, UpstreamBackup::new(sc, cfg))
    }
}
