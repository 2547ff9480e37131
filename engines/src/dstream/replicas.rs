//! Block replicas: copies of a received block in other workers' memory, and what a worker's
//! failure does to them.
//!
//! Invariants: every copy on its way names the node it was sent from and the node it goes to;
//! when either fails, the copy is sent again from a live holder to another worker, or, with no
//! live holder or no other worker, given up; a block whose copies are all settled (arrived or
//! given up) counts as stored; a block with no holder left is re-read from the durable source
//! log by its map task.

use super::DStream;
use super::policy::DsMsg;
use crate::microbatch::{BlockId, Cx, MicroBatch, Msg};
use ftsim_sim::NodeId;

/// A block copy on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// The replica it goes to.
    pub to: NodeId,
    /// The node that sent it.
    pub from: NodeId,
}

/// How far a block has got towards being received.
#[derive(Debug)]
pub struct Receipt {
    /// Copies not yet arrived.
    pub replicating: Vec<Pending>,
    /// Replicated as required, or as far as the cluster allowed (counts as received).
    pub stored: bool,
    /// The master has heard of it.
    pub known: bool,
}

type Mb = MicroBatch<DStream>;

impl Mb {
    /// Up to `count` live workers after `node` in ring order, skipping `exclude`.
    pub(crate) fn peers(&self, node: NodeId, count: usize, exclude: &[NodeId]) -> Vec<NodeId> {
        let n = self.workers.len();
        let start = match self.workers.partition_point(|w| w.0 <= node.0) {
            i if i == n => 0,
            i => i,
        };
        (0..n)
            .map(|i| self.workers[(start + i) % n])
            .filter(|w| !exclude.contains(w) && !self.dead.contains(w))
            .take(count)
            .collect()
    }

    /// A block copy reached replica `at`.
    pub(crate) fn on_replica(&mut self, b: BlockId, at: NodeId, cx: &mut Cx<'_, DStream>) {
        let rc = &mut self.policy.receipts[b];
        let Some(i) = rc.replicating.iter().position(|c| c.to == at) else {
            return;
        };
        rc.replicating.remove(i);
        self.blocks[b].locs.push(at);
        if rc.replicating.is_empty() && !rc.stored {
            rc.stored = true;
            cx.send(at, self.master, 64, Msg::Policy(DsMsg::Report(b)));
        }
    }

    /// Blocks lose their copy on failed node `x`; copies sent to or from x go again from a live
    /// holder, or are given up.
    pub(crate) fn fix_blocks(&mut self, x: NodeId, cx: &mut Cx<'_, DStream>) {
        for b in 0..self.blocks.len() {
            self.blocks[b].locs.retain(|n| *n != x);
            let rc = &mut self.policy.receipts[b];
            let before = rc.replicating.len();
            rc.replicating.retain(|c| c.to != x && c.from != x);
            for _ in rc.replicating.len()..before {
                self.resend(b, x, cx);
            }
            let rc = &mut self.policy.receipts[b];
            if rc.replicating.is_empty() && !rc.stored {
                rc.stored = true;
                rc.known = true;
            }
        }
    }

    /// Sends one more copy of block `b` from a live holder to a worker that has none.
    fn resend(&mut self, b: BlockId, x: NodeId, cx: &mut Cx<'_, DStream>) {
        let blk = &self.blocks[b];
        let rc = &self.policy.receipts[b];
        let src = blk
            .locs
            .iter()
            .copied()
            .find(|n| !self.dead.contains(n) && self.is_worker(*n));
        let exclude: Vec<NodeId> = blk
            .locs
            .iter()
            .copied()
            .chain(rc.replicating.iter().map(|c| c.to))
            .chain([x])
            .collect();
        let bytes = blk.len() * self.record_bytes;
        if let Some((s, t)) = src.and_then(|s| self.peers(s, 1, &exclude).first().map(|t| (s, *t))) {
            self.policy.receipts[b].replicating.push(Pending { to: t, from: s });
            cx.send_ft(s, t, bytes, Msg::Policy(DsMsg::Replica(b)));
        }
    }
}
