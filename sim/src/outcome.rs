//! What a finished run leaves behind, before it is summarised: the sink, the counters, the rows of
//! events.csv, one timeline per crash fault, and the engine's own tables.
//!
//! This module is a leaf: the kernel fills these types and [`crate::report`] reads them, and
//! neither needs the other. Engine tables hold numbers, never formatted text: only the CSV writer
//! formats them (fixed decimals, so that two runs give the same bytes), and tests and charts read
//! the numbers themselves.

use crate::ids::NodeId;
use crate::metrics::Sink;
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// Everything a finished run leaves behind, before it is turned into a report.
pub struct RunOutput {
    /// The sink, with its series and visible outputs.
    pub sink: Sink,
    /// events.csv rows.
    pub events: Vec<EventRow>,
    /// One record per crash fault.
    pub failures: Vec<FailureRecord>,
    /// Counters.
    pub stats: RunStats,
    /// Engine tables.
    pub tables: Vec<Table>,
}

/// Kernel counters of one run.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// Events popped from the queue.
    pub sim_events: u64,
    /// Messages sent.
    pub messages: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Messages sent for fault tolerance only.
    pub ft_messages: u64,
    /// Bytes sent for fault tolerance only.
    pub ft_bytes: u64,
    /// Bytes written as checkpoints.
    pub checkpoint_bytes: u64,
    /// Bytes read or written to durable storage.
    pub storage_bytes: u64,
    /// Events the kernel dropped because they were issued under an older incarnation of their
    /// scope (see [`crate::engine::Engine::incarnation`]).
    pub stale_dropped: u64,
    /// A hash of every event handled (its time, kind and node), in order: two runs of the same
    /// scenario and seed have the same, whatever the thread they ran on.
    pub trace_hash: u64,
    /// Where the records read went.
    pub ledger: Ledger,
    /// Kernel invariants found broken (time going back, an event handled for a dead node), at
    /// most 16; empty in every correct run.
    pub breaches: Vec<String>,
    /// Node-seconds of active nodes.
    pub node_seconds: f64,
    /// Core-seconds of completed work, per node id (workers, spares, master).
    pub busy_seconds: Vec<f64>,
    /// When the run stopped.
    pub end: SimTime,
    /// Whether the engine reported it had finished (false: stopped by the drain limit).
    pub finished: bool,
    /// Why the engine had not finished when the run stopped.
    pub unfinished: Option<String>,
    /// The reason the engine itself stated for being stuck, if it did.
    pub stuck: Option<String>,
    /// When a record was last applied to a state: a run that stopped unfinished long after it
    /// was stuck, not slow.
    pub last_applied: SimTime,
    /// Outputs left in uncommitted transactions at the end.
    pub uncommitted: u64,
}

impl RunStats {
    /// Core-seconds of work the nodes ran, all nodes together (summary.csv's `busy_core_s`).
    pub fn busy_core_seconds(&self) -> f64 {
        self.busy_seconds.iter().sum()
    }
}

/// What happened to a number of records, as an engine or the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Taken into the dataflow: read from the source log, or replayed from a log, a lineage or a
    /// checkpoint's in-flight data.
    Read,
    /// Dropped by the job's filter.
    Filtered,
    /// Applied to an operator state.
    Applied,
    /// Gone, for the stated reason (lost with a node, rolled back by a restart, ...).
    Dropped(&'static str),
}

/// Where the records read went: every record taken into the dataflow is filtered, applied,
/// dropped for a stated reason, or still in flight. A finished run has nothing in flight, so
/// its ledger balances: `read = filtered + applied + dropped`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Records taken in (replays counted again).
    pub read: u64,
    /// Records the filter dropped.
    pub filtered: u64,
    /// Records applied to a state.
    pub applied: u64,
    /// Records dropped, by reason.
    pub dropped: BTreeMap<&'static str, u64>,
}

