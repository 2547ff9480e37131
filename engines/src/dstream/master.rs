//! Tasks left without a live attempt, by a worker's failure or the master's restart: attempts
//! that finished on live workers while the master was down count as done (their workers report
//! the partitions they hold), and so does a reduce task whose state partition reached a
//! checkpoint (the attempt that wrote it had written its output first); the others wait again.
//!
//! Invariant: after a worker's failure is handled or the master adopted its attempts, no task is
//! `Running` without a live attempt, a task adopted as done has its output on a live worker or
//! in a checkpoint, and no reduce task whose partition is in a checkpoint waits to run again.

use super::DStream;
use crate::microbatch::{Cx, Kind, Loc, MicroBatch, Status, TaskId};
use ftsim_sim::SimDuration;

impl MicroBatch<DStream> {
    /// Adopts the attempts that finished on live workers while the master was down.
    pub(crate) fn adopt_attempts(&mut self, cx: &mut Cx<'_, DStream>) {
        for t in self.running_tasks() {
            let atts = self.tasks[t].attempts.clone();
            let winner = atts
                .iter()
                .copied()
                .find(|a| self.attempts[*a].finished && self.is_worker(self.attempts[*a].node));
            for a in atts {
                self.kill(a, cx);
            }
            match winner {
                Some(a) => {
                    let took = cx.now().since(self.attempts[a].launched);
                    self.task_done(t, Loc::Node(self.attempts[a].node), took, cx);
                }
                None => self.settle_orphan(t, cx),
            }
        }
    }

    /// Task `t`, if left running without a live attempt, is done when its state partition is in
    /// a checkpoint, else waits again.
    pub(crate) fn settle_orphan(&mut self, t: TaskId, cx: &mut Cx<'_, DStream>) {
        let task = &self.tasks[t];
        if task.status() != Status::Running || !task.attempts.is_empty() {
            return;
        }
        match task.kind {
            Kind::Reduce { batch, r } if self.states.is_durable(batch, r) => {
                self.task_done(t, Loc::Storage, SimDuration::ZERO, cx);
            }
            _ => self.requeue(t),
        }
    }
}
