//! A state partition's share of a batch's input, as the map side hands it to the reduce.
//!
//! A running count emits one output per record, so its share is the records themselves. A
//! window count's operator only adds each record to the windows it counts in, which commutes, so
//! its share is combined on the map side (as Spark's partial aggregation before a shuffle does):
//! records per (window, key) and per key, a few words per distinct pair instead of per record.
//!
//! Invariant: applying a share to a state gives the state that applying its records one by one
//! in log order gives (windows are added to only once every record is in: `closed` does not move
//! while a batch is applied), and [`Share::keys`] is the share's distinct keys with their record
//! counts, sorted by key.

use ftsim_sim::scenario::JobKind;
use ftsim_sim::{OperatorState, Output, Record, Semantics};
use rustc_hash::FxHashMap;

/// One state partition's share of one batch.
#[derive(Debug)]
pub enum Share {
    /// The records, in order (running count).
    Records(Vec<Record>),
    /// Combined (window count).
    Windows {
        /// Records per key, sorted by key.
        keys: Vec<(u32, u64)>,
        /// Records per (window start, key), sorted.
        counts: Vec<(u64, u32, u64)>,
    },
}

impl Share {
    /// Distinct keys and their record counts, sorted by key.
    pub fn keys(&self) -> Vec<(u32, u64)> {
        match self {
            Share::Records(recs) => keys_of(recs.iter()),
            Share::Windows { keys, .. } => keys.clone(),
        }
    }

    /// Applies the share to `state`, appending what the operator emits to `out`.
    pub fn apply(&self, sem: &Semantics, state: &mut OperatorState, out: &mut Vec<Output>) {
        match self {
            Share::Records(recs) => recs.iter().for_each(|r| state.apply(sem, r, out)),
            Share::Windows { counts, .. } => {
                for &(start, key, n) in counts {
                    state.add_to_window(sem, start, u64::from(key), n);
                }
            }
        }
    }
}

/// Distinct keys of `records` with their record counts, sorted by key.
pub fn keys_of<'a>(records: impl Iterator<Item = &'a Record>) -> Vec<(u32, u64)> {
    let mut keys: FxHashMap<u32, u64> = FxHashMap::default();
    for r in records {
        *keys.entry(r.key).or_insert(0) += 1;
    }
    let mut keys: Vec<(u32, u64)> = keys.into_iter().collect();
    keys.sort_unstable();
    keys
}

/// Builds the shares of every state partition from a batch's records, in log order.
#[derive(Debug)]
pub struct Shares {
    windowed: bool,
    records: Vec<Vec<Record>>,
    keys: Vec<FxHashMap<u32, u64>>,
    counts: Vec<FxHashMap<(u64, u32), u64>>,
}

impl Shares {
    /// Empty shares for the job's state partitions.
    pub fn new(sem: &Semantics) -> Shares {
        let pn = sem.parallelism as usize;
        let windowed = sem.kind == JobKind::WindowCount;
        let (w, rc) = if windowed { (pn, 0) } else { (0, pn) };
        Shares {
            windowed,
            records: (0..rc).map(|_| Vec::new()).collect(),
            keys: (0..w).map(|_| FxHashMap::default()).collect(),
            counts: (0..w).map(|_| FxHashMap::default()).collect(),
        }
    }

    /// Adds record `rec` (past the filter) to state partition r's share.
    pub fn push(&mut self, sem: &Semantics, r: u32, rec: &Record) {
        let r = r as usize;
        if !self.windowed {
            self.records[r].push(*rec);
            return;
        }
        *self.keys[r].entry(rec.key).or_insert(0) += 1;
        for start in sem.windows_of(rec) {
            *self.counts[r].entry((start, rec.key)).or_insert(0) += 1;
        }
    }

