//! Failures: a worker's loss under D-Streams (lineage, parallel recovery), a master's loss
//! (restart from metadata), and Structured Streaming's restart of the whole query.
//!
//! Invariants: after a worker's failure is handled, no task waits on an attempt or an output on
//! that node; every lost state partition that a later batch needs (the latest computed one of
//! each partition) has exactly one active recovery; `restored` is reported once no recovery for
//! that node is active.

use super::MicroBatch;
use super::engine::{Clock, Msg, Tag};
use super::model::{Kind, Loc, Recovery, Status, TaskId};
use ftsim_sim::engine::Ctx;
use ftsim_sim::rng::mix64;
use ftsim_sim::{NodeId, SimTime};

impl MicroBatch {
    /// The master handles worker `x`'s failure.
    pub(crate) fn on_worker_failed(&mut self, x: NodeId, cx: &mut Ctx<'_, Msg, Tag>) {
        if !self.handled.insert(x) {
            return;
        }
        self.workers.retain(|w| *w != x);
        self.slots[x.0 as usize] = 0;
        if !self.dstream() {
            self.awaiting_resume.push(x);
            self.query_fail(cx);
            return;
        }
        self.drop_attempts_on(x, cx);
        if self.workers.is_empty() {
            cx.log_event("no-workers", Some(x), "no worker left to recompute on");
            return;
        }
        self.fix_blocks(x, cx);
        self.move_receivers(x, cx);
        for t in &mut self.tasks {
            if t.status == Status::Done && t.out == Loc::Node(x) {
                t.out = Loc::Lost;
            }
        }
        // Recoveries hosted on x start over, still answering for their failures.
        let mut inherit: Vec<(u32, NodeId)> = Vec::new();
        for i in 0..self.recoveries.len() {
            if self.recoveries[i].active && self.recoveries[i].host == x {
                self.abandon_recovery(i, cx);
                let r = self.recoveries[i].r;
                inherit.extend(self.recoveries[i].failed.iter().map(|n| (r, *n)));
            }
        }
        let lost: Vec<(u32, u64)> = (0..self.parallelism)
            .filter_map(|r| {
                let h = self.head(r);
                let busy = self.recoveries.iter().any(|rc| rc.active && rc.r == r);
                (h > 0 && !busy && self.state_loc(h, r).is_none()).then_some((r, h))
            })
            .collect();
        let cores: u32 = self.workers.len() as u32 * self.cores;
        let subs = (cores / (lost.len() as u32).max(1)).clamp(1, 256);
        for (i, (r, h)) in lost.iter().enumerate() {
            let host = self.workers[(*r as usize + i) % self.workers.len()];
            let mut failed = vec![x];
            failed.extend(inherit.iter().filter(|(q, n)| q == r && *n != x).map(|(_, n)| *n));
            self.start_recovery(*r, *h, subs, host, failed, cx);
        }
        self.requeue_lost_maps();
        let mut answer: Vec<NodeId> = inherit.iter().map(|(_, n)| *n).chain([x]).collect();
        answer.sort_unstable();
        answer.dedup();
        for n in answer {
            self.check_restored(n, cx);
        }
        self.schedule(cx);
    }

    /// The latest batch whose reduce task of partition r is done (0 if none).
    pub(crate) fn head(&self, r: u32) -> u64 {
        self.batches
            .values()
            .rev()
            .find(|b| {
                b.reduces
                    .get(r as usize)
                    .is_some_and(|t| self.tasks[*t].status == Status::Done)
            })
            .map_or(0, |b| b.n)
    }

    /// Attempts on x are gone; attempts waiting for an input from x are killed; their tasks wait
    /// again if no other attempt is left.
    fn drop_attempts_on(&mut self, x: NodeId, cx: &mut Ctx<'_, Msg, Tag>) {
        let running: Vec<TaskId> = (0..self.tasks.len())
            .filter(|t| self.tasks[*t].status == Status::Running)
            .collect();
        for t in running {
            for a in self.tasks[t].attempts.clone() {
                let att = &self.attempts[a];
                if att.node == x {
                    self.attempts[a].live = false;
                    self.tasks[t].attempts.retain(|b| *b != a);
                } else if att.work.is_none() && att.waiting.contains(&Some(x)) {
                    self.kill(a, cx);
                }
            }
            self.requeue_if_orphan(t);
        }
    }