impl Ledger {
    /// Counts `n` records of `flow`.
    pub fn add(&mut self, flow: Flow, n: u64) {
        match flow {
            Flow::Read => self.read += n,
            Flow::Filtered => self.filtered += n,
            Flow::Applied => self.applied += n,
            Flow::Dropped(why) => *self.dropped.entry(why).or_insert(0) += n,
        }
    }
    /// Records read and not (yet) filtered, applied or dropped: in flight when the run stopped.
    pub fn in_flight(&self) -> i128 {
        let out = self.filtered + self.applied + self.dropped.values().sum::<u64>();
        i128::from(self.read) - i128::from(out)
    }
}

/// A line of events.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// When.
    pub t: SimTime,
    /// What (crash, detected, restored, checkpoint-complete, ...).
    pub kind: String,
    /// Which node, if any.
    pub node: Option<NodeId>,
    /// Free text.
    pub detail: String,
}

/// The timeline of one crash fault.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRecord {
    /// Nodes that crashed.
    pub nodes: Vec<NodeId>,
    /// Nodes whose tasks do not run again yet.
    pub pending: Vec<NodeId>,
    /// Crash instant.
    pub injected: SimTime,
    /// When the engines were told.
    pub detected: Option<SimTime>,
    /// When every lost task ran again.
    pub restored: Option<SimTime>,
    /// When the sink's latency was back to normal.
    pub caught_up: Option<SimTime>,
}

impl FailureRecord {
    /// A failure injected at `at` on `nodes`.
    pub fn new(at: SimTime, nodes: Vec<NodeId>) -> Self {
        FailureRecord {
            pending: nodes.clone(),
            nodes,
            injected: at,
            detected: None,
            restored: None,
            caught_up: None,
        }
    }
    /// `caught_up − injected`.
    pub fn recovery(&self) -> Option<SimDuration> {
        self.caught_up.map(|c| c.since(self.injected))
    }
}

/// One value of an engine table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A count, an id or a number of bytes.
    Int(u64),
    /// A real number (seconds, mostly), written with three decimals.
    Num(f64),
    /// A word (a status).
    Text(&'static str),
    /// Nothing (an instant never reached).
    Empty,
}

impl Cell {
    /// The number this cell holds, if any.
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Int(x) => Some(*x as f64),
            Cell::Num(x) => Some(*x),
            Cell::Text(_) | Cell::Empty => None,
        }
    }
    /// Seconds of an instant, or empty.
    pub fn secs(t: Option<SimTime>) -> Cell {
        t.map_or(Cell::Empty, |t| Cell::Num(t.as_secs_f64()))
    }
}

/// A per-engine table written as `DIR/ENGINE/NAME.csv` (batches, checkpoints, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// File stem, e.g. `batches`.
    pub name: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// Charts to draw from this table, each as `DIR/ENGINE/<file>.png` and `.svg`.
    pub charts: Vec<TableChart>,
}

impl Table {
    /// A table with these columns and no rows.
    pub fn new(name: &str, columns: &[&str]) -> Table {
        Table {
            name: name.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            charts: Vec::new(),
        }
    }
    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
    /// The cells of column `name`, one per row (empty if there is no such column).
    pub fn cells<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Cell> + 'a {
        let i = self.column(name);
        self.rows.iter().filter_map(move |r| r.get(i?))
    }
    /// The numbers of column `name`, one per row (`None` where a cell holds no number).
    pub fn numbers(&self, name: &str) -> Vec<Option<f64>> {
        self.cells(name).map(Cell::number).collect()
    }
}

/// A line chart of some numeric columns of a [`Table`] against another.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableChart {
    /// File stem of the chart.
    pub file: String,
    /// Title.
    pub title: String,
    /// Column on the x axis.
    pub x: String,
    /// Columns drawn as lines.
    pub ys: Vec<String>,
    /// Label of the y axis.
    pub y_label: String,
}
