//! The record-at-a-time schemes side by side: while nothing fails they cost, in fault-tolerance
//! bytes, none < upstream-backup (acknowledgements) < passive-standby (state copies) <
//! active-standby (a copy of every record), and active-standby about twice none's node time;
//! after a crash active-standby recovers first, and every one keeps its promise.

use crate::support::run;
use ftsim_engines::Registry;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::{RunReport, Scenario};
use std::path::Path;

const SCHEMES: [&str; 4] = ["none", "upstream-backup", "passive-standby", "active-standby"];

fn scenario(file: &str, sets: &[&str]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
    let all: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Scenario::load(&path, &Overrides::sets(&all), &Registry::builtin()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn while_nothing_fails_the_schemes_cost_more_fault_tolerance_bytes_in_the_order_of_what_they_keep() {
    // active-standby.toml has a standby node per worker.
    let sc = scenario("active-standby.toml", &["faults=[]", "run.duration=30s"]);
    let r: Vec<RunReport> = SCHEMES.iter().map(|e| run(&sc, e)).collect();
    let ft: Vec<u64> = r.iter().map(|r| r.stats.ft_bytes).collect();
    assert!(ft[0] < ft[1] && ft[1] < ft[2] && ft[2] < ft[3], "ft_bytes {ft:?}");
    let ratio = r[3].stats.node_seconds / r[0].stats.node_seconds;
    assert!(
        (1.7..=2.1).contains(&ratio),
        "active-standby's node time is {ratio:.2}× none's"
    );
    for (e, r) in SCHEMES.iter().zip(&r) {
        assert!(r.promise_kept && r.stats.finished, "{e}");
    }
}

#[test]
fn after_a_crash_active_standby_recovers_first_and_every_scheme_keeps_its_promise() {
    let sc = scenario("crash.toml", &["run.duration=60s", "job.sink=idempotent"]);
    let mut spans = Vec::new();
    for e in SCHEMES.iter().chain(&["flink-abs", "dstream", "structured-streaming"]) {
        let r = run(&sc, e);
        assert!(r.promise_kept && r.stats.finished, "{e}: {:?}", r.check);
        let f = r.first_failure.expect("a failure");
        let secs = |d: Option<ftsim_sim::SimDuration>| d.map_or(f64::MAX, |d| d.as_secs_f64());
        spans.push((*e, secs(f.restore), secs(f.recovery)));
    }
    let active = spans
        .iter()
        .find(|s| s.0 == "active-standby")
        .copied()
        .expect("active-standby");
    for s in &spans {
        assert!(
            active.1 <= s.1 && active.2 <= s.2,
            "active-standby {active:?} against {s:?}"
        );
    }
    assert!((active.1 - 2.0).abs() < 1e-6, "it takes over at detection: {active:?}");
}

#[test]
fn bare_watermarks_travel_as_one_round_per_tick_that_counts_every_message() {
    // 4 nodes: 32 sources and 32 tasks, 8 of each per node, and few records, so that
    // most messages are bare watermarks. Sent one by one, each modelled message would cost at
    // least two kernel events (its delivery, then its task's work); sent as a round (one
    // transmission per source node) and applied without CPU, they cost far fewer, while
    // `messages` still counts each one.
    let sc = scenario(
        "scaling.toml",
        &[
            "cluster.nodes=4",
            "workload.partitions=32",
            "job.parallelism=32",
            "workload.rate=100",
            "run.duration=20s",
        ],
    );
    let r = run(&sc, "none");
    assert!(r.promise_kept && r.stats.finished);
    let (messages, events) = (r.stats.messages, r.stats.sim_events);
    let records = r.records_in;
    assert!(
        messages > 20 * records,
        "bare watermarks dominate: {messages} messages for {records} records"
    );
    assert!(events * 4 < messages, "{events} kernel events for {messages} messages");
}

/// One worker, no spare: it crashes, is detected at 2.239 s and restarted at 3.101975523 s,
/// and crashes again a nanosecond after it is back, while its tasks wait for their saved
/// state; a third crash strikes while it is down and counts for nothing.
const TWICE: &str = r#"
[run]
name = "twice"
duration = "5645ms"
drain = "60s"
engines = ["none", "upstream-backup", "passive-standby", "active-standby"]
[cluster]
nodes = 1
spares = 0
cores = 1
detection_delay = "1684ms"
restart_delay = "863ms"
storage_latency = "245ms"
[workload]
rate = 300
keys = 3
partitions = 1
[job]
kind = "running-count"
sink = "append"
parallelism = 2
[engines.upstream-backup]
checkpoint_interval = "300ms"
ack_interval = "50ms"
[engines.passive-standby]
checkpoint_interval = "300ms"
[[faults]]
at = "554975523ns"
crash = 0
[[faults]]
at = "2419584430ns"
crash = 0
[[faults]]
at = "3101975524ns"
crash = 0
"#;

#[test]
fn a_node_that_fails_again_as_it_comes_back_is_restored_for_both_failures_by_every_scheme() {
    let sc = crate::support::scenario(TWICE);
    for e in SCHEMES {
        let r = run(&sc, e);
        assert!(r.promise_kept, "{e}: {:?}", r.check);
        assert!(r.stats.finished, "{e}: {:?}", r.unfinished);
        assert_eq!(r.failures.len(), 2, "{e}: two crashes of a live node");
        for f in &r.failures {
            let (Some(d), Some(back)) = (f.detected, f.restored) else {
                panic!("{e}: the crash at {} is detected and restored: {f:?}", f.injected);
            };
            assert!(back > d, "{e}: restored at {back} after its detection at {d}");
        }
    }
}
