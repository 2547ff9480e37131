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
use crate::time::SimTime;
use crate::workload::{Record, SourceLog};
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

/// The expected output of a job over a log: for a running count, each key's number of records
/// (its right outputs are the values 1..n); for a window count, every `(key, window start,
/// count)`. Both sorted by key (then window).
#[derive(Debug, Clone)]
pub struct Expected {
    /// Which stateful operator.
    pub kind: JobKind,
    counts: Vec<(u64, u64)>,
    windows: Vec<(u64, u64, u64)>,
}

impl Expected {
    /// A running count's expected output: `(key, records)` per key.
    pub fn counts(mut per_key: Vec<(u64, u64)>) -> Expected {
        per_key.retain(|(_, n)| *n > 0);
        per_key.sort_unstable();
        Expected {
            kind: JobKind::RunningCount,
            counts: per_key,
            windows: Vec::new(),
        }
    }
    /// A window count's (or any job's, spelled out) expected output: `(key, sub, value)`,
    /// unique by `(key, sub)`.
    pub fn windows(mut outputs: Vec<(u64, u64, u64)>) -> Expected {
        outputs.sort_unstable();
        Expected {
            kind: JobKind::WindowCount,
            counts: Vec::new(),
            windows: outputs,
        }
    }
    /// Number of expected outputs.
    pub fn len(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum::<u64>() + self.windows.len() as u64
    }
    /// True when nothing is expected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Every expected output as `(key, sub, value)`, sorted (a running count's spelled out:
    /// for tests and small runs).
    pub fn outputs(&self) -> Vec<(u64, u64, u64)> {
        let counts = self.counts.iter().flat_map(|&(k, n)| (1..=n).map(move |c| (k, c, c)));
        counts.chain(self.windows.iter().copied()).collect()
    }
}

/// The oracle: the job evaluated sequentially over the log, one record at a time in log order
/// per partition (the order across partitions does not change the answer).
#[derive(Debug)]
pub struct Oracle<'a> {
    sem: &'a Semantics,
    /// Count each window's keys in an array this long (0: in a hash map).
    dense: u64,
    counts: FxHashMap<u64, u64>,
    /// Per window start, each key's count; `index` finds a start's entry, `last` is the entry
    /// the previous record counted in (consecutive records mostly share their window).
    windows: Vec<(u64, KeyCounts)>,
    index: FxHashMap<u64, usize>,
    last: Option<(u64, usize)>,
    /// A multiple of the slide: the start of the slide-long slot of time the last record read
    /// fell in (a record in the same slot finds its windows without a division).
    slot: u64,
}

/// One window's count per key.
#[derive(Debug)]
enum KeyCounts {
    Dense(Vec<u64>),
    Sparse(FxHashMap<u64, u64>),
}

