//! The spouts of acking mode: every record they emit is a spout tuple with a random id,
//! registered with its acker; a tuple that is not acked within the message timeout fails and its
//! record is read again from the log and emitted anew; `max_spout_pending` caps the tuples a
//! spout has out.
//!
//! Invariants:
//! - `unacked` holds every offset of the partition emitted (or failed and waiting to be emitted
//!   again) whose tuple has not been acked; each offset has at most one live tuple;
//! - the spout advertises no watermark past its first unacked offset (`Source::wm_upto`): a
//!   window cannot fire while a record of it may still be replayed;
//! - the committed offset (Kafka's, durable) is the first offset not yet fully acked: a lost
//!   spout resumes there and emits again everything it had out.

use super::acker::{AckerIn, Rotating};
use super::msg::{StormTag, Target, Tracked};
use super::policy::StormAcking;
use super::ring::Ring;
use super::wire::AckerRef;
use crate::pipeline::{Batch, Core, PCtx, Tag};
use ftsim_sim::{PartitionId, Record};
use rand::RngExt;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::num::NonZeroU32;

/// A set of offsets, held as a bitmap from the 64-offset word of its smallest member to that of
/// its largest: a spout's unacked offsets are dense above the first one.
#[derive(Debug, Default, Clone)]
pub struct Offsets {
    /// The offset of bit 0 of the first word (a multiple of 64).
    base: u64,
    /// The first and last words are not zero (when there are any).
    words: VecDeque<u64>,
    len: u64,
}

