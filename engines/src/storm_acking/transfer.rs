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
//! it); items leave in the order they were put, per destination and kind (inits and acks, or
//! completions); while `moves` is unchanged
//! (no task lost or placed again) every item sits in, or travels to, the outbox of the node its
//! task runs on; a node's `waiting` names each destination whose outbox holds items, once.

use super::msg::{StormMsg, StormTag, Target};
use super::policy::StormAcking;
use super::wire::{Done, Item, ToAcker};
use crate::pipeline::{Core, HEADER_BYTES, Msg, PCtx, Scope, Tag};
use ftsim_sim::engine::Traffic;
use ftsim_sim::{NodeId, SimDuration};

/// Bytes of one ack-stream message: a tree id, a 64-bit value and a task id.
pub const ACK_BYTES: u64 = 20;

/// Storm's `storm.messaging.netty.transfer.batch.size` default: the most bytes the Netty client
/// writes as one batch.
pub const NETTY_BATCH_BYTES: u64 = 262_144;

/// The messages waiting in one outbox, by kind, each kind in the order they were put. The
/// receiving node queues the inits and acks for its ackers and hands the completions over at
/// once, so the order between the two kinds decides nothing: a transmission carries the inits
/// and acks first, then the completions, so that each pass reads only the kind it handles.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    /// Inits and acks.
    acks: Vec<Item>,
    /// Completions.
    done: Vec<Item>,
}

impl Outbox {
    /// Messages held.
    fn len(&self) -> usize {
        self.acks.len() + self.done.len()
    }
    /// Whether none is.
    fn is_empty(&self) -> bool {
        self.acks.is_empty() && self.done.is_empty()
    }
}

/// A kind of ack-stream message: where it goes and where an outbox keeps it.
pub(super) trait Kind: Copy {
    /// The node its task runs on, or `None` if it is lost.
    fn home(&self, homes: &Homes) -> Option<NodeId>;
    /// Puts it in `o`.
    fn put(self, o: &mut Outbox);
}

impl Kind for ToAcker {
    #[inline(always)]
    fn home(&self, homes: &Homes) -> Option<NodeId> {
        homes.of_task(self.acker)
    }
    #[inline(always)]
    fn put(self, o: &mut Outbox) {
        o.acks.push(Item::acker(self));
    }
}

impl Kind for Done {
    #[inline(always)]
    fn home(&self, homes: &Homes) -> Option<NodeId> {
        homes.of_target(self.to)
    }
    #[inline(always)]
    fn put(self, o: &mut Outbox) {
        o.done.push(Item::done(self));
    }
}

/// Where every task an item can be for runs, `None` while it is lost: a copy of the core's
/// placement, taken again whenever tasks are lost or placed again.
#[derive(Debug, Default)]
pub struct Homes {
    /// By core task id.
    tasks: Vec<Option<NodeId>>,
    /// By partition (its spout).
    sources: Vec<Option<NodeId>>,
    /// By node id: the one acker task running there, if exactly one does.
    sole_acker: Vec<Option<u32>>,
    /// By node id: the one spout running there, if exactly one does.
    sole_spout: Vec<Option<u32>>,
}

impl Homes {
    /// The placement of `core` now, whose acker tasks are `first ..`.
    fn of(core: &Core, first: u32) -> Homes {
        let tasks: Vec<Option<NodeId>> = core.tasks.iter().map(|t| (!t.lost).then_some(t.node)).collect();
        let sources: Vec<Option<NodeId>> = core
            .sources
            .iter()
            .map(|s| (!s.lost).then_some(s.reader.node))
            .collect();
        let ackers = tasks.iter().enumerate().skip(first as usize);
        Homes {
            sole_acker: sole(ackers.filter_map(|(a, n)| Some((*n.as_ref()?, a as u32)))),
            sole_spout: sole(
                sources
                    .iter()
                    .enumerate()
                    .filter_map(|(p, n)| Some((*n.as_ref()?, p as u32))),
            ),
            tasks,
            sources,
        }
    }

