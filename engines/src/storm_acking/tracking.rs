//! What tracks the tuples between the spouts and the ackers: the ids travelling with the tuples
//! to each stateful task, and the acker tasks with their ledgers and input queues.
//!
//! Invariants:
//! - `InFlight` holds, per task and partition, the ids of every emission on its way to the task
//!   or queued there, in the order they were sent; it is emptied when the task is lost (its queue
//!   and what was on its way die with it). A channel delivers in order and the task applies every
//!   record it gets, so the ids of the record it applies are at the front of their queue;
//! - a lost acker's ledger and queue are gone, and its trees time out at their spouts.

use super::acker::{Acker, AckerIn};
use super::msg::{Rooted, StormTag, Target};
use super::policy::StormAcking;
use super::ring::Handle;
use super::transfer::Transfer;
use super::wire::{Done, Item, ToAcker};
use crate::pipeline::{Core, PCtx, Tag};
use ftsim_sim::rng::mix64;
use ftsim_sim::{NodeId, Record, SimDuration};
use rustc_hash::FxHashSet;
use std::collections::VecDeque;

/// The ids travelling with the tuples to each stateful task (in Storm they are in the tuple;
/// here the core's batches carry the records and this table their ids).
#[derive(Debug, Default)]
pub struct InFlight<T> {
    /// Per task, per partition: the offset of each record sent and its tuple's ids, in the order
    /// they were sent.
    per_task: Vec<Vec<VecDeque<(u32, T)>>>,
}

impl<T: Rooted> InFlight<T> {
    /// Empty, for `tasks` stateful tasks fed by `partitions` partitions.
    pub fn new(tasks: u32, partitions: u32) -> InFlight<T> {
        InFlight {
            per_task: (0..tasks)
                .map(|_| (0..partitions).map(|_| VecDeque::new()).collect())
                .collect(),
        }
    }
    /// Tuple `t` carrying record `r` was sent to `task`.
    pub fn sent(&mut self, task: u32, r: &Record, t: T) {
        self.per_task[task as usize][r.part as usize].push_back((r.offset, t));
    }
    /// Task `task` took record `r`: the ids of its oldest emission still on its way.
    pub fn take(&mut self, task: u32, r: &Record) -> Option<T> {
        let q = &mut self.per_task[task as usize][r.part as usize];
        if q.front().is_some_and(|(o, _)| *o == r.offset) {
            return q.pop_front().map(|(_, t)| t);
        }
        let i = q.iter().position(|(o, _)| *o == r.offset)?;
        q.remove(i).map(|(_, t)| t)
    }
    /// The trees with a tuple of partition `part` still on its way to, or queued at, a task for
    /// which `live` holds.
    pub fn roots(&self, part: u32, live: impl Fn(u32) -> bool) -> FxHashSet<u64> {
        let live_tasks = self.per_task.iter().enumerate().filter(|(t, _)| live(*t as u32));
        live_tasks
            .flat_map(|(_, parts)| parts[part as usize].iter().map(|(_, t)| t.root()))
            .collect()
    }
    /// Whether any tuple of tree `root` is still on its way to a task or queued there.
    pub fn holds_root(&self, root: u64) -> bool {
        self.per_task
            .iter()
            .flatten()
            .any(|q| q.iter().any(|(_, t)| t.root() == root))
    }
    /// Task `task` was lost: what was on its way or queued there is gone.
    pub fn lose(&mut self, task: u32) {
        for q in &mut self.per_task[task as usize] {
            q.clear();
        }
    }
}

/// The inits and acks that reached an acker and wait for the CPU to process them, in groups
/// (one per transmission received), in the order they arrived.
#[derive(Debug, Default)]
pub struct AckQueue {
    /// The next group's number.
    pub(super) next: u64,
    /// Each group's number (ascending) and the transmission that brought it: the acker's items
    /// among others (completions, already taken, or items for another acker), in order.
    pub(super) groups: VecDeque<(u64, Vec<Item>)>,
}

