//! The record-at-a-time dataflow: source tasks that read, run the stateless chain and ship each
//! read's records by key to the stateful tasks (one batch per task per read), and the watermarks
//! that let windows fire. The stateful tasks themselves are in [`super::tasks`].
//!
//! Invariants:
//! - key group `g` (`Semantics::task_of`) is served by task `route[g]`; tasks past
//!   `job.parallelism` are extra tasks a policy added (replicas), fed only by the policy;
//! - a source marked `lost` does nothing until it is placed again; `in_flight[p]` of a task counts
//!   messages source `p` sent to it that it has not received, and is zeroed when either side is
//!   lost: messages to a lost task are dropped, and those a lost source left on the wire still
//!   arrive but carry its old incarnation, so they are not counted as its successor's (a run
//!   may finish before they arrive: their records are then dropped as left on the wire,
//!   `Engine::forgotten`);
//! - a batch carries `upto`, the offset its source had read up to: every record of the partition
//!   below it that the receiving task owns is in this batch or an earlier one on the channel;
//! - `sent_wm[i]` is the last watermark source `p` sent to task `i`, reset when task `i` or source
//!   `p` is placed again (what a source sent from a dead node before its failure was detected
//!   never arrived): a task learns a partition's watermark with the records that move it, or,
//!   for windows, by a round of bare watermarks ([`super::watermarks`]) at the end of the
//!   partition, every `watermark_interval` and when the input ends;
//! - a read costs work proportional to the records it read and the key groups they touch, not to
//!   every key group (`Grouping`: scratch space kept between reads, every slot back at zero
//!   once a read is split);
//! - a batch's record buffer comes from a pool of emptied buffers when one is there
//!   ([`Core::recycle`] returns one once its batch is applied): which buffer holds a batch's
//!   records is never observed, only what they are;
//! - `received[p]` of a task only grows, and below it the task has every record of partition
//!   `p` it owns (queued or applied) or needs none of them (a policy that installs a copied state
//!   and scans the gap says so); when source `p` is lost, its `delivered` is the smallest
//!   `received[p]` of the live tasks it had messages on the wire to (its read offset if none), so
//!   a successor resuming at or below it overtakes nothing on the wire ([`Core::delivered`]);
//! - a source never advertises a watermark past the one at its `wm_upto` offset (a scheme that may
//!   still replay a record there holds it, so that no window fires without that record).

use super::reader::{CoreTag, ReadCfg, SourceReader};
use super::tasks::{Stateful, TO_LOST_TASK};
use super::watermarks::Rounds;
use super::{Batch, Msg, Placement, Shape};
use ftsim_sim::engine::{Ctx, Flow, Traffic};
use ftsim_sim::{LogReader, NodeId, Output, PartitionId, Record, Scenario, Semantics, SimDuration, SimTime};
use std::cell::RefCell;

/// A source task.
#[derive(Debug)]
pub struct Source {
    /// Its reader.
    pub reader: SourceReader,
    /// Lost with its node and not placed again yet.
    pub lost: bool,
    /// Incarnation: bumped when the source is lost.
    pub inc: u32,
    /// Last watermark sent to each stateful task.
    pub sent_wm: Vec<SimTime>,
    /// The source advertises at most the watermark at this offset of its partition (`u64::MAX`:
    /// no hold): a scheme that may still replay the record there holds its watermark back.
    pub wm_upto: u64,
    /// Set when the source is lost: the offset below which every live task it fed had received
    /// all it needs of the partition (see [`Core::delivered`]); `u64::MAX` until then.
    pub delivered: u64,
}

/// Scratch space of a read's grouping by key group, kept between reads so that a read allocates
/// only its batches: `slot[g]` is zero for every group between reads. `pool` holds emptied
/// record buffers of applied batches, reused for new batches so that a batch rarely allocates.
#[derive(Debug, Default)]
pub(super) struct Grouping {
    /// Per key group, one past the index in `bufs` of its batch in the read being split (zero:
    /// none yet).
    slot: Vec<u32>,
    /// The groups the read touched, in the order of their first record (then ascending).
    touched: Vec<u32>,
    /// Their record buffers, in the order of their first record.
    bufs: Vec<Vec<Record>>,
    pool: Vec<Vec<Record>>,
}

/// Most emptied record buffers the pool keeps (beyond, they are freed): more than the batches
/// in flight swing by over a run, a replica's copies included, so that a steady run allocates
/// none.
const POOL_BUFFERS: usize = 8192;
/// Smallest buffer made for the pool, in records: most batches fit it, so a buffer taken
/// from the pool rarely lacks room.
const MIN_RECORDS: usize = 16;
/// Largest buffer the pool keeps, in records (a larger one, a log scan's, is freed).
const POOL_RECORDS: usize = 256;

