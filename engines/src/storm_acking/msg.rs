//! The storm-acking policy's messages and tags, and the ids a tuple carries.
//!
//! Invariant: every message and tag names the scope it belongs to (a spout's partition, an acker
//! or the Trident coordinator), so the kernel drops what a lost one left in flight.

use super::wire::{AckerRef, Item};
use crate::pipeline::Scope;
use ftsim_sim::engine::Scoped;
use ftsim_sim::{NodeId, SimTime};

/// Whom an acker tells that a tree completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// The spout of a partition (acking mode).
    Spout(u32),
    /// Trident's master batch coordinator.
    Coordinator,
}

/// A Trident batch attempt: its transaction id and attempt number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Attempt {
    /// Transaction id (1, 2, ...).
    pub txid: u64,
    /// Attempt (0 first, then one more per replay).
    pub id: u32,
}

/// The ids a Trident tuple carries: its tree and its edge, and its batch attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// The tree (spout tuple, or Trident batch attempt) it belongs to.
    pub root: u64,
    /// Its own edge id.
    pub edge: u64,
    /// Trident: the batch attempt.
    pub batch: Option<Attempt>,
}

/// The ids a tuple of acking mode carries: its tree, its edge, and its tree's acker and number
/// there ([`super::ring::Handle::acker`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    /// The tree (spout tuple) it belongs to.
    pub root: u64,
    /// Its own edge id.
    pub edge: u64,
    /// Its tree's acker and number there.
    pub at: AckerRef,
}

/// What [`super::tracking::InFlight`] holds per tuple: its tree's id is all it looks at.
pub trait Rooted: Copy {
    /// The tree the tuple belongs to.
    fn root(&self) -> u64;
}

impl Rooted for Tuple {
    fn root(&self) -> u64 {
        self.root
    }
}

impl Rooted for Tracked {
    fn root(&self) -> u64 {
        self.root
    }
}

/// Trident: how many tuples of a batch attempt the spout of `part` sent to `task`, and the
/// partition's watermark at the batch's end (a coordination tuple).
#[derive(Debug, Clone, Copy)]
pub struct Coord {
    /// The receiving task.
    pub task: u32,
    /// The batch attempt.
    pub attempt: Attempt,
    /// The partition.
    pub part: u32,
    /// Tuples sent.
    pub count: u64,
    /// The partition's watermark at the end of the batch.
    pub wm: SimTime,
    /// Its tree.
    pub root: u64,
    /// Its edge.
    pub edge: u64,
}

/// Messages of the scheme.
#[derive(Debug)]
pub enum StormMsg {
    /// Ack-stream messages (inits, acks, completions) for the ackers and spouts of the
    /// receiving node: one flush of the sender's outbox.
    Transfer {
        /// The outbox's inits and acks, then its completions, each kind in the order they were
        /// put.
        items: Vec<Item>,
        /// How many inits and acks lead `items`.
        acks: u32,
        /// How many times tasks had been lost or placed again when it left.
        moves: u32,
    },
    /// Trident: the coordinator's batch tuple for the spout of `part`.
    BatchTuple {
        /// The partition.
        part: u32,
        /// The batch attempt.
        attempt: Attempt,
        /// Its tree.
        root: u64,
        /// Its edge.
        edge: u64,
    },
    /// Trident: a coordination tuple (boxed: the largest message, and a rare one, would
    /// otherwise make every message of the engine, and every event carrying one, as large).
    Coord(Box<Coord>),
    /// Trident: commit the batch attempt's state updates at `task`.
    Commit {
        /// The task.
        task: u32,
        /// The batch attempt.
        attempt: Attempt,
        /// The commit's tree.
        root: u64,
        /// Its edge.
        edge: u64,
    },
}

impl Scoped<Scope> for StormMsg {
    fn scope(&self) -> Option<Scope> {
        Some(match self {
            // Items for several tasks: the receiver drops those whose task no longer runs there.
            StormMsg::Transfer { .. } => return None,
            StormMsg::BatchTuple { part, .. } => Scope::Source(*part),
            StormMsg::Coord(c) => Scope::Task(c.task),
            StormMsg::Commit { task, .. } => Scope::Task(*task),
        })
    }
}

impl Target {
    /// The incarnation scope of the one told: a spout, or the coordinator (which runs beside
    /// the spout of partition 0 and dies with it).
    pub(super) fn home(self) -> Scope {
        match self {
            Target::Spout(p) => Scope::Source(p),
            Target::Coordinator => Scope::Source(0),
        }
    }
}

/// Timers, work and storage tags of the scheme.
#[derive(Debug)]
pub enum StormTag {
    /// The spout of a partition rotates its pending tuples (once per message timeout).
    SpoutTick(u32),
    /// The spout of a partition re-read these offsets from the log (a replay).
    Replayed {
        /// The partition.
        part: u32,
        /// Offsets, ascending.
        offsets: Vec<u64>,
    },
    /// An acker rotates its ledger.
    AckerTick(u32),
    /// An acker processed these messages.
    Acked {
        /// The acker.
        acker: u32,
        /// Which of the item groups queued at it ([`AckQueue`]).
        group: u64,
    },
    /// Trident: the spout of `part` read its share of a batch attempt.
    BatchRead {
        /// The partition.
        part: u32,
        /// The attempt.
        attempt: Attempt,
        /// The batch tuple's tree.
        root: u64,
        /// The batch tuple's edge.
        edge: u64,
    },
    /// Trident: the coordinator looks for a batch to emit or commit.
    CoordTick,
    /// Trident: the coordinator rotates its pending batch and commit tuples.
    CoordRotate,
    /// Trident: a task's state write for a commit is durable.
    Written {
        /// The task.
        task: u32,
        /// The attempt.
        attempt: Attempt,
        /// The commit's tree.
        root: u64,
        /// The task's edge of it.
        edge: u64,
    },
    /// The flush timer of a node's ack-stream outbox.
    Flush(NodeId),
    /// Sample the tables.
    Sample,
}

impl Scoped<Scope> for StormTag {
    fn scope(&self) -> Option<Scope> {
        match self {
            StormTag::SpoutTick(p) | StormTag::Replayed { part: p, .. } | StormTag::BatchRead { part: p, .. } => {
                Some(Scope::Source(*p))
            }
            StormTag::AckerTick(a) | StormTag::Acked { acker: a, .. } | StormTag::Written { task: a, .. } => {
                Some(Scope::Task(*a))
            }
            StormTag::CoordTick | StormTag::CoordRotate => Some(Target::Coordinator.home()),
            StormTag::Flush(_) | StormTag::Sample => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Msg;
    use std::mem::size_of;

    #[test]
    fn the_schemes_messages_make_the_pipelines_messages_no_larger() {
        // Every event the kernel queues is as large as the largest message: the scheme's must not
        // make them larger than the core's own batches do.
        assert_eq!(size_of::<Msg<StormMsg>>(), size_of::<Msg<()>>());
    }
}
