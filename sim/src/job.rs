//! The job's meaning, shared by the oracle and every engine so that they agree on the right answer.
//!
//! A job is source → stateless chain (parse, map, filter) → key partitioning → one stateful
//! operator → sink. Invariants that keep the answer independent of timing, failures and replays:
//! - the filter keeps a record by a hash of its id, never by chance drawn at run time;
//! - a record falls in window `w` only if `w.end + allowed_lateness > wm_before` (its partition's
//!   watermark in the log), so lateness is decided the same way before and after a replay;
//! - a window fires once the minimum watermark over all source partitions the operator has seen
//!   reaches `end + allowed_lateness`;
//! - a running count emits `(key, count after this record)`;
//! - a window that fired is never opened again by a later record (none arrives in a correct
//!   execution; a state rebuilt by a replay declares what fired elsewhere with `close_through`).

mod batch;
mod counts;
mod keys;
mod minima;

use crate::rng::mix64;
use crate::scenario::{JobKind, JobSpec, Scenario, WindowSpec};
use crate::time::{SimDuration, SimTime};
use crate::workload::Record;
use counts::WindowCounts;
use keys::KeyIndex;
use minima::{Minima, min_and_count};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::sync::{Arc, Weak};

/// One emission of the job: `(key, sub)` identifies it, `value` is what it says.
///
/// For a running count `sub = value = count`; for a window count `sub` is the window start in
/// nanoseconds and `value` the count. `origin` is where latency is measured from: the record's
/// event time, or the window's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Output {
    /// The record key.
    pub key: u64,
    /// Count (running count) or window start (window count).
    pub sub: u64,
    /// The emitted value.
    pub value: u64,
    /// Latency origin.
    pub origin: SimTime,
}

/// The static part of the job: filter, partitioning, windows.
#[derive(Debug, Clone)]
pub struct Semantics {
    /// Which stateful operator.
    pub kind: JobKind,
    /// Window parameters.
    pub window: WindowSpec,
    filter_keep: f64,
    partitions: u32,
    /// Stateful tasks.
    pub parallelism: u32,
    /// The slide divides the window length (as every resolved scenario's does), so the first
    /// window a record counts in starts at a multiple of the slide with no rounding: computed
    /// from `window` once, which is not changed after.
    aligned: bool,
    /// The keys numbered per owning task, for windows that count them densely (see
    /// [`Semantics::for_scenario`]); `None`: every window counts in hash maps.
    keys: Option<Arc<KeyIndex>>,
}

