//! Acknowledgements from stateful tasks to every live source (a replaying scheme telling the
//! upstreams what they may drop from their logs): one message of the modelled system per
//! (task, source) pair. They travel as ack rounds, as bare watermarks travel as rounds
//! ([`super::watermarks`]).
//!
//! An ack round gathers every acknowledgement sent at one instant while the set of live sources
//! stays the same, each a payload shared by all its receivers. An acknowledgement costs at most
//! two transmissions ([`AckRounds::send`]), together counting one message and [`ACK_BYTES`] per
//! live source, both dropped by the kernel if the sender's node is dead (so an acknowledgement
//! from a dead node counts nothing and reaches no one):
//! - one to one source on another node, counting those to every source on other nodes, which
//!   occupies the sender's NIC as long as their bytes would ([`AckMsg::Wire`]; its arrival
//!   means nothing);
//! - one to the sender's own node, counting those to the sources there, which arrives at once,
//!   as any message within a node does, with no NIC time ([`AckMsg::Left`]): the sources there
//!   take the acknowledgement then ([`AckRounds::message`]), and it is marked as sent.
//!
//! The round reaches the sources on other nodes one network latency after it opened
//! ([`AckWire::arrive`], [`AckRounds::arrive`]); the sources of a node dead on arrival are left
//! out: a node timer per node of the round's sources ([`AckWire::reached`]), which dies with its
//! node, fires just before. So a round costs at most two kernel events per acknowledgement and
//! one per node of its sources, plus one, where it was one per (task, source) pair; the work at
//! arrival is, per acknowledgement, a look at the logs that hold something.
//!
//! What differs from one message per pair: every acknowledgement to another node arrives one
//! latency after it was sent, not behind what its sender's NIC still had to send nor behind the
//! sender's other acknowledgements (a few tens of nanoseconds each); the NIC time of one
//! sender's acknowledgements is that of their bytes sent at once (rounded to the nanosecond
//! once, not per acknowledgement).
//!
//! Invariants:
//! - a round's receivers are the sources live when it opened: the owner closes the open round
//!   ([`AckRounds::close`]) whenever sources are lost or placed again, so an acknowledgement
//!   always goes to exactly the sources live when it is sent, on the nodes they were on;
//! - a source takes an acknowledgement at most once: from its own node's transmission if it is
//!   on the sender's node, else from the round, if its node was alive when the round arrived
//!   (with the incarnation it had when the round opened: a node timer dies with its node); a
//!   source lost by then takes nothing, as a message to it would be ignored;
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
    /// Its sender's node.
    from: NodeId,
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

impl<A> Round<A> {
    /// The receivers on `node`.
    fn on(&self, node: NodeId) -> &[(NodeId, u32)] {
        let from = self.to.partition_point(|(n, _)| *n < node);
        let to = self.to.partition_point(|(n, _)| *n <= node);
        &self.to[from..to]
    }
}

/// An acknowledgement taken at once by the sources on its sender's node.
#[derive(Debug)]
pub struct Local<'a, A> {
    /// The sources there, not lost, ascending.
    pub parts: Vec<u32>,
    /// What it says.
    pub ack: &'a A,
}

/// What an ack round delivers across the network.
#[derive(Debug)]
pub struct Arrived<A> {
    /// Per source: the node it was on if it takes the round (reached alive, not lost since).
    takes: Vec<Option<NodeId>>,
    /// How many sources take it, in all and per node (ascending).
    takers: usize,
    per_node: Vec<(NodeId, usize)>,
    /// The acknowledgements that left a live node, with their sender's node, in the order sent.
    pub acks: Vec<(NodeId, A)>,
}

impl<A> Arrived<A> {
    /// Whether source `part` takes an acknowledgement sent from `from` (those on the sender's
    /// node took it when it was sent).
    pub fn hears(&self, part: u32, from: NodeId) -> bool {
        self.takes[part as usize].is_some_and(|n| n != from)
    }

    /// Whether any source takes an acknowledgement sent from `from`.
    pub fn any_hears(&self, from: NodeId) -> bool {
        let there = match self.per_node.binary_search_by_key(&from, |(n, _)| *n) {
            Ok(i) => self.per_node[i].1,
            Err(_) => 0,
        };
        self.takers > there
    }
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
        r.acks.push(Entry { from, ack, sent: false });
        let local = r.on(from).len() as u32;
        let remote = r.to.len() as u32 - local;
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

    /// One of an acknowledgement's transmissions arrived. The one to the sender's own node
    /// says it left a live node: the sources there take it now (those not lost since).
    pub fn message(&mut self, msg: AckMsg, sources: &[Source]) -> Option<Local<'_, A>> {
        let AckMsg::Left(id) = msg else { return None };
        let r = self.pending.get_mut(&id.round)?;
        let e = r.acks.get_mut(id.index as usize)?;
        e.sent = true;
        let e = &r.acks[id.index as usize];
        let parts: Vec<u32> = r
            .on(e.from)
            .iter()
            .map(|(_, p)| *p)
            .filter(|p| !sources[*p as usize].lost)
            .collect();
        (!parts.is_empty()).then_some(Local { parts, ack: &e.ack })
    }

    /// Round `round` reached `node`, alive.
    pub fn reached(&mut self, round: u64, node: NodeId) {
        if let Some(r) = self.pending.get_mut(&round) {
            r.reached.push(node);
        }
    }

    /// Round `round` arrives: the acknowledgements that left a live node, for the sources on
    /// other nodes it reached that are not lost since.
    pub fn arrive(&mut self, round: u64, sources: &[Source]) -> Option<Arrived<A>> {
        if self.open.is_some_and(|(_, r)| r == round) {
            self.open = None;
        }
        let mut r = self.pending.remove(&round)?;
        r.reached.sort_unstable();
        let acks: Vec<(NodeId, A)> = r.acks.into_iter().filter(|e| e.sent).map(|e| (e.from, e.ack)).collect();
        let mut takes = vec![None; sources.len()];
        let mut per_node: Vec<(NodeId, usize)> = Vec::new();
        for &(node, p) in &r.to {
            if r.reached.binary_search(&node).is_ok() && !sources[p as usize].lost {
                takes[p as usize] = Some(node);
                match per_node.last_mut() {
                    Some((n, k)) if *n == node => *k += 1,
                    _ => per_node.push((node, 1)),
                }
            }
        }
        let takers = per_node.iter().map(|(_, k)| k).sum();
        (takers > 0 && !acks.is_empty()).then_some(Arrived {
            takes,
            takers,
            per_node,
            acks,
        })
    }
}