/// The acker tasks and their ledgers.
#[derive(Debug)]
pub struct Acking {
    /// Core task id of the first acker.
    pub first: u32,
    /// One ledger per acker.
    pub ledgers: Vec<Acker<Target>>,
    /// Per acker, the number its next tree gets ([`Handle::acker`]).
    pub numbers: Vec<u64>,
    /// One queue per acker: what it received and has not processed yet.
    pub queues: Vec<AckQueue>,
    /// CPU per ack-stream message on the acker's node.
    pub cost: SimDuration,
    /// The message timeout (rotation period of every pending map).
    pub timeout: SimDuration,
    /// The nodes' outboxes of ack-stream messages.
    pub transfer: Transfer,
}

impl Acking {
    /// Whether acker task `task` is one of them.
    pub fn is_acker(&self, task: u32) -> bool {
        task >= self.first && task < self.first + self.ledgers.len() as u32
    }
    /// The acker task of tree `root` (a hash of its id).
    pub fn acker_of(&self, root: u64) -> u32 {
        self.first + (mix64(root) % self.ledgers.len() as u64) as u32
    }
    /// Arms acker `task`'s rotation on its node.
    pub fn arm(&self, core: &Core, task: u32, cx: &mut PCtx<'_, StormAcking>) {
        let node = core.tasks[task as usize].node;
        cx.set_node_timer(node, self.timeout, Tag::Policy(StormTag::AckerTick(task)));
    }
    /// The acker task of a new tree `root` of a spout, whose number there is `seq`, and the
    /// tree's handle: the next number at that acker.
    #[inline]
    pub fn handle(&mut self, root: u64, seq: u64) -> (u32, Handle) {
        let acker = self.acker_of(root);
        let a = (acker - self.first) as usize;
        let n = self.numbers[a];
        self.numbers[a] += 1;
        (acker, Handle { acker: n, spout: seq })
    }
    /// Node `from` sends an init or ack to the acker of its tree, which has no handle.
    pub fn tell_acker(&mut self, from: NodeId, m: AckerIn<Target>, cx: &mut PCtx<'_, StormAcking>) {
        let (AckerIn::Init { root, .. } | AckerIn::Ack { root, .. }) = m;
        let acker = self.acker_of(root);
        self.tell(from, acker, m, Handle::NONE, cx);
    }
    /// Node `from` sends an init or ack to `acker`, the acker of its tree, whose handle is `h`.
    #[inline(always)]
    pub fn tell(&mut self, from: NodeId, acker: u32, m: AckerIn<Target>, h: Handle, cx: &mut PCtx<'_, StormAcking>) {
        self.transfer.push(from, ToAcker { acker, m, h }, cx);
    }
    /// Acker task `acker` processed its item group `group`: trees that completed are told to
    /// their spouts.
    pub(super) fn process(&mut self, core: &Core, acker: u32, group: u64, cx: &mut PCtx<'_, StormAcking>) {
        let from = core.tasks[acker as usize].node;
        let a = (acker - self.first) as usize;
        let q = &mut self.queues[a].groups;
        // Groups are processed in the order they were queued, but one may finish before an
        // earlier, longer one.
        let i = match q.front() {
            Some((g, _)) if *g == group => 0,
            _ => q.partition_point(|(g, _)| *g < group),
        };
        let Some((_, items)) = q.remove(i).filter(|(g, _)| *g == group) else {
            return;
        };
        let ledger = &mut self.ledgers[a];
        for item in &items {
            if let Some(m) = item.as_acker()
                && m.acker == acker
                && let Some(c) = ledger.take(m.m, m.h)
            {
                let done = Done {
                    to: c.spout,
                    root: c.root,
                    seq: c.seq,
                };
                self.transfer.push(from, done, cx);
            }
        }
        self.transfer.recycle(items);
    }
    /// Acker task `acker` was lost: its ledger and what it had not processed are gone.
    pub(super) fn lose(&mut self, acker: u32) {
        let a = (acker - self.first) as usize;
        self.ledgers[a].clear();
        self.queues[a].groups.clear();
    }
}
