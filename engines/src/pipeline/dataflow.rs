//! The record-at-a-time dataflow itself: source tasks that read, run the stateless chain and ship
//! each batch's records by key to the stateful tasks (one message per task per batch), stateful
//! tasks that apply their queue in arrival order, and the watermarks that let windows fire.
//!
//! Invariants:
//! - a stateful task applies one batch at a time, in arrival order, and emits what it produces;
//! - a task or source marked `lost` does nothing until it is placed again; `in_flight[p]` counts
//!   messages source `p` sent to a task and the task has not received, and is zeroed when either
//!   side is lost (those messages died with the node or will be dropped);
//! - `sent_wm[i]` is the last watermark source `p` sent to task `i`: a task learns a partition's
//!   watermark with the records that move it, or, for windows, by a bare watermark message at
//!   the end of the partition, every `watermark_interval` and when the input ends.

use super::reader::{CoreTag, ReadCfg, SourceReader};
use super::{Batch, Msg, Placement, Shape};
use ftsim_sim::engine::{Ctx, Flow};
use ftsim_sim::{NodeId, OperatorState, Output, PartitionId, Record, Scenario, Semantics, SimDuration, SimTime};
use std::collections::VecDeque;

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
}

/// A stateful task.
#[derive(Debug)]
pub struct Stateful {
    /// Where it runs.
    pub node: NodeId,
    /// Its operator state.
    pub state: OperatorState,
    /// Batches received and not yet applied, in arrival order.
    pub queue: VecDeque<Batch>,
    /// Applying the head of the queue.
    pub busy: bool,
    /// Lost with its node and not placed again yet.
    pub lost: bool,
    /// Incarnation: bumped when the task is lost.
    pub inc: u32,
    /// Messages sent by each source and not yet received.
    pub in_flight: Vec<u32>,
}

/// Why the dataflow drops records (the run's ledger).
const LOST_WITH_NODE: &str = "queued at a task lost with its node";
const TO_LOST_TASK: &str = "sent to a task lost with its node";

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

/// Splits `records` (filter applied) into one list per stateful task, keeping log order.
fn by_task(sem: &Semantics, records: &[Record]) -> Vec<Vec<Record>> {
    let mut out: Vec<Vec<Record>> = (0..sem.parallelism).map(|_| Vec::new()).collect();
    for r in records.iter().filter(|r| sem.keeps(r)) {
        out[sem.task_of(u64::from(r.key)) as usize].push(*r);
    }
    out
}

