//! [`Pipeline`]: the pipelined dataflow as a whole engine, with a [`Policy`] that adds a
//! fault-tolerance scheme to it.
//!
//! The pipeline answers every event of the dataflow itself (reads, shipping, applying,
//! watermarks) and handles a failure the plain way: the failed node's tasks are lost with their
//! state, a spare is asked for, and once it is ready (or, with none left, on the survivors) the
//! lost tasks run again, sources resuming where the policy says. The policy sees what a scheme
//! needs to see (outputs produced, its own messages and tags) and decides what a scheme decides
//! (where a restarted source resumes, how outputs become visible, when everything is drained).

use super::dataflow::Core;
use super::reader::{CoreTag, ReadCfg};
use super::{Batch, Msg, Scope, Tag};
use ftsim_sim::engine::{Ctx, Engine, Event, Scoped};
use ftsim_sim::{NodeId, Output, PartitionId, Scenario, SimDuration, Table};

/// Why the records of a batch a lost source left on the wire are dropped when the run stops
/// before it arrives (the run's ledger).
const LEFT_BY_LOST_SOURCE: &str = "left on the wire by a lost source";

/// Where the tasks of a failed node go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takeover {
    /// To a spare asked for now (or the survivors, or a worker that comes back).
    Spare,
    /// To this live worker at once (a standby that holds their state).
    On(NodeId),
}

/// The context a policy's hooks get.
pub type PCtx<'a, P> = Ctx<'a, Msg<<P as Policy>::Msg>, Tag<<P as Policy>::Tag>>;

/// A fault-tolerance scheme on the pipelined dataflow. Every hook has the plain behaviour as its
/// default, so a policy writes only what its scheme changes.
pub trait Policy: Sized {
    /// The scheme's own messages.
    type Msg: Scoped<Scope>;
    /// The scheme's own timer, work and storage tags.
    type Tag: Scoped<Scope>;
    /// The detail of the events.csv line written when a failed node's tasks are to be placed again.
    const REDEPLOY: &'static str;

    /// Called once at the start, after the sources began reading.
    fn start(&mut self, core: &mut Core, cx: &mut PCtx<'_, Self>) {
        let _ = (core, cx);
    }
    /// Source `part` is about to ship `batch` to task `task` (which may be lost: the batch is
    /// then dropped on the way, but a scheme that logs what it sends logs it).
    fn shipped(&mut self, core: &mut Core, part: u32, task: u32, batch: &Batch, cx: &mut PCtx<'_, Self>) {
        let _ = (core, part, task, batch, cx);
    }
    /// Source `part` shipped every batch of one read (each told to [`Policy::shipped`] first):
    /// what a scheme does once per read rather than per batch.
    fn read_shipped(&mut self, core: &mut Core, part: u32, cx: &mut PCtx<'_, Self>) {
        let _ = (core, part, cx);
    }
    /// Task `task` applied `batch`, producing `out`: make it visible (default: emit at once,
    /// outside any transaction).
    fn applied(&mut self, core: &mut Core, task: u32, batch: &Batch, out: Vec<Output>, cx: &mut PCtx<'_, Self>) {
        let _ = batch;
        cx.emit(core.tasks[task as usize].node, out, None);
    }
    /// The failure of `node` was detected and its tasks are marked lost: where they go. By
    /// default a spare is asked for, and the tasks go to it, or to the survivors if there is
    /// none, or wait for a worker to come back.
    fn failed(&mut self, core: &mut Core, node: NodeId, cx: &mut PCtx<'_, Self>) -> Takeover {
        let _ = (core, node, cx);
        Takeover::Spare
    }
    /// The lost `sources` and `tasks` of `failed` were placed again and sources resume reading.
    /// Returns whether the tasks run again now (default) or the scheme reports `restored` itself
    /// later (once it restored their state, say).
    fn placed(
        &mut self,
        core: &mut Core,
        failed: NodeId,
        sources: &[u32],
        tasks: &[u32],
        cx: &mut PCtx<'_, Self>,
    ) -> bool {
        let _ = (core, failed, sources, tasks, cx);
        true
    }
    /// Where source `part`, lost and now placed again, resumes reading (default: the log's head,
    /// so input that arrived while it was down is never read).
    fn resume_at(&mut self, core: &Core, part: u32, cx: &mut PCtx<'_, Self>) -> u64 {
        let _ = core;
        cx.log.available(PartitionId(part), cx.now())
    }
    /// A spare the scheme asked for itself (with `cx.request_spare`, say standby nodes at the
    /// start) is ready, or `None`: no spare was left. The pipeline's own requests (after a
    /// failure, naming the failed node) are answered to it first: a spare answering the scheme's
    /// request for a node the pipeline awaits a spare for goes to the pipeline, and the scheme
    /// gets the next answer for that node (spares are interchangeable).
    fn spare(&mut self, core: &mut Core, asked_for: NodeId, node: Option<NodeId>, cx: &mut PCtx<'_, Self>) {
        let _ = (core, asked_for, node, cx);
    }
    /// One of the scheme's messages arrived at `to`.
    fn message(&mut self, core: &mut Core, from: NodeId, to: NodeId, msg: Self::Msg, cx: &mut PCtx<'_, Self>) {
        let _ = (core, from, to, msg, cx);
    }
    /// One of the scheme's timers fired, or its work or storage operation finished.
    fn tag(&mut self, core: &mut Core, tag: Self::Tag, cx: &mut PCtx<'_, Self>) {
        let _ = (core, tag, cx);
    }
    /// How many records source `part` may read now (default: no limit); with zero it reads
    /// nothing until the scheme polls it again (`Core::poll` with the new limit).
    fn read_limit(&self, core: &Core, part: u32) -> u64 {
        let _ = (core, part);
        u64::MAX
    }
    /// Nodes the scheme gives up on although they did not crash (a straggler treated as failed):
    /// called after each of its own events; their tasks are lost and placed again as after a
    /// crash.
    fn abandoned(&mut self) -> Vec<NodeId> {
        Vec::new()
    }
    /// Whether the scheme has nothing left to do once the dataflow is drained.
    fn drained(&self, core: &Core) -> bool {
        let _ = core;
        true
    }
    /// Why the scheme cannot finish, if it knows (for want of capacity, as [`Engine::stuck`]
    /// says); asked when every lost task found a home.
    fn stuck(&self, core: &Core) -> Option<String> {
        let _ = core;
        None
    }
    /// The scheme's own tables.
    fn tables(&self) -> Vec<Table> {
        Vec::new()
    }
}

