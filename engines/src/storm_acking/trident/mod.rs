//! Trident on the acking machinery: a master batch coordinator emits micro-batches with
//! transaction ids, every batch attempt is one tuple tree tracked by the ackers, and state
//! updates commit strictly in txid order into a transactional state.
//!
//! The coordinator runs beside the spout of partition 0 and dies with it; what it writes to
//! ZooKeeper (each batch's offsets, fixed when the batch is first emitted, the attempt numbers,
//! the last committed txid) is durable, what it holds in memory (the attempts in flight and
//! their pending tuples) is not. Per batch attempt:
//!
//! 1. every `emit_interval` at most (and while fewer than `max_spout_pending` batches are in
//!    flight, default one) the coordinator emits a batch tuple to every spout; a new batch takes,
//!    per partition, the offsets from the previous batch's end to what the log holds now, at most
//!    `max_batch` records (Kafka's fetch size);
//! 2. each spout reads its share from the log, sends the tuples to the tasks that own them, tells
//!    every task how many it sent (a coordination tuple), and acks the batch tuple anchoring them;
//!    each task gathers the batch's tuples (a partial batch) and acks each one;
//! 3. once the tree completes and every earlier batch is committed, the coordinator sends a
//!    commit tuple to every task: a task whose partial batch is complete writes it to the store
//!    (txid beside each value), emits the outputs into the sink transaction of the attempt, and
//!    acks; a task that lost its partial batch does not ack;
//! 4. once the commit tree completes, the coordinator commits the sink transaction: the batch is
//!    done. An attempt whose tree does not complete within the message timeout (expiry by
//!    rotation, so between one and two timeouts) fails with every later batch in flight; they
//!    are emitted again with the same txid and offsets and the next attempt number.
//!
//! Invariants: commits are strictly in txid order (commit n is sent only once n−1 is done);
//! a batch's offsets never change; at most one sink transaction per txid is committed, and the
//! transactions of failed commit attempts are aborted.

mod state;

use super::acker::{AckerIn, Rotating};
use super::msg::{Attempt, Coord, StormMsg, StormTag, Target, Tuple};
use super::policy::StormAcking;
use super::tracking::{Acking, InFlight};
use super::{Config, StateStore};
use crate::pipeline::{Batch, Core, HEADER_BYTES, Msg, PCtx, Tag};
use ftsim_sim::{Cell, NodeId, PartitionId, Scenario, Semantics, SimDuration, SimTime, Table, TableChart, TxnId};
use rand::RngExt;
use state::{Partial, TxState};
use std::collections::{BTreeMap, BTreeSet};

/// Where a batch attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Processing,
    Processed,
    Committing,
}

/// Trident's coordinator, state store and partial batches.
#[derive(Debug)]
pub struct Trident {
    sem: Semantics,
    max_active: u64,
    interval: SimDuration,
    timeout: SimDuration,
    groups: u32,
    partitions: u32,
    bytes_per_key: u64,
    transactional: bool,
    memory: bool,
    /// Durable: each open batch's offsets per partition, when it was first emitted, its attempt.
    ranges: BTreeMap<u64, Vec<(u64, u64)>>,
    opened: BTreeMap<u64, SimTime>,
    attempts: BTreeMap<u64, u32>,
    committed: u64,
    next_txid: u64,
    emitted_end: Vec<u64>,
    /// Sink transactions of commit attempts that failed, to abort.
    stale_txns: Vec<TxnId>,
    /// The coordinator's memory: attempts in flight (attempt, phase, failure epoch of their
    /// emission), and its pending batch and commit tuples.
    active: BTreeMap<u64, (u32, Phase, u32)>,
    /// Failures detected so far.
    epoch: u32,
    /// The last attempt that failed for being slower than the timeout, and when.
    slow: Option<(Attempt, SimTime)>,
    /// Spouts' reads of batch shares under way: (tree, partition).
    reading: BTreeSet<(u64, u32)>,
    pending: Rotating<u64, (Attempt, bool)>,
    last_emit: Option<SimTime>,
    /// The store: one transactional state per key group.
    states: Vec<TxState>,
    /// Each task's partial batches, by txid.
    partials: Vec<BTreeMap<u64, Partial>>,
    rows: Vec<Vec<Cell>>,
}

