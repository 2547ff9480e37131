//! ftsim-sim: the deterministic discrete-event kernel of ftsim, with the cluster model, the
//! workload and source log, the job's semantics, the oracle and the metrics. It knows no engine:
//! engines implement [`engine::Engine`] and are driven by [`kernel::run`].
//!
//! Determinism: time is integer nanoseconds ([`time::SimTime`]); events are totally ordered by
//! `(time, sequence)`; every random draw comes from a ChaCha stream named per subsystem
//! ([`rng::stream`]); no decision iterates over a randomly-seeded hash map. Same scenario and
//! seed, same bytes out. The design these modules implement is in `sim/README.md`.
#![deny(missing_docs)]

pub mod cluster;
pub mod config;
pub mod engine;
pub mod ids;
pub mod job;
pub mod kernel;
pub mod metrics;
pub mod oracle;
pub mod outcome;
pub mod planted;
pub mod queue;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod time;
pub mod trace;
pub mod units;
pub mod workload;

pub use engine::{Ctx, Engine, Event};
pub use ids::{NodeId, PartitionId, TimerId, TxnId, WorkId};
pub use job::{BatchWatermarks, OperatorState, Output, Semantics};
pub use oracle::{Guarantee, Verdict};
pub use outcome::{Cell, Flow, Ledger, Table, TableChart};
pub use report::RunReport;
pub use scenario::{Scenario, ScenarioError};
pub use time::{SimDuration, SimTime};
pub use workload::{LogReader, Record, SourceLog};

/// What every engine of one `ftsim run` shares: the generated input and the oracle's answer.
pub struct Prepared {
    /// The input log.
    pub log: SourceLog,
    /// The expected output.
    pub expected: oracle::Expected,
}

impl Prepared {
    /// Generates the log of `scenario` and evaluates the oracle over it, in one pass.
    pub fn new(scenario: &Scenario) -> Prepared {
        let sem = Semantics::for_scenario(scenario, scenario.workload.partitions);
        let dense = sem.dense_keys();
        let mut oracle = oracle::Oracle::new(&sem, dense);
        let log = SourceLog::generate_with(scenario, |r| oracle.add(r));
        let expected = oracle.finish(log.final_watermark());
        Prepared { log, expected }
    }
}

/// Runs one engine over a prepared input and builds its report.
pub fn simulate<E: Engine>(
    scenario: &Scenario,
    prepared: &Prepared,
    name: &str,
    promised: Guarantee,
    engine: &mut E,
    on_progress: &mut dyn FnMut(SimTime),
) -> RunReport {
    let out = kernel::run(scenario, &prepared.log, name, engine, on_progress);
    RunReport::build(scenario, name, promised, &prepared.expected, prepared.log.total(), out)
}
