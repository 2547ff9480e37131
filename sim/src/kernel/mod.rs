//! The run loop: one event queue, one cluster, one sink, one engine.
//!
//! The kernel pops events in `(time, insertion)` order, applies cluster physics (crashes, cores, NICs,
//! storage), hands engine-visible events to the engine and carries out the commands it answers
//! with. Everything an engine may observe is decided here, in one place. A run stops when the
//! input has ended and the engine reports it has finished at the end of an instant (every event
//! of that instant handled), when nothing is left to happen, or at `duration + drain`,
//! whichever comes first.
//!
//! Stale events (issued under an older incarnation of their scope, see [`crate::engine`]) are
//! dropped here, in one place: the engine never sees them.
//!
//! Invariants:
//! - the queue receives an event's consequences in the order the engine issued them: commands
//!   are carried out after the handler, in order, except that a timer whose tag names no scope,
//!   issued before any other command of its handler, goes straight into the queue from the
//!   [`Ctx`] (it would be the first thing queued anyway, and is stamped 0 either way), so that
//!   the common timer-driven path skips the command buffer;
//! - the trace hash folds every handled event's time, kind and node with one rotate-xor-multiply;
//!   it is compared between runs (same scenario, same hash) and written nowhere.

use crate::cluster::{Cluster, Started, WorkItem};
use crate::engine::{Command, Ctx, Engine, Event, Flow, Scoped, Traffic};

/// Why the kernel dropped a message's records (the run's ledger).
const TO_DEAD: &str = "sent to a node that died";
const FROM_DEAD: &str = "sent by a dead node";
const STALE: &str = "sent by an earlier incarnation";
use crate::ids::{NodeId, PartitionId, TimerId};
use crate::job::Semantics;
use crate::metrics::Sink;
use crate::outcome::{EventRow, FailureRecord, RunOutput, RunStats};
use crate::queue::EventQueue;
use crate::rng::stream;
use crate::scenario::{Fault, Scenario};
use crate::time::SimTime;
use crate::workload::{LogReader, SourceLog};
use rustc_hash::FxHashSet;

mod internal;

pub(crate) use internal::{Internal, Owner};

/// Runs `engine` over `log` under `scenario`. `on_progress` is called now and then with the
/// simulated time reached (for progress bars); it cannot influence the run.
pub fn run<E: Engine>(
    scenario: &Scenario,
    log: &SourceLog,
    engine_name: &str,
    engine: &mut E,
    on_progress: &mut dyn FnMut(SimTime),
) -> RunOutput {
    Kernel::new(scenario, log, engine_name).run(engine, on_progress)
}

struct Kernel<'a, M, T> {
    sc: &'a Scenario,
    log: LogReader<'a>,
    sem: Semantics,
    queue: EventQueue<Internal<M, T>>,
    cluster: Cluster<T>,
    sink: Sink,
    cancelled: FxHashSet<TimerId>,
    rng: crate::rng::SimRng,
    next_id: u64,
    now: SimTime,
    progress: Vec<u64>,
    events: Vec<EventRow>,
    failures: Vec<FailureRecord>,
    stats: RunStats,
    input_ended: bool,
    cmd_buf: Vec<Command<M, T>>,
}

impl<'a, M, T> Kernel<'a, M, T> {
    fn new(sc: &'a Scenario, log: &'a SourceLog, engine_name: &str) -> Self {
        let mut queue = EventQueue::with_capacity(1024);
        for (i, f) in sc.faults.iter().enumerate() {
            queue.push(f.at(), Internal::Fault(i));
            if let Fault::Straggler { at, node, duration, .. } = f {
                queue.push(*at + *duration, Internal::StragglerEnd(*node));
            }
        }
        queue.push(SimTime(sc.run.duration.as_nanos()), Internal::InputEnd);
        queue.push(SimTime(sc.run.bucket.as_nanos()), Internal::Sample(0));
        Kernel {
            sc,
            log: log.reader(),
            sem: Semantics::for_scenario(sc, log.partitions()),
            queue,
            cluster: Cluster::new(&sc.cluster, &sc.faults),
            sink: Sink::new(
                sc.job.sink,
                sc.job.kind,
                sc.run.bucket,
                SimTime(sc.run.warmup.as_nanos()),
                &crash_instants(sc),
                sc.planted,
            ),
            cancelled: FxHashSet::default(),
            rng: stream(sc.run.seed, &format!("engine/{engine_name}")),
            next_id: 0,
            now: SimTime::ZERO,
            progress: vec![0; log.partitions() as usize],
            events: Vec::new(),
            failures: Vec::new(),
            stats: RunStats::default(),
            input_ended: false,
            cmd_buf: Vec::with_capacity(64),
        }
    }

