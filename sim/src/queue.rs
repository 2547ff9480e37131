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
//! - payloads live in a slab (`slots`), reused last-freed first, and never move: buckets move
//!   16-byte `(time, slot)` pairs, several times over an event's life (each move takes it to a
//!   lower bucket), however large the event.
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
    /// Slots of the events at `last`, in push order.
    now: VecDeque<u32>,
    /// `(time, slot)` of later events, by the highest bit in which their time differs from `last`.
    buckets: [Vec<(u64, u32)>; 64],
    /// The time of the last pop.
    last: u64,
    len: usize,
    /// The events' payloads; `free` lists the empty slots, last freed first.
    slots: Vec<Option<E>>,
    free: Vec<u32>,
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
    /// An empty queue with room for `n` events.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            now: VecDeque::new(),
            buckets: std::array::from_fn(|_| Vec::new()),
            last: 0,
            len: 0,
            slots: Vec::with_capacity(n),
            free: Vec::new(),
        }
    }
    /// Schedules `event` at `time` (at the last popped time, if `time` is before it).
    pub fn push(&mut self, time: SimTime, event: E) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(event);
                s
            }
            None => {
                self.slots.push(Some(event));
                (self.slots.len() - 1) as u32
            }
        };
        self.len += 1;
        let t = time.0.max(self.last);
        match bucket_of(t ^ self.last) {
            0 => self.now.push_back(slot),
            b => self.buckets[b - 1].push((t, slot)),
        }
    }
    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.now.is_empty() && !self.refill() {
            return None;
        }
        let slot = self.now.pop_front()?;
        let event = self.slots[slot as usize].take()?;
        self.free.push(slot);
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
        for &(t, slot) in &moving {
            match bucket_of(t ^ self.last) {
                0 => self.now.push_back(slot),
                b => self.buckets[b - 1].push((t, slot)),
            }
        }
        // Hand the emptied allocation back (nothing moved into bucket `i`), so that a busy
        // bucket does not reallocate.
        moving.clear();
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