/// The sink transaction of a batch attempt.
fn txn(a: Attempt) -> TxnId {
    TxnId((a.txid << 20) | u64::from(a.id.min((1 << 20) - 1)))
}

impl Trident {
    /// Nothing emitted yet, for `sc` under `cfg`.
    pub fn new(sc: &Scenario, cfg: &Config) -> Trident {
        let sem = Semantics::new(&sc.job, sc.workload.partitions);
        let (groups, partitions) = (sc.job.parallelism, sc.workload.partitions);
        Trident {
            states: (0..groups).map(|_| TxState::new(&sem)).collect(),
            partials: (0..groups).map(|_| BTreeMap::new()).collect(),
            sem,
            max_active: cfg.max_spout_pending.max(1),
            interval: cfg.emit_interval,
            timeout: cfg.message_timeout,
            groups,
            partitions,
            bytes_per_key: sc.job.state_bytes_per_key,
            transactional: sc.job.sink == ftsim_sim::scenario::SinkMode::Transactional,
            memory: cfg.state == StateStore::Memory,
            ranges: BTreeMap::new(),
            opened: BTreeMap::new(),
            attempts: BTreeMap::new(),
            committed: 0,
            next_txid: 1,
            emitted_end: vec![0; partitions as usize],
            stale_txns: Vec::new(),
            active: BTreeMap::new(),
            epoch: 0,
            slow: None,
            reading: BTreeSet::new(),
            pending: Rotating::default(),
            last_emit: None,
            rows: Vec::new(),
        }
    }

    /// Where the spout of `part` stands: the end of the last batch opened.
    pub fn emitted_end(&self, part: u32) -> u64 {
        self.emitted_end[part as usize]
    }

    fn arm(&self, core: &Core, tag: StormTag, after: SimDuration, cx: &mut PCtx<'_, StormAcking>) {
        cx.set_node_timer(core.sources[0].reader.node, after, Tag::Policy(tag));
    }

    /// The coordinator starts: its ticks are armed.
    pub fn start(&mut self, core: &Core, cx: &mut PCtx<'_, StormAcking>) {
        self.arm(core, StormTag::CoordTick, self.interval, cx);
        self.arm(core, StormTag::CoordRotate, self.timeout, cx);
    }

    /// Tasks and sources were lost (failure `epoch` was detected): their partial batches go
    /// (and, in memory, their states); a lost spout stands at the end of the last batch opened; a
    /// lost coordinator forgets the attempts in flight.
    pub fn lost(&mut self, core: &mut Core, epoch: u32) {
        self.epoch = epoch;
        for g in 0..self.groups as usize {
            if core.tasks[g].lost {
                self.partials[g].clear();
                if self.memory {
                    self.states[g] = TxState::new(&self.sem);
                }
            }
        }
        for (p, s) in core.sources.iter_mut().enumerate().filter(|(_, s)| s.lost) {
            s.reader.next = self.emitted_end[p];
            self.reading.retain(|(_, part)| *part as usize != p);
        }
        if core.sources[0].lost {
            for (txid, (id, phase, _)) in std::mem::take(&mut self.active) {
                if phase == Phase::Committing {
                    self.stale_txns.push(txn(Attempt { txid, id }));
                }
            }
            self.pending.clear();
            self.last_emit = None;
        }
    }

    /// The coordinator runs again (with the spout of partition 0): it aborts what its
    /// predecessor left open and emits again the batches that were in flight.
    pub fn restart(&mut self, acking: &mut Acking, core: &mut Core, cx: &mut PCtx<'_, StormAcking>) {
        for t in self.stale_txns.drain(..) {
            cx.abort(t);
        }
        self.start(core, cx);
        self.sync(acking, core, cx);
    }