/// An empty buffer with room for `n` records: the pool's last one if it has room, else a new
/// one (a pooled buffer too small is freed rather than grown, which would copy it).
fn buffer(pool: &mut Vec<Vec<Record>>, n: usize) -> Vec<Record> {
    match pool.pop() {
        Some(b) if b.capacity() >= n => b,
        _ => Vec::with_capacity(n.max(MIN_RECORDS).next_power_of_two()),
    }
}

impl Grouping {
    /// Splits the records `from..to` of partition `part` (filter applied) by key group: the
    /// non-empty groups in ascending order, each with its records in log order, and how many
    /// records were kept. One pass over the records, each copied once, straight into its
    /// group's buffer (no scratch copy of the read). Costs work in the records read and the
    /// groups they touch (sorted, or walked in order when they are most of them), nothing per
    /// key group otherwise.
    fn split(
        &mut self,
        sem: &Semantics,
        log: &LogReader<'_>,
        part: PartitionId,
        from: u64,
        to: u64,
    ) -> (Vec<(u32, Vec<Record>)>, usize) {
        let Grouping {
            slot,
            touched,
            bufs,
            pool,
        } = self;
        slot.resize(sem.parallelism as usize, 0);
        let mut kept = 0;
        log.each(part, from, to, |r| {
            if sem.keeps(r) {
                let g = sem.task_of(u64::from(r.key));
                let s = &mut slot[g as usize];
                if *s == 0 {
                    touched.push(g);
                    bufs.push(buffer(pool, 1));
                    *s = bufs.len() as u32;
                }
                bufs[*s as usize - 1].push(*r);
                kept += 1;
            }
        });
        // The touched groups in ascending order: sorted, or walked in order when they are most
        // of them.
        if touched.len() * 8 >= slot.len() {
            touched.clear();
            touched.extend((0..slot.len() as u32).filter(|g| slot[*g as usize] > 0));
        } else {
            touched.sort_unstable();
        }
        let out = touched
            .iter()
            .map(|&g| {
                let i = std::mem::take(&mut slot[g as usize]) as usize - 1;
                (g, std::mem::take(&mut bufs[i]))
            })
            .collect();
        touched.clear();
        bufs.clear();
        (out, kept)
    }
}

/// The dataflow's state: every task, where it runs, and how far each partition is read.
#[derive(Debug)]
pub struct Core {
    /// Costs and sizes.
    pub shape: Shape,
    /// Bare batches applied at once, not yet handed to the policy.
    pub(super) applied: Vec<(u32, Batch, Vec<Output>)>,
    /// How sources read.
    pub read: ReadCfg,
    /// How often sources send bare watermarks.
    pub wm_interval: SimDuration,
    /// Source tasks, by partition.
    pub sources: Vec<Source>,
    /// Stateful tasks: one per key group, then any a policy added.
    pub tasks: Vec<Stateful>,
    /// Tasks drop records they already applied (`seen`), so that a replay is precise; off for
    /// a scheme that applies whatever it is sent again.
    pub dedupe: bool,
    /// The operator state lives in a store outside the cluster and survives its task's node;
    /// off: it lives in the task and dies with it.
    pub external_state: bool,
    /// Each record a batch carries counts as one message of the modelled system (a system that
    /// sends every record as its own message, batched only on the wire); off: a batch is one.
    pub tuple_messages: bool,
    /// The task serving each key group.
    pub route: Vec<u32>,
    /// Where tasks run.
    pub placement: Placement,
    /// Length of each partition's log.
    pub ends: Vec<u64>,
    /// Each partition's watermark at its end.
    pub end_wm: Vec<SimTime>,
    /// The input has ended.
    pub input_ended: bool,
    /// Rounds of bare watermarks on their way.
    pub(super) rounds: Rounds,
    /// A read's scratch space.
    grouping: RefCell<Grouping>,
}

impl Core {
    /// Every task of `sc`'s job placed round-robin over the workers.
    pub fn new(sc: &Scenario, read: ReadCfg, wm_interval: SimDuration) -> Core {
        let shape = Shape::of(sc);
        let placement = Placement::new(sc);
        let sem = Semantics::new(&sc.job, shape.partitions);
        let tasks = placement
            .round_robin(shape.parallelism)
            .into_iter()
            .map(|node| Stateful::new(node, sem.new_state(), shape.partitions))
            .collect();
        let sources = placement
            .round_robin(shape.partitions)
            .into_iter()
            .map(|node| Source {
                reader: SourceReader::new(node, 0),
                lost: false,
                inc: 0,
                sent_wm: vec![SimTime::ZERO; shape.parallelism as usize],
                wm_upto: u64::MAX,
                delivered: u64::MAX,
            })
            .collect();
        Core {
            route: (0..shape.parallelism).collect(),
            applied: Vec::new(),
            shape,
            read,
            wm_interval,
            sources,
            tasks,
            dedupe: true,
            external_state: false,
            tuple_messages: false,
            placement,
            ends: Vec::new(),
            end_wm: Vec::new(),
            input_ended: false,
            rounds: Rounds::default(),
            grouping: RefCell::new(Grouping::default()),
        }
    }

