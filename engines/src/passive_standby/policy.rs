//! The passive-standby policy: periodic checkpoints to a standby (with the copy's pause or copy
//! on write), log trimming when a checkpoint is held, takeover by the standby, and the fallbacks
//! when a checkpoint was lost with its standby.
//!
//! Invariants: `held[g]` is the last checkpoint of key group `g` that a live standby (or durable
//! storage) holds; a task whose checkpoint is lost checkpoints again at once. The upstream logs
//! of `g` may start past the offsets `held[g]` covers (they were trimmed by a checkpoint lost
//! since), so a task given back its state reads what lies below the logs' start again from the
//! durable source log before it applies the replay.

use super::{Config, Standby};
use crate::pipeline::{
    AckMsg, AckRounds, AckWire, Batch, Core, Msg, OutputLog, PCtx, Policy, Rebuilds, Scope, Snapshot, Tag, Takeover,
};
use ftsim_sim::engine::Scoped;
use ftsim_sim::{Cell, NodeId, Output, Scenario, SimDuration, SimTime, Table};
use std::rc::Rc;

/// Where a checkpoint is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Node(NodeId),
    Storage,
}

/// Messages.
#[derive(Debug)]
pub enum PsMsg {
    /// A checkpoint of key group `group` for its standby.
    Checkpoint {
        /// The key group.
        group: u32,
        /// The copy (boxed: every message of the engine is as large as its largest kind).
        snap: Box<Snapshot>,
        /// When it was started.
        started: SimTime,
    },
    /// A transmission of an acknowledgement: see [`AckRounds`].
    Ack(AckMsg),
}

/// Key group `group`'s checkpoint is held: its sources may drop what lies below `seen` (per
/// source). One message of the modelled system to each live source, travelling in an ack round.
#[derive(Debug)]
pub struct PsAck {
    /// The key group.
    group: u32,
    /// Per source, the offset the checkpoint covers.
    seen: Rc<[u64]>,
}

impl Scoped<Scope> for PsMsg {
    fn scope(&self) -> Option<Scope> {
        match self {
            // A copy sent by an earlier incarnation of the task is of no use.
            PsMsg::Checkpoint { group, .. } => Some(Scope::Task(*group)),
            PsMsg::Ack(_) => None,
        }
    }
}

/// Timers, work and storage operations.
#[derive(Debug)]
pub enum PsTag {
    /// Task `g` takes a checkpoint.
    Checkpoint(u32),
    /// Task `g`'s copy is made (the pause is over).
    Copied(u32),
    /// Task `g`'s checkpoint is durable in storage.
    Stored(u32),
    /// Task `g` read its checkpoint back from storage.
    Restored(u32),
    /// Ack round `round` reached `node` alive.
    AckReached(u64, NodeId),
    /// Ack round `round` arrives.
    AckArrive(u64),
}

impl Scoped<Scope> for PsTag {
    fn scope(&self) -> Option<Scope> {
        match self {
            PsTag::Checkpoint(g) | PsTag::Copied(g) | PsTag::Stored(g) | PsTag::Restored(g) => Some(Scope::Task(*g)),
            PsTag::AckReached(..) | PsTag::AckArrive(_) => None,
        }
    }
}

/// The passive-standby engine's state beside the dataflow.
pub struct PassiveStandby {
    cfg: Config,
    log: OutputLog,
    rebuilds: Rebuilds,
    held: Vec<Option<(Holder, Snapshot)>>,
    /// Per key group: a copy on its way (copy on write: its pages are held) and when it began.
    copying: Vec<Option<(Snapshot, SimTime)>>,
    acks: AckRounds<PsAck>,
    rows: Vec<Vec<Cell>>,
}

impl PassiveStandby {
    /// The policy for `sc` under `cfg`.
    pub fn new(sc: &Scenario, cfg: &Config) -> PassiveStandby {
        let (parts, groups) = (sc.workload.partitions, sc.job.parallelism);
        PassiveStandby {
            cfg: cfg.clone(),
            log: OutputLog::new(parts, groups),
            rebuilds: Rebuilds::new(parts),
            held: vec![None; groups as usize],
            copying: vec![None; groups as usize],
            acks: AckRounds::new(sc.cluster.network_latency),
            rows: Vec::new(),
        }
    }

    fn arm(&self, g: u32, after: SimDuration, cx: &mut PCtx<'_, Self>) {
        cx.set_timer(after, Tag::Policy(PsTag::Checkpoint(g)));
    }