impl<'a> Oracle<'a> {
    /// An oracle that has read nothing. With `dense > 0` the log's keys are below it and a
    /// window's keys are counted in an array that long (fast where windows see most keys),
    /// otherwise in a hash map.
    pub fn new(sem: &'a Semantics, dense: u64) -> Self {
        Oracle {
            sem,
            dense,
            counts: FxHashMap::default(),
            windows: Vec::new(),
            index: FxHashMap::default(),
            last: None,
            slot: 0,
        }
    }
    /// Reads one record of the log.
    pub fn add(&mut self, r: &Record) {
        if !self.sem.keeps(r) {
            return;
        }
        let key = u64::from(r.key);
        match self.sem.kind {
            JobKind::RunningCount => *self.counts.entry(key).or_insert(0) += 1,
            JobKind::WindowCount => {
                let slot = self.sem.slot_of(&mut self.slot, r);
                for start in self.sem.windows_in(slot, r) {
                    let i = self.window(start);
                    match &mut self.windows[i].1 {
                        KeyCounts::Dense(v) if key < v.len() as u64 => v[key as usize] += 1,
                        KeyCounts::Dense(v) => {
                            // A key past the bound the oracle was given: counted all the same.
                            let mut m: FxHashMap<u64, u64> = v
                                .iter()
                                .enumerate()
                                .filter(|(_, c)| **c > 0)
                                .map(|(k, c)| (k as u64, *c))
                                .collect();
                            m.insert(key, 1);
                            self.windows[i].1 = KeyCounts::Sparse(m);
                        }
                        KeyCounts::Sparse(m) => *m.entry(key).or_insert(0) += 1,
                    }
                }
            }
        }
    }
    /// The entry of window `start`, made if new.
    fn window(&mut self, start: u64) -> usize {
        if let Some((s, i)) = self.last
            && s == start
        {
            return i;
        }
        let next = self.windows.len();
        let i = *self.index.entry(start).or_insert(next);
        if i == next {
            let counts = if self.dense > 0 {
                KeyCounts::Dense(vec![0; self.dense as usize])
            } else {
                KeyCounts::Sparse(FxHashMap::default())
            };
            self.windows.push((start, counts));
        }
        self.last = Some((start, i));
        i
    }
    /// The expected output, once the whole log is read; `final_wm` is the watermark every
    /// partition reaches at its end (windows it does not close never fire).
    pub fn finish(self, final_wm: SimTime) -> Expected {
        match self.sem.kind {
            JobKind::RunningCount => Expected::counts(self.counts.into_iter().collect()),
            JobKind::WindowCount => {
                let mut out = Vec::new();
                for (s, counts) in self.windows {
                    if self.sem.fire_time(s) > final_wm.0 {
                        continue;
                    }
                    match counts {
                        KeyCounts::Dense(v) => out.extend(
                            v.into_iter()
                                .enumerate()
                                .filter(|(_, c)| *c > 0)
                                .map(|(k, c)| (k as u64, s, c)),
                        ),
                        KeyCounts::Sparse(m) => out.extend(m.into_iter().map(|(k, c)| (k, s, c))),
                    }
                }
                Expected::windows(out)
            }
        }
    }
}

/// Evaluates the job sequentially, failure-free, over the whole log.
pub fn expected(sem: &Semantics, log: &SourceLog) -> Expected {
    let mut oracle = Oracle::new(sem, 0);
    let reader = log.reader();
    for p in 0..log.partitions() {
        let p = PartitionId(p);
        reader.each(p, 0, log.len(p), |r| oracle.add(r));
    }
    oracle.finish(log.final_watermark())
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
    let mut shown = Shown::new(expected.kind, false, planted);
    for o in visible {
        shown.add(o);
    }
    check_shown(expected, &shown)
}

/// Compares what a sink shows with the oracle.
pub fn check_shown(expected: &Expected, shown: &Shown) -> Check {
    let mut t = Tally::default();
    match &shown.outputs {
        Outputs::Runs(runs) => t.runs(expected, runs, shown.planted),
        Outputs::List(list) => {
            let mut seen = list.clone();
            seen.sort_unstable();
            t.triples(expected, &seen, shown.planted);
        }
        Outputs::Upserts(map) => {
            let mut seen: Vec<(u64, u64, u64)> = map.values().copied().collect();
            seen.sort_unstable();
            t.triples(expected, &seen, shown.planted);
        }
    }
    let verdict = match (t.lost > 0, t.duplicated > 0 || t.wrong > 0) {
        (false, false) => Verdict::ExactlyOnce,
        (false, true) => Verdict::AtLeastOnce,
        (true, false) => Verdict::AtMostOnce,
        (true, true) => Verdict::Violated,
    };
    Check {
        expected: expected.len(),
        visible: t.visible,
        lost: t.lost,
        duplicated: t.duplicated,
        wrong: t.wrong,
        verdict,
    }
}

/// The extra copies of an output shown `right` (≥ 1) times with its right value.
fn extra_copies(right: u64, planted: Planted) -> u64 {
    if planted.has(Bug::OracleUndercountsDuplicates) {
        right.saturating_sub(2)
    } else {
        right - 1
    }
}

