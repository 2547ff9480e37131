//! Scenario files: what to run, on what cluster, with which workload, job, engines and faults.
//!
//! Loading goes file → TOML tree → `--set` overrides → `raw` structs (unknown fields refused)
//! → `resolve` (defaults filled, every range checked) → engine tables parsed into typed
//! configurations by a [`Catalog`] (`load`) → [`Scenario`]. A `Scenario` is always
//! valid: every later stage may rely on its invariants (nodes ≥ 1, durations > 0, faults inside
//! the run and naming existing nodes, limits respected).

mod error;
mod load;
mod raw;
mod resolve;
mod set;

pub use error::{EngineOrigin, FieldError, ScenarioError};
pub use load::{Catalog, Overrides};
pub use set::apply_set;

use crate::config::ConfigBox;

use crate::ids::NodeId;
use crate::time::{SimDuration, SimTime};
use crate::trace::Trace;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Documented limits, checked when a scenario is loaded.
pub mod limits {
    /// Most worker nodes in a cluster.
    pub const MAX_NODES: u32 = 1000;
    /// Most task slots per node.
    pub const MAX_CORES: u32 = 256;
    /// Most spare nodes.
    pub const MAX_SPARES: u32 = 1000;
    /// Highest input rate, records per second.
    pub const MAX_RATE: f64 = 5_000_000.0;
    /// Longest run.
    pub const MAX_DURATION_S: u64 = 3_600;
    /// Slowest and fastest replay of a trace (`workload.trace_speed`).
    pub const TRACE_SPEED: (f64, f64) = (0.001, 1000.0);
    /// Most records a run may generate (rate × duration): the source log is generated on
    /// demand, so this bounds the run's time and its log index (32 bytes per 512 records), not
    /// a log held in memory.
    pub const MAX_RECORDS: f64 = 10_000_000_000.0;
    /// Most records one partition may hold (offsets are 32-bit).
    pub const MAX_PARTITION_RECORDS: f64 = 4_000_000_000.0;
    /// Most distinct keys.
    pub const MAX_KEYS: u64 = 100_000_000;
    /// Most source partitions.
    pub const MAX_PARTITIONS: u32 = 4096;
    /// Most stateful tasks.
    pub const MAX_PARALLELISM: u32 = 16_384;
    /// Most channels, source partitions × stateful tasks: the pipelined engines keep a few words
    /// per channel (a buffer, a credit, the last watermark sent, what is in flight), so this
    /// bounds their memory (under 1.5 GB at the limit with a small input).
    pub const MAX_CHANNELS: u64 = 1 << 22;
}

/// A loaded, checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from (for messages).
    pub file: PathBuf,
    /// `[run]`.
    pub run: RunSpec,
    /// `[cluster]`.
    pub cluster: ClusterSpec,
    /// `[workload]`.
    pub workload: WorkloadSpec,
    /// `[job]`.
    pub job: JobSpec,
    /// The typed configuration of every engine the scenario runs or configures, parsed by the
    /// [`Catalog`] when the scenario loaded.
    pub engines: BTreeMap<String, ConfigBox>,
    /// `[[faults]]`, sorted by time.
    pub faults: Vec<Fault>,
    /// Bugs a test planted (never set from a file).
    pub planted: crate::planted::Planted,
}

/// `[run]`: name, seed and timing of the run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Name shown in reports and the default output folder `results/<name>`. When written in the
    /// file it is a plain name (letters, digits, `-`, `_`, `.`; not starting with `.`).
    pub name: String,
    /// The seed every random stream derives from.
    pub seed: u64,
    /// How long input arrives.
    pub duration: SimDuration,
    /// Start-up period excluded from the summary's latency and throughput figures.
    pub warmup: SimDuration,
    /// Width of a time-series bucket.
    pub bucket: SimDuration,
    /// How long after the end of input engines may take to finish what they hold.
    pub drain: SimDuration,
    /// Engines to run, in order.
    pub engines: Vec<String>,
}

