//! The micro-batch state machine: its fields, messages and the dispatch of kernel events.
//!
//! Gating: every decision of the master runs in a handler of something delivered to the master
//! node (a message, a storage completion, a timer on the master's own clock), so a dead master
//! decides nothing: the kernel drops a node timer whose node died. Receivers tick the same way on
//! their node.

use super::model::{Attempt, AttemptId, Batch, Block, BlockId, Receiver, Recovery, Task, TaskId};
use super::{Mode, Settings};
use ftsim_sim::engine::{Ctx, Engine, Event, Scoped};
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{NodeId, OperatorState, PartitionId, Scenario, Semantics, SimDuration, SimTime, Table};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A clock: which periodic activity a tick drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The master closes a batch.
    Batch,
    /// The master looks for stragglers.
    Spec,
    /// Receiver `part` cuts a block.
    Receiver(u32),
    /// A failed query restarts.
    Restart,
    /// The master handles a worker's failure.
    Failed(NodeId),
}

/// What has incarnations: the master (a restart or a query restart begins a new one) and each
/// receiver (a move begins a new one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The master: its clocks and metadata reads and writes.
    Master,
    /// Receiver `part`: its block clock.
    Receiver(u32),
}

/// Network messages.
#[derive(Debug)]
pub enum Msg {
    /// A block copy for a replica.
    Replica(BlockId),
    /// A block is received (to the master).
    Report(BlockId),
    /// The master launches an attempt (to its worker).
    Launch(AttemptId),
    /// An input of an attempt arrives at its worker.
    Fetch(AttemptId),
    /// An attempt finished (to the master).
    Status(AttemptId),
    /// A recovered key range (recovery, sub) arrives at the recovery's host.
    Piece(usize, u32),
}

/// Timer, work and storage tags.
#[derive(Debug)]
pub enum Tag {
    /// A clock fires.
    Timer(Clock),
    /// An attempt's CPU work.
    Work(AttemptId),
    /// An attempt's read of a checkpoint / state-store version.
    FetchRead(AttemptId),
    /// An attempt's state-store delta write (structured streaming).
    DeltaWrite(AttemptId),
    /// A state partition's checkpoint write.
    Ckpt(u64, u32),
    /// The batch's allocation / offsets are logged.
    MetaAlloc(u64),
    /// The batch's completion is logged.
    MetaDone(u64),
    /// The restarted master read its metadata.
    MetaRead,
}

impl Scoped<Scope> for Msg {}

impl Scoped<Scope> for Tag {
    fn scope(&self) -> Option<Scope> {
        match self {
            Tag::Timer(Clock::Batch | Clock::Spec | Clock::Restart)
            | Tag::MetaAlloc(_)
            | Tag::MetaDone(_)
            | Tag::MetaRead => Some(Scope::Master),
            Tag::Timer(Clock::Receiver(p)) => Some(Scope::Receiver(*p)),
            Tag::Timer(Clock::Failed(_)) | Tag::Work(_) | Tag::FetchRead(_) | Tag::DeltaWrite(_) | Tag::Ckpt(..) => {
                None
            }
        }
    }
}

