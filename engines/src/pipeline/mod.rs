//! The shared pipelined core: long-lived record-at-a-time tasks, the shape of every
//! record-at-a-time engine.
//!
//! One source task per partition reads the durable log ([`SourceReader`]: in units of at most
//! `max_batch` records, polling when the log has nothing new), runs the stateless chain (parse,
//! map, filter) at the job's per-record cost and ships each record to the stateful task that owns
//! its key; `job.parallelism` stateful tasks apply what they receive in arrival order to their
//! [`OperatorState`](ftsim_sim::OperatorState) and emit. Watermarks travel with the records and,
//! for windows, as bare watermark messages: one per (source, task) pair in the modelled system,
//! sent as rounds ([`watermarks`]): a round is one set of marks (a watermark and read offset per
//! source) shared by every task, sent as one transmission per source node that counts one
//! message and its bytes per (source, task) item, so a tick costs a kernel event per node, not
//! per pair of tasks or nodes; a task applies a round without CPU as soon as it reaches the head
//! of its queue, each partition's mark only behind the messages its source sent it before.
//! Tasks start round-robin on the workers; a failed node's tasks move to a spare or, with none left,
//! round-robin over the survivors ([`Placement`]). [`Shape`] holds the job's costs and sizes.
//!
//! Two ways to build on it:
//! - **a policy on [`Pipeline`]**, which runs the whole dataflow (one message per task per read,
//!   [`dataflow`]) and calls a [`Policy`] at the points where fault-tolerance schemes differ.
//!   `none` is the empty policy; a scheme adds its own messages and tags (`Policy::Msg`,
//!   `Policy::Tag`) and overrides the hooks it needs;
//! - **the parts alone**, for an engine whose transport differs: `flink-abs` keeps its network
//!   buffers, credits and barriers as its own layer and uses [`SourceReader`], [`Placement`],
//!   [`Shape`] and [`apply_batch`] from here.
//!
//! How the record-at-a-time schemes plug in:
//! - **upstream backup**: each source keeps, per stateful task, a log of the batches it shipped
//!   under a per-channel sequence number (a policy-side log filled where `Core::ship` sends); a
//!   task acknowledges (a policy message) the sequence numbers it applied (`Policy::applied`) and
//!   its last state checkpoint, and the source trims its log up to them (every task tells every
//!   source: these acknowledgements travel as ack rounds, [`acks`]). On a failure the spare
//!   takes the lost tasks and each upstream replays its log to it, serially, while new input
//!   keeps coming; the task drops sequence numbers it already applied.
//! - **passive standby**: a policy timer copies each task's state to a standby node (a policy
//!   message sized by the state) and upstreams keep what they sent since, until the copy is held
//!   (acknowledged to every source in an ack round, [`acks`]); the standby restores the copy and
//!   the upstreams replay.
//! - **active standby**: every stateful task has a replica on another node that receives the
//!   same batches (a second send where `Core::ship` sends, counted as fault-tolerance traffic)
//!   and applies each channel's batches in the same order; only the primary emits
//!   (`Policy::applied`); on a failure the replica is promoted at once and a new one is built by
//!   copying state.
//! - **Storm acking**: sources give every record a random 64-bit tuple id from the engine's
//!   stream and register it with an acker task chosen by hashing the id; a task acks (a policy
//!   message carrying the XOR of the ids) once it applied a record; sources replay what is not
//!   acked within the timeout, from the durable log (`Policy::resume_at` and a replay read).
//!
//! Incarnations: a source or stateful task has one per placement; its reads, poll timers and
//! apply work carry [`Scope::Source`] / [`Scope::Task`] and are dropped by the kernel once the
//! task was lost (see `ftsim_sim::engine`).

pub mod acks;
pub mod backup;
pub mod dataflow;
mod engine;
mod placement;
mod reader;
pub mod rebuild;
mod shape;
pub mod tasks;
pub mod watermarks;

pub use acks::{AckId, AckMsg, AckRounds, AckWire, Arrived, Local};
pub use backup::{OutputLog, Snapshot};
pub use dataflow::{Core, Source};
pub use engine::{PCtx, Pipeline, Policy, Takeover};
pub use placement::Placement;
pub use reader::{CoreTag, ReadCfg, SourceReader};
pub use rebuild::Rebuilds;
pub use shape::{HEADER_BYTES, Shape};
pub use tasks::{InFlight, Input, Stateful, apply_batch};
pub use watermarks::Mark;