/// The counts of a comparison.
#[derive(Default)]
struct Tally {
    visible: u64,
    lost: u64,
    duplicated: u64,
    wrong: u64,
}

impl Tally {
    /// Any outputs, spelled out and sorted, against the expected ones spelled out.
    fn triples(&mut self, expected: &Expected, seen: &[(u64, u64, u64)], planted: Planted) {
        self.visible += seen.len() as u64;
        let mut i = 0;
        for (k, s, v) in expected.outputs() {
            while i < seen.len() && (seen[i].0, seen[i].1) < (k, s) {
                self.wrong += 1; // an id the oracle never emits
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
            self.wrong += above;
            if right > 0 {
                self.duplicated += extra_copies(right, planted) + below;
            } else if below > 0 || above == 0 {
                // Missing, or only ever shown short of its records: input was dropped.
                self.lost += 1;
                self.duplicated += below.saturating_sub(1);
            }
            // Shown only inflated: every record counted, some more than once (counted in `wrong`).
        }
        self.wrong += (seen.len() - i) as u64;
    }

    /// A running count's shown values per key against each key's record count: of key `k`
    /// seen `n` times, a value in 1..n shown `m` times is right once and `m − 1` times
    /// duplicated, one never shown is lost, and every showing of a value outside 1..n is wrong.
    /// (The same classification as [`Tally::triples`], since a running count's output id is its
    /// value.)
    fn runs(&mut self, expected: &Expected, shown: &FxHashMap<u64, Runs>, planted: Planted) {
        let mut keys: Vec<u64> = shown.keys().copied().collect();
        keys.sort_unstable();
        let mut exp = expected.counts.iter().peekable();
        for k in keys {
            while let Some(&&(ek, n)) = exp.peek()
                && ek < k
            {
                self.lost += n;
                exp.next();
            }
            let n = match exp.peek() {
                Some(&&(ek, n)) if ek == k => {
                    exp.next();
                    n
                }
                _ => 0,
            };
            let mut covered = 0;
            for &(lo, hi, m) in &shown[&k].0 {
                let len = hi - lo + 1;
                self.visible += len * m;
                let (a, b) = (lo.max(1), hi.min(n));
                let inside = if b >= a { b - a + 1 } else { 0 };
                covered += inside;
                self.duplicated += inside * extra_copies(m, planted);
                self.wrong += (len - inside) * m;
            }
            self.lost += n - covered;
        }
        self.lost += exp.map(|(_, n)| n).sum::<u64>();
    }
}

/// A running count's shown values of one key: disjoint runs `(lo, hi, times)` of consecutive
/// values shown the same number of times, sorted. A key whose values show once each, in order,
/// as a correct run emits them, is one run whatever its count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runs(Vec<(u64, u64, u64)>);

impl Runs {
    /// Adds one showing of `v`; with `collapse` (an upserting sink) a value shows at most once.
    pub fn add(&mut self, v: u64, collapse: bool) {
        let runs = &mut self.0;
        if let Some(last) = runs.last_mut()
            && last.2 == 1
            && last.1.checked_add(1) == Some(v)
        {
            last.1 = v;
            return;
        }
        let i = runs.partition_point(|r| r.1 < v);
        if i < runs.len() && runs[i].0 <= v {
            if collapse {
                return;
            }
            let (lo, hi, m) = runs[i];
            let mut parts = Vec::with_capacity(3);
            if lo < v {
                parts.push((lo, v - 1, m));
            }
            parts.push((v, v, m + 1));
            if v < hi {
                parts.push((v + 1, hi, m));
            }
            let at = i + usize::from(lo < v);
            runs.splice(i..=i, parts);
            self.merge_around(at);
        } else {
            runs.insert(i, (v, v, 1));
            self.merge_around(i);
        }
    }

