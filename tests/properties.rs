//! The property suite: on any small scenario under any fault plan, every engine keeps its promise
//! against the oracle (or stops unfinished for a reason it states, never as data lost), balances
//! its record ledger, breaks no kernel invariant, restores every failure, and runs the same on
//! another thread (same trace hash, same report).
//!
//! Cases per engine: `FTSIM_CASES` (default 40, sized for CI); a long campaign is the same test
//! with more and another seed, e.g. `FTSIM_CASES=2000 FTSIM_SEED=7 cargo test --release
//! properties`; `FTSIM_ENGINES=flink-abs,dstream` (commas or spaces) narrows it to some engines. A failure shrinks to
//! a minimal fault plan and prints the case as a scenario file and the seed.

use crate::arbitrary::{Case, ENGINES, cases};
use ftsim::check::{Outcome, Strictness, judge_with};
use ftsim_engines::Registry;
use ftsim_sim::{Prepared, RunReport};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Cases per engine.
pub fn case_count() -> u32 {
    std::env::var("FTSIM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

/// Runs `case` once.
pub fn run(case: &Case) -> RunReport {
    let sc = case.scenario();
    let prepared = Prepared::new(&sc);
    Registry::builtin()
        .run(&sc, case.engine, &prepared, &mut |_| {})
        .unwrap_or_else(|| panic!("no engine {}", case.engine))
}

/// The property: judged met or not finished, and the same on another thread.
pub fn holds(case: &Case) -> Result<(), TestCaseError> {
    let r = run(case);
    if let Outcome::Violation(found) = judge_with(&r, Strictness::Strict) {
        return Err(TestCaseError::fail(found.join("; ")));
    }
    let again = std::thread::scope(|s| s.spawn(|| run(case)).join())
        .map_err(|_| TestCaseError::fail("the rerun on another thread panicked"))?;
    if again.stats.trace_hash != r.stats.trace_hash || again.check != r.check {
        return Err(TestCaseError::fail("a rerun on another thread handled other events"));
    }
    Ok(())
}

/// The seed of the suite's random cases: `FTSIM_SEED`, default 1.
pub fn seed() -> u64 {
    std::env::var("FTSIM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// A runner drawing `cases` cases from the suite's seed, shrinking failures.
pub fn runner(cases: u32) -> TestRunner {
    runner_shrinking(cases, 2_000)
}

/// A runner drawing `cases` cases from the suite's seed, shrinking a failure at most `shrink`
/// steps.
pub fn runner_shrinking(cases: u32, shrink: u32) -> TestRunner {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed().to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: shrink,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key))
}

#[test]
fn every_engine_keeps_its_promise_its_books_and_recovers_under_any_fault_plan() {
    let only = std::env::var("FTSIM_ENGINES").unwrap_or_default();
    // Engine names separated by commas or spaces; a name that is no engine stops the campaign
    // rather than letting it pass having run nothing.
    let only: Vec<&str> = only.split([',', ' ']).filter(|e| !e.is_empty()).collect();
    let known: Vec<&str> = ENGINES.iter().map(|(e, _)| *e).collect();
    if let Some(bad) = only.iter().find(|e| !known.contains(e)) {
        panic!(
            "FTSIM_ENGINES names {bad:?}, which is no engine; known: {}",
            known.join(", ")
        );
    }
    for (engine, configs) in ENGINES {
        if !only.is_empty() && !only.contains(engine) {
            continue;
        }
        if let Err(e) = runner(case_count()).run(&cases(engine, configs), |case| holds(&case)) {
            panic!("{engine} (FTSIM_SEED={}): {e}", seed());
        }
    }
}
