//! Lineage recovery of one lost state partition: the partition's chain since the last complete
//! checkpoint, split by key range into sub-tasks that run in parallel, and the partition rebuilt
//! at a host node once every piece has arrived.
//!
//! Invariants: a recovery of (to, r) rebuilds it as checkpoint `base`'s snapshot of r (the empty
//! state for 0) with the operator applied again to r's records of every batch `from`+1..=`to`, in
//! batch order, each batch's watermarks advanced after its records; the outputs of that replay are
//! discarded (every batch's output was written when the batch first ran); while a recovery is
//! active the record lists it replays and the checkpoint it reads are kept.

use super::DStream;
use super::policy::DsMsg;
use crate::microbatch::{Cx, Inputs, Job, Kind, Loc, MicroBatch, Msg, Status, TaskId};
use ftsim_sim::planted::Bug;
use ftsim_sim::rng::mix64;
use ftsim_sim::{NodeId, OperatorState, Record, SimDuration};

/// The recompute of one lost state partition from a checkpoint, split by key range.
#[derive(Debug)]
pub struct Recovery {
    /// State partition.
    pub r: u32,
    /// Checkpoint whose snapshot it starts from (0: the empty initial state).
    pub base: u64,
    /// Batches after this one are replayed (= `base`: the checkpoint's own batch).
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
    /// The crashed nodes this recovery answers for (their failure lost the partition, or the
    /// host of an earlier recovery of it).
    pub failed: Vec<NodeId>,
}

/// One key range of a lost state partition's chain since the checkpoint: reads its slice of the
/// checkpoint and its share of every replayed batch's shuffle output, recomputes, and ships its
/// piece to the recovery's host.
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
        mb.batches_in(rc.from, rc.to).all(|b| b.maps_ready == b.maps.len())
    }

    fn inputs(self, mb: &Mb, into: &mut Inputs) {
        let rc = &mb.policy.recoveries[self.rec];
        let share = 1.0 / rc.tasks.len() as f64;
        for b in mb.batches_in(rc.from, rc.to) {
            mb.add_shuffle(into, b, rc.r, share);
        }
        if rc.base > 0 {
            into.read((mb.state_bytes(rc.base, rc.r) as f64 * share).ceil() as u64);
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
    /// Recomputes state partition r after batch h from the last complete checkpoint at or
    /// before it, in `subs` key ranges assembled at `host`.
    pub(crate) fn start_recovery(
        &mut self,
        r: u32,
        h: u64,
        subs: u32,
        host: NodeId,
        failed: Vec<NodeId>,
        cx: &mut Cx<'_, DStream>,
    ) {
        let (last, prev) = (self.policy.last_ckpt, self.policy.prev_ckpt);
        let from = if h >= last { last } else { prev.min(h) };
        let base = if self.planted.has(Bug::RecoveryFromOlderCheckpoint) && from == last {
            prev
        } else {
            from
        };
        let mut sub_records = vec![0u64; subs as usize];
        for b in self.batches_in(from, h) {
            for (key, n) in self.input_keys(b, r, cx) {
                sub_records[(mix64(u64::from(key)) % u64::from(subs)) as usize] += n;
            }
        }
        let first = failed.first().copied();
        let rec = self.policy.recoveries.len();
        self.policy.recoveries.push(Recovery {
            r,
            base,
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
                "state partition {r}: batches {}..={h} from checkpoint {base}, {subs} key ranges, host {}",
                from + 1,
                host.0
            ),
        );
    }

    /// Recovery `i` stops (its host died): its sub-tasks will not run.
    pub(crate) fn abandon_recovery(&mut self, i: usize, cx: &mut Cx<'_, DStream>) {
        self.policy.recoveries[i].active = false;
        for t in self.policy.recoveries[i].tasks.clone() {
            for a in self.tasks[t].attempts.clone() {
                self.kill(a, cx);
            }
            let prio = self.tasks[t].prio;
            self.pending.remove((prio.0, prio.1, t));
            self.set_task(t, Status::Dropped, self.tasks[t].out());
        }
    }

    /// A recovered key range reached the host; with the last one the host holds the partition.
    pub(crate) fn on_piece(&mut self, rec: usize, sub: u32, cx: &mut Cx<'_, DStream>) {
        let rc = &mut self.policy.recoveries[rec];
        if !rc.active {
            return;
        }
        rc.got[sub as usize] = true;
        if rc.got.iter().any(|g| !g) {
            return;
        }
        let state = self.rebuild(rec, cx);
        let rc = &mut self.policy.recoveries[rec];
        rc.active = false;
        let (r, to, host, failed) = (rc.r, rc.to, rc.host, rc.failed.clone());
        self.states.hold(to, r, host, state);
        if let Some(t) = self.batches.get(&to).and_then(|b| b.reduces.get(r as usize).copied()) {
            self.set_task(t, self.tasks[t].status(), Loc::Node(host));
        }
        cx.log_event("recovered", Some(host), format!("state partition {r} of batch {to}"));
        self.trim_lineage();
        for n in failed {
            self.check_restored(n, cx);
        }
        self.schedule(cx);
    }

    /// The state recovery `rec` rebuilds: its checkpoint's snapshot with its lineage replayed.
    fn rebuild(&self, rec: usize, cx: &Cx<'_, DStream>) -> OperatorState {
        let rc = &self.policy.recoveries[rec];
        let mut state = self.durable_state(rc.base, rc.r, cx);
        let after = if self.planted.has(Bug::LineageSkipsBatch) {
            rc.from + 1
        } else {
            rc.from
        };
        let skipped = self.skipped_block(rc);
        let kept = |x: &Record| {
            let off = u64::from(x.offset);
            skipped.is_none_or(|(p, a, b)| x.part != p || off < a || off >= b)
        };
        for b in self.batches_in(after, rc.to) {
            self.apply_batch(b, rc.r, &mut state, skipped.is_some().then_some(&kept), cx);
        }
        state
    }

    /// With [`Bug::RecoverySkipsBlock`] planted: the first replayed block with records of the
    /// partition, as (source partition, from, to), which the rebuild leaves out.
    fn skipped_block(&self, rc: &Recovery) -> Option<(u32, u64, u64)> {
        if !self.planted.has(Bug::RecoverySkipsBlock) {
            return None;
        }
        self.batches_in(rc.from, rc.to)
            .flat_map(|b| b.blocks.iter())
            .map(|&blk| &self.blocks[blk])
            .find(|blk| blk.records_of(rc.r) > 0)
            .map(|blk| (blk.part, blk.from, blk.to))
    }
}
