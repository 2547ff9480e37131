//! What an attempt must fetch before it computes: remote blocks, shuffle outputs, state
//! partitions on other nodes, state read back from durable storage.
//!
//! Invariant: fetches are merged per source node and listed in node order, then storage reads in
//! the order added; nothing is fetched from the node the attempt runs on.

use super::model::{Batch, Kind, Loc, TaskId};
use super::{Job, MicroBatch, Policy};
use ftsim_sim::NodeId;
use std::collections::BTreeMap;

/// The remote inputs of one attempt, as they are gathered.
#[derive(Debug)]
pub struct Inputs {
    node: NodeId,
    nodes: BTreeMap<u32, u64>,
    storage: Vec<u64>,
}

impl Inputs {
    fn new(node: NodeId) -> Inputs {
        Inputs {
            node,
            nodes: BTreeMap::new(),
            storage: Vec::new(),
        }
    }

    /// Adds `bytes` to fetch from node `y` (nothing if the attempt runs there).
    pub fn fetch(&mut self, y: NodeId, bytes: u64) {
        if y != self.node {
            *self.nodes.entry(y.0).or_insert(0) += bytes;
        }
    }

    /// Adds a read of `bytes` from durable storage.
    pub fn read(&mut self, bytes: u64) {
        self.storage.push(bytes);
    }

    /// (where, bytes) per input: nodes in id order, then storage reads.
    fn into_list(self) -> Vec<(Loc, u64)> {
        let mut v: Vec<(Loc, u64)> = self.nodes.into_iter().map(|(n, b)| (Loc::Node(NodeId(n)), b)).collect();
        v.extend(self.storage.into_iter().map(|b| (Loc::Storage, b)));
        v
    }
}

impl<P: Policy> MicroBatch<P> {
    /// Remote inputs of task `t` run on `node`: (where, bytes), merged per source node.
    pub(crate) fn inputs(&self, t: TaskId, node: NodeId) -> Vec<(Loc, u64)> {
        let mut into = Inputs::new(node);
        match self.tasks[t].kind {
            Kind::Map { block, .. } => {
                let blk = &self.blocks[block];
                if !blk.locs.contains(&node)
                    && let Some(y) = blk.locs.first()
                {
                    into.fetch(*y, blk.len() * self.record_bytes);
                }
            }
            Kind::Reduce { batch, r } => {
                if let Some(b) = self.batches.get(&batch) {
                    self.add_shuffle(&mut into, b, r, 1.0);
                }
                let bytes = self.state_bytes(batch - 1, r);
                match self.state_loc(batch - 1, r) {
                    Some(Loc::Node(y)) => into.fetch(y, bytes),
                    Some(Loc::Storage) if batch > 1 => into.read(bytes),
                    _ => {}
                }
            }
            Kind::Job(j) => j.inputs(self, &mut into),
        }
        into.into_list()
    }

    /// Adds `share` of what each map of batch `b` shuffled to state partition r (the maps with
    /// records of r, from the batch's index).
    pub(crate) fn add_shuffle(&self, into: &mut Inputs, b: &Batch, r: u32, share: f64) {
        for &(i, records) in b.shuffle.maps_of(r) {
            if let Loc::Node(y) = self.tasks[b.maps[i]].out() {
                let bytes = u64::from(records) * self.record_bytes;
                if bytes > 0 {
                    into.fetch(y, (bytes as f64 * share).ceil() as u64);
                }
            }
        }
    }

    /// Bytes of state partition r after batch n.
    pub(crate) fn state_bytes(&self, n: u64, r: u32) -> u64 {
        self.batches
            .get(&n)
            .and_then(|b| b.state_bytes.get(r as usize).copied())
            .unwrap_or(0)
    }
}
