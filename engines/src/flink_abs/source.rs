//! A source task: reads its partition of the log (the pipelined core's [`SourceReader`]), runs
//! the stateless chain, and writes the output into one network buffer per downstream channel.
//!
//! Invariants: every record of the partition below `reader.next` is in a current buffer, in an output
//! queue, or already sent; an output queue holds, in channel order, full or flushed buffers
//! waiting for credit and barriers waiting behind them; `credit[ch]` is how many buffers the
//! receiver of channel `ch` can still take; `sent_wm[ch]` is the last watermark that left on
//! channel `ch`, queued or in a broadcast; `full` counts the output queues holding at least
//! `limit` elements (every change to a queue's length goes through `push_out` / `pop_out`).

use crate::pipeline::SourceReader;
use ftsim_sim::{NodeId, Record, SimTime};
use std::collections::VecDeque;

/// An element of an output queue.
#[derive(Debug, Clone)]
pub enum Out {
    /// A buffer: records and the watermark after them.
    Data(Vec<Record>, SimTime),
    /// A checkpoint barrier (needs no credit; sent once it reaches the head).
    Barrier(u64, SimTime),
}

/// A source task.
#[derive(Debug)]
pub struct Source {
    /// Where it runs and how far it has read.
    pub reader: SourceReader,
    /// A checkpoint trigger that came while a batch was being read: taken once it is done
    /// (a task handles a trigger between the units of work of its mailbox).
    pub deferred: Option<(u64, SimTime)>,
    /// Partly filled buffer per channel.
    pub bufs: Vec<Vec<Record>>,
    /// Output queue per channel.
    pub out: Vec<VecDeque<Out>>,
    /// Credits per channel.
    pub credit: Vec<u32>,
    /// Last watermark queued per channel, unless `bcast_wm` is later.
    sent_wm: Vec<SimTime>,
    /// The last watermark broadcast: every channel has at least this one.
    bcast_wm: SimTime,
    /// Channels a flush must look at, and whether each is listed: every channel with records
    /// in its buffer, elements in its queue, no credit, a watermark newer than `bcast_wm`, or
    /// its receiver on this node; the others are idle and covered by a broadcast.
    active: Vec<u32>,
    listed: Vec<bool>,
    /// Output queue length at which reading stops.
    limit: usize,
    /// Output queues holding at least `limit` elements.
    full: u32,
}

impl Source {
    /// A source on `node` at offset `next` with `channels` outputs, `credits` each, that stops
    /// reading while an output queue holds `limit` elements.
    pub fn new(node: NodeId, next: u64, channels: usize, credits: u32, limit: usize) -> Source {
        Source {
            reader: SourceReader::new(node, next),
            deferred: None,
            bufs: vec![Vec::new(); channels],
            out: vec![VecDeque::new(); channels],
            credit: vec![credits; channels],
            sent_wm: vec![SimTime::ZERO; channels],
            bcast_wm: SimTime::ZERO,
            active: Vec::new(),
            listed: vec![false; channels],
            limit,
            full: 0,
        }
    }

    /// The source with every channel to a task on its own node listed (for good).
    pub fn with_local(mut self, tasks: &[super::task::Task]) -> Source {
        for (ch, t) in tasks.iter().enumerate() {
            if t.node == self.reader.node {
                self.activate(ch);
            }
        }
        self
    }

    /// Lists channel `ch` among those a flush looks at (a channel within the node stays listed).
    pub fn activate(&mut self, ch: usize) {
        if !self.listed[ch] {
            self.listed[ch] = true;
            self.active.push(ch as u32);
        }
    }

    /// Puts record `r` in channel `ch`'s buffer; returns the buffer's length.
    pub fn buffer(&mut self, ch: usize, r: Record) -> usize {
        self.activate(ch);
        self.bufs[ch].push(r);
        self.bufs[ch].len()
    }

    /// The last watermark that left on channel `ch`.
    pub fn sent_wm(&self, ch: usize) -> SimTime {
        self.sent_wm[ch].max(self.bcast_wm)
    }

    /// Whether watermark `wm` left on every channel.
    pub fn sent_all(&self, wm: SimTime) -> bool {
        self.bcast_wm >= wm || (0..self.sent_wm.len()).all(|ch| self.sent_wm(ch) >= wm)
    }

