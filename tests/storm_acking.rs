//! `storm-acking`: at-least-once after a crash (inflated counts, nothing lost) and exactly-once
//! without one; recovery waits for the message timeout; `max_spout_pending` trades throughput
//! for the size of the replay; no ackers is at-most-once with a quarter of the messages; the ack
//! stream travels in flushes that cut kernel events but not the messages counted, and a crash
//! loses what waited in the node's outbox; Trident is exactly-once across crashes with a
//! transactional sink, at least the batch interval late.

use crate::support::{repro, run};
use ftsim_engines::Registry;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::{RunReport, Scenario, Verdict};
use std::path::Path;

fn shipped(name: &str, sets: &[&str]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
    let all: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Scenario::load(&path, &Overrides::sets(&all), &Registry::builtin()).unwrap_or_else(|e| panic!("{e}"))
}

fn storm(sets: &[&str]) -> (Scenario, RunReport) {
    let sc = shipped("storm-acking", sets);
    let r = run(&sc, "storm-acking");
    (sc, r)
}

fn trident(sets: &[&str]) -> (Scenario, RunReport) {
    let sc = shipped("storm-trident", sets);
    let r = run(&sc, "storm-acking");
    (sc, r)
}

/// The sum of a column of one of the engine's tables.
fn total(r: &RunReport, table: &str, column: &str) -> f64 {
    let t = r.tables.iter().find(|t| t.name == table).expect("the table");
    t.numbers(column).into_iter().flatten().sum()
}

/// Column `column` of `table` in the row whose `key` column is `value`.
fn cell(r: &RunReport, table: &str, key: &str, value: f64, column: &str) -> Option<f64> {
    let t = r.tables.iter().find(|t| t.name == table)?;
    let row = t.numbers(key).iter().position(|v| *v == Some(value))?;
    t.numbers(column)[row]
}

#[test]
fn without_trident_a_crash_inflates_counts_but_loses_nothing_so_the_verdict_is_at_least_once() {
    let (sc, r) = storm(&[]);
    assert_eq!(r.verdict, Verdict::AtLeastOnce, "{}: {:?}", repro(&sc), r.check);
    assert_eq!(r.check.lost, 0);
    assert!(
        r.check.wrong > 0,
        "replayed tuples whose first copy was counted inflate counts"
    );
    assert!(total(&r, "tuples", "replayed") > 0.0, "the lost tuples were replayed");
    assert!(r.stats.finished && r.stats.breaches.is_empty());
    let none = run(&sc, "none");
    assert!(none.check.lost > 0, "without tracking the executor's counts are lost");
}

#[test]
fn every_mode_is_exactly_once_on_a_run_without_faults() {
    for mode in [
        "",
        "engines.storm-acking.ackers=0",
        "engines.storm-acking.state=\"memory\"",
    ] {
        for kind in ["running-count", "window-count"] {
            let kind = format!("job.kind=\"{kind}\"");
            let sets: Vec<&str> = ["faults=[]", "run.duration=20s", kind.as_str(), mode]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            let (sc, r) = storm(&sets);
            assert_eq!(
                r.verdict,
                Verdict::ExactlyOnce,
                "{mode} {kind} {}: {:?}",
                repro(&sc),
                r.check
            );
            let (sc, r) = trident(&sets);
            assert_eq!(
                r.verdict,
                Verdict::ExactlyOnce,
                "trident {mode} {kind} {}: {:?}",
                repro(&sc),
                r.check
            );
        }
    }
}

/// Measured on the shipped scenario (crash at 20 s, detection 2 s, spare 1 s): recovery 41 s
/// with a 20 s timeout, 21 s with 10 s, 11 s with 5 s. The spouts rotate their pending tuples
/// once per timeout; the crash falls on a rotation, so the lost tuples fail two timeouts later,
/// are replayed, and the stalled spouts catch up within a second.
#[test]
fn halving_the_message_timeout_roughly_halves_the_recovery_time() {
    let recovery = |timeout: &str| {
        let t = format!("engines.storm-acking.message_timeout={timeout}");
        let (sc, r) = storm(&[&t, "run.duration=100s"]);
        assert_eq!(r.verdict, Verdict::AtLeastOnce, "{timeout}: {:?}", r.check);
        let f = &r.failures[0];
        let recovery = f
            .recovery()
            .unwrap_or_else(|| panic!("{}: {timeout}: caught up", repro(&sc)));
        recovery.as_secs_f64()
    };
    let (r20, r10, r5) = (recovery("20s"), recovery("10s"), recovery("5s"));
    for (long, short, t) in [(r20, r10, 10.0), (r10, r5, 5.0)] {
        let ratio = short / long;
        assert!(
            (0.4..=0.6).contains(&ratio),
            "recovery {long:.1}s → {short:.1}s when the timeout halves to {t}s (ratio {ratio:.2})"
        );
        assert!(short > t, "recovery {short:.1}s waits for the {t}s timeout");
    }
}