impl Semantics {
    /// The semantics of `job` over a log with `partitions` partitions.
    pub fn new(job: &JobSpec, partitions: u32) -> Semantics {
        Semantics {
            kind: job.kind,
            window: job.window,
            filter_keep: job.filter_keep,
            partitions,
            parallelism: job.parallelism,
            aligned: job.window.length.as_nanos() % job.window.slide.as_nanos().max(1) == 0,
            keys: None,
        }
    }
    /// The semantics of `sc`'s job over a log with `partitions` partitions, its keys numbered
    /// per owning task when a window is dense with them: a window count over at most 2¹⁶ keys
    /// whose windows each see at least as many records as there are keys. Then a window keeps
    /// its counts in an array per task, as the oracle does per job ([`Semantics::dense_keys`]).
    pub fn for_scenario(sc: &Scenario, partitions: u32) -> Semantics {
        let mut sem = Semantics::new(&sc.job, partitions);
        let w = &sc.workload;
        let per_window = w.rate * sc.job.window.length.as_secs_f64();
        if sc.job.kind == JobKind::WindowCount && w.keys <= 1 << 16 && per_window >= w.keys as f64 {
            let index = KeyIndex::new(w.keys as u32, sem.parallelism, |k| sem.task_of(k));
            sem.keys = Some(Arc::new(index));
        }
        sem
    }
    /// How many keys windows count densely (all below it), or 0 if none do.
    pub fn dense_keys(&self) -> u64 {
        self.keys.as_ref().map_or(0, |ix| ix.len() as u64)
    }
    /// Number of source partitions (watermark inputs of every stateful task).
    pub fn partitions(&self) -> u32 {
        self.partitions
    }
    /// Whether the filter keeps `r` (a pure function of the record id).
    pub fn keeps(&self, r: &Record) -> bool {
        if self.filter_keep >= 1.0 {
            return true;
        }
        let h = mix64((u64::from(r.part) << 32) | u64::from(r.offset));
        (h >> 11) as f64 / (1u64 << 53) as f64 <= self.filter_keep
    }
    /// The stateful task that owns `key`.
    pub fn task_of(&self, key: u64) -> u32 {
        (mix64(key ^ 0x5eed) % u64::from(self.parallelism)) as u32
    }
    /// Start times of the windows `r` counts in (non-late ones only), in increasing order.
    pub fn windows_of(&self, r: &Record) -> impl Iterator<Item = u64> + use<> {
        let (et, sl) = (r.event_time.0, self.window.slide.as_nanos());
        self.windows_in(et - et % sl, r)
    }
    /// The start of the slide-long slot `r`'s event time falls in (a multiple of the slide),
    /// through `cache`, the slot found last: a record in the same slot as the one before needs
    /// no division. A cache starts at 0, and any value in it is only ever a hint.
    #[inline]
    pub(crate) fn slot_of(&self, cache: &mut u64, r: &Record) -> u64 {
        let (et, sl) = (r.event_time.0, self.window.slide.as_nanos());
        if et.wrapping_sub(*cache) >= sl {
            *cache = et - et % sl;
        }
        *cache
    }
    /// [`Semantics::windows_of`] given `last_start`, the start of the last window `r`'s event
    /// time falls in (its event time rounded down to a multiple of the slide).
    pub(crate) fn windows_in(&self, last_start: u64, r: &Record) -> impl Iterator<Item = u64> + use<> {
        let WindowSpec {
            length,
            slide,
            allowed_lateness,
        } = self.window;
        let (len, sl) = (length.as_nanos(), slide.as_nanos());
        let et = r.event_time.0;
        let first_start = (last_start + sl).saturating_sub(len);
        let first_start = if self.aligned {
            first_start
        } else {
            first_start - first_start % sl
        };
        let wm = r.wm_before.0;
        let lateness = allowed_lateness.as_nanos();
        (0..)
            .map(move |i| first_start + i * sl)
            .take_while(move |s| *s <= last_start)
            .filter(move |s| s + len > et && s + len + lateness > wm)
    }
    /// The time at which window `start` fires: its end plus the allowed lateness.
    pub fn fire_time(&self, start: u64) -> u64 {
        start + self.window.length.as_nanos() + self.window.allowed_lateness.as_nanos()
    }
    /// A fresh, empty stateful operator instance.
    pub fn new_state(&self) -> OperatorState {
        OperatorState {
            counts: FxHashMap::default(),
            windows: VecDeque::new(),
            part_wm: PartWatermarks::Own(vec![SimTime::ZERO; self.partitions as usize]),
            global: SimTime::ZERO,
            at_global: self.partitions,
            minima: Minima::default(),
            closed: 0,
            slot: 0,
        }
    }
    /// The instant the last window `r` counts in fires (0 if it counts in none).
    pub fn last_fire(&self, r: &Record) -> u64 {
        self.windows_of(r).last().map_or(0, |s| self.fire_time(s))
    }
    /// The window length (for latency origins).
    pub fn window_length(&self) -> SimDuration {
        self.window.length
    }
}

/// The state of one stateful task: per-key counts, or per-(window, key) counts with the watermark
/// seen from each source partition. Cloning it is taking a snapshot.
///
/// Open windows are kept sorted by start (a record almost always counts in the newest), each
/// with its keys' counts (`WindowCounts`: an array by the keys' rank among their task's keys
/// when the job's keys are numbered, compact hash maps otherwise) in no order that is ever
/// observed: a window that fires emits its keys sorted. `global` is the minimum of `part_wm`
/// and `at_global` how many partitions sit at it, so that raising one partition's watermark
/// costs a search for the new minimum only when the last partition at the minimum moves, and
/// that search is a pass over per-block minima (`Minima`) rather than over every partition. A state advanced
/// batch by batch with [`OperatorState::advance_all`] shares its batch's watermarks instead of
/// holding its own copy (`PartWatermarks`), so that advancing it and cloning it cost no scan.
#[derive(Debug, Clone)]
pub struct OperatorState {
    counts: FxHashMap<u64, u64>,
    windows: VecDeque<(u64, WindowCounts)>,
    part_wm: PartWatermarks,
    global: SimTime,
    at_global: u32,
    /// Per-block minima of `part_wm` (a cache: not part of the state's value).
    minima: Minima,
    /// Windows that fire at or before this instant were emitted: no record opens them again.
    closed: u64,
    /// A multiple of the slide: the start of the slide-long slot of time the last record applied
    /// fell in (a cache, not part of the state's value: a record in the same slot finds its
    /// windows without a division).
    slot: u64,
}

