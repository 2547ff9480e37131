//! The stateful tasks of the pipelined dataflow: each applies the batches it receives, one at a
//! time and in arrival order, to its operator state, and the failure handling of tasks and
//! sources (lost with their node, placed again).
//!
//! Invariants:
//! - a task applies one batch at a time, in arrival order, and not while held (`holds > 0`: a
//!   policy is restoring its state or copying it);
//! - `seen[p]` is the source offset of partition `p` up to which the task has applied everything
//!   it owns; a record below it that arrives again (a replay) is dropped, not applied twice, so a
//!   replay is precise as long as each channel delivers in order;
//! - a lost task holds nothing: its queue, state and `seen` are gone with its node (its state
//!   stays where it is only when it lives outside the cluster, `Core::external_state`);
//! - `held[p]` lists bare watermarks of partition `p` waiting for messages of its channel still on
//!   their way (each with how many must still arrive, non-decreasing along the list): each is
//!   queued as a bare batch right behind the arrival that brings its count to zero, so it is
//!   never applied ahead of an earlier message of its channel (see [`super::watermarks`]).

use super::dataflow::Core;
use super::reader::CoreTag;
use super::watermarks::{Mark, Taken, marks};
use super::{Batch, Msg};
use ftsim_sim::engine::{Ctx, Flow};
use ftsim_sim::{NodeId, OperatorState, Output, Record, Semantics, SimTime};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// Why the dataflow drops records (the run's ledger).
const LOST_WITH_NODE: &str = "queued at a task lost with its node";
pub(super) const TO_LOST_TASK: &str = "sent to a task lost with its node";
const ALREADY_APPLIED: &str = "already applied (a replay)";

/// What a stateful task's queue holds.
#[derive(Debug)]
pub enum Input {
    /// A batch (without records: a bare watermark).
    Batch(Batch),
    /// A round of bare watermarks: the marks of `from` not in `skip` (both ascending by
    /// partition), applied together.
    Tick {
        /// The round's marks, shared by every task it reaches.
        from: Rc<[Mark]>,
        /// Partitions of `from` this task does not take from this round.
        skip: Vec<u32>,
    },
}

impl Input {
    /// Records it carries.
    pub fn records(&self) -> usize {
        match self {
            Input::Batch(b) => b.records.len(),
            Input::Tick { .. } => 0,
        }
    }
}

/// A stateful task.
#[derive(Debug)]
pub struct Stateful {
    /// Where it runs.
    pub node: NodeId,
    /// Its operator state.
    pub state: OperatorState,
    /// Batches and rounds received and not yet applied, with their arrival time, in arrival
    /// order.
    pub queue: VecDeque<(SimTime, Input)>,
    /// Applying the head of the queue.
    pub busy: bool,
    /// Lost with its node and not placed again yet.
    pub lost: bool,
    /// Incarnation: bumped when the task is lost.
    pub inc: u32,
    /// Messages sent by each source and not yet received.
    pub in_flight: InFlight,
    /// Per partition, the offset below which everything this task owns is applied.
    pub seen: Vec<u64>,
    /// Per partition, the offset below which everything this task needs has reached it (queued
    /// or applied): the largest `upto` of the batches it received, or where a policy says its
    /// state will start (see [`Core::delivered`]).
    pub received: Vec<u64>,
    /// While above zero the task applies nothing.
    pub holds: u32,
    /// Per partition, bare watermarks waiting for that many more messages of their channel.
    pub held: BTreeMap<u32, VecDeque<(u32, Mark)>>,
}

impl Stateful {
    /// A task on `node` starting from `state`, reading `partitions` partitions.
    pub fn new(node: NodeId, state: OperatorState, partitions: u32) -> Stateful {
        Stateful {
            node,
            state,
            queue: VecDeque::new(),
            busy: false,
            lost: false,
            inc: 0,
            in_flight: InFlight::new(partitions),
            seen: vec![0; partitions as usize],
            received: vec![0; partitions as usize],
            holds: 0,
            held: BTreeMap::new(),
        }
    }

