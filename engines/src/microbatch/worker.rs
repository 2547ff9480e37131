//! An attempt on its worker: taking its input state and fetching its inputs (an attempt whose
//! inputs are gone by the time it starts fails at once: a fetch failure), the work itself, and
//! what a finished attempt leaves behind (the state it computed, its output written to the sink)
//! before it reports to the master.
//!
//! Invariants: every reduce attempt computes state partition (n, r) from the state of (n−1, r)
//! it took at launch plus batch n's records, and emits the output of that computation (copies
//! and reruns included: deterministic tasks give the same values); the output of (n, r) enters
//! sink transaction n at most once per guard (the sink's staging for a transactional sink, else
//! the master's commit coordinator); batch n's records of partition r are counted applied once,
//! by the first reduce of (n, r) to complete.

use super::model::{AttemptId, Input, Kind, Loc};
use super::protocol::{Msg, Tag};
use super::{Cx, Job, MicroBatch, Policy, Reduced};
use ftsim_sim::engine::Flow;
use ftsim_sim::planted::Bug;
use ftsim_sim::scenario::SinkMode;
use ftsim_sim::{NodeId, OperatorState, Output, TxnId};

impl<P: Policy> MicroBatch<P> {
    /// The launch reached the worker: fetch remote inputs, then compute.
    pub(crate) fn on_launch(&mut self, a: AttemptId, cx: &mut Cx<'_, P>) {
        if !self.attempts[a].live {
            return;
        }
        let (t, node) = (self.attempts[a].task, self.attempts[a].node);
        if let Kind::Reduce { batch, r } = self.tasks[t].kind {
            self.attempts[a].input = self.state_input(batch - 1, r, cx);
        }
        let reduce_without_state =
            matches!(self.tasks[t].kind, Kind::Reduce { .. }) && self.attempts[a].input.is_none();
        if reduce_without_state || !self.ready(t) {
            // An input was lost after the master launched the attempt.
            cx.send(node, self.master, 64, Msg::Failed(a));
            return;
        }
        for (loc, bytes) in self.inputs(self.attempts[a].task, node) {
            match loc {
                Loc::Node(y) => {
                    cx.send(y, node, bytes.max(64), Msg::Fetch(a));
                    self.attempts[a].waiting.push(Some(y));
                }
                Loc::Storage => {
                    cx.storage_read(node, bytes, Tag::FetchRead(a));
                    self.attempts[a].waiting.push(None);
                }
                Loc::Lost => {}
            }
        }
        if self.attempts[a].waiting.is_empty() {
            self.start_compute(a, cx);
        }
    }

    /// One input of attempt `a` arrived (`None`: a storage read).
    pub(crate) fn on_input(&mut self, a: AttemptId, from: Option<NodeId>, cx: &mut Cx<'_, P>) {
        let att = &mut self.attempts[a];
        if !att.live || att.work.is_some() {
            return;
        }
        if let Some(i) = att.waiting.iter().position(|w| *w == from) {
            att.waiting.remove(i);
        }
        if att.waiting.is_empty() {
            self.start_compute(a, cx);
        }
    }

    fn start_compute(&mut self, a: AttemptId, cx: &mut Cx<'_, P>) {
        let t = self.attempts[a].task;
        let work = self.cfg.tasks.task_overhead
            + match self.tasks[t].kind {
                Kind::Map { block, .. } => self.stateless_cost.mul(self.blocks[block].len()),
                Kind::Reduce { batch, r } => self
                    .state_cost
                    .mul(self.batches.get(&batch).map_or(0, |b| b.count_r[r as usize])),
                Kind::Job(j) => j.work(self),
            };
        let node = self.attempts[a].node;
        self.attempts[a].work = Some(cx.compute(node, work, Tag::Work(a)));
    }

    /// The attempt's work finished on its (live) worker.
    pub(crate) fn on_work_done(&mut self, a: AttemptId, cx: &mut Cx<'_, P>) {
        let att = &mut self.attempts[a];
        if att.finished {
            return;
        }
        att.finished = true;
        let node = att.node;
        match self.tasks[att.task].kind {
            Kind::Map { .. } => {}
            Kind::Reduce { batch, r } => {
                let Some(state) = self.attempts[a].input.take() else {
                    cx.log_event(
                        "bug",
                        Some(node),
                        format!("reduce ({batch}, {r}) computed without its state"),
                    );
                    return;
                };
                let Some((out, first)) = self.reduce(batch, r, state, node, cx) else {
                    return;
                };
                self.write_output(batch, r, node, out, cx);
                let done = Reduced {
                    attempt: a,
                    batch,
                    r,
                    first,
                };
                if !P::reduce_applied(self, done, cx) {
                    return;
                }
            }
            Kind::Job(j) => j.finished(self, node, cx),
        }
        self.report_finished(a, cx);
    }

    /// The worker tells the master that attempt `a` finished.
    pub(crate) fn report_finished(&mut self, a: AttemptId, cx: &mut Cx<'_, P>) {
        cx.send(self.attempts[a].node, self.master, 64, Msg::Status(a));
    }

    /// State partition (n, r) as an attempt launched now takes it: from the memory of the node
    /// the master knows holds it, or from durable storage; `None` if it is lost.
    fn state_input(&self, n: u64, r: u32, cx: &Cx<'_, P>) -> Option<OperatorState> {
        match self.state_loc(n, r)? {
            Loc::Node(y) => self.states.in_memory(n, r, y).cloned(),
            Loc::Storage => Some(self.durable_state(n, r, cx)),
            Loc::Lost => None,
        }
    }

    /// Computes state partition (n, r) on `node` from `state` (that of (n−1, r)): the node then
    /// holds it. Returns what the operator emitted, and whether this is the first reduce of
    /// (n, r) to complete (which counts the batch's records of r applied and sizes the state).
    fn reduce(
        &mut self,
        n: u64,
        r: u32,
        mut state: OperatorState,
        node: NodeId,
        cx: &mut Cx<'_, P>,
    ) -> Option<(Vec<Output>, bool)> {
        let b = self.batches.get(&n)?;
        let out = self.apply_batch(b, r, &mut state, None, cx);
        let ri = r as usize;
        let first = !b.applied[ri];
        if first {
            let keys = self.input_keys(b, r, cx);
            let per_key = if self.windowed {
                (cx.sem.window.length.as_nanos() / cx.sem.window.slide.as_nanos().max(1)).max(1)
            } else {
                1
            };
            let (delta, size) = (keys.len() as u64 * self.bpk * per_key, state.size_bytes(self.bpk));
            let b = self.batches.get_mut(&n)?;
            b.applied[ri] = true;
            if b.applied.iter().all(|a| *a) && matches!(b.input, Input::Held(_)) {
                b.input = Input::Lineage;
            }
            b.delta_bytes[ri] = delta;
            b.state_bytes[ri] = size;
            cx.records(Flow::Applied, b.count_r[ri]);
        }
        self.states.hold(n, r, node, state);
        Some((out, first))
    }

    /// Writes partition r's output of batch n into sink transaction n, once per (n, r).
    fn write_output(&mut self, n: u64, r: u32, node: NodeId, out: Vec<Output>, cx: &mut Cx<'_, P>) {
        let guard = if self.sink == SinkMode::Transactional {
            &mut self.staged
        } else {
            &mut self.coordinator
        };
        if !guard.insert((n, r)) && !self.planted.has(Bug::NoOutputDedupe) {
            return;
        }
        cx.emit(node, out, Some(TxnId(n)));
    }
}
