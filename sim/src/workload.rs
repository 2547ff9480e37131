//! The workload generator and the source log it fills.
//!
//! The log is durable and replayable (Kafka-like) and lies outside the failure domain. It is a
//! function of the scenario seed, one ChaCha stream per partition, so a record's key, event time
//! and arrival time never depend on the engine or on faults. Invariants:
//! - within a partition, arrival times are non-decreasing and offsets are dense from 0;
//! - `wm_before` is the partition's watermark just before the record (largest earlier event time
//!   minus the job's `max_out_of_orderness`); it is what makes lateness a property of the log.
//!
//! **Memory does not grow with the log.** The log is never held whole: one pass at the start
//! ([`SourceLog::generate_with`]) walks every partition once and keeps, every [`CHUNK`] records,
//! where the generator stood (the ChaCha stream's word position, the arrival clock, the largest
//! event time so far). Any chunk is then generated again on demand, exactly as the first time, by
//! a per-run [`LogReader`] that caches the few chunks each partition is being read at. A chunk
//! costs 32 bytes of index per [`CHUNK`] records.
//!
//! **A trace replaces the generator** when the scenario names one (`workload.trace`): the log
//! is then the trace's records, read the same way, by chunk, from the index the scenario loader
//! built when it checked the file ([`crate::trace`]); only where a chunk comes from differs. The
//! oracle's pass reads the file once more, in file order.

use crate::ids::PartitionId;
use crate::rng::{SimRng, stream};
use crate::scenario::{KeyDist, Profile, Scenario};
use crate::time::{SimDuration, SimTime};
use crate::trace::{Trace, TraceReader};
use rand::RngExt;
use rand_distr::{Distribution, Exp, Zipf};
use std::cell::RefCell;
use std::sync::Arc;

/// Records per chunk of the index (and per cached chunk).
pub const CHUNK: u64 = 512;

/// Chunks each partition's reader keeps generated.
const CACHED: usize = 3;

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

/// Where the generator of a partition stood at the start of a chunk.
#[derive(Debug, Clone, Copy)]
struct ChunkStart {
    /// The partition stream's word position.
    pos: u64,
    /// The arrival clock (ns, unrounded).
    t: f64,
    /// Largest event time before the chunk (`None` before the first record).
    max_et: Option<u64>,
    /// Arrival of the chunk's first record.
    first_arrival: u64,
}

/// The generator's parameters, shared by every partition.
#[derive(Debug, Clone)]
struct Generator {
    seed: u64,
    end: u64,
    partitions: u32,
    rate_p: f64,
    profile: Profile,
    keys: u64,
    zipf: Option<Zipf<f64>>,
    out_of_order: f64,
    out_of_order_max: u64,
    delay: u64,
}

/// The generator's position in one partition.
struct Cursor {
    rng: SimRng,
    t: f64,
    max_et: Option<u64>,
    offset: u64,
}

impl Generator {
    fn of(sc: &Scenario) -> Generator {
        let w = &sc.workload;
        Generator {
            seed: sc.run.seed,
            end: sc.run.duration.as_nanos(),
            partitions: w.partitions,
            rate_p: w.rate / f64::from(w.partitions),
            profile: w.profile,
            keys: w.keys,
            zipf: match w.key_dist {
                KeyDist::Zipf(s) => Zipf::new(w.keys as f64, s).ok(),
                KeyDist::Uniform => None,
            },
            out_of_order: w.out_of_order,
            out_of_order_max: w.out_of_order_max.as_nanos(),
            delay: sc.job.max_out_of_orderness.as_nanos(),
        }
    }

    fn rng(&self, p: u32) -> SimRng {
        stream(self.seed, &format!("workload/p{p}"))
    }

    /// The cursor at the start of partition `p`.
    fn start(&self, p: u32) -> Cursor {
        let n = self.partitions;
        // Spread partitions' phases so that constant arrivals do not all coincide.
        let gap_ns = 1e9 / self.rate_p;
        Cursor {
            rng: self.rng(p),
            t: gap_ns * f64::from(p) / f64::from(n),
            max_et: None,
            offset: 0,
        }
    }

