//! The record ledger when a run stops with records still on the wire: every record read ends
//! applied, filtered or dropped for a stated reason, also when a crash left batches queued on a
//! slow NIC that the engine no longer waits for (their receiver died since, or their sender was
//! lost and its successor took over).

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

/// Two workers and no spare: the single source on worker 0 ships key group 1's batches to
/// worker 1 over a 50 kB/s NIC, so they queue for seconds. Worker 0 crashes near the end of the
/// input; its source and task move to worker 1, where the successor's batches are local and
/// overtake what the lost source left on the wire.
fn lost_source_behind_a_slow_wire(engine: &str) -> ftsim_sim::Scenario {
    scenario(&format!(
        r#"
[run]
name = "lost-source"
seed = 1
duration = "3s"
drain = "60s"
engines = ["{engine}"]
[cluster]
nodes = 2
spares = 0
cores = 2
detection_delay = "100ms"
restart_delay = "300ms"
network_latency = "100us"
bandwidth = "50kB/s"
[workload]
rate = 2000
keys = 50
partitions = 1
[job]
kind = "running-count"
sink = "idempotent"
parallelism = 2
[engines.{engine}]
[[faults]]
at = "2500ms"
crash = 0
"#
    ))
}

#[test]
fn batches_a_lost_source_left_on_a_slow_wire_to_a_live_task_are_accounted_for_when_the_run_stops_first() {
    for engine in ["none", "upstream-backup", "passive-standby", "active-standby"] {
        let sc = lost_source_behind_a_slow_wire(engine);
        let r = run(&sc, engine);
        let l = &r.stats.ledger;
        assert!(r.stats.finished, "{engine} {}: {:?}", repro(&sc), r.unfinished);
        assert!(r.failures.iter().all(|f| f.restored.is_some()), "{engine}");
        assert_eq!(l.in_flight(), 0, "{engine} {}: {l:?}", repro(&sc));
        let left = l.dropped.get("left on the wire by a lost source");
        assert!(
            left.is_some_and(|n| *n > 0),
            "{engine}: the run outlasted the wire: {l:?}"
        );
    }
}

#[test]
fn an_active_standby_run_after_a_whole_cluster_crash_behind_slow_wires_accounts_for_every_record_read() {
    // Every node crashes while seconds of batches are still queued on 50 kB/s wires: what the
    // lost sources left on the wire arrives after they restart, and must end applied or dropped.
    let sc = scenario(
        r#"
[run]
name = "whole-cluster"
seed = 0
duration = "3000ms"
bucket = "500ms"
drain = "60s"
[cluster]
nodes = 5
spares = 1
cores = 1
detection_delay = "100ms"
spare_start = "50ms"
restart_delay = "300ms"
storage_latency = "10ms"
network_latency = "100us"
bandwidth = "50kB/s"
[workload]
rate = 12068
keys = 157
partitions = 1
[job]
kind = "running-count"
sink = "append"
parallelism = 3
window = "200ms"
slide = "200ms"
state_cost = "2us"
parse_cost = "2us"
max_out_of_orderness = "200ms"
[engines.active-standby]
[[faults]]
at = "1339227712ns"
crash = [0, 1, 2, 3, 4]
"#,
    );
    let r = run(&sc, "active-standby");
    let l = &r.stats.ledger;
    assert!(r.stats.finished, "{}: {:?}", repro(&sc), r.unfinished);
    assert_eq!(l.in_flight(), 0, "{}: {l:?}", repro(&sc));
    assert!(r.stats.breaches.is_empty(), "{:?}", r.stats.breaches);
}
