//! The contract between the kernel and a fault-tolerance engine.
//!
//! An engine is a state machine. The kernel hands it one [`Event`] at a time with a [`Ctx`]; the
//! engine updates its own state and answers with commands issued through the `Ctx` (send, compute,
//! set a timer, write to storage, emit to the sink, report a milestone). It never touches the
//! event queue, the cluster or the sink directly, and it learns of a crash only through
//! [`Event::NodeFailed`], after the detection delay: until then messages to the dead node vanish
//! and work queued there never completes, exactly as in a real cluster.
//!
//! Commands take effect after the handler returns, in the order issued. Ids returned by the `Ctx`
//! (timers, work) are valid at once, so an engine can remember them before the kernel acts. (A
//! timer whose tag names no scope, issued before any other command of its handler, is queued at
//! once: nothing can tell, since it is stamped 0 either way and precedes everything else the
//! handler queues.)
//!
//! **Incarnations.** A task that is lost and started again, a job that restarts, a coordinator that
//! comes back: each begins a new incarnation, and nothing issued for an older one may reach the
//! engine. An engine names what has incarnations ([`Engine::Scope`]: a task, the job, the master),
//! says which scope a message or tag belongs to ([`Scoped::scope`]) and how many incarnations a
//! scope has had ([`Engine::incarnation`]). The kernel stamps every message, timer, work item and
//! storage operation with its scope's incarnation when it carries out the command, right after the
//! handler returns, and drops the event when it comes back under another one (counted in
//! `stale_dropped`). So a handler that ends an incarnation issues nothing more for the old one:
//! whatever it issues belongs to the new. Engines never compare attempts or epochs by hand.
//! Events that name no scope (`None`) are always delivered; node-owned timers and all work,
//! messages and storage operations of a node also die with the node itself (its crash).

use crate::ids::{NodeId, PartitionId, TimerId, TxnId, WorkId};
use crate::job::{Output, Semantics};
use crate::kernel::{Internal, Owner};
pub use crate::outcome::{Cell, Flow, Table, TableChart};
use crate::queue::EventQueue;
use crate::rng::SimRng;
use crate::scenario::Scenario;
use crate::time::{SimDuration, SimTime};
use crate::workload::LogReader;

/// What the kernel tells an engine.
#[derive(Debug)]
pub enum Event<M, T> {
    /// A network message arrived at `to`.
    Message {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Payload.
        msg: M,
    },
    /// A timer fired (never delivered if cancelled).
    Timer {
        /// The id [`Ctx::set_timer`] returned.
        id: TimerId,
        /// The engine's tag.
        tag: T,
    },
    /// CPU work finished on a live node.
    WorkDone {
        /// Where it ran.
        node: NodeId,
        /// The id [`Ctx::compute`] returned.
        id: WorkId,
        /// The engine's tag.
        tag: T,
    },
    /// A durable-storage read or write finished (never delivered if the node died meanwhile).
    StorageDone {
        /// The node that issued it.
        node: NodeId,
        /// The engine's tag.
        tag: T,
    },
    /// The failure detector reports `node` dead.
    NodeFailed {
        /// The dead node.
        node: NodeId,
    },
    /// A spare requested with [`Ctx::request_spare`] is ready, or `None` if no spare is left.
    SpareReady {
        /// The failed node the spare was asked for.
        failed: NodeId,
        /// The new node, empty and alive.
        node: Option<NodeId>,
    },
    /// A node restarted with [`Ctx::restart_node`] is back, empty.
    NodeRestarted {
        /// The node.
        node: NodeId,
    },
    /// The input has ended: no record arrives after this instant.
    InputEnded,
}

/// Which traffic class a message belongs to, for the cost columns of the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    /// Records and watermarks the job needs anyway.
    Data,
    /// Messages that exist only for fault tolerance (acks, barriers, replication, replays).
    FaultTolerance,
}

