//! The active-standby policy on the pipelined core: replicas fed by the sources, outputs held by
//! replicas until their primary says they are visible, takeover, replicas rebuilt from a copy of
//! the primary's state, key groups rebuilt from the source log when both copies are gone, and
//! lock-step.
//!
//! Invariants (besides those of [`super::pair`]):
//! - a replica applies, per channel, the batches its primary applies, in the same order: the
//!   sources send both copies in one step, channels are FIFO, and a replica being built is held
//!   until its copied state lands, then reads from the source log what lies between the copy's
//!   `seen` and what the sources have read, ahead of the copies queued meanwhile (which its
//!   `seen` then dedupes);
//! - a failure is restored once the sources it lost read again and every key group it left
//!   without a primary has one again (an `Outage` per detected failure).

use super::Config;
use super::pair::{Memory, Pair, Standby};
use crate::pipeline::{Batch, Core, HEADER_BYTES, Msg, PCtx, Policy, Scope, Snapshot, Tag, Takeover};
use ftsim_sim::engine::{Flow, Scoped};
use ftsim_sim::{Cell, NodeId, Output, Scenario, SimDuration, Table, TableChart};
use std::collections::{BTreeMap, BTreeSet};

/// Messages between primaries and replicas.
#[derive(Debug)]
pub enum AsMsg {
    /// The primary of `group` tells slot `task` which outputs are visible: the largest value per
    /// key it showed since it last told (running count) and its fired frontier (window count).
    Emitted {
        /// The key group.
        group: u32,
        /// The receiving slot.
        task: u32,
        /// `(key, count)`: every value of the key up to the count is visible.
        counts: Vec<(u64, u64)>,
        /// Every window firing at or before this instant is visible.
        fired: u64,
    },
    /// A copy of the primary's state for slot `task` of `group`, built as number `build`.
    Snapshot {
        /// The key group.
        group: u32,
        /// The receiving slot.
        task: u32,
        /// Which build it answers.
        build: u64,
        /// The state and its offsets (boxed: every message of the engine is as large as its
        /// largest kind).
        snap: Box<Snapshot>,
    },
    /// Lock-step: the replica `replica` of `group` has applied every partition up to `seen` (to
    /// the primary `task`).
    Applied {
        /// The key group.
        group: u32,
        /// The receiving primary.
        task: u32,
        /// The sending replica.
        replica: u32,
        /// The replica's `seen`.
        seen: Vec<u64>,
    },
}

impl Scoped<Scope> for AsMsg {
    fn scope(&self) -> Option<Scope> {
        match self {
            AsMsg::Emitted { task, .. } | AsMsg::Snapshot { task, .. } | AsMsg::Applied { task, .. } => {
                Some(Scope::Task(*task))
            }
        }
    }
}

/// Timers.
#[derive(Debug)]
pub enum AsTag {
    /// Primaries tell their replicas what is visible; groups without a replica get one.
    Ack,
    /// Sample the replicas' lag.
    Sample,
}

impl Scoped<Scope> for AsTag {}

/// A detected failure not restored yet.
#[derive(Debug)]
struct Outage {
    node: NodeId,
    /// Its sources wait to be placed again.
    sources: bool,
    /// Key groups it left without a primary.
    groups: BTreeSet<u32>,
}

/// The active-standby engine's state beside the dataflow.
pub struct ActiveStandby {
    cfg: Config,
    bucket: SimDuration,
    /// Replicas go to standby nodes, one spare per worker asked for at the start.
    standby_nodes: bool,
    pairs: Vec<Pair>,
    /// Per task slot: its key group.
    group_of: Vec<u32>,
    /// Per task slot: what its node keeps beside the task.
    memory: Vec<Memory>,
    /// Per worker a standby node was asked for: the key groups whose replicas go there.
    standby_for: BTreeMap<NodeId, Vec<u32>>,
    outages: Vec<Outage>,
    builds: u64,
    lag_rows: Vec<Vec<Cell>>,
    /// Records the sources copied to replicas in the read being shipped (counted as read once
    /// it is shipped).
    copied: u64,
}