/// The pipelined dataflow under policy `P`.
pub struct Pipeline<P> {
    /// The dataflow.
    pub core: Core,
    /// The scheme.
    pub policy: P,
    /// Failed nodes whose tasks wait for the answer to their spare request.
    awaiting: Vec<NodeId>,
    /// Failed nodes whose tasks found no home (no spare, no survivor): they go to the first
    /// worker that comes back.
    homeless: Vec<NodeId>,
}

impl<P: Policy> Pipeline<P> {
    /// The dataflow of `sc` under `policy`.
    pub fn new(sc: &Scenario, read: ReadCfg, wm_interval: SimDuration, policy: P) -> Self {
        Pipeline {
            core: Core::new(sc, read, wm_interval),
            policy,
            awaiting: Vec::new(),
            homeless: Vec::new(),
        }
    }

    /// Source `part` reads what it may.
    pub fn poll(&mut self, part: u32, cx: &mut PCtx<'_, P>) {
        let limit = self.policy.read_limit(&self.core, part);
        self.core.poll(part, limit, cx);
    }

    /// A node failed (`crashed`), or the scheme gave it up: its tasks are lost and go where the
    /// scheme says; the cluster manager restarts a crashed worker, which joins again once back.
    fn on_failure(&mut self, node: NodeId, crashed: bool, cx: &mut PCtx<'_, P>) {
        if crashed && node != self.core.shape.master {
            cx.restart_node(node);
        }
        if !self.core.lose(node, cx) {
            cx.restored(node);
            return;
        }
        match self.policy.failed(&mut self.core, node, cx) {
            Takeover::Spare => {
                self.awaiting.push(node);
                cx.log_event("redeploy-requested", Some(node), P::REDEPLOY);
                cx.request_spare(node);
            }
            Takeover::On(standby) => {
                cx.log_event("moved", Some(standby), format!("the tasks of node {node} move here"));
                self.place(node, Some(standby), cx);
            }
        }
    }

    /// The tasks of `failed` run again on `spare` or the survivors; with neither, they wait for
    /// a worker to come back.
    fn place(&mut self, failed: NodeId, spare: Option<NodeId>, cx: &mut PCtx<'_, P>) {
        let Some((sources, tasks)) = self.core.place(failed, spare) else {
            self.homeless.push(failed);
            cx.log_event("no-capacity", Some(failed), "lost tasks wait for a worker to come back");
            return;
        };
        for &p in &sources {
            let next = self.policy.resume_at(&self.core, p, cx);
            self.core.sources[p as usize].reader.next = next;
            cx.progress(PartitionId(p), next);
        }
        for &p in &sources {
            self.poll(p, cx);
        }
        if self.policy.placed(&mut self.core, failed, &sources, &tasks, cx) {
            cx.restored(failed);
        }
    }