    /// A message of partition `part`'s channel arrived at `now` and was queued: the bare
    /// watermarks that waited for it are queued behind it.
    fn release(&mut self, part: u32, now: SimTime) {
        let Some(q) = self.held.get_mut(&part) else { return };
        for (left, _) in q.iter_mut() {
            *left -= 1;
        }
        while let Some((0, m)) = q.front() {
            self.queue.push_back((now, Input::Batch(m.batch())));
            q.pop_front();
        }
        if q.is_empty() {
            self.held.remove(&part);
        }
    }

    /// Nothing queued, in flight or being applied.
    pub fn drained(&self) -> bool {
        !self.busy && self.queue.is_empty() && self.in_flight.is_empty()
    }
}

/// Messages each source sent a task that the task has not received, and their total (so that
/// whether any is on its way is one comparison).
#[derive(Debug, Clone)]
pub struct InFlight {
    per: Vec<u32>,
    total: u64,
}

impl InFlight {
    /// None, for `partitions` sources.
    pub fn new(partitions: u32) -> InFlight {
        InFlight {
            per: vec![0; partitions as usize],
            total: 0,
        }
    }
    /// Source `p` sent one.
    pub fn sent(&mut self, p: u32) {
        self.per[p as usize] += 1;
        self.total += 1;
    }
    /// One from source `p` arrived (nothing if none was counted: it was forgotten); returns
    /// whether it was counted.
    pub fn arrived(&mut self, p: u32) -> bool {
        let c = &mut self.per[p as usize];
        if *c > 0 {
            *c -= 1;
            self.total -= 1;
            true
        } else {
            false
        }
    }
    /// How many from source `p` are on their way.
    pub fn of(&self, p: u32) -> u32 {
        self.per[p as usize]
    }
    /// What source `p` sent is no longer expected.
    pub fn forget(&mut self, p: u32) {
        self.total -= u64::from(std::mem::take(&mut self.per[p as usize]));
    }
    /// Nothing is on its way.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
    /// How many sources it counts for.
    pub fn sources(&self) -> usize {
        self.per.len()
    }
}

/// Applies `batch` to `state` (records, then the batch's watermark) and returns what it emits.
pub fn apply_batch(
    state: &mut OperatorState,
    sem: &Semantics,
    part: u32,
    records: &[Record],
    wm: SimTime,
) -> Vec<Output> {
    let mut out = Vec::new();
    state.apply_all(sem, records, &mut out);
    state.advance(sem, part, wm, &mut out);
    out
}

impl Core {
    /// A batch sent by incarnation `inc` of its source reached task `i`.
    pub fn receive<PM, T: From<CoreTag>>(&mut self, i: u32, inc: u32, batch: Batch, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let t = &mut self.tasks[i as usize];
        if t.lost {
            cx.records(Flow::Dropped(TO_LOST_TASK), batch.records.len() as u64);
            return;
        }
        let part = batch.part;
        let got = &mut t.received[part as usize];
        *got = (*got).max(batch.upto);
        // A lost incarnation's batch is not one its successor counts (nor do bare watermarks
        // the successor sent wait for it).
        let counted = self.sources[part as usize].inc == inc && t.in_flight.arrived(part);
        t.queue.push_back((cx.now(), Input::Batch(batch)));
        if counted && !t.held.is_empty() {
            t.release(part, cx.now());
        }
        self.start_task(i, cx);
    }

    /// Task `i` starts applying the head of its queue, if it is idle and not held. A head
    /// without records (a bare watermark) needs no CPU: it is applied at once, and the next one
    /// looked at; the policy hears of it through [`Core::take_applied`].
    pub fn start_task<PM, T: From<CoreTag>>(&mut self, i: u32, cx: &mut Ctx<'_, Msg<PM>, T>) {
        loop {
            let t = &mut self.tasks[i as usize];
            if t.busy || t.lost || t.holds > 0 {
                return;
            }
            let Some((_, b)) = t.queue.front() else { return };
            t.busy = true;
            let records = b.records();
            if records > 0 {
                let work = self.shape.state_cost.mul(records as u64);
                cx.compute(t.node, work, CoreTag::Apply { task: i }.into());
                return;
            }
            if let Some((batch, out)) = self.finish_task(i, cx) {
                self.applied.push((i, batch, out));
            }
        }
    }

