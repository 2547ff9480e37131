//! A worker's loss under D-Streams: what it held is lost, and `repair` runs it again on the live
//! workers: lineage recovery of the lost state partitions (see `lineage`), recompute of the lost
//! map outputs still needed, receivers placed again. With no worker left, the repair waits for
//! a spare or a restarted node to join.
//!
//! Invariants: after a worker's failure is handled, no task waits on an attempt or an output on
//! that node; after a repair with a live worker, every lost state partition that a later batch
//! needs (the latest computed one of each partition) has exactly one active recovery, and no
//! receiver is lost; a failed node is reported `restored` once per failure, when a repair with a
//! live worker has run and no active recovery answers for it.

use super::DStream;
use crate::microbatch::{Cx, Kind, Loc, MicroBatch, Status, TaskId};
use ftsim_sim::NodeId;

type Mb = MicroBatch<DStream>;

impl Mb {
    /// Worker `x` is gone (the master handles its failure): everything it held is lost.
    pub(crate) fn recover_worker(&mut self, x: NodeId, cx: &mut Cx<'_, DStream>) {
        self.drop_attempts_on(x, cx);
        self.fix_blocks(x, cx);
        self.lose_receivers(x);
        for t in 0..self.tasks.len() {
            let task = &self.tasks[t];
            if task.status() == Status::Done && task.out() == Loc::Node(x) {
                if let Kind::Reduce { r, .. } = task.kind {
                    self.policy.lost_by.entry(r).or_default().insert(x);
                }
                self.set_task(t, Status::Done, Loc::Lost);
            }
        }
        // Recoveries hosted on x start over, still answering for their failures.
        for i in 0..self.policy.recoveries.len() {
            let rc = &self.policy.recoveries[i];
            if rc.active && rc.host == x {
                let (r, failed) = (rc.r, rc.failed.clone());
                self.abandon_recovery(i, cx);
                self.policy
                    .lost_by
                    .entry(r)
                    .or_default()
                    .extend(failed.into_iter().chain([x]));
            }
        }
        *self.policy.unrestored.entry(x).or_insert(0) += 1;
        if self.workers.is_empty() {
            cx.log_event("no-workers", Some(x), "lost tasks wait for a node to join");
        }
        self.repair(cx);
    }

    /// Runs again, on the live workers, whatever failed workers lost: receivers, lost state
    /// partitions (lineage recoveries spread over every core), lost map outputs still needed.
    /// Does nothing while the master is down or no worker is left.
    pub(crate) fn repair(&mut self, cx: &mut Cx<'_, DStream>) {
        if self.halted() || self.workers.is_empty() {
            return;
        }
        self.rehome_receivers(cx);
        let mut lost: Vec<(u32, u64)> = Vec::new();
        for r in 0..self.parallelism {
            let h = self.head(r);
            let busy = self.policy.recoveries.iter().any(|rc| rc.active && rc.r == r);
            if h > 0 && !busy && self.state_loc(h, r).is_none() {
                lost.push((r, h));
            } else {
                self.policy.lost_by.remove(&r);
            }
        }
        let cores: u32 = self.workers.len() as u32 * self.cores;
        let subs = (cores / (lost.len() as u32).max(1)).clamp(1, 256);
        for (i, (r, h)) in lost.iter().enumerate() {
            let host = self.workers[(*r as usize + i) % self.workers.len()];
            let failed = self.policy.lost_by.remove(r).unwrap_or_default().into_iter().collect();
            self.start_recovery(*r, *h, subs, host, failed, cx);
        }
        self.requeue_lost_maps();
        let waiting: Vec<NodeId> = self.policy.unrestored.keys().copied().collect();
        for n in waiting {
            self.check_restored(n, cx);
        }
        self.schedule(cx);
    }

    /// The latest batch whose reduce task of partition r is done (0 if none).
    fn head(&self, r: u32) -> u64 {
        self.batches
            .values()
            .rev()
            .find(|b| {
                b.reduces
                    .get(r as usize)
                    .is_some_and(|t| self.tasks[*t].status() == Status::Done)
            })
            .map_or(0, |b| b.n)
    }

    /// Attempts on x are gone; attempts waiting for an input from x are killed; a task left
    /// without an attempt is settled (see `master`).
    fn drop_attempts_on(&mut self, x: NodeId, cx: &mut Cx<'_, DStream>) {
        for t in self.running_tasks() {
            for a in self.tasks[t].attempts.clone() {
                let att = &self.attempts[a];
                if att.node == x {
                    let att = &mut self.attempts[a];
                    att.live = false;
                    att.input = None;
                    self.tasks[t].attempts.retain(|b| *b != a);
                } else if att.work.is_none() && att.waiting.contains(&Some(x)) {
                    self.kill(a, cx);
                }
            }
            self.settle_orphan(t, cx);
        }
    }

    /// Lost map outputs that a running batch or an active recovery needs are computed again.
    fn requeue_lost_maps(&mut self) {
        let mut need: Vec<TaskId> = Vec::new();
        for b in self.batches.values() {
            let needed = (b.done.is_none() && b.durable)
                || self
                    .policy
                    .recoveries
                    .iter()
                    .any(|rc| rc.active && b.n > rc.from && b.n <= rc.to);
            if needed {
                need.extend(b.maps.iter().copied());
            }
        }
        for t in need {
            let task = &self.tasks[t];
            if task.status() == Status::Done && task.out() == Loc::Lost {
                self.requeue(t);
            }
        }
    }

    /// Reports failed node x restored if nothing it lost waits to run again.
    pub(crate) fn check_restored(&mut self, x: NodeId, cx: &mut Cx<'_, DStream>) {
        let busy = self
            .policy
            .recoveries
            .iter()
            .any(|rc| rc.active && rc.failed.contains(&x))
            || self.policy.lost_by.values().any(|s| s.contains(&x));
        if busy {
            return;
        }
        for _ in 0..self.policy.unrestored.remove(&x).unwrap_or(0) {
            cx.restored(x);
        }
    }
}
