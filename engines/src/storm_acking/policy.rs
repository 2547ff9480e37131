//! The storm-acking policy on the pipelined core: its messages and tags, the ids that travel
//! with the tuples, the acker tasks and the ack transport; the spouts of acking mode are in
//! [`super::spout`], Trident in [`super::trident`].
//!
//! Invariants:
//! - acker tasks are extra stateful tasks of the core (ids `first ..`), fed only by ack-stream
//!   messages and never by watermarks; a lost acker's ledger is gone, and its trees time out at
//!   their spouts;
//! - `inflight` holds, per task and partition, the ids of every emission on its way to the task
//!   or queued there, in the order they were sent; it is emptied when the task is lost (its queue
//!   and what was on its way die with it). A channel delivers in order and the task applies every
//!   record it gets, so the ids of the record it applies are at the front of their queue;
//! - every ack-stream message counts as one message (ft_messages) and waits in its node's outbox
//!   for the flush that sends it with the others bound for the same node ([`super::transfer`]).

use super::Config;
use super::acker::{Acker, AckerIn};
use super::spout::Spout;
use super::transfer::{Item, Transfer};
use super::trident::Trident;
use crate::pipeline::{Batch, Core, PCtx, Policy, Scope, Tag, Takeover};
use ftsim_sim::engine::Scoped;
use ftsim_sim::rng::mix64;
use ftsim_sim::{Cell, NodeId, Output, Record, Scenario, SimDuration, SimTime, Table, TableChart};
use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, VecDeque};

/// Whom an acker tells that a tree completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// The spout of a partition (acking mode).
    Spout(u32),
    /// Trident's master batch coordinator.
    Coordinator,
}

/// A Trident batch attempt: its transaction id and attempt number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Attempt {
    /// Transaction id (1, 2, ...).
    pub txid: u64,
    /// Attempt (0 first, then one more per replay).
    pub id: u32,
}

/// The ids a tuple carries: its tree and its edge, and in Trident its batch attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// The tree (spout tuple, or Trident batch attempt) it belongs to.
    pub root: u64,
    /// Its own edge id.
    pub edge: u64,
    /// Trident: the batch attempt.
    pub batch: Option<Attempt>,
}

/// Messages of the scheme.
#[derive(Debug)]
pub enum StormMsg {
    /// Ack-stream messages (inits, acks, completions) for the ackers and spouts of the
    /// receiving node: one flush of the sender's outbox.
    Transfer {
        /// In the order they were put in the outbox.
        items: Vec<Item>,
        /// How many times tasks had been lost or placed again when it left.
        moves: u64,
    },
    /// Trident: the coordinator's batch tuple for the spout of `part`.
    BatchTuple {
        /// The partition.
        part: u32,
        /// The batch attempt.
        attempt: Attempt,
        /// Its tree.
        root: u64,
        /// Its edge.
        edge: u64,
    },
    /// Trident: how many tuples of a batch attempt the spout of `part` sent to `task`, and the
    /// partition's watermark at the batch's end (a coordination tuple).
    Coord {
        /// The receiving task.
        task: u32,
        /// The batch attempt.
        attempt: Attempt,
        /// The partition.
        part: u32,
        /// Tuples sent.
        count: u64,
        /// The partition's watermark at the end of the batch.
        wm: SimTime,
        /// Its tree.
        root: u64,
        /// Its edge.
        edge: u64,
    },
    /// Trident: commit the batch attempt's state updates at `task`.
    Commit {
        /// The task.
        task: u32,
        /// The batch attempt.
        attempt: Attempt,
        /// The commit's tree.
        root: u64,
        /// Its edge.
        edge: u64,
    },
}

impl Scoped<Scope> for StormMsg {
    fn scope(&self) -> Option<Scope> {
        Some(match self {
            // Items for several tasks: the receiver drops those whose task no longer runs there.
            StormMsg::Transfer { .. } => return None,
            StormMsg::BatchTuple { part, .. } => Scope::Source(*part),
            StormMsg::Coord { task, .. } | StormMsg::Commit { task, .. } => Scope::Task(*task),
        })
    }
}