    fn requeue_if_orphan(&mut self, t: TaskId) {
        let task = &mut self.tasks[t];
        if task.status == Status::Running && task.attempts.is_empty() {
            task.status = Status::Waiting;
            self.pending.insert((task.prio.0, task.prio.1, t));
        }
    }

    /// Blocks lose their copy on x; copies on their way to x go elsewhere.
    fn fix_blocks(&mut self, x: NodeId, cx: &mut Ctx<'_, Msg, Tag>) {
        for b in 0..self.blocks.len() {
            let blk = &mut self.blocks[b];
            blk.locs.retain(|n| *n != x);
            if !blk.replicating.contains(&x) {
                continue;
            }
            blk.replicating.retain(|n| *n != x);
            let src = blk.locs.first().copied().filter(|n| !self.dead.contains(n));
            let exclude: Vec<NodeId> = blk.locs.iter().chain(&blk.replicating).copied().chain([x]).collect();
            let bytes = blk.len() * self.record_bytes;
            match src.and_then(|s| self.peers(s, 1, &exclude).first().map(|t| (s, *t))) {
                Some((s, t)) => {
                    self.blocks[b].replicating.push(t);
                    cx.send_ft(s, t, bytes, Msg::Replica(b));
                }
                None if self.blocks[b].replicating.is_empty() && !self.blocks[b].stored => {
                    self.blocks[b].stored = true;
                    self.blocks[b].known = true;
                }
                None => {}
            }
        }
    }

    /// Receivers on x restart on the survivor with the fewest receivers.
    fn move_receivers(&mut self, x: NodeId, cx: &mut Ctx<'_, Msg, Tag>) {
        if self.workers.is_empty() {
            return;
        }
        for p in 0..self.receivers.len() {
            if self.receivers[p].node != x {
                continue;
            }
            let node = *self
                .workers
                .iter()
                .min_by_key(|w| (self.receivers.iter().filter(|r| r.node == **w).count(), w.0))
                .unwrap_or(&self.workers[0]);
            let rc = &mut self.receivers[p];
            rc.node = node;
            rc.epoch += 1;
            let clock = Clock::Receiver(p as u32);
            cx.log_event(
                "receiver-moved",
                Some(node),
                format!("partition {p} from offset {}", rc.next),
            );
            self.arm(clock, cx.now(), cx);
        }
    }

    /// Lost map outputs that a running batch or an active recovery needs are computed again.
    fn requeue_lost_maps(&mut self) {
        let mut need: Vec<TaskId> = Vec::new();
        for b in self.batches.values() {
            let needed = (b.done.is_none() && b.durable)
                || self
                    .recoveries
                    .iter()
                    .any(|rc| rc.active && b.n > rc.from && b.n <= rc.to);
            if needed {
                need.extend(b.maps.iter().copied());
            }
        }
        for t in need {
            let task = &mut self.tasks[t];
            if task.status == Status::Done && task.out == Loc::Lost {
                task.status = Status::Waiting;
                self.pending.insert((task.prio.0, task.prio.1, t));
            }
        }
    }

