//! The workload generator and the source log it fills.
//!
//! The log is durable and replayable (Kafka-like) and lies outside the failure domain. It is
//! generated up front from the scenario seed, one ChaCha stream per partition, so a record's
//! key, event time and arrival time never depend on the engine or on faults. Invariants:
//! - within a partition, arrival times are non-decreasing and offsets are dense from 0;
//! - `wm_before` is the partition's watermark just before the record (largest earlier event time
//!   minus the job's `max_out_of_orderness`); it is what makes lateness a property of the log.

use crate::ids::PartitionId;
use crate::rng::stream;
use crate::scenario::{KeyDist, Profile, Scenario};
use crate::time::{SimDuration, SimTime};
use rand::RngExt;
use rand_distr::{Distribution, Exp, Zipf};

/// One input record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Source partition.
    pub part: u32,
    /// Offset within the partition.
    pub offset: u32,
    /// Key.
    pub key: u32,
    /// Value (carried, not aggregated by the current jobs).
    pub value: u32,
    /// Event time (≤ arrival).
    pub event_time: SimTime,
    /// When the record is appended to the log.
    pub arrival: SimTime,
    /// The partition's watermark before this record.
    pub wm_before: SimTime,
}

/// The durable input log: one append-only sequence per partition.
#[derive(Debug, Clone)]
pub struct SourceLog {
    parts: Vec<Vec<Record>>,
    delay: SimDuration,
    record_bytes: u64,
}

impl SourceLog {
    /// Generates the whole input of a scenario.
    pub fn generate(sc: &Scenario) -> SourceLog {
        let w = &sc.workload;
        let end = SimTime(sc.run.duration.as_nanos());
        let n = w.partitions;
        let rate_p = w.rate / f64::from(n);
        let delay = sc.job.max_out_of_orderness;
        let zipf = match w.key_dist {
            KeyDist::Zipf(s) => Zipf::new(w.keys as f64, s).ok(),
            KeyDist::Uniform => None,
        };
        let parts = (0..n)
            .map(|p| {
                let mut rng = stream(sc.run.seed, &format!("workload/p{p}"));
                let mut out: Vec<Record> =
                    Vec::with_capacity((rate_p * sc.run.duration.as_secs_f64() * 1.05) as usize + 16);
                let gap_ns = 1e9 / rate_p;
                // Spread partitions' phases so that constant arrivals do not all coincide.
                let mut t = gap_ns * f64::from(p) / f64::from(n);
                let mut max_et = 0u64;
                loop {
                    let arrival = t.round() as u64;
                    if arrival >= end.0 || out.len() >= u32::MAX as usize {
                        break;
                    }
                    let key = match &zipf {
                        Some(z) => (z.sample(&mut rng) as u64).saturating_sub(1).min(w.keys - 1),
                        None => rng.random_range(0..w.keys),
                    };
                    let lag = if w.out_of_order > 0.0 && rng.random::<f64>() < w.out_of_order {
                        rng.random_range(0..=w.out_of_order_max.as_nanos())
                    } else {
                        0
                    };
                    let event_time = arrival.saturating_sub(lag);
                    let wm_before = if out.is_empty() {
                        0
                    } else {
                        max_et.saturating_sub(delay.as_nanos())
                    };
                    out.push(Record {
                        part: p,
                        offset: out.len() as u32,
                        key: key as u32,
                        value: rng.random_range(0..1000),
                        event_time: SimTime(event_time),
                        arrival: SimTime(arrival),
                        wm_before: SimTime(wm_before),
                    });
                    max_et = max_et.max(event_time);
                    t += match w.profile {
                        Profile::Constant => gap_ns,
                        Profile::Poisson => exp_gap(&mut rng, rate_p),
                        Profile::Bursty { period, peak, duty } => {
                            let base = rate_p / (duty * peak + (1.0 - duty));
                            let phase = (arrival % period.as_nanos()) as f64 / period.as_nanos() as f64;
                            exp_gap(&mut rng, if phase < duty { base * peak } else { base })
                        }
                    };
                }
                out
            })
            .collect();
        SourceLog {
            parts,
            delay,
            record_bytes: w.record_bytes,
        }
    }

    /// A log made of given records (tests): partition p's records must have `part == p` and
    /// dense offsets; `wm_before` is recomputed from event times with `delay`.
    pub fn from_records(mut parts: Vec<Vec<Record>>, delay: SimDuration, record_bytes: u64) -> SourceLog {
        for (p, recs) in parts.iter_mut().enumerate() {
            let mut max_et: Option<u64> = None;
            for (o, r) in recs.iter_mut().enumerate() {
                r.part = p as u32;
                r.offset = o as u32;
                r.wm_before = SimTime(max_et.map_or(0, |m| m.saturating_sub(delay.as_nanos())));
                max_et = Some(max_et.map_or(r.event_time.0, |m| m.max(r.event_time.0)));
            }
        }
        SourceLog {
            parts,
            delay,
            record_bytes,
        }
    }

    /// Number of partitions.
    pub fn partitions(&self) -> u32 {
        self.parts.len() as u32
    }
    /// Records in partition `p` over the whole run.
    pub fn len(&self, p: PartitionId) -> u64 {
        self.parts.get(p.0 as usize).map_or(0, |v| v.len() as u64)
    }
    /// Records in all partitions.
    pub fn total(&self) -> u64 {
        self.parts.iter().map(|v| v.len() as u64).sum()
    }
    /// True if the log holds no record at all.
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
    /// Bytes per record.
    pub fn record_bytes(&self) -> u64 {
        self.record_bytes
    }
    /// The records of partition `p` with offsets `from..to` (clamped to the log).
    pub fn slice(&self, p: PartitionId, from: u64, to: u64) -> &[Record] {
        let v = match self.parts.get(p.0 as usize) {
            Some(v) => v,
            None => return &[],
        };
        let to = (to as usize).min(v.len());
        let from = (from as usize).min(to);
        &v[from..to]
    }
    /// All records of partition `p`.
    pub fn partition(&self, p: PartitionId) -> &[Record] {
        self.slice(p, 0, u64::MAX)
    }
    /// How many records of `p` have arrived by `now` (the first offset not yet available).
    pub fn available(&self, p: PartitionId, now: SimTime) -> u64 {
        self.partition(p).partition_point(|r| r.arrival <= now) as u64
    }
    /// When the record at `offset` arrives, if the log has it.
    pub fn arrival(&self, p: PartitionId, offset: u64) -> Option<SimTime> {
        self.partition(p).get(offset as usize).map(|r| r.arrival)
    }
    /// The partition's watermark once every record before `offset` has been read: the largest
    /// event time among them minus the job's delay (zero before the first record).
    pub fn watermark_at(&self, p: PartitionId, offset: u64) -> SimTime {
        let recs = self.partition(p);
        if offset == 0 || recs.is_empty() {
            return SimTime::ZERO;
        }
        let o = (offset as usize).min(recs.len()) - 1;
        let r = &recs[o];
        r.wm_before.max(r.event_time - self.delay)
    }
    /// The watermark every partition has reached at the end of the log.
    pub fn final_watermark(&self) -> SimTime {
        (0..self.partitions())
            .map(|p| self.watermark_at(PartitionId(p), u64::MAX))
            .min()
            .unwrap_or(SimTime::ZERO)
    }
}

fn exp_gap(rng: &mut crate::rng::SimRng, rate_per_s: f64) -> f64 {
    match Exp::new(rate_per_s / 1e9) {
        Ok(e) => e.sample(rng).max(1.0),
        Err(_) => 1e9,
    }
}