    /// Adds a stateful task on `node` that no key group routes to (a replica a policy feeds);
    /// returns its id.
    pub fn add_task(&mut self, node: NodeId, sem: &Semantics) -> u32 {
        self.tasks
            .push(Stateful::new(node, sem.new_state(), self.shape.partitions));
        for s in &mut self.sources {
            s.sent_wm.push(SimTime::ZERO);
        }
        self.tasks.len() as u32 - 1
    }

    /// Where a successor of the lost source `p` resumes at the latest without losing a record:
    /// the lost incarnation's batches still on the wire are delivered, but they are no longer
    /// counted in flight, so a batch or watermark of the successor claiming an `upto` past them
    /// could overtake them on its own channel, and the records they carry would then be dropped
    /// as applied. Below this offset every live task the lost source fed had received all it
    /// needs; it is where the source stopped unless batches were still on the wire when its loss
    /// was detected (a network that falls behind).
    pub fn delivered(&self, p: u32) -> u64 {
        let s = &self.sources[p as usize];
        s.delivered.min(s.reader.next)
    }

    /// Source `p` reads what its partition has (at most `limit` records), unless it is lost.
    pub fn poll<PM, T: From<CoreTag>>(&mut self, p: u32, limit: u64, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let s = &mut self.sources[p as usize];
        if !s.lost {
            s.reader.poll(p, &self.read, limit, cx);
        }
    }

    /// Source `p` read `from..to`: the batch each key group's task gets (non-empty ones), to be
    /// shipped with [`Core::ship`] and the read closed with [`Core::read_done`].
    pub fn read<PM, T>(&self, p: u32, from: u64, to: u64, cx: &mut Ctx<'_, Msg<PM>, T>) -> Vec<(u32, Batch)> {
        let part = PartitionId(p);
        let wm = cx.log.watermark_at(part, to.min(self.sources[p as usize].wm_upto));
        let (groups, kept) = self.grouping.borrow_mut().split(cx.sem, cx.log, part, from, to);
        cx.records(Flow::Read, to - from);
        cx.records(Flow::Filtered, to - from - kept as u64);
        groups
            .into_iter()
            .map(|(g, records)| {
                let batch = Batch {
                    part: p,
                    upto: to,
                    wm,
                    records,
                };
                (self.route[g as usize], batch)
            })
            .collect()
    }

    /// A copy of `records` in a buffer from the pool (a batch sent twice: a replica's copy).
    #[inline]
    pub fn copy_records(&self, records: &[Record]) -> Vec<Record> {
        let mut copy = buffer(&mut self.grouping.borrow_mut().pool, records.len());
        copy.extend_from_slice(records);
        copy
    }

    /// The record buffer of a batch that was applied goes back to the pool, emptied.
    #[inline]
    pub fn recycle(&self, mut records: Vec<Record>) {
        let pool = &mut self.grouping.borrow_mut().pool;
        if records.capacity() > 0 && records.capacity() <= POOL_RECORDS && pool.len() < POOL_BUFFERS {
            records.clear();
            pool.push(records);
        }
    }

    /// Source `p` sends `batch` to task `task`.
    #[inline]
    pub fn ship<PM, T>(&mut self, p: u32, task: u32, batch: Batch, cx: &mut Ctx<'_, Msg<PM>, T>) {
        if !self.tasks[task as usize].lost {
            self.sources[p as usize].sent_wm[task as usize] = batch.wm;
        }
        let from = self.sources[p as usize].reader.node;
        self.send(from, task, batch, false, cx);
    }

    /// Sends `batch` from `from` to task `task` (as fault-tolerance traffic if `ft`: a replay or
    /// a replica's copy); a batch for a lost task is dropped.
    #[inline]
    pub fn send<PM, T>(&mut self, from: NodeId, task: u32, batch: Batch, ft: bool, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let t = &mut self.tasks[task as usize];
        if t.lost {
            cx.records(Flow::Dropped(TO_LOST_TASK), batch.records.len() as u64);
            return;
        }
        t.in_flight.sent(batch.part);
        let bytes = self.shape.batch_bytes(batch.records.len());
        let count = if self.tuple_messages {
            batch.records.len().max(1) as u32
        } else {
            1
        };
        let inc = self.sources[batch.part as usize].inc;
        let msg = Msg::Batch { task, inc, batch };
        let traffic = if ft { Traffic::FaultTolerance } else { Traffic::Data };
        cx.send_many(from, t.node, bytes, msg, traffic, count);
    }