    /// Recomputes state partition r after batch h from the last checkpoint, in `subs` key ranges.
    fn start_recovery(
        &mut self,
        r: u32,
        h: u64,
        subs: u32,
        host: NodeId,
        failed: Vec<NodeId>,
        cx: &mut Ctx<'_, Msg, Tag>,
    ) {
        let from = self.last_ckpt.min(h);
        let mut sub_records = vec![0u64; subs as usize];
        for (_, b) in self.batches.range(from + 1..).take_while(|(n, _)| **n <= h) {
            if let Some(recs) = b.by_r.get(r as usize) {
                for rec in recs {
                    sub_records[(mix64(u64::from(rec.key)) % u64::from(subs)) as usize] += 1;
                }
            }
        }
        let first = failed.first().copied();
        let rec = self.recoveries.len();
        self.recoveries.push(Recovery {
            r,
            from,
            to: h,
            host,
            tasks: Vec::new(),
            got: vec![false; subs as usize],
            sub_records,
            active: true,
            failed,
        });
        let tasks = (0..subs)
            .map(|sub| self.new_task(Kind::Recover { rec, sub }, (from + 1, 0)))
            .collect();
        self.recoveries[rec].tasks = tasks;
        cx.log_event(
            "recovery-start",
            first,
            format!(
                "state partition {r}: batches {}..={h} from checkpoint {from}, {subs} key ranges, host {}",
                from + 1,
                host.0
            ),
        );
    }

    fn abandon_recovery(&mut self, i: usize, cx: &mut Ctx<'_, Msg, Tag>) {
        self.recoveries[i].active = false;
        for t in self.recoveries[i].tasks.clone() {
            for a in self.tasks[t].attempts.clone() {
                self.kill(a, cx);
            }
            let task = &mut self.tasks[t];
            self.pending.remove(&(task.prio.0, task.prio.1, t));
            task.status = Status::Dropped;
        }
    }

    /// A recovered key range reached the host.
    pub(crate) fn on_piece(&mut self, rec: usize, sub: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let rc = &mut self.recoveries[rec];
        if !rc.active {
            return;
        }
        rc.got[sub as usize] = true;
        if rc.got.iter().any(|g| !g) {
            return;
        }
        rc.active = false;
        let (r, to, host, failed) = (rc.r, rc.to, rc.host, rc.failed.clone());
        if let Some(t) = self.batches.get(&to).and_then(|b| b.reduces.get(r as usize).copied()) {
            self.tasks[t].out = Loc::Node(host);
        }
        cx.log_event("recovered", Some(host), format!("state partition {r} of batch {to}"));
        for n in failed {
            self.check_restored(n, cx);
        }
        self.schedule(cx);
    }

    fn check_restored(&mut self, x: NodeId, cx: &mut Ctx<'_, Msg, Tag>) {
        if !self.recoveries.iter().any(|rc| rc.active && rc.failed.contains(&x)) {
            cx.restored(x);
        }
    }

    /// The master is reported dead: restart it.
    pub(crate) fn on_master_failed(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        self.master_up = false;
        self.master_epoch += 1;
        if !self.dstream() {
            self.query_down = true;
        }
        self.awaiting_resume.push(self.master);
        cx.log_event("master-restart", Some(self.master), "restarting the master");
        cx.restart_node(self.master);
    }

    /// Structured streaming: the query fails and restarts after the restart delay.
    fn query_fail(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        self.query_down = true;
        self.master_epoch += 1;
        self.reset_query(cx);
        cx.log_event("query-restart", None, format!("restart in {}", self.cfg.restart_delay));
        self.arm(Clock::Restart, cx.now() + self.cfg.restart_delay, cx);
    }

    /// Structured streaming: every executor's memory is gone; batches after the last one in the
    /// commit log run again from their logged offsets, on state read from the last version.
    fn reset_query(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        for a in 0..self.attempts.len() {
            if self.attempts[a].live {
                self.kill(a, cx);
            }
        }
        let last = self
            .batches
            .values()
            .filter(|b| b.complete_durable)
            .map(|b| b.n)
            .max()
            .unwrap_or(0);
        let mut rerun = Vec::new();
        for b in self.batches.values_mut() {
            if b.n > last {
                b.done = None;
                rerun.extend(b.maps.iter().chain(&b.reduces).copied());
            }
        }
        for task in &mut self.tasks {
            task.out = Loc::Lost;
        }
        if let Some(b) = self.batches.get(&last) {
            for t in b.reduces.clone() {
                self.tasks[t].out = Loc::Storage;
            }
        }
        for t in rerun {
            let task = &mut self.tasks[t];
            task.status = Status::Waiting;
            task.duration = None;
            self.pending.insert((task.prio.0, task.prio.1, t));
        }
        self.coordinator.clear();
    }

