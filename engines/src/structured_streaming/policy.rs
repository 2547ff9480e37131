//! The Structured Streaming policy as the core sees it: its tags, and the hooks that route the
//! core's events to triggers, the offsets log, state-store versions and query restarts.

use super::StructuredStreaming;
use crate::microbatch::{AttemptId, BlockId, Cx, MicroBatch, Policy, Reduced, Scope};
use ftsim_sim::engine::Scoped;
use ftsim_sim::planted::Bug;
use ftsim_sim::{NodeId, OperatorState};
use std::convert::Infallible;

/// Structured Streaming timers and storage operations.
#[derive(Debug)]
pub enum SsTag {
    /// The failed query restarts (a timer of the driver's).
    Restart,
    /// An attempt's state-store version (batch, partition) is written, carrying its state.
    DeltaWrite(AttemptId, u64, u32, Box<OperatorState>),
}

impl Scoped<Scope> for SsTag {
    fn scope(&self) -> Option<Scope> {
        match self {
            SsTag::Restart => Some(Scope::Master),
            SsTag::DeltaWrite(..) => None,
        }
    }
}

impl Policy for StructuredStreaming {
    type Msg = Infallible;
    type Tag = SsTag;
    type Job = Infallible;

    fn batch_clock(mb: &mut MicroBatch<Self>, cx: &mut Cx<'_, Self>) {
        if mb.ready_for_batch() {
            mb.generate_batch(cx);
        } else {
            mb.policy.trigger_due = true;
        }
    }

    fn allocate(mb: &mut MicroBatch<Self>, cx: &mut Cx<'_, Self>) -> Vec<BlockId> {
        mb.policy.trigger_due = false;
        mb.allocate_offsets(cx)
    }

    fn map_preference(mb: &MicroBatch<Self>, block: BlockId) -> Vec<NodeId> {
        let blk = &mb.blocks[block];
        if blk.locs.is_empty() && !mb.workers.is_empty() {
            vec![mb.workers[blk.part as usize % mb.workers.len()]]
        } else {
            blk.locs.clone()
        }
    }

    fn reduce_applied(mb: &mut MicroBatch<Self>, done: Reduced, cx: &mut Cx<'_, Self>) -> bool {
        // The state store commits this batch's version before the task ends.
        mb.commit_version(done, cx);
        mb.planted.has(Bug::StateStoreEarly)
    }

    fn batch_durable(mb: &mut MicroBatch<Self>, n: u64, cx: &mut Cx<'_, Self>) {
        mb.forget_batch(n);
        if mb.policy.trigger_due && mb.ready_for_batch() {
            mb.generate_batch(cx);
        }
    }

    fn worker_failed(mb: &mut MicroBatch<Self>, x: NodeId, cx: &mut Cx<'_, Self>) {
        mb.awaiting_resume.push(x);
        mb.query_fail(cx);
    }

    fn master_failed(mb: &mut MicroBatch<Self>) {
        mb.policy.query_down = true;
    }

    fn master_restore(mb: &mut MicroBatch<Self>, fresh: &[NodeId], cx: &mut Cx<'_, Self>) {
        // Workers that died while the driver was down need no restart of their own (this is
        // one), but their failures are restored with it.
        mb.awaiting_resume.extend(fresh.iter().copied());
        mb.reset_query(cx);
        mb.policy.query_down = false;
    }

    fn may_resume(mb: &MicroBatch<Self>) -> bool {
        // The query runs again only on a live worker.
        !mb.workers.is_empty()
    }

    fn master_resumed(mb: &mut MicroBatch<Self>, _fresh: Vec<NodeId>, _cx: &mut Cx<'_, Self>) {
        mb.policy.trigger_due = true;
    }

    fn stopped(&self) -> bool {
        self.query_down
    }

    fn on_message(_mb: &mut MicroBatch<Self>, _from: NodeId, _to: NodeId, msg: Infallible, _cx: &mut Cx<'_, Self>) {
        match msg {}
    }

    fn on_tag(mb: &mut MicroBatch<Self>, tag: SsTag, cx: &mut Cx<'_, Self>) {
        match tag {
            SsTag::Restart => mb.resume(cx),
            SsTag::DeltaWrite(a, n, r, state) => mb.on_version_written(a, n, r, *state, cx),
        }
    }
}
