//! The `none` baseline: exact when nothing fails, and losing what a crash must lose when one does.

use crate::support::{repro, run, scenario};
use ftsim_sim::Verdict;

fn small(job: &str, faults: &str) -> String {
    format!(
        r#"
[run]
name = "none-test"
seed = 3
duration = "20s"
[cluster]
nodes = 4
cores = 2
spares = 1
detection_delay = "1s"
spare_start = "500ms"
[workload]
rate = 4000
keys = 200
[job]
{job}
{faults}
"#
    )
}

const CRASH: &str = "[[faults]]\nat = \"10s\"\ncrash = 1\n";

#[test]
fn without_faults_none_delivers_exactly_once() {
    for job in [
        "kind = \"running-count\"\nsink = \"append\"",
        "kind = \"window-count\"\nwindow = \"2s\"",
    ] {
        let sc = scenario(&small(job, ""));
        let r = run(&sc, "none");
        assert_eq!(
            r.check.verdict,
            Verdict::ExactlyOnce,
            "{} {job}: {:?}",
            repro(&sc),
            r.check
        );
        assert!(r.stats.finished, "the run drained completely");
        assert!(r.records_out > 0);
    }
}

#[test]
fn a_crash_makes_none_lose_window_results_and_keep_its_at_most_once_promise() {
    let sc = scenario(&small(
        "kind = \"window-count\"\nwindow = \"2s\"\nsink = \"transactional\"",
        CRASH,
    ));
    let r = run(&sc, "none");
    assert_eq!(r.check.verdict, Verdict::AtMostOnce, "{}: {:?}", repro(&sc), r.check);
    assert!(r.check.lost > 0 && r.check.duplicated == 0 && r.check.wrong == 0);
    assert!(r.promised.kept_by(r.check.verdict));
    let f = &r.failures[0];
    assert_eq!(f.detected.map(|d| d.since(f.injected).as_secs_f64()), Some(1.0));
    assert!(f.restored.is_some(), "the lost tasks run again on the spare");
}

#[test]
fn a_crash_resets_running_counts_which_an_append_sink_shows_as_repeats() {
    let sc = scenario(&small("kind = \"running-count\"\nsink = \"append\"", CRASH));
    let r = run(&sc, "none");
    assert!(r.check.lost > 0, "counts past the restart are lost: {:?}", r.check);
    assert!(
        r.check.duplicated > 0,
        "the emptied state counts again from 1: {:?}",
        r.check
    );
    assert_eq!(r.check.verdict, Verdict::Violated);
    assert_eq!(r.promised.name(), "none", "none promises nothing for this combination");
}

#[test]
fn an_idempotent_sink_collapses_the_repeats_leaving_only_losses() {
    let sc = scenario(&small("kind = \"running-count\"\nsink = \"idempotent\"", CRASH));
    let r = run(&sc, "none");
    assert_eq!(r.check.verdict, Verdict::AtMostOnce, "{:?}", r.check);
    assert!(r.check.lost > 0);
}

#[test]
fn input_that_arrives_while_a_source_is_down_is_never_read() {
    // Two partitions, sources on workers 0 and 1; one stateful task, on worker 0. Worker 1 dies:
    // only partition 1's source is lost, and it restarts on the spare at the head of the log.
    let text = small(
        "kind = \"running-count\"\nsink = \"idempotent\"\nparallelism = 1",
        CRASH,
    )
    .replace("keys = 200", "keys = 200\npartitions = 2")
    .replace("nodes = 4", "nodes = 2");
    let sc = scenario(&text);
    let r = run(&sc, "none");
    // Partition 1 gets 2000 records/s; it is unread for detection (1 s) + spare start (0.5 s).
    assert!(
        (2_800..=3_200).contains(&r.check.lost),
        "lost {} outputs, expected about 3000",
        r.check.lost
    );
    assert_eq!(r.check.verdict, Verdict::AtMostOnce);
}
