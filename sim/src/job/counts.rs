//! The counts of one open window of a window count: how many records of each key counted in it.
//!
//! Invariants:
//! - a key sits in at most one of the two maps: `narrow` while the key and its count both fit in
//!   32 bits (every record key does, and a count past four billion in one window is never seen
//!   in practice), `wide` otherwise; a count about to pass 32 bits moves its key to `wide` with
//!   the full sum, so counting stays exact whatever the numbers;
//! - what the counts say (which keys, with which counts) never depends on which map holds a key,
//!   nor on either map's order: equality compares contents, and a window that fires lists its
//!   keys sorted.
//!
//! Why two maps: the narrow one's entries take 8 bytes where a map of 64-bit pairs takes 16, so
//! the open windows of many stateful tasks stay in cache, and applying a record (one map lookup)
//! costs fewer cache misses.

use rustc_hash::FxHashMap;

/// Per key, the records counted in one window.
#[derive(Debug, Clone, Default)]
pub(super) struct WindowCounts {
    narrow: FxHashMap<u32, u32>,
    wide: FxHashMap<u64, u64>,
}

impl WindowCounts {
    /// Counts `n` more records of `key`.
    #[inline]
    pub(super) fn add(&mut self, key: u64, n: u64) {
        if let Ok(k) = u32::try_from(key)
            && (self.wide.is_empty() || !self.wide.contains_key(&key))
        {
            let c = self.narrow.entry(k).or_insert(0);
            match u32::try_from(u64::from(*c) + n) {
                Ok(sum) => *c = sum,
                Err(_) => {
                    let sum = u64::from(*c) + n;
                    self.narrow.remove(&k);
                    self.wide.insert(key, sum);
                }
            }
            return;
        }
        *self.wide.entry(key).or_insert(0) += n;
    }

    /// The count of `key`, if it has any.
    fn get(&self, key: u64) -> Option<u64> {
        u32::try_from(key)
            .ok()
            .and_then(|k| self.narrow.get(&k))
            .map(|c| u64::from(*c))
            .or_else(|| self.wide.get(&key).copied())
    }

    /// Keys counted.
    pub(super) fn len(&self) -> usize {
        self.narrow.len() + self.wide.len()
    }

    /// Every `(key, count)`, sorted by key.
    pub(super) fn into_sorted(self) -> Vec<(u64, u64)> {
        let mut keys: Vec<(u64, u64)> = Vec::with_capacity(self.len());
        keys.extend(self.narrow.into_iter().map(|(k, c)| (u64::from(k), u64::from(c))));
        keys.extend(self.wide);
        keys.sort_unstable();
        keys
    }
}

impl PartialEq for WindowCounts {
    fn eq(&self, other: &WindowCounts) -> bool {
        self.len() == other.len()
            && self
                .narrow
                .iter()
                .all(|(k, c)| other.get(u64::from(*k)) == Some(u64::from(*c)))
            && self.wide.iter().all(|(k, c)| other.get(*k) == Some(*c))
    }
}

#[cfg(test)]
mod tests {
    use super::WindowCounts;

    #[test]
    fn a_count_past_32_bits_moves_to_the_wide_map_and_stays_exact() {
        let mut w = WindowCounts::default();
        w.add(7, u64::from(u32::MAX) - 1);
        w.add(7, 1);
        assert_eq!((w.narrow.len(), w.wide.len()), (1, 0));
        w.add(7, 3);
        assert_eq!((w.narrow.len(), w.wide.len()), (0, 1));
        w.add(7, 1);
        assert_eq!(w.into_sorted(), vec![(7, u64::from(u32::MAX) + 4)]);
    }

    #[test]
    fn a_key_past_32_bits_is_counted_in_the_wide_map() {
        let mut w = WindowCounts::default();
        let big = u64::from(u32::MAX) + 5;
        w.add(big, 2);
        w.add(3, 1);
        w.add(big, 1);
        assert_eq!(w.len(), 2);
        assert_eq!(w.into_sorted(), vec![(3, 1), (big, 3)]);
    }

    #[test]
    fn counts_are_equal_whichever_map_holds_a_key() {
        let mut a = WindowCounts::default();
        a.add(1, 5);
        let mut b = WindowCounts::default();
        b.wide.insert(1, 5);
        assert_eq!(a, b);
        b.add(2, 1);
        assert_ne!(a, b);
    }
}