impl OperatorState {
    /// Applies one record (already past the filter), appending what it emits to `out`.
    pub fn apply(&mut self, sem: &Semantics, r: &Record, out: &mut Vec<Output>) {
        let key = u64::from(r.key);
        match sem.kind {
            JobKind::RunningCount => {
                let c = self.counts.entry(key).or_insert(0);
                *c += 1;
                out.push(Output {
                    key,
                    sub: *c,
                    value: *c,
                    origin: r.event_time,
                });
            }
            JobKind::WindowCount => {
                let slot = sem.slot_of(&mut self.slot, r);
                let closed = self.closed;
                for start in sem.windows_in(slot, r).filter(|s| sem.fire_time(*s) > closed) {
                    self.window(start).add(sem.keys.as_ref(), key, 1);
                }
            }
        }
    }

    /// Adds `n` records of `key` to window `start`, as `n` applied records counting in that
    /// window would (window count; nothing if the window fired and was emitted already). The
    /// map-side combined form of [`OperatorState::apply`].
    pub fn add_to_window(&mut self, sem: &Semantics, start: u64, key: u64, n: u64) {
        if sem.fire_time(start) > self.closed {
            self.window(start).add(sem.keys.as_ref(), key, n);
        }
    }

    /// The counts of the open window `start`, opened if new.
    fn window(&mut self, start: u64) -> &mut WindowCounts {
        let i = self.window_index(start);
        &mut self.windows[i].1
    }

    /// The index in `windows` of the open window `start`, opened if new.
    fn window_index(&mut self, start: u64) -> usize {
        let w = &mut self.windows;
        match w.back() {
            Some((s, _)) if *s == start => w.len() - 1,
            Some((s, _)) if *s < start => {
                w.push_back((start, WindowCounts::default()));
                w.len() - 1
            }
            _ => match w.binary_search_by_key(&start, |(s, _)| *s) {
                Ok(i) => i,
                Err(i) => {
                    w.insert(i, (start, WindowCounts::default()));
                    i
                }
            },
        }
    }

    /// Raises the watermark seen from partition `part` to `wm` (never lowers it) and emits every
    /// window that the minimum watermark over all partitions now closes.
    pub fn advance(&mut self, sem: &Semantics, part: u32, wm: SimTime, out: &mut Vec<Output>) {
        self.advance_many(sem, std::iter::once((part, wm)), out);
    }

    /// Raises the watermark of each `(partition, watermark)` given (never lowering one) and emits
    /// every window that the new minimum closes: the same state and outputs, in the same order,
    /// as [`OperatorState::advance`] on each in turn, with the minimum recomputed at most once.
    pub fn advance_many(
        &mut self,
        sem: &Semantics,
        wms: impl IntoIterator<Item = (u32, SimTime)>,
        out: &mut Vec<Output>,
    ) {
        if sem.kind != JobKind::WindowCount {
            return;
        }
        let mut raised = false;
        for (part, wm) in wms {
            match self.part_wm.as_slice().get(part as usize).copied() {
                Some(cur) if wm > cur => {
                    // No partition is below `global`, so until `at_global` reaches zero the
                    // minimum stays where it is.
                    if cur == self.global {
                        self.at_global -= 1;
                    }
                    let own = self.part_wm.own_mut();
                    own[part as usize] = wm;
                    // The block minima follow a raise or two; many in one go cost less as one
                    // rebuild, should the minimum be asked for.
                    if raised {
                        self.minima.invalidate();
                    } else {
                        self.minima.raised(own, part as usize, cur);
                    }
                    raised = true;
                }
                Some(_) => {}
                None => raised = true,
            }
        }
        if !raised {
            return;
        }
        if self.at_global == 0 {
            (self.global, self.at_global) = self.minima.of(self.part_wm.as_slice());
        }
        self.fire(sem, out);
    }

