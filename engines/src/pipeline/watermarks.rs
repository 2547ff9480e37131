//! Bare watermarks, for windows: every `watermark_interval`, when a partition ends and when the
//! input ends, each source tells every stateful task that has not heard it its watermark (one
//! message of the modelled system per (source, task) pair). They travel as rounds.
//!
//! A round is computed at once for all the sources it covers: one [`Mark`] per source (its
//! watermark and read offset) shared by every task, and per task only the partitions it hears
//! nothing from (their source sent it a watermark at least as high already). Each source node
//! sends its part as one transmission to itself ([`Msg::Watermarks`], counting one message and its
//! bytes per item, dropped by the kernel if the node is dead), and the round reaches its tasks
//! one network latency later ([`CoreTag::Arrive`]): the sources of a node that sent nothing
//! (dead) or that were lost since are left out, and so are the tasks of a node that is dead when
//! it arrives (a [`CoreTag::Reached`] timer per node of its tasks, which dies with the node, fires
//! just before): a dead node applies nothing, even a task whose state outlives it. So a round
//! costs a kernel event per source node and per node of its tasks, plus one, and work
//! proportional to partitions × tasks only as a scan of two arrays.
//!
//! Invariants:
//! - a task applies a round behind everything queued before it arrives (one queue entry,
//!   [`Input::Tick`]), and a partition's watermark only behind every message its source sent the
//!   task before: a channel with messages still on the wire when the round arrives holds its
//!   mark back (`Stateful::held`) until that many have arrived, then queues it as a bare batch;
//!   a channel's held marks are dropped when its source is lost (what it sent may never come,
//!   and the source sends every task its watermark again once placed);
//! - `Source::sent_wm[i]` is what source `p` last told task `i` (by a batch or a round): a round
//!   carries to `i` exactly the partitions whose `sent_wm` was below their watermark, as the
//!   modelled system sends exactly those messages;
//! - a round on its way keeps the run from draining (`Rounds::idle`), and so does a task a round
//!   missed because its node is dead, until the task is lost (its node's failure detected).

use super::dataflow::Core;
use super::reader::CoreTag;
use super::tasks::Input;
use super::{Batch, Msg};
use ftsim_sim::engine::{Ctx, Traffic};
use ftsim_sim::{NodeId, PartitionId, SimTime};
use std::collections::BTreeMap;
use std::rc::Rc;

/// What one source tells the tasks in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// The source's partition.
    pub part: u32,
    /// Its watermark.
    pub wm: SimTime,
    /// The offset it had read up to (as a batch's `upto`).
    pub upto: u64,
}

impl Mark {
    /// The bare batch standing for this mark on its own.
    pub fn batch(&self) -> Batch {
        Batch {
            part: self.part,
            upto: self.upto,
            wm: self.wm,
            records: Vec::new(),
        }
    }
}

/// A task's share of a round.
#[derive(Debug)]
struct Share {
    task: u32,
    /// The task's incarnation when sent: a later one never receives it.
    inc: u32,
    /// Partitions of the round the task hears nothing from, ascending.
    skip: Vec<u32>,
}

/// A round on its way.
#[derive(Debug)]
struct Round {
    /// The sources it covers, ascending by partition, with their node and incarnation when sent.
    from: Vec<(Mark, NodeId, u32)>,
    /// Nodes whose transmission was delivered, sorted once the round arrives.
    sent: Vec<NodeId>,
    /// Nodes of its tasks believed alive when it left (workers), sorted.
    believed: Vec<NodeId>,
    /// Nodes of its tasks that were alive when it reached them (`CoreTag::Reached`), sorted
    /// once the round arrives.
    reached: Vec<NodeId>,
    /// The tasks it has something for.
    to: Vec<Share>,
}

/// The rounds on their way.
#[derive(Debug, Default)]
pub struct Rounds {
    next: u64,
    pending: BTreeMap<u64, Round>,
    /// Tasks (with their incarnation and node) that a round did not reach because their node,
    /// believed alive as it left, was dead (its failure not detected yet): each still owes the
    /// marks it missed until it is lost or placed elsewhere.
    owed: Vec<(u32, u32, NodeId)>,
}