    /// The bare batches applied at once since the last call, in order, with what they emitted.
    pub fn take_applied(&mut self) -> Vec<(u32, Batch, Vec<Output>)> {
        std::mem::take(&mut self.applied)
    }

    /// Task `i` finished the CPU work of its head batch: the batch's records it has not applied
    /// before are applied to its state. Returns the batch and what it emits (for a round, a bare
    /// batch of no partition, `part` `u32::MAX`, with the task's new watermark).
    pub fn finish_task<PM, T>(&mut self, i: u32, cx: &mut Ctx<'_, Msg<PM>, T>) -> Option<(Batch, Vec<Output>)> {
        let t = &mut self.tasks[i as usize];
        t.busy = false;
        let mut b = match t.queue.pop_front()? {
            (_, Input::Batch(b)) => b,
            (_, Input::Tick { from, skip }) => {
                let mut out = Vec::new();
                for m in marks(&from, &skip) {
                    let s = &mut t.seen[m.part as usize];
                    *s = (*s).max(m.upto);
                }
                let taken = Taken::new(&from, &skip).map(|(m, taken)| (m.part, taken.then_some(m.wm)));
                t.state.advance_every(cx.sem, taken, &mut out);
                let batch = Batch {
                    part: u32::MAX,
                    upto: 0,
                    wm: t.state.watermark(),
                    records: Vec::new(),
                };
                return Some((batch, out));
            }
        };
        let seen = &mut t.seen[b.part as usize];
        // A batch's records are in log order: if its first is new, all are.
        debug_assert!(b.records.windows(2).all(|w| w[0].offset < w[1].offset));
        if self.dedupe && b.records.first().is_some_and(|r| u64::from(r.offset) < *seen) {
            let before = b.records.len();
            b.records.retain(|r| u64::from(r.offset) >= *seen);
            cx.records(Flow::Dropped(ALREADY_APPLIED), (before - b.records.len()) as u64);
        }
        *seen = (*seen).max(b.upto);
        let out = apply_batch(&mut t.state, cx.sem, b.part, &b.records, b.wm);
        cx.records(Flow::Applied, b.records.len() as u64);
        Some((b, out))
    }

    /// Rebuilds task `i` from the durable source log itself, the backup of last resort (its state
    /// was lost with every copy of it), or fills the gap between a copied state and what the
    /// sources began sending it: every record of its key group `group` that the sources have
    /// read past its `seen` goes into its queue, partition by partition, ahead of anything queued
    /// (behind the batch being applied, if any) and of anything that arrives later. What was
    /// queued or arrives later below the new `seen` is then dropped as already applied, so a task
    /// may be scanned while input for it is queued or on its way. Returns the records queued.
    pub fn scan<PM, T: From<CoreTag>>(&mut self, i: u32, group: u32, cx: &mut Ctx<'_, Msg<PM>, T>) -> u64 {
        let mut queued = 0;
        // Ahead of what is queued, behind the head if it is being applied.
        let ahead = usize::from(self.tasks[i as usize].busy);
        for (p, s) in self.sources.iter().enumerate() {
            let part = p as u32;
            let from = self.tasks[i as usize].seen[p];
            let to = s.reader.next.max(from);
            let records: Vec<Record> = cx
                .log
                .slice(ftsim_sim::PartitionId(part), from, to)
                .iter()
                .filter(|r| cx.sem.keeps(r) && cx.sem.task_of(u64::from(r.key)) == group)
                .copied()
                .collect();
            queued += records.len() as u64;
            cx.records(Flow::Read, records.len() as u64);
            let got = &mut self.tasks[i as usize].received[p];
            *got = (*got).max(to);
            let batch = Batch {
                part,
                upto: to,
                wm: cx.log.watermark_at(ftsim_sim::PartitionId(part), to),
                records,
            };
            self.tasks[i as usize]
                .queue
                .insert(ahead + p, (cx.now(), Input::Batch(batch)));
        }
        self.start_task(i, cx);
        queued
    }