    /// [`OperatorState::advance_many`] over the `(partition, watermark)` of `wms` that have a
    /// watermark (ascending by partition, each at most once): the same state and outputs. When
    /// `wms` names every partition (a round that reaches the state from every source), the
    /// minimum is found in the pass that raises them rather than by a second scan.
    pub fn advance_every<I>(&mut self, sem: &Semantics, wms: I, out: &mut Vec<Output>)
    where
        I: ExactSizeIterator<Item = (u32, Option<SimTime>)> + Clone,
    {
        if sem.kind != JobKind::WindowCount {
            return;
        }
        let cur = self.part_wm.as_slice();
        if wms.len() != cur.len() {
            let wms = wms.filter_map(|(p, wm)| Some((p, wm?)));
            return self.advance_many(sem, wms, out);
        }
        if !wms.clone().zip(cur).any(|((_, wm), c)| wm.is_some_and(|wm| wm > *c)) {
            return;
        }
        let (mut min, mut at) = (SimTime::MAX, 0);
        for (i, (w, (p, wm))) in self.part_wm.own_mut().iter_mut().zip(wms).enumerate() {
            debug_assert_eq!(p as usize, i, "every partition once, in order");
            if let Some(wm) = wm {
                *w = (*w).max(wm);
            }
            if *w < min {
                (min, at) = (*w, 1);
            } else if *w == min {
                at += 1;
            }
        }
        (self.global, self.at_global) = (min, at);
        self.minima.invalidate();
        self.fire(sem, out);
    }

    /// Raises the watermark seen from every partition p to `wms`' batch watermark of p (never
    /// lowers one) and emits every window that the minimum watermark now closes: what
    /// [`OperatorState::advance`] for each partition in turn does. A state last advanced by the
    /// batch `wms` follows in its chain (or by `wms` itself) costs no scan.
    pub fn advance_all(&mut self, sem: &Semantics, wms: &BatchWatermarks, out: &mut Vec<Output>) {
        if sem.kind != JobKind::WindowCount {
            return;
        }
        let follows = match &self.part_wm {
            PartWatermarks::Shared(cur) => wms.follows(cur),
            PartWatermarks::Own(_) => false,
        };
        if follows {
            self.part_wm = PartWatermarks::Shared(wms.clone());
        } else {
            let mut merged = self.part_wm.as_slice().to_vec();
            for (w, raw) in merged.iter_mut().zip(&wms.0.raw) {
                *w = (*w).max(*raw);
            }
            self.part_wm = if merged == wms.0.cum {
                PartWatermarks::Shared(wms.clone())
            } else {
                PartWatermarks::Own(merged)
            };
        }
        (self.global, self.at_global) = match &self.part_wm {
            PartWatermarks::Shared(w) => (w.0.min, w.0.at_min),
            PartWatermarks::Own(v) => min_and_count(v),
        };
        self.minima.invalidate();
        self.fire(sem, out);
    }

    /// Emits every open window that the minimum watermark closes.
    fn fire(&mut self, sem: &Semantics, out: &mut Vec<Output>) {
        let global = self.global.0;
        self.closed = self.closed.max(global);
        let len = sem.window.length.as_nanos();
        while let Some((start, _)) = self.windows.front() {
            let start = *start;
            if sem.fire_time(start) > global {
                break;
            }
            let Some((_, counts)) = self.windows.pop_front() else {
                break;
            };
            out.extend(counts.into_sorted().into_iter().map(|(key, count)| Output {
                key,
                sub: start,
                value: count,
                origin: SimTime(start + len),
            }));
        }
    }