impl Target {
    /// The incarnation scope of the one told: a spout, or the coordinator (which runs beside
    /// the spout of partition 0 and dies with it).
    pub(super) fn home(self) -> Scope {
        match self {
            Target::Spout(p) => Scope::Source(p),
            Target::Coordinator => Scope::Source(0),
        }
    }
}

/// Timers, work and storage tags of the scheme.
#[derive(Debug)]
pub enum StormTag {
    /// The spout of a partition rotates its pending tuples (once per message timeout).
    SpoutTick(u32),
    /// The spout of a partition re-read these offsets from the log (a replay).
    Replayed {
        /// The partition.
        part: u32,
        /// Offsets, ascending.
        offsets: Vec<u64>,
    },
    /// An acker rotates its ledger.
    AckerTick(u32),
    /// An acker processed these messages.
    Acked {
        /// The acker.
        acker: u32,
        /// Which of the item groups queued at it ([`AckQueue`]).
        group: u64,
    },
    /// Trident: the spout of `part` read its share of a batch attempt.
    BatchRead {
        /// The partition.
        part: u32,
        /// The attempt.
        attempt: Attempt,
        /// The batch tuple's tree.
        root: u64,
        /// The batch tuple's edge.
        edge: u64,
    },
    /// Trident: the coordinator looks for a batch to emit or commit.
    CoordTick,
    /// Trident: the coordinator rotates its pending batch and commit tuples.
    CoordRotate,
    /// Trident: a task's state write for a commit is durable.
    Written {
        /// The task.
        task: u32,
        /// The attempt.
        attempt: Attempt,
        /// The commit's tree.
        root: u64,
        /// The task's edge of it.
        edge: u64,
    },
    /// The flush timer of a node's ack-stream outbox.
    Flush(NodeId),
    /// Sample the tables.
    Sample,
}

impl Scoped<Scope> for StormTag {
    fn scope(&self) -> Option<Scope> {
        match self {
            StormTag::SpoutTick(p) | StormTag::Replayed { part: p, .. } | StormTag::BatchRead { part: p, .. } => {
                Some(Scope::Source(*p))
            }
            StormTag::AckerTick(a) | StormTag::Acked { acker: a, .. } | StormTag::Written { task: a, .. } => {
                Some(Scope::Task(*a))
            }
            StormTag::CoordTick | StormTag::CoordRotate => Some(Target::Coordinator.home()),
            StormTag::Flush(_) | StormTag::Sample => None,
        }
    }
}

/// The ids travelling with the tuples to each stateful task (in Storm they are in the tuple;
/// here the core's batches carry the records and this table their ids).
#[derive(Debug, Default)]
pub struct InFlight {
    /// Per task, per partition: the offset of each record sent and its tuple's ids, in the order
    /// they were sent.
    per_task: Vec<Vec<VecDeque<(u32, Tuple)>>>,
}