impl ActiveStandby {
    /// The policy for `sc` under `cfg`.
    pub fn new(sc: &Scenario, cfg: &Config) -> ActiveStandby {
        let groups = sc.job.parallelism;
        ActiveStandby {
            cfg: cfg.clone(),
            bucket: sc.run.bucket,
            standby_nodes: sc.cluster.spares >= sc.cluster.nodes,
            pairs: (0..groups).map(|_| Pair::new(sc.workload.partitions)).collect(),
            group_of: (0..groups).collect(),
            memory: (0..groups).map(|_| Memory::default()).collect(),
            standby_for: BTreeMap::new(),
            outages: Vec::new(),
            builds: 0,
            lag_rows: Vec::new(),
            copied: 0,
        }
    }

    /// A new task slot of key group `g` on `node`, the group's `other`.
    fn add_slot(&mut self, core: &mut Core, g: u32, node: NodeId, cx: &mut PCtx<'_, Self>) -> u32 {
        let i = core.add_task(node, cx.sem);
        self.group_of.push(g);
        self.memory.push(Memory::default());
        self.pairs[g as usize].other = Some(i);
        i
    }

    /// Slot `i` of key group `g` has a home: it runs the group if the group has no primary, and
    /// becomes its replica otherwise, on another node than the primary's (it waits idle while
    /// there is none).
    fn slot_live(&mut self, core: &mut Core, g: u32, i: u32, cx: &mut PCtx<'_, Self>) {
        if self.pairs[g as usize].orphan {
            return self.promote(core, g, i, cx);
        }
        let home = core.tasks[core.route[g as usize] as usize].node;
        if core.tasks[i as usize].node == home {
            match core.placement.next_after(home) {
                Some(n) => core.tasks[i as usize].node = n,
                None => {
                    self.pairs[g as usize].other = Some(i);
                    self.pairs[g as usize].standby = Standby::Idle;
                    return;
                }
            }
        }
        self.build(core, g, i, cx);
    }

    /// Slot `r` becomes the replica of key group `g`: held, fed from now on, and sent a copy of
    /// the primary's state.
    fn build(&mut self, core: &mut Core, g: u32, r: u32, cx: &mut PCtx<'_, Self>) {
        let primary = &core.tasks[core.route[g as usize] as usize];
        let snap = Snapshot {
            state: primary.state.clone(),
            seen: primary.seen.clone(),
        };
        let (from, to) = (primary.node, core.tasks[r as usize].node);
        self.builds += 1;
        let build = self.builds;
        let pair = &mut self.pairs[g as usize];
        pair.other = Some(r);
        pair.standby = Standby::Building(build);
        pair.pending.clear();
        pair.fired_sent = 0;
        pair.replica_seen.fill(0);
        pair.synced = false;
        self.memory[r as usize] = Memory::default();
        // The slot needs nothing the sources read so far: the copy and the scan at install
        // cover it.
        let read: Vec<u64> = core.sources.iter().map(|s| s.reader.next).collect();
        core.tasks[r as usize].received = read;
        core.hold(r);
        let bytes = HEADER_BYTES + snap.bytes(core.shape.bytes_per_key);
        let msg = AsMsg::Snapshot {
            group: g,
            task: r,
            build,
            snap: Box::new(snap),
        };
        cx.send_ft(from, to, bytes, Msg::Policy(msg));
    }