    /// The copy of task `g` is made: it goes to the standby or to storage.
    fn send_copy(&mut self, core: &Core, g: u32, snap: Snapshot, started: SimTime, cx: &mut PCtx<'_, Self>) {
        let node = core.tasks[g as usize].node;
        let bytes = snap.bytes(core.shape.bytes_per_key);
        let standby = match self.cfg.standby {
            Standby::Peer => core.placement.next_after(node),
            Standby::Storage => None,
        };
        match standby {
            Some(s) => {
                let msg = PsMsg::Checkpoint {
                    group: g,
                    snap: Box::new(snap),
                    started,
                };
                cx.send_ft(node, s, bytes, Msg::Policy(msg));
            }
            None => {
                cx.storage_write(node, bytes, true, Tag::Policy(PsTag::Stored(g)));
                self.copying[g as usize] = Some((snap, started));
            }
        }
    }

    /// Task `g` was given back its state (a checkpoint, or nothing): if an upstream log starts
    /// past what that state covers, the log cannot replay the gap (a later checkpoint, since
    /// lost, trimmed it), so the task reads it again from the durable source log.
    fn fill_gap(&self, core: &mut Core, g: u32, cx: &mut PCtx<'_, Self>) {
        let t = &core.tasks[g as usize];
        let behind = (0..core.sources.len() as u32).any(|p| self.log.start(p, g) > t.seen[p as usize]);
        if behind {
            let home = t.node;
            cx.log_event("scan", Some(home), format!("key group {g} rebuilt from the source log"));
            core.scan(g, g, cx);
        }
    }

    /// `holder` now holds checkpoint `snap` of key group `g`: the upstreams trim their logs.
    fn hold(&mut self, core: &Core, g: u32, holder: Holder, snap: Snapshot, started: SimTime, cx: &mut PCtx<'_, Self>) {
        let from = match holder {
            Holder::Node(n) => n,
            Holder::Storage => core.tasks[g as usize].node,
        };
        let ack = PsAck {
            group: g,
            seen: snap.seen.as_slice().into(),
        };
        self.acks.send(&core.sources, from, ack, &WIRE, cx);
        let bytes = snap.bytes(core.shape.bytes_per_key);
        let pause = if self.cfg.copy_on_write {
            0.0
        } else {
            bytes as f64 / (self.cfg.copy_rate * 1e6)
        };
        self.rows.push(vec![
            Cell::Int(u64::from(g)),
            Cell::secs(Some(started)),
            Cell::Num(pause),
            Cell::Int(bytes),
            Cell::Int(if self.cfg.copy_on_write { bytes } else { 0 }),
            Cell::secs(Some(cx.now())),
            Cell::Text(match holder {
                Holder::Node(_) => "peer",
                Holder::Storage => "storage",
            }),
        ]);
        self.held[g as usize] = Some((holder, snap));
    }
}

/// How the engine's messages and tags carry its ack rounds.
const WIRE: AckWire<PsMsg, PsTag> = AckWire {
    msg: PsMsg::Ack,
    reached: PsTag::AckReached,
    arrive: PsTag::AckArrive,
};

impl Policy for PassiveStandby {
    type Msg = PsMsg;
    type Tag = PsTag;
    const REDEPLOY: &'static str = "a spare takes the lost tasks; upstreams replay their logs";

    fn start(&mut self, core: &mut Core, cx: &mut PCtx<'_, Self>) {
        for g in 0..core.tasks.len() as u32 {
            self.arm(g, self.cfg.checkpoint_interval, cx);
        }
    }

    fn shipped(&mut self, _core: &mut Core, part: u32, task: u32, batch: &Batch, cx: &mut PCtx<'_, Self>) {
        self.log.push(part, task, batch, cx.sem);
    }

    fn applied(&mut self, core: &mut Core, task: u32, _batch: &Batch, out: Vec<Output>, cx: &mut PCtx<'_, Self>) {
        cx.emit(core.tasks[task as usize].node, out, None);
        self.rebuilds.applied(core, task, cx.now());
    }

