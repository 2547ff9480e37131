//! The engine's parameters (`[engines.flink-abs]`) with their Flink defaults. Every default names
//! the Flink option it stands for.

use ftsim_sim::config::{Choice, at_least, choice, within};
use ftsim_sim::{SimDuration, engine_config};

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

impl Choice for Mode {
    const ALL: &'static [Mode] = &[Mode::Aligned, Mode::Unaligned, Mode::AtLeastOnce];
    fn name(self) -> &'static str {
        match self {
            Mode::Aligned => "aligned",
            Mode::Unaligned => "unaligned",
            Mode::AtLeastOnce => "at-least-once",
        }
    }
}

impl<'de> serde::Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        choice(d)
    }
}

/// Which tasks restart after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failover {
    /// Every task.
    Full,
    /// The failed pipelined region (the whole job here: the keyed exchange makes one region).
    Region,
}

impl Choice for Failover {
    const ALL: &'static [Failover] = &[Failover::Full, Failover::Region];
    fn name(self) -> &'static str {
        match self {
            Failover::Full => "full",
            Failover::Region => "region",
        }
    }
}

impl<'de> serde::Deserialize<'de> for Failover {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        choice(d)
    }
}

const fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

engine_config! {
    /// `[engines.flink-abs]`.
    pub struct Config {
        /// Barrier handling: aligned (exactly-once), unaligned (exactly-once), at-least-once.
        pub mode: Mode = Mode::Aligned;
        /// Time between checkpoint triggers (Flink has no default: checkpointing is off until set).
        pub checkpoint_interval: SimDuration = ms(10_000) => at_least(ms(10));
        /// Least time from one checkpoint's end to the next start (Flink min-pause, default 0).
        pub min_pause: SimDuration = ms(0);
        /// Aligned mode: switch a checkpoint to unaligned once it has run this long (0 = never).
        pub aligned_timeout: SimDuration = ms(0);
        /// Network buffer bytes (Flink memory segment, 32 KB); records per buffer = this / record_bytes.
        pub buffer_size: u64 = 32 * 1024 => within(64, 16 << 20);
        /// A partly filled buffer is sent after this long (Flink execution.buffer-timeout, 100ms).
        pub buffer_timeout: SimDuration = ms(100) => at_least(SimDuration::from_micros(100));
        /// Buffers a receiver grants per input channel (Flink buffers-per-channel, 2).
        pub credits: u32 = 2 => within(1, 1_000);
        /// Buffers a sender queues per channel before it stops reading (Flink max-buffers-per-channel, 10).
        pub output_buffers: usize = 10 => within(1, 1_000);
        /// Most records a source task reads from the log at once.
        pub max_batch: u64 = 1_000 => within(1, 1_000_000);
        /// How often an idle source task polls its partition.
        pub poll_interval: SimDuration = ms(5) => at_least(SimDuration::from_micros(10));
        /// Fixed-delay restart strategy: wait this long after a failure (Flink default 1s).
        pub restart_delay: SimDuration = ms(1_000);
        /// full: every task restarts; region: the failed pipelined region (= full: the keyed exchange makes one region).
        pub failover: Failover = Failover::Full;
    }
}
