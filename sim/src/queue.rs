//! The event queue: a radix heap over event times with 6-bit digits; small payloads move with
//! their times, large ones stay in a slab.
//!
//! Invariants:
//! - events pop in `(time, insertion order)` order: events scheduled for the same instant pop in
//!   the order they were pushed, so a run's behaviour never depends on the queue's internals;
//! - times are monotone: a push never goes below the time of the last pop (the kernel schedules
//!   nothing in the past; a push below it is taken as a push at it);
//! - a time is read as digits of `DIGIT_BITS` bits, level 0 the lowest. An entry with time `t`
//!   sits in bucket `(level, digit)`: `level` is that of the highest digit in which `t` differs
//!   from `last` (the time of the last pop; level 0 if only the lowest digit differs, or none),
//!   `digit` is `t`'s digit there. Every entry of a bucket is earlier than every entry of a
//!   later bucket in `(level, digit)` order, and a level-0 bucket holds a single time, in push
//!   order. Equal times always share a bucket and move between buckets in the order they were
//!   pushed, which is what keeps same-instant events first-in first-out without a sequence
//!   number. A refill empties the lowest non-empty bucket (above level 0) into the levels below
//!   it, so an entry moves at most once per level: with 6-bit digits, an event a millisecond
//!   ahead (2^20 ns) moves three or four times where a binary radix heap moves it up to twenty;
//! - `levels` has bit `l` set exactly when level `l` has a non-empty bucket, and `digits[l]` bit
//!   `d` exactly when bucket `(l, d)` is not empty;
//! - a bucket above level 0 keeps its first `BLOCK` entries in an allocation of its own and
//!   the rest in blocks of `BLOCK` from one free list, last emptied first: a growing bucket
//!   never copies its entries, a block emptied by a refill is the next one filled (still in
//!   cache), and a queue holding a steady number of events allocates nothing. A bucket that
//!   fits its own allocation is scanned for its least time by its refill; a larger one keeps
//!   its least time as it grows, so that its refill reads it once;
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

/// Entries a bucket above level 0 keeps in its own allocation; beyond them it grows by blocks
/// of as many, taken from and returned to one free list, so that a growing bucket never copies
/// its entries and a queue at a steady size allocates nothing.
const BLOCK: usize = 256;
/// Bits per digit: a time's bucket is chosen by one digit of this many bits.
const DIGIT_BITS: u32 = 6;
/// Buckets per level (one per digit value).
const WIDTH: usize = 1 << DIGIT_BITS;
/// Levels: digits in a 64-bit time.
const LEVELS: usize = 64_usize.div_ceil(DIGIT_BITS as usize);

/// A radix heap of `(time, payload)` entries with digits of [`DIGIT_BITS`] bits.
struct Radix<P> {
    /// Level 0: the payloads whose time agrees with `last` above the lowest digit, by that
    /// digit, each in push order (their time is `last`'s upper digits and this one).
    near: Vec<VecDeque<P>>,
    /// Levels 1 and up: bucket `(level, digit)` at `(level - 1) * WIDTH + digit`.
    far: Vec<Bucket<P>>,
    /// Empty blocks (room for [`BLOCK`] entries each), last emptied first.
    free: Vec<Vec<(u64, P)>>,
    /// How many blocks were allocated (none is ever freed).
    blocks: usize,
    /// Bit `l` set when level `l` has a non-empty bucket.
    levels: u64,
    /// Per level, bit `d` set when bucket `(l, d)` is not empty.
    digits: [u64; LEVELS],
    /// The time of the last pop.
    last: u64,
}

