//! The D-Streams master's restart: attempts that finished while it was down count as done
//! (their workers report the partitions they hold), and so does a reduce task whose state
//! partition reached a checkpoint (its output was written before the checkpoint was); the
//! others are killed and their tasks wait again.
//!
//! Invariant: after adoption no task is `Running` without a live attempt, a task adopted as done
//! has its output on a live worker or in a checkpoint, and every reduce task of the last complete
//! checkpoint's batch is done.

use super::DStream;
use crate::microbatch::{Cx, Kind, Loc, MicroBatch, Status};
use ftsim_sim::SimDuration;

impl MicroBatch<DStream> {
    /// Adopts the attempts that finished on live workers while the master was down.
    pub(crate) fn adopt_attempts(&mut self, cx: &mut Cx<'_, DStream>) {
        for t in self.running_tasks() {
            let atts = self.tasks[t].attempts.clone();
            let winner = atts
                .iter()
                .copied()
                .find(|a| self.attempts[*a].finished && self.workers.contains(&self.attempts[*a].node));
            for a in atts {
                self.kill(a, cx);
            }
            let checkpointed = match self.tasks[t].kind {
                Kind::Reduce { batch, r } => self.states.is_durable(batch, r),
                _ => false,
            };
            self.tasks[t].status = Status::Running;
            match winner {
                Some(a) => {
                    let took = cx.now().since(self.attempts[a].launched);
                    self.task_done(t, Loc::Node(self.attempts[a].node), took, cx);
                }
                None if checkpointed => self.task_done(t, Loc::Storage, SimDuration::ZERO, cx),
                None => self.requeue_if_orphan(t),
            }
        }
    }
}
