//! The event queue: a radix heap over event times; small payloads move with their times, large
//! ones stay in a slab.
//!
//! Invariants:
//! - events pop in `(time, insertion order)` order: events scheduled for the same instant pop in
//!   the order they were pushed, so a run's behaviour never depends on the queue's internals;
//! - times are monotone: a push never goes below the time of the last pop (the kernel schedules
//!   nothing in the past; a push below it is taken as a push at it);
//! - an entry with time `t` sits in bucket `bucket_of(t ^ last)`, where `last` is the time of
//!   the last pop: bucket 0 holds the entries at `last` itself, in push order, and bucket `i > 0`
//!   those whose highest bit differing from `last` is bit `i − 1`. Equal times always share a
//!   bucket and move between buckets in the order they were pushed, which is what keeps
//!   same-instant events first-in first-out without a sequence number;
//! - `full` has bit `i − 1` set exactly when bucket `i > 0` is not empty;
//! - an event of at most [`INLINE_BYTES`] moves with its time (a refill streams its bucket
//!   through memory in order); a larger one lives in a slab (`slots`, reused last-freed first)
//!   and never moves, its bucket entries being 16-byte `(time, slot)` pairs. Which of the two is
//!   fixed by the event type, so the choice never depends on a run.
//!
//! Cancellation is lazy: a cancelled entry stays in the queue and is skipped by the owner when it
//! pops (see [`crate::kernel`]).

use crate::time::SimTime;
use std::collections::VecDeque;

/// Events up to this size move with their times; larger ones stay in a slab. Measured with the
/// kernel's hold-model benchmark and the engines' reference runs: moving a 24-byte event is
/// cheaper than a slab slot read out of cache, moving the record-at-a-time engines' messages
/// is not.
pub const INLINE_BYTES: usize = 32;

/// Bucket `i` of a time whose highest bit differing from the last popped time is bit `i − 1`.
fn bucket_of(diff: u64) -> usize {
    (u64::BITS - diff.leading_zeros()) as usize
}

/// A radix heap of `(time, payload)` entries.
struct Radix<P> {
    /// The payloads at `last`, in push order.
    now: VecDeque<P>,
    /// Later entries, by the highest bit in which their time differs from `last`.
    buckets: [Vec<(u64, P)>; 64],
    /// Bit `i` set when `buckets[i]` is not empty.
    full: u64,
    /// The time of the last pop.
    last: u64,
}

impl<P> Radix<P> {
    fn new() -> Self {
        Radix {
            now: VecDeque::new(),
            buckets: std::array::from_fn(|_| Vec::new()),
            full: 0,
            last: 0,
        }
    }
    #[inline]
    fn push(&mut self, time: SimTime, p: P) {
        let t = time.0.max(self.last);
        self.place(t, p);
    }
    #[inline]
    fn place(&mut self, t: u64, p: P) {
        match bucket_of(t ^ self.last) {
            0 => self.now.push_back(p),
            b => {
                self.buckets[b - 1].push((t, p));
                self.full |= 1 << (b - 1);
            }
        }
    }
    #[inline]
    fn pop(&mut self) -> Option<(SimTime, P)> {
        if self.now.is_empty() && !self.refill() {
            return None;
        }
        let p = self.now.pop_front()?;
        Some((SimTime(self.last), p))
    }
    /// Moves the earliest entries into `now`: the lowest non-empty bucket's minimum becomes
    /// `last`, and that bucket's entries spread over the buckets below it, in order.
    fn refill(&mut self) -> bool {
        if self.full == 0 {
            return false;
        }
        let i = self.full.trailing_zeros() as usize;
        self.full &= !(1 << i);
        let mut moving = std::mem::take(&mut self.buckets[i]);
        self.last = moving.iter().map(|(t, _)| *t).min().unwrap_or(self.last);
        for (t, p) in moving.drain(..) {
            self.place(t, p);
        }
        // Hand the emptied allocation back (nothing moved into bucket `i`), so that a busy
        // bucket does not reallocate.
        self.buckets[i] = moving;
        true
    }
    fn peek_time(&self) -> Option<SimTime> {
        if !self.now.is_empty() {
            return Some(SimTime(self.last));
        }
        if self.full == 0 {
            return None;
        }
        self.buckets[self.full.trailing_zeros() as usize]
            .iter()
            .map(|(t, _)| *t)
            .min()
            .map(SimTime)
    }
}

