//! Rounds of bare watermarks: one shared set of marks per round stands for a message per
//! (source, task) pair. On a cluster whose slow NICs keep batches on the wire long after a round
//! arrives, with many tasks and a round every few milliseconds, a task that applied a partition's
//! watermark ahead of an earlier batch of its channel would fire a window without that batch's
//! records, and one that lost a mark it held back (the last one of a partition, behind a backlog)
//! would never fire the last windows: either shows as lost outputs. A round reaches no task on a
//! node that is dead: one there would fire windows whose outputs die with the node, which a state
//! kept outside the cluster would then never fire again; and a task a round missed that way keeps
//! the run going until its node's failure is detected, so that its windows fire elsewhere.

use crate::support::{repro, run, scenario, slow_wires};
use ftsim_sim::Verdict;

#[test]
fn with_batches_long_on_the_wire_every_window_fires_with_every_record() {
    // At 600 kB/s the NICs fall behind: at the end of the input every channel has a backlog.
    let sc = slow_wires("600kB/s", "");
    let r = run(&sc, "none");
    assert!(r.stats.finished, "{}", repro(&sc));
    assert_eq!(r.check.verdict, Verdict::ExactlyOnce, "{:?} {}", r.check, repro(&sc));
    assert!(r.check.expected > 1000, "{:?}", r.check);
}

#[test]
fn with_batches_long_on_the_wire_a_crash_at_any_instant_leaves_every_replaying_scheme_exact() {
    // Crash instants spread over the run by a fixed linear congruential sequence.
    let mut x: u64 = 0x9e37_79b9;
    for _ in 0..3 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let ms = 500 + (x >> 33) % 3_500;
        let sc = slow_wires("4MB/s", &format!("[[faults]]\nat = \"{ms}ms\"\ncrash = 1"));
        for e in ["upstream-backup", "passive-standby", "active-standby"] {
            let r = run(&sc, e);
            assert!(r.stats.finished, "{e}, crash at {ms} ms: {}", repro(&sc));
            assert_eq!(
                r.check.verdict,
                Verdict::ExactlyOnce,
                "{e}, crash at {ms} ms: {:?} {}",
                r.check,
                repro(&sc)
            );
        }
    }
}

#[test]
fn a_round_reaching_a_dead_node_fires_no_window_of_a_state_kept_outside_the_cluster() {
    // Worker 2 crashes at 2.981 s; a round arrives at 3.000 s, before the crash is detected at
    // 3.081 s. Storm's bolt keeps its windows in an external store that survives the node: a
    // window fired there would be closed in the store while its outputs died with the node.
    let sc = scenario(
        r#"
[run]
name = "dead-round"
seed = 4690243977689335
duration = "7789ms"
bucket = "500ms"
drain = "60s"
[cluster]
nodes = 6
spares = 0
cores = 1
detection_delay = "100ms"
spare_start = "50ms"
restart_delay = "300ms"
storage_latency = "10ms"
network_latency = "100us"
[workload]
rate = 2063
keys = 96
out_of_order = 0.13547573942305732
out_of_order_max = "300ms"
[job]
kind = "window-count"
sink = "append"
parallelism = 4
window = "215ms"
slide = "215ms"
allowed_lateness = "62ms"
filter_keep = 0.5
state_cost = "2us"
parse_cost = "2us"
max_out_of_orderness = "200ms"
[engines.storm-acking]
flush_interval = "40ms"
message_timeout = "2s"
max_spout_pending = 50
[[faults]]
at = "2981062273ns"
crash = 2
"#,
    );
    let r = run(&sc, "storm-acking");
    assert_eq!(r.check.lost, 0, "{}: {:?}", repro(&sc), r.check);
    assert_eq!(r.verdict, Verdict::AtLeastOnce, "{}: {:?}", repro(&sc), r.check);
}

#[test]
fn a_task_a_round_missed_on_a_dead_node_keeps_the_run_going_until_the_crash_is_detected() {
    // Node 0, home of key group 0's primary, dies 110 us before the input ends: the final round
    // misses it. Every other task has fired its last windows, but the job is not done until the
    // crash is detected at 3.2559 s and the replica takes over, showing the primary's last
    // windows (a case of the property suite, FTSIM_SEED=24; a run that stops when the other
    // tasks are done, at 3.158 s, loses 24 of them).
    let sc = scenario(
        r#"
[run]
name = "round-missed"
seed = 948143945079511
duration = "3156ms"
bucket = "500ms"
drain = "60s"
engines = ["active-standby"]
[cluster]
nodes = 6
spares = 0
cores = 2
detection_delay = "100ms"
spare_start = "50ms"
restart_delay = "300ms"
storage_latency = "10ms"
network_latency = "100us"
[workload]
rate = 1814
keys = 78
out_of_order = 0.29425703236870115
out_of_order_max = "300ms"
[job]
kind = "window-count"
sink = "append"
parallelism = 3
window = "771ms"
slide = "257ms"
allowed_lateness = "68ms"
filter_keep = 0.5
state_cost = "2us"
parse_cost = "157us"
max_out_of_orderness = "200ms"
[[faults]]
at = "239731490ns"
crash = 1
[[faults]]
at = "736522121ns"
crash = 2
[[faults]]
at = "3155890001ns"
crash = 0
"#,
    );
    let r = run(&sc, "active-standby");
    assert!(r.stats.finished, "{}", repro(&sc));
    assert!(r.promise_kept, "{:?} {}", r.check, repro(&sc));
    assert_eq!(r.check.lost, 0, "{:?}", r.check);
    assert!(r.stats.end.as_secs_f64() > 3.2559, "ended at {}", r.stats.end);
    assert!(
        r.events
            .iter()
            .any(|e| e.kind == "takeover" && e.detail.contains("key group 0")),
        "the replica of key group 0 takes over"
    );
}