    /// The copy of build `build` reached slot `r` of key group `g`: it takes the state, reads
    /// what lies past it from the source log and becomes the replica.
    fn install(&mut self, core: &mut Core, g: u32, r: u32, build: u64, snap: Snapshot, cx: &mut PCtx<'_, Self>) {
        let pair = &mut self.pairs[g as usize];
        if pair.other != Some(r) || pair.standby != Standby::Building(build) {
            return;
        }
        pair.standby = Standby::Ready;
        pair.builds += 1;
        let t = &mut core.tasks[r as usize];
        t.state = snap.state;
        t.seen = snap.seen;
        let node = t.node;
        pair.catch_up = Some(core.sources.iter().map(|s| s.reader.next).collect());
        let gap = core.scan(r, g, cx);
        core.release(r, cx);
        let detail = format!(
            "key group {g}: replica built from a copy of its primary's state and {gap} records of the source log"
        );
        cx.log_event("replica-built", Some(node), detail);
    }

    /// The replica `r` of key group `g` takes over from its lost primary: it serves the group and
    /// shows the outputs it holds that were not known to be visible.
    fn take_over(&mut self, core: &mut Core, g: u32, r: u32, cx: &mut PCtx<'_, Self>) {
        let old = core.route[g as usize];
        core.route[g as usize] = r;
        let pair = &mut self.pairs[g as usize];
        pair.other = Some(old);
        pair.standby = Standby::Lost;
        pair.pending.clear();
        pair.takeovers += 1;
        let node = core.tasks[r as usize].node;
        let out = std::mem::take(&mut self.memory[r as usize].buffer);
        let detail = format!(
            "key group {g}: the replica takes over from node {}, showing {} held outputs",
            core.tasks[old as usize].node,
            out.len()
        );
        cx.log_event("takeover", Some(node), detail);
        cx.emit(node, out, None);
    }

    /// Slot `i` runs key group `g`, which has no other copy of its state: it is rebuilt from the
    /// source log.
    fn promote(&mut self, core: &mut Core, g: u32, i: u32, cx: &mut PCtx<'_, Self>) {
        let pair = &mut self.pairs[g as usize];
        let held = pair.other == Some(i) && matches!(pair.standby, Standby::Building(_));
        let old = core.route[g as usize];
        if old != i {
            core.route[g as usize] = i;
            pair.other = Some(old);
            pair.standby = Standby::Lost;
        }
        pair.orphan = false;
        pair.pending.clear();
        pair.scans += 1;
        // The slot applied no record, but an idle one heard watermarks: it starts from nothing.
        let t = &mut core.tasks[i as usize];
        t.state = cx.sem.new_state();
        t.seen.fill(0);
        let queued = core.scan(i, g, cx);
        if held {
            core.release(i, cx);
        }
        for o in &mut self.outages {
            o.groups.remove(&g);
        }
        let detail = format!("key group {g}: no copy of its state left; {queued} records read from the source log");
        cx.log_event("rebuilt-from-log", Some(core.tasks[i as usize].node), detail);
    }

    /// Reports every failure whose lost parts all run again.
    fn settle(&mut self, cx: &mut PCtx<'_, Self>) {
        self.outages.retain(|o| {
            let open = o.sources || !o.groups.is_empty();
            if !open {
                cx.restored(o.node);
            }
            open
        });
    }

    /// Every primary with a replica tells it what became visible since it last told.
    fn acknowledge(&mut self, core: &Core, cx: &mut PCtx<'_, Self>) {
        for (g, pair) in self.pairs.iter_mut().enumerate() {
            let (p, Some(r)) = (&core.tasks[core.route[g] as usize], pair.fed()) else {
                continue;
            };
            let fired = p.state.closed();
            if pair.orphan || p.lost || (pair.pending.is_empty() && fired == pair.fired_sent) {
                continue;
            }
            let counts: Vec<(u64, u64)> = std::mem::take(&mut pair.pending).into_iter().collect();
            pair.fired_sent = fired;
            let bytes = HEADER_BYTES + 16 * counts.len() as u64;
            let msg = AsMsg::Emitted {
                group: g as u32,
                task: r,
                counts,
                fired,
            };
            cx.send_ft(p.node, core.tasks[r as usize].node, bytes, Msg::Policy(msg));
        }
    }