/// Where the payloads are.
enum Store<E> {
    /// Moved with their times.
    Inline(Radix<E>),
    /// In a slab; `free` lists the empty slots, last freed first.
    Slab {
        radix: Radix<u32>,
        slots: Vec<Option<E>>,
        free: Vec<u32>,
    },
}

/// A priority queue of events ordered by `(time, insertion order)`, for monotone times.
pub struct EventQueue<E> {
    store: Store<E>,
    len: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }
    /// An empty queue with room for `n` events (a hint: only a slab can use it).
    pub fn with_capacity(n: usize) -> Self {
        let store = if size_of::<E>() <= INLINE_BYTES {
            Store::Inline(Radix::new())
        } else {
            Store::Slab {
                radix: Radix::new(),
                slots: Vec::with_capacity(n),
                free: Vec::new(),
            }
        };
        EventQueue { store, len: 0 }
    }
    /// Whether this queue's events move with their times (else they stay in a slab).
    pub fn inline(&self) -> bool {
        matches!(self.store, Store::Inline(_))
    }
    /// Schedules `event` at `time` (at the last popped time, if `time` is before it).
    pub fn push(&mut self, time: SimTime, event: E) {
        self.len += 1;
        match &mut self.store {
            Store::Inline(r) => r.push(time, event),
            Store::Slab { radix, slots, free } => {
                let slot = match free.pop() {
                    Some(s) => {
                        slots[s as usize] = Some(event);
                        s
                    }
                    None => {
                        slots.push(Some(event));
                        (slots.len() - 1) as u32
                    }
                };
                radix.push(time, slot);
            }
        }
    }
    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let popped = match &mut self.store {
            Store::Inline(r) => r.pop(),
            Store::Slab { radix, slots, free } => {
                let (t, slot) = radix.pop()?;
                free.push(slot);
                slots[slot as usize].take().map(|e| (t, e))
            }
        };
        if popped.is_some() {
            self.len -= 1;
        }
        popped
    }
    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        match &self.store {
            Store::Inline(r) => r.peek_time(),
            Store::Slab { radix, .. } => radix.peek_time(),
        }
    }
    /// Number of pending events (cancelled ones included).
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes pseudo-random times (many equal, some before the last pop) interleaved with pops,
    /// and checks every pop against a sorted reference of `(time, push number)`.
    fn pops_in_time_then_push_order<E: Clone + PartialEq + std::fmt::Debug>(make: impl Fn(u64) -> E) {
        let mut q = EventQueue::new();
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let (mut x, mut last, mut n) = (7u64, 0u64, 0u64);
        for round in 0..20_000u64 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            if round % 3 != 2 {
                let t = (last + (x >> 40) % 5_000).saturating_sub(200) / 10 * 10;
                q.push(SimTime(t), make(n));
                reference.push((t.max(last), n));
                n += 1;
            } else if let Some((t, e)) = q.pop() {
                reference.sort();
                let (rt, rn) = reference.remove(0);
                assert_eq!((t.0, &e), (rt, &make(rn)));
                last = t.0;
            }
            assert_eq!(q.len(), reference.len());
        }
        reference.sort();
        for (rt, rn) in reference {
            assert_eq!(q.pop().map(|(t, e)| (t.0, e)), Some((rt, make(rn))));
        }
        assert!(q.is_empty() && q.pop().is_none());
    }

    #[test]
    fn small_events_move_with_their_times_and_pop_in_time_then_push_order() {
        assert!(EventQueue::<u32>::new().inline());
        pops_in_time_then_push_order(|n| n as u32);
    }

    #[test]
    fn large_events_stay_in_the_slab_and_pop_in_time_then_push_order() {
        assert!(!EventQueue::<[u64; 8]>::new().inline());
        pops_in_time_then_push_order(|n| [n; 8]);
    }
}
