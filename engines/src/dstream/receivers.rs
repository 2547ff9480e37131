//! Receivers: cutting a source partition into blocks, replicating them in workers' memory,
//! reporting them to the master, and the master allocating received blocks to a batch.
//!
//! Invariants: receiver p cuts partition p in offset order, so its blocks are contiguous and
//! `unallocated[p]` lists them in offset order; a block is allocated only once it is stored
//! (replicated as required) and known to the master, and only as the next contiguous piece of
//! its partition; every block has a receipt, by the same id.

use super::DStream;
use super::policy::{DsMsg, DsTag};
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
}

/// How far a block has got towards being received.
#[derive(Debug)]
pub struct Receipt {
    /// Replica targets not yet reached.
    pub replicating: Vec<NodeId>,
    /// Replicated as required (counts as received).
    pub stored: bool,
    /// The master has heard of it.
    pub known: bool,
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
            replicating: targets,
            stored,
            known: false,
        });
        self.policy.unallocated[p as usize].push_back(b);
    }

    /// Up to `count` live workers after `node` in ring order, skipping `exclude`.
    fn peers(&self, node: NodeId, count: usize, exclude: &[NodeId]) -> Vec<NodeId> {
        let n = self.workers.len();
        let start = self.workers.iter().position(|w| w.0 > node.0).unwrap_or(0);
        (0..n)
            .map(|i| self.workers[(start + i) % n])
            .filter(|w| !exclude.contains(w) && !self.dead.contains(w))
            .take(count)
            .collect()
    }

    /// A block copy reached replica `at`.
    pub(crate) fn on_replica(&mut self, b: BlockId, at: NodeId, cx: &mut Cx<'_, DStream>) {
        let rc = &mut self.policy.receipts[b];
        if !rc.replicating.contains(&at) {
            return;
        }
        rc.replicating.retain(|n| *n != at);
        self.blocks[b].locs.push(at);
        if rc.replicating.is_empty() && !rc.stored {
            rc.stored = true;
            cx.send(at, self.master, 64, Msg::Policy(DsMsg::Report(b)));
        }
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

    /// Blocks lose their copy on x; copies on their way to x go elsewhere.
    pub(crate) fn fix_blocks(&mut self, x: NodeId, cx: &mut Cx<'_, DStream>) {
        for b in 0..self.blocks.len() {
            let blk = &mut self.blocks[b];
            blk.locs.retain(|n| *n != x);
            let rc = &mut self.policy.receipts[b];
            if !rc.replicating.contains(&x) {
                continue;
            }
            rc.replicating.retain(|n| *n != x);
            let src = blk.locs.first().copied().filter(|n| !self.dead.contains(n));
            let exclude: Vec<NodeId> = blk.locs.iter().chain(&rc.replicating).copied().chain([x]).collect();
            let bytes = blk.len() * self.record_bytes;
            match src.and_then(|s| self.peers(s, 1, &exclude).first().map(|t| (s, *t))) {
                Some((s, t)) => {
                    self.policy.receipts[b].replicating.push(t);
                    cx.send_ft(s, t, bytes, Msg::Policy(DsMsg::Replica(b)));
                }
                None => {
                    let rc = &mut self.policy.receipts[b];
                    if rc.replicating.is_empty() && !rc.stored {
                        rc.stored = true;
                        rc.known = true;
                    }
                }
            }
        }
    }

    /// Receivers on x restart on the survivor with the fewest receivers, in a new incarnation.
    pub(crate) fn move_receivers(&mut self, x: NodeId, cx: &mut Cx<'_, DStream>) {
        if self.workers.is_empty() {
            return;
        }
        for p in 0..self.policy.receivers.len() {
            if self.policy.receivers[p].node != x {
                continue;
            }
            let receivers = &self.policy.receivers;
            let node = *self
                .workers
                .iter()
                .min_by_key(|w| (receivers.iter().filter(|r| r.node == **w).count(), w.0))
                .unwrap_or(&self.workers[0]);
            let rc = &mut self.policy.receivers[p];
            rc.node = node;
            rc.epoch += 1;
            cx.log_event(
                "receiver-moved",
                Some(node),
                format!("partition {p} from offset {}", rc.next),
            );
            self.arm_receiver(p as u32, cx.now(), cx);
        }
    }
}
