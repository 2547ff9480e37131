//! Messages between tasks and the coordinator, the tags of timers, work and storage
//! completions, and what has incarnations. Everything the job's tasks send or set belongs to the
//! job's current attempt ([`Scope::Job`], Flink's execution attempts): after a restart the kernel
//! drops whatever an earlier attempt left in flight. The coordinator's trigger timer belongs to
//! the trigger schedule ([`Scope::Schedule`]), which is renewed whenever a new one is set.

use crate::pipeline::CoreTag;
use ftsim_sim::engine::Scoped;
use ftsim_sim::{Record, SimTime};

/// Who takes part in a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Source task of a partition.
    Source(u32),
    /// Stateful task.
    Task(u32),
}

/// What has incarnations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The job: one incarnation per attempt.
    Job,
    /// The coordinator's checkpoint schedule: one incarnation per trigger timer set.
    Schedule,
}

/// Network payloads.
#[derive(Debug)]
pub enum Msg {
    /// A network buffer on channel `part → task`: records of the stateless chain's output, then
    /// the partition's watermark after them (an empty buffer carries only the watermark).
    Data {
        /// Source partition (the channel's sender).
        part: u32,
        /// Stateful task (the channel's receiver).
        task: u32,
        /// Records, in log order.
        records: Vec<Record>,
        /// Watermark of the partition once these records are read.
        wm: SimTime,
    },
    /// Checkpoint barrier `id` on channel `part → task`; `started` is when the checkpoint was
    /// triggered (for the aligned-checkpoint timeout).
    Barrier {
        /// Channel sender.
        part: u32,
        /// Channel receiver.
        task: u32,
        /// Checkpoint id.
        id: u64,
        /// Trigger time.
        started: SimTime,
    },
    /// Source `part`'s bare watermark `wm` on every channel but those in `skip` (sorted): one
    /// transmission standing for one watermark-only buffer per covered channel (see
    /// `dataflow.rs`, "Bare watermarks").
    Watermarks {
        /// Source partition (the channels' sender).
        part: u32,
        /// The partition's watermark.
        wm: SimTime,
        /// Channels (stateful tasks) the broadcast does not cover, ascending.
        skip: Vec<u32>,
    },
    /// Source `part`'s barrier `id` on every channel but those in `skip` (sorted), where it
    /// waits behind buffers: one transmission standing for one barrier per covered channel.
    Barriers {
        /// Source partition (the channels' sender).
        part: u32,
        /// Checkpoint id.
        id: u64,
        /// Trigger time.
        started: SimTime,
        /// Channels (stateful tasks) the broadcast does not cover, ascending.
        skip: Vec<u32>,
    },
    /// Credit announcements for bare watermarks a task took: counted as messages, no effect
    /// (a bare watermark holds no credit in the model).
    Credits,
    /// One buffer of channel `part → task` is free again: one more credit for the sender.
    Credit {
        /// Channel sender.
        part: u32,
        /// Channel receiver.
        task: u32,
    },
    /// The coordinator asks source `part` to start checkpoint `id`.
    Trigger {
        /// Checkpoint id.
        id: u64,
        /// The source.
        part: u32,
        /// Trigger time.
        started: SimTime,
    },
    /// A task's snapshot for checkpoint `id` is durable.
    Ack {
        /// Checkpoint id.
        id: u64,
        /// The task.
        who: Who,
    },
}

/// Tags of timers, CPU work and storage operations.
#[derive(Debug)]
pub enum Tag {
    /// A source's poll timer and read (the pipelined core's); a task's apply work.
    Core(CoreTag),
    /// Periodic flush of partly filled buffers (the output flusher), for every source.
    Flush,
    /// The watermark broadcasts delivered at this instant are all in: the tasks take them.
    Watermarks,
    /// A snapshot write (state or channel state) of checkpoint `id` finished.
    Written {
        /// Writer.
        who: Who,
        /// Checkpoint id.
        id: u64,
    },
    /// Time to trigger the next checkpoint.
    Trigger,
    /// Checkpoint `id` has been running for `aligned_timeout`: switch it to unaligned.
    AlignTimeout {
        /// Checkpoint id.
        id: u64,
    },
    /// The fixed restart delay after a failure is over.
    RestartDue,
    /// A write nobody waits for.
    Unawaited,
    /// A task read its part of the checkpoint it restores from.
    Restored,
}

impl From<CoreTag> for Tag {
    fn from(t: CoreTag) -> Self {
        Tag::Core(t)
    }
}

impl Scoped<Scope> for Msg {
    fn scope(&self) -> Option<Scope> {
        Some(Scope::Job)
    }
}

impl Scoped<Scope> for Tag {
    fn scope(&self) -> Option<Scope> {
        match self {
            Tag::Trigger => Some(Scope::Schedule),
            Tag::Unawaited => None,
            _ => Some(Scope::Job),
        }
    }
}
