//! `passive-standby`: the standby takes a failed node's tasks at once; the copy's pause costs
//! latency that copy on write trades for memory; a lost standby is replaced by checkpointing
//! again, and a task lost together with its standby is rebuilt from the source log.

use crate::support::{repro, run};
use ftsim_engines::Registry;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::{RunReport, Scenario, Verdict};
use std::path::Path;

fn shipped(sets: &[&str]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/passive-standby.toml");
    let all: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Scenario::load(&path, &Overrides::sets(&all), &Registry::builtin()).unwrap_or_else(|e| panic!("{e}"))
}

fn exact(sc: &Scenario, r: &RunReport) {
    assert_eq!(r.verdict, Verdict::ExactlyOnce, "{}: {:?}", repro(sc), r.check);
    assert!(
        r.stats.finished && r.failures.iter().all(|f| f.restored.is_some()),
        "{}",
        repro(sc)
    );
}

fn column(r: &RunReport, table: &str, name: &str) -> Vec<f64> {
    let t = r.tables.iter().find(|t| t.name == table).expect("table");
    t.numbers(name).into_iter().flatten().collect()
}

#[test]
fn the_standby_takes_the_failed_tasks_at_detection_while_upstream_backup_waits_for_a_spare() {
    let sc = shipped(&[]);
    let ps = run(&sc, "passive-standby");
    let ub = run(&sc, "upstream-backup");
    exact(&sc, &ps);
    exact(&sc, &ub);
    let restore = |r: &RunReport| r.first_failure.and_then(|f| f.restore).expect("restored").as_secs_f64();
    assert!(
        (restore(&ps) - 1.0).abs() < 1e-6,
        "restored at detection: {}",
        restore(&ps)
    );
    assert!(
        restore(&ub) >= 2.0,
        "a spare starts in 1 s after detection: {}",
        restore(&ub)
    );
    assert!(
        ps.stats.ft_bytes > 50 * ub.stats.ft_bytes,
        "checkpoints cross the network"
    );
    assert!(
        ps.events
            .iter()
            .any(|e| e.kind == "moved" && e.node.map(|n| n.0) == Some(4))
    );
}

#[test]
fn copying_state_pauses_the_task_and_copy_on_write_trades_the_pause_for_memory() {
    let paused = run(
        &shipped(&["run.engines=[\"passive-standby\"]", "faults=[]"]),
        "passive-standby",
    );
    let cow = run(
        &shipped(&[
            "run.engines=[\"passive-standby\"]",
            "faults=[]",
            "engines.passive-standby.copy_on_write=true",
        ]),
        "passive-standby",
    );
    let pauses = column(&paused, "checkpoints", "pause_s");
    assert!(
        pauses.iter().all(|p| *p > 0.0) && pauses.iter().any(|p| *p > 0.03),
        "{pauses:?}"
    );
    assert!(column(&paused, "checkpoints", "cow_bytes").iter().all(|b| *b == 0.0));
    assert!(column(&cow, "checkpoints", "pause_s").iter().all(|p| *p == 0.0));
    let held = column(&cow, "checkpoints", "cow_bytes");
    assert!(
        held.iter().all(|b| *b > 0.0) && held.iter().any(|b| *b > 1e6),
        "{held:?}"
    );
    let p99 = |r: &RunReport| r.p99_ms.unwrap_or(f64::MAX);
    assert!(p99(&cow) * 3.0 < p99(&paused), "{} vs {}", p99(&cow), p99(&paused));
}

#[test]
fn a_crashed_standby_is_replaced_by_checkpointing_again_at_once() {
    // Worker 4 holds worker 3's checkpoints; it dies at 20.5 s (detected at 21.5 s), then worker
    // 3 dies at 22.2 s: its tasks must come back from the new checkpoints, not from nothing.
    let sc = shipped(&["faults=[{at=\"20.5s\", crash=4}, {at=\"22.2s\", crash=3}]"]);
    let r = run(&sc, "passive-standby");
    exact(&sc, &r);
    let starts = column(&r, "checkpoints", "start_s");
    assert!(
        starts.iter().any(|s| (21.5..21.6).contains(s)),
        "a checkpoint right after the loss: {starts:?}"
    );
    assert!(
        !r.events.iter().any(|e| e.kind == "scan"),
        "no rebuild from the source log was needed"
    );
}

#[test]
fn a_task_lost_together_with_its_standby_is_rebuilt_from_the_source_log() {
    let sc = shipped(&["faults=[{at=\"30.4s\", crash=[3, 4]}]"]);
    let r = run(&sc, "passive-standby");
    exact(&sc, &r);
    assert!(r.events.iter().any(|e| e.kind == "scan"), "{:?}", r.events);
}

#[test]
fn checkpoints_in_storage_are_read_back_on_a_spare() {
    let sc = shipped(&["engines.passive-standby.standby=\"storage\""]);
    let r = run(&sc, "passive-standby");
    exact(&sc, &r);
    assert!(r.stats.checkpoint_bytes > 0 && r.stats.ft_bytes < 10_000_000);
    let holders = r.tables.iter().find(|t| t.name == "checkpoints").expect("table");
    assert!(holders.cells("holder").all(|c| *c == ftsim_sim::Cell::Text("storage")));
}

/// Both nodes crash, so the task is rebuilt from the source log on the restarted node; it
/// checkpoints before it has applied that scan, and its node dies again: the standby's
/// checkpoint covers less than the upstream logs still hold.
const CHECKPOINT_BEHIND_THE_LOGS: &str = r#"
[run]
name = "behind"
seed = 0
duration = "5096ms"
bucket = "500ms"
drain = "60s"
engines = ["passive-standby"]
[cluster]
nodes = 2
spares = 0
cores = 1
detection_delay = "142ms"
restart_delay = "1162ms"
storage_latency = "10ms"
network_latency = "13406us"
[workload]
rate = 2490
keys = 3
[job]
kind = "running-count"
sink = "append"
parallelism = 1
state_cost = "116us"
parse_cost = "144us"
[engines.passive-standby]
copy_on_write = true
checkpoint_interval = "300ms"
[[faults]]
at = "1714523990ns"
crash = [0, 1]
[[faults]]
at = "3429953034ns"
crash = 0
"#;

#[test]
fn a_checkpoint_behind_the_trimmed_logs_is_completed_from_the_source_log() {
    let sc = Scenario::from_str(
        Path::new("behind.toml"),
        CHECKPOINT_BEHIND_THE_LOGS,
        &Overrides::default(),
        &Registry::builtin(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&sc, "passive-standby");
    assert_eq!(r.verdict, Verdict::AtLeastOnce, "{}: {:?}", repro(&sc), r.check);
    assert!(r.failures.iter().all(|f| f.restored.is_some()), "{}", repro(&sc));
    let scans = r.events.iter().filter(|e| e.kind == "scan").count();
    assert_eq!(scans, 2, "{:?}", r.events);
}