    /// Commits the next batch if it is processed, and emits a batch if one may go.
    fn sync(&mut self, acking: &mut Acking, core: &mut Core, cx: &mut PCtx<'_, StormAcking>) {
        if core.sources[0].lost {
            return;
        }
        let next = self.committed + 1;
        if let Some((id, phase, _)) = self.active.get_mut(&next)
            && *phase == Phase::Processed
        {
            *phase = Phase::Committing;
            let attempt = Attempt { txid: next, id: *id };
            self.send_commit(acking, core, attempt, cx);
        }
        let throttled = self.last_emit.is_some_and(|t| cx.now() < t + self.interval);
        if throttled || self.active.len() as u64 >= self.max_active {
            return;
        }
        let first_free = (next..next + self.max_active).find(|t| !self.active.contains_key(t));
        let Some(txid) = first_free else { return };
        let id = match self.attempts.get(&txid).copied() {
            Some(a) => a + 1,
            None if txid == self.next_txid && self.open(core, cx) => 0,
            None => return,
        };
        self.emit(acking, core, Attempt { txid, id }, cx);
    }

    /// Opens the next batch over what the log holds now, at most `max_batch` records per
    /// partition (Kafka's fetch size); false if it holds nothing new.
    fn open(&mut self, core: &mut Core, cx: &mut PCtx<'_, StormAcking>) -> bool {
        let ranges: Vec<(u64, u64)> = (0..self.partitions)
            .map(|p| {
                let from = self.emitted_end[p as usize];
                (
                    from,
                    cx.log
                        .available(PartitionId(p), cx.now())
                        .min(from + core.read.max_batch),
                )
            })
            .collect();
        if ranges.iter().all(|(a, b)| a >= b) {
            return false;
        }
        for (p, (_, end)) in ranges.iter().enumerate() {
            self.emitted_end[p] = *end;
            core.sources[p].reader.next = *end;
            cx.progress(PartitionId(p as u32), *end);
        }
        self.ranges.insert(self.next_txid, ranges);
        self.opened.insert(self.next_txid, cx.now());
        self.next_txid += 1;
        true
    }

    /// Emits batch attempt `a`: a batch tuple to every spout, one tree at one acker.
    fn emit(&mut self, acking: &mut Acking, core: &Core, a: Attempt, cx: &mut PCtx<'_, StormAcking>) {
        let from = core.sources[0].reader.node;
        let root = cx.rng.random::<u64>();
        let spouts = core.sources.iter().map(|s| (!s.lost).then_some(s.reader.node));
        let val = fan_out(from, spouts, cx, |part, edge| StormMsg::BatchTuple {
            part,
            attempt: a,
            root,
            edge,
        });
        self.init(acking, core, root, val, (a, false), cx);
        self.active.insert(a.txid, (a.id, Phase::Processing, self.epoch));
        self.attempts.insert(a.txid, a.id);
        self.last_emit = Some(cx.now());
        if a.id > 0 {
            cx.log_event(
                "batch-replayed",
                Some(from),
                format!("txid {} attempt {}", a.txid, a.id),
            );
        }
    }

    /// Sends the commit tuple of attempt `a` to every task.
    fn send_commit(&mut self, acking: &mut Acking, core: &Core, a: Attempt, cx: &mut PCtx<'_, StormAcking>) {
        let from = core.sources[0].reader.node;
        let root = cx.rng.random::<u64>();
        let val = fan_out(from, tasks(core, self.groups), cx, |task, edge| StormMsg::Commit {
            task,
            attempt: a,
            root,
            edge,
        });
        self.init(acking, core, root, val, (a, true), cx);
    }

    /// The coordinator's tuple tree `root` is born.
    fn init(
        &mut self,
        acking: &mut Acking,
        core: &Core,
        root: u64,
        val: u64,
        what: (Attempt, bool),
        cx: &mut PCtx<'_, StormAcking>,
    ) {
        self.pending.insert(root, what);
        let spout = Target::Coordinator;
        acking.tell_acker(core.sources[0].reader.node, AckerIn::Init { root, val, spout }, cx);
    }

