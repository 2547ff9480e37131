//! `flink-abs`: asynchronous barrier snapshots. Aligned checkpoints slow down under
//! backpressure while unaligned ones stay fast and grow; recovery restarts from the last
//! completed checkpoint; the two-phase-commit sink gives exactly-once end to end.

use crate::support::{repro, run, scenario};
use ftsim_sim::{Cell, RunReport, Scenario, Verdict};

/// A small job: 4 workers × 2 cores, 4000 records/s over 200 keys for `secs` seconds.
fn small(secs: u32, job: &str, engine: &str, faults: &str) -> String {
    format!(
        r#"
[run]
name = "flink-test"
seed = 5
duration = "{secs}s"
engines = ["flink-abs"]
[cluster]
nodes = 4
cores = 2
spares = 1
detection_delay = "1s"
spare_start = "500ms"
restart_delay = "2s"
[workload]
rate = 4000
keys = 200
[job]
{job}
[engines.flink-abs]
checkpoint_interval = "2s"
{engine}
{faults}
"#
    )
}

/// Worker 1 runs 30× slower from 8 s to 18 s: its stateful task throttles the whole job.
const STRAGGLER: &str = "[[faults]]\nat = \"8s\"\nstraggler = 1\nslowdown = 30.0\nfor = \"10s\"\n";
const CRASH: &str = "[[faults]]\nat = \"10.5s\"\ncrash = 2\n";
const MASTER: &str = "[[faults]]\nat = \"10.5s\"\ncrash = \"master\"\n";
/// The straggler, and a crash at 14.5 s while a checkpoint is in flight (aligned ones last
/// seconds behind the straggler's queues; the test checks one was aborted).
const DURING: &str =
    "[[faults]]\nat = \"8s\"\nstraggler = 1\nslowdown = 30.0\nfor = \"10s\"\n[[faults]]\nat = \"14.5s\"\ncrash = 2\n";

/// checkpoints.csv as rows of numbers: (start, duration, alignment, state, inflight) of the
/// completed checkpoints.
fn checkpoints(r: &RunReport) -> Vec<(f64, f64, f64, f64, f64)> {
    let t = r
        .tables
        .iter()
        .find(|t| t.name == "checkpoints")
        .unwrap_or_else(|| panic!("no checkpoints table"));
    let col = |name: &str| t.numbers(name).into_iter().map(|x| x.unwrap_or(f64::NAN));
    let completed = t.cells("status").map(|c| *c == Cell::Text("completed"));
    completed
        .zip(col("start_s"))
        .zip(col("duration_s"))
        .zip(col("alignment_s"))
        .zip(col("state_bytes"))
        .zip(col("inflight_bytes"))
        .filter(|(((((done, _), _), _), _), _)| *done)
        .map(|(((((_, s), d), a), st), inf)| (s, d, a, st, inf))
        .collect()
}

fn max_in(rows: &[(f64, f64, f64, f64, f64)], from: f64, to: f64, pick: fn(&(f64, f64, f64, f64, f64)) -> f64) -> f64 {
    rows.iter()
        .filter(|r| r.0 >= from && r.0 < to)
        .map(pick)
        .fold(0.0, f64::max)
}

fn job(kind: &str, sink: &str) -> String {
    format!("kind = \"{kind}\"\nsink = \"{sink}\"\nstate_cost = \"100us\"\nwindow = \"2s\"")
}

fn run_mode(secs: u32, job: &str, mode: &str, faults: &str) -> (Scenario, RunReport) {
    let sc = scenario(&small(secs, job, &format!("mode = \"{mode}\""), faults));
    let r = run(&sc, "flink-abs");
    (sc, r)
}

/// A slow source: worker 3 hosts only a source (3 stateful tasks on workers 0–2) and runs 12×
/// slower from 8 s to 18 s with a heavy parse step, so its barriers come late everywhere.
const SLOW_SOURCE: &str =
    "[[faults]]\nat = \"8s\"\nstraggler = 3\nslowdown = 12.0\nfor = \"10s\"\n[[faults]]\nat = \"14.5s\"\ncrash = 2\n";

fn slow_source_job(sink: &str) -> String {
    format!("kind = \"running-count\"\nsink = \"{sink}\"\nparallelism = 3\nparse_cost = \"100us\"")
}