/// Measured at 20,000 records/s with a 1 ms network latency and a 5 s timeout: unlimited, 19,557
/// tuples replayed after the crash and 20,155 outputs/s; 100 pending per spout, 300 replayed
/// (the three surviving spouts' full allowance) and 20,003/s; 20 pending, 60 replayed but only
/// 17,616/s, since each spout then waits for acks to return before it reads more: three network
/// hops and three flushes of the ack stream (10 pending, 8,868/s, falls behind the input).
#[test]
fn max_spout_pending_trades_throughput_for_the_size_of_the_replay() {
    let measure = |cap: u64| {
        let cap = format!("engines.storm-acking.max_spout_pending={cap}");
        let sets = [
            cap.as_str(),
            "workload.rate=20000",
            "cluster.network_latency=1ms",
            "engines.storm-acking.message_timeout=5s",
        ];
        let (sc, r) = storm(&sets);
        assert_eq!(r.verdict, Verdict::AtLeastOnce, "{}: {cap}: {:?}", repro(&sc), r.check);
        (total(&r, "tuples", "replayed"), r.throughput_rps)
    };
    let (unlimited, hundred, twenty) = (measure(0), measure(100), measure(20));
    eprintln!("replayed / throughput: unlimited {unlimited:?}, 100 {hundred:?}, 20 {twenty:?}");
    assert!(
        unlimited.0 > 10.0 * hundred.0 && hundred.0 > 4.0 * twenty.0,
        "a smaller cap, a smaller replay"
    );
    assert_eq!(
        hundred.0, 300.0,
        "three surviving spouts, each with its full allowance lost"
    );
    assert!(hundred.1 > 0.98 * unlimited.1, "100 pending keeps up with the input");
    assert!(twenty.1 < 0.9 * unlimited.1, "20 pending throttles the spouts");
}

/// The spouts and ackers find a tuple by its number in a ring spanning the last
/// `SPOUT_SPAN` (`ACKER_SPAN`) tuples, and keep older ones in a map. Here each spout emits
/// 2,500 tuples a second without a cap, so the tuples a crash strands stay out for far more than
/// the span (5 to 10 s, until they time out): they must still time out and be replayed, and
/// every other tuple still be acked, as when every ledger was a map.
#[test]
fn a_tuple_out_for_longer_than_the_ledgers_ring_spans_still_times_out_and_is_replayed() {
    let sets = [
        "engines.storm-acking.max_spout_pending=0",
        "workload.rate=20000",
        "engines.storm-acking.message_timeout=5s",
    ];
    let (sc, r) = storm(&sets);
    let per_spout = sc.workload.rate / f64::from(sc.workload.partitions);
    assert!(
        per_spout * 5.0 > ftsim_engines::storm_acking::SPOUT_SPAN as f64,
        "a timeout's tuples outnumber the span"
    );
    assert_eq!(r.verdict, Verdict::AtLeastOnce, "{}: {:?}", repro(&sc), r.check);
    assert_eq!(r.check.lost, 0, "every stranded tuple was replayed");
    assert!(r.stats.finished, "every spout drained: nothing left out forever");
    let (timed_out, replayed) = (total(&r, "tuples", "timed_out"), total(&r, "tuples", "replayed"));
    assert!(
        timed_out > 0.0 && replayed > 0.0,
        "{timed_out} timed out, {replayed} replayed"
    );
}

