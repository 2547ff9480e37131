//! The storm-acking policy on the pipelined core: its messages and tags, the ids that travel
//! with the tuples, the acker tasks and the ack transport; the spouts of acking mode are in
//! [`super::spout`], Trident in [`super::trident`].
//!
//! Invariants:
//! - acker tasks are extra stateful tasks of the core (ids `first ..`), fed only by ack-stream
//!   messages and never by watermarks; a lost acker's ledger is gone, and its trees time out at
//!   their spouts;
//! - `inflight[t]` holds, per record bound for task `t`, the ids of every emission of it that is
//!   on its way or queued there, oldest first; it is emptied when the task is lost (its queue and
//!   what was on its way die with it);
//! - every ack-stream message counts as one message (ft_messages) and travels with the others
//!   bound for the same acker, one transmission per batch (or read) and acker.

use super::Config;
use super::acker::{Acker, AckerIn};
use super::spout::Spout;
use super::trident::Trident;
use crate::pipeline::{Batch, Core, HEADER_BYTES, Msg, PCtx, Policy, Scope, Tag, Takeover};
use ftsim_sim::engine::{Scoped, Traffic};
use ftsim_sim::rng::mix64;
use ftsim_sim::{Cell, NodeId, Output, Record, Scenario, SimDuration, SimTime, Table, TableChart};
use std::collections::BTreeMap;

/// Bytes of one ack-stream message: a tree id, a 64-bit value and a task id.
pub const ACK_BYTES: u64 = 20;

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
    /// Ack-stream messages for acker task `acker`.
    ToAcker {
        /// The acker (a core task id).
        acker: u32,
        /// Inits and acks.
        items: Vec<AckerIn<Target>>,
    },
    /// Trees that completed, for their spout or coordinator.
    Completed {
        /// Whom.
        to: Target,
        /// The trees.
        roots: Vec<u64>,
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
            StormMsg::ToAcker { acker, .. } => Scope::Task(*acker),
            StormMsg::Completed { to, .. } => to.home(),
            StormMsg::BatchTuple { part, .. } => Scope::Source(*part),
            StormMsg::Coord { task, .. } | StormMsg::Commit { task, .. } => Scope::Task(*task),
        })
    }
}

impl Target {
    /// The incarnation scope of the one told: a spout, or the coordinator (which runs beside
    /// the spout of partition 0 and dies with it).
    fn home(self) -> Scope {
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
        /// What it processed.
        items: Vec<AckerIn<Target>>,
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
            StormTag::Sample => None,
        }
    }
}

/// The ids travelling with the tuples to each stateful task (in Storm they are in the tuple;
/// here the core's batches carry the records and this table their ids).
#[derive(Debug, Default)]
pub struct InFlight {
    per_task: Vec<BTreeMap<(u32, u32, u64), Tuple>>,
    seq: u64,
}

impl InFlight {
    /// Empty, for `tasks` stateful tasks.
    pub fn new(tasks: u32) -> InFlight {
        InFlight {
            per_task: (0..tasks).map(|_| BTreeMap::new()).collect(),
            seq: 0,
        }
    }
    /// Tuple `t` carrying record `r` was sent to `task`.
    pub fn sent(&mut self, task: u32, r: &Record, t: Tuple) {
        self.seq += 1;
        self.per_task[task as usize].insert((r.part, r.offset, self.seq), t);
    }
    /// Task `task` took record `r`: the ids of its oldest emission still on its way.
    pub fn take(&mut self, task: u32, r: &Record) -> Option<Tuple> {
        let m = &mut self.per_task[task as usize];
        let k = *m.range((r.part, r.offset, 0)..=(r.part, r.offset, u64::MAX)).next()?.0;
        m.remove(&k)
    }
    /// Whether a tuple of tree `root` carrying record `r` is still on its way to `task` or queued
    /// there.
    pub fn holds(&self, task: u32, r: &Record, root: u64) -> bool {
        let m = &self.per_task[task as usize];
        m.range((r.part, r.offset, 0)..=(r.part, r.offset, u64::MAX))
            .any(|(_, t)| t.root == root)
    }
    /// Whether any tuple of tree `root` is still on its way to a task or queued there.
    pub fn holds_root(&self, root: u64) -> bool {
        self.per_task.iter().any(|m| m.values().any(|t| t.root == root))
    }
    /// Task `task` was lost: what was on its way or queued there is gone.
    pub fn lose(&mut self, task: u32) {
        self.per_task[task as usize].clear();
    }
}

/// The acker tasks and their ledgers.
#[derive(Debug)]
pub struct Acking {
    /// Core task id of the first acker.
    pub first: u32,
    /// One ledger per acker.
    pub ledgers: Vec<Acker<Target>>,
    /// CPU per ack-stream message on the acker's node.
    pub cost: SimDuration,
    /// The message timeout (rotation period of every pending map).
    pub timeout: SimDuration,
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
}

/// Ack-stream messages gathered per acker, sent as one transmission each.
#[derive(Debug, Default)]
pub struct Outbox(BTreeMap<u32, Vec<AckerIn<Target>>>);

