//! `ftsim check`: a fault campaign. Case `i` draws its fault plan from the campaign seed and `i`,
//! runs every engine of the scenario under it (the input and the oracle's answer are computed once
//! for all cases), judges each run, and the campaign sums up per engine. Cases run on `jobs`
//! threads; results are gathered by case index, so the report does not depend on thread timing.

use super::judge::{Outcome, judge};
use super::plan;
use ftsim_engines::Registry;
use ftsim_sim::rng::mix64;
use ftsim_sim::scenario::Fault;
use ftsim_sim::{Prepared, Scenario};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One engine's run in one case.
#[derive(Debug, Clone)]
pub struct CaseRun {
    /// Case index.
    pub case: usize,
    /// Engine.
    pub engine: String,
    /// The case's fault plan.
    pub faults: Vec<Fault>,
    /// What judging found.
    pub outcome: Outcome,
}

/// Per-engine totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Cases run.
    pub cases: usize,
    /// Cases where everything held.
    pub met: usize,
    /// Cases that did not finish.
    pub not_finished: usize,
    /// Cases with a violation.
    pub violations: usize,
}

/// The seed of case `i` of a campaign seeded with `seed`.
pub fn case_seed(seed: u64, i: usize) -> u64 {
    mix64(seed ^ mix64(i as u64))
}

/// Runs `cases` cases of `sc` on `jobs` threads; `tick` is called after each case.
pub fn run(
    sc: &Scenario,
    registry: &Registry,
    cases: usize,
    jobs: usize,
    seed: u64,
    tick: &(dyn Fn() + Sync),
) -> Vec<CaseRun> {
    let prepared = Prepared::new(sc);
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Vec<CaseRun>>>> = Mutex::new(vec![None; cases]);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cases {
                        break;
                    }
                    let runs = one_case(sc, registry, &prepared, i, case_seed(seed, i));
                    if let Ok(mut v) = slots.lock() {
                        v[i] = Some(runs);
                    }
                    tick();
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .flatten()
        .collect()
}

fn one_case(sc: &Scenario, registry: &Registry, prepared: &Prepared, i: usize, seed: u64) -> Vec<CaseRun> {
    let mut case = sc.clone();
    case.faults = plan::draw(sc, seed);
    sc.run
        .engines
        .iter()
        .filter_map(|name| {
            let report = registry.run(&case, name, prepared, &mut |_| {})?;
            Some(CaseRun {
                case: i,
                engine: name.clone(),
                faults: case.faults.clone(),
                outcome: judge(&report),
            })
        })
        .collect()
}

/// Totals per engine, in the scenario's engine order.
pub fn tally(sc: &Scenario, runs: &[CaseRun]) -> Vec<(String, Tally)> {
    sc.run
        .engines
        .iter()
        .map(|e| {
            let mut t = Tally::default();
            for r in runs.iter().filter(|r| &r.engine == e) {
                t.cases += 1;
                match r.outcome {
                    Outcome::Met => t.met += 1,
                    Outcome::NotFinished(_) => t.not_finished += 1,
                    Outcome::Violation(_) => t.violations += 1,
                }
            }
            (e.clone(), t)
        })
        .collect()
}
