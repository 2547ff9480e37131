//! The event queue: a radix heap over event times, payloads carried with their times.
//!
//! Invariants:
//! - events pop in `(time, insertion order)` order: events scheduled for the same instant pop in
//!   the order they were pushed, so a run's behaviour never depends on the queue's internals;
//! - times are monotone: a push never goes below the time of the last pop (the kernel schedules
//!   nothing in the past; a push below it is taken as a push at it);
//! - an event with time `t` sits in bucket `bucket_of(t ^ last)`, where `last` is the time of
//!   the last pop: bucket 0 holds the events at `last` itself, in push order, and bucket `i > 0`
//!   those whose highest bit differing from `last` is bit `i − 1`. Equal times always share a
//!   bucket and move between buckets in the order they were pushed, which is what keeps
//!   same-instant events first-in first-out without a sequence number;
//! - `full` has bit `i − 1` set exactly when bucket `i > 0` is not empty.
//!
//! Cancellation is lazy: a cancelled entry stays in the queue and is skipped by the owner when it
//! pops (see [`crate::kernel`]).

use crate::time::SimTime;
use std::collections::VecDeque;

/// Bucket `i` of a time whose highest bit differing from the last popped time is bit `i − 1`.
fn bucket_of(diff: u64) -> usize {
    (u64::BITS - diff.leading_zeros()) as usize
}

/// A priority queue of events ordered by `(time, insertion order)`, for monotone times.
pub struct EventQueue<E> {
    /// The events at `last`, in push order.
    now: VecDeque<E>,
    /// `(time, event)` of later events, by the highest bit in which their time differs from `last`.
    buckets: [Vec<(u64, E)>; 64],
    /// Bit `i` set when `buckets[i]` is not empty.
    full: u64,
    /// The time of the last pop.
    last: u64,
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
    /// An empty queue. `n`, the expected number of pending events, is only a hint it cannot use:
    /// the buckets grow as events move through them, and keep their room once grown.
    pub fn with_capacity(_n: usize) -> Self {
        EventQueue {
            now: VecDeque::new(),
            buckets: std::array::from_fn(|_| Vec::new()),
            full: 0,
            last: 0,
            len: 0,
        }
    }
    /// Schedules `event` at `time` (at the last popped time, if `time` is before it).
    pub fn push(&mut self, time: SimTime, event: E) {
        self.len += 1;
        let t = time.0.max(self.last);
        self.place(t, event);
    }
    #[inline]
    fn place(&mut self, t: u64, event: E) {
        match bucket_of(t ^ self.last) {
            0 => self.now.push_back(event),
            b => {
                self.buckets[b - 1].push((t, event));
                self.full |= 1 << (b - 1);
            }
        }
    }
    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.now.is_empty() && !self.refill() {
            return None;
        }
        let event = self.now.pop_front()?;
        self.len -= 1;
        Some((SimTime(self.last), event))
    }
    /// Moves the earliest events into `now`: the lowest non-empty bucket's minimum becomes
    /// `last`, and that bucket's events spread over the buckets below it, in order.
    fn refill(&mut self) -> bool {
        if self.full == 0 {
            return false;
        }
        let i = self.full.trailing_zeros() as usize;
        self.full &= !(1 << i);
        let mut moving = std::mem::take(&mut self.buckets[i]);
        self.last = moving.iter().map(|(t, _)| *t).min().unwrap_or(self.last);
        for (t, event) in moving.drain(..) {
            self.place(t, event);
        }
        // Hand the emptied allocation back (nothing moved into bucket `i`), so that a busy
        // bucket does not reallocate.
        self.buckets[i] = moving;
        true
    }
    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
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
    /// Number of pending events (cancelled ones included).
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
