//! `dstream` and `structured-streaming`: the D-Streams paper's failure and straggler experiments
//! in miniature, master crashes, and the contrast with Structured Streaming's restart.

use crate::support::{repro, run, shipped};
use ftsim_sim::{RunReport, Scenario, Verdict};

/// One row of batches.csv: (batch time, processing time), seconds.
fn batches(r: &RunReport) -> Vec<(f64, f64)> {
    let t = r
        .tables
        .iter()
        .find(|t| t.name == "batches")
        .expect("the engine writes batches.csv");
    t.numbers("batch_time_s")
        .into_iter()
        .zip(t.numbers("processing_time_s"))
        .map(|(b, p)| (b.expect("a batch time"), p.expect("a processing time")))
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Mean processing time of the batches whose batch time lies in `from..to`.
fn mean_processing(r: &RunReport, from: f64, to: f64) -> f64 {
    let v: Vec<f64> = batches(r)
        .into_iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|(_, p)| p)
        .collect();
    mean(&v)
}

fn max_processing(r: &RunReport, from: f64) -> f64 {
    batches(r)
        .into_iter()
        .filter(|(t, _)| *t >= from)
        .map(|(_, p)| p)
        .fold(0.0, f64::max)
}

/// Seconds from detection to `restored` of the first failure.
fn recovery_after_detection(r: &RunReport) -> f64 {
    let f = &r.failures[0];
    let (d, s) = (f.detected.expect("detected"), f.restored.expect("restored"));
    s.since(d).as_secs_f64()
}

fn exact(sc: &Scenario, r: &RunReport) {
    assert_eq!(r.check.verdict, Verdict::ExactlyOnce, "{}: {:?}", repro(sc), r.check);
    assert!(r.promised.kept_by(r.check.verdict), "{}", repro(sc));
    assert!(r.stats.finished, "{}: the run drained", repro(sc));
}

const FAILURE: &str = "dstream-failure.toml";
const CRASH_AT: f64 = 19.6;

#[test]
fn a_worker_crash_delays_dstream_results_by_seconds_and_processing_time_returns_to_normal() {
    let sc = shipped(FAILURE, "dstream", &[]);
    let r = run(&sc, "dstream");
    exact(&sc, &r);
    let normal = mean_processing(&r, 5.0, 18.0);
    let worst = max_processing(&r, 18.0);
    assert!(
        worst > 2.0 * normal && worst < 4.0,
        "the batches in flight are delayed by seconds, not more: worst {worst:.2}s vs normal {normal:.2}s"
    );
    let after = mean_processing(&r, CRASH_AT + 6.0, 40.0);
    assert!(
        after < 1.15 * normal,
        "processing time returns to normal: {after:.2}s vs {normal:.2}s"
    );
    let rec = recovery_after_detection(&r);
    assert!(
        rec < 1.0,
        "lost state recomputed in parallel within a second: {rec:.2}s"
    );
    assert!(
        r.events.iter().any(|e| e.kind == "recovery-start") && r.events.iter().any(|e| e.kind == "checkpoint"),
        "events.csv shows checkpoints and the recovery"
    );
}

#[test]
fn checkpointing_every_two_batches_shortens_dstream_recovery() {
    let ten = run(&shipped(FAILURE, "dstream", &[]), "dstream");
    let sc = shipped(FAILURE, "dstream", &["engines.dstream.checkpoint_every=2"]);
    let two = run(&sc, "dstream");
    exact(&sc, &two);
    let (a, b) = (recovery_after_detection(&ten), recovery_after_detection(&two));
    assert!(b < 0.5 * a, "shorter lineage recovers faster: {b:.2}s vs {a:.2}s");
    let (wa, wb) = (max_processing(&ten, 18.0), max_processing(&two, 18.0));
    assert!(wb < wa, "and delays the batches less: {wb:.2}s vs {wa:.2}s");
    assert!(
        two.stats.checkpoint_bytes > 3 * ten.stats.checkpoint_bytes,
        "at the price of more checkpoint bytes"
    );
}

#[test]
fn forty_nodes_recover_from_a_crash_about_twice_as_fast_as_twenty() {
    let twenty = run(&shipped(FAILURE, "dstream", &[]), "dstream");
    let sc = shipped(
        FAILURE,
        "dstream",
        &["cluster.nodes=40", "workload.rate=48000", "job.parallelism=80"],
    );
    let forty = run(&sc, "dstream");
    exact(&sc, &forty);
    let (a, b) = (recovery_after_detection(&twenty), recovery_after_detection(&forty));
    assert!(
        b <= 0.7 * a,
        "the lost partitions' recompute is spread over twice the cores: {b:.3}s vs {a:.3}s"
    );
}

#[test]
fn structured_streaming_recovers_from_a_worker_crash_more_slowly_than_dstream() {
    let sc = shipped(FAILURE, "structured-streaming", &[]);
    let ss = run(&sc, "structured-streaming");
    exact(&sc, &ss);
    let ds = run(&shipped(FAILURE, "dstream", &[]), "dstream");
    let (a, b) = (recovery_after_detection(&ds), recovery_after_detection(&ss));
    assert!(
        b > a + 4.0,
        "a query restart takes longer than parallel recovery: {b:.2}s vs {a:.2}s"
    );
    let (wa, wb) = (max_processing(&ds, 18.0), max_processing(&ss, 18.0));
    assert!(wb > 2.0 * wa, "and its catch-up batch is long: {wb:.2}s vs {wa:.2}s");
    assert!(ss.p99_ms > ds.p99_ms, "so its latency suffers more");
    assert!(
        ss.events.iter().any(|e| e.kind == "query-restart"),
        "events.csv shows the restart"
    );
}

