//! The oracle: the job evaluated sequentially and failure-free over the whole log, and the check
//! of a run's visible sink output against it.
//!
//! The check works on output values (sim/README.md, "The oracle and the verdict"): for a running
//! count the right output of a key seen n times is the values 1..n once each; for a window count,
//! one value per (window, key). Classification of what the sink shows, per expected output:
//! - missing, or shown only with a smaller value than expected (records dropped): **lost**;
//! - shown k > 1 times with the right value: k − 1 **duplicated**;
//! - a value no correct execution emits (an id not expected, such as a running count past n, or
//!   a count above the expected one, e.g. inflated by a replay): **wrong**, once per showing.
//!
//! The verdict is the strongest guarantee met. Losing input is what at-most-once allows;
//! repeating it, whether the sink shows a right output twice (duplicated) or the state counted a
//! record twice (wrong: a count inflated past its right value), is what at-least-once allows.
//! So: nothing off → exactly-once; repeats or inflation but nothing lost → at-least-once; losses
//! and nothing repeated or inflated → at-most-once; both → violated.

use crate::ids::PartitionId;
use crate::job::{Output, Semantics};
use crate::planted::{Bug, Planted};
use crate::scenario::JobKind;
use crate::workload::SourceLog;
use rustc_hash::FxHashMap;
use std::fmt;

/// A delivery guarantee, promised or observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Guarantee {
    /// Nothing promised / nothing held.
    None,
    /// Nothing duplicated or wrong, but output may be lost.
    AtMostOnce,
    /// Nothing lost or wrong, but output may be repeated.
    AtLeastOnce,
    /// Every expected output exactly once.
    ExactlyOnce,
}

impl Guarantee {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::None => "none",
            Guarantee::AtMostOnce => "at-most-once",
            Guarantee::AtLeastOnce => "at-least-once",
            Guarantee::ExactlyOnce => "exactly-once",
        }
    }
    /// Whether a finished run with this verdict keeps the promise.
    pub fn kept_by(self, verdict: Verdict) -> bool {
        match self {
            Guarantee::None => true,
            Guarantee::AtMostOnce => matches!(verdict, Verdict::ExactlyOnce | Verdict::AtMostOnce),
            Guarantee::AtLeastOnce => {
                matches!(verdict, Verdict::ExactlyOnce | Verdict::AtLeastOnce)
            }
            Guarantee::ExactlyOnce => verdict == Verdict::ExactlyOnce,
        }
    }
    /// Whether this promise allows an output to be repeated or a record counted twice.
    pub fn allows_repeats(self) -> bool {
        matches!(self, Guarantee::None | Guarantee::AtLeastOnce)
    }
    /// Whether the outcome `check` of a run keeps this promise: a finished run by its verdict; a
    /// run that did not finish only by what it repeated (nothing it showed may be a repeat the
    /// promise forbids; what is missing may still be on its way).
    pub fn kept(self, check: &Check, finished: bool) -> bool {
        if finished {
            self.kept_by(check.verdict)
        } else {
            self.allows_repeats() || check.duplicated + check.wrong == 0
        }
    }
}

impl fmt::Display for Guarantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The strongest guarantee a run met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Output exactly as the oracle's.
    ExactlyOnce,
    /// Some outputs repeated, none lost or wrong.
    AtLeastOnce,
    /// Some outputs lost, none repeated or wrong.
    AtMostOnce,
    /// Wrong values, or losses and repeats together.
    Violated,
    /// The run stopped at the drain limit with work pending: what is missing may only be late,
    /// so losses say nothing (repeats still do).
    NotFinished,
}

