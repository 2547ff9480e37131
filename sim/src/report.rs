//! What a run reports: counters, failure timelines, event rows, and the summary figures derived
//! from the sink (latency percentiles, throughput, recovery time).
//!
//! `caught_up` (see the design document, sim/README.md): the first bucket at or after `restored` from which the sink's
//! p99 latency stays within max(10% of the pre-failure p99, one bucket width) of the pre-failure
//! p99 for 5 consecutive buckets. Buckets with no output neither break nor extend the streak
//! (window jobs emit only when windows close).

use crate::metrics::{Latency, Sink};
use crate::oracle::{Check, Expected, Guarantee, Latest, Verdict, check_shown};
use crate::outcome::{EventRow, FailureRecord, RunOutput, RunStats, Table};
use crate::scenario::Scenario;
use crate::time::{SimDuration, SimTime};
use hdrhistogram::Histogram;

/// One row of timeseries.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    /// Bucket start, seconds.
    pub t_s: f64,
    /// Outputs per second.
    pub throughput_rps: f64,
    /// Latency percentiles, ms (None when the bucket had no output).
    pub p50_ms: Option<f64>,
    /// p99.
    pub p99_ms: Option<f64>,
    /// max.
    pub max_ms: Option<f64>,
    /// Source backlog at the bucket's end.
    pub backlog: u64,
}

/// The full result of one engine's run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Engine name.
    pub engine: String,
    /// What the engine promises for this job and sink.
    pub promised: Guarantee,
    /// The oracle check of the visible output.
    pub check: Check,
    /// The run's verdict: the check's, or `not-finished` if the run stopped at the drain limit.
    pub verdict: Verdict,
    /// Whether the promise was kept (see [`Guarantee::kept`]).
    pub promise_kept: bool,
    /// Why the run did not finish, if it did not.
    pub unfinished: Option<String>,
    /// Records in the input log.
    pub records_in: u64,
    /// Outputs made visible at the sink (repeats and overwrites included).
    pub records_out: u64,
    /// Mean outputs per second after the warmup, up to the end of input.
    pub throughput_rps: f64,
    /// Latency after the warmup, ms.
    pub p50_ms: Option<f64>,
    /// p99.
    pub p99_ms: Option<f64>,
    /// max.
    pub max_ms: Option<f64>,
    /// Crash timelines.
    pub failures: Vec<FailureRecord>,
    /// The first failure's spans (the summary's `detect_s`, `restore_s`, `recovery_s`).
    pub first_failure: Option<FailureSpans>,
    /// Counters.
    pub stats: RunStats,
    /// Per-bucket series.
    pub series: Vec<SeriesRow>,
    /// events.csv.
    pub events: Vec<EventRow>,
    /// Engine tables.
    pub tables: Vec<Table>,
    /// The latest results the sink showed by the run's end (what a live view prints).
    pub latest: Latest,
}

/// How long after its crash the first failure was detected, restored and caught up; `None` where
/// the instant was never reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailureSpans {
    /// Crash to detection.
    pub detect: Option<SimDuration>,
    /// Crash to every lost task running again.
    pub restore: Option<SimDuration>,
    /// Crash to the sink's latency back to normal.
    pub recovery: Option<SimDuration>,
}

impl FailureSpans {
    fn of(f: &FailureRecord) -> FailureSpans {
        let since = |t: Option<SimTime>| t.map(|t| t.since(f.injected));
        FailureSpans {
            detect: since(f.detected),
            restore: since(f.restored),
            recovery: since(f.caught_up),
        }
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn pct(h: &Histogram<u64>, q: f64) -> Option<f64> {
    (!h.is_empty()).then(|| ms(h.value_at_quantile(q)))
}

impl RunReport {
    /// Builds the report of a finished run.
    pub fn build(
        sc: &Scenario,
        engine: &str,
        promised: Guarantee,
        expected: &Expected,
        records_in: u64,
        out: RunOutput,
    ) -> RunReport {
        let RunOutput {
            sink,
            events,
            mut failures,
            stats,
            tables,
        } = out;
        let check = check_shown(expected, sink.shown());
        let latest = sink.shown().latest();
        let series = series(&sink, sc.run.bucket);
        for f in &mut failures {
            f.caught_up = caught_up(&sink, sc, f);
        }
        let span = sc.run.duration.as_secs_f64() - sc.run.warmup.as_secs_f64();
        let until_end: u64 = sink
            .buckets
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                let t = *i as u64 * sc.run.bucket.as_nanos();
                t >= sc.run.warmup.as_nanos() && t < sc.run.duration.as_nanos()
            })
            .map(|(_, b)| b.outputs)
            .sum();
        let finished = stats.finished;
        RunReport {
            engine: engine.to_string(),
            promised,
            verdict: if finished { check.verdict } else { Verdict::NotFinished },
            promise_kept: promised.kept(&check, finished),
            unfinished: stats.unfinished.clone(),
            check,
            records_in,
            records_out: sink.buckets.iter().map(|b| b.outputs).sum(),
            throughput_rps: until_end as f64 / span.max(1e-9),
            p50_ms: pct(&sink.overall, 0.5),
            p99_ms: pct(&sink.overall, 0.99),
            max_ms: (!sink.overall.is_empty()).then(|| ms(sink.overall.max())),
            first_failure: failures.first().map(FailureSpans::of),
            failures,
            stats,
            series,
            events,
            tables,
            latest,
        }
    }
}

fn series(sink: &Sink, bucket: SimDuration) -> Vec<SeriesRow> {
    let w = bucket.as_secs_f64();
    sink.buckets
        .iter()
        .enumerate()
        .map(|(i, b)| SeriesRow {
            t_s: i as f64 * w,
            throughput_rps: b.outputs as f64 / w,
            p50_ms: b.latency.map(|l| ms(l.p50)),
            p99_ms: b.latency.map(|l| ms(l.p99)),
            max_ms: b.latency.map(|l| ms(l.max)),
            backlog: b.backlog,
        })
        .collect()
}

fn caught_up(sink: &Sink, sc: &Scenario, f: &FailureRecord) -> Option<SimTime> {
    let restored = f.restored?;
    let bw = sc.run.bucket.as_nanos();
    // Buckets after the warmup and before the crash's own bucket.
    let pre = sink.before(f.injected)?;
    if pre.is_empty() {
        return None;
    }
    let pre_p99 = ms(pre.value_at_quantile(0.99));
    let tolerance = (pre_p99 * 0.1).max(sc.run.bucket.as_millis_f64());
    let mut streak_start: Option<usize> = None;
    let mut streak = 0;
    for (i, b) in sink.buckets.iter().enumerate().skip((restored.0 / bw) as usize) {
        let Some(Latency { p99, .. }) = b.latency else {
            continue;
        };
        if ms(p99) <= pre_p99 + tolerance {
            streak_start.get_or_insert(i);
            streak += 1;
            if streak >= 5 {
                return streak_start.map(|s| SimTime(s as u64 * bw).max(restored));
            }
        } else {
            streak_start = None;
            streak = 0;
        }
    }
    None
}
