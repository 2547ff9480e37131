//! `none`: pipelined record-at-a-time processing with no fault tolerance, the baseline.
//!
//! The plain [`Pipeline`]: source tasks read their partition of the log, run the stateless chain
//! and ship records to the stateful tasks that own their keys; stateful tasks apply them in
//! arrival order and emit at once (no transactions). A crash loses the node's tasks, their state
//! and every record in flight to them. After detection the lost tasks restart empty on a spare
//! (or, with none left, on the surviving workers); a restarted source resumes at the head of its
//! partition, so input that arrived while it was down is never read.
//!
//! Promise: at-most-once where a restart cannot show as a repeat. With a running count, the
//! restarted (empty) state counts again from 1, and an append or transactional sink shows those
//! values twice: the value-based check cannot tell that from a duplicate, so the promise there is
//! `none`. An idempotent sink collapses the repeats, leaving only losses: at-most-once.

use crate::pipeline::{Nothing, Pipeline, Policy, ReadCfg};
use crate::spec::EngineSpec;
use ftsim_sim::config::{at_least, within};
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, Scenario, SimDuration, engine_config};

engine_config! {
    /// `[engines.none]`.
    pub struct Config {
        /// How often an idle source task polls its partition (also bounds batching delay).
        pub poll_interval: SimDuration = SimDuration::from_millis(5) => at_least(SimDuration::from_micros(10));
        /// Most records a source task reads and ships at once.
        pub max_batch: u64 = 2_000 => within(1, 1_000_000);
        /// How often sources broadcast their watermark to stateful tasks they sent nothing to.
        pub watermark_interval: SimDuration = SimDuration::from_millis(200) => at_least(SimDuration::from_millis(1));
    }
}

/// The `none` engine: the pipeline with no fault-tolerance policy.
pub struct NoFaultTolerance;

impl Policy for NoFaultTolerance {
    type Msg = Nothing;
    type Tag = Nothing;
    const REDEPLOY: &'static str = "restart lost tasks empty";
}

impl EngineSpec for NoFaultTolerance {
    const NAME: &'static str = "none";
    const SUMMARY: &'static str = "no fault tolerance: lost tasks restart empty, sources resume at the log head";
    type Config = Config;
    type Engine = Pipeline<NoFaultTolerance>;

    fn promise(_cfg: &Config, kind: JobKind, sink: SinkMode) -> Guarantee {
        match (kind, sink) {
            (JobKind::RunningCount, SinkMode::Append | SinkMode::Transactional) => Guarantee::None,
            _ => Guarantee::AtMostOnce,
        }
    }

    fn build(sc: &Scenario, cfg: &Config) -> Self::Engine {
        let read = ReadCfg {
            max_batch: cfg.max_batch,
            poll_interval: cfg.poll_interval,
            cost: sc.job.stateless_cost(),
        };
        Pipeline::new(sc, read, cfg.watermark_interval, NoFaultTolerance)
    }
}
