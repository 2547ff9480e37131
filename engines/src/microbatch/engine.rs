//! The micro-batch state machine: its fields and the dispatch of kernel events.
//!
//! Gating: every decision of the master runs in a handler of something delivered to the master
//! node (a message, a storage completion, a timer on the master's own clock), so a dead master
//! decides nothing: the kernel drops a node timer whose node died. A restarted master that has not
//! read its metadata back yet (`master_up` false) takes no task report and completes no batch:
//! once it has read it, it adopts or reruns those attempts (the policy's choice).

use super::cores::Cores;
use super::model::{Attempt, Batch, Block, Task};
use super::pending::Pending;
use super::protocol::{Clock, Msg, Scope, Tag};
use super::state::States;
use super::{Cx, Policy, Settings};
use ftsim_sim::engine::{Engine, Event};
use ftsim_sim::planted::Planted;
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{NodeId, PartitionId, Scenario, SimDuration, SimTime, Table};
use std::collections::{BTreeMap, BTreeSet};

/// The micro-batch engine under policy `P`.
pub struct MicroBatch<P: Policy> {
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
    pub(crate) cores_free: Cores,
    /// Nodes reported dead (engine-wide knowledge), and those the master has handled (a node
    /// that joins the pool again leaves both).
    pub(crate) dead: BTreeSet<NodeId>,
    pub(crate) handled: BTreeSet<NodeId>,
    pub(crate) blocks: Vec<Block>,
    /// End of the allocated offsets per source partition.
    pub(crate) alloc_next: Vec<u64>,
    pub(crate) batches: BTreeMap<u64, Batch>,
    pub(crate) next_batch: u64,
    /// Every batch below this one is done (kept for `concurrent_jobs`, by a policy that never
    /// runs a done batch again).
    pub(crate) done_below: u64,
    pub(crate) tasks: Vec<Task<P::Job>>,
    pub(crate) attempts: Vec<Attempt>,
    /// The master's pending tasks by priority.
    pub(crate) pending: Pending,
    /// The state partitions: in workers' memory and in durable storage.
    pub(crate) states: States,
    /// Sink side (durable): staged (batch, partition) outputs and committed transactions.
    pub(crate) staged: BTreeSet<(u64, u32)>,
    pub(crate) committed: BTreeSet<u64>,
    /// Master memory: the output commit coordinator (append and idempotent sinks).
    pub(crate) coordinator: BTreeSet<(u64, u32)>,
    pub(crate) master_up: bool,
    /// The master's incarnation: bumped when the master (or the whole query) restarts.
    pub(crate) master_epoch: u32,
    pub(crate) next_batch_time: SimTime,
    pub(crate) input_ended: bool,
    /// Failed nodes (master included) whose `restored` waits for the master / query to resume,
    /// one entry per failure.
    pub(crate) awaiting_resume: Vec<NodeId>,
    /// The restarted master waits for a node to join before it reads its metadata.
    pub(crate) waiting_for_node: bool,
    /// Workers whose failure the master handles once it has read its metadata (released from
    /// the pool when it came back).
    pub(crate) missed: Vec<NodeId>,
    /// Bugs a test planted (none in any run a user starts).
    pub(crate) planted: Planted,
    /// Length of every source partition.
    pub(crate) ends: Vec<u64>,
    /// The policy's own state.
    pub(crate) policy: P,
}

impl<P: Policy> MicroBatch<P> {
    /// A fresh engine for `sc` under `policy`.
    pub fn new(sc: &Scenario, cfg: Settings, policy: P) -> MicroBatch<P> {
        let total = sc.cluster.total_nodes() as usize;
        let workers: Vec<NodeId> = sc.cluster.workers().collect();
        let mut cores_free = Cores::new(total);
        for w in &workers {
            cores_free.set(*w, sc.cluster.cores);
        }
        let parts = sc.workload.partitions;
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
            cores_free,
            dead: BTreeSet::new(),
            handled: BTreeSet::new(),
            blocks: Vec::new(),
            alloc_next: vec![0; parts as usize],
            batches: BTreeMap::new(),
            next_batch: 1,
            done_below: 1,
            tasks: Vec::new(),
            attempts: Vec::new(),
            pending: Pending::default(),
            states: States::default(),
            staged: BTreeSet::new(),
            committed: BTreeSet::new(),
            coordinator: BTreeSet::new(),
            master_up: true,
            master_epoch: 0,
            next_batch_time: SimTime(cfg.batch_interval.as_nanos()),
            input_ended: false,
            awaiting_resume: Vec::new(),
            waiting_for_node: false,
            missed: Vec::new(),
            planted: sc.planted,
            ends: Vec::new(),
            cfg,
            policy,
        }
    }

    /// Arms the master's `clock` to tick at `at`: the tick dies with the master.
    pub(crate) fn arm(&self, clock: Clock, at: SimTime, cx: &mut Cx<'_, P>) {
        cx.set_node_timer_at(self.master, at, Tag::Timer(clock));
    }

    fn on_tick(&mut self, clock: Clock, cx: &mut Cx<'_, P>) {
        match clock {
            Clock::Batch => self.on_batch_clock(cx),
            Clock::Spec => self.on_spec_clock(cx),
            Clock::Failed(node) => self.worker_failed(node, cx),
        }
    }

    /// The master schedules nothing: it is down, or the policy stopped the job.
    pub(crate) fn halted(&self) -> bool {
        !self.master_up || self.policy.stopped()
    }

    /// Size of one metadata record.
    pub(crate) fn meta_bytes(&self) -> u64 {
        1024 + 16 * self.alloc_next.len() as u64
    }

    /// The master reads its metadata back; [`MicroBatch::master_recover`] follows.
    pub(crate) fn read_metadata(&self, cx: &mut Cx<'_, P>) {
        cx.storage_read(self.master, self.meta_bytes(), Tag::MetaRead);
    }
}

