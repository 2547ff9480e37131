//! The upstream-backup policy on the pipelined core: logging what sources ship, acknowledgements
//! and trimming, checkpoints, and the recovery of a failed node's tasks from checkpoint and replay.
//!
//! Invariants: the log of `p → g` holds every batch source `p` shipped to key group `g` since the
//! last point `g`'s task acknowledged; a moved task applies nothing until it has its state back
//! (held); a failure's `restored` is reported once every task it moved has its state back.

use super::Config;
use crate::pipeline::{
    AckMsg, AckRounds, AckWire, Batch, Core, OutputLog, PCtx, Policy, Rebuilds, Scope, Snapshot, Takeover,
};
use ftsim_sim::engine::Scoped;
use ftsim_sim::scenario::JobKind;
use ftsim_sim::{Cell, NodeId, Output, Scenario, Table, TableChart};
use std::rc::Rc;

/// Key group `group`'s task no longer needs from its sources what lies below `seen` (its durable
/// checkpoint, per source) or counts only in windows firing at or before `fired`: one message of
/// the modelled system to each live source, travelling in an ack round.
#[derive(Debug)]
pub struct UbAck {
    /// The key group.
    group: u32,
    /// Per source, the offset covered by the task's durable checkpoint.
    seen: Option<Rc<[u64]>>,
    /// Instant up to which the task's windows have fired.
    fired: u64,
}

/// Messages between tasks and their upstreams.
#[derive(Debug)]
pub enum UbMsg {
    /// A transmission of an acknowledgement: see [`AckRounds`].
    Ack(AckMsg),
}

impl Scoped<Scope> for UbMsg {}

/// Timers and storage operations.
#[derive(Debug)]
pub enum UbTag {
    /// Task `g` acknowledges its fired windows.
    AckTick(u32),
    /// Task `g` takes a checkpoint.
    Checkpoint(u32),
    /// Task `g`'s checkpoint is durable.
    Written(u32),
    /// Task `g` read its checkpoint back.
    Restored(u32),
    /// Sample the logs' size.
    Sample,
    /// Look for tasks too slow to keep.
    SlowCheck,
    /// Ack round `round` reached `node` alive.
    AckReached(u64, NodeId),
    /// Ack round `round` arrives.
    AckArrive(u64),
}

impl Scoped<Scope> for UbTag {
    fn scope(&self) -> Option<Scope> {
        match self {
            UbTag::AckTick(g) | UbTag::Checkpoint(g) | UbTag::Written(g) | UbTag::Restored(g) => Some(Scope::Task(*g)),
            UbTag::Sample | UbTag::SlowCheck | UbTag::AckReached(..) | UbTag::AckArrive(_) => None,
        }
    }
}

/// The upstream-backup engine's state beside the dataflow.
pub struct UpstreamBackup {
    cfg: Config,
    windowed: bool,
    bucket: ftsim_sim::SimDuration,
    log: OutputLog,
    /// Per key group: the last durable checkpoint, and one being written.
    durable: Vec<Option<Snapshot>>,
    writing: Vec<Option<Snapshot>>,
    /// Per key group: the fired frontier its upstreams know.
    fired: Vec<u64>,
    rebuilds: Rebuilds,
    abandon: Vec<NodeId>,
    acks: AckRounds<UbAck>,
    log_rows: Vec<Vec<Cell>>,
}

impl UpstreamBackup {
    /// The policy for `sc` under `cfg`.
    pub fn new(sc: &Scenario, cfg: &Config) -> UpstreamBackup {
        let (parts, groups) = (sc.workload.partitions, sc.job.parallelism);
        UpstreamBackup {
            cfg: cfg.clone(),
            windowed: sc.job.kind == JobKind::WindowCount,
            bucket: sc.run.bucket,
            log: OutputLog::new(parts, groups),
            durable: vec![None; groups as usize],
            writing: vec![None; groups as usize],
            fired: vec![0; groups as usize],
            rebuilds: Rebuilds::new(parts),
            abandon: Vec::new(),
            acks: AckRounds::new(sc.cluster.network_latency),
            log_rows: Vec::new(),
        }
    }

    /// Arms task `g`'s periodic acknowledgements and checkpoints (a new incarnation).
    fn arm(&self, g: u32, cx: &mut PCtx<'_, Self>) {
        if self.windowed {
            cx.set_timer(self.cfg.ack_interval, crate::pipeline::Tag::Policy(UbTag::AckTick(g)));
        }
        if self.cfg.checkpoint_interval > ftsim_sim::SimDuration::ZERO {
            let tag = crate::pipeline::Tag::Policy(UbTag::Checkpoint(g));
            cx.set_timer(self.cfg.checkpoint_interval, tag);
        }
    }

