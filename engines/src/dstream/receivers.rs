//! Receivers: cutting a source partition into blocks, the master allocating received blocks to
//! a batch, and receivers placed again after their node's failure.
//!
//! Invariants: receiver p cuts partition p in offset order, so its blocks are contiguous and
//! `unallocated[p]` lists them in offset order; a block is allocated only once it is stored
//! (replicated as required, or left to the source log) and known to the master, and only as the
//! next contiguous piece of its partition; every block has a receipt, by the same id; a receiver
//! whose node failed is `lost` until it runs again on a live worker, from its last cut offset.

use super::DStream;
use super::policy::{DsMsg, DsTag};
use super::replicas::{Pending, Receipt};
use crate::microbatch::{Batch, BlockId, Cx, MicroBatch, Msg, Tag};
use ftsim_sim::{NodeId, PartitionId, SimTime};

/// A receiver: cuts one source partition into blocks.
#[derive(Debug)]
pub struct Receiver {
    /// Where it runs.
    pub node: NodeId,
    /// First offset not yet cut.
    pub next: u64,
    /// Its incarnation: bumped when it moves, so the kernel drops the ticks of its old place.
    pub epoch: u32,
    /// Its node failed and it has not run anywhere since.
    pub lost: bool,
}

type Mb = MicroBatch<DStream>;

impl Mb {
    /// Arms receiver `p`'s next tick at `at` on its node: the tick dies with the node.
    pub(crate) fn arm_receiver(&self, p: u32, at: SimTime, cx: &mut Cx<'_, DStream>) {
        let node = self.policy.receivers[p as usize].node;
        cx.set_node_timer_at(node, at, Tag::Policy(DsTag::Receiver(p)));
    }

    /// Receiver `p` cuts a block of what has arrived since its last cut.
    pub(crate) fn on_receiver_tick(&mut self, p: u32, cx: &mut Cx<'_, DStream>) {
        let avail = cx.log.available(PartitionId(p), cx.now());
        let from = self.policy.receivers[p as usize].next;
        if avail > from {
            self.cut_block(p, from, avail, cx);
            self.policy.receivers[p as usize].next = avail;
        }
        if self.policy.receivers[p as usize].next < self.ends[p as usize] {
            let iv = self.policy.cfg.block_interval.as_nanos();
            let at = SimTime((cx.now().0 / iv + 1) * iv);
            self.arm_receiver(p, at, cx);
        }
    }

    fn cut_block(&mut self, p: u32, from: u64, to: u64, cx: &mut Cx<'_, DStream>) {
        let node = self.policy.receivers[p as usize].node;
        let b = self.new_block(p, from, to, vec![node], cx);
        let copies = self.policy.cfg.block_replication.saturating_sub(1) as usize;
        let targets = self.peers(node, copies, &[node]);
        let bytes = (to - from) * self.record_bytes;
        for t in &targets {
            cx.send_ft(node, *t, bytes, Msg::Policy(DsMsg::Replica(b)));
        }
        let stored = targets.is_empty();
        if stored {
            cx.send(node, self.master, 64, Msg::Policy(DsMsg::Report(b)));
        }
        self.policy.receipts.push(Receipt {
            replicating: targets.into_iter().map(|t| Pending { to: t, from: node }).collect(),
            stored,
            known: false,
        });
        self.policy.unallocated[p as usize].push_back(b);
    }

    /// The next batch's input: per partition, the received blocks that continue it.
    pub(crate) fn allocate_received(&mut self) -> Vec<BlockId> {
        let mut blocks = Vec::new();
        for p in 0..self.alloc_next.len() {
            while let Some(&b) = self.policy.unallocated[p].front() {
                let (blk, rc) = (&self.blocks[b], &self.policy.receipts[b]);
                if !(rc.known && rc.stored && blk.from == self.alloc_next[p]) {
                    break;
                }
                self.policy.unallocated[p].pop_front();
                self.alloc_next[p] = blk.to;
                blocks.push(b);
            }
        }
        blocks
    }

    /// The blocks of forgotten batch `b` go back to the front of their partitions' pools.
    pub(crate) fn unallocate(&mut self, b: &Batch) {
        for &blk in b.blocks.iter().rev() {
            let p = self.blocks[blk].part as usize;
            self.policy.unallocated[p].push_front(blk);
        }
    }

    /// The restarted master learns from the workers every block they store.
    pub(crate) fn relearn_receipts(&mut self) {
        for rc in &mut self.policy.receipts {
            rc.known |= rc.stored;
        }
    }

    /// The receivers on failed node `x` are lost until they run somewhere again.
    pub(crate) fn lose_receivers(&mut self, x: NodeId) {
        for rc in self.policy.receivers.iter_mut().filter(|rc| rc.node == x) {
            rc.lost = true;
        }
    }

    /// Lost receivers restart on the live worker with the fewest receivers, in a new incarnation,
    /// at their last cut offset (nothing if no worker is left).
    pub(crate) fn rehome_receivers(&mut self, cx: &mut Cx<'_, DStream>) {
        for p in 0..self.policy.receivers.len() {
            if !self.policy.receivers[p].lost {
                continue;
            }
            let receivers = &self.policy.receivers;
            let load = |w: &NodeId| receivers.iter().filter(|r| !r.lost && r.node == *w).count();
            let Some(node) = self.workers.iter().copied().min_by_key(|w| (load(w), w.0)) else {
                return;
            };
            let rc = &mut self.policy.receivers[p];
            rc.node = node;
            rc.epoch += 1;
            rc.lost = false;
            cx.log_event(
                "receiver-moved",
                Some(node),
                format!("partition {p} from offset {}", rc.next),
            );
            self.arm_receiver(p as u32, cx.now(), cx);
        }
    }
}