impl Outbox {
    /// Adds a message for the acker of its tree.
    pub fn push(&mut self, acking: &Acking, m: AckerIn<Target>) {
        let (AckerIn::Init { root, .. } | AckerIn::Ack { root, .. }) = m;
        self.0.entry(acking.acker_of(root)).or_default().push(m);
    }
    /// Sends everything gathered from `from`, one transmission per acker (none to a lost one).
    pub fn send(self, core: &Core, from: NodeId, cx: &mut PCtx<'_, StormAcking>) {
        for (acker, items) in self.0 {
            let t = &core.tasks[acker as usize];
            if t.lost {
                continue;
            }
            let n = items.len() as u64;
            let msg = Msg::Policy(StormMsg::ToAcker { acker, items });
            cx.send_many(
                from,
                t.node,
                HEADER_BYTES + n * ACK_BYTES,
                msg,
                Traffic::FaultTolerance,
                n as u32,
            );
        }
    }
}

/// Sends `roots` from `from` to whoever `to` is, if it is not lost.
pub fn tell(core: &Core, from: NodeId, to: Target, roots: Vec<u64>, cx: &mut PCtx<'_, StormAcking>) {
    let Scope::Source(p) = to.home() else { return };
    let s = &core.sources[p as usize];
    if s.lost || roots.is_empty() {
        return;
    }
    let n = roots.len() as u64;
    let msg = Msg::Policy(StormMsg::Completed { to, roots });
    cx.send_many(
        from,
        s.reader.node,
        HEADER_BYTES + n * ACK_BYTES,
        msg,
        Traffic::FaultTolerance,
        n as u32,
    );
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
                cost: cfg.ack_cost,
                timeout: cfg.message_timeout,
            },
            inflight: InFlight::new(groups),
            spouts: (0..parts).map(|_| Spout::default()).collect(),
            committed: vec![0; parts as usize],
            trident: cfg.trident.then(|| Trident::new(sc, cfg)),
            counts: Counters::default(),
            epoch: 0,
            marks: BTreeMap::new(),
            waiting: Vec::new(),
            overloaded: None,
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
    pub fn install(&self, core: &mut Core, sem: &ftsim_sim::Semantics) {
        for node in core.placement.round_robin(self.acking.ledgers.len() as u32) {
            core.add_task(node, sem);
        }
        self.mute_ackers(core);
    }

    /// An acker processed `items`: trees that completed are told to their spouts.
    fn acked(&mut self, core: &Core, acker: u32, items: Vec<AckerIn<Target>>, cx: &mut PCtx<'_, Self>) {
        let ledger = &mut self.acking.ledgers[(acker - self.acking.first) as usize];
        let mut done: BTreeMap<Target, Vec<u64>> = BTreeMap::new();
        for m in items {
            if let Some((root, to)) = ledger.take(m) {
                done.entry(to).or_default().push(root);
            }
        }
        let from = core.tasks[acker as usize].node;
        for (to, roots) in done {
            tell(core, from, to, roots, cx);
        }
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
            t.applied(&self.acking, &mut self.inflight, core, task, batch, cx);
            return;
        }
        let node = core.tasks[task as usize].node;
        cx.emit(node, out, None);
        if !self.tracking {
            return;
        }
        let mut acks = Outbox::default();
        for r in &batch.records {
            if let Some(t) = self.inflight.take(task, r) {
                acks.push(
                    &self.acking,
                    AckerIn::Ack {
                        root: t.root,
                        val: t.edge,
                    },
                );
            }
        }
        acks.send(core, node, cx);
    }

    fn failed(&mut self, core: &mut Core, node: NodeId, _cx: &mut PCtx<'_, Self>) -> Takeover {
        self.epoch += 1;
        self.marks.insert(node, self.epoch);
        for (i, _) in core.tasks.iter().enumerate().filter(|(_, t)| t.lost) {
            let i = i as u32;
            if self.acking.is_acker(i) {
                self.acking.ledgers[(i - self.acking.first) as usize].clear();
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
        self.mute_ackers(core);
        for &a in tasks.iter().filter(|a| self.acking.is_acker(**a)) {
            self.acking.arm(core, a, cx);
        }
        match &mut self.trident {
            Some(t) if sources.contains(&0) => t.restart(&self.acking, core, cx),
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
            StormMsg::ToAcker { acker, items } => {
                let work = self.acking.cost.mul(items.len() as u64);
                cx.compute(to, work, Tag::Policy(StormTag::Acked { acker, items }));
            }
            StormMsg::Completed {
                to: Target::Spout(p),
                roots,
            } => self.completed(core, p, &roots, cx),
            m => {
                if let Some(t) = &mut self.trident {
                    t.message(&self.acking, core, m, cx);
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
            StormTag::Acked { acker, items } => self.acked(core, acker, items, cx),
            StormTag::Sample => self.sample(core, cx),
            t => {
                if let Some(tr) = &mut self.trident {
                    tr.tag(&self.acking, &mut self.inflight, core, &t, cx);
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