impl InFlight {
    /// Empty, for `tasks` stateful tasks fed by `partitions` partitions.
    pub fn new(tasks: u32, partitions: u32) -> InFlight {
        InFlight {
            per_task: (0..tasks)
                .map(|_| (0..partitions).map(|_| VecDeque::new()).collect())
                .collect(),
        }
    }
    /// Tuple `t` carrying record `r` was sent to `task`.
    pub fn sent(&mut self, task: u32, r: &Record, t: Tuple) {
        self.per_task[task as usize][r.part as usize].push_back((r.offset, t));
    }
    /// Task `task` took record `r`: the ids of its oldest emission still on its way.
    pub fn take(&mut self, task: u32, r: &Record) -> Option<Tuple> {
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
            .flat_map(|(_, parts)| parts[part as usize].iter().map(|(_, t)| t.root))
            .collect()
    }
    /// Whether any tuple of tree `root` is still on its way to a task or queued there.
    pub fn holds_root(&self, root: u64) -> bool {
        self.per_task
            .iter()
            .flatten()
            .any(|q| q.iter().any(|(_, t)| t.root == root))
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
    next: u64,
    /// Each group's number (ascending) and the transmission that brought it: the acker's items
    /// among others (completions, already taken, or items for another acker), in order.
    groups: VecDeque<(u64, Vec<Item>)>,
}

/// The acker tasks and their ledgers.
#[derive(Debug)]
pub struct Acking {
    /// Core task id of the first acker.
    pub first: u32,
    /// One ledger per acker.
    pub ledgers: Vec<Acker<Target>>,
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
    /// Node `from` sends an init or ack to the acker of its tree.
    #[inline(always)]
    pub fn tell_acker(&mut self, from: NodeId, m: AckerIn<Target>, cx: &mut PCtx<'_, StormAcking>) {
        let (AckerIn::Init { root, .. } | AckerIn::Ack { root, .. }) = m;
        let acker = self.acker_of(root);
        self.transfer.push(from, Item::Acker(acker, m), cx);
    }
    /// Acker task `acker` processed its item group `group`: trees that completed are told to
    /// their spouts.
    fn process(&mut self, core: &Core, acker: u32, group: u64, cx: &mut PCtx<'_, StormAcking>) {
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
            if let Item::Acker(x, m) = *item
                && x == acker
                && let Some((root, to)) = ledger.take(m)
            {
                self.transfer.push(from, Item::Done(to, root), cx);
            }
        }
        self.transfer.recycle(items);
    }
    /// Acker task `acker` was lost: its ledger and what it had not processed are gone.
    fn lose(&mut self, acker: u32) {
        let a = (acker - self.first) as usize;
        self.ledgers[a].clear();
        self.queues[a].groups.clear();
    }
}

/// Per-bucket counters of tuples.
#[derive(Debug, Default)]
pub struct Counters {
    /// Spout tuples acked.
    pub acked: u64,
    /// Spout tuples timed out.
    pub timed_out: u64,
    /// Records re-emitted (replays).
    pub replayed: u64,
}

/// Buffers [`StormAcking::received`] reuses.
#[derive(Debug, Default)]
struct Scratch {
    /// Per acker reached: (acker, its group, items).
    groups: Vec<(u32, u64, u64)>,
    /// Completions: whom, which tree.
    done: Vec<(Target, u64)>,
    /// One spout's trees.
    roots: Vec<u64>,
}

/// The storm-acking engine's state beside the dataflow.
pub struct StormAcking {
    /// The configuration.
    pub(super) cfg: Config,
    /// Acking is on (some acker tracks the tuples).
    pub(super) tracking: bool,
    /// The acker tasks.
    pub(super) acking: Acking,
    /// Ids of the tuples on their way to each task.
    pub(super) inflight: InFlight,
    /// Acking mode: the spouts' memories, and each partition's committed offset.
    pub(super) spouts: Vec<Spout>,
    /// Per partition, the first offset not yet fully acked (durable, Kafka-like).
    pub(super) committed: Vec<u64>,
    /// Trident mode.
    pub(super) trident: Option<Trident>,
    /// This bucket's counters.
    pub(super) counts: Counters,
    /// Failures detected so far: tuples and batches carry the epoch they were emitted in.
    pub(super) epoch: u32,
    /// Per failed node, the epoch its detection opened.
    marks: BTreeMap<NodeId, u32>,
    /// Failures whose executors run again but whose lost tuples are not all emitted again.
    waiting: Vec<(NodeId, u32)>,
    /// The last spout rotation that failed tuples still queued at live executors: how many, when.
    pub(super) overloaded: Option<(u64, SimTime)>,
    /// Buffers reused by every transmission received.
    scratch: Scratch,
    bucket: SimDuration,
    rows: Vec<Vec<Cell>>,
}

impl StormAcking {
    /// The policy for `sc` under `cfg`, with `ackers` acker tasks.
    pub fn new(sc: &Scenario, cfg: &Config, ackers: u32) -> StormAcking {
        let (parts, groups) = (sc.workload.partitions, sc.job.parallelism);
        StormAcking {
            cfg: cfg.clone(),
            tracking: ackers > 0,
            acking: Acking {
                first: groups,
                ledgers: (0..ackers).map(|_| Acker::default()).collect(),
                queues: (0..ackers).map(|_| AckQueue::default()).collect(),
                cost: cfg.ack_cost,
                timeout: cfg.message_timeout,
                transfer: Transfer::new(cfg.flush_interval),
            },
            inflight: InFlight::new(groups, parts),
            spouts: (0..parts).map(|_| Spout::default()).collect(),
            committed: vec![0; parts as usize],
            trident: cfg.trident.then(|| Trident::new(sc, cfg)),
            counts: Counters::default(),
            epoch: 0,
            marks: BTreeMap::new(),
            waiting: Vec::new(),
            overloaded: None,
            scratch: Scratch::default(),
            bucket: sc.run.bucket,
            rows: Vec::new(),
        }
    }

