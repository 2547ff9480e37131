//! `storm-acking`: Apache Storm's guaranteed message processing (tuple trees tracked by XOR
//! ackers, replay from the spout on timeout) and, as a mode, Trident (transactional
//! micro-batches committed in txid order).
//!
//! Model, on the pipelined core (the spouts are its source tasks, which read the replayable log
//! and run the stateless chain; the keyed count bolt is its stateful tasks):
//! - **tuples**: every record a spout emits is a spout tuple with a random 64-bit id and one
//!   edge (a random 64-bit id too, from the engine's seeded stream); the tree is one tuple deep.
//!   The spout tells the tuple's acker (chosen by a hash of the id) about it with an *init*
//!   (edge id, spout task); the bolt acks the tuple once it applied it (its edge id, nothing
//!   anchored); the acker's ledger (`acker`, about 20 bytes per pending tree) XORs both in and,
//!   at 0, tells the spout (*completion*), which acks the record: so three ack-stream messages
//!   per tuple, each counted as a message in `messages`/`ft_messages`; data tuples count one
//!   message each as well (Storm sends each tuple as its own message). An acker spends
//!   `ack_cost` of CPU per ack-stream message on its node;
//! - **transfer batching** (module `transfer`): as Storm's workers queue what they send per
//!   destination worker and flush it in batches (Storm 2 with `topology.transfer.batch.size` or
//!   `topology.producer.batch.size` above their default of 1: a flush tuple every
//!   `topology.batch.flush.interval.millis`, 1 ms by default, which its performance guide calls
//!   `topology.flush.tuple.freq.millis`, pushes out unfilled batches; the transfer thread groups
//!   what it drains by destination worker, and the Netty client writes at most
//!   `storm.messaging.netty.transfer.batch.size`, 256 KiB, at once), every node keeps an outbox
//!   per destination node for its inits, acks and completions. The first of them into the node's
//!   empty outboxes arms a flush `flush_interval` later on the node's clock; at the flush every
//!   outbox leaves as one transmission (a header plus 20 bytes per message, counted as as many
//!   messages as it carries), and one that fills Netty's batch leaves at once. A crash loses
//!   what had not left, so those trees time out and are replayed, as in Storm. At the receiving
//!   node each acker gets one work item for its messages in the transmission. `flush_interval
//!   = 0` (Storm's batch sizes of 1) sends at the end of the instant, which still puts together
//!   what a node sends at once, as Storm's transfer thread does with what it drains.
//!   Data tuples are not put in these outboxes: the pipelined core already sends what a spout
//!   read for one bolt task as one transmission (counting its tuples as messages), as every
//!   record-at-a-time engine here does, and holding them for a flush as well would delay only
//!   storm's data, against the others', by a cost of the transport rather than of acking. The
//!   ack stream pays the flush: each of its three hops waits up to `flush_interval`, which
//!   delays completions, so a spout at its `max_spout_pending` cap and a window (which fires
//!   only once its tuples are acked) wait for them, but not a running count's outputs;
//! - **ackers**: `ackers` acker tasks (default one per worker node), extra tasks of the core
//!   placed round-robin over the workers, lost and placed again like the other executors;
//!   `ackers = 0` turns tracking off: the spout counts a tuple acked as soon as it is emitted
//!   (at-most-once);
//! - **timeouts**: a spout keeps its tuples out in Storm's `RotatingMap` of two buckets, rotated
//!   every `message_timeout` on the spout's own clock, so a tuple not acked fails between one and
//!   two timeouts after it was emitted; its record is read again from the log (the stateless
//!   chain's CPU again, counted as read again in the ledger) and emitted as a new spout tuple,
//!   as fault-tolerance traffic. Ackers rotate their ledgers the same way;
//! - **`max_spout_pending`** caps a spout's tuples out and not acked: the spout reads no more
//!   (`Policy::read_limit`) until completions free room. It bounds how much a failure leaves to
//!   replay, and a failure stalls the spout until the lost tuples time out;
//! - **failures**: a crash kills the node's executors: spouts with their tuples out, the bolt's
//!   queue and what was on its way, an acker's ledger. Every affected spout tuple times out and
//!   is replayed. A lost spout resumes from its partition's committed offset (Kafka's, durable,
//!   committed at once here): the first offset not yet fully acked, so it emits again all it had
//!   out. After the failure detector's delay (Storm's supervisor timeout) the lost executors
//!   restart where the pipeline places them: the crashed node is restarted then but only comes
//!   back after `restart_delay`, so they go to a spare, or, with none left, to the surviving
//!   workers, or wait for a worker to come back. The failure counts as restored (`restored`)
//!   once the executors run again *and* every tuple out at its detection was acked or failed and
//!   was emitted again (Trident: every batch attempt in flight was committed or emitted again):
//!   the work it lost runs again only after the timeout, and a restarted spout whose partition
//!   flows normally must not hide the others, stalled until then;
//! - **overload**: a tuple still queued at its executor when its timeout passes fails and is
//!   emitted again, adding load; once queues are longer than the timeout nothing completes any
//!   more (Storm's replay storm). The engine then says it is stuck for want of capacity, naming
//!   tuples (or a Trident batch) that timed out while still queued at live executors;
//! - **state**: `state = "external"` keeps the bolt's counts in a key-value store outside the
//!   cluster, updated at least once: a replayed tuple is counted again (inflated counts);
//!   `state = "memory"` keeps them in the executor, lost with it;
//! - **windows**: a spout advertises no watermark past its first record not yet acked
//!   (`Source::wm_upto`), so that a window fires only once all its tuples are acked; Storm's
//!   windowed bolts, which take the watermark from the tuples they see, would drop a tuple
//!   replayed after its window fired as late;
//! - **Trident** (`trident = true`, module `trident`): the spouts emit micro-batches every
//!   `emit_interval` with a transaction id; a batch's offsets are fixed when it is first emitted
//!   (durable) and a replayed batch keeps its txid and offsets; each batch attempt is a tuple
//!   tree; state updates commit strictly in txid order into a transactional state that stores
//!   the txid beside each value, so a replayed batch updates nothing twice; batch n's outputs go
//!   into the sink transaction of its attempt, committed once every task committed its state.
//!   A batch not done within `message_timeout` is emitted again with the same txid. A new batch
//!   takes at most `max_batch` records per partition (Kafka's fetch size). Latency is at least
//!   the wait for the next batch, up to `emit_interval`. `max_spout_pending` counts
//!   batches in flight (default one, as in Storm); Trident needs an acker, so `ackers = 0` keeps
//!   one.
//!
//! Messages with tracking on, against `ackers = 0`, on this job's depth-1 trees: each tuple
//! costs its data message plus an init, an ack and a completion, so tracking sends four times
//! the messages. Measured on scenarios/storm-acking.toml without faults (300,000 records): a
//! running count sends 1,200,000 messages against 300,000 (ratio 4.00, 900,000 of them
//! ack-stream, in 341,179 transmissions: 2.6 per transmission at 1,250 records per second and
//! node), a window count 1,200,542 against 300,769 (3.99: 542 bare watermark messages against
//! 769, since a spout advertises no watermark past its first record not yet acked). On
//! scenarios/reference.toml (50,000 records per second and node) a transmission carries 20
//! ack-stream messages. Storm's "about twice" is for trees of many tuples, such as its word count (a
//! sentence, then a tuple per word): a tree of n tuples costs n data messages, n acks (one per
//! tuple sent) and an init and a completion, so 2n + 2 against n, about twice for large n; the
//! init and completion spread over the tree. With one tuple per tree they do not: 4 against 1.
//!
//! Promise (acking mode): at-least-once with external state on every sink (a replay counts a
//! record again: inflated values, nothing lost); with `ackers = 0`, at-most-once (memory state
//! on an append or transactional sink shows a restarted count's values twice: none); with memory
//! state and tracking, none (counts are lost with the executor while replays inflate others).
//! Trident with external state: exactly-once with a transactional or idempotent sink; with an
//! append sink at-least-once, since a batch replayed after some tasks committed it shows their
//! stored outputs again (Trident's transactional map hands back the stored values), which only a
//! transactional sink (one transaction per attempt, one committed) or upserts by output id hide.
//!
//! Simplifications: the committed offset is written at once and for free; the external store's
//! updates in acking mode cost nothing beyond the bolt's CPU; a Trident commit is one store
//! write per task (the read of the old values is not modelled); a tuple's ids ride with the
//! core's batches without adding bytes; the ledgers of spouts and ackers find a tuple by a dense
//! number it carries beside its random id (module `ring`: an index of the simulator, not bytes
//! on the wire), while completion is still the XOR of the random edge ids returning to zero; the coordinator's ZooKeeper writes are free; an acker's
//! CPU is the only cost of acking besides its messages; the flush is armed by the first message
//! into an empty outbox rather than ticking every interval (the same bound on the wait); Trident's
//! batch, coordination and commit tuples are sent at once, outside the outboxes.

