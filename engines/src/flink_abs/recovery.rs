//! Failure handling: fixed-delay restart of the whole job from the last completed checkpoint.
//!
//! On detection of a worker that ran tasks, or of the coordinator: every task is cancelled
//! (full failover; with the keyed exchange every job here is a single pipelined region, so
//! `failover = "region"` restarts the same set), the pending checkpoint is aborted, open sink
//! transactions are aborted. The job is redeployed once the restart delay is over, a spare (or
//! the survivors) took the lost tasks, and the coordinator is up again (a standby JobManager
//! takes over, modelled as the master node restarting). Every task then reads its part of the
//! last completed checkpoint from durable storage; when all reads are done the sources rewind
//! to the checkpoint's offsets, kept in-flight buffers go first into each task's input, and the
//! failed nodes are reported restored.

use super::engine::{FlinkAbs, Recovery};
use super::msg::{Msg, Tag};
use super::source::Source;
use super::task::{In, Task};
use ftsim_sim::engine::{Ctx, Flow};
use ftsim_sim::planted::Bug;
use ftsim_sim::{NodeId, PartitionId};

impl FlinkAbs {
    /// The failure detector reports `node` dead.
    pub(super) fn on_failure(&mut self, node: NodeId, cx: &mut Ctx<'_, Msg, Tag>) {
        if node != self.shape.master {
            // The cluster manager restarts a failed worker; it joins again once it is back.
            cx.restart_node(node);
            self.placement.lose(node);
            let hosts = self.sources.iter().any(|s| s.reader.node == node) || self.tasks.iter().any(|t| t.node == node);
            if !hosts {
                // An idle TaskManager: nothing to restart.
                cx.restored(node);
                return;
            }
        }
        let r = self.recovery.get_or_insert_with(Recovery::default);
        r.report.push(node);
        if node == self.shape.master {
            self.master_alive = false;
            r.master_wanted = true;
            cx.restart_node(node);
            cx.log_event(
                "coordinator-lost",
                Some(node),
                "a standby coordinator takes over; the job restarts",
            );
        } else {
            r.lost.push(node);
            cx.request_spare(node);
        }
        self.cancel_job(cx);
    }

    /// Cancels every task of the current attempt and arms the restart delay.
    fn cancel_job(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        self.attempt += 1;
        self.running = false;
        self.final_id = None;
        let mut held = 0;
        for s in &mut self.sources {
            if let Some(w) = s.reader.work.take() {
                cx.cancel(s.reader.node, w);
            }
            held += s.clear();
        }
        for t in &mut self.tasks {
            if let Some((_, records, _, _, w)) = t.current.take() {
                cx.cancel(t.node, w);
                held += records.len() as u64;
            }
            held += t.clear();
        }
        cx.records(Flow::Dropped("rolled back by a job restart"), held);
        if let Some(id) = self.coord.abort() {
            cx.log_event("checkpoint-aborted", Some(self.shape.master), format!("id {id}"));
        }
        if !self.planted.has(Bug::NoAbortOnRestart) {
            for (n, task) in std::mem::take(&mut self.open_txns) {
                cx.abort(Self::txn(n, task));
            }
        }
        if let Some(r) = self.recovery.as_mut() {
            r.delay_done = false;
            r.deployed = false;
        }
        let from = self
            .coord
            .completed
            .as_ref()
            .map_or("scratch".to_string(), |c| format!("checkpoint {}", c.id));
        let how = if self.cfg.failover == super::config::Failover::Region {
            "region (= full: one pipelined region)"
        } else {
            "full"
        };
        cx.log_event(
            "job-restart",
            None,
            format!(
                "attempt {}, {how} failover from {from} after {}",
                self.attempt, self.cfg.restart_delay
            ),
        );
        cx.set_timer(self.cfg.restart_delay, Tag::RestartDue);
    }

    /// The spare asked for `failed` is ready (or none is left): it takes that node's tasks (or the
    /// survivors do, round-robin).
    pub(super) fn on_spare(&mut self, failed: NodeId, node: Option<NodeId>, cx: &mut Ctx<'_, Msg, Tag>) {
        let Some(r) = self.recovery.as_mut() else {
            return;
        };
        let Some(i) = r.lost.iter().position(|n| *n == failed) else {
            return;
        };
        r.lost.remove(i);
        self.rehome(failed, node, cx);
        self.try_deploy(cx);
    }

    /// Moves the tasks of `failed` to `spare` or the survivors; with neither, they wait for a
    /// worker to come back.
    fn rehome(&mut self, failed: NodeId, spare: Option<NodeId>, cx: &mut Ctx<'_, Msg, Tag>) {
        let homes = self
            .sources
            .iter_mut()
            .map(|s| &mut s.reader.node)
            .chain(self.tasks.iter_mut().map(|t| &mut t.node));
        if !self.placement.relocate(failed, spare, homes)
            && let Some(r) = self.recovery.as_mut()
        {
            r.homeless.push(failed);
            cx.log_event("no-capacity", Some(failed), "its tasks wait for a worker to come back");
        }
    }

