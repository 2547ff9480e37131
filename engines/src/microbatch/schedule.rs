//! The master's scheduling: launching ready pending tasks on free cores with locality, hearing
//! that attempts finished, and killing the attempts that lost.
//!
//! Invariants: the master launches an attempt only on a node it believes alive with a free core
//! (`cores_free`), so the kernel never queues our work behind other work; the first attempt of a task
//! to report wins and the others are killed; reduce (n, r) is launched only once (n−1, r) is
//! done, so partition r's states are computed in batch order; once (n, r) is done no node keeps
//! an older state of r in memory.

use super::model::{Attempt, AttemptId, Kind, Loc, Status, TaskId};
use super::protocol::Msg;
use super::{Cx, Job, MicroBatch, Policy};
use ftsim_sim::{NodeId, SimDuration};

impl<P: Policy> MicroBatch<P> {
    /// Whether `n` is a live worker, as the master sees it (`workers` is sorted).
    pub(crate) fn is_worker(&self, n: NodeId) -> bool {
        self.workers.binary_search(&n).is_ok()
    }

    /// Launches every ready pending task there is a free core for, in priority order.
    ///
    /// The pass visits pending tasks in key order but jumps over what cannot launch as a
    /// whole: every reduce task of a batch whose maps are not all ready, and, past the last
    /// batch whose job may run, every task but the policy's (keys begin with the batch). A
    /// launch changes no task's readiness, so the pass launches what a visit of every pending
    /// task would.
    pub(crate) fn schedule(&mut self, cx: &mut Cx<'_, P>) {
        if self.halted() {
            return;
        }
        let mut free = self.cores_free.total();
        let horizon = self.job_horizon();
        let (mut after, mut jobs_only) = (None, false);
        while free > 0 {
            let Some(key) = self.pending.next(after, jobs_only) else {
                break;
            };
            after = Some(key);
            let t = key.2;
            match self.tasks[t].kind {
                Kind::Map { batch, .. } | Kind::Reduce { batch, .. } if horizon.is_some_and(|h| batch > h) => {
                    jobs_only = true;
                    continue;
                }
                Kind::Reduce { batch, .. } if !self.maps_ready(batch) => {
                    after = Some((batch, 1, TaskId::MAX));
                    continue;
                }
                _ => {}
            }
            if !self.ready(t) {
                continue;
            }
            let Some(node) = self.place(t, None) else { continue };
            self.pending.remove(key);
            self.launch(t, node, false, cx);
            free -= 1;
        }
    }

    /// Sets task `t`'s status and output place, carrying the change into its batch's counts.
    pub(crate) fn set_task(&mut self, t: TaskId, status: Status, out: Loc) {
        let task = &mut self.tasks[t];
        let before = task.set(status, out);
        let after = task.counts();
        if before == after {
            return;
        }
        let (Kind::Map { batch, .. } | Kind::Reduce { batch, .. }) = task.kind else {
            return;
        };
        if let Some(b) = self.batches.get_mut(&batch) {
            let step = |n: &mut usize, was: bool, is: bool| match (was, is) {
                (false, true) => *n += 1,
                (true, false) => *n -= 1,
                _ => {}
            };
            step(&mut b.maps_ready, before.0, after.0);
            step(&mut b.reduces_done, before.1, after.1);
        }
    }

    /// With `concurrent_jobs` = k > 0, the newest batch whose job may run: the k-th oldest
    /// submitted batch not yet done (none while fewer than k are unfinished). Tasks of an
    /// earlier batch (reruns, recomputes) are never held back.
    fn job_horizon(&self) -> Option<u64> {
        let k = self.cfg.concurrent_jobs as usize;
        if k == 0 {
            return None;
        }
        self.batches
            .range(self.done_below..)
            .map(|(_, b)| b)
            .filter(|b| b.durable && b.done.is_none())
            .nth(k - 1)
            .map(|b| b.n)
    }

    /// The state partition r after batch n is available (in memory or storage).
    pub(crate) fn state_loc(&self, n: u64, r: u32) -> Option<Loc> {
        if n == 0 {
            return Some(Loc::Storage);
        }
        let t = *self.batches.get(&n)?.reduces.get(r as usize)?;
        let task = &self.tasks[t];
        (task.status() == Status::Done && task.out() != Loc::Lost).then_some(task.out())
    }

    /// Whether every map output of batch `n` is in a worker's memory.
    fn maps_ready(&self, n: u64) -> bool {
        self.batches.get(&n).is_some_and(|b| b.maps_ready == b.maps.len())
    }

    /// Whether every input of task `t` exists.
    pub(crate) fn ready(&self, t: TaskId) -> bool {
        match self.tasks[t].kind {
            Kind::Map { .. } => true,
            Kind::Reduce { batch, r } => self.maps_ready(batch) && self.state_loc(batch - 1, r).is_some(),
            Kind::Job(j) => j.ready(self),
        }
    }

