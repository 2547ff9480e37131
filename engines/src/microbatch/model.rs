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
//! - a batch's `applied[r]` turns true once, when the first reduce of partition r completes;
//! - a batch's `maps_ready` and `reduces_done` count its tasks' [`Task::counts`] at all times:
//!   a task's status and output change only through [`Task::set`], whose caller
//!   ([`super::MicroBatch::set_task`]) carries the change into the batch.

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
    /// Records (past the filter) per reduce partition: (partition, records) for every partition
    /// it has records of, by partition.
    pub per_r: Vec<(u32, u32)>,
}

impl Block {
    /// Records in the block.
    pub fn len(&self) -> u64 {
        self.to - self.from
    }

    /// Records (past the filter) of state partition r.
    pub fn records_of(&self, r: u32) -> u32 {
        self.per_r
            .binary_search_by_key(&r, |(q, _)| *q)
            .map_or(0, |i| self.per_r[i].1)
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
///
/// Its status and output place change only through [`Task::set`], which reports what the change
/// means for its batch's counts (see [`Batch::maps_ready`]).
#[derive(Debug)]
pub struct Task<J> {
    /// What it computes.
    pub kind: Kind<J>,
    /// Scheduling status.
    status: Status,
    /// Where its output lives.
    out: Loc,
    /// Live attempts.
    pub attempts: Vec<AttemptId>,
    /// Runtime of the winning attempt.
    pub duration: Option<u64>,
    /// Pending-set key (priority).
    pub prio: (u64, u8),
}

impl<J> Task<J> {
    /// A waiting task whose output is nowhere yet.
    pub fn new(kind: Kind<J>, prio: (u64, u8)) -> Task<J> {
        Task {
            kind,
            status: Status::Waiting,
            out: Loc::Lost,
            attempts: Vec::new(),
            duration: None,
            prio,
        }
    }

    /// Scheduling status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Where its output lives.
    pub fn out(&self) -> Loc {
        self.out
    }

    /// What the task counts for in its batch: (a map whose output is in a worker's memory, a
    /// reduce that is done).
    pub fn counts(&self) -> (bool, bool) {
        let done = self.status == Status::Done;
        match self.kind {
            Kind::Map { .. } => (done && matches!(self.out, Loc::Node(_)), false),
            Kind::Reduce { .. } => (false, done),
            Kind::Job(_) => (false, false),
        }
    }

    /// Sets its status and output place; returns what it counted for before (see
    /// [`Task::counts`]), for the caller to carry the change into its batch.
    #[must_use]
    pub(super) fn set(&mut self, status: Status, out: Loc) -> (bool, bool) {
        let before = self.counts();
        self.status = status;
        self.out = out;
        before
    }
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
    /// How many of `maps` have their output in a worker's memory (kept by
    /// `MicroBatch::set_task`, as every change of a task's status or output is).
    pub maps_ready: usize,
    /// How many of `reduces` are done (kept likewise).
    pub reduces_done: usize,
    /// Which maps shuffle records to each state partition (see `Shuffle`).
    pub shuffle: Shuffle,
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

/// The maps of a batch that shuffle records to each state partition, as (position in the
/// batch's `maps`, records of the partition), in map order (a map with no record of a partition
/// is not listed for it): what a reduce fetches, found without a pass over every map.
///
/// Invariant: partition r's entries are `at[start[r]..start[r + 1]]`.
#[derive(Debug, Default)]
pub struct Shuffle {
    start: Vec<usize>,
    at: Vec<(usize, u32)>,
}

impl Shuffle {
    /// The index of blocks `blocks` (in map order) over `parts` state partitions.
    pub fn new(blocks: &[&Block], parts: usize) -> Shuffle {
        let mut start = vec![0usize; parts + 1];
        for blk in blocks {
            for (r, _) in &blk.per_r {
                start[*r as usize + 1] += 1;
            }
        }
        for r in 0..parts {
            start[r + 1] += start[r];
        }
        let mut next = start.clone();
        let mut at = vec![(0usize, 0u32); start[parts]];
        for (i, blk) in blocks.iter().enumerate() {
            for &(r, n) in &blk.per_r {
                at[next[r as usize]] = (i, n);
                next[r as usize] += 1;
            }
        }
        Shuffle { start, at }
    }

    /// (position in the batch's maps, records) of the maps with records of state partition r,
    /// in order.
    pub fn maps_of(&self, r: u32) -> &[(usize, u32)] {
        let r = r as usize;
        match (self.start.get(r), self.start.get(r + 1)) {
            (Some(a), Some(b)) => &self.at[*a..*b],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(per_r: Vec<(u32, u32)>) -> Block {
        Block {
            part: 0,
            from: 0,
            to: 10,
            locs: Vec::new(),
            batch: None,
            per_r,
        }
    }

    #[test]
    fn a_task_counts_for_its_batch_as_a_map_with_its_output_on_a_node_or_a_done_reduce() {
        let mut map: Task<()> = Task::new(Kind::Map { batch: 1, block: 0 }, (1, 0));
        let mut reduce: Task<()> = Task::new(Kind::Reduce { batch: 1, r: 0 }, (1, 1));
        assert_eq!((map.counts(), reduce.counts()), ((false, false), (false, false)));
        assert_eq!(map.set(Status::Done, Loc::Node(NodeId(2))), (false, false));
        assert_eq!(reduce.set(Status::Done, Loc::Storage), (false, false));
        assert_eq!((map.counts(), reduce.counts()), ((true, false), (false, true)));
        assert_eq!(map.set(Status::Done, Loc::Lost), (true, false));
        assert_eq!(map.counts(), (false, false));
        assert_eq!(reduce.set(Status::Waiting, Loc::Lost), (false, true));
        assert_eq!(reduce.counts(), (false, false));
    }

    #[test]
    fn the_shuffle_index_lists_each_partitions_maps_as_a_pass_over_every_block_does() {
        let blocks = [
            block(vec![(0, 2), (3, 1)]),
            block(Vec::new()),
            block(vec![(1, 4), (3, 5)]),
            block(vec![(0, 1), (1, 1), (2, 1), (3, 1)]),
        ];
        let refs: Vec<&Block> = blocks.iter().collect();
        let index = Shuffle::new(&refs, 5);
        for r in 0..6u32 {
            let by_pass: Vec<(usize, u32)> = blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| b.records_of(r) > 0)
                .map(|(i, b)| (i, b.records_of(r)))
                .collect();
            assert_eq!(index.maps_of(r), by_pass.as_slice(), "partition {r}");
        }
        assert_eq!(index.maps_of(3).len(), 3);
    }
}
