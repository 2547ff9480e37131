//! The D-Streams master's restart: attempts that finished while it was down count as done
//! (their workers report the partitions they hold); the others are killed and their tasks wait
//! again.
//!
//! Invariant: after adoption no task is `Running` without a live attempt, and a task adopted as
//! done has its output on a live worker.

use super::DStream;
use crate::microbatch::{Cx, MicroBatch, Status};

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
            match winner {
                Some(a) => {
                    let took = cx.now().since(self.attempts[a].launched);
                    self.tasks[t].status = Status::Running;
                    self.task_done(t, self.attempts[a].node, took, cx);
                }
                None => self.requeue_if_orphan(t),
            }
        }
    }
}
