//! Planted bugs prove that the checks can fail: each realistic defect, planted in the engine it
//! belongs to, is caught by the property suite (the same case generator and judge), never by a
//! timing assertion. A bug counts as caught when a generated case breaks a promise, the ledger,
//! an invariant or a recovery; the oracle's own bug is caught by the oracle's property.
//! `FTSIM_BUGS=CommitAtSnapshot,NoAbortOnRestart` narrows the test to some bugs.

use crate::arbitrary::{Case, ENGINES, cases};
use crate::properties::runner_shrinking;
use ftsim::check::{Outcome, Strictness, judge_with};
use ftsim_engines::Registry;
use ftsim_sim::Prepared;
use ftsim_sim::planted::{Bug, Planted};
use proptest::test_runner::TestCaseError;

/// Most cases tried per planted bug.
const CASES: u32 = 600;

/// Where each bug lives: the engine whose cases can show it (the oracle's has none).
fn home(bug: Bug) -> Option<&'static str> {
    match bug {
        Bug::CommitAtSnapshot
        | Bug::OffsetsOfOlderCheckpoint
        | Bug::AlignmentDoesNotBlock
        | Bug::NoAbortOnRestart
        | Bug::InFlightReplayReversed
        | Bug::IdempotentByValue => Some("flink-abs"),
        Bug::RecoverySkipsBlock | Bug::RecoveryFromOlderCheckpoint | Bug::LineageSkipsBatch => Some("dstream"),
        Bug::NoOutputDedupe | Bug::StateStoreEarly => Some("structured-streaming"),
        Bug::OracleUndercountsDuplicates => None,
    }
}

fn violated(case: &Case, bug: Bug) -> Result<(), TestCaseError> {
    let mut sc = case.scenario();
    sc.planted = Planted::bug(bug);
    let prepared = Prepared::new(&sc);
    let r = Registry::builtin()
        .run(&sc, case.engine, &prepared, &mut |_| {})
        .ok_or_else(|| TestCaseError::fail("no such engine"))?;
    match judge_with(&r, Strictness::Strict) {
        Outcome::Violation(found) => Err(TestCaseError::fail(found.join("; "))),
        Outcome::Met | Outcome::NotFinished(_) => Ok(()),
    }
}

/// Whether the property suite catches `bug`, and what it found.
fn caught(bug: Bug) -> Option<String> {
    let Some(engine) = home(bug) else {
        return crate::oracle::the_oracle_counts_what_was_done(Planted::bug(bug))
            .err()
            .map(|e| e.to_string());
    };
    let (_, configs) = ENGINES.iter().find(|(e, _)| *e == engine)?;
    let mut r = runner_shrinking(CASES, 0);
    r.run(&cases(engine, configs), |case| violated(&case, bug))
        .err()
        .map(|e| e.to_string())
}

#[test]
fn the_property_suite_catches_the_planted_bugs() {
    let only = std::env::var("FTSIM_BUGS").unwrap_or_default();
    let mut missed = Vec::new();
    for bug in Bug::ALL
        .into_iter()
        .filter(|b| only.is_empty() || only.contains(&format!("{b:?}")))
    {
        match caught(bug) {
            Some(what) => eprintln!("{bug:?}: caught: {}", what.lines().next().unwrap_or("")),
            None => missed.push(bug),
        }
    }
    assert!(missed.is_empty(), "the property suite missed {missed:?}");
}
