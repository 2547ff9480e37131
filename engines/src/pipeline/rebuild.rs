//! Rebuilding lost tasks from a saved state and the upstreams' logs, for the schemes that replay
//! (upstream backup, passive standby): a moved task is held until its state is back, every live
//! upstream replays its log to it, and the rebuild is over once the task has applied the whole
//! replay with nothing queued. `recoveries.csv` has one row per finished rebuild.
//!
//! Invariants: a failure's `restored` is reported once no task it moved is still without its
//! state, counting tasks whose first new home died too before they had it (a rebuild answers for
//! every failure it inherited); each failure answered is reported exactly once, also when the
//! same node failed again before its tasks had their state back (the kernel clears one failure
//! of a node per report, so two failures of node 0 answered by one rebuild report it twice); a
//! replay on a channel reaches at least as far as the source had
//! read before any loss, so "caught up" means nothing of the failure is left to apply.

use super::{Core, Msg, OutputLog};
use crate::pipeline::reader::CoreTag;
use ftsim_sim::Guarantee;
use ftsim_sim::engine::{Ctx, Flow};
use ftsim_sim::scenario::SinkMode;
use ftsim_sim::{Cell, NodeId, SimTime, Table};
use std::collections::BTreeMap;

/// The promise of a scheme that rebuilds a task exactly (saved state plus a precise replay) but
/// has no commit protocol: outputs emitted since the saved state are emitted again, which a sink
/// upserting by output id collapses.
pub fn replay_promise(sink: SinkMode) -> Guarantee {
    match sink {
        SinkMode::Idempotent => Guarantee::ExactlyOnce,
        SinkMode::Append | SinkMode::Transactional => Guarantee::AtLeastOnce,
    }
}

/// A task being rebuilt.
#[derive(Debug)]
struct Rebuild {
    /// The failures it answers for.
    failed: Vec<NodeId>,
    placed: SimTime,
    restored: Option<SimTime>,
    /// Per partition, the offset the task must reach to have applied the whole replay.
    until: Vec<u64>,
    replayed: u64,
}

/// Every rebuild in progress, and the finished ones.
#[derive(Debug, Default)]
pub struct Rebuilds {
    active: BTreeMap<u32, Rebuild>,
    /// Per failed node, the failures of it answered by rebuilds and not yet reported restored.
    owed: BTreeMap<NodeId, u32>,
    read_before_loss: Vec<u64>,
    rows: Vec<Vec<Cell>>,
}

impl Rebuilds {
    /// No rebuild yet, for `partitions` partitions.
    pub fn new(partitions: u32) -> Rebuilds {
        Rebuilds {
            read_before_loss: vec![0; partitions as usize],
            ..Rebuilds::default()
        }
    }

    /// A failure was detected: the lost sources' logs are gone with them (each will read again
    /// from where its oldest log began), and a replay must reach as far as they had read.
    pub fn sources_lost(&mut self, core: &Core, log: &mut OutputLog) {
        for (p, s) in core.sources.iter().enumerate().filter(|(_, s)| s.lost) {
            self.read_before_loss[p] = self.read_before_loss[p].max(s.reader.next);
            log.lose(p as u32);
        }
    }

    /// The tasks lost with one failure of `failed` were placed again and are about to be
    /// rebuilt ([`Rebuilds::begin`] for each): that failure is reported restored once none of
    /// the rebuilds answering for `failed` is without its state.
    pub fn answer(&mut self, failed: NodeId) {
        *self.owed.entry(failed).or_default() += 1;
    }

    /// Task `g`, placed after the failure of `failed`, is held and every live upstream replays
    /// its log to it. Returns the records replayed.
    pub fn begin<PM, T>(
        &mut self,
        core: &mut Core,
        log: &OutputLog,
        g: u32,
        failed: NodeId,
        cx: &mut Ctx<'_, Msg<PM>, T>,
    ) -> u64 {
        core.hold(g);
        let mut until = self.read_before_loss.clone();
        let mut replayed = 0;
        for (p, until) in until.iter_mut().enumerate() {
            let s = &core.sources[p];
            if s.lost {
                continue;
            }
            *until = (*until).max(s.reader.next);
            let from = s.reader.node;
            let batches = log.batches(p as u32, g, cx.log, cx.sem);
            for b in batches {
                replayed += b.records.len() as u64;
                cx.records(Flow::Read, b.records.len() as u64);
                core.send(from, g, b, true, cx);
            }
        }
        // An earlier rebuild whose node died before it had the state back still answers for
        // its failure.
        let mut answers: Vec<NodeId> = self
            .active
            .remove(&g)
            .filter(|r| r.restored.is_none())
            .map(|r| r.failed)
            .unwrap_or_default();
        answers.retain(|n| *n != failed);
        answers.push(failed);
        let rebuild = Rebuild {
            failed: answers,
            placed: cx.now(),
            restored: None,
            until,
            replayed,
        };
        self.active.insert(g, rebuild);
        replayed
    }

    /// Task `g` has its state back (the caller set it): windows that fired elsewhere stay
    /// closed, the task applies again, and every failure with no task still waiting is restored.
    pub fn state_back<PM, T: From<CoreTag>>(
        &mut self,
        core: &mut Core,
        g: u32,
        fired: u64,
        cx: &mut Ctx<'_, Msg<PM>, T>,
    ) {
        let now = cx.now();
        let Some(failed) = self.active.get_mut(&g).map(|r| {
            r.restored = Some(now);
            r.failed.clone()
        }) else {
            return;
        };
        core.tasks[g as usize].state.close_through(cx.sem, fired);
        core.release(g, cx);
        for n in failed {
            if !self
                .active
                .values()
                .any(|r| r.failed.contains(&n) && r.restored.is_none())
            {
                for _ in 0..self.owed.remove(&n).unwrap_or(0) {
                    cx.restored(n);
                }
            }
        }
        self.applied(core, g, now);
    }

    /// Task `g` applied a batch: if it is being rebuilt and has applied the whole replay with
    /// nothing queued, its rebuild is over.
    pub fn applied(&mut self, core: &Core, g: u32, now: SimTime) {
        let t = &core.tasks[g as usize];
        let done = self.active.get(&g).is_some_and(|r| {
            r.restored.is_some() && t.queue.is_empty() && t.seen.iter().zip(&r.until).all(|(s, u)| s >= u)
        });
        if let Some(r) = done.then(|| self.active.remove(&g)).flatten() {
            self.rows.push(vec![
                Cell::Int(u64::from(g)),
                Cell::Int(u64::from(r.failed.last().map_or(0, |n| n.0))),
                Cell::secs(Some(r.placed)),
                Cell::secs(r.restored),
                Cell::Int(r.replayed),
                Cell::secs(Some(now)),
                Cell::Num(now.since(r.placed).as_secs_f64()),
            ]);
        }
    }

    /// Whether task `g` is being rebuilt.
    pub fn rebuilding(&self, g: u32) -> bool {
        self.active.contains_key(&g)
    }

    /// Whether every rebuilt task has its state back.
    pub fn all_back(&self) -> bool {
        self.active.values().all(|r| r.restored.is_some())
    }

    /// `recoveries.csv`.
    pub fn table(&self) -> Table {
        let columns = [
            "task",
            "failed_node",
            "placed_s",
            "restored_s",
            "replayed_records",
            "caught_up_s",
            "catch_up_s",
        ];
        Table {
            rows: self.rows.clone(),
            ..Table::new("recoveries", &columns)
        }
    }
}
