//! A stateful task: one input queue per source channel, processed one buffer at a time in
//! arrival order, skipping inputs that alignment blocks.
//!
//! Invariants: `input` holds buffers and (aligned, at-least-once) barriers in arrival order;
//! the buffer being applied is in `current`, not in `input`; `in_flight[ch]` counts buffers sent
//! on channel `ch` and not yet received in this attempt; a checkpoint in progress (`ckpt`) is
//! acknowledged once its snapshot was taken, every input delivered its barrier and all its
//! writes are durable.

use super::align::Aligner;
use crate::pipeline::InFlight;
use ftsim_sim::{NodeId, OperatorState, Record, SimTime, WorkId};
use std::collections::VecDeque;

/// An element of an input queue.
#[derive(Debug, Clone)]
pub enum In {
    /// A buffer; `credit` is false for buffers restored from a checkpoint (they hold no credit).
    Data {
        /// Records.
        records: Vec<Record>,
        /// Watermark after them.
        wm: SimTime,
        /// Whether a credit goes back once it is applied.
        credit: bool,
    },
    /// A barrier waiting its turn (aligned and at-least-once modes).
    Barrier(u64),
}

/// The checkpoint a task is taking part in.
#[derive(Debug, Clone)]
pub struct TaskCkpt {
    /// Checkpoint id.
    pub id: u64,
    /// When its first barrier reached the task.
    pub first_at: SimTime,
    /// The state snapshot was taken.
    pub snapshotted: bool,
    /// Barriers overtake buffers (unaligned, or aligned after the timeout).
    pub unaligned: bool,
    /// Every input delivered its barrier.
    pub complete: bool,
    /// Writes issued and not yet durable.
    pub writes: u32,
    /// Channel-state write issued.
    pub channel_written: bool,
    /// Inputs still recording in-flight buffers (unaligned).
    pub recording: Vec<bool>,
    /// Recorded in-flight buffers `(channel, records, wm)`, in arrival order.
    pub inflight: Vec<(u32, Vec<Record>, SimTime)>,
    /// Time inputs were blocked.
    pub alignment: f64,
}

/// A stateful task.
#[derive(Debug)]
pub struct Task {
    /// Where it runs.
    pub node: NodeId,
    /// Operator state.
    pub state: OperatorState,
    /// Input queue, all channels, arrival order.
    pub input: VecDeque<(u32, In)>,
    /// Buffer being applied and its work id.
    pub current: Option<(u32, Vec<Record>, SimTime, bool, WorkId)>,
    /// Barrier alignment.
    pub align: Aligner,
    /// Checkpoint in progress.
    pub ckpt: Option<TaskCkpt>,
    /// Checkpoint id whose transaction takes this task's emissions.
    pub txn_ckpt: u64,
    /// Buffers in flight per channel.
    pub in_flight: InFlight,
}

impl Task {
    /// A task on `node` with `state` and `channels` inputs.
    pub fn new(node: NodeId, state: OperatorState, channels: usize, blocking: bool, txn_ckpt: u64) -> Task {
        Task {
            node,
            state,
            input: VecDeque::new(),
            current: None,
            align: Aligner::new(channels, blocking),
            ckpt: None,
            txn_ckpt,
            in_flight: InFlight::new(channels as u32),
        }
    }

    /// Index in `input` of the next element to handle: the oldest on an unblocked channel.
    pub fn next_index(&self) -> Option<usize> {
        self.input
            .iter()
            .position(|(ch, _)| !self.align.is_blocked(*ch as usize))
    }

    /// Forgets the input queue and any checkpoint in progress (a job restart); returns the
    /// records the queue held.
    pub fn clear(&mut self) -> u64 {
        let mut n = 0;
        for (_, item) in self.input.drain(..) {
            if let In::Data { records, .. } = item {
                n += records.len() as u64;
            }
        }
        self.ckpt = None;
        self.align.reset();
        n
    }

    /// Whether no record is queued, in flight or being applied.
    pub fn drained(&self) -> bool {
        self.current.is_none()
            && self.in_flight.is_empty()
            && self.input.iter().all(|(_, i)| matches!(i, In::Barrier(_)))
    }
}
