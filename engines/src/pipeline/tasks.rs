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
//!   stays where it is only when it lives outside the cluster, `Core::external_state`).

use super::dataflow::Core;
use super::reader::CoreTag;
use super::{Batch, Msg};
use ftsim_sim::engine::{Ctx, Flow};
use ftsim_sim::{NodeId, OperatorState, Output, Record, Semantics, SimTime};
use std::collections::VecDeque;

/// Why the dataflow drops records (the run's ledger).
const LOST_WITH_NODE: &str = "queued at a task lost with its node";
pub(super) const TO_LOST_TASK: &str = "sent to a task lost with its node";
const ALREADY_APPLIED: &str = "already applied (a replay)";

/// A stateful task.
#[derive(Debug)]
pub struct Stateful {
    /// Where it runs.
    pub node: NodeId,
    /// Its operator state.
    pub state: OperatorState,
    /// Batches received and not yet applied, with their arrival time, in arrival order.
    pub queue: VecDeque<(SimTime, Batch)>,
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
    /// While above zero the task applies nothing.
    pub holds: u32,
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
            holds: 0,
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
    /// One from source `p` arrived (nothing if none was counted: it was forgotten).
    pub fn arrived(&mut self, p: u32) {
        let c = &mut self.per[p as usize];
        if *c > 0 {
            *c -= 1;
            self.total -= 1;
        }
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
    for r in records {
        state.apply(sem, r, &mut out);
    }
    state.advance(sem, part, wm, &mut out);
    out
}

impl Core {
    /// A batch reached task `i`.
    pub fn receive<PM, T: From<CoreTag>>(&mut self, i: u32, batch: Batch, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let t = &mut self.tasks[i as usize];
        if t.lost {
            cx.records(Flow::Dropped(TO_LOST_TASK), batch.records.len() as u64);
            return;
        }
        t.in_flight.arrived(batch.part);
        t.queue.push_back((cx.now(), batch));
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
            if !b.records.is_empty() {
                let work = self.shape.state_cost.mul(b.records.len() as u64);
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
    /// before are applied to its state. Returns the batch and what it emits.
    pub fn finish_task<PM, T>(&mut self, i: u32, cx: &mut Ctx<'_, Msg<PM>, T>) -> Option<(Batch, Vec<Output>)> {
        let t = &mut self.tasks[i as usize];
        t.busy = false;
        let (_, mut b) = t.queue.pop_front()?;
        let seen = &mut t.seen[b.part as usize];
        if self.dedupe {
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
            let batch = Batch {
                part,
                upto: to,
                wm: cx.log.watermark_at(ftsim_sim::PartitionId(part), to),
                records,
            };
            self.tasks[i as usize].queue.insert(ahead + p, (cx.now(), batch));
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
            // Whatever this source had in flight died with it or was never sent.
            for t in &mut self.tasks {
                t.in_flight.forget(p as u32);
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
            let queued: usize = t.queue.drain(..).map(|(_, b)| b.records.len()).sum();
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
