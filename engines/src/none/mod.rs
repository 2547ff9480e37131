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

use crate::pipeline::{Nothing, Pipeline, Policy, SourceConfig};
use crate::spec::EngineSpec;
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, Scenario, engine_config};

engine_config! {
    /// `[engines.none]`.
    pub struct Config {
        #[flatten]
        /// How sources read.
        pub sources: SourceConfig;
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
        let s = &cfg.sources;
        Pipeline::new(sc, s.read(sc), s.watermark_interval, NoFaultTolerance)
    }
}