/// The micro-batch engine (`dstream` and `structured-streaming`).
pub struct MicroBatch {
    pub(crate) cfg: Settings,
    pub(crate) master: NodeId,
    pub(crate) cores: u32,
    pub(crate) parallelism: u32,
    pub(crate) record_bytes: u64,
    pub(crate) stateless_cost: SimDuration,
    pub(crate) state_cost: SimDuration,
    pub(crate) bpk: u64,
    pub(crate) sink: SinkMode,
    pub(crate) windowed: bool,
    /// Live workers, as the master sees them, in id order.
    pub(crate) workers: Vec<NodeId>,
    /// Free cores per node id, as the master sees them.
    pub(crate) slots: Vec<u32>,
    /// Nodes reported dead (engine-wide knowledge), and those the master has handled.
    pub(crate) dead: BTreeSet<NodeId>,
    pub(crate) handled: BTreeSet<NodeId>,
    pub(crate) blocks: Vec<Block>,
    /// Blocks not yet allocated, per source partition, in offset order.
    pub(crate) unallocated: Vec<VecDeque<BlockId>>,
    /// End of the allocated offsets per source partition.
    pub(crate) alloc_next: Vec<u64>,
    pub(crate) receivers: Vec<Receiver>,
    pub(crate) batches: BTreeMap<u64, Batch>,
    pub(crate) next_batch: u64,
    pub(crate) tasks: Vec<Task>,
    pub(crate) attempts: Vec<Attempt>,
    /// The master's pending tasks by priority.
    pub(crate) pending: BTreeSet<(u64, u8, TaskId)>,
    pub(crate) recoveries: Vec<Recovery>,
    /// The deterministic state of each partition after batch `.0` (first computations only).
    pub(crate) truth: Vec<(u64, OperatorState)>,
    /// Sink side (durable): staged (batch, partition) outputs and committed transactions.
    pub(crate) staged: BTreeSet<(u64, u32)>,
    pub(crate) committed: BTreeSet<u64>,
    /// Master memory: the output commit coordinator (append and idempotent sinks).
    pub(crate) coordinator: BTreeSet<(u64, u32)>,
    /// Storage side: checkpoint partitions written per batch, and the last complete one.
    pub(crate) ckpt_written: BTreeMap<u64, u32>,
    pub(crate) last_ckpt: u64,
    pub(crate) master_up: bool,
    pub(crate) master_epoch: u32,
    pub(crate) next_batch_time: SimTime,
    /// Structured streaming: a trigger came while a batch was running.
    pub(crate) trigger_due: bool,
    /// Structured streaming: the query is down until it restarts.
    pub(crate) query_down: bool,
    pub(crate) input_ended: bool,
    /// Failed nodes (master included) whose `restored` waits for the master / query to resume.
    pub(crate) awaiting_resume: Vec<NodeId>,
    pub(crate) ends: Vec<u64>,
}

impl MicroBatch {
    /// A fresh engine for `sc`.
    pub fn new(sc: &Scenario, cfg: Settings) -> MicroBatch {
        let sem = Semantics::new(&sc.job, sc.workload.partitions);
        let total = sc.cluster.total_nodes() as usize;
        let workers: Vec<NodeId> = sc.cluster.workers().collect();
        let mut slots = vec![0; total];
        for w in &workers {
            slots[w.0 as usize] = sc.cluster.cores;
        }
        let parts = sc.workload.partitions;
        let receivers = (0..parts)
            .map(|p| Receiver {
                node: workers[p as usize % workers.len()],
                next: 0,
                epoch: 0,
            })
            .collect();
        MicroBatch {
            master: sc.cluster.master(),
            cores: sc.cluster.cores,
            parallelism: sc.job.parallelism,
            record_bytes: sc.workload.record_bytes,
            stateless_cost: sc.job.stateless_cost(),
            state_cost: sc.job.state_cost,
            bpk: sc.job.state_bytes_per_key,
            sink: sc.job.sink,
            windowed: sc.job.kind == JobKind::WindowCount,
            workers,
            slots,
            dead: BTreeSet::new(),
            handled: BTreeSet::new(),
            blocks: Vec::new(),
            unallocated: (0..parts).map(|_| VecDeque::new()).collect(),
            alloc_next: vec![0; parts as usize],
            receivers,
            batches: BTreeMap::new(),
            next_batch: 1,
            tasks: Vec::new(),
            attempts: Vec::new(),
            pending: BTreeSet::new(),
            recoveries: Vec::new(),
            truth: (0..sc.job.parallelism).map(|_| (0, sem.new_state())).collect(),
            staged: BTreeSet::new(),
            committed: BTreeSet::new(),
            coordinator: BTreeSet::new(),
            ckpt_written: BTreeMap::new(),
            last_ckpt: 0,
            master_up: true,
            master_epoch: 0,
            next_batch_time: SimTime(cfg.batch_interval.as_nanos()),
            trigger_due: false,
            query_down: false,
            input_ended: false,
            awaiting_resume: Vec::new(),
            ends: Vec::new(),
            cfg,
        }
    }

    pub(crate) fn dstream(&self) -> bool {
        self.cfg.mode == Mode::DStream
    }

    /// Arms `clock` to tick at `at` on its node: the tick dies with the node.
    pub(crate) fn arm(&self, clock: Clock, at: SimTime, cx: &mut Ctx<'_, Msg, Tag>) {
        cx.set_node_timer_at(self.clock_node(clock), at, Tag::Timer(clock));
    }

