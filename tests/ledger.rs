//! The record ledger when a run stops with records still on the wire: every record read ends
//! applied, filtered or dropped for a stated reason, also when a crash left batches queued on a
//! slow NIC that the engine no longer waits for (their receiver died since).

use crate::support::{repro, run, scenario};

/// The whole cluster crashes while its single source has seconds of batches queued on a
/// 50 kB/s NIC: they were sent to tasks whose nodes crashed and restarted since, and the rebuilt
/// pipeline finishes before the last of them would arrive.
const WHOLE_CLUSTER: &str = r#"
[run]
name = "whole-cluster"
seed = 0
duration = "3000ms"
bucket = "500ms"
drain = "60s"
engines = ["passive-standby"]
[cluster]
nodes = 4
spares = 1
cores = 1
detection_delay = "131ms"
spare_start = "277ms"
restart_delay = "300ms"
storage_latency = "10ms"
network_latency = "100us"
bandwidth = "50kB/s"
[workload]
rate = 16735
keys = 22
partitions = 1
[job]
kind = "running-count"
sink = "append"
parallelism = 4
window = "200ms"
slide = "200ms"
state_cost = "2us"
parse_cost = "2us"
max_out_of_orderness = "200ms"
[engines.passive-standby]
copy_on_write = true
checkpoint_interval = "300ms"
[[faults]]
at = "1235278914ns"
crash = [0, 1, 2, 3]
"#;

#[test]
fn a_passive_standby_run_after_a_whole_cluster_crash_accounts_for_the_batches_still_queued_to_dead_tasks() {
    let sc = scenario(WHOLE_CLUSTER);
    let r = run(&sc, "passive-standby");
    let l = &r.stats.ledger;
    assert!(r.stats.finished, "{}: {:?}", repro(&sc), r.unfinished);
    assert_eq!(l.in_flight(), 0, "{}: {l:?}", repro(&sc));
    assert!(
        l.dropped.get("sent to a node that died").is_some_and(|n| *n > 0),
        "{l:?}"
    );
}
