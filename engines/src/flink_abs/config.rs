//! The engine's parameters (`[engines.flink-abs]`), their Flink defaults, and the typed
//! [`Config`] they resolve to. Every default names the Flink option it stands for.

use ftsim_sim::SimDuration;
use ftsim_sim::scenario::{ParamKind, ParamSpec, ParamValue, Params};

/// How barriers are handled at tasks with several inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Exactly-once: block each input whose barrier arrived until all have (aligned).
    Aligned,
    /// Exactly-once: act on the first barrier, overtake and persist in-flight buffers.
    Unaligned,
    /// No alignment: barriers are counted; the snapshot may hold post-barrier records.
    AtLeastOnce,
}

impl Mode {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Aligned => "aligned",
            Mode::Unaligned => "unaligned",
            Mode::AtLeastOnce => "at-least-once",
        }
    }
    /// The mode a checked `params` selects.
    pub fn of(params: &Params) -> Mode {
        match params.choice("mode") {
            "unaligned" => Mode::Unaligned,
            "at-least-once" => Mode::AtLeastOnce,
            _ => Mode::Aligned,
        }
    }
}

/// Typed parameters.
#[derive(Clone, Debug)]
pub struct Config {
    /// Barrier handling.
    pub mode: Mode,
    /// Time between checkpoint triggers.
    pub interval: SimDuration,
    /// Least time between the end of one checkpoint and the start of the next.
    pub min_pause: SimDuration,
    /// Aligned checkpoints turn unaligned after this long (zero: never).
    pub aligned_timeout: SimDuration,
    /// Records per network buffer.
    pub buffer_records: usize,
    /// A partly filled buffer is flushed after this long.
    pub buffer_timeout: SimDuration,
    /// Buffers a receiver grants each channel (exclusive credits).
    pub credits: u32,
    /// Buffers a sender may queue per channel before its task stops reading.
    pub output_buffers: usize,
    /// Most records a source reads at once.
    pub max_batch: u64,
    /// How often an idle source looks at its partition.
    pub poll: SimDuration,
    /// Fixed delay before a failed job restarts.
    pub restart_delay: SimDuration,
    /// Whether `failover = "region"` was asked for (same as full here: one region).
    pub region: bool,
}

/// The parameter list shown by `ftsim engines`.
pub fn specs() -> Vec<ParamSpec> {
    let d = |ms: u64| ParamValue::Duration(SimDuration::from_millis(ms));
    vec![
        ParamSpec {
            name: "mode",
            kind: ParamKind::Choice(&["aligned", "unaligned", "at-least-once"]),
            default: ParamValue::Choice("aligned"),
            doc: "barrier handling: aligned (exactly-once), unaligned (exactly-once), at-least-once",
        },
        ParamSpec {
            name: "checkpoint_interval",
            kind: ParamKind::Duration {
                min: SimDuration::from_millis(10),
            },
            default: d(10_000),
            doc: "time between checkpoint triggers (Flink has no default: checkpointing is off until set)",
        },
        ParamSpec {
            name: "min_pause",
            kind: ParamKind::Duration { min: SimDuration::ZERO },
            default: d(0),
            doc: "least time from one checkpoint's end to the next start (Flink min-pause, default 0)",
        },
        ParamSpec {
            name: "aligned_timeout",
            kind: ParamKind::Duration { min: SimDuration::ZERO },
            default: d(0),
            doc: "aligned mode: switch a checkpoint to unaligned once it has run this long (0 = never)",
        },
        ParamSpec {
            name: "buffer_size",
            kind: ParamKind::Int { min: 64, max: 16 << 20 },
            default: ParamValue::Int(32 * 1024),
            doc: "network buffer bytes (Flink memory segment, 32 KB); records per buffer = this / record_bytes",
        },
        ParamSpec {
            name: "buffer_timeout",
            kind: ParamKind::Duration {
                min: SimDuration::from_micros(100),
            },
            default: d(100),
            doc: "a partly filled buffer is sent after this long (Flink execution.buffer-timeout, 100ms)",
        },
        ParamSpec {
            name: "credits",
            kind: ParamKind::Int { min: 1, max: 1_000 },
            default: ParamValue::Int(2),
            doc: "buffers a receiver grants per input channel (Flink buffers-per-channel, 2)",
        },
        ParamSpec {
            name: "output_buffers",
            kind: ParamKind::Int { min: 1, max: 1_000 },
            default: ParamValue::Int(10),
            doc: "buffers a sender queues per channel before it stops reading (Flink max-buffers-per-channel, 10)",
        },
        ParamSpec {
            name: "max_batch",
            kind: ParamKind::Int { min: 1, max: 1_000_000 },
            default: ParamValue::Int(1_000),
            doc: "most records a source task reads from the log at once",
        },
        ParamSpec {
            name: "poll_interval",
            kind: ParamKind::Duration {
                min: SimDuration::from_micros(10),
            },
            default: d(5),
            doc: "how often an idle source task polls its partition",
        },
        ParamSpec {
            name: "restart_delay",
            kind: ParamKind::Duration { min: SimDuration::ZERO },
            default: d(1_000),
            doc: "fixed-delay restart strategy: wait this long after a failure (Flink default 1s)",
        },
        ParamSpec {
            name: "failover",
            kind: ParamKind::Choice(&["full", "region"]),
            default: ParamValue::Choice("full"),
            doc: "full: every task restarts; region: the failed pipelined region (= full: the keyed exchange makes one region)",
        },
    ]
}

impl Config {
    /// Typed values of checked `params` for records of `record_bytes`.
    pub fn new(params: &Params, record_bytes: u64) -> Config {
        let mode = Mode::of(params);
        let buffer_bytes = params.int("buffer_size").max(1) as u64;
        Config {
            mode,
            interval: params.duration("checkpoint_interval"),
            min_pause: params.duration("min_pause"),
            aligned_timeout: params.duration("aligned_timeout"),
            buffer_records: (buffer_bytes / record_bytes.max(1)).max(1) as usize,
            buffer_timeout: params.duration("buffer_timeout"),
            credits: params.int("credits").max(1) as u32,
            output_buffers: params.int("output_buffers").max(1) as usize,
            max_batch: params.int("max_batch").max(1) as u64,
            poll: params.duration("poll_interval"),
            restart_delay: params.duration("restart_delay"),
            region: params.choice("failover") == "region",
        }
    }
}
