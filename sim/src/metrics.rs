//! The sink and the measurements taken at it.
//!
//! The sink records what the job makes visible, per its mode: `append` shows every emission at
//! once; `idempotent` upserts by output id `(key, sub)` (the last value wins, and a re-emission
//! of the same output collapses); `transactional` holds emissions until their transaction
//! commits, and emissions outside any transaction show at once (an engine without a commit
//! protocol). Latency is taken when an output becomes visible: visible time minus its origin.
//! Time series are kept per bucket; all latencies in microseconds in HDR histograms.

use crate::ids::TxnId;
use crate::job::Output;
use crate::planted::{Bug, Planted};
use crate::scenario::SinkMode;
use crate::time::{SimDuration, SimTime};
use hdrhistogram::Histogram;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

const MAX_LATENCY_US: u64 = 4 * 3_600 * 1_000_000;

/// One bucket of the time series.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// Outputs made visible in the bucket.
    pub outputs: u64,
    /// Their latencies, microseconds.
    pub latency: Histogram<u64>,
    /// Records arrived at the source log but not yet read, at the bucket's end.
    pub backlog: u64,
}

fn histogram() -> Histogram<u64> {
    // Constant, valid bounds: 1 us to 4 h at two significant digits.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 2).expect("constant histogram bounds are valid")
}

/// The sink plus everything measured at it.
#[derive(Debug)]
pub struct Sink {
    mode: SinkMode,
    planted: Planted,
    bucket: SimDuration,
    warmup: SimTime,
    /// Per-bucket series.
    pub buckets: Vec<Bucket>,
    /// Latency of every output visible after the warmup, microseconds.
    pub overall: Histogram<u64>,
    /// Outputs visible after the warmup.
    pub counted: u64,
    visible: Vec<Output>,
    upserts: FxHashMap<(u64, u64), Output>,
    pending: BTreeMap<TxnId, Vec<Output>>,
}

impl Sink {
    /// An empty sink.
    pub fn new(mode: SinkMode, bucket: SimDuration, warmup: SimTime, planted: Planted) -> Self {
        Sink {
            mode,
            planted,
            bucket,
            warmup,
            buckets: Vec::new(),
            overall: histogram(),
            counted: 0,
            visible: Vec::new(),
            upserts: FxHashMap::default(),
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
        for o in outputs {
            let lat_us = (now.since(o.origin).as_nanos() / 1_000).clamp(1, MAX_LATENCY_US);
            let bucket = &mut self.buckets[b];
            bucket.outputs += 1;
            let _ = bucket.latency.record(lat_us);
            if now >= self.warmup {
                let _ = self.overall.record(lat_us);
                self.counted += 1;
            }
            match self.mode {
                SinkMode::Idempotent => {
                    let id = if self.planted.has(Bug::IdempotentByValue) {
                        (o.key, o.value)
                    } else {
                        (o.key, o.sub)
                    };
                    self.upserts.insert(id, o);
                }
                _ => self.visible.push(o),
            }
        }
    }

    /// The bucket with index `b`, created (with the ones before it) if needed.
    pub fn bucket_at(&mut self, b: usize) -> &mut Bucket {
        while self.buckets.len() <= b {
            self.buckets.push(Bucket {
                outputs: 0,
                latency: histogram(),
                backlog: 0,
            });
        }
        &mut self.buckets[b]
    }

    /// What the sink shows at the end: every visible emission (upserts collapsed).
    pub fn visible(&self) -> Vec<Output> {
        match self.mode {
            SinkMode::Idempotent => {
                let mut v: Vec<Output> = self.upserts.values().copied().collect();
                v.sort_unstable();
                v
            }
            _ => self.visible.clone(),
        }
    }

    /// Emissions still waiting in uncommitted transactions.
    pub fn pending_outputs(&self) -> usize {
        self.pending.values().map(Vec::len).sum()
    }
}
