//! What the core sends and waits for: messages, timer/work/storage tags, the master's clocks, and
//! the incarnation scopes the kernel stamps them with.
//!
//! Invariant: everything the master issues for itself (its clocks, its metadata writes and
//! reads) belongs to [`Scope::Master`], so a master restart or a query restart (which begin a new
//! master incarnation) makes the kernel drop whatever the old incarnation left in flight. Task
//! traffic names no scope: attempts are tracked by their `live` flag, a scheduling state.

use super::model::AttemptId;
use ftsim_sim::NodeId;
use ftsim_sim::engine::Scoped;

/// A clock of the master: which periodic activity a tick drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The master closes a batch.
    Batch,
    /// The master looks for stragglers.
    Spec,
    /// The master handles a worker's failure.
    Failed(NodeId),
}

/// What has incarnations: the master, and whatever the policy numbers as its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The master: its clocks and its metadata reads and writes.
    Master,
    /// The policy's own scope number n (see [`super::Policy::incarnation`]).
    Policy(u32),
}

/// Network messages; `M` is the policy's own.
#[derive(Debug)]
pub enum Msg<M> {
    /// The master launches an attempt (to its worker).
    Launch(AttemptId),
    /// An input of an attempt arrives at its worker.
    Fetch(AttemptId),
    /// An attempt finished (to the master).
    Status(AttemptId),
    /// An attempt found an input gone when it started: a fetch failure (to the master).
    Failed(AttemptId),
    /// A message of the policy's.
    Policy(M),
}

/// Timer, work and storage tags; `T` is the policy's own.
#[derive(Debug)]
pub enum Tag<T> {
    /// A clock of the master fires.
    Timer(Clock),
    /// An attempt's CPU work.
    Work(AttemptId),
    /// An attempt's read of a checkpoint / state-store version.
    FetchRead(AttemptId),
    /// The batch's allocation / offsets are logged.
    MetaAlloc(u64),
    /// The batch's completion is logged.
    MetaDone(u64),
    /// The master read its metadata back.
    MetaRead,
    /// A timer or storage operation of the policy's.
    Policy(T),
}

impl<M: Scoped<Scope>> Scoped<Scope> for Msg<M> {
    fn scope(&self) -> Option<Scope> {
        match self {
            Msg::Policy(m) => m.scope(),
            Msg::Launch(_) | Msg::Fetch(_) | Msg::Status(_) | Msg::Failed(_) => None,
        }
    }
}

impl<T: Scoped<Scope>> Scoped<Scope> for Tag<T> {
    fn scope(&self) -> Option<Scope> {
        match self {
            Tag::Timer(Clock::Batch | Clock::Spec) | Tag::MetaAlloc(_) | Tag::MetaDone(_) | Tag::MetaRead => {
                Some(Scope::Master)
            }
            Tag::Policy(t) => t.scope(),
            Tag::Timer(Clock::Failed(_)) | Tag::Work(_) | Tag::FetchRead(_) => None,
        }
    }
}

/// A policy without messages of its own sends none.
impl Scoped<Scope> for std::convert::Infallible {}
