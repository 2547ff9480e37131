//! Strategies for the property suite: small scenarios of every shape (1 to 8 nodes, 0 to 2
//! spares, parallelism below or above the node count, sources not on every node, both jobs,
//! every sink, slow durable storage, NICs too slow for the input, every engine configuration
//! that changes behaviour) with fault plans of 0 to 4 faults at any instant: several before the
//! first is detected, the same node twice, every worker, the master, during a checkpoint, a
//! restore or a replay, and stragglers.
//!
//! A case is written out as scenario TOML, so that a failure prints a file `ftsim run` takes.

use ftsim_engines::Registry;
use ftsim_sim::Scenario;
use ftsim_sim::scenario::Overrides;
use proptest::prelude::*;
use std::fmt;
use std::path::Path;

/// The engines the property suite covers, each with the configurations that change its
/// behaviour. An engine added later is covered by one line here.
pub const ENGINES: &[(&str, &[&str])] = &[
    ("none", &["", "max_batch = 50"]),
    (
        "upstream-backup",
        &[
            "",
            "checkpoint_interval = \"0s\"",
            "checkpoint_interval = \"300ms\"\nack_interval = \"50ms\"",
            "checkpoint_interval = \"700ms\"\nslowness_threshold = \"400ms\"",
        ],
    ),
    (
        "passive-standby",
        &[
            "",
            "standby = \"storage\"",
            "copy_on_write = true\ncheckpoint_interval = \"300ms\"",
            "checkpoint_interval = \"150ms\"\ncopy_rate = 5.0",
        ],
    ),
    (
        "active-standby",
        &[
            "",
            "lock_step = true",
            "ack_interval = \"3ms\"\nmax_batch = 50",
            "lock_step = true\nack_interval = \"1s\"",
        ],
    ),
    (
        "flink-abs",
        &[
            "mode = \"aligned\"",
            "mode = \"unaligned\"",
            "mode = \"at-least-once\"",
            "mode = \"aligned\"\naligned_timeout = \"20ms\"",
            "mode = \"unaligned\"\ncredits = 1\noutput_buffers = 2\nbuffer_size = 1000",
            "mode = \"aligned\"\ncredits = 1\noutput_buffers = 2\nbuffer_size = 1000",
        ],
    ),
    (
        "dstream",
        &[
            "",
            "speculation = false\ncheckpoint_every = 1",
            "block_replication = 1\ncheckpoint_every = 3",
            "block_replication = 3\ncheckpoint_every = 2\nspeculation_multiplier = 1.0\nspeculation_quantile = 0.2\nspeculation_interval = \"10ms\"",
            "block_interval = \"50ms\"\ncheckpoint_every = 4",
            "concurrent_jobs = 1\ncheckpoint_every = 2",
        ],
    ),
    (
        "structured-streaming",
        &[
            "",
            "min_partitions = 7\nrestart_delay = \"300ms\"",
            "restart_delay = \"0ms\"\nspeculation_multiplier = 1.0\nspeculation_quantile = 0.2\nspeculation_interval = \"10ms\"",
            "min_partitions = 3\ntask_overhead = \"20ms\"\nspeculation = false",
        ],
    ),
    (
        "storm-acking",
        &[
            "message_timeout = \"10s\"",
            "ackers = 0",
            "state = \"memory\"\nmessage_timeout = \"10s\"",
            "max_spout_pending = 20\nmessage_timeout = \"3s\"",
            "message_timeout = \"1s\"\nackers = 1",
            "flush_interval = \"0s\"\nmessage_timeout = \"10s\"",
            "flush_interval = \"40ms\"\nmessage_timeout = \"2s\"\nmax_spout_pending = 50",
            "trident = true\nmessage_timeout = \"10s\"",
            "trident = true\nmessage_timeout = \"2s\"\nemit_interval = \"200ms\"",
            "trident = true\nmax_spout_pending = 3\nmessage_timeout = \"4s\"",
            "trident = true\nstate = \"memory\"\nmessage_timeout = \"5s\"",
        ],
    ),
];

/// When a fault strikes.
#[derive(Debug, Clone)]
pub enum When {
    /// At this fraction of the fault window (the first three quarters of the run).
    Within(f64),
    /// This long after the fault before, in nanoseconds (often before it is detected).
    After(u64),
}

/// One fault.
#[derive(Debug, Clone)]
pub enum FaultCase {
    /// Crash worker `n % nodes`.
    Crash(When, u32),
    /// Crash every worker.
    CrashAll(When),
    /// Crash the master.
    CrashMaster(When),
    /// Worker `n % nodes` runs `factor` times slower for `ms` milliseconds.
    Straggler(When, u32, f64, u64),
}