    /// Key groups with a primary and no replica get one on the next worker, unless a standby node
    /// is on its way for them: a new slot, or the idle one once nothing is on its way to it.
    fn maintain(&mut self, core: &mut Core, cx: &mut PCtx<'_, Self>) {
        let awaited: BTreeSet<u32> = self.standby_for.values().flatten().copied().collect();
        for g in 0..self.pairs.len() as u32 {
            let pair = &self.pairs[g as usize];
            let p = &core.tasks[core.route[g as usize] as usize];
            if pair.orphan || p.lost || awaited.contains(&g) {
                continue;
            }
            match (pair.other, pair.standby) {
                (None, _) => {
                    if let Some(n) = core.placement.next_after(p.node) {
                        let i = self.add_slot(core, g, n, cx);
                        self.build(core, g, i, cx);
                    }
                }
                (Some(i), Standby::Idle) if core.tasks[i as usize].drained() => self.slot_live(core, g, i, cx),
                _ => {}
            }
        }
    }

    /// A row of `replica_lag.csv`: the largest lag of a ready replica behind its primary, in
    /// source records, and the outputs replicas hold.
    fn sample(&mut self, core: &Core, cx: &PCtx<'_, Self>) {
        let (mut worst, mut held) = (0, 0);
        for (g, pair) in self.pairs.iter_mut().enumerate() {
            let Some(r) = pair.ready() else { continue };
            let (p, r) = (&core.tasks[core.route[g] as usize], r as usize);
            let lag: u64 = p
                .seen
                .iter()
                .zip(&core.tasks[r].seen)
                .map(|(a, b)| a.saturating_sub(*b))
                .sum();
            pair.max_lag = pair.max_lag.max(lag);
            worst = worst.max(lag);
            held += self.memory[r].buffer.len() as u64;
        }
        self.lag_rows
            .push(vec![Cell::secs(Some(cx.now())), Cell::Int(worst), Cell::Int(held)]);
    }
}

impl Policy for ActiveStandby {
    type Msg = AsMsg;
    type Tag = AsTag;
    const REDEPLOY: &'static str = "replicas took over; lost sources and replica slots go to a spare or the survivors";

    fn start(&mut self, core: &mut Core, cx: &mut PCtx<'_, Self>) {
        let groups = self.pairs.len() as u32;
        if self.standby_nodes {
            for w in core.placement.workers().to_vec() {
                let mine: Vec<u32> = (0..groups).filter(|g| core.tasks[*g as usize].node == w).collect();
                if !mine.is_empty() {
                    self.standby_for.insert(w, mine);
                    cx.request_spare(w);
                }
            }
        } else {
            for g in 0..groups {
                if let Some(n) = core.placement.next_after(core.tasks[g as usize].node) {
                    // Nothing is shipped yet: the empty state is the primary's state.
                    self.add_slot(core, g, n, cx);
                    let pair = &mut self.pairs[g as usize];
                    pair.standby = Standby::Ready;
                    pair.synced = true;
                }
            }
        }
        cx.set_timer(self.cfg.ack_interval, Tag::Policy(AsTag::Ack));
        cx.set_timer(self.bucket, Tag::Policy(AsTag::Sample));
    }

    fn shipped(&mut self, core: &mut Core, part: u32, task: u32, batch: &Batch, cx: &mut PCtx<'_, Self>) {
        let g = self.group_of[task as usize];
        let Some(r) = self.pairs[g as usize].fed() else {
            return;
        };
        if core.tasks[r as usize].lost {
            return;
        }
        self.copied += batch.records.len() as u64;
        let s = &mut core.sources[part as usize];
        s.sent_wm[r as usize] = batch.wm;
        let from = s.reader.node;
        let copy = Batch {
            records: core.copy_records(&batch.records),
            ..*batch
        };
        core.send(from, r, copy, true, cx);
    }