/// A command issued by an engine; the kernel carries it out after the handler returns. Fields
/// mirror the [`Ctx`] methods that issue them.
#[derive(Debug)]
#[allow(missing_docs)]
pub enum Command<M, T> {
    /// Send `msg` of `bytes` from `from` to `to`.
    Send {
        from: NodeId,
        to: NodeId,
        bytes: u64,
        msg: M,
        traffic: Traffic,
        /// How many of the modelled system's messages this one carries (several acks sent
        /// together, say); counted in `messages` and `ft_messages`.
        count: u32,
    },
    /// Run `work` (nominal CPU time at speed 1) on a core of `node`.
    Compute {
        node: NodeId,
        id: WorkId,
        work: SimDuration,
        tag: T,
    },
    /// Drop queued or running work.
    Cancel { node: NodeId, id: WorkId },
    /// Fire `tag` at `at`.
    Timer {
        id: TimerId,
        at: SimTime,
        tag: T,
        owner: Option<NodeId>,
    },
    /// Forget a timer.
    CancelTimer { id: TimerId },
    /// Write `bytes` to durable storage from `node`.
    StorageWrite {
        node: NodeId,
        bytes: u64,
        checkpoint: bool,
        tag: T,
    },
    /// Read `bytes` from durable storage into `node`.
    StorageRead { node: NodeId, bytes: u64, tag: T },
    /// Hand outputs to the sink from `node`, in a transaction or not.
    Emit {
        node: NodeId,
        outputs: Vec<Output>,
        txn: Option<TxnId>,
    },
    /// Make a transaction's outputs visible.
    Commit { txn: TxnId, node: Option<NodeId> },
    /// Discard a transaction's outputs.
    Abort { txn: TxnId },
    /// Ask for a spare node to replace `failed`.
    RequestSpare { failed: NodeId },
    /// Bring a dead node back, empty, after the restart delay.
    RestartNode { node: NodeId },
    /// The engine has read partition `part` up to `offset` (for the backlog series).
    Progress { part: PartitionId, offset: u64 },
    /// A line for events.csv.
    Log {
        kind: &'static str,
        node: Option<NodeId>,
        detail: String,
    },
    /// Every task lost with one failure of `node` runs again: the node's oldest failure not yet
    /// restored is. An engine reports once per failure it was told of.
    Restored { node: NodeId },
    /// `n` records went where `flow` says.
    Records { flow: Flow, n: u64 },
}

/// The engine's window on the world during one event.
pub struct Ctx<'a, M, T> {
    pub(crate) now: SimTime,
    /// The scenario being run.
    pub scenario: &'a Scenario,
    /// The durable input log.
    pub log: &'a LogReader<'a>,
    /// The job's semantics.
    pub sem: &'a Semantics,
    /// The engine's own random stream.
    pub rng: &'a mut SimRng,
    pub(crate) next_id: &'a mut u64,
    pub(crate) commands: Vec<Command<M, T>>,
    /// The kernel's queue: a timer whose tag names no scope, issued before any other command of
    /// the handler, goes straight in (see [`Ctx::set_timer_at`]).
    pub(crate) queue: &'a mut EventQueue<Internal<M, T>>,
    /// Whether a tag names no scope (its stamp is 0 whenever it is taken).
    pub(crate) unscoped: fn(&T) -> bool,
}

