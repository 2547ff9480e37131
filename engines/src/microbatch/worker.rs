//! An attempt on its worker: fetching its inputs, the work itself, and what a finished attempt
//! leaves behind (the job's semantics applied to the state, output written to the sink) before
//! it reports to the master.
//!
//! Invariants: partition r's state is applied once per batch, at the first computation of
//! reduce (n, r), in batch order (a recompute reuses that result); the output of (n, r) enters
//! sink transaction n at most once per guard (the sink's staging for a transactional sink, else
//! the master's commit coordinator).

use super::model::{AttemptId, Kind, Loc};
use super::protocol::{Msg, Tag};
use super::{Cx, Job, MicroBatch, Policy, Reduced};
use ftsim_sim::scenario::SinkMode;
use ftsim_sim::{NodeId, PartitionId, TxnId};

impl<P: Policy> MicroBatch<P> {
    /// The launch reached the worker: fetch remote inputs, then compute.
    pub(crate) fn on_launch(&mut self, a: AttemptId, cx: &mut Cx<'_, P>) {
        if !self.attempts[a].live {
            return;
        }
        let node = self.attempts[a].node;
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
                let first = self.first_compute(batch, r, cx);
                self.write_output(batch, r, node, cx);
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

    /// Applies batch n's records of partition r to its state, the first time only.
    fn first_compute(&mut self, n: u64, r: u32, cx: &mut Cx<'_, P>) -> bool {
        let (done, state) = &mut self.truth[r as usize];
        if *done >= n {
            return false;
        }
        let Some(b) = self.batches.get_mut(&n) else {
            return false;
        };
        if *done + 1 != n {
            cx.log_event("bug", None, format!("state {r} at batch {done} applied batch {n}"));
            return false;
        }
        let mut out = Vec::new();
        let empty = Vec::new();
        let recs = b.by_r.get(r as usize).unwrap_or(&empty);
        for rec in recs {
            state.apply(cx.sem, rec, &mut out);
        }
        if self.windowed {
            for (p, end) in b.end.iter().enumerate() {
                state.advance(
                    cx.sem,
                    p as u32,
                    cx.log.watermark_at(PartitionId(p as u32), *end),
                    &mut out,
                );
            }
        }
        let mut keys: Vec<u32> = recs.iter().map(|x| x.key).collect();
        keys.sort_unstable();
        keys.dedup();
        let per_key = if self.windowed {
            (cx.sem.window.length.as_nanos() / cx.sem.window.slide.as_nanos().max(1)).max(1)
        } else {
            1
        };
        b.delta_bytes[r as usize] = keys.len() as u64 * self.bpk * per_key;
        b.state_bytes[r as usize] = state.size_bytes(self.bpk);
        b.outputs[r as usize] = Some(out);
        *done = n;
        true
    }

    /// Writes partition r's output of batch n into sink transaction n, once.
    fn write_output(&mut self, n: u64, r: u32, node: NodeId, cx: &mut Cx<'_, P>) {
        let guard = if self.sink == SinkMode::Transactional {
            &mut self.staged
        } else {
            &mut self.coordinator
        };
        if guard.contains(&(n, r)) {
            return;
        }
        let Some(out) = self.batches.get(&n).and_then(|b| b.outputs[r as usize].clone()) else {
            return;
        };
        guard.insert((n, r));
        cx.emit(node, out, Some(TxnId(n)));
    }
}
