//! Acknowledgements from stateful tasks to every live source (a replaying scheme telling the
//! upstreams what they may drop from their logs): one message of the modelled system per
//! (task, source) pair. They travel as ack rounds, as bare watermarks travel as rounds
//! ([`super::watermarks`]).
//!
//! An ack round gathers every acknowledgement sent at one instant while the set of live sources
//! stays the same, each a payload shared by all its receivers. An acknowledgement costs at most
//! two transmissions ([`AckRounds::send`]), together counting one message and [`ACK_BYTES`] per
//! live source, both dropped by the kernel if the sender's node is dead (so an acknowledgement
//! from a dead node counts nothing and reaches no one): one to one source on another node,
//! counting those to every source on other nodes, which occupies the sender's NIC as long as
//! their bytes would ([`AckMsg::Wire`], its arrival means nothing), and one to the sender's own
//! node, counting those to the sources there (no NIC time, as for any message within a node),
//! which arrives at once and marks the acknowledgement as sent ([`AckMsg::Left`]). The round
//! reaches the sources one network latency after it opened ([`AckWire::arrive`]); the sources
//! of a node dead on arrival are left out: a node timer per node of the round's sources
//! ([`AckWire::reached`]), which dies with its node, fires just before. So a round costs at most
//! two kernel events per acknowledgement and one per node of its sources, plus one, where it
//! was one per (task, source) pair; the work at arrival is, per acknowledgement, a look at the
//! logs that hold something.
//!
//! What differs from one message per pair: every acknowledgement of a round arrives one latency
//! after it was sent, not behind what its sender's NIC still had to send nor behind the other
//! acknowledgements of the same sender (a few tens of nanoseconds each); the NIC time of one
//! sender's acknowledgements is that of their bytes sent at once (rounded to the nanosecond
//! once, not per acknowledgement).
//!
//! Invariants:
//! - a round's receivers are the sources live when it opened: the owner closes the open round
//!   ([`AckRounds::close`]) whenever sources are lost or placed again, so an acknowledgement
//!   always goes to exactly the sources live when it is sent, on the nodes they were on;
//! - a receiver applies an acknowledgement only if its node was alive when the round arrived
//!   (with the incarnation it had when the round opened: a node timer dies with its node), and
//!   the owner applies nothing to a source lost by then, as a message to it would be ignored;
//! - acknowledgements only let a source drop a prefix of a log, up to a point that never goes
//!   back, so the order in which a round applies them is immaterial.

use super::dataflow::Source;
use super::{Msg, Tag};
use ftsim_sim::engine::{Ctx, Traffic};
use ftsim_sim::{NodeId, SimDuration, SimTime};
use std::collections::BTreeMap;

/// Bytes of one acknowledgement of the modelled system.
pub const ACK_BYTES: u64 = 64;

/// Names an acknowledgement on its way: its round and its place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckId {
    /// The round.
    pub round: u64,
    /// Its index in the round.
    pub index: u32,
}

/// The transmissions of an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMsg {
    /// To the sender's own node, counting the acknowledgements to the sources there: it arrives
    /// at once if the sender was alive.
    Left(AckId),
    /// To one source on another node, counting the acknowledgements to every source on other
    /// nodes: it stands for their time on the sender's NIC, and its arrival means nothing.
    Wire,
}

/// How a policy's messages and tags carry an ack round's events.
pub struct AckWire<PM, PT> {
    /// A transmission of an acknowledgement.
    pub msg: fn(AckMsg) -> PM,
    /// The round reached this node alive.
    pub reached: fn(u64, NodeId) -> PT,
    /// The round arrives.
    pub arrive: fn(u64) -> PT,
}

/// One acknowledgement in a round.
#[derive(Debug)]
struct Entry<A> {
    /// What it says.
    ack: A,
    /// Its transmission left a live node.
    sent: bool,
}

/// A round on its way.
#[derive(Debug)]
struct Round<A> {
    /// Its receivers: the live sources when it opened, as (node, partition), sorted.
    to: Vec<(NodeId, u32)>,
    /// The acknowledgements, in the order sent.
    acks: Vec<Entry<A>>,
    /// Nodes of its receivers that were alive when it arrived.
    reached: Vec<NodeId>,
}

/// The ack rounds of a policy whose acknowledgements say `A`.
#[derive(Debug)]
pub struct AckRounds<A> {
    latency: SimDuration,
    next: u64,
    /// The round still taking acknowledgements: the instant it opened and its number.
    open: Option<(SimTime, u64)>,
    pending: BTreeMap<u64, Round<A>>,
}

impl<A> AckRounds<A> {
    /// No round yet, on a network of this latency.
    pub fn new(latency: SimDuration) -> Self {
        AckRounds {
            latency,
            next: 0,
            open: None,
            pending: BTreeMap::new(),
        }
    }

