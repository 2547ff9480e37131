//! `flink-abs`: Apache Flink's asynchronous barrier snapshots (Carbone et al., "Lightweight
//! Asynchronous Snapshots for Distributed Dataflows", 2015; Carbone et al., "State Management
//! in Apache Flink", VLDB 2017; Flink docs "Checkpointing under backpressure").
//!
//! The dataflow is long-lived and pipelined: one source task per partition (reads the log, runs
//! the stateless chain), a keyed exchange to `job.parallelism` stateful tasks, round-robin over
//! the workers. Records travel in network buffers per channel (`buffer_size`, flushed when full
//! or after `buffer_timeout`) under credit-based flow control (`credits` per channel, a bounded
//! output queue per channel): a slow task throttles its senders back to the sources, and the
//! log's backlog grows.
//!
//! Broadcasts (`dataflow.rs`, `checkpoint.rs`): a source's bare watermarks (a flush whose
//! watermark moved, on a channel with no buffer to carry it) and its barriers go on every
//! output channel, as Flink broadcasts them. On the channels to other nodes where they leave at
//! once (nothing queued, and credit for a watermark), they travel as one transmission per
//! source and flush or checkpoint (`Msg::Watermarks`, `Msg::Barriers`) that
//! counts one message and one buffer header per channel; a channel within the node, or one with
//! buffers waiting or no credit, takes its own as before. The tasks take the watermark
//! broadcasts that arrive at one instant together (one scan of their partition watermarks,
//! [`ftsim_sim::OperatorState::advance_many`]), before anything else that happens after them.
//! So a flush costs a kernel event per source, not per channel, and `messages`, `bytes` and
//! `ft_messages` count what Flink sends.
//!
//! A coordinator on the master triggers a checkpoint every `checkpoint_interval` (at most one in
//! flight, `min_pause` after the last), and the modes of `checkpoint.rs` take it: `aligned`
//! (exactly-once), `unaligned` (exactly-once; barriers overtake in-flight buffers, which become
//! part of the snapshot) and `at-least-once` (barriers counted, never blocking). A failure
//! restarts the whole job from the last completed checkpoint after `restart_delay`
//! (`recovery.rs`). Per checkpoint: `DIR/flink-abs/checkpoints.csv` with duration, alignment and
//! size charts; events.csv logs checkpoint starts, completions, aborts and restarts.
//!
//! Promises (checked by the oracle):
//! - aligned / unaligned: exactly-once state. Transactional sink (two-phase commit: a task's
//!   emissions between barriers n−1 and n form transaction (task, n), committed when checkpoint
//!   n completes, aborted on restart): exactly-once end to end, at the price of visible latency
//!   of about one checkpoint interval. Idempotent sink: replayed emissions are the same values
//!   for the same ids and collapse: exactly-once. Append sink: replayed emissions show twice:
//!   at-least-once.
//! - at-least-once mode: a snapshot may hold records that came after the barrier on an early
//!   input; after a restore they are applied again, so a count goes past its right value (the
//!   oracle counts it `wrong`: a record counted twice) and nothing is lost: at-least-once, for
//!   every sink (Flink's at-least-once: each record affects the state at least once).
//!
//! What the model shows (tests/flink_abs.rs, scenarios/flink-*.toml):
//! - a slow stateful task (straggler) backs the job up to the sources; aligned checkpoints then
//!   take seconds (barriers queue behind up to `output_buffers` + `credits` buffers per channel)
//!   and alignment grows (blocked inputs add to the backpressure); unaligned checkpoints stay at
//!   the storage latency while their in-flight bytes grow with the queues;
//! - in a single-shuffle job under symmetric backpressure the barriers reach a slow task almost
//!   together, so alignment stays short; it is long when one input is late, e.g. a slow source
//!   (scenarios/flink-at-least-once.toml). Only then does at-least-once mode differ from
//!   aligned: the records run ahead of the late barrier are counted twice after a restore;
//! - recovery = detection + max(restart delay, spare start) + reading the checkpoint, then
//!   catching up on the replayed input and the backlog, which shrinks with shorter intervals.
//!
//! Simplifications (where the model departs from Flink):
//! - a source handles a checkpoint trigger between batches of at most `max_batch` records (its
//!   unit of work), where Flink's mailbox takes it between records: a CPU-bound source delays
//!   its barriers by up to one batch;
//! - receiver buffers are `credits` exclusive buffers per channel; Flink's floating buffers
//!   (8 per gate) are not modelled; credit announcements are one small message per buffer;
//! - a broadcast bare watermark holds no credit (its receiver would return it as soon as it
//!   polled the buffer, with no CPU: only a later buffer sent within that round trip could
//!   notice); its credit announcement is counted, one transmission per task and batch, and
//!   triggers nothing at the source;
//! - a broadcast's buffers arrive together, when the last of them would (one transmission on
//!   the sender's NIC), where Flink's would arrive a header's transmission time (~50 ns at
//!   10 Gbit/s) apart; it is addressed to the master node as its carrier: the tasks of a node
//!   that crashed and is not yet detected still take it (whatever they send, write or emit is
//!   dropped with their node, as before), and a broadcast in flight when the master crashes is
//!   lost (the job restarts from the last checkpoint at that failure's detection anyway);
//! - a source task and the stateful tasks are the only tasks (the stateless chain is chained
//!   into the source, as Flink's operator chaining does); the sink is not a task;
//! - a stateful task takes buffers in arrival order across channels (Flink polls available
//!   channels round-robin); barriers, credits and watermark-only buffers take no CPU;
//! - kept in-flight buffers are restored at the receiving task (Flink restores output-side
//!   channel state at the sender); buffers kept by a source when an aligned checkpoint times out
//!   are written without delaying that source's acknowledgement;
//! - no checkpoint timeout (Flink's default is 10 min; a checkpoint pending at a failure is
//!   aborted) and no tolerable-failure counting; checkpoint ids keep growing across restarts;
//! - every task, survivors included, reads its state back from durable storage (no local
//!   recovery); a standby coordinator taking over is the master node restarting after
//!   `cluster.restart_delay`, then a job restart, as with Flink HA;
//! - `failover = "region"` restarts the same set as `full`: with the keyed all-to-all exchange
//!   every job here is a single pipelined region.