    /// The listed channels, ascending (every channel with something queued is listed).
    pub fn listed(&mut self) -> &[u32] {
        self.active.sort_unstable();
        &self.active
    }

    /// Queues `o` on channel `ch`, at the head if `front`.
    pub fn push_out(&mut self, ch: usize, o: Out, front: bool) {
        self.activate(ch);
        let q = &mut self.out[ch];
        if front {
            q.push_front(o);
        } else {
            q.push_back(o);
        }
        if q.len() == self.limit {
            self.full += 1;
        }
    }

    /// Takes the head of channel `ch`'s output queue.
    pub fn pop_out(&mut self, ch: usize) -> Option<Out> {
        let q = &mut self.out[ch];
        let full = q.len() == self.limit;
        let o = q.pop_front();
        if full && o.is_some() {
            self.full -= 1;
        }
        o
    }

    /// Whether some channel's output queue is full, which stops reading (backpressure).
    pub fn backpressured(&self) -> bool {
        self.full > 0
    }

    /// Moves channel `ch`'s current buffer (or, for windows, a bare watermark that moved) to its
    /// output queue.
    pub fn flush_channel(&mut self, ch: usize, wm: SimTime, windowed: bool) {
        if !self.bufs[ch].is_empty() {
            let recs = std::mem::take(&mut self.bufs[ch]);
            self.push_out(ch, Out::Data(recs, wm), false);
            self.sent_wm[ch] = self.sent_wm(ch).max(wm);
        } else if windowed && wm > self.sent_wm(ch) {
            self.push_out(ch, Out::Data(Vec::new(), wm), false);
            self.sent_wm[ch] = wm;
        }
    }

    /// Moves every partly filled buffer to its output queue (a flush). For windows, a watermark
    /// that moved reaches every other channel too: in the source's broadcast where the channel
    /// is `remote`, idle (nothing queued) and has credit, as a queued bare watermark otherwise.
    /// Returns the channels the broadcast does not cover, ascending, if it covers any. Looks
    /// only at the listed channels: the others are idle, remote, and at `bcast_wm`.
    pub fn flush_all(&mut self, wm: SimTime, windowed: bool, remote: impl Fn(usize) -> bool) -> Option<Vec<u32>> {
        let mut active = std::mem::take(&mut self.active);
        active.sort_unstable();
        let moved = windowed && wm > self.bcast_wm;
        let mut covered = if moved { self.bufs.len() - active.len() } else { 0 };
        let mut skip = Vec::new();
        for &c in &active {
            let ch = c as usize;
            let idle = self.bufs[ch].is_empty() && self.out[ch].is_empty() && self.credit[ch] > 0 && remote(ch);
            if windowed && idle && wm > self.sent_wm(ch) {
                self.sent_wm[ch] = wm;
                covered += 1;
            } else {
                self.flush_channel(ch, wm, windowed);
                skip.push(c);
            }
        }
        if covered > 0 {
            self.bcast_wm = wm;
        }
        // Idle remote channels at the broadcast watermark need no look until they hold something.
        active.retain(|&c| {
            let ch = c as usize;
            let keep = !(self.bufs[ch].is_empty()
                && self.out[ch].is_empty()
                && self.credit[ch] > 0
                && remote(ch)
                && (!windowed || self.sent_wm[ch] <= self.bcast_wm));
            self.listed[ch] = keep;
            keep
        });
        self.active = active;
        (covered > 0).then_some(skip)
    }

    /// Empties every buffer and output queue (a job restart); returns the records they held.
    pub fn clear(&mut self) -> u64 {
        let mut n = 0;
        for b in &mut self.bufs {
            n += b.len() as u64;
            b.clear();
        }
        self.full = 0;
        for q in &mut self.out {
            for o in q.drain(..) {
                if let Out::Data(r, _) = o {
                    n += r.len() as u64;
                }
            }
        }
        n
    }

    /// Whether nothing read is left to send (barriers aside).
    pub fn drained(&self) -> bool {
        self.reader.work.is_none()
            && self.bufs.iter().all(Vec::is_empty)
            && self.out.iter().all(|q| q.iter().all(|o| matches!(o, Out::Barrier(..))))
    }