    /// The cursor at chunk `c`, from where the index says the generator stood.
    fn at(&self, p: u32, c: u64, s: &ChunkStart) -> Cursor {
        let mut rng = self.rng(p);
        rng.set_word_pos(u128::from(s.pos));
        Cursor {
            rng,
            t: s.t,
            max_et: s.max_et,
            offset: c * CHUNK,
        }
    }

    /// The next record of partition `p`, if it arrives before the end of the run.
    fn next(&self, p: u32, c: &mut Cursor) -> Option<Record> {
        let arrival = crate::time::round_ns(c.t);
        if arrival >= self.end || c.offset >= u64::from(u32::MAX) {
            return None;
        }
        let rng = &mut c.rng;
        let key = match &self.zipf {
            Some(z) => (z.sample(rng) as u64).saturating_sub(1).min(self.keys - 1),
            None => rng.random_range(0..self.keys),
        };
        let lag = if self.out_of_order > 0.0 && rng.random::<f64>() < self.out_of_order {
            rng.random_range(0..=self.out_of_order_max)
        } else {
            0
        };
        let event_time = arrival.saturating_sub(lag);
        let wm_before = c.max_et.map_or(0, |m| m.saturating_sub(self.delay));
        let r = Record {
            part: p,
            offset: c.offset as u32,
            key: key as u32,
            value: rng.random_range(0..1000),
            event_time: SimTime(event_time),
            arrival: SimTime(arrival),
            wm_before: SimTime(wm_before),
        };
        c.max_et = Some(c.max_et.map_or(event_time, |m| m.max(event_time)));
        c.offset += 1;
        c.t += match self.profile {
            Profile::Constant => 1e9 / self.rate_p,
            Profile::Poisson => exp_gap(rng, self.rate_p),
            Profile::Bursty { period, peak, duty } => {
                let base = self.rate_p / (duty * peak + (1.0 - duty));
                let phase = (arrival % period.as_nanos()) as f64 / period.as_nanos() as f64;
                exp_gap(rng, if phase < duty { base * peak } else { base })
            }
        };
        Some(r)
    }
}

/// One partition of the log: its length, final watermark and records (the index of a generated
/// log, the records themselves, or a trace's partition, indexed in the trace).
#[derive(Debug, Clone)]
struct Part {
    len: u64,
    final_wm: SimTime,
    data: PartData,
}

#[derive(Debug, Clone)]
enum PartData {
    Generated(Vec<ChunkStart>),
    Given(Vec<Record>),
    Traced,
}

/// The durable input log: one append-only sequence per partition. Shared by every run of a
/// scenario; read through a [`LogReader`].
#[derive(Debug, Clone)]
pub struct SourceLog {
    parts: Vec<Part>,
    generator: Option<Generator>,
    trace: Option<Arc<Trace>>,
    delay: SimDuration,
    record_bytes: u64,
}

impl SourceLog {
    /// Generates the whole input of a scenario.
    pub fn generate(sc: &Scenario) -> SourceLog {
        Self::generate_with(sc, |_| {})
    }

    /// Generates the input of a scenario, handing every record to `each`, each partition's in
    /// log order (the oracle reads the log in the same pass). A generated log is handed over
    /// partition by partition; a trace's partitions interleave as its rows do in the file.
    pub fn generate_with(sc: &Scenario, mut each: impl FnMut(&Record)) -> SourceLog {
        if let Some(trace) = &sc.workload.trace {
            return Self::replay(sc, trace, each);
        }
        let g = Generator::of(sc);
        let parts = (0..g.partitions)
            .map(|p| {
                let mut c = g.start(p);
                let mut chunks = Vec::new();
                let mut last = None;
                loop {
                    // The next record opens a chunk: where the generator stands before it.
                    let start = (c.offset % CHUNK == 0).then(|| ChunkStart {
                        pos: c.rng.get_word_pos() as u64,
                        t: c.t,
                        max_et: c.max_et,
                        first_arrival: 0,
                    });
                    let Some(r) = g.next(p, &mut c) else { break };
                    if let Some(start) = start {
                        chunks.push(ChunkStart {
                            first_arrival: r.arrival.0,
                            ..start
                        });
                    }
                    each(&r);
                    last = Some(r);
                }
                Part {
                    len: c.offset,
                    final_wm: last.map_or(SimTime::ZERO, |r| final_wm(&r, sc.job.max_out_of_orderness)),
                    data: PartData::Generated(chunks),
                }
            })
            .collect();
        SourceLog {
            parts,
            delay: sc.job.max_out_of_orderness,
            record_bytes: sc.workload.record_bytes,
            generator: Some(g),
            trace: None,
        }
    }