mod acker;
mod msg;
mod policy;
mod ring;
mod rotating;
mod spout;
mod tracking;
mod transfer;
mod trident;
mod wire;

pub use acker::{ACKER_SPAN, Acker, AckerIn, Completed, Rotating};
pub use policy::StormAcking;
pub use ring::Handle;
pub use spout::SPOUT_SPAN;

use crate::pipeline::{Pipeline, SourceConfig};
use crate::spec::EngineSpec;
use ftsim_sim::config::{Choice, ParamValue, at_least, choice, within};
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, Scenario, Semantics, SimDuration, engine_config};
use std::fmt;

/// How many acker tasks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ackers {
    /// One per worker node (Storm's default).
    PerWorker,
    /// This many (0: no tracking).
    Count(u32),
}

impl Ackers {
    /// The number of acker tasks in `sc`.
    pub fn count(self, sc: &Scenario) -> u32 {
        match self {
            Ackers::PerWorker => sc.cluster.nodes,
            Ackers::Count(n) => n,
        }
    }
}

impl ParamValue for Ackers {
    fn show(&self) -> String {
        match self {
            Ackers::PerWorker => "\"per-worker\"".into(),
            Ackers::Count(n) => n.to_string(),
        }
    }
    fn kind() -> String {
        "\"per-worker\"|integer 0 to 1000".into()
    }
}

