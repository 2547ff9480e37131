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

use crate::rng::mix64;
use crate::scenario::{JobKind, JobSpec, WindowSpec};
use crate::time::{SimDuration, SimTime};
use crate::workload::Record;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

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
        }
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
        let WindowSpec {
            length,
            slide,
            allowed_lateness,
        } = self.window;
        let (len, sl) = (length.as_nanos(), slide.as_nanos());
        let et = r.event_time.0;
        let last_start = et - et % sl;
        let first_start = (last_start + sl).saturating_sub(len);
        let first_start = first_start - first_start % sl;
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
            part_wm: vec![SimTime::ZERO; self.partitions as usize],
            global: SimTime::ZERO,
            at_global: self.partitions,
            closed: 0,
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
/// with its keys' counts in a hash map whose order is never observed: a window that fires
/// emits its keys sorted. `global` is the minimum of `part_wm`
/// and `at_global` how many partitions sit at it, so that raising one partition's watermark
/// costs a scan of them all only when the last partition at the minimum moves.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorState {
    counts: FxHashMap<u64, u64>,
    windows: VecDeque<(u64, FxHashMap<u64, u64>)>,
    part_wm: Vec<SimTime>,
    global: SimTime,
    at_global: u32,
    /// Windows that fire at or before this instant were emitted: no record opens them again.
    closed: u64,
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
                let closed = self.closed;
                for start in sem.windows_of(r).filter(|s| sem.fire_time(*s) > closed) {
                    *self.window(start).entry(key).or_insert(0) += 1;
                }
            }
        }
    }

    /// Adds `n` records of `key` to window `start`, as `n` applied records counting in that
    /// window would (window count; nothing if the window fired and was emitted already). The
    /// map-side combined form of [`OperatorState::apply`].
    pub fn add_to_window(&mut self, sem: &Semantics, start: u64, key: u64, n: u64) {
        if sem.fire_time(start) > self.closed {
            *self.window(start).entry(key).or_insert(0) += n;
        }
    }

    /// The counts of the open window `start`, opened if new.
    fn window(&mut self, start: u64) -> &mut FxHashMap<u64, u64> {
        let w = &mut self.windows;
        let i = match w.back() {
            Some((s, _)) if *s == start => w.len() - 1,
            Some((s, _)) if *s < start => {
                w.push_back((start, FxHashMap::default()));
                w.len() - 1
            }
            _ => match w.binary_search_by_key(&start, |(s, _)| *s) {
                Ok(i) => i,
                Err(i) => {
                    w.insert(i, (start, FxHashMap::default()));
                    i
                }
            },
        };
        &mut w[i].1
    }

    /// Raises the watermark seen from partition `part` to `wm` (never lowers it) and emits every
    /// window that the minimum watermark over all partitions now closes.
    pub fn advance(&mut self, sem: &Semantics, part: u32, wm: SimTime, out: &mut Vec<Output>) {
        if sem.kind != JobKind::WindowCount {
            return;
        }
        if let Some(w) = self.part_wm.get_mut(part as usize) {
            if wm <= *w {
                return;
            }
            if self.raise(part, wm) {
                self.rescan();
            }
        }
        self.fire(sem, out);
    }

    /// [`OperatorState::advance`] for every `(part, wm)` of `raises` in turn, with at most one
    /// scan of the partitions: the same state and the same emissions, in the same order.
    pub fn advance_all(&mut self, sem: &Semantics, raises: &[(u32, SimTime)], out: &mut Vec<Output>) {
        if sem.kind != JobKind::WindowCount {
            return;
        }
        let mut moved = false;
        let mut scan = false;
        for &(part, wm) in raises {
            if self.part_wm.get(part as usize).is_some_and(|w| wm > *w) {
                moved = true;
                scan |= self.raise(part, wm);
            }
        }
        if scan {
            self.rescan();
        }
        if moved {
            self.fire(sem, out);
        }
    }

    /// Sets partition `part`'s watermark to `wm` (higher than it was); true if no partition is
    /// left at the minimum, which must then be found again.
    fn raise(&mut self, part: u32, wm: SimTime) -> bool {
        let w = &mut self.part_wm[part as usize];
        let old = std::mem::replace(w, wm);
        if old == self.global {
            self.at_global -= 1;
            return self.at_global == 0;
        }
        false
    }

    fn rescan(&mut self) {
        self.global = self.part_wm.iter().min().copied().unwrap_or(SimTime::ZERO);
        self.at_global = self.part_wm.iter().filter(|w| **w == self.global).count() as u32;
    }

    /// Emits every window the minimum watermark closes.
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
            let mut keys: Vec<(u64, u64)> = counts.into_iter().collect();
            keys.sort_unstable();
            out.extend(keys.into_iter().map(|(key, count)| Output {
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
        self.entries() * bytes_per_key + 8 * self.part_wm.len() as u64
    }
}
