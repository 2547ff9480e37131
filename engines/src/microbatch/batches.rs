//! Input and batches: receivers cutting and replicating blocks, the master closing a batch and
//! logging its allocation before submitting it, batch completion, commits and checkpoints.
//!
//! Invariants: blocks of a partition are allocated in offset order and only as a contiguous
//! prefix of received blocks, so batch n's input is `alloc_next` before it up to `end`; a batch
//! is submitted only once its allocation is durable, so a rerun after a master crash covers the
//! same records; transaction n is committed at most once (the sink remembers).

use super::MicroBatch;
use super::engine::{Clock, Msg, Tag};
use super::model::{Batch, Block, Kind, Loc, Status, Task};
use ftsim_sim::engine::Ctx;
use ftsim_sim::{NodeId, PartitionId, Record, SimTime, TxnId};

impl MicroBatch {
    /// Receiver `p` cuts a block of what has arrived since its last cut.
    pub(crate) fn on_receiver_tick(&mut self, p: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let avail = cx.log.available(PartitionId(p), cx.now());
        let from = self.receivers[p as usize].next;
        if avail > from {
            self.cut_block(p, from, avail, cx);
            self.receivers[p as usize].next = avail;
        }
        if self.receivers[p as usize].next < self.ends[p as usize] {
            let iv = self.cfg.block_interval.as_nanos();
            let at = SimTime((cx.now().0 / iv + 1) * iv);
            self.arm(Clock::Receiver(p), at, cx);
        }
    }

    fn per_r(&self, records: &[Record], cx: &Ctx<'_, Msg, Tag>) -> Vec<u32> {
        let mut v = vec![0u32; self.parallelism as usize];
        for r in records.iter().filter(|r| cx.sem.keeps(r)) {
            v[cx.sem.task_of(u64::from(r.key)) as usize] += 1;
        }
        v
    }

    fn cut_block(&mut self, p: u32, from: u64, to: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let node = self.receivers[p as usize].node;
        let per_r = self.per_r(cx.log.slice(PartitionId(p), from, to), cx);
        let targets = self.peers(node, self.cfg.block_replication.saturating_sub(1) as usize, &[node]);
        let b = self.blocks.len();
        let bytes = (to - from) * self.record_bytes;
        for t in &targets {
            cx.send_ft(node, *t, bytes, Msg::Replica(b));
        }
        let stored = targets.is_empty();
        if stored {
            cx.send(node, self.master, 64, Msg::Report(b));
        }
        self.blocks.push(Block {
            part: p,
            from,
            to,
            locs: vec![node],
            replicating: targets,
            stored,
            known: false,
            batch: None,
            per_r,
        });
        self.unallocated[p as usize].push_back(b);
    }

    /// Up to `count` live workers after `node` in ring order, skipping `exclude`.
    pub(crate) fn peers(&self, node: NodeId, count: usize, exclude: &[NodeId]) -> Vec<NodeId> {
        let n = self.workers.len();
        let start = self.workers.iter().position(|w| w.0 > node.0).unwrap_or(0);
        (0..n)
            .map(|i| self.workers[(start + i) % n])
            .filter(|w| !exclude.contains(w) && !self.dead.contains(w))
            .take(count)
            .collect()
    }

    /// A block copy reached replica `at`.
    pub(crate) fn on_replica(&mut self, b: usize, at: NodeId, cx: &mut Ctx<'_, Msg, Tag>) {
        let blk = &mut self.blocks[b];
        if !blk.replicating.contains(&at) {
            return;
        }
        blk.replicating.retain(|n| *n != at);
        blk.locs.push(at);
        if blk.replicating.is_empty() && !blk.stored {
            blk.stored = true;
            cx.send(at, self.master, 64, Msg::Report(b));
        }
    }

    /// The master's batch clock.
    pub(crate) fn on_batch_clock(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        self.next_batch_time = cx.now() + self.cfg.batch_interval;
        self.arm(Clock::Batch, self.next_batch_time, cx);
        if self.dstream() || (self.ss_idle() && !self.query_down) {
            self.generate_batch(cx);
        } else {
            self.trigger_due = true;
        }
    }

    /// Structured streaming runs one batch at a time: the last one's completion is logged.
    pub(crate) fn ss_idle(&self) -> bool {
        self.batches.values().all(|b| b.complete_durable)
    }

    fn all_input_taken(&self) -> bool {
        self.input_ended && self.alloc_next.iter().zip(&self.ends).all(|(a, e)| a == e)
    }

