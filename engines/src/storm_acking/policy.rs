//! The storm-acking policy on the pipelined core: what it does at each of the core's hooks. Its
//! messages and tags are in [`super::msg`], the ids travelling with the tuples and the ackers in
//! [`super::tracking`], the ack transport in [`super::transfer`], the spouts of acking mode in
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
use super::msg::{StormMsg, StormTag, Target, Tracked, Tuple};
use super::ring::Handle;
use super::spout::Spout;
use super::tracking::{AckQueue, Acking, InFlight};
use super::transfer::Transfer;
use super::trident::Trident;
use super::wire::Item;
use crate::pipeline::{Batch, Core, PCtx, Policy, Tag, Takeover};
use ftsim_sim::{Cell, NodeId, Output, Scenario, SimDuration, SimTime, Table, TableChart};
use std::collections::BTreeMap;

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
    /// Completions: whom, which tree, its number at its spout.
    done: Vec<(Target, u64, u64)>,
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
    /// Acking mode: ids of the tuples on their way to each task.
    pub(super) inflight: InFlight<Tracked>,
    /// Trident: ids of the tuples on their way to each task.
    pub(super) batched: InFlight<Tuple>,
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
                numbers: vec![0; ackers as usize],
                queues: (0..ackers).map(|_| AckQueue::default()).collect(),
                cost: cfg.ack_cost,
                timeout: cfg.message_timeout,
                transfer: Transfer::new(cfg.flush_interval),
            },
            inflight: InFlight::new(groups, parts),
            batched: InFlight::new(groups, parts),
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
        self.acking.transfer.moved(core, self.acking.first);
    }

    /// A flush of ack-stream messages reached `to`: each acker there gets one work item for its
    /// inits and acks (the first `acks` items), each spout (or the coordinator) there takes its
    /// completions (the others) at once; items whose task no longer runs there are dropped.
    fn received(
        &mut self,
        core: &mut Core,
        to: NodeId,
        mut items: Vec<Item>,
        acks: u32,
        moves: u32,
        cx: &mut PCtx<'_, Self>,
    ) {
        let mut acks = acks as usize;
        // Unless tasks moved since the items left, they are all for tasks running here, which
        // are usually one acker and one spout.
        let homes = &self.acking.transfer.homes;
        let (mut sole_acker, mut sole_spout) = (homes.sole_acker(to), homes.sole_spout(to));
        if self.acking.transfer.moved_since(moves) {
            items.retain(|item| homes.of_item(item) == Some(to));
            acks = items.partition_point(|item| item.acker_task().is_some());
            (sole_acker, sole_spout) = (None, None);
        }
        if self.trident.is_some() {
            // Completions for the coordinator come to the node of spout 0.
            sole_spout = None;
        }
        // Per acker reached: its group of this transmission and how many items it holds.
        let mut groups = std::mem::take(&mut self.scratch.groups);
        match sole_acker {
            Some(a) if acks > 0 => groups.push((a, 0, acks as u64)),
            _ => {
                for item in &items[..acks] {
                    let Some(a) = item.acker_task() else { continue };
                    match groups.iter_mut().find(|(x, _, _)| *x == a) {
                        Some((_, _, n)) => *n += 1,
                        None => groups.push((a, 0, 1)),
                    }
                }
            }
        }
        for (acker, group, n) in &mut groups {
            let q = &mut self.acking.queues[(*acker - self.acking.first) as usize];
            *group = q.next;
            q.next += 1;
            let work = self.acking.cost.mul(*n);
            cx.compute(
                to,
                work,
                Tag::Policy(StormTag::Acked {
                    acker: *acker,
                    group: *group,
                }),
            );
        }
        // Whom the completions are for: one spout, usually.
        let done = items[acks..].iter().filter_map(Item::as_done);
        if let Some(first) = done.clone().next() {
            let roots = done.clone().map(|d| (d.root, d.seq));
            match (sole_spout, first.to) {
                (Some(p), _) => self.completed(core, p, roots, cx),
                (None, Target::Spout(p)) if done.clone().all(|d| d.to == first.to) => {
                    self.completed(core, p, roots, cx)
                }
                _ => self.completed_mixed(core, done.map(|d| (d.to, d.root, d.seq)), cx),
            }
        }
        // The acker (usually one per node) keeps the transmission until it has processed it;
        // any other acker reached gets its own items.
        let mut groups_left = groups.drain(..);
        if let Some((first, group, _)) = groups_left.next() {
            for (acker, group, _) in groups_left {
                let own = items.iter().filter(|i| i.acker_task() == Some(acker));
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
    fn completed_mixed(
        &mut self,
        core: &mut Core,
        done: impl Iterator<Item = (Target, u64, u64)>,
        cx: &mut PCtx<'_, Self>,
    ) {
        let mut all = std::mem::take(&mut self.scratch.done);
        all.extend(done);
        all.sort_by_key(|(t, ..)| *t);
        let mut roots = std::mem::take(&mut self.scratch.roots);
        for run in all.chunk_by(|a, b| a.0 == b.0) {
            match run[0].0 {
                Target::Spout(p) => self.completed(core, p, run.iter().map(|(_, r, s)| (*r, *s)), cx),
                Target::Coordinator => {
                    roots.clear();
                    roots.extend(run.iter().map(|(_, r, _)| *r));
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
            t.applied(&mut self.acking, &mut self.batched, core, task, batch, cx);
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
                let h = Handle {
                    acker: t.at.number(),
                    spout: u64::MAX,
                };
                self.acking.tell(node, t.at.acker(), ack, h, cx);
            }
        }
    }

    fn failed(&mut self, core: &mut Core, node: NodeId, _cx: &mut PCtx<'_, Self>) -> Takeover {
        self.acking.transfer.lose(node);
        self.acking.transfer.moved(core, self.acking.first);
        self.epoch += 1;
        self.marks.insert(node, self.epoch);
        for (i, _) in core.tasks.iter().enumerate().filter(|(_, t)| t.lost) {
            let i = i as u32;
            if self.acking.is_acker(i) {
                self.acking.lose(i);
            } else {
                self.inflight.lose(i);
                self.batched.lose(i);
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
        self.acking.transfer.moved(core, self.acking.first);
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
            StormMsg::Transfer { items, acks, moves } => self.received(core, to, items, acks, moves, cx),
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
                    tr.tag(&mut self.acking, &mut self.batched, core, &t, cx);
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
