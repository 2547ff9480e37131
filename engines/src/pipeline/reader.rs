//! A source task's reading of its partition: what the log has, in units of at most `max_batch`
//! records, each costing the stateless chain's CPU on the source's node; when the log has nothing
//! new, a poll timer at the next arrival (or `poll_interval` from now, whichever is later).
//!
//! Invariants: at most one read runs at a time (`work`); at most one poll timer is armed
//! (`poll_armed`), and it is disarmed when it fires; every record below `next` has been read.

use ftsim_sim::engine::Ctx;
use ftsim_sim::{NodeId, PartitionId, SimDuration, WorkId};

/// Work and timer tags of the pipelined core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreTag {
    /// Source `part` looks at its partition again.
    Poll {
        /// The source's partition.
        part: u32,
    },
    /// Source `part` ran the stateless chain over offsets `from..to`.
    Read {
        /// The source's partition.
        part: u32,
        /// First offset.
        from: u64,
        /// One past the last offset.
        to: u64,
    },
    /// Stateful task `task` finished applying the batch at the head of its queue.
    Apply {
        /// The task.
        task: u32,
    },
    /// Sources send their watermark to the tasks that have not heard it.
    Watermarks,
    /// Round `round` of bare watermarks reaches its tasks.
    Arrive {
        /// The round.
        round: u64,
    },
    /// Round `round` reaches `node` (a timer that dies with the node, set just before the
    /// round's `Arrive`): the tasks of a node that is dead hear nothing of it.
    Reached {
        /// The round.
        round: u64,
        /// The node its tasks run on.
        node: NodeId,
    },
}

/// How sources read.
#[derive(Debug, Clone, Copy)]
pub struct ReadCfg {
    /// Most records one read takes.
    pub max_batch: u64,
    /// How often an idle source looks at its partition.
    pub poll_interval: SimDuration,
    /// CPU per record of the stateless chain.
    pub cost: SimDuration,
}

/// One source task's position in its partition.
#[derive(Debug, Clone)]
pub struct SourceReader {
    /// Where it runs.
    pub node: NodeId,
    /// First offset not yet read.
    pub next: u64,
    /// The read in progress.
    pub work: Option<WorkId>,
    /// A poll timer is pending.
    pub poll_armed: bool,
}

impl SourceReader {
    /// A reader on `node` that reads next at `next`.
    pub fn new(node: NodeId, next: u64) -> SourceReader {
        SourceReader {
            node,
            next,
            work: None,
            poll_armed: false,
        }
    }

    /// Starts a read of what partition `part` has (at most `limit` records, and `max_batch`), or
    /// arms a poll timer if it has nothing new. Does nothing while a read runs, or with a limit of
    /// zero (whoever set the limit polls again once it lifts).
    pub fn poll<M, T: From<CoreTag>>(&mut self, part: u32, cfg: &ReadCfg, limit: u64, cx: &mut Ctx<'_, M, T>) {
        if self.work.is_some() || limit == 0 {
            return;
        }
        let p = PartitionId(part);
        let avail = cx.log.available(p, cx.now());
        if avail > self.next {
            let to = avail.min(self.next + cfg.max_batch.min(limit));
            let tag = CoreTag::Read {
                part,
                from: self.next,
                to,
            };
            self.work = Some(cx.compute(self.node, cfg.cost.mul(to - self.next), tag.into()));
        } else if !self.poll_armed
            && let Some(t) = cx.log.arrival(p, self.next)
        {
            self.poll_armed = true;
            cx.set_timer_at(t.max(cx.now() + cfg.poll_interval), CoreTag::Poll { part }.into());
        }
    }

    /// The poll timer fired.
    pub fn disarm(&mut self) {
        self.poll_armed = false;
    }

    /// The read that ends at `to` finished.
    pub fn read_done(&mut self, to: u64) {
        self.work = None;
        self.next = to;
    }

    /// The source is lost with its node: no read runs, no timer counts, until it restarts.
    pub fn stop(&mut self) {
        self.work = None;
        self.poll_armed = false;
    }
}