impl Rounds {
    /// No round is on its way, and every task a round missed is lost or placed elsewhere since
    /// (`now` gives each task's incarnation and node now).
    pub fn idle(&self, now: impl Fn(u32) -> (u32, NodeId)) -> bool {
        self.pending.is_empty() && self.owed.iter().all(|(task, i, n)| now(*task) != (*i, *n))
    }
}

/// Walks the ascending `skip` list along ascending partitions: whether `part` is in it.
fn skipped(skip: &[u32], k: &mut usize, part: u32) -> bool {
    while *k < skip.len() && skip[*k] < part {
        *k += 1;
    }
    *k < skip.len() && skip[*k] == part
}

/// The marks of `from` not in `skip` (both ascending).
pub(super) fn marks<'a>(from: &'a [Mark], skip: &'a [u32]) -> impl Iterator<Item = &'a Mark> + 'a {
    Taken::new(from, skip).filter_map(|(m, taken)| taken.then_some(m))
}

/// Each mark of `from` in order, with whether it is taken: not if its partition is in `skip`
/// (both ascending).
#[derive(Debug, Clone)]
pub(super) struct Taken<'a> {
    from: &'a [Mark],
    skip: &'a [u32],
    k: usize,
}

impl<'a> Taken<'a> {
    pub(super) fn new(from: &'a [Mark], skip: &'a [u32]) -> Self {
        Taken { from, skip, k: 0 }
    }
}

impl<'a> Iterator for Taken<'a> {
    type Item = (&'a Mark, bool);
    fn next(&mut self) -> Option<Self::Item> {
        let (m, rest) = self.from.split_first()?;
        self.from = rest;
        Some((m, !skipped(self.skip, &mut self.k, m.part)))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.from.len(), Some(self.from.len()))
    }
}

impl ExactSizeIterator for Taken<'_> {}

impl Core {
    /// Sources `parts` (ascending) send their watermark to every stateful task that has not heard
    /// it (windows only), as one round.
    pub(super) fn broadcast<PM, T: From<CoreTag>>(
        &mut self,
        parts: impl Iterator<Item = u32>,
        cx: &mut Ctx<'_, Msg<PM>, T>,
    ) {
        if !self.shape.windowed {
            return;
        }
        let live: Vec<bool> = self.tasks.iter().map(|t| !t.lost).collect();
        let mut skips: Vec<Vec<u32>> = vec![Vec::new(); live.len()];
        let mut heard = vec![false; live.len()];
        let mut from = Vec::new();
        let mut items: BTreeMap<NodeId, u32> = BTreeMap::new();
        for p in parts {
            let s = &mut self.sources[p as usize];
            if s.lost {
                continue;
            }
            let wm = cx.log.watermark_at(PartitionId(p), s.reader.next.min(s.wm_upto));
            let mut n = 0;
            for (i, sent) in s.sent_wm.iter_mut().enumerate() {
                if !live[i] {
                    continue;
                }
                if *sent < wm {
                    *sent = wm;
                    heard[i] = true;
                    n += 1;
                } else {
                    skips[i].push(p);
                }
            }
            if n > 0 {
                *items.entry(s.reader.node).or_default() += n;
                let mark = Mark {
                    part: p,
                    wm,
                    upto: s.reader.next,
                };
                from.push((mark, s.reader.node, s.inc));
            }
        }
        if items.is_empty() {
            return;
        }
        let to: Vec<Share> = heard
            .iter()
            .enumerate()
            .filter(|(_, h)| **h)
            .map(|(i, _)| Share {
                task: i as u32,
                inc: self.tasks[i].inc,
                skip: std::mem::take(&mut skips[i]),
            })
            .collect();
        let round = self.rounds.next;
        self.rounds.next += 1;
        for (node, n) in items {
            let bytes = self.shape.batch_bytes(0) * u64::from(n);
            cx.send_many(node, node, bytes, Msg::Watermarks { round }, Traffic::Data, n);
        }
        // The round reaches each node of its tasks unless that node is dead (its timer dies
        // with it), then its tasks, in task order, at the same instant.
        let mut nodes: Vec<NodeId> = to.iter().map(|s| self.tasks[s.task as usize].node).collect();
        nodes.sort_unstable();
        nodes.dedup();
        for &node in &nodes {
            cx.set_node_timer(node, self.shape.latency, CoreTag::Reached { round, node }.into());
        }
        // The nodes believed alive as it leaves: workers whose failure, if any, is not known.
        let mut workers = self.placement.workers().to_vec();
        workers.sort_unstable();
        nodes.retain(|n| workers.binary_search(n).is_ok());
        let r = Round {
            from,
            sent: Vec::new(),
            reached: Vec::with_capacity(nodes.len()),
            believed: nodes,
            to,
        };
        self.rounds.pending.insert(round, r);
        cx.set_timer(self.shape.latency, CoreTag::Arrive { round }.into());
    }

