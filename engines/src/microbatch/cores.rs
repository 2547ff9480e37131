//! The master's count of free cores per node, and the freest node, found without a pass over
//! the workers.
//!
//! Invariants: `total` is the sum of `free`; `by_free` holds exactly the nodes with a free core,
//! keyed (free cores, reversed id), so its last entry is the node with the most free cores, the
//! lowest id among equals. Only live workers have free cores (the master sets a node's count to
//! zero when it leaves the pool).

use ftsim_sim::NodeId;
use std::cmp::Reverse;
use std::collections::BTreeSet;

/// Free cores per node id, as the master sees them.
#[derive(Debug)]
pub struct Cores {
    free: Vec<u32>,
    total: u32,
    by_free: BTreeSet<(u32, Reverse<u32>)>,
}

impl Cores {
    /// No free core on any of `nodes` nodes.
    pub fn new(nodes: usize) -> Cores {
        Cores {
            free: vec![0; nodes],
            total: 0,
            by_free: BTreeSet::new(),
        }
    }

    /// Free cores of node `n`.
    pub fn of(&self, n: NodeId) -> u32 {
        self.free[n.0 as usize]
    }

    /// Free cores over every node.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Node `n` has `count` free cores.
    pub fn set(&mut self, n: NodeId, count: u32) {
        let old = std::mem::replace(&mut self.free[n.0 as usize], count);
        if old > 0 {
            self.by_free.remove(&(old, Reverse(n.0)));
        }
        if count > 0 {
            self.by_free.insert((count, Reverse(n.0)));
        }
        self.total = self.total - old + count;
    }

    /// One core of node `n` is taken.
    pub fn take(&mut self, n: NodeId) {
        self.set(n, self.of(n) - 1);
    }

    /// One core of node `n` is freed.
    pub fn give(&mut self, n: NodeId) {
        self.set(n, self.of(n) + 1);
    }

    /// The node with the most free cores (the lowest id among equals), `exclude` left out.
    pub fn freest(&self, exclude: Option<NodeId>) -> Option<NodeId> {
        self.by_free
            .iter()
            .rev()
            .map(|(_, id)| NodeId(id.0))
            .find(|n| Some(*n) != exclude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The freest node by a pass over every node, as the master once found it.
    fn by_scan(c: &Cores, exclude: Option<NodeId>) -> Option<NodeId> {
        (0..c.free.len() as u32)
            .map(NodeId)
            .filter(|n| Some(*n) != exclude && c.of(*n) > 0)
            .max_by_key(|n| (c.of(*n), Reverse(n.0)))
    }

    #[test]
    fn the_freest_node_and_the_total_follow_every_change() {
        let mut c = Cores::new(6);
        assert_eq!(c.freest(None), None);
        for (i, n) in [1u32, 2, 3, 4].into_iter().enumerate() {
            c.set(NodeId(n), 2 + i as u32 % 2);
        }
        let steps: [(u32, i8); 9] = [
            (2, -1),
            (4, -1),
            (4, -1),
            (1, 1),
            (3, -1),
            (3, -1),
            (3, -1),
            (5, 1),
            (2, 1),
        ];
        for (n, d) in steps {
            if d > 0 {
                c.give(NodeId(n));
            } else {
                c.take(NodeId(n));
            }
            assert_eq!(c.total, c.free.iter().sum::<u32>());
            for ex in [None, Some(NodeId(1)), Some(NodeId(2)), Some(NodeId(4))] {
                assert_eq!(c.freest(ex), by_scan(&c, ex), "after ({n}, {d}), without {ex:?}");
            }
        }
        c.set(NodeId(1), 0);
        assert_eq!(c.freest(None), by_scan(&c, None));
    }
}
