//! The job's costs and sizes as every pipelined task sees them, read once from the scenario.

use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{NodeId, Scenario, SimDuration};

/// Bytes of a message's header (ids, offsets, watermark), whatever it carries.
pub const HEADER_BYTES: u64 = 64;

/// The dataflow's dimensions and per-record costs.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Source partitions (one source task each).
    pub partitions: u32,
    /// Stateful tasks.
    pub parallelism: u32,
    /// Bytes per record on the wire and on disk.
    pub record_bytes: u64,
    /// CPU per record of the stateless chain (parse + map; the filter is free).
    pub stateless_cost: SimDuration,
    /// CPU per record of the stateful operator.
    pub state_cost: SimDuration,
    /// State bytes per key (snapshots, state transfers).
    pub bytes_per_key: u64,
    /// The job is a window count (watermarks matter).
    pub windowed: bool,
    /// How the sink shows emissions.
    pub sink: SinkMode,
    /// The master / coordinator node.
    pub master: NodeId,
    /// The network's latency (a message's time on the wire beyond its bytes).
    pub latency: SimDuration,
}

impl Shape {
    /// The shape of `sc`'s job on its cluster.
    pub fn of(sc: &Scenario) -> Shape {
        Shape {
            partitions: sc.workload.partitions,
            parallelism: sc.job.parallelism,
            record_bytes: sc.workload.record_bytes,
            stateless_cost: sc.job.stateless_cost(),
            state_cost: sc.job.state_cost,
            bytes_per_key: sc.job.state_bytes_per_key,
            windowed: sc.job.kind == JobKind::WindowCount,
            sink: sc.job.sink,
            master: sc.cluster.master(),
            latency: sc.cluster.network_latency,
        }
    }
    /// Bytes of a message carrying `records` records.
    pub fn batch_bytes(&self, records: usize) -> u64 {
        HEADER_BYTES + records as u64 * self.record_bytes
    }
    /// The sink shows emissions when their transaction commits.
    pub fn transactional(&self) -> bool {
        self.sink == SinkMode::Transactional
    }
}