/// `[cluster]`: the machines, network, storage and failure handling.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Worker nodes, ids `0..nodes`.
    pub nodes: u32,
    /// Task slots per node.
    pub cores: u32,
    /// Idle spare nodes, ids `nodes..nodes+spares`, that replace crashed workers.
    pub spares: u32,
    /// One-way latency of a network message.
    pub network_latency: SimDuration,
    /// NIC bandwidth per node, bytes per second.
    pub bandwidth: f64,
    /// Latency of one durable-storage operation.
    pub storage_latency: SimDuration,
    /// Durable-storage bandwidth per client node, bytes per second.
    pub storage_bandwidth: f64,
    /// Time from a crash until engines are told of it.
    pub detection_delay: SimDuration,
    /// Time for a spare node to be ready once requested.
    pub spare_start: SimDuration,
    /// Time for a crashed node to come back once a restart is requested.
    pub restart_delay: SimDuration,
}

impl ClusterSpec {
    /// The master / coordinator node, outside the worker and spare ranges.
    pub fn master(&self) -> NodeId {
        NodeId(self.nodes + self.spares)
    }
    /// Every node the cluster has: workers, spares, then the master.
    pub fn total_nodes(&self) -> u32 {
        self.nodes + self.spares + 1
    }
    /// The worker ids.
    pub fn workers(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.nodes).map(NodeId)
    }
}

/// How input arrival is spread over time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Profile {
    /// Evenly spaced arrivals.
    Constant,
    /// Exponential gaps at the mean rate.
    Poisson,
    /// Poisson arrivals whose rate is `peak`× the base for the first `duty` of each `period`; the
    /// mean stays `rate`.
    Bursty {
        /// Length of one cycle.
        period: SimDuration,
        /// Peak rate over base rate.
        peak: f64,
        /// Fraction of the period at peak.
        duty: f64,
    },
}

/// How keys are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyDist {
    /// Every key equally likely.
    Uniform,
    /// Zipf over key ranks with this exponent (key 0 is the hottest).
    Zipf(f64),
}

/// `[workload]`: the input: generated, or replayed from a trace. A trace sets what the
/// generator's parameters would: `rate` is its mean rate over the run, `keys` its distinct keys,
/// `record_bytes` its records' mean size when it gives sizes; `profile`, `key_dist` and the
/// out-of-order fields are then unused (a trace's arrivals, keys and event times are its own).
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// Records per second, all partitions together.
    pub rate: f64,
    /// Source partitions.
    pub partitions: u32,
    /// Arrival profile.
    pub profile: Profile,
    /// Distinct keys.
    pub keys: u64,
    /// Key distribution.
    pub key_dist: KeyDist,
    /// Bytes per record on the wire and on disk.
    pub record_bytes: u64,
    /// Fraction of records whose event time lags their arrival (out of order).
    pub out_of_order: f64,
    /// Largest lag of an out-of-order record.
    pub out_of_order_max: SimDuration,
    /// The trace replayed instead of the generator, scanned and indexed when the scenario loaded.
    pub trace: Option<Arc<Trace>>,
}

/// The job's stateful operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Per-key running count, emitted on every record.
    RunningCount,
    /// Per-key event-time window count.
    WindowCount,
}

impl JobKind {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::RunningCount => "running-count",
            JobKind::WindowCount => "window-count",
        }
    }
    /// Every kind.
    pub const ALL: [JobKind; 2] = [JobKind::RunningCount, JobKind::WindowCount];
}

/// How the sink makes emissions visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SinkMode {
    /// Every emission is visible at once.
    Append,
    /// Keyed upsert: re-emitting an output overwrites it.
    Idempotent,
    /// Visible when the engine commits the transaction it was emitted in.
    Transactional,
}

impl SinkMode {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            SinkMode::Append => "append",
            SinkMode::Idempotent => "idempotent",
            SinkMode::Transactional => "transactional",
        }
    }
    /// Every mode.
    pub const ALL: [SinkMode; 3] = [SinkMode::Append, SinkMode::Idempotent, SinkMode::Transactional];
}