    /// Unaligned barrier at the source: the data buffers queued on every channel, which the
    /// barrier overtakes (they are part of the snapshot), as `(channel, records, wm)`.
    pub fn overtaken(&self) -> Vec<(u32, Vec<Record>, SimTime)> {
        let mut v = Vec::new();
        for (ch, q) in self.out.iter().enumerate() {
            for o in q {
                if let Out::Data(r, wm) = o {
                    v.push((ch as u32, r.clone(), *wm));
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: u32) -> Record {
        Record {
            part: 0,
            offset,
            key: 1,
            value: 0,
            event_time: SimTime(1),
            arrival: SimTime(1),
            wm_before: SimTime::ZERO,
        }
    }

    #[test]
    fn a_flush_broadcasts_a_moved_watermark_only_on_remote_idle_channels_with_credit() {
        let mut s = Source::new(NodeId(0), 0, 5, 2, 10);
        s.buffer(0, record(0)); // a partly filled buffer
        s.push_out(2, Out::Data(vec![record(1)], SimTime(1)), false); // a buffer waiting
        s.push_out(3, Out::Data(vec![record(2)], SimTime(1)), false);
        s.pop_out(3);
        s.credit[3] = 0; // sent, and no credit left
        s.activate(4);
        let remote = |ch: usize| ch != 4; // channel 4 stays within the node
        let wm = SimTime(5);
        assert_eq!(s.flush_all(wm, true, remote), Some(vec![0, 2, 3, 4]));
        assert!(
            s.out[1].is_empty() && s.sent_wm(1) == wm,
            "channel 1 is in the broadcast"
        );
        assert!(matches!(s.out[0].back(), Some(Out::Data(r, w)) if r.len() == 1 && *w == wm));
        for ch in [2, 3, 4] {
            assert!(
                matches!(s.out[ch].back(), Some(Out::Data(r, w)) if r.is_empty() && *w == wm),
                "channel {ch} queues a bare watermark behind what it holds"
            );
        }
        assert!((0..5).all(|ch| s.sent_wm(ch) == wm) && s.sent_all(wm));
        assert_eq!(s.flush_all(wm, true, remote), None, "a watermark that did not move");
        assert_eq!(
            s.flush_all(SimTime(9), false, remote),
            None,
            "no watermarks without windows"
        );
        // Channels 0, 2 and 3 emptied and got their credit back: with channel 1, unlisted since
        // the first broadcast, the next one covers them; channel 4 still queues its own.
        for ch in [0, 2, 3, 4] {
            while s.pop_out(ch).is_some() {}
            s.credit[ch] = 2;
        }
        assert_eq!(s.listed(), &[0, 2, 3, 4]);
        assert_eq!(s.flush_all(SimTime(7), true, remote), Some(vec![4]));
        assert!((0..4).all(|ch| s.out[ch].is_empty()) && s.out[4].len() == 1);
        assert_eq!(s.listed(), &[4], "only the channel within the node stays listed");
        assert!(s.sent_all(SimTime(7)) && !s.sent_all(SimTime(8)));
    }

    #[test]
    fn reading_stops_while_some_output_queue_holds_its_limit() {
        let mut s = Source::new(NodeId(0), 0, 2, 2, 2);
        s.push_out(0, Out::Barrier(1, SimTime::ZERO), false);
        assert!(!s.backpressured());
        s.push_out(0, Out::Data(Vec::new(), SimTime(1)), true);
        s.push_out(1, Out::Data(Vec::new(), SimTime(1)), false);
        s.push_out(1, Out::Data(Vec::new(), SimTime(2)), false);
        s.push_out(1, Out::Data(Vec::new(), SimTime(3)), false);
        assert!(s.backpressured());
        s.pop_out(0);
        assert!(s.backpressured(), "channel 1 still holds 3");
        s.pop_out(1);
        assert!(s.backpressured(), "channel 1 still holds 2");
        s.pop_out(1);
        assert!(!s.backpressured());
        s.push_out(1, Out::Data(Vec::new(), SimTime(4)), false);
        assert!(s.backpressured());
        s.clear();
        assert!(!s.backpressured() && s.pop_out(1).is_none());
    }
}
