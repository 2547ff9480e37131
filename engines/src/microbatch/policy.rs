//! The policy interface: what an engine built on the core decides for itself.
//!
//! The core calls a [`Policy`] at fixed points of its handlers; a hook gets the whole engine
//! (`&mut MicroBatch<Self>`), so it may read and change the core's state, call the core's
//! operations, and keep its own state in [`MicroBatch::policy`]. Hooks issue their commands in
//! the handler that calls them, at the point the core calls them: the order of commands is the
//! core's order with the hook's commands in its place.

use super::MicroBatch;
use super::inputs::Inputs;
use super::model::{AttemptId, Batch, BlockId};
use super::protocol::{Msg, Scope, Tag};
use ftsim_sim::engine::{Ctx, Scoped};
use ftsim_sim::{NodeId, SimDuration};
use std::convert::Infallible;
use std::fmt::Debug;

/// The context handlers of a `MicroBatch<P>` get.
pub type Cx<'a, P> = Ctx<'a, Msg<<P as Policy>::Msg>, Tag<<P as Policy>::Tag>>;

/// What a reduce attempt left on its worker, for [`Policy::reduce_applied`].
#[derive(Clone, Copy, Debug)]
pub struct Reduced {
    /// The attempt.
    pub attempt: AttemptId,
    /// Its batch.
    pub batch: u64,
    /// Its state partition.
    pub r: u32,
    /// It is the first reduce of (batch, r) to complete (reruns and copies come later).
    pub first: bool,
}

/// An engine's decisions on top of the micro-batch core.
pub trait Policy: Sized {
    /// The policy's own messages.
    type Msg: Debug + Scoped<Scope>;
    /// The policy's own timer and storage tags.
    type Tag: Debug + Scoped<Scope>;
    /// The policy's own tasks, scheduled by the master beside map and reduce tasks.
    type Job: Job<Self>;

    /// Time zero, after the core armed the master's clocks. Default: nothing.
    fn start(_mb: &mut MicroBatch<Self>, _cx: &mut Cx<'_, Self>) {}
    /// The master's batch clock fired (already armed again): close a batch now or later.
    fn batch_clock(mb: &mut MicroBatch<Self>, cx: &mut Cx<'_, Self>);
    /// The next batch's input: its blocks, with `alloc_next` advanced past them.
    fn allocate(mb: &mut MicroBatch<Self>, cx: &mut Cx<'_, Self>) -> Vec<BlockId>;
    /// The nodes a map task over `block` prefers.
    fn map_preference(mb: &MicroBatch<Self>, block: BlockId) -> Vec<NodeId>;
    /// A reduce attempt computed its state partition on its worker (which now holds it in
    /// memory) and wrote its output; true if it
    /// reports to the master now, false if the policy has it report later
    /// (with `MicroBatch::report_finished`).
    fn reduce_applied(mb: &mut MicroBatch<Self>, done: Reduced, cx: &mut Cx<'_, Self>) -> bool;
    /// Batch `n`'s completion is durable: it never runs again. Default: nothing.
    fn batch_durable(_mb: &mut MicroBatch<Self>, _n: u64, _cx: &mut Cx<'_, Self>) {}
    /// Batch `b`, whose allocation never became durable, is forgotten (its input is unallocated
    /// again). Default: nothing.
    fn batch_forgotten(_mb: &mut MicroBatch<Self>, _b: &Batch) {}

    /// The master handles worker `x`'s failure (already out of the pool, its cores gone, a
    /// spare and its restart asked for).
    fn worker_failed(mb: &mut MicroBatch<Self>, x: NodeId, cx: &mut Cx<'_, Self>);
    /// The master is reported dead (its incarnation already ended). Default: nothing.
    fn master_failed(_mb: &mut MicroBatch<Self>) {}
    /// The master read its metadata back; the workers that died meanwhile (`fresh`) are out of
    /// the pool, a spare and their restart asked for. Called before unlogged batches are dropped
    /// and free cores counted.
    fn master_restore(mb: &mut MicroBatch<Self>, fresh: &[NodeId], cx: &mut Cx<'_, Self>);
    /// The master has resumed (clocks armed, finished batches committed and logged); `fresh` as
    /// in [`Policy::master_restore`]. The core schedules right after.
    fn master_resumed(mb: &mut MicroBatch<Self>, fresh: Vec<NodeId>, cx: &mut Cx<'_, Self>);
    /// A spare or a restarted node joined the workers, its cores free; the core schedules right
    /// after. Default: nothing.
    fn node_joined(_mb: &mut MicroBatch<Self>, _node: NodeId, _cx: &mut Cx<'_, Self>) {}
    /// Whether the master, restarted, may read its metadata and resume now; if not, it waits for
    /// a node to join. Default: always.
    fn may_resume(_mb: &MicroBatch<Self>) -> bool {
        true
    }
    /// The job is down: the master schedules nothing and the run cannot finish. Default: never.
    fn stopped(&self) -> bool {
        false
    }

    /// A message of the policy's arrived at `to`.
    fn on_message(mb: &mut MicroBatch<Self>, from: NodeId, to: NodeId, msg: Self::Msg, cx: &mut Cx<'_, Self>);
    /// A timer or storage operation of the policy's completed.
    fn on_tag(mb: &mut MicroBatch<Self>, tag: Self::Tag, cx: &mut Cx<'_, Self>);
    /// How many incarnations the policy's scope number `scope` has had. Default: the policy
    /// names no scope of its own.
    fn incarnation(&self, _scope: u32) -> u32 {
        0
    }
}

/// A task of the policy's: when it can run, what it reads, what it costs, what it does when its
/// work is done on its worker (before the worker reports to the master). It runs on any node.
pub trait Job<P: Policy>: Copy + Debug {
    /// Every input exists.
    fn ready(self, mb: &MicroBatch<P>) -> bool;
    /// Its remote inputs, for an attempt on `into`'s node.
    fn inputs(self, mb: &MicroBatch<P>, into: &mut Inputs);
    /// Its CPU work, before the launch overhead.
    fn work(self, mb: &MicroBatch<P>) -> SimDuration;
    /// Its work finished on `node`.
    fn finished(self, mb: &mut MicroBatch<P>, node: NodeId, cx: &mut Cx<'_, P>);
}

/// A policy without tasks of its own.
impl<P: Policy> Job<P> for Infallible {
    fn ready(self, _: &MicroBatch<P>) -> bool {
        match self {}
    }
    fn inputs(self, _: &MicroBatch<P>, _: &mut Inputs) {
        match self {}
    }
    fn work(self, _: &MicroBatch<P>) -> SimDuration {
        match self {}
    }
    fn finished(self, _: &mut MicroBatch<P>, _: NodeId, _: &mut Cx<'_, P>) {
        match self {}
    }
}