/// One generated case: an engine configuration, a small scenario and a fault plan.
#[derive(Clone)]
pub struct Case {
    /// Engine name.
    pub engine: &'static str,
    /// Its `[engines.NAME]` table.
    pub config: &'static str,
    /// Scenario knobs.
    pub knobs: Knobs,
    /// Faults.
    pub faults: Vec<FaultCase>,
}

/// The scenario's shape.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub seed: u64,
    pub nodes: u32,
    pub spares: u32,
    pub cores: u32,
    pub partitions: Option<u32>,
    pub parallelism: u32,
    pub rate: u32,
    pub keys: u32,
    pub duration_ms: u64,
    pub window: bool,
    pub sink: &'static str,
    pub window_ms: u64,
    pub slides: u64,
    pub lateness_ms: u64,
    pub out_of_order: f64,
    pub filter_keep: f64,
    pub detection_ms: u64,
    pub spare_start_ms: u64,
    pub restart_ms: u64,
    pub interval_ms: u64,
    pub state_cost_us: u64,
    pub parse_cost_us: u64,
    pub storage_ms: u64,
    pub network_us: u64,
    /// NIC bandwidth in kB/s, `None` for the default: a slow one queues seconds of batches on
    /// the wire, which a crash leaves behind.
    pub bandwidth_kbs: Option<u64>,
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        (0.0..1.0f64).prop_map(When::Within),
        (0..3_000_000_000u64).prop_map(When::After),
    ]
}

fn fault() -> impl Strategy<Value = FaultCase> {
    prop_oneof![
        5 => (when(), 0..8u32).prop_map(|(w, n)| FaultCase::Crash(w, n)),
        1 => when().prop_map(FaultCase::CrashAll),
        1 => when().prop_map(FaultCase::CrashMaster),
        1 => (when(), 0..8u32, 1.5..20.0f64, 100..3_000u64).prop_map(|(w, n, f, d)| FaultCase::Straggler(w, n, f, d)),
    ]
}

fn knobs() -> impl Strategy<Value = Knobs> {
    let cluster = (
        any::<u64>(),
        1..=8u32,
        0..=2u32,
        1..=4u32,
        prop::option::of(1..=8u32),
        1..=8u32,
    );
    let input = (
        prop_oneof![3 => 300..3_000u32, 1 => 5_000..20_000u32],
        3..200u32,
        3_000..8_000u64,
        any::<bool>(),
        0..3usize,
    );
    let job = (
        200..2_000u64,
        1..=4u64,
        prop_oneof![Just(0u64), 0..400u64],
        prop_oneof![Just(0.0), 0.05..0.3f64],
    );
    let more = (
        prop_oneof![Just(1.0), 0.5..1.0f64],
        100..2_000u64,
        50..1_000u64,
        300..3_000u64,
        100..1_500u64,
        prop_oneof![Just(2u64), 1..400u64],
        prop_oneof![Just(2u64), 1..200u64],
        prop_oneof![Just(10u64), 1..300u64],
        prop_oneof![3 => Just(100u64), 1 => 100..30_000u64],
        prop_oneof![4 => Just(None), 1 => (50..2_000u64).prop_map(Some)],
    );
    (cluster, input, job, more).prop_map(|(c, i, j, m)| Knobs {
        seed: c.0,
        nodes: c.1,
        spares: c.2,
        cores: c.3,
        partitions: c.4,
        parallelism: c.5,
        rate: i.0,
        keys: i.1,
        duration_ms: i.2,
        window: i.3,
        sink: ["append", "idempotent", "transactional"][i.4],
        window_ms: j.0,
        slides: j.1,
        lateness_ms: j.2,
        out_of_order: j.3,
        filter_keep: m.0,
        detection_ms: m.1,
        spare_start_ms: m.2,
        restart_ms: m.3,
        interval_ms: m.4,
        state_cost_us: m.5,
        parse_cost_us: m.6,
        storage_ms: m.7,
        network_us: m.8,
        bandwidth_kbs: m.9,
    })
}