#[test]
fn with_no_ackers_a_crash_loses_counts_and_repeats_nothing_so_the_verdict_is_at_most_once() {
    let (sc, r) = storm(&["engines.storm-acking.ackers=0"]);
    assert_eq!(r.verdict, Verdict::AtMostOnce, "{}: {:?}", repro(&sc), r.check);
    assert!(r.check.lost > 0);
    assert_eq!(r.stats.ft_messages, 0, "no ack-stream messages");
    assert_eq!(total(&r, "tuples", "replayed"), 0.0);
}

#[test]
fn tracking_sends_four_times_the_messages_of_no_tracking_on_one_tuple_trees() {
    let (_, on) = storm(&["faults=[]"]);
    let (_, off) = storm(&["faults=[]", "engines.storm-acking.ackers=0"]);
    let records = on.records_in;
    assert_eq!(off.stats.messages, records, "one message per tuple");
    assert_eq!(
        on.stats.ft_messages,
        3 * records,
        "an init, an ack and a completion per tuple"
    );
    let ratio = on.stats.messages as f64 / off.stats.messages as f64;
    assert!((3.9..=4.1).contains(&ratio), "tracking on / off: {ratio:.2}");
}

/// Measured without faults (300,000 records): 1,965,983 kernel events when every handler's
/// ack-stream messages leave at once (`flush_interval = 0`), 1,036,424 with Storm's 1 ms flush,
/// 632,889 with 10 ms; 900,000 ack-stream messages in each.
#[test]
fn batching_the_ack_stream_cuts_kernel_events_but_counts_every_modelled_message() {
    let runs: Vec<RunReport> = ["0s", "1ms", "10ms"]
        .iter()
        .map(|f| storm(&["faults=[]", &format!("engines.storm-acking.flush_interval=\"{f}\"")]).1)
        .collect();
    for r in &runs {
        assert_eq!(r.verdict, Verdict::ExactlyOnce, "{:?}", r.check);
        assert_eq!(
            r.stats.ft_messages,
            3 * r.records_in,
            "an init, an ack and a completion per tuple, however they travel"
        );
        assert_eq!(r.stats.messages, 4 * r.records_in, "and the tuple itself");
    }
    for w in runs.windows(2) {
        assert!(
            w[1].stats.sim_events < w[0].stats.sim_events,
            "a longer flush, fewer transmissions: {} then {} kernel events",
            w[0].stats.sim_events,
            w[1].stats.sim_events
        );
        assert!(w[1].stats.ft_bytes < w[0].stats.ft_bytes, "fewer headers");
    }
    assert!(
        runs[1].stats.sim_events * 3 < runs[0].stats.sim_events * 2,
        "Storm's 1 ms flush saves a third of the events: {} against {}",
        runs[1].stats.sim_events,
        runs[0].stats.sim_events
    );
}

/// Worker 3 runs only a count executor (two spouts and two ackers on workers 0 and 1). With its
/// acks leaving as they are made, the crash loses only tuples it had not applied: replayed and
/// counted once. With a 200 ms flush it also loses the acks of tuples it applied that waited in
/// its outbox: those time out too and are counted again (at least once, nothing lost).
#[test]
fn a_crash_loses_the_acks_waiting_in_the_nodes_outbox_and_their_tuples_are_replayed() {
    let crash = |flush: &str| {
        let flush = format!("engines.storm-acking.flush_interval=\"{flush}\"");
        let sets = [
            flush.as_str(),
            "workload.partitions=2",
            "engines.storm-acking.ackers=2",
            "engines.storm-acking.max_spout_pending=0",
            "faults=[{at=\"20s\", crash=3}]",
        ];
        let (sc, r) = storm(&sets);
        assert!(r.stats.finished && r.promise_kept, "{}: {:?}", repro(&sc), r.check);
        assert_eq!(r.check.lost, 0, "{}", repro(&sc));
        assert_eq!(r.stats.ledger.in_flight(), 0, "{:?}", r.stats.ledger);
        assert!(
            total(&r, "tuples", "replayed") > 0.0,
            "what was sent to worker 3 is replayed"
        );
        r
    };
    let at_once = crash("0s");
    assert_eq!(
        at_once.verdict,
        Verdict::ExactlyOnce,
        "no applied tuple lost its ack: {:?}",
        at_once.check
    );
    let batched = crash("200ms");
    assert_eq!(batched.verdict, Verdict::AtLeastOnce, "{:?}", batched.check);
    assert!(
        batched.check.wrong > 0,
        "applied tuples whose acks died in the outbox are counted again"
    );
}

