//! Bare priority queues of `(time, seq)` pairs, the floors the event queue is measured against:
//! no payload, no cancellation, nothing but the order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// The operations the hold model needs.
pub trait Bare {
    /// An empty queue with room for `n`.
    fn with_capacity(n: usize) -> Self;
    /// Adds `(time, seq)`.
    fn push(&mut self, time: u64, seq: u64);
    /// Removes the least `(time, seq)`.
    fn pop(&mut self) -> Option<(u64, u64)>;
    /// How many are queued.
    fn len(&self) -> usize;
}

/// The standard library's binary heap.
pub struct StdHeap(BinaryHeap<Reverse<(u64, u64)>>);

impl Bare for StdHeap {
    fn with_capacity(n: usize) -> Self {
        StdHeap(BinaryHeap::with_capacity(n))
    }
    fn push(&mut self, time: u64, seq: u64) {
        self.0.push(Reverse((time, seq)));
    }
    fn pop(&mut self) -> Option<(u64, u64)> {
        self.0.pop().map(|Reverse(x)| x)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// An implicit 4-ary min-heap (children of `i` at `4i + 1 ..= 4i + 4`).
pub struct QuadHeap(Vec<(u64, u64)>);

impl Bare for QuadHeap {
    fn with_capacity(n: usize) -> Self {
        QuadHeap(Vec::with_capacity(n))
    }
    fn push(&mut self, time: u64, seq: u64) {
        let v = &mut self.0;
        let x = (time, seq);
        let mut i = v.len();
        v.push(x);
        while i > 0 {
            let parent = (i - 1) / 4;
            if v[parent] <= x {
                break;
            }
            v[i] = v[parent];
            i = parent;
        }
        v[i] = x;
    }
    fn pop(&mut self) -> Option<(u64, u64)> {
        let v = &mut self.0;
        let last = v.pop()?;
        if v.is_empty() {
            return Some(last);
        }
        let top = v[0];
        let n = v.len();
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let end = (first + 4).min(n);
            let mut c = first;
            for j in first + 1..end {
                if v[j] < v[c] {
                    c = j;
                }
            }
            if last <= v[c] {
                break;
            }
            v[i] = v[c];
            i = c;
        }
        v[i] = last;
        Some(top)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A radix heap for monotone times: bucket `i` holds the times whose highest bit differing from
/// the last popped time is bit `i − 1`; bucket 0 (the last popped time itself) pops in push
/// order, so ties need no sequence number to come out first-in first-out.
pub struct Radix {
    now: VecDeque<(u64, u64)>,
    buckets: Vec<Vec<(u64, u64)>>,
    last: u64,
    len: usize,
}

impl Bare for Radix {
    fn with_capacity(_n: usize) -> Self {
        Radix {
            now: VecDeque::new(),
            buckets: (0..64).map(|_| Vec::new()).collect(),
            last: 0,
            len: 0,
        }
    }
    fn push(&mut self, time: u64, seq: u64) {
        match (u64::BITS - (time ^ self.last).leading_zeros()) as usize {
            0 => self.now.push_back((time, seq)),
            b => self.buckets[b - 1].push((time, seq)),
        }
        self.len += 1;
    }
    fn pop(&mut self) -> Option<(u64, u64)> {
        if self.now.is_empty() {
            let i = self.buckets.iter().position(|b| !b.is_empty())?;
            let mut moving = std::mem::take(&mut self.buckets[i]);
            self.last = moving.iter().map(|x| x.0).min()?;
            for &x in &moving {
                match (u64::BITS - (x.0 ^ self.last).leading_zeros()) as usize {
                    0 => self.now.push_back(x),
                    b => self.buckets[b - 1].push(x),
                }
            }
            moving.clear();
            self.buckets[i] = moving;
        }
        self.len -= 1;
        self.now.pop_front()
    }
    fn len(&self) -> usize {
        self.len
    }
}
