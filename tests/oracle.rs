//! The oracle on hand-computed cases, and the check's classification of what a sink shows.

use crate::support::scenario;
use ftsim_sim::job::Output;
use ftsim_sim::oracle::{Expected, check, expected};
use ftsim_sim::{Record, Semantics, SimDuration, SimTime, SourceLog, Verdict};

fn rec(key: u32, et_ms: u64) -> Record {
    Record {
        part: 0,
        offset: 0,
        key,
        value: 0,
        event_time: SimTime(et_ms * 1_000_000),
        arrival: SimTime(et_ms * 1_000_000),
        wm_before: SimTime(0),
    }
}

fn sem(job: &str, partitions: u32) -> Semantics {
    let sc = scenario(&format!(
        "[run]\nduration = \"60s\"\n[workload]\nrate = 1\n[job]\n{job}\n"
    ));
    Semantics::new(&sc.job, partitions)
}

fn out(key: u64, sub: u64, value: u64) -> Output {
    Output {
        key,
        sub,
        value,
        origin: SimTime(0),
    }
}

#[test]
fn a_running_count_expects_the_values_one_to_n_for_a_key_seen_n_times() {
    let log = SourceLog::from_records(
        vec![vec![rec(1, 1), rec(2, 2), rec(1, 3)], vec![rec(1, 2)]],
        SimDuration::ZERO,
        100,
    );
    let e = expected(&sem("kind = \"running-count\"", 2), &log);
    assert_eq!(e.outputs(), vec![(1, 1, 1), (1, 2, 2), (1, 3, 3), (2, 1, 1)]);
}

#[test]
fn a_tumbling_window_count_emits_only_windows_the_final_watermark_closes() {
    let log = SourceLog::from_records(
        vec![
            vec![rec(1, 1_000), rec(1, 5_000), rec(1, 12_000), rec(2, 25_000)],
            vec![rec(1, 3_000), rec(2, 21_000)],
        ],
        SimDuration::ZERO,
        100,
    );
    let s = sem(
        "kind = \"window-count\"\nwindow = \"10s\"\nmax_out_of_orderness = \"0s\"",
        2,
    );
    let e = expected(&s, &log);
    // Final watermark = min(25 s, 21 s) = 21 s: [0,10) and [10,20) close, [20,30) does not.
    assert_eq!(e.outputs(), vec![(1, 0, 3), (1, 10_000_000_000, 1)]);
}

#[test]
fn a_record_behind_its_partitions_watermark_is_late_and_dropped() {
    let records = vec![vec![rec(1, 15_000), rec(1, 4_000), rec(1, 40_000)]];
    let strict = sem(
        "kind = \"window-count\"\nwindow = \"10s\"\nmax_out_of_orderness = \"0s\"",
        1,
    );
    let log = SourceLog::from_records(records.clone(), SimDuration::ZERO, 100);
    assert_eq!(
        expected(&strict, &log).outputs(),
        vec![(1, 10_000_000_000, 1)],
        "the 4 s record is late"
    );
    // With a 6 s watermark delay the watermark before it is 9 s < 10 s: it still counts.
    let lenient = sem(
        "kind = \"window-count\"\nwindow = \"10s\"\nmax_out_of_orderness = \"6s\"",
        1,
    );
    let log = SourceLog::from_records(records, SimDuration::from_secs(6), 100);
    assert_eq!(
        expected(&lenient, &log).outputs(),
        vec![(1, 0, 1), (1, 10_000_000_000, 1)]
    );
}

#[test]
fn allowed_lateness_keeps_a_late_record_in_its_window() {
    let records = vec![vec![rec(1, 15_000), rec(1, 4_000), rec(1, 40_000)]];
    let s = sem(
        "kind = \"window-count\"\nwindow = \"10s\"\nmax_out_of_orderness = \"0s\"\nallowed_lateness = \"6s\"",
        1,
    );
    let log = SourceLog::from_records(records, SimDuration::ZERO, 100);
    assert_eq!(expected(&s, &log).outputs(), vec![(1, 0, 1), (1, 10_000_000_000, 1)]);
}

