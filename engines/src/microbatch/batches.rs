//! Batches: the master closing a batch over the input the policy allocates, logging the
//! allocation before submitting its job, batch completion and the commit of its output.
//!
//! Invariants: a partition's input is allocated in offset order, so batch n's input is
//! `alloc_next` before it up to `end`; a batch is submitted only once its allocation is durable,
//! so a rerun after a master crash covers the same records; transaction n is committed at most
//! once (the sink remembers); a batch's records are counted read (and its filtered ones
//! filtered) when it is allocated.

use super::model::{Batch, Block, BlockId, Input, Kind, Shuffle, Task};
use super::protocol::{Clock, Tag};
use super::share::Shares;
use super::{Cx, MicroBatch, Policy};
use ftsim_sim::engine::Flow;
use ftsim_sim::{BatchWatermarks, NodeId, PartitionId, Record, TxnId};

impl<P: Policy> MicroBatch<P> {
    /// Filtered records of `records` per reduce partition, for the partitions that have some.
    fn per_r(records: &[Record], cx: &Cx<'_, P>) -> Vec<(u32, u32)> {
        let mut v: Vec<u32> = records
            .iter()
            .filter(|r| cx.sem.keeps(r))
            .map(|r| cx.sem.task_of(u64::from(r.key)))
            .collect();
        v.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::new();
        for r in v {
            match out.last_mut() {
                Some((q, n)) if *q == r => *n += 1,
                _ => out.push((r, 1)),
            }
        }
        out
    }

    /// Adds a block over offsets `from..to` of partition `part`, held in memory by `locs`.
    pub(crate) fn new_block(&mut self, part: u32, from: u64, to: u64, locs: Vec<NodeId>, cx: &Cx<'_, P>) -> BlockId {
        let per_r = Self::per_r(&cx.log.slice(PartitionId(part), from, to), cx);
        self.blocks.push(Block {
            part,
            from,
            to,
            locs,
            batch: None,
            per_r,
        });
        self.blocks.len() - 1
    }

    /// The batches after batch `after` up to batch `to`, in order (none if `to` ≤ `after`).
    pub(crate) fn batches_in(&self, after: u64, to: u64) -> impl Iterator<Item = &Batch> {
        self.batches.range(after + 1..after.max(to) + 1).map(|(_, b)| b)
    }

    /// The master's batch clock.
    pub(crate) fn on_batch_clock(&mut self, cx: &mut Cx<'_, P>) {
        self.next_batch_time = cx.now() + self.cfg.batch_interval;
        self.arm(Clock::Batch, self.next_batch_time, cx);
        P::batch_clock(self, cx);
    }

    fn all_input_taken(&self) -> bool {
        self.input_ended && self.alloc_next.iter().zip(&self.ends).all(|(a, e)| a == e)
    }

    /// Closes batch n: allocates input, logs the allocation; the job is submitted once logged.
    pub(crate) fn generate_batch(&mut self, cx: &mut Cx<'_, P>) {
        if self.all_input_taken() {
            return;
        }
        let n = self.next_batch;
        self.next_batch += 1;
        let blocks = P::allocate(self, cx);
        for p in 0..self.alloc_next.len() {
            cx.progress(PartitionId(p as u32), self.alloc_next[p]);
        }
        let pn = self.parallelism as usize;
        let mut shares = Shares::new(cx.sem);
        let mut count_r = vec![0u64; pn];
        let mut records = 0;
        for &b in &blocks {
            let blk = &mut self.blocks[b];
            blk.batch = Some(n);
            records += blk.len();
            cx.log.each(PartitionId(blk.part), blk.from, blk.to, |rec| {
                if cx.sem.keeps(rec) {
                    let r = cx.sem.task_of(u64::from(rec.key));
                    count_r[r as usize] += 1;
                    shares.push(cx.sem, r, rec);
                }
            });
        }
        cx.records(Flow::Read, records);
        cx.records(Flow::Filtered, records - count_r.iter().sum::<u64>());
        let wms = self.windowed.then(|| {
            let raw = (0..self.alloc_next.len())
                .map(|p| cx.log.watermark_at(PartitionId(p as u32), self.alloc_next[p]))
                .collect();
            let before = self.batches.range(..n).next_back().and_then(|(_, b)| b.wms.as_ref());
            BatchWatermarks::new(raw, before)
        });
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
                maps_ready: 0,
                reduces_done: 0,
                shuffle: Shuffle::default(),
                end: self.alloc_next.clone(),
                wms,
                records,
                input: Input::Held(shares.finish()),
                count_r,
                applied: vec![false; pn],
                state_bytes: vec![0; pn],
                delta_bytes: vec![0; pn],
                durable: false,
                complete_durable: false,
            },
        );
        cx.storage_write(self.master, self.meta_bytes(), false, Tag::MetaAlloc(n));
    }

    /// The allocation of batch n is durable: submit its job.
    pub(crate) fn submit(&mut self, n: u64, cx: &mut Cx<'_, P>) {
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
        let shuffle = {
            let blocks: Vec<&Block> = self.batches[&n].blocks.iter().map(|b| &self.blocks[*b]).collect();
            Shuffle::new(&blocks, self.parallelism as usize)
        };
        if let Some(b) = self.batches.get_mut(&n) {
            b.maps = maps;
            b.reduces = reduces;
            b.shuffle = shuffle;
        }
        self.schedule(cx);
    }

    /// Adds a task to the pending set.
    pub(crate) fn new_task(&mut self, kind: Kind<P::Job>, prio: (u64, u8)) -> usize {
        let t = self.tasks.len();
        self.tasks.push(Task::new(kind, prio));
        self.pending.insert((prio.0, prio.1, t), matches!(kind, Kind::Job(_)));
        t
    }

    /// Every reduce task of batch n is done: commit its output and log its completion.
    pub(crate) fn check_batch_done(&mut self, n: u64, cx: &mut Cx<'_, P>) {
        let Some(b) = self.batches.get(&n) else { return };
        if !self.master_up || b.done.is_some() || !b.durable || b.reduces_done < b.reduces.len() {
            return;
        }
        if let Some(b) = self.batches.get_mut(&n) {
            b.done = Some(cx.now());
        }
        while self.batches.get(&self.done_below).is_some_and(|b| b.done.is_some()) {
            self.done_below += 1;
        }
        if self.committed.insert(n) {
            cx.commit_from(self.master, TxnId(n));
        }
        cx.storage_write(self.master, self.meta_bytes(), false, Tag::MetaDone(n));
    }

    /// Batch n's completion is in the metadata: it will never run again.
    pub(crate) fn on_complete_durable(&mut self, n: u64, cx: &mut Cx<'_, P>) {
        if let Some(b) = self.batches.get_mut(&n) {
            b.complete_durable = true;
        }
        P::batch_durable(self, n, cx);
    }
}
