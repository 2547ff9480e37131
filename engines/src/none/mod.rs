//! `none`: pipelined record-at-a-time processing with no fault tolerance, the baseline.
//!
//! Source tasks read their partition of the log, run the stateless chain and ship records to the
//! stateful tasks that own their keys; stateful tasks apply them in arrival order and emit at
//! once (no transactions). A crash loses the node's tasks, their state and every record in
//! flight to them. After detection the lost tasks restart empty on a spare (or, with none left,
//! on the surviving workers); a restarted source resumes at the head of its partition, so input
//! that arrived while it was down is never read.
//!
//! Promise: at-most-once where a restart cannot show as a repeat. With a running count, the
//! restarted (empty) state counts again from 1, and an append or transactional sink shows those
//! values twice: the value-based check cannot tell that from a duplicate, so the promise there is
//! `none`. An idempotent sink collapses the repeats, leaving only losses: at-most-once.

mod engine;

use crate::registry::{EngineInfo, RunCtx};
use ftsim_sim::scenario::{JobKind, ParamKind, ParamSpec, ParamValue, Params, SinkMode};
use ftsim_sim::{Guarantee, RunReport, SimDuration};

pub use engine::NoneEngine;

/// The engine's name.
pub const NAME: &str = "none";

/// Parameters shared by pipelined engines' source tasks.
pub fn source_params() -> Vec<ParamSpec> {
    vec![
        ParamSpec {
            name: "poll_interval",
            kind: ParamKind::Duration {
                min: SimDuration::from_micros(10),
            },
            default: ParamValue::Duration(SimDuration::from_millis(5)),
            doc: "how often an idle source task polls its partition (also bounds batching delay)",
        },
        ParamSpec {
            name: "max_batch",
            kind: ParamKind::Int { min: 1, max: 1_000_000 },
            default: ParamValue::Int(2_000),
            doc: "most records a source task reads and ships at once",
        },
        ParamSpec {
            name: "watermark_interval",
            kind: ParamKind::Duration {
                min: SimDuration::from_millis(1),
            },
            default: ParamValue::Duration(SimDuration::from_millis(200)),
            doc: "how often sources broadcast their watermark to stateful tasks they sent nothing to",
        },
    ]
}

fn promise(kind: JobKind, sink: SinkMode, _params: &Params) -> Guarantee {
    match (kind, sink) {
        (JobKind::RunningCount, SinkMode::Append | SinkMode::Transactional) => Guarantee::None,
        _ => Guarantee::AtMostOnce,
    }
}

fn run(cx: RunCtx<'_>) -> RunReport {
    let mut engine = NoneEngine::new(cx.sc, cx.params);
    cx.simulate(&mut engine)
}

/// Registry entry.
pub fn info() -> EngineInfo {
    EngineInfo {
        name: NAME,
        summary: "no fault tolerance: lost tasks restart empty, sources resume at the log head",
        params: source_params(),
        promise,
        promise_param: None,
        run,
    }
}
