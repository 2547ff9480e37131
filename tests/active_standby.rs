//! `active-standby`: the replica takes over as soon as the failure is detected and recovers
//! fastest; while nothing fails it costs twice the node time and a copy of every record; a crash
//! of a replica's node, or of a primary and its replica together, keeps the promise; outputs
//! shown but not acknowledged repeat after a takeover; lock-step makes a straggling replica slow
//! its primary; a source restarted while its batches are still on a slow wire loses none (its
//! record ledger after a whole-cluster crash is checked in `ledger.rs`).

use crate::support::{repro, run, scenario, slow_wires};
use ftsim_engines::Registry;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::{RunReport, Scenario, Verdict};
use std::path::Path;

const ENGINE: &str = "active-standby";

/// The shipped scenario with `sets` applied.
fn shipped(sets: &[&str]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/active-standby.toml");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Scenario::load(&path, &Overrides::sets(&sets), &Registry::builtin()).unwrap_or_else(|e| panic!("{e}"))
}

/// Seconds from the first crash to its detection, restore and recovery.
fn spans(r: &RunReport) -> (f64, f64, f64) {
    let f = r.first_failure.as_ref().expect("a failure");
    let s = |d: Option<ftsim_sim::SimDuration>| d.map_or(f64::INFINITY, |d| d.as_secs_f64());
    (s(f.detect), s(f.restore), s(f.recovery))
}

/// The events of `kind` whose detail mentions `what`.
fn events(r: &RunReport, kind: &str, what: &str) -> usize {
    r.events
        .iter()
        .filter(|e| e.kind == kind && e.detail.contains(what))
        .count()
}

/// The cell of column `column` in key group `group`'s row of `replicas.csv`.
fn replicas(r: &RunReport, group: usize, column: &str) -> f64 {
    let t = r.tables.iter().find(|t| t.name == "replicas").expect("replicas.csv");
    t.numbers(column)[group].expect("a number")
}

#[test]
fn the_replica_takes_over_as_soon_as_the_failure_is_detected_and_recovers_fastest() {
    let sc = shipped(&[]);
    let r = run(&sc, ENGINE);
    assert_eq!(r.verdict, Verdict::ExactlyOnce, "{}: {:?}", repro(&sc), r.check);
    let (detect, restore, recovery) = spans(&r);
    assert!(
        (restore - detect).abs() < 0.001,
        "restored at detection: detected {detect}, restored {restore}"
    );
    assert_eq!(events(&r, "takeover", "key group 3:"), 1);
    assert_eq!(replicas(&r, 3, "takeovers"), 1.0);
    for other in ["none", "upstream-backup", "flink-abs"] {
        let o = run(&sc, other);
        let (_, other_restore, other_recovery) = spans(&o);
        assert!(
            restore < other_restore,
            "{other} restored in {other_restore}s, {ENGINE} in {restore}s"
        );
        assert!(
            recovery < other_recovery,
            "{other} recovered in {other_recovery}s, {ENGINE} in {recovery}s"
        );
    }
}

#[test]
fn while_nothing_fails_it_costs_twice_the_node_time_and_a_copy_of_every_record() {
    let sc = shipped(&["faults=[]"]);
    let (none, ub, us) = (run(&sc, "none"), run(&sc, "upstream-backup"), run(&sc, ENGINE));
    assert_eq!(us.verdict, Verdict::ExactlyOnce, "{:?}", us.check);
    let node_time = us.stats.node_seconds / none.stats.node_seconds;
    assert!(
        (node_time / 2.0 - 1.0).abs() <= 0.2,
        "node_seconds {node_time:.2}× none's"
    );
    // Every record is applied twice, and the copies travel as fault-tolerance traffic.
    let applied = us.stats.ledger.applied as f64 / none.stats.ledger.applied as f64;
    assert!((applied / 2.0 - 1.0).abs() <= 0.05, "applied {applied:.3}× none's");
    let busy = |r: &RunReport| r.stats.busy_seconds.iter().sum::<f64>();
    assert!(busy(&us) > 1.3 * busy(&none), "CPU {} vs {}", busy(&us), busy(&none));
    let copies = us.stats.ft_bytes as f64 / none.stats.bytes as f64;
    assert!((copies - 1.0).abs() <= 0.2, "ft_bytes {copies:.2}× none's bytes");
    assert!(us.stats.ft_messages as f64 >= 0.9 * none.stats.messages as f64);
    assert!(
        us.stats.ft_bytes > 20 * ub.stats.ft_bytes,
        "{} vs upstream-backup's {}",
        us.stats.ft_bytes,
        ub.stats.ft_bytes
    );
}

#[test]
fn with_an_append_sink_outputs_shown_but_not_acknowledged_repeat_after_a_takeover() {
    let sc = shipped(&["job.sink=append"]);
    let r = run(&sc, ENGINE);
    assert_eq!(r.verdict, Verdict::AtLeastOnce, "{:?}", r.check);
    assert!(r.promise_kept);
    // At most an acknowledgement interval (100 ms) of key group 3's outputs, about 5000 a second.
    assert!(
        r.check.lost == 0 && r.check.wrong == 0 && r.check.duplicated > 0 && r.check.duplicated < 1_000,
        "{:?}",
        r.check
    );
}