    fn run<E: Engine<Msg = M, Tag = T>>(mut self, engine: &mut E, on_progress: &mut dyn FnMut(SimTime)) -> RunOutput {
        let limit = SimTime(self.sc.run.duration.as_nanos()) + self.sc.run.drain;
        self.dispatch(engine, None);
        while let Some((time, ev)) = self.queue.pop() {
            if time > limit {
                break;
            }
            if time < self.now {
                self.breach(&format!("time went back from {} to {time}", self.now));
            }
            self.now = time;
            self.stats.sim_events += 1;
            if self.stats.sim_events % 65_536 == 0 {
                on_progress(time);
            }
            if let Some((e, inc)) = self.physics::<E>(ev) {
                if current(engine, &e, inc) {
                    self.witness(&e);
                    self.dispatch(engine, Some(e));
                } else {
                    self.stats.stale_dropped += 1;
                    if let Event::Message { msg, .. } = &e {
                        self.stats.ledger.add(Flow::Dropped(STALE), E::records_in(msg));
                    }
                }
            }
            // The run stops at the end of an instant: what else happens at it (the detections
            // of the other nodes of one crash, above all) still happens. The engine is asked
            // only then, once per instant.
            if self.input_ended && self.queue.peek_time().is_none_or(|t| t > time) && engine.finished() {
                break;
            }
        }
        self.finish(engine)
    }

    /// Applies an internal event to the cluster; returns what the engine must be told, if anything,
    /// with the incarnation it was issued under.
    fn physics<E: Engine<Msg = M, Tag = T>>(&mut self, ev: Internal<M, T>) -> Option<(Event<M, T>, u32)> {
        let untagged = |e| Some((e, 0));
        match ev {
            Internal::Deliver {
                from,
                to,
                epoch,
                inc,
                msg,
            } => {
                if self.cluster.is_alive(to) && self.cluster.epoch(to) == epoch {
                    Some((Event::Message { from, to, msg }, inc))
                } else {
                    self.stats.ledger.add(Flow::Dropped(TO_DEAD), E::records_in(&msg));
                    None
                }
            }
            Internal::Timer { id, inc, tag, owner } => {
                let cancelled = !self.cancelled.is_empty() && self.cancelled.remove(&id);
                let owner_gone = owner
                    .get()
                    .is_some_and(|(n, e)| !self.cluster.is_alive(n) || self.cluster.epoch(n) != e);
                (!cancelled && !owner_gone).then_some((Event::Timer { id, tag }, inc))
            }
            Internal::WorkEnd { node, epoch, core, id } => {
                let (tag, inc) = self.cluster.complete(self.now, node, epoch, core as usize, id)?;
                self.start_work(node);
                Some((Event::WorkDone { node, id, tag }, inc))
            }
            Internal::StorageEnd { node, epoch, inc, tag } => (self.cluster.is_alive(node)
                && self.cluster.epoch(node) == epoch)
                .then_some((Event::StorageDone { node, tag }, inc)),
            Internal::Fault(i) => {
                self.inject(i);
                None
            }
            Internal::StragglerEnd(node) => {
                self.log_row("straggler-end", Some(node), String::new());
                None
            }
            Internal::Detect(node) => {
                for f in self
                    .failures
                    .iter_mut()
                    .filter(|f| f.nodes.contains(&node) && f.detected.is_none())
                {
                    f.detected = Some(self.now);
                }
                self.log_row("detected", Some(node), String::new());
                untagged(Event::NodeFailed { node })
            }
            Internal::SpareUp { failed, node } => {
                self.cluster.revive(self.now, node);
                self.log_row("spare-ready", Some(node), String::new());
                untagged(Event::SpareReady {
                    failed,
                    node: Some(node),
                })
            }
            Internal::RestartUp(node) => {
                self.cluster.revive(self.now, node);
                self.log_row("node-restarted", Some(node), String::new());
                untagged(Event::NodeRestarted { node })
            }
            Internal::NoSpare { failed } => untagged(Event::SpareReady { failed, node: None }),
            Internal::InputEnd => {
                self.input_ended = true;
                self.log_row("input-end", None, format!("{} records", self.log.total()));
                untagged(Event::InputEnded)
            }
            Internal::Sample(b) => {
                let t = SimTime((b as u64 + 1) * self.sc.run.bucket.as_nanos());
                let backlog: u64 = (0..self.log.partitions())
                    .map(|p| {
                        self.log
                            .available(PartitionId(p), t)
                            .saturating_sub(self.progress[p as usize])
                    })
                    .sum();
                self.sink.bucket_at(b).backlog = backlog;
                self.queue.push(t + self.sc.run.bucket, Internal::Sample(b + 1));
                None
            }
        }
    }