impl<P> Radix<P> {
    fn new() -> Self {
        Radix {
            near: (0..WIDTH).map(|_| VecDeque::new()).collect(),
            far: (0..(LEVELS - 1) * WIDTH).map(|_| Bucket::default()).collect(),
            free: Vec::new(),
            blocks: 0,
            levels: 0,
            digits: [0; LEVELS],
            last: 0,
        }
    }
    #[inline]
    fn push(&mut self, time: SimTime, p: P) {
        let t = time.0.max(self.last);
        self.place(t, p);
    }
    /// Files an entry at `t >= last` in its bucket: the level of the highest digit in which `t`
    /// differs from `last` (0 if none but the lowest does), under `t`'s digit there.
    #[inline]
    fn place(&mut self, t: u64, p: P) {
        let diff = t ^ self.last;
        let level = ((u64::BITS - 1).saturating_sub(diff.leading_zeros()) / DIGIT_BITS) as usize;
        let digit = (t >> (level as u32 * DIGIT_BITS)) as usize & (WIDTH - 1);
        let bit = 1 << digit;
        if level == 0 {
            self.near[digit].push_back(p);
        } else {
            let b = &mut self.far[(level - 1) * WIDTH + digit];
            if b.head.len() < BLOCK {
                b.head.push((t, p));
            } else {
                b.spill((t, p), &mut self.free, &mut self.blocks);
            }
        }
        self.digits[level] |= bit;
        self.levels |= 1 << level;
    }
    #[inline]
    fn pop(&mut self) -> Option<(SimTime, P)> {
        while self.digits[0] == 0 {
            if !self.refill() {
                return None;
            }
        }
        let d = self.digits[0].trailing_zeros() as usize;
        let q = &mut self.near[d];
        let p = q.pop_front()?;
        if q.is_empty() {
            self.digits[0] &= !(1 << d);
            if self.digits[0] == 0 {
                self.levels &= !1;
            }
        }
        self.last = (self.last & !(WIDTH as u64 - 1)) | d as u64;
        Some((SimTime(self.last), p))
    }
    /// The lowest non-empty bucket: every entry in it is earlier than every entry elsewhere.
    fn lowest(&self) -> Option<(usize, usize)> {
        if self.levels == 0 {
            return None;
        }
        let l = self.levels.trailing_zeros() as usize;
        Some((l, self.digits[l].trailing_zeros() as usize))
    }
    /// With level 0 empty, brings the earliest entries down: the lowest non-empty bucket's
    /// minimum becomes `last`, and that bucket's entries spread over the levels below it, in
    /// order (its minimum's to level 0).
    fn refill(&mut self) -> bool {
        let Some((l, d)) = self.lowest() else {
            return false;
        };
        self.digits[l] &= !(1 << d);
        if self.digits[l] == 0 {
            self.levels &= !(1 << l);
        }
        let b = &mut self.far[(l - 1) * WIDTH + d];
        self.last = b.min();
        let mut head = std::mem::take(&mut b.head);
        let spilled = !b.more.is_empty();
        for (t, p) in head.drain(..) {
            self.place(t, p);
        }
        // Hand the allocation back (nothing moved into this bucket).
        let b = &mut self.far[(l - 1) * WIDTH + d];
        b.head = head;
        if spilled {
            self.refill_more(l, d);
        }
        true
    }
    /// The rest of a refill of bucket `(l, d)`: the entries in its blocks past `head`.
    #[cold]
    fn refill_more(&mut self, l: usize, d: usize) {
        let mut more = std::mem::take(&mut self.far[(l - 1) * WIDTH + d].more);
        for mut block in more.drain(..) {
            for (t, p) in block.drain(..) {
                self.place(t, p);
            }
            // Emptied, the block is the next one taken: still in cache.
            self.free.push(block);
        }
        self.far[(l - 1) * WIDTH + d].more = more;
    }
    fn peek_time(&self) -> Option<SimTime> {
        let (l, d) = self.lowest()?;
        if l == 0 {
            return Some(SimTime((self.last & !(WIDTH as u64 - 1)) | d as u64));
        }
        Some(SimTime(self.far[(l - 1) * WIDTH + d].min()))
    }
}

/// A bucket above level 0: its entries in push order, the first [`BLOCK`] in `head` (an
/// allocation the bucket keeps), the rest in `more`'s blocks (each full but the last).
struct Bucket<P> {
    /// The least time of the entries, kept from the first spill into `more` on (while `more`
    /// is empty, `head` is scanned instead, which keeps pushes that fit in `head` lean).
    min: u64,
    head: Vec<(u64, P)>,
    more: Vec<Vec<(u64, P)>>,
}

