//! The `flink-abs` state machine: its state and the dispatch of kernel events. The dataflow
//! (reading, buffers, credits, applying), the checkpoint protocol and recovery live in
//! `dataflow.rs`, `checkpoint.rs` and `recovery.rs` as further `impl` blocks.
//!
//! Invariants: while `running` is false (between a failure's detection and the end of the
//! restore) no task reads, sends or applies anything; everything issued in an earlier attempt
//! is ignored when it comes back; `open_txns` lists the sink transactions that received
//! emissions and are neither committed nor aborted.

use super::config::{Config, Mode};
use super::coord::Coordinator;
use super::msg::{Msg, Tag, Who};
use super::source::Source;
use super::task::Task;
use ftsim_sim::engine::{Ctx, Engine, Event, Table};
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{NodeId, PartitionId, Scenario, SimDuration, SimTime, TxnId};
use std::collections::{BTreeSet, VecDeque};

/// What a restart is waiting for.
#[derive(Debug, Default)]
pub(super) struct Recovery {
    /// The fixed restart delay is over.
    pub delay_done: bool,
    /// Spare requests not answered yet.
    pub spares_wanted: usize,
    /// The coordinator's node is down.
    pub master_wanted: bool,
    /// Failed worker nodes waiting for a replacement, oldest first.
    pub lost: VecDeque<NodeId>,
    /// Failed nodes to report restored once every task runs again.
    pub report: Vec<NodeId>,
    /// Checkpoint reads issued.
    pub deployed: bool,
    /// Checkpoint reads not finished.
    pub reads_left: usize,
}

/// The engine.
pub struct FlinkAbs {
    pub(super) cfg: Config,
    /// Records per network buffer (`buffer_size / record_bytes`, at least one).
    pub(super) buffer_records: usize,
    pub(super) record_bytes: u64,
    pub(super) stateless_cost: SimDuration,
    pub(super) state_cost: SimDuration,
    pub(super) bytes_per_key: u64,
    pub(super) windowed: bool,
    pub(super) transactional: bool,
    pub(super) master: NodeId,
    pub(super) master_alive: bool,
    pub(super) sources: Vec<Source>,
    pub(super) tasks: Vec<Task>,
    pub(super) ends: Vec<u64>,
    pub(super) end_wm: Vec<SimTime>,
    pub(super) workers: Vec<NodeId>,
    pub(super) attempt: u32,
    pub(super) running: bool,
    pub(super) coord: Coordinator,
    pub(super) open_txns: BTreeSet<(u64, u32)>,
    pub(super) recovery: Option<Recovery>,
    pub(super) input_ended: bool,
    pub(super) final_id: Option<u64>,
}

impl FlinkAbs {
    /// A fresh engine for `sc` with checked `params`.
    pub fn new(sc: &Scenario, cfg: &Config) -> Self {
        let cfg = cfg.clone();
        let workers: Vec<NodeId> = sc.cluster.workers().collect();
        let parts = sc.workload.partitions as usize;
        let par = sc.job.parallelism as usize;
        let sem = ftsim_sim::Semantics::new(&sc.job, sc.workload.partitions);
        let blocking = cfg.mode == Mode::Aligned;
        let sources = crate::common::round_robin(parts as u32, &workers, 0)
            .into_iter()
            .map(|n| Source::new(n, 0, par, cfg.credits))
            .collect();
        let tasks = crate::common::round_robin(par as u32, &workers, 0)
            .into_iter()
            .map(|n| Task::new(n, sem.new_state(), parts, blocking, 1))
            .collect();
        FlinkAbs {
            buffer_records: (cfg.buffer_size / sc.workload.record_bytes.max(1)).max(1) as usize,
            record_bytes: sc.workload.record_bytes,
            stateless_cost: sc.job.stateless_cost(),
            state_cost: sc.job.state_cost,
            bytes_per_key: sc.job.state_bytes_per_key,
            windowed: sc.job.kind == JobKind::WindowCount,
            transactional: sc.job.sink == SinkMode::Transactional,
            master: sc.cluster.master(),
            master_alive: true,
            sources,
            tasks,
            ends: Vec::new(),
            end_wm: Vec::new(),
            workers,
            attempt: 0,
            running: false,
            coord: Coordinator::new(),
            open_txns: BTreeSet::new(),
            recovery: None,
            input_ended: false,
            final_id: None,
            cfg,
        }
    }

    /// The sink transaction of task `task` for the checkpoint `ckpt` that will close it.
    pub(super) fn txn(ckpt: u64, task: u32) -> TxnId {
        TxnId((ckpt << 20) | u64::from(task))
    }

    /// Every record read, sent and applied, final watermarks included.
    pub(super) fn drained(&self) -> bool {
        self.running
            && self.sources.iter().enumerate().all(|(p, s)| {
                s.next == self.ends[p]
                    && s.drained()
                    && (!self.windowed || s.sent_wm.iter().all(|w| *w >= self.end_wm[p]))
            })
            && self.tasks.iter().all(Task::drained)
    }