impl<'de> serde::Deserialize<'de> for Ackers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Ackers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"per-worker\" or a number of ackers from 0 to 1000")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Ackers, E> {
                match s {
                    "per-worker" => Ok(Ackers::PerWorker),
                    _ => Err(E::custom(format!(
                        "\"{s}\" is not allowed: use \"per-worker\" or a number of ackers from 0 to 1000"
                    ))),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Ackers, E> {
                match u32::try_from(n) {
                    Ok(n) if n <= 1000 => Ok(Ackers::Count(n)),
                    _ => Err(E::custom(format!("{n} is out of range: allowed 0 to 1000"))),
                }
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Ackers, E> {
                self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_any(V)
    }
}

/// Where the bolt's state lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateStore {
    /// A key-value store outside the cluster: survives crashes, updated at least once.
    External,
    /// The executor's memory: lost with it.
    Memory,
}

impl Choice for StateStore {
    const ALL: &'static [StateStore] = &[StateStore::External, StateStore::Memory];
    fn name(self) -> &'static str {
        match self {
            StateStore::External => "external",
            StateStore::Memory => "memory",
        }
    }
}

impl<'de> serde::Deserialize<'de> for StateStore {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        choice(d)
    }
}

engine_config! {
    /// `[engines.storm-acking]`.
    pub struct Config {
        /// Acker tasks: "per-worker" (one per worker node) or a number; 0 turns tracking off (at-most-once; Trident keeps one).
        pub ackers: Ackers = Ackers::PerWorker;
        /// A spout tuple (Trident: a batch) not fully processed within this fails and is replayed; expiry is by rotation, between one and two timeouts.
        pub message_timeout: SimDuration = SimDuration::from_secs(30) => at_least(SimDuration::from_millis(1));
        /// Most tuples a spout has out and not acked (0 = unlimited); with trident, most batches in flight (0 = one).
        pub max_spout_pending: u64 = 0 => within(0, 100_000_000);
        /// CPU per ack-stream message (init or ack) on the acker's node.
        pub ack_cost: SimDuration = SimDuration::from_micros(1);
        /// Storm's flush tuple period with batching on (topology.batch.flush.interval.millis, default 1 ms): a node's inits, acks and completions wait in its outboxes at most this long after the first and leave in one transmission per destination node; 0: at the end of the instant (Storm's batch sizes of 1).
        pub flush_interval: SimDuration = SimDuration::from_millis(1) => within(SimDuration::ZERO, SimDuration::from_secs(1));
        /// Where the bolt's counts live: external (a store outside the cluster, updated at least once) or memory (lost with the executor).
        pub state: StateStore = StateStore::External;
        /// Trident: transactional micro-batches, state committed in txid order.
        pub trident: bool = false;
        /// Trident: the coordinator emits a batch at most this often.
        pub emit_interval: SimDuration = SimDuration::from_millis(500) => at_least(SimDuration::from_millis(1));
        #[flatten]
        /// How sources read.
        pub sources: SourceConfig;
    }
}

