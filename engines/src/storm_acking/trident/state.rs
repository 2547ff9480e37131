//! Trident's transactional state and the partial batches the executors gather before a commit.
//!
//! Invariants:
//! - a key group's state stores, beside each key's value, the txid of the last batch that
//!   updated it, and a batch whose txid a key already has does not update that key again: with
//!   batches committed strictly in txid order and a batch's records fixed when it was first
//!   emitted, every record counts once however often its batch is replayed;
//! - the state keeps the outputs of its last committed batch, which a replay of that batch
//!   emits again (Trident's transactional map hands back the stored values);
//! - a partial batch holds one attempt's tuples at one task; a later attempt's first tuple
//!   replaces it, and it is complete once every partition's coordination tuple said how many
//!   tuples to expect and that many arrived.

use ftsim_sim::{OperatorState, Output, Record, Semantics, SimTime};
use std::collections::BTreeMap;

/// The tuples of one batch attempt that reached one task.
#[derive(Debug, Clone, Default)]
pub struct Partial {
    /// The attempt.
    pub attempt: u32,
    /// The records, in arrival order.
    pub records: Vec<Record>,
    /// Per partition: the tuples its spout sent here, and its watermark at the batch's end.
    pub coords: BTreeMap<u32, (u64, SimTime)>,
}

impl Partial {
    /// Takes a tuple of attempt `attempt`: an older attempt's is refused, a newer one replaces
    /// what was gathered. Returns whether the tuple belongs.
    pub fn see(&mut self, attempt: u32) -> bool {
        if attempt > self.attempt {
            *self = Partial {
                attempt,
                ..Partial::default()
            };
        }
        attempt == self.attempt
    }
    /// Every partition reported and every tuple announced arrived.
    pub fn complete(&self, partitions: u32) -> bool {
        let expected: u64 = self.coords.values().map(|(n, _)| n).sum();
        self.coords.len() == partitions as usize && expected == self.records.len() as u64
    }
    /// Bytes a commit writes: one value and txid per key touched.
    pub fn bytes(&self, bytes_per_key: u64) -> u64 {
        let mut keys: Vec<u32> = self.records.iter().map(|r| r.key).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.len() as u64 * (bytes_per_key + 8)
    }
}

/// One key group's transactional state in the store.
#[derive(Debug, Clone)]
pub struct TxState {
    state: OperatorState,
    txid: u64,
    key_txid: BTreeMap<u64, u64>,
    last: Vec<Output>,
}

impl TxState {
    /// An empty state: no batch committed.
    pub fn new(sem: &Semantics) -> TxState {
        TxState {
            state: sem.new_state(),
            txid: 0,
            key_txid: BTreeMap::new(),
            last: Vec::new(),
        }
    }

    /// The last txid committed.
    pub fn txid(&self) -> u64 {
        self.txid
    }

    /// Commits batch `txid` from `partial`: its records update the keys that do not have this
    /// txid yet, then each partition's watermark moves to the batch's end (windows fire).
    /// Returns the batch's outputs; for the batch committed last, the stored ones again; for an
    /// older one, nothing.
    pub fn commit(&mut self, sem: &Semantics, txid: u64, partial: &Partial) -> Vec<Output> {
        if txid < self.txid {
            return Vec::new();
        }
        if txid == self.txid {
            return self.last.clone();
        }
        let mut out = Vec::new();
        for r in &partial.records {
            let key = u64::from(r.key);
            if self.key_txid.get(&key).is_none_or(|t| *t < txid) {
                self.state.apply(sem, r, &mut out);
            }
        }
        for r in &partial.records {
            self.key_txid.insert(u64::from(r.key), txid);
        }
        for (p, (_, wm)) in &partial.coords {
            self.state.advance(sem, *p, *wm, &mut out);
        }
        self.txid = txid;
        self.last.clone_from(&out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftsim_sim::scenario::JobKind;

    fn sem() -> Semantics {
        let text = "[run]\nduration = \"1s\"\n[workload]\nrate = 10\n[job]\nkind = \"running-count\"\n";
        let sc = crate::test_scenario(text);
        assert_eq!(sc.job.kind, JobKind::RunningCount);
        Semantics::new(&sc.job, 1)
    }

    fn record(offset: u32, key: u32) -> Record {
        Record {
            part: 0,
            offset,
            key,
            value: 0,
            event_time: SimTime::ZERO,
            arrival: SimTime::ZERO,
            wm_before: SimTime::ZERO,
        }
    }

    fn batch(attempt: u32, keys: &[u32]) -> Partial {
        let mut p = Partial::default();
        assert!(p.see(attempt));
        p.records = keys.iter().enumerate().map(|(i, k)| record(i as u32, *k)).collect();
        p.coords.insert(0, (keys.len() as u64, SimTime::ZERO));
        p
    }

    #[test]
    fn a_replayed_batch_counts_once_and_emits_its_stored_outputs_again() {
        let sem = sem();
        let mut st = TxState::new(&sem);
        let first = st.commit(&sem, 1, &batch(0, &[5, 5, 6]));
        assert_eq!(
            first.iter().map(|o| (o.key, o.value)).collect::<Vec<_>>(),
            [(5, 1), (5, 2), (6, 1)]
        );
        assert_eq!(
            st.commit(&sem, 1, &batch(1, &[5, 5, 6])),
            first,
            "the replay shows the stored values"
        );
        let second = st.commit(&sem, 2, &batch(0, &[5]));
        assert_eq!(
            second.iter().map(|o| o.value).collect::<Vec<_>>(),
            [3],
            "nothing counted twice"
        );
        assert!(
            st.commit(&sem, 1, &batch(2, &[5])).is_empty(),
            "an older batch changes nothing"
        );
        assert_eq!(st.txid(), 2);
    }

    #[test]
    fn a_partial_batch_is_complete_only_with_every_partition_reported_and_every_tuple_in() {
        let mut p = batch(0, &[1, 2]);
        assert!(p.complete(1));
        assert!(!p.complete(2), "a partition has not reported");
        p.records.pop();
        assert!(!p.complete(1), "a tuple is missing");
        assert!(p.see(3) && p.records.is_empty(), "a newer attempt replaces the old one");
        assert!(!p.see(2), "an older attempt's tuple is refused");
    }
}