    /// The one acker task running on `node`, if exactly one does.
    #[inline]
    pub fn sole_acker(&self, node: NodeId) -> Option<u32> {
        self.sole_acker.get(node.0 as usize).copied().flatten()
    }

    /// The one spout running on `node`, if exactly one does.
    #[inline]
    pub fn sole_spout(&self, node: NodeId) -> Option<u32> {
        self.sole_spout.get(node.0 as usize).copied().flatten()
    }

    /// Where task `task` runs, or `None` if it is lost.
    #[inline]
    pub fn of_task(&self, task: u32) -> Option<NodeId> {
        self.tasks[task as usize]
    }

    /// Where the spout (or coordinator) `to` runs, or `None` if it is lost.
    #[inline]
    pub fn of_target(&self, to: Target) -> Option<NodeId> {
        let Scope::Source(p) = to.home() else { return None };
        self.sources[p as usize]
    }

    /// Where the task `item` is for runs, or `None` if it is lost.
    #[inline]
    pub fn of_item(&self, item: &Item) -> Option<NodeId> {
        match item.acker_task() {
            Some(a) => self.of_task(a),
            None => item.as_done().and_then(|d| d.home(self)),
        }
    }
}

/// One node's outboxes.
#[derive(Debug, Default)]
struct Outboxes {
    /// Per destination node, the messages waiting.
    to: Vec<Outbox>,
    /// The destinations whose outbox holds items, each once (so that a flush costs work in the
    /// outboxes it sends, not in every node of the cluster).
    waiting: Vec<u32>,
    /// A flush is pending on the node.
    armed: bool,
    /// `Transfer::moves` when the oldest item waiting was put.
    moves: u32,
}

impl Outboxes {
    /// Puts `item` in the (existing) outbox for node `d`, noting it waiting if it was empty;
    /// returns how many messages that outbox holds.
    #[inline(always)]
    fn put<K: Kind>(&mut self, d: usize, item: K) -> usize {
        let o = &mut self.to[d];
        if o.is_empty() {
            self.waiting.push(d as u32);
        }
        item.put(o);
        o.len()
    }
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
    moves: u32,
    /// Where the tasks run.
    pub homes: Homes,
    /// Emptied buffers of transmissions received, for the next ones to carry.
    spare: Vec<Vec<Item>>,
}

