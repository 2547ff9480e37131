//! The asynchronous barrier snapshot protocol.
//!
//! - The coordinator triggers checkpoint n at every source and records nothing else; each
//!   source snapshots its offset (and, unaligned, the output buffers its barrier overtakes),
//!   puts barrier n in every output channel, writes its snapshot and acknowledges.
//! - Aligned: a barrier is handled when it is next in the task's input; its input is blocked
//!   until barrier n came on every input; then the state is snapshotted (written
//!   asynchronously; processing goes on at once) and the inputs unblock.
//! - Unaligned (or aligned past `aligned_timeout`): the first barrier n to reach the task is
//!   acted on at once; the state is snapshotted, and every buffer that is before barrier n on
//!   its channel but not yet applied (the one being applied, queued ones, and ones that arrive
//!   until that channel's barrier) is kept as channel state, written when the last barrier came.
//! - At-least-once: barriers are counted, never block; the snapshot is taken at the last one.
//! - A task acknowledges once its writes are durable; the checkpoint completes when every task
//!   did. Completion commits every sink transaction up to n (two-phase commit).

use super::config::Mode;
use super::coord::Kept;
use super::engine::FlinkAbs;
use super::msg::{Msg, Tag, Who};
use super::source::Out;
use super::task::{In, TaskCkpt};
use crate::pipeline::HEADER_BYTES;
use ftsim_sim::SimTime;
use ftsim_sim::engine::{Ctx, Traffic};
use ftsim_sim::planted::Bug;

fn kept_bytes(kept: &[Kept], record_bytes: u64) -> u64 {
    kept.iter().map(|(_, r, _)| 16 + r.len() as u64 * record_bytes).sum()
}

impl FlinkAbs {
    /// The coordinator starts a checkpoint (the final one if `last`).
    pub(super) fn trigger(&mut self, cx: &mut Ctx<'_, Msg, Tag>, last: bool) {
        if !self.running || !self.master_alive || self.coord.pending.is_some() {
            return;
        }
        let now = cx.now();
        let id = self.coord.begin(now, self.sources.len(), self.tasks.len(), last);
        if last {
            self.final_id = Some(id);
        }
        cx.log_event(
            "checkpoint-start",
            Some(self.shape.master),
            format!("id {id}{}", if last { " (final)" } else { "" }),
        );
        for (p, s) in self.sources.iter().enumerate() {
            let msg = Msg::Trigger {
                id,
                part: p as u32,
                started: now,
            };
            cx.send_ft(self.shape.master, s.reader.node, 64, msg);
        }
        if self.cfg.mode == Mode::Aligned && self.cfg.aligned_timeout > ftsim_sim::SimDuration::ZERO {
            cx.set_node_timer(self.shape.master, self.cfg.aligned_timeout, Tag::AlignTimeout { id });
        }
    }

    /// Schedules the next periodic trigger: `interval` after the last start, and at least
    /// `min_pause` after now (the end of the last checkpoint).
    pub(super) fn schedule_next(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        self.coord.generation += 1;
        let after_start = self
            .coord
            .last_start
            .map_or(cx.now(), |s| s + self.cfg.checkpoint_interval);
        let at = after_start.max(cx.now() + self.cfg.min_pause);
        cx.set_node_timer_at(self.shape.master, at, Tag::Trigger);
    }