    /// One of the scheme's Trident messages arrived.
    pub fn message(&mut self, acking: &mut Acking, core: &mut Core, msg: &StormMsg, cx: &mut PCtx<'_, StormAcking>) {
        match *msg {
            StormMsg::BatchTuple {
                part,
                attempt,
                root,
                edge,
            } => {
                let Some(&(from, to)) = self.ranges.get(&attempt.txid).and_then(|r| r.get(part as usize)) else {
                    return;
                };
                let node = core.sources[part as usize].reader.node;
                self.reading.insert((root, part));
                let tag = StormTag::BatchRead {
                    part,
                    attempt,
                    root,
                    edge,
                };
                cx.compute(node, core.read.cost.mul(to - from), Tag::Policy(tag));
            }
            StormMsg::Coord(ref c) => {
                let Coord {
                    task,
                    attempt,
                    part,
                    count,
                    wm,
                    root,
                    edge,
                } = **c;
                let partial = self.partials[task as usize].entry(attempt.txid).or_default();
                if partial.see(attempt.id) {
                    partial.coords.insert(part, (count, wm));
                    ack(acking, core, task, root, edge, cx);
                }
            }
            StormMsg::Commit {
                task,
                attempt,
                root,
                edge,
            } => self.commit(acking, core, task, attempt, root, edge, cx),
            StormMsg::Transfer { .. } => {}
        }
    }

    /// One of the scheme's Trident timers or work items ended.
    pub fn tag(
        &mut self,
        acking: &mut Acking,
        inflight: &mut InFlight<Tuple>,
        core: &mut Core,
        tag: &StormTag,
        cx: &mut PCtx<'_, StormAcking>,
    ) {
        match *tag {
            StormTag::BatchRead {
                part,
                attempt,
                root,
                edge,
            } => self.batch_read(acking, inflight, core, part, attempt, (root, edge), cx),
            StormTag::CoordTick => {
                self.arm(core, StormTag::CoordTick, self.interval, cx);
                self.sync(acking, core, cx);
            }
            StormTag::CoordRotate => {
                self.arm(core, StormTag::CoordRotate, self.timeout, cx);
                for (root, (a, _)) in self.pending.rotate() {
                    self.fail(inflight, core, root, a, cx);
                }
                self.sync(acking, core, cx);
            }
            StormTag::Written {
                task,
                attempt,
                root,
                edge,
            } => self.written(acking, core, task, attempt, (root, edge), cx),
            _ => {}
        }
    }

    /// The spout of `part` read its share of attempt `a`: tuples to the tasks, a coordination
    /// tuple to every task, and its ack of the batch tuple anchoring them all.
    #[allow(clippy::too_many_arguments)]
    fn batch_read(
        &mut self,
        acking: &mut Acking,
        inflight: &mut InFlight<Tuple>,
        core: &mut Core,
        part: u32,
        a: Attempt,
        (root, edge): (u64, u64),
        cx: &mut PCtx<'_, StormAcking>,
    ) {
        self.reading.remove(&(root, part));
        let Some(&(from, to)) = self.ranges.get(&a.txid).and_then(|r| r.get(part as usize)) else {
            return;
        };
        let node = core.sources[part as usize].reader.node;
        let mut counts = vec![0u64; self.groups as usize];
        let mut val = edge;
        let replay = a.id > 0;
        for (task, batch) in core.read(part, from, to, cx) {
            for r in &batch.records {
                let e = cx.rng.random::<u64>();
                val ^= e;
                let tuple = Tuple {
                    root,
                    edge: e,
                    batch: Some(a),
                };
                if !core.tasks[task as usize].lost {
                    inflight.sent(task, r, tuple);
                }
            }
            counts[task as usize] += batch.records.len() as u64;
            core.send(node, task, batch, replay, cx);
        }
        let wm = cx.log.watermark_at(PartitionId(part), to);
        val ^= fan_out(node, tasks(core, self.groups), cx, |task, e| {
            StormMsg::Coord(Box::new(Coord {
                task,
                attempt: a,
                part,
                count: counts[task as usize],
                wm,
                root,
                edge: e,
            }))
        });
        acking.tell_acker(node, AckerIn::Ack { root, val }, cx);
    }