    /// Closes batch n: allocates input, logs the allocation; the job is submitted once logged.
    pub(crate) fn generate_batch(&mut self, cx: &mut Ctx<'_, Msg, Tag>) {
        if self.all_input_taken() {
            return;
        }
        self.trigger_due = false;
        let n = self.next_batch;
        self.next_batch += 1;
        let mut blocks = Vec::new();
        for p in 0..self.alloc_next.len() {
            if self.dstream() {
                while let Some(&b) = self.unallocated[p].front() {
                    let blk = &self.blocks[b];
                    if !(blk.known && blk.stored && blk.from == self.alloc_next[p]) {
                        break;
                    }
                    self.unallocated[p].pop_front();
                    self.alloc_next[p] = blk.to;
                    blocks.push(b);
                }
            } else {
                let end = cx.log.available(PartitionId(p as u32), cx.now());
                let start = self.alloc_next[p];
                let parts = self.alloc_next.len() as u64;
                let splits = (u64::from(self.cfg.min_partitions).div_ceil(parts)).clamp(1, (end - start).max(1));
                for i in 0..splits {
                    let (from, to) = (
                        start + (end - start) * i / splits,
                        start + (end - start) * (i + 1) / splits,
                    );
                    if to == from {
                        continue;
                    }
                    let per_r = self.per_r(cx.log.slice(PartitionId(p as u32), from, to), cx);
                    self.blocks.push(Block {
                        part: p as u32,
                        from,
                        to,
                        locs: Vec::new(),
                        replicating: Vec::new(),
                        stored: true,
                        known: true,
                        batch: None,
                        per_r,
                    });
                    blocks.push(self.blocks.len() - 1);
                }
                self.alloc_next[p] = end;
            }
            cx.progress(PartitionId(p as u32), self.alloc_next[p]);
        }
        let pn = self.parallelism as usize;
        let mut by_r: Vec<Vec<Record>> = (0..pn).map(|_| Vec::new()).collect();
        let mut records = 0;
        for &b in &blocks {
            let blk = &mut self.blocks[b];
            blk.batch = Some(n);
            records += blk.len();
            for r in cx.log.slice(PartitionId(blk.part), blk.from, blk.to) {
                if cx.sem.keeps(r) {
                    by_r[cx.sem.task_of(u64::from(r.key)) as usize].push(*r);
                }
            }
        }
        let count_r = by_r.iter().map(|v| v.len() as u64).collect();
        self.batches.insert(
            n,
            Batch {
                n,
                time: cx.now(),
                submitted: None,
                started: None,
                done: None,
                blocks,
                maps: Vec::new(),
                reduces: Vec::new(),
                end: self.alloc_next.clone(),
                records,
                by_r,
                count_r,
                outputs: vec![None; pn],
                state_bytes: vec![0; pn],
                delta_bytes: vec![0; pn],
                durable: false,
                complete_durable: false,
            },
        );
        cx.storage_write(self.master, self.meta_bytes(), false, Tag::MetaAlloc(n));
    }

    /// The allocation of batch n is durable: submit its job.
    pub(crate) fn submit(&mut self, n: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let Some(b) = self.batches.get_mut(&n) else { return };
        if b.durable {
            return;
        }
        b.durable = true;
        b.submitted = Some(cx.now());
        let blocks = b.blocks.clone();
        let mut maps = Vec::new();
        for blk in blocks {
            maps.push(self.new_task(Kind::Map { batch: n, block: blk }, (n, 0)));
        }
        let reduces = (0..self.parallelism)
            .map(|r| self.new_task(Kind::Reduce { batch: n, r }, (n, 1)))
            .collect();
        if let Some(b) = self.batches.get_mut(&n) {
            b.maps = maps;
            b.reduces = reduces;
        }
        self.schedule(cx);
    }

    /// Adds a task to the pending set.
    pub(crate) fn new_task(&mut self, kind: Kind, prio: (u64, u8)) -> usize {
        let t = self.tasks.len();
        self.tasks.push(Task {
            kind,
            status: Status::Waiting,
            out: Loc::Lost,
            attempts: Vec::new(),
            duration: None,
            prio,
        });
        self.pending.insert((prio.0, prio.1, t));
        t
    }

    /// Every reduce task of batch n is done: commit its output and log its completion.
    pub(crate) fn check_batch_done(&mut self, n: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let Some(b) = self.batches.get(&n) else { return };
        if b.done.is_some() || !b.durable || b.reduces.iter().any(|t| self.tasks[*t].status != Status::Done) {
            return;
        }
        if let Some(b) = self.batches.get_mut(&n) {
            b.done = Some(cx.now());
        }
        if self.committed.insert(n) {
            cx.commit_from(self.master, TxnId(n));
        }
        cx.storage_write(self.master, self.meta_bytes(), false, Tag::MetaDone(n));
    }

    /// Batch n's completion is in the metadata: its outputs will never be needed again.
    pub(crate) fn on_complete_durable(&mut self, n: u64, cx: &mut Ctx<'_, Msg, Tag>) {
        let dstream = self.dstream();
        if let Some(b) = self.batches.get_mut(&n) {
            b.complete_durable = true;
            b.outputs.iter_mut().for_each(|o| *o = None);
            if !dstream {
                b.by_r = Vec::new();
            }
        }
        if !dstream && self.trigger_due && self.ss_idle() && !self.query_down {
            self.generate_batch(cx);
        }
    }

    /// A state partition of batch n reached durable storage.
    pub(crate) fn on_ckpt_written(&mut self, n: u64, _r: u32, cx: &mut Ctx<'_, Msg, Tag>) {
        let c = self.ckpt_written.entry(n).or_insert(0);
        *c += 1;
        if *c < self.parallelism || n <= self.last_ckpt {
            return;
        }
        self.last_ckpt = n;
        cx.log_event("checkpoint", None, format!("state of batch {n} complete"));
        // Lineage before the checkpoint is dropped.
        for (_, b) in self.batches.range_mut(..=n) {
            b.by_r = Vec::new();
        }
    }
}
