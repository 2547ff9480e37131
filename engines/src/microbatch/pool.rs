//! The worker pool as the master keeps it, with the cluster manager behind it: a worker whose
//! failure the master handles leaves the pool, and a spare and the failed node's restart are
//! asked for; a spare or a restarted node joins the pool, all its cores free, once it is ready.
//!
//! Invariants: `workers` lists the live workers in id order; a spare and a restart are asked for
//! once per failure, when the master handles it (`handled`); a node that joins is neither dead
//! nor handled any more, so a later failure of it is handled again; a master that may not resume
//! (see [`Policy::may_resume`]) waits for a node to join before it reads its metadata.

use super::{Cx, MicroBatch, Policy};
use ftsim_sim::NodeId;

impl<P: Policy> MicroBatch<P> {
    /// The master handles worker `x`'s failure: it leaves the pool, and a spare and its restart
    /// are asked for. False if that was done already.
    pub(crate) fn release(&mut self, x: NodeId, cx: &mut Cx<'_, P>) -> bool {
        if !self.handled.insert(x) {
            return false;
        }
        self.workers.retain(|w| *w != x);
        self.cores_free.set(x, 0);
        cx.request_spare(x);
        cx.restart_node(x);
        true
    }

    /// A spare or a restarted node is ready: it joins the pool.
    pub(crate) fn join(&mut self, node: NodeId, cx: &mut Cx<'_, P>) {
        if self.is_worker(node) {
            return;
        }
        let at = self.workers.partition_point(|w| w.0 < node.0);
        self.workers.insert(at, node);
        self.cores_free.set(node, self.cores);
        self.dead.remove(&node);
        self.handled.remove(&node);
        cx.log_event("worker-joined", Some(node), format!("{} cores free", self.cores));
        P::node_joined(self, node, cx);
        if std::mem::take(&mut self.waiting_for_node) {
            self.read_metadata(cx);
        }
        self.schedule(cx);
    }

    /// The master (or the query) restarts: the workers reported dead meanwhile leave the pool
    /// (their failures are handled once the metadata is read), and it reads its metadata back
    /// now if the policy lets it, else once a node joins.
    pub(crate) fn resume(&mut self, cx: &mut Cx<'_, P>) {
        let fresh: Vec<NodeId> = self.dead.difference(&self.handled).copied().collect();
        for x in fresh {
            if self.release(x, cx) {
                self.missed.push(x);
            }
        }
        if P::may_resume(self) {
            self.read_metadata(cx);
        } else {
            self.waiting_for_node = true;
            cx.log_event("no-workers", Some(self.master), "waiting for a node to join");
        }
    }

    /// Why the engine cannot go on for want of capacity, if that is so.
    pub(crate) fn stuck_reason(&self) -> Option<String> {
        if !self.master_up {
            Some("the master is down, waiting for it to come back".into())
        } else if self.workers.is_empty() {
            Some("no worker is left: the lost tasks wait for a node to come back".into())
        } else {
            None
        }
    }
}