    /// Task `task` processed `batch` (the core's CPU): its tuples join their partial batches and
    /// are acked; the executor keeps nothing else.
    pub fn applied(
        &mut self,
        acking: &mut Acking,
        inflight: &mut InFlight<Tuple>,
        core: &mut Core,
        task: u32,
        batch: &Batch,
        cx: &mut PCtx<'_, StormAcking>,
    ) {
        core.tasks[task as usize].state = cx.sem.new_state();
        let node = core.tasks[task as usize].node;
        for r in &batch.records {
            let Some(Tuple {
                root,
                edge,
                batch: Some(a),
            }) = inflight.take(task, r)
            else {
                continue;
            };
            let partial = self.partials[task as usize].entry(a.txid).or_default();
            if partial.see(a.id) {
                partial.records.push(*r);
                acking.tell_acker(node, AckerIn::Ack { root, val: edge }, cx);
            }
        }
    }

    /// The commit tuple of attempt `a` reached `task`.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        acking: &mut Acking,
        core: &Core,
        task: u32,
        a: Attempt,
        root: u64,
        edge: u64,
        cx: &mut PCtx<'_, StormAcking>,
    ) {
        let g = task as usize;
        if self.states[g].txid() >= a.txid {
            return self.written(acking, core, task, a, (root, edge), cx);
        }
        let Some(partial) = self.partials[g].get(&a.txid) else {
            return;
        };
        if partial.attempt != a.id || !partial.complete(self.partitions) {
            return;
        }
        if partial.records.is_empty() {
            return self.written(acking, core, task, a, (root, edge), cx);
        }
        let bytes = partial.bytes(self.bytes_per_key);
        let tag = StormTag::Written {
            task,
            attempt: a,
            root,
            edge,
        };
        cx.storage_write(core.tasks[g].node, bytes, false, Tag::Policy(tag));
    }

    /// `task`'s commit of attempt `a` is durable (or needs no write): the outputs go into the
    /// attempt's sink transaction and the commit tuple is acked.
    fn written(
        &mut self,
        acking: &mut Acking,
        core: &Core,
        task: u32,
        a: Attempt,
        (root, edge): (u64, u64),
        cx: &mut PCtx<'_, StormAcking>,
    ) {
        let g = task as usize;
        let st = &mut self.states[g];
        let out = if st.txid() >= a.txid {
            st.commit(&self.sem, a.txid, &Partial::default())
        } else {
            match self.partials[g].get(&a.txid) {
                Some(p) if p.attempt == a.id && p.complete(self.partitions) => st.commit(&self.sem, a.txid, p),
                _ => return,
            }
        };
        self.partials[g].retain(|t, _| *t > a.txid);
        let node = core.tasks[g].node;
        cx.emit(node, out, self.transactional.then(|| txn(a)));
        ack(acking, core, task, root, edge, cx);
    }

    /// Trees of the coordinator completed.
    pub(in crate::storm_acking) fn completed(
        &mut self,
        acking: &mut Acking,
        core: &mut Core,
        roots: &[u64],
        cx: &mut PCtx<'_, StormAcking>,
    ) {
        for root in roots {
            let Some((a, commit)) = self.pending.remove(root) else {
                continue;
            };
            let Some((id, phase, _)) = self.active.get_mut(&a.txid) else {
                continue;
            };
            if *id != a.id {
                continue;
            }
            match (commit, *phase) {
                (false, Phase::Processing) => *phase = Phase::Processed,
                (true, Phase::Committing) => self.done(a, cx),
                _ => {}
            }
        }
        self.sync(acking, core, cx);
    }

    /// Batch attempt `a` committed everywhere: its sink transaction commits and the batch is done.
    fn done(&mut self, a: Attempt, cx: &mut PCtx<'_, StormAcking>) {
        self.active.remove(&a.txid);
        self.slow = None;
        self.committed = a.txid;
        if self.transactional {
            cx.commit(txn(a));
        }
        for t in self.stale_txns.drain(..) {
            cx.abort(t);
        }
        let records: u64 = self
            .ranges
            .remove(&a.txid)
            .map_or(0, |r| r.iter().map(|(f, t)| t - f).sum());
        self.attempts.remove(&a.txid);
        let opened = self.opened.remove(&a.txid);
        self.rows.push(vec![
            Cell::Int(a.txid),
            Cell::Int(u64::from(a.id) + 1),
            Cell::Int(records),
            Cell::secs(opened),
            Cell::secs(Some(cx.now())),
            Cell::Num(opened.map_or(0.0, |o| cx.now().since(o).as_secs_f64())),
        ]);
    }

    /// Attempt `a` (tree `root`) timed out: it fails with every later batch in flight.
    fn fail(&mut self, inflight: &InFlight<Tuple>, core: &Core, root: u64, a: Attempt, cx: &mut PCtx<'_, StormAcking>) {
        let Some(&(id, phase, epoch)) = self.active.get(&a.txid) else {
            return;
        };
        if id != a.id {
            return;
        }
        // Nothing failed since it was emitted and its spouts still read or its tuples still wait
        // at live executors: the batch is slower than the timeout, and its replay will be too.
        let waiting = self.reading.iter().any(|(r, _)| *r == root) || inflight.holds_root(root);
        let slow = phase == Phase::Processing && epoch == self.epoch && waiting;
        self.slow = slow.then_some((a, cx.now()));
        for (txid, (id, phase, _)) in self.active.split_off(&a.txid) {
            if phase == Phase::Committing {
                let t = txn(Attempt { txid, id });
                cx.abort(t);
                self.stale_txns.push(t);
            }
        }
        let node = core.sources[0].reader.node;
        cx.log_event(
            "batch-failed",
            Some(node),
            format!("txid {} attempt {} timed out", a.txid, a.id),
        );
    }

    /// Why the topology cannot finish: a batch slower than the message timeout fails for ever.
    pub fn stuck(&self) -> Option<String> {
        self.slow.map(|(a, at)| {
            format!(
                "overloaded for its message timeout: batch {} (attempt {}) timed out at {at} while its spouts still read it or its tuples still waited at live executors",
                a.txid, a.id
            )
        })
    }

    /// Every batch attempt emitted before failure epoch `mark` is done or failed and emitted again.
    pub fn settled(&self, mark: u32) -> bool {
        self.active.values().all(|(_, _, e)| *e >= mark)
    }

    /// Every batch opened is committed and the spouts have opened the whole log.
    pub fn drained(&self, core: &Core) -> bool {
        self.active.is_empty() && self.committed + 1 == self.next_txid && self.emitted_end == core.ends
    }

    /// `batches.csv`.
    pub fn table(&self) -> Table {
        let columns = ["txid", "attempts", "records", "opened_s", "committed_s", "duration_s"];
        Table {
            rows: self.rows.clone(),
            charts: vec![TableChart {
                file: "batches".into(),
                title: "Trident batches: time from first emission to commit".into(),
                x: "txid".into(),
                ys: vec!["duration_s".into()],
                y_label: "seconds".into(),
            }],
            ..Table::new("batches", &columns)
        }
    }
}

