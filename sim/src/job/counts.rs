//! The counts of one open window of a window count: how many records of each key counted in it.
//!
//! Invariants:
//! - a key sits in at most one of three places: `wide` if it is there; else `narrow` if it is
//!   there; else `dense` while the key index numbers it, its owner is the dense array's (the
//!   owner of the first key counted there) and its count fits in 32 bits. A key first counted
//!   with nothing to add (`n = 0`), or owned by another task, goes to `narrow`, and a key whose
//!   count is about to pass 32 bits moves to `wide` with the full sum, so counting stays exact
//!   whatever the keys and numbers;
//! - a dense slot holds 0 for a key not counted, and `Dense::len` counts the others;
//! - what the counts say (which keys, with which counts) never depends on which place holds a
//!   key, nor on either map's order: equality compares contents, and a window that fires lists
//!   its keys sorted.
//!
//! Why three places: a task's keys counted in an array by their rank among its keys
//! ([`KeyIndex`]) take 4 bytes each and no hashing, so the open windows of many stateful tasks
//! stay in cache and applying a record costs fewer cache misses; the narrow map's entries take
//! 8 bytes where a map of 64-bit pairs takes 16, for keys the index does not number.

use super::keys::KeyIndex;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// The counts of one task's keys, by rank.
#[derive(Debug, Clone)]
struct Dense {
    index: Arc<KeyIndex>,
    owner: u32,
    counts: Vec<u32>,
    /// Slots not 0.
    len: u32,
}

impl Dense {
    /// Every `(key, count)` held, in increasing key order.
    fn entries(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let keys = self.index.keys_of(self.owner);
        (self.counts.iter().zip(keys))
            .filter(|(c, _)| **c != 0)
            .map(|(c, k)| (u64::from(*k), u64::from(*c)))
    }
}

/// Per key, the records counted in one window.
#[derive(Debug, Clone, Default)]
pub(super) struct WindowCounts {
    dense: Option<Dense>,
    narrow: FxHashMap<u32, u32>,
    wide: FxHashMap<u64, u64>,
}

impl WindowCounts {
    /// Counts `n` more records of `key`, `index` numbering the keys (if the job has one).
    #[inline]
    pub(super) fn add(&mut self, index: Option<&Arc<KeyIndex>>, key: u64, n: u64) {
        if !self.wide.is_empty()
            && let Some(c) = self.wide.get_mut(&key)
        {
            *c += n;
            return;
        }
        let Ok(k) = u32::try_from(key) else {
            *self.wide.entry(key).or_insert(0) += n;
            return;
        };
        if n == 0 {
            // Counted with nothing: held (with 0) if it was not.
            if self.get(key).is_none() {
                self.narrow.insert(k, 0);
            }
            return;
        }
        // Without a key index every key is counted in the maps: one lookup.
        if let Some(ix) = index
            && (self.narrow.is_empty() || !self.narrow.contains_key(&k))
            && let Some((rank, d)) = dense_for(&mut self.dense, ix, key)
        {
            let c = &mut d.counts[rank as usize];
            match u32::try_from(u64::from(*c) + n) {
                Ok(sum) => {
                    d.len += u32::from(*c == 0);
                    *c = sum;
                }
                Err(_) => {
                    let sum = u64::from(*c) + n;
                    d.len -= u32::from(*c != 0);
                    *c = 0;
                    self.wide.insert(key, sum);
                }
            }
            return;
        }
        let c = self.narrow.entry(k).or_insert(0);
        match u32::try_from(u64::from(*c) + n) {
            Ok(sum) => *c = sum,
            Err(_) => {
                let sum = u64::from(*c) + n;
                self.narrow.remove(&k);
                self.wide.insert(key, sum);
            }
        }
    }

    /// The count of `key`, if it has any.
    fn get(&self, key: u64) -> Option<u64> {
        if let Some(c) = self.wide.get(&key) {
            return Some(*c);
        }
        let k = u32::try_from(key).ok()?;
        if let Some(c) = self.narrow.get(&k) {
            return Some(u64::from(*c));
        }
        let d = self.dense.as_ref()?;
        let (_, rank) = d.index.find(key).filter(|(o, _)| *o == d.owner)?;
        let c = d.counts[rank as usize];
        (c != 0).then_some(u64::from(c))
    }

    /// Keys counted.
    pub(super) fn len(&self) -> usize {
        self.narrow.len() + self.wide.len() + self.dense.as_ref().map_or(0, |d| d.len as usize)
    }

    /// Every `(key, count)`, sorted by key.
    pub(super) fn into_sorted(self) -> Vec<(u64, u64)> {
        let mut keys: Vec<(u64, u64)> = Vec::with_capacity(self.len());
        if let Some(d) = &self.dense {
            keys.extend(d.entries());
            if self.narrow.is_empty() && self.wide.is_empty() {
                // Ranks list a task's keys in increasing order.
                return keys;
            }
        }
        keys.extend(self.narrow.into_iter().map(|(k, c)| (u64::from(k), u64::from(c))));
        keys.extend(self.wide);
        keys.sort_unstable();
        keys
    }
}

/// The rank of `key` and the dense array it is counted in, if it has one: `dense`, or a new one
/// for the owner of `key` if the window has none yet.
#[inline(always)]
fn dense_for<'a>(dense: &'a mut Option<Dense>, ix: &Arc<KeyIndex>, key: u64) -> Option<(u32, &'a mut Dense)> {
    let (owner, rank) = ix.find(key)?;
    let d = dense.get_or_insert_with(|| Dense {
        index: Arc::clone(ix),
        owner,
        counts: vec![0; ix.keys_of(owner).len()],
        len: 0,
    });
    (d.owner == owner).then_some((rank, d))
}