    /// The log of a scenario that replays `trace`: its index is the trace's, built when the
    /// scenario loaded; this reads the file once more, to hand every record to `each`.
    fn replay(sc: &Scenario, trace: &Arc<Trace>, each: impl FnMut(&Record)) -> SourceLog {
        let delay = sc.job.max_out_of_orderness;
        trace.stream(delay.as_nanos(), each);
        let parts = (0..trace.partitions())
            .map(|p| {
                let part = trace.part(p);
                Part {
                    len: part.len,
                    final_wm: part
                        .max_et
                        .map_or(SimTime::ZERO, |m| SimTime(m.saturating_sub(delay.as_nanos()))),
                    data: PartData::Traced,
                }
            })
            .collect();
        SourceLog {
            parts,
            generator: None,
            trace: Some(Arc::clone(trace)),
            delay,
            record_bytes: sc.workload.record_bytes,
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
        let parts = parts
            .into_iter()
            .map(|recs| Part {
                len: recs.len() as u64,
                final_wm: recs.last().map_or(SimTime::ZERO, |r| final_wm(r, delay)),
                data: PartData::Given(recs),
            })
            .collect();
        SourceLog {
            parts,
            generator: None,
            trace: None,
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
        self.parts.get(p.0 as usize).map_or(0, |v| v.len)
    }
    /// Records in all partitions.
    pub fn total(&self) -> u64 {
        self.parts.iter().map(|v| v.len).sum()
    }
    /// True if the log holds no record at all.
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
    /// Bytes per record.
    pub fn record_bytes(&self) -> u64 {
        self.record_bytes
    }
    /// The watermark every partition has reached at the end of the log.
    pub fn final_watermark(&self) -> SimTime {
        self.parts.iter().map(|p| p.final_wm).min().unwrap_or(SimTime::ZERO)
    }
    /// Entries of the index from which chunks are made again (per partition, one per
    /// [`CHUNK`] records; none for a log of given records).
    pub fn index_len(&self) -> u64 {
        if let Some(t) = &self.trace {
            return t.index_len();
        }
        self.parts
            .iter()
            .map(|p| match &p.data {
                PartData::Generated(chunks) => chunks.len() as u64,
                _ => 0,
            })
            .sum()
    }
    /// The trace the log replays, if it replays one.
    pub fn trace(&self) -> Option<&Trace> {
        self.trace.as_deref()
    }
    /// A reader of this log for one run.
    pub fn reader(&self) -> LogReader<'_> {
        LogReader {
            log: self,
            cache: RefCell::new((0..self.parts.len()).map(|_| PartCache::default()).collect()),
            avail: RefCell::new(vec![(u64::MAX, 0, 0); self.parts.len()]),
            file: RefCell::new(None),
        }
    }

    /// Generates chunk `c` of partition `p` into `out`.
    fn chunk(&self, p: u32, c: u64, out: &mut Vec<Record>) {
        out.clear();
        let part = &self.parts[p as usize];
        let (Some(g), PartData::Generated(chunks)) = (&self.generator, &part.data) else {
            return;
        };
        let Some(start) = chunks.get(c as usize) else { return };
        let mut cursor = g.at(p, c, start);
        let n = CHUNK.min(part.len - c * CHUNK);
        out.extend((0..n).map_while(|_| g.next(p, &mut cursor)));
    }
}

/// The partition's watermark once `last`, its last record, is read.
fn final_wm(last: &Record, delay: SimDuration) -> SimTime {
    last.wm_before.max(last.event_time - delay)
}

/// The chunks of one partition a reader keeps, most recently used first.
#[derive(Debug, Default)]
struct PartCache {
    slots: Vec<(u64, Vec<Record>)>,
}

/// One run's reader of a [`SourceLog`]: the same questions, answered from chunks generated on
/// demand and cached per partition. A cache only remembers what a pure function of the seed
/// gives, so it never changes an answer.
pub struct LogReader<'a> {
    log: &'a SourceLog,
    cache: RefCell<Vec<PartCache>>,
    /// Per partition, the last answer of [`LogReader::available`]: (asked at, answer, arrival
    /// of the record at the answer). Availability only grows with time, so the answer holds for
    /// any instant from the one asked at until that arrival.
    avail: RefCell<Vec<(u64, u64, u64)>>,
    /// The trace file, opened at the first chunk read from it.
    file: RefCell<Option<TraceReader>>,
}