/// Sends one tuple from `from` to each of `homes` (none to a lost one), each with a fresh edge id
/// drawn in order; returns the XOR of the edges.
fn fan_out(
    from: NodeId,
    homes: impl Iterator<Item = Option<NodeId>>,
    cx: &mut PCtx<'_, StormAcking>,
    mut tuple: impl FnMut(u32, u64) -> StormMsg,
) -> u64 {
    let mut val = 0;
    for (i, home) in homes.enumerate() {
        let edge = cx.rng.random::<u64>();
        val ^= edge;
        if let Some(node) = home {
            cx.send_ft(from, node, HEADER_BYTES, Msg::Policy(tuple(i as u32, edge)));
        }
    }
    val
}

/// Where each of the job's `groups` tasks runs, or none if it is lost.
fn tasks(core: &Core, groups: u32) -> impl Iterator<Item = Option<NodeId>> + '_ {
    core.tasks[..groups as usize]
        .iter()
        .map(|t| (!t.lost).then_some(t.node))
}

/// `task` acks one tuple of tree `root`.
fn ack(acking: &mut Acking, core: &Core, task: u32, root: u64, edge: u64, cx: &mut PCtx<'_, StormAcking>) {
    acking.tell_acker(core.tasks[task as usize].node, AckerIn::Ack { root, val: edge }, cx);
}