/// How many emptied buffers [`Transfer`] keeps: about as many as are on the wire at once on a
/// large cluster, where every node sends to many others every flush.
const SPARE: usize = 1 << 14;

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

    /// Tasks of `core` (whose acker tasks are `first ..`) were lost or placed again (or placed
    /// for the first time): items may have to go elsewhere.
    pub fn moved(&mut self, core: &Core, first: u32) {
        self.moves += 1;
        self.homes = Homes::of(core, first);
    }

    /// Whether tasks were lost or placed again since `moves`.
    pub fn moved_since(&self, moves: u32) -> bool {
        self.moves != moves
    }

    /// Node `from` sends `item` (not if its task is lost): into the outbox of its task's node,
    /// which leaves at once if it is full.
    #[inline(always)]
    pub(super) fn push<K: Kind>(&mut self, from: NodeId, item: K, cx: &mut PCtx<'_, StormAcking>) {
        let Some(dest) = item.home(&self.homes) else { return };
        let (f, d) = (from.0 as usize, dest.0 as usize);
        // Most items join an armed node's outbox that has room.
        if let Some(out) = self.nodes.get_mut(f).filter(|o| o.armed)
            && out.to.get(d).is_some_and(|o| o.len() + 1 < self.max_items)
        {
            out.put(d, item);
            return;
        }
        self.push_slow(from, dest, item, cx);
    }

    /// [`Transfer::push`] into an empty or full outbox, or one not made yet.
    #[inline(never)]
    fn push_slow<K: Kind>(&mut self, from: NodeId, dest: NodeId, item: K, cx: &mut PCtx<'_, StormAcking>) {
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
            out.to.resize_with(d + 1, Outbox::default);
        }
        if out.put(d, item) >= self.max_items {
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
        if self.spare.len() < SPARE && items.capacity() > 0 {
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
            let o = &mut out.to[d];
            if o.is_empty() {
                continue;
            }
            let n = o.len();
            // The next flush to this node likely carries about as many: room for them.
            let mut next = spare.pop().unwrap_or_default();
            next.reserve(n);
            let mut items = std::mem::replace(&mut o.acks, next);
            let acks = items.len() as u32;
            items.append(&mut o.done);
            let n = n as u64;
            let msg = Msg::Policy(StormMsg::Transfer { items, acks, moves });
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

/// Per node id, the one value placed there, if exactly one is (`placed`: node and value).
fn sole(placed: impl Iterator<Item = (NodeId, u32)>) -> Vec<Option<u32>> {
    let mut by_node: Vec<(u32, Option<u32>)> = Vec::new();
    for (node, v) in placed {
        let n = node.0 as usize;
        if by_node.len() <= n {
            by_node.resize(n + 1, (0, None));
        }
        by_node[n].0 += 1;
        by_node[n].1 = Some(v);
    }
    by_node.into_iter().map(|(count, v)| v.filter(|_| count == 1)).collect()
}

/// Puts every item of `to` in the outbox of the node its task runs on now (dropping those of lost
/// tasks), keeping the order of each kind's items in each outbox.
fn regroup(homes: &Homes, to: &mut Vec<Outbox>) {
    let all: Vec<Outbox> = std::mem::take(to);
    for o in all {
        for m in o.acks.iter().filter_map(Item::as_acker) {
            put(homes, to, m);
        }
        for m in o.done.iter().filter_map(Item::as_done) {
            put(homes, to, m);
        }
    }
}

/// Puts `item` in the outbox of `to` for the node its task runs on now, unless it is lost.
fn put<K: Kind>(homes: &Homes, to: &mut Vec<Outbox>, item: K) {
    let Some(dest) = item.home(homes) else { return };
    let d = dest.0 as usize;
    if to.len() <= d {
        to.resize_with(d + 1, Outbox::default);
    }
    item.put(&mut to[d]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storm_acking::acker::AckerIn;
    use crate::storm_acking::ring::Handle;

    #[test]
    fn a_node_has_a_sole_task_only_when_exactly_one_is_placed_there() {
        let placed = [(NodeId(0), 5), (NodeId(1), 6), (NodeId(1), 7), (NodeId(3), 8)];
        assert_eq!(sole(placed.into_iter()), vec![Some(5), None, None, Some(8)]);
    }

    #[test]
    fn regrouping_an_outbox_keeps_each_kinds_items_in_the_order_they_were_put() {
        let homes = Homes {
            tasks: vec![Some(NodeId(0))],
            sources: vec![Some(NodeId(0))],
            sole_acker: vec![Some(0)],
            sole_spout: vec![Some(0)],
        };
        let ack = |root| ToAcker {
            acker: 0,
            m: AckerIn::Ack { root, val: root },
            h: Handle::NONE,
        };
        let done = |root| Done {
            to: Target::Spout(0),
            root,
            seq: root,
        };
        let mut to = Vec::new();
        put(&homes, &mut to, done(1));
        put(&homes, &mut to, ack(2));
        put(&homes, &mut to, done(3));
        put(&homes, &mut to, ack(4));
        regroup(&homes, &mut to);
        let o = &to[0];
        assert_eq!(o.acks, vec![Item::acker(ack(2)), Item::acker(ack(4))]);
        assert_eq!(o.done, vec![Item::done(done(1)), Item::done(done(3))]);
    }
}