impl<'a, M, T> Ctx<'a, M, T> {
    fn fresh(&mut self) -> u64 {
        *self.next_id += 1;
        *self.next_id
    }
    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }
    /// Sends a data message.
    pub fn send(&mut self, from: NodeId, to: NodeId, bytes: u64, msg: M) {
        self.commands.push(Command::Send {
            from,
            to,
            bytes,
            msg,
            traffic: Traffic::Data,
            count: 1,
        });
    }
    /// Sends a message that exists only for fault tolerance (counted in ft_messages/ft_bytes).
    pub fn send_ft(&mut self, from: NodeId, to: NodeId, bytes: u64, msg: M) {
        self.commands.push(Command::Send {
            from,
            to,
            bytes,
            msg,
            traffic: Traffic::FaultTolerance,
            count: 1,
        });
    }
    /// Sends, as one transmission, `count` messages of the modelled system that travel together
    /// between the same nodes (their bytes summed in `bytes`).
    pub fn send_many(&mut self, from: NodeId, to: NodeId, bytes: u64, msg: M, traffic: Traffic, count: u32) {
        self.commands.push(Command::Send {
            from,
            to,
            bytes,
            msg,
            traffic,
            count,
        });
    }
    /// Queues `work` of nominal CPU time on `node`; [`Event::WorkDone`] follows if the node lives.
    pub fn compute(&mut self, node: NodeId, work: SimDuration, tag: T) -> WorkId {
        let id = WorkId(self.fresh());
        self.commands.push(Command::Compute { node, id, work, tag });
        id
    }
    /// Drops queued or running work; its `WorkDone` will not come.
    pub fn cancel(&mut self, node: NodeId, id: WorkId) {
        self.commands.push(Command::Cancel { node, id });
    }
    /// Fires `tag` after `after`.
    pub fn set_timer(&mut self, after: SimDuration, tag: T) -> TimerId {
        let at = self.now + after;
        self.set_timer_at(at, tag)
    }
    /// Fires `tag` at `at` (now, if `at` is past).
    pub fn set_timer_at(&mut self, at: SimTime, tag: T) -> TimerId {
        let id = TimerId(self.fresh());
        let at = at.max(self.now);
        // Straight into the queue when that is what the command would do after the handler:
        // nothing issued before it is still waiting (so the queue's push order stays the order
        // issued) and its tag names no scope (so its stamp, taken now or after the handler, is 0).
        if self.commands.is_empty() && (self.unscoped)(&tag) {
            self.queue.push(
                at,
                Internal::Timer {
                    id,
                    inc: 0,
                    tag,
                    owner: Owner::NONE,
                },
            );
        } else {
            self.commands.push(Command::Timer {
                id,
                at,
                tag,
                owner: None,
            });
        }
        id
    }
    /// Fires `tag` after `after` on `node`'s clock: the timer dies with the node (a crash before it
    /// fires cancels it), as a coordinator's own timers do.
    pub fn set_node_timer(&mut self, node: NodeId, after: SimDuration, tag: T) -> TimerId {
        let at = self.now + after;
        self.set_node_timer_at(node, at, tag)
    }
    /// Fires `tag` at `at` (now, if past) on `node`'s clock; dies with the node like
    /// [`Ctx::set_node_timer`].
    pub fn set_node_timer_at(&mut self, node: NodeId, at: SimTime, tag: T) -> TimerId {
        let id = TimerId(self.fresh());
        self.commands.push(Command::Timer {
            id,
            at: at.max(self.now),
            tag,
            owner: Some(node),
        });
        id
    }
    /// Cancels a timer; it will not fire.
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.commands.push(Command::CancelTimer { id });
    }
    /// Writes to durable storage; `checkpoint` counts the bytes in checkpoint_bytes.
    pub fn storage_write(&mut self, node: NodeId, bytes: u64, checkpoint: bool, tag: T) {
        self.commands.push(Command::StorageWrite {
            node,
            bytes,
            checkpoint,
            tag,
        });
    }
    /// Reads from durable storage.
    pub fn storage_read(&mut self, node: NodeId, bytes: u64, tag: T) {
        self.commands.push(Command::StorageRead { node, bytes, tag });
    }
    /// Hands outputs to the sink from `node` (dropped if the node is dead). With a transactional
    /// sink and `txn = Some`, they become visible at [`Ctx::commit`]; otherwise at once.
    pub fn emit(&mut self, node: NodeId, outputs: Vec<Output>, txn: Option<TxnId>) {
        if !outputs.is_empty() {
            self.commands.push(Command::Emit { node, outputs, txn });
        }
    }
    /// Commits a sink transaction.
    pub fn commit(&mut self, txn: TxnId) {
        self.commands.push(Command::Commit { txn, node: None });
    }
    /// Commits a sink transaction on behalf of `node` (a coordinator): dropped if the node is dead,
    /// since a dead coordinator commits nothing.
    pub fn commit_from(&mut self, node: NodeId, txn: TxnId) {
        self.commands.push(Command::Commit { txn, node: Some(node) });
    }
    /// Aborts a sink transaction.
    pub fn abort(&mut self, txn: TxnId) {
        self.commands.push(Command::Abort { txn });
    }
    /// Asks for a spare node to replace `failed`: [`Event::SpareReady`] follows, naming `failed`.
    pub fn request_spare(&mut self, failed: NodeId) {
        self.commands.push(Command::RequestSpare { failed });
    }
    /// Restarts a dead node: [`Event::NodeRestarted`] follows after the restart delay.
    pub fn restart_node(&mut self, node: NodeId) {
        self.commands.push(Command::RestartNode { node });
    }
    /// Reports how far partition `part` has been read (drives the backlog series).
    pub fn progress(&mut self, part: PartitionId, offset: u64) {
        self.commands.push(Command::Progress { part, offset });
    }
    /// Adds a line to events.csv.
    pub fn log_event(&mut self, kind: &'static str, node: Option<NodeId>, detail: impl Into<String>) {
        self.commands.push(Command::Log {
            kind,
            node,
            detail: detail.into(),
        });
    }
    /// Reports that every task lost with one failure of `node` runs again (the `restored`
    /// instant of the node's oldest failure not yet restored): once per failure told of.
    pub fn restored(&mut self, node: NodeId) {
        self.commands.push(Command::Restored { node });
    }
    /// Accounts for `n` records (the run's ledger: read, filtered, applied, dropped and why).
    pub fn records(&mut self, flow: Flow, n: u64) {
        if n > 0 {
            self.commands.push(Command::Records { flow, n });
        }
    }
}

