//! The pipelined dataflow: sources read and buffer, buffers travel under credit-based flow
//! control, stateful tasks apply one buffer at a time and emit into their open transaction.
//!
//! Backpressure: a receiver returns a credit only once it has applied a buffer, a sender sends
//! only with credit, and a source whose output queue on some channel holds `output_buffers`
//! buffers stops reading its partition, so the log's backlog grows.
//!
//! Bare watermarks: a flush whose watermark moved sends it on the remote idle channels with
//! credit in one broadcast (`Msg::Watermarks`, counted per channel); every other channel queues
//! its own. Invariants: a broadcast covers a channel only if nothing is queued on it, so it
//! never overtakes a buffer; `wm_in_flight` counts the broadcasts sent and not delivered in
//! this attempt and `wm_arrived` those delivered and not yet taken, and the job is drained only
//! when both are empty; arrived broadcasts are taken before any other event is handled.

use super::engine::{Broadcast, FlinkAbs};
use super::msg::{Msg, Tag};
use super::source::Out;
use super::task::In;
use crate::pipeline::{CoreTag, HEADER_BYTES, apply_batch};
use ftsim_sim::engine::{Ctx, Flow, Traffic};
use ftsim_sim::{Output, PartitionId, Record, SimDuration, SimTime};

impl FlinkAbs {
    /// Source `p` reads what the log has, unless the job is down or the source backpressured.
    pub(super) fn poll(&mut self, p: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        if !self.running {
            return;
        }
        let s = &mut self.sources[p as usize];
        if s.reader.work.is_some() || s.backpressured() {
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
            if s.buffer(ch, *r) >= cap {
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

    /// Moves every partly filled buffer of source `p` to its output queue and sends; a moved
    /// watermark reaches the idle channels in one broadcast after the buffers.
    pub(super) fn flush(&mut self, p: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let wm = cx
            .log
            .watermark_at(PartitionId(p), self.sources[p as usize].reader.next);
        let (tasks, s) = (&self.tasks, &mut self.sources[p as usize]);
        let node = s.reader.node;
        let skip = s.flush_all(wm, self.shape.windowed, |ch| tasks[ch].node != node);
        self.send_all(p, cx);
        if let Some(skip) = skip {
            let covered = self.tasks.len() - skip.len();
            self.wm_in_flight += 1;
            let msg = Msg::Watermarks { part: p, wm, skip };
            let bytes = covered as u64 * self.shape.batch_bytes(0);
            cx.send_many(node, self.shape.master, bytes, msg, Traffic::Data, covered as u32);
        }
    }

    /// Sends what can leave on every channel of source `p` that holds something.
    pub(super) fn send_all(&mut self, p: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let listed = self.sources[p as usize].listed().to_vec();
        for ch in listed {
            self.send_channel(p, ch, cx);
        }
    }

    /// Sends from the head of channel `p → ch`'s output queue: barriers always, buffers while
    /// there is credit.
    pub(super) fn send_channel(&mut self, p: u32, ch: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let to = self.tasks[ch as usize].node;
        loop {
            let s = &mut self.sources[p as usize];
            match s.out[ch as usize].front() {
                Some(Out::Barrier(id, started)) => {
                    let (id, started) = (*id, *started);
                    s.pop_out(ch as usize);
                    let msg = Msg::Barrier {
                        part: p,
                        task: ch,
                        id,
                        started,
                    };
                    cx.send_ft(s.reader.node, to, HEADER_BYTES, msg);
                }
                Some(Out::Data(..)) if s.credit[ch as usize] > 0 => {
                    let Some(Out::Data(records, wm)) = s.pop_out(ch as usize) else {
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

    /// Source `part`'s bare watermark `wm` reached every task but those in `skip`; the
    /// broadcasts that arrive at this instant are taken together, once all are in.
    pub(super) fn on_watermarks(&mut self, part: u32, wm: SimTime, skip: Vec<u32>, cx: &mut Ctx<'_, Msg, Tag>) {
        self.wm_in_flight = self.wm_in_flight.saturating_sub(1);
        if self.wm_arrived.is_empty() {
            cx.set_timer(SimDuration::ZERO, Tag::Watermarks);
        }
        self.wm_arrived.push(Broadcast { part, wm, skip });
    }

    /// Every task takes the bare watermarks of the broadcasts that arrived at this instant as
    /// the watermark-only buffers they stand for would be taken on arrival, in arrival order:
    /// kept as channel state while an unaligned checkpoint records the channel, applied at once
    /// if nothing is queued, being applied or blocked at the task (all of a task's at once, which
    /// emits what applying them one by one would), queued behind otherwise. Each task announces
    /// the buffers' credits in one transmission (they hold none in the model: see the module docs).
    pub(super) fn take_watermarks(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        let arrived = std::mem::take(&mut self.wm_arrived);
        if !self.running || arrived.is_empty() {
            return;
        }
        let mut cursor = vec![0usize; arrived.len()];
        let mut raises = Vec::new();
        let mut applied = false;
        for i in 0..self.tasks.len() as u32 {
            raises.clear();
            let mut queued = false;
            let mut taken = 0;
            let t = &mut self.tasks[i as usize];
            for (b, at) in arrived.iter().zip(cursor.iter_mut()) {
                if b.skip.get(*at) == Some(&i) {
                    *at += 1;
                    continue;
                }
                taken += 1;
                if let Some(c) = t.ckpt.as_mut()
                    && c.unaligned
                    && !c.complete
                    && c.recording[b.part as usize]
                {
                    c.inflight.push((b.part, Vec::new(), b.wm));
                }
                if t.current.is_none() && t.input.is_empty() && !t.align.is_blocked(b.part as usize) {
                    raises.push((b.part, b.wm));
                } else {
                    let item = In::Data {
                        records: Vec::new(),
                        wm: b.wm,
                        credit: false,
                    };
                    t.input.push_back((b.part, item));
                    queued = true;
                }
            }
            if !raises.is_empty() {
                let mut out = Vec::new();
                t.state.advance_many(cx.sem, raises.iter().copied(), &mut out);
                self.emit(i, out, cx);
                applied = true;
            }
            if taken > 0 {
                let bytes = 16 * u64::from(taken);
                let node = self.tasks[i as usize].node;
                cx.send_many(node, self.shape.master, bytes, Msg::Credits, Traffic::Data, taken);
            }
            if queued {
                self.process(i, cx);
            }
        }
        if applied {
            cx.records(Flow::Applied, 0);
        }
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
        self.emit(i, out, cx);
        if credit {
            let t = &self.tasks[i as usize];
            let msg = Msg::Credit { part: ch, task: i };
            cx.send(t.node, self.sources[ch as usize].reader.node, 16, msg);
        }
    }

    /// Emits what task `i` produced, in its open transaction with a transactional sink.
    fn emit(&mut self, i: u32, out: Vec<Output>, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = &self.tasks[i as usize];
        if !out.is_empty() {
            let txn = if self.shape.transactional() {
                self.open_txns.insert((t.txn_ckpt, i));
                Some(Self::txn(t.txn_ckpt, i))
            } else {
                None
            };
            cx.emit(t.node, out, txn);
        }
    }
}
