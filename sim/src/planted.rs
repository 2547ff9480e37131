//! Planted bugs: realistic defects that a test can plant in a run to prove that the checks catch
//! them (a check that cannot fail proves nothing). Only code compiled with the `planted` feature
//! (the test build) can plant one; no scenario file or flag can name one, and without the feature
//! [`Planted::has`] is always false, so the defects are not even compiled in.

/// A defect, named after what it gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// flink-abs: a task's sink transaction commits when the task takes its snapshot, not when
    /// the checkpoint completes.
    CommitAtSnapshot,
    /// flink-abs: a restore takes the source offsets of the checkpoint before the one whose state
    /// it restores.
    OffsetsOfOlderCheckpoint,
    /// flink-abs: aligned checkpoints stop holding back the channels that delivered the barrier.
    AlignmentDoesNotBlock,
    /// flink-abs: open sink transactions are not aborted when the job restarts.
    NoAbortOnRestart,
    /// flink-abs: unaligned in-flight data is replayed in the reverse of its order.
    InFlightReplayReversed,
    /// dstream: a recovery of a lost state partition skips one block's records.
    RecoverySkipsBlock,
    /// dstream: a recovery starts from the checkpoint before the last complete one, replaying
    /// only the batches after the last one.
    RecoveryFromOlderCheckpoint,
    /// dstream: a recovery's lineage skips one batch.
    LineageSkipsBatch,
    /// micro-batch: a rerun task writes its output again (no per-batch output dedupe).
    NoOutputDedupe,
    /// structured-streaming: a state-store version is reported written before it is durable.
    StateStoreEarly,
    /// The idempotent sink upserts by value instead of by output id.
    IdempotentByValue,
    /// The oracle counts one duplicate fewer for every output shown twice or more.
    OracleUndercountsDuplicates,
}

impl Bug {
    /// Every planted bug.
    pub const ALL: [Bug; 12] = [
        Bug::CommitAtSnapshot,
        Bug::OffsetsOfOlderCheckpoint,
        Bug::AlignmentDoesNotBlock,
        Bug::NoAbortOnRestart,
        Bug::InFlightReplayReversed,
        Bug::RecoverySkipsBlock,
        Bug::RecoveryFromOlderCheckpoint,
        Bug::LineageSkipsBatch,
        Bug::NoOutputDedupe,
        Bug::StateStoreEarly,
        Bug::IdempotentByValue,
        Bug::OracleUndercountsDuplicates,
    ];
}

/// The bugs planted in a run: none, in every run a user starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Planted {
    #[cfg(feature = "planted")]
    bug: Option<Bug>,
}

impl Planted {
    /// Nothing planted.
    pub const NONE: Planted = Planted {
        #[cfg(feature = "planted")]
        bug: None,
    };

    /// `bug` planted (test builds only).
    #[cfg(feature = "planted")]
    pub fn bug(bug: Bug) -> Planted {
        Planted { bug: Some(bug) }
    }

    /// Whether `bug` is planted.
    pub fn has(&self, bug: Bug) -> bool {
        #[cfg(feature = "planted")]
        {
            self.bug == Some(bug)
        }
        #[cfg(not(feature = "planted"))]
        {
            let _ = bug;
            false
        }
    }
}
