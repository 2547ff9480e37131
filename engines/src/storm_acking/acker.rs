//! Storm's acker: the XOR ledger that tells a spout when the tree of tuples born from one of its
//! tuples has been fully processed (the rotating map that gives tuples and ledger entries their
//! coarse timeout is in [`super::rotating`]).
//!
//! Every tuple sent is an edge with a random 64-bit id. When a tree is born the spout sends its
//! acker an *init* carrying the XOR of the edge ids of the tuples it emitted for it; every task
//! that acks a tuple sends an *ack* carrying the XOR of that tuple's edge id and the edge ids of
//! the tuples it anchored to it. Each id thus enters the ledger's value twice, once when it is
//! sent and once when it is acked, and the value is 0 exactly when every tuple of the tree has
//! been acked (a false zero before that has probability 2⁻⁶⁴). Acks and the init may arrive in
//! any order: the tree completes once its value is 0 *and* the init named the spout to tell.
//!
//! The ledger is a [`Ring`] indexed by the tree's number at its acker (the [`Handle`] its messages
//! carry beside the random id) and, for trees without a handle (Trident's) or that outlived the
//! ring's span, a [`Rotating`] map by tree id; a ring entry remembers the rotation it last heard
//! news in, and counts as in the newest bucket in that rotation, in the older one in the next,
//! and expired after.
//!
//! Invariants: an entry exists for every root the acker heard of and has not completed or
//! expired, in the ring or in the map, never both (a root's messages carry the same handle, and
//! a handle below the ring's start never enters it again); each root completes at most once (its
//! entry is removed when it does).

use super::ring::{Handle, Ring};
pub use super::rotating::Rotating;

/// What an acker hears, each one of Storm's ack-stream messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckerIn<S> {
    /// Tree `root` is born: `val` is the XOR of the edge ids the spout emitted for it, and
    /// `spout` is who to tell when it completes.
    Init {
        /// The spout tuple's id.
        root: u64,
        /// XOR of the edge ids sent.
        val: u64,
        /// Whom to tell.
        spout: S,
    },
    /// A tuple of tree `root` was acked: `val` is its edge id XOR the ids anchored to it.
    Ack {
        /// The spout tuple's id.
        root: u64,
        /// Partial checksum.
        val: u64,
    },
}

/// One pending tree: whom to tell, the XOR of the edges still outstanding, and the spout
/// tuple's number at its spout (from the init).
#[derive(Debug, Clone, Copy)]
struct Entry<S> {
    spout: Option<S>,
    val: u64,
    seq: u64,
}

impl<S: Copy> Entry<S> {
    const EMPTY: Entry<S> = Entry {
        spout: None,
        val: 0,
        seq: u64::MAX,
    };

    /// Takes in `val` (and, from an init, whom to tell); whether the tree completed.
    #[inline]
    fn take(&mut self, val: u64, spout: Option<(S, u64)>) -> bool {
        self.val ^= val;
        if let Some((s, seq)) = spout {
            self.spout = Some(s);
            self.seq = seq;
        }
        self.spout.is_some() && self.val == 0
    }
}

/// A ring slot: the tree's id and entry, and the rotation it last heard news in.
#[derive(Debug, Clone, Copy)]
struct Slot<S> {
    root: u64,
    entry: Entry<S>,
    turn: u64,
}

/// A completed tree: its id, whom to tell, and the spout tuple's number at its spout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed<S> {
    /// The tree's id.
    pub root: u64,
    /// Whom to tell.
    pub spout: S,
    /// The spout tuple's number at its spout ([`Handle::spout`] of the init).
    pub seq: u64,
}

/// How many trees an acker's ring spans: far more than are pending while tuples flow (they
/// complete within a few flushes); the trees of a crash, pending until they expire, leave it for
/// the map.
pub const ACKER_SPAN: usize = 4096;

/// One acker task's ledger (about 20 bytes per pending tree in Storm: the id, the value, the
/// spout task).
#[derive(Debug, Clone)]
pub struct Acker<S> {
    /// Trees without a handle, or that outlived the ring's span.
    pending: Rotating<u64, Entry<S>>,
    /// Trees by their number at this acker.
    ring: Ring<Slot<S>>,
    /// Rotations so far.
    turns: u64,
}

impl<S: Copy> Default for Acker<S> {
    fn default() -> Self {
        Acker::with_span(ACKER_SPAN)
    }
}

impl<S: Copy> Acker<S> {
    /// Empty, its ring spanning `span` trees.
    pub fn with_span(span: usize) -> Self {
        Acker {
            pending: Rotating::default(),
            ring: Ring::new(span),
            turns: 1,
        }
    }

