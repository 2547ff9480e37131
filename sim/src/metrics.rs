//! The sink and the measurements taken at it.
//!
//! The sink records what the job makes visible, per its mode: `append` shows every emission at
//! once; `idempotent` upserts by output id `(key, sub)` (the last value wins, and a re-emission
//! of the same output collapses); `transactional` holds emissions until their transaction
//! commits, and emissions outside any transaction show at once (an engine without a commit
//! protocol). Latency is taken when an output becomes visible: visible time minus its origin.
//! All latencies are in microseconds in HDR histograms.
//!
//! Memory does not grow with the run's length beyond one small row per bucket: outputs become
//! visible at the current instant, so buckets fill in time order; the open bucket's latencies go
//! into one histogram, summarised into its row (p50, p99, max) when a later bucket opens or the
//! run ends. The pre-failure latency of each crash fault, which the recovery time is measured
//! against, is gathered as the outputs show, since crash instants are known before the run.

use crate::ids::TxnId;
use crate::job::Output;
use crate::oracle::Shown;
use crate::planted::Planted;
use crate::scenario::{JobKind, SinkMode};
use crate::time::{SimDuration, SimTime};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

const MAX_LATENCY_US: u64 = 4 * 3_600 * 1_000_000;

/// One bucket of the time series.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// Outputs made visible in the bucket.
    pub outputs: u64,
    /// Their latency percentiles and maximum, microseconds (`None`: no output); set once the
    /// bucket is closed.
    pub latency: Option<Latency>,
    /// Records arrived at the source log but not yet read, at the bucket's end.
    pub backlog: u64,
}

/// A closed bucket's latency summary, microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Option<Latency> {
        (!h.is_empty()).then(|| Latency {
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        })
    }
}

fn histogram() -> Histogram<u64> {
    // Constant, valid bounds: 1 us to 4 h at two significant digits.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 2).expect("constant histogram bounds are valid")
}

/// The sink plus everything measured at it.
#[derive(Debug)]
pub struct Sink {
    mode: SinkMode,
    bucket: SimDuration,
    warmup: SimTime,
    /// Per-bucket series.
    pub buckets: Vec<Bucket>,
    /// The bucket whose latencies `open` gathers.
    open_at: usize,
    open: Histogram<u64>,
    /// Latency of every output visible after the warmup, microseconds.
    pub overall: Histogram<u64>,
    /// Per crash instant (bucket index, exclusive), the latency of the outputs visible from the
    /// warmup's bucket up to that bucket.
    before: Vec<(usize, Histogram<u64>)>,
    shown: Shown,
    pending: BTreeMap<TxnId, Vec<Output>>,
}

impl Sink {
    /// An empty sink for a job of `kind`; `crashes` are the instants of the run's crash faults.
    pub fn new(
        mode: SinkMode,
        kind: JobKind,
        bucket: SimDuration,
        warmup: SimTime,
        crashes: &[SimTime],
        planted: Planted,
    ) -> Self {
        let mut ends: Vec<usize> = crashes.iter().map(|t| (t.0 / bucket.as_nanos()) as usize).collect();
        ends.sort_unstable();
        ends.dedup();
        Sink {
            mode,
            bucket,
            warmup,
            buckets: Vec::new(),
            open_at: 0,
            open: histogram(),
            overall: histogram(),
            before: ends.into_iter().map(|b| (b, histogram())).collect(),
            shown: Shown::new(kind, mode == SinkMode::Idempotent, planted),
            pending: BTreeMap::new(),
        }
    }

    /// Takes emissions at `now`.
    pub fn emit(&mut self, now: SimTime, outputs: Vec<Output>, txn: Option<TxnId>) {
        match (self.mode, txn) {
            (SinkMode::Transactional, Some(t)) => self.pending.entry(t).or_default().extend(outputs),
            _ => self.show(now, outputs),
        }
    }

    /// Commits a transaction: its outputs become visible now.
    pub fn commit(&mut self, now: SimTime, txn: TxnId) {
        if let Some(outs) = self.pending.remove(&txn) {
            self.show(now, outs);
        }
    }

    /// Aborts a transaction.
    pub fn abort(&mut self, txn: TxnId) {
        self.pending.remove(&txn);
    }

    fn show(&mut self, now: SimTime, outputs: Vec<Output>) {
        let b = (now.0 / self.bucket.as_nanos()) as usize;
        self.bucket_at(b);
        if b != self.open_at {
            self.close_open();
            self.open_at = b;
        }
        let after_warmup = now >= self.warmup;
        let first_pre = (self.warmup.0 / self.bucket.as_nanos()) as usize;
        for o in outputs {
            let lat_us = (now.since(o.origin).as_nanos() / 1_000).clamp(1, MAX_LATENCY_US);
            self.buckets[b].outputs += 1;
            let _ = self.open.record(lat_us);
            if after_warmup {
                let _ = self.overall.record(lat_us);
            }
            if b >= first_pre {
                for (end, h) in &mut self.before {
                    if b < *end {
                        let _ = h.record(lat_us);
                    }
                }
            }
            self.shown.add(&o);
        }
    }

    /// The bucket with index `b`, created (with the ones before it) if needed.
    pub fn bucket_at(&mut self, b: usize) -> &mut Bucket {
        if self.buckets.len() <= b {
            self.buckets.resize_with(b + 1, Bucket::default);
        }
        &mut self.buckets[b]
    }

    /// Summarises the open bucket's latencies into its row.
    fn close_open(&mut self) {
        if let Some(l) = Latency::of(&self.open) {
            self.bucket_at(self.open_at).latency = Some(l);
            self.open.reset();
        }
    }

    /// Ends the series at bucket `b` (the run's last): every bucket up to it has a row and the
    /// open one is summarised.
    pub fn close(&mut self, b: usize) {
        self.bucket_at(b);
        self.close_open();
    }

    /// The latency from the warmup's bucket up to (not including) the bucket of the crash at
    /// `at`, if it was one of the instants the sink was told of.
    pub fn before(&self, at: SimTime) -> Option<&Histogram<u64>> {
        let end = (at.0 / self.bucket.as_nanos()) as usize;
        self.before.iter().find(|(e, _)| *e == end).map(|(_, h)| h)
    }

    /// What the sink shows (upserts collapsed).
    pub fn shown(&self) -> &Shown {
        &self.shown
    }

    /// Emissions still waiting in uncommitted transactions.
    pub fn pending_outputs(&self) -> usize {
        self.pending.values().map(Vec::len).sum()
    }
}
