//! A source task: reads its partition of the log (the pipelined core's [`SourceReader`]), runs
//! the stateless chain, and writes the output into one network buffer per downstream channel.
//!
//! Invariants: every record of the partition below `reader.next` is in a current buffer, in an output
//! queue, or already sent; an output queue holds, in channel order, full or flushed buffers
//! waiting for credit and barriers waiting behind them; `credit[ch]` is how many buffers the
//! receiver of channel `ch` can still take; `sent_wm[ch]` is the last watermark that left on
//! channel `ch`, queued or in a broadcast.

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
    /// Last watermark queued per channel.
    pub sent_wm: Vec<SimTime>,
}

impl Source {
    /// A source on `node` at offset `next` with `channels` outputs and `credits` each.
    pub fn new(node: NodeId, next: u64, channels: usize, credits: u32) -> Source {
        Source {
            reader: SourceReader::new(node, next),
            deferred: None,
            bufs: vec![Vec::new(); channels],
            out: vec![VecDeque::new(); channels],
            credit: vec![credits; channels],
            sent_wm: vec![SimTime::ZERO; channels],
        }
    }

    /// Whether some channel's output queue is full, which stops reading (backpressure).
    pub fn backpressured(&self, limit: usize) -> bool {
        self.out.iter().any(|q| q.len() >= limit)
    }

    /// Moves channel `ch`'s current buffer (or, for windows, a bare watermark that moved) to its
    /// output queue.
    pub fn flush_channel(&mut self, ch: usize, wm: SimTime, windowed: bool) {
        if !self.bufs[ch].is_empty() {
            let recs = std::mem::take(&mut self.bufs[ch]);
            self.out[ch].push_back(Out::Data(recs, wm));
            self.sent_wm[ch] = self.sent_wm[ch].max(wm);
        } else if windowed && wm > self.sent_wm[ch] {
            self.out[ch].push_back(Out::Data(Vec::new(), wm));
            self.sent_wm[ch] = wm;
        }
    }

    /// Moves every partly filled buffer to its output queue (a flush). For windows, a watermark
    /// that moved reaches every other channel too: in the source's broadcast where the channel
    /// is `remote`, idle (nothing queued) and has credit, as a queued bare watermark otherwise.
    /// Returns the channels the broadcast does not cover, ascending, if it covers any.
    pub fn flush_all(&mut self, wm: SimTime, windowed: bool, remote: impl Fn(usize) -> bool) -> Option<Vec<u32>> {
        let n = self.bufs.len();
        if !windowed {
            (0..n).for_each(|ch| self.flush_channel(ch, wm, false));
            return None;
        }
        let mut skip = Vec::new();
        for ch in 0..n {
            let idle = self.bufs[ch].is_empty() && self.out[ch].is_empty() && self.credit[ch] > 0;
            if idle && wm > self.sent_wm[ch] && remote(ch) {
                self.sent_wm[ch] = wm;
            } else {
                self.flush_channel(ch, wm, true);
                skip.push(ch as u32);
            }
        }
        (skip.len() < n).then_some(skip)
    }

    /// Empties every buffer and output queue (a job restart); returns the records they held.
    pub fn clear(&mut self) -> u64 {
        let mut n = 0;
        for b in &mut self.bufs {
            n += b.len() as u64;
            b.clear();
        }
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
