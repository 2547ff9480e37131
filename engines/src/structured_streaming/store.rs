//! The state store: every reduce task commits its partition's version of the batch to durable
//! storage (the write costs the keys the batch changed × `state_bytes_per_key`) before it
//! reports done; a restarted query reads each partition's version back.
//!
//! Invariants: a version is durable only once its write completed; a reduce task reports to the
//! driver only after its version is durable, so every partition of a batch in the commit log has
//! its version; the store keeps, per partition, the newest version at or below the last batch in
//! the commit log and every newer one; a batch's record lists are dropped once its completion is
//! in the commit log (it never runs again).

use super::StructuredStreaming;
use super::policy::SsTag;
use crate::microbatch::{AttemptId, Cx, Input, MicroBatch, Reduced, Tag};
use ftsim_sim::OperatorState;
use ftsim_sim::planted::Bug;

impl MicroBatch<StructuredStreaming> {
    /// A reduce attempt computed its partition: it writes the partition's version of the batch.
    pub(crate) fn commit_version(&self, done: Reduced, cx: &mut Cx<'_, StructuredStreaming>) {
        let Reduced { attempt, batch, r, .. } = done;
        let node = self.attempts[attempt].node;
        let Some(state) = self.states.in_memory(batch, r, node) else {
            return;
        };
        let bytes = self.batches.get(&batch).map_or(0, |b| b.delta_bytes[r as usize]);
        let tag = SsTag::DeltaWrite(attempt, batch, r, Box::new(state.clone()));
        cx.storage_write(node, bytes, true, Tag::Policy(tag));
    }

    /// Version (n, r) written by attempt `a` is durable: the attempt reports done.
    pub(crate) fn on_version_written(
        &mut self,
        a: AttemptId,
        n: u64,
        r: u32,
        state: OperatorState,
        cx: &mut Cx<'_, StructuredStreaming>,
    ) {
        self.states.store(n, r, state);
        if !self.planted.has(Bug::StateStoreEarly) {
            self.report_finished(a, cx);
        }
    }

    /// Batch n's completion is in the commit log: its records and older versions can go.
    pub(crate) fn forget_batch(&mut self, n: u64) {
        if let Some(b) = self.batches.get_mut(&n) {
            b.input = Input::Dropped;
        }
        for r in 0..self.parallelism {
            if let Some((v, _)) = self.states.durable_at(n, r) {
                self.states.prune_durable(r, v);
            }
        }
    }
}