impl<P> Default for Bucket<P> {
    fn default() -> Self {
        Bucket {
            min: u64::MAX,
            head: Vec::new(),
            more: Vec::new(),
        }
    }
}

impl<P> Bucket<P> {
    /// The least time of the entries (`u64::MAX` if none).
    #[inline]
    fn min(&self) -> u64 {
        if self.more.is_empty() {
            self.head_min()
        } else {
            self.min
        }
    }
    fn head_min(&self) -> u64 {
        self.head.iter().map(|(t, _)| *t).min().unwrap_or(u64::MAX)
    }
    /// Appends an entry past a full `head`: to the last block, or to a fresh one from `free`
    /// (or a new one, counted in `blocks`, if `free` has none).
    #[cold]
    fn spill(&mut self, entry: (u64, P), free: &mut Vec<Vec<(u64, P)>>, blocks: &mut usize) {
        if self.more.is_empty() {
            self.min = self.head_min();
        }
        self.min = self.min.min(entry.0);
        match self.more.last_mut() {
            Some(block) if block.len() < BLOCK => block.push(entry),
            _ => {
                let mut block = free.pop().unwrap_or_else(|| {
                    *blocks += 1;
                    Vec::with_capacity(BLOCK)
                });
                block.push(entry);
                self.more.push(block);
            }
        }
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
    /// How many blocks the radix heap has allocated.
    #[cfg(test)]
    fn blocks(&self) -> usize {
        match &self.store {
            Store::Inline(r) => r.blocks,
            Store::Slab { radix, .. } => radix.blocks,
        }
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
    fn times_far_apart_and_equal_pop_in_time_then_push_order() {
        // Times spread over every level (up to the largest time), many of them equal.
        let mut q = EventQueue::new();
        let mut x = 3u64;
        let mut times: Vec<(u64, u32)> = Vec::new();
        for n in 0..5_000u32 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let t = match n % 4 {
                0 => u64::MAX,
                1 => x >> (x % 64),
                _ => (x >> 60) << (x % 60),
            };
            q.push(SimTime(t), n);
            times.push((t, n));
        }
        times.sort();
        for (t, n) in times {
            assert_eq!(q.peek_time(), Some(SimTime(t)));
            assert_eq!(q.pop(), Some((SimTime(t), n)));
        }
        assert!(q.pop().is_none() && q.peek_time().is_none());
    }

    #[test]
    fn a_bucket_grown_past_its_own_allocation_pops_in_push_order() {
        // Thousands of events at one far instant share a bucket (spilling into blocks), and
        // thousands more at the instants around it land in its neighbours.
        let mut q = EventQueue::new();
        let far = 1u64 << 30;
        let mut expected: Vec<(u64, u32)> = Vec::new();
        for n in 0..(10 * BLOCK as u32 + 7) {
            let t = if n % 3 == 0 { far + u64::from(n % 7) * 100 } else { far };
            q.push(SimTime(t), n);
            expected.push((t, n));
        }
        expected.sort();
        for (t, n) in expected {
            assert_eq!(q.pop(), Some((SimTime(t), n)));
        }
        assert!(q.pop().is_none());
    }

    #[test]
    fn a_queue_holding_a_steady_number_of_events_allocates_no_more_blocks() {
        // The hold model: each pop schedules one event, a pseudo-random delay ahead.
        let mut q = EventQueue::new();
        let mut x = 11u64;
        let mut delay = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 40) % 4_000_000
        };
        for n in 0..20_000u32 {
            q.push(SimTime(delay()), n);
        }
        let mut hold = |q: &mut EventQueue<u32>, rounds: usize| {
            for _ in 0..rounds {
                let (t, n) = q.pop().expect("never empty");
                q.push(SimTime(t.0 + delay()), n);
            }
        };
        hold(&mut q, 400_000);
        let warm = q.blocks();
        assert!(warm > 0, "the test must make buckets spill");
        hold(&mut q, 400_000);
        assert_eq!(q.blocks(), warm);
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