    /// Task `g` tells every live upstream what it no longer needs.
    fn acknowledge(&mut self, core: &Core, g: u32, seen: Option<Rc<[u64]>>, cx: &mut PCtx<'_, Self>) {
        let t = &core.tasks[g as usize];
        let ack = UbAck {
            group: g,
            seen,
            fired: t.state.closed(),
        };
        self.acks.send(&core.sources, t.node, ack, &WIRE, cx);
    }

    /// Ack round `round` arrives: the sources on other nodes it reached hear its
    /// acknowledgements.
    fn acknowledged(&mut self, core: &Core, round: u64) {
        let Some(arrived) = self.acks.arrive(round, &core.sources) else {
            return;
        };
        for (from, ack) in &arrived.acks {
            if arrived.any_hears(*from) {
                let heard = |p| arrived.hears(p, *from);
                hear(&mut self.log, &mut self.fired, self.windowed, ack, heard);
            }
        }
    }
}

/// The sources `p` that `heard(p)` (at least one) hear `ack`: they trim their logs, and the
/// task's fired frontier is known upstream.
fn hear(log: &mut OutputLog, fired: &mut [u64], windowed: bool, ack: &UbAck, heard: impl Fn(u32) -> bool) {
    if let Some(seen) = &ack.seen {
        log.trim_seen(ack.group, &heard, seen);
    }
    if windowed {
        fired[ack.group as usize] = fired[ack.group as usize].max(ack.fired);
        log.trim_fired(ack.group, &heard, ack.fired);
    }
}

/// How the engine's messages and tags carry its ack rounds.
const WIRE: AckWire<UbMsg, UbTag> = AckWire {
    msg: UbMsg::Ack,
    reached: UbTag::AckReached,
    arrive: UbTag::AckArrive,
};

impl Policy for UpstreamBackup {
    type Msg = UbMsg;
    type Tag = UbTag;
    const REDEPLOY: &'static str = "a standby takes the lost tasks; upstreams replay their logs";

    fn start(&mut self, core: &mut Core, cx: &mut PCtx<'_, Self>) {
        for g in 0..core.tasks.len() as u32 {
            self.arm(g, cx);
        }
        cx.set_timer(self.bucket, crate::pipeline::Tag::Policy(UbTag::Sample));
        if self.cfg.slowness_threshold > ftsim_sim::SimDuration::ZERO {
            cx.set_timer(
                self.cfg.slowness_threshold,
                crate::pipeline::Tag::Policy(UbTag::SlowCheck),
            );
        }
    }

    fn shipped(&mut self, _core: &mut Core, part: u32, task: u32, batch: &Batch, cx: &mut PCtx<'_, Self>) {
        self.log.push(part, task, batch, cx.sem);
    }

    fn applied(&mut self, core: &mut Core, task: u32, batch: &Batch, out: Vec<Output>, cx: &mut PCtx<'_, Self>) {
        let _ = batch;
        cx.emit(core.tasks[task as usize].node, out, None);
        self.rebuilds.applied(core, task, cx.now());
    }

    fn failed(&mut self, core: &mut Core, _node: NodeId, _cx: &mut PCtx<'_, Self>) -> Takeover {
        // A lost source's logs are gone with it; it will read again from where they began.
        self.rebuilds.sources_lost(core, &mut self.log);
        self.acks.close();
        Takeover::Spare
    }

    fn resume_at(&mut self, _core: &Core, part: u32, _cx: &mut PCtx<'_, Self>) -> u64 {
        self.log.resume_at(part)
    }

    fn placed(
        &mut self,
        core: &mut Core,
        failed: NodeId,
        _sources: &[u32],
        tasks: &[u32],
        cx: &mut PCtx<'_, Self>,
    ) -> bool {
        self.acks.close();
        if !tasks.is_empty() {
            self.rebuilds.answer(failed);
        }
        for &g in tasks {
            self.rebuilds.begin(core, &self.log, g, failed, cx);
            self.arm(g, cx);
        }
        for &g in tasks {
            match &self.durable[g as usize] {
                Some(ck) => {
                    let bytes = ck.bytes(core.shape.bytes_per_key);
                    let node = core.tasks[g as usize].node;
                    cx.storage_read(node, bytes, crate::pipeline::Tag::Policy(UbTag::Restored(g)));
                }
                None => self.rebuilds.state_back(core, g, self.fired[g as usize], cx),
            }
        }
        // `restored` comes from the rebuilds once every moved task has its state back (at once
        // if only sources moved).
        tasks.is_empty()
    }

