//! Periodic state checkpoints: every `checkpoint_every` batches each state partition is written
//! to durable storage, asynchronously (processing does not wait), and what a complete checkpoint
//! lets the engine forget.
//!
//! Invariants: a partition is written once per checkpointed batch, by the first reduce of it to
//! complete, carrying the state that reduce computed; storage holds it only once the write has
//! completed; `last_ckpt` is the latest batch all of whose partitions are written, only grows,
//! and `prev_ckpt` is the complete one before it; record lists are dropped only for batches at
//! or before `last_ckpt` whose reduces are all done and that no active recovery replays, and
//! checkpoint versions only below `prev_ckpt` and below every active recovery's checkpoint.

use super::DStream;
use super::policy::DsTag;
use crate::microbatch::{Cx, Input, MicroBatch, Reduced, Tag};
use ftsim_sim::OperatorState;

impl MicroBatch<DStream> {
    /// A reduce attempt computed its state partition: the first to complete writes it if its
    /// batch is a checkpoint.
    pub(crate) fn checkpoint_if_due(&self, done: Reduced, cx: &mut Cx<'_, DStream>) {
        let Reduced {
            attempt,
            batch,
            r,
            first,
        } = done;
        let node = self.attempts[attempt].node;
        if !first || batch % self.policy.cfg.checkpoint_every != 0 {
            return;
        }
        let Some(state) = self.states.in_memory(batch, r, node) else {
            return;
        };
        let tag = DsTag::Ckpt(batch, r, Box::new(state.clone()));
        cx.storage_write(node, self.state_bytes(batch, r), true, Tag::Policy(tag));
    }

    /// State partition (n, r) reached durable storage.
    pub(crate) fn on_ckpt_written(&mut self, n: u64, r: u32, state: OperatorState, cx: &mut Cx<'_, DStream>) {
        self.states.store(n, r, state);
        let c = self.policy.ckpt_written.entry(n).or_insert(0);
        *c += 1;
        if *c < self.parallelism || n <= self.policy.last_ckpt {
            return;
        }
        self.policy.prev_ckpt = self.policy.last_ckpt;
        self.policy.last_ckpt = n;
        self.policy.ckpt_written.retain(|m, _| *m > n);
        cx.log_event("checkpoint", None, format!("state of batch {n} complete"));
        self.trim_lineage();
    }

    /// Drops the record lists and checkpoint versions that no recovery, rerun or copy can need
    /// any more (see the module's invariants).
    pub(crate) fn trim_lineage(&mut self) {
        let last = self.policy.last_ckpt;
        let active: Vec<(u32, u64, u64, u64)> = self
            .policy
            .recoveries
            .iter()
            .filter(|rc| rc.active)
            .map(|rc| (rc.r, rc.base, rc.from, rc.to))
            .collect();
        let droppable: Vec<u64> = self
            .batches_in(self.policy.trimmed, last)
            .filter(|b| {
                !b.input.is_dropped()
                    && b.reduces_done == b.reduces.len()
                    && !active.iter().any(|(_, _, from, to)| *from < b.n && b.n <= *to)
            })
            .map(|b| b.n)
            .collect();
        for n in droppable {
            if let Some(b) = self.batches.get_mut(&n) {
                b.input = Input::Dropped;
            }
        }
        let trimmed = self
            .batches_in(self.policy.trimmed, last)
            .take_while(|b| b.input.is_dropped())
            .last()
            .map(|b| b.n);
        if let Some(n) = trimmed {
            self.policy.trimmed = n;
        }
        for r in 0..self.parallelism {
            let keep = active
                .iter()
                .filter(|a| a.0 == r)
                .map(|a| a.1)
                .fold(self.policy.prev_ckpt, u64::min);
            self.states.prune_durable(r, keep);
        }
    }
}
