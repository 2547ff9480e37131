//! The pipelined dataflow: sources read and buffer, buffers travel under credit-based flow
//! control, stateful tasks apply one buffer at a time and emit into their open transaction.
//!
//! Backpressure: a receiver returns a credit only once it has applied a buffer, a sender sends
//! only with credit, and a source whose output queue on some channel holds `output_buffers`
//! buffers stops reading its partition, so the log's backlog grows.

use super::engine::FlinkAbs;
use super::msg::{Msg, Tag};
use super::source::Out;
use super::task::In;
use crate::pipeline::{CoreTag, HEADER_BYTES, apply_batch};
use ftsim_sim::engine::{Ctx, Flow};
use ftsim_sim::{PartitionId, Record, SimTime};

impl FlinkAbs {
    /// Source `p` reads what the log has, unless the job is down or the source backpressured.
    pub(super) fn poll(&mut self, p: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        if !self.running {
            return;
        }
        let s = &mut self.sources[p as usize];
        if s.reader.work.is_some() || s.backpressured(self.cfg.output_buffers) {
            return;
        }
        s.reader.poll(p, &self.read, u64::MAX, cx);
    }

    /// Source `p` ran the stateless chain over `from..to`: the records go into their channels'
    /// buffers; full buffers are queued and sent as credit allows.
    pub(super) fn read_done(&mut self, p: u32, from: u64, to: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let part = PartitionId(p);
        let (windowed, cap) = (self.shape.windowed, self.buffer_records);
        let s = &mut self.sources[p as usize];
        s.reader.read_done(to);
        let mut kept = 0;
        // Channels whose output queue grew: the only ones this read can let send.
        let mut grew = Vec::new();
        for r in cx.log.slice(part, from, to).iter().filter(|r| cx.sem.keeps(r)) {
            kept += 1;
            let ch = cx.sem.task_of(u64::from(r.key)) as usize;
            s.bufs[ch].push(*r);
            if s.bufs[ch].len() >= cap {
                s.flush_channel(ch, cx.log.watermark_at(part, u64::from(r.offset) + 1), windowed);
                grew.push(ch as u32);
            }
        }
        cx.records(Flow::Read, to - from);
        cx.records(Flow::Filtered, to - from - kept);
        cx.progress(part, to);
        if let Some((id, started)) = s.deferred.take() {
            self.source_snapshot(p, id, started, cx);
        }
        if to == self.ends[p as usize] {
            self.flush(p, cx);
        } else {
            // Every other channel's head is a buffer waiting for credit, or nothing: barriers
            // leave as soon as they reach the head.
            grew.sort_unstable();
            grew.dedup();
            for ch in grew {
                self.send_channel(p, ch, cx);
            }
        }
        self.poll(p, cx);
    }

    /// Moves every partly filled buffer of source `p` to its output queue and sends.
    pub(super) fn flush(&mut self, p: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let wm = cx
            .log
            .watermark_at(PartitionId(p), self.sources[p as usize].reader.next);
        let windowed = self.shape.windowed;
        let s = &mut self.sources[p as usize];
        for ch in 0..s.bufs.len() {
            s.flush_channel(ch, wm, windowed);
        }
        self.send_all(p, cx);
    }

    pub(super) fn send_all(&mut self, p: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        for ch in 0..self.tasks.len() as u32 {
            self.send_channel(p, ch, cx);
        }
    }

    /// Sends from the head of channel `p → ch`'s output queue: barriers always, buffers while
    /// there is credit.
    pub(super) fn send_channel(&mut self, p: u32, ch: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let to = self.tasks[ch as usize].node;
        loop {
            let s = &mut self.sources[p as usize];
            let q = &mut s.out[ch as usize];
            match q.front() {
                Some(Out::Barrier(id, started)) => {
                    let (id, started) = (*id, *started);
                    q.pop_front();
                    let msg = Msg::Barrier {
                        part: p,
                        task: ch,
                        id,
                        started,
                    };
                    cx.send_ft(s.reader.node, to, HEADER_BYTES, msg);
                }
                Some(Out::Data(..)) if s.credit[ch as usize] > 0 => {
                    let Some(Out::Data(records, wm)) = q.pop_front() else {
                        return;
                    };
                    s.credit[ch as usize] -= 1;
                    self.tasks[ch as usize].in_flight.sent(p);
                    let bytes = self.shape.batch_bytes(records.len());
                    let msg = Msg::Data {
                        part: p,
                        task: ch,
                        records,
                        wm,
                    };
                    cx.send(s.reader.node, to, bytes, msg);
                }
                _ => return,
            }
        }
    }

    /// A credit came back to source `p` for channel `p → task`.
    pub(super) fn on_credit(&mut self, p: u32, task: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        self.sources[p as usize].credit[task as usize] += 1;
        self.send_channel(p, task, cx);
        self.poll(p, cx);
    }

    /// A buffer reached task `task` from source `part`.
    pub(super) fn on_data(
        &mut self,
        part: u32,
        task: u32,
        records: Vec<Record>,
        wm: SimTime,
        cx: &mut Ctx<'_, Msg, Tag>,
    ) {
        let t = &mut self.tasks[task as usize];
        t.in_flight.arrived(part);
        if let Some(c) = t.ckpt.as_mut()
            && c.unaligned
            && !c.complete
            && c.recording[part as usize]
        {
            c.inflight.push((part, records.clone(), wm));
        }
        t.input.push_back((
            part,
            In::Data {
                records,
                wm,
                credit: true,
            },
        ));
        self.process(task, cx);
    }

    /// Task `i` takes the next element it may handle: barriers are acted on at once, a bare
    /// watermark is applied at once, a buffer of records goes to a core.
    pub(super) fn process(&mut self, i: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        loop {
            if !self.running {
                return;
            }
            let t = &mut self.tasks[i as usize];
            if t.current.is_some() {
                return;
            }
            let Some(idx) = t.next_index() else {
                return;
            };
            let Some((ch, item)) = t.input.remove(idx) else {
                return;
            };
            match item {
                In::Barrier(id) => self.queued_barrier(i, ch, id, cx),
                In::Data { records, wm, credit } if records.is_empty() => self.apply(i, ch, &records, wm, credit, cx),
                In::Data { records, wm, credit } => {
                    let work = self.shape.state_cost.mul(records.len() as u64);
                    let id = cx.compute(t.node, work, CoreTag::Apply { task: i }.into());
                    t.current = Some((ch, records, wm, credit, id));
                    return;
                }
            }
        }
    }

    /// Task `i` finished the CPU work of its current buffer.
    pub(super) fn applied(&mut self, i: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        if let Some((ch, records, wm, credit, _)) = self.tasks[i as usize].current.take() {
            self.apply(i, ch, &records, wm, credit, cx);
        }
        self.process(i, cx);
    }

    /// Applies a buffer to task `i`'s state, emits (in the open transaction with a
    /// transactional sink) and returns the buffer's credit.
    fn apply(&mut self, i: u32, ch: u32, records: &[Record], wm: SimTime, credit: bool, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = &mut self.tasks[i as usize];
        let out = apply_batch(&mut t.state, cx.sem, ch, records, wm);
        cx.records(Flow::Applied, records.len() as u64);
        if !out.is_empty() {
            let txn = if self.shape.transactional() {
                self.open_txns.insert((t.txn_ckpt, i));
                Some(Self::txn(t.txn_ckpt, i))
            } else {
                None
            };
            cx.emit(t.node, out, txn);
        }
        if credit {
            let msg = Msg::Credit { part: ch, task: i };
            cx.send(t.node, self.sources[ch as usize].reader.node, 16, msg);
        }
    }
}
