//! Judging one run: did the engine keep its promise, its books and the kernel's invariants, and
//! did it recover from every failure?
//!
//! A run is **met** when it finished, kept its promise, balanced its ledger, broke no kernel
//! invariant and restored every failure it was told of. It is **not finished** when it stopped at the drain
//! limit for the reason the engine states, with nothing repeated that the promise forbids. Anything
//! else is a **violation**, with every finding listed.

use ftsim_sim::RunReport;

/// What judging a run found.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Everything held.
    Met,
    /// The run stopped at the drain limit, for this reason; nothing it showed breaks the promise.
    NotFinished(String),
    /// Something broke.
    Violation(Vec<String>),
}

impl Outcome {
    /// Whether the run broke something.
    pub fn is_violation(&self) -> bool {
        matches!(self, Outcome::Violation(_))
    }
}

/// How strict a judge is about a run that did not finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Any reason will do: the scenario may simply be too slow for its drain limit.
    Lenient,
    /// A run that did not finish must either state why (it is stuck for want of capacity) or
    /// still have been applying records near the end (it was slow, not stuck): on the small
    /// scenarios of the property suite a correct engine finishes otherwise.
    Strict,
}

/// Judges a finished (or stopped) run.
pub fn judge(r: &RunReport) -> Outcome {
    judge_with(r, Strictness::Lenient)
}

/// Judges a run, with the given strictness about not finishing.
pub fn judge_with(r: &RunReport, strictness: Strictness) -> Outcome {
    let mut found = Vec::new();
    let idle = r.stats.end.since(r.stats.last_applied);
    let stalled = idle.as_nanos() > 10_000_000_000;
    if strictness == Strictness::Strict && !r.stats.finished && r.stats.stuck.is_none() && stalled {
        found.push(format!(
            "did not finish, stated no reason and applied nothing in its last {idle} (lost {} outputs meanwhile)",
            r.check.lost
        ));
    }
    if !r.promise_kept {
        found.push(format!(
            "promised {} but the verdict is {} (lost {}, duplicated {}, wrong {})",
            r.promised, r.verdict, r.check.lost, r.check.duplicated, r.check.wrong
        ));
    }
    found.extend(r.stats.breaches.iter().map(|b| format!("kernel invariant: {b}")));
    let finished = r.stats.finished;
    let ledger = &r.stats.ledger;
    if finished && ledger.in_flight() != 0 {
        found.push(format!(
            "{} records unaccounted for in a finished run: {ledger:?}",
            ledger.in_flight()
        ));
    }
    if !finished && ledger.in_flight() < 0 {
        found.push(format!("more records left the dataflow than entered it: {ledger:?}"));
    }
    if finished {
        // A crash detected after the engine had finished everything needs no restore.
        for f in r
            .failures
            .iter()
            .filter(|f| f.detected.is_some() && f.restored.is_none())
        {
            found.push(format!(
                "the crash of {:?} at {} was detected but never restored although the run finished",
                f.nodes, f.injected
            ));
        }
    }
    match (found.is_empty(), &r.unfinished) {
        (false, _) => Outcome::Violation(found),
        (true, Some(why)) => Outcome::NotFinished(why.clone()),
        (true, None) => Outcome::Met,
    }
}