    /// At the end of input, once everything is processed, takes the final checkpoint that
    /// commits the last transactions (Flink 1.14+: final checkpoint on end of input).
    fn maybe_final(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        if self.input_ended
            && self.final_id.is_none()
            && self.coord.pending.is_none()
            && self.master_alive
            && self.drained()
        {
            self.trigger(cx, true);
        }
    }
}

impl Engine for FlinkAbs {
    type Msg = Msg;
    type Tag = Tag;
    type Scope = ();

    fn start(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        self.ends = (0..cx.log.partitions()).map(|p| cx.log.len(PartitionId(p))).collect();
        self.end_wm = (0..cx.log.partitions())
            .map(|p| cx.log.watermark_at(PartitionId(p), u64::MAX))
            .collect();
        self.start_job(cx);
    }

    fn handle(&mut self, ev: Event<Msg, Tag>, cx: &mut Ctx<'_, Msg, Tag>) {
        match ev {
            Event::Message { msg, .. } => self.on_message(msg, cx),
            Event::Timer { tag, .. } => match tag {
                Tag::Poll { part, attempt } if attempt == self.attempt => {
                    self.sources[part as usize].poll_armed = false;
                    self.poll(part, cx);
                }
                Tag::Flush { attempt } if attempt == self.attempt && self.running => {
                    for p in 0..self.sources.len() as u32 {
                        self.flush(p, cx);
                    }
                    cx.set_timer(self.cfg.buffer_timeout, Tag::Flush { attempt });
                }
                Tag::Trigger { generation } if generation == self.coord.generation => self.trigger(cx, false),
                Tag::AlignTimeout { attempt, id } if attempt == self.attempt => self.align_timeout(id, cx),
                Tag::RestartDue { attempt } if attempt == self.attempt => {
                    if let Some(r) = self.recovery.as_mut() {
                        r.delay_done = true;
                    }
                    self.try_deploy(cx);
                }
                _ => {}
            },
            Event::WorkDone { tag, .. } => match tag {
                Tag::Read {
                    part,
                    attempt,
                    from,
                    to,
                } if attempt == self.attempt => self.read_done(part, from, to, cx),
                Tag::Applied { task, attempt } if attempt == self.attempt => self.applied(task, cx),
                _ => {}
            },
            Event::StorageDone { tag, .. } => match tag {
                Tag::Written { who, attempt, id } if attempt == self.attempt => self.written(who, id, cx),
                Tag::Restored { attempt } if attempt == self.attempt => self.restore_read(cx),
                _ => {}
            },
            Event::NodeFailed { node } => self.on_failure(node, cx),
            Event::SpareReady { node, .. } => self.on_spare(node, cx),
            Event::NodeRestarted { node } => {
                if node == self.master {
                    self.master_alive = true;
                    if let Some(r) = self.recovery.as_mut() {
                        r.master_wanted = false;
                    }
                    self.try_deploy(cx);
                }
            }
            Event::InputEnded => self.input_ended = true,
        }
        self.maybe_final(cx);
    }

    fn finished(&self) -> bool {
        self.input_ended
            && self
                .final_id
                .is_some_and(|f| self.coord.completed.as_ref().is_some_and(|c| c.id >= f))
            && self.drained()
    }

    fn tables(&self) -> Vec<Table> {
        vec![self.coord.table()]
    }
}

impl FlinkAbs {
    fn on_message(&mut self, msg: Msg, cx: &mut Ctx<'_, Msg, Tag>) {
        match msg {
            Msg::Data {
                attempt,
                part,
                task,
                records,
                wm,
            } if attempt == self.attempt && self.running => self.on_data(part, task, records, wm, cx),
            Msg::Barrier {
                attempt,
                part,
                task,
                id,
                started,
            } if attempt == self.attempt && self.running => self.on_barrier(part, task, id, started, cx),
            Msg::Credit { attempt, part, task } if attempt == self.attempt && self.running => {
                self.on_credit(part, task, cx)
            }
            Msg::Trigger {
                attempt,
                id,
                part,
                started,
            } if attempt == self.attempt && self.running => self.source_snapshot(part, id, started, cx),
            Msg::Ack { attempt, id, who } if attempt == self.attempt => self.on_ack(id, who, cx),
            _ => {}
        }
    }

    /// Sends the acknowledgement of `who` for checkpoint `id` to the coordinator.
    pub(super) fn ack(&mut self, who: Who, id: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let node = match who {
            Who::Source(p) => self.sources[p as usize].node,
            Who::Task(i) => self.tasks[i as usize].node,
        };
        cx.send_ft(
            node,
            self.master,
            64,
            Msg::Ack {
                attempt: self.attempt,
                id,
                who,
            },
        );
    }
}