    /// Takes in one message, whose tree has number `h.acker` at this acker (or none); returns
    /// the completed tree and whom to tell, if this completed one.
    #[inline]
    pub fn take(&mut self, m: AckerIn<S>, h: Handle) -> Option<Completed<S>> {
        let (root, val, spout) = match m {
            AckerIn::Init { root, val, spout } => (root, val, Some((spout, h.spout))),
            AckerIn::Ack { root, val } => (root, val, None),
        };
        let turns = self.turns;
        let pending = &mut self.pending;
        let slot = match h.acker {
            u64::MAX => None,
            n => self.ring.reach(n, |_, s| spill(pending, s, turns)),
        };
        let done = match slot {
            Some(slot) => {
                // An empty slot, or one whose entry expired, starts a new entry.
                if slot.as_ref().is_some_and(|s| s.turn + 1 < turns) {
                    *slot = None;
                }
                let s = slot.get_or_insert(Slot {
                    root,
                    entry: Entry::EMPTY,
                    turn: turns,
                });
                debug_assert_eq!(s.root, root, "a handle names one tree");
                s.turn = turns;
                let done = s.entry.take(val, spout).then_some(s.entry);
                if done.is_some() {
                    *slot = None;
                    self.ring.trim(|s| s.turn + 1 < turns);
                }
                done
            }
            None => self.pending.update(
                root,
                || Entry::EMPTY,
                |e| {
                    let done = e.take(val, spout).then_some(*e);
                    (done.is_some(), done)
                },
            ),
        };
        done.and_then(|e| {
            e.spout.map(|spout| Completed {
                root,
                spout,
                seq: e.seq,
            })
        })
    }

    /// A timeout passed: trees that heard nothing for two timeouts are forgotten (their spouts
    /// time them out on their own). Returns how many.
    pub fn rotate(&mut self) -> usize {
        let before = self.turns;
        let older = self.ring.count(|s| s.turn + 1 == before);
        self.turns += 1;
        let turns = self.turns;
        self.ring.trim(|s| s.turn + 1 < turns);
        older + self.pending.expire()
    }

    /// Trees pending.
    pub fn len(&self) -> usize {
        self.pending.len() + self.ring.count(|s| s.turn + 1 >= self.turns)
    }

    /// Whether no tree is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ledger is lost with the acker's node.
    pub fn clear(&mut self) {
        self.pending.clear();
        self.ring.clear();
    }
}

