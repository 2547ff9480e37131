//! What the kernel queues: its own events, each stamped with what decides on arrival whether it
//! still counts (the receiver's or owner's epoch, the scope's incarnation).
//!
//! Invariant: a queued event of a scope-less engine (message and tag `()`) takes 24 bytes, so it
//! moves with its time in the queue (see [`crate::queue::INLINE_BYTES`]).

use crate::ids::{NodeId, TimerId, WorkId};

/// An event in the kernel's queue.
pub(crate) enum Internal<M, T> {
    Deliver {
        from: NodeId,
        to: NodeId,
        epoch: u32,
        inc: u32,
        msg: M,
    },
    Timer {
        id: TimerId,
        inc: u32,
        tag: T,
        owner: Owner,
    },
    WorkEnd {
        node: NodeId,
        epoch: u32,
        core: u32,
        id: WorkId,
    },
    StorageEnd {
        node: NodeId,
        epoch: u32,
        inc: u32,
        tag: T,
    },
    Fault(usize),
    StragglerEnd(NodeId),
    Detect(NodeId),
    SpareUp {
        failed: NodeId,
        node: NodeId,
    },
    RestartUp(NodeId),
    NoSpare {
        failed: NodeId,
    },
    InputEnd,
    Sample(usize),
}

/// The node a timer dies with and that node's epoch when the timer was set; [`Owner::NONE`] for a
/// timer no node owns. Eight bytes where an `Option<(NodeId, u32)>` takes twelve: that keeps a
/// queued event of a scope-less engine at 24 bytes.
#[derive(Clone, Copy)]
pub(crate) struct Owner {
    pub(crate) node: NodeId,
    pub(crate) epoch: u32,
}

impl Owner {
    /// No owner (a node id no cluster reaches).
    pub(crate) const NONE: Owner = Owner {
        node: NodeId(u32::MAX),
        epoch: 0,
    };
    pub(crate) fn get(self) -> Option<(NodeId, u32)> {
        (self.node != Owner::NONE.node).then_some((self.node, self.epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::Internal;

    #[test]
    fn a_queued_event_of_a_scopeless_engine_takes_24_bytes() {
        assert_eq!(std::mem::size_of::<Internal<(), ()>>(), 24);
    }
}
