//! How an ack-stream message waits in an outbox and travels: packed in four 64-bit words, so a
//! transmission's items take two thirds of the room they would as an enum of the messages
//! (every item is written once and read at least once, and these reads and writes of memory
//! are a large part of what acking costs the simulator per tuple).
//!
//! An [`Item`] holds the tree id, the XOR value, the receiving task with the tree's number at
//! its acker, and whom a completion is for with the spout tuple's number at its spout:
//! - `to`: the acker task id in the top 24 bits (`NO_TASK` for a completion) and the tree's
//!   number at the acker in the low 40;
//! - `from`: whom the tree's init named (a partition, `COORDINATOR`, or `NO_TASK` for an
//!   ack) in the top 24 bits and the spout tuple's number at its spout in the low 40.
//!
//! Invariant: decoding gives back exactly the message encoded, for acker task ids and partitions
//! below 2²⁴ − 2 (the scenario limits keep them far below) and numbers below 2⁴⁰ − 1 or equal to
//! `u64::MAX` (no number): a tree's numbers count the tuples of one spout or one acker, far
//! fewer than 2⁴⁰ in any run the simulator can carry out.

use super::acker::AckerIn;
use super::msg::Target;
use super::ring::Handle;

/// Bits of a number.
const NUMBER_BITS: u32 = 40;
/// The low 40 bits; also the code of no number (`u64::MAX`).
const NUMBER_MASK: u64 = (1 << NUMBER_BITS) - 1;
/// The code of no task: a completion's acker, an ack's spout.
const NO_TASK: u64 = (1 << 24) - 1;
/// The code of Trident's coordinator.
const COORDINATOR: u64 = (1 << 24) - 2;

/// An init or ack on its way to acker task `acker`, with its tree's handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToAcker {
    /// The acker task.
    pub acker: u32,
    /// The message.
    pub m: AckerIn<Target>,
    /// The tree's handle.
    pub h: Handle,
}

/// A completion on its way: tree `root` completed, for its spout (the spout tuple's number
/// there `seq`) or the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// Whom the tree's init named.
    pub to: Target,
    /// The tree.
    pub root: u64,
    /// The spout tuple's number at its spout.
    pub seq: u64,
}

/// An acker task and a tree's number there, packed in one word as an item's `to` is: what a
/// tuple carries to be acked, so the bolt need not hash its tree id again to find the acker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckerRef(u64);

impl AckerRef {
    /// Tree number `number` at acker task `acker`.
    #[inline(always)]
    pub fn new(acker: u32, number: u64) -> AckerRef {
        AckerRef(pack(u64::from(acker), number))
    }
    /// The acker task.
    #[inline(always)]
    pub fn acker(self) -> u32 {
        code(self.0) as u32
    }
    /// The tree's number there.
    #[inline(always)]
    pub fn number(self) -> u64 {
        number(self.0)
    }
}

/// One ack-stream message, packed (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    root: u64,
    val: u64,
    to: u64,
    from: u64,
}

#[inline(always)]
fn pack(code: u64, n: u64) -> u64 {
    debug_assert!(code <= NO_TASK, "task code {code} above 24 bits");
    let n = if n == u64::MAX {
        NUMBER_MASK
    } else {
        debug_assert!(n < NUMBER_MASK, "number {n} above 40 bits");
        n
    };
    (code << NUMBER_BITS) | n
}

#[inline(always)]
fn number(w: u64) -> u64 {
    match w & NUMBER_MASK {
        NUMBER_MASK => u64::MAX,
        n => n,
    }
}

#[inline(always)]
fn code(w: u64) -> u64 {
    w >> NUMBER_BITS
}

#[inline(always)]
fn target_code(t: Target) -> u64 {
    match t {
        Target::Spout(p) => u64::from(p),
        Target::Coordinator => COORDINATOR,
    }
}

#[inline(always)]
fn target(code: u64) -> Target {
    match code {
        COORDINATOR => Target::Coordinator,
        p => Target::Spout(p as u32),
    }
}

impl Item {
    /// An init or ack.
    #[inline(always)]
    pub fn acker(m: ToAcker) -> Item {
        let (root, val, from) = match m.m {
            AckerIn::Init { root, val, spout } => (root, val, pack(target_code(spout), m.h.spout)),
            AckerIn::Ack { root, val } => (root, val, pack(NO_TASK, m.h.spout)),
        };
        Item {
            root,
            val,
            to: pack(u64::from(m.acker), m.h.acker),
            from,
        }
    }

    /// A completion.
    #[inline(always)]
    pub fn done(d: Done) -> Item {
        Item {
            root: d.root,
            val: 0,
            to: pack(NO_TASK, u64::MAX),
            from: pack(target_code(d.to), d.seq),
        }
    }

    /// The acker task an init or ack is for; `None` for a completion.
    #[inline(always)]
    pub fn acker_task(&self) -> Option<u32> {
        match code(self.to) {
            NO_TASK => None,
            a => Some(a as u32),
        }
    }

    /// The init or ack, if it is one.
    #[inline(always)]
    pub fn as_acker(&self) -> Option<ToAcker> {
        let acker = self.acker_task()?;
        let (root, val) = (self.root, self.val);
        let m = match code(self.from) {
            NO_TASK => AckerIn::Ack { root, val },
            c => AckerIn::Init {
                root,
                val,
                spout: target(c),
            },
        };
        let h = Handle {
            acker: number(self.to),
            spout: number(self.from),
        };
        Some(ToAcker { acker, m, h })
    }

    /// The completion, if it is one.
    #[inline(always)]
    pub fn as_done(&self) -> Option<Done> {
        match self.acker_task() {
            Some(_) => None,
            None => Some(Done {
                to: target(code(self.from)),
                root: self.root,
                seq: number(self.from),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_comes_back_exactly_as_it_was_packed() {
        let big = NUMBER_MASK - 1;
        let handles = [
            Handle::NONE,
            Handle { acker: 0, spout: 0 },
            Handle { acker: big, spout: 7 },
            Handle {
                acker: 3,
                spout: u64::MAX,
            },
        ];
        let targets = [Target::Spout(0), Target::Spout(4095), Target::Coordinator];
        for h in handles {
            for acker in [0, 20, 17_383] {
                let (root, val) = (u64::MAX, 0x8000_0000_0000_0001);
                let ack = ToAcker {
                    acker,
                    m: AckerIn::Ack { root, val },
                    h,
                };
                assert_eq!(Item::acker(ack).as_acker(), Some(ack));
                assert_eq!(Item::acker(ack).as_done(), None);
                assert_eq!(Item::acker(ack).acker_task(), Some(acker));
                for spout in targets {
                    let init = ToAcker {
                        acker,
                        m: AckerIn::Init { root, val, spout },
                        h,
                    };
                    assert_eq!(Item::acker(init).as_acker(), Some(init));
                }
            }
        }
        for to in targets {
            for seq in [0, big, u64::MAX] {
                let d = Done { to, root: 12, seq };
                assert_eq!(Item::done(d).as_done(), Some(d));
                assert_eq!(Item::done(d).as_acker(), None);
            }
        }
    }

    #[test]
    fn an_acker_and_a_number_come_back_as_they_were_packed() {
        for (acker, n) in [(0, 0), (17_383, NUMBER_MASK - 1), (5, u64::MAX)] {
            let r = AckerRef::new(acker, n);
            assert_eq!((r.acker(), r.number()), (acker, n));
        }
    }

    #[test]
    fn an_item_is_four_words() {
        assert_eq!(std::mem::size_of::<Item>(), 32);
    }
}