    /// Source `p` takes its part of checkpoint `id`.
    pub(super) fn source_snapshot(&mut self, p: u32, id: u64, started: SimTime, cx: &mut Ctx<'_, Msg, Tag>) {
        if self.sources[p as usize].reader.work.is_some() {
            self.sources[p as usize].deferred = Some((id, started));
            return;
        }
        self.flush(p, cx);
        let unaligned = self.cfg.mode == Mode::Unaligned
            || (self.cfg.mode == Mode::Aligned
                && self.cfg.aligned_timeout > ftsim_sim::SimDuration::ZERO
                && cx.now().since(started) >= self.cfg.aligned_timeout);
        let s = &mut self.sources[p as usize];
        let offset = s.reader.next;
        let kept = if unaligned { s.overtaken() } else { Vec::new() };
        // On a remote channel the barrier leaves at once (it overtakes the buffers when
        // unaligned, and the flush left nothing sendable before it) in one broadcast; where it
        // is aligned and buffers wait for credit it waits behind them, and a channel within the
        // node takes it as before (delivered at once).
        let mut skip = Vec::new();
        for ch in 0..s.out.len() {
            let local = self.tasks[ch].node == s.reader.node;
            if local || !(unaligned || s.out[ch].is_empty()) {
                s.push_out(ch, Out::Barrier(id, started), unaligned);
                skip.push(ch as u32);
            }
        }
        let inflight = kept_bytes(&kept, self.shape.record_bytes);
        let node = s.reader.node;
        if let Some(pend) = self.coord.pending_mut(id) {
            pend.offsets[p as usize] = Some(offset);
            pend.state_bytes += 16;
            pend.inflight_bytes += inflight;
            for k in kept {
                pend.src_inflight[k.0 as usize].push((p, k.1, k.2));
            }
        }
        let tag = Tag::Written {
            who: Who::Source(p),
            id,
        };
        cx.storage_write(node, 16 + inflight, true, tag);
        self.send_all(p, cx);
        let covered = self.tasks.len() - skip.len();
        if covered > 0 {
            let msg = Msg::Barriers {
                part: p,
                id,
                started,
                skip,
            };
            let bytes = covered as u64 * HEADER_BYTES;
            cx.send_many(
                node,
                self.shape.master,
                bytes,
                msg,
                Traffic::FaultTolerance,
                covered as u32,
            );
        }
    }

    /// Barrier `id` from source `part` reached task `task`.
    pub(super) fn on_barrier(&mut self, part: u32, task: u32, id: u64, started: SimTime, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = &self.tasks[task as usize];
        let timeout = self.cfg.aligned_timeout;
        let unaligned = match self.cfg.mode {
            Mode::Unaligned => true,
            Mode::AtLeastOnce => false,
            Mode::Aligned => {
                timeout > ftsim_sim::SimDuration::ZERO
                    && (cx.now().since(started) >= timeout
                        || t.ckpt.as_ref().is_some_and(|c| c.id == id && c.unaligned))
            }
        };
        if unaligned {
            self.go_unaligned(task, id, cx);
            self.count_barrier(task, part, id, cx);
            self.process(task, cx);
        } else {
            self.tasks[task as usize].input.push_back((part, In::Barrier(id)));
            self.process(task, cx);
        }
    }

    /// A barrier reached the head of task `i`'s input (aligned, at-least-once).
    pub(super) fn queued_barrier(&mut self, i: u32, ch: u32, id: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = &mut self.tasks[i as usize];
        if t.ckpt.as_ref().is_some_and(|c| c.id == id && c.unaligned) {
            // Switched to unaligned while this barrier waited: count it as an overtaking one.
            self.count_barrier(i, ch, id, cx);
            return;
        }
        let Some(progress) = t.align.on_barrier(ch as usize, id) else {
            return;
        };
        if progress.first {
            t.ckpt = Some(new_ckpt(id, cx.now(), t.in_flight.sources()));
        }
        if progress.complete {
            let blocked = self.cfg.mode == Mode::Aligned;
            if let Some(c) = t.ckpt.as_mut().filter(|c| c.id == id) {
                c.alignment = if blocked {
                    cx.now().since(c.first_at).as_secs_f64()
                } else {
                    0.0
                };
                c.complete = true;
            }
            self.snapshot(i, id, cx);
            self.channel_done(i, cx);
        }
    }

