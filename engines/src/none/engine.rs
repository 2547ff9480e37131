//! The `none` state machine. Invariants: a stateful task processes one batch at a time in
//! arrival order; a task marked lost receives nothing until it is placed again; `in_flight`
//! counts messages sent to a task and not yet received, and is zeroed when the task is lost
//! (those messages were dropped with the node).

use crate::common::{partition_by_task, round_robin};
use ftsim_sim::engine::{Ctx, Engine, Event};
use ftsim_sim::scenario::JobKind;
use ftsim_sim::{NodeId, OperatorState, PartitionId, Record, Scenario, SimDuration, SimTime};
use std::collections::VecDeque;

/// Messages between tasks.
#[derive(Debug)]
pub enum Msg {
    /// Records for stateful task `task` from source partition `part`, with that partition's
    /// watermark after them.
    Batch {
        task: u32,
        part: u32,
        wm: SimTime,
        records: Vec<Record>,
    },
}

/// Timer and work tags.
#[derive(Debug)]
pub enum Tag {
    /// Source `part` should look for input.
    Poll { part: u32, epoch: u32 },
    /// Source `part` finished the stateless chain over `from..to`.
    SourceDone { part: u32, epoch: u32, from: u64, to: u64 },
    /// Stateful task `task` finished applying its head batch.
    StateDone { task: u32, epoch: u32 },
    /// Broadcast watermarks.
    Watermarks,
}

struct Source {
    node: NodeId,
    next: u64,
    busy: bool,
    lost: bool,
    epoch: u32,
    sent_wm: Vec<SimTime>,
}

struct Stateful {
    node: NodeId,
    state: OperatorState,
    queue: VecDeque<(u32, SimTime, Vec<Record>)>,
    busy: bool,
    lost: bool,
    epoch: u32,
    /// Messages sent by each source and not yet received.
    in_flight: Vec<u32>,
}

/// The `none` engine.
pub struct NoneEngine {
    poll: SimDuration,
    max_batch: u64,
    wm_interval: SimDuration,
    record_bytes: u64,
    stateless_cost: SimDuration,
    state_cost: SimDuration,
    sources: Vec<Source>,
    tasks: Vec<Stateful>,
    /// Failed nodes waiting for a replacement, oldest first.
    awaiting: VecDeque<NodeId>,
    workers: Vec<NodeId>,
    input_ended: bool,
    windowed: bool,
    /// Length of each partition's log (known once the run starts).
    ends: Vec<u64>,
}

impl NoneEngine {
    /// A fresh engine for `sc` with checked `params`.
    pub fn new(sc: &Scenario, cfg: &super::Config) -> Self {
        let workers: Vec<NodeId> = sc.cluster.workers().collect();
        let sem_parallelism = sc.job.parallelism;
        let tasks = round_robin(sem_parallelism, &workers, 0)
            .into_iter()
            .map(|node| Stateful {
                node,
                state: empty_state(sc),
                queue: VecDeque::new(),
                busy: false,
                lost: false,
                epoch: 0,
                in_flight: vec![0; sc.workload.partitions as usize],
            })
            .collect();
        let sources = round_robin(sc.workload.partitions, &workers, 0)
            .into_iter()
            .map(|node| Source {
                node,
                next: 0,
                busy: false,
                lost: false,
                epoch: 0,
                sent_wm: vec![SimTime::ZERO; sem_parallelism as usize],
            })
            .collect();
        NoneEngine {
            poll: cfg.poll_interval,
            max_batch: cfg.max_batch,
            wm_interval: cfg.watermark_interval,
            record_bytes: sc.workload.record_bytes,
            stateless_cost: sc.job.stateless_cost(),
            state_cost: sc.job.state_cost,
            sources,
            tasks,
            awaiting: VecDeque::new(),
            workers,
            input_ended: false,
            windowed: sc.job.kind == JobKind::WindowCount,
            ends: Vec::new(),
        }
    }