impl PartialEq for WindowCounts {
    fn eq(&self, other: &WindowCounts) -> bool {
        self.len() == other.len()
            && self
                .narrow
                .iter()
                .all(|(k, c)| other.get(u64::from(*k)) == Some(u64::from(*c)))
            && self.wide.iter().all(|(k, c)| other.get(*k) == Some(*c))
            && self
                .dense
                .iter()
                .flat_map(Dense::entries)
                .all(|(k, c)| other.get(k) == Some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyIndex, WindowCounts};
    use crate::rng::mix64;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    #[test]
    fn a_count_past_32_bits_moves_to_the_wide_map_and_stays_exact() {
        let mut w = WindowCounts::default();
        w.add(None, 7, u64::from(u32::MAX) - 1);
        w.add(None, 7, 1);
        assert_eq!((w.narrow.len(), w.wide.len()), (1, 0));
        w.add(None, 7, 3);
        assert_eq!((w.narrow.len(), w.wide.len()), (0, 1));
        w.add(None, 7, 1);
        assert_eq!(w.into_sorted(), vec![(7, u64::from(u32::MAX) + 4)]);
    }

    #[test]
    fn a_key_past_32_bits_is_counted_in_the_wide_map() {
        let mut w = WindowCounts::default();
        let big = u64::from(u32::MAX) + 5;
        w.add(None, big, 2);
        w.add(None, 3, 1);
        w.add(None, big, 1);
        assert_eq!(w.len(), 2);
        assert_eq!(w.into_sorted(), vec![(3, 1), (big, 3)]);
    }

    #[test]
    fn counts_are_equal_whichever_map_holds_a_key() {
        let mut a = WindowCounts::default();
        a.add(None, 1, 5);
        let mut b = WindowCounts::default();
        b.wide.insert(1, 5);
        assert_eq!(a, b);
        b.add(None, 2, 1);
        assert_ne!(a, b);
    }

    /// What a window's counts must say after `adds`: every key added, even with nothing, with
    /// the sum of what was added.
    fn model(adds: &[(u64, u64)]) -> BTreeMap<u64, u64> {
        let mut m = BTreeMap::new();
        for (k, n) in adds {
            *m.entry(*k).or_insert(0) += n;
        }
        m
    }

    #[test]
    fn a_window_counts_exactly_whether_its_keys_are_dense_narrow_or_wide() {
        // Keys 0..40 are numbered over 4 owners; the first key counted is owner 1's, so owner
        // 1's keys go to the dense array, the other owners' and the unnumbered keys to the maps.
        let owner = |k: u64| (mix64(k) % 4) as u32;
        let index = Arc::new(KeyIndex::new(40, 4, owner));
        let first = (0..40).find(|k| owner(*k) == 1).expect("owner 1 has keys");
        let big = u64::from(u32::MAX) - 3;
        for seed in 0..200u64 {
            let mut adds = vec![(first, 1)];
            for i in 0..60 {
                let r = mix64(seed * 1000 + i);
                let key = match r % 10 {
                    0 => 40 + r % 5,
                    1 => u64::from(u32::MAX) + 1 + r % 3,
                    _ => (r >> 8) % 40,
                };
                let n = match (r >> 20) % 12 {
                    0 => 0,
                    1 => big,
                    _ => 1 + (r >> 24) % 3,
                };
                adds.push((key, n));
            }
            let mut with = WindowCounts::default();
            let mut without = WindowCounts::default();
            for (k, n) in &adds {
                with.add(Some(&index), *k, *n);
                without.add(None, *k, *n);
            }
            let want = model(&adds);
            assert!(
                with.dense.as_ref().is_some_and(|d| d.owner == 1),
                "seed {seed}: dense for owner 1"
            );
            assert_eq!(with.len(), want.len(), "seed {seed}");
            for (k, c) in &want {
                assert_eq!(with.get(*k), Some(*c), "seed {seed}, key {k}");
            }
            assert_eq!(with.get(first + 1000), None);
            // Equality is checked both ways: each side walks its own places.
            assert!(with == without, "seed {seed}: equal whatever holds a key");
            assert!(without == with, "seed {seed}: equal whatever holds a key");
            let sorted: Vec<(u64, u64)> = want.into_iter().collect();
            assert_eq!(with.clone().into_sorted(), sorted, "seed {seed}");
            assert_eq!(without.into_sorted(), sorted, "seed {seed}");
        }
    }

    #[test]
    fn a_dense_window_lists_its_keys_sorted_and_differs_from_one_with_another_count() {
        let index = Arc::new(KeyIndex::new(64, 1, |_| 0));
        let mut a = WindowCounts::default();
        for k in [9, 3, 60, 3, 0] {
            a.add(Some(&index), k, 1);
        }
        assert_eq!(a.len(), 4);
        assert_eq!(a.clone().into_sorted(), vec![(0, 1), (3, 2), (9, 1), (60, 1)]);
        let mut b = a.clone();
        assert!(a == b);
        b.add(Some(&index), 9, 1);
        assert!(a != b, "a count differs");
        let mut c = a.clone();
        c.add(Some(&index), 5, 0);
        assert_eq!(c.len(), 5, "a key counted with nothing is held");
        assert!(a != c);
    }
}
