//! Trace replay: a CSV file of records (`workload.trace`) takes the generator's place as the
//! content of the source log.
//!
//! **Format.** UTF-8 text, one record per line, fields separated by commas; a field may be
//! double-quoted (`"a, b"`, a quote inside written twice) but ends on its line. Spaces around a
//! field are ignored, blank lines and lines starting with `#` are skipped. The first other line
//! is the header, naming the columns in any order:
//! - `time_s` (required): when the record arrives, in seconds from the trace's start, a decimal
//!   number ≥ 0 with at most 9 decimals (`12.5`, `0.000250`). Rows are in non-decreasing
//!   `time_s` order.
//! - `key` (required): any text of 1 to [`MAX_KEY_BYTES`] bytes (`42` is the text "42").
//! - `value` (optional, default 0): a whole number from 0 to 4294967295.
//! - `event_time_s` (optional, default `time_s`): when the event happened, in the same format,
//!   at or before `time_s`.
//! - `partition` (optional): the source partition, 0 to `workload.partitions` − 1. Without it a
//!   record goes where a Kafka producer's default partitioner sends its key: murmur2 of the key's
//!   bytes, made positive, modulo the partitions ([`kafka_partition`]).
//! - `bytes` (optional, default `workload.record_bytes`): the record's size, 1 to 1048576.
//!
//! An optional column's field may be left empty for its default. A record arrives at
//! `time_s / trace_speed` and happened at `event_time_s / trace_speed`. Keys become the ids 0, 1,
//! 2, … in the order of their first appearance in the file, so the same file always gives the
//! same ids (a recorded live session keeps the ids it had live).
//!
//! **Streaming.** The trace is never held whole. [`Trace::scan`] reads it once, when the
//! scenario loads: it checks every row (a bad one is refused with its line before anything is
//! simulated), maps the keys, and keeps per partition, every [`CHUNK`] of its records, the byte
//! offset and line of the chunk's first record, the largest event time before it (for
//! watermarks) and its arrival. A chunk is read again by seeking to that offset and reading rows
//! until the partition's [`CHUNK`] records are found, skipping the rows of other partitions. The
//! memory kept is the key map and 40 bytes per chunk, not the trace; the key map is the one part
//! that grows with the input, by the distinct keys.

mod kafka;
mod text;

pub use kafka::{kafka_partition, murmur2};
use text::{Fields, Lines, parse_secs, secs, whole};