mod align;
mod checkpoint;
mod config;
mod coord;
mod dataflow;
mod engine;
mod msg;
mod recovery;
mod source;
mod task;

pub use align::{Aligner, Progress};
pub use config::{Config, Failover, Mode};
pub use engine::FlinkAbs;

use crate::spec::EngineSpec;
use ftsim_sim::config::Choice;
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, Scenario};

impl EngineSpec for FlinkAbs {
    const NAME: &'static str = "flink-abs";
    const SUMMARY: &'static str = "asynchronous barrier snapshots (aligned, unaligned, at-least-once), 2PC sink, restart from the last checkpoint";
    type Config = Config;
    type Engine = FlinkAbs;

    fn promise(cfg: &Config, _kind: JobKind, sink: SinkMode) -> Guarantee {
        match (cfg.mode, sink) {
            (Mode::AtLeastOnce, _) => Guarantee::AtLeastOnce,
            (_, SinkMode::Append) => Guarantee::AtLeastOnce,
            (_, SinkMode::Idempotent | SinkMode::Transactional) => Guarantee::ExactlyOnce,
        }
    }

    fn promise_variants() -> Vec<(String, Config)> {
        Mode::ALL
            .iter()
            .map(|m| {
                let cfg = Config {
                    mode: *m,
                    ..Config::default()
                };
                (format!("mode = \"{}\"", m.name()), cfg)
            })
            .collect()
    }

    fn build(sc: &Scenario, cfg: &Config) -> FlinkAbs {
        FlinkAbs::new(sc, cfg)
    }
}