    fn failed(&mut self, core: &mut Core, node: NodeId, cx: &mut PCtx<'_, Self>) -> Takeover {
        self.rebuilds.sources_lost(core, &mut self.log);
        self.acks.close();
        // Checkpoints held by the failed node are gone: their tasks checkpoint again at once.
        for g in 0..self.held.len() {
            if matches!(self.held[g], Some((Holder::Node(n), _)) if n == node) {
                self.held[g] = None;
                if !core.tasks[g].lost {
                    self.arm(g as u32, SimDuration::ZERO, cx);
                }
            }
        }
        let standby = core
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.lost && t.node == node)
            .find_map(|(g, _)| match self.held[g] {
                Some((Holder::Node(s), _)) if core.placement.workers().contains(&s) => Some(s),
                _ => None,
            });
        standby.map_or(Takeover::Spare, Takeover::On)
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
            self.arm(g, self.cfg.checkpoint_interval, cx);
        }
        for &g in tasks {
            let home = core.tasks[g as usize].node;
            match self.held[g as usize].clone() {
                Some((Holder::Storage, snap)) => {
                    let bytes = snap.bytes(core.shape.bytes_per_key);
                    cx.storage_read(home, bytes, Tag::Policy(PsTag::Restored(g)));
                }
                Some((Holder::Node(_), snap)) => {
                    let t = &mut core.tasks[g as usize];
                    t.state = snap.state;
                    t.seen = snap.seen;
                    self.fill_gap(core, g, cx);
                    self.rebuilds.state_back(core, g, 0, cx);
                }
                None => {
                    // Nothing held: the task starts empty (`seen` all zero).
                    self.fill_gap(core, g, cx);
                    self.rebuilds.state_back(core, g, 0, cx);
                }
            }
        }
        tasks.is_empty()
    }

    fn message(&mut self, core: &mut Core, _from: NodeId, to: NodeId, msg: PsMsg, cx: &mut PCtx<'_, Self>) {
        match msg {
            PsMsg::Checkpoint { group, snap, started } => {
                self.hold(core, group, Holder::Node(to), *snap, started, cx);
            }
            PsMsg::Ack(m) => {
                if let Some(local) = self.acks.message(m, &core.sources) {
                    let ack = local.ack;
                    self.log.trim_seen(ack.group, |p| local.parts.contains(&p), &ack.seen);
                }
            }
        }
    }

    fn tag(&mut self, core: &mut Core, tag: PsTag, cx: &mut PCtx<'_, Self>) {
        match tag {
            PsTag::Checkpoint(g) => {
                self.arm(g, self.cfg.checkpoint_interval, cx);
                let t = &core.tasks[g as usize];
                if self.cfg.copy_on_write {
                    let snap = Snapshot {
                        state: t.state.clone(),
                        seen: t.seen.clone(),
                    };
                    self.send_copy(core, g, snap, cx.now(), cx);
                } else {
                    let bytes = t.state.size_bytes(core.shape.bytes_per_key);
                    let pause = SimDuration::from_secs(1).scale(bytes as f64 / (self.cfg.copy_rate * 1e6));
                    let node = t.node;
                    core.hold(g);
                    cx.compute(node, pause, Tag::Policy(PsTag::Copied(g)));
                }
            }
            PsTag::Copied(g) => {
                let t = &core.tasks[g as usize];
                let snap = Snapshot {
                    state: t.state.clone(),
                    seen: t.seen.clone(),
                };
                core.release(g, cx);
                self.send_copy(core, g, snap, cx.now(), cx);
            }
            PsTag::Stored(g) => {
                if let Some((snap, started)) = self.copying[g as usize].take() {
                    self.hold(core, g, Holder::Storage, snap, started, cx);
                }
            }
            PsTag::Restored(g) => {
                if let Some((_, snap)) = self.held[g as usize].clone() {
                    let t = &mut core.tasks[g as usize];
                    t.state = snap.state;
                    t.seen = snap.seen;
                }
                self.fill_gap(core, g, cx);
                self.rebuilds.state_back(core, g, 0, cx);
            }
            PsTag::AckReached(round, node) => self.acks.reached(round, node),
            PsTag::AckArrive(round) => {
                let Some(arrived) = self.acks.arrive(round, &core.sources) else {
                    return;
                };
                for (from, ack) in &arrived.acks {
                    self.log.trim_seen(ack.group, |p| arrived.hears(p, *from), &ack.seen);
                }
            }
        }
    }

    fn drained(&self, _core: &Core) -> bool {
        self.rebuilds.all_back()
    }

    fn tables(&self) -> Vec<Table> {
        let columns = ["task", "start_s", "pause_s", "bytes", "cow_bytes", "held_s", "holder"];
        let checkpoints = Table {
            rows: self.rows.clone(),
            ..Table::new("checkpoints", &columns)
        };
        vec![checkpoints, self.rebuilds.table()]
    }
}