impl LogReader<'_> {
    /// The log read.
    pub fn log(&self) -> &SourceLog {
        self.log
    }
    /// Number of partitions.
    pub fn partitions(&self) -> u32 {
        self.log.partitions()
    }
    /// Records in partition `p` over the whole run.
    pub fn len(&self, p: PartitionId) -> u64 {
        self.log.len(p)
    }
    /// Records in all partitions.
    pub fn total(&self) -> u64 {
        self.log.total()
    }
    /// True if the log holds no record at all.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }
    /// Bytes per record.
    pub fn record_bytes(&self) -> u64 {
        self.log.record_bytes
    }
    /// The watermark every partition has reached at the end of the log.
    pub fn final_watermark(&self) -> SimTime {
        self.log.final_watermark()
    }

    /// Calls `f` with the records of chunk `c` of partition `p`.
    fn with_chunk<R>(&self, p: u32, c: u64, f: impl FnOnce(&[Record]) -> R) -> R {
        let part = &self.log.parts[p as usize];
        if let PartData::Given(recs) = &part.data {
            let from = ((c * CHUNK) as usize).min(recs.len());
            let to = (from + CHUNK as usize).min(recs.len());
            return f(&recs[from..to]);
        }
        let mut cache = self.cache.borrow_mut();
        let slots = &mut cache[p as usize].slots;
        match slots.iter().position(|(i, _)| *i == c) {
            Some(0) => {}
            Some(i) => slots[..=i].rotate_right(1),
            None => {
                let mut recs = if slots.len() < CACHED {
                    Vec::with_capacity(CHUNK as usize)
                } else {
                    slots.pop().map(|(_, v)| v).unwrap_or_default()
                };
                self.fill(p, c, &mut recs);
                slots.insert(0, (c, recs));
            }
        }
        f(&slots[0].1)
    }

    /// Makes chunk `c` of partition `p` again, from the generator or the trace, into `out`.
    fn fill(&self, p: u32, c: u64, out: &mut Vec<Record>) {
        let Some(trace) = &self.log.trace else {
            return self.log.chunk(p, c, out);
        };
        let mut file = self.file.borrow_mut();
        let io = file.get_or_insert_with(|| trace.open());
        trace.read_chunk(io, p, c, self.log.delay.as_nanos(), out);
    }

    /// The records of partition `p` with offsets `from..to` (clamped to the log), in order.
    pub fn slice(&self, p: PartitionId, from: u64, to: u64) -> Vec<Record> {
        let mut out = Vec::new();
        self.each(p, from, to, |r| out.push(*r));
        out
    }

    /// Calls `f` with every record of partition `p` with offsets `from..to` (clamped to the
    /// log), in order. `f` must not read the log itself.
    pub fn each(&self, p: PartitionId, from: u64, to: u64, mut f: impl FnMut(&Record)) {
        let to = to.min(self.len(p));
        let mut at = from;
        while at < to {
            let c = at / CHUNK;
            let base = c * CHUNK;
            let upto = to.min(base + CHUNK);
            self.with_chunk(p.0, c, |recs| {
                recs[(at - base) as usize..(upto - base) as usize]
                    .iter()
                    .for_each(&mut f);
            });
            at = upto;
        }
    }

    /// The record of partition `p` at `offset`, if the log has it.
    pub fn record(&self, p: PartitionId, offset: u64) -> Option<Record> {
        if offset >= self.len(p) {
            return None;
        }
        let base = offset / CHUNK * CHUNK;
        self.with_chunk(p.0, offset / CHUNK, |recs| recs.get((offset - base) as usize).copied())
    }

    /// How many records of `p` have arrived by `now` (the first offset not yet available).
    pub fn available(&self, p: PartitionId, now: SimTime) -> u64 {
        let Some(memo) = self.avail.borrow().get(p.0 as usize).copied() else {
            return 0;
        };
        let (asked, answer, next) = memo;
        if asked <= now.0 && now.0 < next {
            return answer;
        }
        let answer = if asked <= now.0 && next != u64::MAX {
            // Record `answer` has arrived since: a reader moving forward in time finds the new
            // answer a few records on, in a chunk it just read.
            self.count_on(p, answer, now)
        } else {
            self.count_available(p, now)
        };
        let next = self.arrival(p, answer).map_or(u64::MAX, |t| t.0);
        self.avail.borrow_mut()[p.0 as usize] = (now.0, answer, next);
        answer
    }

    /// [`LogReader::available`] given that every record below `from` has arrived by `now`: a
    /// short scan from `from` within its chunk, or the full search if that does not settle it.
    fn count_on(&self, p: PartitionId, from: u64, now: SimTime) -> u64 {
        const SCAN: usize = 16;
        let base = from / CHUNK * CHUNK;
        let start = (from - base) as usize;
        let found = self.with_chunk(p.0, from / CHUNK, |recs| {
            let ahead = recs.get(start..).unwrap_or_default();
            ahead.iter().take(SCAN).position(|r| r.arrival > now)
        });
        match found {
            Some(i) => from + i as u64,
            None => self.count_available(p, now),
        }
    }

    /// [`LogReader::available`], computed.
    fn count_available(&self, p: PartitionId, now: SimTime) -> u64 {
        let Some(part) = self.log.parts.get(p.0 as usize) else {
            return 0;
        };
        let c = match (&part.data, &self.log.trace) {
            (PartData::Given(recs), _) => return recs.partition_point(|r| r.arrival <= now) as u64,
            (PartData::Generated(chunks), _) => chunks.partition_point(|s| s.first_arrival <= now.0),
            (PartData::Traced, Some(t)) => t.part(p.0).chunks.partition_point(|s| s.first_arrival <= now.0),
            (PartData::Traced, None) => 0,
        };
        if c == 0 {
            return 0;
        }
        let c = c as u64 - 1;
        c * CHUNK + self.with_chunk(p.0, c, |recs| recs.partition_point(|r| r.arrival <= now)) as u64
    }

    /// When the record at `offset` arrives, if the log has it.
    pub fn arrival(&self, p: PartitionId, offset: u64) -> Option<SimTime> {
        self.record(p, offset).map(|r| r.arrival)
    }

    /// The partition's watermark once every record before `offset` has been read: the largest
    /// event time among them minus the job's delay (zero before the first record).
    pub fn watermark_at(&self, p: PartitionId, offset: u64) -> SimTime {
        let len = self.len(p);
        if offset == 0 || len == 0 {
            return SimTime::ZERO;
        }
        if offset >= len {
            return self.log.parts[p.0 as usize].final_wm;
        }
        self.record(p, offset - 1)
            .map_or(SimTime::ZERO, |r| r.wm_before.max(r.event_time - self.log.delay))
    }
}

fn exp_gap(rng: &mut SimRng, rate_per_s: f64) -> f64 {
    match Exp::new(rate_per_s / 1e9) {
        Ok(e) => e.sample(rng).max(1.0),
        Err(_) => 1e9,
    }
}
