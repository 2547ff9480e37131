//! Messages between tasks and the coordinator, and the tags of timers, work and storage
//! completions. Every one carries the job `attempt` it belongs to: after a restart, anything
//! from an earlier attempt is ignored (Flink's execution attempts).

use ftsim_sim::{Record, SimTime};

/// Who takes part in a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Source task of a partition.
    Source(u32),
    /// Stateful task.
    Task(u32),
}

/// Network payloads.
#[derive(Debug)]
pub enum Msg {
    /// A network buffer on channel `part → task`: records of the stateless chain's output, then
    /// the partition's watermark after them (an empty buffer carries only the watermark).
    Data {
        /// Job attempt.
        attempt: u32,
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
        /// Job attempt.
        attempt: u32,
        /// Channel sender.
        part: u32,
        /// Channel receiver.
        task: u32,
        /// Checkpoint id.
        id: u64,
        /// Trigger time.
        started: SimTime,
    },
    /// One buffer of channel `part → task` is free again: one more credit for the sender.
    Credit {
        /// Job attempt.
        attempt: u32,
        /// Channel sender.
        part: u32,
        /// Channel receiver.
        task: u32,
    },
    /// The coordinator asks source `part` to start checkpoint `id`.
    Trigger {
        /// Job attempt.
        attempt: u32,
        /// Checkpoint id.
        id: u64,
        /// The source.
        part: u32,
        /// Trigger time.
        started: SimTime,
    },
    /// A task's snapshot for checkpoint `id` is durable.
    Ack {
        /// Job attempt.
        attempt: u32,
        /// Checkpoint id.
        id: u64,
        /// The task.
        who: Who,
    },
}

/// Tags of timers, CPU work and storage operations.
#[derive(Debug)]
pub enum Tag {
    /// Source `part` should look at its partition again.
    Poll {
        /// Source.
        part: u32,
        /// Job attempt.
        attempt: u32,
    },
    /// Periodic flush of partly filled buffers (the output flusher), for every source.
    Flush {
        /// Job attempt.
        attempt: u32,
    },
    /// Source `part` ran the stateless chain over offsets `from..to`.
    Read {
        /// Source.
        part: u32,
        /// Job attempt.
        attempt: u32,
        /// First offset.
        from: u64,
        /// End offset.
        to: u64,
    },
    /// Stateful task `task` applied the buffer it was working on.
    Applied {
        /// Task.
        task: u32,
        /// Job attempt.
        attempt: u32,
    },
    /// A snapshot write (state or channel state) of checkpoint `id` finished.
    Written {
        /// Writer.
        who: Who,
        /// Job attempt.
        attempt: u32,
        /// Checkpoint id.
        id: u64,
    },
    /// Time to trigger the next checkpoint (`generation` guards against stale timers).
    Trigger {
        /// Scheduler generation.
        generation: u64,
    },
    /// Checkpoint `id` has been running for `aligned_timeout`: switch it to unaligned.
    AlignTimeout {
        /// Job attempt.
        attempt: u32,
        /// Checkpoint id.
        id: u64,
    },
    /// The fixed restart delay after a failure is over.
    RestartDue {
        /// Job attempt.
        attempt: u32,
    },
    /// A write nobody waits for.
    Unawaited,
    /// A task read its part of the checkpoint it restores from.
    Restored {
        /// Job attempt.
        attempt: u32,
    },
}