/// The dataflow's state: every task, where it runs, and how far each partition is read.
#[derive(Debug)]
pub struct Core {
    /// Costs and sizes.
    pub shape: Shape,
    /// How sources read.
    pub read: ReadCfg,
    /// How often sources send bare watermarks.
    pub wm_interval: SimDuration,
    /// Source tasks, by partition.
    pub sources: Vec<Source>,
    /// Stateful tasks.
    pub tasks: Vec<Stateful>,
    /// Where tasks run.
    pub placement: Placement,
    /// Length of each partition's log.
    pub ends: Vec<u64>,
    /// The input has ended.
    pub input_ended: bool,
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
            .map(|node| Stateful {
                node,
                state: sem.new_state(),
                queue: VecDeque::new(),
                busy: false,
                lost: false,
                inc: 0,
                in_flight: vec![0; shape.partitions as usize],
            })
            .collect();
        let sources = placement
            .round_robin(shape.partitions)
            .into_iter()
            .map(|node| Source {
                reader: SourceReader::new(node, 0),
                lost: false,
                inc: 0,
                sent_wm: vec![SimTime::ZERO; shape.parallelism as usize],
            })
            .collect();
        Core {
            shape,
            read,
            wm_interval,
            sources,
            tasks,
            placement,
            ends: Vec::new(),
            input_ended: false,
        }
    }

    /// Source `p` reads what its partition has, unless it is lost.
    pub fn poll<PM, T: From<CoreTag>>(&mut self, p: u32, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let s = &mut self.sources[p as usize];
        if !s.lost {
            s.reader.poll(p, &self.read, cx);
        }
    }

    /// Source `p` read `from..to`: one message per stateful task that owns some of the records,
    /// carrying them and the partition's watermark after them.
    pub fn ship<PM, T>(&mut self, p: u32, from: u64, to: u64, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let part = PartitionId(p);
        let wm = cx.log.watermark_at(part, to);
        let groups = by_task(cx.sem, cx.log.slice(part, from, to));
        let kept: usize = groups.iter().map(Vec::len).sum();
        cx.records(Flow::Read, to - from);
        cx.records(Flow::Filtered, to - from - kept as u64);
        let node = self.sources[p as usize].reader.node;
        for (i, records) in groups.into_iter().enumerate() {
            let task = &mut self.tasks[i];
            if task.lost {
                cx.records(Flow::Dropped(TO_LOST_TASK), records.len() as u64);
                continue;
            }
            if records.is_empty() {
                continue;
            }
            task.in_flight[p as usize] += 1;
            self.sources[p as usize].sent_wm[i] = wm;
            let bytes = self.shape.batch_bytes(records.len());
            let batch = Batch { part: p, wm, records };
            cx.send(node, task.node, bytes, Msg::Batch { task: i as u32, batch });
        }
        self.sources[p as usize].reader.read_done(to);
        cx.progress(part, to);
        if to == self.ends[p as usize] {
            // End of the partition: every task must learn its final watermark.
            self.send_watermark(p, cx);
        }
    }

    /// Every source sends its watermark to the tasks that have not heard it.
    pub fn send_watermarks<PM, T>(&mut self, cx: &mut Ctx<'_, Msg<PM>, T>) {
        for p in 0..self.sources.len() as u32 {
            self.send_watermark(p, cx);
        }
    }

    /// Source `p` sends its watermark to every stateful task that has not heard it (windows only).
    fn send_watermark<PM, T>(&mut self, p: u32, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let s = &mut self.sources[p as usize];
        if s.lost || !self.shape.windowed {
            return;
        }
        let wm = cx.log.watermark_at(PartitionId(p), s.reader.next);
        for (i, task) in self.tasks.iter_mut().enumerate() {
            if task.lost || s.sent_wm[i] >= wm {
                continue;
            }
            s.sent_wm[i] = wm;
            task.in_flight[p as usize] += 1;
            let batch = Batch {
                part: p,
                wm,
                records: Vec::new(),
            };
            cx.send(
                s.reader.node,
                task.node,
                self.shape.batch_bytes(0),
                Msg::Batch { task: i as u32, batch },
            );
        }
    }

    /// A batch reached task `i`.
    pub fn receive<PM, T: From<CoreTag>>(&mut self, i: u32, batch: Batch, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let t = &mut self.tasks[i as usize];
        if t.lost {
            cx.records(Flow::Dropped(TO_LOST_TASK), batch.records.len() as u64);
            return;
        }
        t.in_flight[batch.part as usize] = t.in_flight[batch.part as usize].saturating_sub(1);
        t.queue.push_back(batch);
        self.start_task(i, cx);
    }

    /// Task `i` starts applying the head of its queue, if it is idle.
    pub fn start_task<PM, T: From<CoreTag>>(&mut self, i: u32, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let t = &mut self.tasks[i as usize];
        if t.busy || t.lost {
            return;
        }
        if let Some(b) = t.queue.front() {
            t.busy = true;
            let work = self.shape.state_cost.mul(b.records.len() as u64);
            cx.compute(t.node, work, CoreTag::Apply { task: i }.into());
        }
    }

    /// Task `i` finished the CPU work of its head batch: the batch is applied to its state.
    /// Returns the batch and what it emits.
    pub fn finish_task<PM, T>(&mut self, i: u32, cx: &mut Ctx<'_, Msg<PM>, T>) -> Option<(Batch, Vec<Output>)> {
        let t = &mut self.tasks[i as usize];
        t.busy = false;
        let b = t.queue.pop_front()?;
        let out = apply_batch(&mut t.state, cx.sem, b.part, &b.records, b.wm);
        cx.records(Flow::Applied, b.records.len() as u64);
        Some((b, out))
    }

    /// Marks every task on `node` lost (state and queue gone, incarnation bumped); returns
    /// whether the node ran any.
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
                t.in_flight[p] = 0;
            }
            s.lost = true;
            s.reader.stop();
            s.inc += 1;
            lost_any = true;
        }
        for t in self.tasks.iter_mut().filter(|t| t.node == node) {
            t.lost = true;
            t.busy = false;
            t.inc += 1;
            t.in_flight.iter_mut().for_each(|c| *c = 0);
            let queued: usize = t.queue.drain(..).map(|b| b.records.len()).sum();
            cx.records(Flow::Dropped(LOST_WITH_NODE), queued as u64);
            t.state = cx.sem.new_state();
            lost_any = true;
        }
        self.placement.lose(node);
        lost_any
    }

    /// Places the lost tasks of `failed` on `spare` or the survivors. Returns the partitions of
    /// the sources that moved (to be restarted by the caller), or `None` if there is nowhere to
    /// go.
    pub fn place(&mut self, failed: NodeId, spare: Option<NodeId>) -> Option<Vec<u32>> {
        let sources: Vec<u32> = (0..self.sources.len() as u32)
            .filter(|p| self.sources[*p as usize].lost && self.sources[*p as usize].reader.node == failed)
            .collect();
        let tasks: Vec<usize> = (0..self.tasks.len())
            .filter(|i| self.tasks[*i].lost && self.tasks[*i].node == failed)
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
            self.sources[*p as usize].lost = false;
        }
        for i in tasks {
            self.tasks[i].lost = false;
        }
        Some(sources)
    }

    /// Every source read its whole partition and every task applied everything sent to it.
    pub fn drained(&self) -> bool {
        self.sources
            .iter()
            .zip(&self.ends)
            .all(|(s, end)| s.reader.work.is_none() && !s.lost && s.reader.next == *end)
            && self
                .tasks
                .iter()
                .all(|t| !t.busy && t.queue.is_empty() && t.in_flight.iter().all(|c| *c == 0))
    }
}
