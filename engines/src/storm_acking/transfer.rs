//! The ack stream's transfer batching, as Storm's workers do it: ack-stream messages (inits, acks,
//! completions) are not sent one transmission each but wait in their worker's outbox and leave
//! together per destination worker.
//!
//! In Storm 2 an executor's emits for other workers go to its worker's transfer queue in batches
//! of `topology.transfer.batch.size` (1 by default: each at once); with batches above 1, a *flush
//! tuple* every `topology.batch.flush.interval.millis` (1 ms by default; the performance guide
//! calls it `topology.flush.tuple.freq.millis`) pushes out what waits in unfilled batches; the
//! transfer thread drains the queue and groups what it took by destination worker
//! (`TransferDrainer`), and the Netty client writes each group as one batch of at most
//! `storm.messaging.netty.transfer.batch.size` bytes (256 KiB by default).
//!
//! Here every node keeps an outbox per destination node. The first item into a node's empty
//! outboxes arms a flush `flush_interval` later on the node's own clock (a node timer: a crash
//! loses what has not left, as a dead worker's queues are lost in Storm), which sends every
//! outbox of the node, as Storm's flush tuple flushes every batch of the worker. Each outbox leaves
//! as one transmission: a header plus [`ACK_BYTES`] per item, counted as as many messages as it
//! carries items. An outbox that reaches Netty's batch size leaves at once. An item goes to the
//! node its acker or spout runs on; one whose acker or spout is lost is not sent, and if tasks
//! were lost or placed again since it was put, it goes where its task runs at the flush (Storm
//! resolves a task's worker when it sends). At the receiving node each acker gets one work item
//! for all its items in the transmission (`ack_cost` per item) and each spout takes its
//! completions at once; an item whose task no longer runs there is dropped.
//!
//! Invariants: a node's outboxes are armed (a flush timer pending on the node) whenever they hold
//! items; they are emptied and disarmed when the node's failure is detected (its timer died with
//! it); items leave in the order they were put, per destination; while `moves` is unchanged
//! (no task lost or placed again) every item sits in, or travels to, the outbox of the node its
//! task runs on; a node's `waiting` names each destination whose outbox holds items, once.

use super::acker::AckerIn;
use super::msg::{StormMsg, StormTag, Target};
use super::policy::StormAcking;
use super::ring::Handle;
use crate::pipeline::{Core, HEADER_BYTES, Msg, PCtx, Scope, Tag};
use ftsim_sim::engine::Traffic;
use ftsim_sim::{NodeId, SimDuration};

/// Bytes of one ack-stream message: a tree id, a 64-bit value and a task id.
pub const ACK_BYTES: u64 = 20;

/// Storm's `storm.messaging.netty.transfer.batch.size` default: the most bytes the Netty client
/// writes as one batch.
pub const NETTY_BATCH_BYTES: u64 = 262_144;

/// Most emptied transmission buffers kept for reuse: about as many as are on the wire at once
/// on a large cluster (every node sends to many others every flush).
const SPARE_BUFFERS: usize = 16_384;

/// One ack-stream message on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// An init or ack for acker task `.0`, with its tree's handle.
    Acker(u32, AckerIn<Target>, Handle),
    /// Tree `.1` completed: for its spout (the spout tuple's number there `.2`) or coordinator.
    Done(Target, u64, u64),
}

/// Where every task an item can be for runs, `None` while it is lost: a copy of the core's
/// placement, taken again whenever tasks are lost or placed again.
#[derive(Debug, Default)]
pub struct Homes {
    /// By core task id.
    tasks: Vec<Option<NodeId>>,
    /// By partition (its spout).
    sources: Vec<Option<NodeId>>,
}

impl Homes {
    /// The placement of `core` now.
    fn of(core: &Core) -> Homes {
        Homes {
            tasks: core.tasks.iter().map(|t| (!t.lost).then_some(t.node)).collect(),
            sources: core
                .sources
                .iter()
                .map(|s| (!s.lost).then_some(s.reader.node))
                .collect(),
        }
    }

    /// Where the task `item` is for runs, or `None` if it is lost.
    #[inline]
    pub fn of_item(&self, item: &Item) -> Option<NodeId> {
        match item {
            Item::Acker(a, ..) => self.tasks[*a as usize],
            Item::Done(to, ..) => {
                let Scope::Source(p) = to.home() else { return None };
                self.sources[p as usize]
            }
        }
    }
}

/// One node's outboxes.
#[derive(Debug, Default)]
struct Outboxes {
    /// Per destination node, the items waiting, in the order they were put.
    to: Vec<Vec<Item>>,
    /// The destinations whose outbox holds items, each once (so that a flush costs work in the
    /// outboxes it sends, not in every node of the cluster).
    waiting: Vec<u32>,
    /// A flush is pending on the node.
    armed: bool,
    /// `Transfer::moves` when the oldest item waiting was put.
    moves: u64,
}

/// Every node's outboxes.
#[derive(Debug)]
pub struct Transfer {
    /// How long the first item into a node's empty outboxes waits for its flush.
    interval: SimDuration,
    /// Most items one transmission carries (Netty's batch size).
    max_items: usize,
    /// By sender node id.
    nodes: Vec<Outboxes>,
    /// How many times tasks were lost or placed again.
    moves: u64,
    /// Where the tasks run.
    pub homes: Homes,
    /// Emptied buffers of transmissions received, for the next ones to carry.
    spare: Vec<Vec<Item>>,
}