    /// Declares every window that fires at or before `t` emitted already (a state rebuilt by a
    /// replay after those windows fired elsewhere): they are dropped and never opened again.
    pub fn close_through(&mut self, sem: &Semantics, t: u64) {
        self.closed = self.closed.max(t);
        self.windows.retain(|(start, _)| sem.fire_time(*start) > t);
    }
    /// The instant up to which every window has fired and been emitted.
    pub fn closed(&self) -> u64 {
        self.closed
    }
    /// The minimum watermark over all partitions this state has seen.
    pub fn watermark(&self) -> SimTime {
        self.global
    }
    /// Number of keys (running count) or open (window, key) entries held.
    pub fn entries(&self) -> u64 {
        (self.counts.len() + self.windows.iter().map(|(_, w)| w.len()).sum::<usize>()) as u64
    }
    /// Size of a snapshot of this state, given the bytes per key.
    pub fn size_bytes(&self, bytes_per_key: u64) -> u64 {
        self.entries() * bytes_per_key + 8 * self.part_wm.as_slice().len() as u64
    }
}

impl PartialEq for OperatorState {
    fn eq(&self, other: &OperatorState) -> bool {
        self.counts == other.counts
            && self.windows == other.windows
            && self.part_wm.as_slice() == other.part_wm.as_slice()
            && self.global == other.global
            && self.at_global == other.at_global
            && self.closed == other.closed
    }
}

/// The watermark a state has seen from each source partition: its own, or a batch's shared.
#[derive(Debug, Clone)]
enum PartWatermarks {
    /// Its own copy.
    Own(Vec<SimTime>),
    /// Exactly the running maximum (`cum`) of a batch's watermarks.
    Shared(BatchWatermarks),
}

impl PartWatermarks {
    fn as_slice(&self) -> &[SimTime] {
        match self {
            PartWatermarks::Own(v) => v,
            PartWatermarks::Shared(w) => &w.0.cum,
        }
    }

    /// Its own copy, made first if it shared a batch's.
    fn own_mut(&mut self) -> &mut Vec<SimTime> {
        if let PartWatermarks::Shared(w) = self {
            *self = PartWatermarks::Own(w.0.cum.clone());
        }
        match self {
            PartWatermarks::Own(v) => v,
            PartWatermarks::Shared(_) => unreachable!("made its own just above"),
        }
    }
}

/// Every source partition's watermark at the end of a batch, for
/// [`OperatorState::advance_all`], shared by every state advanced with it.
///
/// Invariants: `raw` holds the batch's own watermarks and `cum`, of the same length, their running
/// maximum along the chain of batches it was built after (`cum` = the previous batch's `cum`
/// raised by `raw`, or `raw` for the first); `min` and `at_min` are `cum`'s minimum and how many
/// partitions sit at it. So a state whose watermarks are exactly the previous batch's `cum`,
/// raised by `raw`, holds exactly this batch's `cum`: no scan is needed to know it.
#[derive(Debug, Clone)]
pub struct BatchWatermarks(Arc<Chained>);

#[derive(Debug)]
struct Chained {
    raw: Vec<SimTime>,
    cum: Vec<SimTime>,
    min: SimTime,
    at_min: u32,
    /// The batch watermarks this one follows (held weakly: only its identity matters).
    after: Option<Weak<Chained>>,
}

impl BatchWatermarks {
    /// A batch's watermarks `raw`, following those of the batch before it (`after`, whose
    /// partitions must be as many, else the chain starts again here).
    pub fn new(raw: Vec<SimTime>, after: Option<&BatchWatermarks>) -> BatchWatermarks {
        let after = after.filter(|a| a.0.cum.len() == raw.len());
        let cum: Vec<SimTime> = match after {
            Some(a) => raw.iter().zip(&a.0.cum).map(|(r, c)| (*r).max(*c)).collect(),
            None => raw.clone(),
        };
        let (min, at_min) = min_and_count(&cum);
        BatchWatermarks(Arc::new(Chained {
            raw,
            cum,
            min,
            at_min,
            after: after.map(|a| Arc::downgrade(&a.0)),
        }))
    }

    /// The batch's own watermark of each partition.
    pub fn raw(&self) -> &[SimTime] {
        &self.0.raw
    }