    /// The transmission of round `round` from `node` left.
    pub(super) fn round_sent(&mut self, round: u64, node: NodeId) {
        if let Some(r) = self.rounds.pending.get_mut(&round) {
            r.sent.push(node);
        }
    }

    /// Round `round` reached `node`, alive.
    pub(super) fn reached(&mut self, round: u64, node: NodeId) {
        if let Some(r) = self.rounds.pending.get_mut(&round) {
            r.reached.push(node);
        }
    }

    /// Round `round` reaches its tasks on the nodes it reached alive: each queues the marks it
    /// hears, holding back those of channels with messages still on their way.
    pub(super) fn arrive<PM, T: From<CoreTag>>(&mut self, round: u64, cx: &mut Ctx<'_, Msg<PM>, T>) {
        let Some(mut r) = self.rounds.pending.remove(&round) else {
            return;
        };
        r.sent.sort_unstable();
        r.reached.sort_unstable();
        let from: Rc<[Mark]> = r
            .from
            .iter()
            .filter(|(m, node, inc)| r.sent.binary_search(node).is_ok() && self.sources[m.part as usize].inc == *inc)
            .map(|(m, _, _)| *m)
            .collect();
        let now = cx.now();
        let tasks = &self.tasks;
        self.rounds
            .owed
            .retain(|(task, i, n)| tasks[*task as usize].inc == *i && tasks[*task as usize].node == *n);
        for Share { task, inc, skip } in r.to {
            let t = &mut self.tasks[task as usize];
            if t.lost || t.inc != inc {
                continue;
            }
            if r.reached.binary_search(&t.node).is_err() {
                // Its node is dead (or it moved since the round left): the task hears nothing.
                // If its node was believed alive as the round left (a worker whose death nobody
                // knows yet), the run does not drain before the task is lost: a real job does
                // not end while a task it believes alive has not finished.
                let owed = (task, inc, t.node);
                if r.believed.binary_search(&t.node).is_ok() && !self.rounds.owed.contains(&owed) {
                    self.rounds.owed.push(owed);
                }
                continue;
            }
            let (heard, skip) = if t.in_flight.is_empty() {
                // No channel holds a mark back.
                let heard = marks(&from, &skip).next().is_some();
                (heard, skip)
            } else {
                let mut later = Vec::new();
                let mut heard = false;
                for m in marks(&from, &skip) {
                    let waiting = t.in_flight.of(m.part);
                    if waiting > 0 {
                        t.held.entry(m.part).or_default().push_back((waiting, *m));
                        later.push(m.part);
                    } else {
                        heard = true;
                    }
                }
                if later.is_empty() {
                    (heard, skip)
                } else {
                    let mut all = skip;
                    all.extend(later);
                    all.sort_unstable();
                    (heard, all)
                }
            };
            if !heard {
                continue;
            }
            t.queue.push_back((
                now,
                Input::Tick {
                    from: from.clone(),
                    skip,
                },
            ));
            self.start_task(task, cx);
        }
    }
}