impl Config {
    /// Acker tasks in `sc`: Trident keeps at least one.
    fn ackers(&self, sc: &Scenario) -> u32 {
        let n = self.ackers.count(sc);
        if self.trident { n.max(1) } else { n }
    }
}

impl EngineSpec for StormAcking {
    const NAME: &'static str = "storm-acking";
    const SUMMARY: &'static str = "Storm: tuple trees tracked by XOR ackers, spouts replay from the log on timeout; Trident: transactional micro-batches";
    type Config = Config;
    type Engine = Pipeline<StormAcking>;

    fn promise(cfg: &Config, kind: JobKind, sink: SinkMode) -> Guarantee {
        let tracking = cfg.trident || cfg.ackers != Ackers::Count(0);
        match (cfg.state, cfg.trident, tracking) {
            (StateStore::Memory, _, true) => Guarantee::None,
            (StateStore::Memory, _, false) => match (kind, sink) {
                (JobKind::RunningCount, SinkMode::Append | SinkMode::Transactional) => Guarantee::None,
                _ => Guarantee::AtMostOnce,
            },
            (StateStore::External, false, false) => Guarantee::AtMostOnce,
            (StateStore::External, false, true) => Guarantee::AtLeastOnce,
            (StateStore::External, true, _) => match sink {
                SinkMode::Append => Guarantee::AtLeastOnce,
                SinkMode::Idempotent | SinkMode::Transactional => Guarantee::ExactlyOnce,
            },
        }
    }

    fn promise_variants() -> Vec<(String, Config)> {
        let d = Config::default;
        vec![
            ("state = \"external\"".into(), d()),
            (
                "state = \"memory\"".into(),
                Config {
                    state: StateStore::Memory,
                    ..d()
                },
            ),
            (
                "ackers = 0".into(),
                Config {
                    ackers: Ackers::Count(0),
                    ..d()
                },
            ),
            (
                "ackers = 0, state = \"memory\"".into(),
                Config {
                    ackers: Ackers::Count(0),
                    state: StateStore::Memory,
                    ..d()
                },
            ),
            ("trident = true".into(), Config { trident: true, ..d() }),
        ]
    }

    fn build(sc: &Scenario, cfg: &Config) -> Self::Engine {
        let s = &cfg.sources;
        let policy = StormAcking::new(sc, cfg, cfg.ackers(sc));
        let mut engine = Pipeline::new(sc, s.read(sc), s.watermark_interval, policy);
        let core = &mut engine.core;
        core.dedupe = false;
        core.external_state = cfg.state == StateStore::External && !cfg.trident;
        core.tuple_messages = true;
        engine
            .policy
            .install(core, &Semantics::new(&sc.job, sc.workload.partitions));
        engine
    }
}