impl Offsets {
    /// Adds `o`; false if it was there.
    pub fn insert(&mut self, o: u64) -> bool {
        if self.words.is_empty() {
            self.base = o & !63;
        }
        while o < self.base {
            self.words.push_front(0);
            self.base -= 64;
        }
        let i = ((o - self.base) / 64) as usize;
        if i >= self.words.len() {
            self.words.resize(i + 1, 0);
        }
        let bit = 1u64 << (o % 64);
        let new = self.words[i] & bit == 0;
        self.words[i] |= bit;
        self.len += u64::from(new);
        new
    }
    /// Takes `o` out; false if it was not there.
    pub fn remove(&mut self, o: u64) -> bool {
        let Some(w) = o
            .checked_sub(self.base)
            .and_then(|d| usize::try_from(d / 64).ok())
            .and_then(|i| self.words.get_mut(i))
        else {
            return false;
        };
        let bit = 1u64 << (o % 64);
        if *w & bit == 0 {
            return false;
        }
        *w &= !bit;
        self.len -= 1;
        if *w != 0 {
            // The first and last words are not zero, and only this one changed.
            return true;
        }
        while self.words.front() == Some(&0) {
            self.words.pop_front();
            self.base += 64;
        }
        while self.words.back() == Some(&0) {
            self.words.pop_back();
        }
        true
    }
    /// The smallest offset held.
    pub fn first(&self) -> Option<u64> {
        let w = self.words.front()?;
        Some(self.base + u64::from(w.trailing_zeros()))
    }
    /// How many offsets are held.
    pub fn len(&self) -> u64 {
        self.len
    }
    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// How many tuples a spout's ring spans: far more than are out while tuples flow (they complete
/// within a few flushes); those of a crash, out until they time out, leave it for the map.
pub const SPOUT_SPAN: usize = 4096;

/// A tuple out, in a spout's ring: its id, the offset of its record and the failure epoch it was
/// emitted in (stored plus one, so that an empty slot takes no room of its own: 16 bytes a slot).
#[derive(Debug, Clone, Copy)]
struct Out {
    root: u64,
    offset: u32,
    epoch_1: NonZeroU32,
}

impl Out {
    #[inline(always)]
    fn new(root: u64, offset: u32, epoch: u32) -> Out {
        let epoch_1 = NonZeroU32::new(epoch.wrapping_add(1)).expect("fewer than 2³² - 1 failures");
        Out { root, offset, epoch_1 }
    }
    /// The offset and epoch.
    #[inline(always)]
    fn record(self) -> (u32, u32) {
        (self.offset, self.epoch_1.get() - 1)
    }
}

/// A spout's tuples out (Storm's pending `RotatingMap` of two buckets): by their number at the
/// spout in a [`Ring`], and by id in a [`Rotating`] map for those that outlived the ring's span.
///
/// Invariants: each tuple out is in the ring or in the map, never both; tuples are numbered in
/// the order they were emitted, so the ring's slots below `newest_from` are those emitted before
/// the last rotation (the older bucket) and the others the newest bucket; the map's buckets
/// agree (a tuple goes over into the bucket its number puts it in).
#[derive(Debug, Clone)]
pub struct Pending {
    /// By number: the tuple's id, the offset of its record, the failure epoch it was emitted in.
    ring: Ring<Out>,
    /// The first number emitted since the last rotation.
    newest_from: u64,
    /// Tuples that outlived the ring's span, by id: their offset and epoch.
    spilled: Rotating<u64, (u32, u32)>,
}

impl Default for Pending {
    fn default() -> Self {
        Pending::with_span(SPOUT_SPAN)
    }
}

impl Pending {
    /// Nothing out, the ring spanning `span` tuples.
    pub fn with_span(span: usize) -> Pending {
        Pending {
            ring: Ring::new(span),
            newest_from: 0,
            spilled: Rotating::default(),
        }
    }
    /// The number the next tuple emitted gets.
    pub fn next(&self) -> u64 {
        self.ring.end()
    }
    /// Tuple `root`, numbered [`Pending::next`], is out with the record at `offset`, emitted in
    /// failure epoch `epoch`.
    #[inline]
    pub fn insert(&mut self, root: u64, offset: u32, epoch: u32) {
        let (spilled, older) = (&mut self.spilled, self.newest_from);
        let n = self.ring.end();
        let slot = self.ring.reach(n, |n, out| {
            if n < older {
                spilled.insert_older(out.root, out.record());
            } else {
                spilled.insert_new(out.root, out.record());
            }
        });
        if let Some(slot) = slot {
            *slot = Some(Out::new(root, offset, epoch));
        }
    }
    /// Tuple `root`, numbered `n`, was acked: its offset and epoch, if it was still out.
    #[inline]
    pub fn remove(&mut self, root: u64, n: u64) -> Option<(u32, u32)> {
        if let Some(slot) = self.ring.get_mut(n)
            && slot.is_some_and(|out| out.root == root)
        {
            let out = slot.take()?;
            self.ring.trim(|_| false);
            return Some(out.record());
        }
        self.spilled.remove(&root)
    }
    /// A timeout passed: the tuples emitted before the last rotation and still out fail (by id).
    pub fn rotate(&mut self) -> Vec<(u64, (u32, u32))> {
        let mut expired = self.spilled.rotate();
        while let Some((n, _)) = self.ring.front()
            && n < self.newest_from
        {
            if let Some((_, Some(out))) = self.ring.pop_front() {
                expired.push((out.root, out.record()));
            }
        }
        self.newest_from = self.ring.end();
        expired.sort_unstable_by_key(|(root, _)| *root);
        expired
    }
}

/// One spout task's memory of its tuples (lost with it).
#[derive(Debug, Default)]
pub struct Spout {
    /// Tuples out, by number and id.
    pending: Pending,
    /// Tuples out per failure epoch of their emission, by epoch (no zero counts).
    by_epoch: Vec<(u32, u64)>,
    /// Offsets not yet acked.
    unacked: Offsets,
    /// Offsets whose tuple failed, waiting to be read again.
    failed: BTreeSet<u64>,
    /// A replay read is under way.
    replaying: bool,
}

impl Spout {
    /// Tuples out and not acked (failed ones included).
    pub fn unacked(&self) -> u64 {
        self.unacked.len()
    }
    /// Nothing out and nothing to replay.
    pub fn idle(&self) -> bool {
        self.unacked.is_empty() && !self.replaying
    }
    /// The offset whose watermark the spout may advertise at most.
    fn hold(&self) -> u64 {
        self.unacked.first().unwrap_or(u64::MAX)
    }
    /// Every tuple emitted before failure epoch `mark` was acked or failed and emitted again.
    pub fn settled(&self, mark: u32) -> bool {
        self.by_epoch.first().is_none_or(|(e, _)| *e >= mark) && self.failed.is_empty() && !self.replaying
    }
    /// `n` tuples were emitted in failure epoch `epoch` (the latest).
    fn out(&mut self, epoch: u32, n: u64) {
        if n == 0 {
            return;
        }
        match self.by_epoch.last_mut() {
            Some((e, c)) if *e == epoch => *c += n,
            _ => self.by_epoch.push((epoch, n)),
        }
    }
    /// A tuple out since `epoch` left (acked or failed).
    fn left(&mut self, epoch: u32) {
        if let Some(i) = self.by_epoch.iter().rposition(|(e, _)| *e == epoch) {
            let n = &mut self.by_epoch[i].1;
            *n -= 1;
            if *n == 0 {
                self.by_epoch.remove(i);
            }
        }
    }
}

impl StormAcking {
    /// Arms the timeout rotation of the spout of `part`, on its node.
    pub(super) fn arm_spout(&self, core: &Core, part: u32, cx: &mut PCtx<'_, Self>) {
        let node = core.sources[part as usize].reader.node;
        cx.set_node_timer(node, self.cfg.message_timeout, Tag::Policy(StormTag::SpoutTick(part)));
    }