    /// Checks that an event about to be handled concerns a live node, and folds it into the
    /// trace hash (time, kind, node): two runs of the same scenario handle the same events.
    fn witness(&mut self, e: &Event<M, T>) {
        let (kind, node) = match e {
            Event::Message { to, .. } => (1, Some(*to)),
            Event::Timer { id, .. } => (2 + (id.0 << 8), None),
            Event::WorkDone { node, .. } => (3, Some(*node)),
            Event::StorageDone { node, .. } => (4, Some(*node)),
            Event::NodeFailed { node } => (5, Some(*node)),
            Event::SpareReady { node, .. } => (6, *node),
            Event::NodeRestarted { node } => (7, Some(*node)),
            Event::InputEnded => (8, None),
        };
        let live_node_event = !matches!(e, Event::NodeFailed { .. });
        if let Some(n) = node
            && live_node_event
            && !self.cluster.is_alive(n)
        {
            self.breach(&format!(
                "an event of kind {} was handled for node {n}, which is dead",
                kind & 0xff
            ));
        }
        let node = node.map_or(u64::from(u32::MAX), |n| u64::from(n.0));
        // One rotate-xor-multiply per event (FxHash's step): a witness that two runs handled the
        // same events, compared between runs and never written out.
        let h = &mut self.stats.trace_hash;
        *h = (h.rotate_left(5) ^ self.now.0 ^ kind.rotate_left(40) ^ (node << 20)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn breach(&mut self, what: &str) {
        if self.stats.breaches.len() < 16 {
            self.stats.breaches.push(format!("{}: {what}", self.now));
        }
    }

    fn inject(&mut self, i: usize) {
        match &self.sc.faults[i] {
            Fault::Crash { targets, .. } => {
                let mut nodes = Vec::new();
                for t in targets {
                    let node = self.cluster.resolve(*t);
                    if self.cluster.crash(self.now, node) {
                        nodes.push(node);
                        self.log_row("crash", Some(node), String::new());
                        self.queue
                            .push(self.now + self.sc.cluster.detection_delay, Internal::Detect(node));
                    }
                }
                if !nodes.is_empty() {
                    self.failures.push(FailureRecord::new(self.now, nodes));
                }
            }
            Fault::Straggler {
                node, factor, duration, ..
            } => {
                self.log_row(
                    "straggler-start",
                    Some(*node),
                    format!("slowdown {factor}x for {duration}"),
                );
            }
        }
    }

    fn start_work(&mut self, node: NodeId) {
        while let Some(s) = self.cluster.start_next(self.now, node) {
            self.schedule_work(&s);
        }
    }

    fn schedule_work(&mut self, s: &Started) {
        self.queue.push(
            s.finish,
            Internal::WorkEnd {
                node: s.node,
                epoch: s.epoch,
                core: s.core as u32,
                id: s.id,
            },
        );
    }

    fn log_row(&mut self, kind: &str, node: Option<NodeId>, detail: String) {
        self.events.push(EventRow {
            t: self.now,
            kind: kind.to_string(),
            node,
            detail,
        });
    }

    fn dispatch<E: Engine<Msg = M, Tag = T>>(&mut self, engine: &mut E, ev: Option<Event<M, T>>) {
        // The command buffer is recycled across events: no allocation per event in steady state.
        let buf = std::mem::take(&mut self.cmd_buf);
        let mut cx = Ctx {
            now: self.now,
            scenario: self.sc,
            log: &self.log,
            sem: &self.sem,
            rng: &mut self.rng,
            next_id: &mut self.next_id,
            commands: buf,
            queue: &mut self.queue,
            unscoped: unscoped::<E>,
        };
        match ev {
            None => engine.start(&mut cx),
            Some(e) => engine.handle(e, &mut cx),
        }
        let mut commands = cx.commands;
        if !commands.is_empty() {
            for c in commands.drain(..) {
                self.apply(c, engine);
            }
        }
        self.cmd_buf = commands;
    }

    fn apply<E: Engine<Msg = M, Tag = T>>(&mut self, c: Command<M, T>, engine: &E) {
        let now = self.now;
        match c {
            Command::Send {
                from,
                to,
                bytes,
                msg,
                traffic,
                count,
            } => {
                if !self.cluster.is_alive(from) {
                    self.stats.ledger.add(Flow::Dropped(FROM_DEAD), E::records_in(&msg));
                    return;
                }
                self.stats.messages += u64::from(count);
                self.stats.bytes += bytes;
                if traffic == Traffic::FaultTolerance {
                    self.stats.ft_messages += u64::from(count);
                    self.stats.ft_bytes += bytes;
                }
                let at = self.cluster.transmit(now, from, to, bytes);
                let epoch = self.cluster.epoch(to);
                let inc = stamp_msg(engine, &msg);
                self.queue.push(
                    at,
                    Internal::Deliver {
                        from,
                        to,
                        epoch,
                        inc,
                        msg,
                    },
                );
            }
            Command::Compute { node, id, work, tag } => {
                let inc = stamp(engine, &tag);
                if let Some(s) = self.cluster.submit(now, node, WorkItem { id, work, inc, tag }) {
                    self.schedule_work(&s);
                }
            }
            Command::Cancel { node, id } => {
                if self.cluster.cancel(node, id) {
                    self.start_work(node);
                }
            }
            Command::Timer { id, at, tag, owner } => {
                let owner = owner.map_or(Owner::NONE, |n| Owner {
                    node: n,
                    epoch: self.cluster.epoch(n),
                });
                let inc = stamp(engine, &tag);
                self.queue.push(at, Internal::Timer { id, inc, tag, owner });
            }
            Command::CancelTimer { id } => {
                self.cancelled.insert(id);
            }
            Command::StorageWrite {
                node,
                bytes,
                checkpoint,
                tag,
            } => {
                if !self.cluster.is_alive(node) {
                    return;
                }
                if checkpoint {
                    self.stats.checkpoint_bytes += bytes;
                }
                self.stats.storage_bytes += bytes;
                self.storage(node, bytes, tag, engine);
            }
            Command::StorageRead { node, bytes, tag } => {
                if !self.cluster.is_alive(node) {
                    return;
                }
                self.stats.storage_bytes += bytes;
                self.storage(node, bytes, tag, engine);
            }
            Command::Emit { node, outputs, txn } => {
                if self.cluster.is_alive(node) {
                    self.sink.emit(now, outputs, txn);
                }
            }
            Command::Commit { txn, node } => {
                if node.is_none_or(|n| self.cluster.is_alive(n)) {
                    self.sink.commit(now, txn);
                }
            }
            Command::Abort { txn } => self.sink.abort(txn),
            Command::RequestSpare { failed } => match self.cluster.take_spare() {
                Some(node) => {
                    self.queue
                        .push(now + self.sc.cluster.spare_start, Internal::SpareUp { failed, node });
                }
                None => {
                    // Answered at once, as its own event, so the engine sees it after this handler.
                    self.log_row("no-spare", None, String::new());
                    self.queue.push(now, Internal::NoSpare { failed });
                }
            },
            Command::RestartNode { node } => {
                if !self.cluster.is_alive(node) {
                    self.queue
                        .push(now + self.sc.cluster.restart_delay, Internal::RestartUp(node));
                }
            }
            Command::Progress { part, offset } => {
                if let Some(p) = self.progress.get_mut(part.0 as usize) {
                    *p = offset;
                }
            }
            Command::Log { kind, node, detail } => self.log_row(kind, node, detail),
            Command::Records { flow, n } => {
                if flow == Flow::Applied {
                    self.stats.last_applied = now;
                }
                self.stats.ledger.add(flow, n);
            }
            Command::Restored { node } => {
                let now = self.now;
                if let Some(f) = self.failures.iter_mut().find(|f| f.pending.contains(&node)) {
                    f.pending.retain(|n| *n != node);
                    if f.pending.is_empty() {
                        f.restored = Some(now);
                    }
                }
                self.log_row("restored", Some(node), String::new());
            }
        }
    }

    fn storage<E: Engine<Msg = M, Tag = T>>(&mut self, node: NodeId, bytes: u64, tag: T, engine: &E) {
        let at = self.cluster.storage(self.now, node, bytes);
        let epoch = self.cluster.epoch(node);
        let inc = stamp(engine, &tag);
        self.queue.push(at, Internal::StorageEnd { node, epoch, inc, tag });
    }

    /// Accounts for the records of the messages still on the wire when the run stops that no
    /// receiver will ever take: those to a node that died (or restarted) since they were sent,
    /// or stamped with an incarnation their scope has left. Each would be dropped on arrival
    /// whatever happened meanwhile, so the ledger drops it now for the same reason; an engine
    /// that lost their receiver no longer waits for them, and a run may finish before they
    /// arrive. A message its receiver would still take is dropped only if the engine says it
    /// no longer awaits it ([`Engine::forgotten`], with the engine's reason); any other stays
    /// in flight, so that an engine that finished while awaiting records fails the ledger.
    fn drop_doomed<E: Engine<Msg = M, Tag = T>>(&mut self, engine: &E) {
        while let Some((_, ev)) = self.queue.pop() {
            let Internal::Deliver {
                from,
                to,
                epoch,
                inc,
                msg,
            } = ev
            else {
                continue;
            };
            let records = E::records_in(&msg);
            let forgotten = engine.forgotten(&msg);
            if !(self.cluster.is_alive(to) && self.cluster.epoch(to) == epoch) {
                self.stats.ledger.add(Flow::Dropped(TO_DEAD), records);
            } else if !current(engine, &Event::Message { from, to, msg }, inc) {
                self.stats.ledger.add(Flow::Dropped(STALE), records);
            } else if let Some(why) = forgotten {
                self.stats.ledger.add(Flow::Dropped(why), records);
            }
        }
    }

    fn finish<E: Engine<Msg = M, Tag = T>>(mut self, engine: &mut E) -> RunOutput {
        self.stats.end = self.now;
        self.drop_doomed(engine);
        self.stats.node_seconds = self.cluster.node_seconds(self.now);
        self.stats.busy_seconds = self.cluster.busy_seconds();
        self.stats.finished = engine.finished();
        if !self.stats.finished {
            self.stats.stuck = engine.stuck();
            self.stats.unfinished = Some(
                self.stats
                    .stuck
                    .clone()
                    .unwrap_or_else(|| "work was still pending when the drain limit (run.drain) was reached".into()),
            );
        }
        let end_bucket = (self.now.0.saturating_sub(1) / self.sc.run.bucket.as_nanos()) as usize;
        self.sink.close(end_bucket);
        self.stats.uncommitted = self.sink.pending_outputs() as u64;
        RunOutput {
            sink: self.sink,
            events: self.events,
            failures: self.failures,
            stats: self.stats,
            tables: engine.tables(),
        }
    }
}

/// The instants of the scenario's crash faults (the sink gathers the latency before each).
fn crash_instants(sc: &Scenario) -> Vec<SimTime> {
    sc.faults
        .iter()
        .filter(|f| matches!(f, Fault::Crash { .. }))
        .map(Fault::at)
        .collect()
}

/// The incarnation `msg`'s scope has now (0 for what names no scope).
fn stamp_msg<E: Engine>(engine: &E, msg: &E::Msg) -> u32 {
    msg.scope().map_or(0, |s| engine.incarnation(s))
}

/// Whether `tag` names no scope: its stamp is 0 whenever it is taken.
fn unscoped<E: Engine>(tag: &E::Tag) -> bool {
    tag.scope().is_none()
}

/// The incarnation `tag`'s scope has now (0 for what names no scope).
fn stamp<E: Engine>(engine: &E, tag: &E::Tag) -> u32 {
    tag.scope().map_or(0, |s| engine.incarnation(s))
}

/// Whether `ev`, stamped with incarnation `inc`, still belongs to its scope's current incarnation.
fn current<E: Engine>(engine: &E, ev: &Event<E::Msg, E::Tag>, inc: u32) -> bool {
    let scope = match ev {
        Event::Message { msg, .. } => msg.scope(),
        Event::Timer { tag, .. } | Event::WorkDone { tag, .. } | Event::StorageDone { tag, .. } => tag.scope(),
        Event::NodeFailed { .. } | Event::SpareReady { .. } | Event::NodeRestarted { .. } | Event::InputEnded => None,
    };
    scope.is_none_or(|s| engine.incarnation(s) == inc)
}
