//! A window of slots indexed by a dense 64-bit handle: the fast half of a ledger whose keys are
//! random tuple ids but whose entries are created in (nearly) the order of a counter.
//!
//! A spout numbers its tuples and each acker the trees it tracks; a message carries that number
//! (a [`Handle`]) beside the random id, so the holder finds the entry at `handle - base` instead
//! of hashing the id. The ring spans the handles from the oldest slot it keeps to the newest it
//! has seen; entries done are emptied in place and the front is trimmed as it empties. An entry
//! that stays while the ring would pass its span (a tuple lost, waiting for its timeout) leaves
//! the ring for its holder's hash map ([`Ring::reach`] hands it over): each holder's ledger is
//! the ring and the map together, every entry in exactly one of them.
//!
//! Invariants: slot `i` holds handle `base + i`; handles below `base` are never in the ring
//! again (their entries, if any, are in the holder's map); the ring holds at most `span` slots.

use std::collections::VecDeque;

/// The dense indices a tuple carries beside its random tree id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handle {
    /// The tree's number at its acker.
    pub acker: u64,
    /// The spout tuple's number at its spout.
    pub spout: u64,
}

impl Handle {
    /// No handle: the holder looks the id up in its map (Trident's trees).
    pub const NONE: Handle = Handle {
        acker: u64::MAX,
        spout: u64::MAX,
    };
}

/// Slots for handles `base ..`, at most `span` of them.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    base: u64,
    slots: VecDeque<Option<T>>,
    span: usize,
}

impl<T> Ring<T> {
    /// Empty, starting at handle 0, holding at most `span` slots.
    pub fn new(span: usize) -> Ring<T> {
        Ring {
            base: 0,
            slots: VecDeque::new(),
            span: span.max(1),
        }
    }

    /// The handle after the newest slot.
    pub fn end(&self) -> u64 {
        self.base + self.slots.len() as u64
    }

    /// The slot of handle `h`, if the ring holds it.
    #[inline]
    pub fn get_mut(&mut self, h: u64) -> Option<&mut Option<T>> {
        let i = h.checked_sub(self.base)?;
        self.slots.get_mut(usize::try_from(i).ok()?)
    }

    /// The slot of handle `h`, the ring grown to it (empty slots up to it); `None` if `h` is
    /// below the ring. Growing past the span drops the oldest slots, handing their entries to
    /// `spill`.
    #[inline]
    pub fn reach(&mut self, h: u64, spill: impl FnMut(u64, T)) -> Option<&mut Option<T>> {
        let i = h.checked_sub(self.base)?;
        let len = self.slots.len() as u64;
        if i == len && i < self.span as u64 {
            // The next handle, most often.
            self.slots.push_back(None);
        } else if i > len || i >= self.span as u64 {
            self.grow(h, spill);
        }
        let i = (h - self.base) as usize;
        self.slots.get_mut(i)
    }

    /// Grows the ring to handle `h` (at least its start), dropping what passes the span.
    #[inline(never)]
    fn grow(&mut self, h: u64, mut spill: impl FnMut(u64, T)) {
        while h - self.base >= self.span as u64 {
            match self.slots.pop_front() {
                Some(slot) => {
                    if let Some(t) = slot {
                        spill(self.base, t);
                    }
                    self.base += 1;
                }
                None => self.base = h + 1 - self.span as u64,
            }
        }
        let len = (h - self.base + 1) as usize;
        if len > self.slots.len() {
            self.slots.resize_with(len, || None);
        }
    }

    /// Drops the empty slots at the front, and those whose entry `gone` says is no longer held.
    #[inline]
    pub fn trim(&mut self, gone: impl Fn(&T) -> bool) {
        while let Some(front) = self.slots.front() {
            if front.as_ref().is_some_and(|t| !gone(t)) {
                break;
            }
            self.slots.pop_front();
            self.base += 1;
        }
    }

    /// Takes out the oldest slot's handle and entry.
    pub fn pop_front(&mut self) -> Option<(u64, Option<T>)> {
        let slot = self.slots.pop_front()?;
        self.base += 1;
        Some((self.base - 1, slot))
    }

    /// The oldest slot's handle and entry.
    pub fn front(&self) -> Option<(u64, &Option<T>)> {
        self.slots.front().map(|s| (self.base, s))
    }

    /// Entries held, for which `held` holds.
    pub fn count(&self, held: impl Fn(&T) -> bool) -> usize {
        self.slots.iter().flatten().filter(|t| held(t)).count()
    }

    /// Forgets every entry; handles seen so far are never held again.
    pub fn clear(&mut self) {
        self.base = self.end();
        self.slots = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_hands_over_the_entries_it_passes_and_never_holds_their_handles_again() {
        let mut r: Ring<u64> = Ring::new(4);
        let mut spilled = Vec::new();
        for h in 0..4 {
            *r.reach(h, |h, t| spilled.push((h, t))).expect("in the ring") = Some(h * 10);
        }
        *r.get_mut(1).expect("held") = None;
        *r.reach(6, |h, t| spilled.push((h, t))).expect("grown") = Some(60);
        assert_eq!(spilled, vec![(0, 0), (2, 20)], "slot 1 was empty: nothing to hand over");
        assert!(
            r.reach(2, |_, _| panic!("nothing to spill")).is_none(),
            "below the ring"
        );
        assert_eq!(r.get_mut(3), Some(&mut Some(30)));
        r.trim(|t| *t == 30);
        assert_eq!(r.front(), Some((6, &Some(60))), "the gone and empty slots left");
        // A handle far past the span: everything held goes over first.
        let mut later = Vec::new();
        *r.reach(100, |h, t| later.push((h, t))).expect("grown") = Some(1000);
        assert_eq!(later, vec![(6, 60)]);
        assert_eq!((r.front().map(|(h, _)| h), r.end()), (Some(97), 101));
        r.clear();
        assert!(r.get_mut(100).is_none() && r.reach(100, |_, _| {}).is_none());
        assert!(r.reach(101, |_, _| {}).is_some());
    }
}