    /// Whether a state holding exactly `cur`'s `cum`, raised by this batch's `raw`, holds this
    /// batch's `cum`: `cur` is this batch or the one it follows.
    fn follows(&self, cur: &BatchWatermarks) -> bool {
        Arc::ptr_eq(&self.0, &cur.0)
            || self
                .0
                .after
                .as_ref()
                .is_some_and(|a| std::ptr::eq(a.as_ptr(), Arc::as_ptr(&cur.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const PARTS: u32 = 5;

    /// Window count over 5 partitions: 1 s windows sliding by 500 ms.
    fn sem() -> Semantics {
        Semantics {
            kind: JobKind::WindowCount,
            window: WindowSpec {
                length: SimDuration::from_millis(1000),
                slide: SimDuration::from_millis(500),
                allowed_lateness: SimDuration::ZERO,
            },
            filter_keep: 1.0,
            partitions: PARTS,
            parallelism: 1,
            aligned: true,
            keys: None,
        }
    }

    /// Batch b's own watermarks: rising on the whole, but a partition's may fall back (partition
    /// 0's of batch 5 is ahead of every later one).
    fn raw(b: u64) -> Vec<SimTime> {
        (0..u64::from(PARTS))
            .map(|p| match (b, p) {
                (5, 0) => SimTime(5_000_000_000),
                _ => SimTime(b * 400_000_000 + mix64(b * 31 + p) % 700_000_000),
            })
            .collect()
    }

    /// Batch b's input: a few counts in the windows around its time.
    fn add_input(state: &mut OperatorState, sem: &Semantics, b: u64) {
        for i in 0..4 {
            let start = (b * 400 + i * 500) / 500 * 500_000_000;
            state.add_to_window(sem, start, mix64(b + i) % 7, 1 + i);
        }
    }

    /// Applies batches `from..=to` to `state` both ways and checks they agree at every step;
    /// returns the state advanced with `advance_all`.
    fn both_ways(chain: &[BatchWatermarks], mut state: OperatorState, from: u64, to: u64) -> OperatorState {
        let sem = sem();
        let mut by_part = state.clone();
        let mut emitted = 0;
        for b in from..=to {
            let (mut bulk_out, mut part_out) = (Vec::new(), Vec::new());
            add_input(&mut state, &sem, b);
            add_input(&mut by_part, &sem, b);
            state.advance_all(&sem, &chain[b as usize], &mut bulk_out);
            for (p, wm) in raw(b).into_iter().enumerate() {
                by_part.advance(&sem, p as u32, wm, &mut part_out);
            }
            assert_eq!(bulk_out, part_out, "batch {b}");
            assert_eq!(state, by_part, "batch {b}");
            emitted += bulk_out.len();
        }
        assert!(to < from + 2 || emitted > 0, "windows fired in batches {from}..={to}");
        state
    }

    /// Batches 0..=10 chained, batch 0 empty.
    fn chain() -> Vec<BatchWatermarks> {
        let mut chain: Vec<BatchWatermarks> = Vec::new();
        for b in 0..=10 {
            let w = BatchWatermarks::new(raw(b), chain.last());
            chain.push(w);
        }
        chain
    }

    fn shares(state: &OperatorState, w: &BatchWatermarks) -> bool {
        matches!(&state.part_wm, PartWatermarks::Shared(s) if Arc::ptr_eq(&s.0, &w.0))
    }

    #[test]
    fn records_applied_out_of_time_order_count_in_the_windows_their_event_times_say() {
        let sem = sem();
        let mut state = sem.new_state();
        let mut want: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        for i in 0..200u64 {
            // Event times that jump back and forth over slots, and land on slot edges.
            let et = match i % 4 {
                0 => mix64(i) % 5_000_000_000,
                1 => (i % 9) * 500_000_000,
                2 => (i % 9 + 1) * 500_000_000 - 1,
                _ => 4_000_000_000 - (i % 7) * 300_000_000,
            };
            let r = Record {
                part: 0,
                offset: i as u32,
                key: (i % 3) as u32,
                value: 0,
                event_time: SimTime(et),
                arrival: SimTime(et),
                wm_before: SimTime::ZERO,
            };
            for start in sem.windows_of(&r) {
                *want.entry((start, u64::from(r.key))).or_insert(0) += 1;
            }
            state.apply(&sem, &r, &mut Vec::new());
        }
        let got: BTreeMap<(u64, u64), u64> = state
            .windows
            .iter()
            .flat_map(|(start, w)| w.clone().into_sorted().into_iter().map(|(k, c)| ((*start, k), c)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn advancing_every_partition_at_once_is_advancing_them_one_by_one() {
        let chain = chain();
        let sem = sem();
        let fresh = sem.new_state();
        let state = both_ways(&chain, fresh.clone(), 1, 10);
        assert!(
            shares(&state, &chain[10]),
            "a state advanced batch by batch shares the batch's"
        );
        // A snapshot of batch 3 replaying from batch 6 on (batches skipped: the scan), a state
        // given batch 4 twice, and a fresh state starting at batch 7.
        let snap = both_ways(&chain, fresh.clone(), 1, 3);
        let skipped = both_ways(&chain, snap.clone(), 6, 10);
        assert!(
            !shares(&skipped, &chain[10]),
            "it missed batch 5's watermark of partition 0"
        );
        let twice = both_ways(&chain, snap, 4, 4);
        let twice = both_ways(&chain, twice, 4, 6);
        assert!(shares(&twice, &chain[6]));
        both_ways(&chain, fresh, 7, 10);
    }

    #[test]
    fn a_round_applied_at_once_is_the_same_round_mark_by_mark() {
        let sem = sem();
        let (mut every, mut many) = (sem.new_state(), sem.new_state());
        for b in 0..40u64 {
            add_input(&mut every, &sem, b);
            add_input(&mut many, &sem, b);
            // Each round skips some partitions (`None`: a task that hears them otherwise), and a
            // partition's mark may be below what it holds.
            let marks: Vec<Option<SimTime>> = raw(b)
                .into_iter()
                .enumerate()
                .map(|(p, wm)| (mix64(b * 7 + p as u64) % 3 != 0).then_some(wm))
                .collect();
            let (mut out_every, mut out_many) = (Vec::new(), Vec::new());
            // Every third round names only some partitions (a round from some sources).
            let named: Vec<(u32, Option<SimTime>)> = marks
                .iter()
                .enumerate()
                .map(|(p, wm)| (p as u32, *wm))
                .filter(|(p, _)| b % 3 != 0 || p % 2 == 1)
                .collect();
            every.advance_every(&sem, named.iter().copied(), &mut out_every);
            let taken = named.iter().filter_map(|(p, wm)| Some((*p, (*wm)?)));
            many.advance_many(&sem, taken, &mut out_many);
            assert_eq!(out_every, out_many, "round {b}");
            assert_eq!(every, many, "round {b}");
            // Between rounds, one partition at a time, as batches do.
            let p = (mix64(b) % u64::from(PARTS)) as u32;
            let wm = SimTime(b * 400_000_000 + 350_000_000);
            every.advance(&sem, p, wm, &mut out_every);
            many.advance(&sem, p, wm, &mut out_many);
            assert_eq!(every, many, "batch after round {b}");
        }
        assert!(every.closed() > 0, "windows fired");
    }

    #[test]
    fn a_chain_started_again_shares_nothing_with_the_old_one() {
        let chain = chain();
        let sem = sem();
        let state = both_ways(&chain, sem.new_state(), 1, 5);
        // Batch 6 regenerated after batch 5 of a chain of its own.
        let mut other = vec![BatchWatermarks::new(raw(5), None)];
        other.push(BatchWatermarks::new(raw(6), other.first()));
        let mut replaced = chain.clone();
        replaced[6] = other[1].clone();
        let state = both_ways(&replaced, state, 6, 6);
        assert!(
            shares(&state, &other[1]),
            "its cum is the new batch's: adopted after the scan"
        );
        assert!(!other[1].follows(&chain[5]));
    }

    #[test]
    fn raising_one_partition_of_a_shared_state_leaves_the_batch_alone() {
        let chain = chain();
        let sem = sem();
        let state = both_ways(&chain, sem.new_state(), 1, 3);
        let mut copy = state.clone();
        copy.advance(&sem, 0, SimTime(u64::MAX / 2), &mut Vec::new());
        assert!(shares(&state, &chain[3]));
        assert_eq!(chain[3].0.cum.first(), state.part_wm.as_slice().first());
        assert_eq!(copy.part_wm.as_slice()[0], SimTime(u64::MAX / 2));
    }
}
