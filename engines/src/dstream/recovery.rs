//! A worker's loss under D-Streams: lineage-based parallel recovery of the lost state
//! partitions, recompute of the lost map outputs still needed, receivers and block replicas
//! moved to survivors.
//!
//! Invariants: after a worker's failure is handled, no task waits on an attempt or an output on
//! that node; every lost state partition that a later batch needs (the latest computed one of
//! each partition) has exactly one active recovery; `restored` is reported once no recovery for
//! that node is active.

use super::DStream;
use super::policy::DsMsg;
use crate::microbatch::{Cx, Inputs, Job, Kind, Loc, MicroBatch, Msg, Status, TaskId};
use ftsim_sim::rng::mix64;
use ftsim_sim::{NodeId, SimDuration};

/// The recompute of one lost state partition from the last checkpoint, split by key range.
#[derive(Debug)]
pub struct Recovery {
    /// State partition.
    pub r: u32,
    /// Last complete checkpoint (0: the empty initial state).
    pub from: u64,
    /// Batch whose state is rebuilt.
    pub to: u64,
    /// Node that assembles the pieces and holds the result.
    pub host: NodeId,
    /// Sub-tasks.
    pub tasks: Vec<TaskId>,
    /// Which key ranges have arrived at the host.
    pub got: Vec<bool>,
    /// Record count of each key range.
    pub sub_records: Vec<u64>,
    /// Still running.
    pub active: bool,
    /// The crashed nodes this recovery answers for (more than one if an earlier recovery of the
    /// same partition was abandoned when its host died).
    pub failed: Vec<NodeId>,
}

/// One key range of a lost state partition's chain since the last checkpoint: reads its slice
/// of the checkpoint and its share of every replayed batch's shuffle output, recomputes, and
/// ships its piece to the recovery's host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recompute {
    /// Index into the recovery list.
    pub rec: usize,
    /// Key range.
    pub sub: u32,
}

type Mb = MicroBatch<DStream>;

impl Job<DStream> for Recompute {
    fn ready(self, mb: &Mb) -> bool {
        let rc = &mb.policy.recoveries[self.rec];
        mb.batches
            .range(rc.from + 1..)
            .take_while(|(n, _)| **n <= rc.to)
            .all(|(_, b)| b.maps.iter().all(|m| mb.map_ready(*m)))
    }

    fn inputs(self, mb: &Mb, into: &mut Inputs) {
        let rc = &mb.policy.recoveries[self.rec];
        let share = 1.0 / rc.tasks.len() as f64;
        for (_, b) in mb.batches.range(rc.from + 1..).take_while(|(n, _)| **n <= rc.to) {
            mb.add_shuffle(into, &b.maps, rc.r, share);
        }
        if rc.from > 0 {
            into.read((mb.state_bytes(rc.from, rc.r) as f64 * share).ceil() as u64);
        }
    }

    fn work(self, mb: &Mb) -> SimDuration {
        mb.state_cost
            .mul(mb.policy.recoveries[self.rec].sub_records[self.sub as usize])
    }

    fn finished(self, mb: &mut Mb, node: NodeId, cx: &mut Cx<'_, DStream>) {
        let rc = &mb.policy.recoveries[self.rec];
        let bytes = mb.state_bytes(rc.to, rc.r) / rc.tasks.len() as u64;
        cx.send(
            node,
            rc.host,
            bytes.max(64),
            Msg::Policy(DsMsg::Piece(self.rec, self.sub)),
        );
    }
}

impl Mb {
    /// Worker `x` is gone: recompute what it held on the survivors.
    pub(crate) fn recover_worker(&mut self, x: NodeId, cx: &mut Cx<'_, DStream>) {
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
        for i in 0..self.policy.recoveries.len() {
            if self.policy.recoveries[i].active && self.policy.recoveries[i].host == x {
                self.abandon_recovery(i, cx);
                let rc = &self.policy.recoveries[i];
                inherit.extend(rc.failed.iter().map(|n| (rc.r, *n)));
            }
        }
        let lost: Vec<(u32, u64)> = (0..self.parallelism)
            .filter_map(|r| {
                let h = self.head(r);
                let busy = self.policy.recoveries.iter().any(|rc| rc.active && rc.r == r);
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
    fn head(&self, r: u32) -> u64 {
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
    fn drop_attempts_on(&mut self, x: NodeId, cx: &mut Cx<'_, DStream>) {
        for t in self.running_tasks() {
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

    /// Lost map outputs that a running batch or an active recovery needs are computed again.
    fn requeue_lost_maps(&mut self) {
        let mut need: Vec<TaskId> = Vec::new();
        for b in self.batches.values() {
            let needed = (b.done.is_none() && b.durable)
                || self
                    .policy
                    .recoveries
                    .iter()
                    .any(|rc| rc.active && b.n > rc.from && b.n <= rc.to);
            if needed {
                need.extend(b.maps.iter().copied());
            }
        }
        for t in need {
            let task = &self.tasks[t];
            if task.status == Status::Done && task.out == Loc::Lost {
                self.requeue(t);
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
        cx: &mut Cx<'_, DStream>,
    ) {
        let from = self.policy.last_ckpt.min(h);
        let mut sub_records = vec![0u64; subs as usize];
        for (_, b) in self.batches.range(from + 1..).take_while(|(n, _)| **n <= h) {
            if let Some(recs) = b.by_r.get(r as usize) {
                for rec in recs {
                    sub_records[(mix64(u64::from(rec.key)) % u64::from(subs)) as usize] += 1;
                }
            }
        }
        let first = failed.first().copied();
        let rec = self.policy.recoveries.len();
        self.policy.recoveries.push(Recovery {
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
            .map(|sub| self.new_task(Kind::Job(Recompute { rec, sub }), (from + 1, 0)))
            .collect();
        self.policy.recoveries[rec].tasks = tasks;
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

    fn abandon_recovery(&mut self, i: usize, cx: &mut Cx<'_, DStream>) {
        self.policy.recoveries[i].active = false;
        for t in self.policy.recoveries[i].tasks.clone() {
            for a in self.tasks[t].attempts.clone() {
                self.kill(a, cx);
            }
            let task = &mut self.tasks[t];
            self.pending.remove(&(task.prio.0, task.prio.1, t));
            task.status = Status::Dropped;
        }
    }

    /// A recovered key range reached the host.
    pub(crate) fn on_piece(&mut self, rec: usize, sub: u32, cx: &mut Cx<'_, DStream>) {
        let rc = &mut self.policy.recoveries[rec];
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

    fn check_restored(&mut self, x: NodeId, cx: &mut Cx<'_, DStream>) {
        if !self
            .policy
            .recoveries
            .iter()
            .any(|rc| rc.active && rc.failed.contains(&x))
        {
            cx.restored(x);
        }
    }
}