    /// The restarted master read its metadata: rebuild its view and resume.
    pub(crate) fn master_recover(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        self.master_up = true;
        let fresh: Vec<NodeId> = self.dead.difference(&self.handled).copied().collect();
        for x in &fresh {
            self.workers.retain(|w| w != x);
            self.slots[x.0 as usize] = 0;
            if !self.dstream() {
                self.handled.insert(*x);
            }
        }
        if self.dstream() {
            self.adopt_attempts(cx);
            self.coordinator.clear();
            for b in &mut self.blocks {
                b.known |= b.stored;
            }
        } else {
            self.reset_query(cx);
            self.query_down = false;
        }
        self.drop_unlogged_batches();
        for w in &self.workers {
            self.slots[w.0 as usize] = self.cores;
        }
        for a in &self.attempts {
            if a.live && self.workers.contains(&a.node) {
                self.slots[a.node.0 as usize] -= 1;
            }
        }
        let iv = self.cfg.batch_interval.as_nanos();
        self.next_batch_time = SimTime((cx.now().0 / iv + 1) * iv);
        self.arm(Clock::Batch, self.next_batch_time, cx);
        if self.cfg.speculation {
            self.arm(Clock::Spec, cx.now() + self.cfg.speculation_interval, cx);
        }
        cx.log_event(
            "master-recovered",
            Some(self.master),
            format!("resuming at batch {}", self.next_batch),
        );
        self.awaiting_resume.sort_unstable();
        self.awaiting_resume.dedup();
        for n in std::mem::take(&mut self.awaiting_resume) {
            cx.restored(n);
        }
        let undone: Vec<u64> = self
            .batches
            .values()
            .filter(|b| b.done.is_none())
            .map(|b| b.n)
            .collect();
        for n in undone {
            self.check_batch_done(n, cx);
        }
        let unlogged: Vec<u64> = self
            .batches
            .values()
            .filter(|b| b.done.is_some() && !b.complete_durable)
            .map(|b| b.n)
            .collect();
        for n in unlogged {
            cx.storage_write(self.master, self.meta_bytes(), false, Tag::MetaDone(n));
        }
        if self.dstream() {
            for x in fresh {
                self.on_worker_failed(x, cx);
            }
            self.generate_batch(cx);
        } else {
            self.trigger_due = true;
        }
        self.schedule(cx);
    }

    /// D-Streams master restart: attempts that finished while the master was down count as done
    /// (their workers report the partitions); the others are killed and their tasks wait again.
    fn adopt_attempts(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        let running: Vec<TaskId> = (0..self.tasks.len())
            .filter(|t| self.tasks[*t].status == Status::Running)
            .collect();
        for t in running {
            let atts = self.tasks[t].attempts.clone();
            let winner = atts
                .iter()
                .copied()
                .find(|a| self.attempts[*a].finished && self.workers.contains(&self.attempts[*a].node));
            for a in atts {
                self.kill(a, cx);
            }
            match winner {
                Some(a) => {
                    let took = cx.now().since(self.attempts[a].launched);
                    self.tasks[t].status = Status::Running;
                    self.task_done(t, self.attempts[a].node, took, cx);
                }
                None => self.requeue_if_orphan(t),
            }
        }
    }

    /// Batches whose allocation never reached the metadata are forgotten; their input goes back.
    fn drop_unlogged_batches(&mut self) {
        let gone: Vec<u64> = self
            .batches
            .values()
            .rev()
            .filter(|b| !b.durable)
            .map(|b| b.n)
            .collect();
        for n in gone {
            let Some(b) = self.batches.remove(&n) else { continue };
            for &blk in b.blocks.iter().rev() {
                let block = &mut self.blocks[blk];
                block.batch = None;
                let p = block.part as usize;
                self.alloc_next[p] = self.alloc_next[p].min(block.from);
                if self.dstream() {
                    self.unallocated[p].push_front(blk);
                }
            }
            self.next_batch = self.next_batch.min(n);
        }
    }
}
