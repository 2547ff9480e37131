//! State partitions as data, held where the model says they live, and a batch applied to one.
//!
//! A state partition (n, r) is the operator state of partition r after batch n
//! ([`ftsim_sim::OperatorState`]). It lives in the memory of the workers that computed or
//! assembled it, and in durable storage once a write that carried it (a checkpoint, a
//! state-store version) has completed.
//!
//! Invariants:
//! - `memory` holds (n, r) on a node only if that node computed or assembled it and has not been
//!   reported dead since (a failure report drops everything the node held);
//! - `durable` holds a version only once the storage write carrying it has completed, never when
//!   the write is issued; versions are immutable, and a version is read as the newest durable
//!   one at or below the one asked for (version 0 is the empty initial state, always there);
//! - a state changes only by [`MicroBatch::apply_batch`]: a batch's records of its partition in
//!   the batch's order, then every source partition's watermark advanced to the batch's end.

use super::model::{Batch, Input};
use super::share::{Share, keys_of};
use super::{Cx, MicroBatch, Policy};
use ftsim_sim::{NodeId, OperatorState, Output, PartitionId, Record};
use std::collections::BTreeMap;

/// Where the state partitions live: workers' memory and durable storage.
#[derive(Debug, Default)]
pub struct States {
    /// (r, n) → the nodes holding it in memory.
    memory: BTreeMap<(u32, u64), BTreeMap<NodeId, OperatorState>>,
    /// (r, n) → the version whose write completed.
    durable: BTreeMap<(u32, u64), OperatorState>,
}

impl States {
    /// `node` holds state partition (n, r) in memory.
    pub fn hold(&mut self, n: u64, r: u32, node: NodeId, state: OperatorState) {
        self.memory.entry((r, n)).or_default().insert(node, state);
    }

    /// State partition (n, r) in `node`'s memory.
    pub fn in_memory(&self, n: u64, r: u32, node: NodeId) -> Option<&OperatorState> {
        self.memory.get(&(r, n))?.get(&node)
    }

    /// Every node drops partition r's states older than batch n (no task reads them again).
    pub fn forget_memory_before(&mut self, n: u64, r: u32) {
        while let Some(key) = self.memory.range((r, 0)..(r, n)).next().map(|(k, _)| *k) {
            self.memory.remove(&key);
        }
    }

    /// `node` was reported dead: its memory is gone.
    pub fn lose_node(&mut self, node: NodeId) {
        for held in self.memory.values_mut() {
            held.remove(&node);
        }
        self.memory.retain(|_, held| !held.is_empty());
    }

    /// Every worker's memory is gone.
    pub fn clear_memory(&mut self) {
        self.memory.clear();
    }

    /// A write carrying state partition (n, r) completed.
    pub fn store(&mut self, n: u64, r: u32, state: OperatorState) {
        self.durable.insert((r, n), state);
    }

    /// Whether version (n, r) itself is durable.
    pub fn is_durable(&self, n: u64, r: u32) -> bool {
        self.durable.contains_key(&(r, n))
    }

    /// The newest durable version of partition r at or below n, with its batch (`None`: only
    /// the empty initial state).
    pub fn durable_at(&self, n: u64, r: u32) -> Option<(u64, &OperatorState)> {
        self.durable
            .range((r, 0)..=(r, n))
            .next_back()
            .map(|((_, m), s)| (*m, s))
    }

    /// Partition r's durable versions older than batch n are deleted.
    pub fn prune_durable(&mut self, r: u32, n: u64) {
        while let Some(key) = self.durable.range((r, 0)..(r, n)).next().map(|(k, _)| *k) {
            self.durable.remove(&key);
        }
    }
}

impl<P: Policy> MicroBatch<P> {
    /// State partition (n, r) as read from durable storage: the newest durable version at or
    /// below n, or the empty initial state.
    pub(crate) fn durable_state(&self, n: u64, r: u32, cx: &Cx<'_, P>) -> OperatorState {
        self.states
            .durable_at(n, r)
            .map_or_else(|| cx.sem.new_state(), |(_, s)| s.clone())
    }

    /// Batch `b`'s input records of state partition r, read again from the source log through
    /// its blocks, in order.
    fn lineage_records(&self, b: &Batch, r: u32, cx: &Cx<'_, P>) -> Vec<Record> {
        let mut out = Vec::with_capacity(b.count_r.get(r as usize).copied().unwrap_or(0) as usize);
        for &blk in &b.blocks {
            let blk = &self.blocks[blk];
            cx.log.each(PartitionId(blk.part), blk.from, blk.to, |rec| {
                if cx.sem.keeps(rec) && cx.sem.task_of(u64::from(rec.key)) == r {
                    out.push(*rec);
                }
            });
        }
        out
    }

    /// The distinct keys of batch `b`'s input in state partition r, with their record counts,
    /// sorted by key (none once its input is dropped).
    pub(crate) fn input_keys(&self, b: &Batch, r: u32, cx: &Cx<'_, P>) -> Vec<(u32, u64)> {
        match &b.input {
            Input::Held(shares) => shares.get(r as usize).map(Share::keys).unwrap_or_default(),
            Input::Lineage => keys_of(self.lineage_records(b, r, cx).iter()),
            Input::Dropped => Vec::new(),
        }
    }

    /// Applies batch `b`'s records of partition r (those `keep` admits, if given: they are then
    /// read again from the source log) to `state`, then advances
    /// every source partition's watermark to the batch's end offset (windows fire by event time);
    /// returns what the operator emitted.
    pub(crate) fn apply_batch(
        &self,
        b: &Batch,
        r: u32,
        state: &mut OperatorState,
        keep: Option<&dyn Fn(&Record) -> bool>,
        cx: &Cx<'_, P>,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        match (&b.input, keep) {
            (Input::Held(shares), None) => {
                if let Some(share) = shares.get(r as usize) {
                    share.apply(cx.sem, state, &mut out);
                }
            }
            (Input::Dropped, _) => {}
            (_, keep) => {
                for rec in self
                    .lineage_records(b, r, cx)
                    .iter()
                    .filter(|x| keep.is_none_or(|k| k(x)))
                {
                    state.apply(cx.sem, rec, &mut out);
                }
            }
        }
        if let Some(wms) = &b.wms {
            state.advance_all(cx.sem, wms, &mut out);
        }
        out
    }
}