    /// The spout of `part` emits `batch` to `task`: one spout tuple per record, each with a random
    /// id and one edge, registered with its acker (an init per tuple, sent together per acker).
    pub(super) fn emit(&mut self, core: &mut Core, part: u32, task: u32, batch: &Batch, cx: &mut PCtx<'_, Self>) {
        if !self.tracking || self.trident.is_some() {
            return;
        }
        let lost = core.tasks[task as usize].lost;
        let from = core.sources[part as usize].reader.node;
        let spout = &mut self.spouts[part as usize];
        for r in &batch.records {
            let (root, edge) = (cx.rng.random::<u64>(), cx.rng.random::<u64>());
            let (acker, handle) = self.acking.handle(root, spout.pending.next());
            // A fresh random id: no tuple out has it (a repeat has probability 2⁻⁶⁴ per pair).
            spout.pending.insert(root, r.offset, self.epoch);
            spout.unacked.insert(u64::from(r.offset));
            if !lost {
                let tuple = Tracked {
                    root,
                    edge,
                    at: AckerRef::new(acker, handle.acker),
                };
                self.inflight.sent(task, r, tuple);
            }
            let init = AckerIn::Init {
                root,
                val: edge,
                spout: Target::Spout(part),
            };
            self.acking.tell(from, acker, init, handle, cx);
        }
        spout.out(self.epoch, batch.records.len() as u64);
        core.sources[part as usize].wm_upto = spout.hold();
    }

    /// The acker told the spout of `part` that these trees (by id and number at the spout)
    /// completed: their records are done.
    pub(super) fn completed(
        &mut self,
        core: &mut Core,
        part: u32,
        roots: impl Iterator<Item = (u64, u64)>,
        cx: &mut PCtx<'_, Self>,
    ) {
        // At its cap the spout reads nothing and arms no poll: the acks that free room wake it.
        let held = self.read_limit_of(part) == 0;
        let spout = &mut self.spouts[part as usize];
        for (root, n) in roots {
            if let Some((offset, epoch)) = spout.pending.remove(root, n) {
                spout.left(epoch);
                spout.unacked.remove(u64::from(offset));
                self.counts.acked += 1;
            }
        }
        core.sources[part as usize].wm_upto = spout.hold();
        if held {
            // A spout held back by its cap reads again as soon as acks free room (one not held
            // back reads on its own schedule, as every source does).
            let room = self.read_limit_of(part);
            core.poll(part, room, cx);
        }
    }

    /// How many records the spout of `part` may read now.
    pub(super) fn read_limit_of(&self, part: u32) -> u64 {
        match self.cfg.max_spout_pending {
            0 => u64::MAX,
            cap => cap.saturating_sub(self.spouts[part as usize].unacked()),
        }
    }

    /// A message timeout passed at the spout of `part`: tuples out for between one and two
    /// timeouts fail, and their records are read again.
    pub(super) fn spout_tick(&mut self, core: &mut Core, part: u32, cx: &mut PCtx<'_, Self>) {
        self.arm_spout(core, part, cx);
        let spout = &mut self.spouts[part as usize];
        let expired = spout.pending.rotate();
        if expired.is_empty() {
            return;
        }
        let node = core.sources[part as usize].reader.node;
        let detail = format!("{} tuples of partition {part} timed out", expired.len());
        cx.log_event("tuples-failed", Some(node), detail);
        self.counts.timed_out += expired.len() as u64;
        // A tuple is still queued if its ids still wait for the live task it was sent to.
        let waiting = self.inflight.roots(part, |t| !core.tasks[t as usize].lost);
        let mut queued = 0;
        for (root, (offset, epoch)) in expired {
            spout.left(epoch);
            spout.failed.insert(u64::from(offset));
            if waiting.contains(&root) {
                queued += 1;
            }
        }
        // Tuples that timed out while still queued: the topology is slower than its timeout.
        self.overloaded = (queued > 0).then(|| (queued, cx.now()));
        self.replay(core, part, cx);
    }