    fn message(&mut self, core: &mut Core, _from: NodeId, _to: NodeId, msg: UbMsg, _cx: &mut PCtx<'_, Self>) {
        let UbMsg::Ack(m) = msg;
        if let Some(local) = self.acks.message(m, &core.sources) {
            let heard = |p| local.parts.contains(&p);
            hear(&mut self.log, &mut self.fired, self.windowed, local.ack, heard);
        }
    }

    fn tag(&mut self, core: &mut Core, tag: UbTag, cx: &mut PCtx<'_, Self>) {
        let policy = crate::pipeline::Tag::Policy;
        match tag {
            UbTag::AckTick(g) => {
                self.acknowledge(core, g, None, cx);
                cx.set_timer(self.cfg.ack_interval, policy(UbTag::AckTick(g)));
            }
            UbTag::Checkpoint(g) => {
                let t = &core.tasks[g as usize];
                let snap = Snapshot {
                    state: t.state.clone(),
                    seen: t.seen.clone(),
                };
                cx.storage_write(
                    t.node,
                    snap.bytes(core.shape.bytes_per_key),
                    true,
                    policy(UbTag::Written(g)),
                );
                self.writing[g as usize] = Some(snap);
                cx.set_timer(self.cfg.checkpoint_interval, policy(UbTag::Checkpoint(g)));
            }
            UbTag::Written(g) => {
                if let Some(snap) = self.writing[g as usize].take() {
                    self.acknowledge(core, g, Some(snap.seen.as_slice().into()), cx);
                    self.durable[g as usize] = Some(snap);
                }
            }
            UbTag::Restored(g) => {
                if let Some(ck) = &self.durable[g as usize] {
                    let t = &mut core.tasks[g as usize];
                    t.state = ck.state.clone();
                    t.seen = ck.seen.clone();
                }
                self.rebuilds.state_back(core, g, self.fired[g as usize], cx);
            }
            UbTag::Sample => {
                let records = self.log.records();
                self.log_rows.push(vec![
                    Cell::secs(Some(cx.now())),
                    Cell::Int(records),
                    Cell::Int(records * core.shape.record_bytes),
                ]);
                if !core.input_ended || !core.drained() {
                    cx.set_timer(self.bucket, policy(UbTag::Sample));
                }
            }
            UbTag::AckReached(round, node) => self.acks.reached(round, node),
            UbTag::AckArrive(round) => {
                self.acknowledged(core, round);
            }
            UbTag::SlowCheck => {
                let now = cx.now();
                let threshold = self.cfg.slowness_threshold;
                // A task working through a replay is behind by design, not slow.
                let live = core
                    .tasks
                    .iter()
                    .enumerate()
                    .filter(|(g, t)| !t.lost && !self.rebuilds.rebuilding(*g as u32));
                for (_, t) in live {
                    let waiting = t.queue.front().is_some_and(|(at, _)| now.since(*at) > threshold);
                    if waiting && !self.abandon.contains(&t.node) {
                        self.abandon.push(t.node);
                    }
                }
                if !core.input_ended || !core.drained() {
                    cx.set_timer(threshold, policy(UbTag::SlowCheck));
                }
            }
        }
    }

    fn abandoned(&mut self) -> Vec<NodeId> {
        std::mem::take(&mut self.abandon)
    }

    fn drained(&self, _core: &Core) -> bool {
        self.rebuilds.all_back()
    }

    fn tables(&self) -> Vec<Table> {
        let chart = |file: &str, title: &str, x: &str, ys: &[&str], y_label: &str| TableChart {
            file: file.into(),
            title: title.into(),
            x: x.into(),
            ys: ys.iter().map(|s| s.to_string()).collect(),
            y_label: y_label.into(),
        };
        let log = Table {
            rows: self.log_rows.clone(),
            charts: vec![chart(
                "log",
                "records held in the upstream logs",
                "t_s",
                &["records"],
                "records",
            )],
            ..Table::new("log", &["t_s", "records", "bytes"])
        };
        vec![log, self.rebuilds.table()]
    }
}