/// Says which incarnation scope a message or tag belongs to (see the module doc). Every type is
/// `Scoped<()>` with no scope, for engines that need none.
pub trait Scoped<S> {
    /// The scope whose incarnation this belongs to; `None`: delivered whatever happens.
    fn scope(&self) -> Option<S> {
        None
    }
}

impl<T> Scoped<()> for T {}

/// A fault-tolerance engine.
pub trait Engine {
    /// Network message payload.
    type Msg: Scoped<Self::Scope>;
    /// Tag carried by timers, work and storage completions.
    type Tag: Scoped<Self::Scope>;
    /// What has incarnations (a task, the job, the master); `()` for an engine without any.
    type Scope: Copy;
    /// How many incarnations `scope` has had; an event stamped with another number is stale.
    fn incarnation(&self, scope: Self::Scope) -> u32 {
        let _ = scope;
        0
    }
    /// Called once at time zero.
    fn start(&mut self, cx: &mut Ctx<'_, Self::Msg, Self::Tag>);
    /// Called for every event.
    fn handle(&mut self, ev: Event<Self::Msg, Self::Tag>, cx: &mut Ctx<'_, Self::Msg, Self::Tag>);
    /// True once every record of the ended input is processed and its output handed over for
    /// good: the kernel then stops the run without waiting for the drain limit.
    fn finished(&self) -> bool {
        false
    }
    /// How many records `msg` carries: the kernel accounts for them when it drops the message
    /// (its sender or receiver dead, or its incarnation stale).
    fn records_in(msg: &Self::Msg) -> u64 {
        let _ = msg;
        0
    }
    /// Why the engine no longer awaits `msg`, a message with records still on the wire to a live
    /// receiver when the run stops, or `None` if it would take it. An engine that forgot what a
    /// lost sender left on the wire (its successor sent those records again, or its scheme gives
    /// them up) may finish before they arrive: the kernel then drops their records for the
    /// reason given here. Asked only once the run has stopped; it cannot change the run.
    fn forgotten(&self, msg: &Self::Msg) -> Option<&'static str> {
        let _ = msg;
        None
    }
    /// Why the engine cannot finish, if it knows (for reports): a correct engine that is stuck
    /// for want of capacity says so, e.g. that no node is left to run on. `None` means it was
    /// still working, or is stuck without knowing why.
    fn stuck(&self) -> Option<String> {
        None
    }
    /// Extra tables for the output directory.
    fn tables(&self) -> Vec<Table> {
        Vec::new()
    }
}