/// Cases for `engine`, over its configurations.
pub fn cases(engine: &'static str, configs: &'static [&'static str]) -> impl Strategy<Value = Case> {
    (0..configs.len(), knobs(), prop::collection::vec(fault(), 0..=4)).prop_map(move |(c, knobs, faults)| Case {
        engine,
        config: configs[c],
        knobs,
        faults,
    })
}

fn ns(ms: u64) -> u64 {
    ms * 1_000_000
}

impl Case {
    /// The faults as `[[faults]]` tables, at exact nanoseconds inside the run.
    fn fault_tables(&self) -> String {
        let k = &self.knobs;
        let window = ns(k.duration_ms) / 4 * 3;
        let mut t = 0u64;
        let mut out = String::new();
        let mut stragglers: Vec<(u32, u64, u64)> = Vec::new();
        for f in &self.faults {
            let w = match f {
                FaultCase::Crash(w, _) | FaultCase::CrashAll(w) | FaultCase::CrashMaster(w) => w,
                FaultCase::Straggler(w, ..) => w,
            };
            t = match w {
                When::Within(x) => (*x * window as f64) as u64,
                When::After(d) => t + d,
            }
            .min(ns(k.duration_ms) - 1);
            let what = match f {
                FaultCase::Crash(_, n) => format!("crash = {}", n % k.nodes),
                FaultCase::CrashAll(_) => format!(
                    "crash = [{}]",
                    (0..k.nodes).map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
                ),
                FaultCase::CrashMaster(_) => "crash = \"master\"".into(),
                FaultCase::Straggler(_, n, factor, ms) => {
                    let node = n % k.nodes;
                    let (from, to) = (t, t + ns(*ms));
                    if stragglers.iter().any(|(m, a, b)| *m == node && *a < to && from < *b) {
                        continue;
                    }
                    stragglers.push((node, from, to));
                    format!("straggler = {node}\nslowdown = {factor:.2}\nfor = \"{ms}ms\"")
                }
            };
            out.push_str(&format!("[[faults]]\nat = \"{t}ns\"\n{what}\n"));
        }
        out
    }

    /// The case as a scenario file.
    pub fn toml(&self) -> String {
        let k = &self.knobs;
        let job = if k.window { "window-count" } else { "running-count" };
        let slide = (k.window_ms / k.slides).max(1);
        let window = slide * k.slides;
        let partitions = k.partitions.map_or(String::new(), |p| format!("partitions = {p}\n"));
        let bandwidth = k
            .bandwidth_kbs
            .map_or(String::new(), |b| format!("bandwidth = \"{b}kB/s\"\n"));
        // A slow NIC makes a correct run take as long as its input takes to cross the wire a few
        // times (replicas, shuffles, replays): the drain leaves it that long, so that a run still
        // unfinished at the limit is stuck rather than slow.
        let wire_s = k.bandwidth_kbs.map_or(0, |b| {
            let bytes = u64::from(k.rate) * k.duration_ms / 1_000 * 100;
            4 * bytes / (b * 1_000)
        });
        let drain_s = wire_s.max(60);
        let engine_table = match self.engine {
            "flink-abs" => format!(
                "checkpoint_interval = \"{}ms\"\nrestart_delay = \"200ms\"\n",
                k.interval_ms
            ),
            "dstream" => format!("batch_interval = \"{}ms\"\n", k.interval_ms.clamp(200, 1_000)),
            "structured-streaming" => format!("trigger_interval = \"{}ms\"\n", k.interval_ms.clamp(200, 1_000)),
            _ => String::new(),
        };
        format!(
            "[run]\nname = \"prop\"\nseed = {}\nduration = \"{}ms\"\nbucket = \"500ms\"\ndrain = \"{drain_s}s\"\nengines = [\"{}\"]\n\
             [cluster]\nnodes = {}\nspares = {}\ncores = {}\ndetection_delay = \"{}ms\"\nspare_start = \"{}ms\"\nrestart_delay = \"{}ms\"\nstorage_latency = \"{}ms\"\nnetwork_latency = \"{}us\"\n{bandwidth}\
             [workload]\nrate = {}\nkeys = {}\n{partitions}out_of_order = {}\nout_of_order_max = \"300ms\"\n\
             [job]\nkind = \"{job}\"\nsink = \"{}\"\nparallelism = {}\nwindow = \"{window}ms\"\nslide = \"{slide}ms\"\nallowed_lateness = \"{}ms\"\nfilter_keep = {}\nstate_cost = \"{}us\"\nparse_cost = \"{}us\"\nmax_out_of_orderness = \"200ms\"\n\
             [engines.{}]\n{}\n{engine_table}\n{}",
            k.seed % (1 << 53),
            k.duration_ms,
            self.engine,
            k.nodes,
            k.spares,
            k.cores,
            k.detection_ms,
            k.spare_start_ms,
            k.restart_ms,
            k.storage_ms,
            k.network_us,
            k.rate,
            k.keys,
            k.out_of_order,
            k.sink,
            k.parallelism,
            k.lateness_ms,
            k.filter_keep,
            k.state_cost_us,
            k.parse_cost_us,
            self.engine,
            self.config,
            self.fault_tables(),
        )
    }

    /// The case as a loaded scenario.
    pub fn scenario(&self) -> Scenario {
        let text = self.toml();
        Scenario::from_str(
            Path::new("case.toml"),
            &text,
            &Overrides::default(),
            &Registry::builtin(),
        )
        .unwrap_or_else(|e| panic!("a generated case is invalid: {e}\n{text}"))
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n# reproduce: save as case.toml and run `ftsim run case.toml`\n{}",
            self.toml()
        )
    }
}
