//! The query: its input from the offsets log, one batch at a time, and its restart after a
//! crash from the last batch in the commit log.
//!
//! Invariants: batch n's input is every offset available at its trigger past batch n−1's end,
//! split into ranges of at least one record; after a restart no attempt is live, no worker holds
//! a state partition in memory, every batch after the last one in the commit log waits to run
//! again, and only that batch's state partitions exist (in storage, as state-store versions).

use super::StructuredStreaming;
use super::policy::SsTag;
use crate::microbatch::{BlockId, Cx, Loc, MicroBatch, Tag};
use ftsim_sim::PartitionId;

impl MicroBatch<StructuredStreaming> {
    /// The query runs and the last batch's completion is logged: the next one may start.
    pub(crate) fn ready_for_batch(&self) -> bool {
        self.batches.values().all(|b| b.complete_durable) && !self.policy.query_down
    }

    /// The next batch's input: the offsets available now, per partition split into at least
    /// `min_partitions` / partitions ranges.
    pub(crate) fn allocate_offsets(&mut self, cx: &mut Cx<'_, StructuredStreaming>) -> Vec<BlockId> {
        let mut blocks = Vec::new();
        let parts = self.alloc_next.len() as u64;
        for p in 0..self.alloc_next.len() {
            let end = cx.log.available(PartitionId(p as u32), cx.now());
            let start = self.alloc_next[p];
            let splits = (u64::from(self.policy.cfg.min_partitions).div_ceil(parts)).clamp(1, (end - start).max(1));
            for i in 0..splits {
                let (from, to) = (
                    start + (end - start) * i / splits,
                    start + (end - start) * (i + 1) / splits,
                );
                if to == from {
                    continue;
                }
                blocks.push(self.new_block(p as u32, from, to, Vec::new(), cx));
            }
            self.alloc_next[p] = end;
        }
        blocks
    }

    /// The query fails and restarts after the restart delay.
    pub(crate) fn query_fail(&mut self, cx: &mut Cx<'_, StructuredStreaming>) {
        self.policy.query_down = true;
        self.end_master_incarnation();
        self.reset_query(cx);
        let delay = self.policy.cfg.restart_delay;
        cx.log_event("query-restart", None, format!("restart in {delay}"));
        cx.set_node_timer_at(self.master, cx.now() + delay, Tag::Policy(SsTag::Restart));
    }

    /// Every executor's memory is gone; batches after the last one in the commit log run again
    /// from their logged offsets, on state read from the last version.
    pub(crate) fn reset_query(&mut self, cx: &mut Cx<'_, StructuredStreaming>) {
        for a in 0..self.attempts.len() {
            if self.attempts[a].live {
                self.kill(a, cx);
            }
        }
        let last = self
            .batches
            .values()
            .filter(|b| b.complete_durable)
            .map(|b| b.n)
            .max()
            .unwrap_or(0);
        let mut rerun = Vec::new();
        for b in self.batches.values_mut() {
            if b.n > last {
                b.done = None;
                rerun.extend(b.maps.iter().chain(&b.reduces).copied());
            }
        }
        self.states.clear_memory();
        for t in 0..self.tasks.len() {
            self.set_task(t, self.tasks[t].status(), Loc::Lost);
        }
        if let Some(b) = self.batches.get(&last) {
            for t in b.reduces.clone() {
                self.set_task(t, self.tasks[t].status(), Loc::Storage);
            }
        }
        for t in rerun {
            self.tasks[t].duration = None;
            self.requeue(t);
        }
        self.coordinator.clear();
    }
}