    fn poll(&mut self, p: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let s = &mut self.sources[p as usize];
        if s.busy || s.lost {
            return;
        }
        let part = PartitionId(p);
        let avail = cx.log.available(part, cx.now());
        if avail > s.next {
            let to = avail.min(s.next + self.max_batch);
            s.busy = true;
            let work = self.stateless_cost.mul(to - s.next);
            cx.compute(
                s.node,
                work,
                Tag::SourceDone {
                    part: p,
                    epoch: s.epoch,
                    from: s.next,
                    to,
                },
            );
        } else if let Some(t) = cx.log.arrival(part, s.next) {
            let at = t.max(cx.now() + self.poll);
            cx.set_timer_at(
                at,
                Tag::Poll {
                    part: p,
                    epoch: s.epoch,
                },
            );
        }
    }

    fn ship(&mut self, p: u32, from: u64, to: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let part = PartitionId(p);
        let wm = cx.log.watermark_at(part, to);
        let groups = partition_by_task(cx.sem, cx.log.slice(part, from, to));
        let src_node = self.sources[p as usize].node;
        for (i, records) in groups.into_iter().enumerate() {
            let task = &mut self.tasks[i];
            if task.lost || records.is_empty() {
                continue;
            }
            task.in_flight[p as usize] += 1;
            self.sources[p as usize].sent_wm[i] = wm;
            let bytes = 64 + records.len() as u64 * self.record_bytes;
            cx.send(
                src_node,
                task.node,
                bytes,
                Msg::Batch {
                    task: i as u32,
                    part: p,
                    wm,
                    records,
                },
            );
        }
        self.sources[p as usize].next = to;
        cx.progress(part, to);
        if to == self.ends[p as usize] {
            // End of the partition: every task must learn its final watermark.
            self.broadcast_watermark(p, cx);
        }
    }

    fn broadcast_watermarks(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        for p in 0..self.sources.len() as u32 {
            self.broadcast_watermark(p, cx);
        }
    }

    /// Sends source `p`'s watermark to every stateful task that has not seen it yet.
    fn broadcast_watermark(&mut self, p: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let s = &mut self.sources[p as usize];
        if s.lost || !self.windowed {
            return;
        }
        let wm = cx.log.watermark_at(PartitionId(p), s.next);
        for (i, task) in self.tasks.iter_mut().enumerate() {
            if task.lost || s.sent_wm[i] >= wm {
                continue;
            }
            s.sent_wm[i] = wm;
            task.in_flight[p as usize] += 1;
            cx.send(
                s.node,
                task.node,
                64,
                Msg::Batch {
                    task: i as u32,
                    part: p,
                    wm,
                    records: Vec::new(),
                },
            );
        }
    }

    fn start_task(&mut self, i: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = &mut self.tasks[i as usize];
        if t.busy || t.lost {
            return;
        }
        if let Some((_, _, recs)) = t.queue.front() {
            t.busy = true;
            let work = self.state_cost.mul(recs.len() as u64);
            cx.compute(
                t.node,
                work,
                Tag::StateDone {
                    task: i,
                    epoch: t.epoch,
                },
            );
        }
    }

    fn finish_task(&mut self, i: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = &mut self.tasks[i as usize];
        t.busy = false;
        let Some((part, wm, recs)) = t.queue.pop_front() else {
            return;
        };
        let mut out = Vec::new();
        for r in &recs {
            t.state.apply(cx.sem, r, &mut out);
        }
        t.state.advance(cx.sem, part, wm, &mut out);
        cx.emit(t.node, out, None);
        self.start_task(i, cx);
    }

    fn on_failure(&mut self, node: NodeId, cx: &mut Ctx<'_, Msg, Tag>) {
        let mut lost_any = false;
        for (p, s) in self.sources.iter_mut().enumerate().filter(|(_, s)| s.node == node) {
            // Whatever this source had in flight died with it or was never sent.
            for t in &mut self.tasks {
                t.in_flight[p] = 0;
            }
            s.lost = true;
            s.busy = false;
            s.epoch += 1;
            lost_any = true;
        }
        for t in self.tasks.iter_mut().filter(|t| t.node == node) {
            t.lost = true;
            t.busy = false;
            t.epoch += 1;
            t.in_flight.iter_mut().for_each(|c| *c = 0);
            t.queue.clear();
            t.state = cx.sem.new_state();
            lost_any = true;
        }
        self.workers.retain(|w| *w != node);
        if lost_any {
            self.awaiting.push_back(node);
            cx.log_event("redeploy-requested", Some(node), "restart lost tasks empty");
            cx.request_spare(node);
        } else {
            cx.restored(node);
        }
    }