impl Verdict {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::ExactlyOnce => "exactly-once",
            Verdict::AtLeastOnce => "at-least-once",
            Verdict::AtMostOnce => "at-most-once",
            Verdict::Violated => "violated",
            Verdict::NotFinished => "not-finished",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The expected output of a job over a log, sorted by `(key, sub)`.
#[derive(Debug, Clone)]
pub struct Expected {
    /// `(key, sub, value)` triples, sorted and unique by `(key, sub)`.
    pub outputs: Vec<(u64, u64, u64)>,
}

/// Evaluates the job sequentially, failure-free, over the whole log.
pub fn expected(sem: &Semantics, log: &SourceLog) -> Expected {
    let mut outputs = Vec::new();
    match sem.kind {
        JobKind::RunningCount => {
            let mut counts: FxHashMap<u64, u64> = FxHashMap::default();
            for p in 0..log.partitions() {
                for r in log.partition(PartitionId(p)).iter().filter(|r| sem.keeps(r)) {
                    *counts.entry(u64::from(r.key)).or_insert(0) += 1;
                }
            }
            for (k, n) in counts {
                outputs.extend((1..=n).map(|c| (k, c, c)));
            }
        }
        JobKind::WindowCount => {
            let mut windows: FxHashMap<(u64, u64), u64> = FxHashMap::default();
            for p in 0..log.partitions() {
                for r in log.partition(PartitionId(p)).iter().filter(|r| sem.keeps(r)) {
                    for start in sem.windows_of(r) {
                        *windows.entry((u64::from(r.key), start)).or_insert(0) += 1;
                    }
                }
            }
            let final_wm = log.final_watermark().0;
            outputs.extend(
                windows
                    .into_iter()
                    .filter(|((_, s), _)| sem.fire_time(*s) <= final_wm)
                    .map(|((k, s), c)| (k, s, c)),
            );
        }
    }
    outputs.sort_unstable();
    Expected { outputs }
}

/// What the comparison of a run's sink with the oracle found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Outputs the oracle expects.
    pub expected: u64,
    /// Outputs visible at the sink (with repeats).
    pub visible: u64,
    /// Expected outputs missing or deflated.
    pub lost: u64,
    /// Extra copies of right outputs.
    pub duplicated: u64,
    /// Showings of values no correct run emits.
    pub wrong: u64,
    /// The strongest guarantee met.
    pub verdict: Verdict,
}

/// Compares visible outputs (any order, repeats included) with the oracle.
pub fn check(expected: &Expected, visible: &[Output]) -> Check {
    check_planted(expected, visible, Planted::NONE)
}

/// [`check`], with the bugs a test planted.
pub fn check_planted(expected: &Expected, visible: &[Output], planted: Planted) -> Check {
    let mut seen: Vec<(u64, u64, u64)> = visible.iter().map(|o| (o.key, o.sub, o.value)).collect();
    seen.sort_unstable();
    let (mut lost, mut duplicated, mut wrong) = (0u64, 0u64, 0u64);
    let mut i = 0;
    for &(k, s, v) in &expected.outputs {
        while i < seen.len() && (seen[i].0, seen[i].1) < (k, s) {
            wrong += 1; // an id the oracle never emits
            i += 1;
        }
        let (mut right, mut below, mut above) = (0u64, 0u64, 0u64);
        while i < seen.len() && (seen[i].0, seen[i].1) == (k, s) {
            match seen[i].2.cmp(&v) {
                std::cmp::Ordering::Equal => right += 1,
                std::cmp::Ordering::Less => below += 1,
                std::cmp::Ordering::Greater => above += 1,
            }
            i += 1;
        }
        wrong += above;
        if right > 0 {
            let extra = if planted.has(Bug::OracleUndercountsDuplicates) && right >= 2 {
                right - 2
            } else {
                right - 1
            };
            duplicated += extra + below;
        } else if below > 0 || above == 0 {
            // Missing, or only ever shown short of its records: input was dropped.
            lost += 1;
            duplicated += below.saturating_sub(1);
        }
        // Shown only inflated: every record counted, some more than once (counted in `wrong`).
    }
    wrong += (seen.len() - i) as u64;
    let verdict = match (lost > 0, duplicated > 0 || wrong > 0) {
        (false, false) => Verdict::ExactlyOnce,
        (false, true) => Verdict::AtLeastOnce,
        (true, false) => Verdict::AtMostOnce,
        (true, true) => Verdict::Violated,
    };
    Check {
        expected: expected.outputs.len() as u64,
        visible: seen.len() as u64,
        lost,
        duplicated,
        wrong,
        verdict,
    }
}