    /// Merges run `i` with its neighbours where they touch and show as often.
    fn merge_around(&mut self, i: usize) {
        let runs = &mut self.0;
        let touches = |a: (u64, u64, u64), b: (u64, u64, u64)| a.2 == b.2 && a.1 + 1 == b.0;
        let mut i = i;
        if i > 0 && touches(runs[i - 1], runs[i]) {
            runs[i - 1].1 = runs[i].1;
            runs.remove(i);
            i -= 1;
        }
        if i + 1 < runs.len() && touches(runs[i], runs[i + 1]) {
            runs[i].1 = runs[i + 1].1;
            runs.remove(i + 1);
        }
    }
}

/// The latest results a sink shows: for a running count, each key's largest count shown; for a
/// window count, the latest window shown (the largest start) and each of its keys' largest count
/// shown in it. Read-only: taking it changes nothing about the run or its check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latest {
    /// The start of the latest window shown (window count; `None` for a running count or when
    /// nothing was shown).
    pub window: Option<SimTime>,
    /// `(key, count)` sorted by key.
    pub counts: Vec<(u64, u64)>,
}

/// What a sink shows, kept as compactly as the check allows: a running count's values as
/// [`Runs`] per key (memory grows with the keys and the anomalies, not with the outputs), a
/// window count's outputs as they are (upserted by id for an idempotent sink).
#[derive(Debug)]
pub struct Shown {
    planted: Planted,
    upserts: bool,
    outputs: Outputs,
}

#[derive(Debug)]
enum Outputs {
    Runs(FxHashMap<u64, Runs>),
    List(Vec<(u64, u64, u64)>),
    Upserts(FxHashMap<(u64, u64), (u64, u64, u64)>),
}

impl Shown {
    /// Nothing shown yet, for a job of `kind` on a sink that upserts by output id (`upserts`).
    pub fn new(kind: JobKind, upserts: bool, planted: Planted) -> Shown {
        let outputs = match (kind, upserts) {
            (JobKind::RunningCount, _) => Outputs::Runs(FxHashMap::default()),
            (JobKind::WindowCount, false) => Outputs::List(Vec::new()),
            (JobKind::WindowCount, true) => Outputs::Upserts(FxHashMap::default()),
        };
        Shown {
            planted,
            upserts,
            outputs,
        }
    }
    /// The latest results shown, per key (see [`Latest`]).
    pub fn latest(&self) -> Latest {
        let mut counts: Vec<(u64, u64)>;
        let mut window = None;
        match &self.outputs {
            Outputs::Runs(runs) => {
                counts = runs
                    .iter()
                    .filter_map(|(k, r)| r.0.last().map(|&(_, hi, _)| (*k, hi)))
                    .collect();
            }
            Outputs::List(_) | Outputs::Upserts(_) => {
                let all: Vec<(u64, u64, u64)> = match &self.outputs {
                    Outputs::List(list) => list.clone(),
                    Outputs::Upserts(map) => map.values().copied().collect(),
                    Outputs::Runs(_) => Vec::new(),
                };
                window = all.iter().map(|o| o.1).max();
                let mut per_key: FxHashMap<u64, u64> = FxHashMap::default();
                for (k, s, v) in all {
                    if Some(s) == window {
                        let c = per_key.entry(k).or_insert(0);
                        *c = (*c).max(v);
                    }
                }
                counts = per_key.into_iter().collect();
            }
        }
        counts.sort_unstable();
        Latest {
            window: window.map(SimTime),
            counts,
        }
    }
    /// Shows `o` (an upserting sink replaces what it showed under the same id).
    pub fn add(&mut self, o: &Output) {
        match &mut self.outputs {
            Outputs::Runs(runs) => {
                runs.entry(o.key).or_default().add(o.value, self.upserts);
            }
            Outputs::List(list) => list.push((o.key, o.sub, o.value)),
            Outputs::Upserts(map) => {
                let id = if self.planted.has(Bug::IdempotentByValue) {
                    (o.key, o.value)
                } else {
                    (o.key, o.sub)
                };
                map.insert(id, (o.key, o.sub, o.value));
            }
        }
    }
}