#[test]
fn a_sliding_window_counts_a_record_in_every_window_that_covers_it() {
    let s = sem(
        "kind = \"window-count\"\nwindow = \"10s\"\nslide = \"5s\"\nmax_out_of_orderness = \"0s\"",
        1,
    );
    let log = SourceLog::from_records(vec![vec![rec(1, 7_000), rec(1, 60_000)]], SimDuration::ZERO, 100);
    let starts: Vec<u64> = expected(&s, &log)
        .outputs()
        .iter()
        .filter(|o| o.0 == 1 && o.2 == 1)
        .map(|o| o.1)
        .collect();
    assert!(starts.starts_with(&[0, 5_000_000_000]), "got {starts:?}");
}

#[test]
fn the_filter_keeps_the_same_records_in_every_evaluation() {
    let s = sem("kind = \"running-count\"\nfilter_keep = 0.5", 1);
    let recs: Vec<Record> = (0..1_000).map(|i| rec(i % 7, u64::from(i))).collect();
    let log = SourceLog::from_records(vec![recs], SimDuration::ZERO, 100);
    let kept = log
        .reader()
        .slice(ftsim_sim::PartitionId(0), 0, u64::MAX)
        .iter()
        .filter(|r| s.keeps(r))
        .count();
    assert!((400..600).contains(&kept), "kept {kept} of 1000 at filter_keep 0.5");
    assert_eq!(expected(&s, &log).len(), kept as u64);
}

fn expect(v: &[(u64, u64, u64)]) -> Expected {
    Expected::windows(v.to_vec())
}

#[test]
fn the_check_calls_an_exact_match_exactly_once() {
    let c = check(&expect(&[(1, 1, 1), (1, 2, 2)]), &[out(1, 2, 2), out(1, 1, 1)]);
    assert_eq!(
        (c.lost, c.duplicated, c.wrong, c.verdict),
        (0, 0, 0, Verdict::ExactlyOnce)
    );
}

#[test]
fn the_check_calls_repeats_at_least_once_and_gaps_at_most_once() {
    let e = expect(&[(1, 1, 1), (1, 2, 2)]);
    let dup = check(&e, &[out(1, 1, 1), out(1, 1, 1), out(1, 2, 2)]);
    assert_eq!((dup.duplicated, dup.verdict), (1, Verdict::AtLeastOnce));
    let gap = check(&e, &[out(1, 1, 1)]);
    assert_eq!((gap.lost, gap.verdict), (1, Verdict::AtMostOnce));
    let both = check(&e, &[out(1, 1, 1), out(1, 1, 1)]);
    assert_eq!(both.verdict, Verdict::Violated);
}

#[test]
fn the_check_calls_a_count_past_n_or_an_inflated_window_wrong_and_at_least_once() {
    let e = expect(&[(1, 1, 1), (1, 2, 2)]);
    let past = check(&e, &[out(1, 1, 1), out(1, 2, 2), out(1, 3, 3)]);
    assert_eq!((past.wrong, past.lost, past.verdict), (1, 0, Verdict::AtLeastOnce));
    let w = expect(&[(7, 0, 5)]);
    let inflated = check(&w, &[out(7, 0, 6)]);
    assert_eq!(
        (inflated.wrong, inflated.lost, inflated.verdict),
        (1, 0, Verdict::AtLeastOnce)
    );
    let deflated = check(&w, &[out(7, 0, 4)]);
    assert_eq!(
        (deflated.wrong, deflated.lost, deflated.verdict),
        (0, 1, Verdict::AtMostOnce)
    );
}

#[test]
fn the_check_calls_losses_together_with_repeats_or_inflation_violated() {
    let e = expect(&[(1, 1, 1), (1, 2, 2), (2, 1, 1)]);
    // key 1 counted past its end while key 2 is missing
    let c = check(&e, &[out(1, 1, 1), out(1, 2, 2), out(1, 3, 3)]);
    assert_eq!((c.lost, c.wrong, c.verdict), (1, 1, Verdict::Violated));
    let w = expect(&[(7, 0, 5), (8, 0, 5)]);
    let c = check(&w, &[out(7, 0, 6), out(8, 0, 4)]);
    assert_eq!(c.verdict, Verdict::Violated);
    // One window shown short of a record and again with one too many, never right: a record
    // was dropped and another counted twice.
    let c = check(&w, &[out(7, 0, 4), out(7, 0, 6), out(8, 0, 5)]);
    assert_eq!((c.lost, c.duplicated, c.wrong, c.verdict), (1, 0, 1, Verdict::Violated));
}

