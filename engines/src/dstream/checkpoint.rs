//! Periodic state checkpoints: every `checkpoint_every` batches each state partition is written
//! to durable storage, asynchronously (processing does not wait).
//!
//! Invariants: a partition is written once per checkpointed batch, by the attempt that first
//! computed it; `last_ckpt` is the latest batch all of whose partitions are written, and only
//! grows; lineage (record lists) before it is dropped, since no recovery replays it again.

use super::DStream;
use super::policy::DsTag;
use crate::microbatch::{Cx, MicroBatch, Reduced, Tag};

impl MicroBatch<DStream> {
    /// A reduce attempt computed its state partition: the attempt that first computed it writes
    /// it if its batch is a checkpoint.
    pub(crate) fn checkpoint_if_due(&self, done: Reduced, cx: &mut Cx<'_, DStream>) {
        let Reduced {
            attempt,
            batch,
            r,
            first,
        } = done;
        if first && batch % self.policy.cfg.checkpoint_every == 0 {
            let bytes = self.state_bytes(batch, r);
            cx.storage_write(
                self.attempts[attempt].node,
                bytes,
                true,
                Tag::Policy(DsTag::Ckpt(batch, r)),
            );
        }
    }

    /// A state partition of batch n reached durable storage.
    pub(crate) fn on_ckpt_written(&mut self, n: u64, _r: u32, cx: &mut Cx<'_, DStream>) {
        let c = self.policy.ckpt_written.entry(n).or_insert(0);
        *c += 1;
        if *c < self.parallelism || n <= self.policy.last_ckpt {
            return;
        }
        self.policy.last_ckpt = n;
        cx.log_event("checkpoint", None, format!("state of batch {n} complete"));
        // Lineage before the checkpoint is dropped.
        for (_, b) in self.batches.range_mut(..=n) {
            b.by_r = Vec::new();
        }
    }
}
