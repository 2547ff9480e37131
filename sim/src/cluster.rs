//! The physical cluster: nodes with cores and a speed, NICs, durable storage, crashes.
//!
//! Invariants:
//! - a node's work runs on its `cores` slots in FIFO order of submission; a task's time is its
//!   nominal work stretched by the node's slowdown, integrated over straggler windows;
//! - a message of B bytes leaves after everything queued before it on the sender's NIC and arrives
//!   `B / bandwidth + latency` after it starts; latency is fixed, so every channel is FIFO;
//! - every node has an epoch, bumped by a crash: completions and deliveries carry the epoch they
//!   were issued under and are dropped when it no longer matches, so nothing survives a crash.

use crate::ids::{NodeId, WorkId};
use crate::scenario::{ClusterSpec, Fault, FaultTarget};
use crate::time::{SimDuration, SimTime, round_ns};
use std::collections::VecDeque;

/// A unit of work waiting for or occupying a core.
#[derive(Debug)]
pub(crate) struct WorkItem<T> {
    pub id: WorkId,
    pub work: SimDuration,
    /// The incarnation its tag's scope had when it was issued.
    pub inc: u32,
    pub tag: T,
}

#[derive(Debug)]
pub(crate) struct Node<T> {
    pub alive: bool,
    /// Spares are idle until requested; idle nodes cost nothing.
    pub active: bool,
    pub epoch: u32,
    pub running: Vec<Option<(WorkId, u32, T, SimTime)>>,
    pub queue: VecDeque<WorkItem<T>>,
    pub nic_free: SimTime,
    pub storage_free: SimTime,
    /// Straggler windows `(from, to, factor)`, sorted, non-overlapping.
    pub slow: Vec<(SimTime, SimTime, f64)>,
    /// Start of the current active period (for node-seconds).
    pub active_since: SimTime,
    /// Core time spent on work that completed, nanoseconds.
    pub busy_ns: u128,
}

/// The cluster's mutable state, owned by the kernel.
#[derive(Debug)]
pub(crate) struct Cluster<T> {
    pub spec: ClusterSpec,
    pub nodes: Vec<Node<T>>,
    pub next_spare: u32,
    pub node_ns: u128,
}

/// A work item that just started: the kernel schedules its completion.
pub(crate) struct Started {
    pub node: NodeId,
    pub epoch: u32,
    pub core: usize,
    pub id: WorkId,
    pub finish: SimTime,
}

impl<T> Cluster<T> {
    pub fn new(spec: &ClusterSpec, faults: &[Fault]) -> Self {
        let nodes = (0..spec.total_nodes())
            .map(|i| {
                let is_spare = i >= spec.nodes && i < spec.nodes + spec.spares;
                let mut slow: Vec<(SimTime, SimTime, f64)> = faults
                    .iter()
                    .filter_map(|f| match f {
                        Fault::Straggler {
                            at,
                            node,
                            factor,
                            duration,
                        } if node.0 == i => Some((*at, *at + *duration, *factor)),
                        _ => None,
                    })
                    .collect();
                slow.sort_by_key(|w| w.0);
                Node {
                    alive: !is_spare,
                    active: !is_spare,
                    epoch: 0,
                    running: (0..spec.cores).map(|_| None).collect(),
                    queue: VecDeque::new(),
                    nic_free: SimTime::ZERO,
                    storage_free: SimTime::ZERO,
                    slow,
                    active_since: SimTime::ZERO,
                    busy_ns: 0,
                }
            })
            .collect();
        Cluster {
            spec: spec.clone(),
            nodes,
            next_spare: spec.nodes,
            node_ns: 0,
        }
    }

    pub fn node(&self, n: NodeId) -> Option<&Node<T>> {
        self.nodes.get(n.0 as usize)
    }

    pub fn is_alive(&self, n: NodeId) -> bool {
        self.node(n).is_some_and(|x| x.alive)
    }

    pub fn epoch(&self, n: NodeId) -> u32 {
        self.node(n).map_or(0, |x| x.epoch)
    }

    /// The node ids a fault target names.
    pub fn resolve(&self, t: FaultTarget) -> NodeId {
        match t {
            FaultTarget::Worker(n) => n,
            FaultTarget::Master => self.spec.master(),
        }
    }

    /// Queues work; returns it if it started on a free core at once.
    pub fn submit(&mut self, now: SimTime, node: NodeId, item: WorkItem<T>) -> Option<Started> {
        let n = self.nodes.get_mut(node.0 as usize)?;
        if !n.alive {
            return None;
        }
        n.queue.push_back(item);
        self.start_next(now, node)
    }

    /// Starts the next queued work on a free core of `node`, if any.
    pub fn start_next(&mut self, now: SimTime, node: NodeId) -> Option<Started> {
        let n = self.nodes.get_mut(node.0 as usize)?;
        let core = n.running.iter().position(Option::is_none)?;
        let item = n.queue.pop_front()?;
        n.running[core] = Some((item.id, item.inc, item.tag, now));
        let epoch = n.epoch;
        let finish = finish_time(&n.slow, now, item.work);
        Some(Started {
            node,
            epoch,
            core,
            id: item.id,
            finish,
        })
    }

