//! What the replaying record-at-a-time schemes keep: the output log each source keeps per key
//! group (the batches it shipped, trimmed as the downstream task no longer needs them), and the
//! snapshot of a task's state (a checkpoint), with the offsets and the fired windows it covers.
//!
//! Invariants: a log holds, in shipping order, every batch of its channel from its trim point on,
//! as offsets into the source log (its records are read again from there on a replay);
//! `listed[g]` names, once each, exactly the sources whose log for key group `g` is non-empty,
//! with a copy of that log's first batch, so that trimming a key group's logs costs work in the
//! logs that hold something, not in every source, and touches a log only to drop from it;
//! trimming only drops a prefix (a log is replayed whole, in order, so that the channel stays
//! FIFO); a snapshot is the state, its `seen` offsets and its fired frontier taken together, so
//! replaying every record at or past `seen` into it rebuilds the task exactly.

use super::Batch;
use ftsim_sim::{LogReader, OperatorState, PartitionId, Semantics, SimTime};
use std::collections::VecDeque;

/// A task's state at a point, as a checkpoint holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The operator state.
    pub state: OperatorState,
    /// Per partition, the offset below which every record the task owns is in `state`.
    pub seen: Vec<u64>,
}

impl Snapshot {
    /// Bytes of the snapshot, given the state bytes per key.
    pub fn bytes(&self, bytes_per_key: u64) -> u64 {
        self.state.size_bytes(bytes_per_key) + 8 * self.seen.len() as u64
    }
}

/// One shipped batch as a log keeps it: not its records, but where they are in the durable
/// source log. The records of the batch are those of the partition in `first..upto` that pass the
/// filter and belong to the log's key group, so they are read again from the source log on a
/// replay (a pure function of the seed), and the log costs a few words per batch, not per record.
#[derive(Debug, Clone, Copy)]
struct Logged {
    /// Offset of the batch's first record.
    first: u64,
    /// The batch's `upto`.
    upto: u64,
    /// The batch's watermark.
    wm: SimTime,
    /// The instant its last window fires (0 for a running count).
    last_fire: u64,
    /// Records in the batch.
    count: u64,
}

/// The output logs of every source, per key group. Each logged batch carries the instant its
/// last window fires (0 for a running count), so that trimming by fired windows looks at no
/// record twice.
#[derive(Debug, Clone)]
pub struct OutputLog {
    logs: Vec<Vec<VecDeque<Logged>>>,
    start: Vec<Vec<u64>>,
    /// Per key group, the sources whose log for it is non-empty, with a copy of its first batch.
    listed: Vec<Vec<(u32, Logged)>>,
    records: u64,
}

impl OutputLog {
    /// Empty logs for `partitions` sources and `groups` key groups.
    pub fn new(partitions: u32, groups: u32) -> OutputLog {
        OutputLog {
            logs: (0..partitions)
                .map(|_| (0..groups).map(|_| VecDeque::new()).collect())
                .collect(),
            start: vec![vec![0; groups as usize]; partitions as usize],
            listed: vec![Vec::new(); groups as usize],
            records: 0,
        }
    }

    /// Logs a batch source `part` shipped to key group `group` (a non-empty batch of the
    /// records of that group, as a source's read makes it).
    pub fn push(&mut self, part: u32, group: u32, batch: &Batch, sem: &Semantics) {
        let Some(first) = batch.records.first() else { return };
        debug_assert!(batch.records.iter().all(|r| sem.task_of(u64::from(r.key)) == group));
        self.records += batch.records.len() as u64;
        let logged = Logged {
            first: u64::from(first.offset),
            upto: batch.upto,
            wm: batch.wm,
            last_fire: batch.records.iter().map(|r| sem.last_fire(r)).max().unwrap_or(0),
            count: batch.records.len() as u64,
        };
        let log = &mut self.logs[part as usize][group as usize];
        if log.is_empty() {
            self.listed[group as usize].push((part, logged));
        }
        log.push_back(logged);
    }

    /// Drops the prefix of the log `part → group` that `drop` says is no longer needed; the log
    /// then starts at the `upto` of the last batch dropped. Returns its new first batch, if any.
    fn trim(&mut self, part: u32, group: u32, drop: impl Fn(&Logged) -> bool) -> Option<Logged> {
        let log = &mut self.logs[part as usize][group as usize];
        while let Some(b) = log.front() {
            if !drop(b) {
                break;
            }
            self.records -= b.count;
            self.start[part as usize][group as usize] = b.upto;
            log.pop_front();
        }
        log.front().copied()
    }

    /// Trims the log `p → group` of every source `p` that `heard(p)` with what `drop(p, _)`
    /// says is no longer needed, looking only at the logs that hold something and touching
    /// only those whose first batch goes.
    fn trim_heard(&mut self, group: u32, heard: impl Fn(u32) -> bool, drop: impl Fn(u32, &Logged) -> bool) {
        let mut listed = std::mem::take(&mut self.listed[group as usize]);
        listed.retain_mut(|(p, first)| {
            if !heard(*p) || !drop(*p, first) {
                return true;
            }
            match self.trim(*p, group, |b| drop(*p, b)) {
                Some(b) => {
                    *first = b;
                    true
                }
                None => false,
            }
        });
        self.listed[group as usize] = listed;
    }

    /// The task of `group` holds durably everything of each source `p` that `heard(p)` below
    /// `seen[p]` (a checkpoint).
    pub fn trim_seen(&mut self, group: u32, heard: impl Fn(u32) -> bool, seen: &[u64]) {
        self.trim_heard(group, heard, |p, b| b.upto <= seen[p as usize]);
    }

    /// The task of `group` emitted every window firing at or before `fired`: a batch whose
    /// records count only in such windows is no longer needed by the sources `p` that
    /// `heard(p)`.
    pub fn trim_fired(&mut self, group: u32, heard: impl Fn(u32) -> bool, fired: u64) {
        self.trim_heard(group, heard, |_, b| b.last_fire <= fired);
    }

    /// The log of `part → group`, oldest first, its records read again from the source log.
    pub fn batches(&self, part: u32, group: u32, log: &LogReader<'_>, sem: &Semantics) -> Vec<Batch> {
        self.logs[part as usize][group as usize]
            .iter()
            .map(|b| {
                let mut records = Vec::with_capacity(b.count as usize);
                log.each(PartitionId(part), b.first, b.upto, |r| {
                    if sem.keeps(r) && sem.task_of(u64::from(r.key)) == group {
                        records.push(*r);
                    }
                });
                debug_assert_eq!(records.len() as u64, b.count);
                Batch {
                    part,
                    upto: b.upto,
                    wm: b.wm,
                    records,
                }
            })
            .collect()
    }

    /// Where the log of `part → group` starts: the offset of `part` below which the task of
    /// `group` needs nothing any more.
    pub fn start(&self, part: u32, group: u32) -> u64 {
        self.start[part as usize][group as usize]
    }

    /// Where a restarted source `part` resumes reading: where the oldest of its logs began.
    pub fn resume_at(&self, part: u32) -> u64 {
        self.start[part as usize].iter().copied().min().unwrap_or(0)
    }

    /// Source `part` is lost: its logs are gone (its partition is read again from where the
    /// first of them started).
    pub fn lose(&mut self, part: u32) {
        for (g, log) in self.logs[part as usize].iter_mut().enumerate() {
            if log.is_empty() {
                continue;
            }
            self.records -= log.iter().map(|b| b.count).sum::<u64>();
            log.clear();
            self.listed[g].retain(|(p, _)| *p != part);
        }
    }

    /// Records held in all logs.
    pub fn records(&self) -> u64 {
        self.records
    }
}