    /// Task `i` applies nothing until released (a policy restores or copies its state).
    pub fn hold(&mut self, i: u32) {
        self.tasks[i as usize].holds += 1;
    }

    /// Releases one hold of task `i`; it goes on once none is left.
    pub fn release<PM, T: From<CoreTag>>(&mut self, i: u32, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let t = &mut self.tasks[i as usize];
        t.holds = t.holds.saturating_sub(1);
        self.start_task(i, cx);
    }

    /// Marks every task on `node` lost (state, queue and `seen` gone, incarnation bumped);
    /// returns whether the node ran any.
    pub fn lose<PM, T>(&mut self, node: NodeId, cx: &mut Ctx<'_, Msg<PM>, T>) -> bool {
        let mut lost_any = false;
        for (p, s) in self
            .sources
            .iter_mut()
            .enumerate()
            .filter(|(_, s)| s.reader.node == node)
        {
            // What the incarnation left on the wire still arrives, but nothing counts it: where
            // a successor may resume without overtaking it.
            s.delivered = self
                .tasks
                .iter()
                .filter(|t| !t.lost && t.node != node && t.in_flight.of(p as u32) > 0)
                .map(|t| t.received[p])
                .fold(s.reader.next, u64::min);
            // Nothing it sent is counted in flight any more: what it left on the wire still
            // arrives, under its old incarnation, and was counted towards `delivered`.
            for t in &mut self.tasks {
                t.in_flight.forget(p as u32);
                if !t.held.is_empty() {
                    t.held.remove(&(p as u32));
                }
            }
            s.lost = true;
            s.reader.stop();
            s.inc += 1;
            lost_any = true;
        }
        let partitions = self.shape.partitions;
        let external = self.external_state;
        for t in self.tasks.iter_mut().filter(|t| t.node == node) {
            let inc = t.inc + 1;
            let queued: usize = t.queue.drain(..).map(|(_, b)| b.records()).sum();
            cx.records(Flow::Dropped(LOST_WITH_NODE), queued as u64);
            let state = if external {
                std::mem::replace(&mut t.state, cx.sem.new_state())
            } else {
                cx.sem.new_state()
            };
            *t = Stateful {
                lost: true,
                inc,
                ..Stateful::new(node, state, partitions)
            };
            lost_any = true;
        }
        self.placement.lose(node);
        lost_any
    }

    /// Places the lost tasks of `failed` on `spare` or the survivors. Returns the partitions of
    /// the sources and the ids of the tasks that moved (the caller restarts them), or `None` if
    /// there is nowhere to go.
    pub fn place(&mut self, failed: NodeId, spare: Option<NodeId>) -> Option<(Vec<u32>, Vec<u32>)> {
        let sources: Vec<u32> = (0..self.sources.len() as u32)
            .filter(|p| self.sources[*p as usize].lost && self.sources[*p as usize].reader.node == failed)
            .collect();
        let tasks: Vec<u32> = (0..self.tasks.len() as u32)
            .filter(|i| self.tasks[*i as usize].lost && self.tasks[*i as usize].node == failed)
            .collect();
        let homes = self
            .sources
            .iter_mut()
            .filter(|s| s.lost)
            .map(|s| &mut s.reader.node)
            .chain(self.tasks.iter_mut().filter(|t| t.lost).map(|t| &mut t.node));
        if !self.placement.relocate(failed, spare, homes) {
            return None;
        }
        for p in &sources {
            let s = &mut self.sources[*p as usize];
            s.lost = false;
            // Watermarks it sent while its node was dead but not yet known to be never arrived:
            // it sends every task its watermark again.
            s.sent_wm.fill(SimTime::ZERO);
        }
        for &i in &tasks {
            self.tasks[i as usize].lost = false;
            // The task starts over: it must hear every partition's watermark again.
            for s in &mut self.sources {
                s.sent_wm[i as usize] = SimTime::ZERO;
            }
        }
        Some((sources, tasks))
    }
}