    fn read_shipped(&mut self, _core: &mut Core, _part: u32, cx: &mut PCtx<'_, Self>) {
        // The copies count as records read again, once per read.
        cx.records(Flow::Read, std::mem::take(&mut self.copied));
    }

    fn applied(&mut self, core: &mut Core, task: u32, batch: &Batch, out: Vec<Output>, cx: &mut PCtx<'_, Self>) {
        let g = self.group_of[task as usize];
        let pair = &mut self.pairs[g as usize];
        let t = &core.tasks[task as usize];
        if core.route[g as usize] == task {
            pair.shown(cx.sem, &out);
            let shown = self.memory[task as usize].unknown(cx.sem, out);
            cx.emit(t.node, shown, None);
            let (part, upto) = (batch.part, batch.upto);
            if self.cfg.lock_step
                && pair.synced
                && pair.ready().is_some()
                && !batch.records.is_empty()
                && pair.replica_seen[part as usize] < upto
            {
                pair.wait = Some((part, upto));
                core.hold(task);
            }
            return;
        }
        let mem = &mut self.memory[task as usize];
        mem.keep(cx.sem, out);
        pair.max_buffered = pair.max_buffered.max(mem.buffer.len() as u64);
        if let Some(until) = &pair.catch_up
            && t.seen.iter().zip(until).all(|(s, u)| s >= u)
        {
            pair.catch_up = None;
        }
        if self.cfg.lock_step && pair.ready() == Some(task) && pair.catch_up.is_none() {
            let primary = core.route[g as usize];
            let msg = AsMsg::Applied {
                group: g,
                task: primary,
                replica: task,
                seen: t.seen.clone(),
            };
            let bytes = HEADER_BYTES + 8 * t.seen.len() as u64;
            cx.send_ft(t.node, core.tasks[primary as usize].node, bytes, Msg::Policy(msg));
        }
    }

    fn failed(&mut self, core: &mut Core, node: NodeId, cx: &mut PCtx<'_, Self>) -> Takeover {
        let sources = core.sources.iter().any(|s| s.lost && s.reader.node == node);
        for (i, t) in core.tasks.iter().enumerate() {
            if t.lost {
                self.memory[i] = Memory::default();
            }
        }
        let mut orphans = BTreeSet::new();
        for g in 0..self.pairs.len() as u32 {
            let p = core.route[g as usize];
            let pair = &mut self.pairs[g as usize];
            if let Some(r) = pair.other
                && core.tasks[r as usize].lost
                && pair.standby != Standby::None
            {
                pair.standby = Standby::Lost;
                pair.synced = false;
                if pair.wait.take().is_some() && !core.tasks[p as usize].lost {
                    core.release(p, cx);
                }
            }
            if !core.tasks[p as usize].lost || pair.orphan {
                continue;
            }
            pair.wait = None;
            match (pair.other, pair.standby) {
                (Some(r), Standby::Ready) => self.take_over(core, g, r, cx),
                (Some(r), Standby::Building(_) | Standby::Idle) => self.promote(core, g, r, cx),
                _ => {
                    pair.orphan = true;
                    orphans.insert(g);
                }
            }
        }
        self.outages.push(Outage {
            node,
            sources,
            groups: orphans,
        });
        self.settle(cx);
        // The replicas already run: the lost sources and task slots need no state, so they go
        // at once to the next live worker (the slots become replicas, moved on if that puts a
        // pair on one node), or to a spare if none is left.
        core.placement.next_after(node).map_or(Takeover::Spare, Takeover::On)
    }

    fn resume_at(&mut self, core: &Core, part: u32, _cx: &mut PCtx<'_, Self>) -> u64 {
        // It goes on where every live copy of a group had received all the lost source shipped
        // it: batches left on the wire still arrive and are deduped, none is overtaken (where it
        // stopped, unless the network fell behind).
        core.delivered(part)
    }