    /// Task `i` acts on checkpoint `id` without waiting: snapshot now, keep every buffer that is
    /// before barrier `id` on its channel and not yet applied.
    fn go_unaligned(&mut self, i: u32, id: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let now = cx.now();
        let t = &mut self.tasks[i as usize];
        let channels = t.in_flight.sources();
        match t.ckpt.as_mut() {
            Some(c) if c.id == id && (c.unaligned || c.complete) => return,
            Some(c) if c.id == id => {}
            _ => t.ckpt = Some(new_ckpt(id, now, channels)),
        }
        let aligning = t.align.pending() == Some(id);
        let has: Vec<bool> = (0..channels).map(|ch| aligning && t.align.has_barrier(ch)).collect();
        let Some(c) = t.ckpt.as_mut() else {
            return;
        };
        c.unaligned = true;
        if aligning && self.cfg.mode == Mode::Aligned {
            c.alignment = now.since(c.first_at).as_secs_f64();
        }
        let mut rec: Vec<bool> = has.iter().map(|h| !h).collect();
        if let Some((ch, records, wm, _, _)) = &t.current {
            c.inflight.push((*ch, records.clone(), *wm));
        }
        let mut found = Vec::new();
        t.input.retain(|(ch, item)| match item {
            In::Barrier(b) if *b == id && rec[*ch as usize] => {
                rec[*ch as usize] = false;
                found.push(*ch);
                false
            }
            In::Data { records, wm, .. } if rec[*ch as usize] => {
                c.inflight.push((*ch, records.clone(), *wm));
                true
            }
            _ => true,
        });
        c.recording = rec;
        t.align.release();
        self.snapshot(i, id, cx);
        for ch in found {
            self.count_barrier(i, ch, id, cx);
        }
    }

    /// Counts an overtaking barrier on channel `ch` of task `i`: that channel's in-flight data
    /// is complete; with the last one, the channel state is written.
    fn count_barrier(&mut self, i: u32, ch: u32, id: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = &mut self.tasks[i as usize];
        let Some(c) = t.ckpt.as_mut().filter(|c| c.id == id) else {
            return;
        };
        if let Some(r) = c.recording.get_mut(ch as usize) {
            *r = false;
        }
        if t.align.on_barrier(ch as usize, id).is_some_and(|p| p.complete) {
            c.complete = true;
            self.channel_done(i, cx);
        }
    }

    /// Task `i` snapshots its state for checkpoint `id` and writes it asynchronously; later
    /// emissions go to the next transaction.
    fn snapshot(&mut self, i: u32, id: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = &mut self.tasks[i as usize];
        let Some(c) = t.ckpt.as_mut().filter(|c| c.id == id && !c.snapshotted) else {
            return;
        };
        c.snapshotted = true;
        c.writes += 1;
        let closing = t.txn_ckpt;
        t.txn_ckpt = t.txn_ckpt.max(id + 1);
        if self.planted.has(Bug::CommitAtSnapshot) && self.open_txns.remove(&(closing, i)) {
            cx.commit(Self::txn(closing, i));
        }
        let bytes = t.state.size_bytes(self.shape.bytes_per_key);
        if let Some(p) = self.coord.pending_mut(id) {
            p.states[i as usize] = Some(t.state.clone());
            p.state_bytes += bytes;
        }
        let tag = Tag::Written { who: Who::Task(i), id };
        cx.storage_write(t.node, bytes, true, tag);
    }

    /// Every input of task `i` delivered its barrier: write the kept buffers (unaligned) and
    /// acknowledge once everything is durable.
    fn channel_done(&mut self, i: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = &mut self.tasks[i as usize];
        let Some(c) = t.ckpt.as_mut() else {
            return;
        };
        if !c.complete || !c.snapshotted || c.channel_written {
            return;
        }
        c.channel_written = true;
        let bytes = kept_bytes(&c.inflight, self.shape.record_bytes);
        if let Some(p) = self.coord.pending_mut(c.id) {
            p.inflight[i as usize] = std::mem::take(&mut c.inflight);
            p.inflight_bytes += bytes;
            p.alignment = p.alignment.max(c.alignment);
        }
        if bytes > 0 {
            c.writes += 1;
            let tag = Tag::Written {
                who: Who::Task(i),
                id: c.id,
            };
            cx.storage_write(t.node, bytes, true, tag);
        }
        self.maybe_ack(i, cx);
    }