#[test]
fn flink_verdicts_hold_across_crash_coordinator_crash_crash_during_checkpoint_and_straggler() {
    for (fname, faults) in [
        ("crash", CRASH),
        ("master", MASTER),
        ("during", DURING),
        ("straggler", STRAGGLER),
    ] {
        for mode in ["aligned", "unaligned", "at-least-once"] {
            for sink in ["transactional", "append", "idempotent"] {
                let (sc, r) = run_mode(28, &job("running-count", sink), mode, faults);
                let c = r.check;
                let what = format!("{fname} {mode} {sink} ({}): {c:?}", repro(&sc));
                assert!(r.promised.kept_by(c.verdict), "promise broken: {what}");
                assert!(r.stats.finished, "the run drains and commits everything: {what}");
                assert_eq!(
                    r.stats.uncommitted, 0,
                    "the final checkpoint commits the last transactions: {what}"
                );
                assert_eq!(c.lost, 0, "restarting from a checkpoint never loses output: {what}");
                let crashed = fname != "straggler";
                if fname == "during" && mode != "unaligned" {
                    assert!(
                        r.events.iter().any(|e| e.kind == "checkpoint-aborted"),
                        "crash during a checkpoint: {what}"
                    );
                }
                match (mode, sink) {
                    ("at-least-once", _) => assert_eq!(r.promised.name(), "at-least-once", "{what}"),
                    (_, "append") if crashed => {
                        assert_eq!(c.verdict, Verdict::AtLeastOnce, "replayed emissions show twice: {what}");
                        assert!(c.duplicated > 0 && c.wrong == 0, "{what}");
                    }
                    _ => assert_eq!(c.verdict, Verdict::ExactlyOnce, "{what}"),
                }
            }
        }
    }
}

#[test]
fn window_results_survive_a_crash_exactly_once_in_both_exactly_once_modes() {
    for mode in ["aligned", "unaligned"] {
        for faults in [CRASH, DURING] {
            let (sc, r) = run_mode(24, &job("window-count", "transactional"), mode, faults);
            assert_eq!(
                r.check.verdict,
                Verdict::ExactlyOnce,
                "{mode} ({}): {:?}",
                repro(&sc),
                r.check
            );
            assert!(r.stats.finished && r.check.expected > 0);
        }
    }
}

#[test]
fn aligned_checkpoints_slow_down_under_backpressure_while_unaligned_ones_stay_fast_and_grow() {
    let (_, aligned) = run_mode(24, &job("running-count", "append"), "aligned", STRAGGLER);
    let (_, unaligned) = run_mode(24, &job("running-count", "append"), "unaligned", STRAGGLER);
    let (a, u) = (checkpoints(&aligned), checkpoints(&unaligned));
    let dur = |r: &(f64, f64, f64, f64, f64)| r.1;
    let align = |r: &(f64, f64, f64, f64, f64)| r.2;
    let infl = |r: &(f64, f64, f64, f64, f64)| r.4;
    // Before the straggler (checkpoints at 2, 4, 6 s) and while it lasts (8 to 18 s).
    let (a_before, a_during) = (max_in(&a, 0.0, 7.0, dur), max_in(&a, 8.0, 18.0, dur));
    assert!(
        a_before < 0.05,
        "aligned checkpoints are quick without backpressure: {a_before}"
    );
    assert!(
        a_during > 0.5 && a_during > 10.0 * a_before,
        "barriers wait behind queued buffers: {a_during}"
    );
    let (al_before, al_during) = (max_in(&a, 0.0, 7.0, align), max_in(&a, 8.0, 18.0, align));
    assert!(
        al_during > 3.0 * al_before,
        "alignment grows too: {al_before} → {al_during}"
    );
    let u_during = max_in(&u, 8.0, 18.0, dur);
    assert!(u_during < 0.05, "unaligned barriers overtake the queues: {u_during}");
    assert_eq!(
        max_in(&u, 0.0, 30.0, align),
        0.0,
        "unaligned checkpoints never block an input"
    );
    let (i_before, i_during) = (max_in(&u, 0.0, 7.0, infl), max_in(&u, 8.0, 18.0, infl));
    assert!(
        i_during > 2.0 * i_before,
        "the overtaken buffers make the checkpoint grow: {i_before} → {i_during}"
    );
    assert_eq!(
        max_in(&a, 0.0, 30.0, infl),
        0.0,
        "aligned checkpoints keep no in-flight data"
    );
    let backlog = |r: &RunReport| r.series.iter().map(|b| b.backlog).max().unwrap_or(0);
    assert!(backlog(&aligned) > 2_000, "backpressure reaches the source log");
    assert!(
        backlog(&unaligned) < backlog(&aligned),
        "blocked inputs add to the backpressure"
    );
}