use crate::scenario::limits;
use crate::time::SimTime;
use crate::workload::{CHUNK, Record};
use rustc_hash::FxHashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The columns a trace may have, required ones first.
pub const COLUMNS: [&str; 6] = ["time_s", "key", "value", "event_time_s", "partition", "bytes"];

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Largest record size a `bytes` field may give (as `workload.record_bytes`).
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// A row the trace cannot hold: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    /// The line (1-based), if the mistake is on one.
    pub line: Option<u64>,
    /// The column, if the mistake is in one field.
    pub column: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl TraceError {
    fn at(line: u64, column: Option<&str>, message: impl Into<String>) -> TraceError {
        TraceError {
            line: Some(line),
            column: column.map(String::from),
            message: message.into(),
        }
    }
    fn whole(message: impl Into<String>) -> TraceError {
        TraceError {
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        if let Some(c) = &self.column {
            write!(f, "{c}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Which field of a row holds which column.
#[derive(Debug, Clone, Copy)]
struct Layout {
    time: usize,
    key: usize,
    value: Option<usize>,
    event_time: Option<usize>,
    partition: Option<usize>,
    bytes: Option<usize>,
    width: usize,
}

/// Where one chunk of a partition starts in the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TraceChunk {
    /// Byte offset of the line of the chunk's first record.
    byte: u64,
    /// That line's number.
    line: u64,
    /// Largest event time of the partition before the chunk (ns, after `trace_speed`).
    max_et: Option<u64>,
    /// Arrival of the chunk's first record (ns).
    pub(crate) first_arrival: u64,
}

/// One partition's index.
#[derive(Debug, Clone, Default)]
pub(crate) struct TracePart {
    /// Records in the partition.
    pub(crate) len: u64,
    /// Where every [`CHUNK`]-th record is.
    pub(crate) chunks: Vec<TraceChunk>,
    /// Largest event time of the partition (ns).
    pub(crate) max_et: Option<u64>,
}

/// A scanned trace: its layout, key ids and per-partition chunk index. Shared (behind an `Arc`)
/// by the scenario and every log built from it.
pub struct Trace {
    path: PathBuf,
    layout: Layout,
    speed: f64,
    partitions: u32,
    default_bytes: u64,
    ids: FxHashMap<Box<[u8]>, u32>,
    parts: Vec<TracePart>,
    rows: u64,
    last_arrival: u64,
    bytes_total: u64,
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("path", &self.path)
            .field("speed", &self.speed)
            .field("rows", &self.rows)
            .field("keys", &self.ids.len())
            .finish_non_exhaustive()
    }
}

/// One row, decoded.
struct Row<'a> {
    time: u64,
    event_time: u64,
    key: &'a [u8],
    value: u32,
    bytes: u64,
    partition: u32,
}

impl Trace {
    /// Reads the trace at `path` once: checks every row, maps its keys and indexes its
    /// partitions. Records arrive at `time_s / speed`; those arriving at or after `until` are
    /// not read (nor checked). Without `until`, a record arriving at or after `limit` is refused.
    /// `default_bytes` is the size of a record whose `bytes` field is absent or empty.
    pub fn scan(
        path: &Path,
        speed: f64,
        partitions: u32,
        default_bytes: u64,
        until: Option<SimTime>,
        limit: SimTime,
    ) -> Result<Trace, TraceError> {
        let io = |line: Option<u64>, e: io::Error| TraceError {
            line,
            column: None,
            message: format!("cannot read: {e}"),
        };
        let mut lines = Lines::open(path).map_err(|e| io(None, e))?;
        let mut fields = Fields::default();
        let Some((_, head_line)) = lines.next().map_err(|e| io(None, e))? else {
            return Err(TraceError::whole(
                "is empty: its first line must be the header, e.g. time_s,key,value",
            ));
        };
        fields
            .split(&lines.buf)
            .map_err(|m| TraceError::at(head_line, None, format!("header: {m}")))?;
        let layout = Layout::of(&fields).map_err(|m| TraceError::at(head_line, None, format!("header: {m}")))?;
        let mut trace = Trace {
            path: path.to_path_buf(),
            layout,
            speed,
            partitions,
            default_bytes,
            ids: FxHashMap::default(),
            parts: vec![TracePart::default(); partitions as usize],
            rows: 0,
            last_arrival: 0,
            bytes_total: 0,
        };
        let mut prev: Option<(u64, u64)> = None;
        let mut first_cut: Option<u64> = None;
        while let Some((byte, line)) = lines.next().map_err(|e| io(Some(lines.line), e))? {
            fields.split(&lines.buf).map_err(|m| TraceError::at(line, None, m))?;
            layout.check_width(&fields, line)?;
            let time = layout.time(&fields, line)?;
            if let Some((pt, pl)) = prev
                && time < pt
            {
                return Err(TraceError::at(
                    line,
                    Some("time_s"),
                    format!(
                        "{} is before {} on line {pl}: rows must be in non-decreasing time_s order",
                        secs(time),
                        secs(pt)
                    ),
                ));
            }
            prev = Some((time, line));
            let arrival = scale(time, speed);
            match until {
                Some(u) if arrival >= u.0 => {
                    first_cut = Some(arrival);
                    break;
                }
                None if arrival >= limit.0 => {
                    return Err(TraceError::at(
                        line,
                        Some("time_s"),
                        format!(
                            "{} arrives at {} s, past the longest run ({} s): time_s counts seconds from the trace's start; set run.duration to replay the trace's first part, or a larger workload.trace_speed",
                            secs(time),
                            secs(arrival),
                            secs(limit.0)
                        ),
                    ));
                }
                _ => {}
            }
            let row = layout.row(&fields, time, partitions, default_bytes, line)?;
            trace.add(&row, byte, line)?;
        }
        if trace.rows == 0 {
            return Err(match (first_cut, until) {
                (Some(at), Some(u)) => TraceError::whole(format!(
                    "no record arrives before run.duration ({} s): the first arrives at {} s",
                    secs(u.0),
                    secs(at)
                )),
                _ => TraceError::whole(format!("holds no record after its header (line {head_line})")),
            });
        }
        Ok(trace)
    }

    /// Takes one checked row into the index.
    fn add(&mut self, row: &Row<'_>, byte: u64, line: u64) -> Result<(), TraceError> {
        if !self.ids.contains_key(row.key) {
            if self.ids.len() as u64 >= limits::MAX_KEYS {
                return Err(TraceError::at(
                    line,
                    Some("key"),
                    format!("the trace has more than {} distinct keys, the limit", limits::MAX_KEYS),
                ));
            }
            let id = self.ids.len() as u32;
            self.ids.insert(row.key.into(), id);
        }
        if self.rows as f64 >= limits::MAX_RECORDS {
            return Err(TraceError::at(
                line,
                None,
                format!("the trace has more than {} records, the limit", limits::MAX_RECORDS),
            ));
        }
        let arrival = scale(row.time, self.speed);
        let event_time = scale(row.event_time, self.speed);
        let part = &mut self.parts[row.partition as usize];
        if part.len as f64 >= limits::MAX_PARTITION_RECORDS {
            return Err(TraceError::at(
                line,
                None,
                format!(
                    "partition {} has more than {} records, the limit per partition; use more partitions",
                    row.partition,
                    limits::MAX_PARTITION_RECORDS
                ),
            ));
        }
        if part.len % CHUNK == 0 {
            part.chunks.push(TraceChunk {
                byte,
                line,
                max_et: part.max_et,
                first_arrival: arrival,
            });
        }
        part.max_et = Some(part.max_et.map_or(event_time, |m| m.max(event_time)));
        part.len += 1;
        self.rows += 1;
        self.last_arrival = arrival;
        self.bytes_total = self.bytes_total.saturating_add(row.bytes);
        Ok(())
    }

    /// The file, as opened.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Records read from the trace (those arriving before the end of the run).
    pub fn rows(&self) -> u64 {
        self.rows
    }
    /// Distinct keys among them.
    pub fn keys(&self) -> u64 {
        self.ids.len() as u64
    }
    /// The id of key `text`, if the trace has it.
    pub fn key_id(&self, text: &str) -> Option<u32> {
        self.ids.get(text.as_bytes()).copied()
    }
    /// Partitions the records are spread over.
    pub fn partitions(&self) -> u32 {
        self.partitions
    }
    /// The replay speed (`workload.trace_speed`).
    pub fn speed(&self) -> f64 {
        self.speed
    }
    /// When the last record read arrives.
    pub fn last_arrival(&self) -> SimTime {
        SimTime(self.last_arrival)
    }
    /// Records of partition `p`.
    pub fn len(&self, p: u32) -> u64 {
        self.parts.get(p as usize).map_or(0, |t| t.len)
    }
    /// True if no record was read (never, for a trace that loaded).
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
    /// Whether the trace has a `bytes` column.
    pub fn has_bytes(&self) -> bool {
        self.layout.bytes.is_some()
    }
    /// The mean size of the records read, rounded to the nearest byte.
    pub fn mean_bytes(&self) -> u64 {
        (self.bytes_total + self.rows / 2) / self.rows.max(1)
    }
    /// The index of partition `p`.
    pub(crate) fn part(&self, p: u32) -> &TracePart {
        &self.parts[p as usize]
    }
    /// Index entries kept, over every partition.
    pub(crate) fn index_len(&self) -> u64 {
        self.parts.iter().map(|p| p.chunks.len() as u64).sum()
    }

    /// Hands every record read, in file order, to `each` (the oracle's pass). `delay` is the
    /// job's `max_out_of_orderness` in ns.
    pub(crate) fn stream(&self, delay: u64, mut each: impl FnMut(&Record)) {
        let mut io = self.open();
        let mut next = vec![0u64; self.partitions as usize];
        let mut max_et: Vec<Option<u64>> = vec![None; self.partitions as usize];
        for _ in 0..self.rows {
            let line = io.next_row(self);
            let row = self.reread(&io.fields, line);
            let p = row.partition as usize;
            let r = self.record(&row, next[p], &mut max_et[p], delay);
            next[p] += 1;
            each(&r);
        }
    }

    /// A reader of the file, positioned after the header.
    pub(crate) fn open(&self) -> TraceReader {
        let mut lines = Lines::open(&self.path).unwrap_or_else(|e| self.changed(&format!("cannot open it: {e}")));
        // The header.
        if !matches!(lines.next(), Ok(Some(_))) {
            self.changed("its header is gone");
        }
        TraceReader {
            lines,
            fields: Fields::default(),
        }
    }

    /// Reads chunk `c` of partition `p` into `out`.
    pub(crate) fn read_chunk(&self, io: &mut TraceReader, p: u32, c: u64, delay: u64, out: &mut Vec<Record>) {
        out.clear();
        let part = self.part(p);
        let Some(start) = part.chunks.get(c as usize) else {
            return;
        };
        let n = CHUNK.min(part.len - c * CHUNK) as usize;
        if let Err(e) = io.lines.seek(start.byte, start.line) {
            self.changed(&format!("cannot seek in it: {e}"));
        }
        let mut max_et = start.max_et;
        let mut offset = c * CHUNK;
        while out.len() < n {
            let line = io.next_row(self);
            // Other partitions' rows are skipped without decoding them.
            if matches!(self.layout.partition_of(&io.fields, self.partitions), Some(q) if q != p) {
                continue;
            }
            let row = self.reread(&io.fields, line);
            if row.partition == p {
                out.push(self.record(&row, offset, &mut max_et, delay));
                offset += 1;
            }
        }
    }

    /// A row read again: it passed the scan, so an error means the file changed since.
    fn reread<'f>(&self, fields: &'f Fields, line: u64) -> Row<'f> {
        let l = &self.layout;
        let row = l
            .check_width(fields, line)
            .and_then(|()| l.time(fields, line))
            .and_then(|t| l.row(fields, t, self.partitions, self.default_bytes, line));
        row.unwrap_or_else(|e| self.changed(&e.to_string()))
    }

    /// The log record of a row: offset `offset` of its partition, whose largest event time so
    /// far is `max_et` (updated).
    fn record(&self, row: &Row<'_>, offset: u64, max_et: &mut Option<u64>, delay: u64) -> Record {
        let Some(&key) = self.ids.get(row.key) else {
            self.changed("a key it did not have appeared");
        };
        let event_time = scale(row.event_time, self.speed);
        let wm_before = max_et.map_or(0, |m| m.saturating_sub(delay));
        *max_et = Some(max_et.map_or(event_time, |m| m.max(event_time)));
        Record {
            part: row.partition,
            offset: offset as u32,
            key,
            value: row.value,
            event_time: SimTime(event_time),
            arrival: SimTime(scale(row.time, self.speed)),
            wm_before: SimTime(wm_before),
        }
    }

    /// The trace no longer reads as it did when the scenario loaded: nothing sensible can go on.
    fn changed(&self, what: &str) -> ! {
        panic!(
            "the trace {} changed while ftsim was replaying it ({what}); leave a trace in place, unchanged, until the run ends",
            self.path.display()
        )
    }
}

