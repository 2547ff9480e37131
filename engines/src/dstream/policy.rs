//! The D-Streams policy as the core sees it: its messages, tags and scopes, and the hooks that
//! route the core's events to receivers, checkpoints, lineage recovery and the master's restart.

use super::DStream;
use super::lineage::Recompute;
use crate::microbatch::{Batch, BlockId, Cx, MicroBatch, Policy, Reduced, Scope};
use ftsim_sim::engine::Scoped;
use ftsim_sim::{NodeId, OperatorState, SimTime};

/// D-Streams messages.
#[derive(Debug)]
pub enum DsMsg {
    /// A block copy for a replica.
    Replica(BlockId),
    /// A block is received (to the master).
    Report(BlockId),
    /// A recovered key range (recovery, sub) arrives at the recovery's host.
    Piece(usize, u32),
}

/// D-Streams timers and storage operations.
#[derive(Debug)]
pub enum DsTag {
    /// Receiver `part` cuts a block.
    Receiver(u32),
    /// A state partition's checkpoint write (batch, partition, the state it carries).
    Ckpt(u64, u32, Box<OperatorState>),
}

impl Scoped<Scope> for DsMsg {}

/// The policy's scope number p is receiver p: its block clock.
impl Scoped<Scope> for DsTag {
    fn scope(&self) -> Option<Scope> {
        match self {
            DsTag::Receiver(p) => Some(Scope::Policy(*p)),
            DsTag::Ckpt(..) => None,
        }
    }
}

impl Policy for DStream {
    type Msg = DsMsg;
    type Tag = DsTag;
    type Job = Recompute;

    fn start(mb: &mut MicroBatch<Self>, cx: &mut Cx<'_, Self>) {
        for p in 0..mb.policy.receivers.len() as u32 {
            mb.arm_receiver(p, SimTime(mb.policy.cfg.block_interval.as_nanos()), cx);
        }
    }

    fn batch_clock(mb: &mut MicroBatch<Self>, cx: &mut Cx<'_, Self>) {
        mb.generate_batch(cx);
    }

    fn allocate(mb: &mut MicroBatch<Self>, _cx: &mut Cx<'_, Self>) -> Vec<BlockId> {
        mb.allocate_received()
    }

    fn map_preference(mb: &MicroBatch<Self>, block: BlockId) -> Vec<NodeId> {
        mb.blocks[block].locs.clone()
    }

    fn reduce_applied(mb: &mut MicroBatch<Self>, done: Reduced, cx: &mut Cx<'_, Self>) -> bool {
        mb.checkpoint_if_due(done, cx);
        true
    }

    fn batch_forgotten(mb: &mut MicroBatch<Self>, b: &Batch) {
        mb.unallocate(b);
    }

    fn worker_failed(mb: &mut MicroBatch<Self>, x: NodeId, cx: &mut Cx<'_, Self>) {
        mb.recover_worker(x, cx);
    }

    fn master_restore(mb: &mut MicroBatch<Self>, _fresh: &[NodeId], cx: &mut Cx<'_, Self>) {
        mb.adopt_attempts(cx);
        mb.relearn_receipts();
    }

    fn master_resumed(mb: &mut MicroBatch<Self>, fresh: Vec<NodeId>, cx: &mut Cx<'_, Self>) {
        for x in fresh {
            mb.recover_worker(x, cx);
        }
        mb.repair(cx);
        mb.generate_batch(cx);
    }

    fn node_joined(mb: &mut MicroBatch<Self>, _node: NodeId, cx: &mut Cx<'_, Self>) {
        mb.repair(cx);
    }

    fn batch_durable(mb: &mut MicroBatch<Self>, _n: u64, _cx: &mut Cx<'_, Self>) {
        mb.trim_lineage();
    }

    fn on_message(mb: &mut MicroBatch<Self>, _from: NodeId, to: NodeId, msg: DsMsg, cx: &mut Cx<'_, Self>) {
        match msg {
            DsMsg::Replica(b) => mb.on_replica(b, to, cx),
            DsMsg::Report(b) => mb.policy.receipts[b].known = true,
            DsMsg::Piece(rec, sub) => mb.on_piece(rec, sub, cx),
        }
    }

    fn on_tag(mb: &mut MicroBatch<Self>, tag: DsTag, cx: &mut Cx<'_, Self>) {
        match tag {
            DsTag::Receiver(p) => mb.on_receiver_tick(p, cx),
            DsTag::Ckpt(n, r, state) => mb.on_ckpt_written(n, r, *state, cx),
        }
    }

    fn incarnation(&self, p: u32) -> u32 {
        self.receivers[p as usize].epoch
    }
}
