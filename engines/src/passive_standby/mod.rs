//! `passive-standby`: each task checkpoints its state to a standby every interval, upstreams keep
//! what they sent since, and on a failure the standby restores the checkpoint while the upstreams
//! replay (Hwang et al., "High-Availability Algorithms for Distributed Stream Processing", ICDE
//! 2005).
//!
//! Model, on the pipelined core:
//! - every `checkpoint_interval` a task copies its state: it stops applying while the copy is
//!   made (`state bytes / copy_rate`, CPU on its node), unless `copy_on_write` is set, which
//!   removes the pause at the cost of holding the copied pages in memory until the copy is sent
//!   (`cow_bytes` in checkpoints.csv); the copy goes over the network to the task's standby, the
//!   next live worker after its node (`standby = "peer"`, fault-tolerance traffic), or to durable
//!   storage (`standby = "storage"`);
//! - once the standby holds it, it tells the upstreams, which trim their output logs
//!   ([`OutputLog`](crate::pipeline::OutputLog)) up to the offsets the checkpoint covers (one
//!   message to every live source, travelling in an ack round, [`crate::pipeline::acks`]);
//! - on a failure, after detection, the standby that holds the lost tasks' checkpoints takes them
//!   at once (no spare to wait for), restores them from memory, and every upstream replays its
//!   log; with `standby = "storage"` a spare takes them and reads the checkpoint back;
//! - a crash of the standby loses the checkpoints it held: the tasks checkpoint again at once to
//!   the next live worker; a task lost with its checkpoint's standby before that is rebuilt on a
//!   spare from the upstream logs if they were never trimmed, else from the durable source log
//!   itself (`Core::scan`): slow, but nothing is lost; likewise a task restored from a checkpoint
//!   that covers less than its upstream logs still hold (a later checkpoint, lost since, trimmed
//!   them: a rebuilt task checkpointed before it had applied its rebuild) reads the gap again
//!   from the source log;
//! - `restored` is reported once every moved task has its state back; recoveries.csv and
//!   checkpoints.csv record the recoveries and every checkpoint (pause, bytes, where it went).
//!
//! Promise: the recovery is precise (checkpoint plus replay, no record twice), so values are
//! right; outputs emitted since the checkpoint are emitted again: exactly-once with an
//! `idempotent` sink, at-least-once with `append` and `transactional` (no commit protocol).
//!
//! Simplifications: the copy's pause is CPU work on the task's node (it competes with other tasks
//! for cores); the standby holds checkpoints in memory at no cost but their loss with it; the
//! standby's restore takes no time.

mod policy;

pub use policy::PassiveStandby;

use crate::pipeline::rebuild::replay_promise;
use crate::pipeline::{Pipeline, SourceConfig};
use crate::spec::EngineSpec;
use ftsim_sim::config::{Choice, at_least, choice, within};
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, Scenario, SimDuration, engine_config};

/// Where checkpoints go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standby {
    /// To the next live worker, in its memory.
    Peer,
    /// To durable storage.
    Storage,
}

impl Choice for Standby {
    const ALL: &'static [Standby] = &[Standby::Peer, Standby::Storage];
    fn name(self) -> &'static str {
        match self {
            Standby::Peer => "peer",
            Standby::Storage => "storage",
        }
    }
}

impl<'de> serde::Deserialize<'de> for Standby {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        choice(d)
    }
}

engine_config! {
    /// `[engines.passive-standby]`.
    pub struct Config {
        /// Each task checkpoints its state this often.
        pub checkpoint_interval: SimDuration = SimDuration::from_secs(2) => at_least(SimDuration::from_millis(10));
        /// Where checkpoints go: peer (the next live worker's memory) or storage (durable storage).
        pub standby: Standby = Standby::Peer;
        /// How fast a task copies its state, MB/s: the pause of a checkpoint is its size over this.
        pub copy_rate: f64 = 1000.0 => within(1.0, 1e6);
        /// Copy on write: no pause, the copied pages held in memory until the copy is sent.
        pub copy_on_write: bool = false;
        #[flatten]
        /// How sources read.
        pub sources: SourceConfig;
    }
}

impl EngineSpec for PassiveStandby {
    const NAME: &'static str = "passive-standby";
    const SUMMARY: &'static str =
        "tasks checkpoint to a standby every interval; on a failure the standby restores and the upstreams replay";
    type Config = Config;
    type Engine = Pipeline<PassiveStandby>;

    fn promise(_cfg: &Config, _kind: JobKind, sink: SinkMode) -> Guarantee {
        replay_promise(sink)
    }

    fn build(sc: &Scenario, cfg: &Config) -> Self::Engine {
        let s = &cfg.sources;
        Pipeline::new(sc, s.read(sc), s.watermark_interval, PassiveStandby::new(sc, cfg))
    }
}