/// What a sink does to one expected output, for the property below.
#[derive(Debug, Clone, Copy)]
enum Shown {
    /// Shown once, right.
    Once,
    /// Not shown.
    Dropped,
    /// Shown right, then `n` more times.
    Repeated(u64),
    /// Shown once with one record fewer.
    Deflated,
    /// Shown right and once more with one record more.
    AlsoInflated,
}

/// The oracle's counts hold for any sink output made from the expected one by dropping,
/// repeating, deflating and inflating outputs and adding unexpected ones (planted bugs aside).
pub fn the_oracle_counts_what_was_done(
    planted: ftsim_sim::planted::Planted,
) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::prelude::*;
    let shown = prop_oneof![
        4 => Just(Shown::Once),
        1 => Just(Shown::Dropped),
        1 => (1..4u64).prop_map(Shown::Repeated),
        1 => Just(Shown::Deflated),
        1 => Just(Shown::AlsoInflated),
    ];
    let strategy = (
        prop::collection::btree_set((0..50u64, 1..20u64), 1..60),
        prop::collection::vec(shown, 60),
        0..5u64,
    );
    let mut runner = crate::properties::runner(256);
    runner
        .run(&strategy, |(ids, how, extra)| {
            let expected = Expected::windows(ids.iter().map(|(k, s)| (*k, *s, *s + 1)).collect());
            let (mut visible, mut lost, mut dup, mut wrong) = (Vec::new(), 0, 0, extra);
            for (&(k, s, v), h) in expected.outputs().iter().zip(how.iter().cycle()) {
                match h {
                    Shown::Once => visible.push(out(k, s, v)),
                    Shown::Dropped => lost += 1,
                    Shown::Repeated(n) => {
                        visible.extend((0..=*n).map(|_| out(k, s, v)));
                        dup += n;
                    }
                    Shown::Deflated => {
                        visible.push(out(k, s, v - 1));
                        lost += 1;
                    }
                    Shown::AlsoInflated => {
                        visible.extend([out(k, s, v), out(k, s, v + 1)]);
                        wrong += 1;
                    }
                }
            }
            visible.extend((0..extra).map(|i| out(1_000 + i, 1, 1)));
            let c = ftsim_sim::oracle::check_planted(&expected, &visible, planted);
            prop_assert_eq!((c.lost, c.duplicated, c.wrong), (lost, dup, wrong));
            Ok(())
        })
        .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))
}

#[test]
fn the_check_counts_exactly_the_losses_repeats_and_inflations_a_sink_shows() {
    if let Err(e) = the_oracle_counts_what_was_done(ftsim_sim::planted::Planted::NONE) {
        panic!("{e}");
    }
}