/// Replicas on the next worker (no standby nodes), faults as given, in a shorter run.
fn co_located(sink: &str, extra: &[&str]) -> Scenario {
    let sink = format!("job.sink={sink}");
    let mut sets = vec!["cluster.spares=0", "run.duration=40s", &sink];
    sets.extend_from_slice(extra);
    shipped(&sets)
}

#[test]
fn a_crash_of_a_node_holding_only_a_replica_rebuilds_it_and_keeps_the_promise() {
    // Nine key groups and sources on ten workers: worker 9 holds only key group 8's replica.
    let layout = [
        "job.parallelism=9",
        "workload.partitions=9",
        "faults=[{at=\"20.5s\", crash=9}]",
    ];
    for sink in ["append", "idempotent", "transactional"] {
        let sc = co_located(sink, &layout);
        let r = run(&sc, ENGINE);
        assert!(r.promise_kept && r.check.lost == 0, "{sink}: {:?}", r.check);
        assert_eq!(events(&r, "takeover", ""), 0, "{sink}: no primary was lost");
        assert_eq!(replicas(&r, 8, "replica_builds"), 1.0, "{sink}: rebuilt once");
        let (detect, restore, _) = spans(&r);
        assert!((restore - detect).abs() < 0.001, "{sink}: nothing stopped");
    }
}

#[test]
fn a_crash_of_a_primary_and_its_replica_together_rebuilds_the_group_from_the_source_log() {
    // Key group 3 runs on worker 3, its replica on worker 4.
    for sink in ["append", "idempotent", "transactional"] {
        let sc = co_located(sink, &["faults=[{at=\"20.5s\", crash=[3, 4]}]"]);
        let r = run(&sc, ENGINE);
        assert!(r.promise_kept && r.check.lost == 0, "{sink}: {:?}", r.check);
        assert_eq!(replicas(&r, 3, "log_rebuilds"), 1.0, "{sink}");
        assert_eq!(events(&r, "rebuilt-from-log", "key group 3:"), 1, "{sink}");
        assert_eq!(replicas(&r, 4, "takeovers"), 1.0, "{sink}: worker 4's own group");
        assert!(r.stats.finished && r.failures.iter().all(|f| f.restored.is_some()));
    }
}

/// Three key groups and sources on workers 0 to 2; worker 3 holds only key group 2's replica
/// and runs ten times slower from 20 s to 40 s.
fn straggling_replica(lock_step: bool) -> Scenario {
    scenario(&format!(
        r#"
[run]
name = "lock-step"
seed = 3
duration = "60s"
warmup = "5s"
[cluster]
nodes = 4
cores = 2
spares = 0
[workload]
rate = 20000
partitions = 3
keys = 3000
[job]
kind = "running-count"
sink = "idempotent"
parallelism = 3
state_cost = "20us"
[engines.active-standby]
lock_step = {lock_step}
[[faults]]
at = "20s"
straggler = 3
slowdown = 10.0
for = "20s"
"#
    ))
}

#[test]
fn lock_step_makes_a_straggling_replica_slow_its_primary_where_loose_lets_it_drift() {
    let (loose, step) = (
        run(&straggling_replica(false), ENGINE),
        run(&straggling_replica(true), ENGINE),
    );
    for r in [&loose, &step] {
        assert_eq!(r.verdict, Verdict::ExactlyOnce, "{:?}", r.check);
    }
    let p99 = |r: &RunReport| r.p99_ms.unwrap_or(f64::MAX);
    assert!(
        p99(&loose) < 50.0,
        "loose: the primaries never wait ({} ms)",
        p99(&loose)
    );
    assert!(
        p99(&step) > 20.0 * p99(&loose),
        "lock-step {} ms vs loose {} ms",
        p99(&step),
        p99(&loose)
    );
    // Loose: the replica falls behind by seconds of input; lock-step: by a batch.
    assert!(replicas(&loose, 2, "max_lag_records") > 50_000.0);
    assert!(replicas(&step, 2, "max_lag_records") < 1_000.0);
    assert_eq!(replicas(&loose, 0, "max_lag_records"), 0.0);
}

#[test]
fn a_source_restarted_while_its_batches_are_still_on_a_slow_wire_loses_none_of_them() {
    // When the crash is detected the lost sources' batches are still queued on the wire; they
    // arrive after the sources restart elsewhere, on other channels.
    for (at, node) in [("1840ms", 1), ("2710ms", 1), ("3150ms", 0), ("4080ms", 2)] {
        // 600 kB/s: seconds of batches queue on the wire.
        let sc = slow_wires("600kB/s", &format!("[[faults]]\nat = \"{at}\"\ncrash = {node}"));
        let r = run(&sc, ENGINE);
        assert_eq!(
            r.verdict,
            Verdict::ExactlyOnce,
            "crash of {node} at {at}: {}: {:?}",
            repro(&sc),
            r.check
        );
        assert!(
            events(&r, "takeover", "") > 0,
            "crash of {node} at {at}: a primary was lost"
        );
    }
}