    /// Acker tasks are never sent watermarks: each source counts them as having heard all.
    fn mute_ackers(&self, core: &mut Core) {
        let ackers = self.acking.first as usize..core.tasks.len();
        for s in &mut core.sources {
            for w in &mut s.sent_wm[ackers.clone()] {
                *w = SimTime::MAX;
            }
        }
    }

    /// Installs the acker tasks in `core`, round-robin over the workers.
    pub fn install(&mut self, core: &mut Core, sem: &ftsim_sim::Semantics) {
        for node in core.placement.round_robin(self.acking.ledgers.len() as u32) {
            core.add_task(node, sem);
        }
        self.mute_ackers(core);
        self.acking.transfer.moved(core);
    }

    /// A flush of ack-stream messages reached `to`: each acker there gets one work item for its
    /// inits and acks, each spout (or the coordinator) there takes its completions at once; items
    /// whose task no longer runs there are dropped.
    fn received(&mut self, core: &mut Core, to: NodeId, mut items: Vec<Item>, moves: u64, cx: &mut PCtx<'_, Self>) {
        // Unless tasks moved since the items left, they are all for tasks running here.
        if self.acking.transfer.moved_since(moves) {
            let homes = &self.acking.transfer.homes;
            items.retain(|item| homes.of_item(item) == Some(to));
        }
        // Per acker reached: its group of this transmission and how many items it holds; whom
        // the completions are for (one spout, usually).
        let mut groups = std::mem::take(&mut self.scratch.groups);
        let (mut whom, mut mixed) = (None, false);
        for item in &items {
            match *item {
                Item::Acker(a, _) => match groups.iter_mut().find(|(x, _, _)| *x == a) {
                    Some((_, _, n)) => *n += 1,
                    None => {
                        let q = &mut self.acking.queues[(a - self.acking.first) as usize];
                        groups.push((a, q.next, 1));
                        q.next += 1;
                    }
                },
                Item::Done(t, _) => match whom {
                    None => whom = Some(t),
                    Some(w) => mixed |= w != t,
                },
            }
        }
        for &(acker, group, n) in &groups {
            let work = self.acking.cost.mul(n);
            cx.compute(to, work, Tag::Policy(StormTag::Acked { acker, group }));
        }
        let done = items.iter().filter_map(|item| match *item {
            Item::Done(t, root) => Some((t, root)),
            Item::Acker(..) => None,
        });
        match whom {
            Some(Target::Spout(p)) if !mixed => self.completed(core, p, done.map(|(_, r)| r), cx),
            Some(_) => self.completed_mixed(core, done, cx),
            None => {}
        }
        // The acker (usually one per node) keeps the transmission until it has processed it;
        // any other acker reached gets its own items.
        let mut groups_left = groups.drain(..);
        if let Some((first, group, _)) = groups_left.next() {
            for (acker, group, _) in groups_left {
                let own = items.iter().filter(|i| matches!(i, Item::Acker(a, _) if *a == acker));
                let q = &mut self.acking.queues[(acker - self.acking.first) as usize];
                q.groups.push_back((group, own.copied().collect()));
            }
            let q = &mut self.acking.queues[(first - self.acking.first) as usize];
            q.groups.push_back((group, items));
        } else {
            drop(groups_left);
            self.acking.transfer.recycle(items);
        }
        self.scratch.groups = groups;
    }

