//! The `flink-abs` state machine: its state and the dispatch of kernel events. The dataflow
//! (reading, buffers, credits, applying), the checkpoint protocol and recovery live in
//! `dataflow.rs`, `checkpoint.rs` and `recovery.rs` as further `impl` blocks.
//!
//! Invariants: while `running` is false (between a failure's detection and the end of the
//! restore) no task reads, sends or applies anything; everything issued in an earlier attempt
//! is dropped by the kernel when it comes back (the job's incarnation is the attempt);
//! `open_txns` lists the sink transactions that received emissions and are neither committed
//! nor aborted.

use super::config::{Config, Mode};
use super::coord::Coordinator;
use super::msg::{Msg, Scope, Tag, Who};
use super::source::Source;
use super::task::Task;
use crate::pipeline::{CoreTag, Placement, ReadCfg, Shape};
use ftsim_sim::engine::{Ctx, Engine, Event, Flow, Table};
use ftsim_sim::planted::Planted;
use ftsim_sim::{NodeId, PartitionId, Scenario, SimTime, TxnId};
use std::collections::BTreeSet;

/// What a restart is waiting for.
#[derive(Debug, Default)]
pub(super) struct Recovery {
    /// The fixed restart delay is over.
    pub delay_done: bool,
    /// Failed worker nodes whose spare (or its absence) is not known yet.
    pub lost: Vec<NodeId>,
    /// Failed worker nodes whose tasks found no home: they wait for a worker to come back.
    pub homeless: Vec<NodeId>,
    /// The coordinator's node is down.
    pub master_wanted: bool,
    /// Failed nodes to report restored once every task runs again.
    pub report: Vec<NodeId>,
    /// Checkpoint reads issued.
    pub deployed: bool,
    /// Checkpoint reads not finished.
    pub reads_left: usize,
}

/// A source's bare watermark on every channel but those in `skip` (ascending).
#[derive(Debug)]
pub(super) struct Broadcast {
    pub part: u32,
    pub wm: SimTime,
    pub skip: Vec<u32>,
}

/// The engine.
pub struct FlinkAbs {
    pub(super) cfg: Config,
    /// Records per network buffer (`buffer_size / record_bytes`, at least one).
    pub(super) buffer_records: usize,
    pub(super) shape: Shape,
    pub(super) read: ReadCfg,
    pub(super) master_alive: bool,
    pub(super) sources: Vec<Source>,
    pub(super) tasks: Vec<Task>,
    pub(super) ends: Vec<u64>,
    pub(super) end_wm: Vec<SimTime>,
    pub(super) placement: Placement,
    /// The job's attempt: its incarnation.
    pub(super) attempt: u32,
    pub(super) running: bool,
    pub(super) coord: Coordinator,
    pub(super) open_txns: BTreeSet<(u64, u32)>,
    pub(super) recovery: Option<Recovery>,
    pub(super) input_ended: bool,
    pub(super) final_id: Option<u64>,
    /// Watermark broadcasts of this attempt sent and not yet delivered.
    pub(super) wm_in_flight: u32,
    /// Watermark broadcasts delivered at this instant, in arrival order, not yet taken.
    pub(super) wm_arrived: Vec<Broadcast>,
    /// Bugs a test planted.
    pub(super) planted: Planted,
}

