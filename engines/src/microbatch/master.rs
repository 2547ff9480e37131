//! Failures as the master sees them: a worker reported dead, the master's own loss and restart
//! from its metadata. What a failure means beyond that is the policy's.
//!
//! Invariants: the master handles each dead worker once (`handled`, see `pool`); a master
//! restart ends the master's incarnation first, so nothing its old incarnation issued reaches
//! the engine; after the metadata read, the master's view holds exactly the live workers, their
//! free cores count only live attempts, and every batch whose allocation was never logged is
//! forgotten, its kept records counted dropped (they are read again with a later batch).

use super::protocol::{Clock, Tag};
use super::{Cx, MicroBatch, Policy};
use ftsim_sim::engine::Flow;
use ftsim_sim::{NodeId, SimTime};

/// Why the kept records of a batch forgotten at a master restart left the ledger.
const ALLOCATION_LOST: &str = "allocation lost with the master";

impl<P: Policy> MicroBatch<P> {
    /// The master handles worker `x`'s failure (once).
    pub(crate) fn worker_failed(&mut self, x: NodeId, cx: &mut Cx<'_, P>) {
        if self.release(x, cx) {
            P::worker_failed(self, x, cx);
        }
    }

    /// Ends the master's incarnation: the kernel drops its clocks and metadata operations in
    /// flight. Whatever the handler issues afterwards belongs to the new incarnation.
    pub(crate) fn end_master_incarnation(&mut self) {
        self.master_epoch += 1;
    }

    /// The master is reported dead: restart it.
    pub(crate) fn on_master_failed(&mut self, cx: &mut Cx<'_, P>) {
        self.master_up = false;
        self.waiting_for_node = false;
        self.end_master_incarnation();
        P::master_failed(self);
        self.awaiting_resume.push(self.master);
        cx.log_event("master-restart", Some(self.master), "restarting the master");
        cx.restart_node(self.master);
    }

    /// The master read its metadata: rebuild its view and resume.
    pub(crate) fn master_recover(&mut self, cx: &mut Cx<'_, P>) {
        self.master_up = true;
        let mut fresh = std::mem::take(&mut self.missed);
        let unhandled: Vec<NodeId> = self.dead.difference(&self.handled).copied().collect();
        for x in unhandled {
            if self.release(x, cx) {
                fresh.push(x);
            }
        }
        P::master_restore(self, &fresh, cx);
        self.coordinator.clear();
        self.drop_unlogged_batches(cx);
        for w in &self.workers {
            self.cores_free.set(*w, self.cores);
        }
        for a in 0..self.attempts.len() {
            let (live, node) = (self.attempts[a].live, self.attempts[a].node);
            if live && self.is_worker(node) {
                self.cores_free.take(node);
            }
        }
        let iv = self.cfg.batch_interval.as_nanos();
        self.next_batch_time = SimTime((cx.now().0 / iv + 1) * iv);
        self.arm(Clock::Batch, self.next_batch_time, cx);
        if self.cfg.tasks.speculation {
            self.arm(Clock::Spec, cx.now() + self.cfg.tasks.speculation_interval, cx);
        }
        cx.log_event(
            "master-recovered",
            Some(self.master),
            format!("resuming at batch {}", self.next_batch),
        );
        for n in std::mem::take(&mut self.awaiting_resume) {
            cx.restored(n);
        }
        let undone: Vec<u64> = self
            .batches
            .values()
            .filter(|b| b.done.is_none())
            .map(|b| b.n)
            .collect();
        for n in undone {
            self.check_batch_done(n, cx);
        }
        let unlogged: Vec<u64> = self
            .batches
            .values()
            .filter(|b| b.done.is_some() && !b.complete_durable)
            .map(|b| b.n)
            .collect();
        for n in unlogged {
            cx.storage_write(self.master, self.meta_bytes(), false, Tag::MetaDone(n));
        }
        P::master_resumed(self, fresh, cx);
        self.schedule(cx);
    }

    /// Batches whose allocation never reached the metadata are forgotten; their input goes back.
    fn drop_unlogged_batches(&mut self, cx: &mut Cx<'_, P>) {
        let gone: Vec<u64> = self
            .batches
            .values()
            .rev()
            .filter(|b| !b.durable)
            .map(|b| b.n)
            .collect();
        for n in gone {
            let Some(b) = self.batches.remove(&n) else { continue };
            cx.records(Flow::Dropped(ALLOCATION_LOST), b.count_r.iter().sum());
            for &blk in b.blocks.iter().rev() {
                let block = &mut self.blocks[blk];
                block.batch = None;
                let p = block.part as usize;
                self.alloc_next[p] = self.alloc_next[p].min(block.from);
            }
            P::batch_forgotten(self, &b);
            self.next_batch = self.next_batch.min(n);
        }
    }
}
