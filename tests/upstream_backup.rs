//! `upstream-backup`: the standby's catch-up grows with the load as span·λ/(1−λ) (measured, not
//! told), never ends at λ ≥ 1; logs are trimmed by checkpoints and acknowledgements; recovery is
//! precise (exactly-once with an idempotent sink); a straggler is handled only as a failure.

use crate::support::{repro, run};
use ftsim_engines::Registry;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::{RunReport, Scenario, Verdict};
use std::path::Path;

fn shipped(sets: &[&str]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/upstream-backup.toml");
    let mut all = vec!["run.engines=[\"upstream-backup\"]".to_string()];
    all.extend(sets.iter().map(|s| s.to_string()));
    Scenario::load(&path, &Overrides::sets(&all), &Registry::builtin()).unwrap_or_else(|e| panic!("{e}"))
}

/// (catch-up seconds, replayed records) of the one recovery.
fn recovery(r: &RunReport) -> Option<(f64, f64)> {
    let t = r.tables.iter().find(|t| t.name == "recoveries")?;
    let catch_up = t.numbers("catch_up_s").first().copied().flatten()?;
    let replayed = t.numbers("replayed_records").first().copied().flatten()?;
    Some((catch_up, replayed))
}

#[test]
fn the_standbys_catch_up_grows_with_load_as_the_replay_span_times_lambda_over_one_minus_lambda() {
    let mut last = 0.0;
    for cost in ["300us", "500us", "700us", "800us"] {
        let state_cost = format!("job.state_cost={cost}");
        // The load of the recovering node's core, measured in normal operation.
        let quiet = shipped(&[&state_cost, "faults=[]", "run.duration=60s"]);
        let q = run(&quiet, "upstream-backup");
        let busy = q.stats.busy_seconds[2];
        let lambda = busy / 60.0;
        let per_record = busy / q.stats.ledger.applied as f64 * 3.0; // node 2 applies a third
        let rate = lambda / per_record;
        let sc = shipped(&[&state_cost, "run.duration=220s"]);
        let r = run(&sc, "upstream-backup");
        assert_eq!(r.verdict, Verdict::ExactlyOnce, "{cost}: {:?}", r.check);
        let (catch_up, replayed) = recovery(&r).unwrap_or_else(|| panic!("{cost}: caught up"));
        let span = replayed / rate;
        let predicted = span * lambda / (1.0 - lambda);
        eprintln!(
            "state cost {cost}: λ {lambda:.3}, span {span:.1} s, catch-up {catch_up:.1} s, predicted {predicted:.1} s"
        );
        assert!(
            (catch_up / predicted - 1.0).abs() <= 0.25,
            "{cost}: λ = {lambda:.3}, span {span:.1}s: caught up in {catch_up:.1}s, predicted {predicted:.1}s"
        );
        assert!(catch_up > last, "the catch-up grows with the load");
        last = catch_up;
    }
}

#[test]
fn at_a_load_of_one_or_more_the_standby_catches_up_only_once_the_input_has_ended() {
    let sc = shipped(&["job.state_cost=1020us", "run.duration=100s"]);
    let r = run(&sc, "upstream-backup");
    let t = r
        .tables
        .iter()
        .find(|t| t.name == "recoveries")
        .expect("recoveries.csv");
    let caught_up = t.numbers("caught_up_s").first().copied().flatten();
    assert!(
        caught_up.is_some_and(|c| c > 100.0),
        "{}: while input keeps coming the backlog only grows ({caught_up:?})",
        repro(&sc)
    );
}

#[test]
fn checkpoints_trim_the_logs_and_without_them_a_running_counts_logs_only_grow() {
    let held = |r: &RunReport| -> Vec<f64> {
        let t = r.tables.iter().find(|t| t.name == "log").expect("log.csv");
        t.numbers("records").into_iter().flatten().collect()
    };
    let with = run(&shipped(&["faults=[]", "run.duration=70s"]), "upstream-backup");
    let h = held(&with);
    assert!(
        h.windows(2).any(|w| w[1] < w[0] / 2.0),
        "a checkpoint trims the logs: {h:?}"
    );
    let without = run(
        &shipped(&[
            "faults=[]",
            "run.duration=70s",
            "engines.upstream-backup.checkpoint_interval=0s",
        ]),
        "upstream-backup",
    );
    let h = held(&without);
    assert!(h.windows(2).all(|w| w[1] >= w[0]), "nothing trims them");
    assert!(
        h.last().copied().unwrap_or(0.0) > 190_000.0,
        "every record is held: {h:?}"
    );
}

#[test]
fn the_replay_is_precise_so_only_already_emitted_outputs_repeat() {
    let append = shipped(&["job.sink=append"]);
    let r = run(&append, "upstream-backup");
    assert_eq!(r.verdict, Verdict::AtLeastOnce, "{:?}", r.check);
    assert!(
        r.check.lost == 0 && r.check.wrong == 0 && r.check.duplicated > 0,
        "{:?}",
        r.check
    );
    assert!(r.promise_kept);
    let windows = shipped(&["job.kind=window-count", "job.window=2s", "job.state_cost=200us"]);
    let r = run(&windows, "upstream-backup");
    assert_eq!(r.verdict, Verdict::ExactlyOnce, "{:?}", r.check);
}

#[test]
fn a_straggler_is_handled_only_by_treating_it_as_failed() {
    // Worker 2 runs 4× slower for 30 s: at a load of 0.6 its backlog grows by 1.4 s a second.
    let straggler = "faults=[{at=\"30s\", straggler=2, slowdown=4.0, for=\"30s\"}]";
    let kept = run(&shipped(&[straggler]), "upstream-backup");
    let given_up = run(
        &shipped(&[straggler, "engines.upstream-backup.slowness_threshold=2s"]),
        "upstream-backup",
    );
    assert!(
        given_up
            .events
            .iter()
            .any(|e| e.kind == "abandoned" && e.node.map(|n| n.0) == Some(2))
    );
    assert!(!kept.events.iter().any(|e| e.kind == "abandoned"));
    for r in [&kept, &given_up] {
        assert_eq!(r.verdict, Verdict::ExactlyOnce, "{:?}", r.check);
    }
    let p99 = |r: &RunReport| r.p99_ms.unwrap_or(f64::MAX);
    assert!(
        p99(&given_up) < p99(&kept),
        "giving the straggler up beats waiting for it: {} vs {}",
        p99(&given_up),
        p99(&kept)
    );
}