const STRAGGLER: &str = "dstream-straggler.toml";

#[test]
fn without_speculation_a_straggler_multiplies_batch_processing_time() {
    for engine in ["dstream", "structured-streaming"] {
        let sc = shipped(STRAGGLER, engine, &[&format!("engines.{engine}.speculation=false")]);
        let r = run(&sc, engine);
        exact(&sc, &r);
        let (normal, slow) = (mean_processing(&r, 2.0, 10.0), mean_processing(&r, 10.0, 30.0));
        assert!(
            slow > 3.0 * normal,
            "{engine}: a batch waits for its slowest task: {slow:.2}s vs {normal:.2}s"
        );
    }
}

/// (started, processing time, scheduling delay) of each batch, seconds.
fn runs(r: &RunReport) -> Vec<(f64, f64, f64)> {
    let t = r.tables.iter().find(|t| t.name == "batches").expect("batches.csv");
    let col = |c: &str| t.numbers(c).into_iter().map(|x| x.expect(c)).collect::<Vec<_>>();
    let (start, took, delay) = (col("started_s"), col("processing_time_s"), col("scheduling_delay_s"));
    (0..start.len()).map(|i| (start[i], took[i], delay[i])).collect()
}

#[test]
fn with_one_job_at_a_time_a_straggler_shows_as_scheduling_delay_and_processing_time_settles() {
    let spark = shipped(
        STRAGGLER,
        "dstream",
        &["engines.dstream.speculation=false", "engines.dstream.concurrent_jobs=1"],
    );
    let r = run(&spark, "dstream");
    exact(&spark, &r);
    let all = runs(&r);
    let normal = mean(&all.iter().filter(|b| b.0 < 10.0).map(|b| b.1).collect::<Vec<_>>());
    // Batches that ran wholly inside the straggler's window (10 s to 30 s).
    let slow: Vec<_> = all.iter().filter(|b| b.0 >= 11.0 && b.0 + b.1 < 30.0).collect();
    assert!(slow.len() >= 3, "several batches ran during the straggler: {slow:?}");
    for b in &slow {
        assert!(
            b.1 > 4.0 * normal && b.1 < 8.0 * normal,
            "a batch takes as long as its slowest task, no longer: {:.2}s vs {normal:.2}s normal",
            b.1
        );
    }
    let waited = slow.iter().map(|b| b.2).fold(0.0, f64::max);
    assert!(waited > 5.0, "later batches wait their turn instead: {waited:.2}s");
    // Pipelined, the same batches also wait for the slow state partitions' previous batch.
    let piped = run(
        &shipped(STRAGGLER, "dstream", &["engines.dstream.speculation=false"]),
        "dstream",
    );
    let grows: Vec<f64> = batches(&piped)
        .into_iter()
        .filter(|b| (11.0..20.0).contains(&b.0))
        .map(|b| b.1)
        .collect();
    let (first, most) = (grows[0], grows.iter().copied().fold(0.0, f64::max));
    assert!(
        most > 2.0 * first,
        "pipelined, processing time keeps growing: {first:.2}s to {most:.2}s"
    );
}

#[test]
fn with_speculation_a_straggler_keeps_batch_processing_time_within_twice_normal() {
    for engine in ["dstream", "structured-streaming"] {
        let sc = shipped(STRAGGLER, engine, &[]);
        let r = run(&sc, engine);
        exact(&sc, &r);
        let (normal, slow) = (mean_processing(&r, 2.0, 10.0), mean_processing(&r, 10.0, 30.0));
        assert!(
            slow < 2.0 * normal,
            "{engine}: backup copies finish elsewhere: {slow:.2}s vs {normal:.2}s"
        );
        assert!(r.events.iter().any(|e| e.kind == "speculate"), "{engine} speculated");
    }
}

const MASTER: &str = "dstream-master.toml";

#[test]
fn both_engines_survive_a_master_crash_exactly_once_without_committing_twice() {
    for engine in ["dstream", "structured-streaming"] {
        for kind in ["window-count", "running-count"] {
            let sc = shipped(MASTER, engine, &[&format!("job.kind=\"{kind}\"")]);
            let r = run(&sc, engine);
            exact(&sc, &r);
            assert!(r.events.iter().any(|e| e.kind == "master-recovered"), "{engine}");
            assert!(r.failures[0].restored.is_some(), "{engine}: the master runs again");
            assert_eq!(r.stats.uncommitted, 0, "{engine}: every batch committed");
        }
    }
}

#[test]
fn a_rerun_batch_can_show_twice_in_an_append_sink_which_the_at_least_once_promise_allows() {
    let sc = shipped(
        MASTER,
        "structured-streaming",
        &["job.kind=\"running-count\"", "job.sink=\"append\""],
    );
    let r = run(&sc, "structured-streaming");
    assert_eq!(r.promised.name(), "at-least-once");
    assert_eq!(r.check.verdict, Verdict::AtLeastOnce, "{}: {:?}", repro(&sc), r.check);
    assert!(r.check.duplicated > 0 && r.check.lost == 0 && r.check.wrong == 0);
    assert!(r.promised.kept_by(r.check.verdict));
}

#[test]
fn dstream_is_exactly_once_for_window_jobs_and_unreplicated_blocks_across_a_crash() {
    for sets in [
        vec![
            "job.kind=\"window-count\"",
            "job.window=\"3s\"",
            "job.sink=\"idempotent\"",
        ],
        vec!["engines.dstream.block_replication=1", "run.duration=\"25s\""],
    ] {
        let sc = shipped(FAILURE, "dstream", &sets);
        let r = run(&sc, "dstream");
        exact(&sc, &r);
        assert!(r.failures[0].restored.is_some(), "{sets:?}");
    }
}