    /// Completions for several spouts (or the coordinator), each one's in the order they came.
    fn completed_mixed(&mut self, core: &mut Core, done: impl Iterator<Item = (Target, u64)>, cx: &mut PCtx<'_, Self>) {
        let mut all = std::mem::take(&mut self.scratch.done);
        all.extend(done);
        all.sort_by_key(|(t, _)| *t);
        let mut roots = std::mem::take(&mut self.scratch.roots);
        for run in all.chunk_by(|a, b| a.0 == b.0) {
            roots.clear();
            roots.extend(run.iter().map(|(_, r)| *r));
            match run[0].0 {
                Target::Spout(p) => self.completed(core, p, roots.iter().copied(), cx),
                Target::Coordinator => {
                    if let Some(tr) = &mut self.trident {
                        tr.completed(&mut self.acking, core, &roots, cx);
                    }
                }
            }
        }
        all.clear();
        self.scratch.done = all;
        self.scratch.roots = roots;
    }

    /// Whether everything emitted before failure epoch `mark` was acked or emitted again.
    fn settled(&self, core: &Core, mark: u32) -> bool {
        match &self.trident {
            Some(t) => t.settled(mark),
            None => (self.spouts.iter().zip(&core.sources)).all(|(sp, s)| s.lost || sp.settled(mark)),
        }
    }

    /// Reports the failures whose lost tuples are all emitted again.
    fn report_restored(&mut self, core: &Core, cx: &mut PCtx<'_, Self>) {
        if self.waiting.is_empty() {
            return;
        }
        let waiting = std::mem::take(&mut self.waiting);
        let (done, open): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|(_, m)| self.settled(core, *m));
        self.waiting = open;
        for (node, _) in done {
            cx.restored(node);
        }
    }

    fn sample(&mut self, core: &Core, cx: &mut PCtx<'_, Self>) {
        let pending: u64 = self.spouts.iter().map(Spout::unacked).sum();
        let c = std::mem::take(&mut self.counts);
        self.rows.push(vec![
            Cell::secs(Some(cx.now())),
            Cell::Int(pending),
            Cell::Int(c.acked),
            Cell::Int(c.timed_out),
            Cell::Int(c.replayed),
        ]);
        if !core.input_ended || !core.drained() || !self.drained(core) {
            cx.set_timer(self.bucket, Tag::Policy(StormTag::Sample));
        }
    }
}

impl Policy for StormAcking {
    type Msg = StormMsg;
    type Tag = StormTag;
    const REDEPLOY: &'static str = "the lost executors restart on a spare; their tuples time out and are replayed";

    fn start(&mut self, core: &mut Core, cx: &mut PCtx<'_, Self>) {
        for a in self.acking.first..core.tasks.len() as u32 {
            self.acking.arm(core, a, cx);
        }
        match &mut self.trident {
            Some(t) => return t.start(core, cx),
            None if self.tracking => (0..core.sources.len() as u32).for_each(|p| self.arm_spout(core, p, cx)),
            None => {}
        }
        cx.set_timer(self.bucket, Tag::Policy(StormTag::Sample));
    }

    fn shipped(&mut self, core: &mut Core, part: u32, task: u32, batch: &Batch, cx: &mut PCtx<'_, Self>) {
        self.emit(core, part, task, batch, cx);
    }

    fn applied(&mut self, core: &mut Core, task: u32, batch: &Batch, out: Vec<Output>, cx: &mut PCtx<'_, Self>) {
        if let Some(t) = &mut self.trident {
            t.applied(&mut self.acking, &mut self.inflight, core, task, batch, cx);
            return;
        }
        let node = core.tasks[task as usize].node;
        cx.emit(node, out, None);
        if !self.tracking {
            return;
        }
        for r in &batch.records {
            if let Some(t) = self.inflight.take(task, r) {
                let ack = AckerIn::Ack {
                    root: t.root,
                    val: t.edge,
                };
                self.acking.tell_acker(node, ack, cx);
            }
        }
    }

    fn failed(&mut self, core: &mut Core, node: NodeId, _cx: &mut PCtx<'_, Self>) -> Takeover {
        self.acking.transfer.lose(node);
        self.acking.transfer.moved(core);
        self.epoch += 1;
        self.marks.insert(node, self.epoch);
        for (i, _) in core.tasks.iter().enumerate().filter(|(_, t)| t.lost) {
            let i = i as u32;
            if self.acking.is_acker(i) {
                self.acking.lose(i);
            } else {
                self.inflight.lose(i);
            }
        }
        match &mut self.trident {
            Some(t) => t.lost(core, self.epoch),
            None => self.spouts_lost(core),
        }
        Takeover::Spare
    }