    /// A failed worker is back: it joins the workers and takes the tasks that had no home.
    pub(super) fn on_worker_back(&mut self, node: NodeId, cx: &mut Ctx<'_, Msg, Tag>) {
        self.placement.join(node);
        let homeless = self.recovery.as_mut().map(|r| std::mem::take(&mut r.homeless));
        for failed in homeless.unwrap_or_default() {
            self.rehome(failed, None, cx);
        }
        self.try_deploy(cx);
    }

    /// Once the delay is over and every task has a live home, each task reads its part of the
    /// last completed checkpoint.
    pub(super) fn try_deploy(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        let Some(r) = self.recovery.as_mut() else {
            return;
        };
        if !r.delay_done
            || !r.lost.is_empty()
            || !r.homeless.is_empty()
            || r.master_wanted
            || r.deployed
            || self.placement.workers().is_empty()
        {
            return;
        }
        r.deployed = true;
        r.reads_left = self.sources.len() + self.tasks.len();
        cx.log_event(
            "redeploy",
            None,
            format!("attempt {}: tasks read the checkpoint", self.attempt),
        );
        for s in &self.sources {
            cx.storage_read(s.reader.node, 16, Tag::Restored);
        }
        let cp = self.coord.completed.as_ref();
        for (i, t) in self.tasks.iter().enumerate() {
            let bytes = cp.map_or(0, |c| {
                let state = c.states.get(i).map_or(0, |s| s.size_bytes(self.shape.bytes_per_key));
                let kept: u64 = c.inflight[i]
                    .iter()
                    .map(|(_, r, _)| 16 + r.len() as u64 * self.shape.record_bytes)
                    .sum();
                state + kept
            });
            cx.storage_read(t.node, bytes, Tag::Restored);
        }
    }

    /// One task finished reading the checkpoint; with the last one the job runs again.
    pub(super) fn restore_read(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        let Some(r) = self.recovery.as_mut() else {
            return;
        };
        r.reads_left = r.reads_left.saturating_sub(1);
        if r.reads_left == 0 && r.deployed {
            self.start_job(cx);
        }
    }

    /// (Re)starts every task from the last completed checkpoint (or from scratch).
    pub(super) fn start_job(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        let cp = self.coord.completed.clone();
        let (parts, par) = (self.sources.len(), self.tasks.len());
        let blocking = self.cfg.mode == super::config::Mode::Aligned && !self.planted.has(Bug::AlignmentDoesNotBlock);
        let offsets_from = if self.planted.has(Bug::OffsetsOfOlderCheckpoint) {
            self.coord.previous.clone().or_else(|| cp.clone())
        } else {
            cp.clone()
        };
        for (p, s) in self.sources.iter_mut().enumerate() {
            let offset = offsets_from
                .as_ref()
                .map_or(0, |c| c.offsets.get(p).copied().unwrap_or(0));
            *s = Source::new(s.reader.node, offset, par, self.cfg.credits, self.cfg.output_buffers)
                .with_local(&self.tasks);
            cx.progress(PartitionId(p as u32), offset);
        }
        let next_id = self.coord.next_id;
        for (i, t) in self.tasks.iter_mut().enumerate() {
            let state = cp
                .as_ref()
                .and_then(|c| c.states.get(i).cloned())
                .unwrap_or_else(|| cx.sem.new_state());
            let mut task = Task::new(t.node, state, parts, blocking, next_id);
            if let Some(c) = cp.as_ref() {
                let replayed: usize = c.inflight[i].iter().map(|(_, r, _)| r.len()).sum();
                cx.records(Flow::Read, replayed as u64);
                for (ch, records, wm) in &c.inflight[i] {
                    let item = In::Data {
                        records: records.clone(),
                        wm: *wm,
                        credit: false,
                    };
                    if self.planted.has(Bug::InFlightReplayReversed) {
                        task.input.push_front((*ch, item));
                    } else {
                        task.input.push_back((*ch, item));
                    }
                }
            }
            *t = task;
        }
        self.running = true;
        self.wm_in_flight = 0;
        self.wm_arrived.clear();
        if let Some(r) = self.recovery.take() {
            for n in r.report {
                cx.restored(n);
            }
            let from = cp
                .as_ref()
                .map_or("scratch".to_string(), |c| format!("checkpoint {}", c.id));
            cx.log_event(
                "job-running",
                None,
                format!("attempt {} restored from {from}", self.attempt),
            );
        }
        self.coord.generation += 1;
        cx.set_node_timer(self.shape.master, self.cfg.checkpoint_interval, Tag::Trigger);
        cx.set_timer(self.cfg.buffer_timeout, Tag::Flush);
        for p in 0..parts as u32 {
            self.poll(p, cx);
        }
        for i in 0..par as u32 {
            self.process(i, cx);
        }
    }
}