#[test]
fn with_state_in_memory_a_crash_loses_the_executors_counts() {
    let (sc, r) = storm(&["engines.storm-acking.state=\"memory\""]);
    assert!(r.promise_kept, "memory state promises nothing");
    assert!(r.check.lost > 0, "{}: {:?}", repro(&sc), r.check);
}

#[test]
fn trident_is_exactly_once_against_the_oracle_across_crash_scenarios() {
    let plans = [
        "faults=[{at=\"15.008s\", crash=2}]",
        "faults=[{at=\"15.008s\", crash=0}]",
        "faults=[{at=\"12.3s\", crash=[1, 2]}]",
        "faults=[{at=\"20.1s\", crash=[0, 1, 2, 3]}]",
        "faults=[{at=\"10s\", crash=3}, {at=\"10.9s\", crash=1}, {at=\"17s\", crash=3}]",
    ];
    for plan in plans {
        for kind in ["running-count", "window-count"] {
            for sink in ["transactional", "idempotent"] {
                let kind = format!("job.kind=\"{kind}\"");
                let sink = format!("job.sink=\"{sink}\"");
                let (sc, r) = trident(&[plan, &kind, &sink]);
                assert_eq!(
                    r.verdict,
                    Verdict::ExactlyOnce,
                    "{plan} {kind} {sink} {}: {:?}",
                    repro(&sc),
                    r.check
                );
                assert!(r.stats.finished, "{plan} {kind} {sink}");
                assert_eq!(r.stats.ledger.in_flight(), 0, "{plan}: {:?}", r.stats.ledger);
            }
        }
    }
}

#[test]
fn a_trident_batch_replayed_after_a_crash_keeps_its_txid_and_offsets_and_counts_once() {
    let (_, quiet) = trident(&["faults=[]"]);
    let (sc, r) = trident(&[]);
    assert_eq!(r.verdict, Verdict::ExactlyOnce, "{}: {:?}", repro(&sc), r.check);
    // The crash at 15.008 s catches batch 30 (opened at 15 s) while its tasks commit it.
    assert_eq!(cell(&r, "batches", "txid", 30.0, "attempts"), Some(2.0));
    let records = |r: &RunReport| cell(r, "batches", "txid", 30.0, "records");
    assert_eq!(records(&r), records(&quiet), "the same offsets");
    let replays = r.events.iter().filter(|e| e.kind == "batch-replayed").count();
    assert_eq!(replays, 1);
}

#[test]
fn trident_on_an_append_sink_shows_the_outputs_of_tasks_that_committed_a_replayed_batch_again() {
    let (sc, r) = trident(&["job.sink=\"append\""]);
    assert_eq!(r.verdict, Verdict::AtLeastOnce, "{}: {:?}", repro(&sc), r.check);
    assert!(r.check.duplicated > 0 && r.check.wrong == 0 && r.check.lost == 0);
}

/// Measured without faults: p50 266 ms and p99 510 ms with 500 ms batches, p50 520 ms and p99
/// 1.01 s with 1 s batches: a record waits for the next batch (half an interval on average),
/// then about 15 ms for its batch to be processed and committed.
#[test]
fn trident_latency_is_at_least_the_batch_interval() {
    for (interval, secs) in [("500ms", 0.5), ("1s", 1.0)] {
        let i = format!("engines.storm-acking.emit_interval={interval}");
        let (sc, r) = trident(&["faults=[]", &i]);
        let (p50, p99) = (r.p50_ms.unwrap_or(0.0) / 1e3, r.p99_ms.unwrap_or(0.0) / 1e3);
        assert!(p99 >= secs, "{}: p99 {p99:.3}s against {interval} batches", repro(&sc));
        assert!(
            p50 >= secs / 2.0,
            "{}: p50 {p50:.3}s against {interval} batches",
            repro(&sc)
        );
        let t = r.tables.iter().find(|t| t.name == "batches").expect("batches.csv");
        let opened: Vec<f64> = t.numbers("opened_s").into_iter().flatten().collect();
        assert!(
            opened.windows(2).all(|w| w[1] - w[0] >= secs - 1e-9),
            "one batch per interval at most"
        );
    }
}