#[test]
fn a_slow_source_makes_aligned_tasks_block_and_at_least_once_mode_count_records_twice() {
    let sc = scenario(&small(
        24,
        &slow_source_job("transactional"),
        "mode = \"aligned\"",
        SLOW_SOURCE,
    ));
    let aligned = run(&sc, "flink-abs");
    let a = checkpoints(&aligned);
    let align = |r: &(f64, f64, f64, f64, f64)| r.2;
    assert!(max_in(&a, 0.0, 7.0, align) < 0.01);
    assert!(
        max_in(&a, 8.0, 18.0, align) > 0.1,
        "fast inputs wait for the slow source's barrier: {a:?}"
    );
    assert_eq!(
        aligned.check.verdict,
        Verdict::ExactlyOnce,
        "{}: {:?}",
        repro(&sc),
        aligned.check
    );
    let sc = scenario(&small(
        24,
        &slow_source_job("transactional"),
        "mode = \"at-least-once\"",
        SLOW_SOURCE,
    ));
    let alo = run(&sc, "flink-abs");
    // Records that alignment would have held back are in the snapshot and are replayed: their
    // keys' counts go past the right value (wrong: counted twice), and nothing is lost.
    assert!(
        alo.check.wrong > 0 && alo.check.lost == 0,
        "{}: {:?}",
        repro(&sc),
        alo.check
    );
    assert_eq!(alo.check.verdict, Verdict::AtLeastOnce, "{}", repro(&sc));
    assert!(alo.promised.kept_by(alo.check.verdict));
    assert_eq!(
        max_in(&checkpoints(&alo), 0.0, 30.0, align),
        0.0,
        "at-least-once never blocks"
    );
}

#[test]
fn recovery_takes_detection_plus_restart_delay_plus_restore_then_catches_up() {
    let (sc, r) = run_mode(24, &job("running-count", "idempotent"), "aligned", CRASH);
    let f = &r.failures[0];
    let restored = f.restored.map(|t| t.since(f.injected).as_secs_f64());
    // Detection 1 s, then the 1 s restart delay (the spare is ready after 0.5 s), then a
    // 10 ms storage read of a few KB of state.
    let restored = restored.unwrap_or_else(|| panic!("{}: never restored", repro(&sc)));
    assert!((2.0..2.1).contains(&restored), "restored after {restored} s");
    let caught = f.caught_up.map(|t| t.since(f.injected).as_secs_f64());
    assert!(
        caught.is_some_and(|c| c > restored),
        "catching up follows the restore: {caught:?}"
    );
    assert!(r.events.iter().any(|e| e.kind == "job-restart") && r.events.iter().any(|e| e.kind == "job-running"));
}

#[test]
fn shorter_checkpoint_intervals_shorten_the_catch_up_and_write_more() {
    let mut catch_up = Vec::new();
    let mut written = Vec::new();
    for interval in ["1s", "8s"] {
        let text = small(
            30,
            "kind = \"running-count\"\nsink = \"idempotent\"\nstate_cost = \"300us\"",
            "",
            "[[faults]]\nat = \"15.5s\"\ncrash = 2\n",
        )
        .replace(
            "checkpoint_interval = \"2s\"",
            &format!("checkpoint_interval = \"{interval}\""),
        );
        let sc = scenario(&text);
        let r = run(&sc, "flink-abs");
        assert_eq!(r.check.verdict, Verdict::ExactlyOnce, "{interval}: {:?}", r.check);
        let f = &r.failures[0];
        let (Some(restored), Some(caught)) = (f.restored, f.caught_up) else {
            panic!("{interval} ({}): no restore or catch-up: {f:?}", repro(&sc));
        };
        catch_up.push(caught.since(restored).as_secs_f64());
        written.push(r.stats.checkpoint_bytes);
    }
    assert!(
        catch_up[0] < catch_up[1],
        "less to replay after 1 s than after 8 s: {catch_up:?}"
    );
    assert!(written[0] > 3 * written[1], "more checkpoints write more: {written:?}");
}