/// A ring slot the ring passed goes to the map, into the bucket its rotation puts it in (none if
/// it expired).
fn spill<S>(pending: &mut Rotating<u64, Entry<S>>, s: Slot<S>, turns: u64) {
    if s.turn == turns {
        pending.insert_new(s.root, s.entry);
    } else if s.turn + 1 == turns {
        pending.insert_older(s.root, s.entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftsim_sim::rng::mix64;

    /// A hand-built tuple tree: tuple `i` has edge id `ids[i]` and the tuples in `children[i]`
    /// anchored to it; the spout emitted the tuples in `roots`.
    struct Tree {
        ids: Vec<u64>,
        children: Vec<Vec<usize>>,
        roots: Vec<usize>,
    }

    impl Tree {
        fn new(children: Vec<Vec<usize>>, roots: Vec<usize>, seed: u64) -> Tree {
            let ids = (0..children.len() as u64).map(|i| mix64(seed ^ (i + 1))).collect();
            Tree { ids, children, roots }
        }
        fn xor(&self, of: &[usize]) -> u64 {
            of.iter().fold(0, |v, c| v ^ self.ids[*c])
        }
        /// The spout's init for tree `root`.
        fn init(&self, root: u64) -> AckerIn<u32> {
            AckerIn::Init {
                root,
                val: self.xor(&self.roots),
                spout: 7,
            }
        }
        /// Tuple `i`'s ack: its own id and those of the tuples anchored to it.
        fn ack(&self, root: u64, i: usize) -> AckerIn<u32> {
            AckerIn::Ack {
                root,
                val: self.ids[i] ^ self.xor(&self.children[i]),
            }
        }
        /// The init and every ack, in order `order` (the init is at position `init_at`).
        fn messages(&self, root: u64, order: &[usize], init_at: usize) -> Vec<AckerIn<u32>> {
            let mut m: Vec<AckerIn<u32>> = order.iter().map(|i| self.ack(root, *i)).collect();
            m.insert(init_at, self.init(root));
            m
        }
    }

    /// Two ledgers fed the same messages, one with handles (its ring: a tree's number is its id)
    /// and one without (its map): they must agree on every answer.
    #[derive(Default)]
    struct Ledger {
        by_handle: Acker<u32>,
        by_id: Acker<u32>,
    }

    impl Ledger {
        fn take(&mut self, m: AckerIn<u32>) -> Option<(u64, u32)> {
            let (AckerIn::Init { root, .. } | AckerIn::Ack { root, .. }) = m;
            let spout = root + 1;
            let a = self.by_handle.take(m, Handle { acker: root, spout });
            let b = self.by_id.take(m, Handle { acker: u64::MAX, spout });
            assert_eq!(a, b, "the ring and the map agree");
            a.map(|c| {
                assert_eq!(c.seq, spout, "the spout's handle comes back");
                (c.root, c.spout)
            })
        }
        fn rotate(&mut self) -> usize {
            let n = self.by_handle.rotate();
            assert_eq!(n, self.by_id.rotate(), "the ring and the map agree");
            n
        }
        fn len(&self) -> usize {
            assert_eq!(self.by_handle.len(), self.by_id.len());
            self.by_handle.len()
        }
        fn is_empty(&self) -> bool {
            self.len() == 0
        }
    }

    /// Feeds `msgs` and returns the index of the message after which the tree completed.
    fn completes_at(acker: &mut Ledger, msgs: &[AckerIn<u32>]) -> Vec<usize> {
        msgs.iter()
            .enumerate()
            .filter_map(|(i, m)| acker.take(*m).map(|(_, s)| (i, s)))
            .map(|(i, s)| {
                assert_eq!(s, 7, "the spout named in the init is told");
                i
            })
            .collect()
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![Vec::new()];
        }
        let mut out = Vec::new();
        for p in permutations(n - 1) {
            for at in 0..=p.len() {
                let mut q = p.clone();
                q.insert(at, n - 1);
                out.push(q);
            }
        }
        out
    }

    #[test]
    fn a_depth_one_tree_completes_when_its_one_tuple_is_acked_whether_the_ack_or_the_init_comes_first() {
        let tree = Tree::new(vec![vec![]], vec![0], 1);
        for init_at in 0..=1 {
            let mut acker = Ledger::default();
            let msgs = tree.messages(42, &[0], init_at);
            assert_eq!(completes_at(&mut acker, &msgs), vec![1], "init at {init_at}");
            assert!(acker.is_empty(), "a completed tree leaves the ledger");
        }
    }

    #[test]
    fn a_tree_completes_exactly_at_its_last_message_in_every_order() {
        // The word-count tree: a sentence to a splitter, which anchors three words to it; one of
        // them is counted by a task that anchors an update to it.
        let tree = Tree::new(vec![vec![1, 2, 3], vec![4], vec![], vec![], vec![]], vec![0], 2);
        for order in permutations(5) {
            for init_at in 0..=5 {
                let mut acker = Ledger::default();
                let msgs = tree.messages(9, &order, init_at);
                assert_eq!(
                    completes_at(&mut acker, &msgs),
                    vec![5],
                    "order {order:?}, init at {init_at}"
                );
            }
        }
    }

    #[test]
    fn a_missing_ack_leaves_the_tree_pending_and_acking_twice_does_not_complete_it() {
        let tree = Tree::new(vec![vec![1, 2], vec![], vec![]], vec![0], 3);
        let mut acker = Ledger::default();
        let msgs = tree.messages(5, &[0, 1], 0);
        assert!(completes_at(&mut acker, &msgs).is_empty(), "tuple 2 is not acked");
        // Acking tuple 1 again puts its id back instead of clearing tuple 2's.
        assert!(acker.take(tree.ack(5, 1)).is_none());
        assert!(acker.take(tree.ack(5, 1)).is_none());
        assert_eq!(acker.take(tree.ack(5, 2)), Some((5, 7)));
    }

    #[test]
    fn a_spout_emitting_to_several_tasks_and_interleaved_trees_complete_independently() {
        // The spout sends its tuple to two tasks (two edges); a second tree shares the acker.
        let a = Tree::new(vec![vec![], vec![2], vec![]], vec![0, 1], 4);
        let b = Tree::new(vec![vec![]], vec![0], 5);
        let mut acker = Ledger::default();
        let mut msgs = a.messages(100, &[2, 0, 1], 1);
        msgs.insert(2, b.init(200));
        msgs.insert(3, b.ack(200, 0));
        let done: Vec<(u64, u32)> = msgs.iter().filter_map(|m| acker.take(*m)).collect();
        assert_eq!(done, vec![(200, 7), (100, 7)]);
        assert!(acker.is_empty());
    }

    #[test]
    fn a_tuple_anchored_to_two_trees_holds_both_until_it_is_acked() {
        // Multi-anchoring: tuple x, emitted by a task that joined the tuples of trees 1 and 2,
        // enters both ledgers with the same edge id and leaves both with its one ack.
        let x = mix64(77);
        let (e1, e2) = (mix64(11), mix64(22));
        let mut acker = Ledger::default();
        for (root, e) in [(1, e1), (2, e2)] {
            assert!(
                acker
                    .take(AckerIn::Init {
                        root,
                        val: e,
                        spout: 7u32
                    })
                    .is_none()
            );
            assert!(
                acker.take(AckerIn::Ack { root, val: e ^ x }).is_none(),
                "x is still out"
            );
        }
        assert_eq!(acker.take(AckerIn::Ack { root: 1, val: x }), Some((1, 7)));
        assert_eq!(acker.take(AckerIn::Ack { root: 2, val: x }), Some((2, 7)));
    }

    #[test]
    fn a_tree_that_hears_nothing_for_two_rotations_is_forgotten_and_news_resets_its_countdown() {
        let tree = Tree::new(vec![vec![1], vec![]], vec![0], 6);
        let mut acker = Ledger::default();
        assert!(acker.take(tree.init(8)).is_none());
        assert_eq!(acker.rotate(), 0, "one rotation: still there");
        assert!(
            acker.take(tree.ack(8, 0)).is_none(),
            "news puts it in the newest bucket again"
        );
        assert_eq!(acker.rotate(), 0);
        assert_eq!(acker.rotate(), 1, "two rotations without news: gone");
        assert!(acker.is_empty());
        // A late ack starts an entry with no spout: it never completes, and expires in turn.
        assert!(acker.take(tree.ack(8, 1)).is_none());
        assert_eq!(acker.len(), 1);
    }

    /// Trees `first ..= last` (ids `1000 + n`) are born and complete at once, one after the other.
    fn flow(acker: &mut Acker<u32>, first: u64, last: u64) {
        for n in first..=last {
            let h = Handle { acker: n, spout: n };
            let init = AckerIn::Init {
                root: 1000 + n,
                val: n,
                spout: 7,
            };
            assert!(acker.take(init, h).is_none());
            let ack = AckerIn::Ack { root: 1000 + n, val: n };
            assert_eq!(acker.take(ack, h).map(|c| c.root), Some(1000 + n));
        }
    }

    #[test]
    fn a_tree_older_than_the_ring_span_completes_from_the_map_and_expires_on_its_rotation() {
        let (h, init, ack) = (
            Handle { acker: 0, spout: 5 },
            AckerIn::Init {
                root: 99,
                val: 3,
                spout: 7u32,
            },
            AckerIn::Ack { root: 99, val: 3 },
        );
        // Its ack comes after many later trees have passed through the ring.
        let mut acker = Acker::with_span(4);
        assert!(acker.take(init, h).is_none());
        flow(&mut acker, 1, 20);
        assert_eq!(acker.len(), 1, "it left the ring for the map");
        let done = Completed {
            root: 99,
            spout: 7,
            seq: 5,
        };
        assert_eq!(acker.take(ack, h), Some(done), "its ack completes it");
        assert!(acker.is_empty());
        // It heard nothing since the last rotation when it left the ring: the next one drops it.
        let mut acker = Acker::with_span(4);
        assert!(acker.take(init, h).is_none());
        assert_eq!(acker.rotate(), 0);
        flow(&mut acker, 1, 20);
        assert_eq!(acker.rotate(), 1, "expired from the map's older bucket");
        assert!(acker.take(ack, h).is_none(), "a late ack starts a tree with no spout");
        assert_eq!(acker.len(), 1);
        // One that heard news after the rotation stays for the next.
        let mut acker = Acker::with_span(4);
        assert!(acker.take(init, h).is_none());
        assert_eq!(acker.rotate(), 0);
        assert!(acker.take(AckerIn::Ack { root: 99, val: 1 }, h).is_none());
        flow(&mut acker, 1, 20);
        assert_eq!(acker.rotate(), 0, "news put it in the newest bucket");
        assert_eq!(acker.take(AckerIn::Ack { root: 99, val: 2 }, h), Some(done));
    }

    #[test]
    fn the_rotating_map_expires_an_entry_between_one_and_two_rotations_after_it_was_put() {
        let mut m: Rotating<u32, &str> = Rotating::default();
        m.insert(1, "a");
        assert!(m.rotate().is_empty());
        m.insert(2, "b");
        assert_eq!(m.rotate().into_iter().collect::<Vec<_>>(), vec![(1, "a")]);
        assert_eq!(m.remove(&2), Some("b"));
        assert!(m.rotate().is_empty() && m.is_empty());
    }
}
