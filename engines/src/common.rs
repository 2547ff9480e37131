//! Small pieces several engines need and that carry no fault-tolerance policy: task placement
//! and grouping a batch of records by the stateful task that owns each key.

use ftsim_sim::{NodeId, Record, Semantics};

/// Places `count` tasks round-robin on `workers` nodes, starting at `offset`.
pub fn round_robin(count: u32, workers: &[NodeId], offset: u32) -> Vec<NodeId> {
    if workers.is_empty() {
        return Vec::new();
    }
    (0..count)
        .map(|i| workers[((i + offset) as usize) % workers.len()])
        .collect()
}

/// Splits `records` (filter applied) into one list per stateful task, keeping log order.
pub fn partition_by_task(sem: &Semantics, records: &[Record]) -> Vec<Vec<Record>> {
    let mut out: Vec<Vec<Record>> = (0..sem.parallelism).map(|_| Vec::new()).collect();
    for r in records.iter().filter(|r| sem.keeps(r)) {
        out[sem.task_of(u64::from(r.key)) as usize].push(*r);
    }
    out
}