impl Transfer {
    /// Empty outboxes flushed `interval` after their first item.
    pub fn new(interval: SimDuration) -> Transfer {
        Transfer {
            interval,
            max_items: ((NETTY_BATCH_BYTES - HEADER_BYTES) / ACK_BYTES) as usize,
            nodes: Vec::new(),
            moves: 0,
            homes: Homes::default(),
            spare: Vec::new(),
        }
    }

    /// Tasks of `core` were lost or placed again (or placed for the first time): items may have
    /// to go elsewhere.
    pub fn moved(&mut self, core: &Core) {
        self.moves += 1;
        self.homes = Homes::of(core);
    }

    /// Whether tasks were lost or placed again since `moves`.
    pub fn moved_since(&self, moves: u64) -> bool {
        self.moves != moves
    }

    /// Node `from` sends `item` (not if its task is lost): into the outbox of its task's node,
    /// which leaves at once if it is full.
    #[inline(always)]
    pub fn push(&mut self, from: NodeId, item: Item, cx: &mut PCtx<'_, StormAcking>) {
        let Some(dest) = self.homes.of_item(&item) else { return };
        let (f, d) = (from.0 as usize, dest.0 as usize);
        // Most items join an armed node's outbox that has room.
        if let Some(out) = self.nodes.get_mut(f).filter(|o| o.armed)
            && let Some(v) = out.to.get_mut(d).filter(|v| v.len() + 1 < self.max_items)
        {
            if v.is_empty() {
                out.waiting.push(d as u32);
            }
            v.push(item);
            return;
        }
        self.push_slow(from, dest, item, cx);
    }

    /// [`Transfer::push`] into an empty or full outbox, or one not made yet.
    #[inline(never)]
    fn push_slow(&mut self, from: NodeId, dest: NodeId, item: Item, cx: &mut PCtx<'_, StormAcking>) {
        let (f, d) = (from.0 as usize, dest.0 as usize);
        if self.nodes.len() <= f {
            self.nodes.resize_with(f + 1, Outboxes::default);
        }
        let out = &mut self.nodes[f];
        if !out.armed {
            out.armed = true;
            out.moves = self.moves;
            cx.set_node_timer(from, self.interval, Tag::Policy(StormTag::Flush(from)));
        }
        if out.to.len() <= d {
            out.to.resize_with(d + 1, Vec::new);
        }
        if out.to[d].is_empty() {
            out.waiting.push(d as u32);
        }
        out.to[d].push(item);
        if out.to[d].len() >= self.max_items {
            self.send(from, Some(d), cx);
        }
    }

    /// The flush timer of `from` fired: every outbox of the node leaves.
    pub fn flush(&mut self, from: NodeId, cx: &mut PCtx<'_, StormAcking>) {
        if let Some(out) = self.nodes.get_mut(from.0 as usize) {
            out.armed = false;
            self.send(from, None, cx);
        }
    }

    /// The buffer of a transmission received, emptied, for another to carry.
    pub fn recycle(&mut self, mut items: Vec<Item>) {
        if self.spare.len() < SPARE_BUFFERS && items.capacity() > 0 {
            items.clear();
            self.spare.push(items);
        }
    }

    /// Node `node` failed: what waited in its outboxes is gone (its flush timer died with it).
    pub fn lose(&mut self, node: NodeId) {
        if let Some(out) = self.nodes.get_mut(node.0 as usize) {
            *out = Outboxes::default();
        }
    }

    /// Sends the outbox of `from` for node `only`, or every one, in the order of their node ids.
    fn send(&mut self, from: NodeId, only: Option<usize>, cx: &mut PCtx<'_, StormAcking>) {
        let moves = self.moves;
        let Transfer {
            nodes, spare, homes, ..
        } = self;
        let out = &mut nodes[from.0 as usize];
        if out.moves != moves {
            regroup(homes, &mut out.to);
            out.waiting = (0..out.to.len() as u32)
                .filter(|d| !out.to[*d as usize].is_empty())
                .collect();
        }
        out.moves = moves;
        let mut sending = std::mem::take(&mut out.waiting);
        match only {
            Some(d) => {
                // Only the full outbox leaves; the others keep waiting.
                out.waiting = sending.iter().copied().filter(|w| *w as usize != d).collect();
                sending.clear();
                sending.push(d as u32);
            }
            None => sending.sort_unstable(),
        }
        for &d in &sending {
            let d = d as usize;
            let items = &mut out.to[d];
            if items.is_empty() {
                continue;
            }
            let n = items.len() as u64;
            // The next flush to this node likely carries about as many: room for them.
            let mut next = spare.pop().unwrap_or_default();
            next.reserve(items.len());
            let items = std::mem::replace(items, next);
            let msg = Msg::Policy(StormMsg::Transfer { items, moves });
            cx.send_many(
                from,
                NodeId(d as u32),
                HEADER_BYTES + n * ACK_BYTES,
                msg,
                Traffic::FaultTolerance,
                n as u32,
            );
        }
        if only.is_none() {
            sending.clear();
            out.waiting = sending;
        }
    }
}

/// Puts every item of `to` in the outbox of the node its task runs on now (dropping those of lost
/// tasks), keeping the order of each outbox's items.
fn regroup(homes: &Homes, to: &mut Vec<Vec<Item>>) {
    let all: Vec<Vec<Item>> = std::mem::take(to);
    for item in all.into_iter().flatten() {
        let Some(dest) = homes.of_item(&item) else { continue };
        let d = dest.0 as usize;
        if to.len() <= d {
            to.resize_with(d + 1, Vec::new);
        }
        to[d].push(item);
    }
}