    /// The shares, by state partition.
    pub fn finish(self) -> Vec<Share> {
        if !self.windowed {
            return self.records.into_iter().map(Share::Records).collect();
        }
        self.keys
            .into_iter()
            .zip(self.counts)
            .map(|(keys, counts)| {
                let mut keys: Vec<(u32, u64)> = keys.into_iter().collect();
                keys.sort_unstable();
                let mut counts: Vec<(u64, u32, u64)> = counts.into_iter().map(|((s, k), n)| (s, k, n)).collect();
                counts.sort_unstable();
                Share::Windows { keys, counts }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftsim_sim::{PartitionId, SourceLog};

    /// A log of late and out-of-order records over sliding windows, with its semantics.
    fn log(kind: &str) -> (SourceLog, Semantics) {
        let text = format!(
            "[run]\nduration = \"6s\"\n[workload]\nrate = 4000\nkeys = 50\npartitions = 3\nout_of_order = 0.3\n\
             out_of_order_max = \"900ms\"\n[job]\nkind = \"{kind}\"\nwindow = \"2s\"\nslide = \"500ms\"\n\
             max_out_of_orderness = \"200ms\"\nallowed_lateness = \"300ms\"\nparallelism = 4\nfilter_keep = 0.7\n"
        );
        let sc = crate::test_scenario(&text);
        (SourceLog::generate(&sc), Semantics::new(&sc.job, 3))
    }

    /// One way's outputs and keys, per (batch, state partition).
    type Way = (Vec<Vec<Output>>, Vec<Vec<(u32, u64)>>);

    /// Applies the log in three batches to a state per partition, once through shares and once
    /// record by record, advancing watermarks after each batch and closing windows early before
    /// the last; returns both runs' outputs and keys.
    fn both_ways(kind: &str) -> [Way; 2] {
        let (log, sem) = log(kind);
        let reader = log.reader();
        let len: Vec<u64> = (0..3).map(|p| log.len(PartitionId(p))).collect();
        let mut runs = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
        for (way, (outs, keys)) in runs.iter_mut().enumerate() {
            let mut states: Vec<OperatorState> = (0..4).map(|_| sem.new_state()).collect();
            for step in 1..=3u64 {
                let mut shares = Shares::new(&sem);
                let mut recs: Vec<Vec<Record>> = vec![Vec::new(); 4];
                for p in 0..3u32 {
                    let (from, to) = (len[p as usize] * (step - 1) / 3, len[p as usize] * step / 3);
                    reader.each(PartitionId(p), from, to, |rec| {
                        if sem.keeps(rec) {
                            let r = sem.task_of(u64::from(rec.key));
                            shares.push(&sem, r, rec);
                            recs[r as usize].push(*rec);
                        }
                    });
                }
                for (r, share) in shares.finish().into_iter().enumerate() {
                    if step == 3 {
                        // As a state rebuilt after its windows fired elsewhere: the batch's
                        // records of windows closed this way count nowhere.
                        states[r].close_through(&sem, 4_700_000_000);
                    }
                    let mut out = Vec::new();
                    if way == 0 {
                        share.apply(&sem, &mut states[r], &mut out);
                        keys.push(share.keys());
                    } else {
                        recs[r].iter().for_each(|x| states[r].apply(&sem, x, &mut out));
                        keys.push(keys_of(recs[r].iter()));
                    }
                    for p in 0..3u32 {
                        let wm = reader.watermark_at(PartitionId(p), len[p as usize] * step / 3);
                        states[r].advance(&sem, p, wm, &mut out);
                    }
                    outs.push(out);
                }
            }
        }
        runs
    }

    #[test]
    fn a_combined_window_share_applies_as_its_records_do() {
        let [shared, by_record] = both_ways("window-count");
        let emitted: usize = by_record.0.iter().map(Vec::len).sum();
        assert!(emitted > 100, "the windows fired: {emitted} outputs");
        assert_eq!(shared, by_record);
    }

    #[test]
    fn a_running_count_share_is_its_records() {
        let [shared, by_record] = both_ways("running-count");
        assert!(by_record.0.iter().map(Vec::len).sum::<usize>() > 1000);
        assert_eq!(shared, by_record);
    }
}
