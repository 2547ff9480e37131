//! Tasks: the master's scheduling on free cores with locality, launching, input fetches, the
//! work itself on the worker (where the job's semantics are applied and outputs written), and
//! the master's handling of finished attempts.
//!
//! Invariants: the master launches an attempt only on a node it believes alive with a free core
//! (`slots`), so the kernel never queues our work behind other work; the first attempt of a task
//! to report wins and the others are cancelled; the state of partition r is applied once per
//! batch, in batch order (reduce (n, r) is launched only once (n−1, r) is done).

use super::MicroBatch;
use super::engine::{Msg, Tag};
use super::model::{Attempt, AttemptId, Kind, Loc, Status, TaskId};
use ftsim_sim::engine::Ctx;
use ftsim_sim::scenario::SinkMode;
use ftsim_sim::{NodeId, PartitionId, SimDuration, TxnId};
use std::collections::BTreeMap;

impl MicroBatch {
    fn free_total(&self) -> u32 {
        self.workers.iter().map(|w| self.slots[w.0 as usize]).sum()
    }

    /// Launches every ready pending task there is a free core for, in priority order.
    pub(crate) fn schedule(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        if !self.master_up || self.query_down {
            return;
        }
        let mut free = self.free_total();
        if free == 0 {
            return;
        }
        let keys: Vec<(u64, u8, TaskId)> = self.pending.iter().copied().collect();
        for key in keys {
            if free == 0 {
                break;
            }
            let t = key.2;
            if !self.ready(t) {
                continue;
            }
            let Some(node) = self.place(t, None) else { continue };
            self.pending.remove(&key);
            self.launch(t, node, false, cx);
            free -= 1;
        }
    }

    fn map_ready(&self, t: TaskId) -> bool {
        let task = &self.tasks[t];
        task.status == Status::Done && matches!(task.out, Loc::Node(_))
    }

    /// The state partition r after batch n is available (in memory or storage).
    pub(crate) fn state_loc(&self, n: u64, r: u32) -> Option<Loc> {
        if n == 0 {
            return Some(Loc::Storage);
        }
        let t = *self.batches.get(&n)?.reduces.get(r as usize)?;
        let task = &self.tasks[t];
        (task.status == Status::Done && task.out != Loc::Lost).then_some(task.out)
    }

    /// Whether every input of task `t` exists.
    pub(crate) fn ready(&self, t: TaskId) -> bool {
        match self.tasks[t].kind {
            Kind::Map { .. } => true,
            Kind::Reduce { batch, r } => {
                let Some(b) = self.batches.get(&batch) else {
                    return false;
                };
                b.maps.iter().all(|m| self.map_ready(*m)) && self.state_loc(batch - 1, r).is_some()
            }
            Kind::Recover { rec, .. } => {
                let rc = &self.recoveries[rec];
                self.batches
                    .range(rc.from + 1..)
                    .take_while(|(n, _)| **n <= rc.to)
                    .all(|(_, b)| b.maps.iter().all(|m| self.map_ready(*m)))
            }
        }
    }

    fn preferred(&self, t: TaskId) -> Vec<NodeId> {
        match self.tasks[t].kind {
            Kind::Map { block, .. } => {
                let blk = &self.blocks[block];
                if blk.locs.is_empty() && !self.dstream() && !self.workers.is_empty() {
                    vec![self.workers[blk.part as usize % self.workers.len()]]
                } else {
                    blk.locs.clone()
                }
            }
            Kind::Reduce { batch, r } => match self.state_loc(batch - 1, r) {
                Some(Loc::Node(n)) => vec![n],
                _ => Vec::new(),
            },
            Kind::Recover { .. } => Vec::new(),
        }
    }

    /// A live node with a free core for `t`: a preferred one if any is free, else the freest.
    pub(crate) fn place(&self, t: TaskId, exclude: Option<NodeId>) -> Option<NodeId> {
        let ok = |n: &NodeId| Some(*n) != exclude && self.slots[n.0 as usize] > 0 && self.workers.contains(n);
        let best = |c: &mut dyn Iterator<Item = NodeId>| {
            c.filter(ok)
                .max_by_key(|n| (self.slots[n.0 as usize], std::cmp::Reverse(n.0)))
        };
        let pref = self.preferred(t);
        best(&mut pref.into_iter()).or_else(|| best(&mut self.workers.iter().copied()))
    }

