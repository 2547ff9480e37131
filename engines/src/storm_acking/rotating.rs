//! Storm's `RotatingMap`: the coarse timeout of a spout's tuples and an acker's trees.

use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry as MapSlot;
use std::hash::Hash;

/// Storm's `RotatingMap` with its two buckets (`TIMEOUT_BUCKET_NUM`, as spouts and ackers use it):
/// entries live in the newest or the older bucket; [`Rotating::rotate`], called once per
/// timeout, drops the older bucket and returns what it held, and the newest becomes the older.
/// An entry put (or put again) just after a rotation therefore expires between one and two
/// timeouts later.
///
/// The buckets are hash maps with a fixed hasher; nothing iterates them but
/// [`Rotating::rotate`], which hands the expired entries back sorted by key, so no order ever
/// depends on hashing.
#[derive(Debug, Clone)]
pub struct Rotating<K, V> {
    newest: FxHashMap<K, V>,
    older: FxHashMap<K, V>,
}

impl<K, V> Default for Rotating<K, V> {
    fn default() -> Self {
        Rotating {
            newest: FxHashMap::default(),
            older: FxHashMap::default(),
        }
    }
}

impl<K: Ord + Copy + Hash, V> Rotating<K, V> {
    /// Puts `v` under `k` in the newest bucket (resetting its countdown).
    pub fn insert(&mut self, k: K, v: V) {
        if !self.older.is_empty() {
            self.older.remove(&k);
        }
        self.newest.insert(k, v);
    }

    /// Puts `v` under a key `k` that no bucket holds (a fresh random tuple id) in the newest bucket.
    #[inline]
    pub fn insert_new(&mut self, k: K, v: V) {
        self.newest.insert(k, v);
    }

    /// Puts `v` under a key `k` that no bucket holds in the older bucket (an entry put before
    /// the last rotation, kept elsewhere until now).
    pub fn insert_older(&mut self, k: K, v: V) {
        self.older.insert(k, v);
    }

    /// Takes the entry under `k` out, wherever it is.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        match self.newest.remove(k) {
            Some(v) => Some(v),
            None if self.older.is_empty() => None,
            None => self.older.remove(k),
        }
    }

    /// Updates the entry under `k` (`empty` if there is none) with `f`, in the newest bucket
    /// (resetting its countdown), or takes it out if `f` says it is done: what
    /// [`Rotating::remove`] then [`Rotating::insert`] would do, with one lookup in the newest bucket.
    #[inline]
    pub fn update<R>(&mut self, k: K, empty: impl FnOnce() -> V, f: impl FnOnce(&mut V) -> (bool, R)) -> R {
        match self.newest.entry(k) {
            MapSlot::Occupied(mut o) => {
                let (done, r) = f(o.get_mut());
                if done {
                    o.remove();
                }
                r
            }
            MapSlot::Vacant(slot) => {
                let old = if self.older.is_empty() {
                    None
                } else {
                    self.older.remove(&k)
                };
                let mut v = old.unwrap_or_else(empty);
                let (done, r) = f(&mut v);
                if !done {
                    slot.insert(v);
                }
                r
            }
        }
    }

    /// Drops the older bucket and returns its entries, by key; the newest becomes the older.
    pub fn rotate(&mut self) -> Vec<(K, V)> {
        let mut expired: Vec<(K, V)> = self.older.drain().collect();
        expired.sort_unstable_by_key(|(k, _)| *k);
        self.turn();
        expired
    }

    /// Drops the older bucket, as [`Rotating::rotate`], and returns how many entries it held.
    pub fn expire(&mut self) -> usize {
        let n = self.older.len();
        self.older.clear();
        self.turn();
        n
    }

    /// The newest bucket becomes the older and the emptied one the newest, its room given back:
    /// it grows again to what this period holds, so a bucket that grew while a failure left
    /// entries to expire does not stay large, which would spread later entries over memory.
    fn turn(&mut self) {
        std::mem::swap(&mut self.newest, &mut self.older);
        self.newest.shrink_to(0);
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.newest.len() + self.older.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.newest.is_empty() && self.older.is_empty()
    }

    /// Forgets everything (the holder was lost with its node).
    pub fn clear(&mut self) {
        self.newest.clear();
        self.older.clear();
    }
}