    fn clock_node(&self, clock: Clock) -> NodeId {
        match clock {
            Clock::Receiver(p) => self.receivers[p as usize].node,
            _ => self.master,
        }
    }

    fn on_tick(&mut self, clock: Clock, cx: &mut Ctx<'_, Msg, Tag>) {
        match clock {
            Clock::Batch => self.on_batch_clock(cx),
            Clock::Spec => self.on_spec_clock(cx),
            Clock::Receiver(p) => self.on_receiver_tick(p, cx),
            Clock::Restart => cx.storage_read(self.master, self.meta_bytes(), Tag::MetaRead),
            Clock::Failed(node) => self.on_worker_failed(node, cx),
        }
    }

    /// Size of one metadata record.
    pub(crate) fn meta_bytes(&self) -> u64 {
        1024 + 16 * self.receivers.len() as u64
    }
}

impl Engine for MicroBatch {
    type Msg = Msg;
    type Tag = Tag;
    type Scope = Scope;

    fn incarnation(&self, scope: Scope) -> u32 {
        match scope {
            Scope::Master => self.master_epoch,
            Scope::Receiver(p) => self.receivers[p as usize].epoch,
        }
    }

    fn start(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        self.ends = (0..cx.log.partitions()).map(|p| cx.log.len(PartitionId(p))).collect();
        self.arm(Clock::Batch, self.next_batch_time, cx);
        if self.cfg.speculation {
            self.arm(Clock::Spec, cx.now() + self.cfg.speculation_interval, cx);
        }
        if self.dstream() {
            for p in 0..self.receivers.len() as u32 {
                self.arm(Clock::Receiver(p), SimTime(self.cfg.block_interval.as_nanos()), cx);
            }
        }
    }

    fn handle(&mut self, ev: Event<Msg, Tag>, cx: &mut Ctx<'_, Msg, Tag>) {
        match ev {
            Event::Timer {
                tag: Tag::Timer(clock), ..
            } => self.on_tick(clock, cx),
            Event::Message { from, to, msg } => match msg {
                Msg::Replica(b) => self.on_replica(b, to, cx),
                Msg::Report(b) => {
                    self.blocks[b].known = true;
                }
                Msg::Launch(a) => self.on_launch(a, cx),
                Msg::Fetch(a) => self.on_input(a, Some(from), cx),
                Msg::Status(a) => self.on_status(a, cx),
                Msg::Piece(rec, sub) => self.on_piece(rec, sub, cx),
            },
            Event::WorkDone { tag: Tag::Work(a), .. } => self.on_work_done(a, cx),
            Event::StorageDone { tag, .. } => match tag {
                Tag::FetchRead(a) => self.on_input(a, None, cx),
                Tag::DeltaWrite(a) => self.report_finished(a, cx),
                Tag::Ckpt(n, r) => self.on_ckpt_written(n, r, cx),
                Tag::MetaAlloc(n) => self.submit(n, cx),
                Tag::MetaDone(n) => self.on_complete_durable(n, cx),
                Tag::MetaRead => self.master_recover(cx),
                Tag::Timer(_) | Tag::Work(_) => {}
            },
            Event::NodeFailed { node } => {
                if node == self.master {
                    self.on_master_failed(cx);
                } else {
                    self.dead.insert(node);
                    // The master hears of it only if it is alive: a timer on its own clock.
                    cx.set_node_timer(self.master, SimDuration::ZERO, Tag::Timer(Clock::Failed(node)));
                }
            }
            Event::NodeRestarted { node } if node == self.master => {
                cx.storage_read(self.master, self.meta_bytes(), Tag::MetaRead);
            }
            Event::InputEnded => self.input_ended = true,
            Event::Timer { .. } | Event::WorkDone { .. } | Event::SpareReady { .. } | Event::NodeRestarted { .. } => {}
        }
    }

    fn finished(&self) -> bool {
        self.input_ended
            && self.master_up
            && !self.query_down
            && self.alloc_next.iter().zip(&self.ends).all(|(a, e)| a == e)
            && self
                .batches
                .values()
                .all(|b| b.done.is_some() && self.committed.contains(&b.n))
    }

    fn tables(&self) -> Vec<Table> {
        self.batch_table()
    }
}
