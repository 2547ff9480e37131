//! The core's bookkeeping types: blocks, batches, tasks, attempts.
//!
//! Invariants:
//! - a block's offsets `from..to` are contiguous within one source partition; `locs` lists the
//!   nodes that hold it in memory (empty: only the source log has it);
//! - a task is `Waiting` exactly when it sits in the master's pending set;
//! - a task's `out` says where its output lives: a map task's shuffle output, a reduce task's
//!   state partition (`Loc::Storage` when only a checkpoint/state-store version holds it);
//! - an attempt is `live` until it finished, was killed, or its node died; only a live reduce
//!   attempt that has not computed yet holds an `input` state;
//! - a batch's `applied[r]` turns true once, when the first reduce of partition r completes.

use super::share::Share;
use ftsim_sim::{BatchWatermarks, NodeId, OperatorState, SimTime, WorkId};

/// Index into the block list.
pub type BlockId = usize;
/// Index into the task list.
pub type TaskId = usize;
/// Index into the attempt list.
pub type AttemptId = usize;

/// Where a task's output lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// Nowhere (not computed yet, or lost with its node).
    Lost,
    /// In the memory of a worker.
    Node(NodeId),
    /// In durable storage only (a checkpoint or a state-store version).
    Storage,
}

/// A range of one source partition's input: what one map task reads.
#[derive(Debug)]
pub struct Block {
    /// Source partition.
    pub part: u32,
    /// First offset.
    pub from: u64,
    /// One past the last offset.
    pub to: u64,
    /// Nodes holding it in memory.
    pub locs: Vec<NodeId>,
    /// Batch it was allocated to.
    pub batch: Option<u64>,
    /// Records (past the filter) per reduce partition.
    pub per_r: Vec<u32>,
}

impl Block {
    /// Records in the block.
    pub fn len(&self) -> u64 {
        self.to - self.from
    }
}

/// What a task computes; `J` is the policy's own kind of task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind<J> {
    /// The stateless chain over one block, shuffle output.
    Map {
        /// Batch.
        batch: u64,
        /// Block.
        block: BlockId,
    },
    /// State partition `r` of batch `batch` from the previous one plus the shuffled records.
    Reduce {
        /// Batch.
        batch: u64,
        /// State partition.
        r: u32,
    },
    /// A task of the policy's (see [`super::Job`]).
    Job(J),
}

/// Scheduling status of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// In the pending set.
    Waiting,
    /// At least one live attempt.
    Running,
    /// Finished once (its output may since have been lost: see `out`).
    Done,
    /// Not to be run (a policy task no longer needed).
    Dropped,
}

/// One task.
#[derive(Debug)]
pub struct Task<J> {
    /// What it computes.
    pub kind: Kind<J>,
    /// Scheduling status.
    pub status: Status,
    /// Where its output lives.
    pub out: Loc,
    /// Live attempts.
    pub attempts: Vec<AttemptId>,
    /// Runtime of the winning attempt.
    pub duration: Option<u64>,
    /// Pending-set key (priority).
    pub prio: (u64, u8),
}

/// One attempt at running a task on a node.
#[derive(Debug)]
pub struct Attempt {
    /// The task.
    pub task: TaskId,
    /// Where.
    pub node: NodeId,
    /// When the master launched it.
    pub launched: SimTime,
    /// Inputs still to arrive (a node per remote fetch, `None` per storage read).
    pub waiting: Vec<Option<NodeId>>,
    /// The CPU work, once started.
    pub work: Option<WorkId>,
    /// Still running.
    pub live: bool,
    /// Finished on its worker (its status may not have reached the master).
    pub finished: bool,
    /// A speculative copy.
    pub speculative: bool,
    /// A reduce attempt's input state partition (n−1, r), taken from where it lived when the
    /// attempt launched; consumed when the attempt computes.
    pub input: Option<OperatorState>,
}

/// A batch's input records, per state partition: block by block in allocation order, in log order
/// within a block.
///
/// Invariant: `Held` and `Lineage` give the same records. `Held` keeps each state partition's
/// share (`share::Share`) in memory until every state partition has applied it once; from then
/// on the records are read again from the durable source log through the batch's blocks when a
/// rerun or a recovery needs them (the lineage is the blocks' offsets, a few words, not the
/// records). `Dropped`: no one may need them any more.
#[derive(Debug)]
pub enum Input {
    /// The shares, per state partition.
    Held(Vec<Share>),
    /// Read again from the source log on demand.
    Lineage,
    /// Gone.
    Dropped,
}

impl Input {
    /// The records are gone.
    pub fn is_dropped(&self) -> bool {
        matches!(self, Input::Dropped)
    }
}

/// One batch (D-Streams timestep / Structured Streaming micro-batch).
#[derive(Debug)]
pub struct Batch {
    /// Batch number, from 1.
    pub n: u64,
    /// Batch time: when its interval closed.
    pub time: SimTime,
    /// When the job was submitted (after its allocation / offsets were logged).
    pub submitted: Option<SimTime>,
    /// First task launch.
    pub started: Option<SimTime>,
    /// Last reduce task done.
    pub done: Option<SimTime>,
    /// Blocks it covers.
    pub blocks: Vec<BlockId>,
    /// Map tasks.
    pub maps: Vec<TaskId>,
    /// Reduce tasks, indexed by state partition.
    pub reduces: Vec<TaskId>,
    /// End offset of every source partition after this batch.
    pub end: Vec<u64>,
    /// Every source partition's watermark at `end`, following the batch before it (window
    /// count only): what a reduce advances its state to.
    pub wms: Option<BatchWatermarks>,
    /// Records (before the filter).
    pub records: u64,
    /// Its filtered input records per state partition (see [`Input`]).
    pub input: Input,
    /// Filtered record count per state partition.
    pub count_r: Vec<u64>,
    /// Per state partition: a reduce of it has completed (its records are counted applied).
    pub applied: Vec<bool>,
    /// Size of each state partition after this batch.
    pub state_bytes: Vec<u64>,
    /// Bytes of state changed by this batch, per partition (state-store delta).
    pub delta_bytes: Vec<u64>,
    /// The allocation (offsets) is durable.
    pub durable: bool,
    /// Its completion is durable in the master's metadata (commit log).
    pub complete_durable: bool,
}
