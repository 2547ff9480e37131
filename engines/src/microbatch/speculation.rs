//! Speculative execution (Spark's `spark.speculation`): the master's periodic look for tasks
//! running much longer than their stage's finished ones.
//!
//! Rule: in a stage (a batch's map or reduce tasks) where at least `quantile` × tasks (and at
//! least one) have finished, a task whose only attempt has run longer than
//! max(`multiplier` × median finished duration, 100 ms) gets one copy on another node with a free
//! core. The first attempt to report wins ([`MicroBatch::task_done`] cancels the other).

use super::model::{Status, TaskId};
use super::protocol::Clock;
use super::{Cx, MicroBatch, Policy};
use ftsim_sim::SimDuration;

/// Spark's minimum runtime before a task may be speculated.
const MIN_RUNTIME: SimDuration = SimDuration::from_millis(100);

impl<P: Policy> MicroBatch<P> {
    /// The master's speculation clock (also retries scheduling).
    pub(crate) fn on_spec_clock(&mut self, cx: &mut Cx<'_, P>) {
        self.arm(Clock::Spec, cx.now() + self.cfg.tasks.speculation_interval, cx);
        if self.halted() {
            return;
        }
        self.schedule(cx);
        let stages: Vec<Vec<TaskId>> = self
            .batches
            .values()
            .filter(|b| b.submitted.is_some() && b.done.is_none())
            .flat_map(|b| [b.maps.clone(), b.reduces.clone()])
            .collect();
        for stage in stages {
            self.speculate(&stage, cx);
        }
    }

    fn speculate(&mut self, stage: &[TaskId], cx: &mut Cx<'_, P>) {
        let mut done: Vec<u64> = stage.iter().filter_map(|t| self.tasks[*t].duration).collect();
        let need = ((self.cfg.tasks.speculation_quantile * stage.len() as f64).floor() as usize).max(1);
        if stage.is_empty() || done.len() < need || done.len() == stage.len() {
            return;
        }
        done.sort_unstable();
        let median = SimDuration(done[done.len() / 2]);
        let threshold = median.scale(self.cfg.tasks.speculation_multiplier).max(MIN_RUNTIME);
        for &t in stage {
            let task = &self.tasks[t];
            if task.status() != Status::Running || task.attempts.len() != 1 {
                continue;
            }
            let att = &self.attempts[task.attempts[0]];
            if att.speculative || cx.now().since(att.launched) <= threshold {
                continue;
            }
            let from = att.node;
            if let Some(node) = self.place(t, Some(from)) {
                cx.log_event(
                    "speculate",
                    Some(node),
                    format!(
                        "copy of a task running {} on node {}",
                        cx.now().since(att.launched),
                        from.0
                    ),
                );
                self.launch(t, node, true, cx);
            }
        }
    }
}