use ftsim_sim::config::{at_least, within};
use ftsim_sim::engine::Scoped;
use ftsim_sim::{Record, Scenario, SimDuration, SimTime, engine_config};

engine_config! {
    /// How the source tasks of a pipelined engine read, shared by every such engine's table.
    pub struct SourceConfig {
        /// How often an idle source task polls its partition (also bounds batching delay).
        pub poll_interval: SimDuration = SimDuration::from_millis(5) => at_least(SimDuration::from_micros(10));
        /// Most records a source task reads and ships at once.
        pub max_batch: u64 = 2_000 => within(1, 1_000_000);
        /// How often sources broadcast their watermark to stateful tasks they sent nothing to.
        pub watermark_interval: SimDuration = SimDuration::from_millis(200) => at_least(SimDuration::from_millis(1));
    }
}

impl SourceConfig {
    /// How sources read under this configuration in `sc`.
    pub fn read(&self, sc: &Scenario) -> ReadCfg {
        ReadCfg {
            max_batch: self.max_batch,
            poll_interval: self.poll_interval,
            cost: sc.job.stateless_cost(),
        }
    }
}

/// Records from one source partition for one stateful task, with the partition's watermark
/// after them (no records: a bare watermark).
#[derive(Debug, Clone)]
pub struct Batch {
    /// The source partition (the task's input channel).
    pub part: u32,
    /// The offset the source had read up to: the task owns no record below it that is not in
    /// this batch or an earlier one on the channel.
    pub upto: u64,
    /// The partition's watermark once these records are read.
    pub wm: SimTime,
    /// Records, in log order.
    pub records: Vec<Record>,
}

/// Messages of a [`Pipeline`] engine.
#[derive(Debug)]
pub enum Msg<PM> {
    /// A batch for stateful task `task`.
    Batch {
        /// The receiving task.
        task: u32,
        /// The incarnation of the batch's source when it was sent: one sent by an earlier
        /// incarnation (left on the wire when it was lost) is not counted in flight any more.
        inc: u32,
        /// What it carries.
        batch: Batch,
    },
    /// A source node's part of a round of bare watermarks ([`watermarks`]), sent to itself: one
    /// transmission standing for one message of the modelled system per (source, task) item.
    Watermarks {
        /// The round.
        round: u64,
    },
    /// A message of the policy.
    Policy(PM),
}

/// Timer, work and storage tags of a [`Pipeline`] engine.
#[derive(Debug)]
pub enum Tag<PT> {
    /// The dataflow's own.
    Core(CoreTag),
    /// The policy's.
    Policy(PT),
}

impl<PT> From<CoreTag> for Tag<PT> {
    fn from(t: CoreTag) -> Self {
        Tag::Core(t)
    }
}

/// What has incarnations in a [`Pipeline`]: each source and each stateful task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The source of a partition.
    Source(u32),
    /// A stateful task.
    Task(u32),
}

impl<PT: Scoped<Scope>> Scoped<Scope> for Tag<PT> {
    fn scope(&self) -> Option<Scope> {
        match self {
            Tag::Core(CoreTag::Poll { part } | CoreTag::Read { part, .. }) => Some(Scope::Source(*part)),
            Tag::Core(CoreTag::Apply { task }) => Some(Scope::Task(*task)),
            Tag::Core(CoreTag::Watermarks | CoreTag::Arrive { .. } | CoreTag::Reached { .. }) => None,
            Tag::Policy(t) => t.scope(),
        }
    }
}

impl<PM: Scoped<Scope>> Scoped<Scope> for Msg<PM> {
    fn scope(&self) -> Option<Scope> {
        match self {
            // A batch belongs to its receiving task's incarnation; one already on the wire is
            // delivered even if its source died meanwhile.
            Msg::Batch { task, .. } => Some(Scope::Task(*task)),
            // A round keeps each task's incarnation.
            Msg::Watermarks { .. } => None,
            Msg::Policy(m) => m.scope(),
        }
    }
}

/// The message or tag type of a policy that has none.
#[derive(Debug)]
pub enum Nothing {}

impl Scoped<Scope> for Nothing {}
