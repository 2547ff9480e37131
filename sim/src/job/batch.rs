//! Applying a batch of records at once: what [`OperatorState::apply`] on each record in turn
//! does, with the per-record work a batch shares done once.
//!
//! Invariants:
//! - the state and the outputs are exactly those of [`OperatorState::apply`] on each record in
//!   order (same counts, same windows opened, same outputs in the same order);
//! - for a tumbling window count (slide = length) a record counts in one window at most, the one
//!   its slot starts (`Semantics::slot_of`, through the same cache as `apply`), unless that
//!   window fires at or before the record's `wm_before` (late) or before `closed` (emitted
//!   already). The window's position among the open ones is looked up once per run of records
//!   in the same window, not per record: nothing else opens or drops a window while a batch is
//!   applied.

use super::{OperatorState, Semantics};
use crate::Output;
use crate::scenario::JobKind;
use crate::workload::Record;

impl OperatorState {
    /// Applies `records` (already past the filter) in order, appending what they emit to `out`.
    pub fn apply_all(&mut self, sem: &Semantics, records: &[Record], out: &mut Vec<Output>) {
        let w = &sem.window;
        if sem.kind != JobKind::WindowCount || w.slide != w.length {
            for r in records {
                self.apply(sem, r, out);
            }
            return;
        }
        let closed = self.closed;
        let keys = sem.keys.as_ref();
        // The window the last counted record went to, and its index in `windows`.
        let mut cur: Option<(u64, usize)> = None;
        for r in records {
            let start = sem.slot_of(&mut self.slot, r);
            let fire = sem.fire_time(start);
            if fire <= r.wm_before.0 || fire <= closed {
                continue;
            }
            let i = match cur {
                Some((s, i)) if s == start => i,
                _ => {
                    let i = self.window_index(start);
                    cur = Some((start, i));
                    i
                }
            };
            self.windows[i].1.add(keys, u64::from(r.key), 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::mix64;
    use crate::scenario::{JobKind, WindowSpec};
    use crate::time::{SimDuration, SimTime};
    use crate::workload::Record;
    use crate::{Output, Semantics};

    /// Window count over 2 partitions: windows of `length`, sliding by `slide`, 300 ms of
    /// allowed lateness.
    fn sem(length: u64, slide: u64) -> Semantics {
        Semantics {
            kind: JobKind::WindowCount,
            window: WindowSpec {
                length: SimDuration::from_millis(length),
                slide: SimDuration::from_millis(slide),
                allowed_lateness: SimDuration::from_millis(300),
            },
            filter_keep: 1.0,
            partitions: 2,
            parallelism: 1,
            aligned: length % slide == 0,
            keys: None,
        }
    }

    /// Batch `b`: records whose event times jump back and forth over window edges, some late
    /// (their partition's watermark past the window's firing), some behind windows that fired.
    fn batch(b: u64) -> Vec<Record> {
        (0..9)
            .map(|i| {
                let h = mix64(b * 17 + i);
                let et = (b * 700_000_000 + h % 1_500_000_000).saturating_sub((h % 3) * 1_000_000_000);
                let wm = et.saturating_sub(mix64(h) % 3_000_000_000) + (h % 5) * 400_000_000;
                Record {
                    part: (i % 2) as u32,
                    offset: (b * 9 + i) as u32,
                    key: (h % 6) as u32,
                    value: 0,
                    event_time: SimTime(et),
                    arrival: SimTime(et),
                    wm_before: SimTime(wm),
                }
            })
            .collect()
    }

    /// Applies 40 batches record by record and as batches, advancing both by the same
    /// watermarks, and checks that states and outputs agree after every batch.
    fn agree(sem: &Semantics) {
        let (mut one, mut all) = (sem.new_state(), sem.new_state());
        let mut emitted = 0;
        for b in 0..40 {
            let records = batch(b);
            let (mut out_one, mut out_all): (Vec<Output>, Vec<Output>) = (Vec::new(), Vec::new());
            for r in &records {
                one.apply(sem, r, &mut out_one);
            }
            all.apply_all(sem, &records, &mut out_all);
            let wm = SimTime(b * 700_000_000);
            one.advance_many(sem, [(0, wm), (1, wm)], &mut out_one);
            all.advance_many(sem, [(0, wm), (1, wm)], &mut out_all);
            assert_eq!(out_one, out_all, "batch {b}");
            assert_eq!(one, all, "batch {b}");
            emitted += out_all.len();
        }
        assert!(emitted > 0, "windows fired");
    }

    #[test]
    fn a_batch_applied_at_once_counts_as_its_records_applied_one_by_one() {
        agree(&sem(1000, 1000));
    }

    #[test]
    fn a_batch_of_sliding_windows_applied_at_once_counts_as_its_records_one_by_one() {
        agree(&sem(1000, 250));
    }
}