    fn maybe_ack(&mut self, i: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let t = &mut self.tasks[i as usize];
        if let Some(id) = t
            .ckpt
            .as_ref()
            .filter(|c| c.snapshotted && c.complete && c.channel_written && c.writes == 0)
            .map(|c| c.id)
        {
            t.ckpt = None;
            self.ack(Who::Task(i), id, cx);
        }
    }

    /// A snapshot write finished.
    pub(super) fn written(&mut self, who: Who, id: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        match who {
            Who::Source(_) => self.ack(who, id, cx),
            Who::Task(i) => {
                if let Some(c) = self.tasks[i as usize].ckpt.as_mut().filter(|c| c.id == id) {
                    c.writes = c.writes.saturating_sub(1);
                    self.maybe_ack(i, cx);
                }
            }
        }
    }

    /// The coordinator got an acknowledgement; on the last one the checkpoint completes and
    /// every transaction up to it commits.
    pub(super) fn on_ack(&mut self, id: u64, _who: Who, cx: &mut Ctx<'_, Msg, Tag>) {
        let needed = self.sources.len() + self.tasks.len();
        let Some(done) = self.coord.ack(id, cx.now(), needed) else {
            return;
        };
        let committed: Vec<(u64, u32)> = self.open_txns.range(..=(id, u32::MAX)).copied().collect();
        for (n, task) in &committed {
            cx.commit_from(self.shape.master, Self::txn(*n, *task));
            self.open_txns.remove(&(*n, *task));
        }
        cx.log_event(
            "checkpoint-complete",
            Some(self.shape.master),
            format!("id {id}, {} transactions committed", committed.len()),
        );
        if !done.last {
            self.schedule_next(cx);
        }
    }

    /// Aligned checkpoint `id` ran for `aligned_timeout`: barriers still queued at sources
    /// overtake their buffers, and tasks still aligning switch to unaligned.
    pub(super) fn align_timeout(&mut self, id: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        if self.coord.pending_mut(id).is_none() || !self.running {
            return;
        }
        for p in 0..self.sources.len() as u32 {
            let s = &mut self.sources[p as usize];
            let mut kept: Vec<Kept> = Vec::new();
            for (ch, q) in s.out.iter_mut().enumerate() {
                let Some(pos) = q.iter().position(|o| matches!(o, Out::Barrier(b, _) if *b == id)) else {
                    continue;
                };
                for o in q.iter().take(pos) {
                    if let Out::Data(r, wm) = o {
                        kept.push((ch as u32, r.clone(), *wm));
                    }
                }
                if let Some(b) = q.remove(pos) {
                    q.push_front(b);
                }
            }
            if !kept.is_empty() {
                let bytes = kept_bytes(&kept, self.shape.record_bytes);
                let node = s.reader.node;
                if let Some(pend) = self.coord.pending_mut(id) {
                    pend.inflight_bytes += bytes;
                    for k in kept {
                        pend.src_inflight[k.0 as usize].push((p, k.1, k.2));
                    }
                }
                // Written without a separate acknowledgement (the source acknowledged its offset).
                cx.storage_write(node, bytes, true, Tag::Unawaited);
            }
            self.send_all(p, cx);
        }
        for i in 0..self.tasks.len() as u32 {
            let t = &self.tasks[i as usize];
            let aligning = t
                .ckpt
                .as_ref()
                .is_some_and(|c| c.id == id && !c.unaligned && !c.complete);
            let queued = t.input.iter().any(|(_, it)| matches!(it, In::Barrier(b) if *b == id));
            if aligning || queued {
                self.go_unaligned(i, id, cx);
                self.process(i, cx);
            }
        }
    }
}

fn new_ckpt(id: u64, now: SimTime, channels: usize) -> TaskCkpt {
    TaskCkpt {
        id,
        first_at: now,
        snapshotted: false,
        unaligned: false,
        complete: false,
        writes: 0,
        channel_written: false,
        recording: vec![false; channels],
        inflight: Vec::new(),
        alignment: 0.0,
    }
}