    /// Answers one event.
    fn dispatch(&mut self, ev: Event<Msg<P::Msg>, Tag<P::Tag>>, cx: &mut PCtx<'_, P>) {
        match ev {
            Event::Message {
                msg: Msg::Batch { task, inc, batch },
                ..
            } => self.core.receive(task, inc, batch, cx),
            Event::Message {
                to,
                msg: Msg::Watermarks { round },
                ..
            } => self.core.round_sent(round, to),
            Event::Message {
                from,
                to,
                msg: Msg::Policy(m),
            } => self.policy.message(&mut self.core, from, to, m, cx),
            Event::Timer {
                tag: Tag::Core(CoreTag::Poll { part }),
                ..
            } => {
                self.core.sources[part as usize].reader.disarm();
                self.poll(part, cx);
            }
            Event::Timer {
                tag: Tag::Core(CoreTag::Watermarks),
                ..
            } => {
                self.core.send_watermarks(cx);
                if !self.core.input_ended || !self.finished() {
                    cx.set_timer(self.core.wm_interval, CoreTag::Watermarks.into());
                }
            }
            Event::Timer {
                tag: Tag::Core(CoreTag::Reached { round, node }),
                ..
            } => self.core.reached(round, node),
            Event::Timer {
                tag: Tag::Core(CoreTag::Arrive { round }),
                ..
            } => self.core.arrive(round, cx),
            Event::WorkDone {
                tag: Tag::Core(CoreTag::Read { part, from, to }),
                ..
            } => {
                for (task, batch) in self.core.read(part, from, to, cx) {
                    self.policy.shipped(&mut self.core, part, task, &batch, cx);
                    self.core.ship(part, task, batch, cx);
                }
                self.policy.read_shipped(&mut self.core, part, cx);
                self.core.read_done(part, to, cx);
                self.poll(part, cx);
            }
            Event::WorkDone {
                tag: Tag::Core(CoreTag::Apply { task }),
                ..
            } => {
                if let Some((batch, out)) = self.core.finish_task(task, cx) {
                    self.policy.applied(&mut self.core, task, &batch, out, cx);
                    self.core.recycle(batch.records);
                }
                self.core.start_task(task, cx);
            }
            Event::Timer {
                tag: Tag::Policy(t), ..
            }
            | Event::WorkDone {
                tag: Tag::Policy(t), ..
            }
            | Event::StorageDone {
                tag: Tag::Policy(t), ..
            } => {
                self.policy.tag(&mut self.core, t, cx);
                for node in self.policy.abandoned() {
                    cx.log_event("abandoned", Some(node), "too slow: treated as failed");
                    self.on_failure(node, false, cx);
                }
            }
            Event::NodeFailed { node } => self.on_failure(node, true, cx),
            Event::SpareReady { failed, node } => {
                if let Some(i) = self.awaiting.iter().position(|n| *n == failed) {
                    self.awaiting.remove(i);
                    self.place(failed, node, cx);
                } else {
                    self.policy.spare(&mut self.core, failed, node, cx);
                }
            }
            Event::NodeRestarted { node } => {
                self.core.placement.join(node);
                for failed in std::mem::take(&mut self.homeless) {
                    self.place(failed, None, cx);
                }
            }
            Event::InputEnded => {
                self.core.input_ended = true;
                if self.core.shape.windowed {
                    self.core.send_watermarks(cx);
                }
            }
            Event::Timer { .. } | Event::WorkDone { .. } | Event::StorageDone { .. } => {}
        }
    }
}

impl<P: Policy> Engine for Pipeline<P> {
    type Msg = Msg<P::Msg>;
    type Tag = Tag<P::Tag>;
    type Scope = Scope;

    fn records_in(msg: &Self::Msg) -> u64 {
        match msg {
            Msg::Batch { batch, .. } => batch.records.len() as u64,
            Msg::Watermarks { .. } | Msg::Policy(_) => 0,
        }
    }

    fn forgotten(&self, msg: &Self::Msg) -> Option<&'static str> {
        // A lost source's batches still on the wire are counted in flight by no task (see
        // `Core::lose`): the successor sent their records again, or the scheme gave them up.
        match msg {
            Msg::Batch { inc, batch, .. } => self
                .core
                .sources
                .get(batch.part as usize)
                .is_some_and(|s| s.inc != *inc)
                .then_some(LEFT_BY_LOST_SOURCE),
            Msg::Watermarks { .. } | Msg::Policy(_) => None,
        }
    }

    fn incarnation(&self, scope: Scope) -> u32 {
        match scope {
            Scope::Source(p) => self.core.sources[p as usize].inc,
            Scope::Task(i) => self.core.tasks[i as usize].inc,
        }
    }

    fn start(&mut self, cx: &mut PCtx<'_, P>) {
        self.core.learn_ends(cx);
        for p in 0..self.core.sources.len() as u32 {
            self.poll(p, cx);
        }
        if self.core.shape.windowed {
            cx.set_timer(self.core.wm_interval, CoreTag::Watermarks.into());
        }
        self.policy.start(&mut self.core, cx);
    }

    fn handle(&mut self, ev: Event<Self::Msg, Self::Tag>, cx: &mut PCtx<'_, P>) {
        self.dispatch(ev, cx);
        // Bare batches the event let tasks apply at once, in the order they were applied (the
        // policy's answers may let more through).
        loop {
            let done = self.core.take_applied();
            if done.is_empty() {
                break;
            }
            for (task, batch, out) in done {
                self.policy.applied(&mut self.core, task, &batch, out, cx);
            }
        }
    }

    fn finished(&self) -> bool {
        self.core.input_ended
            && self.awaiting.is_empty()
            && self.homeless.is_empty()
            && self.core.drained()
            && self.policy.drained(&self.core)
    }

    fn stuck(&self) -> Option<String> {
        match self.homeless.first() {
            Some(n) => Some(format!("the tasks of failed node {n} had no node to run on")),
            None => self.policy.stuck(&self.core),
        }
    }

    fn tables(&self) -> Vec<Table> {
        self.policy.tables()
    }
}