    fn place(&mut self, failed: NodeId, target: Option<NodeId>, cx: &mut Ctx<'_, Msg, Tag>) {
        let survivors = self.workers.clone();
        let mut k = 0usize;
        let mut pick = || match target {
            Some(n) => Some(n),
            None if survivors.is_empty() => None,
            None => {
                k += 1;
                Some(survivors[(k - 1) % survivors.len()])
            }
        };
        let mut restarted = Vec::new();
        for (p, s) in self.sources.iter_mut().enumerate() {
            if s.lost && s.node == failed {
                let Some(n) = pick() else { return };
                s.node = n;
                s.lost = false;
                s.next = cx.log.available(PartitionId(p as u32), cx.now());
                cx.progress(PartitionId(p as u32), s.next);
                restarted.push(p as u32);
            }
        }
        for t in self.tasks.iter_mut().filter(|t| t.lost && t.node == failed) {
            let Some(n) = pick() else { return };
            t.node = n;
            t.lost = false;
        }
        if let Some(n) = target {
            self.workers.push(n);
        }
        for p in restarted {
            self.poll(p, cx);
        }
        cx.restored(failed);
    }
}

fn empty_state(sc: &Scenario) -> OperatorState {
    ftsim_sim::Semantics::new(&sc.job, sc.workload.partitions).new_state()
}

impl Engine for NoneEngine {
    type Msg = Msg;
    type Tag = Tag;
    type Scope = ();

    fn start(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        self.ends = (0..cx.log.partitions()).map(|p| cx.log.len(PartitionId(p))).collect();
        for p in 0..self.sources.len() as u32 {
            self.poll(p, cx);
        }
        if self.windowed {
            cx.set_timer(self.wm_interval, Tag::Watermarks);
        }
    }

    fn handle(&mut self, ev: Event<Msg, Tag>, cx: &mut Ctx<'_, Msg, Tag>) {
        match ev {
            Event::Message {
                msg:
                    Msg::Batch {
                        task,
                        part,
                        wm,
                        records,
                    },
                ..
            } => {
                let t = &mut self.tasks[task as usize];
                if t.lost {
                    return;
                }
                t.in_flight[part as usize] = t.in_flight[part as usize].saturating_sub(1);
                t.queue.push_back((part, wm, records));
                self.start_task(task, cx);
            }
            Event::Timer {
                tag: Tag::Poll { part, epoch },
                ..
            } => {
                if self.sources[part as usize].epoch == epoch {
                    self.poll(part, cx);
                }
            }
            Event::Timer {
                tag: Tag::Watermarks, ..
            } => {
                self.broadcast_watermarks(cx);
                if !self.input_ended || !self.finished() {
                    cx.set_timer(self.wm_interval, Tag::Watermarks);
                }
            }
            Event::WorkDone {
                tag: Tag::SourceDone { part, epoch, from, to },
                ..
            } => {
                let s = &mut self.sources[part as usize];
                if s.epoch != epoch {
                    return;
                }
                s.busy = false;
                self.ship(part, from, to, cx);
                self.poll(part, cx);
            }
            Event::WorkDone {
                tag: Tag::StateDone { task, epoch },
                ..
            } => {
                if self.tasks[task as usize].epoch == epoch {
                    self.finish_task(task, cx);
                }
            }
            Event::NodeFailed { node } => self.on_failure(node, cx),
            Event::SpareReady { node, .. } => {
                if let Some(failed) = self.awaiting.pop_front() {
                    self.place(failed, node, cx);
                }
            }
            Event::InputEnded => {
                self.input_ended = true;
                if self.windowed {
                    self.broadcast_watermarks(cx);
                }
            }
            Event::Timer { .. } | Event::WorkDone { .. } | Event::StorageDone { .. } | Event::NodeRestarted { .. } => {}
        }
    }

    fn finished(&self) -> bool {
        self.input_ended
            && self.awaiting.is_empty()
            && self
                .sources
                .iter()
                .zip(&self.ends)
                .all(|(s, end)| !s.busy && !s.lost && s.next == *end)
            && self
                .tasks
                .iter()
                .all(|t| !t.busy && t.queue.is_empty() && t.in_flight.iter().all(|c| *c == 0))
    }
}