    fn placed(
        &mut self,
        core: &mut Core,
        failed: NodeId,
        sources: &[u32],
        tasks: &[u32],
        cx: &mut PCtx<'_, Self>,
    ) -> bool {
        self.acking.transfer.moved(core);
        self.mute_ackers(core);
        for &a in tasks.iter().filter(|a| self.acking.is_acker(**a)) {
            self.acking.arm(core, a, cx);
        }
        match &mut self.trident {
            Some(t) if sources.contains(&0) => t.restart(&mut self.acking, core, cx),
            Some(_) => {}
            None if self.tracking => sources.iter().for_each(|p| self.arm_spout(core, *p, cx)),
            None => {}
        }
        // The failure is restored once what it lost is emitted again: its tuples time out first.
        let mark = self.marks.remove(&failed).unwrap_or(self.epoch);
        if self.settled(core, mark) {
            return true;
        }
        self.waiting.push((failed, mark));
        false
    }

    fn resume_at(&mut self, _core: &Core, part: u32, _cx: &mut PCtx<'_, Self>) -> u64 {
        match &self.trident {
            Some(t) => t.emitted_end(part),
            None => self.committed[part as usize],
        }
    }

    fn message(&mut self, core: &mut Core, _from: NodeId, to: NodeId, msg: StormMsg, cx: &mut PCtx<'_, Self>) {
        match msg {
            StormMsg::Transfer { items, moves } => self.received(core, to, items, moves, cx),
            m => {
                if let Some(t) = &mut self.trident {
                    t.message(&mut self.acking, core, &m, cx);
                }
            }
        }
        self.report_restored(core, cx);
    }

    fn tag(&mut self, core: &mut Core, tag: StormTag, cx: &mut PCtx<'_, Self>) {
        match tag {
            StormTag::SpoutTick(p) => self.spout_tick(core, p, cx),
            StormTag::Replayed { part, offsets } => self.replayed(core, part, &offsets, cx),
            StormTag::AckerTick(a) => {
                self.acking.ledgers[(a - self.acking.first) as usize].rotate();
                self.acking.arm(core, a, cx);
            }
            StormTag::Acked { acker, group } => self.acking.process(core, acker, group, cx),
            StormTag::Flush(node) => self.acking.transfer.flush(node, cx),
            StormTag::Sample => self.sample(core, cx),
            t => {
                if let Some(tr) = &mut self.trident {
                    tr.tag(&mut self.acking, &mut self.inflight, core, &t, cx);
                }
            }
        }
        self.report_restored(core, cx);
    }

    fn read_limit(&self, _core: &Core, part: u32) -> u64 {
        if self.trident.is_some() {
            return 0;
        }
        self.read_limit_of(part)
    }

    fn stuck(&self, _core: &Core) -> Option<String> {
        match &self.trident {
            Some(t) => t.stuck(),
            None => self.overloaded.map(|(n, at)| {
                format!(
                    "overloaded for its message timeout: {n} tuples timed out at {at} while still queued at live executors, and replays only add load"
                )
            }),
        }
    }

    fn drained(&self, core: &Core) -> bool {
        match &self.trident {
            Some(t) => t.drained(core),
            None => self.spouts.iter().all(Spout::idle),
        }
    }

    fn tables(&self) -> Vec<Table> {
        if let Some(t) = &self.trident {
            return vec![t.table()];
        }
        let columns = ["t_s", "pending", "acked", "timed_out", "replayed"];
        let tuples = Table {
            rows: self.rows.clone(),
            charts: vec![TableChart {
                file: "tuples".into(),
                title: "spout tuples pending, and timed out and replayed per bucket".into(),
                x: "t_s".into(),
                ys: vec!["pending".into(), "timed_out".into(), "replayed".into()],
                y_label: "tuples".into(),
            }],
            ..Table::new("tuples", &columns)
        };
        vec![tuples]
    }
}
