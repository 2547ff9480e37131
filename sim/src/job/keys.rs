//! Where each key sits among the keys of the stateful task that owns it: a dense numbering, so
//! that a window of a task keeps its keys' counts in an array rather than a hash map (a few
//! cache lines for a window's keys where a map spreads them over several times as many).
//!
//! Invariants: for every key below [`KeyIndex::len`], its entry packs the task that owns it
//! (`owner`, as [`super::Semantics::task_of`] says) and its rank among that task's keys; a task's
//! keys are ranked in increasing order, so `keys_of(owner)[rank]` is the key back and the ranks
//! in order list the task's keys sorted.

use std::fmt;

/// The dense numbering of keys `0 .. len` per owning task.
pub(crate) struct KeyIndex {
    /// Per key: its owner in the high 32 bits, its rank in the low 32.
    entry: Vec<u64>,
    /// Per task, its keys in increasing order.
    keys: Vec<Vec<u32>>,
}

impl KeyIndex {
    /// The numbering of keys `0 .. keys` over `tasks` tasks, `owner(key)` owning each.
    pub fn new(keys: u32, tasks: u32, owner: impl Fn(u64) -> u32) -> KeyIndex {
        let mut by_task: Vec<Vec<u32>> = vec![Vec::new(); tasks as usize];
        let entry = (0..keys)
            .map(|k| {
                let t = owner(u64::from(k));
                let mine = &mut by_task[t as usize];
                let rank = mine.len() as u64;
                mine.push(k);
                (u64::from(t) << 32) | rank
            })
            .collect();
        KeyIndex { entry, keys: by_task }
    }

    /// The owner of `key` and its rank there, if the index numbers it.
    #[inline(always)]
    pub fn find(&self, key: u64) -> Option<(u32, u32)> {
        let e = *self.entry.get(usize::try_from(key).ok()?)?;
        Some(((e >> 32) as u32, e as u32))
    }

    /// The keys task `owner` owns, in increasing order (by rank).
    pub fn keys_of(&self, owner: u32) -> &[u32] {
        &self.keys[owner as usize]
    }

    /// How many keys are numbered.
    pub fn len(&self) -> usize {
        self.entry.len()
    }
}

impl fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyIndex({} keys over {} tasks)", self.entry.len(), self.keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::KeyIndex;

    #[test]
    fn every_key_has_its_owner_and_a_rank_that_gives_it_back_in_increasing_order() {
        let owner = |k: u64| ((k * 7 + 3) % 5) as u32;
        let ix = KeyIndex::new(100, 5, owner);
        for k in 0..100u64 {
            let (o, r) = ix.find(k).expect("numbered");
            assert_eq!(o, owner(k));
            assert_eq!(u64::from(ix.keys_of(o)[r as usize]), k);
        }
        for t in 0..5 {
            assert!(ix.keys_of(t).windows(2).all(|w| w[0] < w[1]), "task {t}'s keys ascend");
        }
        assert_eq!(ix.find(100), None, "past the numbered keys");
        assert_eq!(ix.find(u64::MAX), None);
    }
}