/// Event-time window parameters (window-count only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSpec {
    /// Window length.
    pub length: SimDuration,
    /// Distance between window starts (= length for tumbling windows).
    pub slide: SimDuration,
    /// How long after its end a window still accepts records.
    pub allowed_lateness: SimDuration,
}

/// `[job]`: the dataflow and its costs.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// The stateful operator.
    pub kind: JobKind,
    /// Sink mode.
    pub sink: SinkMode,
    /// CPU per record of the parse operator.
    pub parse_cost: SimDuration,
    /// CPU per record of the map operator.
    pub map_cost: SimDuration,
    /// Fraction of records the filter keeps (decided by the record's id, so every run agrees).
    pub filter_keep: f64,
    /// CPU per record of the stateful operator.
    pub state_cost: SimDuration,
    /// State bytes per key (sizes checkpoints and state transfers).
    pub state_bytes_per_key: u64,
    /// Number of stateful tasks.
    pub parallelism: u32,
    /// Windows (used by window-count).
    pub window: WindowSpec,
    /// Watermark delay: a partition's watermark is its largest event time so far minus this.
    pub max_out_of_orderness: SimDuration,
}

impl JobSpec {
    /// CPU per record of the stateless chain (parse + map + filter).
    pub fn stateless_cost(&self) -> SimDuration {
        self.parse_cost + self.map_cost
    }
}

/// A node a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTarget {
    /// A worker, by id.
    Worker(NodeId),
    /// The master / coordinator.
    Master,
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// These nodes crash at once.
    Crash {
        /// When.
        at: SimTime,
        /// Which nodes.
        targets: Vec<FaultTarget>,
    },
    /// A node runs `factor`× slower for a while.
    Straggler {
        /// From when.
        at: SimTime,
        /// Which worker.
        node: NodeId,
        /// Slowdown factor (> 1 slows down).
        factor: f64,
        /// For how long.
        duration: SimDuration,
    },
}

impl Fault {
    /// When the fault starts.
    pub fn at(&self) -> SimTime {
        match self {
            Fault::Crash { at, .. } | Fault::Straggler { at, .. } => *at,
        }
    }
}

/// A serde message in the words of a scenario author, on one line.
pub(crate) fn plain(message: &str) -> String {
    let mut one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    // The TOML deserializer ends some messages with " in `field`"; the caller names the field.
    if let Some(i) = one_line.rfind(" in `")
        && one_line.ends_with('`')
    {
        one_line.truncate(i);
    }
    // An integer past 64 bits reaches serde as an i128 or u128: say it is too large.
    for wide in ["` as i128", "` as u128"] {
        if let Some(end) = one_line.find(wide)
            && let Some(start) = one_line[..end].rfind("invalid type: integer `")
        {
            let number = &one_line[start + "invalid type: integer `".len()..end];
            one_line = format!(
                "{}{number} is too large{}",
                &one_line[..start],
                &one_line[end + wide.len()..]
            );
        }
    }
    one_line
        .replace("expected i64", "expected a whole number")
        .replace("expected f64", "expected a number")
        .replace("expected u64", "expected a whole number ≥ 0")
        .replace("expected u32", "expected a whole number ≥ 0")
        .replace("expected usize", "expected a whole number ≥ 0")
        .replace("expected a sequence", "expected a list, e.g. [\"none\"]")
        .replace("expected a borrowed string", "expected a string")
        .replace("expected a map", "expected a table")
}

impl Scenario {
    /// The input in a few words, for headers: `50000 records/s`, or for a replayed trace its
    /// file name and mean rate.
    pub fn input_label(&self) -> String {
        match &self.workload.trace {
            Some(t) => format!(
                "trace {} (mean {} records/s)",
                t.path()
                    .file_name()
                    .map_or_else(|| t.path().display().to_string(), |n| n.to_string_lossy().into_owned()),
                self.workload.rate
            ),
            None => format!("{} records/s", self.workload.rate),
        }
    }
    /// Total records the workload is expected to generate (for limits and progress).
    pub fn expected_records(&self) -> f64 {
        self.workload.rate * self.run.duration.as_secs_f64()
    }
}