    /// Frees the core at `now` if it still runs `id` under `epoch`; returns the tag to deliver
    /// and its incarnation stamp.
    pub fn complete(&mut self, now: SimTime, node: NodeId, epoch: u32, core: usize, id: WorkId) -> Option<(T, u32)> {
        let n = self.nodes.get_mut(node.0 as usize)?;
        if n.epoch != epoch || !n.alive {
            return None;
        }
        match n.running.get(core) {
            Some(Some((rid, ..))) if *rid == id => {
                let (_, inc, tag, started) = n.running[core].take()?;
                n.busy_ns += u128::from(now.since(started).as_nanos());
                Some((tag, inc))
            }
            _ => None,
        }
    }

    /// Removes queued or running work `id`; true if a core was freed.
    pub fn cancel(&mut self, node: NodeId, id: WorkId) -> bool {
        let Some(n) = self.nodes.get_mut(node.0 as usize) else {
            return false;
        };
        if let Some(pos) = n.queue.iter().position(|j| j.id == id) {
            n.queue.remove(pos);
            return false;
        }
        if let Some(slot) = n
            .running
            .iter_mut()
            .find(|s| matches!(s, Some((rid, ..)) if *rid == id))
        {
            *slot = None;
            return true;
        }
        false
    }

    /// Kills a node: its work, queues and buffers vanish, its epoch moves on.
    pub fn crash(&mut self, now: SimTime, node: NodeId) -> bool {
        let Some(n) = self.nodes.get_mut(node.0 as usize) else {
            return false;
        };
        if !n.alive {
            return false;
        }
        n.alive = false;
        n.epoch += 1;
        n.queue.clear();
        n.running.iter_mut().for_each(|s| *s = None);
        if n.active {
            self.node_ns += u128::from(now.since(n.active_since).as_nanos());
            n.active = false;
        }
        true
    }

    /// Brings a node up, empty.
    pub fn revive(&mut self, now: SimTime, node: NodeId) {
        if let Some(n) = self.nodes.get_mut(node.0 as usize) {
            n.alive = true;
            n.active = true;
            n.active_since = now;
            n.nic_free = now;
            n.storage_free = now;
        }
    }

    /// Takes the next idle spare, if any.
    pub fn take_spare(&mut self) -> Option<NodeId> {
        if self.next_spare < self.spec.nodes + self.spec.spares {
            self.next_spare += 1;
            Some(NodeId(self.next_spare - 1))
        } else {
            None
        }
    }

    /// When a message of `bytes` sent now from `from` to `to` arrives; reserves the NIC.
    pub fn transmit(&mut self, now: SimTime, from: NodeId, to: NodeId, bytes: u64) -> SimTime {
        if from == to {
            return now;
        }
        let tx = SimDuration(round_ns(bytes as f64 / self.spec.bandwidth * 1e9));
        let latency = self.spec.network_latency;
        match self.nodes.get_mut(from.0 as usize) {
            Some(n) => {
                let depart = n.nic_free.max(now);
                n.nic_free = depart + tx;
                n.nic_free + latency
            }
            None => now + tx + latency,
        }
    }

    /// When a storage operation of `bytes` issued now by `node` completes.
    pub fn storage(&mut self, now: SimTime, node: NodeId, bytes: u64) -> SimTime {
        let tx = SimDuration(round_ns(bytes as f64 / self.spec.storage_bandwidth * 1e9));
        let latency = self.spec.storage_latency;
        match self.nodes.get_mut(node.0 as usize) {
            Some(n) => {
                let start = n.storage_free.max(now);
                n.storage_free = start + tx;
                n.storage_free + latency
            }
            None => now + tx + latency,
        }
    }

    /// Core-seconds of completed work per node, by node id.
    pub fn busy_seconds(&self) -> Vec<f64> {
        self.nodes.iter().map(|n| n.busy_ns as f64 / 1e9).collect()
    }

    /// Node-seconds used up to `now` by every node that was active.
    pub fn node_seconds(&self, now: SimTime) -> f64 {
        let open: u128 = self
            .nodes
            .iter()
            .filter(|n| n.active)
            .map(|n| u128::from(now.since(n.active_since).as_nanos()))
            .sum();
        (self.node_ns + open) as f64 / 1e9
    }
}

/// Finish time of `work` started at `start` under straggler windows `slow` (sorted, disjoint).
pub fn finish_time(slow: &[(SimTime, SimTime, f64)], start: SimTime, work: SimDuration) -> SimTime {
    let mut t = start.0 as f64;
    let mut remaining = work.0 as f64;
    for &(a, b, factor) in slow {
        let (a, b) = (a.0 as f64, b.0 as f64);
        if b <= t {
            continue;
        }
        if t < a {
            if remaining <= a - t {
                break;
            }
            remaining -= a - t;
            t = a;
        }
        let capacity = (b - t) / factor;
        if remaining <= capacity {
            return SimTime(round_ns(t + remaining * factor));
        }
        remaining -= capacity;
        t = b;
    }
    SimTime(round_ns(t + remaining))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_inside_a_straggler_window_takes_factor_times_longer() {
        let slow = [(SimTime(1_000), SimTime(1_000_000), 5.0)];
        assert_eq!(finish_time(&slow, SimTime(2_000), SimDuration(100)), SimTime(2_500));
    }

    #[test]
    fn work_spanning_a_window_edge_is_slowed_only_inside_it() {
        let slow = [(SimTime(100), SimTime(200), 4.0)];
        // 50 ns at full speed up to t=100, then 100 ns of window does 25 ns of work, then 25 more.
        assert_eq!(finish_time(&slow, SimTime(50), SimDuration(100)), SimTime(225));
        assert_eq!(finish_time(&[], SimTime(50), SimDuration(100)), SimTime(150));
    }
}