impl<P: Policy> Engine for MicroBatch<P> {
    type Msg = Msg<P::Msg>;
    type Tag = Tag<P::Tag>;
    type Scope = Scope;

    fn incarnation(&self, scope: Self::Scope) -> u32 {
        match scope {
            Scope::Master => self.master_epoch,
            Scope::Policy(s) => self.policy.incarnation(s),
        }
    }

    fn start(&mut self, cx: &mut Cx<'_, P>) {
        self.ends = (0..cx.log.partitions()).map(|p| cx.log.len(PartitionId(p))).collect();
        self.arm(Clock::Batch, self.next_batch_time, cx);
        if self.cfg.tasks.speculation {
            self.arm(Clock::Spec, cx.now() + self.cfg.tasks.speculation_interval, cx);
        }
        P::start(self, cx);
    }

    fn handle(&mut self, ev: Event<Self::Msg, Self::Tag>, cx: &mut Cx<'_, P>) {
        match ev {
            Event::Timer {
                tag: Tag::Timer(clock), ..
            } => self.on_tick(clock, cx),
            Event::Timer {
                tag: Tag::Policy(tag), ..
            }
            | Event::StorageDone {
                tag: Tag::Policy(tag), ..
            } => P::on_tag(self, tag, cx),
            Event::Message { from, to, msg } => match msg {
                Msg::Launch(a) => self.on_launch(a, cx),
                Msg::Fetch(a) => self.on_input(a, Some(from), cx),
                Msg::Status(a) => self.on_status(a, cx),
                Msg::Failed(a) => self.on_failed(a, cx),
                Msg::Policy(m) => P::on_message(self, from, to, m, cx),
            },
            Event::WorkDone { tag: Tag::Work(a), .. } => self.on_work_done(a, cx),
            Event::StorageDone { tag, .. } => match tag {
                Tag::FetchRead(a) => self.on_input(a, None, cx),
                Tag::MetaAlloc(n) => self.submit(n, cx),
                Tag::MetaDone(n) => self.on_complete_durable(n, cx),
                Tag::MetaRead => self.master_recover(cx),
                Tag::Timer(_) | Tag::Work(_) | Tag::Policy(_) => {}
            },
            Event::NodeFailed { node } => {
                if node == self.master {
                    self.on_master_failed(cx);
                } else {
                    self.dead.insert(node);
                    self.states.lose_node(node);
                    // The master hears of it only if it is alive: a timer on its own clock.
                    cx.set_node_timer(self.master, SimDuration::ZERO, Tag::Timer(Clock::Failed(node)));
                }
            }
            Event::NodeRestarted { node } if node == self.master => self.resume(cx),
            Event::NodeRestarted { node } | Event::SpareReady { node: Some(node), .. } => self.join(node, cx),
            Event::InputEnded => self.input_ended = true,
            Event::Timer { .. } | Event::WorkDone { .. } | Event::SpareReady { node: None, .. } => {}
        }
    }

    fn finished(&self) -> bool {
        let settled = |b: &Batch| b.done.is_some() && self.committed.contains(&b.n);
        // Asked after every event once the input ended: the newest batch is looked at first,
        // which refuses at once while it runs, before the passes over partitions and batches.
        self.input_ended
            && self.master_up
            && !self.policy.stopped()
            && self.batches.values().next_back().is_none_or(settled)
            && self.alloc_next.iter().zip(&self.ends).all(|(a, e)| a == e)
            && self.batches.values().all(settled)
    }

    fn stuck(&self) -> Option<String> {
        self.stuck_reason()
    }

    fn tables(&self) -> Vec<Table> {
        self.batch_table()
    }
}