    fn preferred(&self, t: TaskId) -> Vec<NodeId> {
        match self.tasks[t].kind {
            Kind::Map { block, .. } => P::map_preference(self, block),
            Kind::Reduce { batch, r } => match self.state_loc(batch - 1, r) {
                Some(Loc::Node(n)) => vec![n],
                _ => Vec::new(),
            },
            Kind::Job(_) => Vec::new(),
        }
    }

    /// A live node with a free core for `t`: a preferred one if any is free (the one with the
    /// most free cores, the lowest id among equals), else the freest worker.
    pub(crate) fn place(&self, t: TaskId, exclude: Option<NodeId>) -> Option<NodeId> {
        let ok = |n: &NodeId| Some(*n) != exclude && self.cores_free.of(*n) > 0 && self.is_worker(*n);
        self.preferred(t)
            .into_iter()
            .filter(ok)
            .max_by_key(|n| (self.cores_free.of(*n), std::cmp::Reverse(n.0)))
            .or_else(|| self.cores_free.freest(exclude))
    }

    /// Starts an attempt of `t` on `node`.
    pub(crate) fn launch(&mut self, t: TaskId, node: NodeId, speculative: bool, cx: &mut Cx<'_, P>) {
        let a = self.attempts.len();
        self.attempts.push(Attempt {
            task: t,
            node,
            launched: cx.now(),
            waiting: Vec::new(),
            work: None,
            live: true,
            finished: false,
            speculative,
            input: None,
        });
        self.cores_free.take(node);
        self.set_task(t, Status::Running, self.tasks[t].out());
        let task = &mut self.tasks[t];
        task.attempts.push(a);
        if let Kind::Map { batch, .. } | Kind::Reduce { batch, .. } = task.kind
            && let Some(b) = self.batches.get_mut(&batch)
        {
            b.started.get_or_insert(cx.now());
        }
        cx.send(self.master, node, 128, Msg::Launch(a));
    }

    /// The master hears that attempt `a` finished.
    pub(crate) fn on_status(&mut self, a: AttemptId, cx: &mut Cx<'_, P>) {
        if !self.attempts[a].live || !self.master_up {
            return;
        }
        let node = self.attempts[a].node;
        self.attempts[a].live = false;
        if self.is_worker(node) {
            self.cores_free.give(node);
        }
        let t = self.attempts[a].task;
        self.tasks[t].attempts.retain(|x| *x != a);
        if self.tasks[t].status() == Status::Running {
            self.task_done(t, Loc::Node(node), cx.now().since(self.attempts[a].launched), cx);
        }
        self.schedule(cx);
    }

    /// The master hears that attempt `a` failed to fetch an input: its task waits again.
    pub(crate) fn on_failed(&mut self, a: AttemptId, cx: &mut Cx<'_, P>) {
        if !self.master_up {
            return;
        }
        let t = self.attempts[a].task;
        self.kill(a, cx);
        self.requeue_if_orphan(t);
        self.schedule(cx);
    }

    /// Task `t` finished with its output at `out`.
    pub(crate) fn task_done(&mut self, t: TaskId, out: Loc, took: SimDuration, cx: &mut Cx<'_, P>) {
        self.set_task(t, Status::Done, out);
        let task = &mut self.tasks[t];
        task.duration = Some(took.as_nanos());
        for b in std::mem::take(&mut task.attempts) {
            self.kill(b, cx);
        }
        if let Kind::Reduce { batch, r } = self.tasks[t].kind {
            // No task reads an older state of r from memory again.
            self.states.forget_memory_before(batch, r);
            self.check_batch_done(batch, cx);
        }
    }

    /// Kills a live attempt (its core is freed; its work cancelled if it started).
    pub(crate) fn kill(&mut self, a: AttemptId, cx: &mut Cx<'_, P>) {
        let att = &mut self.attempts[a];
        if !att.live {
            return;
        }
        att.live = false;
        att.input = None;
        if let Some(w) = att.work
            && !att.finished
        {
            cx.cancel(att.node, w);
        }
        let (node, t) = (att.node, att.task);
        if self.is_worker(node) {
            self.cores_free.give(node);
        }
        self.tasks[t].attempts.retain(|x| *x != a);
    }

    /// Every task with a live attempt, in id order.
    pub(crate) fn running_tasks(&self) -> Vec<TaskId> {
        (0..self.tasks.len())
            .filter(|t| self.tasks[*t].status() == Status::Running)
            .collect()
    }

    /// Task `t` waits again in the pending set.
    pub(crate) fn requeue(&mut self, t: TaskId) {
        self.set_task(t, Status::Waiting, self.tasks[t].out());
        let task = &self.tasks[t];
        self.pending
            .insert((task.prio.0, task.prio.1, t), matches!(task.kind, Kind::Job(_)));
    }

    /// A running task left without a live attempt waits again.
    pub(crate) fn requeue_if_orphan(&mut self, t: TaskId) {
        let task = &self.tasks[t];
        if task.status() == Status::Running && task.attempts.is_empty() {
            self.requeue(t);
        }
    }
}