/// An open trace file of one run, with its buffers.
pub(crate) struct TraceReader {
    lines: Lines,
    fields: Fields,
}

impl TraceReader {
    /// Reads the next row into `self.fields`; returns its line.
    fn next_row(&mut self, trace: &Trace) -> u64 {
        match self.lines.next() {
            Ok(Some((_, line))) => {
                if let Err(m) = self.fields.split(&self.lines.buf) {
                    trace.changed(&format!("line {line}: {m}"));
                }
                line
            }
            Ok(None) => trace.changed("it ends early"),
            Err(e) => trace.changed(&format!("cannot read it: {e}")),
        }
    }
}

impl Layout {
    /// The layout a header names.
    fn of(header: &Fields) -> Result<Layout, String> {
        let mut at: [Option<usize>; COLUMNS.len()] = [None; COLUMNS.len()];
        for i in 0..header.len() {
            let name = header.get(i);
            let Some(c) = COLUMNS.iter().position(|c| c.as_bytes() == name) else {
                return Err(format!(
                    "\"{}\" is not a column: allowed {}",
                    String::from_utf8_lossy(name),
                    COLUMNS.join(", ")
                ));
            };
            if at[c].is_some() {
                return Err(format!("{} is named twice", COLUMNS[c]));
            }
            at[c] = Some(i);
        }
        let required = |c: usize| {
            at[c].ok_or_else(|| {
                format!(
                    "no {} column: a trace's header names time_s and key, and may name {}",
                    COLUMNS[c],
                    COLUMNS[2..].join(", ")
                )
            })
        };
        Ok(Layout {
            time: required(0)?,
            key: required(1)?,
            value: at[2],
            event_time: at[3],
            partition: at[4],
            bytes: at[5],
            width: header.len(),
        })
    }