    fn placed(
        &mut self,
        core: &mut Core,
        failed: NodeId,
        _sources: &[u32],
        tasks: &[u32],
        cx: &mut PCtx<'_, Self>,
    ) -> bool {
        for o in self.outages.iter_mut().filter(|o| o.node == failed) {
            o.sources = false;
        }
        for &i in tasks {
            // Nothing was sent to a slot just placed: it may still move to another node.
            self.slot_live(core, self.group_of[i as usize], i, cx);
        }
        self.settle(cx);
        false
    }

    fn spare(&mut self, core: &mut Core, asked_for: NodeId, node: Option<NodeId>, cx: &mut PCtx<'_, Self>) {
        let Some(groups) = self.standby_for.remove(&asked_for) else {
            return;
        };
        // Without a spare, the next tick puts these replicas on workers.
        let Some(s) = node else {
            return;
        };
        core.placement.join(s);
        cx.log_event(
            "standby-ready",
            Some(s),
            format!("replicas of node {asked_for}'s key groups"),
        );
        for g in groups {
            if self.pairs[g as usize].other.is_none() {
                let i = self.add_slot(core, g, s, cx);
                self.slot_live(core, g, i, cx);
            }
        }
        self.settle(cx);
    }

    fn message(&mut self, core: &mut Core, _from: NodeId, _to: NodeId, msg: AsMsg, cx: &mut PCtx<'_, Self>) {
        match msg {
            AsMsg::Emitted {
                task, counts, fired, ..
            } => self.memory[task as usize].learn(cx.sem, &counts, fired),
            AsMsg::Snapshot {
                group,
                task,
                build,
                snap,
            } => self.install(core, group, task, build, *snap, cx),
            AsMsg::Applied {
                group,
                task,
                replica,
                seen,
            } => {
                let pair = &mut self.pairs[group as usize];
                if core.route[group as usize] != task || pair.ready() != Some(replica) {
                    return;
                }
                pair.synced = true;
                for (known, s) in pair.replica_seen.iter_mut().zip(seen) {
                    *known = (*known).max(s);
                }
                if let Some((p, upto)) = pair.wait
                    && pair.replica_seen[p as usize] >= upto
                {
                    pair.wait = None;
                    core.release(task, cx);
                }
            }
        }
    }

    fn tag(&mut self, core: &mut Core, tag: AsTag, cx: &mut PCtx<'_, Self>) {
        let again = !core.input_ended || !core.drained();
        match tag {
            AsTag::Ack => {
                self.acknowledge(core, cx);
                self.maintain(core, cx);
                if again {
                    cx.set_timer(self.cfg.ack_interval, Tag::Policy(AsTag::Ack));
                }
            }
            AsTag::Sample => {
                self.sample(core, cx);
                if again {
                    cx.set_timer(self.bucket, Tag::Policy(AsTag::Sample));
                }
            }
        }
    }

    fn drained(&self, _core: &Core) -> bool {
        self.outages.is_empty()
    }

    fn tables(&self) -> Vec<Table> {
        let columns = [
            "group",
            "takeovers",
            "replica_builds",
            "log_rebuilds",
            "max_lag_records",
            "max_held_outputs",
        ];
        let rows = self
            .pairs
            .iter()
            .enumerate()
            .map(|(g, p)| {
                [g as u64, p.takeovers, p.builds, p.scans, p.max_lag, p.max_buffered]
                    .map(Cell::Int)
                    .to_vec()
            })
            .collect();
        let replicas = Table {
            rows,
            ..Table::new("replicas", &columns)
        };
        let lag = Table {
            rows: self.lag_rows.clone(),
            charts: vec![TableChart {
                file: "replica_lag".into(),
                title: "largest lag of a replica behind its primary".into(),
                x: "t_s".into(),
                ys: vec!["max_lag_records".into()],
                y_label: "source records".into(),
            }],
            ..Table::new("replica_lag", &["t_s", "max_lag_records", "held_outputs"])
        };
        vec![replicas, lag]
    }
}