    /// Source `p`'s read up to `to` is shipped: it moves on, and at the end of its partition
    /// every task learns its final watermark.
    pub fn read_done<PM, T: From<CoreTag>>(&mut self, p: u32, to: u64, cx: &mut Ctx<'_, Msg<PM>, T>) {
        self.sources[p as usize].reader.read_done(to);
        cx.progress(PartitionId(p), to);
        if to == self.ends[p as usize] {
            self.broadcast(std::iter::once(p), cx);
        }
    }

    /// Every source sends its watermark to the tasks that have not heard it.
    pub fn send_watermarks<PM, T: From<CoreTag>>(&mut self, cx: &mut Ctx<'_, Msg<PM>, T>) {
        self.broadcast(0..self.sources.len() as u32, cx);
    }

    /// The length and final watermark of every partition (at the start of the run).
    pub fn learn_ends<PM, T>(&mut self, cx: &Ctx<'_, Msg<PM>, T>) {
        let parts = 0..cx.log.partitions();
        self.ends = parts.clone().map(|p| cx.log.len(PartitionId(p))).collect();
        self.end_wm = parts.map(|p| cx.log.watermark_at(PartitionId(p), u64::MAX)).collect();
    }

    /// Every source read its whole partition and, for windows, sent every task its final
    /// watermark; every task applied everything sent to it.
    ///
    /// The checks linear in tasks and partitions come first; the one over every (partition,
    /// task) pair runs only once they pass, so that while the run drains an event costs no work
    /// proportional to partitions × tasks.
    pub fn drained(&self) -> bool {
        self.sources
            .iter()
            .zip(&self.ends)
            .all(|(s, end)| s.reader.work.is_none() && !s.lost && s.reader.next == *end)
            && self.tasks.iter().all(Stateful::drained)
            && self
                .rounds
                .idle(|t| (self.tasks[t as usize].inc, self.tasks[t as usize].node))
            && (!self.shape.windowed
                || self
                    .sources
                    .iter()
                    .zip(&self.end_wm)
                    .all(|(s, end)| s.sent_wm.iter().all(|w| w >= end)))
    }
}

#[cfg(test)]
mod tests {
    use super::Grouping;
    use ftsim_sim::{PartitionId, Record, Semantics, SourceLog};
    use std::collections::BTreeMap;

    /// A filtered log of 2 partitions over 40 key groups, with its semantics.
    fn log() -> (SourceLog, Semantics) {
        let text = "[run]\nduration = \"2s\"\n[workload]\nrate = 20000\nkeys = 500\npartitions = 2\n\
                    [job]\nkind = \"window-count\"\nwindow = \"1s\"\nparallelism = 40\nfilter_keep = 0.8\n";
        let sc = crate::test_scenario(text);
        (SourceLog::generate(&sc), Semantics::new(&sc.job, 2))
    }

    #[test]
    fn a_read_splits_into_its_key_groups_in_ascending_order_each_in_log_order() {
        let (log, sem) = log();
        let reader = log.reader();
        let mut grouping = Grouping::default();
        let len = log.len(PartitionId(1));
        // Reads of 1 to 400 records: a few groups touched (sorted) or most of them (walked).
        let (mut from, mut size, mut few, mut most) = (0, 1, false, false);
        while from < len {
            let to = (from + size).min(len);
            let mut want: BTreeMap<u32, Vec<Record>> = BTreeMap::new();
            reader.each(PartitionId(1), from, to, |r| {
                if sem.keeps(r) {
                    want.entry(sem.task_of(u64::from(r.key))).or_default().push(*r);
                }
            });
            let (got, kept) = grouping.split(&sem, &reader, PartitionId(1), from, to);
            assert_eq!(kept, want.values().map(Vec::len).sum::<usize>());
            assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "read {from}..{to}");
            few |= got.len() * 8 < 40;
            most |= got.len() * 8 >= 40;
            assert!(grouping.slot.iter().all(|s| *s == 0) && grouping.touched.is_empty());
            assert!(grouping.bufs.is_empty());
            // The batches' buffers go back to the pool, emptied, and are reused.
            grouping.pool.extend(got.into_iter().map(|(_, mut b)| {
                b.clear();
                b
            }));
            from = to;
            size = size * 3 % 401;
        }
        assert!(few && most, "both ways of ordering the groups were exercised");
    }
}