    fn check_width(&self, f: &Fields, line: u64) -> Result<(), TraceError> {
        if f.len() == self.width {
            return Ok(());
        }
        Err(TraceError::at(
            line,
            None,
            format!(
                "has {} fields where the header names {} columns: write one field per column (empty for an optional column's default)",
                f.len(),
                self.width
            ),
        ))
    }

    /// The partition of a row, read from as little of it as possible (`None` if it has no
    /// valid one).
    fn partition_of(&self, f: &Fields, partitions: u32) -> Option<u32> {
        if f.len() != self.width {
            return None;
        }
        match self.partition.map(|i| f.get(i)).filter(|t| !t.is_empty()) {
            Some(t) => whole(t, 0, u64::from(partitions) - 1).ok().map(|n| n as u32),
            None => Some(kafka_partition(f.get(self.key), partitions)),
        }
    }

    /// The row's `time_s`, in ns.
    fn time(&self, f: &Fields, line: u64) -> Result<u64, TraceError> {
        parse_secs(f.get(self.time)).map_err(|m| TraceError::at(line, Some("time_s"), m))
    }

    /// The rest of a row whose `time_s` is `time`.
    fn row<'f>(
        &self,
        f: &'f Fields,
        time: u64,
        partitions: u32,
        default_bytes: u64,
        line: u64,
    ) -> Result<Row<'f>, TraceError> {
        let optional = |i: Option<usize>| i.map(|i| f.get(i)).filter(|t| !t.is_empty());
        let key = f.get(self.key);
        if key.is_empty() {
            return Err(TraceError::at(
                line,
                Some("key"),
                format!("is empty: every record has a key, any text of 1 to {MAX_KEY_BYTES} bytes"),
            ));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(TraceError::at(
                line,
                Some("key"),
                format!("is {} bytes long: a key has 1 to {MAX_KEY_BYTES} bytes", key.len()),
            ));
        }
        let event_time = match optional(self.event_time) {
            None => time,
            Some(t) => {
                let et = parse_secs(t).map_err(|m| TraceError::at(line, Some("event_time_s"), m))?;
                if et > time {
                    return Err(TraceError::at(
                        line,
                        Some("event_time_s"),
                        format!(
                            "{} is after the row's time_s ({}): an event happens at or before it arrives",
                            secs(et),
                            secs(time)
                        ),
                    ));
                }
                et
            }
        };
        let value = match optional(self.value) {
            None => 0,
            Some(t) => whole(t, 0, u64::from(u32::MAX)).map_err(|m| TraceError::at(line, Some("value"), m))? as u32,
        };
        let bytes = match optional(self.bytes) {
            None => default_bytes,
            Some(t) => whole(t, 1, MAX_RECORD_BYTES).map_err(|m| TraceError::at(line, Some("bytes"), m))?,
        };
        let partition = match optional(self.partition) {
            None => kafka_partition(key, partitions),
            Some(t) => whole(t, 0, u64::from(partitions) - 1).map_err(|m| {
                TraceError::at(
                    line,
                    Some("partition"),
                    format!("{m} (workload.partitions = {partitions})"),
                )
            })? as u32,
        };
        Ok(Row {
            time,
            event_time,
            key,
            value,
            bytes,
            partition,
        })
    }
}

/// `t` ns divided by the replay speed, to the nearest ns.
fn scale(t: u64, speed: f64) -> u64 {
    if speed == 1.0 {
        t
    } else {
        (t as f64 / speed).round() as u64
    }
}