#[test]
fn a_two_phase_commit_sink_shows_output_at_checkpoint_completion() {
    let p50 = |sink: &str, interval: &str| {
        let text = small(20, &job("running-count", sink), "", "").replace(
            "checkpoint_interval = \"2s\"",
            &format!("checkpoint_interval = \"{interval}\""),
        );
        let r = run(&scenario(&text), "flink-abs");
        assert_eq!(r.check.verdict, Verdict::ExactlyOnce);
        r.p50_ms.unwrap_or(f64::NAN)
    };
    let (append, short, long) = (
        p50("append", "1s"),
        p50("transactional", "1s"),
        p50("transactional", "4s"),
    );
    assert!(append < 200.0, "append output shows at once: {append} ms");
    assert!(
        short > 300.0 && long > 2.5 * short,
        "visible latency follows the interval: {short} / {long} ms"
    );
}

#[test]
fn an_aligned_timeout_turns_slow_aligned_checkpoints_unaligned() {
    let sc = scenario(&small(
        28,
        &job("running-count", "transactional"),
        "mode = \"aligned\"\naligned_timeout = \"100ms\"",
        DURING,
    ));
    let r = run(&sc, "flink-abs");
    let c = checkpoints(&r);
    let dur = |r: &(f64, f64, f64, f64, f64)| r.1;
    let infl = |r: &(f64, f64, f64, f64, f64)| r.4;
    assert!(
        max_in(&c, 8.0, 18.0, dur) < 0.3,
        "no checkpoint waits long behind the queues: {c:?}"
    );
    assert!(
        max_in(&c, 8.0, 18.0, infl) > 0.0,
        "timed-out checkpoints keep in-flight buffers"
    );
    assert_eq!(max_in(&c, 0.0, 7.0, infl), 0.0, "quick ones stay aligned");
    assert_eq!(r.check.verdict, Verdict::ExactlyOnce, "{}: {:?}", repro(&sc), r.check);
}

#[test]
fn flink_runs_are_deterministic() {
    let go = || run_mode(20, &job("window-count", "transactional"), "unaligned", DURING).1;
    let (a, b) = (go(), go());
    assert_eq!(a.tables, b.tables);
    assert_eq!(a.check, b.check);
    assert_eq!(a.stats.sim_events, b.stats.sim_events);
}

#[test]
fn min_pause_spaces_checkpoints_out_and_region_failover_restarts_the_one_region() {
    let text = small(
        20,
        &job("running-count", "transactional"),
        "min_pause = \"3s\"\nfailover = \"region\"",
        CRASH,
    );
    let r = run(&scenario(&text), "flink-abs");
    // The final checkpoint, at the end of input (20 s), is taken as soon as all is processed.
    let starts: Vec<f64> = checkpoints(&r).iter().map(|c| c.0).filter(|s| *s < 20.0).collect();
    assert!(starts.len() >= 3, "{starts:?}");
    assert!(
        starts.windows(2).all(|w| w[1] - w[0] >= 3.0),
        "3 s pause after each checkpoint, although the interval is 2 s: {starts:?}"
    );
    let restart = r
        .events
        .iter()
        .find(|e| e.kind == "job-restart")
        .map(|e| e.detail.clone());
    assert!(
        restart.is_some_and(|d| d.contains("region (= full")),
        "the keyed exchange makes one region"
    );
    assert_eq!(r.check.verdict, Verdict::ExactlyOnce, "{:?}", r.check);
}

#[test]
fn a_coordinator_that_crashed_but_is_not_yet_detected_starts_no_checkpoint() {
    // Checkpoints every 2 s; the master dies at 9.9 s and is detected at 10.9 s: the trigger
    // due at 10 s must not start a checkpoint from a dead coordinator.
    let master = "[[faults]]\nat = \"9.9s\"\ncrash = \"master\"\n";
    let (sc, r) = run_mode(16, &job("window-count", "transactional"), "aligned", master);
    assert_eq!(r.verdict, Verdict::ExactlyOnce, "{}: {:?}", repro(&sc), r.check);
    let started_while_dead = r
        .events
        .iter()
        .filter(|e| e.kind == "checkpoint-start")
        .any(|e| e.t.as_secs_f64() >= 9.9 && e.t.as_secs_f64() < 10.9);
    assert!(!started_while_dead, "{:?}", r.events);
    assert!(
        r.events
            .iter()
            .any(|e| e.kind == "checkpoint-start" && e.t.as_secs_f64() < 9.9),
        "checkpoints ran before the crash"
    );
}
