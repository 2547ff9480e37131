//! What active standby keeps per key group beside the dataflow: which task slot is the primary
//! (the group's `route`) and what the other slot is doing, and per task slot what its node
//! remembers: how far the group's outputs are known to be visible, and its own outputs not known
//! to be.
//!
//! Invariants:
//! - a key group has at most two task slots: its primary, `core.route[g]`, and `other`; the
//!   sources send `other` a copy of every batch they ship to the primary while it is
//!   [`Standby::Building`] or [`Standby::Ready`], and nothing otherwise;
//! - `orphan`: the primary is lost and no slot could take over; the first slot of the group to
//!   get a home runs it, rebuilt from the source log;
//! - what a slot's [`Emitted`] covers is visible at the sink: for a running count every value up
//!   to the count known per key (the primary emits a key's values in increasing order and after
//!   every smaller one is visible), for a window count every window firing at or before the
//!   known frontier.

use ftsim_sim::scenario::JobKind;
use ftsim_sim::{Output, Semantics};
use std::collections::BTreeMap;

/// What a key group's second task slot is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standby {
    /// The group has no second slot (its standby node is not ready, or there was no other node).
    None,
    /// Lost with its node: the pipeline places it again.
    Lost,
    /// Placed on its primary's node, no other node being left: fed nothing until another node is
    /// live, then moved there and built.
    Idle,
    /// Placed and held until the copy of the primary's state numbered so lands; the sources
    /// already send it what they ship to the primary.
    Building(u64),
    /// Applies what the primary applies: a replica.
    Ready,
}

/// A key group's primary and replica.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The slot that is not the primary.
    pub other: Option<u32>,
    /// What `other` is doing.
    pub standby: Standby,
    /// No slot serves the group until one gets a home.
    pub orphan: bool,
    /// Lock-step: the primary is held until its replica has applied partition `.0` up to `.1`.
    pub wait: Option<(u32, u64)>,
    /// Lock-step, replica side: per partition, the offsets a replica just built must reach (the
    /// source log it read past its copied state) before the pair runs in step.
    pub catch_up: Option<Vec<u64>>,
    /// Lock-step, primary side: the replica said it caught up, so the primary waits for it.
    pub synced: bool,
    /// Lock-step: per partition, how far the replica told the primary it has applied.
    pub replica_seen: Vec<u64>,
    /// Running count: the largest value per key the primary made visible since it last told its
    /// replica.
    pub pending: BTreeMap<u64, u64>,
    /// Window count: the fired frontier the primary last told its replica.
    pub fired_sent: u64,
    /// Times a replica took over.
    pub takeovers: u64,
    /// Replicas built from a copy of the primary's state.
    pub builds: u64,
    /// Times the group was rebuilt from the source log.
    pub scans: u64,
    /// Largest lag seen, in source records.
    pub max_lag: u64,
    /// Most outputs a replica held at once.
    pub max_buffered: u64,
}

impl Pair {
    /// A group with only its primary, over `partitions` partitions.
    pub fn new(partitions: u32) -> Pair {
        Pair {
            other: None,
            standby: Standby::None,
            orphan: false,
            wait: None,
            catch_up: None,
            synced: false,
            replica_seen: vec![0; partitions as usize],
            pending: BTreeMap::new(),
            fired_sent: 0,
            takeovers: 0,
            builds: 0,
            scans: 0,
            max_lag: 0,
            max_buffered: 0,
        }
    }

    /// The slot the sources copy batches to, if any.
    pub fn fed(&self) -> Option<u32> {
        match self.standby {
            Standby::Building(_) | Standby::Ready => self.other,
            Standby::None | Standby::Lost | Standby::Idle => None,
        }
    }

    /// The replica, if it is ready.
    pub fn ready(&self) -> Option<u32> {
        (self.standby == Standby::Ready).then_some(self.other).flatten()
    }

    /// The primary made `out` visible (or knew it visible already).
    pub fn shown(&mut self, sem: &Semantics, out: &[Output]) {
        if sem.kind == JobKind::RunningCount {
            for o in out {
                let c = self.pending.entry(o.key).or_insert(0);
                *c = (*c).max(o.sub);
            }
        }
    }
}

/// How far a key group's outputs are known to be visible.
#[derive(Debug, Clone, Default)]
pub struct Emitted {
    counts: BTreeMap<u64, u64>,
    fired: u64,
}

impl Emitted {
    /// Whether `o` is known to be visible.
    pub fn covers(&self, sem: &Semantics, o: &Output) -> bool {
        match sem.kind {
            JobKind::RunningCount => self.counts.get(&o.key).is_some_and(|c| *c >= o.sub),
            JobKind::WindowCount => sem.fire_time(o.sub) <= self.fired,
        }
    }
}

/// What a task slot's node keeps beside the task.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// What it knows to be visible.
    pub acked: Emitted,
    /// Outputs it made as a replica that are not known to be visible.
    pub buffer: Vec<Output>,
}

impl Memory {
    /// The outputs of `out` not known to be visible.
    pub fn unknown(&self, sem: &Semantics, out: Vec<Output>) -> Vec<Output> {
        out.into_iter().filter(|o| !self.acked.covers(sem, o)).collect()
    }

    /// Buffers the outputs of `out` not known to be visible.
    pub fn keep(&mut self, sem: &Semantics, out: Vec<Output>) {
        let new = self.unknown(sem, out);
        self.buffer.extend(new);
    }

    /// Learns that the values up to `counts` per key and the windows firing at or before `fired`
    /// are visible, and drops them from the buffer.
    pub fn learn(&mut self, sem: &Semantics, counts: &[(u64, u64)], fired: u64) {
        for &(key, c) in counts {
            let known = self.acked.counts.entry(key).or_insert(0);
            *known = (*known).max(c);
        }
        self.acked.fired = self.acked.fired.max(fired);
        let acked = &self.acked;
        self.buffer.retain(|o| !acked.covers(sem, o));
    }
}