    /// The spout of `part` reads its failed records again, if it is not already doing so.
    fn replay(&mut self, core: &Core, part: u32, cx: &mut PCtx<'_, Self>) {
        let spout = &mut self.spouts[part as usize];
        if spout.replaying || spout.failed.is_empty() {
            return;
        }
        spout.replaying = true;
        let offsets: Vec<u64> = std::mem::take(&mut spout.failed).into_iter().collect();
        let work = core.read.cost.mul(offsets.len() as u64);
        let node = core.sources[part as usize].reader.node;
        cx.compute(node, work, Tag::Policy(StormTag::Replayed { part, offsets }));
    }

    /// The spout of `part` read `offsets` again: their records go out as new spout tuples, to
    /// the tasks that own them, as fault-tolerance traffic.
    pub(super) fn replayed(&mut self, core: &mut Core, part: u32, offsets: &[u64], cx: &mut PCtx<'_, Self>) {
        self.spouts[part as usize].replaying = false;
        let log = PartitionId(part);
        let records: Vec<Record> = offsets.iter().filter_map(|o| cx.log.record(log, *o)).collect();
        cx.records(ftsim_sim::Flow::Read, records.len() as u64);
        self.counts.replayed += records.len() as u64;
        let mut by_task: BTreeMap<u32, Vec<Record>> = BTreeMap::new();
        for r in records {
            let task = core.route[cx.sem.task_of(u64::from(r.key)) as usize];
            by_task.entry(task).or_default().push(r);
        }
        let from = core.sources[part as usize].reader.node;
        for (task, records) in by_task {
            let batch = Batch {
                part,
                upto: 0,
                wm: ftsim_sim::SimTime::ZERO,
                records,
            };
            self.emit(core, part, task, &batch, cx);
            core.send(from, task, batch, true, cx);
        }
        self.replay(core, part, cx);
    }

    /// Spouts lost with their node forget their tuples; each partition's committed offset (the
    /// first not fully acked, or where it had read with acking off) is where it stands until it
    /// resumes there.
    pub(super) fn spouts_lost(&mut self, core: &mut Core) {
        for (p, s) in core.sources.iter_mut().enumerate().filter(|(_, s)| s.lost) {
            let spout = &mut self.spouts[p];
            let first = spout.unacked.first().unwrap_or(u64::MAX);
            self.committed[p] = first.min(s.reader.next);
            s.reader.next = self.committed[p];
            *spout = Spout::default();
            s.wm_upto = u64::MAX;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spout_tuples_fail_between_one_and_two_rotations_after_they_were_emitted() {
        let mut p = Pending::default();
        for root in [30, 10, 20] {
            p.insert(root, root as u32, 0);
        }
        assert!(p.rotate().is_empty(), "one rotation: still out");
        p.insert(40, 40, 1);
        assert_eq!(p.remove(20, 2), Some((20, 0)), "acked");
        assert_eq!(p.rotate(), vec![(10, (10, 0)), (30, (30, 0))], "by id");
        assert_eq!(p.remove(10, 1), None, "a failed tuple is no longer out");
        assert_eq!(p.remove(99, 3), None, "another tuple's number does not ack it");
        assert_eq!(p.rotate(), vec![(40, (40, 1))]);
    }

    #[test]
    fn a_ring_slot_of_a_spout_takes_sixteen_bytes_and_gives_back_its_epoch() {
        assert_eq!(std::mem::size_of::<Option<Out>>(), 16);
        assert_eq!(Out::new(1, 2, 0).record(), (2, 0));
        assert_eq!(Out::new(1, 2, u32::MAX - 1).record(), (2, u32::MAX - 1));
    }

    #[test]
    fn a_spout_tuple_older_than_the_ring_span_is_acked_from_the_map_or_fails_on_its_rotation() {
        let mut p = Pending::with_span(4);
        p.insert(100, 0, 0);
        assert!(p.rotate().is_empty());
        p.insert(101, 1, 0);
        for o in 2..20u32 {
            let (root, n) = (200 + u64::from(o), p.next());
            p.insert(root, o, 0);
            assert_eq!(p.remove(root, n), Some((o, 0)));
        }
        // Tuples 100 (emitted before the rotation) and 101 (after) left the ring for the map.
        assert_eq!(p.rotate(), vec![(100, (0, 0))], "the older bucket's tuple fails");
        assert_eq!(p.remove(101, 1), Some((1, 0)), "acked from the map");
        assert_eq!(p.remove(100, 0), None, "a failed tuple is no longer out");
        assert!(p.rotate().is_empty());
    }
}
