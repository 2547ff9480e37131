//! The event queue: a radix heap over event times, with payloads kept out of it.
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
//! - payloads move with their times: an event is moved only when its bucket is spread, which
//!   happens to it a few times at most (each move takes it to a lower bucket).
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
    /// Later events with their times, by the highest bit in which their time differs from `last`.
    buckets: [Vec<(u64, E)>; 64],
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
    /// An empty queue with room for `n` events at the present instant.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            now: VecDeque::with_capacity(n),
            buckets: std::array::from_fn(|_| Vec::new()),
            last: 0,
            len: 0,
        }
    }
    /// Schedules `event` at `time` (at the last popped time, if `time` is before it).
    pub fn push(&mut self, time: SimTime, event: E) {
        self.len += 1;
        let t = time.0.max(self.last);
        match bucket_of(t ^ self.last) {
            0 => self.now.push_back(event),
            b => self.buckets[b - 1].push((t, event)),
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
        let Some(i) = self.buckets.iter().position(|b| !b.is_empty()) else {
            return false;
        };
        let mut moving = std::mem::take(&mut self.buckets[i]);
        self.last = moving.iter().map(|(t, _)| *t).min().unwrap_or(self.last);
        for (t, event) in moving.drain(..) {
            match bucket_of(t ^ self.last) {
                0 => self.now.push_back(event),
                b => self.buckets[b - 1].push((t, event)),
            }
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
        let b = self.buckets.iter().find(|b| !b.is_empty())?;
        b.iter().map(|(t, _)| *t).min().map(SimTime)
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