    /// Starts an attempt of `t` on `node`.
    pub(crate) fn launch(&mut self, t: TaskId, node: NodeId, speculative: bool, cx: &mut Ctx<'_, Msg, Tag>) {
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
        });
        self.slots[node.0 as usize] -= 1;
        let task = &mut self.tasks[t];
        task.status = Status::Running;
        task.attempts.push(a);
        if let Kind::Map { batch, .. } | Kind::Reduce { batch, .. } = task.kind
            && let Some(b) = self.batches.get_mut(&batch)
        {
            b.started.get_or_insert(cx.now());
        }
        cx.send(self.master, node, 128, Msg::Launch(a));
    }

    /// Remote inputs of task `t` run on `node`: (where, bytes), merged per source node.
    fn inputs(&self, t: TaskId, node: NodeId) -> Vec<(Loc, u64)> {
        let rb = self.record_bytes;
        let mut from_nodes: BTreeMap<u32, u64> = BTreeMap::new();
        let mut storage = Vec::new();
        let mut add_maps = |maps: &[TaskId], r: u32, share: f64| {
            for m in maps {
                if let (Loc::Node(y), Kind::Map { block, .. }) = (self.tasks[*m].out, self.tasks[*m].kind) {
                    let bytes = u64::from(self.blocks[block].per_r[r as usize]) * rb;
                    if bytes > 0 && y != node {
                        *from_nodes.entry(y.0).or_insert(0) += (bytes as f64 * share).ceil() as u64;
                    }
                }
            }
        };
        match self.tasks[t].kind {
            Kind::Map { block, .. } => {
                let blk = &self.blocks[block];
                if !blk.locs.contains(&node)
                    && let Some(y) = blk.locs.first()
                {
                    from_nodes.insert(y.0, blk.len() * rb);
                }
            }
            Kind::Reduce { batch, r } => {
                if let Some(b) = self.batches.get(&batch) {
                    add_maps(&b.maps, r, 1.0);
                }
                let bytes = self.state_bytes(batch - 1, r);
                match self.state_loc(batch - 1, r) {
                    Some(Loc::Node(y)) if y != node => {
                        *from_nodes.entry(y.0).or_insert(0) += bytes;
                    }
                    Some(Loc::Storage) if batch > 1 => storage.push((Loc::Storage, bytes)),
                    _ => {}
                }
            }
            Kind::Recover { rec, .. } => {
                let rc = &self.recoveries[rec];
                let share = 1.0 / rc.tasks.len() as f64;
                for (_, b) in self.batches.range(rc.from + 1..).take_while(|(n, _)| **n <= rc.to) {
                    add_maps(&b.maps, rc.r, share);
                }
                if rc.from > 0 {
                    let bytes = (self.state_bytes(rc.from, rc.r) as f64 * share).ceil() as u64;
                    storage.push((Loc::Storage, bytes));
                }
            }
        }
        let mut v: Vec<(Loc, u64)> = from_nodes.into_iter().map(|(n, b)| (Loc::Node(NodeId(n)), b)).collect();
        v.extend(storage);
        v
    }

    /// Bytes of state partition r after batch n.
    pub(crate) fn state_bytes(&self, n: u64, r: u32) -> u64 {
        self.batches
            .get(&n)
            .and_then(|b| b.state_bytes.get(r as usize).copied())
            .unwrap_or(0)
    }

    /// The launch reached the worker: fetch remote inputs, then compute.
    pub(crate) fn on_launch(&mut self, a: AttemptId, cx: &mut Ctx<'_, Msg, Tag>) {
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
    pub(crate) fn on_input(&mut self, a: AttemptId, from: Option<NodeId>, cx: &mut Ctx<'_, Msg, Tag>) {
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

    fn start_compute(&mut self, a: AttemptId, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = self.attempts[a].task;
        let work = self.cfg.task_overhead
            + match self.tasks[t].kind {
                Kind::Map { block, .. } => self.stateless_cost.mul(self.blocks[block].len()),
                Kind::Reduce { batch, r } => self
                    .state_cost
                    .mul(self.batches.get(&batch).map_or(0, |b| b.count_r[r as usize])),
                Kind::Recover { rec, sub } => self.state_cost.mul(self.recoveries[rec].sub_records[sub as usize]),
            };
        let node = self.attempts[a].node;
        self.attempts[a].work = Some(cx.compute(node, work, Tag::Work(a)));
    }

    /// The attempt's work finished on its (live) worker.
    pub(crate) fn on_work_done(&mut self, a: AttemptId, cx: &mut Ctx<'_, Msg, Tag>) {
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
                if self.dstream() {
                    if first && batch % self.cfg.checkpoint_every == 0 {
                        let bytes = self.state_bytes(batch, r);
                        cx.storage_write(node, bytes, true, Tag::Ckpt(batch, r));
                    }
                } else {
                    // The state store commits this batch's delta before the task ends.
                    let bytes = self.batches.get(&batch).map_or(0, |b| b.delta_bytes[r as usize]);
                    cx.storage_write(node, bytes, true, Tag::DeltaWrite(a));
                    return;
                }
            }
            Kind::Recover { rec, sub } => {
                let rc = &self.recoveries[rec];
                let bytes = self.state_bytes(rc.to, rc.r) / rc.tasks.len() as u64;
                cx.send(node, rc.host, bytes.max(64), Msg::Piece(rec, sub));
            }
        }
        self.report_finished(a, cx);
    }

    /// The worker tells the master that attempt `a` finished.
    pub(crate) fn report_finished(&mut self, a: AttemptId, cx: &mut Ctx<'_, Msg, Tag>) {
        cx.send(self.attempts[a].node, self.master, 64, Msg::Status(a));
    }

    /// Applies batch n's records of partition r to its state, the first time only.
    fn first_compute(&mut self, n: u64, r: u32, cx: &mut Ctx<'_, Msg, Tag>) -> bool {
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
    fn write_output(&mut self, n: u64, r: u32, node: NodeId, cx: &mut Ctx<'_, Msg, Tag>) {
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

    /// The master hears that attempt `a` finished.
    pub(crate) fn on_status(&mut self, a: AttemptId, cx: &mut Ctx<'_, Msg, Tag>) {
        if !self.attempts[a].live {
            return;
        }
        let node = self.attempts[a].node;
        self.attempts[a].live = false;
        if self.workers.contains(&node) {
            self.slots[node.0 as usize] += 1;
        }
        let t = self.attempts[a].task;
        self.tasks[t].attempts.retain(|x| *x != a);
        if self.tasks[t].status == Status::Running {
            self.task_done(t, node, cx.now().since(self.attempts[a].launched), cx);
        }
        self.schedule(cx);
    }

    /// Task `t` finished with its output on `node`.
    pub(crate) fn task_done(&mut self, t: TaskId, node: NodeId, took: SimDuration, cx: &mut Ctx<'_, Msg, Tag>) {
        let task = &mut self.tasks[t];
        task.status = Status::Done;
        task.out = Loc::Node(node);
        task.duration = Some(took.as_nanos());
        for b in std::mem::take(&mut task.attempts) {
            self.kill(b, cx);
        }
        if let Kind::Reduce { batch, .. } = self.tasks[t].kind {
            self.check_batch_done(batch, cx);
        }
    }

    /// Kills a live attempt (its core is freed; its work cancelled if it started).
    pub(crate) fn kill(&mut self, a: AttemptId, cx: &mut Ctx<'_, Msg, Tag>) {
        let att = &mut self.attempts[a];
        if !att.live {
            return;
        }
        att.live = false;
        if let Some(w) = att.work
            && !att.finished
        {
            cx.cancel(att.node, w);
        }
        let node = att.node;
        if self.workers.contains(&node) {
            self.slots[node.0 as usize] += 1;
        }
        let t = att.task;
        self.tasks[t].attempts.retain(|x| *x != a);
    }
}