    /// Sources were lost or placed again: the next acknowledgement opens a new round.
    pub fn close(&mut self) {
        self.open = None;
    }

    /// Sends `ack` from `from` to every live source, as part of the round open at this instant
    /// (opening one if needed). Nothing is sent with no live source.
    pub fn send<PM, PT>(
        &mut self,
        sources: &[Source],
        from: NodeId,
        ack: A,
        wire: &AckWire<PM, PT>,
        cx: &mut Ctx<'_, Msg<PM>, Tag<PT>>,
    ) {
        let now = cx.now();
        let round = match self.open {
            Some((at, r)) if at == now && self.pending.contains_key(&r) => r,
            _ => match self.open_round(sources, wire, cx) {
                Some(r) => r,
                None => return,
            },
        };
        let Some(r) = self.pending.get_mut(&round) else {
            return;
        };
        let index = r.acks.len() as u32;
        r.acks.push(Entry { ack, sent: false });
        // The acknowledgements to sources on other nodes occupy the sender's NIC, as one
        // transmission to one of them; those to its own node do not.
        let local = r.to.partition_point(|(n, _)| *n < from)..r.to.partition_point(|(n, _)| *n <= from);
        let remote = (r.to.len() - local.len()) as u32;
        let local = local.len() as u32;
        let ft = Traffic::FaultTolerance;
        if let Some(&(other, _)) = r.to.iter().find(|(n, _)| *n != from) {
            let msg = Msg::Policy((wire.msg)(AckMsg::Wire));
            cx.send_many(from, other, ACK_BYTES * u64::from(remote), msg, ft, remote);
        }
        let msg = Msg::Policy((wire.msg)(AckMsg::Left(AckId { round, index })));
        cx.send_many(from, from, ACK_BYTES * u64::from(local), msg, ft, local);
    }

    /// Opens a round to the live sources, if any: it reaches each of their nodes, unless that
    /// node is dead, then arrives.
    fn open_round<PM, PT>(
        &mut self,
        sources: &[Source],
        wire: &AckWire<PM, PT>,
        cx: &mut Ctx<'_, Msg<PM>, Tag<PT>>,
    ) -> Option<u64> {
        let mut to: Vec<(NodeId, u32)> = sources
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.lost)
            .map(|(p, s)| (s.reader.node, p as u32))
            .collect();
        if to.is_empty() {
            return None;
        }
        let round = self.next;
        self.next += 1;
        to.sort_unstable();
        let mut last = None;
        for &(node, _) in &to {
            if last != Some(node) {
                cx.set_node_timer(node, self.latency, Tag::Policy((wire.reached)(round, node)));
                last = Some(node);
            }
        }
        cx.set_timer(self.latency, Tag::Policy((wire.arrive)(round)));
        self.pending.insert(
            round,
            Round {
                to,
                acks: Vec::new(),
                reached: Vec::new(),
            },
        );
        self.open = Some((cx.now(), round));
        Some(round)
    }

    /// One of the round's transmissions arrived: the one to the sender's own node says the
    /// acknowledgement left a live node; the one across the network only occupied the NIC.
    pub fn message(&mut self, msg: AckMsg) {
        if let AckMsg::Left(id) = msg {
            self.sent(id);
        }
    }

    /// The transmission of acknowledgement `id` left a live node.
    fn sent(&mut self, id: AckId) {
        if let Some(e) = self
            .pending
            .get_mut(&id.round)
            .and_then(|r| r.acks.get_mut(id.index as usize))
        {
            e.sent = true;
        }
    }

    /// Round `round` reached `node`, alive.
    pub fn reached(&mut self, round: u64, node: NodeId) {
        if let Some(r) = self.pending.get_mut(&round) {
            r.reached.push(node);
        }
    }

    /// Round `round` arrives: the acknowledgements that left a live node, for the sources it
    /// reached (whose owner applies each acknowledgement to each source, in any order).
    pub fn arrive(&mut self, round: u64) -> Option<Arrived<A>> {
        if self.open.is_some_and(|(_, r)| r == round) {
            self.open = None;
        }
        let mut r = self.pending.remove(&round)?;
        r.reached.sort_unstable();
        let acks: Vec<A> = r.acks.into_iter().filter(|e| e.sent).map(|e| e.ack).collect();
        let mut parts: Vec<u32> =
            r.to.iter()
                .filter(|(node, _)| r.reached.binary_search(node).is_ok())
                .map(|(_, p)| *p)
                .collect();
        parts.sort_unstable();
        (!acks.is_empty() && !parts.is_empty()).then_some(Arrived { parts, acks })
    }
}

/// What an ack round delivers.
#[derive(Debug)]
pub struct Arrived<A> {
    /// The sources it reached, ascending.
    pub parts: Vec<u32>,
    /// The acknowledgements that left a live node, in the order sent.
    pub acks: Vec<A>,
}
