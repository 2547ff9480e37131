//! Where tasks run: round-robin over the workers at the start, and after a failure on the spare
//! that replaces the failed node or, with none left, round-robin over the survivors. A crashed
//! worker that the cluster manager restarts joins again, empty, and takes tasks that found no home.
//!
//! Invariant: `workers` lists the live workers as the engine knows them (failed nodes leave it
//! when their failure is reported, spares join it when they take over), in the order they
//! joined.

use ftsim_sim::{NodeId, Scenario};

/// The engine's view of its workers.
#[derive(Debug, Clone)]
pub struct Placement {
    workers: Vec<NodeId>,
}

impl Placement {
    /// The workers of `sc`'s cluster.
    pub fn new(sc: &Scenario) -> Placement {
        Placement {
            workers: sc.cluster.workers().collect(),
        }
    }

    /// The live workers.
    pub fn workers(&self) -> &[NodeId] {
        &self.workers
    }

    /// The worker after `node` in id order among the live workers (wrapping), other than `node`.
    pub fn next_after(&self, node: NodeId) -> Option<NodeId> {
        let mut ids: Vec<NodeId> = self.workers.iter().copied().filter(|w| *w != node).collect();
        ids.sort_unstable();
        ids.iter().copied().find(|w| *w > node).or(ids.first().copied())
    }

    /// Homes for `count` tasks, round-robin over the workers from the first.
    pub fn round_robin(&self, count: u32) -> Vec<NodeId> {
        if self.workers.is_empty() {
            return Vec::new();
        }
        (0..count as usize)
            .map(|i| self.workers[i % self.workers.len()])
            .collect()
    }

    /// `node` failed: it is no longer a worker.
    pub fn lose(&mut self, node: NodeId) {
        self.workers.retain(|w| *w != node);
    }

    /// `node` came back (restarted by the cluster manager): it is a worker again, with no task.
    pub fn join(&mut self, node: NodeId) {
        if !self.workers.contains(&node) {
            self.workers.push(node);
        }
    }

    /// Moves every home in `homes` that is `failed` to `spare` (a new node, or a worker chosen to
    /// take them) or, without one, round-robin over the survivors in the order given; the spare
    /// joins the workers. Returns false, moving nothing, if there is no spare and no survivor.
    pub fn relocate<'a>(
        &mut self,
        failed: NodeId,
        spare: Option<NodeId>,
        homes: impl IntoIterator<Item = &'a mut NodeId>,
    ) -> bool {
        if spare.is_none() && self.workers.is_empty() {
            return false;
        }
        let mut k = 0;
        for home in homes.into_iter().filter(|h| **h == failed) {
            *home = match spare {
                Some(n) => n,
                None => {
                    k += 1;
                    self.workers[(k - 1) % self.workers.len()]
                }
            };
        }
        if let Some(n) = spare {
            self.join(n);
        }
        true
    }
}