impl FlinkAbs {
    /// A fresh engine for `sc` with checked `params`.
    pub fn new(sc: &Scenario, cfg: &Config) -> Self {
        let cfg = cfg.clone();
        let shape = Shape::of(sc);
        let placement = Placement::new(sc);
        let (parts, par) = (shape.partitions as usize, shape.parallelism as usize);
        let sem = ftsim_sim::Semantics::new(&sc.job, shape.partitions);
        let blocking = cfg.mode == Mode::Aligned && !sc.planted.has(ftsim_sim::planted::Bug::AlignmentDoesNotBlock);
        let tasks: Vec<Task> = placement
            .round_robin(shape.parallelism)
            .into_iter()
            .map(|n| Task::new(n, sem.new_state(), parts, blocking, 1))
            .collect();
        let sources = placement
            .round_robin(shape.partitions)
            .into_iter()
            .map(|n| Source::new(n, 0, par, cfg.credits, cfg.output_buffers).with_local(&tasks))
            .collect();
        FlinkAbs {
            buffer_records: (cfg.buffer_size / shape.record_bytes.max(1)).max(1) as usize,
            read: ReadCfg {
                max_batch: cfg.max_batch,
                poll_interval: cfg.poll_interval,
                cost: shape.stateless_cost,
            },
            shape,
            master_alive: true,
            sources,
            tasks,
            ends: Vec::new(),
            end_wm: Vec::new(),
            placement,
            attempt: 0,
            running: false,
            coord: Coordinator::new(),
            open_txns: BTreeSet::new(),
            recovery: None,
            input_ended: false,
            final_id: None,
            wm_in_flight: 0,
            wm_arrived: Vec::new(),
            planted: sc.planted,
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
            && self.wm_in_flight == 0
            && self.wm_arrived.is_empty()
            && self.tasks.iter().all(Task::drained)
            && self.sources.iter().enumerate().all(|(p, s)| {
                s.reader.next == self.ends[p] && s.drained() && (!self.shape.windowed || s.sent_all(self.end_wm[p]))
            })
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
    type Scope = Scope;

    fn records_in(msg: &Msg) -> u64 {
        match msg {
            Msg::Data { records, .. } => records.len() as u64,
            _ => 0,
        }
    }

    fn incarnation(&self, scope: Scope) -> u32 {
        match scope {
            Scope::Job => self.attempt,
            Scope::Schedule => self.coord.generation,
        }
    }

    fn start(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        self.ends = (0..cx.log.partitions()).map(|p| cx.log.len(PartitionId(p))).collect();
        self.end_wm = (0..cx.log.partitions())
            .map(|p| cx.log.watermark_at(PartitionId(p), u64::MAX))
            .collect();
        self.start_job(cx);
    }

    fn handle(&mut self, ev: Event<Msg, Tag>, cx: &mut Ctx<'_, Msg, Tag>) {
        // Watermark broadcasts are taken before anything that happens after them.
        if !self.wm_arrived.is_empty()
            && !matches!(
                ev,
                Event::Message {
                    msg: Msg::Watermarks { .. },
                    ..
                }
            )
        {
            self.take_watermarks(cx);
        }
        match ev {
            Event::Message { msg, .. } => self.on_message(msg, cx),
            Event::Timer { tag, .. } => match tag {
                Tag::Core(CoreTag::Poll { part }) => {
                    self.sources[part as usize].reader.disarm();
                    self.poll(part, cx);
                }
                Tag::Flush if self.running => {
                    for p in 0..self.sources.len() as u32 {
                        self.flush(p, cx);
                    }
                    cx.set_timer(self.cfg.buffer_timeout, Tag::Flush);
                }
                Tag::Watermarks => self.take_watermarks(cx),
                Tag::Trigger => self.trigger(cx, false),
                Tag::AlignTimeout { id } => self.align_timeout(id, cx),
                Tag::RestartDue => {
                    if let Some(r) = self.recovery.as_mut() {
                        r.delay_done = true;
                    }
                    self.try_deploy(cx);
                }
                _ => {}
            },
            Event::WorkDone { tag, .. } => match tag {
                Tag::Core(CoreTag::Read { part, from, to }) => self.read_done(part, from, to, cx),
                Tag::Core(CoreTag::Apply { task }) => self.applied(task, cx),
                _ => {}
            },
            Event::StorageDone { tag, .. } => match tag {
                Tag::Written { who, id } => self.written(who, id, cx),
                Tag::Restored => self.restore_read(cx),
                _ => {}
            },
            Event::NodeFailed { node } => self.on_failure(node, cx),
            Event::SpareReady { failed, node } => self.on_spare(failed, node, cx),
            Event::NodeRestarted { node } if node == self.shape.master => {
                self.master_alive = true;
                if let Some(r) = self.recovery.as_mut() {
                    r.master_wanted = false;
                }
                self.try_deploy(cx);
            }
            Event::NodeRestarted { node } => self.on_worker_back(node, cx),
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

    fn stuck(&self) -> Option<String> {
        match &self.recovery {
            Some(r) if !r.homeless.is_empty() => Some(format!(
                "the tasks of failed node {} had no node to run on",
                r.homeless[0]
            )),
            Some(r) if r.master_wanted => Some("the job waited for its coordinator to come back".into()),
            _ => None,
        }
    }

    fn tables(&self) -> Vec<Table> {
        vec![self.coord.table()]
    }
}

impl FlinkAbs {
    fn on_message(&mut self, msg: Msg, cx: &mut Ctx<'_, Msg, Tag>) {
        match msg {
            Msg::Data {
                part,
                task,
                records,
                wm,
            } if self.running => self.on_data(part, task, records, wm, cx),
            Msg::Barrier {
                part,
                task,
                id,
                started,
            } if self.running => self.on_barrier(part, task, id, started, cx),
            Msg::Watermarks { part, wm, skip } if self.running => self.on_watermarks(part, wm, skip, cx),
            Msg::Barriers {
                part,
                id,
                started,
                skip,
            } if self.running => {
                let mut skip = skip.into_iter().peekable();
                for task in 0..self.tasks.len() as u32 {
                    if skip.next_if_eq(&task).is_none() {
                        self.on_barrier(part, task, id, started, cx);
                    }
                }
            }
            Msg::Credit { part, task } if self.running => self.on_credit(part, task, cx),
            Msg::Trigger { id, part, started } if self.running => self.source_snapshot(part, id, started, cx),
            Msg::Ack { id, who } => self.on_ack(id, who, cx),
            Msg::Data { records, .. } => {
                cx.records(Flow::Dropped("sent to a job that is not running"), records.len() as u64);
            }
            _ => {}
        }
    }

    /// Sends the acknowledgement of `who` for checkpoint `id` to the coordinator.
    pub(super) fn ack(&mut self, who: Who, id: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let node = match who {
            Who::Source(p) => self.sources[p as usize].reader.node,
            Who::Task(i) => self.tasks[i as usize].node,
        };
        cx.send_ft(node, self.shape.master, 64, Msg::Ack { id, who });
    }
}