/// A running count's check keeps each key's shown values as runs; it must classify what a sink
/// shows exactly as the check that spells every expected output out.
#[test]
fn a_running_counts_compact_check_agrees_with_the_spelled_out_one() {
    use ftsim_sim::oracle::{Shown, check_shown};
    use ftsim_sim::planted::Planted;
    use ftsim_sim::scenario::JobKind;
    use proptest::prelude::*;
    // Per key: how many records, and the values a sink shows (in any order, with repeats,
    // values past the count and values of keys never seen).
    let strategy = (
        prop::collection::btree_map(0..8u64, 0..12u64, 0..6),
        prop::collection::vec((0..10u64, 0..16u64), 0..80),
        any::<bool>(),
    );
    let mut runner = crate::properties::runner(512);
    let result = runner.run(&strategy, |(per_key, shows, upserts)| {
        let counts = Expected::counts(per_key.iter().map(|(k, n)| (*k, *n)).collect());
        let spelled = Expected::windows(counts.outputs());
        let mut compact = Shown::new(JobKind::RunningCount, upserts, Planted::NONE);
        let mut visible: Vec<Output> = Vec::new();
        for &(k, v) in &shows {
            compact.add(&out(k, v, v));
            let seen = visible.iter().any(|o| (o.key, o.sub) == (k, v));
            if !(upserts && seen) {
                visible.push(out(k, v, v));
            }
        }
        let a = check_shown(&counts, &compact);
        let b = check(&spelled, &visible);
        prop_assert_eq!(
            (a.lost, a.duplicated, a.wrong, a.visible, a.verdict),
            (b.lost, b.duplicated, b.wrong, b.visible, b.verdict)
        );
        prop_assert_eq!(a.expected, b.expected);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn an_oracle_counting_windows_densely_agrees_with_one_counting_sparsely() {
    use ftsim_sim::oracle::Oracle;
    let s = sem(
        "kind = \"window-count\"\nwindow = \"10s\"\nslide = \"5s\"\nmax_out_of_orderness = \"0s\"",
        1,
    );
    let recs: Vec<Record> = (0..3_000u64).map(|i| rec((i * 7 % 13) as u32, i * 20)).collect();
    let log = SourceLog::from_records(vec![recs.clone()], SimDuration::ZERO, 100);
    let sparse = expected(&s, &log);
    // Dense arrays of 13 keys, and of 5 (keys 5 to 12 fall past them and are counted all the same).
    for dense in [13, 5] {
        let mut o = Oracle::new(&s, dense);
        for r in log.reader().slice(ftsim_sim::PartitionId(0), 0, u64::MAX) {
            o.add(&r);
        }
        assert_eq!(
            o.finish(log.final_watermark()).outputs(),
            sparse.outputs(),
            "dense {dense}"
        );
    }
    assert!(sparse.len() > 13 * 5);
}

#[test]
fn a_run_that_did_not_finish_keeps_a_promise_only_if_it_repeated_nothing_the_promise_forbids() {
    use ftsim_sim::Guarantee;
    use ftsim_sim::oracle::Check;
    let with = |duplicated: u64, wrong: u64| Check {
        expected: 10,
        visible: 10,
        lost: 3,
        duplicated,
        wrong,
        verdict: Verdict::Violated,
    };
    let (clean, dup, inflated, both) = (with(0, 0), with(2, 0), with(0, 2), with(2, 2));
    // Missing outputs may still be on their way: they never break a promise by themselves.
    for g in [
        Guarantee::ExactlyOnce,
        Guarantee::AtMostOnce,
        Guarantee::AtLeastOnce,
        Guarantee::None,
    ] {
        assert!(g.kept(&clean, false), "{g}: nothing repeated");
    }
    // A repeat breaks the promises that forbid repeats, whatever else is missing.
    for g in [Guarantee::ExactlyOnce, Guarantee::AtMostOnce] {
        for c in [&dup, &inflated, &both] {
            assert!(!g.kept(c, false), "{g}: {c:?}");
        }
    }
    for g in [Guarantee::AtLeastOnce, Guarantee::None] {
        assert!(g.kept(&both, false), "{g} allows repeats");
    }
    // A finished run is judged by its verdict alone.
    assert!(!Guarantee::ExactlyOnce.kept(&clean, true));
    assert!(Guarantee::None.kept(&both, true));
}

#[test]
fn a_window_whose_end_the_final_watermark_reaches_exactly_fires() {
    let log = SourceLog::from_records(
        vec![
            vec![rec(1, 1_000), rec(3, 15_000), rec(1, 20_000)],
            vec![rec(2, 20_000)],
        ],
        SimDuration::ZERO,
        100,
    );
    let s = sem(
        "kind = \"window-count\"\nwindow = \"10s\"\nmax_out_of_orderness = \"0s\"",
        2,
    );
    // Final watermark = min(20 s, 20 s) = 20 s: it reaches [10,20)'s end, so that window fires;
    // [20,30) stays open.
    assert_eq!(expected(&s, &log).outputs(), vec![(1, 0, 1), (3, 10_000_000_000, 1)]);
}
